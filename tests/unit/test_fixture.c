/*
 * Conversation fixtures (src/cli/fixture.c, src/cli/import.c) and the
 * redaction of recordings (src/core/recording.c): loading and validation
 * errors that name the file and the place, matching with patterns, variables,
 * the mismatch path and values a report shows, --update's re-baselining, the
 * platform warnings, JUnit escaping, and importing the platform's recordings.
 * The CLI's commands are a library (voxcart_cmds); these parts do no I/O beyond
 * files, so no server is needed.
 */
#include "fixture.h"

#include "voxcart/recording.h"
#include "vxtest.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

static const char good[] =
    "{\"name\": \"two turns\", \"locale\": \"de-DE\", \"skill_id\": \"amzn1.ask.skill.x\",\n"
    " \"turns\": [\n"
    "  {\"name\": \"launch\", \"request\": {\"request\": {\"type\": \"LaunchRequest\"}},\n"
    "   \"seed\": {\"profile\": {\"a\": 1}, \"billing_agreement\": null},\n"
    "   \"expect\": {\"status\": 200, \"response\": {\"response\": {\"x\": \"/^a+$/\"}},\n"
    "              \"store\": {\"last_order\": null}}},\n"
    "  {\"request\": {\"request\": {\"type\": \"SessionEndedRequest\"}}}\n"
    " ]}\n";

/* Parses text as fixture "f.json" and returns the error message ("" when it loaded). */
static const char *parse_error(const char *text)
{
    static struct vx_err e;
    struct cli_fixture f;
    vx_err_clear(&e);
    cli_fixture_parse("f.json", text, strlen(text), &f, &e);
    cli_fixture_release(&f);
    return e.msg;
}

static struct json_object *js(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    VX_CHECK(o != NULL);
    return o;
}

static void test_load_good(void)
{
    struct cli_fixture f;
    struct vx_err e = {0};

    VX_CHECK_INT(cli_fixture_parse("f.json", good, strlen(good), &f, &e), 0);
    VX_CHECK_STR(f.name, "two turns");
    VX_CHECK_STR(f.locale, "de-DE");
    VX_CHECK_STR(f.skill_id, "amzn1.ask.skill.x");
    VX_CHECK(f.description == NULL);
    VX_CHECK_INT(f.nturns, 2);
    VX_CHECK_STR(f.turns[0].name, "launch");
    VX_CHECK(f.turns[0].seed != NULL);
    VX_CHECK(f.turns[0].expect != NULL);
    VX_CHECK(f.turns[1].name == NULL);
    VX_CHECK(f.turns[1].expect == NULL);
    cli_fixture_release(&f);
}

static void test_validation_errors(void)
{
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{}},{\"request\":{},"
                             "\"expcet\":{}}]}"),
                 "f.json: turns[1]: unknown key 'expcet'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"tunrs\":[]}"), "f.json: unknown key 'tunrs'");
    VX_CHECK_STR(parse_error("{\"turns\":[{\"request\":{}}]}"), "f.json: missing 'name'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\"}"), "f.json: missing 'turns'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[]}"),
                 "f.json: 'turns' must be a non-empty array");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"name\":\"t\"}]}"),
                 "f.json: turns[0]: missing 'request' (or 'request_file')");
    VX_CHECK_STR(
        parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"request_file\":\"a\"}]}"),
        "f.json: turns[0]: both 'request' and 'request_file'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":[]}]}"),
                 "f.json: turns[0].request: must be a json object");
    VX_CHECK_STR(
        parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"seed\":{\"profil\":{}}}]}"),
        "f.json: turns[0].seed: unknown key 'profil'");
    VX_CHECK_STR(
        parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"seed\":{\"profile\":1}}]}"),
        "f.json: turns[0].seed.profile: must be an object or null");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":{\"status\":"
                             "\"200\"}}]}"),
                 "f.json: turns[0].expect.status: must be an HTTP status (100 to 599)");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":{\"store\":"
                             "{\"orders\":1}}}]}"),
                 "f.json: turns[0].expect.store: unknown key 'orders'");
    VX_CHECK(
        strncmp(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":{\"response\":"
                            "{\"card\":[{\"title\":\"/[a/\"}]}}}]}"),
                "f.json: turns[0].expect.response.card[0].title: bad regular expression "
                "'/[a/': ",
                75) == 0);
    /* patterns that would make regcomp copy its tree millions of times are refused;
     * ordinary repetitions, classes and escapes are not */
    {
        static const char *const costly[][2] = {
            {"/kleinen++++++++++++++++++++++++++++++ Cappuccino/", "a quantifier on a quantifier"},
            {"/a*{2}/", "a quantifier on a quantifier"},
            {"/((a{200}){200}){200}/", "too many repetitions"},
            {"/((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))/",
             "groups nested too deeply"},
        };
        static const char *const fine[] = {
            "/^<speak>.*2 large lattes\\\\..*</speak>$/",
            "/(ab|c){3,5}[*+?]\\\\+x{2,}/",
            "/[[:alpha:]]+ [^]a]*/",
        };
        char text[256], want[160];
        for (size_t i = 0; i < VX_ARRAY_LEN(costly); i++) {
            snprintf(text, sizeof(text),
                     "{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":{\"response\":"
                     "{\"a\":\"%s\"}}}]}",
                     costly[i][0]);
            snprintf(want, sizeof(want), "': %s", costly[i][1]);
            VX_CHECK(strstr(parse_error(text), want) != NULL);
        }
        for (size_t i = 0; i < VX_ARRAY_LEN(fine); i++) {
            snprintf(text, sizeof(text),
                     "{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":{\"response\":"
                     "{\"a\":\"%s\"}}}]}",
                     fine[i]);
            VX_CHECK_STR(parse_error(text), "");
        }
    }
    VX_CHECK_STR(parse_error("{\"name\":\"\",\"turns\":[{\"request\":{}}]}"),
                 "f.json: name: must be a non-empty string");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"name\":7}]}"),
                 "f.json: turns[0].name: must be a non-empty string");
    VX_CHECK_STR(parse_error("[1, 2]"),
                 "f.json: not a conversation: the file must hold a json object");
    VX_CHECK_STR(parse_error("  \n"), "f.json: empty file, not json");
}

/* cli_fixture_parse of text as f.json: 0, or what it failed with. */
static int parse_ok(const char *text, struct cli_fixture *f)
{
    struct vx_err e = {0};
    return cli_fixture_parse("f.json", text, strlen(text), f, &e);
}

/* An approve step instead of a request, and an expectation that waits for the store. */
static void test_approve_step(void)
{
    static const char ok[] =
        "{\"name\":\"x\",\"turns\":[{\"request\":{}},{\"name\":\"approve\",\"approve\":"
        "{\"link\":\"%PAY_LINK%\",\"instrument\":\"card-ok\"},\"expect\":{\"status\":200,"
        "\"store\":{\"last_order\":{\"state\":\"PAID\"}},\"within_ms\":30000}}]}";
    struct cli_fixture f;
    struct vx_err e = {0};

    VX_CHECK_INT(cli_fixture_parse("f.json", ok, strlen(ok), &f, &e), 0);
    VX_CHECK_INT(f.nturns, 2);
    VX_CHECK(f.turns[0].approve == NULL);
    VX_CHECK(f.turns[1].request == NULL);
    VX_CHECK(f.turns[1].approve != NULL);
    VX_CHECK_STR(json_object_get_string(json_object_object_get(f.turns[1].approve, "link")),
                 "%PAY_LINK%");
    cli_fixture_release(&f);

    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":{}}]}"),
                 "f.json: turns[0].approve: missing 'link'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":{\"link\":\"\"}}]}"),
                 "f.json: turns[0].approve.link: must be a non-empty string");
    VX_CHECK_STR(
        parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":{\"link\":\"l\",\"bank\":\"b\"}}]}"),
        "f.json: turns[0].approve: unknown key 'bank'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":[]}]}"),
                 "f.json: turns[0].approve: must be an object");
    VX_CHECK_STR(
        parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"approve\":{\"link\":\"l\"}}]}"),
        "f.json: turns[0]: both 'request' and 'approve'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request_file\":\"r.json\","
                             "\"approve\":{\"link\":\"l\"}}]}"),
                 "f.json: turns[0]: both 'request_file' and 'approve'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":{\"link\":\"l\"},"
                             "\"seed\":{\"profile\":null}}]}"),
                 "f.json: turns[0]: an approve step takes no 'seed'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":{\"link\":\"l\"},"
                             "\"expect\":{\"response\":{}}}]}"),
                 "f.json: turns[0].expect.response: an approve step's answer is a page, not json");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":"
                             "{\"store\":{},\"within_ms\":-1}}]}"),
                 "f.json: turns[0].expect.within_ms: must be milliseconds (0 to 600000)");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":"
                             "{\"store\":{},\"within_ms\":\"1s\"}}]}"),
                 "f.json: turns[0].expect.within_ms: must be milliseconds (0 to 600000)");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"expect\":"
                             "{\"within_ms\":100}}]}"),
                 "f.json: turns[0].expect.within_ms: waits for 'store', which is missing");
}

