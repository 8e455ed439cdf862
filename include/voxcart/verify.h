/*
 * Request verification (reference: shared alexa.md section 1). Pure checks that
 * need no network and no store: certificate URL rules, timestamps, the
 * Signature-256 over the raw body, skill IDs. Certificate chains live in certs.h.
 *
 * Every failure has a reason from VX_VERIFY_REASON_MAP: its name is the stable
 * code in the HTTP 400 JSON body and the label of the metric, its text goes to
 * the log and the body's message.
 */
#ifndef VOXCART_VERIFY_H
#define VOXCART_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "voxcart/common.h"

#define VX_VERIFY_REASON_MAP(XX)                                                                   \
    XX(OK, "ok", "verified")                                                                       \
    XX(MISSING_CERT_URL, "missing_cert_url", "the SignatureCertChainUrl header is missing")        \
    XX(MISSING_SIGNATURE, "missing_signature", "the Signature-256 header is missing")              \
    XX(CERT_URL_MALFORMED, "cert_url_malformed", "the certificate URL cannot be parsed")           \
    XX(CERT_URL_SCHEME, "cert_url_scheme", "the certificate URL scheme is not https")              \
    XX(CERT_URL_HOST, "cert_url_host", "the certificate URL host is not s3.amazonaws.com")         \
    XX(CERT_URL_PORT, "cert_url_port", "the certificate URL port is not 443")                      \
    XX(CERT_URL_PATH, "cert_url_path", "the certificate URL path does not start with /echo.api/")  \
    XX(CERT_FETCH, "cert_fetch", "the certificate chain could not be downloaded")                  \
    XX(CERT_PARSE, "cert_parse", "the certificate chain is not valid PEM")                         \
    XX(CERT_EXPIRED, "cert_expired", "a certificate of the chain has expired")                     \
    XX(CERT_NOT_YET_VALID, "cert_not_yet_valid", "a certificate of the chain is not yet valid")    \
    XX(CERT_SAN, "cert_san", "the signing certificate is not for echo-api.amazon.com")             \
    XX(CERT_CHAIN, "cert_chain", "the certificate chain does not lead to a trusted root")          \
    XX(SIGNATURE_ENCODING, "signature_encoding", "the Signature-256 header is not valid base64")   \
    XX(SIGNATURE_MISMATCH, "signature_mismatch", "the signature does not match the body")          \
    XX(BODY_MALFORMED, "body_malformed", "the request body is not a valid request envelope")       \
    XX(TIMESTAMP_MISSING, "timestamp_missing", "the request has no timestamp")                     \
    XX(TIMESTAMP_INVALID, "timestamp_invalid", "the request timestamp cannot be parsed")           \
    XX(TIMESTAMP_STALE, "timestamp_stale", "the request timestamp is too old")                     \
    XX(TIMESTAMP_FUTURE, "timestamp_future", "the request timestamp is in the future")             \
    XX(SKILL_ID, "skill_id", "the request is for a skill ID this server does not serve")           \
    XX(REPLAY, "replay", "the request ID was already seen")

enum vx_verify_reason {
#define XX(id, name, text) VX_VR_##id,
    VX_VERIFY_REASON_MAP(XX)
#undef XX
        VX_VR__COUNT
};

const char *vx_verify_reason_name(enum vx_verify_reason r);
const char *vx_verify_reason_text(enum vx_verify_reason r);

/* Default timestamp tolerances, in seconds. */
#define VX_TS_TOLERANCE             150
#define VX_TS_TOLERANCE_SKILL_EVENT 3600

/*
 * Removes "." and ".." segments from an absolute or relative path
 * (RFC 3986 section 5.2.4). Returns 0, or VX_ERANGE when out is too small.
 */
int vx_path_remove_dot_segments(const char *in, char *out, size_t outsz);

/*
 * Applies the certificate URL rules before anything is fetched. On success
 * writes the canonical URL (lower-case scheme and host, no default port,
 * normalised path) to canon; that string is the cache key everywhere.
 * Decisions on the disputed edge cases are documented in verify.c.
 */
enum vx_verify_reason vx_cert_url_check(const char *url, char *canon, size_t canonsz);

/*
 * Parses an ISO 8601 UTC timestamp ("2026-11-24T06:44:17Z", optional fraction,
 * "Z" or "+00:00"/"-05:00" offset) to epoch seconds. Returns 0 or VX_EPARSE.
 */
int vx_timestamp_parse(const char *s, int64_t *epoch);

/*
 * Checks |ts - now| against tolerance (both directions): OK, TIMESTAMP_STALE or
 * TIMESTAMP_FUTURE.
 */
enum vx_verify_reason vx_timestamp_check(int64_t ts, int64_t now, int tolerance);

/* True for the five AlexaSkillEvent.* request types that get the long tolerance. */
int vx_is_skill_event(const char *request_type);

/*
 * Verifies Signature-256 (base64 of RSA PKCS#1 v1.5 over SHA-256) against the
 * exact body bytes with the signing key. Returns OK, SIGNATURE_ENCODING or
 * SIGNATURE_MISMATCH. Thread-safe: key is only read.
 */
enum vx_verify_reason vx_signature_check(EVP_PKEY *key, const char *sig_b64, const void *body,
                                         size_t len);

/* Base64 helpers (standard alphabet, padding required on decode, whitespace rejected). */
int vx_base64_encode(const unsigned char *in, size_t len, char **out);
int vx_base64_decode(const char *in, unsigned char **out, size_t *outlen);

/* SHA-256 of data with the digest fetched once per process (hashing off the request path too). */
int vx_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
