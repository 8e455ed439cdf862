/*
 * libmicrohttpd glue: sockets, TLS, the worker event loops, body collection
 * with the 128 KiB limit, routing, and the orderly shutdown.
 *
 * DESIGN
 * - One worker thread per core, each a complete server: its own listening
 *   socket (SO_REUSEPORT, so the kernel spreads connections over workers), its
 *   own MHD daemon driven from its own epoll loop, its own Redis connection.
 *   Nothing is handed between threads on the request path.
 * - A turn never blocks its worker on Redis. When the dialog needs the store,
 *   the command goes out on the worker's asynchronous hiredis connection, the
 *   HTTP connection is suspended, and the loop serves other connections; the
 *   reply resumes it. Commands of many turns share one write and one read
 *   (pipelining). Replies come back in order, so the oldest waiting turn is the
 *   head of a FIFO, which is how a Redis that stops answering is noticed: after
 *   redis.timeout_ms the connection is dropped and every waiting turn gets the
 *   apology. Without a live asynchronous connection (Redis down, reconnect
 *   backoff) the operation runs on the blocking connection of store.c, which
 *   fails fast while Redis is away.
 * - Routes live in one table: path, method, handler. A path that matches with
 *   another method is a 405 with Allow, no match is a 404.
 * - Bodies are collected into a per-request buffer. A Content-Length over the
 *   limit is refused before any byte is read; a chunked body that grows past it
 *   is drained and refused with 413.
 * - SIGTERM/SIGINT: every worker stops accepting (quiesce), answers the requests
 *   in flight (at most 10 s), then stops its daemon.
 */
#include "server.h"

#include "voxcart/log.h"
#include "voxcart/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* How much of an oversized body is read and thrown away so the client sees the 413. */
#define VX_DRAIN_MAX (1024 * 1024)

struct worker;

struct req_ctx {
    struct worker *w;
    struct MHD_Connection *conn;
    struct vx_buf body;
    uint64_t start_ns;
    size_t drained;
    int too_large;
    int answered; /* a response is queued already */
    int gauged;   /* counted in voxcart_requests_in_flight (POST /alexa only) */
    /* an error decided before the body was read, answered once it has been drained */
    int pending_status;
    const char *pending_code, *pending_msg, *pending_allow;
    enum vx_outcome pending_outcome;
    int pending_close; /* the framing cannot be trusted: close the connection after it */
    /* POST /alexa: the turn, its answer, and the store operation it waits for */
    int started;
    struct skill_turn st;
    struct server_reply out;
    struct vx_store_op *op;
    uint64_t sent_ns;
    struct req_ctx *next_waiting;
};

/*
 * One worker: an MHD daemon, the epoll loop that drives it, and the
 * asynchronous Redis connection of its turns.
 */
struct worker {
    struct server *s;
    unsigned id;
    pthread_t thread;
    int listen_fd;
    struct MHD_Daemon *d;
    int epfd;
    int wakefd; /* written by the main thread to stop the worker */
    int inflight;
    /* Redis */
    redisAsyncContext *ac;
    int ac_fd, ac_events; /* registered with epfd, and for what */
    int ac_want_write;    /* commands wait in hiredis's buffer */
    uint64_t ac_next_try_ns;
    unsigned ac_backoff_ms;
    struct req_ctx *wait_head, *wait_tail; /* turns waiting for a reply, oldest first */
    int resumed;                           /* connections resumed: MHD must run */
    int mhd_due;                           /* MHD has work without a socket event */
};

enum { EV_MHD = 1, EV_WAKE = 2, EV_REDIS = 3 };

static atomic_int stopping;

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
    {"/alexa", "POST", NULL, 1}, /* alexa(): may wait for Redis */
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
    if (out->close_connection)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
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
    out.close_connection = rc->pending_close;
    ret = send_reply(c, &out);
    rc->answered = 1;
    /* decided before the skill pipeline: counted, but not in the POST /alexa histogram */
    vx_metrics_outcome(outcome);
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

