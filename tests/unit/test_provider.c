/*
 * Tests of provider.c without a network: configuration checks, request
 * building (path, headers, body, the signature verified as the sandbox
 * verifies it, key and ID validation), the mapping of canned answers to every
 * outcome, the retry decisions and backoff (Retry-After, the same key and body
 * on every attempt, a fresh date), and money on the wire.
 */
#include "voxcart/config.h"
#include "voxcart/paysign.h"
#include "voxcart/pki.h"
#include "voxcart/provider.h"
#include "vxtest.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/vx-provider-XXXXXX";
static char key_path[256];
static EVP_PKEY *signing_key;
static struct vx_provider *prov;
static int64_t fake_now = 1527201430; /* 20180524T223710Z */

static int64_t clock_fake(void *ud)
{
    (void)ud;
    return fake_now;
}

static struct vx_provider_config base_config(void)
{
    struct vx_provider_config c = {0};
    c.url = "http://127.0.0.1:9/sandbox/v2";
    c.key_id = "AGX7PUBLICKEY";
    c.private_key = key_path;
    c.region = "eu";
    c.retries = -1;
    return c;
}

/* The value of request header name in op->http, or NULL. */
static const char *req_header(const struct vx_http_op *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nheaders; i++)
        if (strncmp(h->headers[i], name, n) == 0 && h->headers[i][n] == ':')
            return h->headers[i] + n + 2;
    return NULL;
}

/* Verifies op->http's signature the way the sandbox does. */
static int signature_ok(const struct vx_http_op *h, const char *path)
{
    struct vx_paysign_hdr hdrs[VX_HTTP_HEADERS_MAX];
    char names[VX_HTTP_HEADERS_MAX][64];
    struct vx_paysign_auth a;
    struct vx_err e;
    size_t n = 0;
    const char *auth = req_header(h, "authorization");

    for (size_t i = 0; i < h->nheaders; i++) {
        const char *colon = strchr(h->headers[i], ':');
        size_t len = (size_t)(colon - h->headers[i]);
        if (strncmp(h->headers[i], "authorization", 13) == 0 || len >= 64)
            continue;
        memcpy(names[n], h->headers[i], len);
        names[n][len] = '\0';
        hdrs[n].name = names[n];
        hdrs[n].value = colon + 2;
        n++;
    }
    if (!auth || vx_paysign_auth_parse(auth, &a, &e) != 0)
        return 0;
    if (vx_paysign_check(signing_key, &a, h->method, path, NULL, hdrs, n, h->body, h->body_len,
                         &e) != 0) {
        fprintf(stderr, "  check: %s\n", e.msg);
        return 0;
    }
    return 1;
}

/* Every call and outcome has its name, and a refused op stays complete. */
static void test_names(void)
{
    struct vx_provider_op op;
    for (int c = VX_PROVIDER_PERMISSION_GET; c <= VX_PROVIDER_REFUND_GET; c++)
        VX_CHECK(strcmp(vx_provider_call_name((enum vx_provider_call)c), "unknown") != 0);
    for (int o = VX_PROVIDER_SUCCESS; o < VX_PROVIDER_UNKNOWN; o++) /* "unknown" is the last */
        VX_CHECK(strcmp(vx_provider_outcome_name((enum vx_provider_outcome)o), "unknown") != 0);
    VX_CHECK_STR(vx_provider_outcome_name(VX_PROVIDER_HARD_DECLINE), "hard_decline");
    VX_CHECK_STR(vx_provider_call_name(VX_PROVIDER_CHARGE_CAPTURE), "charge_capture");

    VX_CHECK_INT(vx_provider_op_charge_get(&op, prov, ""), 0);
    VX_CHECK_INT(vx_provider_op_complete(&op), 0); /* nothing was sent: nothing to read */
    VX_CHECK_INT(op.attempts, 0);
    VX_CHECK_INT(op.outcome, VX_PROVIDER_PERMANENT);
    VX_CHECK_INT(vx_provider_op_simulate(&op, "SoftDeclined"), 0);
    VX_CHECK_INT(vx_provider_op_rearm(&op), 0);
    vx_provider_run(&op);
    VX_CHECK_INT(op.attempts, 0);
    vx_provider_op_release(&op);
}

static void test_config(void)
{
    struct vx_provider_config c;
    struct vx_provider *p = NULL;
    struct vx_err e;
    static const struct {
        const char *url, *key_id, *region, *want;
    } bad[] = {
        {"ftp://pay-api.amazon.eu/live/v2", "K", "eu", "provider.url"},
        {"https://pay-api.amazon.eu/live", "K", "eu", "provider.url"},
        {"https://pay-api.amazon.eu/v2", "AGX7", "eu", "LIVE or SANDBOX"},
        {"https://user@pay-api.amazon.eu/live/v2", "K", "eu", "provider.url"},
        {"https://pay-api.amazon.eu/live/v2?x=1", "K", "eu", "provider.url"},
        {"https://pay-api.amazon.eu/live/v2", "", "eu", "provider.key_id"},
        {"https://pay-api.amazon.eu/live/v2", "K", "mars", "provider.region"},
        {"", "K", "eu", "provider.url"},
    };
    for (size_t i = 0; i < VX_ARRAY_LEN(bad); i++) {
        c = base_config();
        c.url = bad[i].url;
        c.key_id = bad[i].key_id;
        c.region = bad[i].region;
        VX_CHECK_INT(vx_provider_new(&c, &p, &e), VX_ECONFIG);
        VX_CHECK(strstr(e.msg, bad[i].want) != NULL);
    }
    c = base_config();
    c.private_key = "/nonexistent/key.pem";
    VX_CHECK_INT(vx_provider_new(&c, &p, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "provider.private_key") != NULL);
    c = base_config();
    c.retries = 11;
    VX_CHECK_INT(vx_provider_new(&c, &p, &e), VX_ECONFIG);

    static const char *const good[] = {"https://pay-api.amazon.eu/live/v2",
                                       "https://pay-api.amazon.eu/sandbox/v2/",
                                       "http://127.0.0.1:8080/v2"};
    for (size_t i = 0; i < VX_ARRAY_LEN(good); i++) {
        c = base_config();
        c.url = good[i];
        c.key_id = "SANDBOX-AGX7";
        c.region = "EU";
        p = NULL;
        VX_CHECK_INT(vx_provider_new(&c, &p, &e), 0);
        vx_provider_free(p);
    }
}

