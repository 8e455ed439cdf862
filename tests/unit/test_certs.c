/*
 * Tests of certs.c with certificates made at test time by pki.c: the pure
 * chain check against every kind of good and broken chain, the trust store
 * loader, and the cache behind vx_certs_get_key (validity window at each
 * request, refresh after cache_ttl, keeping a valid chain when its source is
 * unreachable, the negative cache, the shared cache callbacks, one load per URL
 * under concurrent misses, and a download that cannot succeed offline). All
 * times are explicit, so nothing depends on the wall clock; files live in a
 * mkdtemp directory that is removed at the end.
 */
#include "voxcart/certs.h"
#include "voxcart/log.h"
#include "voxcart/pki.h"
#include "voxcart/verify.h"
#include "vxtest.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define T    1795502657LL /* 2026-11-24T06:44:17Z: "now" for every test */
#define DAY  86400LL
#define YEAR (365 * DAY)
#define URL  "https://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"

static char tmpdir[64];

/* One PKI shared by the tests: a root, an intermediate, and a leaf valid [T-1d, T+30d]. */
static struct {
    EVP_PKEY *root_key, *inter_key, *leaf_key, *other_key;
    X509 *root, *inter, *leaf;
} pki;

static X509 *issue(const char *cn, const char *san, int64_t nb, int64_t na, int is_ca,
                   EVP_PKEY *subject, X509 *issuer, EVP_PKEY *issuer_key)
{
    struct vx_pki_cert_opts o;
    struct vx_err e;
    X509 *x = NULL;

    memset(&o, 0, sizeof(o));
    o.common_name = cn;
    o.san_dns = san;
    o.not_before = nb;
    o.not_after = na;
    o.is_ca = is_ca;
    if (vx_pki_issue(&o, subject, issuer, issuer_key, &x, &e) != 0)
        fprintf(stderr, "issue '%s': %s\n", cn, e.msg);
    return x;
}

static X509 *leaf_from(const char *san, int64_t nb, int64_t na, X509 *issuer, EVP_PKEY *ikey)
{
    return issue("echo-api.amazon.com", san, nb, na, 0, pki.leaf_key, issuer, ikey);
}

/* Concatenated PEM of certs, malloc'd. */
static char *chain_pem(X509 *const *certs, size_t n, size_t *len)
{
    struct vx_buf b;
    vx_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        char *pem = NULL;
        size_t plen = 0;
        if (!certs[i] || vx_pki_cert_pem(certs[i], &pem, &plen, NULL) != 0 ||
            vx_buf_append(&b, pem, plen) != 0) {
            free(pem);
            vx_buf_release(&b);
            return NULL;
        }
        free(pem);
    }
    *len = b.len;
    return b.data;
}

static void path_of(char *buf, size_t size, const char *name)
{
    vx_snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int write_certs(const char *name, X509 *const *certs, size_t n)
{
    char path[128];
    struct vx_err e;
    path_of(path, sizeof(path), name);
    if (vx_pki_write_cert(path, certs, n, &e) != 0) {
        fprintf(stderr, "write '%s': %s\n", path, e.msg);
        return -1;
    }
    return 0;
}

static void remove_file(const char *name)
{
    char path[128];
    path_of(path, sizeof(path), name);
    unlink(path);
}

static X509_STORE *root_store(X509 *root)
{
    X509_STORE *st = X509_STORE_new();
    if (st && X509_STORE_add_cert(st, root) != 1) {
        X509_STORE_free(st);
        st = NULL;
    }
    return st;
}

/* Runs vx_chain_verify on certs at now and returns the reason; key and window optional. */
static enum vx_verify_reason verify_certs(X509_STORE *st, X509 *const *certs, size_t n, int64_t now,
                                          EVP_PKEY **key, int64_t *nb, int64_t *na,
                                          struct vx_err *detail)
{
    size_t len = 0;
    char *pem = chain_pem(certs, n, &len);
    enum vx_verify_reason r;
    if (!pem)
        return VX_VR__COUNT;
    r = vx_chain_verify(st, pem, len, now, key, nb, na, detail);
    free(pem);
    return r;
}

static int setup(void)
{
    struct vx_err e;
    memcpy(tmpdir, "/tmp/vxcerts.XXXXXX", sizeof("/tmp/vxcerts.XXXXXX"));
    if (!mkdtemp(tmpdir))
        return -1;
    if (vx_pki_keygen(2048, &pki.root_key, &e) != 0 || vx_pki_keygen(2048, &pki.inter_key, &e) ||
        vx_pki_keygen(2048, &pki.leaf_key, &e) || vx_pki_keygen(2048, &pki.other_key, &e)) {
        fprintf(stderr, "keygen: %s\n", e.msg);
        return -1;
    }
    pki.root =
        issue("Test Root", NULL, T - 10 * YEAR, T + 10 * YEAR, 1, pki.root_key, NULL, pki.root_key);
    pki.inter = issue("Test Intermediate", NULL, T - YEAR, T + YEAR, 1, pki.inter_key, pki.root,
                      pki.root_key);
    pki.leaf = leaf_from(VX_SIGNING_SAN, T - DAY, T + 30 * DAY, pki.inter, pki.inter_key);
    if (!pki.root || !pki.inter || !pki.leaf)
        return -1;
    return write_certs("root.pem", &pki.root, 1);
}

static void teardown(void)
{
    remove_file("root.pem");
    if (tmpdir[0])
        rmdir(tmpdir);
    X509_free(pki.leaf);
    X509_free(pki.inter);
    X509_free(pki.root);
    EVP_PKEY_free(pki.other_key);
    EVP_PKEY_free(pki.leaf_key);
    EVP_PKEY_free(pki.inter_key);
    EVP_PKEY_free(pki.root_key);
}

/* ---- vx_chain_verify ------------------------------------------------------------------- */

static void test_chain_valid(void)
{
    X509_STORE *st = root_store(pki.root);
    X509 *chain[] = {pki.leaf, pki.inter};
    X509 *with_root[] = {pki.leaf, pki.inter, pki.root};
    EVP_PKEY *key = NULL;
    int64_t nb = 0, na = 0;
    struct vx_err d;

    VX_CHECK(st != NULL);
    VX_CHECK_INT(verify_certs(st, chain, 2, T, &key, &nb, &na, &d), VX_VR_OK);
    VX_CHECK(key && EVP_PKEY_eq(key, pki.leaf_key) == 1);
    /* The window is the narrowest over leaf, intermediate and root. */
    VX_CHECK_INT(nb, T - DAY);
    VX_CHECK_INT(na, T + 30 * DAY);
    EVP_PKEY_free(key);
    key = NULL;

    VX_CHECK_INT(verify_certs(st, with_root, 3, T, &key, NULL, NULL, &d), VX_VR_OK);
    VX_CHECK(key != NULL);
    EVP_PKEY_free(key);
    key = NULL;

    /* Outputs are optional. */
    VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, NULL), VX_VR_OK);
    /* Valid from the Not Before second up to, not including, the Not After second (as the
     * OpenSSL verifier counts it). */
    VX_CHECK_INT(verify_certs(st, chain, 2, T - DAY, NULL, NULL, NULL, &d), VX_VR_OK);
    VX_CHECK_INT(verify_certs(st, chain, 2, T + 30 * DAY - 1, NULL, NULL, NULL, &d), VX_VR_OK);
    VX_CHECK_INT(verify_certs(st, chain, 2, T + 30 * DAY, NULL, NULL, NULL, &d),
                 VX_VR_CERT_EXPIRED);
    VX_CHECK_INT(verify_certs(st, chain, 2, T - DAY - 1, &key, NULL, NULL, &d),
                 VX_VR_CERT_NOT_YET_VALID);
    VX_CHECK(key == NULL);
    VX_CHECK_INT(verify_certs(st, chain, 2, T + 30 * DAY + 1, &key, NULL, NULL, &d),
                 VX_VR_CERT_EXPIRED);
    VX_CHECK(key == NULL);
    X509_STORE_free(st);
}