/* --- the asynchronous Redis connection of a worker --- */

static void ac_watch(struct worker *w, int events)
{
    struct epoll_event ev;
    int op;
    if (w->ac_fd < 0 || events == w->ac_events)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.events = (uint32_t)events;
    ev.data.u32 = EV_REDIS;
    if (events == 0)
        op = EPOLL_CTL_DEL;
    else if (w->ac_events == 0)
        op = EPOLL_CTL_ADD;
    else
        op = EPOLL_CTL_MOD;
    if (epoll_ctl(w->epfd, op, w->ac_fd, &ev) != 0)
        vx_warn("http", "worker %u: epoll_ctl on the redis socket: %s", w->id, strerror(errno));
    w->ac_events = events;
}

static void ac_add_read(void *p)
{
    struct worker *w = p;
    ac_watch(w, w->ac_events | EPOLLIN);
}

static void ac_del_read(void *p)
{
    struct worker *w = p;
    ac_watch(w, w->ac_events & ~EPOLLIN);
}

/*
 * Commands are not written as they are made: the loop writes whatever the
 * turns of one iteration queued in one go at its end (ac_flush). Only a
 * connection still connecting, or a socket that would block, waits for
 * EPOLLOUT.
 */
static void ac_add_write(void *p)
{
    struct worker *w = p;
    w->ac_want_write = 1;
    if (w->ac && !(w->ac->c.flags & REDIS_CONNECTED))
        ac_watch(w, w->ac_events | EPOLLOUT);
}

static void ac_del_write(void *p)
{
    struct worker *w = p;
    w->ac_want_write = 0;
    ac_watch(w, w->ac_events & ~EPOLLOUT);
}

static void ac_flush(struct worker *w)
{
    if (!w->ac || !w->ac_want_write || !(w->ac->c.flags & REDIS_CONNECTED))
        return;
    redisAsyncHandleWrite(w->ac); /* calls ac_del_write once all is written */
    if (w->ac && w->ac_want_write)
        ac_watch(w, w->ac_events | EPOLLOUT);
}

static void ac_cleanup(void *p)
{
    struct worker *w = p;
    ac_watch(w, 0);
    w->ac_fd = -1;
}

static void ac_backoff(struct worker *w)
{
    w->ac_backoff_ms = w->ac_backoff_ms ? w->ac_backoff_ms * 2 : 50;
    if (w->ac_backoff_ms > 2000)
        w->ac_backoff_ms = 2000;
    w->ac_next_try_ns = vx_mono_ns() + (uint64_t)w->ac_backoff_ms * 1000000u;
}

static void ac_on_connect(const redisAsyncContext *ac, int status)
{
    struct worker *w = ac->ev.data;
    if (status != REDIS_OK) {
        vx_warn("http", "worker %u: cannot connect to redis: %s", w->id, ac->errstr);
        w->ac = NULL; /* hiredis frees it */
        ac_backoff(w);
        return;
    }
    w->ac_backoff_ms = 0;
    vx_debug("http", "worker %u: redis connection up", w->id);
}

static void ac_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct worker *w = ac->ev.data;
    if (status != REDIS_OK)
        vx_warn("http", "worker %u: redis connection lost: %s", w->id, ac->errstr);
    w->ac = NULL; /* hiredis frees it */
    ac_backoff(w);
}

static void ac_on_setup(redisAsyncContext *ac, void *reply, void *priv)
{
    redisReply *r = reply;
    (void)priv;
    if (r && r->type == REDIS_REPLY_ERROR) {
        struct worker *w = ac->ev.data;
        vx_warn("http", "worker %u: redis refused the connection set-up: %s", w->id, r->str);
        redisAsyncDisconnect(ac);
    }
}

