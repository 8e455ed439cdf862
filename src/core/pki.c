/*
 * A certificate factory for development and tests: RSA keys, X.509 v3
 * certificates with any validity window (past, present or future), SANs and CA
 * flags, PEM in memory and on disk, the Signature-256 of a request body, and the
 * development CA that `voxcart devca` lays out in a directory.
 *
 * Nothing here is on the request path of voxcartd; it exists so that a developer
 * can sign requests the way the voice platform does, and so that tests can make
 * every kind of good and broken chain at run time instead of shipping key files.
 *
 * Private keys are written unencrypted with mode 0600 (forced with fchmod, so an
 * older file with looser permissions is tightened when it is overwritten).
 * OpenSSL's error queue is drained into the caller's vx_err and cleared, so a
 * failure here never leaks a stale error into an unrelated OpenSSL call later.
 */
#include "voxcart/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define PKI_DEFAULT_BITS 2048
#define PKI_MIN_BITS     1024
#define PKI_MAX_BITS     16384
#define DAY_SECONDS      86400
/* Leaves start an hour in the past so a signer whose clock runs ahead is still accepted. */
#define DEVCA_SKEW_SECONDS 3600
#define DEVCA_MAX_DAYS     3650

/* Takes the most specific reason off OpenSSL's error queue and empties the queue. */
static const char *ssl_reason(char *buf, size_t size)
{
    unsigned long code = ERR_peek_last_error();
    const char *reason = code ? ERR_reason_error_string(code) : NULL;

    if (reason)
        vx_strlcpy(buf, reason, size);
    else if (code)
        ERR_error_string_n(code, buf, size);
    else
        vx_strlcpy(buf, "unknown openssl error", size);
    ERR_clear_error();
    return buf;
}

int vx_pki_keygen(int bits, EVP_PKEY **out, struct vx_err *e)
{
    char why[128];
    EVP_PKEY *key;

    if (!out)
        return vx_err_set(e, VX_EINVAL, "no place to store the generated key");
    if (bits <= 0)
        bits = PKI_DEFAULT_BITS;
    if (bits < PKI_MIN_BITS || bits > PKI_MAX_BITS)
        return vx_err_set(e, VX_EINVAL, "invalid rsa key size '%d'", bits);
    key = EVP_RSA_gen((unsigned int)bits);
    if (!key)
        return vx_err_set(e, VX_EIO, "cannot generate a %d-bit rsa key: %s", bits,
                          ssl_reason(why, sizeof(why)));
    *out = key;
    return 0;
}

static int random_serial(uint64_t *out)
{
    unsigned char b[8];
    uint64_t v;

    do {
        if (RAND_bytes(b, (int)sizeof(b)) != 1)
            return VX_EIO;
        v = 0;
        for (size_t i = 0; i < sizeof(b); i++)
            v = (v << 8) | b[i];
        /* Positive and of a stable length, which some old parsers insist on. */
        v &= UINT64_C(0x7fffffffffffffff);
    } while (v == 0);
    *out = v;
    return 0;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct vx_err *e)
{
    char why[128];
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int rc = 0;

    if (!ext)
        return vx_err_set(e, VX_EINVAL, "invalid %s extension '%s': %s", OBJ_nid2sn(nid), value,
                          ssl_reason(why, sizeof(why)));
    if (X509_add_ext(x, ext, -1) != 1)
        rc = vx_err_set(e, VX_ENOMEM, "cannot add %s extension: %s", OBJ_nid2sn(nid),
                        ssl_reason(why, sizeof(why)));
    X509_EXTENSION_free(ext);
    return rc;
}

