/*
 * Tests for the certificate factory (pki.c): keys, self-signed and chained
 * certificates with SANs and validity windows in the past and future, PEM round
 * trips in memory and on disk, body signatures, and the development CA laid out
 * by vx_devca_create, whose chain is checked with an X509_STORE the way
 * `openssl verify -CAfile root.pem -untrusted intermediate.pem signing.pem` does.
 */
#include "voxcart/pki.h"
#include "vxtest.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define DAY 86400

/* One key for the tests that do not care which; RSA generation is the slow part. */
static EVP_PKEY *shared_key(void)
{
    static EVP_PKEY *key;
    if (!key && vx_pki_keygen(2048, &key, NULL) != 0)
        key = NULL;
    return key;
}

static void rm_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *ent;

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    if (d) {
        while ((ent = readdir(d)) != NULL) {
            char child[PATH_MAX];
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            if (vx_snprintf(child, sizeof(child), "%s/%s", path, ent->d_name) == 0)
                rm_tree(child);
        }
        closedir(d);
    }
    rmdir(path);
}

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
    if (vx_snprintf(buf, size, "%s/%s", dir, name) != 0)
        buf[0] = '\0';
}

static int file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (int)(st.st_mode & 07777);
}

static X509 *issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int is_ca,
                   int64_t not_before, int64_t not_after)
{
    struct vx_pki_cert_opts o = {0};
    X509 *x = NULL;
    o.common_name = cn;
    o.not_before = not_before;
    o.not_after = not_after;
    o.is_ca = is_ca;
    if (vx_pki_issue(&o, key, issuer, issuer_key, &x, NULL) != 0)
        return NULL;
    return x;
}

/* X509_verify_cert with anchors and untrusted intermediates; returns the X509_V_* result. */
static int verify_with(X509 *leaf, X509 *const *anchors, size_t nanchors, X509 *const *untrusted,
                       size_t nuntrusted, int64_t at, const char *host)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    int result = -1;

    if (!store || !ctx || !chain)
        goto out;
    for (size_t i = 0; i < nanchors; i++)
        X509_STORE_add_cert(store, anchors[i]);
    for (size_t i = 0; i < nuntrusted; i++)
        sk_X509_push(chain, untrusted[i]);
    if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1)
        goto out;
    if (at)
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
    if (host)
        X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
    result = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
out:
    sk_X509_free(chain);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return result;
}

static void test_keygen(void)
{
    EVP_PKEY *key = NULL;
    struct vx_err e = {0};

    VX_CHECK_INT(vx_pki_keygen(0, &key, &e), 0);
    VX_CHECK(key != NULL);
    VX_CHECK_INT(EVP_PKEY_get_bits(key), 2048);
    VX_CHECK(EVP_PKEY_is_a(key, "RSA"));
    EVP_PKEY_free(key);

    key = NULL;
    VX_CHECK_INT(vx_pki_keygen(100, &key, &e), VX_EINVAL);
    VX_CHECK(key == NULL);
    VX_CHECK(strstr(e.msg, "'100'") != NULL);
}

static void test_self_signed(void)
{
    EVP_PKEY *key = shared_key(), *other = NULL;
    struct vx_pki_cert_opts o = {0};
    struct vx_err e = {0};
    X509 *root = NULL, *bad = NULL;
    int64_t now = vx_now();
    uint64_t serial = 0;

    o.common_name = "test root";
    o.not_before = now - DAY;
    o.not_after = now + DAY;
    o.is_ca = 1;
    VX_CHECK_INT(vx_pki_issue(&o, key, NULL, key, &root, &e), 0);
    if (!root)
        return;
    VX_CHECK_INT(X509_get_version(root), X509_VERSION_3);
    VX_CHECK_INT(X509_NAME_cmp(X509_get_subject_name(root), X509_get_issuer_name(root)), 0);
    VX_CHECK_INT(X509_verify(root, key), 1);
    VX_CHECK_INT(X509_check_ca(root), 1);
    VX_CHECK(X509_get_extension_flags(root) & EXFLAG_SS);
    VX_CHECK_INT(ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(root)), 1);
    VX_CHECK(serial != 0);
    VX_CHECK_INT(
        ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(root), X509_get0_authority_key_id(root)), 0);
    VX_CHECK(X509_get_key_usage(root) & KU_KEY_CERT_SIGN);
    VX_CHECK_INT(X509_get_signature_nid(root), NID_sha256WithRSAEncryption);
    VX_CHECK_INT(verify_with(root, &root, 1, NULL, 0, 0, NULL), X509_V_OK);

    /* A self-signed certificate must be signed with its own key. */
    VX_CHECK_INT(vx_pki_keygen(0, &other, NULL), 0);
    VX_CHECK_INT(vx_pki_issue(&o, key, NULL, other, &bad, &e), VX_EINVAL);
    VX_CHECK(bad == NULL);
    o.common_name = NULL;
    VX_CHECK_INT(vx_pki_issue(&o, key, NULL, key, &bad, &e), VX_EINVAL);
    VX_CHECK(bad == NULL);

    EVP_PKEY_free(other);
    X509_free(root);
}