static void test_chain_san(void)
{
    static const char *const bad[] = {
        "www.amazon.com", "echo-api.amazon.com.evil.com", "evil-echo-api.amazon.com",
        "*.amazon.com",   "echo-api.amazon.co",
    };
    X509_STORE *st = root_store(pki.root);
    struct vx_err d;

    for (size_t i = 0; i < VX_ARRAY_LEN(bad); i++) {
        X509 *leaf = leaf_from(bad[i], T - DAY, T + DAY, pki.inter, pki.inter_key);
        X509 *chain[] = {leaf, pki.inter};
        VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_SAN);
        X509_free(leaf);
    }
    {
        /* The CN says echo-api.amazon.com, but without a SAN there is no fallback to it. */
        X509 *leaf = leaf_from(NULL, T - DAY, T + DAY, pki.inter, pki.inter_key);
        X509 *chain[] = {leaf, pki.inter};
        VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_SAN);
        VX_CHECK(strstr(d.msg, "no subjectAltName") != NULL);
        X509_free(leaf);
    }
    {
        /* DNS names compare case-insensitively, and any position in the list will do. */
        X509 *leaf = leaf_from("www.example.com, ECHO-API.Amazon.COM", T - DAY, T + DAY, pki.inter,
                               pki.inter_key);
        X509 *chain[] = {leaf, pki.inter};
        VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, &d), VX_VR_OK);
        X509_free(leaf);
    }
    {
        /* The first certificate is the signing one: a correct leaf in second place does not count.
         */
        X509 *chain[] = {pki.inter, pki.leaf};
        VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_SAN);
    }
    X509_STORE_free(st);
}

