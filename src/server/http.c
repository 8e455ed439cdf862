/*
 * libmicrohttpd glue: sockets, TLS, the thread pool, body collection with the
 * 128 KiB limit, routing, and the orderly shutdown.
 *
 * DESIGN
 * - One MHD daemon with an internal thread pool (one epoll loop per thread,
 *   sized to the cores). Handlers run on those threads and may block on Redis;
 *   each thread has its own Redis connection (store.c).
 * - Routes live in one table: path, method, handler. A path that matches with
 *   another method is a 405 with Allow, no match is a 404.
 * - Bodies are collected into a per-request buffer. A Content-Length over the
 *   limit is refused before any byte is read; a chunked body that grows past it
 *   is drained and refused with 413.
 * - SIGTERM/SIGINT: stop accepting (quiesce), wait until the requests in flight
 *   have been answered (at most 10 s), then stop the daemon.
 */
#include "server.h"

#include "voxcart/log.h"
#include "voxcart/store.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How much of an oversized body is read and thrown away so the client sees the 413. */
#define VX_DRAIN_MAX (1024 * 1024)

struct req_ctx {
    struct vx_buf body;
    uint64_t start_ns;
    size_t drained;
    int too_large;
    int answered; /* a response is queued already */
    /* an error decided before the body was read, answered once it has been drained */
    int pending_status;
    const char *pending_code, *pending_msg, *pending_allow;
    enum vx_outcome pending_outcome;
};

static atomic_int inflight;

struct route {
    const char *path;
    const char *method;
    void (*handler)(struct server *s, struct MHD_Connection *c, struct req_ctx *rc,
                    struct server_reply *out);
    int timed; /* counted in the request metrics */
};

static const char *mhd_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ud, MHD_HEADER_KIND, name);
}

static void route_alexa(struct server *s, struct MHD_Connection *c, struct req_ctx *rc,
                        struct server_reply *out)
{
    struct server_headers h = {mhd_header, c};
    skill_handle(s, &h, rc->body.data ? rc->body.data : "", rc->body.len, out);
}

static void route_healthz(struct server *s, struct MHD_Connection *c, struct req_ctx *rc,
                          struct server_reply *out)
{
    (void)s;
    (void)c;
    (void)rc;
    out->status = 200;
    out->content_type = "application/json";
    vx_buf_appends(&out->body, "{\"status\":\"ok\",\"version\":\"" VX_VERSION "\"}");
}

static void route_readyz(struct server *s, struct MHD_Connection *c, struct req_ctx *rc,
                         struct server_reply *out)
{
    struct vx_err e;
    (void)s;
    (void)c;
    (void)rc;
    vx_err_clear(&e);
    if (vx_store_ping(&e) != 0) {
        server_reply_error(out, 503, "store_unavailable", e.msg);
        return;
    }
    out->status = 200;
    out->content_type = "application/json";
    vx_buf_appends(&out->body, "{\"status\":\"ready\",\"redis\":\"ok\"}");
}

static void route_metrics(struct server *s, struct MHD_Connection *c, struct req_ctx *rc,
                          struct server_reply *out)
{
    (void)s;
    (void)c;
    (void)rc;
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4";
    vx_metrics_render(&out->body);
}

static const struct route routes[] = {
    {"/alexa", "POST", route_alexa, 1},
    {"/healthz", "GET", route_healthz, 0},
    {"/readyz", "GET", route_readyz, 0},
    {"/metrics", "GET", route_metrics, 0},
};

