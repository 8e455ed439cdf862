/*
 * Tests of paysign.c: the reference's signing vectors (payments.md s.5: the
 * canonical request of GET /, its string to sign, POST /?foo=bar and
 * POST /?f oo=b ar), query and URI encoding, header selection, sign-then-verify
 * with both salt lengths against a public-only copy of the key, a changed
 * string or a wrong salt refused, the verifier's header rules, authorization
 * header round trips and refusals, and the date format.
 */
#include "voxcart/paysign.h"
#include "voxcart/pki.h"
#include "vxtest.h"

#include <stdlib.h>
#include <openssl/x509.h>

static const struct vx_paysign_hdr vec_hdrs[] = {
    {"accept", "application/json"},
    {"content-type", "application/json"},
    {"x-amz-pay-date", "20180524T223710Z"},
    {"x-amz-pay-host", "pay-api.amazon.eu"},
    {"x-amz-pay-region", "EU"},
};

static const char vec_get_canonical[] = "GET\n"
                                        "/\n"
                                        "\n"
                                        "accept:application/json\n"
                                        "content-type:application/json\n"
                                        "x-amz-pay-date:20180524T223710Z\n"
                                        "x-amz-pay-host:pay-api.amazon.eu\n"
                                        "x-amz-pay-region:EU\n"
                                        "\n"
                                        "accept;content-type;x-amz-pay-date;x-amz-pay-host;"
                                        "x-amz-pay-region\n"
                                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                                        "7852b855";

/* The string to sign of method/path/query over the vector headers, or "" on error. */
static void sts_of(const char *method, const char *path, const char *query, struct vx_buf *sts)
{
    struct vx_buf canon;
    struct vx_err e;
    vx_buf_init(&canon);
    vx_buf_init(sts);
    if (vx_paysign_canonical(method, path, query, vec_hdrs, VX_ARRAY_LEN(vec_hdrs), NULL, NULL, 0,
                             &canon, &e) != 0 ||
        vx_paysign_string_to_sign(VX_PAYSIGN_V2, canon.data, sts) != 0)
        vx_buf_appends(sts, "");
    vx_buf_release(&canon);
}

static void test_vectors(void)
{
    struct vx_buf canon, sts;
    struct vx_err e;
    vx_buf_init(&canon);
    VX_CHECK_INT(vx_paysign_canonical("GET", "/", "", vec_hdrs, VX_ARRAY_LEN(vec_hdrs), NULL, NULL,
                                      0, &canon, &e),
                 0);
    VX_CHECK_STR(canon.data, vec_get_canonical);
    vx_buf_release(&canon);

    sts_of("GET", "/", NULL, &sts);
    VX_CHECK_STR(sts.data, "AMZN-PAY-RSASSA-PSS-V2\n"
                           "bb49552975c396f1e49d5510e1555b8b0627dc491bc61aaefdb561f202ad8020");
    vx_buf_release(&sts);
    sts_of("POST", "/", "foo=bar", &sts);
    VX_CHECK_STR(sts.data, "AMZN-PAY-RSASSA-PSS-V2\n"
                           "cc82525870b2d03666c287fd8b2c0d2fc6fa1693d9f357d27f7cac8cbcc12832");
    vx_buf_release(&sts);
    sts_of("POST", "/", "f oo=b ar", &sts);
    VX_CHECK_STR(sts.data, "AMZN-PAY-RSASSA-PSS-V2\n"
                           "99be3aeb19b5a1aebafc807d59f3740d3e604ae31cf928592fa70739ea64bb32");
    vx_buf_release(&sts);
    /* what a server receives on the wire gives the same string */
    sts_of("POST", "/", "f%20oo=b%20ar", &sts);
    VX_CHECK_STR(sts.data, "AMZN-PAY-RSASSA-PSS-V2\n"
                           "99be3aeb19b5a1aebafc807d59f3740d3e604ae31cf928592fa70739ea64bb32");
    vx_buf_release(&sts);
    /* an empty path is "/" */
    sts_of("GET", "", NULL, &sts);
    VX_CHECK_STR(sts.data, "AMZN-PAY-RSASSA-PSS-V2\n"
                           "bb49552975c396f1e49d5510e1555b8b0627dc491bc61aaefdb561f202ad8020");
    vx_buf_release(&sts);
}

