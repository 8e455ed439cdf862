/*
 * Signing-certificate chains: the pure chain check (PEM, SAN, validity of every
 * certificate, path to a trusted root), the trust store it checks against, and
 * the cache that turns a certificate URL into a signing key on the hot path.
 *
 * DESIGN
 *
 * A request needs one thing from this file: the signing key of a chain that is
 * verified and valid at the request's time. Verifying a chain costs a download
 * and a few RSA operations, so the result is cached in memory, keyed by the
 * canonical URL, holding the leaf key, the chain's validity window (latest Not
 * Before, earliest Not After over the PEM certificates and the root the path
 * ended in) and the time it was verified. The hot path takes only a read lock:
 * find the entry, compare `now` with the window, take a key reference. A chain
 * is never trusted outside its window; an entry past its Not After is treated
 * as a miss, so a rotated chain at the same URL is picked up and an expired one
 * is rejected at the source.
 *
 * The chain check is strict where the public verifiers were lax. The SAN must
 * hold DNS echo-api.amazon.com exactly (ASCII case aside): no wildcard, and no
 * fallback to the subject CN. Every certificate of the PEM must be valid at
 * `now`, counted as Not Before <= now < Not After the way OpenSSL's verifier
 * counts it, so the two checks never disagree about the last second; expiry is
 * reported as such rather than as a broken path. A chain holds at most
 * MAX_CHAIN_CERTS certificates; text between PEM blocks is ignored, a broken
 * block fails the whole chain.
 *
 * Entries older than cache_ttl are loaded and verified again. The trust store is
 * fixed for the life of a struct vx_certs, so re-running the check on the same
 * PEM could not change its verdict beyond what the window check already says;
 * what the refresh buys is noticing a changed chain at the source. That is why a
 * refresh that cannot *fetch* keeps serving the old entry while `now` is inside
 * its window, and tries again NEG_TTL seconds later; a refresh that fetches a
 * chain which then fails verification replaces the entry with the failure.
 *
 * Misses are loaded by one thread per URL: the first thread marks the URL in
 * flight (a list of stack nodes under fetch_mu) and later threads for the same
 * URL wait on a condition variable and then read the cache, so a burst of
 * requests naming a new URL downloads it once, while misses for different URLs
 * still proceed in parallel. While an entry that is due for refresh but still
 * inside its window is being refreshed, other requests keep using it instead of
 * waiting for the download. Sources, in order: the shared cache (Redis, via
 * callbacks; a chain from it that no longer verifies is ignored, not trusted),
 * the configured URL -> file map (read at load time, so a file replaced on disk
 * is picked up at the next refresh), then an HTTPS download with libcurl:
 * https only, no redirects, connect and total timeouts, a size cap enforced in
 * the write callback, HTTP 200 required.
 *
 * A failed load (download, file, or verification) is remembered for NEG_TTL
 * seconds in a small negative cache, so a flood of requests naming a dead or
 * rejected URL costs one attempt per NEG_TTL instead of a 2 s wait each. The
 * negative cache is a throttle on outgoing work, not a judgement of a request's
 * time, so it runs on the monotonic clock rather than on the caller's `now`.
 * Both caches are bounded (an attacker can name any URL under /echo.api/); when
 * full, the oldest entry goes.
 */
#include "voxcart/certs.h"
#include "voxcart/httpop.h"
#include "voxcart/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define COMPONENT          "certs"
#define URL_MAX            1024
#define NEG_TTL            10  /* seconds a failed load is remembered */
#define MAX_ENTRIES        64  /* verified chains kept in memory */
#define MAX_NEG            128 /* failed URLs kept in memory */
#define MAX_CHAIN_CERTS    10  /* real chains carry 4 */
#define MAX_INFLIGHT       8   /* chains loading at once (an attacker can name any URL) */
#define DEFAULT_TIMEOUT_MS 2000L
#define DEFAULT_CACHE_TTL  3600

/* ---- the pure chain check --------------------------------------------------------------- */

/* Certificates are never encrypted; refuse rather than let OpenSSL prompt on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static void openssl_error(char *buf, size_t size)
{
    unsigned long err = ERR_peek_last_error();
    if (err)
        ERR_error_string_n(err, buf, size);
    else
        vx_strlcpy(buf, "unknown error", size);
}

static enum vx_verify_reason parse_pem_chain(const char *pem, size_t len, STACK_OF(X509) * *out,
                                             struct vx_err *detail)
{
    enum vx_verify_reason r = VX_VR_CERT_PARSE;
    STACK_OF(X509) *certs = NULL;
    BIO *bio = NULL;
    unsigned long err;
    char ebuf[160];

    if (!pem || len == 0) {
        vx_err_set(detail, VX_EVERIFY, "empty certificate chain");
        goto out;
    }
    if (len > INT_MAX) {
        vx_err_set(detail, VX_EVERIFY, "certificate chain of %zu bytes is too large", len);
        goto out;
    }
    certs = sk_X509_new_null();
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!certs || !bio) {
        vx_err_set(detail, VX_ENOMEM, "out of memory parsing the certificate chain");
        goto out;
    }
    ERR_clear_error();
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
        if (!x)
            break;
        if (sk_X509_num(certs) >= MAX_CHAIN_CERTS || !sk_X509_push(certs, x)) {
            X509_free(x);
            vx_err_set(detail, VX_EVERIFY, "more than %d certificates in the chain",
                       MAX_CHAIN_CERTS);
            goto out;
        }
    }
    /* The loop always ends on an error; "no start line" just means the input ran out. */
    err = ERR_peek_last_error();
    if (err && !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
        openssl_error(ebuf, sizeof(ebuf));
        vx_err_set(detail, VX_EVERIFY, "certificate %d of the chain is not valid PEM: %s",
                   sk_X509_num(certs) + 1, ebuf);
        goto out;
    }
    if (sk_X509_num(certs) == 0) {
        vx_err_set(detail, VX_EVERIFY, "no certificate in the chain");
        goto out;
    }
    *out = certs;
    certs = NULL;
    r = VX_VR_OK;