/* A sandbox step: a POST to the sandbox's set-up interface instead of a request. */
static void test_sandbox_step(void)
{
    static const char ok[] =
        "{\"name\":\"x\",\"turns\":[{\"request\":{}},{\"name\":\"the card declines\",\"sandbox\":"
        "{\"link\":\"%PAY_LINK%\",\"post\":\"/_sim/chargePermissions/%CHARGE_PERMISSION_ID%/fix\","
        "\"body\":{\"instrument\":\"card-soft-decline\"}},\"expect\":{\"status\":200}},"
        "{\"sandbox\":{\"link\":\"%PAY_LINK%\",\"post\":\"/_sim/clock\"},\"expect\":{\"store\":"
        "{\"last_order\":{\"state\":\"PAID\"}},\"within_ms\":30000}}]}";
    struct cli_fixture f;

    VX_CHECK_INT(parse_ok(ok, &f), 0);
    VX_CHECK_INT(f.nturns, 3);
    VX_CHECK(f.turns[0].sandbox == NULL);
    VX_CHECK(f.turns[1].request == NULL && f.turns[1].approve == NULL);
    VX_CHECK(f.turns[1].sandbox != NULL);
    VX_CHECK_STR(json_object_get_string(json_object_object_get(f.turns[1].sandbox, "post")),
                 "/_sim/chargePermissions/%CHARGE_PERMISSION_ID%/fix");
    VX_CHECK(f.turns[2].sandbox != NULL);
    cli_fixture_release(&f);

    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"post\":\"/_sim/x\"}}]}"),
                 "f.json: turns[0].sandbox: missing 'link'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"link\":\"l\"}}]}"),
                 "f.json: turns[0].sandbox: missing 'post'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"link\":\"l\","
                             "\"post\":\"/sandbox/v2/charges\"}}]}"),
                 "f.json: turns[0].sandbox.post: '/sandbox/v2/charges' is not a path under /_sim/");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"link\":\"l\","
                             "\"post\":\"/_sim/clock\",\"body\":[]}}]}"),
                 "f.json: turns[0].sandbox.body: must be an object");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"link\":\"l\","
                             "\"post\":\"/_sim/clock\",\"get\":\"x\"}}]}"),
                 "f.json: turns[0].sandbox: unknown key 'get'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":[]}]}"),
                 "f.json: turns[0].sandbox: must be an object");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"request\":{},\"sandbox\":"
                             "{\"link\":\"l\",\"post\":\"/_sim/clock\"}}]}"),
                 "f.json: turns[0]: both 'request' and 'sandbox'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"approve\":{\"link\":\"l\"},"
                             "\"sandbox\":{\"link\":\"l\",\"post\":\"/_sim/clock\"}}]}"),
                 "f.json: turns[0]: both 'approve' and 'sandbox'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"link\":\"l\","
                             "\"post\":\"/_sim/clock\"},\"seed\":{\"profile\":null}}]}"),
                 "f.json: turns[0]: a sandbox step takes no 'seed'");
    VX_CHECK_STR(parse_error("{\"name\":\"x\",\"turns\":[{\"sandbox\":{\"link\":\"l\","
                             "\"post\":\"/_sim/clock\"},\"expect\":{\"response\":{}}}]}"),
                 "f.json: turns[0].expect.response: a sandbox step is checked by its status and "
                 "the store");
}

static void test_json_errors_have_a_place(void)
{
    VX_CHECK_STR(parse_error("{\"name\": \"x\",\n \"turns\": [\n  {\"request\": {}, }\n]}"),
                 "f.json: line 3, column 19: invalid json: unexpected character");
    VX_CHECK_STR(parse_error("{\"name\": \"x\",\n \"turns\": ["),
                 "f.json: line 2, column 12: invalid json: unexpected end of input");
    VX_CHECK(strncmp(parse_error("{\"name\": \"x\"}\n}"), "f.json: line 2, column 1: ", 26) == 0);
}

static void test_request_file(void)
{
    char dir[] = "/tmp/vx-fixture-XXXXXX", path[256], req[256];
    const char *text = "{\"name\":\"x\",\"turns\":[{\"request_file\":\"r.json\"}]}";
    struct cli_fixture f;
    struct vx_err e = {0};
    FILE *fh;

    VX_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/f.json", dir);
    snprintf(req, sizeof(req), "%s/r.json", dir);
    VX_CHECK(cli_fixture_parse(path, text, strlen(text), &f, &e) != 0);
    VX_CHECK(strstr(e.msg, "f.json: turns[0].request_file: cannot open '") != NULL);
    VX_CHECK(strstr(e.msg, "/r.json'") != NULL);
    cli_fixture_release(&f);

    fh = fopen(req, "w");
    VX_CHECK(fh != NULL);
    fputs("{\"request\": {\"type\": \"LaunchRequest\"}}", fh);
    fclose(fh);
    vx_err_clear(&e);
    VX_CHECK_INT(cli_fixture_parse(path, text, strlen(text), &f, &e), 0);
    VX_CHECK_INT(f.turns[0].request_owned, 1);
    VX_CHECK_STR(json_object_get_string(json_object_object_get(
                     json_object_object_get(f.turns[0].request, "request"), "type")),
                 "LaunchRequest");
    cli_fixture_release(&f);

    fh = fopen(req, "w");
    fputs("{\"request\": \n nope}", fh);
    fclose(fh);
    vx_err_clear(&e);
    VX_CHECK(cli_fixture_parse(path, text, strlen(text), &f, &e) != 0);
    VX_CHECK(strstr(e.msg, "f.json: turns[0].request_file: ") != NULL);
    VX_CHECK(strstr(e.msg, "r.json: line 2, column 3: invalid json") != NULL);
    cli_fixture_release(&f);
    unlink(req);
    rmdir(dir);
}