/* The provider object of voxcartd's configuration file, through to a working client. */
static void test_config_file(void)
{
    struct vx_provider_config pc;
    struct vx_provider *p = NULL;
    struct vx_config c;
    struct vx_err e;
    char path[300], text[1024];
    FILE *f;

    vx_snprintf(path, sizeof(path), "%s/voxcart.json", dir);
    vx_snprintf(text, sizeof(text),
                "{\"provider\": {\"url\": \"http://127.0.0.1:9/sandbox/v2\", \"key_id\": \"K1\","
                " \"private_key\": \"%s\", \"region\": \"jp\", \"algorithm\": "
                "\"AMZN-PAY-RSASSA-PSS\", \"connect_timeout_ms\": 500, \"timeout_ms\": 3000}, "
                "\"verify\": {\"development\": true}}",
                key_path);
    f = fopen(path, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    vx_config_init(&c);
    VX_CHECK_STR(c.provider_algorithm, "AMZN-PAY-RSASSA-PSS-V2");
    c.development = 1;
    VX_CHECK_INT(vx_config_validate(&c, &e), 0); /* no provider configured is fine */
    VX_CHECK_INT(vx_config_load_file(&c, path, &e), 0);
    VX_CHECK_INT(vx_config_validate(&c, &e), 0);
    VX_CHECK_INT(vx_provider_config_from(&c, &pc, &e), 0);
    VX_CHECK_INT(pc.alg, VX_PAYSIGN_V1);
    VX_CHECK_INT(pc.timeout_ms, 3000);
    VX_CHECK_INT(vx_provider_new(&pc, &p, &e), 0);
    vx_provider_free(p);

    c.provider_key_id[0] = '\0';
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "provider.key_id") != NULL);
    vx_strlcpy(c.provider_key_id, "K1", sizeof(c.provider_key_id));
    vx_strlcpy(c.provider_algorithm, "RSA-SHA256", sizeof(c.provider_algorithm));
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "provider.algorithm") != NULL);
    vx_strlcpy(c.provider_url, "pay-api.amazon.eu/live/v2", sizeof(c.provider_url));
    VX_CHECK_INT(vx_config_validate(&c, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "provider.url") != NULL);

    /* unknown fields and bad values of the object name the field */
    f = fopen(path, "w");
    if (!f)
        return;
    fputs("{\"provider\": {\"timeout_ms\": 5}}", f);
    fclose(f);
    vx_config_init(&c);
    VX_CHECK_INT(vx_config_load_file(&c, path, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "provider.timeout_ms") != NULL);
    f = fopen(path, "w");
    if (!f)
        return;
    fputs("{\"provider\": {\"secret\": \"x\"}}", f);
    fclose(f);
    VX_CHECK_INT(vx_config_load_file(&c, path, &e), VX_ECONFIG);
    VX_CHECK(strstr(e.msg, "provider.secret") != NULL);
    unlink(path);
}

static void test_money(void)
{
    char s[32];
    int64_t v = 0;
    VX_CHECK_INT(vx_money_format(1999, "EUR", s, sizeof(s)), 0);
    VX_CHECK_STR(s, "19.99");
    VX_CHECK_INT(vx_money_format(5, "USD", s, sizeof(s)), 0);
    VX_CHECK_STR(s, "0.05");
    VX_CHECK_INT(vx_money_format(100000, "JPY", s, sizeof(s)), 0);
    VX_CHECK_STR(s, "100000");
    VX_CHECK_INT(vx_money_format(15000000, "GBP", s, sizeof(s)), 0);
    VX_CHECK_STR(s, "150000.00");
    VX_CHECK_INT(vx_money_format(1, "XXX", s, sizeof(s)), VX_EINVAL);
    VX_CHECK_INT(vx_money_format(-1, "EUR", s, sizeof(s)), VX_EINVAL);

    VX_CHECK_INT(vx_money_parse("19.99", "EUR", &v), 0);
    VX_CHECK_INT(v, 1999);
    VX_CHECK_INT(vx_money_parse("6", "EUR", &v), 0);
    VX_CHECK_INT(v, 600);
    VX_CHECK_INT(vx_money_parse("6.5", "EUR", &v), 0);
    VX_CHECK_INT(v, 650);
    VX_CHECK_INT(vx_money_parse("6.500", "EUR", &v), 0);
    VX_CHECK_INT(v, 650);
    VX_CHECK_INT(vx_money_parse("100", "JPY", &v), 0);
    VX_CHECK_INT(v, 100);
    VX_CHECK_INT(vx_money_parse("100.00", "JPY", &v), 0);
    VX_CHECK_INT(v, 100);
    VX_CHECK_INT(vx_money_parse("1.005", "EUR", &v), VX_ERANGE);
    VX_CHECK_INT(vx_money_parse("100.5", "JPY", &v), VX_ERANGE);
    VX_CHECK_INT(vx_money_parse("99999999999999999999", "EUR", &v), VX_ERANGE);
    static const char *const bad[] = {"", ".5", "1.", "-1", "1e3", "1,00", " 1", "1.2.3"};
    for (size_t i = 0; i < VX_ARRAY_LEN(bad); i++)
        VX_CHECK_INT(vx_money_parse(bad[i], "EUR", &v), VX_EPARSE);
    VX_CHECK_INT(vx_money_parse("1", "QQQ", &v), VX_EPARSE);
}

