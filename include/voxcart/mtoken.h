/*
 * Merchant API tokens: bearer JWTs (RFC 7519) checked with libjwt. The
 * algorithm is pinned by configuration, never taken from the token: a token
 * whose header names another one (alg "none", HS256 against an RSA key) is
 * refused before its signature is looked at. exp is required, nbf optional,
 * both with a small leeway; iss and aud must be the configured ones; the
 * merchant claim names whose data every call sees; scope is "read" or "full".
 */
#ifndef VOXCART_MTOKEN_H
#define VOXCART_MTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

/* Why a token was refused: the stable error codes of a 401 (code, message). */
#define VX_MTOKEN_REASON_MAP(XX)                                                                   \
    XX(MISSING, "token_missing", "an Authorization: Bearer token is required")                     \
    XX(MALFORMED, "token_malformed", "the token is not a JWT")                                     \
    XX(ALGORITHM, "token_algorithm", "the token's algorithm is not the one configured")            \
    XX(SIGNATURE, "token_signature", "the token's signature does not verify")                      \
    XX(EXPIRED, "token_expired", "the token has expired (or carries no exp)")                      \
    XX(NOT_YET_VALID, "token_not_yet_valid", "the token is not valid yet (nbf)")                   \
    XX(ISSUER, "token_issuer", "the token's issuer is not the one configured")                     \
    XX(AUDIENCE, "token_audience", "the token's audience is not this API")                         \
    XX(MERCHANT, "token_merchant", "the token names no valid merchant")                            \
    XX(SCOPE, "token_scope", "the token's scope is not read or full")                              \
    XX(UNCONFIGURED, "token_unconfigured", "merchant tokens are not configured (merchant.jwt_key)")

enum vx_mtoken_reason {
    VX_MTOKEN_OK = 0,
#define XX(name, code, msg) VX_MTOKEN_##name,
    VX_MTOKEN_REASON_MAP(XX)
#undef XX
        VX_MTOKEN__COUNT
};

const char *vx_mtoken_reason_code(enum vx_mtoken_reason r);
const char *vx_mtoken_reason_message(enum vx_mtoken_reason r);

enum vx_mtoken_alg { VX_MTOKEN_HS256, VX_MTOKEN_RS256, VX_MTOKEN_ES256 };

/* 0 and *out for "HS256", "RS256" or "ES256"; VX_EINVAL otherwise. */
int vx_mtoken_alg_parse(const char *name, enum vx_mtoken_alg *out);

/* What a server checks tokens against. key is the secret (HS256) or the public key PEM. */
struct vx_mtoken_keys {
    enum vx_mtoken_alg alg;
    unsigned char *key;
    size_t key_len;
    char issuer[128];
    char audience[128];
    int leeway;
};

/* Reads a key file: an HS256 secret without its final newline (32 bytes at least), a PEM. */
int vx_mtoken_key_file(const char *path, enum vx_mtoken_alg alg, char **key, size_t *len,
                       struct vx_err *e);
/* Reads the key file; VX_ECONFIG naming the field when it cannot be read or is too short. */
int vx_mtoken_keys_load(struct vx_mtoken_keys *k, const char *alg, const char *key_file,
                        const char *issuer, const char *audience, int leeway, struct vx_err *e);
void vx_mtoken_keys_release(struct vx_mtoken_keys *k);

#define VX_MERCHANT_ID_MAX 64

struct vx_mtoken_claims {
    char merchant[VX_MERCHANT_ID_MAX + 1]; /* [A-Za-z0-9_-]: it goes into Redis keys */
    int full;                              /* scope full: may change things */
    int64_t exp;
};

/* 1 when id is a merchant ID (1 to 64 of [A-Za-z0-9_-]). */
int vx_merchant_id_ok(const char *id);

/* Checks token at time now (epoch seconds). VX_MTOKEN_OK and *out, or the reason. */
enum vx_mtoken_reason vx_mtoken_verify(const struct vx_mtoken_keys *k, const char *token,
                                       int64_t now, struct vx_mtoken_claims *out);

/* What `voxcart token` and the tests sign. key is the secret (HS256) or the private key PEM. */
struct vx_mtoken_mint {
    enum vx_mtoken_alg alg;
    const unsigned char *key;
    size_t key_len;
    const char *issuer, *audience, *merchant, *scope;
    int64_t now;
    int64_t ttl;        /* exp = now + ttl */
    int64_t not_before; /* nbf, when non-zero */
};
/* A signed token, malloc'd in *out. */
int vx_mtoken_sign(const struct vx_mtoken_mint *m, char **out, struct vx_err *e);

#endif