/* Appends "DNS:a,DNS:b" for a comma-separated list, trimming blanks around each item. */
static int san_append(struct vx_buf *san, const char *kind, const char *list, struct vx_err *e)
{
    const char *p = list;

    while (p && *p) {
        const char *start, *end;
        const char *comma = strchr(p, ',');

        end = comma ? comma : p + strlen(p);
        start = p;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > start) {
            int len = (int)(end - start);
            if (vx_buf_appendf(san, "%s%s:%.*s", san->len ? "," : "", kind, len, start) != 0)
                return vx_err_set(e, VX_ENOMEM, "out of memory building the san list");
        }
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int add_extensions(X509 *x, X509 *issuer, const struct vx_pki_cert_opts *o, struct vx_err *e)
{
    X509V3_CTX ctx;
    struct vx_buf san;
    int rc;

    vx_buf_init(&san);
    /* A self-signed certificate is its own issuer: its AKID then repeats its own SKID. */
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    rc = add_ext(x, &ctx, NID_basic_constraints,
                 o->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE", e);
    if (rc != 0)
        goto out;
    rc = add_ext(
        x, &ctx, NID_key_usage,
        o->is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment", e);
    if (rc != 0)
        goto out;
    rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", e);
    if (rc != 0)
        goto out;
    rc = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", e);
    if (rc != 0)
        goto out;
    rc = san_append(&san, "DNS", o->san_dns, e);
    if (rc == 0)
        rc = san_append(&san, "IP", o->san_ip, e);
    if (rc != 0)
        goto out;
    if (san.len) {
        rc = add_ext(x, &ctx, NID_subject_alt_name, san.data, e);
        if (rc != 0)
            goto out;
    }
    if (o->server_auth)
        rc = add_ext(x, &ctx, NID_ext_key_usage, "serverAuth", e);
out:
    vx_buf_release(&san);
    return rc;
}

static int set_validity(X509 *x, const struct vx_pki_cert_opts *o, struct vx_err *e)
{
    char why[128];

    /* ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime after, as RFC 5280 asks. */
    if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)o->not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)o->not_after))
        return vx_err_set(e, VX_ERANGE, "cannot set the validity of '%s': %s", o->common_name,
                          ssl_reason(why, sizeof(why)));
    return 0;
}

/* Sanity checks on the arguments of vx_pki_issue; the validity window is deliberately not
 * checked, so tests can make inverted or expired certificates. */
static int issue_check(const struct vx_pki_cert_opts *o, EVP_PKEY *subject_key, X509 *issuer,
                       EVP_PKEY *issuer_key, X509 **out, struct vx_err *e)
{
    char why[128];

    if (!o || !o->common_name || !*o->common_name || !subject_key || !issuer_key || !out)
        return vx_err_set(e, VX_EINVAL, "a certificate needs a common name, keys and an output");
    if (!issuer && subject_key != issuer_key && EVP_PKEY_eq(subject_key, issuer_key) != 1)
        return vx_err_set(e, VX_EINVAL,
                          "self-signed certificate '%s' must be signed with its own key",
                          o->common_name);
    if (issuer && X509_check_private_key(issuer, issuer_key) != 1)
        return vx_err_set(e, VX_EINVAL, "the issuer key does not match the issuer of '%s': %s",
                          o->common_name, ssl_reason(why, sizeof(why)));
    return 0;
}

int vx_pki_issue(const struct vx_pki_cert_opts *o, EVP_PKEY *subject_key, X509 *issuer,
                 EVP_PKEY *issuer_key, X509 **out, struct vx_err *e)
{
    char why[128];
    X509 *x = NULL;
    X509_NAME *name;
    uint64_t serial;
    int rc;

    rc = issue_check(o, subject_key, issuer, issuer_key, out, e);
    if (rc != 0)
        goto out;
    x = X509_new();
    if (!x) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory creating '%s'", o->common_name);
        goto out;
    }
    serial = o->serial;
    if (serial == 0 && random_serial(&serial) != 0) {
        rc = vx_err_set(e, VX_EIO, "cannot draw a random serial: %s", ssl_reason(why, sizeof(why)));
        goto out;
    }
    name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)o->common_name,
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, subject_key) != 1) {
        rc = vx_err_set(e, VX_EINVAL, "cannot fill in certificate '%s': %s", o->common_name,
                        ssl_reason(why, sizeof(why)));
        goto out;
    }
    rc = set_validity(x, o, e);
    if (rc != 0)
        goto out;
    rc = add_extensions(x, issuer, o, e);
    if (rc != 0)
        goto out;
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
        rc = vx_err_set(e, VX_EIO, "cannot sign certificate '%s': %s", o->common_name,
                        ssl_reason(why, sizeof(why)));
        goto out;
    }
    *out = x;
    x = NULL;