static void test_match_subset_and_patterns(void)
{
    struct json_object *actual =
        js("{\"version\":\"1.0\",\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":"
           "\"<speak>Welcome!</speak>\"},\"directives\":[{\"type\":\"Dialog.Delegate\"},{\"type\":"
           "\"Connections.SendRequest\",\"amount\":4.5}],\"shouldEndSession\":false,\"n\":3,"
           "\"nothing\":null}}");
    struct cli_mismatch m;
    struct json_object *e;

#define MATCHES(text)                                                                              \
    do {                                                                                           \
        e = js(text);                                                                              \
        VX_CHECK(cli_match(e, actual, 1, "", &m));                                                 \
        json_object_put(e);                                                                        \
    } while (0)
#define DIFFERS(text, p_, want_, got_)                                                             \
    do {                                                                                           \
        e = js(text);                                                                              \
        VX_CHECK(!cli_match(e, actual, 1, "", &m));                                                \
        VX_CHECK_STR(m.path, p_);                                                                  \
        VX_CHECK_STR(m.expected, want_);                                                           \
        VX_CHECK_STR(m.got, got_);                                                                 \
        json_object_put(e);                                                                        \
    } while (0)

    MATCHES("{}");
    MATCHES("{\"response\":{\"shouldEndSession\":false}}");
    MATCHES("{\"response\":{\"outputSpeech\":{\"ssml\":\"/[Ww]elcome/\"}}}");
    MATCHES("{\"response\":{\"outputSpeech\":{\"ssml\":\"/^<speak>.*</speak>$/\"}}}");
    MATCHES("{\"response\":{\"outputSpeech\":\"%ANY%\",\"nothing\":\"%ANY%\"}}");
    MATCHES("{\"response\":{\"reprompt\":null,\"nothing\":null}}");
    MATCHES("{\"response\":{\"n\":3.0,\"directives\":[{},{\"amount\":4.5}]}}");
    MATCHES("{\"response\":{\"n\":\"/^[0-9]+$/\",\"shouldEndSession\":\"/false/\"}}");

    DIFFERS("{\"response\":{\"outputSpeech\":{\"ssml\":\"/Farewell/\"}}}",
            "response.outputSpeech.ssml", "\"/Farewell/\"", "\"<speak>Welcome!</speak>\"");
    DIFFERS("{\"response\":{\"outputSpeech\":{\"ssml\":\"<speak>Welcome</speak>\"}}}",
            "response.outputSpeech.ssml", "\"<speak>Welcome</speak>\"",
            "\"<speak>Welcome!</speak>\"");
    DIFFERS("{\"response\":{\"reprompt\":\"%ANY%\"}}", "response.reprompt", "\"%ANY%\"",
            "(absent)");
    DIFFERS("{\"response\":{\"outputSpeech\":null}}", "response.outputSpeech", "null",
            "{\"type\":\"SSML\",\"ssml\":\"<speak>Welcome!</speak>\"}");
    DIFFERS("{\"response\":{\"directives\":[{\"type\":\"Dialog.Delegate\"},{\"type\":\"x\"}]}}",
            "response.directives[1].type", "\"x\"", "\"Connections.SendRequest\"");
    DIFFERS("{\"response\":{\"directives\":[{}]}}", "response.directives", "1 element",
            "2 elements: [{\"type\":\"Dialog.Delegate\"},{\"type\":\"Connections.SendRequest\","
            "\"amount\":4.5}]");
    DIFFERS("{\"response\":{\"shouldEndSession\":true}}", "response.shouldEndSession", "true",
            "false");
    DIFFERS("{\"response\":{\"shouldEndSession\":0}}", "response.shouldEndSession", "0", "false");
    DIFFERS("{\"response\":{\"n\":4}}", "response.n", "4", "3");
    DIFFERS("{\"response\":{\"n\":\"3\"}}", "response.n", "\"3\"", "3");
    DIFFERS("{\"response\":{\"outputSpeech\":\"/x/\"}}", "response.outputSpeech", "\"/x/\"",
            "{\"type\":\"SSML\",\"ssml\":\"<speak>Welcome!</speak>\"}");
    DIFFERS("[]", "(the whole document)", "[]",
            json_object_to_json_string_ext(actual, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    e = js("{\"a\":{\"b\":1}}");
    VX_CHECK(!cli_match(e, NULL, 0, "store.profile", &m));
    VX_CHECK_STR(m.path, "store.profile");
    VX_CHECK_STR(m.got, "(absent)");
    VX_CHECK(cli_match(NULL, NULL, 0, "store.last_order", &m));
    json_object_put(e);
#undef MATCHES
#undef DIFFERS
    json_object_put(actual);
}

static void test_long_values_are_cut(void)
{
    char big[3000];
    struct json_object *a, *e;
    struct cli_mismatch m;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    a = json_object_new_string(big);
    e = json_object_new_string("y");
    VX_CHECK(!cli_match(e, a, 1, "s", &m));
    VX_CHECK_INT(strlen(m.got), CLI_MATCH_TEXT - 1);
    VX_CHECK(strcmp(m.got + CLI_MATCH_TEXT - 4, "...") == 0);
    json_object_put(a);
    json_object_put(e);
}

static void test_variables(void)
{
    struct cli_vars v;
    struct vx_buf b;
    struct json_object *o;

    cli_vars_init(&v);
    VX_CHECK_INT(cli_vars_set(&v, "USER", "amzn1.ask.account.U1", 1), 0);
    VX_CHECK_INT(cli_vars_set(&v, "LOCALE", "de-DE", 0), 0);
    VX_CHECK_INT(cli_vars_set(&v, "USER", "amzn1.ask.account.U2", 1), 0);
    VX_CHECK_INT(v.n, 2);
    VX_CHECK_STR(cli_vars_get(&v, "USER"), "amzn1.ask.account.U2");
    VX_CHECK(cli_vars_get(&v, "NOPE") == NULL);

    vx_buf_init(&b);
    VX_CHECK_INT(cli_vars_expand(&v, "%USER%/%LOCALE% 100% %NOPE% %REDACTED% %", &b), 0);
    VX_CHECK_STR(b.data, "amzn1.ask.account.U2/de-DE 100% %NOPE% %REDACTED% %");
    vx_buf_release(&b);

    o = js("{\"a\":[\"%USER%\",{\"b\":\"x %LOCALE% y\"}],\"%USER%\":3,\"c\":true}");
    VX_CHECK_INT(cli_vars_apply(&v, o), 0);
    VX_CHECK_STR(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
        "{\"a\":[\"amzn1.ask.account.U2\",{\"b\":\"x de-DE y\"}],\"%USER%\":3,\"c\":true}");
    /* only fresh per-run values go back to their names */
    VX_CHECK_INT(cli_vars_unapply(&v, o), 0);
    VX_CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                 "{\"a\":[\"%USER%\",{\"b\":\"x de-DE y\"}],\"%USER%\":3,\"c\":true}");
    json_object_put(o);
}

static void test_rebase(void)
{
    struct cli_vars v;
    struct json_object *expected, *actual, *out = NULL;
    int changed = 0;

    cli_vars_init(&v);
    cli_vars_set(&v, "USER", "amzn1.ask.account.RUN", 1);
    expected = js("{\"response\":{\"outputSpeech\":{\"ssml\":\"/[Ww]elcome/\"},\"card\":{\"title\":"
                  "\"Order\",\"text\":\"%ANY%\"},\"reprompt\":{\"x\":1},\"who\":\"%USER%\","
                  "\"list\":[1,2]}}");
    actual = js("{\"response\":{\"outputSpeech\":{\"ssml\":\"<speak>Welcome back</speak>\"},"
                "\"card\":{\"title\":\"Your order for amzn1.ask.account.RUN\",\"text\":\"t\"},"
                "\"who\":\"amzn1.ask.account.RUN\",\"list\":[1,2,3],\"extra\":true}}");
    VX_CHECK_INT(cli_rebase(expected, actual, 1, &v, &out, &changed), 0);
    VX_CHECK_INT(changed, 1);
    VX_CHECK_STR(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE),
                 "{\"response\":{\"outputSpeech\":{\"ssml\":\"/[Ww]elcome/\"},\"card\":{\"title\":"
                 "\"Your order for %USER%\",\"text\":\"%ANY%\"},\"reprompt\":null,\"who\":"
                 "\"%USER%\",\"list\":[1,2,3]}}");
    json_object_put(out);

    /* nothing to change: the same patterns come back, unchanged */
    changed = 0;
    json_object_put(actual);
    actual = js("{\"response\":{\"outputSpeech\":{\"ssml\":\"welcome\"},\"card\":{\"title\":"
                "\"Order\",\"text\":1},\"reprompt\":{\"x\":1,\"y\":2},\"who\":"
                "\"amzn1.ask.account.RUN\",\"list\":[1,2]}}");
    VX_CHECK_INT(cli_rebase(expected, actual, 1, &v, &out, &changed), 0);
    VX_CHECK_INT(changed, 0);
    VX_CHECK_STR(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
                 json_object_to_json_string_ext(expected, JSON_C_TO_STRING_PLAIN));
    json_object_put(out);
    json_object_put(actual);
    json_object_put(expected);
}