static void test_charge_request(void)
{
    struct vx_provider_charge_req r = {0};
    struct vx_provider_op op;
    const struct vx_http_op *h = &op.http;

    r.charge_permission_id = "B01-1234567-1234567";
    r.amount = 1999;
    r.currency = "EUR";
    r.capture_now = 1;
    r.soft_descriptor = "VOXCART COFFEE";
    r.merchant_reference_id = "order-42";
    VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, "ord42-c1", &r), 1);
    VX_CHECK_STR(h->method, "POST");
    VX_CHECK_STR(h->url, "http://127.0.0.1:9/sandbox/v2/charges");
    VX_CHECK_STR(req_header(h, "accept"), "application/json");
    VX_CHECK_STR(req_header(h, "content-type"), "application/json");
    VX_CHECK_STR(req_header(h, "x-amz-pay-date"), "20180524T223710Z");
    VX_CHECK_STR(req_header(h, "x-amz-pay-host"), "127.0.0.1:9");
    VX_CHECK_STR(req_header(h, "x-amz-pay-region"), "eu");
    VX_CHECK_STR(req_header(h, "x-amz-pay-idempotency-key"), "ord42-c1");
    static const char auth_start[] =
        "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=AGX7PUBLICKEY, SignedHeaders=accept;content-type;"
        "x-amz-pay-date;x-amz-pay-host;x-amz-pay-idempotency-key;x-amz-pay-region, Signature=";
    VX_CHECK(strncmp(req_header(h, "authorization"), auth_start, sizeof(auth_start) - 1) == 0);
    VX_CHECK_STR(h->body, "{\"chargePermissionId\":\"B01-1234567-1234567\",\"chargeAmount\":{"
                          "\"amount\":\"19.99\",\"currencyCode\":\"EUR\"},\"captureNow\":true,"
                          "\"softDescriptor\":\"VOXCART COFFEE\","
                          "\"canHandlePendingAuthorization\":false,\"merchantMetadata\":{"
                          "\"merchantReferenceId\":\"order-42\"}}");
    VX_CHECK_INT(h->timeout_ms, 8000);
    VX_CHECK_INT(h->connect_timeout_ms, 2000);
    VX_CHECK(signature_ok(h, "/sandbox/v2/charges"));

    /* the simulation header is signed too */
    VX_CHECK_INT(vx_provider_op_simulate(&op, "SoftDeclined"), 1);
    VX_CHECK_STR(req_header(h, "x-amz-pay-simulation-code"), "SoftDeclined");
    VX_CHECK(strstr(req_header(h, "authorization"), "x-amz-pay-simulation-code") != NULL);
    VX_CHECK(signature_ok(h, "/sandbox/v2/charges"));
    vx_provider_op_release(&op);

    /* keys and arguments refused before anything is sent */
    static const char *const bad_keys[] = {
        "", "a b", "k/1", "123456789012345678901234567890123", "ключ", NULL};
    for (size_t i = 0; i < VX_ARRAY_LEN(bad_keys); i++) {
        VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, bad_keys[i], &r), 0);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_PERMANENT);
        VX_CHECK_INT(op.rc, VX_EINVAL);
        VX_CHECK(strstr(op.err.msg, "idempotency key") != NULL);
        vx_provider_op_release(&op);
    }
    VX_CHECK(vx_provider_key_valid("12345678901234567890123456789012"));
    VX_CHECK(vx_provider_key_valid("A-z_0"));

    struct vx_provider_charge_req b = r;
    b.amount = 0;
    VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, "k1", &b), 0);
    VX_CHECK_STR(op.err.msg, "charge_create: chargeAmount: must be more than zero, not 0");
    vx_provider_op_release(&op);
    b = r;
    b.currency = "XYZ";
    VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, "k1", &b), 0);
    VX_CHECK_STR(op.err.msg, "charge_create: chargeAmount: unknown currency 'XYZ'");
    vx_provider_op_release(&op);
    b = r;
    b.capture_now = 0;
    VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, "k1", &b), 0);
    VX_CHECK_STR(op.err.msg, "charge_create: softDescriptor: only with capture now");
    vx_provider_op_release(&op);
    b = r;
    b.charge_permission_id = "../refunds";
    VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, "k1", &b), 0);
    vx_provider_op_release(&op);

    /* authorize only, JPY */
    b = r;
    b.capture_now = 0;
    b.soft_descriptor = NULL;
    b.merchant_reference_id = NULL;
    b.currency = "JPY";
    b.amount = 500;
    b.can_handle_pending = 1;
    VX_CHECK_INT(vx_provider_op_charge_create(&op, prov, "k1", &b), 1);
    VX_CHECK_STR(h->body, "{\"chargePermissionId\":\"B01-1234567-1234567\",\"chargeAmount\":{"
                          "\"amount\":\"500\",\"currencyCode\":\"JPY\"},\"captureNow\":false,"
                          "\"canHandlePendingAuthorization\":true}");
    vx_provider_op_release(&op);
}