static void test_chained(void)
{
    EVP_PKEY *ca_key = shared_key(), *leaf_key = NULL;
    struct vx_pki_cert_opts o = {0};
    struct vx_err e = {0};
    X509 *root = NULL, *leaf = NULL, *wrong = NULL;
    int64_t now = vx_now();
    uint64_t serial = 0;

    root = issue("chain root", ca_key, NULL, ca_key, 1, now - DAY, now + 10 * DAY);
    VX_CHECK_INT(vx_pki_keygen(0, &leaf_key, &e), 0);
    if (!root || !leaf_key)
        goto out;
    o.common_name = "leaf.example";
    o.san_dns = " a.example , b.example,";
    o.san_ip = "127.0.0.1, ::1";
    o.not_before = now - 60;
    o.not_after = now + DAY;
    o.server_auth = 1;
    o.serial = 42;
    VX_CHECK_INT(vx_pki_issue(&o, leaf_key, root, ca_key, &leaf, &e), 0);
    if (!leaf)
        goto out;
    VX_CHECK_INT(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(root)), 0);
    VX_CHECK_INT(X509_verify(leaf, ca_key), 1);
    VX_CHECK_INT(X509_check_ca(leaf), 0);
    VX_CHECK_INT(X509_check_issued(root, leaf), X509_V_OK);
    VX_CHECK_INT(
        ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(root), X509_get0_authority_key_id(leaf)), 0);
    VX_CHECK_INT(ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(leaf)), 1);
    VX_CHECK_INT((long long)serial, 42);
    VX_CHECK_INT(X509_check_host(leaf, "a.example", 0, 0, NULL), 1);
    VX_CHECK_INT(X509_check_host(leaf, "b.example", 0, 0, NULL), 1);
    VX_CHECK_INT(X509_check_host(leaf, "c.example", 0, 0, NULL), 0);
    VX_CHECK_INT(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
    VX_CHECK_INT(X509_check_ip_asc(leaf, "::1", 0), 1);
    VX_CHECK(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
    VX_CHECK(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
    VX_CHECK_INT(verify_with(leaf, &root, 1, NULL, 0, 0, "b.example"), X509_V_OK);

    /* The issuer key must belong to the issuer certificate. */
    VX_CHECK_INT(vx_pki_issue(&o, leaf_key, root, leaf_key, &wrong, &e), VX_EINVAL);
    VX_CHECK(wrong == NULL);
    /* A malformed IP address is reported, not silently dropped. */
    o.san_ip = "300.1.1.1";
    VX_CHECK_INT(vx_pki_issue(&o, leaf_key, root, ca_key, &wrong, &e), VX_EINVAL);
    VX_CHECK(wrong == NULL);
    VX_CHECK(strstr(e.msg, "subjectAltName") != NULL);
out:
    X509_free(leaf);
    X509_free(root);
    EVP_PKEY_free(leaf_key);
}

static void test_validity_windows(void)
{
    EVP_PKEY *key = shared_key();
    int64_t now = vx_now();
    int64_t far = INT64_C(2871763200); /* 2061-01-01: GeneralizedTime territory */
    X509 *root = issue("window root", key, NULL, key, 1, now - 400 * DAY, far);
    X509 *expired = issue("expired", key, root, key, 0, now - 30 * DAY, now - DAY);
    X509 *future = issue("future", key, root, key, 0, now + DAY, now + 30 * DAY);

    VX_CHECK(root && expired && future);
    if (!root || !expired || !future)
        goto out;
    VX_CHECK_INT(ASN1_TIME_cmp_time_t(X509_get0_notAfter(root), (time_t)far), 0);
    VX_CHECK_INT(ASN1_TIME_cmp_time_t(X509_get0_notBefore(root), (time_t)(now - 400 * DAY)), 0);
    VX_CHECK_INT(ASN1_TIME_cmp_time_t(X509_get0_notAfter(expired), (time_t)(now - DAY)), 0);
    VX_CHECK_INT(verify_with(expired, &root, 1, NULL, 0, 0, NULL), X509_V_ERR_CERT_HAS_EXPIRED);
    VX_CHECK_INT(verify_with(expired, &root, 1, NULL, 0, now - 2 * DAY, NULL), X509_V_OK);
    VX_CHECK_INT(verify_with(future, &root, 1, NULL, 0, 0, NULL), X509_V_ERR_CERT_NOT_YET_VALID);
    VX_CHECK_INT(verify_with(future, &root, 1, NULL, 0, now + 2 * DAY, NULL), X509_V_OK);
out:
    X509_free(future);
    X509_free(expired);
    X509_free(root);
}

static void test_pem_round_trip(void)
{
    EVP_PKEY *key = shared_key(), *back_key = NULL;
    int64_t now = vx_now();
    X509 *cert = issue("pem", key, NULL, key, 1, now, now + DAY);
    X509 *back = NULL, *pair[2];
    char *pem = NULL, dir[] = "/tmp/vx_test_pki_XXXXXX", cpath[PATH_MAX], kpath[PATH_MAX];
    size_t len = 0;
    struct vx_err e = {0};
    BIO *bio = NULL;

    if (!cert || !mkdtemp(dir)) {
        VX_CHECK(!"setup");
        X509_free(cert);
        return;
    }
    VX_CHECK_INT(vx_pki_cert_pem(cert, &pem, &len, &e), 0);
    VX_CHECK(pem && len == strlen(pem));
    VX_CHECK(pem && strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    bio = pem ? BIO_new_mem_buf(pem, (int)len) : NULL;
    back = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    VX_CHECK(back && X509_cmp(back, cert) == 0);
    X509_free(back);
    back = NULL;

    path_in(cpath, sizeof(cpath), dir, "two.pem");
    path_in(kpath, sizeof(kpath), dir, "k.key");
    pair[0] = cert;
    pair[1] = cert;
    VX_CHECK_INT(vx_pki_write_cert(cpath, pair, 2, &e), 0);
    VX_CHECK_INT(vx_pki_read_cert(cpath, &back, &e), 0);
    VX_CHECK(back && X509_cmp(back, cert) == 0);

    /* An existing key file with loose permissions is tightened when overwritten. */
    VX_CHECK_INT(vx_pki_write_cert(kpath, &cert, 1, &e), 0);
    VX_CHECK_INT(chmod(kpath, 0644), 0);
    VX_CHECK_INT(vx_pki_write_key(kpath, key, &e), 0);
    VX_CHECK_INT(file_mode(kpath), 0600);
    VX_CHECK_INT(vx_pki_read_key(kpath, &back_key, &e), 0);
    VX_CHECK(back_key && EVP_PKEY_eq(back_key, key) == 1);

    EVP_PKEY_free(back_key);
    back_key = NULL;
    VX_CHECK_INT(vx_pki_read_key(cpath, &back_key, &e), VX_EPARSE);
    VX_CHECK(strstr(e.msg, "two.pem'") != NULL);
    path_in(kpath, sizeof(kpath), dir, "missing.key");
    VX_CHECK_INT(vx_pki_read_key(kpath, &back_key, &e), VX_ENOTFOUND);
    VX_CHECK(strstr(e.msg, "No such file") != NULL);
    VX_CHECK(back_key == NULL);

    BIO_free(bio);
    X509_free(back);
    X509_free(cert);
    free(pem);
    rm_tree(dir);
}

static void test_sign_body(void)
{
    EVP_PKEY *key = shared_key();
    const char body[] = "{\"version\":\"1.0\",\"request\":{\"type\":\"LaunchRequest\"}}";
    char *b64 = NULL;
    unsigned char sig[512];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    struct vx_err e = {0};
    int n;

    VX_CHECK_INT(vx_pki_sign_body(key, body, strlen(body), &b64, &e), 0);
    if (!b64 || !md) {
        EVP_MD_CTX_free(md);
        free(b64);
        return;
    }
    VX_CHECK_INT(strlen(b64), 344); /* base64 of 256 bytes */
    n = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)strlen(b64));
    VX_CHECK_INT(n, 258); /* EVP_DecodeBlock counts the padding bytes */
    VX_CHECK_INT(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    VX_CHECK_INT(EVP_DigestVerify(md, sig, 256, (const unsigned char *)body, strlen(body)), 1);
    VX_CHECK_INT(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    VX_CHECK_INT(EVP_DigestVerify(md, sig, 256, (const unsigned char *)body, strlen(body) - 1), 0);
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(b64);
}

static int file_pem_equal(const char *a, const char *b)
{
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int same = vx_file_read(a, 1 << 20, &da, &la, NULL) == 0 &&
               vx_file_read(b, 1 << 20, &db, &lb, NULL) == 0 && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static X509 *load_cert(const char *dir, const char *name)
{
    char path[PATH_MAX];
    X509 *x = NULL;
    path_in(path, sizeof(path), dir, name);
    if (vx_pki_read_cert(path, &x, NULL) != 0)
        return NULL;
    return x;
}

/* Every certificate of a PEM file, in order. */
static STACK_OF(X509) * load_all(const char *dir, const char *name)
{
    char path[PATH_MAX];
    STACK_OF(X509) *sk = sk_X509_new_null();
    FILE *f;
    X509 *x;

    path_in(path, sizeof(path), dir, name);
    f = fopen(path, "r");
    if (!f || !sk) {
        if (f)
            fclose(f);
        sk_X509_free(sk);
        return NULL;
    }
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    ERR_clear_error();
    fclose(f);
    return sk;
}

static void check_devca_tree(const char *ca)
{
    static const char *keys[] = {VX_DEVCA_ROOT_KEY, VX_DEVCA_INTER_KEY, VX_DEVCA_SIGNING_KEY,
                                 VX_DEVCA_SERVER_KEY};
    static const char *certs[] = {VX_DEVCA_ROOT, VX_DEVCA_INTER, VX_DEVCA_SIGNING, VX_DEVCA_CHAIN,
                                  VX_DEVCA_SERVER};
    char path[PATH_MAX];
    X509 *root = load_cert(ca, VX_DEVCA_ROOT), *inter = load_cert(ca, VX_DEVCA_INTER);
    X509 *signing = load_cert(ca, VX_DEVCA_SIGNING), *server = load_cert(ca, VX_DEVCA_SERVER);
    STACK_OF(X509) *chain = load_all(ca, VX_DEVCA_CHAIN);
    int64_t now = vx_now();

    for (size_t i = 0; i < VX_ARRAY_LEN(keys); i++) {
        path_in(path, sizeof(path), ca, keys[i]);
        VX_CHECK_INT(file_mode(path), 0600);
    }
    for (size_t i = 0; i < VX_ARRAY_LEN(certs); i++) {
        path_in(path, sizeof(path), ca, certs[i]);
        VX_CHECK(file_mode(path) > 0);
    }
    VX_CHECK(root && inter && signing && server && chain);
    if (!root || !inter || !signing || !server || !chain)
        goto out;

    /* openssl verify -CAfile root.pem -untrusted intermediate.pem signing.pem */
    VX_CHECK_INT(verify_with(signing, &root, 1, &inter, 1, 0, "echo-api.amazon.com"), X509_V_OK);
    /* Without the intermediate there is no path, and the intermediate is not an anchor. */
    VX_CHECK_INT(verify_with(signing, &root, 1, NULL, 0, 0, NULL),
                 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    VX_CHECK(verify_with(signing, &inter, 1, NULL, 0, 0, NULL) != X509_V_OK);
    /* chain.pem is what the certificate URL serves: signing first, then the intermediate. */
    VX_CHECK_INT(sk_X509_num(chain), 2);
    if (sk_X509_num(chain) == 2) {
        X509 *untrusted[2] = {sk_X509_value(chain, 0), sk_X509_value(chain, 1)};
        VX_CHECK_INT(X509_cmp(untrusted[0], signing), 0);
        VX_CHECK_INT(X509_cmp(untrusted[1], inter), 0);
        VX_CHECK_INT(verify_with(untrusted[0], &root, 1, untrusted, 2, 0, NULL), X509_V_OK);
    }
    /* The TLS certificate is issued by the root itself. */
    VX_CHECK_INT(verify_with(server, &root, 1, NULL, 0, 0, "localhost"), X509_V_OK);
    VX_CHECK_INT(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
    VX_CHECK_INT(X509_check_ip_asc(server, "::1", 0), 1);
    VX_CHECK(X509_get_extended_key_usage(server) & XKU_SSL_SERVER);

    /* Leaves: 30 days from an hour ago; intermediate 5x, root 10x. */
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notBefore(signing), (time_t)(now - 3500)) < 0);
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(signing), (time_t)(now + 29 * DAY)) > 0);
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(signing), (time_t)(now + 31 * DAY)) < 0);
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(inter), (time_t)(now + 149 * DAY)) > 0);
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(inter), (time_t)(now + 151 * DAY)) < 0);
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(root), (time_t)(now + 299 * DAY)) > 0);
    VX_CHECK(ASN1_TIME_cmp_time_t(X509_get0_notAfter(root), (time_t)(now + 301 * DAY)) < 0);