static void test_chain_validity(void)
{
    X509_STORE *st = root_store(pki.root);
    X509 *expired = leaf_from(VX_SIGNING_SAN, T - 30 * DAY, T - 1, pki.inter, pki.inter_key);
    X509 *future = leaf_from(VX_SIGNING_SAN, T + 1, T + 30 * DAY, pki.inter, pki.inter_key);
    X509 *old_inter = issue("Old Intermediate", NULL, T - 2 * YEAR, T - DAY, 1, pki.inter_key,
                            pki.root, pki.root_key);
    X509 *under_old = leaf_from(VX_SIGNING_SAN, T - DAY, T + DAY, old_inter, pki.inter_key);
    X509 *c1[] = {expired, pki.inter};
    X509 *c2[] = {future, pki.inter};
    X509 *c3[] = {under_old, old_inter};
    struct vx_err d;

    VX_CHECK_INT(verify_certs(st, c1, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_EXPIRED);
    VX_CHECK_INT(verify_certs(st, c2, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_NOT_YET_VALID);
    VX_CHECK_INT(verify_certs(st, c3, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_EXPIRED);
    VX_CHECK(strstr(d.msg, "Old Intermediate") != NULL);
    X509_free(under_old);
    X509_free(old_inter);
    X509_free(future);
    X509_free(expired);
    X509_STORE_free(st);
}

/* A trust anchor that has expired is reported as such, from the verifier's own error. */
static void test_chain_expired_root(void)
{
    X509 *root =
        issue("Expired Root", NULL, T - 10 * YEAR, T - DAY, 1, pki.root_key, NULL, pki.root_key);
    X509 *inter =
        issue("Test Intermediate", NULL, T - YEAR, T + YEAR, 1, pki.inter_key, root, pki.root_key);
    X509 *leaf = leaf_from(VX_SIGNING_SAN, T - DAY, T + DAY, inter, pki.inter_key);
    X509_STORE *st = root_store(root);
    X509 *chain[] = {leaf, inter};
    struct vx_err d;

    VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_EXPIRED);
    VX_CHECK(strstr(d.msg, "expired") != NULL);
    X509_STORE_free(st);
    X509_free(leaf);
    X509_free(inter);
    X509_free(root);
}

static void test_chain_trust(void)
{
    X509_STORE *st = root_store(pki.root);
    X509 *other_root =
        issue("Other Root", NULL, T - YEAR, T + YEAR, 1, pki.other_key, NULL, pki.other_key);
    X509 *other_inter = issue("Test Intermediate", NULL, T - YEAR, T + YEAR, 1, pki.inter_key,
                              other_root, pki.other_key);
    X509 *other_leaf = leaf_from(VX_SIGNING_SAN, T - DAY, T + DAY, other_inter, pki.inter_key);
    X509 *self = issue("echo-api.amazon.com", VX_SIGNING_SAN, T - DAY, T + DAY, 0, pki.leaf_key,
                       NULL, pki.leaf_key);
    X509 *unknown[] = {other_leaf, other_inter, other_root};
    X509 *leaf_only[] = {pki.leaf};
    X509 *self_only[] = {self};
    X509 *self_and_inter[] = {self, pki.inter};
    struct vx_err d;

    VX_CHECK_INT(verify_certs(st, unknown, 3, T, NULL, NULL, NULL, &d), VX_VR_CERT_CHAIN);
    VX_CHECK(d.msg[0] != '\0');
    VX_CHECK_INT(verify_certs(st, leaf_only, 1, T, NULL, NULL, NULL, &d), VX_VR_CERT_CHAIN);
    VX_CHECK(strstr(d.msg, "issuer") != NULL);
    VX_CHECK_INT(verify_certs(st, self_only, 1, T, NULL, NULL, NULL, &d), VX_VR_CERT_CHAIN);
    VX_CHECK(strstr(d.msg, "self") != NULL);
    VX_CHECK_INT(verify_certs(st, self_and_inter, 2, T, NULL, NULL, NULL, &d), VX_VR_CERT_CHAIN);
    /* No store at all is a chain failure, never a pass. */
    VX_CHECK_INT(verify_certs(NULL, leaf_only, 1, T, NULL, NULL, NULL, &d), VX_VR_CERT_CHAIN);
    X509_free(self);
    X509_free(other_leaf);
    X509_free(other_inter);
    X509_free(other_root);
    X509_STORE_free(st);
}

static void test_chain_parse(void)
{
    static const char broken[] = "-----BEGIN CERTIFICATE-----\n"
                                 "MIIBnotreallybase64atall!!\n"
                                 "-----END CERTIFICATE-----\n";
    static const char not_der[] = "-----BEGIN CERTIFICATE-----\n"
                                  "aGVsbG8gd29ybGQ=\n"
                                  "-----END CERTIFICATE-----\n";
    X509_STORE *st = root_store(pki.root);
    X509 *chain[] = {pki.leaf, pki.inter};
    struct vx_buf b;
    size_t len = 0;
    char *pem = chain_pem(chain, 2, &len);
    EVP_PKEY *key = NULL;
    struct vx_err d;

    VX_CHECK_INT(vx_chain_verify(st, "", 0, T, &key, NULL, NULL, &d), VX_VR_CERT_PARSE);
    VX_CHECK(key == NULL);
    VX_CHECK_INT(vx_chain_verify(st, NULL, 10, T, NULL, NULL, NULL, &d), VX_VR_CERT_PARSE);
    VX_CHECK_INT(vx_chain_verify(st, "garbage", 7, T, NULL, NULL, NULL, &d), VX_VR_CERT_PARSE);
    VX_CHECK_INT(vx_chain_verify(st, broken, sizeof(broken) - 1, T, NULL, NULL, NULL, &d),
                 VX_VR_CERT_PARSE);
    VX_CHECK_INT(vx_chain_verify(st, not_der, sizeof(not_der) - 1, T, NULL, NULL, NULL, &d),
                 VX_VR_CERT_PARSE);

    /* A good chain followed by a broken block is refused as a whole. */
    vx_buf_init(&b);
    VX_CHECK(pem != NULL);
    if (pem && vx_buf_append(&b, pem, len) == 0 && vx_buf_appends(&b, broken) == 0)
        VX_CHECK_INT(vx_chain_verify(st, b.data, b.len, T, NULL, NULL, NULL, &d), VX_VR_CERT_PARSE);
    vx_buf_release(&b);
    /* Text around the PEM blocks is ignored, as in every PEM bundle. */
    vx_buf_init(&b);
    if (pem && vx_buf_appends(&b, "# signing chain\n") == 0 && vx_buf_append(&b, pem, len) == 0 &&
        vx_buf_appends(&b, "\n") == 0)
        VX_CHECK_INT(vx_chain_verify(st, b.data, b.len, T, NULL, NULL, NULL, &d), VX_VR_OK);
    vx_buf_release(&b);
    /* len is honoured: a chain cut short in the middle of its second certificate. */
    if (pem)
        VX_CHECK_INT(vx_chain_verify(st, pem, len - 100, T, NULL, NULL, NULL, &d),
                     VX_VR_CERT_PARSE);
    free(pem);
    X509_STORE_free(st);
}

static void test_trust_store_load(void)
{
    char path[128];
    X509_STORE *st = NULL;
    struct vx_err e;
    FILE *f;

    path_of(path, sizeof(path), "root.pem");
    VX_CHECK_INT(vx_trust_store_load(path, NULL, &st, &e), 0);
    VX_CHECK(st != NULL);
    if (st) {
        X509 *chain[] = {pki.leaf, pki.inter};
        VX_CHECK_INT(verify_certs(st, chain, 2, T, NULL, NULL, NULL, NULL), VX_VR_OK);
    }
    X509_STORE_free(st);
    st = NULL;

    VX_CHECK_INT(vx_trust_store_load("/nonexistent/ca.pem", NULL, &st, &e), VX_ECONFIG);
    VX_CHECK(st == NULL && strstr(e.msg, "/nonexistent/ca.pem") != NULL);
    VX_CHECK_INT(vx_trust_store_load(NULL, "/nonexistent/dir", &st, &e), VX_ECONFIG);
    VX_CHECK(st == NULL);

    path_of(path, sizeof(path), "empty.pem");
    f = fopen(path, "w");
    if (f)
        fclose(f);
    VX_CHECK_INT(vx_trust_store_load(path, NULL, &st, &e), VX_ECONFIG);
    remove_file("empty.pem");

    VX_CHECK_INT(vx_trust_store_load(NULL, tmpdir, &st, &e), 0);
    X509_STORE_free(st);
    st = NULL;
    VX_CHECK_INT(vx_trust_store_load(NULL, NULL, &st, &e), 0);
    VX_CHECK(st != NULL);
    X509_STORE_free(st);
}

/* ---- vx_certs: the cache ---------------------------------------------------------------- */

static struct vx_certs *certs_with_map(const char *file_name, int ttl, struct vx_err *e)
{
    char ca[128], file[128];
    struct vx_cert_map_entry map[1];
    struct vx_certs_config cfg;
    struct vx_certs *c = NULL;

    path_of(ca, sizeof(ca), "root.pem");
    path_of(file, sizeof(file), file_name);
    map[0].url = URL;
    map[0].file = file;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ca_file = ca;
    cfg.map = map;
    cfg.map_len = 1;
    cfg.cache_ttl = ttl;
    if (vx_certs_new(&cfg, &c, e) != 0)
        fprintf(stderr, "vx_certs_new: %s\n", e->msg);
    return c;
}

static enum vx_verify_reason get_key(struct vx_certs *c, int64_t now, EVP_PKEY *want,
                                     struct vx_err *d)
{
    EVP_PKEY *key = NULL;
    enum vx_verify_reason r = vx_certs_get_key(c, URL, now, &key, d);
    if (r == VX_VR_OK) {
        VX_CHECK(key != NULL);
        if (want)
            VX_CHECK(key && EVP_PKEY_eq(key, want) == 1);
    } else {
        VX_CHECK(key == NULL);
    }
    EVP_PKEY_free(key);
    return r;
}

/* A cached chain is judged at every request's own time. */
static void test_cache_window(void)
{
    X509 *leaf = leaf_from(VX_SIGNING_SAN, T - 100, T + 100, pki.inter, pki.inter_key);
    X509 *chain[] = {leaf, pki.inter};
    struct vx_certs *c = NULL;
    struct vx_err d;

    VX_CHECK_INT(write_certs("window.pem", chain, 2), 0);
    c = certs_with_map("window.pem", 10 * (int)YEAR, &d);
    VX_CHECK(c != NULL);
    if (c) {
        VX_CHECK_INT(get_key(c, T, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK_INT(get_key(c, T + 99, pki.leaf_key, &d), VX_VR_OK);
        /* Served from memory, judged against the cached window. */
        VX_CHECK_INT(get_key(c, T - 101, NULL, &d), VX_VR_CERT_NOT_YET_VALID);
        VX_CHECK_INT(get_key(c, T - 100, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK_INT(get_key(c, T + 100, NULL, &d), VX_VR_CERT_EXPIRED);
        VX_CHECK(d.msg[0] != '\0');
        VX_CHECK_INT(get_key(c, T + 5000, NULL, &d), VX_VR_CERT_EXPIRED);
    }
    vx_certs_free(c);
    remove_file("window.pem");
    X509_free(leaf);
}

/* After cache_ttl the source is read again; an unreachable source keeps a valid chain alive. */
static void test_cache_refresh(void)
{
    X509 *leaf2 = issue("echo-api.amazon.com", VX_SIGNING_SAN, T - DAY, T + 1000, 0, pki.other_key,
                        pki.inter, pki.inter_key);
    X509 *chain1[] = {pki.leaf, pki.inter};
    X509 *chain2[] = {leaf2, pki.inter};
    struct vx_certs *c = NULL;
    struct vx_err d;

    VX_CHECK_INT(write_certs("refresh.pem", chain1, 2), 0);
    c = certs_with_map("refresh.pem", 60, &d);
    VX_CHECK(c != NULL);
    if (!c)
        goto out;
    VX_CHECK_INT(get_key(c, T, pki.leaf_key, &d), VX_VR_OK);
    VX_CHECK_INT(write_certs("refresh.pem", chain2, 2), 0);
    VX_CHECK_INT(get_key(c, T + 59, pki.leaf_key, &d), VX_VR_OK);  /* still cached */
    VX_CHECK_INT(get_key(c, T + 60, pki.other_key, &d), VX_VR_OK); /* reloaded */
    remove_file("refresh.pem");
    VX_CHECK_INT(get_key(c, T + 120, pki.other_key, &d), VX_VR_OK); /* kept: source gone */
    VX_CHECK_INT(get_key(c, T + 125, pki.other_key, &d), VX_VR_OK);
    /* Past the kept chain's Not After nothing is trusted, whatever the source says. */
    VX_CHECK_INT(get_key(c, T + 1000, NULL, &d), VX_VR_CERT_FETCH);
    VX_CHECK(strstr(d.msg, "refresh.pem") != NULL);
out:
    vx_certs_free(c);
    X509_free(leaf2);
}

static void test_cache_failures(void)
{
    X509 *chain[] = {pki.leaf, pki.inter};
    X509 *leaf_only[] = {pki.leaf};
    struct vx_certs *c = NULL;
    EVP_PKEY *key = NULL;
    struct vx_err d;
    uint64_t t0;

    /* The file disappears after start-up: a fetch failure naming the file, then remembered. */
    VX_CHECK_INT(write_certs("gone.pem", chain, 2), 0);
    c = certs_with_map("gone.pem", 0, &d);
    VX_CHECK(c != NULL);
    remove_file("gone.pem");
    if (c) {
        VX_CHECK_INT(get_key(c, T, NULL, &d), VX_VR_CERT_FETCH);
        VX_CHECK(strstr(d.msg, "gone.pem") != NULL);
        VX_CHECK(strstr(d.msg, "remembered") == NULL);
        /* Even once the file is back, the failure stands for the negative-cache period. */
        VX_CHECK_INT(write_certs("gone.pem", chain, 2), 0);
        VX_CHECK_INT(get_key(c, T, NULL, &d), VX_VR_CERT_FETCH);
        VX_CHECK(strstr(d.msg, "remembered") != NULL);
        remove_file("gone.pem");
    }
    vx_certs_free(c);

    /* A chain that fails verification is rejected with its own reason, and remembered too. */
    VX_CHECK_INT(write_certs("leafonly.pem", leaf_only, 1), 0);
    c = certs_with_map("leafonly.pem", 0, &d);
    VX_CHECK(c != NULL);
    if (c) {
        VX_CHECK_INT(get_key(c, T, NULL, &d), VX_VR_CERT_CHAIN);
        t0 = vx_mono_ns();
        VX_CHECK_INT(get_key(c, T, NULL, &d), VX_VR_CERT_CHAIN);
        VX_CHECK(strstr(d.msg, "remembered") != NULL);
        VX_CHECK(vx_mono_ns() - t0 < 50000000u);
        /* The URL is checked again here: bad or non-canonical URLs never reach a source. */
        VX_CHECK_INT(vx_certs_get_key(c, "http://s3.amazonaws.com/echo.api/x.pem", T, &key, &d),
                     VX_VR_CERT_URL_SCHEME);
        VX_CHECK_INT(vx_certs_get_key(c, "HTTPS://s3.amazonaws.com/echo.api/x.pem", T, &key, &d),
                     VX_VR_CERT_URL_MALFORMED);
        VX_CHECK_INT(vx_certs_get_key(c, NULL, T, &key, &d), VX_VR_MISSING_CERT_URL);
        VX_CHECK_INT(vx_certs_get_key(c, URL, T, NULL, &d), VX_VR_CERT_FETCH);
        VX_CHECK(key == NULL);
        /* detail is optional. */
        VX_CHECK_INT(vx_certs_get_key(c, URL, T, &key, NULL), VX_VR_CERT_CHAIN);
    }
    vx_certs_free(c);
    remove_file("leafonly.pem");
}

static void test_certs_config(void)
{
    char ca[128], file[128];
    struct vx_cert_map_entry map[2];
    struct vx_certs_config cfg;
    struct vx_certs *c = NULL;
    X509 *chain[] = {pki.leaf, pki.inter};
    struct vx_err e;

    VX_CHECK_INT(write_certs("cfg.pem", chain, 2), 0);
    path_of(ca, sizeof(ca), "root.pem");
    path_of(file, sizeof(file), "cfg.pem");
    memset(&cfg, 0, sizeof(cfg));
    cfg.ca_file = ca;
    cfg.map = map;
    cfg.map_len = 1;

    map[0].url = "https://s3.amazonaws.com/other/cert.pem";
    map[0].file = file;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), VX_ECONFIG);
    VX_CHECK(c == NULL && strstr(e.msg, "entry 0") && strstr(e.msg, "/other/cert.pem"));

    map[0].url = URL;
    map[0].file = "/nonexistent/chain.pem";
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), VX_ECONFIG);
    VX_CHECK(c == NULL && strstr(e.msg, "/nonexistent/chain.pem"));

    /* Two spellings of one canonical URL. */
    map[0].file = file;
    map[1].url = "HTTPS://S3.AMAZONAWS.COM:443/echo.api/x/../echo-api-cert-test.pem";
    map[1].file = file;
    cfg.map_len = 2;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), VX_ECONFIG);
    VX_CHECK(c == NULL && strstr(e.msg, "entry 1"));

    /* A non-canonical spelling in the map serves the canonical URL. */
    cfg.map = &map[1];
    cfg.map_len = 1;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), 0);
    if (c)
        VX_CHECK_INT(get_key(c, T, pki.leaf_key, &e), VX_VR_OK);
    vx_certs_free(c);
    c = NULL;

    cfg.map = NULL;
    cfg.map_len = 0;
    cfg.ca_file = "/nonexistent/root.pem";
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), VX_ECONFIG);
    VX_CHECK(c == NULL);
    cfg.ca_file = ca;
    cfg.cache_ttl = -1;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), VX_ECONFIG);
    cfg.cache_ttl = 0;
    cfg.fetch_timeout_ms = -5;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &e), VX_ECONFIG);
    VX_CHECK_INT(vx_certs_new(&cfg, NULL, &e), VX_EINVAL);
    remove_file("cfg.pem");
}