/* method, URL, whether a key and a body go out, for each of the other calls */
static void check_call(struct vx_provider_op *op, int armed, const char *method, const char *url,
                       const char *key, const char *body)
{
    VX_CHECK_INT(armed, 1);
    VX_CHECK_STR(op->http.method, method);
    VX_CHECK_STR(op->http.url, url);
    if (key)
        VX_CHECK_STR(req_header(&op->http, "x-amz-pay-idempotency-key"), key);
    else
        VX_CHECK(req_header(&op->http, "x-amz-pay-idempotency-key") == NULL);
    if (body)
        VX_CHECK_STR(op->http.body, body);
    else
        VX_CHECK(op->http.body == NULL);
    VX_CHECK(signature_ok(&op->http, op->http.url + strlen("http://127.0.0.1:9")));
    vx_provider_op_release(op);
}

#define BASE "http://127.0.0.1:9/sandbox/v2"

static void test_other_requests(void)
{
    struct vx_provider_op op;
    struct vx_provider_session_req s = {0};
    int a;

    a = vx_provider_op_permission_get(&op, prov, "B01-1");
    check_call(&op, a, "GET", BASE "/chargePermissions/B01-1", NULL, NULL);
    a = vx_provider_op_permission_close(&op, prov, "B01-1", "customer cancelled", 1);
    check_call(&op, a, "DELETE", BASE "/chargePermissions/B01-1/close", NULL,
               "{\"closureReason\":\"customer cancelled\",\"cancelPendingCharges\":true}");
    a = vx_provider_op_charge_get(&op, prov, "S01-9");
    check_call(&op, a, "GET", BASE "/charges/S01-9", NULL, NULL);
    a = vx_provider_op_charge_capture(&op, prov, "cap-1", "S01-9", 600, "GBP", NULL);
    check_call(&op, a, "POST", BASE "/charges/S01-9/capture", "cap-1",
               "{\"captureAmount\":{\"amount\":\"6.00\",\"currencyCode\":\"GBP\"}}");
    a = vx_provider_op_charge_cancel(&op, prov, "S01-9", "out of stock");
    check_call(&op, a, "DELETE", BASE "/charges/S01-9/cancel", NULL,
               "{\"cancellationReason\":\"out of stock\"}");
    a = vx_provider_op_refund_create(&op, prov, "ref-1", "S01-9", 250, "EUR", "VOXCART");
    check_call(&op, a, "POST", BASE "/refunds", "ref-1",
               "{\"chargeId\":\"S01-9\",\"refundAmount\":{\"amount\":\"2.50\",\"currencyCode\":"
               "\"EUR\"},\"softDescriptor\":\"VOXCART\"}");
    a = vx_provider_op_refund_get(&op, prov, "R01-3");
    check_call(&op, a, "GET", BASE "/refunds/R01-3", NULL, NULL);
    a = vx_provider_op_session_get(&op, prov, "cs-77");
    check_call(&op, a, "GET", BASE "/checkoutSessions/cs-77", NULL, NULL);
    a = vx_provider_op_session_complete(&op, prov, "done-1", "cs-77", 999, "USD");
    check_call(&op, a, "POST", BASE "/checkoutSessions/cs-77/complete", "done-1",
               "{\"chargeAmount\":{\"amount\":\"9.99\",\"currencyCode\":\"USD\"}}");

    s.permission_type = "Recurring";
    s.frequency_unit = "Month";
    s.frequency_value = 1;
    s.recurring_amount = 999;
    s.payment_intent = "AuthorizeWithCapture";
    s.amount = 999;
    s.currency = "EUR";
    s.result_return_url = "https://shop.example/done";
    s.merchant_reference_id = "sub-1";
    a = vx_provider_op_session_create(&op, prov, "sess-1", &s);
    check_call(&op, a, "POST", BASE "/checkoutSessions", "sess-1",
               "{\"chargePermissionType\":\"Recurring\",\"recurringMetadata\":{\"frequency\":{"
               "\"unit\":\"Month\",\"value\":\"1\"},\"amount\":{\"amount\":\"9.99\","
               "\"currencyCode\":\"EUR\"}},\"paymentDetails\":{\"paymentIntent\":"
               "\"AuthorizeWithCapture\",\"chargeAmount\":{\"amount\":\"9.99\",\"currencyCode\":"
               "\"EUR\"}},\"webCheckoutDetails\":{\"checkoutResultReturnUrl\":"
               "\"https://shop.example/done\"},\"merchantMetadata\":{\"merchantReferenceId\":"
               "\"sub-1\"}}");

    /* refusals name what is wrong */
    struct vx_provider_session_req bad = s;
    bad.frequency_unit = "Fortnight";
    VX_CHECK_INT(vx_provider_op_session_create(&op, prov, "sess-1", &bad), 0);
    VX_CHECK(strstr(op.err.msg, "'Fortnight'") != NULL);
    vx_provider_op_release(&op);
    bad = s;
    bad.payment_intent = "Authorize";
    bad.amount = 0;
    VX_CHECK_INT(vx_provider_op_session_create(&op, prov, "sess-1", &bad), 0);
    VX_CHECK_STR(op.err.msg, "session_create: chargeAmount: must be more than zero, not 0");
    vx_provider_op_release(&op);
    VX_CHECK_INT(vx_provider_op_charge_get(&op, prov, "S01/../x"), 0);
    VX_CHECK_INT(op.outcome, VX_PROVIDER_PERMANENT);
    vx_provider_op_release(&op);
    VX_CHECK_INT(vx_provider_op_refund_create(&op, prov, "r", "S01-9", -5, "EUR", NULL), 0);
    VX_CHECK_STR(op.err.msg, "refund_create: refundAmount: must be more than zero, not -5");
    vx_provider_op_release(&op);
    VX_CHECK_INT(vx_provider_op_refund_create(&op, prov, "r", "S01/9", 5, "EUR", NULL), 0);
    VX_CHECK_STR(op.err.msg, "refund_create: bad chargeId 'S01/9'");
    vx_provider_op_release(&op);
    bad = s;
    bad.payment_intent = "Confirm";
    bad.amount = 0;
    VX_CHECK_INT(vx_provider_op_session_create(&op, prov, "sess-1", &bad), 1);
    VX_CHECK(strstr(op.http.body, "\"paymentDetails\":{\"paymentIntent\":\"Confirm\"}") != NULL);
    vx_provider_op_release(&op);
    VX_CHECK_INT(vx_provider_op_charge_capture(&op, prov, "c", "S01-9", 5, "EUR",
                                               "MUCH TOO LONG DESCRIPTOR"),
                 0);
    VX_CHECK_STR(op.err.msg, "charge_capture: softDescriptor: 1 to 16 characters, not 'MUCH TOO "
                             "LONG DESCRIPTOR'");
    vx_provider_op_release(&op);
}

