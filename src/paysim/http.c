/*
 * libmicrohttpd glue and the request pipeline of the provider API.
 *
 * A /v2 request (or /sandbox/v2, /live/v2) runs, in this order, the steps the
 * provider runs, each able to answer and stop: route (404/405), injected faults
 * (latency, 500/503/429 before anything happens), the signature (which names
 * the merchant), throttling (429), the idempotency key (replay, or
 * DuplicateIdempotencyKey), the JSON body, the operation. The answer of the
 * operation is stored under the key before it is sent, so a "drop" fault (the
 * connection closed instead of answering) leaves exactly what a lost answer
 * leaves in production: the work done once, and a replay for the retry.
 * Throttled and fault answers are not stored: a retry must be able to pass.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paysim.h"
#include "voxcart/log.h"

#define BODY_MAX (256 * 1024)

struct conn_ctx {
    struct vx_buf body;
    int too_large;
};

const char *ps_req_header(const struct ps_req *r, const char *name)
{
    for (size_t i = 0; i < r->nhdr; i++)
        if (vx_strcaseeq(r->hdr[i].name, name))
            return r->hdr[i].value;
    return NULL;
}

static void reply_body(struct ps_req *r, int status, const char *ctype, const char *body)
{
    r->status = status;
    r->content_type = ctype;
    r->out.len = 0;
    vx_buf_appends(&r->out, body);
}

void ps_reply_json(struct ps_req *r, int status, struct json_object *o)
{
    reply_body(r, status, "application/json",
               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static void fail_v(struct ps_req *r, int status, int sim, const char *reason, const char *fmt,
                   va_list ap)
{
    char msg[512];
    struct json_object *o = json_object_new_object();

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (sim) {
        struct json_object *err = json_object_new_object();
        json_object_object_add(err, "code", json_object_new_string(reason));
        json_object_object_add(err, "message", json_object_new_string(msg));
        json_object_object_add(o, "error", err);
    } else {
        json_object_object_add(o, "reasonCode", json_object_new_string(reason));
        json_object_object_add(o, "message", json_object_new_string(msg));
    }
    ps_reply_json(r, status, o);
}

void ps_fail(struct ps_req *r, int status, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(r, status, 0, reason, fmt, ap);
    va_end(ap);
}

void ps_sim_fail(struct ps_req *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(r, status, 1, code, fmt, ap);
    va_end(ap);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct ps_req *r = cls;
    (void)kind;
    if (r->nhdr < PS_MAX_HEADERS) {
        r->hdr[r->nhdr].name = key;
        r->hdr[r->nhdr].value = value ? value : "";
        r->nhdr++;
    }
    return MHD_YES;
}

/* RFC 3986 encoding of a decoded query component, so the canonical query is rebuilt
 * exactly whichever way the client encoded it. */
static void query_append(char *q, size_t size, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(q);

    for (; s && *s && n + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            q[n++] = (char)ch;
        } else {
            q[n++] = '%';
            q[n++] = hex[ch >> 4];
            q[n++] = hex[ch & 15];
        }
    }
    q[n] = '\0';
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct ps_req *r = cls;
    size_t n = strlen(r->query);
    (void)kind;
    if (n && n + 1 < sizeof(r->query))
        r->query[n] = '&', r->query[n + 1] = '\0';
    query_append(r->query, sizeof(r->query), key);
    n = strlen(r->query);
    if (n + 1 < sizeof(r->query))
        r->query[n] = '=', r->query[n + 1] = '\0';
    query_append(r->query, sizeof(r->query), value);
    return MHD_YES;
}

const struct ps_route *ps_route_match(const struct ps_route *routes, size_t n, struct ps_req *r,
                                      int *method_mismatch)
{
    *method_mismatch = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = routes[i].pattern, *s = r->rest;
        size_t nargs = 0;
        while (*p && *s) {
            if (*p == '*') {
                if (nargs < VX_ARRAY_LEN(r->args))
                    r->args[nargs++] = s;
                while (*s && *s != '/')
                    s++;
                p++;
            } else if (*p == *s) {
                p++, s++;
            } else {
                break;
            }
        }
        if (*p || *s)
            continue;
        if (strcmp(routes[i].method, r->method) != 0) {
            *method_mismatch = 1;
            continue;
        }
        r->nargs = nargs;
        return &routes[i];
    }
    return NULL;
}