/* The second and third lines of a canonical request over one header. */
static void check_uri_query(const char *path, const char *query, const char *want)
{
    static const struct vx_paysign_hdr one[] = {{"Accept", " x "}};
    struct vx_buf canon;
    struct vx_err e;
    char expect[512];
    vx_buf_init(&canon);
    VX_CHECK_INT(vx_paysign_canonical("GET", path, query, one, 1, NULL, "", 0, &canon, &e), 0);
    vx_snprintf(expect, sizeof(expect),
                "GET\n%s\naccept:x\n\naccept\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                want);
    VX_CHECK_STR(canon.data, expect);
    vx_buf_release(&canon);
}

static void test_encoding(void)
{
    check_uri_query("/v2/charges", "", "/v2/charges\n");
    check_uri_query("/v2/charges/S02-1 2", NULL, "/v2/charges/S02-1%202\n");
    check_uri_query("/v2/charges/S02-1%202", NULL, "/v2/charges/S02-1%202\n");
    check_uri_query("/a~b*c", NULL, "/a~b%2Ac\n");
    check_uri_query("/", "b=2&a=1&a=0", "/\na=0&a=1&b=2");
    check_uri_query("/", "x=a+b&y=*~&z", "/\nx=a%2Bb&y=%2A~&z=");
    check_uri_query("/", "a=1&&b=%zz", "/\na=1&b=%25zz");
    check_uri_query("/", "k=%C3%A9&k2=\xc3\xa9", "/\nk=%C3%A9&k2=%C3%A9");
}

static void test_header_selection(void)
{
    static const struct vx_paysign_hdr h[] = {
        {"X-Amz-Pay-Region", "EU"},     {"Content-Type", "application/json"},
        {"user-agent", "sdk/1"},        {"x-amz-pay-date", "20180524T223710Z"},
        {"ACCEPT", "application/json"}, {"x-amz-pay-host", "  pay-api.amazon.eu\t"},
    };
    static const struct vx_paysign_hdr dup[] = {{"accept", "a"}, {"Accept", "b"}};
    struct vx_buf canon;
    struct vx_err e;

    /* a chosen list in any order and case selects exactly those headers */
    vx_buf_init(&canon);
    VX_CHECK_INT(vx_paysign_canonical("GET", "/", NULL, h, VX_ARRAY_LEN(h),
                                      "x-amz-pay-region;Accept;content-type;x-amz-pay-date;"
                                      "x-amz-pay-host",
                                      NULL, 0, &canon, &e),
                 0);
    VX_CHECK_STR(canon.data, vec_get_canonical);
    vx_buf_release(&canon);

    /* every header when no list is given, user-agent among them */
    VX_CHECK_INT(
        vx_paysign_canonical("GET", "/", NULL, h, VX_ARRAY_LEN(h), NULL, NULL, 0, &canon, &e), 0);
    VX_CHECK(strstr(canon.data, "\nuser-agent:sdk/1\n") != NULL);
    VX_CHECK(strstr(canon.data, "x-amz-pay-host;x-amz-pay-region;user-agent") == NULL);
    VX_CHECK(strstr(canon.data, "content-type;user-agent;x-amz-pay-date") != NULL);
    vx_buf_release(&canon);

    VX_CHECK_INT(vx_paysign_canonical("GET", "/", NULL, h, VX_ARRAY_LEN(h), "accept;x-amz-pay-foo",
                                      NULL, 0, &canon, &e),
                 VX_ENOTFOUND);
    VX_CHECK(strstr(e.msg, "'x-amz-pay-foo'") != NULL);
    vx_buf_release(&canon);
    VX_CHECK_INT(vx_paysign_canonical("GET", "/", NULL, h, VX_ARRAY_LEN(h), "accept;ACCEPT", NULL,
                                      0, &canon, &e),
                 VX_EINVAL);
    vx_buf_release(&canon);
    VX_CHECK_INT(vx_paysign_canonical("GET", "/", NULL, h, VX_ARRAY_LEN(h), "accept;;content-type",
                                      NULL, 0, &canon, &e),
                 VX_EINVAL);
    vx_buf_release(&canon);
    VX_CHECK_INT(vx_paysign_canonical("GET", "/", NULL, dup, 2, NULL, NULL, 0, &canon, &e),
                 VX_EINVAL);
    vx_buf_release(&canon);
}

/* A public-only copy of key, as the sandbox loads a registered public key. */
static EVP_PKEY *public_copy(EVP_PKEY *key)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    EVP_PKEY *pub;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return NULL;
    p = der;
    pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    return pub;
}