static enum MHD_Result send_reply(struct MHD_Connection *c, struct server_reply *out)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t len = out->body.len;
    char *data = out->body.data;

    /* MHD takes the buffer and frees it with free() */
    vx_buf_init(&out->body);
    resp = MHD_create_response_from_buffer(len, data ? data : (char *)"",
                                           data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    if (out->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out->content_type);
    if (out->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, out->allow);
    ret = MHD_queue_response(c, (unsigned)out->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_now(struct MHD_Connection *c, int status, const char *code,
                                 const char *msg, const char *allow, enum vx_outcome outcome,
                                 struct req_ctx *rc)
{
    struct server_reply out;
    enum MHD_Result ret;
    memset(&out, 0, sizeof(out));
    vx_buf_init(&out.body);
    server_reply_error(&out, status, code, msg);
    out.allow = allow;
    ret = send_reply(c, &out);
    rc->answered = 1;
    vx_metrics_request(outcome, vx_mono_ns() - rc->start_ns);
    return ret;
}

static void pend(struct req_ctx *rc, int status, const char *code, const char *msg,
                 const char *allow, enum vx_outcome outcome)
{
    rc->pending_status = status;
    rc->pending_code = code;
    rc->pending_msg = msg;
    rc->pending_allow = allow;
    rc->pending_outcome = outcome;
}

static enum MHD_Result reply_pending(struct MHD_Connection *c, struct req_ctx *rc)
{
    return reply_now(c, rc->pending_status, rc->pending_code, rc->pending_msg, rc->pending_allow,
                     rc->pending_outcome, rc);
}

static int has_chunked_body(struct MHD_Connection *c)
{
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return te && strstr(te, "chunked") != NULL;
}

static const struct route *route_find(const char *url, const char *method, const char **allow)
{
    const struct route *path_match = NULL;
    for (size_t i = 0; i < VX_ARRAY_LEN(routes); i++) {
        if (strcmp(routes[i].path, url) != 0)
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        path_match = &routes[i];
    }
    *allow = path_match ? path_match->method : NULL;
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct server *s = cls;
    struct req_ctx *rc = *con_cls;
    const struct route *route;
    const char *allow = NULL;
    struct server_reply out;
    enum MHD_Result ret;
    (void)version;

    if (!rc) {
        const char *cl, *expect;
        long long n = 0;
        rc = calloc(1, sizeof(*rc));
        if (!rc)
            return MHD_NO;
        vx_buf_init(&rc->body);
        rc->start_ns = vx_mono_ns();
        *con_cls = rc;
        atomic_fetch_add(&inflight, 1);
        vx_metrics_inflight(1);
        /*
         * Errors decided from the request line and headers. A client waiting for
         * 100-continue has sent no body yet, so it can be answered now. Otherwise
         * the body is already on its way; answering before reading it makes the
         * kernel reset the connection and the client never sees the answer, so the
         * body is drained (up to VX_DRAIN_MAX) and the error sent after.
         */
        route = route_find(url, method, &allow);
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        if (cl && vx_parse_ll(cl, 0, INT64_MAX, &n) != 0)
            n = 0;
        if (!route && allow)
            pend(rc, 405, "method_not_allowed", "use the method in Allow", allow,
                 VX_OUT_BAD_METHOD);
        else if (!route)
            pend(rc, 404, "not_found", "no such path", NULL, VX_OUT_NOT_FOUND);
        else if (n > VX_MAX_BODY)
            pend(rc, 413, "too_large", "the body is larger than 128 KiB", NULL, VX_OUT_TOO_LARGE);
        if (rc->pending_status && ((expect && vx_strcaseeq(expect, "100-continue")) ||
                                   n > VX_DRAIN_MAX || (n == 0 && !has_chunked_body(c))))
            return reply_pending(c, rc);
        return MHD_YES;
    }
    if (rc->answered) {
        /* a response is queued already: whatever still arrives is thrown away */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rc->pending_status && rc->body.len + *upload_data_size > VX_MAX_BODY) {
            pend(rc, 413, "too_large", "the body is larger than 128 KiB", NULL, VX_OUT_TOO_LARGE);
            vx_buf_release(&rc->body);
        }
        if (rc->pending_status) {
            rc->drained += *upload_data_size;
            *upload_data_size = 0;
            if (rc->drained > VX_DRAIN_MAX)
                return reply_pending(c, rc);
            return MHD_YES;
        }
        if (vx_buf_append(&rc->body, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rc->pending_status)
        return reply_pending(c, rc);
    route = route_find(url, method, &allow);
    if (!route) /* cannot happen: the first call answered already */
        return MHD_NO;
    memset(&out, 0, sizeof(out));
    vx_buf_init(&out.body);
    out.status = 500;
    out.outcome = VX_OUT_OK;
    route->handler(s, c, rc, &out);
    if (out.status >= 500 && out.outcome == VX_OUT_OK)
        out.outcome = VX_OUT_ERROR;
    ret = send_reply(c, &out);
    if (route->timed)
        vx_metrics_request(out.outcome, vx_mono_ns() - rc->start_ns);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_ctx *rc = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!rc)
        return;
    vx_buf_release(&rc->body);
    free(rc);
    *con_cls = NULL;
    atomic_fetch_sub(&inflight, 1);
    vx_metrics_inflight(-1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    vx_log(VX_LOG_DEBUG, "http", "%s", msg);
}

static int make_addr(const struct vx_config *cfg, struct sockaddr_storage *ss, int *ipv6)
{
    const char *host =
        strcmp(cfg->listen_address, "localhost") == 0 ? "127.0.0.1" : cfg->listen_address;
    memset(ss, 0, sizeof(*ss));
    *ipv6 = 0;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)cfg->listen_port);
        *ipv6 = 1;
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -1;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)cfg->listen_port);
        return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
    }
}

