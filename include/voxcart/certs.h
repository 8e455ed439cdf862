/*
 * Signing-certificate chains: parse, check against the trust store, cache.
 *
 * A chain is verified in full (PEM parse, SAN echo-api.amazon.com on the first
 * certificate, path to a trusted root) when it enters the in-memory cache. At
 * every request the cached chain's validity window (the latest Not Before and the
 * earliest Not After over all its certificates) is compared with that request's
 * time, so a cached chain stops being trusted the second it expires.
 *
 * Sources, in order: in-memory cache, the shared cache (Redis, through the
 * callbacks in struct vx_cert_shared so this file never forms a Redis key), the
 * configured URL -> local PEM file map, then an HTTPS download with libcurl
 * (HTTPS only, no redirects, 2 s connect and total timeouts, 64 KiB limit).
 */
#ifndef VOXCART_CERTS_H
#define VOXCART_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "voxcart/common.h"
#include "voxcart/verify.h"

#define VX_SIGNING_SAN    "echo-api.amazon.com"
#define VX_CERT_MAX_BYTES (64 * 1024)

/* A second-level cache shared between voxcartd instances. Both callbacks may be NULL. */
struct vx_cert_shared {
    /* 0 and a malloc'd PEM in *pem, VX_ENOTFOUND, or another error (treated as a miss). */
    int (*get)(void *ud, const char *canon_url, char **pem, size_t *len);
    /* Best effort: errors are logged by the callee and ignored. */
    void (*put)(void *ud, const char *canon_url, const char *pem, size_t len, int ttl_seconds);
    void *ud;
};

struct vx_cert_map_entry {
    const char *url;  /* as it appears in SignatureCertChainUrl; canonicalised on load */
    const char *file; /* PEM chain on disk */
};

struct vx_certs_config {
    const char *ca_file; /* trust anchors; NULL = the system trust store */
    const char *ca_path; /* hashed directory of anchors; optional */
    const struct vx_cert_map_entry *map;
    size_t map_len;
    long fetch_timeout_ms;  /* 0 = 2000 */
    size_t fetch_max_bytes; /* 0 = VX_CERT_MAX_BYTES */
    int cache_ttl; /* seconds a verified chain stays cached (re-verified after); 0 = 3600 */
    /* Downloads only: connect somewhere else than the URL's host ("HOST:443:ADDR:PORT", as
     * curl's --connect-to) and trust this CA file for that TLS connection. For mirrors in
     * front of the platform's host and for tests; the URL rules still apply to the URL. */
    const char *fetch_connect_to;
    const char *fetch_ca_file;
};

struct vx_certs;

int vx_certs_new(const struct vx_certs_config *cfg, struct vx_certs **out, struct vx_err *e);
void vx_certs_free(struct vx_certs *c);
void vx_certs_set_shared(struct vx_certs *c, const struct vx_cert_shared *shared);

/*
 * Returns the signing key for canon_url (already accepted by vx_cert_url_check),
 * from a chain that is verified and valid at `now`. *key carries a reference the
 * caller drops with EVP_PKEY_free. detail (optional) gets a one-line explanation.
 * Thread-safe.
 */
enum vx_verify_reason vx_certs_get_key(struct vx_certs *c, const char *canon_url, int64_t now,
                                       EVP_PKEY **key, struct vx_err *detail);

/*
 * The same cache for an event loop, where nothing may block: the caller drives
 * a load step by step with its own connections.
 *
 *   vx_certs_begin: DONE with *r (and *key on OK) from memory; LOAD: the caller
 *     now owns the load of url (one per URL, at most a few at once; more are
 *     refused at once with VX_VR_CERT_FETCH); WAIT: another load of url is in
 *     flight: call begin again once the wake callback ran (or after a while).
 *   Owner: the shared cache (vx_store_op_cert_get), then vx_certs_map_read, else
 *     the download (vx_certs_download_op, carried out by the loop, then
 *     vx_certs_download_result); each chain found goes through vx_certs_check;
 *     finally vx_certs_settle records the outcome (a failure is remembered for a
 *     while, so a flood of requests naming a dead URL costs one download) and
 *     wakes the waiters. A verified chain that was not from the shared cache is
 *     offered to it (vx_certs_share_ttl seconds).
 */
enum vx_cert_begin { VX_CERT_DONE, VX_CERT_LOAD, VX_CERT_WAIT };
struct vx_http_op;
enum vx_cert_begin vx_certs_begin(struct vx_certs *c, const char *canon_url, int64_t now,
                                  EVP_PKEY **key, enum vx_verify_reason *r, struct vx_err *detail);
/* 1 when url is in the certificate map (*pem the chain, or NULL with detail), 0 when not. */
int vx_certs_map_read(const struct vx_certs *c, const char *url, char **pem, size_t *len,
                      struct vx_err *detail);
void vx_certs_download_op(const struct vx_certs *c, const char *url, struct vx_http_op *op);
/* 0 and the body (taken from op), or an error naming the URL. */
int vx_certs_download_result(const struct vx_certs *c, const char *url, struct vx_http_op *op,
                             char **pem, size_t *len, struct vx_err *e);
enum vx_verify_reason vx_certs_check(struct vx_certs *c, const char *url, const char *pem,
                                     size_t len, int64_t now, const char *from, EVP_PKEY **key,
                                     int64_t *nb, int64_t *na, struct vx_err *detail);
int vx_certs_share_ttl(const struct vx_certs *c, int64_t now, int64_t not_after);
/* Takes over k; on OK *key gets a reference for the caller. */
enum vx_verify_reason vx_certs_settle(struct vx_certs *c, const char *url, int64_t now,
                                      enum vx_verify_reason r, EVP_PKEY *k, int64_t nb, int64_t na,
                                      EVP_PKEY **key, struct vx_err *detail);
/* Ends a load that will not finish (its turn went away) without recording anything. */
void vx_certs_abandon(struct vx_certs *c, const char *url);
/* Called (from whichever thread) each time a load ends. */
void vx_certs_set_wake(struct vx_certs *c, void (*wake)(void *ud), void *ud);

/*
 * The pure chain check used by the cache: parses every certificate in pem (the
 * first is the signing one), checks the SAN, validity at `now` for every
 * certificate, and the path to a root in store (intermediates come from the PEM,
 * never from the store's untrusted side). On OK, *leaf_key (optional) gets a
 * reference to the signing key and *not_before and *not_after (optional) the window
 * in which the whole chain is valid: not_before <= t < not_after (the Not After
 * second itself counts as expired, as in OpenSSL's verifier).
 */
enum vx_verify_reason vx_chain_verify(X509_STORE *store, const char *pem, size_t len, int64_t now,
                                      EVP_PKEY **leaf_key, int64_t *not_before, int64_t *not_after,
                                      struct vx_err *detail);

/* Builds an X509_STORE from a CA file/dir, or the system default paths when both are NULL. */
int vx_trust_store_load(const char *ca_file, const char *ca_path, X509_STORE **out,
                        struct vx_err *e);

#endif