out:
    X509_free(x);
    return rc;
}

int vx_pki_cert_pem(X509 *cert, char **out, size_t *len, struct vx_err *e)
{
    char why[128];
    BIO *bio = NULL;
    char *mem = NULL, *copy;
    long n;
    int rc = 0;

    if (!cert || !out)
        return vx_err_set(e, VX_EINVAL, "no certificate to encode");
    bio = BIO_new(BIO_s_mem());
    if (!bio || PEM_write_bio_X509(bio, cert) != 1) {
        rc = vx_err_set(e, VX_ENOMEM, "cannot encode certificate as pem: %s",
                        ssl_reason(why, sizeof(why)));
        goto out;
    }
    n = BIO_get_mem_data(bio, &mem);
    if (n <= 0 || !mem) {
        rc = vx_err_set(e, VX_EIO, "cannot encode certificate as pem: empty output");
        goto out;
    }
    copy = malloc((size_t)n + 1);
    if (!copy) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory encoding a certificate");
        goto out;
    }
    memcpy(copy, mem, (size_t)n);
    copy[n] = '\0';
    *out = copy;
    if (len)
        *len = (size_t)n;
out:
    BIO_free(bio);
    return rc;
}

/* Opens path for writing; private files get mode 0600 even when they already existed. */
static int open_out(const char *path, int private_file, FILE **out, struct vx_err *e)
{
    mode_t mode = private_file ? 0600 : 0644;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE *f;

    if (fd < 0)
        return vx_err_set(e, VX_EIO, "cannot create '%s': %s", path, strerror(errno));
    if (private_file && fchmod(fd, mode) != 0) {
        int err = errno;
        close(fd);
        return vx_err_set(e, VX_EIO, "cannot restrict '%s' to its owner: %s", path, strerror(err));
    }
    f = fdopen(fd, "w");
    if (!f) {
        int err = errno;
        close(fd);
        return vx_err_set(e, VX_EIO, "cannot open '%s': %s", path, strerror(err));
    }
    *out = f;
    return 0;
}

/* Closes f; a write error that only shows on flush still fails the whole write. */
static int close_out(FILE *f, const char *path, int rc, struct vx_err *e)
{
    int failed = ferror(f);

    if (fclose(f) != 0)
        failed = 1;
    if (failed && rc == 0)
        rc = vx_err_set(e, VX_EIO, "cannot write '%s': %s", path, strerror(errno));
    return rc;
}

int vx_pki_write_cert(const char *path, X509 *const *certs, size_t n, struct vx_err *e)
{
    char why[128];
    FILE *f = NULL;
    int rc;

    if (!path || !certs || n == 0)
        return vx_err_set(e, VX_EINVAL, "no certificate to write");
    rc = open_out(path, 0, &f, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!certs[i] || PEM_write_X509(f, certs[i]) != 1)
            rc = vx_err_set(e, VX_EIO, "cannot write certificate %zu to '%s': %s", i + 1, path,
                            ssl_reason(why, sizeof(why)));
    }
    return close_out(f, path, rc, e);
}

int vx_pki_write_key(const char *path, EVP_PKEY *key, struct vx_err *e)
{
    char why[128];
    FILE *f = NULL;
    int rc;

    if (!path || !key)
        return vx_err_set(e, VX_EINVAL, "no key to write");
    rc = open_out(path, 1, &f, e);
    if (rc != 0)
        return rc;
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
        rc = vx_err_set(e, VX_EIO, "cannot write key to '%s': %s", path,
                        ssl_reason(why, sizeof(why)));
    return close_out(f, path, rc, e);
}