static EVP_PKEY *test_key, *test_pub, *other_key;

static void test_sign_verify(void)
{
    const char *sts = "AMZN-PAY-RSASSA-PSS-V2\n"
                      "bb49552975c396f1e49d5510e1555b8b0627dc491bc61aaefdb561f202ad8020";
    char *s2 = NULL, *s2b = NULL, *s1 = NULL;
    struct vx_err e;

    VX_CHECK_INT(vx_paysign_sign(test_key, VX_PAYSIGN_V2, sts, &s2, &e), 0);
    VX_CHECK_INT(vx_paysign_sign(test_key, VX_PAYSIGN_V2, sts, &s2b, &e), 0);
    VX_CHECK_INT(vx_paysign_sign(test_key, VX_PAYSIGN_V1, sts, &s1, &e), 0);
    if (!s2 || !s2b || !s1)
        goto out;
    VX_CHECK_INT(strlen(s2), 344);  /* 256 bytes of a 2048-bit key */
    VX_CHECK(strcmp(s2, s2b) != 0); /* PSS is randomised */
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V2, sts, s2), 0);
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V2, sts, s2b), 0);
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V1, sts, s1), 0);
    /* the salt length is part of the algorithm */
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V1, sts, s2), VX_EVERIFY);
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V2, sts, s1), VX_EVERIFY);
    /* a changed string, another key, a broken signature */
    VX_CHECK_INT(
        vx_paysign_verify(test_pub, VX_PAYSIGN_V2,
                          "AMZN-PAY-RSASSA-PSS-V2\n"
                          "cb49552975c396f1e49d5510e1555b8b0627dc491bc61aaefdb561f202ad8020",
                          s2),
        VX_EVERIFY);
    VX_CHECK_INT(vx_paysign_verify(other_key, VX_PAYSIGN_V2, sts, s2), VX_EVERIFY);
    s2[10] = s2[10] == 'A' ? 'B' : 'A';
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V2, sts, s2), VX_EVERIFY);
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V2, sts, "not base64!"), VX_EPARSE);
    VX_CHECK_INT(vx_paysign_verify(test_pub, VX_PAYSIGN_V2, sts, ""), VX_EPARSE);
    /* signing needs the private key */
    free(s2b);
    s2b = NULL;
    VX_CHECK_INT(vx_paysign_sign(test_pub, VX_PAYSIGN_V2, sts, &s2b, &e), VX_EINVAL);
    VX_CHECK(s2b == NULL);
out:
    free(s2);
    free(s2b);
    free(s1);
}

/* Parses value into *a and checks its four parts. */
static void check_auth(const char *value, struct vx_paysign_auth *a, enum vx_paysign_alg alg,
                       const char *key_id, const char *signed_headers, const char *sig)
{
    struct vx_err e;
    VX_CHECK_INT(vx_paysign_auth_parse(value, a, &e), 0);
    VX_CHECK_INT(a->alg, alg);
    VX_CHECK_STR(a->key_id, key_id);
    VX_CHECK_STR(a->signed_headers, signed_headers);
    VX_CHECK_STR(a->signature, sig);
}