/* The live (or connecting) connection, or NULL: then the caller goes the blocking way. */
static redisAsyncContext *ac_get(struct worker *w)
{
    struct vx_store_target t;
    redisAsyncContext *ac;

    if (w->ac)
        return (w->ac->c.flags & REDIS_DISCONNECTING) ? NULL : w->ac;
    if (atomic_load(&stopping) || vx_mono_ns() < w->ac_next_try_ns)
        return NULL;
    vx_store_target_get(&t);
    ac = t.unix_path ? redisAsyncConnectUnix(t.unix_path) : redisAsyncConnect(t.host, t.port);
    if (!ac || ac->err) {
        vx_warn("http", "worker %u: cannot connect to redis: %s", w->id,
                ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        ac_backoff(w);
        return NULL;
    }
    ac->ev.data = w;
    ac->ev.addRead = ac_add_read;
    ac->ev.delRead = ac_del_read;
    ac->ev.addWrite = ac_add_write;
    ac->ev.delWrite = ac_del_write;
    ac->ev.cleanup = ac_cleanup;
    w->ac_fd = ac->c.fd;
    w->ac_events = 0;
    w->ac_want_write = 0;
    w->ac = ac;
    redisAsyncSetConnectCallback(ac, ac_on_connect);
    redisAsyncSetDisconnectCallback(ac, ac_on_disconnect);
    ac_add_write(w); /* the connect completes when the socket is writable */
    if (t.password[0])
        redisAsyncCommand(ac, ac_on_setup, NULL, "AUTH %s", t.password);
    if (t.db)
        redisAsyncCommand(ac, ac_on_setup, NULL, "SELECT %d", t.db);
    return w->ac;
}

static void wait_remove(struct worker *w, struct req_ctx *rc)
{
    struct req_ctx **pp = &w->wait_head, *prev = NULL;
    while (*pp && *pp != rc) {
        prev = *pp;
        pp = &(*pp)->next_waiting;
    }
    if (!*pp)
        return;
    *pp = rc->next_waiting;
    if (w->wait_tail == rc)
        w->wait_tail = prev;
    rc->next_waiting = NULL;
}

static int op_send(struct worker *w, struct req_ctx *rc);

static void on_store_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct req_ctx *rc = priv;
    struct worker *w = rc->w;

    wait_remove(w, rc);
    if (vx_store_op_complete(rc->op, reply, reply ? NULL : ac->errstr)) {
        /* Redis did not know the script: send it with its text, once */
        if (op_send(w, rc) == 0)
            return;
        vx_store_op_complete(rc->op, NULL, "cannot send the script");
    }
    rc->op = NULL;
    MHD_resume_connection(rc->conn);
    w->resumed = 1;
}

/* Sends the turn's store operation on the worker's connection: 0, or -1 when there is none. */
static int op_send(struct worker *w, struct req_ctx *rc)
{
    redisAsyncContext *ac = ac_get(w);
    if (!ac)
        return -1;
    if (redisAsyncCommandArgv(ac, on_store_reply, rc, rc->op->argc, rc->op->argv, rc->op->lens) !=
        REDIS_OK)
        return -1;
    rc->sent_ns = vx_mono_ns();
    rc->next_waiting = NULL;
    if (w->wait_tail)
        w->wait_tail->next_waiting = rc;
    else
        w->wait_head = rc;
    w->wait_tail = rc;
    return 0;
}

/* A Redis that stops answering: drop the connection, which fails every waiting turn. */
static void ac_check_timeout(struct worker *w)
{
    uint64_t limit = (uint64_t)w->s->cfg.redis_timeout_ms * 1000000u;
    if (!w->ac || !w->wait_head || vx_mono_ns() - w->wait_head->sent_ns < limit)
        return;
    vx_warn("http", "worker %u: redis did not answer within %d ms: dropping the connection", w->id,
            w->s->cfg.redis_timeout_ms);
    redisAsyncFree(w->ac); /* calls on_store_reply(NULL) for each waiting turn */
    w->ac = NULL;
    w->ac_fd = -1;
    w->ac_events = 0;
    ac_backoff(w);
}

