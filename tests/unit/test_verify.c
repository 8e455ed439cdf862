/*
 * Tests of the pure request checks in verify.c: every certificate URL of the
 * alexa.md table with its exact reason, the edge cases decided in verify.c's
 * DESIGN section, RFC 3986 dot-segment removal, timestamps, the skill-event
 * helper, base64, and Signature-256 with a key made at test time.
 */
#include "voxcart/verify.h"
#include "vxtest.h"

#include <stdlib.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

struct url_case {
    const char *url;
    enum vx_verify_reason want;
    const char *canon; /* expected canonical form when want is OK */
};

static void check_urls(const struct url_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char canon[256] = "";
        enum vx_verify_reason got = vx_cert_url_check(cases[i].url, canon, sizeof(canon));
        vxt_checks++;
        if (got != cases[i].want) {
            vxt_failed++;
            fprintf(stderr, "url '%s': got %s, want %s\n", cases[i].url ? cases[i].url : "(null)",
                    vx_verify_reason_name(got), vx_verify_reason_name(cases[i].want));
        }
        if (cases[i].want == VX_VR_OK && got == VX_VR_OK)
            VX_CHECK_STR(canon, cases[i].canon);
    }
}

#define CANON "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"

/* The table of alexa.md section 1, row by row. */
static void test_url_table(void)
{
    static const struct url_case cases[] = {
        {"https://s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"https://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"http://s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_SCHEME, NULL},
        {"https://notamazon.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/invalid.path/echo-api-cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PORT, NULL},
        {"https://s3.amazonaws.com/echo.api/../invalid.path/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api/../cert.pem", VX_VR_CERT_URL_PATH, NULL},
    };
    check_urls(cases, VX_ARRAY_LEN(cases));
}

/* The disputed cases, with the decisions documented at the top of verify.c. */
static void test_url_edge_cases(void)
{
    static const struct url_case cases[] = {
        {NULL, VX_VR_MISSING_CERT_URL, NULL},
        {"", VX_VR_MISSING_CERT_URL, NULL},
        /* empty segments */
        {"https://s3.amazonaws.com//echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api//echo-api-cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/x/..//echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PATH, NULL},
        /* ports */
        {"https://s3.amazonaws.com:0443/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PORT, NULL},
        {"https://s3.amazonaws.com:/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PORT, NULL},
        {"https://s3.amazonaws.com:80/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PORT, NULL},
        {"https://s3.amazonaws.com:4430/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_PORT, NULL},
        {"https://s3.amazonaws.com:443:443/echo.api/x.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com:44a/echo.api/x.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com:-443/echo.api/x.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        /* user-info, in both directions */
        {"https://x@s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com@evil.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED,
         NULL},
        {"https://u:p@s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        /* percent-encoding anywhere in the path */
        {"https://s3.amazonaws.com/echo.api/%2e%2e/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api/%2E%2E/%2E%2E/x/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api/echo-api-cert%2Epem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api%2fx/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/%65cho.api/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        /* hosts */
        {"https://s3.amazonaws.com./echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://s3.amazonaws.com.:443/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://s3%2eamazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://evil.s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://s3.amazonaws.com.evil.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://[::1]/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://[::1]:443/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://52.216.0.1/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https:///echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        {"https://:443/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_HOST, NULL},
        /* query strings and fragments */
        {"https://s3.amazonaws.com/echo.api/echo-api-cert.pem?x=1", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/echo-api-cert.pem?", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/echo-api-cert.pem#frag", VX_VR_CERT_URL_MALFORMED,
         NULL},
        {"https://evil.com#@s3.amazonaws.com/echo.api/cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://evil.com?@s3.amazonaws.com/echo.api/cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        /* backslashes */
        {"https://s3.amazonaws.com\\echo.api\\echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api\\..\\x/cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://evil.com\\@s3.amazonaws.com/echo.api/cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        /* control characters, spaces, non-ASCII */
        {"https://s3.amazonaws.com/echo.api/echo-api-cert.pem\n", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/echo api.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {" https://s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/\techo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/\x7f.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/caf\xc3\xa9.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/<x>.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https://s3.amazonaws.com/echo.api/{x}.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        /* structure */
        {"s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"//s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https:/s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"https:s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_MALFORMED, NULL},
        {"ftp://s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_SCHEME, NULL},
        {"httpss://s3.amazonaws.com/echo.api/echo-api-cert.pem", VX_VR_CERT_URL_SCHEME, NULL},
        {"http://notamazon.com:563/x", VX_VR_CERT_URL_SCHEME, NULL},
        {"https://s3.amazonaws.com", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com:443", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.api/..", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/echo.apix/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        {"https://s3.amazonaws.com/x/echo.api/cert.pem", VX_VR_CERT_URL_PATH, NULL},
        /* accepted forms and their canonical spelling */
        {"https://s3.amazonaws.com/echo.api/", VX_VR_OK, "https://s3.amazonaws.com/echo.api/"},
        {"https://s3.amazonaws.com/echo.api/.", VX_VR_OK, "https://s3.amazonaws.com/echo.api/"},
        {"https://s3.amazonaws.com/echo.api/./echo-api-cert.pem", VX_VR_OK, CANON},
        {"https://s3.amazonaws.com/../echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"https://s3.amazonaws.com/x/y/../../echo.api/echo-api-cert.pem", VX_VR_OK, CANON},
        {"HtTpS://S3.AmazonAws.Com:443/echo.api/a/../echo-api-cert.pem", VX_VR_OK, CANON},
        {"https://s3.amazonaws.com/echo.api/Echo-API-Cert-12.pem", VX_VR_OK,
         "https://s3.amazonaws.com/echo.api/Echo-API-Cert-12.pem"},
    };
    check_urls(cases, VX_ARRAY_LEN(cases));
}

static void test_url_canon_buffer(void)
{
    char small[16];
    char exact[sizeof(CANON)];
    char long_url[1100];

    /* Over-long URLs are refused before they are parsed. */
    memcpy(long_url, CANON, sizeof(CANON) - 1);
    memset(long_url + sizeof(CANON) - 1, 'a', sizeof(long_url) - sizeof(CANON));
    long_url[sizeof(long_url) - 1] = '\0';
    VX_CHECK_INT(vx_cert_url_check(long_url, NULL, 0), VX_VR_CERT_URL_MALFORMED);
    VX_CHECK_INT(vx_cert_url_check(CANON, NULL, 0), VX_VR_OK);
    VX_CHECK_INT(vx_cert_url_check(CANON, small, sizeof(small)), VX_VR_CERT_URL_MALFORMED);
    VX_CHECK_INT(vx_cert_url_check(CANON, exact, sizeof(exact)), VX_VR_OK);
    VX_CHECK_STR(exact, CANON);
    /* A canonical URL is its own canonical form: the cache key is stable. */
    VX_CHECK_INT(vx_cert_url_check(exact, exact, sizeof(exact)), VX_VR_OK);
    VX_CHECK_STR(exact, CANON);
}

static void check_dots(const char *in, const char *want)
{
    char out[128];
    int rc = vx_path_remove_dot_segments(in, out, sizeof(out));
    VX_CHECK_INT(rc, 0);
    if (rc == 0 && strcmp(out, want) != 0) {
        vxt_failed++;
        fprintf(stderr, "remove_dot_segments('%s') = '%s', want '%s'\n", in, out, want);
    }
    vxt_checks++;
}

/* The examples of RFC 3986 sections 5.2.4 and 5.4 (paths after merging with /b/c/d;p). */
static void test_dot_segments(void)
{
    char out[8];

    check_dots("/a/b/c/./../../g", "/a/g");
    check_dots("mid/content=5/../6", "mid/6");
    check_dots("/b/c/g", "/b/c/g");
    check_dots("/b/c/./g", "/b/c/g");
    check_dots("/b/c/g/", "/b/c/g/");
    check_dots("/b/c/.", "/b/c/");
    check_dots("/b/c/./", "/b/c/");
    check_dots("/b/c/..", "/b/");
    check_dots("/b/c/../", "/b/");
    check_dots("/b/c/../g", "/b/g");
    check_dots("/b/c/../..", "/");
    check_dots("/b/c/../../", "/");
    check_dots("/b/c/../../g", "/g");
    check_dots("/b/c/../../../g", "/g");
    check_dots("/b/c/../../../../g", "/g");
    check_dots("/./g", "/g");
    check_dots("/../g", "/g");
    check_dots("/b/c/g.", "/b/c/g.");
    check_dots("/b/c/.g", "/b/c/.g");
    check_dots("/b/c/g..", "/b/c/g..");
    check_dots("/b/c/..g", "/b/c/..g");
    check_dots("/b/c/./../g", "/b/g");
    check_dots("/b/c/./g/.", "/b/c/g/");
    check_dots("/b/c/g/./h", "/b/c/g/h");
    check_dots("/b/c/g/../h", "/b/c/h");
    check_dots("/b/c/g;x=1/./y", "/b/c/g;x=1/y");
    check_dots("/b/c/g;x=1/../y", "/b/c/y");
    check_dots("", "");
    check_dots(".", "");
    check_dots("..", "");
    check_dots("../a", "a");
    check_dots("./a", "a");
    check_dots("/", "/");
    check_dots("/...", "/...");
    check_dots("a/../../b", "/b");
    VX_CHECK_INT(vx_path_remove_dot_segments("/abcdefgh", out, sizeof(out)), VX_ERANGE);
    VX_CHECK_INT(vx_path_remove_dot_segments("/a/../bcdefgh", out, sizeof(out)), VX_ERANGE);
    VX_CHECK_INT(vx_path_remove_dot_segments("/abcdef", out, sizeof(out)), 0);
    VX_CHECK_STR(out, "/abcdef");
    VX_CHECK_INT(vx_path_remove_dot_segments("/a", out, 0), VX_EINVAL);
    VX_CHECK_INT(vx_path_remove_dot_segments(NULL, out, sizeof(out)), VX_EINVAL);
}

static void test_reason_names(void)
{
    VX_CHECK_STR(vx_verify_reason_name(VX_VR_OK), "ok");
    VX_CHECK_STR(vx_verify_reason_name(VX_VR_CERT_URL_PORT), "cert_url_port");
    VX_CHECK_STR(vx_verify_reason_name(VX_VR_REPLAY), "replay");
    VX_CHECK_STR(vx_verify_reason_text(VX_VR_TIMESTAMP_FUTURE),
                 "the request timestamp is in the future");
    VX_CHECK_STR(vx_verify_reason_name(VX_VR__COUNT), "unknown");
    VX_CHECK_STR(vx_verify_reason_name((enum vx_verify_reason) - 1), "unknown");
    for (int r = 0; r < VX_VR__COUNT; r++) {
        VX_CHECK(strcmp(vx_verify_reason_name((enum vx_verify_reason)r), "unknown") != 0);
        VX_CHECK(vx_verify_reason_text((enum vx_verify_reason)r)[0] != '\0');
    }
}

static void check_ts(const char *s, int64_t want)
{
    int64_t got = -1;
    int rc = vx_timestamp_parse(s, &got);
    vxt_checks++;
    if (rc != 0 || got != want) {
        vxt_failed++;
        fprintf(stderr, "timestamp '%s': rc %d, got %lld, want %lld\n", s, rc, (long long)got,
                (long long)want);
    }
}

static void check_ts_bad(const char *s)
{
    int64_t got = 0;
    int rc = vx_timestamp_parse(s, &got);
    vxt_checks++;
    if (rc != VX_EPARSE) {
        vxt_failed++;
        fprintf(stderr, "timestamp '%s' accepted (rc %d, %lld)\n", s ? s : "(null)", rc,
                (long long)got);
    }
}

static void test_timestamp_parse(void)
{
    /* 2026-11-24T06:44:17Z, checked with `date -u -d ... +%s`. */
    const int64_t t = 1795502657;

    check_ts("2026-11-24T06:44:17Z", t);
    check_ts("2026-11-24T06:44:17.5Z", t);
    check_ts("2026-11-24T06:44:17.123Z", t);
    check_ts("2026-11-24T06:44:17.123456789Z", t);
    check_ts("2026-11-24T06:44:17+00:00", t);
    check_ts("2026-11-24T06:44:17-00:00", t);
    check_ts("2026-11-24T01:44:17-05:00", t);
    check_ts("2026-11-24T12:14:17+05:30", t);
    check_ts("2026-11-23T23:44:17.250-07:00", t);
    check_ts("1970-01-01T00:00:00Z", 0);
    check_ts("2024-02-29T00:00:00Z", 1709164800);
    check_ts("2000-02-29T12:00:00Z", 951825600);
    check_ts("2026-12-31T23:59:59Z", 1798761599);

    check_ts_bad(NULL);
    check_ts_bad("");
    check_ts_bad("garbage");
    check_ts_bad("1795502657");
    check_ts_bad("1795502657000");
    check_ts_bad("2026-13-01T00:00:00Z");
    check_ts_bad("2026-00-01T00:00:00Z");
    check_ts_bad("2026-11-00T00:00:00Z");
    check_ts_bad("2026-11-31T00:00:00Z");
    check_ts_bad("2025-02-29T00:00:00Z");
    check_ts_bad("1900-02-29T00:00:00Z");
    check_ts_bad("2026-11-24T24:00:00Z");
    check_ts_bad("2026-11-24T06:60:00Z");
    check_ts_bad("2026-11-24T06:44:60Z");
    check_ts_bad("2026-11-24T06:44:17");      /* no offset: local time of nowhere */
    check_ts_bad("2026-11-24T06:44:17Zjunk"); /* trailing junk */
    check_ts_bad("2026-11-24T06:44:17Z ");
    check_ts_bad(" 2026-11-24T06:44:17Z");
    check_ts_bad("2026-11-24T06:44:17+00:00Z");
    check_ts_bad("2026-11-24t06:44:17Z");
    check_ts_bad("2026-11-24T06:44:17z");
    check_ts_bad("2026-11-24 06:44:17Z");
    check_ts_bad("2026-11-24T06:44Z");
    check_ts_bad("2026-11-24");
    check_ts_bad("26-11-24T06:44:17Z");
    check_ts_bad("2026-1-24T06:44:17Z");
    check_ts_bad("2026-11-24T6:44:17Z");
    check_ts_bad("2026-11-24T06:44:17.Z");
    check_ts_bad("2026-11-24T06:44:17.1234567890Z");
    check_ts_bad("2026-11-24T06:44:17,5Z");
    check_ts_bad("2026-11-24T06:44:17+0000");
    check_ts_bad("2026-11-24T06:44:17+00");
    check_ts_bad("2026-11-24T06:44:17+24:00");
    check_ts_bad("2026-11-24T06:44:17+05:60");
    check_ts_bad("+2026-11-24T06:44:17Z");
    check_ts_bad("0000-01-01T00:00:00Z");
    VX_CHECK_INT(vx_timestamp_parse("2026-11-24T06:44:17Z", NULL), VX_EPARSE);
}

static void test_timestamp_check(void)
{
    const int64_t now = 1795502657;

    VX_CHECK_INT(vx_timestamp_check(now, now, VX_TS_TOLERANCE), VX_VR_OK);
    VX_CHECK_INT(vx_timestamp_check(now - 150, now, VX_TS_TOLERANCE), VX_VR_OK);
    VX_CHECK_INT(vx_timestamp_check(now + 150, now, VX_TS_TOLERANCE), VX_VR_OK);
    VX_CHECK_INT(vx_timestamp_check(now - 151, now, VX_TS_TOLERANCE), VX_VR_TIMESTAMP_STALE);
    VX_CHECK_INT(vx_timestamp_check(now + 151, now, VX_TS_TOLERANCE), VX_VR_TIMESTAMP_FUTURE);
    VX_CHECK_INT(vx_timestamp_check(now - 3600, now, VX_TS_TOLERANCE_SKILL_EVENT), VX_VR_OK);
    VX_CHECK_INT(vx_timestamp_check(now + 3600, now, VX_TS_TOLERANCE_SKILL_EVENT), VX_VR_OK);
    VX_CHECK_INT(vx_timestamp_check(now - 3601, now, VX_TS_TOLERANCE_SKILL_EVENT),
                 VX_VR_TIMESTAMP_STALE);
    VX_CHECK_INT(vx_timestamp_check(now + 3601, now, VX_TS_TOLERANCE_SKILL_EVENT),
                 VX_VR_TIMESTAMP_FUTURE);
    VX_CHECK_INT(vx_timestamp_check(now, now, 0), VX_VR_OK);
    VX_CHECK_INT(vx_timestamp_check(now + 1, now, 0), VX_VR_TIMESTAMP_FUTURE);
    VX_CHECK_INT(vx_timestamp_check(now - 1, now, -5), VX_VR_TIMESTAMP_STALE);
    /* Extreme values must not wrap around into the window. */
    VX_CHECK_INT(vx_timestamp_check(INT64_MAX, INT64_MIN, VX_TS_TOLERANCE), VX_VR_TIMESTAMP_FUTURE);
    VX_CHECK_INT(vx_timestamp_check(INT64_MIN, INT64_MAX, VX_TS_TOLERANCE), VX_VR_TIMESTAMP_STALE);
    VX_CHECK_INT(vx_timestamp_check(0, now, VX_TS_TOLERANCE), VX_VR_TIMESTAMP_STALE);
}

static void test_skill_event(void)
{
    VX_CHECK(vx_is_skill_event("AlexaSkillEvent.SkillEnabled"));
    VX_CHECK(vx_is_skill_event("AlexaSkillEvent.SkillDisabled"));
    VX_CHECK(vx_is_skill_event("AlexaSkillEvent.SkillPermissionChanged"));
    VX_CHECK(vx_is_skill_event("AlexaSkillEvent.SkillPermissionAccepted"));
    VX_CHECK(vx_is_skill_event("AlexaSkillEvent.SkillAccountLinked"));
    VX_CHECK(!vx_is_skill_event("AlexaSkillEvent.SkillAccountUnlinked"));
    VX_CHECK(!vx_is_skill_event("alexaskillevent.skillenabled"));
    VX_CHECK(!vx_is_skill_event("AlexaSkillEvent.SkillEnabled "));
    VX_CHECK(!vx_is_skill_event("AlexaSkillEvent."));
    VX_CHECK(!vx_is_skill_event("IntentRequest"));
    VX_CHECK(!vx_is_skill_event("LaunchRequest"));
    VX_CHECK(!vx_is_skill_event(""));
    VX_CHECK(!vx_is_skill_event(NULL));
}

static void check_b64(const char *plain, const char *encoded)
{
    char *enc = NULL;
    unsigned char *dec = NULL;
    size_t declen = 0;
    size_t n = strlen(plain);

    VX_CHECK_INT(vx_base64_encode((const unsigned char *)plain, n, &enc), 0);
    VX_CHECK_STR(enc, encoded);
    VX_CHECK_INT(vx_base64_decode(encoded, &dec, &declen), 0);
    VX_CHECK_INT(declen, n);
    VX_CHECK(dec && memcmp(dec, plain, n) == 0);
    free(enc);
    free(dec);
}

static void check_b64_bad(const char *s)
{
    unsigned char *dec = (unsigned char *)"untouched";
    size_t declen = 99;
    int rc = vx_base64_decode(s, &dec, &declen);
    vxt_checks++;
    if (rc != VX_EPARSE) {
        vxt_failed++;
        fprintf(stderr, "base64 '%s' accepted (rc %d)\n", s, rc);
        if (rc == 0)
            free(dec);
    }
}

static void test_base64(void)
{
    unsigned char bin[256], *dec = NULL;
    char *enc = NULL;
    size_t declen = 0;

    /* RFC 4648 section 10 test vectors. */
    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");

    /* Every byte value, including the ones that encode to '+' and '/'. */
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(255 - i);
    for (size_t n = 250; n <= 256; n++) {
        VX_CHECK_INT(vx_base64_encode(bin, n, &enc), 0);
        VX_CHECK_INT(vx_base64_decode(enc, &dec, &declen), 0);
        VX_CHECK_INT(declen, n);
        VX_CHECK(dec && memcmp(dec, bin, n) == 0);
        free(enc);
        free(dec);
        enc = NULL;
        dec = NULL;
    }

    check_b64_bad("Zg=");      /* wrong length */
    check_b64_bad("Zg");       /* padding required */
    check_b64_bad("Zm9vY");    /* wrong length */
    check_b64_bad("Z===");     /* too much padding */
    check_b64_bad("====");     /* nothing but padding */
    check_b64_bad("Zg==Zm8="); /* padding in the middle */
    check_b64_bad("Zm=v");     /* padding inside a group */
    check_b64_bad("Zm9v\n");   /* whitespace */
    check_b64_bad("Zm9 v");    /* whitespace */
    check_b64_bad(" Zm9v");    /* whitespace */
    check_b64_bad("Zm9v\r\nZm9v");
    check_b64_bad("Zm9-"); /* URL-safe alphabet */
    check_b64_bad("Zm9_"); /* URL-safe alphabet */
    check_b64_bad("Zm9*"); /* not base64 at all */
    check_b64_bad("Zh=="); /* non-zero unused bits: a second spelling of "f" */
    check_b64_bad("Zm9="); /* non-zero unused bits: a second spelling of "fo" */
    VX_CHECK_INT(vx_base64_decode(NULL, &dec, &declen), VX_EINVAL);
    VX_CHECK_INT(vx_base64_encode(NULL, 3, &enc), VX_EINVAL);
}

static EVP_PKEY *make_rsa(int bits)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1)
        EVP_PKEY_keygen(ctx, &k);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* Signs with OpenSSL directly so this test does not depend on pki.c. */
static char *sign_b64(EVP_PKEY *key, const char *md, const void *body, size_t len)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    char *b64 = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, body, len) == 1)
        vx_base64_encode(sig, siglen, &b64);
    EVP_MD_CTX_free(ctx);
    return b64;
}

static void test_signature(void)
{
    static const char body[] = "{\"version\":\"1.0\",\"request\":{\"type\":\"LaunchRequest\"}}";
    static const char tampered[] = "{\"version\":\"1.0\",\"request\":{\"type\":\"LaunchRequesT\"}}";
    EVP_PKEY *key = make_rsa(2048), *other = make_rsa(2048);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    char *sig = NULL, *sig1 = NULL, *bad = NULL, *empty = NULL;
    size_t len = sizeof(body) - 1;

    VX_CHECK(key && other && ec);
    if (!key || !other || !ec)
        goto out;
    sig = sign_b64(key, "SHA256", body, len);
    sig1 = sign_b64(key, "SHA1", body, len);
    empty = sign_b64(key, "SHA256", "", 0);
    VX_CHECK(sig && sig1 && empty);
    if (!sig || !sig1 || !empty)
        goto out;
    VX_CHECK_INT(vx_signature_check(key, sig, body, len), VX_VR_OK);
    VX_CHECK_INT(vx_signature_check(key, sig, tampered, len), VX_VR_SIGNATURE_MISMATCH);
    VX_CHECK_INT(vx_signature_check(key, sig, body, len - 1), VX_VR_SIGNATURE_MISMATCH);
    VX_CHECK_INT(vx_signature_check(other, sig, body, len), VX_VR_SIGNATURE_MISMATCH);
    /* the per-thread context survives failures and key changes */
    VX_CHECK_INT(vx_signature_check(key, sig, body, len), VX_VR_OK);
    VX_CHECK_INT(vx_signature_check(key, sig, tampered, len), VX_VR_SIGNATURE_MISMATCH);
    VX_CHECK_INT(vx_signature_check(key, sig, body, len), VX_VR_OK);
    VX_CHECK_INT(vx_signature_check(ec, sig, body, len), VX_VR_SIGNATURE_MISMATCH);
    VX_CHECK_INT(vx_signature_check(NULL, sig, body, len), VX_VR_SIGNATURE_MISMATCH);
    /* A SHA-1 signature (the legacy Signature header) is not a Signature-256. */
    VX_CHECK_INT(vx_signature_check(key, sig1, body, len), VX_VR_SIGNATURE_MISMATCH);
    VX_CHECK_INT(vx_signature_check(key, empty, "", 0), VX_VR_OK);
    VX_CHECK_INT(vx_signature_check(key, empty, NULL, 0), VX_VR_OK);

    VX_CHECK_INT(vx_signature_check(key, NULL, body, len), VX_VR_MISSING_SIGNATURE);
    VX_CHECK_INT(vx_signature_check(key, "", body, len), VX_VR_SIGNATURE_ENCODING);
    VX_CHECK_INT(vx_signature_check(key, "not base64!", body, len), VX_VR_SIGNATURE_ENCODING);
    bad = malloc(strlen(sig) + 2);
    if (bad) {
        /* The same signature with a line break, as some proxies fold long headers. */
        size_t half = strlen(sig) / 2;
        memcpy(bad, sig, half);
        bad[half] = '\n';
        memcpy(bad + half + 1, sig + half, strlen(sig + half) + 1);
        VX_CHECK_INT(vx_signature_check(key, bad, body, len), VX_VR_SIGNATURE_ENCODING);
        /* One flipped character: still base64, no longer the signature. */
        memcpy(bad, sig, strlen(sig) + 1);
        bad[10] = bad[10] == 'A' ? 'B' : 'A';
        VX_CHECK_INT(vx_signature_check(key, bad, body, len), VX_VR_SIGNATURE_MISMATCH);
        /* Truncated to a shorter valid base64 string. */
        bad[8] = '\0';
        VX_CHECK_INT(vx_signature_check(key, bad, body, len), VX_VR_SIGNATURE_MISMATCH);
    }
out:
    free(bad);
    free(empty);
    free(sig1);
    free(sig);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
}

int main(void)
{
    VX_RUN(test_url_table);
    VX_RUN(test_url_edge_cases);
    VX_RUN(test_url_canon_buffer);
    VX_RUN(test_dot_segments);
    VX_RUN(test_reason_names);
    VX_RUN(test_timestamp_parse);
    VX_RUN(test_timestamp_check);
    VX_RUN(test_skill_event);
    VX_RUN(test_base64);
    VX_RUN(test_signature);
    return VX_DONE();
}
