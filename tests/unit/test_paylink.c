/* The pay-link page's token: a known vector, the round trip, and every forgery refused. */
#include "voxcart/paylink.h"
#include "vxtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN (sizeof(secret) - 1)

/* Computed independently (Python: hmac, hashlib.sha256, base64.urlsafe_b64encode without '='). */
static const char vector[] =
    "YW16bjEuYXNrLnNraWxsLnRlc3QKYW16bjEuYXNrLmFjY291bnQuaGFuYQpvMjAyNjEyMDItMWEyYjNjNGQ1ZQ."
    "hjvmTRXldH9Yx19euWner2jZ6YmGZMaLEevgrBssSaY";

static int parse(const char *tok, struct vx_paylink *p)
{
    return vx_paylink_parse(secret, SECRET_LEN, tok, strlen(tok), p);
}

static void test_known_vector(void)
{
    struct vx_buf b;
    struct vx_paylink p;
    vx_buf_init(&b);
    VX_CHECK_INT(vx_paylink_token(secret, SECRET_LEN, "amzn1.ask.skill.test",
                                  "amzn1.ask.account.hana", "o20261202-1a2b3c4d5e", &b),
                 0);
    VX_CHECK_STR(b.data, vector);
    VX_CHECK_INT(parse(vector, &p), 0);
    VX_CHECK_STR(p.skill, "amzn1.ask.skill.test");
    VX_CHECK_STR(p.user, "amzn1.ask.account.hana");
    VX_CHECK_STR(p.order, "o20261202-1a2b3c4d5e");
    vx_buf_release(&b);
}

static void test_url(void)
{
    struct vx_buf a, b;
    vx_buf_init(&a);
    vx_buf_init(&b);
    VX_CHECK_INT(vx_paylink_url("https://shop.example.com", secret, SECRET_LEN,
                                "amzn1.ask.skill.test", "amzn1.ask.account.hana",
                                "o20261202-1a2b3c4d5e", &a),
                 0);
    VX_CHECK_INT(vx_paylink_url("https://shop.example.com/", secret, SECRET_LEN,
                                "amzn1.ask.skill.test", "amzn1.ask.account.hana",
                                "o20261202-1a2b3c4d5e", &b),
                 0);
    VX_CHECK(strncmp(a.data, "https://shop.example.com/pay/", 29) == 0);
    VX_CHECK_STR(a.data + 29, vector);
    VX_CHECK_STR(b.data, a.data);
    VX_CHECK_INT(vx_paylink_url("", secret, SECRET_LEN, "s", "u", "o", &a), VX_EINVAL);
    vx_buf_release(&a);
    vx_buf_release(&b);
}

static void test_bad_parts(void)
{
    struct vx_buf b;
    char long_part[VX_PAYLINK_PART_MAX + 2];
    memset(long_part, 'x', sizeof(long_part) - 1);
    long_part[sizeof(long_part) - 1] = '\0';
    vx_buf_init(&b);
    VX_CHECK_INT(vx_paylink_token(secret, SECRET_LEN, "", "u", "o", &b), VX_EINVAL);
    VX_CHECK_INT(vx_paylink_token(secret, SECRET_LEN, "s", "u\nx", "o", &b), VX_EINVAL);
    VX_CHECK_INT(vx_paylink_token(secret, SECRET_LEN, "s", "u", long_part, &b), VX_EINVAL);
    long_part[VX_PAYLINK_PART_MAX] = '\0'; /* exactly the most a part may be */
    VX_CHECK_INT(vx_paylink_token(secret, SECRET_LEN, long_part, long_part, long_part, &b), 0);
    {
        struct vx_paylink p;
        VX_CHECK_INT(vx_paylink_parse(secret, SECRET_LEN, b.data, b.len, &p), 0);
        VX_CHECK_STR(p.order, long_part);
    }
    vx_buf_release(&b);
}

/* Every single-character change of the vector is refused: the text, the dot, the MAC, also
 * the MAC's last character whose two low bits carry nothing. */
static void test_every_byte_changed(void)
{
    char tok[sizeof(vector)];
    struct vx_paylink p;
    size_t refused = 0;
    for (size_t i = 0; i < sizeof(vector) - 1; i++) {
        memcpy(tok, vector, sizeof(vector));
        tok[i] = tok[i] == 'A' ? 'B' : (char)(tok[i] == 'Y' ? 'Z' : 'A');
        if (tok[i] == vector[i])
            tok[i] = 'C';
        refused += parse(tok, &p) == VX_EVERIFY;
        VX_CHECK(p.skill[0] == '\0' && p.order[0] == '\0');
    }
    VX_CHECK_INT(refused, sizeof(vector) - 1);
}