out:
    ERR_clear_error();
    BIO_free(bio);
    sk_X509_pop_free(certs, X509_free);
    return r;
}

static int dns_name_eq(const unsigned char *s, int n, const char *want)
{
    if (n < 0 || (size_t)n != strlen(want))
        return 0;
    for (int i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)want[i])
            return 0;
    }
    return 1;
}

/* The SAN must name echo-api.amazon.com exactly; the subject CN is deliberately not consulted. */
static enum vx_verify_reason check_san(X509 *leaf, struct vx_err *detail)
{
    enum vx_verify_reason r = VX_VR_CERT_SAN;
    GENERAL_NAMES *names;
    int crit = 0, ndns = 0;
    char first[96] = "";

    names = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
    if (!names) {
        vx_err_set(detail, VX_EVERIFY, "signing certificate has %s subjectAltName",
                   crit == -1 ? "no" : "an unreadable");
        goto out;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        const unsigned char *s;
        int n;
        if (gn->type != GEN_DNS)
            continue;
        s = ASN1_STRING_get0_data(gn->d.dNSName);
        n = ASN1_STRING_length(gn->d.dNSName);
        if (dns_name_eq(s, n, VX_SIGNING_SAN)) {
            r = VX_VR_OK;
            goto out;
        }
        /* Name the first DNS entry in the detail: it says whose certificate this is. */
        if (ndns == 0 && n > 0) {
            size_t k = (size_t)n < sizeof(first) - 1 ? (size_t)n : sizeof(first) - 1;
            memcpy(first, s, k);
            first[k] = '\0';
        }
        ndns++;
    }
    vx_err_set(detail, VX_EVERIFY, "signing certificate is not for '%s' (%d DNS names%s%s%s)",
               VX_SIGNING_SAN, ndns, ndns ? ", first '" : "", first, ndns ? "'" : "");
out:
    GENERAL_NAMES_free(names);
    return r;
}

static int asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return VX_EPARSE;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static void subject_of(X509 *x, char *buf, size_t size)
{
    if (!X509_NAME_oneline(X509_get_subject_name(x), buf, (int)size))
        vx_strlcpy(buf, "?", size);
}

/*
 * Narrows [*lo, *hi) to x's validity and judges x at now. Valid iff NB <= now < NA:
 * OpenSSL's verifier counts the Not After second itself as expired, and this
 * check must never accept a second the verifier would refuse.
 */
static enum vx_verify_reason check_validity(X509 *x, int idx, int64_t now, int64_t *lo, int64_t *hi,
                                            struct vx_err *detail)
{
    int64_t nb, na;
    char subj[128];

    subject_of(x, subj, sizeof(subj));
    if (asn1_epoch(X509_get0_notBefore(x), &nb) != 0 ||
        asn1_epoch(X509_get0_notAfter(x), &na) != 0) {
        vx_err_set(detail, VX_EVERIFY, "certificate %d '%s' has an unreadable validity period", idx,
                   subj);
        return VX_VR_CERT_PARSE;
    }
    if (now < nb) {
        vx_err_set(detail, VX_EVERIFY, "certificate %d '%s' is not valid before %s (now %s)", idx,
                   subj, vx_time_iso(nb).s, vx_time_iso(now).s);
        return VX_VR_CERT_NOT_YET_VALID;
    }
    if (now >= na) {
        vx_err_set(detail, VX_EVERIFY, "certificate %d '%s' expired at %s (now %s)", idx, subj,
                   vx_time_iso(na).s, vx_time_iso(now).s);
        return VX_VR_CERT_EXPIRED;
    }
    if (nb > *lo)
        *lo = nb;
    if (na < *hi)
        *hi = na;
    return VX_VR_OK;
}

