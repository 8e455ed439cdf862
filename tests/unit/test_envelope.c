/*
 * Envelope parsing: every request type, slots with entity resolution, user and
 * permission fields, and malformed bodies that must give a message naming the
 * field instead of a crash.
 */
#include "voxcart/envelope.h"
#include "vxtest.h"

#include <string.h>

#define SYS                                                                                        \
    "\"context\":{\"System\":{\"application\":{\"applicationId\":\"amzn1.ask.skill.a\"},"          \
    "\"user\":{\"userId\":\"U1\",\"accessToken\":\"AT\",\"permissions\":{\"scopes\":{"             \
    "\"payments:autopay_consent\":{\"status\":\"GRANTED\"}}}},"                                    \
    "\"device\":{\"deviceId\":\"D1\"}}}"

static int parse(const char *body, struct vx_request *r, struct vx_err *e)
{
    return vx_request_parse(body, strlen(body), r, e);
}

static void test_launch(void)
{
    struct vx_request r;
    struct vx_err e;
    const char *b = "{\"version\":\"1.0\",\"session\":{\"new\":true,\"sessionId\":\"S1\","
                    "\"attributes\":{\"k\":1}}," SYS ",\"request\":{\"type\":\"LaunchRequest\","
                    "\"requestId\":\"R1\",\"timestamp\":\"2026-11-24T06:44:17Z\","
                    "\"locale\":\"de-DE\"}}";
    char lang[8];
    VX_CHECK_INT(parse(b, &r, &e), 0);
    VX_CHECK_INT(r.type, VX_REQ_LAUNCH);
    VX_CHECK_STR(r.request_id, "R1");
    VX_CHECK_STR(r.timestamp, "2026-11-24T06:44:17Z");
    VX_CHECK_STR(r.application_id, "amzn1.ask.skill.a");
    VX_CHECK_STR(r.user_id, "U1");
    VX_CHECK_STR(r.access_token, "AT");
    VX_CHECK_STR(r.device_id, "D1");
    VX_CHECK_STR(r.session_id, "S1");
    VX_CHECK_INT(r.session_new, 1);
    VX_CHECK(r.session_attributes != NULL);
    VX_CHECK_INT(r.autopay_consent, 1);
    vx_request_lang(&r, lang, sizeof(lang));
    VX_CHECK_STR(lang, "de");
    vx_request_release(&r);
}

static void test_intent_slots(void)
{
    struct vx_request r;
    struct vx_err e;
    const struct vx_slot *s;
    const char *b =
        "{\"version\":\"1.0\"," SYS ",\"request\":{\"type\":\"IntentRequest\",\"requestId\":\"R2\","
        "\"timestamp\":\"2026-11-24T06:44:17Z\",\"locale\":\"en-US\",\"dialogState\":\"STARTED\","
        "\"intent\":{\"name\":\"OrderIntent\",\"confirmationStatus\":\"NONE\",\"slots\":{"
        "\"product\":{\"name\":\"product\",\"value\":\"lattes\",\"resolutions\":{"
        "\"resolutionsPerAuthority\":[{\"authority\":\"x\",\"status\":{\"code\":"
        "\"ER_SUCCESS_MATCH\"},\"values\":[{\"value\":{\"name\":\"latte\",\"id\":\"latte\"}}]}]}},"
        "\"quantity\":{\"name\":\"quantity\",\"value\":\"2\"},"
        "\"size\":{\"name\":\"size\"},"
        "\"other\":{\"name\":\"other\",\"value\":\"zzz\",\"resolutions\":{"
        "\"resolutionsPerAuthority\":[{\"status\":{\"code\":\"ER_SUCCESS_NO_MATCH\"}}]}}}}}}";
    VX_CHECK_INT(parse(b, &r, &e), 0);
    VX_CHECK_INT(r.type, VX_REQ_INTENT);
    VX_CHECK_STR(r.intent_name, "OrderIntent");
    VX_CHECK_STR(r.dialog_state, "STARTED");
    VX_CHECK_INT(r.nslots, 4);
    s = vx_request_slot(&r, "product");
    VX_CHECK(s && s->er == VX_ER_MATCH);
    if (s) {
        VX_CHECK_STR(s->resolved_id, "latte");
        VX_CHECK_STR(s->value, "lattes");
    }
    s = vx_request_slot(&r, "quantity");
    VX_CHECK(s && s->value && strcmp(s->value, "2") == 0 && s->er == VX_ER_NONE);
    s = vx_request_slot(&r, "size");
    VX_CHECK(s && s->value == NULL);
    s = vx_request_slot(&r, "other");
    VX_CHECK(s && s->er == VX_ER_NO_MATCH && s->resolved_id == NULL);
    VX_CHECK(vx_request_slot(&r, "missing") == NULL);
    vx_request_release(&r);
}

