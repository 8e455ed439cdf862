/*
 * The payment provider's request signatures (AMZN-PAY-RSASSA-PSS-V2 and the
 * older salt-20 AMZN-PAY-RSASSA-PSS), for the client that signs and the
 * sandbox that verifies.
 *
 * DESIGN
 *
 * One canonicalisation for both sides. The client and the sandbox call the
 * same vx_paysign_canonical, so a mismatch between them cannot come from two
 * readings of the rules; the reference's vectors (payments.md s.5) pin the
 * rules themselves to the provider's.
 *
 * Decode, then encode. The official SDKs build the canonical query and URI
 * from unencoded parts, while a server sees them as sent on the wire (often
 * percent-encoded). Decoding first and encoding with one RFC 3986 rule makes
 * "f oo=b ar" and "f%20oo=b%20ar" the same canonical bytes, so the verifier
 * can pass the raw query string it received. '+' stays a literal plus: the
 * provider's rule is RFC 3986, not form encoding.
 *
 * Exactly the listed headers. Which headers are signed is the signer's choice
 * (PHP signs six, Java and Node every header they send, Node with user-agent);
 * the verifier covers exactly those named in SignedHeaders, demands the five
 * the provider requires, and refuses a named header that is absent, so a
 * proxy that drops or adds unsigned headers changes nothing and one that
 * drops a signed header is caught.
 *
 * Fixed bounds. At most VX__PAYSIGN_HDRS headers of names up to 63 bytes are
 * considered; more is refused rather than allocated, since a request with
 * dozens of signed headers is not one an SDK makes.
 */
#include "voxcart/paysign.h"
#include "voxcart/verify.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rsa.h>

#define VX__PAYSIGN_HDRS 32
#define VX__PAYSIGN_NAME 64

struct canon_hdr {
    char name[VX__PAYSIGN_NAME]; /* lower-cased */
    const char *value;           /* trimmed: value[0..vlen) */
    size_t vlen;
};

struct query_pair {
    char *key; /* encoded */
    char *value;
};

static const char hexdig[] = "0123456789ABCDEF";
static const char hexlow[] = "0123456789abcdef";

const char *vx_paysign_alg_name(enum vx_paysign_alg alg)
{
    return alg == VX_PAYSIGN_V1 ? VX_PAYSIGN_V1_NAME : VX_PAYSIGN_V2_NAME;
}

int vx_paysign_alg_parse(const char *name, enum vx_paysign_alg *out)
{
    if (name && strcmp(name, VX_PAYSIGN_V2_NAME) == 0)
        *out = VX_PAYSIGN_V2;
    else if (name && strcmp(name, VX_PAYSIGN_V1_NAME) == 0)
        *out = VX_PAYSIGN_V1;
    else
        return VX_EPARSE;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Percent-decodes s[0..n) and RFC 3986 encodes the result into out; keep_slash leaves '/'
 * as it is (the URI). A '%' not followed by two hex digits is a literal percent sign. */
static int reencode(const char *s, size_t n, int keep_slash, struct vx_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n) {
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi * 16 + lo);
                i += 2;
            }
        }
        if (unreserved(c) || (keep_slash && c == '/')) {
            if (vx_buf_append(out, &c, 1) != 0)
                return VX_ENOMEM;
        } else {
            char enc[3] = {'%', hexdig[c >> 4], hexdig[c & 15]};
            if (vx_buf_append(out, enc, 3) != 0)
                return VX_ENOMEM;
        }
    }
    return 0;
}