static enum vx_verify_reason check_path(X509_STORE *store, STACK_OF(X509) * certs, int64_t now,
                                        int64_t *lo, int64_t *hi, struct vx_err *detail)
{
    enum vx_verify_reason r = VX_VR_CERT_CHAIN;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    STACK_OF(X509) * chain;
    X509_VERIFY_PARAM *param;
    int err;

    if (!store) {
        vx_err_set(detail, VX_EVERIFY, "no trust store to verify the chain against");
        goto out;
    }
    /* The intermediates are the PEM's certificates after the first, never the store's. */
    untrusted = sk_X509_dup(certs);
    ctx = X509_STORE_CTX_new();
    if (!untrusted || !ctx) {
        vx_err_set(detail, VX_ENOMEM, "out of memory verifying the chain");
        goto out;
    }
    (void)sk_X509_shift(untrusted);
    if (X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, 0), untrusted) != 1) {
        vx_err_set(detail, VX_EVERIFY, "cannot set up chain verification");
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_USE_CHECK_TIME);
    if (X509_verify_cert(ctx) != 1) {
        err = X509_STORE_CTX_get_error(ctx);
        if (err == X509_V_ERR_CERT_HAS_EXPIRED)
            r = VX_VR_CERT_EXPIRED;
        else if (err == X509_V_ERR_CERT_NOT_YET_VALID)
            r = VX_VR_CERT_NOT_YET_VALID;
        vx_err_set(detail, VX_EVERIFY, "chain verification failed at depth %d: %s",
                   X509_STORE_CTX_get_error_depth(ctx), X509_verify_cert_error_string(err));
        goto out;
    }
    /* The verified path adds the trust anchor, whose window bounds the chain's too. */
    chain = X509_STORE_CTX_get0_chain(ctx);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        r = check_validity(sk_X509_value(chain, i), i, now, lo, hi, detail);
        if (r != VX_VR_OK)
            goto out;
    }
    r = VX_VR_OK;
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    return r;
}

enum vx_verify_reason vx_chain_verify(X509_STORE *store, const char *pem, size_t len, int64_t now,
                                      EVP_PKEY **leaf_key, int64_t *not_before, int64_t *not_after,
                                      struct vx_err *detail)
{
    enum vx_verify_reason r;
    STACK_OF(X509) *certs = NULL;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    EVP_PKEY *key = NULL;
    X509 *leaf;

    vx_err_clear(detail);
    if (leaf_key)
        *leaf_key = NULL;
    r = parse_pem_chain(pem, len, &certs, detail);
    if (r != VX_VR_OK)
        goto out;
    leaf = sk_X509_value(certs, 0);
    r = check_san(leaf, detail);
    if (r != VX_VR_OK)
        goto out;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        r = check_validity(sk_X509_value(certs, i), i, now, &lo, &hi, detail);
        if (r != VX_VR_OK)
            goto out;
    }
    r = check_path(store, certs, now, &lo, &hi, detail);
    if (r != VX_VR_OK)
        goto out;
    key = X509_get_pubkey(leaf);
    if (!key) {
        vx_err_set(detail, VX_EVERIFY, "signing certificate has no usable public key");
        r = VX_VR_CERT_PARSE;
        goto out;
    }
    if (leaf_key) {
        *leaf_key = key;
        key = NULL;
    }
    if (not_before)
        *not_before = lo;
    if (not_after)
        *not_after = hi;
    vx_err_clear(detail);
out:
    ERR_clear_error();
    EVP_PKEY_free(key);
    sk_X509_pop_free(certs, X509_free);
    return r;
}

int vx_trust_store_load(const char *ca_file, const char *ca_path, X509_STORE **out,
                        struct vx_err *e)
{
    X509_STORE *st = NULL;
    struct stat sb;
    char ebuf[160];
    int rc = 0;

    if (!out)
        return vx_err_set(e, VX_EINVAL, "no output for the trust store");
    *out = NULL;
    if (ca_file && !*ca_file)
        ca_file = NULL;
    if (ca_path && !*ca_path)
        ca_path = NULL;
    st = X509_STORE_new();
    if (!st) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory creating the trust store");
        goto out;
    }
    if (ca_file && X509_STORE_load_file(st, ca_file) != 1) {
        openssl_error(ebuf, sizeof(ebuf));
        rc = vx_err_set(e, VX_ECONFIG, "cannot load CA file '%s': %s", ca_file, ebuf);
        goto out;
    }
    /* A hashed directory is only read on lookup; check now that it exists at all. */
    if (ca_path && (stat(ca_path, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        rc = vx_err_set(e, VX_ECONFIG, "CA path '%s' is not a directory", ca_path);
        goto out;
    }
    if (ca_path && X509_STORE_load_path(st, ca_path) != 1) {
        openssl_error(ebuf, sizeof(ebuf));
        rc = vx_err_set(e, VX_ECONFIG, "cannot use CA path '%s': %s", ca_path, ebuf);
        goto out;
    }
    if (!ca_file && !ca_path && X509_STORE_set_default_paths(st) != 1) {
        openssl_error(ebuf, sizeof(ebuf));
        rc = vx_err_set(e, VX_ECONFIG, "cannot load the system trust store: %s", ebuf);
        goto out;
    }
    *out = st;
    st = NULL;
out:
    ERR_clear_error();
    X509_STORE_free(st);
    return rc;
}

/* ---- the cache -------------------------------------------------------------------------- */

struct cert_entry {
    char *url;
    EVP_PKEY *key;
    int64_t not_before, not_after; /* window of the whole chain */
    int64_t verified_at;
    int64_t refresh_after; /* request time after which the source is read again */
};

struct neg_entry {
    char *url;
    uint64_t until_ns; /* monotonic */
    enum vx_verify_reason reason;
    char detail[200];
};

/* A URL being loaded, by a blocking caller or by an event loop's turn. */
struct inflight {
    char *url;
    struct inflight *next;
};

struct map_entry {
    char *url; /* canonical */
    char *file;
};

struct vx_certs {
    X509_STORE *store;
    struct map_entry *map;
    size_t map_len;
    long fetch_timeout_ms;
    size_t fetch_max_bytes;
    int cache_ttl;
    struct curl_slist *connect_to;
    char *fetch_ca_file;

    pthread_rwlock_t lock; /* guards entries, neg, shared */
    struct cert_entry entries[MAX_ENTRIES];
    size_t n_entries;
    struct neg_entry neg[MAX_NEG];
    size_t n_neg;
    struct vx_cert_shared shared;

    pthread_mutex_t fetch_mu; /* guards inflight; lock order: fetch_mu, then lock */
    pthread_cond_t fetch_cv;
    struct inflight *inflight;
    size_t n_inflight;
    char *connect_to_str;
    void (*wake)(void *ud); /* a load ended: loops re-check the turns that wait for one */
    void *wake_ud;
    int locks_ready;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct cert_entry *entry_find(struct vx_certs *c, const char *url)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        if (strcmp(c->entries[i].url, url) == 0)
            return &c->entries[i];
    }
    return NULL;
}