/* Puts a canned answer into op->http, as the loop would after a transfer. */
static void feed(struct vx_provider_op *op, int rc, long status, const char *body,
                 const char *header)
{
    op->http.rc = rc;
    if (rc != 0)
        vx_err_set(&op->http.err, rc, "%s", "Operation timed out after 8000 milliseconds");
    op->http.status = status;
    if (body)
        vx_buf_appends(&op->http.resp, body);
    if (header)
        op->http.resp_headers[op->http.nresp_headers++] = strdup(header);
}

/* One final answer: complete must not ask for a resend, and the outcome is want. */
static void answer(struct vx_provider_op *op, long status, const char *body,
                   enum vx_provider_outcome want)
{
    feed(op, 0, status, body, NULL);
    VX_CHECK_INT(vx_provider_op_complete(op), 0);
    VX_CHECK_INT(op->outcome, want);
}

/* A charge create answered once with status/body: its outcome. */
static enum vx_provider_outcome charge_answer(long status, const char *body,
                                              struct vx_provider_op *op)
{
    struct vx_provider_charge_req r = {0};
    r.charge_permission_id = "B01-1";
    r.amount = 1000;
    r.currency = "EUR";
    r.capture_now = 1;
    vx_provider_op_charge_create(op, prov, "k-answer", &r);
    feed(op, 0, status, body, NULL);
    VX_CHECK_INT(vx_provider_op_complete(op), 0);
    return op->outcome;
}

#define CHARGE(state, reason)                                                                      \
    "{\"chargeId\":\"S01-1\",\"chargePermissionId\":\"B01-1\",\"chargeAmount\":{\"amount\":"       \
    "\"10.00\",\"currencyCode\":\"EUR\"},\"captureAmount\":{\"amount\":\"10.00\","                 \
    "\"currencyCode\":\"EUR\"},\"statusDetails\":{\"state\":\"" state "\",\"reasonCode\":" reason  \
    "},\"creationTimestamp\":\"20211215T152829Z\",\"releaseEnvironment\":\"Sandbox\"}"
#define ERR(code) "{\"reasonCode\":\"" code "\",\"message\":\"the " code " message\"}"