out:
    sk_X509_pop_free(chain, X509_free);
    X509_free(root);
    X509_free(inter);
    X509_free(signing);
    X509_free(server);
}

static void test_devca(void)
{
    char base[] = "/tmp/vx_test_devca_XXXXXX", ca[PATH_MAX], root[PATH_MAX], copy[PATH_MAX];
    char signing[PATH_MAX];
    struct vx_err e = {0};
    unsigned made = 0;
    X509 *x = NULL;

    if (!mkdtemp(base)) {
        VX_CHECK(!"mkdtemp");
        return;
    }
    path_in(ca, sizeof(ca), base, "nested/ca");
    VX_CHECK_INT(vx_devca_create(ca, 30, 0, &e), 0);
    VX_CHECK_INT(file_mode(ca), 0700);
    check_devca_tree(ca);

    /* A second run keeps everything. */
    path_in(root, sizeof(root), ca, VX_DEVCA_ROOT);
    path_in(copy, sizeof(copy), base, "root-before.pem");
    x = load_cert(ca, VX_DEVCA_ROOT);
    VX_CHECK(x && vx_pki_write_cert(copy, &x, 1, NULL) == 0);
    X509_free(x);
    VX_CHECK_INT(vx_devca_create_ex(ca, 30, 0, &made, &e), 0);
    VX_CHECK_INT(made, 0);
    VX_CHECK(file_pem_equal(root, copy));

    /* A missing leaf is made again from the existing root and intermediate. */
    path_in(signing, sizeof(signing), ca, VX_DEVCA_SIGNING);
    VX_CHECK_INT(unlink(signing), 0);
    VX_CHECK_INT(vx_devca_create_ex(ca, 30, 0, &made, &e), 0);
    VX_CHECK_INT(made, VX_DEVCA_MADE_SIGNING | VX_DEVCA_MADE_CHAIN);
    VX_CHECK(file_pem_equal(root, copy));
    check_devca_tree(ca);

    /* force replaces everything, the root included. */
    VX_CHECK_INT(vx_devca_create_ex(ca, 30, 1, &made, &e), 0);
    VX_CHECK_INT(made, VX_DEVCA_MADE_ROOT | VX_DEVCA_MADE_INTER | VX_DEVCA_MADE_SIGNING |
                           VX_DEVCA_MADE_CHAIN | VX_DEVCA_MADE_SERVER);
    VX_CHECK(!file_pem_equal(root, copy));
    check_devca_tree(ca);

    VX_CHECK_INT(vx_devca_create(ca, 0, 0, &e), VX_ERANGE);
    rm_tree(base);
}

int main(void)
{
    VX_RUN(test_keygen);
    VX_RUN(test_self_signed);
    VX_RUN(test_chained);
    VX_RUN(test_validity_windows);
    VX_RUN(test_pem_round_trip);
    VX_RUN(test_sign_body);
    VX_RUN(test_devca);
    EVP_PKEY_free(shared_key());
    return VX_DONE();
}
