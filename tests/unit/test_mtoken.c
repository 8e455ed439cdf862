/*
 * Merchant tokens (mtoken.h): what is accepted and every way a token is refused,
 * with HS256, RS256 and ES256 keys made here.
 */
#include "voxcart/mtoken.h"
#include "voxcart/verify.h"
#include "vxtest.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#define NOW    1800000000
#define SECRET "0123456789abcdef0123456789abcdef-test"

static struct vx_mtoken_keys keys_of(enum vx_mtoken_alg alg, const char *key, size_t len)
{
    struct vx_mtoken_keys k;
    memset(&k, 0, sizeof(k));
    k.alg = alg;
    k.key = (unsigned char *)key;
    k.key_len = len;
    vx_strlcpy(k.issuer, "voxcart", sizeof(k.issuer));
    vx_strlcpy(k.audience, "voxcart-merchant-api", sizeof(k.audience));
    k.leeway = 30;
    return k;
}

static struct vx_mtoken_mint mint_of(enum vx_mtoken_alg alg, const char *key, size_t len)
{
    struct vx_mtoken_mint m;
    memset(&m, 0, sizeof(m));
    m.alg = alg;
    m.key = (const unsigned char *)key;
    m.key_len = len;
    m.issuer = "voxcart";
    m.audience = "voxcart-merchant-api";
    m.merchant = "demo";
    m.scope = "full";
    m.now = NOW;
    m.ttl = 3600;
    return m;
}

static enum vx_mtoken_reason check(const struct vx_mtoken_keys *k, const struct vx_mtoken_mint *m,
                                   int64_t now, struct vx_mtoken_claims *c)
{
    char *tok = NULL;
    enum vx_mtoken_reason r;
    struct vx_err e;
    if (vx_mtoken_sign(m, &tok, &e) != 0) {
        fprintf(stderr, "sign: %s\n", e.msg);
        return VX_MTOKEN__COUNT;
    }
    r = vx_mtoken_verify(k, tok, now, c);
    free(tok);
    return r;
}

/* base64url of text, no padding */
static void b64url(const char *text, char *out, size_t outsz)
{
    char *b = NULL;
    size_t n = 0;
    vx_base64_encode((const unsigned char *)text, strlen(text), &b);
    for (size_t i = 0; b && b[i] && b[i] != '=' && n + 1 < outsz; i++)
        out[n++] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : b[i];
    out[n] = '\0';
    free(b);
}

static void test_hs256(void)
{
    struct vx_mtoken_keys k = keys_of(VX_MTOKEN_HS256, SECRET, strlen(SECRET));
    struct vx_mtoken_mint m = mint_of(VX_MTOKEN_HS256, SECRET, strlen(SECRET));
    struct vx_mtoken_claims c;
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_OK);
    VX_CHECK_STR(c.merchant, "demo");
    VX_CHECK_INT(c.full, 1);
    m.scope = "read";
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_OK);
    VX_CHECK_INT(c.full, 0);
    m.scope = "write";
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_SCOPE);
    m.scope = "read";
    /* exp with the leeway: 30 s late is still fine, 31 s is not */
    VX_CHECK_INT(check(&k, &m, NOW + 3630, &c), VX_MTOKEN_OK);
    VX_CHECK_INT(check(&k, &m, NOW + 3631, &c), VX_MTOKEN_EXPIRED);
    m.not_before = NOW + 100;
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_NOT_YET_VALID);
    VX_CHECK_INT(check(&k, &m, NOW + 70, &c), VX_MTOKEN_OK);
    m.not_before = 0;
    m.audience = "another-api";
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_AUDIENCE);
    m.audience = "voxcart-merchant-api";
    m.issuer = "someone";
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_ISSUER);
    m.issuer = "voxcart";
    m.key = (const unsigned char *)"another secret of thirty-two bytes!!";
    m.key_len = strlen((const char *)m.key);
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_SIGNATURE);
    VX_CHECK_INT(vx_mtoken_verify(&k, "", NOW, &c), VX_MTOKEN_MISSING);
    VX_CHECK_INT(vx_mtoken_verify(&k, "abc.def", NOW, &c), VX_MTOKEN_MALFORMED);
    VX_CHECK_INT(vx_mtoken_verify(&k, "a.b.c.d", NOW, &c), VX_MTOKEN_MALFORMED);
    VX_CHECK_INT(vx_mtoken_verify(NULL, "a.b.c", NOW, &c), VX_MTOKEN_UNCONFIGURED);
    /* a merchant ID goes into Redis keys: only the safe characters */
    m.key = (const unsigned char *)SECRET;
    m.key_len = strlen(SECRET);
    m.merchant = "a}b";
    {
        char *tok = NULL;
        struct vx_err e;
        VX_CHECK(vx_mtoken_sign(&m, &tok, &e) != 0);
        free(tok);
    }
    VX_CHECK(vx_merchant_id_ok("demo-1_X"));
    VX_CHECK(!vx_merchant_id_ok(""));
    VX_CHECK(!vx_merchant_id_ok("a:b"));
}