static void test_outcomes(void)
{
    static const struct {
        long status;
        const char *body;
        enum vx_provider_outcome want;
        const char *reason;
    } cases[] = {
        {201, CHARGE("Captured", "null"), VX_PROVIDER_SUCCESS, ""},
        {201, CHARGE("Authorized", "null"), VX_PROVIDER_SUCCESS, ""},
        {201, CHARGE("AuthorizationInitiated", "null"), VX_PROVIDER_PENDING, ""},
        {202, CHARGE("Authorized", "null"), VX_PROVIDER_PENDING, ""},
        {201, CHARGE("CaptureInitiated", "null"), VX_PROVIDER_PENDING, ""},
        {200, CHARGE("Declined", "\"SoftDeclined\""), VX_PROVIDER_SOFT_DECLINE, "SoftDeclined"},
        {200, CHARGE("Declined", "\"HardDeclined\""), VX_PROVIDER_HARD_DECLINE, "HardDeclined"},
        {200, CHARGE("Declined", "\"ProcessingFailure\""), VX_PROVIDER_SOFT_DECLINE,
         "ProcessingFailure"},
        {200, CHARGE("Declined", "\"SomethingNew\""), VX_PROVIDER_HARD_DECLINE, "SomethingNew"},
        {200, CHARGE("Canceled", "\"ExpiredUnused\""), VX_PROVIDER_PERMANENT, "ExpiredUnused"},
        {400, ERR("SoftDeclined"), VX_PROVIDER_SOFT_DECLINE, "SoftDeclined"},
        {400, ERR("TransactionTimedOut"), VX_PROVIDER_SOFT_DECLINE, "TransactionTimedOut"},
        {400, ERR("HardDeclined"), VX_PROVIDER_HARD_DECLINE, "HardDeclined"},
        {400, ERR("AmazonRejected"), VX_PROVIDER_HARD_DECLINE, "AmazonRejected"},
        {400, ERR("MFAFailed"), VX_PROVIDER_HARD_DECLINE, "MFAFailed"},
        {400, ERR("PeriodicAmountExceeded"), VX_PROVIDER_PERIODIC_LIMIT, "PeriodicAmountExceeded"},
        {400, ERR("TransactionAmountExceeded"), VX_PROVIDER_AMOUNT_LIMIT,
         "TransactionAmountExceeded"},
        {400, ERR("DuplicateIdempotencyKey"), VX_PROVIDER_PERMANENT, "DuplicateIdempotencyKey"},
        {422, ERR("InvalidChargePermissionStatus"), VX_PROVIDER_PERMANENT,
         "InvalidChargePermissionStatus"},
        {401, ERR("InvalidRequestSignature"), VX_PROVIDER_PERMANENT, "InvalidRequestSignature"},
        {404, ERR("ResourceNotFound"), VX_PROVIDER_PERMANENT, "ResourceNotFound"},
        {400, "<html>bad gateway</html>", VX_PROVIDER_PERMANENT, ""},
        {201, "not json", VX_PROVIDER_UNKNOWN, ""},
        {201, "{\"chargeId\":\"S01-1\"}", VX_PROVIDER_UNKNOWN, ""},
    };
    struct vx_provider_op op;

    for (size_t i = 0; i < VX_ARRAY_LEN(cases); i++) {
        enum vx_provider_outcome got = charge_answer(cases[i].status, cases[i].body, &op);
        VX_CHECK_INT(got, cases[i].want);
        VX_CHECK_STR(op.res.reason_code, cases[i].reason);
        VX_CHECK_INT(op.attempts, 1);
        VX_CHECK_INT(op.res.status, cases[i].status);
        if (got != cases[i].want)
            fprintf(stderr, "  case %zu: got %s, want %s\n", i, vx_provider_outcome_name(got),
                    vx_provider_outcome_name(cases[i].want));
        if (cases[i].want != VX_PROVIDER_SUCCESS)
            VX_CHECK(op.err.msg[0] != '\0');
        vx_provider_op_release(&op);
    }

    /* the typed object */
    charge_answer(201, CHARGE("Captured", "null"), &op);
    VX_CHECK_INT(op.rc, 0);
    VX_CHECK_STR(op.res.id, "S01-1");
    VX_CHECK_STR(op.res.charge_permission_id, "B01-1");
    VX_CHECK_STR(op.res.state, "Captured");
    VX_CHECK_INT(op.res.charge_amount.amount, 1000);
    VX_CHECK_STR(op.res.charge_amount.currency, "EUR");
    VX_CHECK_INT(op.res.capture_amount.amount, 1000);
    VX_CHECK_INT(op.res.refunded_amount.set, 0);
    VX_CHECK_INT(op.res.created, 1639582109);
    VX_CHECK_STR(op.res.release_env, "Sandbox");
    vx_provider_op_release(&op);
    charge_answer(400, ERR("PeriodicAmountExceeded"), &op);
    VX_CHECK_INT(vx_provider_op_rearm(&op), 0); /* a final answer is never sent again */
    VX_CHECK_STR(op.res.message, "the PeriodicAmountExceeded message");
    VX_CHECK(strstr(op.err.msg, "charge_create: HTTP 400 PeriodicAmountExceeded") != NULL);
    vx_provider_op_release(&op);

    /* a permission, its reasons and limits */
    vx_provider_op_permission_get(&op, prov, "B01-1");
    answer(&op, 200,
           "{\"chargePermissionId\":\"B01-1\",\"chargePermissionType\":\"Recurring\","
           "\"statusDetails\":{\"state\":\"NonChargeable\",\"reasons\":[{\"reasonCode\":"
           "\"PaymentMethodInvalid\",\"reasonDescription\":\"fix it\"}]},\"limits\":{"
           "\"amountLimit\":{\"amount\":\"1000\",\"currencyCode\":\"EUR\"},\"amountBalance\":{"
           "\"amount\":\"990.01\",\"currencyCode\":\"EUR\"}}}",
           VX_PROVIDER_SUCCESS);
    VX_CHECK_STR(op.res.id, "B01-1");
    VX_CHECK_STR(op.res.permission_type, "Recurring");
    VX_CHECK_STR(op.res.state, "NonChargeable");
    VX_CHECK_STR(op.res.reason_code, "PaymentMethodInvalid");
    VX_CHECK_STR(op.res.message, "fix it");
    VX_CHECK_INT(op.res.amount_limit.amount, 100000);
    VX_CHECK_INT(op.res.amount_balance.amount, 99001);
    vx_provider_op_release(&op);

    /* refunds */
    static const struct {
        const char *state;
        enum vx_provider_outcome want;
    } refunds[] = {{"Refunded", VX_PROVIDER_SUCCESS},
                   {"RefundInitiated", VX_PROVIDER_PENDING},
                   {"Declined", VX_PROVIDER_HARD_DECLINE}};
    for (size_t i = 0; i < VX_ARRAY_LEN(refunds); i++) {
        char body[256];
        vx_provider_op_refund_get(&op, prov, "R01-1");
        vx_snprintf(body, sizeof(body),
                    "{\"refundId\":\"R01-1\",\"chargeId\":\"S01-1\",\"refundAmount\":{\"amount\":"
                    "\"2.50\",\"currencyCode\":\"EUR\"},\"statusDetails\":{\"state\":\"%s\"}}",
                    refunds[i].state);
        answer(&op, 200, body, refunds[i].want);
        VX_CHECK_STR(op.res.id, "R01-1");
        VX_CHECK_STR(op.res.charge_id, "S01-1");
        VX_CHECK_INT(op.res.refund_amount.amount, 250);
        vx_provider_op_release(&op);
    }
    /* a refund above what was captured */
    vx_provider_op_refund_create(&op, prov, "ref-2", "S01-1", 5000, "EUR", NULL);
    answer(&op, 400, ERR("TransactionAmountExceeded"), VX_PROVIDER_AMOUNT_LIMIT);
    vx_provider_op_release(&op);

    /* a completed checkout session */
    vx_provider_op_session_complete(&op, prov, "done-1", "cs-1", 999, "EUR");
    answer(&op, 200,
           "{\"checkoutSessionId\":\"cs-1\",\"chargePermissionId\":\"B01-7\",\"chargeId\":"
           "\"S01-7\",\"statusDetails\":{\"state\":\"Completed\"},\"webCheckoutDetails\":{"
           "\"amazonPayRedirectUrl\":\"https://pay.example/cs-1\"}}",
           VX_PROVIDER_SUCCESS);
    VX_CHECK_STR(op.res.id, "cs-1");
    VX_CHECK_STR(op.res.charge_permission_id, "B01-7");
    VX_CHECK_STR(op.res.charge_id, "S01-7");
    VX_CHECK_STR(op.res.redirect_url, "https://pay.example/cs-1");
    vx_provider_op_release(&op);
}