static void test_auth_header(void)
{
    struct vx_paysign_auth a, b;
    struct vx_buf out;
    struct vx_err e;

    check_auth("AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=SANDBOX-AB12, "
               "SignedHeaders=accept;content-type, Signature=c2ln==",
               &a, VX_PAYSIGN_V2, "SANDBOX-AB12", "accept;content-type", "c2ln==");
    vx_buf_init(&out);
    VX_CHECK_INT(vx_paysign_auth_format(&a, &out), 0);
    VX_CHECK_STR(out.data, "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=SANDBOX-AB12, "
                           "SignedHeaders=accept;content-type, Signature=c2ln==");
    VX_CHECK_INT(vx_paysign_auth_parse(out.data, &b, &e), 0);
    VX_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    vx_buf_release(&out);

    /* the older algorithm, parts in another order, no spaces */
    check_auth("AMZN-PAY-RSASSA-PSS Signature=eA==,PublicKeyId=K1,SignedHeaders=accept", &a,
               VX_PAYSIGN_V1, "K1", "accept", "eA==");

    static const char *const bad[] = {
        "",
        "AMZN-PAY-RSASSA-PSS-V3 PublicKeyId=K, SignedHeaders=accept, Signature=eA==",
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=accept",
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=accept, Signature=",
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, PublicKeyId=L, SignedHeaders=a, Signature=eA==",
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=accept, Signature=eA==, Extra=1",
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders, Signature=eA==",
        "PublicKeyId=K, SignedHeaders=accept, Signature=eA==",
    };
    for (size_t i = 0; i < VX_ARRAY_LEN(bad); i++) {
        int rc = vx_paysign_auth_parse(bad[i], &a, &e);
        VX_CHECK_INT(rc, VX_EPARSE);
        if (rc != VX_EPARSE)
            fprintf(stderr, "  accepted: '%s'\n", bad[i]);
    }
    char big[1400];
    memset(big, 'k', sizeof(big));
    memcpy(big, "AMZN-PAY-RSASSA-PSS-V2 SignedHeaders=a, Signature=e, PublicKeyId=", 66);
    big[sizeof(big) - 1] = '\0';
    VX_CHECK_INT(vx_paysign_auth_parse(big, &a, &e), VX_EPARSE);
    VX_CHECK(strstr(e.msg, "PublicKeyId") != NULL);
}

/* authorize then check, as the client and the sandbox do. */
static void test_authorize_check(void)
{
    static const struct vx_paysign_hdr h[] = {
        {"accept", "application/json"},
        {"content-type", "application/json"},
        {"x-amz-pay-date", "20261201T120000Z"},
        {"x-amz-pay-host", "127.0.0.1"},
        {"x-amz-pay-region", "eu"},
        {"x-amz-pay-idempotency-key", "k-1"},
    };
    struct vx_paysign_hdr recv[VX_ARRAY_LEN(h) + 1];
    const char *body = "{\"chargeAmount\":{\"amount\":\"1.00\",\"currencyCode\":\"EUR\"}}";
    struct vx_paysign_auth a;
    struct vx_buf auth;
    struct vx_err e;

    for (int alg = VX_PAYSIGN_V2; alg <= VX_PAYSIGN_V1; alg++) {
        vx_buf_init(&auth);
        VX_CHECK_INT(vx_paysign_authorize(test_key, (enum vx_paysign_alg)alg, "SANDBOX-K", "POST",
                                          "/v2/charges", NULL, h, VX_ARRAY_LEN(h), body,
                                          strlen(body), &auth, &e),
                     0);
        VX_CHECK_INT(vx_paysign_auth_parse(auth.data ? auth.data : "", &a, &e), 0);
        vx_buf_release(&auth);
        VX_CHECK_INT(a.alg, alg);
        VX_CHECK_STR(a.signed_headers, "accept;content-type;x-amz-pay-date;x-amz-pay-host;"
                                       "x-amz-pay-idempotency-key;x-amz-pay-region");
        /* the server sees the headers in its order, with an unsigned one added */
        memcpy(recv, h, sizeof(h));
        recv[0] = h[5];
        recv[5] = h[0];
        recv[6] = (struct vx_paysign_hdr){"X-Forwarded-For", "10.0.0.1"};
        VX_CHECK_INT(vx_paysign_check(test_pub, &a, "POST", "/v2/charges", "", recv, 7, body,
                                      strlen(body), &e),
                     0);
        /* a body changed after signing */
        VX_CHECK_INT(vx_paysign_check(test_pub, &a, "POST", "/v2/charges", "", recv, 7,
                                      "{\"chargeAmount\":{\"amount\":\"9.00\"}}", 34, &e),
                     VX_EVERIFY);
        /* another path or method */
        VX_CHECK_INT(vx_paysign_check(test_pub, &a, "POST", "/v2/refunds", "", recv, 7, body,
                                      strlen(body), &e),
                     VX_EVERIFY);
        /* a signed header dropped on the way */
        VX_CHECK_INT(vx_paysign_check(test_pub, &a, "POST", "/v2/charges", "", recv + 1, 6, body,
                                      strlen(body), &e),
                     VX_ENOTFOUND);
        VX_CHECK(strstr(e.msg, "x-amz-pay-idempotency-key") != NULL);
        /* a signed header changed */
        recv[1].value = "20261201T120001Z";
        VX_CHECK_INT(vx_paysign_check(test_pub, &a, "POST", "/v2/charges", "", recv, 7, body,
                                      strlen(body), &e),
                     VX_EVERIFY);
    }

    /* a signature over fewer than the five required headers is refused before any crypto */
    vx_buf_init(&auth);
    VX_CHECK_INT(vx_paysign_authorize(test_key, VX_PAYSIGN_V2, "K", "GET", "/", NULL, h, 3, NULL, 0,
                                      &auth, &e),
                 0);
    VX_CHECK_INT(vx_paysign_auth_parse(auth.data ? auth.data : "", &a, &e), 0);
    vx_buf_release(&auth);
    VX_CHECK_INT(vx_paysign_check(test_pub, &a, "GET", "/", NULL, h, VX_ARRAY_LEN(h), NULL, 0, &e),
                 VX_EDENIED);
    VX_CHECK(strstr(e.msg, "'x-amz-pay-host'") != NULL);
}