/* Hand-made tokens: alg none, a claim of the wrong type, no exp. */
static void test_forged(void)
{
    struct vx_mtoken_keys k = keys_of(VX_MTOKEN_HS256, SECRET, strlen(SECRET));
    struct vx_mtoken_claims c;
    char h[256], p[512], tok[1024];
    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", h, sizeof(h));
    b64url("{\"iss\":\"voxcart\",\"aud\":\"voxcart-merchant-api\",\"merchant\":\"demo\","
           "\"scope\":\"full\",\"exp\":1900000000}",
           p, sizeof(p));
    snprintf(tok, sizeof(tok), "%s.%s.", h, p);
    VX_CHECK_INT(vx_mtoken_verify(&k, tok, NOW, &c), VX_MTOKEN_ALGORITHM);
    b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", h, sizeof(h));
    snprintf(tok, sizeof(tok), "%s.%s.", h, p);
    VX_CHECK_INT(vx_mtoken_verify(&k, tok, NOW, &c), VX_MTOKEN_SIGNATURE);
    snprintf(tok, sizeof(tok), "%s.%s.AAAA", h, p);
    VX_CHECK_INT(vx_mtoken_verify(&k, tok, NOW, &c), VX_MTOKEN_SIGNATURE);
    b64url("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", h, sizeof(h));
    snprintf(tok, sizeof(tok), "%s.%s.AAAA", h, p);
    VX_CHECK_INT(vx_mtoken_verify(&k, tok, NOW, &c), VX_MTOKEN_ALGORITHM);
    snprintf(tok, sizeof(tok), "!!.%s.AAAA", p);
    VX_CHECK_INT(vx_mtoken_verify(&k, tok, NOW, &c), VX_MTOKEN_MALFORMED);
}

static char *pem_of(EVP_PKEY *pk, int private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;
    if (private)
        PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(bio, pk);
    n = BIO_get_mem_data(bio, &data);
    out = strndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

/* RS256 and ES256, and the classic confusion: an HS256 token keyed with the public key. */
static void test_asymmetric(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char *rsa_priv = pem_of(rsa, 1), *rsa_pub = pem_of(rsa, 0);
    char *ec_priv = pem_of(ec, 1), *ec_pub = pem_of(ec, 0);
    struct vx_mtoken_keys k = keys_of(VX_MTOKEN_RS256, rsa_pub, strlen(rsa_pub));
    struct vx_mtoken_mint m = mint_of(VX_MTOKEN_RS256, rsa_priv, strlen(rsa_priv));
    struct vx_mtoken_claims c;

    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_OK);
    m = mint_of(VX_MTOKEN_HS256, rsa_pub, strlen(rsa_pub));
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_ALGORITHM);
    /* ES256 signed, RS256 pinned: refused by the header, whatever the key */
    m = mint_of(VX_MTOKEN_ES256, ec_priv, strlen(ec_priv));
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_ALGORITHM);
    k = keys_of(VX_MTOKEN_ES256, ec_pub, strlen(ec_pub));
    VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_OK);
    /* RS256 pinned, but signed with another RSA key */
    {
        EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        char *other_priv = pem_of(other, 1);
        k = keys_of(VX_MTOKEN_RS256, rsa_pub, strlen(rsa_pub));
        m = mint_of(VX_MTOKEN_RS256, other_priv, strlen(other_priv));
        VX_CHECK_INT(check(&k, &m, NOW, &c), VX_MTOKEN_SIGNATURE);
        free(other_priv);
        EVP_PKEY_free(other);
    }
    free(rsa_priv);
    free(rsa_pub);
    free(ec_priv);
    free(ec_pub);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

int main(void)
{
    VX_RUN(test_hs256);
    VX_RUN(test_forged);
    VX_RUN(test_asymmetric);
    return VX_DONE();
}