/* Feeds answers until complete returns 0; the waits asked for go into waits[]. */
static void drive(struct vx_provider_op *op, const long *status, const int *rcs, size_t n,
                  const char *retry_after, int *waits)
{
    for (size_t i = 0; i < n; i++) {
        feed(op, rcs ? rcs[i] : 0, status[i], status[i] == 201 ? CHARGE("Captured", "null") : "",
             retry_after);
        if (!vx_provider_op_complete(op))
            return;
        waits[i] = op->retry_after_ms;
    }
}

static void test_retries(void)
{
    struct vx_provider_charge_req r = {0};
    struct vx_provider_op op;
    int waits[8] = {0};
    char body[512], auth[1200];

    r.charge_permission_id = "B01-1";
    r.amount = 1000;
    r.currency = "EUR";

    /* 503 four times: 1 s, 2 s, 4 s, then retryable */
    {
        static const long st[] = {503, 503, 503, 503};
        vx_provider_op_charge_create(&op, prov, "k-retry", &r);
        vx_strlcpy(body, op.http.body, sizeof(body));
        vx_strlcpy(auth, req_header(&op.http, "authorization"), sizeof(auth));
        fake_now += 5;
        drive(&op, st, NULL, 4, NULL, waits);
        VX_CHECK_INT(waits[0], 1000);
        VX_CHECK_INT(waits[1], 2000);
        VX_CHECK_INT(waits[2], 4000);
        VX_CHECK_INT(op.attempts, 4);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_RETRYABLE);
        VX_CHECK_INT(op.rc, VX_EUPSTREAM);
        VX_CHECK(strstr(op.err.msg, "HTTP 503") != NULL);
        vx_provider_op_release(&op);
    }
    /* 429 with Retry-After 3, then success; the same key and body, a fresh date and signature */
    {
        static const long st[] = {429, 429, 201};
        vx_provider_op_charge_create(&op, prov, "k-retry", &r);
        fake_now += 5;
        memset(waits, 0, sizeof(waits));
        drive(&op, st, NULL, 1, "Retry-After: 3", waits);
        VX_CHECK_INT(waits[0], 3000);
        VX_CHECK_STR(req_header(&op.http, "x-amz-pay-idempotency-key"), "k-retry");
        VX_CHECK_STR(op.http.body, body);
        VX_CHECK_STR(req_header(&op.http, "x-amz-pay-date"), "20180524T223720Z");
        VX_CHECK(strcmp(req_header(&op.http, "authorization"), auth) != 0);
        VX_CHECK(signature_ok(&op.http, "/sandbox/v2/charges"));
        VX_CHECK_INT(op.http.resp.len, 0); /* the last answer is gone */
        drive(&op, st + 1, NULL, 1, "Retry-After: 0", waits + 1);
        VX_CHECK_INT(waits[1], 2000); /* a shorter Retry-After keeps the backoff */
        drive(&op, st + 2, NULL, 1, NULL, waits + 2);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_SUCCESS);
        VX_CHECK_INT(op.attempts, 3);
        vx_provider_op_release(&op);
    }
    /* a Retry-After beyond max_wait gives up at once */
    {
        static const long st[] = {429};
        vx_provider_op_charge_create(&op, prov, "k-retry", &r);
        drive(&op, st, NULL, 1, "Retry-After: 120", waits);
        VX_CHECK_INT(op.attempts, 1);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_RETRYABLE);
        vx_provider_op_release(&op);
    }
    /* 408, 425, 500 are resent; 400 is not */
    {
        static const long st[] = {408, 425, 500, 400};
        vx_provider_op_charge_create(&op, prov, "k-retry", &r);
        drive(&op, st, NULL, 4, NULL, waits);
        VX_CHECK_INT(op.attempts, 4);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_PERMANENT);
        vx_provider_op_release(&op);
    }
    /* answers lost: a charge is unknown, a read only retryable */
    {
        static const long st[] = {0, 0, 0, 0};
        static const int rcs[] = {VX_ETIMEOUT, VX_EUPSTREAM, VX_ETIMEOUT, VX_ETIMEOUT};
        vx_provider_op_charge_create(&op, prov, "k-lost", &r);
        drive(&op, st, rcs, 4, NULL, waits);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_UNKNOWN);
        VX_CHECK_INT(op.rc, VX_ETIMEOUT);
        VX_CHECK(strstr(op.err.msg, "no answer after 4 attempts") != NULL);
        vx_provider_op_release(&op);
        vx_provider_op_charge_get(&op, prov, "S01-1");
        drive(&op, st, rcs, 4, NULL, waits);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_RETRYABLE);
        vx_provider_op_release(&op);
    }
    /* a lost answer, then 503s: still unknown; a lost answer then the replay: success */
    {
        static const long st[] = {0, 503, 503, 503};
        static const int rcs[] = {VX_ETIMEOUT, 0, 0, 0};
        static const long st2[] = {0, 201};
        vx_provider_op_charge_create(&op, prov, "k-lost", &r);
        drive(&op, st, rcs, 4, NULL, waits);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_UNKNOWN);
        VX_CHECK(strstr(op.err.msg, "earlier attempt") != NULL);
        vx_provider_op_release(&op);
        vx_provider_op_charge_create(&op, prov, "k-lost", &r);
        drive(&op, st2, rcs, 2, NULL, waits);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_SUCCESS);
        VX_CHECK_STR(op.res.id, "S01-1");
        vx_provider_op_release(&op);
    }
    /* retries off */
    {
        struct vx_provider_config c = base_config();
        struct vx_provider *p0 = NULL;
        struct vx_err e;
        static const long st[] = {503};
        c.retries = 0;
        VX_CHECK_INT(vx_provider_new(&c, &p0, &e), 0);
        vx_provider_op_charge_create(&op, p0, "k", &r);
        drive(&op, st, NULL, 1, NULL, waits);
        VX_CHECK_INT(op.attempts, 1);
        VX_CHECK_INT(op.outcome, VX_PROVIDER_RETRYABLE);
        vx_provider_op_release(&op);
        vx_provider_free(p0);
    }
}

