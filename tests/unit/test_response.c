/*
 * Response rendering: the JSON is valid and shaped as the platform expects,
 * SSML is escaped, platform limits are enforced and reported.
 */
#include "voxcart/response.h"
#include "vxtest.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *render(struct vx_response *r, int *warn)
{
    struct vx_buf b;
    struct json_object *o;
    vx_buf_init(&b);
    VX_CHECK_INT(vx_response_render(r, &b, warn), 0);
    o = json_tokener_parse(b.data);
    VX_CHECK(o != NULL);
    vx_buf_release(&b);
    return o;
}

static const char *path_str(struct json_object *o, const char *a, const char *b, const char *c)
{
    struct json_object *v = o;
    const char *keys[] = {a, b, c};
    for (int i = 0; i < 3 && keys[i]; i++)
        if (!json_object_object_get_ex(v, keys[i], &v))
            return NULL;
    return json_object_get_string(v);
}

static void test_speech_and_reprompt(void)
{
    struct vx_response r;
    struct json_object *o;
    int warn = -1;
    vx_response_init(&r);
    vx_response_say(&r, "Tom & Jerry's <latte>");
    vx_response_say(&r, "What else?");
    vx_response_reprompt(&r, "Anything else?");
    r.end_session = 0;
    o = render(&r, &warn);
    VX_CHECK_STR(path_str(o, "response", "outputSpeech", "ssml"),
                 "<speak>Tom &amp; Jerry&apos;s &lt;latte&gt; What else?</speak>");
    VX_CHECK_STR(path_str(o, "response", "outputSpeech", "type"), "SSML");
    VX_CHECK(json_object_get_boolean(json_object_object_get(json_object_object_get(o, "response"),
                                                            "shouldEndSession")) == 0);
    VX_CHECK_INT(warn, 0);
    json_object_put(o);
    vx_response_release(&r);
}

static void test_card_and_directives(void)
{
    struct vx_response r;
    struct json_object *o, *resp, *d;
    int warn;
    vx_response_init(&r);
    vx_response_card(&r, "Receipt", "2 lattes\n\"large\"");
    vx_response_directive(&r, "{\"type\":\"Dialog.ElicitSlot\",\"slotToElicit\":\"product\"}");
    vx_response_directive(&r, "{\"type\":\"Dialog.Delegate\"}");
    r.end_session = 1;
    o = render(&r, &warn);
    resp = json_object_object_get(o, "response");
    VX_CHECK_STR(path_str(o, "response", "card", "content"), "2 lattes\n\"large\"");
    VX_CHECK_STR(path_str(o, "response", "card", "type"), "Simple");
    d = json_object_object_get(resp, "directives");
    VX_CHECK(d && json_object_array_length(d) == 2);
    json_object_put(o);
    vx_response_release(&r);

    vx_response_init(&r);
    vx_response_card_permissions(&r, "payments:autopay_consent");
    o = render(&r, &warn);
    VX_CHECK_STR(path_str(o, "response", "card", "type"), "AskForPermissionsConsent");
    json_object_put(o);
    vx_response_release(&r);
}

static void test_silent_and_attributes(void)
{
    struct vx_response r;
    struct json_object *o;
    int warn;
    vx_response_init(&r);
    r.silent = 1;
    vx_buf_appends(&r.attributes, "{\"state\":\"IDLE\"}");
    o = render(&r, &warn);
    VX_CHECK_STR(path_str(o, "sessionAttributes", "state", NULL), "IDLE");
    VX_CHECK_INT(json_object_object_length(json_object_object_get(o, "response")), 0);
    json_object_put(o);
    vx_response_release(&r);
}

static void test_limits(void)
{
    struct vx_response r;
    struct json_object *o;
    char *big = malloc(9001);
    int warn = 0;
    memset(big, 'a', 9000);
    big[9000] = '\0';
    vx_response_init(&r);
    vx_response_say(&r, big);
    r.end_session = 1;
    o = render(&r, &warn);
    VX_CHECK(warn & VX_RW_SPEECH_TOO_LONG);
    VX_CHECK_INT(strlen(path_str(o, "response", "outputSpeech", "ssml")),
                 VX_SPEECH_MAX + strlen("<speak></speak>"));
    json_object_put(o);
    vx_response_release(&r);

    vx_response_init(&r);
    for (int i = 0; i < 20; i++) {
        vx_buf_appends(&r.directives, i ? ",\"" : "\"");
        vx_buf_appends(&r.directives, big);
        vx_buf_appends(&r.directives, "\"");
    }
    o = render(&r, &warn);
    VX_CHECK(warn & VX_RW_TOO_LARGE);
    VX_CHECK(path_str(o, "response", "outputSpeech", "text") != NULL);
    json_object_put(o);
    vx_response_release(&r);

    vx_response_init(&r);
    vx_response_say(&r, "Shall I place the order?");
    r.end_session = 0;
    o = render(&r, &warn);
    VX_CHECK(warn & VX_RW_QUESTION_WITHOUT_REPROMPT);
    json_object_put(o);
    vx_response_release(&r);
    free(big);
}

static int ssml_ok(const char *s)
{
    return vx_ssml_check(s, strlen(s));
}

static void test_ssml_check(void)
{
    VX_CHECK_INT(ssml_ok("hello"), 0);
    VX_CHECK_INT(ssml_ok("<break time=\"1s\"/> a &amp; b"), 0);
    VX_CHECK_INT(ssml_ok("<say-as interpret-as=\"digits\">12</say-as>"), 0);
    VX_CHECK(ssml_ok("<b>open") != 0);
    VX_CHECK(ssml_ok("<b></i>") != 0);
    VX_CHECK(ssml_ok("a & b") != 0);
    VX_CHECK(ssml_ok("a > b") != 0);
    VX_CHECK(ssml_ok("<p attr=\"x>") != 0);
}

/* Whatever reaches the escaper, the JSON it writes is UTF-8: bytes that are not become U+FFFD. */
static void test_escape_keeps_utf8(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"caf\xe9", "caf\xef\xbf\xbd"},
        {"\xff\"x", "\xef\xbf\xbd\\\"x"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"a\xe2\x82", "a\xef\xbf\xbd\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vx_buf b;
        vx_buf_init(&b);
        VX_CHECK_INT(vx_json_escape(&b, cases[i].in, strlen(cases[i].in)), 0);
        VX_CHECK(vx_buf_appends(&b, "") == 0);
        VX_CHECK_STR(b.data, cases[i].want);
        VX_CHECK(vx_utf8_valid(b.data, b.len));
        vx_buf_release(&b);
    }
}

int main(void)
{
    VX_RUN(test_speech_and_reprompt);
    VX_RUN(test_card_and_directives);
    VX_RUN(test_silent_and_attributes);
    VX_RUN(test_limits);
    VX_RUN(test_ssml_check);
    VX_RUN(test_escape_keeps_utf8);
    return VX_DONE();
}
