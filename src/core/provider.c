/*
 * The payment provider's client (provider.h): each call is an operation that
 * knows how to sign its request and what its answer means; sending it is the
 * caller's business, as with store operations.
 *
 * DESIGN
 *
 * Describe once, sign per attempt. An op keeps the request as described (path,
 * body bytes, idempotency key, extra headers) and builds op->http from it on
 * every attempt, signed with that moment's x-amz-pay-date. The body and the
 * key never change between attempts, so a resend is the same request to the
 * provider's idempotency store, which replays the first answer.
 *
 * When to resend. 408, 425, 429 and 5xx, and attempts that got no answer at
 * all, are resent after 1 s, 2 s, 4 s (the SDKs' schedule), or after the
 * provider's Retry-After when that is longer; a Retry-After beyond
 * max_wait_ms gives up at once rather than hold a worker's op for minutes.
 * Every other answer is final.
 *
 * Unknown, not failed. An attempt of a POST or DELETE that got no answer may
 * have been carried out (the connection broke after the request left, or the
 * answer timed out). Once retries run out with such an attempt behind them the
 * outcome is UNKNOWN: the caller settles it with a GET, never with a new
 * charge. vx_http_op reports a refused connection and a lost one alike, so
 * every missing answer to a mutation counts as possibly processed; the cost is
 * a GET that finds nothing. Reads never end UNKNOWN.
 *
 * One outcome table. Declines arrive two ways: as an error body
 * {"reasonCode": "SoftDeclined"} or as a charge (or refund) in state Declined
 * with that reason. Both go through reason_outcome(), so a caller sees the
 * same outcome whichever way the provider chose. A 202 of an object that
 * would be a success is PENDING (the provider accepted it for later).
 *
 * Money on the wire is the provider's decimal string, converted from and to
 * minor units with the currency's digits by integer arithmetic only.
 */
#include "voxcart/provider.h"
#include "voxcart/config.h"
#include "voxcart/i18n.h"
#include "voxcart/json.h"
#include "voxcart/pki.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vx_provider {
    char origin[384]; /* scheme://authority */
    char host[256];   /* x-amz-pay-host: the authority as in the URL */
    char base[128];   /* path up to the API version: /live/v2, /sandbox/v2, /v2 */
    char key_id[128];
    char region[16];
    char ca_file[512];
    enum vx_paysign_alg alg;
    EVP_PKEY *key;
    int connect_timeout_ms, timeout_ms, retries, backoff_ms, max_wait_ms;
    int64_t (*now)(void *);
    void *now_ud;
};

/* What an answer holds: the object decides where its own ID is and what its states mean. */
enum object_kind { OBJ_PERMISSION, OBJ_SESSION, OBJ_CHARGE, OBJ_REFUND };

static const struct call_row {
    const char *name, *method, *path;
    int idem;
    enum object_kind object;
} calls[] = {
#define XX(id, name, method, path, idem, object) {name, method, path, idem, OBJ_##object},
    VX_PROVIDER_CALL_MAP(XX)
#undef XX
};

static const char *const outcome_names[] = {
#define XX(id, name, help) name,
    VX_PROVIDER_OUTCOME_MAP(XX)
#undef XX
};

/* The provider's reason codes that mean something other than a permanent refusal. */
static const struct {
    const char *reason;
    enum vx_provider_outcome outcome;
} reasons[] = {
    {"SoftDeclined", VX_PROVIDER_SOFT_DECLINE},
    {"ProcessingFailure", VX_PROVIDER_SOFT_DECLINE},
    {"TransactionTimedOut", VX_PROVIDER_SOFT_DECLINE},
    {"HardDeclined", VX_PROVIDER_HARD_DECLINE},
    {"AmazonRejected", VX_PROVIDER_HARD_DECLINE},
    {"MFAFailed", VX_PROVIDER_HARD_DECLINE},
    {"PaymentMethodNotAllowed", VX_PROVIDER_HARD_DECLINE},
    {"PeriodicAmountExceeded", VX_PROVIDER_PERIODIC_LIMIT},
    {"TransactionAmountExceeded", VX_PROVIDER_AMOUNT_LIMIT},
};

const char *vx_provider_call_name(enum vx_provider_call c)
{
    return (size_t)c < VX_ARRAY_LEN(calls) ? calls[c].name : "unknown";
}

const char *vx_provider_outcome_name(enum vx_provider_outcome o)
{
    return (size_t)o < VX_ARRAY_LEN(outcome_names) ? outcome_names[o] : "unknown";
}

/* Reason code -> outcome; dflt for a code the table does not name. */
static enum vx_provider_outcome reason_outcome(const char *reason, enum vx_provider_outcome dflt)
{
    for (size_t i = 0; reason && i < VX_ARRAY_LEN(reasons); i++)
        if (strcmp(reasons[i].reason, reason) == 0)
            return reasons[i].outcome;
    return dflt;
}

/* [A-Za-z0-9_-], 1 to max characters. */
static int token_valid(const char *s, size_t max)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= max;
}

int vx_provider_key_valid(const char *key)
{
    return token_valid(key, VX_PROVIDER_KEY_MAX);
}