static void entry_remove(struct vx_certs *c, struct cert_entry *ce)
{
    free(ce->url);
    EVP_PKEY_free(ce->key);
    *ce = c->entries[--c->n_entries];
}

/* Takes over key. Replaces the URL's entry, or the oldest one when the cache is full. */
static int entry_put(struct vx_certs *c, const char *url, EVP_PKEY *key, int64_t nb, int64_t na,
                     int64_t now)
{
    struct cert_entry *ce = entry_find(c, url);
    char *dup = strdup(url);

    if (!dup) {
        EVP_PKEY_free(key);
        return VX_ENOMEM;
    }
    if (ce) {
        free(ce->url);
        EVP_PKEY_free(ce->key);
    } else if (c->n_entries < MAX_ENTRIES) {
        ce = &c->entries[c->n_entries++];
    } else {
        ce = &c->entries[0];
        for (size_t i = 1; i < c->n_entries; i++) {
            if (c->entries[i].verified_at < ce->verified_at)
                ce = &c->entries[i];
        }
        free(ce->url);
        EVP_PKEY_free(ce->key);
    }
    ce->url = dup;
    ce->key = key;
    ce->not_before = nb;
    ce->not_after = na;
    ce->verified_at = now;
    ce->refresh_after = now + c->cache_ttl;
    return 0;
}

static struct neg_entry *neg_find(struct vx_certs *c, const char *url)
{
    for (size_t i = 0; i < c->n_neg; i++) {
        if (strcmp(c->neg[i].url, url) == 0)
            return &c->neg[i];
    }
    return NULL;
}

static void neg_remove(struct vx_certs *c, const char *url)
{
    struct neg_entry *ng = neg_find(c, url);
    if (ng) {
        free(ng->url);
        *ng = c->neg[--c->n_neg];
    }
}

static void neg_put(struct vx_certs *c, const char *url, enum vx_verify_reason reason,
                    const struct vx_err *detail)
{
    struct neg_entry *ng = neg_find(c, url);
    char *dup;

    if (!ng) {
        dup = strdup(url);
        if (!dup)
            return; /* remembering a failure is an optimisation; skip it */
        if (c->n_neg < MAX_NEG) {
            ng = &c->neg[c->n_neg++];
        } else {
            ng = &c->neg[0];
            for (size_t i = 1; i < c->n_neg; i++) {
                if (c->neg[i].until_ns < ng->until_ns)
                    ng = &c->neg[i];
            }
            free(ng->url);
        }
        ng->url = dup;
    }
    ng->until_ns = vx_mono_ns() + (uint64_t)NEG_TTL * 1000000000u;
    ng->reason = reason;
    vx_strlcpy(ng->detail, detail->msg[0] ? detail->msg : vx_verify_reason_text(reason),
               sizeof(ng->detail));
}

/*
 * Answers from memory when it can: 1 with *r set (and *key on OK), or 0 when the
 * caller must load the chain (no entry, an entry due for refresh unless
 * accept_stale, or one past its Not After).
 */