static void test_connections_and_ended(void)
{
    struct vx_request r;
    struct vx_err e;
    const char *c = "{\"version\":\"1.0\"," SYS ",\"request\":{\"type\":\"Connections.Response\","
                    "\"requestId\":\"R3\",\"timestamp\":\"2026-11-24T06:44:17Z\","
                    "\"name\":\"Charge\",\"status\":{\"code\":\"200\",\"message\":\"OK\"},"
                    "\"payload\":{},\"token\":\"order-1\"}}";
    const char *s = "{\"version\":\"1.0\"," SYS ",\"request\":{\"type\":\"SessionEndedRequest\","
                    "\"requestId\":\"R4\",\"timestamp\":1700000000000,\"reason\":\"ERROR\","
                    "\"error\":{\"type\":\"INVALID_RESPONSE\"}}}";
    VX_CHECK_INT(parse(c, &r, &e), 0);
    VX_CHECK_INT(r.type, VX_REQ_CONNECTIONS_RESPONSE);
    VX_CHECK_STR(r.conn_name, "Charge");
    VX_CHECK_STR(r.conn_status_code, "200");
    VX_CHECK_STR(r.conn_token, "order-1");
    vx_request_release(&r);
    VX_CHECK_INT(parse(s, &r, &e), 0);
    VX_CHECK_INT(r.type, VX_REQ_SESSION_ENDED);
    VX_CHECK_INT(r.timestamp_is_number, 1);
    VX_CHECK_INT(r.timestamp_ms, 1700000000000LL);
    VX_CHECK_STR(r.end_reason, "ERROR");
    VX_CHECK_STR(r.error_type, "INVALID_RESPONSE");
    vx_request_release(&r);
}

static void expect_error(const char *body, const char *needle)
{
    struct vx_request r;
    struct vx_err e;
    vx_err_clear(&e);
    VX_CHECK_INT(parse(body, &r, &e), VX_EPARSE);
    if (!strstr(e.msg, needle)) {
        fprintf(stderr, "message '%s' does not mention '%s'\n", e.msg, needle);
        VX_CHECK(0);
    }
}

static void test_malformed(void)
{
    expect_error("", "JSON");
    expect_error("{", "JSON");
    expect_error("[1,2]", "not a JSON object");
    expect_error("{\"a\":1} x", "JSON");
    expect_error("{\"version\":\"1.0\"}", "request");
    expect_error("{\"request\":{\"requestId\":\"R\"}}", "request.type");
    expect_error("{\"request\":{\"type\":\"LaunchRequest\"}}", "request.requestId");
    expect_error("{\"request\":{\"type\":\"IntentRequest\",\"requestId\":\"R\"}}",
                 "request.intent");
    expect_error("{\"request\":{\"type\":\"IntentRequest\",\"requestId\":\"R\",\"intent\":{}}}",
                 "request.intent.name");
    expect_error("{\"request\":{\"type\":\"Connections.Response\",\"requestId\":\"R\"}}",
                 "status.code");
    expect_error("{\"request\":\"LaunchRequest\"}", "request");
}

static void test_wrong_types_are_absent(void)
{
    struct vx_request r;
    struct vx_err e;
    const char *b = "{\"context\":{\"System\":{\"user\":{\"userId\":42},\"application\":7}},"
                    "\"session\":{\"new\":\"yes\",\"attributes\":[1]},"
                    "\"request\":{\"type\":\"LaunchRequest\",\"requestId\":\"R\","
                    "\"timestamp\":{\"x\":1},\"locale\":5}}";
    VX_CHECK_INT(parse(b, &r, &e), 0);
    VX_CHECK(r.user_id == NULL);
    VX_CHECK(r.application_id == NULL);
    VX_CHECK(r.timestamp == NULL && !r.timestamp_is_number);
    VX_CHECK(r.locale == NULL);
    VX_CHECK(r.session_attributes == NULL);
    VX_CHECK_INT(r.session_new, 0);
    VX_CHECK_INT(r.autopay_consent, -1);
    vx_request_release(&r);
}

/* The device's supportedInterfaces: APL as a real screen device sends it, absent, and shapes
 * that name nothing. */
static void test_interfaces(void)
{
    static const struct {
        const char *device;
        unsigned want;
    } t[] = {
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{\"AudioPlayer\":{},"
         "\"Alexa.Presentation.APL\":{\"runtime\":{\"maxVersion\":\"2024.1\"}}}}",
         VX_IFACE_APL},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{\"Alexa.Presentation.APL\":{}}}",
         VX_IFACE_APL},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{}}", 0},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{\"AudioPlayer\":{}}}", 0},
        {"{\"deviceId\":\"D\"}", 0},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":[\"Alexa.Presentation.APL\"]}", 0},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{\"Alexa.Presentation.APL\":true}}", 0},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{\"alexa.presentation.apl\":{}}}", 0},
        {"{\"deviceId\":\"D\",\"supportedInterfaces\":{\"Alexa.Presentation.APLT\":{}}}", 0},
    };
    char body[1024];
    for (size_t i = 0; i < VX_ARRAY_LEN(t); i++) {
        struct vx_request r;
        struct vx_err e;
        snprintf(body, sizeof(body),
                 "{\"version\":\"1.0\",\"context\":{\"System\":{\"application\":{"
                 "\"applicationId\":\"A\"},\"user\":{\"userId\":\"U\"},\"device\":%s}},"
                 "\"request\":{\"type\":\"LaunchRequest\",\"requestId\":\"R\"}}",
                 t[i].device);
        VX_CHECK_INT(parse(body, &r, &e), 0);
        VX_CHECK_INT(r.interfaces, t[i].want);
        vx_request_release(&r);
    }
}

int main(void)
{
    VX_RUN(test_launch);
    VX_RUN(test_intent_slots);
    VX_RUN(test_connections_and_ended);
    VX_RUN(test_malformed);
    VX_RUN(test_wrong_types_are_absent);
    VX_RUN(test_interfaces);
    return VX_DONE();
}