/* Refuses encrypted keys instead of letting OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int open_in(const char *path, FILE **out, struct vx_err *e)
{
    FILE *f;

    if (!path)
        return vx_err_set(e, VX_EINVAL, "no file name given");
    f = fopen(path, "r");
    if (!f)
        return vx_err_set(e, errno == ENOENT ? VX_ENOTFOUND : VX_EIO, "cannot read '%s': %s", path,
                          strerror(errno));
    *out = f;
    return 0;
}

int vx_pki_read_key(const char *path, EVP_PKEY **out, struct vx_err *e)
{
    char why[128];
    FILE *f = NULL;
    EVP_PKEY *key;
    int rc;

    rc = open_in(path, &f, e);
    if (rc != 0)
        return rc;
    key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!key)
        return vx_err_set(e, VX_EPARSE, "'%s' holds no usable private key: %s", path,
                          ssl_reason(why, sizeof(why)));
    *out = key;
    return 0;
}

int vx_pki_read_cert(const char *path, X509 **out, struct vx_err *e)
{
    char why[128];
    FILE *f = NULL;
    X509 *cert;
    int rc;

    rc = open_in(path, &f, e);
    if (rc != 0)
        return rc;
    cert = PEM_read_X509(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (!cert)
        return vx_err_set(e, VX_EPARSE, "'%s' holds no pem certificate: %s", path,
                          ssl_reason(why, sizeof(why)));
    *out = cert;
    return 0;
}

int vx_pki_sign_body(EVP_PKEY *key, const void *body, size_t len, char **b64_out, struct vx_err *e)
{
    char why[128];
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    char *b64 = NULL;
    size_t siglen = 0;
    int rc = 0;

    if (!key || (!body && len) || !b64_out)
        return vx_err_set(e, VX_EINVAL, "signing needs a key, a body and an output");
    if (!EVP_PKEY_is_a(key, "RSA"))
        return vx_err_set(e, VX_EINVAL, "the signing key is not an rsa key");
    if (!body)
        body = "";
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_DigestSign(md, NULL, &siglen, body, len) != 1) {
        rc = vx_err_set(e, VX_EIO, "cannot start signing: %s", ssl_reason(why, sizeof(why)));
        goto out;
    }
    sig = malloc(siglen);
    b64 = malloc(4 * ((siglen + 2) / 3) + 1);
    if (!sig || !b64) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory signing the body");
        goto out;
    }
    if (EVP_DigestSign(md, sig, &siglen, body, len) != 1) {
        rc = vx_err_set(e, VX_EIO, "cannot sign the body: %s", ssl_reason(why, sizeof(why)));
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
    *b64_out = b64;
    b64 = NULL;
out:
    free(b64);
    free(sig);
    EVP_MD_CTX_free(md);
    return rc;
}

/*
 * The development CA. Each part (root, intermediate, signing leaf, TLS server) is
 * kept when its files exist, load, match each other, chain to the current parent
 * and are valid now; otherwise it is made afresh. A part that is remade forces
 * its children to be remade too, so the files always form one consistent tree.
 */

struct devca_spec {
    const char *cert_name;
    const char *key_name;
    const char *common_name;
    const char *san_dns;
    const char *san_ip;
    int days_factor; /* validity in multiples of `days` */
    int is_ca;
    int server_auth;
    unsigned made_bit;
};

static const struct devca_spec devca_root = {
    VX_DEVCA_ROOT,     VX_DEVCA_ROOT_KEY, "voxcart development root CA", NULL, NULL, 10, 1, 0,
    VX_DEVCA_MADE_ROOT};
static const struct devca_spec devca_inter = {
    VX_DEVCA_INTER,     VX_DEVCA_INTER_KEY, "voxcart development intermediate", NULL, NULL, 5, 1, 0,
    VX_DEVCA_MADE_INTER};