static int cache_lookup(struct vx_certs *c, const char *url, int64_t now, int accept_stale,
                        EVP_PKEY **key, enum vx_verify_reason *r, struct vx_err *detail)
{
    struct cert_entry *ce;
    struct neg_entry *ng;
    int answered = 0;

    pthread_rwlock_rdlock(&c->lock);
    ce = entry_find(c, url);
    if (ce) {
        if ((accept_stale || now < ce->refresh_after) && now < ce->not_after) {
            if (now < ce->not_before) {
                *r = VX_VR_CERT_NOT_YET_VALID;
                vx_err_set(detail, VX_EVERIFY,
                           "cached chain for '%s' is not valid before %s (now %s)", url,
                           vx_time_iso(ce->not_before).s, vx_time_iso(now).s);
            } else {
                EVP_PKEY_up_ref(ce->key);
                *key = ce->key;
                *r = VX_VR_OK;
            }
            answered = 1;
        }
    } else {
        ng = neg_find(c, url);
        if (ng && vx_mono_ns() < ng->until_ns) {
            *r = ng->reason;
            vx_err_set(detail, VX_EVERIFY, "%s (remembered failure)", ng->detail);
            answered = 1;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return answered;
}

/* ---- sources ---------------------------------------------------------------------------- */

void vx_certs_download_op(const struct vx_certs *c, const char *url, struct vx_http_op *op)
{
    vx_http_op_init(op, "GET", url);
    op->https_only = 1;
    op->connect_timeout_ms = (int)c->fetch_timeout_ms;
    op->timeout_ms = (int)c->fetch_timeout_ms;
    op->max_resp = c->fetch_max_bytes;
    op->ca_file = c->fetch_ca_file;
    op->connect_to = c->connect_to_str;
}

int vx_certs_download_result(const struct vx_certs *c, const char *url, struct vx_http_op *op,
                             char **pem, size_t *len, struct vx_err *e)
{
    *pem = NULL;
    *len = 0;
    if (op->rc == VX_ERANGE)
        return vx_err_set(e, VX_ERANGE, "download of '%s' is larger than %zu bytes", url,
                          c->fetch_max_bytes);
    if (op->rc)
        return vx_err_set(e, op->rc == VX_ETIMEOUT ? VX_ETIMEOUT : VX_EUPSTREAM,
                          "download of '%s' failed: %s", url, op->err.msg);
    if (op->status != 200)
        return vx_err_set(e, VX_EUPSTREAM, "download of '%s' answered HTTP %ld", url, op->status);
    if (op->resp.len == 0)
        return vx_err_set(e, VX_EUPSTREAM, "download of '%s' is empty", url);
    *pem = op->resp.data;
    *len = op->resp.len;
    vx_buf_init(&op->resp);
    return 0;
}

static int download(struct vx_certs *c, const char *url, char **pem, size_t *len, struct vx_err *e)
{
    struct vx_http_op op;
    int rc;
    vx_certs_download_op(c, url, &op);
    vx_http_op_run(&op);
    rc = vx_certs_download_result(c, url, &op, pem, len, e);
    vx_http_op_release(&op);
    return rc;
}

static const struct map_entry *map_find(const struct vx_certs *c, const char *url)
{
    for (size_t i = 0; i < c->map_len; i++) {
        if (strcmp(c->map[i].url, url) == 0)
            return &c->map[i];
    }
    return NULL;
}

/* Asks the shared cache; a chain from it is used only if it still verifies at now. */
static enum vx_verify_reason load_shared(struct vx_certs *c, const struct vx_cert_shared *sh,
                                         const char *url, int64_t now, EVP_PKEY **key, int64_t *nb,
                                         int64_t *na, struct vx_err *detail)
{
    enum vx_verify_reason r = VX_VR_CERT_FETCH;
    char *pem = NULL;
    size_t len = 0;

    if (!sh->get || sh->get(sh->ud, url, &pem, &len) != 0 || !pem)
        goto out;
    if (len > c->fetch_max_bytes) {
        vx_warn(COMPONENT, "shared cache chain for '%s' is larger than %zu bytes, ignored", url,
                c->fetch_max_bytes);
        goto out;
    }
    r = vx_chain_verify(c->store, pem, len, now, key, nb, na, detail);
    if (r == VX_VR_OK) {
        vx_info(COMPONENT, "chain for '%s' from the shared cache verified", url);
    } else {
        vx_warn(COMPONENT, "shared cache chain for '%s' rejected (%s): %s; loading it again", url,
                vx_verify_reason_name(r), detail->msg);
        r = VX_VR_CERT_FETCH;
    }
out:
    free(pem);
    return r;
}

/* Loads the chain for url from its sources and verifies it at now. */
static enum vx_verify_reason load_chain(struct vx_certs *c, const char *url, int64_t now,
                                        EVP_PKEY **key, int64_t *nb, int64_t *na,
                                        struct vx_err *detail)
{
    enum vx_verify_reason r;
    struct vx_cert_shared sh;
    const struct map_entry *me;
    struct vx_err ferr;
    char *pem = NULL;
    size_t len = 0;
    int ttl;

    pthread_rwlock_rdlock(&c->lock);
    sh = c->shared;
    pthread_rwlock_unlock(&c->lock);

    r = load_shared(c, &sh, url, now, key, nb, na, detail);
    if (r == VX_VR_OK)
        goto out;

    vx_err_clear(&ferr);
    me = map_find(c, url);
    if (me) {
        if (vx_file_read(me->file, c->fetch_max_bytes, &pem, &len, &ferr) != 0) {
            r = VX_VR_CERT_FETCH;
            vx_err_set(detail, VX_EVERIFY, "certificate map file for '%s': %s", url, ferr.msg);
            vx_warn(COMPONENT, "%s", detail->msg);
            goto out;
        }
    } else if (download(c, url, &pem, &len, &ferr) != 0) {
        r = VX_VR_CERT_FETCH;
        vx_err_set(detail, VX_EVERIFY, "%s", ferr.msg);
        vx_warn(COMPONENT, "%s", ferr.msg);
        goto out;
    }

    r = vx_certs_check(c, url, pem, len, now, me ? me->file : "https", key, nb, na, detail);
    if (r != VX_VR_OK)
        goto out;
    if (sh.put) {
        /* The shared copy must not outlive the chain itself. */
        ttl = vx_certs_share_ttl(c, now, *na);
        if (ttl > 0)
            sh.put(sh.ud, url, pem, len, ttl);
    }
out:
    free(pem);
    return r;
}

/* Records the outcome of a load of url in the caches: key (taken over) on OK. */
static enum vx_verify_reason record(struct vx_certs *c, const char *url, int64_t now,
                                    enum vx_verify_reason r, EVP_PKEY *k, int64_t nb, int64_t na,
                                    EVP_PKEY **key, struct vx_err *detail)
{
    struct cert_entry *ce;
    pthread_rwlock_wrlock(&c->lock);
    if (r == VX_VR_OK) {
        neg_remove(c, url);
        EVP_PKEY_up_ref(k);
        if (entry_put(c, url, k, nb, na, now) != 0)
            vx_warn(COMPONENT, "out of memory caching the chain for '%s'", url);
        *key = k;
        goto out;
    }
    EVP_PKEY_free(k);
    ce = entry_find(c, url);
    if (r == VX_VR_CERT_FETCH && ce && now >= ce->not_before && now < ce->not_after) {
        /* The source is unreachable but our verified copy is still valid: keep using it. */
        vx_warn(COMPONENT, "keeping the cached chain for '%s' for another %d s", url, NEG_TTL);
        ce->refresh_after = now + NEG_TTL;
        EVP_PKEY_up_ref(ce->key);
        *key = ce->key;
        vx_err_clear(detail);
        r = VX_VR_OK;
        goto out;
    }
    if (ce)
        entry_remove(c, ce);
    neg_put(c, url, r, detail);
out:
    pthread_rwlock_unlock(&c->lock);
    return r;
}

static int inflight_has(const struct vx_certs *c, const char *url)
{
    for (const struct inflight *f = c->inflight; f; f = f->next) {
        if (strcmp(f->url, url) == 0)
            return 1;
    }
    return 0;
}

/* Marks url in flight (fetch_mu held): 0, or VX_ENOMEM. */
static int inflight_add(struct vx_certs *c, const char *url)
{
    struct inflight *f = malloc(sizeof(*f));
    if (!f || !(f->url = strdup(url))) {
        free(f);
        return VX_ENOMEM;
    }
    f->next = c->inflight;
    c->inflight = f;
    c->n_inflight++;
    return 0;
}

/* Ends the load of url and tells whoever waits for one. */
static void inflight_end(struct vx_certs *c, const char *url)
{
    void (*wake)(void *);
    void *ud;
    pthread_mutex_lock(&c->fetch_mu);
    for (struct inflight **pp = &c->inflight; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->url, url) == 0) {
            struct inflight *f = *pp;
            *pp = f->next;
            free(f->url);
            free(f);
            c->n_inflight--;
            break;
        }
    }
    pthread_cond_broadcast(&c->fetch_cv);
    wake = c->wake;
    ud = c->wake_ud;
    pthread_mutex_unlock(&c->fetch_mu);
    if (wake)
        wake(ud);
}