/* The blocking runner against a port nothing listens on: every attempt refused quickly. */
static void test_run_refused(void)
{
    struct vx_provider_config c = base_config();
    struct vx_provider *p0 = NULL;
    struct vx_provider_op op;
    struct vx_err e;
    uint64_t t0;

    c.backoff_ms = 20;
    c.retries = 2;
    VX_CHECK_INT(vx_provider_new(&c, &p0, &e), 0);
    vx_provider_op_charge_get(&op, p0, "S01-1");
    t0 = vx_mono_ns();
    vx_provider_run(&op);
    VX_CHECK_INT(op.attempts, 3);
    VX_CHECK_INT(op.outcome, VX_PROVIDER_RETRYABLE);
    VX_CHECK(op.rc != 0);
    VX_CHECK(vx_mono_ns() - t0 >= 60u * 1000000u); /* 20 + 40 ms of backoff */
    vx_provider_op_release(&op);
    vx_provider_free(p0);
}

int main(void)
{
    struct vx_provider_config c;
    struct vx_err e;

    if (!mkdtemp(dir) || vx_pki_keygen(2048, &signing_key, &e) != 0)
        return 1;
    vx_snprintf(key_path, sizeof(key_path), "%s/private.pem", dir);
    if (vx_pki_write_key(key_path, signing_key, &e) != 0)
        return 1;
    c = base_config();
    if (vx_provider_new(&c, &prov, &e) != 0) {
        fprintf(stderr, "provider: %s\n", e.msg);
        return 1;
    }
    vx_provider_set_clock(prov, clock_fake, NULL);
    VX_RUN(test_names);
    VX_RUN(test_config);
    VX_RUN(test_config_file);
    VX_RUN(test_money);
    VX_RUN(test_charge_request);
    VX_RUN(test_other_requests);
    VX_RUN(test_outcomes);
    VX_RUN(test_retries);
    VX_RUN(test_run_refused);
    vx_provider_free(prov);
    EVP_PKEY_free(signing_key);
    unlink(key_path);
    rmdir(dir);
    return VX_DONE();
}