static void drain(struct MHD_Daemon *d)
{
    MHD_socket ls = MHD_quiesce_daemon(d);
    uint64_t deadline = vx_mono_ns() + 10ull * 1000000000ull;
    int n;
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    while ((n = atomic_load(&inflight)) > 0 && vx_mono_ns() < deadline)
        usleep(10000);
    if (n > 0)
        vx_warn("http", "stopping with %d request(s) still in flight after 10 s", n);
    else
        vx_info("http", "all requests answered");
}

int http_run(struct server *s)
{
    struct sockaddr_storage ss;
    struct MHD_Daemon *d;
    char *cert = NULL, *key = NULL;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    int ipv6, sig, code = 1;
    sigset_t set;
    struct vx_err e;

    vx_err_clear(&e);
    if (make_addr(&s->cfg, &ss, &ipv6) != 0) {
        vx_error("http", "listen.address: '%s' is not an IP address", s->cfg.listen_address);
        return 1;
    }
    if (ipv6)
        flags |= MHD_USE_IPv6;
    if (s->cfg.tls_cert[0]) {
        if (vx_file_read(s->cfg.tls_cert, 1 << 20, &cert, NULL, &e) != 0 ||
            vx_file_read(s->cfg.tls_key, 1 << 20, &key, NULL, &e) != 0) {
            vx_error("http", "tls: %s", e.msg);
            goto out;
        }
        flags |= MHD_USE_TLS;
    } else {
        vx_warn("http", "serving plain HTTP on loopback %s:%d: for local development only",
                s->cfg.listen_address, s->cfg.listen_port);
    }

    /* worker threads inherit this mask; only the main thread takes the signals */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cert) {
        d = MHD_start_daemon(flags, (uint16_t)s->cfg.listen_port, NULL, NULL, on_request, s,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_THREAD_POOL_SIZE, s->threads, MHD_OPTION_NOTIFY_COMPLETED,
                             on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                             MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_HTTPS_MEM_KEY,
                             key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    } else {
        d = MHD_start_daemon(flags, (uint16_t)s->cfg.listen_port, NULL, NULL, on_request, s,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_THREAD_POOL_SIZE, s->threads, MHD_OPTION_NOTIFY_COMPLETED,
                             on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                             MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_END);
    }
    if (!d) {
        vx_error("http", "cannot listen on %s:%d (address in use, or bad TLS certificate/key)",
                 s->cfg.listen_address, s->cfg.listen_port);
        goto out;
    }
    vx_info("http", "listening on %s://%s:%d with %u threads", cert ? "https" : "http",
            s->cfg.listen_address, s->cfg.listen_port, s->threads);

    for (;;) {
        if (sigwait(&set, &sig) == 0)
            break;
    }
    vx_info("http", "received %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    drain(d);
    MHD_stop_daemon(d);
    vx_info("http", "stopped");
    code = 0;
out:
    free(cert);
    free(key);
    return code;
}