/* ---- money ---- */

int vx_money_format(int64_t minor, const char *currency, char *out, size_t size)
{
    int d = currency ? vx_currency_digits(currency) : -1;
    int64_t p = 1;
    if (d < 0 || minor < 0)
        return VX_EINVAL;
    for (int i = 0; i < d; i++)
        p *= 10;
    if (d == 0)
        return vx_snprintf(out, size, "%lld", (long long)minor);
    return vx_snprintf(out, size, "%lld.%0*lld", (long long)(minor / p), d, (long long)(minor % p));
}

int vx_money_parse(const char *s, const char *currency, int64_t *minor)
{
    int d = currency ? vx_currency_digits(currency) : -1;
    int64_t v = 0;
    int point = 0, frac = 0; /* seen the point; digits after it */
    size_t ndig = 0;

    if (d < 0 || !s || !*s)
        return VX_EPARSE;
    for (; *s; s++) {
        if (*s == '.' && !point && ndig > 0) {
            point = 1;
            continue;
        }
        if (*s < '0' || *s > '9')
            return VX_EPARSE;
        ndig++;
        if (point && frac++ >= d) {
            if (*s != '0') /* "1.005" EUR is not a whole number of cents */
                return VX_ERANGE;
            continue;
        }
        if (v > (INT64_MAX - 9) / 10)
            return VX_ERANGE;
        v = v * 10 + (*s - '0');
    }
    if (point && frac == 0)
        return VX_EPARSE; /* "1." */
    for (int i = frac < d ? frac : d; i < d; i++) {
        if (v > INT64_MAX / 10)
            return VX_ERANGE;
        v *= 10;
    }
    *minor = v;
    return 0;
}

/* ---- configuration ---- */

/* Splits url into origin, authority and base path; the path must end in /v2. */
static int url_split(struct vx_provider *p, const char *url, struct vx_err *e)
{
    const char *auth, *path;
    size_t alen, plen;

    if (strncmp(url, "https://", 8) == 0)
        auth = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        auth = url + 7;
    else
        return vx_err_set(e, VX_ECONFIG, "provider.url: '%s' must start with https:// or http://",
                          url);
    alen = strcspn(auth, "/?#");
    path = auth + alen;
    plen = strcspn(path, "?#");
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    if (alen == 0 || memchr(auth, '@', alen) || path[strcspn(path, "?#")] != '\0')
        return vx_err_set(e, VX_ECONFIG,
                          "provider.url: '%s' needs a host, and no user, query or fragment", url);
    if (plen < 3 || memcmp(path + plen - 3, "/v2", 3) != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "provider.url: '%s' must end in /live/v2, /sandbox/v2 or /v2", url);
    if ((size_t)(path - url) >= sizeof(p->origin) || alen >= sizeof(p->host) ||
        plen >= sizeof(p->base))
        return vx_err_set(e, VX_ECONFIG, "provider.url: '%s' is too long", url);
    memcpy(p->origin, url, (size_t)(path - url));
    p->origin[path - url] = '\0';
    memcpy(p->host, auth, alen);
    p->host[alen] = '\0';
    memcpy(p->base, path, plen);
    p->base[plen] = '\0';
    return 0;
}

static int region_valid(const char *r)
{
    static const char *const known[] = {"eu", "na", "jp", "us", "de", "uk"};
    for (size_t i = 0; r && i < VX_ARRAY_LEN(known); i++)
        if (vx_strcaseeq(r, known[i]))
            return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if ((*s | 0x20) != (*prefix | 0x20))
            return 0;
    return 1;
}

