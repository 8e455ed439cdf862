/* The voice code's stored form: salted, slow, compared exactly; bad stored forms refused. */
#include "voxcart/vcode.h"
#include "vxtest.h"

#include <string.h>

static void test_valid(void)
{
    VX_CHECK(vx_vcode_valid("0000"));
    VX_CHECK(vx_vcode_valid("4821"));
    VX_CHECK(!vx_vcode_valid("482"));
    VX_CHECK(!vx_vcode_valid("48211"));
    VX_CHECK(!vx_vcode_valid("48a1"));
    VX_CHECK(!vx_vcode_valid(""));
    VX_CHECK(!vx_vcode_valid(NULL));
}

static void test_hash_check(void)
{
    struct vx_buf a, b;
    vx_buf_init(&a);
    vx_buf_init(&b);
    VX_CHECK_INT(vx_vcode_hash("4821", &a), 0);
    VX_CHECK_INT(vx_vcode_hash("4821", &b), 0);
    VX_CHECK(strstr(a.data, "\"alg\":\"pbkdf2-sha256\"") != NULL);
    VX_CHECK(strstr(a.data, "4821") == NULL); /* never the digits */
    VX_CHECK(strcmp(a.data, b.data) != 0);    /* a fresh salt each time */
    VX_CHECK_INT(vx_vcode_check("4821", a.data), 1);
    VX_CHECK_INT(vx_vcode_check("4821", b.data), 1);
    VX_CHECK_INT(vx_vcode_check("4822", a.data), 0);
    VX_CHECK_INT(vx_vcode_check("1284", a.data), 0);
    VX_CHECK_INT(vx_vcode_check("48", a.data), 0);
    VX_CHECK_INT(vx_vcode_hash("12a4", &a), VX_EINVAL);
    vx_buf_release(&a);
    vx_buf_release(&b);
}

static void test_known_vector(void)
{
    /* PBKDF2-HMAC-SHA256("1234", salt 00..0f, 20000) computed independently (Python hashlib) */
    const char *stored =
        "{\"alg\":\"pbkdf2-sha256\",\"iter\":20000,\"salt\":\"000102030405060708090a0b0c0d0e0f\","
        "\"hash\":\"dfada071ff247e6bec37736dbed1ba93a58af89aa081176a1a026cac038223be\"}";
    VX_CHECK_INT(vx_vcode_check("1234", stored), 1);
    VX_CHECK_INT(vx_vcode_check("1235", stored), 0);
}

static void test_bad_stored(void)
{
    VX_CHECK_INT(vx_vcode_check("1234", NULL), VX_EPARSE);
    VX_CHECK_INT(vx_vcode_check("1234", "{"), VX_EPARSE);
    VX_CHECK_INT(
        vx_vcode_check("1234", "{\"alg\":\"md5\",\"iter\":1,\"salt\":\"00\",\"hash\":\"00\"}"),
        VX_EPARSE);
    VX_CHECK_INT(vx_vcode_check("1234", "{\"alg\":\"pbkdf2-sha256\",\"iter\":10,"
                                        "\"salt\":\"000102030405060708090a0b0c0d0e0f\",\"hash\":"
                                        "\"00\"}"),
                 VX_EPARSE);
}

int main(void)
{
    VX_RUN(test_valid);
    VX_RUN(test_hash_check);
    VX_RUN(test_known_vector);
    VX_RUN(test_bad_stored);
    return VX_DONE();
}