static void test_shapes_refused(void)
{
    struct vx_paylink p;
    char tok[sizeof(vector) + 8];
    const char *dot = strchr(vector, '.');
    size_t head = (size_t)(dot - vector);
    const unsigned char other[] = "another secret of thirty-two bytes!";

    VX_CHECK_INT(parse("", &p), VX_EVERIFY);
    VX_CHECK_INT(parse(".", &p), VX_EVERIFY);
    VX_CHECK_INT(parse("abc", &p), VX_EVERIFY);
    VX_CHECK_INT(vx_paylink_parse(secret, SECRET_LEN, NULL, 0, &p), VX_EVERIFY);
    /* another key's token */
    VX_CHECK_INT(vx_paylink_parse(other, sizeof(other) - 1, vector, strlen(vector), &p),
                 VX_EVERIFY);
    /* padding, a standard-alphabet spelling, a truncated or a lengthened MAC */
    snprintf(tok, sizeof(tok), "%s=", vector);
    VX_CHECK_INT(parse(tok, &p), VX_EVERIFY);
    snprintf(tok, sizeof(tok), "%.*s=.%s", (int)head, vector, dot + 1);
    VX_CHECK_INT(parse(tok, &p), VX_EVERIFY);
    snprintf(tok, sizeof(tok), "%.*s", (int)strlen(vector) - 1, vector);
    VX_CHECK_INT(parse(tok, &p), VX_EVERIFY);
    /* the length given is what counts, not a NUL further on */
    VX_CHECK_INT(vx_paylink_parse(secret, SECRET_LEN, vector, strlen(vector) - 1, &p), VX_EVERIFY);
    VX_CHECK_INT(vx_paylink_parse(secret, SECRET_LEN, vector, strlen(vector), &p), 0);
}

/* A text that is not three parts is refused even under a valid MAC (a token made by hand). */
static void test_text_shape(void)
{
    /* base64url of "s\nu", "s\nu\no\nx" and "s\n\no" with their MACs under secret (Python) */
    struct vx_paylink p;
    VX_CHECK_INT(parse("cwp1.xVOp0r3mjfQSdfxGmW6b01FjXAeR9kIzTQSTxtEFjU0", &p), VX_EVERIFY);
    VX_CHECK_INT(parse("cwp1Cm8KeA.TT7tEXQ67WsrRLiUfNrn16JWqTTmmzXEI64gq89HxO4", &p), VX_EVERIFY);
    VX_CHECK_INT(parse("cwoKbw.nlym5twKM-OphjaaZkNNRZbvKLzovTDJJ9Hg-E4Ofy4", &p), VX_EVERIFY);
}

static void test_secret_file(void)
{
    char path[] = "/tmp/vx-paylink-XXXXXX";
    int fd = mkstemp(path);
    unsigned char *key = NULL;
    size_t len = 0;
    struct vx_err e;
    VX_CHECK(fd >= 0);
    if (fd < 0)
        return;
    VX_CHECK(write(fd, "short\n", 6) == 6);
    VX_CHECK_INT(vx_paylink_secret_load(path, &key, &len, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "paypage.secret: ") == e.msg);
    VX_CHECK(strstr(e.msg, "too short") != NULL);
    VX_CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    VX_CHECK(write(fd, secret, SECRET_LEN) == (ssize_t)SECRET_LEN && write(fd, "\n", 1) == 1);
    VX_CHECK_INT(vx_paylink_secret_load(path, &key, &len, &e), 0);
    VX_CHECK_INT(len, SECRET_LEN);
    VX_CHECK(key && memcmp(key, secret, SECRET_LEN) == 0);
    free(key);
    close(fd);
    unlink(path);
    VX_CHECK_INT(vx_paylink_secret_load(path, &key, &len, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "paypage.secret: ") == e.msg);
}

int main(void)
{
    VX_RUN(test_known_vector);
    VX_RUN(test_url);
    VX_RUN(test_bad_parts);
    VX_RUN(test_every_byte_changed);
    VX_RUN(test_shapes_refused);
    VX_RUN(test_text_shape);
    VX_RUN(test_secret_file);
    return VX_DONE();
}