static int provider_configure(struct vx_provider *p, const struct vx_provider_config *c,
                              struct vx_err *e)
{
    int rc;
    if (!c->url || !*c->url)
        return vx_err_set(e, VX_ECONFIG, "provider.url: required");
    if ((rc = url_split(p, c->url, e)) != 0)
        return rc;
    if (!c->key_id || !*c->key_id || vx_strlcpy(p->key_id, c->key_id, sizeof(p->key_id)) != 0)
        return vx_err_set(e, VX_ECONFIG, "provider.key_id: required, at most %zu characters",
                          sizeof(p->key_id) - 1);
    /* a bare /v2 takes the environment from the key ID itself */
    if (!ends_with(p->base, "/live/v2") && !ends_with(p->base, "/sandbox/v2") &&
        !has_prefix_ci(p->key_id, "LIVE") && !has_prefix_ci(p->key_id, "SANDBOX"))
        return vx_err_set(e, VX_ECONFIG,
                          "provider.url: '%s' names no environment, so provider.key_id must "
                          "start with LIVE or SANDBOX",
                          c->url);
    if (!region_valid(c->region) || vx_strlcpy(p->region, c->region, sizeof(p->region)) != 0)
        return vx_err_set(e, VX_ECONFIG, "provider.region: '%s' is not eu, na or jp",
                          c->region ? c->region : "");
    if (c->alg != VX_PAYSIGN_V2 && c->alg != VX_PAYSIGN_V1)
        return vx_err_set(e, VX_ECONFIG, "provider.algorithm: unknown");
    p->alg = c->alg;
    if (c->connect_timeout_ms < 0 || c->timeout_ms < 0 || c->retries < -1 || c->retries > 10 ||
        c->backoff_ms < 0 || c->max_wait_ms < 0)
        return vx_err_set(e, VX_ECONFIG, "provider: negative timeout, or retries not in -1..10");
    p->connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : 2000;
    p->timeout_ms = c->timeout_ms ? c->timeout_ms : 8000;
    p->retries = c->retries < 0 ? 3 : c->retries;
    p->backoff_ms = c->backoff_ms ? c->backoff_ms : 1000;
    p->max_wait_ms = c->max_wait_ms ? c->max_wait_ms : 30000;
    if (c->ca_file && vx_strlcpy(p->ca_file, c->ca_file, sizeof(p->ca_file)) != 0)
        return vx_err_set(e, VX_ECONFIG, "provider.ca_file: too long");
    if (!c->private_key || !*c->private_key)
        return vx_err_set(e, VX_ECONFIG, "provider.private_key: required");
    if ((rc = vx_pki_read_key(c->private_key, &p->key, e)) != 0) {
        char msg[sizeof(e->msg)];
        if (e) {
            memcpy(msg, e->msg, sizeof(msg));
            vx_err_set(e, VX_ECONFIG, "provider.private_key: %s", msg);
        }
        return VX_ECONFIG;
    }
    if (!EVP_PKEY_is_a(p->key, "RSA"))
        return vx_err_set(e, VX_ECONFIG, "provider.private_key: '%s' is not an RSA key",
                          c->private_key);
    return 0;
}

int vx_provider_config_from(const struct vx_config *c, struct vx_provider_config *out,
                            struct vx_err *e)
{
    memset(out, 0, sizeof(*out));
    out->url = c->provider_url;
    out->key_id = c->provider_key_id;
    out->private_key = c->provider_private_key;
    out->region = c->provider_region;
    out->connect_timeout_ms = c->provider_connect_timeout_ms;
    out->timeout_ms = c->provider_timeout_ms;
    out->retries = -1;
    out->backoff_ms = c->provider_backoff_ms;
    out->ca_file = c->provider_ca_file[0] ? c->provider_ca_file : NULL;
    if (vx_paysign_alg_parse(c->provider_algorithm, &out->alg) != 0)
        return vx_err_set(e, VX_ECONFIG, "provider.algorithm: '%s' is unknown",
                          c->provider_algorithm);
    return 0;
}

int vx_provider_config_live(const struct vx_config *c, struct vx_provider_config *out,
                            struct vx_err *e)
{
    int rc = vx_provider_config_from(c, out, e);
    if (rc)
        return rc;
    out->url = c->provider_live_url;
    if (c->provider_live_key_id[0])
        out->key_id = c->provider_live_key_id;
    if (c->provider_live_private_key[0])
        out->private_key = c->provider_live_private_key;
    return 0;
}

