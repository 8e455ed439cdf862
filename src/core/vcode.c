/*
 * The voice code's stored form (vcode.h): PBKDF2-HMAC-SHA256 with a random
 * 16-byte salt, compared in constant time.
 */
#include "voxcart/vcode.h"

#include "voxcart/jscan.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32

int vx_vcode_valid(const char *s)
{
    if (!s || strlen(s) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    if (!s || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        int v = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                                             : -1;
        if (v < 0)
            return -1;
        out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] << 4) | v : v);
    }
    return 0;
}

static int derive(const char *code, const unsigned char *salt, long iter, unsigned char *out)
{
    return PKCS5_PBKDF2_HMAC(code, 4, salt, SALT_LEN, (int)iter, EVP_sha256(), HASH_LEN, out) == 1
               ? 0
               : -1;
}

int vx_vcode_hash(const char *code, struct vx_buf *out)
{
    unsigned char salt[SALT_LEN], h[HASH_LEN];
    char salt_hex[2 * SALT_LEN + 1], h_hex[2 * HASH_LEN + 1];
    if (!vx_vcode_valid(code))
        return VX_EINVAL;
    if (RAND_bytes(salt, sizeof(salt)) != 1 || derive(code, salt, VX_VCODE_ITER, h) != 0)
        return VX_ENOMEM;
    hex(salt, sizeof(salt), salt_hex);
    hex(h, sizeof(h), h_hex);
    OPENSSL_cleanse(h, sizeof(h));
    return vx_buf_appendf(out,
                          "{\"alg\":\"pbkdf2-sha256\",\"iter\":%d,\"salt\":\"%s\",\"hash\":\"%s\"}",
                          VX_VCODE_ITER, salt_hex, h_hex) == 0
               ? 0
               : VX_ENOMEM;
}

int vx_vcode_check(const char *code, const char *stored_json)
{
    unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
    struct vx_jdoc d;
    const struct vx_jnode *root;
    const char *alg;
    int64_t iter = 0;
    int rc = VX_EPARSE;

    if (!stored_json || vx_jdoc_parse(&d, stored_json, strlen(stored_json), NULL) != 0)
        return VX_EPARSE;
    root = vx_jroot(&d);
    alg = vx_jget_str(&d, root, "alg");
    if (alg && strcmp(alg, "pbkdf2-sha256") == 0 &&
        vx_jint64(vx_jget(&d, root, "iter"), &iter) == 0 && iter >= 1000 && iter <= 10000000 &&
        unhex(vx_jget_str(&d, root, "salt"), salt, sizeof(salt)) == 0 &&
        unhex(vx_jget_str(&d, root, "hash"), want, sizeof(want)) == 0) {
        rc = 0;
        if (vx_vcode_valid(code) && derive(code, salt, (long)iter, got) == 0)
            rc = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
        OPENSSL_cleanse(got, sizeof(got));
    }
    vx_jdoc_free(&d);
    return rc;
}