char *ps_req_args_split(struct ps_req *r)
{
    char *copy = strdup(r->rest);
    for (size_t i = 0; copy && i < r->nargs; i++) {
        char *a = copy + (r->args[i] - r->rest), *slash = strchr(a, '/');
        if (slash)
            *slash = '\0';
        r->args[i] = a;
    }
    return copy;
}

/* The first fault that applies to op, consumed (a share of requests, counted); 0 when none. */
static int fault_take(const char *op, struct ps_fault *out)
{
    for (size_t i = 0; i < ps.faults.n; i++) {
        struct ps_fault *f = &ps.faults.v[i];
        if (strcmp(f->op, "*") != 0 && strcmp(f->op, op) != 0)
            continue;
        if (f->percent > 0) { /* every (100 / percent)th request it matches, evenly */
            f->acc += f->percent;
            if (f->acc < 100)
                continue;
            f->acc -= 100;
        }
        f->applied++;
        *out = *f;
        if (f->remaining > 0 && --f->remaining == 0) {
            memmove(f, f + 1, (ps.faults.n - i - 1) * sizeof(*f));
            ps.faults.n--;
        }
        return 1;
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int api_body(struct ps_req *r)
{
    struct json_tokener *tok;
    enum json_tokener_error jerr;

    if (r->body_len == 0)
        return 0;
    tok = json_tokener_new();
    r->json = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue)
        jerr = json_tokener_error_parse_eof;
    json_tokener_free(tok);
    if (!r->json || jerr != json_tokener_success ||
        !json_object_is_type(r->json, json_type_object)) {
        json_object_put(r->json);
        r->json = NULL;
        ps_fail(r, 400, "InvalidRequestFormat", "the request body is not a JSON object%s%s",
                jerr != json_tokener_success ? ": " : "",
                jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
        return -1;
    }
    return 0;
}

/* The idempotency step: 1 when it answered (a replay or a refusal), else 0 with *key set. */
static int idem_step(struct ps_req *r, const struct ps_route *route, const char **key,
                     unsigned char fp[32])
{
    const char *k = ps_req_header(r, "x-amz-pay-idempotency-key");
    struct ps_idem *rec;

    *key = NULL;
    if (!route->idempotent)
        return 0;
    if (!k || !*k) {
        if (route->idempotent == 1) {
            ps_fail(r, 400, "MissingHeaderValue", "x-amz-pay-idempotency-key is required for %s",
                    route->op_name);
            return 1;
        }
        return 0;
    }
    if (!ps_idem_key_valid(k)) {
        ps_fail(r, 400, "InvalidHeaderValue",
                "x-amz-pay-idempotency-key '%.40s' must be 1 to 32 characters of [A-Za-z0-9_-]", k);
        return 1;
    }
    ps_idem_fingerprint(r, fp);
    rec = ps_idem_find(r->merchant->id, k);
    if (rec) {
        if (memcmp(rec->fp, fp, 32) != 0) {
            ps_fail(r, 400, "DuplicateIdempotencyKey",
                    "the idempotency key '%s' was already used for a different request", k);
            return 1;
        }
        reply_body(r, rec->status, "application/json", rec->body);
        return 1;
    }
    *key = k;
    return 0;
}

/* Runs the provider API pipeline; returns 0, or -1 when the connection must be dropped. */
static int api_request(struct ps_req *r)
{
    const struct ps_route *route;
    struct ps_fault fault;
    int mismatch, has_fault, drop = 0;
    const char *key = NULL;
    unsigned char fp[32];
    char *argbuf = NULL;

    route = ps_route_match(ps_api_routes, ps_api_nroutes, r, &mismatch);
    if (!route) {
        if (mismatch)
            ps_fail(r, 405, "UnsupportedOperation", "%s is not supported on /%s", r->method,
                    r->rest);
        else
            ps_fail(r, 404, "ResourceNotFound", "no operation at %s", r->path);
        return 0;
    }
    argbuf = ps_req_args_split(r);
    pthread_mutex_lock(&ps_lock);
    has_fault = fault_take(route->op_name, &fault);
    if (has_fault && strcmp(fault.kind, "latency") == 0) {
        pthread_mutex_unlock(&ps_lock);
        sleep_ms(fault.latency_ms);
        pthread_mutex_lock(&ps_lock);
    }
    if (has_fault && strcmp(fault.kind, "status") == 0) {
        ps_fail(r, fault.status,
                fault.status == 429   ? "TooManyRequests"
                : fault.status == 503 ? "ServiceUnavailable"
                                      : "InternalServerError",
                "injected fault on %s", route->op_name);
        goto out;
    }
    drop = has_fault && strcmp(fault.kind, "drop") == 0;
    ps_tick();
    if (ps_auth_check(r) != 0)
        goto out;
    if (route->throttle_op >= 0 && ps_throttle_take(r, (enum ps_op)route->throttle_op) != 0)
        goto out;
    if (idem_step(r, route, &key, fp))
        goto out;
    if (api_body(r) != 0)
        goto store;
    r->sim_code = ps_req_header(r, "x-amz-pay-simulation-code");
    /* as at the provider, simulations are a sandbox's: live requests are charged for real */
    if ((r->sim_code && !*r->sim_code) || r->env == PS_ENV_LIVE)
        r->sim_code = NULL;
    route->handler(r);
store:
    if (key && r->status < 500 && r->status != 429) {
        char *body = strndup(r->out.data ? r->out.data : "", r->out.len);
        if (body) {
            ps_idem_store(r->merchant->id, key, fp, r->status, body);
            free(body);
        }
    }
out:
    pthread_mutex_unlock(&ps_lock);
    free(argbuf);
    if (drop && r->status < 500) {
        vx_info("paysim", "dropping the connection after %s answered %d (injected fault)",
                route->op_name, r->status);
        return -1;
    }
    return 0;
}

static const char *api_prefix(const char *path, enum ps_env *env)
{
    static const struct {
        const char *prefix;
        enum ps_env env;
    } t[] = {
        {"/v2/", PS_ENV_SANDBOX}, {"/sandbox/v2/", PS_ENV_SANDBOX}, {"/live/v2/", PS_ENV_LIVE}};
    for (size_t i = 0; i < VX_ARRAY_LEN(t); i++) {
        size_t n = strlen(t[i].prefix);
        if (strncmp(path, t[i].prefix, n) == 0) {
            *env = t[i].env;
            return path + n;
        }
    }
    return NULL;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct ps_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char rid[40];

    resp = MHD_create_response_from_buffer(r->out.len, r->out.data ? r->out.data : (char *)"",
                                           MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    if (r->location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    ps_random_digits(rid, 20);
    MHD_add_response_header(resp, "x-amzn-RequestId", rid);
    ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct conn_ctx *ctx = *con_cls;
    struct ps_req r;
    enum MHD_Result ret;
    int drop = 0;
    (void)cls;
    (void)version;

    if (!ctx) {
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
            return MHD_NO;
        vx_buf_init(&ctx->body);
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_size) {
        if (ctx->body.len + *upload_size > BODY_MAX)
            ctx->too_large = 1;
        else if (vx_buf_append(&ctx->body, upload_data, *upload_size) != 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }

    memset(&r, 0, sizeof(r));
    vx_buf_init(&r.out);
    r.method = method;
    r.path = url;
    r.body = ctx->body.data ? ctx->body.data : "";
    r.body_len = ctx->body.len;
    r.conn = c;
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &r);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &r);

    if (ctx->too_large) {
        ps_fail(&r, 413, "InvalidRequest", "the request body is larger than %d bytes", BODY_MAX);
    } else if ((r.rest = api_prefix(url, &r.env)) != NULL) {
        drop = api_request(&r) != 0;
    } else if (strncmp(url, "/_sim/", 6) == 0 || strcmp(url, "/_sim") == 0) {
        r.rest = url[5] ? url + 6 : "";
        ps_setup_dispatch(&r);
    } else if (strncmp(url, "/checkout/", 10) == 0) {
        r.rest = url + 10;
        ps_page_dispatch(&r);
    } else if (strcmp(url, "/healthz") == 0) {
        reply_body(&r, 200, "text/plain", "ok\n");
    } else {
        ps_sim_fail(&r, 404, "not_found", "no route for '%s'", url);
    }
    json_object_put(r.json);
    ret = drop ? MHD_NO : send_reply(c, &r);
    vx_buf_release(&r.out);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *ctx = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (ctx) {
        vx_buf_release(&ctx->body);
        free(ctx);
        *con_cls = NULL;
    }
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    vx_debug("mhd", "%s", msg);
}

struct MHD_Daemon *ps_http_start(int fd, const char *cert, const char *key)
{
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

    if (cert)
        return MHD_start_daemon(
            flags | MHD_USE_TLS, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)30, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_HTTPS_MEM_KEY,
            key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_logger, NULL, MHD_OPTION_END);
}