int vx_provider_new(const struct vx_provider_config *cfg, struct vx_provider **out,
                    struct vx_err *e)
{
    struct vx_provider *p;
    int rc;
    if (!cfg || !out)
        return vx_err_set(e, VX_EINVAL, "provider: no configuration");
    p = calloc(1, sizeof(*p));
    if (!p)
        return vx_err_set(e, VX_ENOMEM, "provider: out of memory");
    rc = provider_configure(p, cfg, e);
    if (rc != 0) {
        vx_provider_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void vx_provider_free(struct vx_provider *p)
{
    if (!p)
        return;
    EVP_PKEY_free(p->key);
    free(p);
}

void vx_provider_set_clock(struct vx_provider *p, int64_t (*now)(void *), void *ud)
{
    p->now = now;
    p->now_ud = ud;
}

/* ---- building requests ---- */

#define S(x) ((x) ? (x) : "")

/* Finishes op without sending anything: a refused argument. Returns 0 (complete). */
static int op_refuse(struct vx_provider_op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int op_refuse(struct vx_provider_op *op, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    op->outcome = VX_PROVIDER_PERMANENT;
    op->rc = vx_err_set(&op->err, VX_EINVAL, "%s: %s", vx_provider_call_name(op->call), msg);
    op->armed = 0;
    return 0;
}

/* 1 when amount in currency can go on the wire as field; else op is refused (0). */
static int money_ok(struct vx_provider_op *op, const char *field, int64_t amount,
                    const char *currency)
{
    if (!currency || vx_currency_digits(currency) < 0)
        return op_refuse(op, "%s: unknown currency '%s'", field, S(currency));
    if (amount <= 0)
        return op_refuse(op, "%s: must be more than zero, not %lld", field, (long long)amount);
    return 1;
}

/* The provider's softDescriptor is 1 to 16 characters. */
static int descriptor_ok(struct vx_provider_op *op, const char *s)
{
    if (s && (strlen(s) < 1 || strlen(s) > 16))
        return op_refuse(op, "softDescriptor: 1 to 16 characters, not '%s'", s);
    return 1;
}

/* Starts op for call on object id (NULL for the create calls) with idempotency key. */
static int op_begin(struct vx_provider_op *op, struct vx_provider *p, enum vx_provider_call call,
                    const char *id, const char *key)
{
    memset(op, 0, sizeof(*op));
    op->call = call;
    op->p = p;
    vx_http_op_init(&op->http, calls[call].method, "");
    if (!p)
        return op_refuse(op, "no provider");
    if (calls[call].idem && !vx_provider_key_valid(key))
        return op_refuse(op, "idempotency key must be 1 to 32 of [A-Za-z0-9_-], not '%s'", S(key));
    if (calls[call].idem)
        vx_strlcpy(op->key, key, sizeof(op->key));
    if (strstr(calls[call].path, "%s")) {
        if (!token_valid(id, 63))
            return op_refuse(op, "bad object ID '%s'", S(id));
            /* the format comes from the call table, never from input */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        char tail[128];
        vx_snprintf(tail, sizeof(tail), calls[call].path, id);
#pragma GCC diagnostic pop
        vx_snprintf(op->path, sizeof(op->path), "%s%s", p->base, tail);
    } else {
        vx_snprintf(op->path, sizeof(op->path), "%s%s", p->base, calls[call].path);
    }
    return 1;
}

static void json_add_str(struct json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, json_object_new_string(v));
}

/* {"amount": "19.99", "currencyCode": "EUR"} under k (checked by money_ok before). */
static void json_add_money(struct json_object *o, const char *k, int64_t minor, const char *cur)
{
    char amount[32];
    struct json_object *m;
    if (vx_money_format(minor, cur, amount, sizeof(amount)) != 0)
        return;
    m = json_object_new_object();
    json_object_object_add(m, "amount", json_object_new_string(amount));
    json_object_object_add(m, "currencyCode", json_object_new_string(cur));
    json_object_object_add(o, k, m);
}

/* merchantMetadata from the optional fields, when any is given. */
static void json_add_metadata(struct json_object *o, const char *ref, const char *store,
                              const char *note, const char *custom)
{
    struct json_object *m;
    if (!ref && !store && !note && !custom)
        return;
    m = json_object_new_object();
    json_add_str(m, "merchantReferenceId", ref);
    json_add_str(m, "merchantStoreName", store);
    json_add_str(m, "noteToBuyer", note);
    json_add_str(m, "customInformation", custom);
    json_object_object_add(o, "merchantMetadata", m);
}

static int op_arm(struct vx_provider_op *op);

/* Takes the body (and frees the object), then arms the first attempt. */
static int op_body_arm(struct vx_provider_op *op, struct json_object *body)
{
    if (body) {
        const char *s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
        op->body_len = strlen(s);
        op->body = strdup(s);
        json_object_put(body);
        if (!op->body) {
            op->outcome = VX_PROVIDER_PERMANENT;
            op->rc = vx_err_set(&op->err, VX_ENOMEM, "%s: out of memory",
                                vx_provider_call_name(op->call));
            return 0;
        }
    }
    return op_arm(op);
}

/* Builds op->http for the next attempt: the described request, signed now. */
static int op_arm(struct vx_provider_op *op)
{
    struct vx_provider *p = op->p;
    struct vx_paysign_hdr h[7];
    struct vx_buf auth;
    struct vx_err e;
    char date[17], url[640];
    size_t n = 0;
    int rc = 0;

    vx_err_clear(&e);
    if (vx_paysign_date(p->now ? p->now(p->now_ud) : vx_now(), date) != 0)
        return op_refuse(op, "clock out of range");
    vx_http_op_release(&op->http);
    vx_snprintf(url, sizeof(url), "%s%s", p->origin, op->path);
    vx_http_op_init(&op->http, calls[op->call].method, url);
    h[n++] = (struct vx_paysign_hdr){"accept", "application/json"};
    h[n++] = (struct vx_paysign_hdr){"content-type", "application/json"};
    h[n++] = (struct vx_paysign_hdr){"x-amz-pay-date", date};
    h[n++] = (struct vx_paysign_hdr){"x-amz-pay-host", p->host};
    h[n++] = (struct vx_paysign_hdr){"x-amz-pay-region", p->region};
    if (op->key[0])
        h[n++] = (struct vx_paysign_hdr){"x-amz-pay-idempotency-key", op->key};
    if (op->simulation[0])
        h[n++] = (struct vx_paysign_hdr){"x-amz-pay-simulation-code", op->simulation};
    vx_buf_init(&auth);
    rc = vx_paysign_authorize(p->key, p->alg, p->key_id, op->http.method, op->path, NULL, h, n,
                              op->body, op->body_len, &auth, &e);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = vx_http_op_header(&op->http, h[i].name, h[i].value);
    if (rc == 0)
        rc = vx_http_op_header(&op->http, "authorization", auth.data);
    if (rc == 0 && op->body)
        rc = vx_http_op_body(&op->http, op->body, op->body_len);
    vx_buf_release(&auth);
    if (rc != 0) {
        op->outcome = VX_PROVIDER_PERMANENT;
        op->rc = vx_err_set(&op->err, rc, "%s: cannot sign the request: %s",
                            vx_provider_call_name(op->call), e.msg);
        op->armed = 0;
        return 0;
    }
    op->http.connect_timeout_ms = p->connect_timeout_ms;
    op->http.timeout_ms = p->timeout_ms;
    op->http.ca_file = p->ca_file[0] ? p->ca_file : NULL;
    op->armed = 1;
    return 1;
}

int vx_provider_op_rearm(struct vx_provider_op *op)
{
    return op->armed ? op_arm(op) : 0;
}

int vx_provider_op_simulate(struct vx_provider_op *op, const char *code)
{
    if (!op->armed)
        return 0;
    if (!token_valid(code, sizeof(op->simulation) - 1))
        return op_refuse(op, "bad simulation code '%s'", S(code));
    vx_strlcpy(op->simulation, code, sizeof(op->simulation));
    return op_arm(op);
}

/* An ID-only call: GET, or DELETE with an optional body. */
static int op_simple(struct vx_provider_op *op, struct vx_provider *p, enum vx_provider_call call,
                     const char *id, struct json_object *body)
{
    if (!op_begin(op, p, call, id, NULL)) {
        json_object_put(body);
        return 0;
    }
    return op_body_arm(op, body);
}

int vx_provider_op_permission_get(struct vx_provider_op *op, struct vx_provider *p,
                                  const char *permission_id)
{
    return op_simple(op, p, VX_PROVIDER_PERMISSION_GET, permission_id, NULL);
}

int vx_provider_op_permission_close(struct vx_provider_op *op, struct vx_provider *p,
                                    const char *permission_id, const char *reason,
                                    int cancel_pending)
{
    struct json_object *b = json_object_new_object();
    json_add_str(b, "closureReason", reason);
    json_object_object_add(b, "cancelPendingCharges", json_object_new_boolean(!!cancel_pending));
    return op_simple(op, p, VX_PROVIDER_PERMISSION_CLOSE, permission_id, b);
}

int vx_provider_op_session_get(struct vx_provider_op *op, struct vx_provider *p,
                               const char *session_id)
{
    return op_simple(op, p, VX_PROVIDER_SESSION_GET, session_id, NULL);
}

int vx_provider_op_charge_get(struct vx_provider_op *op, struct vx_provider *p,
                              const char *charge_id)
{
    return op_simple(op, p, VX_PROVIDER_CHARGE_GET, charge_id, NULL);
}

int vx_provider_op_charge_cancel(struct vx_provider_op *op, struct vx_provider *p,
                                 const char *charge_id, const char *reason)
{
    struct json_object *b = json_object_new_object();
    json_add_str(b, "cancellationReason", reason);
    return op_simple(op, p, VX_PROVIDER_CHARGE_CANCEL, charge_id, b);
}

int vx_provider_op_refund_get(struct vx_provider_op *op, struct vx_provider *p,
                              const char *refund_id)
{
    return op_simple(op, p, VX_PROVIDER_REFUND_GET, refund_id, NULL);
}

static int one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return 1;
    return 0;
}

int vx_provider_op_charge_create(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                 const struct vx_provider_charge_req *r)
{
    struct json_object *b;

    if (!op_begin(op, p, VX_PROVIDER_CHARGE_CREATE, NULL, key))
        return 0;
    if (!r)
        return op_refuse(op, "no request");
    if (!token_valid(r->charge_permission_id, 63))
        return op_refuse(op, "bad charge permission ID '%s'", S(r->charge_permission_id));
    if (!money_ok(op, "chargeAmount", r->amount, r->currency) ||
        !descriptor_ok(op, r->soft_descriptor))
        return 0;
    if (r->soft_descriptor && !r->capture_now)
        return op_refuse(op, "softDescriptor: only with capture now");
    b = json_object_new_object();
    json_add_str(b, "chargePermissionId", r->charge_permission_id);
    json_add_money(b, "chargeAmount", r->amount, r->currency);
    json_object_object_add(b, "captureNow", json_object_new_boolean(!!r->capture_now));
    json_add_str(b, "softDescriptor", r->soft_descriptor);
    json_object_object_add(b, "canHandlePendingAuthorization",
                           json_object_new_boolean(!!r->can_handle_pending));
    json_add_metadata(b, r->merchant_reference_id, r->store_name, r->note_to_buyer,
                      r->custom_information);
    return op_body_arm(op, b);
}

/* The checks of a checkout session request; 1 when it can be sent. */
static int session_ok(struct vx_provider_op *op, const struct vx_provider_session_req *r)
{
    static const char *const types[] = {"OneTime", "Recurring", "PaymentMethodOnFile"};
    static const char *const intents[] = {"Authorize", "AuthorizeWithCapture", "Confirm"};
    static const char *const units[] = {"Year", "Month", "Week", "Day", "Variable"};

    if (!one_of(r->permission_type, types, VX_ARRAY_LEN(types)))
        return op_refuse(op,
                         "chargePermissionType: OneTime, Recurring or PaymentMethodOnFile, "
                         "not '%s'",
                         S(r->permission_type));
    if (strcmp(r->permission_type, "Recurring") == 0) {
        if (!one_of(r->frequency_unit, units, VX_ARRAY_LEN(units)))
            return op_refuse(op, "frequency: Year, Month, Week, Day or Variable, not '%s'",
                             S(r->frequency_unit));
        if (r->frequency_value < 1)
            return op_refuse(op, "frequency: a value of at least 1, not %d", r->frequency_value);
        if (r->recurring_amount &&
            !money_ok(op, "recurringMetadata.amount", r->recurring_amount, r->currency))
            return 0;
    }
    if (!one_of(r->payment_intent, intents, VX_ARRAY_LEN(intents)))
        return op_refuse(op, "paymentIntent: Authorize, AuthorizeWithCapture or Confirm, not '%s'",
                         S(r->payment_intent));
    /* Confirm takes no amount; the others need one */
    if ((r->amount || strcmp(r->payment_intent, "Confirm") != 0) &&
        !money_ok(op, "chargeAmount", r->amount, r->currency))
        return 0;
    return 1;
}

int vx_provider_op_session_create(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                  const struct vx_provider_session_req *r)
{
    struct json_object *b, *pd, *wc;

    if (!op_begin(op, p, VX_PROVIDER_SESSION_CREATE, NULL, key))
        return 0;
    if (!r)
        return op_refuse(op, "no request");
    if (!session_ok(op, r))
        return 0;
    b = json_object_new_object();
    json_add_str(b, "storeId", r->store_id);
    json_add_str(b, "chargePermissionType", r->permission_type);
    if (strcmp(r->permission_type, "Recurring") == 0) {
        struct json_object *rm = json_object_new_object(), *f = json_object_new_object();
        char value[16];
        vx_snprintf(value, sizeof(value), "%d", r->frequency_value);
        json_add_str(f, "unit", r->frequency_unit);
        json_add_str(f, "value", value); /* the provider writes it as a string */
        json_object_object_add(rm, "frequency", f);
        if (r->recurring_amount)
            json_add_money(rm, "amount", r->recurring_amount, r->currency);
        json_object_object_add(b, "recurringMetadata", rm);
    }
    pd = json_object_new_object();
    json_add_str(pd, "paymentIntent", r->payment_intent);
    if (r->amount)
        json_add_money(pd, "chargeAmount", r->amount, r->currency);
    json_object_object_add(b, "paymentDetails", pd);
    wc = json_object_new_object();
    json_add_str(wc, "checkoutReviewReturnUrl", r->review_return_url);
    json_add_str(wc, "checkoutResultReturnUrl", r->result_return_url);
    json_object_object_add(b, "webCheckoutDetails", wc);
    json_add_metadata(b, r->merchant_reference_id, r->store_name, r->note_to_buyer, NULL);
    return op_body_arm(op, b);
}

/* The calls whose body is one amount under name (and an optional soft descriptor); id_field
 * names the object in the body instead of the path (refunds). */
static int op_amount(struct vx_provider_op *op, struct vx_provider *p, enum vx_provider_call call,
                     const char *key, const char *id, const char *id_field, const char *name,
                     int64_t amount, const char *currency, const char *soft_descriptor)
{
    struct json_object *b;

    if (!op_begin(op, p, call, id_field ? NULL : id, key))
        return 0;
    if (id_field && !token_valid(id, 63))
        return op_refuse(op, "bad %s '%s'", id_field, S(id));
    if (!money_ok(op, name, amount, currency) || !descriptor_ok(op, soft_descriptor))
        return 0;
    b = json_object_new_object();
    if (id_field)
        json_add_str(b, id_field, id);
    json_add_money(b, name, amount, currency);
    json_add_str(b, "softDescriptor", soft_descriptor);
    return op_body_arm(op, b);
}

int vx_provider_op_session_complete(struct vx_provider_op *op, struct vx_provider *p,
                                    const char *key, const char *session_id, int64_t amount,
                                    const char *currency)
{
    return op_amount(op, p, VX_PROVIDER_SESSION_COMPLETE, key, session_id, NULL, "chargeAmount",
                     amount, currency, NULL);
}

int vx_provider_op_charge_capture(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                  const char *charge_id, int64_t amount, const char *currency,
                                  const char *soft_descriptor)
{
    return op_amount(op, p, VX_PROVIDER_CHARGE_CAPTURE, key, charge_id, NULL, "captureAmount",
                     amount, currency, soft_descriptor);
}

int vx_provider_op_refund_create(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                 const char *charge_id, int64_t amount, const char *currency,
                                 const char *soft_descriptor)
{
    return op_amount(op, p, VX_PROVIDER_REFUND_CREATE, key, charge_id, "chargeId", "refundAmount",
                     amount, currency, soft_descriptor);
}

/* ---- reading answers ---- */

static void copy_str(struct json_object *o, const char *k, char *dst, size_t size)
{
    const char *v = vx_json_get_str(o, k);
    if (v)
        vx_strlcpy(dst, v, size);
}

static void read_money(struct json_object *o, const char *k, struct vx_money *m)
{
    struct json_object *v = vx_json_get(o, k);
    const char *cur = vx_json_get_str(v, "currencyCode");
    const char *amount = vx_json_get_str(v, "amount");
    if (cur && amount && strlen(cur) == 3 && vx_money_parse(amount, cur, &m->amount) == 0) {
        memcpy(m->currency, cur, 4);
        m->set = 1;
    }
}

static void read_time(struct json_object *o, const char *k, int64_t *out)
{
    const char *v = vx_json_get_str(o, k);
    if (v)
        vx_paysign_date_parse(v, out);
}

/* The typed object of an answer; -1 when the body is not a JSON object. */
static int result_read(struct vx_provider_result *r, const char *body)
{
    struct json_object *o = body ? json_tokener_parse(body) : NULL;
    struct json_object *sd, *reasons0;

    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return -1;
    }
    copy_str(o, "chargeId", r->charge_id, sizeof(r->charge_id));
    copy_str(o, "chargePermissionId", r->charge_permission_id, sizeof(r->charge_permission_id));
    copy_str(o, "checkoutSessionId", r->checkout_session_id, sizeof(r->checkout_session_id));
    copy_str(o, "refundId", r->id, sizeof(r->id));
    copy_str(o, "chargePermissionType", r->permission_type, sizeof(r->permission_type));
    copy_str(o, "releaseEnvironment", r->release_env, sizeof(r->release_env));
    copy_str(vx_json_get(o, "webCheckoutDetails"), "amazonPayRedirectUrl", r->redirect_url,
             sizeof(r->redirect_url));
    sd = vx_json_get(o, "statusDetails");
    copy_str(sd, "state", r->state, sizeof(r->state));
    copy_str(sd, "reasonCode", r->reason_code, sizeof(r->reason_code));
    copy_str(sd, "reasonDescription", r->message, sizeof(r->message));
    reasons0 = vx_json_get(sd, "reasons");
    if (reasons0 && json_object_is_type(reasons0, json_type_array) &&
        json_object_array_length(reasons0) > 0) {
        reasons0 = json_object_array_get_idx(reasons0, 0);
        copy_str(reasons0, "reasonCode", r->reason_code, sizeof(r->reason_code));
        copy_str(reasons0, "reasonDescription", r->message, sizeof(r->message));
    }
    /* an error body */
    copy_str(o, "reasonCode", r->reason_code, sizeof(r->reason_code));
    copy_str(o, "message", r->message, sizeof(r->message));
    read_money(o, "chargeAmount", &r->charge_amount);
    if (!r->charge_amount.set)
        read_money(vx_json_get(o, "paymentDetails"), "chargeAmount", &r->charge_amount);
    read_money(o, "captureAmount", &r->capture_amount);
    read_money(o, "refundedAmount", &r->refunded_amount);
    read_money(o, "refundAmount", &r->refund_amount);
    read_money(vx_json_get(o, "limits"), "amountLimit", &r->amount_limit);
    read_money(vx_json_get(o, "limits"), "amountBalance", &r->amount_balance);
    read_time(o, "creationTimestamp", &r->created);
    read_time(o, "expirationTimestamp", &r->expires);
    json_object_put(o);
    return 0;
}