static size_t warnings_for(const char *doc, size_t len, struct cli_warning *w)
{
    struct json_object *o = js(doc);
    size_t n = cli_response_warnings(o, len ? len : strlen(doc), w, CLI_MAX_WARNINGS);
    json_object_put(o);
    return n;
}

static void test_warnings(void)
{
    struct cli_warning w[CLI_MAX_WARNINGS];
    struct vx_buf long_doc;

    VX_CHECK_INT(
        warnings_for("{\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":"
                     "\"<speak>What would you like?</speak>\"},\"reprompt\":{"
                     "\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":\"<speak>Well?</speak>\"}"
                     "},\"shouldEndSession\":false}}",
                     0, w),
        0);
    VX_CHECK_INT(warnings_for("{\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":"
                              "\"<speak>What would you like? <break time='1s'/></speak>\"},"
                              "\"shouldEndSession\":false}}",
                              0, w),
                 1);
    VX_CHECK(strstr(w[0].text, "asks a question but has no reprompt") != NULL);
    /* a question that closes the session is the skill's business */
    VX_CHECK_INT(warnings_for("{\"response\":{\"outputSpeech\":{\"type\":\"PlainText\",\"text\":"
                              "\"See you?\"},\"shouldEndSession\":true}}",
                              0, w),
                 0);
    VX_CHECK_INT(warnings_for("{\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":"
                              "\"<speak>Tom & Jerry</speak>\"},\"shouldEndSession\":true}}",
                              0, w),
                 1);
    VX_CHECK_STR(w[0].text, "response.outputSpeech.ssml is not well-formed SSML inside <speak>");
    VX_CHECK_INT(warnings_for("{\"response\":{\"reprompt\":{\"outputSpeech\":{\"type\":\"SSML\","
                              "\"ssml\":\"Hello\"}}}}",
                              0, w),
                 1);
    VX_CHECK(strncmp(w[0].text, "response.reprompt.outputSpeech.ssml", 35) == 0);
    VX_CHECK_INT(warnings_for("{\"response\":{}}", 130000, w), 1);
    VX_CHECK_STR(w[0].text, "response is 130000 bytes, over the 120 KB the platform accepts");

    vx_buf_init(&long_doc);
    vx_buf_appends(&long_doc,
                   "{\"response\":{\"outputSpeech\":{\"type\":\"PlainText\",\"text\":\"");
    for (int i = 0; i < 8001; i++)
        vx_buf_appends(&long_doc, "\xc3\xa4"); /* two bytes, one character */
    vx_buf_appends(&long_doc, "\"},\"card\":{\"type\":\"Simple\",\"title\":\"t\",\"content\":\"");
    for (int i = 0; i < 8000; i++)
        vx_buf_appends(&long_doc, "c");
    vx_buf_appends(&long_doc, "\"},\"shouldEndSession\":true}}");
    VX_CHECK_INT(warnings_for(long_doc.data, 0, w), 1);
    VX_CHECK_STR(
        w[0].text,
        "response.outputSpeech.text has 8001 characters, over the 8000 the platform speaks");
    vx_buf_release(&long_doc);
}

static void test_xml_escape_and_junit(void)
{
    struct vx_buf b;
    struct cli_result r[3];

    vx_buf_init(&b);
    VX_CHECK_INT(cli_xml_escape(&b, "a<b>&\"c\" 'd'\x01\ttab"), 0);
    VX_CHECK_STR(b.data, "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\xEF\xBF\xBD\ttab");
    vx_buf_release(&b);

    memset(r, 0, sizeof(r));
    r[0].file = "launch/en-US.json";
    r[0].outcome = CLI_PASSED;
    r[0].seconds = 0.5;
    r[1].file = "x.json";
    r[1].outcome = CLI_FAILED;
    r[1].message = "turn 1 (<launch>): response.a\n  expected: \"&\"\n  got:      1\n";
    r[1].output = "warning: turn 1: x";
    r[2].file = "b/c/broken.json";
    r[2].outcome = CLI_BROKEN;
    r[2].message = "b/c/broken.json: turns[0]: unknown key 'expcet'\n";
    vx_buf_init(&b);
    VX_CHECK_INT(cli_junit_render(r, 3, 1.25, &b), 0);
    VX_CHECK(strstr(b.data, "<testsuites name=\"voxcart replay\" tests=\"3\" failures=\"1\" "
                            "errors=\"1\" time=\"1.250\">") != NULL);
    VX_CHECK(strstr(b.data, "<testcase classname=\"replay.launch\" name=\"launch/en-US.json\" "
                            "time=\"0.500\">\n    </testcase>") != NULL);
    VX_CHECK(strstr(b.data,
                    "<failure message=\"turn 1 (&lt;launch&gt;): response.a\">turn 1 "
                    "(&lt;launch&gt;): response.a\n  expected: &quot;&amp;&quot;\n") != NULL);
    VX_CHECK(strstr(b.data, "<system-out>warning: turn 1: x</system-out>") != NULL);
    VX_CHECK(strstr(b.data, "<testcase classname=\"replay.b.c\" name=\"b/c/broken.json\"") != NULL);
    VX_CHECK(strstr(b.data, "<error message=\"b/c/broken.json: turns[0]: unknown key "
                            "&apos;expcet&apos;\">") != NULL);
    VX_CHECK(strstr(b.data, "</testsuite>\n</testsuites>\n") != NULL);
    vx_buf_release(&b);
}

static const char dialog_io[] =
    "{\"invocations\":[{\"request\":{\"utterance\":\"open coffee\",\"newSession\":true},"
    "\"response\":{\"body\":{\"status\":\"SUCCESSFUL\",\"result\":{\"skillExecutionInfo\":{"
    "\"invocations\":[{\"invocationRequest\":{\"endpoint\":\"x\",\"body\":{\"version\":\"1.0\","
    "\"session\":{\"new\":true,\"sessionId\":\"amzn1.echo-api.session.S1\",\"user\":{\"userId\":"
    "\"amzn1.ask.account.SECRETUSER\",\"accessToken\":\"Atza|SECRETTOKEN\"}},\"context\":{"
    "\"System\":{\"application\":{\"applicationId\":\"amzn1.ask.skill.real\"},\"user\":{"
    "\"userId\":\"amzn1.ask.account.SECRETUSER\"},\"device\":{\"deviceId\":"
    "\"amzn1.ask.device.SECRETDEVICE\"},\"apiAccessToken\":\"eyJSECRETAPI\"}},\"request\":{"
    "\"type\":\"IntentRequest\",\"requestId\":\"amzn1.echo-api.request.R1\",\"timestamp\":"
    "\"2020-01-01T00:00:00Z\",\"locale\":\"en-US\",\"intent\":{\"name\":\"OrderIntent\"}}}},"
    "\"invocationResponse\":{\"body\":{\"version\":\"1.0\",\"response\":{\"outputSpeech\":{"
    "\"type\":\"PlainText\",\"text\":\"Hi amzn1.ask.account.SECRETUSER\"}}}}}]}}}}}]}";

