/*
 * Merchant API tokens (mtoken.h).
 *
 * DESIGN
 * - The header is read first, by hand, and its alg must be exactly the
 *   configured one. libjwt would otherwise pick the algorithm from the token:
 *   "none" needs no key, and an HS256 token "signed" with the RSA public key
 *   as its HMAC secret would verify. Only then does libjwt check the
 *   signature, and its idea of the algorithm is compared once more.
 * - The claims are read from the verified payload with the project's strict
 *   JSON reader, not libjwt's getters, so that a claim of the wrong type (an
 *   exp written as a string, an aud object) is a refusal and not a zero.
 * - exp is required: a token that never expires is a password that cannot be
 *   taken back.
 */
#include "voxcart/mtoken.h"
#include "voxcart/jscan.h"

#include <errno.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_codes[VX_MTOKEN__COUNT] = {[VX_MTOKEN_OK] = "ok",
#define XX(name, code, msg) [VX_MTOKEN_##name] = code,
                                                           VX_MTOKEN_REASON_MAP(XX)
#undef XX
};

static const char *const reason_msgs[VX_MTOKEN__COUNT] = {[VX_MTOKEN_OK] = "ok",
#define XX(name, code, msg) [VX_MTOKEN_##name] = msg,
                                                          VX_MTOKEN_REASON_MAP(XX)
#undef XX
};

const char *vx_mtoken_reason_code(enum vx_mtoken_reason r)
{
    return (unsigned)r < VX_MTOKEN__COUNT ? reason_codes[r] : "token_invalid";
}

const char *vx_mtoken_reason_message(enum vx_mtoken_reason r)
{
    return (unsigned)r < VX_MTOKEN__COUNT ? reason_msgs[r] : "the token is not valid";
}

static const char *const alg_names[] = {"HS256", "RS256", "ES256"};
static const jwt_alg_t alg_jwt[] = {JWT_ALG_HS256, JWT_ALG_RS256, JWT_ALG_ES256};

int vx_mtoken_alg_parse(const char *name, enum vx_mtoken_alg *out)
{
    for (size_t i = 0; name && i < VX_ARRAY_LEN(alg_names); i++) {
        if (strcmp(alg_names[i], name) == 0) {
            *out = (enum vx_mtoken_alg)i;
            return 0;
        }
    }
    return VX_EINVAL;
}

int vx_mtoken_key_file(const char *path, enum vx_mtoken_alg alg, char **key, size_t *len,
                       struct vx_err *e)
{
    int rc = vx_file_read(path, 64 * 1024, key, len, e);
    if (rc != 0)
        return rc;
    /* a secret written by echo ends in a newline nobody means as part of it */
    while (alg == VX_MTOKEN_HS256 && *len > 0 &&
           ((*key)[*len - 1] == '\n' || (*key)[*len - 1] == '\r'))
        (*key)[--*len] = '\0';
    if (*len < (alg == VX_MTOKEN_HS256 ? 32u : 1u)) {
        rc = vx_err_set(e, VX_EINVAL, "'%s' is %s (an HS256 secret needs 32 bytes or more)", path,
                        *len ? "too short" : "empty");
        free(*key);
        *key = NULL;
    }
    return rc;
}

int vx_mtoken_keys_load(struct vx_mtoken_keys *k, const char *alg, const char *key_file,
                        const char *issuer, const char *audience, int leeway, struct vx_err *e)
{
    char *data = NULL;
    size_t len = 0;
    memset(k, 0, sizeof(*k));
    if (vx_mtoken_alg_parse(alg, &k->alg) != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "merchant.jwt_algorithm: '%s' is not HS256, RS256 or ES256",
                          alg ? alg : "");
    if (vx_mtoken_key_file(key_file, k->alg, &data, &len, e) != 0)
        return vx_err_set(e, VX_ECONFIG, "merchant.jwt_key: %s", e ? e->msg : "cannot read");
    k->key = (unsigned char *)data;
    k->key_len = len;
    vx_strlcpy(k->issuer, issuer ? issuer : "", sizeof(k->issuer));
    vx_strlcpy(k->audience, audience ? audience : "", sizeof(k->audience));
    k->leeway = leeway;
    return 0;
}