/* The URL rules again (this cache downloads what it is given) and the canonical form. */
static enum vx_verify_reason url_ok(const char *canon_url, struct vx_err *detail)
{
    char canon[URL_MAX];
    enum vx_verify_reason r = vx_cert_url_check(canon_url, canon, sizeof(canon));
    if (r != VX_VR_OK) {
        vx_err_set(detail, VX_EVERIFY, "invalid certificate url '%s'", canon_url ? canon_url : "");
        return r;
    }
    if (strcmp(canon, canon_url) != 0) {
        vx_err_set(detail, VX_EVERIFY, "certificate url '%s' is not canonical ('%s')", canon_url,
                   canon);
        return VX_VR_CERT_URL_MALFORMED;
    }
    return VX_VR_OK;
}

enum vx_verify_reason vx_certs_get_key(struct vx_certs *c, const char *canon_url, int64_t now,
                                       EVP_PKEY **key, struct vx_err *detail)
{
    enum vx_verify_reason r;
    struct vx_err scratch;
    EVP_PKEY *k = NULL;
    int64_t nb = 0, na = 0;

    /* The detail also feeds the log and the negative cache, so there always is one. */
    if (!detail)
        detail = &scratch;
    vx_err_clear(detail);
    if (!c || !key) {
        vx_err_set(detail, VX_EINVAL, "no certificate cache or key output");
        return VX_VR_CERT_FETCH;
    }
    *key = NULL;
    r = url_ok(canon_url, detail);
    if (r != VX_VR_OK)
        return r;
    if (cache_lookup(c, canon_url, now, 0, key, &r, detail))
        return r;

    pthread_mutex_lock(&c->fetch_mu);
    for (;;) {
        if (cache_lookup(c, canon_url, now, 0, key, &r, detail)) {
            pthread_mutex_unlock(&c->fetch_mu);
            return r;
        }
        if (!inflight_has(c, canon_url))
            break;
        /* Another caller is refreshing: a chain still inside its window serves meanwhile. */
        if (cache_lookup(c, canon_url, now, 1, key, &r, detail)) {
            pthread_mutex_unlock(&c->fetch_mu);
            return r;
        }
        pthread_cond_wait(&c->fetch_cv, &c->fetch_mu);
    }
    if (inflight_add(c, canon_url) != 0) {
        pthread_mutex_unlock(&c->fetch_mu);
        vx_err_set(detail, VX_ENOMEM, "out of memory");
        return VX_VR_CERT_FETCH;
    }
    pthread_mutex_unlock(&c->fetch_mu);

    r = load_chain(c, canon_url, now, &k, &nb, &na, detail);
    r = record(c, canon_url, now, r, k, nb, na, key, detail);
    inflight_end(c, canon_url);
    return r;
}