static void test_import(void)
{
    struct json_object *in = js(dialog_io), *fx = NULL, *turn, *req, *sys;
    struct cli_fixture f;
    struct vx_err e = {0};
    const char *text;

    VX_CHECK_INT(cli_import_convert(in, "dialog.json", "dialog", &fx, &e), 0);
    text = json_object_to_json_string_ext(fx, JSON_C_TO_STRING_PLAIN);
    VX_CHECK(strstr(text, "SECRET") == NULL);
    VX_CHECK_STR(json_object_get_string(json_object_object_get(fx, "skill_id")),
                 "amzn1.ask.skill.real");
    turn = json_object_array_get_idx(json_object_object_get(fx, "turns"), 0);
    VX_CHECK_STR(json_object_get_string(json_object_object_get(turn, "name")),
                 "IntentRequest OrderIntent");
    req = json_object_object_get(turn, "request");
    sys = json_object_object_get(json_object_object_get(req, "context"), "System");
    VX_CHECK_STR(json_object_get_string(
                     json_object_object_get(json_object_object_get(sys, "user"), "userId")),
                 "%USER%");
    VX_CHECK_STR(json_object_get_string(json_object_object_get(sys, "apiAccessToken")),
                 "%API_ACCESS_TOKEN%");
    VX_CHECK_STR(json_object_get_string(
                     json_object_object_get(json_object_object_get(req, "session"), "sessionId")),
                 "amzn1.echo-api.session.S1");
    VX_CHECK(strstr(text, "\"text\":\"Hi %USER%\"") != NULL);
    VX_CHECK(strstr(text, "\"timestamp\":\"%NOW%\"") != NULL);
    /* what import makes loads as a fixture */
    VX_CHECK_INT(cli_fixture_parse("dialog.json", text, strlen(text), &f, &e), 0);
    VX_CHECK_INT(f.nturns, 1);
    cli_fixture_release(&f);
    json_object_put(fx);
    json_object_put(in);

    in = js("[{\"request\":{\"request\":{\"type\":\"LaunchRequest\"}},\"response\":{\"version\":"
            "\"1.0\"}},{\"request\":{\"request\":{\"type\":\"SessionEndedRequest\"}}}]");
    VX_CHECK_INT(cli_import_convert(in, "pairs.json", "pairs", &fx, &e), 0);
    VX_CHECK_INT(json_object_array_length(json_object_object_get(fx, "turns")), 2);
    json_object_put(fx);
    json_object_put(in);

    in = js("{\"something\":\"else\"}");
    VX_CHECK(cli_import_convert(in, "other.json", "other", &fx, &e) == VX_EPARSE);
    VX_CHECK(strncmp(e.msg, "other.json: no request/response pairs found", 43) == 0);
    VX_CHECK(fx == NULL);
    json_object_put(in);
}