static const struct devca_spec devca_signing = {VX_DEVCA_SIGNING,
                                                VX_DEVCA_SIGNING_KEY,
                                                "echo-api.amazon.com",
                                                "echo-api.amazon.com",
                                                NULL,
                                                1,
                                                0,
                                                0,
                                                VX_DEVCA_MADE_SIGNING};
static const struct devca_spec devca_server = {
    VX_DEVCA_SERVER,     VX_DEVCA_SERVER_KEY, "localhost", "localhost", "127.0.0.1,::1", 1, 0, 1,
    VX_DEVCA_MADE_SERVER};

struct devca_part {
    X509 *cert;
    EVP_PKEY *key;
};

static void devca_part_release(struct devca_part *p)
{
    X509_free(p->cert);
    EVP_PKEY_free(p->key);
    p->cert = NULL;
    p->key = NULL;
}

static int devca_path(char *buf, size_t size, const char *dir, const char *name, struct vx_err *e)
{
    if (vx_snprintf(buf, size, "%s/%s", dir, name) != 0)
        return vx_err_set(e, VX_ERANGE, "path '%s/%s' is too long", dir, name);
    return 0;
}

static int mkdir_p(const char *dir, struct vx_err *e)
{
    char path[PATH_MAX];
    struct stat st;

    if (vx_strlcpy(path, dir, sizeof(path)) != 0)
        return vx_err_set(e, VX_ERANGE, "directory name '%s' is too long", dir);
    for (char *p = path + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return vx_err_set(e, VX_EIO, "cannot create directory '%s': %s", path, strerror(errno));
        *p = c;
        if (c == '\0')
            break;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return vx_err_set(e, VX_EIO, "'%s' is not a directory", dir);
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* True when cert lies within its validity window now and was signed by parent (itself for
 * the root). */
static int devca_cert_usable(X509 *cert, EVP_PKEY *key, X509 *parent)
{
    time_t now = (time_t)vx_now();
    EVP_PKEY *parent_key = X509_get0_pubkey(parent);
    int ok = X509_check_private_key(cert, key) == 1 &&
             X509_check_issued(parent, cert) == X509_V_OK && parent_key &&
             X509_verify(cert, parent_key) == 1 &&
             X509_cmp_time(X509_get0_notBefore(cert), &now) < 0 &&
             X509_cmp_time(X509_get0_notAfter(cert), &now) > 0;
    ERR_clear_error();
    return ok;
}

/*
 * Loads an existing part. Returns 0 when it can be kept, VX_ENOTFOUND when it must be made
 * (missing, expired, or not issued by parent), another code when a file is there but unreadable
 * (which is left for the user to sort out rather than overwritten).
 */
static int devca_part_load(const char *cert_path, const char *key_path, X509 *parent,
                           struct devca_part *p, struct vx_err *e)
{
    int rc;

    if (!file_exists(cert_path) || !file_exists(key_path))
        return VX_ENOTFOUND;
    rc = vx_pki_read_cert(cert_path, &p->cert, e);
    if (rc == 0)
        rc = vx_pki_read_key(key_path, &p->key, e);
    if (rc == 0 && !devca_cert_usable(p->cert, p->key, parent ? parent : p->cert))
        rc = VX_ENOTFOUND;
    if (rc != 0)
        devca_part_release(p);
    return rc;
}

static int devca_part_make(const char *dir, const struct devca_spec *s, int days,
                           const struct devca_part *parent, int keep, struct devca_part *p,
                           unsigned *made, struct vx_err *e)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    struct vx_pki_cert_opts o;
    int64_t now = vx_now();
    int rc;

    rc = devca_path(cert_path, sizeof(cert_path), dir, s->cert_name, e);
    if (rc == 0)
        rc = devca_path(key_path, sizeof(key_path), dir, s->key_name, e);
    if (rc != 0)
        return rc;
    if (keep) {
        rc = devca_part_load(cert_path, key_path, parent ? parent->cert : NULL, p, e);
        if (rc != VX_ENOTFOUND)
            return rc;
    }
    memset(&o, 0, sizeof(o));
    o.common_name = s->common_name;
    o.san_dns = s->san_dns;
    o.san_ip = s->san_ip;
    o.not_before = now - DEVCA_SKEW_SECONDS;
    o.not_after = now + (int64_t)days * s->days_factor * DAY_SECONDS;
    o.is_ca = s->is_ca;
    o.server_auth = s->server_auth;
    rc = vx_pki_keygen(0, &p->key, e);
    if (rc == 0)
        rc = vx_pki_issue(&o, p->key, parent ? parent->cert : NULL, parent ? parent->key : p->key,
                          &p->cert, e);
    /* The key first: a certificate on disk without its key would look complete to a reader. */
    if (rc == 0)
        rc = vx_pki_write_key(key_path, p->key, e);
    if (rc == 0)
        rc = vx_pki_write_cert(cert_path, &p->cert, 1, e);
    if (rc != 0) {
        devca_part_release(p);
        return rc;
    }
    *made |= s->made_bit;
    return 0;
}

/* chain.pem is rewritten when either of its certificates is new or it does not start with
 * the current signing certificate. */
static int devca_chain(const char *dir, const struct devca_part *signing,
                       const struct devca_part *inter, int keep, unsigned *made, struct vx_err *e)
{
    char path[PATH_MAX];
    X509 *certs[2] = {signing->cert, inter->cert};
    X509 *first = NULL;
    int rc;

    rc = devca_path(path, sizeof(path), dir, VX_DEVCA_CHAIN, e);
    if (rc != 0)
        return rc;
    if (keep && file_exists(path) && vx_pki_read_cert(path, &first, NULL) == 0) {
        int same = X509_cmp(first, signing->cert) == 0;
        X509_free(first);
        ERR_clear_error();
        if (same)
            return 0;
    }
    ERR_clear_error();
    rc = vx_pki_write_cert(path, certs, 2, e);
    if (rc == 0)
        *made |= VX_DEVCA_MADE_CHAIN;
    return rc;
}

int vx_devca_create_ex(const char *dir, int days, int force, unsigned *made_out, struct vx_err *e)
{
    struct devca_part root = {0}, inter = {0}, signing = {0}, server = {0};
    unsigned made = 0;
    int rc;

    if (!dir || !*dir)
        return vx_err_set(e, VX_EINVAL, "no directory given for the development ca");
    if (days < 1 || days > DEVCA_MAX_DAYS)
        return vx_err_set(e, VX_ERANGE, "validity '%d' days is outside 1..%d", days,
                          DEVCA_MAX_DAYS);
    rc = mkdir_p(dir, e);
    if (rc != 0)
        goto out;
    rc = devca_part_make(dir, &devca_root, days, NULL, !force, &root, &made, e);
    if (rc != 0)
        goto out;
    rc = devca_part_make(dir, &devca_inter, days, &root, !(made & VX_DEVCA_MADE_ROOT) && !force,
                         &inter, &made, e);
    if (rc != 0)
        goto out;
    rc = devca_part_make(dir, &devca_signing, days, &inter, !(made & VX_DEVCA_MADE_INTER) && !force,
                         &signing, &made, e);
    if (rc != 0)
        goto out;
    rc = devca_chain(dir, &signing, &inter,
                     !(made & (VX_DEVCA_MADE_INTER | VX_DEVCA_MADE_SIGNING)) && !force, &made, e);
    if (rc != 0)
        goto out;
    /* Issued by the root directly, so a client that trusts root.pem accepts it without a chain. */
    rc = devca_part_make(dir, &devca_server, days, &root, !(made & VX_DEVCA_MADE_ROOT) && !force,
                         &server, &made, e);
out:
    if (made_out)
        *made_out = made;
    devca_part_release(&root);
    devca_part_release(&inter);
    devca_part_release(&signing);
    devca_part_release(&server);
    return rc;
}

int vx_devca_create(const char *dir, int days, int force, struct vx_err *e)
{
    return vx_devca_create_ex(dir, days, force, NULL, e);
}