/* ---- the same cache for an event loop --------------------------------------------------- */

enum vx_cert_begin vx_certs_begin(struct vx_certs *c, const char *canon_url, int64_t now,
                                  EVP_PKEY **key, enum vx_verify_reason *r, struct vx_err *detail)
{
    enum vx_cert_begin b = VX_CERT_LOAD;
    *key = NULL;
    *r = url_ok(canon_url, detail);
    if (*r != VX_VR_OK)
        return VX_CERT_DONE;
    if (cache_lookup(c, canon_url, now, 0, key, r, detail))
        return VX_CERT_DONE;
    pthread_mutex_lock(&c->fetch_mu);
    if (cache_lookup(c, canon_url, now, 0, key, r, detail)) {
        b = VX_CERT_DONE;
    } else if (inflight_has(c, canon_url)) {
        /* someone loads it: a chain still inside its window serves meanwhile */
        b = cache_lookup(c, canon_url, now, 1, key, r, detail) ? VX_CERT_DONE : VX_CERT_WAIT;
    } else if (c->n_inflight >= MAX_INFLIGHT) {
        *r = VX_VR_CERT_FETCH;
        vx_err_set(detail, VX_EVERIFY,
                   "too many certificate chains loading at once (%d): '%s' not loaded",
                   MAX_INFLIGHT, canon_url);
        b = VX_CERT_DONE;
    } else if (inflight_add(c, canon_url) != 0) {
        *r = VX_VR_CERT_FETCH;
        vx_err_set(detail, VX_ENOMEM, "out of memory");
        b = VX_CERT_DONE;
    }
    pthread_mutex_unlock(&c->fetch_mu);
    return b;
}

int vx_certs_map_read(const struct vx_certs *c, const char *url, char **pem, size_t *len,
                      struct vx_err *detail)
{
    const struct map_entry *me = map_find(c, url);
    struct vx_err ferr;
    *pem = NULL;
    *len = 0;
    if (!me)
        return 0;
    vx_err_clear(&ferr);
    if (vx_file_read(me->file, c->fetch_max_bytes, pem, len, &ferr) != 0) {
        vx_err_set(detail, VX_EVERIFY, "certificate map file for '%s': %s", url, ferr.msg);
        vx_warn(COMPONENT, "%s", detail->msg);
        *pem = NULL;
    }
    return 1;
}

enum vx_verify_reason vx_certs_check(struct vx_certs *c, const char *url, const char *pem,
                                     size_t len, int64_t now, const char *from, EVP_PKEY **key,
                                     int64_t *nb, int64_t *na, struct vx_err *detail)
{
    enum vx_verify_reason r = vx_chain_verify(c->store, pem, len, now, key, nb, na, detail);
    if (r != VX_VR_OK)
        vx_warn(COMPONENT, "chain for '%s' from %s rejected (%s): %s", url, from,
                vx_verify_reason_name(r), detail->msg);
    else
        vx_info(COMPONENT, "chain for '%s' from %s verified, valid from %s to %s", url, from,
                vx_time_iso(*nb).s, vx_time_iso(*na).s);
    return r;
}

int vx_certs_share_ttl(const struct vx_certs *c, int64_t now, int64_t not_after)
{
    int ttl = c->cache_ttl;
    if (not_after - now < ttl)
        ttl = (int)(not_after - now);
    return ttl;
}

enum vx_verify_reason vx_certs_settle(struct vx_certs *c, const char *url, int64_t now,
                                      enum vx_verify_reason r, EVP_PKEY *k, int64_t nb, int64_t na,
                                      EVP_PKEY **key, struct vx_err *detail)
{
    *key = NULL;
    r = record(c, url, now, r, k, nb, na, key, detail);
    inflight_end(c, url);
    return r;
}

void vx_certs_abandon(struct vx_certs *c, const char *url)
{
    inflight_end(c, url);
}

void vx_certs_set_wake(struct vx_certs *c, void (*wake)(void *ud), void *ud)
{
    pthread_mutex_lock(&c->fetch_mu);
    c->wake = wake;
    c->wake_ud = ud;
    pthread_mutex_unlock(&c->fetch_mu);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

/* Canonicalises and checks the URL -> file map; what it fills is freed by vx_certs_free. */
static int map_load(struct vx_certs *c, const struct vx_certs_config *cfg, struct vx_err *e)
{
    char canon[URL_MAX];
    enum vx_verify_reason r;
    char *url = NULL, *file = NULL;
    int rc = 0;

    if (cfg->map_len == 0)
        goto out;
    if (!cfg->map) {
        rc = vx_err_set(e, VX_ECONFIG, "certificate map of %zu entries is missing", cfg->map_len);
        goto out;
    }
    c->map = calloc(cfg->map_len, sizeof(*c->map));
    if (!c->map) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory loading the certificate map");
        goto out;
    }
    for (size_t i = 0; i < cfg->map_len; i++) {
        const struct vx_cert_map_entry *m = &cfg->map[i];
        if (!m->url || !m->file) {
            rc = vx_err_set(e, VX_ECONFIG, "certificate map entry %zu has no %s", i,
                            m->url ? "file" : "url");
            goto out;
        }
        r = vx_cert_url_check(m->url, canon, sizeof(canon));
        if (r != VX_VR_OK) {
            rc = vx_err_set(e, VX_ECONFIG, "certificate map entry %zu: invalid url '%s' (%s)", i,
                            m->url, vx_verify_reason_name(r));
            goto out;
        }
        /* Checked now so a typo fails at start-up; the file itself is read at load time. */
        if (access(m->file, R_OK) != 0) {
            rc = vx_err_set(e, VX_ECONFIG, "certificate map entry %zu ('%s'): cannot read '%s': %s",
                            i, m->url, m->file, strerror(errno));
            goto out;
        }
        if (map_find(c, canon)) {
            rc = vx_err_set(e, VX_ECONFIG, "certificate map entry %zu: url '%s' is mapped twice", i,
                            canon);
            goto out;
        }
        url = strdup(canon);
        file = strdup(m->file);
        if (!url || !file) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory loading the certificate map");
            goto out;
        }
        c->map[i].url = url;
        c->map[i].file = file;
        c->map_len = i + 1;
        url = NULL;
        file = NULL;
    }
