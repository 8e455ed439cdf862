/*
 * Configuration: defaults, the file, the environment, and errors that name the
 * field the user wrote.
 */
#include "voxcart/config.h"
#include "vxtest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/vx-config-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void expect_file_error(const char *text, const char *needle)
{
    struct vx_config c;
    struct vx_err e;
    vx_config_init(&c);
    vx_err_clear(&e);
    VX_CHECK_INT(vx_config_load_file(&c, write_file("bad.json", text), &e), VX_ECONFIG);
    if (!strstr(e.msg, needle)) {
        fprintf(stderr, "message '%s' does not name '%s'\n", e.msg, needle);
        VX_CHECK(0);
    }
}

static void test_defaults(void)
{
    struct vx_config c;
    struct vx_err e;
    vx_config_init(&c);
    VX_CHECK_STR(c.listen_address, "127.0.0.1");
    VX_CHECK_INT(c.listen_port, 8443);
    VX_CHECK_INT(c.timestamp_tolerance, 150);
    VX_CHECK_INT(c.development, 0);
    VX_CHECK(vx_config_is_loopback(&c));
    /* outside development mode a skill ID is required */
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "verify.skill_ids") != NULL);
    c.development = 1;
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
}

static void test_file(void)
{
    struct vx_config c;
    struct vx_err e;
    vx_config_init(&c);
    VX_CHECK_INT(
        vx_config_load_file(
            &c,
            write_file("ok.json", "{\"listen\":{\"address\":\"::1\",\"port\":9443},\"threads\":3,"
                                  "\"verify\":{\"skill_ids\":[\"a\",\"b\"],\"replay_guard\":true,"
                                  "\"cert_map\":{\"https://s3.amazonaws.com/echo.api/x.pem\":"
                                  "\"/tmp/x.pem\"},\"timestamp_tolerance\":60}}"),
            &e),
        0);
    VX_CHECK_STR(c.listen_address, "::1");
    VX_CHECK_INT(c.listen_port, 9443);
    VX_CHECK_INT(c.threads, 3);
    VX_CHECK_INT(c.skill_ids_len, 2);
    VX_CHECK(vx_config_skill_allowed(&c, "b"));
    VX_CHECK(!vx_config_skill_allowed(&c, "c"));
    VX_CHECK_INT(c.replay_guard, 1);
    VX_CHECK_INT(c.timestamp_tolerance, 60);
    VX_CHECK_INT(c.cert_map_len, 1);
    VX_CHECK_STR(c.cert_map[0].file, "/tmp/x.pem");
    VX_CHECK(vx_config_is_loopback(&c));
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
}

static void test_file_errors(void)
{
    expect_file_error("{\"listen\":{\"port\":0}}", "listen.port");
    expect_file_error("{\"listen\":{\"port\":\"80\"}}", "listen.port");
    expect_file_error("{\"listen\":{\"prot\":80}}", "listen.prot");
    expect_file_error("{\"bogus\":1}", "bogus");
    expect_file_error("{\"listen\":7}", "listen");
    expect_file_error("{\"verify\":{\"timestamp_tolerance\":151}}", "verify.timestamp_tolerance");
    expect_file_error("{\"verify\":{\"skill_ids\":[1]}}", "verify.skill_ids[0]");
    expect_file_error("{\"verify\":{\"development\":\"yes\"}}", "verify.development");
    expect_file_error("{\"verify\":{\"cert_map\":{\"u\":3}}}", "verify.cert_map");
    expect_file_error("{\"listen\":", "bad.json");
    expect_file_error("[]", "bad.json");
}