/* --- requests --- */

static enum MHD_Result send_reply_timed(struct req_ctx *rc, int timed)
{
    enum MHD_Result ret;
    if (rc->out.status >= 500 && rc->out.outcome == VX_OUT_OK)
        rc->out.outcome = VX_OUT_ERROR;
    ret = send_reply(rc->conn, &rc->out);
    rc->answered = 1;
    if (timed)
        vx_metrics_request(rc->out.outcome, vx_mono_ns() - rc->start_ns);
    return ret;
}

/*
 * POST /alexa, first call or resumed: runs the turn until it answers, or until
 * it waits for Redis (the connection is suspended; the reply resumes it).
 */
static enum MHD_Result alexa(struct worker *w, struct req_ctx *rc)
{
    struct server_headers h = {mhd_header, rc->conn};
    struct vx_store_op *op = NULL;
    int more;

    if (!rc->started) {
        rc->started = 1;
        more = skill_start(w->s, &h, rc->body.data ? rc->body.data : "", rc->body.len, &rc->st,
                           &rc->out, &op);
    } else {
        more = skill_continue(w->s, &rc->st, &rc->out, &op);
    }
    while (more) {
        rc->op = op;
        if (op_send(w, rc) == 0) {
            MHD_suspend_connection(rc->conn);
            return MHD_YES;
        }
        rc->op = NULL;
        vx_store_op_run(op); /* no asynchronous connection: the blocking one */
        more = skill_continue(w->s, &rc->st, &rc->out, &op);
    }
    return send_reply_timed(rc, 1);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct worker *w = cls;
    struct req_ctx *rc = *con_cls;
    const struct route *route;
    const char *allow = NULL;
    (void)version;