/* A fake shared cache: one slot, with call counters. */
struct fake_shared {
    pthread_mutex_t mu;
    char *pem;
    size_t len;
    char url[256];
    int gets, puts, ttl;
    unsigned delay_ms;
};

static int fake_get(void *ud, const char *url, char **pem, size_t *len)
{
    struct fake_shared *f = ud;
    int rc = VX_ENOTFOUND;
    pthread_mutex_lock(&f->mu);
    f->gets++;
    if (f->pem && strcmp(url, f->url) == 0) {
        *pem = malloc(f->len + 1);
        if (*pem) {
            memcpy(*pem, f->pem, f->len + 1);
            *len = f->len;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (f->delay_ms)
        usleep(f->delay_ms * 1000);
    return rc;
}

static void fake_put(void *ud, const char *url, const char *pem, size_t len, int ttl)
{
    struct fake_shared *f = ud;
    pthread_mutex_lock(&f->mu);
    f->puts++;
    f->ttl = ttl;
    free(f->pem);
    f->pem = malloc(len + 1);
    if (f->pem) {
        memcpy(f->pem, pem, len);
        f->pem[len] = '\0';
        f->len = len;
    }
    vx_strlcpy(f->url, url, sizeof(f->url));
    pthread_mutex_unlock(&f->mu);
}

static void test_shared_cache(void)
{
    X509 *chain[] = {pki.leaf, pki.inter};
    struct fake_shared f;
    struct vx_cert_shared sh;
    struct vx_certs *c = NULL;
    struct vx_certs_config cfg;
    char ca[128];
    struct vx_err d;

    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    sh.get = fake_get;
    sh.put = fake_put;
    sh.ud = &f;

    /* Loaded from the map: offered to the shared cache, for no longer than it is valid. */
    VX_CHECK_INT(write_certs("shared.pem", chain, 2), 0);
    c = certs_with_map("shared.pem", 0, &d);
    VX_CHECK(c != NULL);
    if (c) {
        vx_certs_set_shared(c, &sh);
        VX_CHECK_INT(get_key(c, T + 30 * DAY - 500, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK_INT(f.gets, 1);
        VX_CHECK_INT(f.puts, 1);
        VX_CHECK_STR(f.url, URL);
        VX_CHECK_INT(f.ttl, 500);
    }
    vx_certs_free(c);
    remove_file("shared.pem");

    /* Another instance without the file gets the chain from the shared cache, and does not
     * write it back. */
    memset(&cfg, 0, sizeof(cfg));
    path_of(ca, sizeof(ca), "root.pem");
    cfg.ca_file = ca;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &d), 0);
    if (c) {
        vx_certs_set_shared(c, &sh);
        VX_CHECK_INT(get_key(c, T, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK_INT(f.gets, 2);
        VX_CHECK_INT(f.puts, 1);
        VX_CHECK_INT(get_key(c, T, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK_INT(f.gets, 2); /* memory first */
    }
    vx_certs_free(c);
    c = NULL;

    /* A shared copy that no longer verifies is not trusted: the map file wins. */
    pthread_mutex_lock(&f.mu);
    free(f.pem);
    f.pem = strdup("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    f.len = f.pem ? strlen(f.pem) : 0;
    pthread_mutex_unlock(&f.mu);
    VX_CHECK_INT(write_certs("shared.pem", chain, 2), 0);
    c = certs_with_map("shared.pem", 0, &d);
    if (c) {
        vx_certs_set_shared(c, &sh);
        VX_CHECK_INT(get_key(c, T, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK_INT(f.puts, 2);
        /* Detached again: the callbacks are not called any more. */
        vx_certs_set_shared(c, NULL);
    }
    vx_certs_free(c);
    remove_file("shared.pem");
    free(f.pem);
    pthread_mutex_destroy(&f.mu);
}

struct racer {
    struct vx_certs *c;
    pthread_barrier_t *start;
    enum vx_verify_reason r;
};

static void *race(void *arg)
{
    struct racer *rc = arg;
    EVP_PKEY *key = NULL;
    pthread_barrier_wait(rc->start);
    rc->r = vx_certs_get_key(rc->c, URL, T, &key, NULL);
    EVP_PKEY_free(key);
    return NULL;
}

/* Concurrent misses for one URL load it once. */
static void test_concurrent_miss(void)
{
    enum { N = 8 };
    X509 *chain[] = {pki.leaf, pki.inter};
    struct fake_shared f;
    struct vx_cert_shared sh;
    struct racer r[N];
    pthread_t th[N];
    pthread_barrier_t start;
    struct vx_certs *c;
    struct vx_err d;

    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    f.delay_ms = 100; /* keeps the first load in flight while the others arrive */
    sh.get = fake_get;
    sh.put = NULL;
    sh.ud = &f;
    VX_CHECK_INT(write_certs("race.pem", chain, 2), 0);
    c = certs_with_map("race.pem", 0, &d);
    VX_CHECK(c != NULL);
    if (c) {
        vx_certs_set_shared(c, &sh);
        pthread_barrier_init(&start, NULL, N);
        for (int i = 0; i < N; i++) {
            r[i].c = c;
            r[i].start = &start;
            r[i].r = VX_VR__COUNT;
            pthread_create(&th[i], NULL, race, &r[i]);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            VX_CHECK_INT(r[i].r, VX_VR_OK);
        }
        VX_CHECK_INT(f.gets, 1);
        pthread_barrier_destroy(&start);
    }
    vx_certs_free(c);
    remove_file("race.pem");
    pthread_mutex_destroy(&f.mu);
}

struct refresher {
    struct vx_certs *c;
    int64_t now;
    enum vx_verify_reason r;
};

static void *refresh_thread(void *arg)
{
    struct refresher *rf = arg;
    EVP_PKEY *key = NULL;
    rf->r = vx_certs_get_key(rf->c, URL, rf->now, &key, NULL);
    EVP_PKEY_free(key);
    return NULL;
}

/* While one thread refreshes a chain that is still valid, the others keep using it. */
static void test_refresh_does_not_block(void)
{
    X509 *chain[] = {pki.leaf, pki.inter};
    struct fake_shared f;
    struct vx_cert_shared sh;
    struct refresher rf;
    struct vx_certs *c;
    pthread_t th;
    struct vx_err d;
    uint64_t t0;
    int started = 0;

    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    sh.get = fake_get;
    sh.put = NULL;
    sh.ud = &f;
    VX_CHECK_INT(write_certs("stale.pem", chain, 2), 0);
    c = certs_with_map("stale.pem", 60, &d);
    VX_CHECK(c != NULL);
    if (c) {
        vx_certs_set_shared(c, &sh);
        VX_CHECK_INT(get_key(c, T, pki.leaf_key, &d), VX_VR_OK);
        f.delay_ms = 400; /* the refresh below is slow */
        rf.c = c;
        rf.now = T + 60;
        rf.r = VX_VR__COUNT;
        pthread_create(&th, NULL, refresh_thread, &rf);
        for (int i = 0; i < 200 && !started; i++) {
            pthread_mutex_lock(&f.mu);
            started = f.gets == 2;
            pthread_mutex_unlock(&f.mu);
            if (!started)
                usleep(5000);
        }
        VX_CHECK(started);
        t0 = vx_mono_ns();
        VX_CHECK_INT(get_key(c, T + 61, pki.leaf_key, &d), VX_VR_OK);
        VX_CHECK(vx_mono_ns() - t0 < 200000000u);
        pthread_join(th, NULL);
        VX_CHECK_INT(rf.r, VX_VR_OK);
        VX_CHECK_INT(f.gets, 2);
    }
    vx_certs_free(c);
    remove_file("stale.pem");
    pthread_mutex_destroy(&f.mu);
}

/* Routes libcurl through a proxy on a closed local port: downloads fail at once, offline. */
static void offline(void)
{
    setenv("https_proxy", "http://127.0.0.1:9", 1);
    setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
}

/*
 * A URL in no map is downloaded. The test routes libcurl through a proxy on a
 * closed local port, so it never leaves the machine: the download fails fast
 * with CERT_FETCH, and the second request is answered by the negative cache.
 */
static void test_download_failure(void)
{
    struct vx_certs_config cfg;
    struct vx_certs *c = NULL;
    EVP_PKEY *key = NULL;
    char ca[128];
    struct vx_err d;
    uint64_t t0;

    offline();
    memset(&cfg, 0, sizeof(cfg));
    path_of(ca, sizeof(ca), "root.pem");
    cfg.ca_file = ca;
    cfg.fetch_timeout_ms = 500;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &d), 0);
    if (c) {
        t0 = vx_mono_ns();
        VX_CHECK_INT(vx_certs_get_key(c, URL, T, &key, &d), VX_VR_CERT_FETCH);
        VX_CHECK(vx_mono_ns() - t0 < 3000000000u);
        VX_CHECK(strstr(d.msg, "download") != NULL);
        t0 = vx_mono_ns();
        VX_CHECK_INT(vx_certs_get_key(c, URL, T, &key, &d), VX_VR_CERT_FETCH);
        VX_CHECK(vx_mono_ns() - t0 < 50000000u);
        VX_CHECK(strstr(d.msg, "remembered") != NULL);
        VX_CHECK(key == NULL);
    }
    vx_certs_free(c);
}

/* Both caches are bounded: more URLs than slots evict the oldest, and evicted URLs reload. */
static void test_cache_bounds(void)
{
    enum { N = 80 };
    X509 *chain[] = {pki.leaf, pki.inter};
    static char urls[N][96];
    struct vx_cert_map_entry map[N];
    struct vx_certs_config cfg;
    struct vx_certs *c = NULL;
    char ca[128], file[128];
    EVP_PKEY *key = NULL;
    struct vx_err d;
    int ok = 0, failed = 0;

    VX_CHECK_INT(write_certs("bounds.pem", chain, 2), 0);
    path_of(ca, sizeof(ca), "root.pem");
    path_of(file, sizeof(file), "bounds.pem");
    for (int i = 0; i < N; i++) {
        vx_snprintf(urls[i], sizeof(urls[i]), "https://s3.amazonaws.com/echo.api/cert-%d.pem", i);
        map[i].url = urls[i];
        map[i].file = file;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.ca_file = ca;
    cfg.map = map;
    cfg.map_len = N;
    cfg.fetch_timeout_ms = 500;
    VX_CHECK_INT(vx_certs_new(&cfg, &c, &d), 0);
    if (!c)
        goto out;
    vx_log_set_level(VX_LOG_ERROR); /* 320 lines of expected log would drown the report */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            if (vx_certs_get_key(c, urls[i], T, &key, &d) == VX_VR_OK)
                ok++;
            EVP_PKEY_free(key);
            key = NULL;
        }
    }
    VX_CHECK_INT(ok, 2 * N);
    /* Unmapped URLs fail to download; 2 N of them overflow the negative cache. */
    offline();
    for (int i = 0; i < 2 * N; i++) {
        char url[96];
        vx_snprintf(url, sizeof(url), "https://s3.amazonaws.com/echo.api/missing-%d.pem", i);
        if (vx_certs_get_key(c, url, T, &key, &d) == VX_VR_CERT_FETCH)
            failed++;
        EVP_PKEY_free(key);
        key = NULL;
    }
    VX_CHECK_INT(failed, 2 * N);
out:
    vx_log_set_level(VX_LOG_INFO);
    vx_certs_free(c);
    remove_file("bounds.pem");
}

/* The whole path of a request: a body signed with the leaf key verifies with the cached key. */
static void test_signature_with_pki(void)
{
    static const char body[] = "{\"version\":\"1.0\",\"request\":{\"type\":\"IntentRequest\"}}";
    X509 *chain[] = {pki.leaf, pki.inter};
    struct vx_certs *c = NULL;
    EVP_PKEY *key = NULL;
    char *sig = NULL, *other_sig = NULL, *bad = NULL;
    size_t len = sizeof(body) - 1;
    struct vx_err d;

    VX_CHECK_INT(vx_pki_sign_body(pki.leaf_key, body, len, &sig, &d), 0);
    VX_CHECK_INT(vx_pki_sign_body(pki.other_key, body, len, &other_sig, &d), 0);
    VX_CHECK_INT(write_certs("sign.pem", chain, 2), 0);
    c = certs_with_map("sign.pem", 0, &d);
    if (c)
        VX_CHECK_INT(vx_certs_get_key(c, URL, T, &key, &d), VX_VR_OK);
    VX_CHECK(key != NULL && sig != NULL && other_sig != NULL);
    if (key && sig && other_sig) {
        VX_CHECK_INT(vx_signature_check(key, sig, body, len), VX_VR_OK);
        VX_CHECK_INT(vx_signature_check(key, sig, "{\"version\":\"1.1\"}", 17),
                     VX_VR_SIGNATURE_MISMATCH);
        VX_CHECK_INT(vx_signature_check(key, other_sig, body, len), VX_VR_SIGNATURE_MISMATCH);
        VX_CHECK_INT(vx_signature_check(pki.other_key, sig, body, len), VX_VR_SIGNATURE_MISMATCH);
        bad = strdup(sig);
        if (bad) {
            bad[strlen(bad) - 1] = '!';
            VX_CHECK_INT(vx_signature_check(key, bad, body, len), VX_VR_SIGNATURE_ENCODING);
            bad[strlen(bad) - 3] = '\0';
            VX_CHECK_INT(vx_signature_check(key, bad, body, len), VX_VR_SIGNATURE_ENCODING);
        }
    }
    free(bad);
    free(other_sig);
    free(sig);
    EVP_PKEY_free(key);
    vx_certs_free(c);
    remove_file("sign.pem");
}

int main(void)
{
    if (setup() != 0) {
        fprintf(stderr, "setup failed\n");
        teardown();
        return 1;
    }
    VX_RUN(test_chain_valid);
    VX_RUN(test_chain_san);
    VX_RUN(test_chain_validity);
    VX_RUN(test_chain_expired_root);
    VX_RUN(test_chain_trust);
    VX_RUN(test_chain_parse);
    VX_RUN(test_trust_store_load);
    VX_RUN(test_cache_window);
    VX_RUN(test_cache_refresh);
    VX_RUN(test_cache_failures);
    VX_RUN(test_certs_config);
    VX_RUN(test_shared_cache);
    VX_RUN(test_concurrent_miss);
    VX_RUN(test_refresh_does_not_block);
    VX_RUN(test_download_failure);
    VX_RUN(test_cache_bounds);
    VX_RUN(test_signature_with_pki);
    teardown();
    return VX_DONE();
}