static void test_redaction(void)
{
    struct json_object *req =
        js("{\"session\":{\"sessionId\":\"amzn1.echo-api.session.KEEP\",\"attributes\":{\"to\":"
           "\"Erika Mustermann\"}},\"context\":{\"System\":{\"user\":{\"userId\":"
           "\"amzn1.ask.account.ERIKA\",\"permissions\":{\"consentToken\":\"CONSENT123\"}},"
           "\"person\":{\"personId\":\"amzn1.ask.person.P1\"}},\"Geolocation\":{\"coordinate\":{"
           "\"latitudeInDegrees\":52.52,\"longitudeInDegrees\":13.4}}},\"request\":{\"type\":"
           "\"IntentRequest\",\"requestId\":\"R1\",\"timestamp\":1700000000000,\"locale\":"
           "\"de-DE\",\"intent\":{\"name\":\"OrderIntent\",\"slots\":{\"city\":{\"name\":\"city\","
           "\"value\":\"latte\"}}},\"payload\":{\"billingAddress\":{\"name\":\"Erika Mustermann\","
           "\"addressLine1\":\"Hauptstrasse 1\",\"city\":\"Berlin\",\"countryCode\":\"DE\","
           "\"email\":\"erika@example.com\"}}}}");
    struct json_object *resp =
        js("{\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":\"<speak>Danke, Erika "
           "Mustermann! Wir liefern nach Berlin. DE-Versand für de-DE.</speak>\"}}}");
    struct vx_err e = {0};
    const char *r, *s;

    VX_CHECK_INT(vx_redact_exchange(req, resp, &e), 0);
    r = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    VX_CHECK(strstr(r, "Erika") == NULL);
    VX_CHECK(strstr(r, "ERIKA") == NULL);
    VX_CHECK(strstr(r, "Berlin") == NULL);
    VX_CHECK(strstr(r, "Hauptstrasse") == NULL);
    VX_CHECK(strstr(r, "example.com") == NULL);
    VX_CHECK(strstr(r, "CONSENT123") == NULL);
    VX_CHECK(strstr(r, "P1") == NULL);
    VX_CHECK(strstr(r, "52.52") == NULL);
    VX_CHECK(strstr(r, "\"sessionId\":\"amzn1.echo-api.session.KEEP\"") != NULL);
    VX_CHECK(strstr(r, "\"to\":\"%REDACTED%\"") != NULL);
    VX_CHECK(strstr(r, "\"consentToken\":\"%CONSENT_TOKEN%\"") != NULL);
    VX_CHECK(strstr(r, "\"requestId\":\"%REQUEST_ID%\",\"timestamp\":\"%NOW%\"") != NULL);
    /* intent and slot names are not people's names */
    VX_CHECK(strstr(r, "\"intent\":{\"name\":\"OrderIntent\",\"slots\":{\"city\":{\"name\":"
                       "\"city\",\"value\":\"latte\"}}}") != NULL);
    VX_CHECK(strstr(r, "\"locale\":\"de-DE\"") != NULL);
    s = json_object_to_json_string_ext(resp,
                                       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    VX_CHECK_STR(s, "{\"response\":{\"outputSpeech\":{\"type\":\"SSML\",\"ssml\":\"<speak>Danke, "
                    "%REDACTED%! Wir liefern nach %REDACTED%. DE-Versand für de-DE.</speak>\"}}}");
    json_object_put(req);
    json_object_put(resp);
}

/* 2026-12-01T12:00:00Z: the run's "now" in the run-variable tests */
#define RUN_NOW 1796126400

static const char *plain_json(struct json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void test_runvar_kinds(void)
{
    const struct vx_runvar_kind *k;
    char date[16];

    /* every recogniser compiles, and has a name replay can tell from the fixed variables */
    for (size_t i = 0; (k = vx_runvar_kind_at(i)) != NULL; i++) {
        regex_t re;
        VX_CHECK(regcomp(&re, k->regex, REG_EXTENDED) == 0);
        regfree(&re);
        VX_CHECK(vx_runvar_kind_of(k->name, strlen(k->name)) == k);
        VX_CHECK(k->meaning && *k->meaning);
    }
    VX_CHECK_STR(vx_runvar_kind_of("ORDER_ID_2", 10)->name, "ORDER_ID");
    VX_CHECK_STR(vx_runvar_kind_of("ORDER_ID_12", 11)->name, "ORDER_ID");
    VX_CHECK(vx_runvar_kind_of("ORDER_ID_", 9) == NULL);
    VX_CHECK(vx_runvar_kind_of("ORDER_ID_02", 11) == NULL);
    VX_CHECK(vx_runvar_kind_of("ORDER_IDX", 9) == NULL);
    VX_CHECK(vx_runvar_kind_of("TIMESTAMP_2", 11) == NULL); /* shapes capture nothing to number */
    VX_CHECK(vx_runvar_kind_of("USER", 4) == NULL);
    /* groups inside brackets are no groups */
    VX_CHECK_INT(vx_runvar_groups(vx_runvar_kind_of("PAY_LINK", 8)), 2);
    VX_CHECK_INT(vx_runvar_groups(vx_runvar_kind_of("TIMESTAMP", 9)), 3);
    VX_CHECK_INT(vx_runvar_groups(vx_runvar_kind_of("ORDER_ID", 8)), 0);

    VX_CHECK(vx_runvar_bounded("Order o1.", 6, 2));
    VX_CHECK(!vx_runvar_bounded("session.o1", 8, 2));
    VX_CHECK(!vx_runvar_bounded("o1.x", 0, 2));
    VX_CHECK(!vx_runvar_bounded("o1-2", 0, 2));

    VX_CHECK_INT(vx_runvar_relative("TODAY", 5, RUN_NOW, date, sizeof(date)), 0);
    VX_CHECK_STR(date, "2026-12-01");
    VX_CHECK_INT(vx_runvar_relative("TODAY+1", 7, RUN_NOW, date, sizeof(date)), 0);
    VX_CHECK_STR(date, "2026-12-02");
    VX_CHECK_INT(vx_runvar_relative("TODAY-1", 7, RUN_NOW, date, sizeof(date)), 0);
    VX_CHECK_STR(date, "2026-11-30");
    VX_CHECK_INT(vx_runvar_relative("TODAY+31", 8, RUN_NOW, date, sizeof(date)), 0);
    VX_CHECK_STR(date, "2027-01-01");
    VX_CHECK_INT(vx_runvar_relative("TODAY+0", 7, RUN_NOW, date, sizeof(date)), VX_ENOTFOUND);
    VX_CHECK_INT(vx_runvar_relative("TODAY+01", 8, RUN_NOW, date, sizeof(date)), VX_ENOTFOUND);
    VX_CHECK_INT(vx_runvar_relative("TODAY+401", 9, RUN_NOW, date, sizeof(date)), VX_ENOTFOUND);
    VX_CHECK_INT(vx_runvar_relative("TODAYS", 6, RUN_NOW, date, sizeof(date)), VX_ENOTFOUND);
    VX_CHECK_INT(vx_runvar_relative("NOW", 3, RUN_NOW, date, sizeof(date)), VX_ENOTFOUND);
}

static void test_runvar_templatize(void)
{
    static struct vx_runvar_names names;
    struct json_object *resp, *req;
    struct vx_err e = {0};

    vx_runvar_names_init(&names);
    resp = js("{\"card\":\"Order o20261201-f66faddb1e.\\nAlso o20261201-0123456789\","
              "\"again\":[\"o20261201-f66faddb1e\"],"
              "\"session\":\"amzn1.echo-api.session.bd504926-f659-4ad7-a1a9-9a747aaf5275\","
              "\"link\":\"Pay at https://pay.example:8080/checkout/bd504926-f659-4ad7-a1a9-"
              "9a747aaf5275?x=1 now\",\"charge\":\"S01-5105180-3221187-C056351 of "
              "S01-5105180-3221187\",\"image\":\"https://shop.example/"
              "paycard.png\",\"at\":\"2026-12-01T11:59:58.123Z\",\"created\":1796126399,"
              "\"total\":1150,\"due\":\"next on 2026-12-15, not 1999-01-01\","
              "\"attempt\":\"o20261201-f66faddb1e-2\"}");
    VX_CHECK_INT(vx_runvars_templatize(resp, &names,
                                       VX_RUNVARS_DISCOVER | VX_RUNVARS_SHAPES | VX_RUNVARS_DATES,
                                       RUN_NOW, &e),
                 0);
    VX_CHECK_STR(plain_json(resp),
                 "{\"card\":\"Order %ORDER_ID%.\\nAlso %ORDER_ID_2%\",\"again\":[\"%ORDER_ID%\"],"
                 "\"session\":\"amzn1.echo-api.session.bd504926-f659-4ad7-a1a9-9a747aaf5275\","
                 "\"link\":\"Pay at %PAY_LINK% now\",\"charge\":\"%CHARGE_ID% of "
                 "%CHARGE_PERMISSION_ID%\",\"image\":\"https://shop.example/"
                 "paycard.png\",\"at\":\"%TIMESTAMP%\",\"created\":\"%EPOCH%\","
                 "\"total\":1150,\"due\":\"next on %TODAY+14%, not 1999-01-01\","
                 "\"attempt\":\"%ATTEMPT_ID%\"}");
    VX_CHECK_STR(vx_runvar_names_value(&names, "ORDER_ID", 8), "o20261201-f66faddb1e");
    VX_CHECK_STR(vx_runvar_names_value(&names, "ORDER_ID_2", 10), "o20261201-0123456789");
    VX_CHECK_STR(vx_runvar_names_name(&names, "S01-5105180-3221187"), "CHARGE_PERMISSION_ID");

    /* a request: what an answer named becomes its name, a new ID stays, shapes stay */
    req = js("{\"token\":\"o20261201-f66faddb1e\",\"other\":\"o20261201-aaaaaaaaaa\","
             "\"when\":\"2026-12-01T11:59:58Z\",\"slot\":\"2026-12-02\","
             "\"charge\":\"S01-5105180-3221187-C056351\"}");
    VX_CHECK_INT(vx_runvars_templatize(req, &names, VX_RUNVARS_DATES, RUN_NOW, &e), 0);
    VX_CHECK_STR(plain_json(req), "{\"token\":\"%ORDER_ID%\",\"other\":\"o20261201-aaaaaaaaaa\","
                                  "\"when\":\"2026-12-01T11:59:58Z\",\"slot\":\"%TODAY+1%\","
                                  "\"charge\":\"%CHARGE_ID%\"}");
    json_object_put(req);
    json_object_put(resp);
}

/* Whether the expectation, resolved against the answer, matches it (m says where not). */
static int resolved_match(struct cli_vars *v, const char *want_text, const char *got_text,
                          struct cli_mismatch *m)
{
    struct json_object *want = js(want_text), *got = js(got_text);
    int ok = cli_vars_resolve(v, want, got, 1) == 0 && cli_match(want, got, 1, "", m);

    json_object_put(want);
    json_object_put(got);
    return ok;
}

static void test_runvar_resolve(void)
{
    static struct cli_vars v;
    struct json_object *want, *got, *req;
    struct cli_mismatch m;

    cli_vars_init(&v);
    v.now = RUN_NOW;
    want = js("{\"card\":\"Order %ORDER_ID%\",\"when\":\"at %TIMESTAMP%\",\"created\":\"%EPOCH%\","
              "\"list\":[\"%ORDER_ID%\"],\"due\":\"%TODAY+1%\",\"any\":\"%ANY%\"}");
    got = js("{\"card\":\"Order o20261201-aaaaaaaaaa\",\"when\":\"at 2026-12-01T12:00:00Z\","
             "\"created\":1796126400,\"list\":[\"o20261201-aaaaaaaaaa\"],\"due\":\"2026-12-02\","
             "\"any\":3}");
    VX_CHECK_INT(cli_vars_resolve(&v, want, got, 1), 0);
    VX_CHECK(cli_match(want, got, 1, "", &m));
    VX_CHECK_STR(vx_runvar_names_value(&v.run, "ORDER_ID", 8), "o20261201-aaaaaaaaaa");
    json_object_put(want);
    json_object_put(got);

    /* what was captured goes out in the next request */
    req = js("{\"request\":{\"token\":\"%ORDER_ID%\",\"unknown\":\"%ORDER_ID_2%\"}}");
    VX_CHECK_INT(cli_vars_apply(&v, req), 0);
    VX_CHECK_STR(plain_json(req),
                 "{\"request\":{\"token\":\"o20261201-aaaaaaaaaa\",\"unknown\":\"%ORDER_ID_2%\"}}");
    json_object_put(req);

    /* once captured, another order in its place is a mismatch */
    VX_CHECK(!resolved_match(&v, "{\"card\":\"Order %ORDER_ID%\"}",
                             "{\"card\":\"Order o20261201-bbbbbbbbbb\"}", &m));
    VX_CHECK_STR(m.expected, "\"Order o20261201-aaaaaaaaaa\"");

    /* no ID where one is expected: the report shows what would have matched */
    VX_CHECK(
        !resolved_match(&v, "{\"card\":\"Order %ORDER_ID_2%.\"}", "{\"card\":\"Order 42.\"}", &m));
    VX_CHECK_STR(m.path, "card");
    VX_CHECK_STR(m.expected, "\"/^Order (o[0-9]{8}-[0-9a-f]{10})\\\\.$/\"");
    VX_CHECK(vx_runvar_names_value(&v.run, "ORDER_ID_2", 10) == NULL);
    /* a time far from the run's is no run's time */
    VX_CHECK(!resolved_match(&v, "{\"created\":\"%EPOCH%\"}", "{\"created\":1000000000}", &m));
    /* the same variable twice in one string must be one value */
    VX_CHECK(!resolved_match(&v, "\"%ORDER_ID_3% and %ORDER_ID_3%\"",
                             "\"o20261201-cccccccccc and o20261201-dddddddddd\"", &m));
    VX_CHECK(vx_runvar_names_value(&v.run, "ORDER_ID_3", 10) == NULL);
}

static void test_runvar_rebase(void)
{
    static struct cli_vars v;
    struct json_object *expected, *actual, *out = NULL;
    int changed = 0;

    cli_vars_init(&v);
    v.now = RUN_NOW;
    /* an old baseline with yesterday's literal order: --update writes the variables */
    expected = js("{\"card\":\"Order o20261130-0123456789\",\"store\":{\"id\":\"x\"}}");
    actual = js("{\"card\":\"Order o20261201-aaaaaaaaaa\",\"store\":{\"id\":"
                "\"o20261201-aaaaaaaaaa\",\"created\":1796126400}}");
    VX_CHECK_INT(cli_rebase(expected, actual, 1, &v, &out, &changed), 0);
    VX_CHECK_INT(changed, 1);
    VX_CHECK_STR(plain_json(out),
                 "{\"card\":\"Order %ORDER_ID%\",\"store\":{\"id\":\"%ORDER_ID%\"}}");
    json_object_put(expected);

    /* re-based once, it passes the same run, and a later run, unchanged */
    expected = out;
    out = NULL;
    changed = 0;
    cli_vars_init(&v);
    v.now = RUN_NOW + 86400;
    json_object_put(actual);
    actual = js("{\"card\":\"Order o20261202-bbbbbbbbbb\",\"store\":{\"id\":"
                "\"o20261202-bbbbbbbbbb\"}}");
    VX_CHECK_INT(cli_rebase(expected, actual, 1, &v, &out, &changed), 0);
    VX_CHECK_INT(changed, 0);
    VX_CHECK_STR(plain_json(out),
                 "{\"card\":\"Order %ORDER_ID%\",\"store\":{\"id\":\"%ORDER_ID%\"}}");
    json_object_put(out);
    json_object_put(actual);
    json_object_put(expected);

    /* a time the expectation names as a number of its own is re-based into its shape; a
     * number that is no time stays a number */
    expected = js("{\"created\":0,\"captured\":1}");
    actual = js("{\"created\":1796126400,\"captured\":500}");
    changed = 0;
    VX_CHECK_INT(cli_rebase(expected, actual, 1, &v, &out, &changed), 0);
    VX_CHECK_INT(changed, 1);
    VX_CHECK_STR(plain_json(out), "{\"created\":\"%EPOCH%\",\"captured\":500}");
    json_object_put(out);
    json_object_put(actual);
    json_object_put(expected);
}

static void test_clock_offset(void)
{
    static const struct {
        const char *text;
        int64_t seconds; /* 0: refused */
    } cases[] = {
        {"86400", 86400},
        {"+1d", 86400},
        {"-2h", -7200},
        {"90m", 5400},
        {"30s", 30},
        {"", 0},
        {"d", 0},
        {"+", 0},
        {"1dd", 0},
        {"1 d", 0},
        {"tomorrow", 0},
        {"3661d", 0},
        {"99999999999999999999", 0},
    };
    int64_t before;

    for (size_t i = 0; i < VX_ARRAY_LEN(cases); i++) {
        int64_t s = 0;
        int rc = vx_clock_offset_parse(cases[i].text, &s);
        VX_CHECK_INT(rc == 0, cases[i].seconds != 0);
        VX_CHECK_INT(s, cases[i].seconds);
    }
    before = vx_now();
    vx_clock_set_offset(86400);
    VX_CHECK(vx_now() - before >= 86400 && vx_now() - before <= 86401);
    VX_CHECK(vx_now_ms() / 1000 - before >= 86400 && vx_now_ms() / 1000 - before <= 86401);
    vx_clock_set_offset(0);
    VX_CHECK(vx_now() - before <= 1);
}

/* --- several locales in one file (locales.c) --- */

static const char multi[] =
    "{\"name\": \"%LOCALE%: a latte\",\n"
    " \"locales\": {\n"
    "   \"en-US\": {\"LATTE\": \"latte\", \"SAID\": \"/^<speak>OK, a latte</speak>$/\",\n"
    "             \"CARD\": {\"title\": \"Order\"}, \"STATUS\": 200},\n"
    "   \"de-DE\": {\"LATTE\": \"Latte Macchiato\", \"SAID\": \"/^<speak>Okay, ein "
    "Latte</speak>$/\",\n"
    "             \"CARD\": {\"title\": \"Bestellung\"}, \"STATUS\": 200}},\n"
    " \"turns\": [\n"
    "  {\"request\": {\"request\": {\"type\": \"IntentRequest\", \"locale\": \"%LOCALE%\",\n"
    "               \"intent\": {\"slots\": {\"product\": {\"value\": \"%LATTE%\"}}},\n"
    "               \"note\": \"one %LATTE% please, %USER%\"}},\n"
    "   \"expect\": {\"status\": \"%STATUS%\",\n"
    "              \"response\": {\"response\": {\"outputSpeech\": {\"ssml\": \"%SAID%\"},\n"
    "                                          \"card\": \"%CARD%\", \"shouldEndSession\": "
    "false}}}}\n"
    " ]}\n";

static void test_locales_load(void)
{
    struct cli_fixture f;
    struct vx_err e = {0};
    struct json_object *req, *resp;

    VX_CHECK_INT(cli_fixture_parse_locale("m.json", multi, strlen(multi), "de-DE", &f, &e), 0);
    VX_CHECK_INT((long)f.nlocales, 2);
    VX_CHECK_STR(f.locales[0], "en-US");
    VX_CHECK_STR(f.locales[1], "de-DE");
    VX_CHECK_STR(f.locale, "de-DE");
    VX_CHECK_STR(f.name, "de-DE: a latte");
    req = json_object_object_get(f.turns[0].request, "request");
    VX_CHECK_STR(json_object_get_string(json_object_object_get(req, "locale")), "de-DE");
    VX_CHECK_STR(json_object_get_string(json_object_object_get(req, "note")),
                 "one Latte Macchiato please, %USER%"); /* replay's variables come later */
    VX_CHECK_INT(json_object_get_int(json_object_object_get(f.turns[0].expect, "status")), 200);
    resp =
        json_object_object_get(json_object_object_get(f.turns[0].expect, "response"), "response");
    VX_CHECK_STR(json_object_get_string(
                     json_object_object_get(json_object_object_get(resp, "card"), "title")),
                 "Bestellung");
    cli_fixture_release(&f);

    VX_CHECK_INT(cli_fixture_parse("m.json", multi, strlen(multi), &f, &e), 0);
    VX_CHECK_STR(f.locale, "en-US"); /* without a locale: the table's first */
    cli_fixture_release(&f);
    VX_CHECK_INT(cli_fixture_parse_locale("m.json", multi, strlen(multi), "fr-FR", &f, &e),
                 VX_ENOTFOUND);
    VX_CHECK_STR(e.msg, "m.json: locales: no locale 'fr-FR'");
    cli_fixture_release(&f);
}

static void test_locales_errors(void)
{
    static const char *const cases[][2] = {
        {"{\"name\": \"x\", \"locales\": {\"en-US\": {\"A\": 1}, \"de-DE\": {}}, \"turns\": []}",
         "f.json: locales.de-DE: missing word 'A'"},
        {"{\"name\": \"x\", \"locales\": {\"en-US\": {}, \"de-DE\": {\"B\": 1}}, \"turns\": []}",
         "f.json: locales.de-DE.B: not in locales.en-US"},
        {"{\"name\": \"x\", \"locales\": {\"en-US\": {\"USER\": \"u\"}}, \"turns\": []}",
         "f.json: locales.en-US: 'USER' is a replay variable"},
        {"{\"name\": \"x\", \"locales\": {\"en-US\": {\"ORDER_ID_2\": \"u\"}}, \"turns\": []}",
         "f.json: locales.en-US: 'ORDER_ID_2' is a replay variable"},
        {"{\"name\": \"x\", \"locales\": {\"en-US\": {\"lower\": \"u\"}}, \"turns\": []}",
         "f.json: locales.en-US: word 'lower' must be upper-case letters, digits and '_', "
         "starting with a letter"},
        {"{\"name\": \"x\", \"locales\": {}, \"turns\": []}",
         "f.json: locales: must be an object naming at least one locale"},
        {"{\"name\": \"x\", \"locales\": {\"en-US\": []}, \"turns\": []}",
         "f.json: locales.en-US: must be an object of words"},
        {"{\"name\": \"x\", \"locale\": \"en-US\", \"locales\": {\"en-US\": {}}, \"turns\": []}",
         "f.json: both 'locale' and 'locales'"},
        /* what a word expands to is validated like anything written in place */
        {"{\"name\": \"x\", \"locales\": {\"en-US\": {\"BAD\": \"/a(/\"}},\n"
         " \"turns\": [{\"request\": {}, \"expect\": {\"response\": {\"a\": \"%BAD%\"}}}]}",
         "f.json: turns[0].expect.response.a: bad regular expression"},
    };
    for (size_t i = 0; i < VX_ARRAY_LEN(cases); i++) {
        const char *msg = parse_error(cases[i][0]);
        if (strncmp(msg, cases[i][1], strlen(cases[i][1])) != 0) {
            fprintf(stderr, "case %zu: got '%s'\n", i, msg);
            VX_CHECK(0);
        }
    }
}

/* What --update's re-basing leaves in a turn, without a server: expect.response replaced. */
static void set_said(struct cli_fixture *f, const char *ssml, int end)
{
    struct json_object *r = json_object_new_object(), *os = json_object_new_object(),
                       *card = json_object_new_object(), *resp = json_object_new_object();
    json_object_object_add(os, "ssml", json_object_new_string(ssml));
    json_object_object_add(
        card, "title", json_object_new_string(strcmp(f->locale, "de-DE") ? "Order" : "Bestellung"));
    json_object_object_add(r, "outputSpeech", os);
    json_object_object_add(r, "card", card);
    json_object_object_add(r, "shouldEndSession", json_object_new_boolean(end));
    json_object_object_add(resp, "response", r);
    json_object_object_add(f->turns[0].expect, "response", resp);
}

static const char *word_of(struct json_object *doc, const char *loc, const char *w)
{
    struct json_object *v = json_object_object_get(
        json_object_object_get(json_object_object_get(doc, "locales"), loc), w);
    return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE)
             : "(none)";
}

/* One locale of the file as written now, answered with ssml and end, merged back. */
static void update_as(struct json_object *written, const char *locale, const char *ssml, int end)
{
    const char *text = json_object_to_json_string(written);
    struct cli_fixture f;
    struct vx_err e = {0};
    int changed = -1;

    VX_CHECK_INT(cli_fixture_parse_locale("m.json", text, strlen(text), locale, &f, &e), 0);
    set_said(&f, ssml, end);
    VX_CHECK_INT(cli_locales_merge(written, &f, &changed), 0);
    VX_CHECK_INT(changed, 1);
    cli_fixture_release(&f);
}

static void test_locales_merge(void)
{
    struct json_object *written = js(multi), *ssml;
    struct cli_fixture f;
    struct vx_err e = {0};
    int changed = -1;

    /* nothing changed: nothing to write */
    VX_CHECK_INT(cli_fixture_parse_locale("m.json", multi, strlen(multi), "de-DE", &f, &e), 0);
    VX_CHECK_INT(cli_locales_merge(written, &f, &changed), 0);
    VX_CHECK_INT(changed, 0);
    cli_fixture_release(&f);

    /* de-DE says something else: only de-DE's word changes, the turn still names it */
    update_as(written, "de-DE", "<speak>Okay, einen Latte Macchiato</speak>", 0);
    VX_CHECK_STR(word_of(written, "de-DE", "SAID"),
                 "\"<speak>Okay, einen Latte Macchiato</speak>\"");
    VX_CHECK_STR(word_of(written, "en-US", "SAID"), "\"/^<speak>OK, a latte</speak>$/\"");
    ssml = json_object_object_get(
        json_object_object_get(
            json_object_object_get(
                json_object_object_get(
                    json_object_object_get(
                        json_object_array_get_idx(json_object_object_get(written, "turns"), 0),
                        "expect"),
                    "response"),
                "response"),
            "outputSpeech"),
        "ssml");
    VX_CHECK_STR(json_object_get_string(ssml), "%SAID%");

    /* a shared place changes for en-US: a new word, the old value for de-DE ... */
    update_as(written, "en-US", "/^<speak>OK, a latte</speak>$/", 1);
    VX_CHECK_STR(word_of(written, "en-US", "T1_SHOULDENDSESSION"), "true");
    VX_CHECK_STR(word_of(written, "de-DE", "T1_SHOULDENDSESSION"), "false");
    VX_CHECK_STR(word_of(written, "en-US", "SAID"), "\"/^<speak>OK, a latte</speak>$/\"");

    /* ... and once de-DE agrees, the word is shared again */
    update_as(written, "de-DE", "<speak>Okay, einen Latte Macchiato</speak>", 1);
    VX_CHECK_STR(word_of(written, "en-US", "T1_SHOULDENDSESSION"), "(none)");
    VX_CHECK_STR(word_of(written, "de-DE", "T1_SHOULDENDSESSION"), "(none)");
    VX_CHECK(strstr(json_object_to_json_string_ext(written, JSON_C_TO_STRING_PLAIN),
                    "\"shouldEndSession\":true") != NULL);
    json_object_put(written);
}

int main(void)
{
    VX_RUN(test_load_good);
    VX_RUN(test_validation_errors);
    VX_RUN(test_approve_step);
    VX_RUN(test_sandbox_step);
    VX_RUN(test_json_errors_have_a_place);
    VX_RUN(test_request_file);
    VX_RUN(test_match_subset_and_patterns);
    VX_RUN(test_long_values_are_cut);
    VX_RUN(test_variables);
    VX_RUN(test_rebase);
    VX_RUN(test_warnings);
    VX_RUN(test_xml_escape_and_junit);
    VX_RUN(test_import);
    VX_RUN(test_redaction);
    VX_RUN(test_runvar_kinds);
    VX_RUN(test_runvar_templatize);
    VX_RUN(test_runvar_resolve);
    VX_RUN(test_runvar_rebase);
    VX_RUN(test_clock_offset);
    VX_RUN(test_locales_load);
    VX_RUN(test_locales_errors);
    VX_RUN(test_locales_merge);
    return VX_DONE();
}