    if (!rc) {
        const char *cl, *expect;
        long long n = 0;
        rc = calloc(1, sizeof(*rc));
        if (!rc)
            return MHD_NO;
        rc->w = w;
        rc->conn = c;
        vx_buf_init(&rc->body);
        vx_buf_init(&rc->out.body);
        rc->start_ns = vx_mono_ns();
        *con_cls = rc;
        w->inflight++;
        /*
         * Errors decided from the request line and headers. A client waiting for
         * 100-continue has sent no body yet, so it can be answered now. Otherwise
         * the body is already on its way; answering before reading it makes the
         * kernel reset the connection and the client never sees the answer, so the
         * body is drained (up to VX_DRAIN_MAX) and the error sent after.
         */
        route = route_find(url, method, &allow);
        if (route && route->timed) {
            rc->gauged = 1;
            vx_metrics_inflight(1);
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        if (cl && vx_parse_ll(cl, 0, INT64_MAX, &n) != 0)
            n = 0;
        if (cl &&
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
            /*
             * RFC 9112 section 6.1: with both, a proxy in front and this server may
             * disagree on where the body ends (request smuggling). Refuse, and close
             * the connection: what follows on it cannot be trusted to be a request.
             */
            pend(rc, 400, "bad_request",
                 "Transfer-Encoding and Content-Length together are not allowed", NULL,
                 VX_OUT_BAD_REQUEST);
            rc->pending_close = 1;
        } else if (!route && allow)
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
    if (!route->handler)
        return alexa(w, rc);
    rc->out.status = 500;
    rc->out.outcome = VX_OUT_OK;
    route->handler(w->s, c, rc, &rc->out);
    return send_reply_timed(rc, route->timed);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct worker *w = cls;
    struct req_ctx *rc = *con_cls;
    (void)c;
    (void)toe;
    if (!rc)
        return;
    wait_remove(w, rc);
    if (rc->started)
        skill_turn_release(&rc->st);
    vx_buf_release(&rc->out.body);
    vx_buf_release(&rc->body);
    if (rc->gauged)
        vx_metrics_inflight(-1);
    free(rc);
    *con_cls = NULL;
    w->inflight--;
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

/*
 * Whether anybody listens on the address already. The workers' sockets share
 * the port with SO_REUSEPORT, which would also let a second voxcartd of the
 * same user join silently and take half the connections; a plain bind first
 * (SO_REUSEADDR only, so a port in TIME_WAIT is still free) tells the two
 * apart. listen.share_port skips it for deliberate sharing.
 */
static int port_in_use(const struct sockaddr_storage *ss, int ipv6)
{
    int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, rc, saved;
    if (fd < 0)
        return 0; /* the real bind reports it */
    rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rc == 0)
        rc = bind(fd, (const struct sockaddr *)ss,
                  ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    saved = errno;
    close(fd);
    errno = saved;
    return rc != 0 && saved == EADDRINUSE;
}

/* A listening socket of its own for each worker; the kernel spreads connections over them. */
static int listen_socket(const struct sockaddr_storage *ss, int ipv6)
{
    int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)ss,
             ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0 ||
        listen(fd, 1024) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int worker_start_daemon(struct worker *w, unsigned flags, const char *cert, const char *key)
{
    struct server *s = w->s;
    unsigned limit = 4096 / (s->threads ? s->threads : 1);
    if (cert) {
        w->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w, MHD_OPTION_LISTEN_SOCKET,
                                w->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_EXTERNAL_LOGGER,
                                mhd_logger, NULL, MHD_OPTION_HTTPS_MEM_KEY, key,
                                MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
    } else {
        w->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w, MHD_OPTION_LISTEN_SOCKET,
                                w->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_EXTERNAL_LOGGER,
                                mhd_logger, NULL, MHD_OPTION_END);
    }
    if (!w->d)
        return -1;
    w->listen_fd = -1; /* the daemon's now */
    return 0;
}

static int epoll_watch(int epfd, int fd, uint32_t tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Milliseconds the loop may sleep: MHD's next connection timeout, Redis's, at most 1 s. */
static int loop_timeout(struct worker *w)
{
    MHD_UNSIGNED_LONG_LONG t;
    int ms = 1000;
    w->mhd_due = 0;
    if (MHD_get_timeout(w->d, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)ms) {
        ms = (int)t;
        w->mhd_due = t == 0;
    }
    if (w->wait_head) {
        uint64_t waited = (vx_mono_ns() - w->wait_head->sent_ns) / 1000000u;
        int left = w->s->cfg.redis_timeout_ms - (int)waited;
        if (left < 0)
            left = 0;
        if (left < ms)
            ms = left + 1;
    }
    return ms;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[16];
    uint64_t deadline = 0;
    int quiesced = 0;

    for (;;) {
        int n = epoll_wait(w->epfd, evs, (int)VX_ARRAY_LEN(evs), loop_timeout(w));
        int run_mhd = 0;
        if (n < 0 && errno != EINTR) {
            vx_error("http", "worker %u: epoll_wait: %s", w->id, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            switch (evs[i].data.u32) {
            case EV_MHD:
                run_mhd = 1;
                break;
            case EV_WAKE: {
                uint64_t v;
                if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    vx_warn("http", "worker %u: wake-up read: %s", w->id, strerror(errno));
                break;
            }
            case EV_REDIS:
                if (w->ac && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                    redisAsyncHandleRead(w->ac);
                if (w->ac && (evs[i].events & EPOLLOUT))
                    redisAsyncHandleWrite(w->ac);
                break;
            default:
                break;
            }
        }
        ac_check_timeout(w);
        /* MHD runs for its sockets, its timeouts, and the connections resumed above */
        if (run_mhd || w->resumed || w->mhd_due || n == 0 || atomic_load(&stopping)) {
            w->resumed = 0;
            MHD_run(w->d);
        }
        ac_flush(w);
        if (atomic_load(&stopping)) {
            if (!quiesced) {
                MHD_socket ls = MHD_quiesce_daemon(w->d);
                if (ls != MHD_INVALID_SOCKET)
                    close(ls);
                quiesced = 1;
                deadline = vx_mono_ns() + 10ull * 1000000000ull;
            }
            if (w->inflight == 0)
                break;
            if (vx_mono_ns() > deadline) {
                vx_warn("http", "worker %u: stopping with %d request(s) still in flight after 10 s",
                        w->id, w->inflight);
                break;
            }
        }
    }
    if (w->ac) {
        redisAsyncFree(w->ac); /* fails what still waits; MHD_stop_daemon closes those */
        w->ac = NULL;
        MHD_run(w->d);
    }
    MHD_stop_daemon(w->d);
    w->d = NULL;
    vx_store_shutdown();
    return NULL;
}

static void workers_free(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (ws[i].d)
            MHD_stop_daemon(ws[i].d);
        if (ws[i].listen_fd >= 0)
            close(ws[i].listen_fd);
        if (ws[i].epfd >= 0)
            close(ws[i].epfd);
        if (ws[i].wakefd >= 0)
            close(ws[i].wakefd);
    }
    free(ws);
}

int http_run(struct server *s)
{
    struct sockaddr_storage ss;
    struct worker *ws = NULL;
    char *cert = NULL, *key = NULL;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    unsigned started = 0;
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

    if (s->cfg.listen_port != 0 && !s->cfg.listen_share_port && port_in_use(&ss, ipv6)) {
        vx_error("http",
                 "cannot listen on %s:%d: address already in use (is another voxcartd running? "
                 "listen.share_port lets processes share it)",
                 s->cfg.listen_address, s->cfg.listen_port);
        goto out;
    }
    ws = calloc(s->threads, sizeof(*ws));
    if (!ws) {
        vx_error("http", "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < s->threads; i++) {
        struct worker *w = &ws[i];
        w->s = s;
        w->id = i;
        w->ac_fd = -1;
        w->epfd = -1;
        w->wakefd = -1;
        w->listen_fd = listen_socket(&ss, ipv6);
        if (w->listen_fd < 0) {
            vx_error("http", "cannot listen on %s:%d: %s", s->cfg.listen_address,
                     s->cfg.listen_port, strerror(errno));
            goto fail;
        }
        if (i == 0 && s->cfg.listen_port == 0) {
            /* port 0: the kernel chose one; every other worker takes the same */
            socklen_t len = sizeof(ss);
            getsockname(w->listen_fd, (struct sockaddr *)&ss, &len);
        }
        if (worker_start_daemon(w, flags, cert, key) != 0) {
            vx_error("http", "cannot serve on %s:%d (bad TLS certificate/key?)",
                     s->cfg.listen_address, s->cfg.listen_port);
            goto fail;
        }
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->epfd < 0 || w->wakefd < 0 ||
            epoll_watch(w->epfd, MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd,
                        EV_MHD) != 0 ||
            epoll_watch(w->epfd, w->wakefd, EV_WAKE) != 0) {
            vx_error("http", "cannot set up the event loop: %s", strerror(errno));
            goto fail;
        }
    }
    for (started = 0; started < s->threads; started++) {
        if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0) {
            vx_error("http", "cannot start worker thread %u", started);
            break;
        }
    }
    if (started == s->threads) {
        vx_info("http", "listening on %s://%s:%d with %u workers", cert ? "https" : "http",
                s->cfg.listen_address, s->cfg.listen_port, s->threads);
        for (;;) {
            if (sigwait(&set, &sig) == 0)
                break;
        }
        vx_info("http", "received %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        code = 0;
    }
    atomic_store(&stopping, 1);
    for (unsigned i = 0; i < started; i++) {
        uint64_t one = 1;
        if (write(ws[i].wakefd, &one, sizeof(one)) < 0)
            vx_warn("http", "cannot wake worker %u: %s", i, strerror(errno));
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    if (code == 0)
        vx_info("http", "stopped");
fail:
    workers_free(ws, s->threads);
out:
    free(cert);
    free(key);
    return code;
}
