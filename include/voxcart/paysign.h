/*
 * Request signing of the payment provider's v2 API (payments.md sections 3
 * and 5): the canonical request, the string to sign, RSASSA-PSS signatures,
 * the authorization header and the x-amz-pay-date format. Pure (OpenSSL, no
 * I/O), shared by the client (provider.c signs) and the sandbox (it verifies),
 * so both sides compute the same bytes by construction.
 *
 *     client:  vx_paysign_authorize(key, VX_PAYSIGN_V2, key_id, "POST", "/v2/charges", "",
 *                                   hdrs, n, body, len, &auth, &e)    -> authorization value
 *     sandbox: vx_paysign_auth_parse(value, &a, &e);  look up a.key_id;
 *              vx_paysign_check(pub, &a, method, path, query, hdrs, n, body, len, &e)
 */
#ifndef VOXCART_PAYSIGN_H
#define VOXCART_PAYSIGN_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "voxcart/common.h"

enum vx_paysign_alg {
    VX_PAYSIGN_V2, /* AMZN-PAY-RSASSA-PSS-V2: salt length 32 */
    VX_PAYSIGN_V1, /* AMZN-PAY-RSASSA-PSS: the older variant, salt length 20 */
};

#define VX_PAYSIGN_V2_NAME "AMZN-PAY-RSASSA-PSS-V2"
#define VX_PAYSIGN_V1_NAME "AMZN-PAY-RSASSA-PSS"

/* The algorithm's wire name, and the reverse (VX_EPARSE for an unknown name). */
const char *vx_paysign_alg_name(enum vx_paysign_alg alg);
int vx_paysign_alg_parse(const char *name, enum vx_paysign_alg *out);

/* A request header; the name in any case. */
struct vx_paysign_hdr {
    const char *name;
    const char *value;
};

/* The headers every signature must cover (payments.md s.3), ';'-joined and sorted. */
#define VX_PAYSIGN_REQUIRED "accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-region"

/*
 * The canonical request into out (appended; NUL-terminated):
 *   method \n canonical URI \n canonical query \n canonical headers \n signed list \n
 * hex(SHA-256(body)) path is the request path as sent, without the query ("" means "/"); characters
 * other than RFC 3986 unreserved ones and '/' are percent-encoded (a path already percent-encoded
 * is decoded first, so either form gives the same bytes). query is the raw query string (no '?',
 * NULL or "" for none): each key and value is percent-decoded, then RFC 3986 encoded (space
 * %20, '*' %2A, '~' kept, '+' is a literal plus), and the pairs are sorted by encoded key
 * then value. Header names are lower-cased and values trimmed; signed_list (';'-separated,
 * any case, any order) names the headers to cover, and each must be among h, else
 * VX_ENOTFOUND naming it; NULL covers every header of h. The signed list written is
 * lower-cased and sorted. A header given twice, or named twice in the list, is VX_EINVAL.
 */
int vx_paysign_canonical(const char *method, const char *path, const char *query,
                         const struct vx_paysign_hdr *h, size_t nh, const char *signed_list,
                         const void *body, size_t len, struct vx_buf *out, struct vx_err *e);

/* alg name \n hex(SHA-256(canonical)), into out (appended). */
int vx_paysign_string_to_sign(enum vx_paysign_alg alg, const char *canonical, struct vx_buf *out);

/*
 * base64(RSASSA-PSS(SHA-256, MGF1-SHA-256, salt 32 for V2 / 20 for V1) over string_to_sign)
 * into *sig_b64 (malloc'd; the caller frees). PSS is randomised: two signatures of one
 * string differ, and both verify. key must be an RSA private key.
 */
int vx_paysign_sign(EVP_PKEY *key, enum vx_paysign_alg alg, const char *string_to_sign,
                    char **sig_b64, struct vx_err *e);

/* 0 when sig_b64 is a valid signature of string_to_sign under pub (the salt length must be
 * the algorithm's); VX_EPARSE when it is not base64, VX_EVERIFY otherwise. */
int vx_paysign_verify(EVP_PKEY *pub, enum vx_paysign_alg alg, const char *string_to_sign,
                      const char *sig_b64);

/* The authorization header:
 * "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=<id>, SignedHeaders=a;b;c, Signature=<b64>" */
struct vx_paysign_auth {
    enum vx_paysign_alg alg;
    char key_id[128];
    char signed_headers[512];
    char signature[1024];
};

/* Parses an authorization value: the algorithm, then PublicKeyId, SignedHeaders and
 * Signature in any order, comma-separated (spaces around them allowed). A missing, repeated,
 * empty, unknown or oversized part is VX_EPARSE with the part named. */
int vx_paysign_auth_parse(const char *value, struct vx_paysign_auth *out, struct vx_err *e);
int vx_paysign_auth_format(const struct vx_paysign_auth *a, struct vx_buf *out);

/*
 * The client side in one call: signs the canonical request over every header of h (so h
 * must hold at least the five of VX_PAYSIGN_REQUIRED) and writes the authorization value
 * into out (appended).
 */
int vx_paysign_authorize(EVP_PKEY *key, enum vx_paysign_alg alg, const char *key_id,
                         const char *method, const char *path, const char *query,
                         const struct vx_paysign_hdr *h, size_t nh, const void *body, size_t len,
                         struct vx_buf *out, struct vx_err *e);

/*
 * The verifier side in one call, as the provider checks: a's SignedHeaders must name at
 * least the five of VX_PAYSIGN_REQUIRED (VX_EDENIED naming the one missing), every header
 * it names must be among h (VX_ENOTFOUND naming it), and the signature must verify over
 * exactly those headers (VX_EVERIFY). Headers of h that are not signed are ignored.
 */
int vx_paysign_check(EVP_PKEY *pub, const struct vx_paysign_auth *a, const char *method,
                     const char *path, const char *query, const struct vx_paysign_hdr *h, size_t nh,
                     const void *body, size_t len, struct vx_err *e);

/* x-amz-pay-date: YYYYMMDDTHHMMSSZ (UTC) <-> epoch seconds. The parser takes exactly that
 * form with a valid calendar date and time (VX_EPARSE otherwise). */
int vx_paysign_date(int64_t epoch, char out[17]);
int vx_paysign_date_parse(const char *s, int64_t *epoch);

#endif