static void test_date(void)
{
    char s[17];
    int64_t t = 0;
    VX_CHECK_INT(vx_paysign_date(1527201430, s), 0);
    VX_CHECK_STR(s, "20180524T223710Z");
    VX_CHECK_INT(vx_paysign_date_parse("20180524T223710Z", &t), 0);
    VX_CHECK_INT(t, 1527201430);
    VX_CHECK_INT(vx_paysign_date_parse("19700101T000000Z", &t), 0);
    VX_CHECK_INT(t, 0);
    VX_CHECK_INT(vx_paysign_date_parse("20240229T235959Z", &t), 0);
    VX_CHECK_INT(vx_paysign_date(t, s), 0);
    VX_CHECK_STR(s, "20240229T235959Z");
    for (int64_t x = 0; x < 4102444800; x += 86400 * 37 + 3671) {
        int64_t back = -1;
        vx_paysign_date(x, s);
        vx_paysign_date_parse(s, &back);
        if (back != x) {
            VX_CHECK_INT(back, x);
            break;
        }
    }
    static const char *const bad[] = {
        "20230229T000000Z", "20181324T223710Z",  "20180532T223710Z", "20180524T243710Z",
        "20180524T226010Z", "20180524T223760Z",  "20180524 223710Z", "20180524T223710",
        "2018-05-24T22:37", "20180524T223710Zx", "2018052AT223710Z", "",
    };
    for (size_t i = 0; i < VX_ARRAY_LEN(bad); i++)
        VX_CHECK_INT(vx_paysign_date_parse(bad[i], &t), VX_EPARSE);
}

int main(void)
{
    struct vx_err e;
    if (vx_pki_keygen(2048, &test_key, &e) != 0 || vx_pki_keygen(2048, &other_key, &e) != 0) {
        fprintf(stderr, "keygen: %s\n", e.msg);
        return 1;
    }
    test_pub = public_copy(test_key);
    VX_RUN(test_vectors);
    VX_RUN(test_encoding);
    VX_RUN(test_header_selection);
    VX_RUN(test_sign_verify);
    VX_RUN(test_auth_header);
    VX_RUN(test_authorize_check);
    VX_RUN(test_date);
    EVP_PKEY_free(test_key);
    EVP_PKEY_free(test_pub);
    EVP_PKEY_free(other_key);
    return VX_DONE();
}