out:
    free(url);
    free(file);
    return rc;
}

int vx_certs_new(const struct vx_certs_config *cfg, struct vx_certs **out, struct vx_err *e)
{
    static const struct vx_certs_config defaults;
    struct vx_certs *c = NULL;
    int rc = 0;

    if (!out)
        return vx_err_set(e, VX_EINVAL, "no output for the certificate cache");
    *out = NULL;
    if (!cfg)
        cfg = &defaults;
    if (cfg->fetch_timeout_ms < 0 || cfg->cache_ttl < 0)
        return vx_err_set(e, VX_ECONFIG, "negative certificate fetch timeout or cache ttl");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return vx_err_set(e, VX_ECONFIG, "cannot initialise libcurl: %s",
                          curl_easy_strerror(curl_init_rc));

    c = calloc(1, sizeof(*c));
    if (!c)
        return vx_err_set(e, VX_ENOMEM, "out of memory creating the certificate cache");
    if (pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c);
        return vx_err_set(e, VX_ENOMEM, "cannot create the certificate cache lock");
    }
    if (pthread_mutex_init(&c->fetch_mu, NULL) != 0) {
        pthread_rwlock_destroy(&c->lock);
        free(c);
        return vx_err_set(e, VX_ENOMEM, "cannot create the certificate fetch lock");
    }
    if (pthread_cond_init(&c->fetch_cv, NULL) != 0) {
        pthread_mutex_destroy(&c->fetch_mu);
        pthread_rwlock_destroy(&c->lock);
        free(c);
        return vx_err_set(e, VX_ENOMEM, "cannot create the certificate fetch condition");
    }
    c->locks_ready = 1;
    c->fetch_timeout_ms = cfg->fetch_timeout_ms ? cfg->fetch_timeout_ms : DEFAULT_TIMEOUT_MS;
    c->fetch_max_bytes = cfg->fetch_max_bytes ? cfg->fetch_max_bytes : (size_t)VX_CERT_MAX_BYTES;
    c->cache_ttl = cfg->cache_ttl ? cfg->cache_ttl : DEFAULT_CACHE_TTL;

    if (cfg->fetch_connect_to && *cfg->fetch_connect_to) {
        c->connect_to = curl_slist_append(NULL, cfg->fetch_connect_to);
        c->connect_to_str = strdup(cfg->fetch_connect_to);
        if (!c->connect_to || !c->connect_to_str) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (cfg->fetch_ca_file && *cfg->fetch_ca_file) {
        c->fetch_ca_file = strdup(cfg->fetch_ca_file);
        if (!c->fetch_ca_file) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = vx_trust_store_load(cfg->ca_file, cfg->ca_path, &c->store, e);
    if (rc != 0)
        goto out;
    rc = map_load(c, cfg, e);
    if (rc != 0)
        goto out;
    *out = c;
    c = NULL;
out:
    vx_certs_free(c);
    return rc;
}

void vx_certs_free(struct vx_certs *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_entries; i++) {
        free(c->entries[i].url);
        EVP_PKEY_free(c->entries[i].key);
    }
    for (size_t i = 0; i < c->n_neg; i++)
        free(c->neg[i].url);
    for (size_t i = 0; i < c->map_len; i++) {
        free(c->map[i].url);
        free(c->map[i].file);
    }
    free(c->map);
    curl_slist_free_all(c->connect_to);
    free(c->connect_to_str);
    while (c->inflight) {
        struct inflight *f = c->inflight;
        c->inflight = f->next;
        free(f->url);
        free(f);
    }
    free(c->fetch_ca_file);
    X509_STORE_free(c->store);
    if (c->locks_ready) {
        pthread_cond_destroy(&c->fetch_cv);
        pthread_mutex_destroy(&c->fetch_mu);
        pthread_rwlock_destroy(&c->lock);
    }
    free(c);
}

void vx_certs_set_shared(struct vx_certs *c, const struct vx_cert_shared *shared)
{
    if (!c)
        return;
    pthread_rwlock_wrlock(&c->lock);
    if (shared)
        c->shared = *shared;
    else
        memset(&c->shared, 0, sizeof(c->shared));
    pthread_rwlock_unlock(&c->lock);
}