/* The object's own ID (a refund's is read as refundId directly). */
static void result_own_id(struct vx_provider_result *r, enum vx_provider_call call)
{
    const char *id = calls[call].object == OBJ_CHARGE       ? r->charge_id
                     : calls[call].object == OBJ_PERMISSION ? r->charge_permission_id
                     : calls[call].object == OBJ_SESSION    ? r->checkout_session_id
                                                            : NULL;
    if (id)
        vx_strlcpy(r->id, id, sizeof(r->id));
}

/* The outcome of a 2xx object; -1 when a charge or refund carries no state we know. */
static int object_outcome(const struct vx_provider_op *op, enum vx_provider_outcome *out)
{
    const char *s = op->res.state;
    enum vx_provider_call c = op->call;
    enum vx_provider_outcome o = VX_PROVIDER_SUCCESS;

    if (calls[c].object == OBJ_CHARGE) {
        if (strcmp(s, "AuthorizationInitiated") == 0 || strcmp(s, "CaptureInitiated") == 0)
            o = VX_PROVIDER_PENDING;
        else if (strcmp(s, "Authorized") == 0 || strcmp(s, "Captured") == 0)
            o = VX_PROVIDER_SUCCESS;
        else if (strcmp(s, "Canceled") == 0)
            o = c == VX_PROVIDER_CHARGE_CANCEL ? VX_PROVIDER_SUCCESS : VX_PROVIDER_PERMANENT;
        else if (strcmp(s, "Declined") == 0)
            o = reason_outcome(op->res.reason_code, VX_PROVIDER_HARD_DECLINE);
        else
            return -1;
    } else if (calls[c].object == OBJ_REFUND) {
        if (strcmp(s, "RefundInitiated") == 0)
            o = VX_PROVIDER_PENDING;
        else if (strcmp(s, "Refunded") == 0)
            o = VX_PROVIDER_SUCCESS;
        else if (strcmp(s, "Declined") == 0)
            o = reason_outcome(op->res.reason_code, VX_PROVIDER_HARD_DECLINE);
        else
            return -1;
    }
    if (o == VX_PROVIDER_SUCCESS && op->http.status == 202)
        o = VX_PROVIDER_PENDING;
    *out = o;
    return 0;
}