/* reencode into a fresh heap string. */
static char *reencode_dup(const char *s, size_t n)
{
    struct vx_buf b;
    vx_buf_init(&b);
    if (reencode(s, n, 0, &b) != 0 || vx_buf_append(&b, "", 0) != 0) {
        vx_buf_release(&b);
        return NULL;
    }
    return b.data;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct query_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static int canonical_query(const char *query, struct vx_buf *out)
{
    struct query_pair *pairs = NULL;
    size_t n = 0, max = 1;
    const char *p;
    int rc = 0;

    if (!query || !*query)
        return 0;
    for (p = query; *p; p++)
        max += (*p == '&');
    pairs = calloc(max, sizeof(*pairs));
    if (!pairs)
        return VX_ENOMEM;
    for (p = query; *p;) {
        size_t seg = strcspn(p, "&");
        const char *eq = memchr(p, '=', seg);
        size_t klen = eq ? (size_t)(eq - p) : seg;
        if (seg > 0) {
            pairs[n].key = reencode_dup(p, klen);
            pairs[n].value = eq ? reencode_dup(eq + 1, seg - klen - 1) : reencode_dup("", 0);
            n++;
            if (!pairs[n - 1].key || !pairs[n - 1].value) {
                rc = VX_ENOMEM;
                goto out;
            }
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    qsort(pairs, n, sizeof(*pairs), pair_cmp);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = vx_buf_appendf(out, "%s%s=%s", i ? "&" : "", pairs[i].key, pairs[i].value);
out:
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
    return rc;
}

/* Lower-cases s[0..n) into dst (VX__PAYSIGN_NAME bytes); VX_ERANGE when too long or empty. */
static int lower_name(const char *s, size_t n, char *dst)
{
    if (n == 0 || n >= VX__PAYSIGN_NAME)
        return VX_ERANGE;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    dst[n] = '\0';
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Parses a ';'-separated header list into sorted lower-case names. */
static int list_parse(const char *list, char (*names)[VX__PAYSIGN_NAME], size_t *count,
                      struct vx_err *e)
{
    size_t n = 0;
    for (const char *p = list;;) {
        size_t seg = strcspn(p, ";");
        while (seg > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            seg--;
        }
        while (seg > 0 && (p[seg - 1] == ' ' || p[seg - 1] == '\t'))
            seg--;
        if (n == VX__PAYSIGN_HDRS)
            return vx_err_set(e, VX_ERANGE, "more than %d signed headers", VX__PAYSIGN_HDRS);
        if (lower_name(p, seg, names[n]) != 0)
            return vx_err_set(e, VX_EINVAL, "bad signed header name in '%s'", list);
        n++;
        p += strcspn(p, ";");
        if (*p != ';')
            break;
        p++;
    }
    qsort(names, n, sizeof(names[0]), name_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return vx_err_set(e, VX_EINVAL, "header '%s' signed twice", names[i]);
    *count = n;
    return 0;
}

/* Lower-cased, trimmed copies of h; a name given twice is refused. */
static int headers_prepare(const struct vx_paysign_hdr *h, size_t nh, struct canon_hdr *out,
                           struct vx_err *e)
{
    if (nh > VX__PAYSIGN_HDRS)
        return vx_err_set(e, VX_ERANGE, "more than %d headers", VX__PAYSIGN_HDRS);
    for (size_t i = 0; i < nh; i++) {
        const char *v = h[i].value ? h[i].value : "";
        size_t vlen;
        if (!h[i].name || lower_name(h[i].name, strlen(h[i].name), out[i].name) != 0)
            return vx_err_set(e, VX_EINVAL, "bad header name '%s'", h[i].name ? h[i].name : "");
        while (*v == ' ' || *v == '\t')
            v++;
        vlen = strlen(v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        out[i].value = v;
        out[i].vlen = vlen;
        for (size_t k = 0; k < i; k++)
            if (strcmp(out[k].name, out[i].name) == 0)
                return vx_err_set(e, VX_EINVAL, "header '%s' given twice", out[i].name);
    }
    return 0;
}

static const struct canon_hdr *header_find(const struct canon_hdr *h, size_t nh, const char *name)
{
    for (size_t i = 0; i < nh; i++)
        if (strcmp(h[i].name, name) == 0)
            return &h[i];
    return NULL;
}

static void hex_lower(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexlow[in[i] >> 4];
        out[2 * i + 1] = hexlow[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    if (vx_sha256(data ? data : "", len, md) != 0)
        return VX_EINVAL;
    hex_lower(md, sizeof(md), out);
    return 0;
}

int vx_paysign_canonical(const char *method, const char *path, const char *query,
                         const struct vx_paysign_hdr *h, size_t nh, const char *signed_list,
                         const void *body, size_t len, struct vx_buf *out, struct vx_err *e)
{
    struct canon_hdr hdrs[VX__PAYSIGN_HDRS];
    char names[VX__PAYSIGN_HDRS][VX__PAYSIGN_NAME];
    char digest[65];
    size_t nnames = 0;
    int rc;

    if (!method || !*method || !out || (nh && !h) || (!body && len))
        return vx_err_set(e, VX_EINVAL, "canonical request: missing method, headers or body");
    if ((rc = headers_prepare(h, nh, hdrs, e)) != 0)
        return rc;
    if (signed_list) {
        if ((rc = list_parse(signed_list, names, &nnames, e)) != 0)
            return rc;
    } else {
        for (size_t i = 0; i < nh; i++)
            memcpy(names[nnames++], hdrs[i].name, VX__PAYSIGN_NAME);
        qsort(names, nnames, sizeof(names[0]), name_cmp);
    }
    if ((rc = sha256_hex(body, len, digest)) != 0)
        return vx_err_set(e, rc, "cannot hash the request body");

    rc = vx_buf_appendf(out, "%s\n", method);
    if (rc == 0 && (!path || !*path))
        rc = vx_buf_appends(out, "/");
    else if (rc == 0)
        rc = reencode(path, strlen(path), 1, out);
    if (rc == 0)
        rc = vx_buf_appends(out, "\n");
    if (rc == 0)
        rc = canonical_query(query, out);
    if (rc == 0)
        rc = vx_buf_appends(out, "\n");
    for (size_t i = 0; i < nnames && rc == 0; i++) {
        const struct canon_hdr *c = header_find(hdrs, nh, names[i]);
        if (!c)
            return vx_err_set(e, VX_ENOTFOUND, "signed header '%s' is missing", names[i]);
        rc = vx_buf_appendf(out, "%s:%.*s\n", c->name, (int)c->vlen, c->value);
    }
    if (rc == 0)
        rc = vx_buf_appends(out, "\n");
    for (size_t i = 0; i < nnames && rc == 0; i++)
        rc = vx_buf_appendf(out, "%s%s", i ? ";" : "", names[i]);
    if (rc == 0)
        rc = vx_buf_appendf(out, "\n%s", digest);
    if (rc != 0)
        return vx_err_set(e, rc, "out of memory building the canonical request");
    return 0;
}

int vx_paysign_string_to_sign(enum vx_paysign_alg alg, const char *canonical, struct vx_buf *out)
{
    char digest[65];
    if (!canonical || !out)
        return VX_EINVAL;
    if (sha256_hex(canonical, strlen(canonical), digest) != 0)
        return VX_EINVAL;
    return vx_buf_appendf(out, "%s\n%s", vx_paysign_alg_name(alg), digest);
}

/* Sets up the PSS parameters of a digest sign or verify context. */
static int pss_setup(EVP_PKEY_CTX *pctx, enum vx_paysign_alg alg)
{
    int salt = alg == VX_PAYSIGN_V1 ? 20 : 32;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)
        return VX_EVERIFY;
    return 0;
}

int vx_paysign_sign(EVP_PKEY *key, enum vx_paysign_alg alg, const char *string_to_sign,
                    char **sig_b64, struct vx_err *e)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = 0;

    if (!key || !string_to_sign || !sig_b64)
        return vx_err_set(e, VX_EINVAL, "sign: missing key or string to sign");
    if (!EVP_PKEY_is_a(key, "RSA"))
        return vx_err_set(e, VX_EINVAL, "sign: the signing key is not an RSA key");
    mctx = EVP_MD_CTX_new();
    if (!mctx) {
        rc = vx_err_set(e, VX_ENOMEM, "sign: out of memory");
        goto out;
    }
    if (EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, key) != 1 ||
        pss_setup(pctx, alg) != 0 ||
        EVP_DigestSign(mctx, NULL, &siglen, (const unsigned char *)string_to_sign,
                       strlen(string_to_sign)) != 1) {
        rc = vx_err_set(e, VX_EINVAL, "sign: cannot set up RSASSA-PSS with this key");
        goto out;
    }
    sig = malloc(siglen);
    if (!sig) {
        rc = vx_err_set(e, VX_ENOMEM, "sign: out of memory");
        goto out;
    }
    if (EVP_DigestSign(mctx, sig, &siglen, (const unsigned char *)string_to_sign,
                       strlen(string_to_sign)) != 1) {
        rc = vx_err_set(e, VX_EINVAL, "sign: RSASSA-PSS signing failed");
        goto out;
    }
    if (vx_base64_encode(sig, siglen, sig_b64) != 0)
        rc = vx_err_set(e, VX_ENOMEM, "sign: out of memory");
out:
    free(sig);
    EVP_MD_CTX_free(mctx);
    return rc;
}

int vx_paysign_verify(EVP_PKEY *pub, enum vx_paysign_alg alg, const char *string_to_sign,
                      const char *sig_b64)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = VX_EVERIFY;

    if (!sig_b64 || vx_base64_decode(sig_b64, &sig, &siglen) != 0 || siglen == 0) {
        free(sig);
        return VX_EPARSE;
    }
    if (!pub || !string_to_sign || !EVP_PKEY_is_a(pub, "RSA"))
        goto out;
    mctx = EVP_MD_CTX_new();
    if (mctx && EVP_DigestVerifyInit(mctx, &pctx, EVP_sha256(), NULL, pub) == 1 &&
        pss_setup(pctx, alg) == 0 &&
        EVP_DigestVerify(mctx, sig, siglen, (const unsigned char *)string_to_sign,
                         strlen(string_to_sign)) == 1)
        rc = 0;
out:
    free(sig);
    EVP_MD_CTX_free(mctx);
    return rc;
}

/* Copies the value of an authorization part into a fixed field. */
static int auth_part(const char *name, const char *v, size_t n, char *dst, size_t size, int *seen,
                     struct vx_err *e)
{
    if (*seen)
        return vx_err_set(e, VX_EPARSE, "authorization: '%s' given twice", name);
    if (n == 0)
        return vx_err_set(e, VX_EPARSE, "authorization: '%s' is empty", name);
    if (n >= size)
        return vx_err_set(e, VX_EPARSE, "authorization: '%s' is longer than %zu bytes", name,
                          size - 1);
    memcpy(dst, v, n);
    dst[n] = '\0';
    *seen = 1;
    return 0;
}

int vx_paysign_auth_parse(const char *value, struct vx_paysign_auth *out, struct vx_err *e)
{
    char alg[32];
    int seen[3] = {0, 0, 0};
    const char *p = value;
    size_t n;
    int rc;

    if (!value || !out)
        return vx_err_set(e, VX_EINVAL, "authorization: missing");
    memset(out, 0, sizeof(*out));
    while (*p == ' ')
        p++;
    n = strcspn(p, " ");
    if (n == 0 || n >= sizeof(alg))
        return vx_err_set(e, VX_EPARSE, "authorization: no algorithm");
    memcpy(alg, p, n);
    alg[n] = '\0';
    if (vx_paysign_alg_parse(alg, &out->alg) != 0)
        return vx_err_set(e, VX_EPARSE, "authorization: unknown algorithm '%s'", alg);
    p += n;
    while (*p) {
        const char *eq;
        size_t seg;
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        seg = strcspn(p, ",");
        eq = memchr(p, '=', seg);
        if (!eq)
            return vx_err_set(e, VX_EPARSE, "authorization: part without '=': '%.*s'", (int)seg, p);
        n = seg - (size_t)(eq + 1 - p);
        while (n > 0 && eq[n] == ' ')
            n--;
        if ((size_t)(eq - p) == 11 && strncmp(p, "PublicKeyId", 11) == 0)
            rc = auth_part("PublicKeyId", eq + 1, n, out->key_id, sizeof(out->key_id), &seen[0], e);
        else if ((size_t)(eq - p) == 13 && strncmp(p, "SignedHeaders", 13) == 0)
            rc = auth_part("SignedHeaders", eq + 1, n, out->signed_headers,
                           sizeof(out->signed_headers), &seen[1], e);
        else if ((size_t)(eq - p) == 9 && strncmp(p, "Signature", 9) == 0)
            rc = auth_part("Signature", eq + 1, n, out->signature, sizeof(out->signature), &seen[2],
                           e);
        else
            rc = vx_err_set(e, VX_EPARSE, "authorization: unknown part '%.*s'", (int)(eq - p), p);
        if (rc != 0)
            return rc;
        p += seg;
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return vx_err_set(e, VX_EPARSE, "authorization: '%s' is missing",
                          !seen[0]   ? "PublicKeyId"
                          : !seen[1] ? "SignedHeaders"
                                     : "Signature");
    return 0;
}

int vx_paysign_auth_format(const struct vx_paysign_auth *a, struct vx_buf *out)
{
    if (!a || !out)
        return VX_EINVAL;
    return vx_buf_appendf(out, "%s PublicKeyId=%s, SignedHeaders=%s, Signature=%s",
                          vx_paysign_alg_name(a->alg), a->key_id, a->signed_headers, a->signature);
}

int vx_paysign_authorize(EVP_PKEY *key, enum vx_paysign_alg alg, const char *key_id,
                         const char *method, const char *path, const char *query,
                         const struct vx_paysign_hdr *h, size_t nh, const void *body, size_t len,
                         struct vx_buf *out, struct vx_err *e)
{
    struct vx_buf canon, sts;
    struct vx_paysign_auth a;
    char *sig = NULL;
    const char *list;
    int rc;

    vx_buf_init(&canon);
    vx_buf_init(&sts);
    memset(&a, 0, sizeof(a));
    a.alg = alg;
    if (!key_id || vx_strlcpy(a.key_id, key_id, sizeof(a.key_id)) != 0 || !*key_id) {
        rc = vx_err_set(e, VX_EINVAL, "sign: bad public key id");
        goto out;
    }
    if ((rc = vx_paysign_canonical(method, path, query, h, nh, NULL, body, len, &canon, e)) != 0)
        goto out;
    /* the signed list is the canonical request's second-to-last line */
    canon.data[canon.len - 65] = '\0';
    list = strrchr(canon.data, '\n');
    list = list ? list + 1 : canon.data;
    if (vx_strlcpy(a.signed_headers, list, sizeof(a.signed_headers)) != 0) {
        rc = vx_err_set(e, VX_ERANGE, "sign: signed header list too long");
        goto out;
    }
    canon.data[canon.len - 65] = '\n';
    if ((rc = vx_paysign_string_to_sign(alg, canon.data, &sts)) != 0 ||
        (rc = vx_paysign_sign(key, alg, sts.data, &sig, e)) != 0)
        goto out;
    if (vx_strlcpy(a.signature, sig, sizeof(a.signature)) != 0) {
        rc = vx_err_set(e, VX_ERANGE, "sign: signature longer than %zu bytes (key too large)",
                        sizeof(a.signature) - 1);
        goto out;
    }
    rc = vx_paysign_auth_format(&a, out);
out:
    free(sig);
    vx_buf_release(&canon);
    vx_buf_release(&sts);
    return rc;
}

int vx_paysign_check(EVP_PKEY *pub, const struct vx_paysign_auth *a, const char *method,
                     const char *path, const char *query, const struct vx_paysign_hdr *h, size_t nh,
                     const void *body, size_t len, struct vx_err *e)
{
    static const char *const required[] = {"accept", "content-type", "x-amz-pay-date",
                                           "x-amz-pay-host", "x-amz-pay-region"};
    char names[VX__PAYSIGN_HDRS][VX__PAYSIGN_NAME];
    struct vx_buf canon, sts;
    size_t n = 0;
    int rc;

    if (!a)
        return vx_err_set(e, VX_EINVAL, "check: no authorization");
    if ((rc = list_parse(a->signed_headers, names, &n, e)) != 0)
        return rc;
    for (size_t r = 0; r < VX_ARRAY_LEN(required); r++) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(names[i], required[r]) == 0;
        if (!found)
            return vx_err_set(e, VX_EDENIED, "header '%s' is not signed", required[r]);
    }
    vx_buf_init(&canon);
    vx_buf_init(&sts);
    rc = vx_paysign_canonical(method, path, query, h, nh, a->signed_headers, body, len, &canon, e);
    if (rc == 0 && (rc = vx_paysign_string_to_sign(a->alg, canon.data, &sts)) != 0)
        vx_err_set(e, rc, "check: out of memory");
    if (rc == 0 && vx_paysign_verify(pub, a->alg, sts.data, a->signature) != 0)
        rc = vx_err_set(e, VX_EVERIFY, "signature does not match the request");
    vx_buf_release(&canon);
    vx_buf_release(&sts);
    return rc;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int vx_paysign_date(int64_t epoch, char out[17])
{
    struct tm tm;
    time_t t = (time_t)epoch;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return VX_ERANGE;
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return VX_ERANGE;
    return 0;
}

/* Reads n decimal digits of s. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int vx_paysign_date_parse(const char *s, int64_t *epoch)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, leap;

    if (!s || !epoch || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return VX_EPARSE;
    y = digits(s, 4);
    mo = digits(s + 4, 2);
    d = digits(s + 6, 2);
    h = digits(s + 9, 2);
    mi = digits(s + 11, 2);
    sec = digits(s + 13, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 59)
        return VX_EPARSE;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return VX_EPARSE;
    *epoch = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}