static void test_env(void)
{
    struct vx_config c;
    struct vx_err e;
    vx_config_init(&c);
    setenv("VOXCART_LISTEN_PORT", "7000", 1);
    setenv("VOXCART_SKILL_IDS", "x, y", 1);
    setenv("VOXCART_DEVELOPMENT", "true", 1);
    setenv("VOXCART_CERT_MAP", "https://s3.amazonaws.com/echo.api/a.pem=/a.pem", 1);
    VX_CHECK_INT(vx_config_load_env(&c, &e), 0);
    VX_CHECK_INT(c.listen_port, 7000);
    VX_CHECK_INT(c.skill_ids_len, 2);
    VX_CHECK_STR(c.skill_ids[1], "y");
    VX_CHECK_INT(c.development, 1);
    VX_CHECK_STR(c.cert_map[0].url, "https://s3.amazonaws.com/echo.api/a.pem");
    VX_CHECK_STR(c.cert_map[0].file, "/a.pem");
    setenv("VOXCART_LISTEN_PORT", "http", 1);
    VX_CHECK_INT(vx_config_load_env(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "VOXCART_LISTEN_PORT") != NULL);
    unsetenv("VOXCART_LISTEN_PORT");
    unsetenv("VOXCART_SKILL_IDS");
    unsetenv("VOXCART_DEVELOPMENT");
    unsetenv("VOXCART_CERT_MAP");
}

static void test_validate(void)
{
    struct vx_config c;
    struct vx_err e;
    vx_config_init(&c);
    c.development = 1;
    vx_strlcpy(c.listen_address, "0.0.0.0", sizeof(c.listen_address));
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    vx_strlcpy(c.tls_cert, "/c.pem", sizeof(c.tls_cert));
    vx_strlcpy(c.tls_key, "/k.pem", sizeof(c.tls_key));
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "verify.development") != NULL);
    c.development = 0;
    vx_strlcpy(c.skill_ids[0], "s", sizeof(c.skill_ids[0]));
    c.skill_ids_len = 1;
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
    c.tls_key[0] = '\0';
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "tls") != NULL);
    vx_strlcpy(c.listen_address, "not-an-ip", sizeof(c.listen_address));
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "listen.address") != NULL);
}

/* public_url and the secret of the page's tokens: both or neither, errors naming the field. */
static void test_public_url(void)
{
    struct vx_config c;
    struct vx_err e;
    static const char *const bad[] = {"shop.example.com", "https://",
                                      "https:///x",       "https://shop.example.com/?a=b",
                                      "https://a b",      "ftp://shop.example.com",
                                      "https://shop\"x"};
    vx_config_init(&c);
    c.development = 1;
    VX_CHECK_INT(
        vx_config_load_file(&c,
                            write_file("ok.json", "{\"public_url\": \"https://shop.example."
                                                  "com\", \"paypage\": {\"secret\": "
                                                  "\"/etc/voxcart/paypage.key\"}}"),
                            &e),
        0);
    VX_CHECK_STR(c.public_url, "https://shop.example.com");
    VX_CHECK_STR(c.paypage_secret, "/etc/voxcart/paypage.key");
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
    c.paypage_secret[0] = '\0';
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "paypage.secret: required with public_url") == e.msg);
    vx_strlcpy(c.paypage_secret, "/k", sizeof(c.paypage_secret));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vx_strlcpy(c.public_url, bad[i], sizeof(c.public_url));
        VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
        VX_CHECK(strstr(e.msg, "public_url: ") == e.msg);
    }
    vx_strlcpy(c.public_url, "http://127.0.0.1:8443/shop/", sizeof(c.public_url));
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
    c.public_url[0] = '\0'; /* without public_url the secret is not needed */
    c.paypage_secret[0] = '\0';
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
    setenv("VOXCART_PUBLIC_URL", "https://pay.example.com", 1);
    setenv("VOXCART_PAYPAGE_SECRET", "/s", 1);
    VX_CHECK_INT(vx_config_load_env(&c, &e), 0);
    VX_CHECK_STR(c.public_url, "https://pay.example.com");
    VX_CHECK_STR(c.paypage_secret, "/s");
    unsetenv("VOXCART_PUBLIC_URL");
    unsetenv("VOXCART_PAYPAGE_SECRET");
}

int main(void)
{
    if (!mkdtemp(dir))
        return 2;
    VX_RUN(test_defaults);
    VX_RUN(test_file);
    VX_RUN(test_file_errors);
    VX_RUN(test_env);
    VX_RUN(test_validate);
    VX_RUN(test_public_url);
    unlink(write_file("ok.json", ""));
    unlink(write_file("bad.json", ""));
    rmdir(dir);
    return VX_DONE();
}