static int transient_status(long s)
{
    return s == 408 || s == 425 || s == 429 || s >= 500;
}

/* Retry-After in milliseconds (seconds form only; an HTTP date is ignored), or -1. */
static long long retry_after_ms(const struct vx_http_op *h)
{
    const char *v = vx_http_op_resp_header(h, "retry-after");
    long long s;
    if (!v || vx_parse_ll(v, 0, 86400, &s) != 0)
        return -1;
    return s * 1000;
}

static int is_mutation(const struct vx_provider_op *op)
{
    return strcmp(calls[op->call].method, "GET") != 0;
}

static int op_finish(struct vx_provider_op *op, enum vx_provider_outcome o, int rc)
{
    op->outcome = o;
    op->rc = rc;
    op->armed = 0;
    return 0;
}

/* Retries ran out (or a Retry-After was too long): RETRYABLE, or UNKNOWN after a lost
 * answer to a mutation. */
static int op_give_up(struct vx_provider_op *op)
{
    const char *name = vx_provider_call_name(op->call);
    int unknown = op->maybe_processed && is_mutation(op);
    if (op->http.rc != 0)
        vx_err_set(&op->err, op->http.rc, "%s: no answer after %d attempts: %s", name, op->attempts,
                   op->http.err.msg);
    else
        vx_err_set(&op->err, VX_EUPSTREAM, "%s: HTTP %ld %s after %d attempts%s", name,
                   op->http.status, op->res.reason_code, op->attempts,
                   unknown ? " (an earlier attempt got no answer)" : "");
    return op_finish(op, unknown ? VX_PROVIDER_UNKNOWN : VX_PROVIDER_RETRYABLE,
                     op->http.rc ? op->http.rc : VX_EUPSTREAM);
}