void vx_mtoken_keys_release(struct vx_mtoken_keys *k)
{
    if (k->key) {
        memset(k->key, 0, k->key_len);
        free(k->key);
    }
    memset(k, 0, sizeof(*k));
}

int vx_merchant_id_ok(const char *id)
{
    size_t n = 0;
    if (!id)
        return 0;
    for (; id[n]; n++) {
        char c = id[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= VX_MERCHANT_ID_MAX;
}

/* base64url without padding (RFC 7515 section 2) into a NUL-terminated heap buffer. */
static int b64url_decode(const char *in, size_t len, char **out, size_t *outlen)
{
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;
    char *buf = malloc(len * 3 / 4 + 2);
    if (!buf)
        return VX_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else {
            free(buf);
            return VX_EPARSE;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (char)((acc >> bits) & 0xffu);
        }
    }
    if (bits >= 6) { /* one character alone cannot end a group */
        free(buf);
        return VX_EPARSE;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

/* The JSON object of one segment, or VX_EPARSE. */
static int segment_doc(const char *seg, size_t len, struct vx_jdoc *doc)
{
    char *text = NULL;
    size_t n = 0;
    int rc = b64url_decode(seg, len, &text, &n);
    if (rc != 0)
        return rc;
    rc = vx_jdoc_parse(doc, text, n, NULL);
    free(text);
    if (rc == 0 && vx_jroot(doc)->type != VX_JOBJECT) {
        vx_jdoc_free(doc);
        rc = VX_EPARSE;
    }
    return rc;
}

static int aud_matches(const struct vx_jdoc *d, const struct vx_jnode *aud, const char *want)
{
    if (!aud)
        return 0;
    if (aud->type == VX_JSTRING)
        return strcmp(aud->str, want) == 0;
    if (aud->type != VX_JARRAY)
        return 0;
    for (const struct vx_jnode *m = vx_jfirst(d, aud); m; m = vx_jnext(d, m))
        if (m->type == VX_JSTRING && strcmp(m->str, want) == 0)
            return 1;
    return 0;
}

/* 1 when the space-separated list has word. */
static int has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " ");
        if (n == wl && memcmp(p, word, wl) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

static enum vx_mtoken_reason check_claims(const struct vx_mtoken_keys *k, const struct vx_jdoc *d,
                                          int64_t now, struct vx_mtoken_claims *out)
{
    const struct vx_jnode *root = vx_jroot(d), *exp = vx_jget(d, root, "exp"),
                          *nbf = vx_jget(d, root, "nbf");
    const char *iss = vx_jget_str(d, root, "iss"), *merchant = vx_jget_str(d, root, "merchant"),
               *scope = vx_jget_str(d, root, "scope");
    int64_t t;

    if (!exp || vx_jint64(exp, &t) != 0 || now > t + k->leeway)
        return VX_MTOKEN_EXPIRED;
    out->exp = t;
    if (nbf && (vx_jint64(nbf, &t) != 0 || now + k->leeway < t))
        return VX_MTOKEN_NOT_YET_VALID;
    if (!iss || strcmp(iss, k->issuer) != 0)
        return VX_MTOKEN_ISSUER;
    if (!aud_matches(d, vx_jget(d, root, "aud"), k->audience))
        return VX_MTOKEN_AUDIENCE;
    if (!vx_merchant_id_ok(merchant))
        return VX_MTOKEN_MERCHANT;
    if (!scope)
        return VX_MTOKEN_SCOPE;
    if (has_word(scope, "full"))
        out->full = 1;
    else if (!has_word(scope, "read"))
        return VX_MTOKEN_SCOPE;
    vx_strlcpy(out->merchant, merchant, sizeof(out->merchant));
    return VX_MTOKEN_OK;
}

enum vx_mtoken_reason vx_mtoken_verify(const struct vx_mtoken_keys *k, const char *token,
                                       int64_t now, struct vx_mtoken_claims *out)
{
    const char *dot1, *dot2;
    struct vx_jdoc doc;
    const char *alg;
    jwt_t *jwt = NULL;
    enum vx_mtoken_reason r;
    int ok;

    memset(out, 0, sizeof(*out));
    if (!k || !k->key)
        return VX_MTOKEN_UNCONFIGURED;
    if (!token || !*token)
        return VX_MTOKEN_MISSING;
    dot1 = strchr(token, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.') || strlen(token) > 8192)
        return VX_MTOKEN_MALFORMED;
    if (segment_doc(token, (size_t)(dot1 - token), &doc) != 0)
        return VX_MTOKEN_MALFORMED;
    alg = vx_jget_str(&doc, vx_jroot(&doc), "alg");
    ok = alg && strcmp(alg, alg_names[k->alg]) == 0;
    vx_jdoc_free(&doc);
    if (!ok)
        return VX_MTOKEN_ALGORITHM;
    if (dot2[1] == '\0')
        return VX_MTOKEN_SIGNATURE; /* an unsigned token with a real alg in its header */
    if (jwt_decode(&jwt, token, k->key, (int)k->key_len) != 0 || !jwt)
        return VX_MTOKEN_SIGNATURE;
    ok = jwt_get_alg(jwt) == alg_jwt[k->alg];
    jwt_free(jwt);
    if (!ok)
        return VX_MTOKEN_ALGORITHM;
    if (segment_doc(dot1 + 1, (size_t)(dot2 - dot1 - 1), &doc) != 0)
        return VX_MTOKEN_MALFORMED;
    r = check_claims(k, &doc, now, out);
    vx_jdoc_free(&doc);
    return r;
}

int vx_mtoken_sign(const struct vx_mtoken_mint *m, char **out, struct vx_err *e)
{
    jwt_t *jwt = NULL;
    char *tok;
    int rc = 0;

    *out = NULL;
    if (!vx_merchant_id_ok(m->merchant))
        return vx_err_set(e, VX_EINVAL, "merchant '%s': 1 to 64 of A-Z a-z 0-9 _ -",
                          m->merchant ? m->merchant : "");
    if (jwt_new(&jwt) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    rc |= jwt_add_grant(jwt, "iss", m->issuer);
    rc |= jwt_add_grant(jwt, "aud", m->audience);
    rc |= jwt_add_grant(jwt, "merchant", m->merchant);
    rc |= jwt_add_grant(jwt, "sub", m->merchant);
    rc |= jwt_add_grant(jwt, "scope", m->scope);
    rc |= jwt_add_grant_int(jwt, "iat", (long)m->now);
    rc |= jwt_add_grant_int(jwt, "exp", (long)(m->now + m->ttl));
    if (m->not_before)
        rc |= jwt_add_grant_int(jwt, "nbf", (long)m->not_before);
    if (rc == 0 && jwt_set_alg(jwt, alg_jwt[m->alg], m->key, (int)m->key_len) != 0)
        rc = vx_err_set(e, VX_EINVAL, "the key does not fit %s", alg_names[m->alg]);
    else if (rc != 0)
        rc = vx_err_set(e, VX_ENOMEM, "cannot build the token");
    if (rc == 0) {
        tok = jwt_encode_str(jwt);
        if (!tok)
            rc = vx_err_set(e, VX_EINVAL, "cannot sign with this key as %s", alg_names[m->alg]);
        else {
            *out = tok; /* libjwt allocates it with malloc */
        }
    }
    jwt_free(jwt);
    return rc;
}