int vx_provider_op_complete(struct vx_provider_op *op)
{
    struct vx_http_op *h = &op->http;
    const char *name = vx_provider_call_name(op->call);
    enum vx_provider_outcome o;
    int parsed;

    if (!op->armed) /* complete already, or refused before anything was sent */
        return 0;
    op->attempts++;
    op->retry_after_ms = 0;
    memset(&op->res, 0, sizeof(op->res));
    vx_err_clear(&op->err);
    op->res.status = h->rc == 0 ? h->status : 0;
    parsed = h->rc == 0 ? result_read(&op->res, h->resp.data) : -1;

    if (h->rc != 0 || transient_status(h->status)) {
        long long wait = (long long)op->p->backoff_ms << (op->attempts - 1);
        long long ra = h->rc == 0 ? retry_after_ms(h) : -1;
        if (h->rc != 0)
            op->maybe_processed = 1;
        if (op->attempts > op->p->retries || ra > op->p->max_wait_ms)
            return op_give_up(op);
        op->retry_after_ms = (int)(ra > wait ? ra : wait);
        return op_arm(op);
    }
    if (h->status >= 200 && h->status < 300) {
        result_own_id(&op->res, op->call);
        if (parsed != 0 || object_outcome(op, &o) != 0) {
            vx_err_set(&op->err, VX_EPARSE, "%s: HTTP %ld with an answer that cannot be read", name,
                       h->status);
            return op_finish(op, is_mutation(op) ? VX_PROVIDER_UNKNOWN : VX_PROVIDER_RETRYABLE,
                             VX_EPARSE);
        }
        if (o != VX_PROVIDER_SUCCESS)
            vx_err_set(&op->err, VX_EDENIED, "%s: %s %s%s%s", name, op->res.state,
                       op->res.reason_code, op->res.message[0] ? ": " : "", op->res.message);
        return op_finish(op, o, 0);
    }
    /* a final refusal */
    if (parsed != 0)
        vx_strlcpy(op->res.message, h->resp.data ? h->resp.data : "", 200);
    vx_err_set(&op->err, VX_EDENIED, "%s: HTTP %ld %s%s%s", name, h->status,
               op->res.reason_code[0] ? op->res.reason_code : "(no reason code)",
               op->res.message[0] ? ": " : "", op->res.message);
    return op_finish(op, reason_outcome(op->res.reason_code, VX_PROVIDER_PERMANENT), 0);
}

void vx_provider_op_give_up(struct vx_provider_op *op)
{
    if (op->armed)
        op_give_up(op);
}

void vx_provider_run(struct vx_provider_op *op)
{
    while (op->armed) {
        struct timespec ts;
        vx_http_op_run(&op->http);
        if (!vx_provider_op_complete(op))
            break;
        ts.tv_sec = op->retry_after_ms / 1000;
        ts.tv_nsec = (long)(op->retry_after_ms % 1000) * 1000000L;
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        /* the date signed before the wait is stale by now */
        vx_provider_op_rearm(op);
    }
}

void vx_provider_op_release(struct vx_provider_op *op)
{
    vx_http_op_release(&op->http);
    free(op->body);
    op->body = NULL;
    op->body_len = 0;
}
