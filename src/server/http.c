/*
 * libmicrohttpd glue: sockets, TLS, the worker event loops, routing, body
 * collection, and the orderly shutdown.
 *
 * DESIGN
 * - One worker thread per core, each a complete server: its own listening
 *   socket (SO_REUSEPORT between the workers of this process), its own MHD
 *   daemon driven from its own epoll loop, its own Redis connections and its
 *   own libcurl multi handle. Nothing is handed between threads on the request
 *   path.
 * - Nothing blocks a worker. A Redis command, a certificate download (and, with
 *   the payment work, a provider call) is an operation the loop starts and
 *   resumes: the HTTP connection of the turn that waits is suspended and the
 *   loop serves others. Redis commands go out on the worker's asynchronous
 *   connection to the node that owns the key's hash slot (one node for a single
 *   server; MOVED/ASK followed), pipelined: commands of one iteration share one
 *   write. Replies come back in order per connection, so the oldest waiting
 *   command heads a FIFO, which is how a Redis that stops answering is noticed:
 *   after redis.timeout_ms the connection is dropped and everything waiting on
 *   it fails at once (the customer hears the apology). Without a connection
 *   (Redis down, reconnect backoff) an operation fails at once: there is no
 *   blocking fallback. Downloads run on libcurl's multi socket API on the same
 *   epoll.
 * - /readyz answers from the health state the loop keeps: a connection that is
 *   up, nothing waiting past a short bound, and a reply (a PING when idle) seen
 *   within the last 1.5 s.
 * - Routes are one table with flags the dispatcher enforces before a handler
 *   runs: path (with {parameters}), methods, auth kind, body limit. A path that
 *   matches with another method is a 405 with Allow, no match is a 404, a body
 *   over the row's limit a 413 (refused before it is read when Content-Length
 *   says so; drained and refused when chunked).
 * - SIGTERM/SIGINT: every worker stops accepting (quiesce), answers the requests
 *   in flight (at most 10 s), then stops its daemon.
 */
#include "server.h"
#include "loop.h"

#include "voxcart/cluster.h"
#include "voxcart/jscan.h"
#include "voxcart/log.h"
#include "voxcart/paysign.h"
#include "voxcart/store.h"

#include <arpa/inet.h>
#include <curl/curl.h>
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
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* How much of an oversized body is read and thrown away so the client sees the 413. */
#define VX_DRAIN_MAX  (1024 * 1024)
#define NODES_MAX     16 /* Redis nodes one worker talks to */
#define PING_NS       500000000ull
#define STALE_NS      1500000000ull
#define READY_WAIT_NS 200000000ull
#define PARK_MAX_NS   3000000000ull /* a turn waits this long at most for another's download */

enum watch_kind { W_MHD, W_WAKE, W_REDIS, W_CURL };

/* What an epoll event is about: its data.ptr points at one of these. */
struct watch {
    enum watch_kind kind;
    void *p;
};

struct worker;

/* An asynchronous Redis connection to one node. */
struct anode {
    struct worker *w;
    struct watch watch;
    char host[128]; /* "" = the configured server */
    int port;
    redisAsyncContext *ac;
    int fd, events; /* registered with epfd, and for what */
    int want_write; /* commands wait in hiredis's buffer */
    uint64_t next_try_ns;
    unsigned backoff_ms;
    struct asend *head, *tail; /* waiting for a reply, oldest first */
};

struct route;

struct req_ctx {
    struct worker *w;
    struct MHD_Connection *conn;
    const struct route *route;
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
    /* POST /alexa: the turn, its answer, and what it waits for */
    int started;
    int suspended;
    struct skill_turn st;
    struct server_reply out;
    struct asend as;
    struct hsend hs;
    uint64_t parked_ns;
    struct req_ctx *next_parked;
    char allow[64];
    /* /v1: the merchant call, and its reads of several orders at once */
    int mstarted;
    struct merchant_call mc;
    struct asend *fan;
    size_t fan_left;
    /* /pay/<token>: the pay-link page's call */
    int pstarted;
    struct paypage_call pc;
};

/* One worker: an MHD daemon, the epoll loop that drives it, its Redis and HTTP clients. */
struct worker {
    struct server *s;
    unsigned id;
    pthread_t thread;
    int listen_fd;
    struct MHD_Daemon *d;
    int epfd;
    int wakefd; /* written to stop the worker, or when a certificate load ended */
    struct watch w_mhd, w_wake;
    int inflight;
    int resumed; /* connections resumed: MHD must run */
    int mhd_due; /* MHD has work without a socket event */
    /* Redis */
    struct anode nodes[NODES_MAX];
    size_t n_nodes;
    uint64_t redis_ok_ns; /* last reply */
    uint64_t ping_ns;     /* last health ping sent */
    int ping_out, slots_out;
    struct vx_store_op ping_op, slots_op;
    struct asend ping_as, slots_as;
    /* outbound HTTP */
    CURLM *multi;
    long curl_timeout_ms; /* -1: none */
    uint64_t curl_set_ns;
    int curl_running;
    /* turns waiting for another's certificate load */
    struct req_ctx *parked;
    /* the webhook runner (worker 0): its one operation in flight */
    struct vx_store_op wh_op;
    struct vx_http_op wh_http;
    struct asend wh_as;
    struct hsend wh_hs;
    int wh_busy;
};

static atomic_int stopping;
static struct worker *all_workers;
static unsigned n_all_workers;

/* --- the asynchronous Redis connections of a worker --- */

static void node_watch(struct anode *n, int events)
{
    struct epoll_event ev;
    int op;
    if (n->fd < 0 || events == n->events)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.events = (uint32_t)events;
    ev.data.ptr = &n->watch;
    if (events == 0)
        op = EPOLL_CTL_DEL;
    else if (n->events == 0)
        op = EPOLL_CTL_ADD;
    else
        op = EPOLL_CTL_MOD;
    if (epoll_ctl(n->w->epfd, op, n->fd, &ev) != 0)
        vx_warn("http", "worker %u: epoll_ctl on the redis socket: %s", n->w->id, strerror(errno));
    n->events = events;
}

static void ac_add_read(void *p)
{
    struct anode *n = p;
    node_watch(n, n->events | EPOLLIN);
}

static void ac_del_read(void *p)
{
    struct anode *n = p;
    node_watch(n, n->events & ~EPOLLIN);
}

/*
 * Commands are not written as they are made: the loop writes whatever the
 * turns of one iteration queued in one go at its end (nodes_flush). Only a
 * connection still connecting, or a socket that would block, waits for
 * EPOLLOUT.
 */
static void ac_add_write(void *p)
{
    struct anode *n = p;
    n->want_write = 1;
    if (n->ac && !(n->ac->c.flags & REDIS_CONNECTED))
        node_watch(n, n->events | EPOLLOUT);
}

static void ac_del_write(void *p)
{
    struct anode *n = p;
    n->want_write = 0;
    node_watch(n, n->events & ~EPOLLOUT);
}

static void ac_cleanup(void *p)
{
    struct anode *n = p;
    node_watch(n, 0);
    n->fd = -1;
}

static void node_backoff(struct anode *n)
{
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : 50;
    if (n->backoff_ms > 2000)
        n->backoff_ms = 2000;
    n->next_try_ns = vx_mono_ns() + (uint64_t)n->backoff_ms * 1000000u;
}

static const char *node_name(const struct anode *n, char *buf, size_t sz)
{
    struct vx_store_target t;
    if (n->host[0]) {
        snprintf(buf, sz, "%s:%d", n->host, n->port);
    } else {
        vx_store_target_get(&t);
        if (t.unix_path)
            snprintf(buf, sz, "%s", t.unix_path);
        else
            snprintf(buf, sz, "%s:%d", t.host, t.port);
    }
    return buf;
}

static void ac_on_connect(const redisAsyncContext *ac, int status)
{
    struct anode *n = ac->ev.data;
    char name[160];
    if (status != REDIS_OK) {
        vx_warn("http", "worker %u: cannot connect to redis %s: %s", n->w->id,
                node_name(n, name, sizeof(name)), ac->errstr);
        n->ac = NULL; /* hiredis frees it */
        node_backoff(n);
        return;
    }
    n->backoff_ms = 0;
    vx_debug("http", "worker %u: redis connection to %s up", n->w->id,
             node_name(n, name, sizeof(name)));
}

static void ac_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct anode *n = ac->ev.data;
    char name[160];
    if (status != REDIS_OK)
        vx_warn("http", "worker %u: redis connection to %s lost: %s", n->w->id,
                node_name(n, name, sizeof(name)), ac->errstr);
    n->ac = NULL; /* hiredis frees it */
    node_backoff(n);
}

static void ac_on_setup(redisAsyncContext *ac, void *reply, void *priv)
{
    redisReply *r = reply;
    (void)priv;
    if (r && r->type == REDIS_REPLY_ERROR) {
        struct anode *n = ac->ev.data;
        vx_warn("http", "worker %u: redis refused the connection set-up: %s", n->w->id, r->str);
        redisAsyncDisconnect(ac);
    }
}

/* The live (or connecting) connection of n, or NULL. */
static redisAsyncContext *node_conn(struct anode *n)
{
    struct vx_store_target t;
    redisAsyncContext *ac;
    char name[160];

    if (n->ac)
        return (n->ac->c.flags & REDIS_DISCONNECTING) ? NULL : n->ac;
    if (atomic_load(&stopping) || vx_mono_ns() < n->next_try_ns)
        return NULL;
    vx_store_target_get(&t);
    if (n->host[0])
        ac = redisAsyncConnect(n->host, n->port);
    else
        ac = t.unix_path ? redisAsyncConnectUnix(t.unix_path) : redisAsyncConnect(t.host, t.port);
    if (!ac || ac->err) {
        vx_warn("http", "worker %u: cannot connect to redis %s: %s", n->w->id,
                node_name(n, name, sizeof(name)), ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        node_backoff(n);
        return NULL;
    }
    ac->ev.data = n;
    ac->ev.addRead = ac_add_read;
    ac->ev.delRead = ac_del_read;
    ac->ev.addWrite = ac_add_write;
    ac->ev.delWrite = ac_del_write;
    ac->ev.cleanup = ac_cleanup;
    n->fd = ac->c.fd;
    n->events = 0;
    n->want_write = 0;
    n->ac = ac;
    redisAsyncSetConnectCallback(ac, ac_on_connect);
    redisAsyncSetDisconnectCallback(ac, ac_on_disconnect);
    ac_add_write(n); /* the connect completes when the socket is writable */
    if (t.password[0])
        redisAsyncCommand(ac, ac_on_setup, NULL, "AUTH %s", t.password);
    if (t.db)
        redisAsyncCommand(ac, ac_on_setup, NULL, "SELECT %d", t.db);
    return n->ac;
}

/* The node for host:port (NULL host: the configured server), added when new. */
static struct anode *node_get(struct worker *w, const char *host, int port)
{
    struct anode *n;
    if (!host)
        return &w->nodes[0];
    for (size_t i = 1; i < w->n_nodes; i++)
        if (w->nodes[i].port == port && strcmp(w->nodes[i].host, host) == 0)
            return &w->nodes[i];
    if (w->n_nodes >= NODES_MAX)
        return NULL;
    n = &w->nodes[w->n_nodes++];
    memset(n, 0, sizeof(*n));
    n->w = w;
    n->fd = -1;
    n->watch.kind = W_REDIS;
    n->watch.p = n;
    vx_strlcpy(n->host, host, sizeof(n->host));
    n->port = port;
    return n;
}

static void queue_remove(struct anode *n, struct asend *a)
{
    struct asend **pp = &n->head, *prev = NULL;
    while (*pp && *pp != a) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = a->next;
    if (n->tail == a)
        n->tail = prev;
    a->next = NULL;
    a->node = NULL;
}

static void on_store_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct asend *a = priv;
    struct anode *n = a->node;
    struct worker *w = n ? n->w : NULL;

    if (n)
        queue_remove(n, a);
    if (reply && w)
        w->redis_ok_ns = vx_mono_ns();
    if (vx_store_op_complete(a->op, reply, reply ? NULL : ac->errstr)) {
        /* the script's text, or another node (a cluster redirect): send it again */
        if (w) {
            loop_store_send(w, a);
            return;
        }
        vx_store_op_complete(a->op, NULL, "cannot send again");
    }
    a->done(a);
}

static void fail_now(struct asend *a, const char *why)
{
    vx_store_op_complete(a->op, NULL, why);
    a->done(a);
}

void loop_store_send(struct worker *w, struct asend *a)
{
    char host[128];
    int port = 0;
    struct anode *n;
    redisAsyncContext *ac;

    if (a->op->argc == 0) { /* complete already (a cache hit) */
        a->done(a);
        return;
    }
    n = vx_store_op_node(a->op, host, sizeof(host), &port) ? node_get(w, host, port)
                                                           : node_get(w, NULL, 0);
    ac = n ? node_conn(n) : NULL;
    if (!ac) {
        fail_now(a, "redis unavailable (reconnecting)");
        return;
    }
    if (a->op->asking)
        redisAsyncCommand(ac, NULL, NULL, "ASKING");
    if (redisAsyncCommandArgv(ac, on_store_reply, a, a->op->argc, a->op->argv, a->op->lens) !=
        REDIS_OK) {
        fail_now(a, "cannot queue the command");
        return;
    }
    a->sent_ns = 0; /* stamped when it is written (nodes_flush) */
    a->node = n;
    a->next = NULL;
    if (n->tail)
        n->tail->next = a;
    else
        n->head = a;
    n->tail = a;
}

static void node_drop(struct anode *n)
{
    if (!n->ac)
        return;
    redisAsyncFree(n->ac); /* calls on_store_reply(NULL) for each waiting command */
    n->ac = NULL;
    n->fd = -1;
    n->events = 0;
}

/* A Redis that stops answering: drop the connection, which fails everything waiting on it. */
static void nodes_check_timeout(struct worker *w)
{
    uint64_t limit = (uint64_t)w->s->cfg.redis_timeout_ms * 1000000u, now = vx_mono_ns();
    for (size_t i = 0; i < w->n_nodes; i++) {
        struct anode *n = &w->nodes[i];
        char name[160];
        if (!n->ac || !n->head || !n->head->sent_ns || now - n->head->sent_ns < limit)
            continue;
        /* a busy loop may not have read what did come: read first, then judge */
        if (n->ac->c.flags & REDIS_CONNECTED)
            redisAsyncHandleRead(n->ac);
        if (!n->ac || !n->head || !n->head->sent_ns || now - n->head->sent_ns < limit)
            continue;
        vx_warn("http",
                "worker %u: redis %s did not answer within %d ms (%s, kind %d): dropping the "
                "connection",
                w->id, node_name(n, name, sizeof(name)), w->s->cfg.redis_timeout_ms,
                n->head->op->argc ? n->head->op->argv[0] : "-", (int)n->head->op->kind);
        node_drop(n);
        node_backoff(n);
    }
}

static void nodes_flush(struct worker *w)
{
    uint64_t now = vx_mono_ns();
    for (size_t i = 0; i < w->n_nodes; i++) {
        struct anode *n = &w->nodes[i];
        /* the wait for an answer starts when the command goes out */
        for (struct asend *a = n->head; a; a = a->next)
            if (!a->sent_ns)
                a->sent_ns = now;
        if (!n->ac || !n->want_write || !(n->ac->c.flags & REDIS_CONNECTED))
            continue;
        redisAsyncHandleWrite(n->ac); /* calls ac_del_write once all is written */
        if (n->ac && n->want_write)
            node_watch(n, n->events | EPOLLOUT);
    }
}

static void ping_done(struct asend *a)
{
    struct worker *w = a->ud;
    w->ping_out = 0;
    vx_store_op_release(a->op);
}

static void slots_done(struct asend *a)
{
    struct worker *w = a->ud;
    w->slots_out = 0;
    if (a->op->rc)
        vx_warn("http", "worker %u: cannot read the cluster's slot map: %s", w->id, a->op->err.msg);
    vx_store_op_release(a->op);
}

/* The loop's own Redis traffic: a PING when idle (health), the slot map after a MOVED. */
static void nodes_tick(struct worker *w)
{
    uint64_t now = vx_mono_ns();
    if (atomic_load(&stopping))
        return;
    if (!w->slots_out && vx_cluster_refresh_due()) {
        w->slots_out = 1;
        vx_store_op_slots(&w->slots_op);
        w->slots_as.op = &w->slots_op;
        w->slots_as.done = slots_done;
        w->slots_as.ud = w;
        loop_store_send(w, &w->slots_as);
    }
    if (!w->ping_out && now - w->ping_ns >= PING_NS && now - w->redis_ok_ns >= PING_NS) {
        w->ping_out = 1;
        w->ping_ns = now;
        vx_store_op_ping(&w->ping_op);
        w->ping_as.op = &w->ping_op;
        w->ping_as.done = ping_done;
        w->ping_as.ud = w;
        loop_store_send(w, &w->ping_as);
    }
}

int loop_store_ready(struct worker *w, char *why, size_t whysz)
{
    uint64_t now = vx_mono_ns();
    /* a healthy Redis answers in well under a millisecond: a command waiting this long
     * means it is not answering now, whatever the timeout that will drop it later */
    uint64_t bound = READY_WAIT_NS;
    struct anode *n = &w->nodes[0];
    if (!n->ac || !(n->ac->c.flags & REDIS_CONNECTED)) {
        snprintf(why, whysz, "no connection to redis");
        return 0;
    }
    for (size_t i = 0; i < w->n_nodes; i++) {
        if (w->nodes[i].head && w->nodes[i].head->sent_ns &&
            now - w->nodes[i].head->sent_ns > bound) {
            snprintf(why, whysz, "redis has not answered for %llu ms",
                     (unsigned long long)((now - w->nodes[i].head->sent_ns) / 1000000u));
            return 0;
        }
    }
    if (now - w->redis_ok_ns > STALE_NS) {
        snprintf(why, whysz, "no answer from redis for %llu ms",
                 (unsigned long long)((now - w->redis_ok_ns) / 1000000u));
        return 0;
    }
    return 1;
}

/* --- outbound HTTP: libcurl multi, socket API, on the worker's epoll --- */

struct csock {
    struct watch watch;
    curl_socket_t fd;
    int registered;
};

static int curl_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct worker *w = userp;
    struct csock *cs = socketp;
    struct epoll_event ev;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (cs) {
            if (cs->registered)
                epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
            curl_multi_assign(w->multi, fd, NULL);
            free(cs);
        }
        return 0;
    }
    if (!cs) {
        cs = calloc(1, sizeof(*cs));
        if (!cs)
            return -1;
        cs->watch.kind = W_CURL;
        cs->watch.p = cs;
        cs->fd = fd;
        curl_multi_assign(w->multi, fd, cs);
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.ptr = &cs->watch;
    if (epoll_ctl(w->epfd, cs->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0)
        cs->registered = 1;
    else
        vx_warn("http", "worker %u: epoll_ctl on a download socket: %s", w->id, strerror(errno));
    return 0;
}

static int curl_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct worker *w = userp;
    (void)multi;
    w->curl_timeout_ms = timeout_ms;
    w->curl_set_ns = vx_mono_ns();
    return 0;
}

static void curl_reap(struct worker *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
        struct hsend *h = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
        curl_multi_remove_handle(w->multi, m->easy_handle);
        if (h) {
            vx_http_op_finish(h->op, (int)m->data.result);
            h->done(h);
        }
    }
}

static void curl_action(struct worker *w, curl_socket_t fd, int events)
{
    curl_multi_socket_action(w->multi, fd, events, &w->curl_running);
    curl_reap(w);
}

static void curl_check_timer(struct worker *w)
{
    if (w->curl_timeout_ms < 0)
        return;
    if (vx_mono_ns() - w->curl_set_ns >= (uint64_t)w->curl_timeout_ms * 1000000u) {
        w->curl_timeout_ms = -1;
        curl_action(w, CURL_SOCKET_TIMEOUT, 0);
    }
}

void loop_http_send(struct worker *w, struct hsend *h)
{
    CURL *easy = vx_http_op_easy(h->op);
    if (!easy || curl_easy_setopt(easy, CURLOPT_PRIVATE, h) != CURLE_OK ||
        curl_multi_add_handle(w->multi, easy) != CURLM_OK) {
        vx_http_op_finish(h->op, CURLE_FAILED_INIT);
        h->done(h);
    }
}

static void wh_store_done(struct asend *a)
{
    ((struct worker *)a->ud)->wh_busy = 0;
}

static void wh_http_done(struct hsend *h)
{
    ((struct worker *)h->ud)->wh_busy = 0;
}

/* The webhook runner's next steps, while they complete at once; then what it waits for. */
static void webhooks_tick(struct worker *w)
{
    for (int k = 0; k < 8 && !w->wh_busy && !atomic_load(&stopping); k++) {
        int r = webhooks_step(w->s, &w->wh_op, &w->wh_http);
        if (r == 0)
            return;
        w->wh_busy = 1;
        if (r == 1) {
            w->wh_as.op = &w->wh_op;
            w->wh_as.done = wh_store_done;
            w->wh_as.ud = w;
            loop_store_send(w, &w->wh_as);
        } else {
            w->wh_hs.op = &w->wh_http;
            w->wh_hs.done = wh_http_done;
            w->wh_hs.ud = w;
            loop_http_send(w, &w->wh_hs);
        }
    }
}

static void webhooks_stop(struct worker *w)
{
    if (w->wh_http.easy) {
        curl_multi_remove_handle(w->multi, w->wh_http.easy);
        vx_http_op_finish(&w->wh_http, CURLE_ABORTED_BY_CALLBACK);
    }
    vx_http_op_release(&w->wh_http);
    vx_store_op_release(&w->wh_op);
}

/* A certificate load ended somewhere: every worker re-checks the turns that wait for one. */
static void certs_wake(void *ud)
{
    uint64_t one = 1;
    (void)ud;
    for (unsigned i = 0; i < n_all_workers; i++)
        if (all_workers[i].wakefd >= 0 && write(all_workers[i].wakefd, &one, sizeof(one)) < 0 &&
            errno != EAGAIN)
            vx_warn("http", "cannot wake worker %u: %s", i, strerror(errno));
}

/* --- routes --- */

enum route_auth {
    AUTH_NONE,     /* health and metrics */
    AUTH_PLATFORM, /* the voice platform's signature (verification runs before the handler) */
    AUTH_PROVIDER, /* the payment provider's signature (checked before the handler runs) */
    AUTH_MERCHANT, /* a merchant's bearer token; GET needs scope read, anything else full */
    AUTH_PAYLINK,  /* the pay-link page's token in the path (paylink.h); a bad one is a 404 page */
};

enum { M_GET = 1u << 0, M_POST = 1u << 1, M_PUT = 1u << 2, M_DELETE = 1u << 3, M_PATCH = 1u << 4 };

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};

struct route {
    const char *path; /* segments; "{name}" matches any one segment */
    unsigned methods;
    enum route_auth auth;
    size_t body_max;
    /* AUTH_NONE rows answer at once; AUTH_PLATFORM rows run the skill pipeline */
    void (*handler)(struct worker *w, struct req_ctx *rc, struct server_reply *out);
    int timed;            /* counted in the request duration metrics */
    enum merchant_op mop; /* AUTH_MERCHANT rows: the call merchant.c makes */
};

static void route_healthz(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    (void)w;
    (void)rc;
    out->status = 200;
    out->content_type = "application/json";
    vx_buf_appends(&out->body, "{\"status\":\"ok\",\"version\":\"" VX_VERSION "\"}");
}

static void route_readyz(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    char why[128];
    (void)rc;
    if (!loop_store_ready(w, why, sizeof(why))) {
        server_reply_error(out, 503, "store_unavailable", why);
        return;
    }
    out->status = 200;
    out->content_type = "application/json";
    vx_buf_appends(&out->body, "{\"status\":\"ready\",\"redis\":\"ok\"}");
}

static void route_metrics(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    (void)w;
    (void)rc;
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4";
    vx_metrics_render(&out->body);
}

/* A notification the provider signed: the janitor settles now what it names (it asks the
 * provider itself, so a replayed notification changes nothing). */
static void route_notification(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    struct vx_jdoc d;
    const struct vx_jnode *root;
    (void)w;
    if (vx_jdoc_parse(&d, rc->body.data ? rc->body.data : "", rc->body.len, NULL) != 0) {
        server_reply_error(out, 400, "body_malformed", "the notification is not JSON");
        return;
    }
    root = vx_jroot(&d);
    if (root->type != VX_JOBJECT || !vx_jget_str(&d, root, "Message")) {
        vx_jdoc_free(&d);
        server_reply_error(out, 400, "body_malformed", "the notification has no Message");
        return;
    }
    vx_info("pay", "provider notification %s: settling pending payments now",
            vx_jget_str(&d, root, "MessageId") ? vx_jget_str(&d, root, "MessageId") : "(no ID)");
    vx_jdoc_free(&d);
    janitor_wake();
    out->status = 200;
    out->content_type = "application/json";
    vx_buf_appends(&out->body, "{\"received\":true}");
}

/* 1 when the request carries the provider's valid signature; else out holds the 401. */
static int provider_signed(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    const char *auth = MHD_lookup_connection_value(rc->conn, MHD_HEADER_KIND, "authorization");
    const char *date = MHD_lookup_connection_value(rc->conn, MHD_HEADER_KIND, "x-amz-pay-date");
    struct vx_paysign_hdr h[16];
    struct vx_paysign_auth a;
    struct vx_err e;
    size_t nh = 0;
    int64_t when;
    char names[512], *save = NULL;

    vx_err_clear(&e);
    if (!w->s->notify_key) {
        server_reply_error(out, 401, "signature_unverifiable",
                           "no provider.notify_key is configured to check notifications with");
        return 0;
    }
    if (!auth || vx_paysign_auth_parse(auth, &a, &e) != 0) {
        server_reply_error(out, 401, "signature_missing", auth ? e.msg : "no authorization header");
        return 0;
    }
    if (!date || vx_paysign_date_parse(date, &when) != 0 || when < vx_now() - 900 ||
        when > vx_now() + 900) {
        server_reply_error(out, 401, "signature_stale",
                           "x-amz-pay-date is missing or more than 15 minutes from now");
        return 0;
    }
    vx_strlcpy(names, a.signed_headers, sizeof(names));
    for (char *n = strtok_r(names, ";", &save); n && nh < VX_ARRAY_LEN(h);
         n = strtok_r(NULL, ";", &save)) {
        const char *v = MHD_lookup_connection_value(rc->conn, MHD_HEADER_KIND, n);
        if (v)
            h[nh++] = (struct vx_paysign_hdr){n, v};
    }
    if (vx_paysign_check(w->s->notify_key, &a, "POST", rc->route->path, "", h, nh,
                         rc->body.data ? rc->body.data : "", rc->body.len, &e) != 0) {
        vx_warn("pay", "a notification with a bad signature was refused: %s", e.msg);
        server_reply_error(out, 401, "signature_invalid",
                           "the provider's signature does not verify");
        return 0;
    }
    return 1;
}

static void serve_file(struct server_reply *out, const char *data, size_t len, const char *type)
{
    if (!data) {
        server_reply_error(out, 404, "not_found", "this file is not installed");
        return;
    }
    out->status = 200;
    out->content_type = type;
    vx_buf_append(&out->body, data, len);
}

static void route_openapi(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    (void)rc;
    serve_file(out, w->s->openapi, w->s->openapi_len, "application/json");
}

static void route_backoffice(struct worker *w, struct req_ctx *rc, struct server_reply *out)
{
    (void)rc;
    serve_file(out, w->s->backoffice, w->s->backoffice_len, "text/html; charset=utf-8");
}

static const struct route routes[] = {
    {"/alexa", M_POST, AUTH_PLATFORM, VX_MAX_BODY, NULL, 1, MOP_NONE},
    {"/provider/notifications", M_POST, AUTH_PROVIDER, 64 * 1024, route_notification, 0, MOP_NONE},
    {"/healthz", M_GET, AUTH_NONE, 0, route_healthz, 0, MOP_NONE},
    {"/readyz", M_GET, AUTH_NONE, 0, route_readyz, 0, MOP_NONE},
    {"/metrics", M_GET, AUTH_NONE, 0, route_metrics, 0, MOP_NONE},
    {"/v1/shops", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_SHOPS_LIST},
    {"/v1/shops", M_POST, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0, MOP_SHOPS_CREATE},
    {"/v1/shops/{shop}", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_SHOP_GET},
    {"/v1/shops/{shop}", M_PUT, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0, MOP_SHOP_PUT},
    {"/v1/shops/{shop}/simulation", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_SIM_GET},
    {"/v1/shops/{shop}/simulation", M_PUT, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0, MOP_SIM_PUT},
    {"/v1/shops/{shop}/simulation", M_DELETE, AUTH_MERCHANT, 0, NULL, 0, MOP_SIM_DELETE},
    {"/v1/shops/{shop}/products", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_PRODUCTS_LIST},
    {"/v1/shops/{shop}/products", M_POST, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0, MOP_PRODUCTS_CREATE},
    {"/v1/shops/{shop}/products/{product}", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_PRODUCT_GET},
    {"/v1/shops/{shop}/products/{product}", M_PUT, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0,
     MOP_PRODUCT_PUT},
    {"/v1/shops/{shop}/plans", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_PLANS_LIST},
    {"/v1/shops/{shop}/plans", M_POST, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0, MOP_PLANS_CREATE},
    {"/v1/shops/{shop}/plans/{plan}", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_PLAN_GET},
    {"/v1/shops/{shop}/orders", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_ORDERS_LIST},
    {"/v1/shops/{shop}/orders/{order}", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_ORDER_GET},
    {"/v1/shops/{shop}/orders/{order}/refunds", M_POST, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0,
     MOP_REFUND_CREATE},
    {"/v1/openapi.json", M_GET, AUTH_NONE, 0, route_openapi, 0, MOP_NONE},
    {"/backoffice", M_GET, AUTH_NONE, 0, route_backoffice, 0, MOP_NONE},
    {"/v1/shops/{shop}/orders/{order}/billing_agreement", M_GET, AUTH_MERCHANT, 0, NULL, 0,
     MOP_AGREEMENT_GET},
    {"/v1/shops/{shop}/orders/{order}/billing_agreement/close", M_POST, AUTH_MERCHANT, VX_MAX_BODY,
     NULL, 0, MOP_AGREEMENT_CLOSE},
    {"/v1/shops/{shop}/subscriptions", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_SUBS_LIST},
    {"/v1/shops/{shop}/subscriptions", M_POST, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0,
     MOP_SUBS_CREATE},
    {"/v1/shops/{shop}/subscriptions/{sub}", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_SUB_GET},
    {"/v1/shops/{shop}/subscriptions/{sub}/pause", M_POST, AUTH_MERCHANT, 4096, NULL, 0,
     MOP_SUB_PAUSE},
    {"/v1/shops/{shop}/subscriptions/{sub}/resume", M_POST, AUTH_MERCHANT, 4096, NULL, 0,
     MOP_SUB_RESUME},
    {"/v1/shops/{shop}/subscriptions/{sub}/cancel", M_POST, AUTH_MERCHANT, 4096, NULL, 0,
     MOP_SUB_CANCEL},
    {"/v1/shops/{shop}/subscriptions/{sub}/bill_now", M_POST, AUTH_MERCHANT, 4096, NULL, 0,
     MOP_SUB_BILL_NOW},
    {"/v1/shops/{shop}/subscriptions/{sub}/skip", M_POST, AUTH_MERCHANT, 4096, NULL, 0,
     MOP_SUB_SKIP},
    {"/v1/events", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_EVENTS_LIST},
    {"/v1/webhook_endpoints", M_GET, AUTH_MERCHANT, 0, NULL, 0, MOP_HOOKS_LIST},
    {"/v1/webhook_endpoints", M_POST, AUTH_MERCHANT, VX_MAX_BODY, NULL, 0, MOP_HOOKS_CREATE},
    {"/v1/webhook_endpoints/{endpoint}/deliveries", M_GET, AUTH_MERCHANT, 0, NULL, 0,
     MOP_DELIVERIES_LIST},
    {"/pay/{token}", M_GET, AUTH_PAYLINK, 0, NULL, 0, MOP_NONE},
    {"/pay/{token}", M_POST, AUTH_PAYLINK, 4096, NULL, 0, MOP_NONE},
};

static unsigned method_bit(const char *m)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(method_names); i++)
        if (strcmp(method_names[i], m) == 0)
            return 1u << i;
    return 0;
}

/* 1 when url's path matches pattern segment by segment ({x} matches any one segment). */
static int path_match(const char *pattern, const char *url)
{
    const char *p = pattern, *u = url;
    size_t ulen = strcspn(url, "?");
    while (*p && (size_t)(u - url) <= ulen) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t seg = strcspn(u, "/?");
            if (!close || seg == 0)
                return 0;
            p = close + 1;
            u += seg;
        } else if (*p == *u) {
            p++;
            u++;
        } else {
            return 0;
        }
    }
    return *p == '\0' && (size_t)(u - url) == ulen;
}

/* The row for url and method, or NULL with allow set ("GET, POST") when the path exists. */
static const struct route *route_find(const char *url, const char *method, char *allow,
                                      size_t allowsz)
{
    unsigned bit = method_bit(method), others = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < VX_ARRAY_LEN(routes); i++) {
        if (!path_match(routes[i].path, url))
            continue;
        if (routes[i].methods & bit)
            return &routes[i];
        others |= routes[i].methods;
    }
    for (size_t i = 0; others && i < VX_ARRAY_LEN(method_names); i++) {
        if (others & (1u << i)) {
            size_t n = strlen(allow);
            snprintf(allow + n, allowsz - n, "%s%s", n ? ", " : "", method_names[i]);
        }
    }
    return NULL;
}

/* --- requests --- */

static const char *mhd_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ud, MHD_HEADER_KIND, name);
}

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
    if (out->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, out->www_authenticate);
    if (out->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, out->location);
    if (out->html_page) {
        /* its address carries the customer's token: kept out of caches, referrers and frames */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "frame-ancestors 'none'; base-uri 'none'");
    }
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
    if (allow && allow != rc->allow)
        vx_strlcpy(rc->allow, allow, sizeof(rc->allow));
    rc->pending_allow = allow ? rc->allow : NULL;
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

/* What a turn waited for is in: MHD calls on_request again, which goes on with the turn. */
static void turn_resume(struct req_ctx *rc)
{
    if (!rc->suspended)
        return; /* finished before the connection was put aside: alexa() goes on */
    rc->suspended = 0;
    MHD_resume_connection(rc->conn);
    rc->w->resumed = 1;
}

static void turn_store_done(struct asend *a)
{
    turn_resume(a->ud);
}

static void turn_http_done(struct hsend *h)
{
    turn_resume(h->ud);
}

static void park(struct worker *w, struct req_ctx *rc)
{
    if (!rc->parked_ns)
        rc->parked_ns = vx_mono_ns();
    rc->next_parked = w->parked;
    w->parked = rc;
}

static void unpark(struct worker *w, struct req_ctx *rc)
{
    for (struct req_ctx **pp = &w->parked; *pp; pp = &(*pp)->next_parked) {
        if (*pp == rc) {
            *pp = rc->next_parked;
            rc->next_parked = NULL;
            return;
        }
    }
}

/* Every parked turn looks again (a load ended, or time passed). */
static void parked_retry(struct worker *w)
{
    struct req_ctx *rc = w->parked;
    w->parked = NULL;
    while (rc) {
        struct req_ctx *next = rc->next_parked;
        rc->next_parked = NULL;
        rc->st.park_expired = vx_mono_ns() - rc->parked_ns > PARK_MAX_NS;
        turn_resume(rc);
        rc = next;
    }
}

/*
 * POST /alexa, first call or resumed: runs the turn until it answers, or until
 * it waits for Redis, a download or another turn's download (the connection is
 * suspended; the outcome resumes it).
 */
static enum MHD_Result alexa(struct worker *w, struct req_ctx *rc)
{
    struct server_headers h = {mhd_header, rc->conn};
    struct vx_store_op *op = NULL;
    enum skill_wait wait;

    if (!rc->started) {
        rc->started = 1;
        wait = skill_start(w->s, &h, rc->body.data ? rc->body.data : "", rc->body.len, &rc->st,
                           &rc->out, &op);
    } else {
        wait = skill_continue(w->s, &rc->st, &rc->out, &op);
    }
    for (;;) {
        switch (wait) {
        case SKILL_DONE:
            return send_reply_timed(rc, 1);
        case SKILL_WAIT_STORE:
            rc->as.op = op;
            rc->as.done = turn_store_done;
            rc->as.ud = rc;
            loop_store_send(w, &rc->as);
            break;
        case SKILL_WAIT_HTTP:
            rc->hs.op = rc->st.hop;
            rc->hs.done = turn_http_done;
            rc->hs.ud = rc;
            loop_http_send(w, &rc->hs);
            break;
        case SKILL_WAIT_CERT:
            park(w, rc);
            break;
        }
        /* done already (a cache hit, no connection, a refused transfer): go on at once */
        if (wait != SKILL_WAIT_CERT && ((wait == SKILL_WAIT_STORE && rc->as.node == NULL) ||
                                        (wait == SKILL_WAIT_HTTP && rc->st.hop->easy == NULL))) {
            wait = skill_continue(w->s, &rc->st, &rc->out, &op);
            continue;
        }
        rc->suspended = 1;
        MHD_suspend_connection(rc->conn);
        return MHD_YES;
    }
}

static const char *mhd_query(void *ud, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ud, MHD_GET_ARGUMENT_KIND, name);
}

/*
 * The row's auth kind for /v1: a bearer token that verifies (401 with the
 * reason's stable code otherwise), and scope full for anything but GET (403).
 */
static int merchant_auth(struct worker *w, struct req_ctx *rc, const char *method)
{
    const char *auth = MHD_lookup_connection_value(rc->conn, MHD_HEADER_KIND, "Authorization");
    const char *tok = NULL;
    enum vx_mtoken_reason r;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        tok = auth + 7 + strspn(auth + 7, " ");
    r = vx_mtoken_verify(&w->s->mkeys, tok, vx_now(), &rc->mc.who);
    if (r != VX_MTOKEN_OK) {
        merchant_error(&rc->out, 401, vx_mtoken_reason_code(r), NULL, "%s",
                       vx_mtoken_reason_message(r));
        rc->out.www_authenticate = r == VX_MTOKEN_MISSING ? "Bearer realm=\"voxcart\""
                                                          : "Bearer realm=\"voxcart\", "
                                                            "error=\"invalid_token\"";
        rc->out.outcome = VX_OUT_BAD_REQUEST;
        return -1;
    }
    if (strcmp(method, "GET") != 0 && !rc->mc.who.full) {
        merchant_error(&rc->out, 403, "insufficient_scope", NULL,
                       "this token may only read (scope read); changes need scope full");
        rc->out.www_authenticate = "Bearer realm=\"voxcart\", error=\"insufficient_scope\"";
        return -1;
    }
    return 0;
}

static void fan_done(struct asend *a)
{
    struct req_ctx *rc = a->ud;
    if (--rc->fan_left == 0)
        turn_resume(rc);
}

/* Sends every op of the call's fan; 1 when the connection waits for them. */
static int fan_send(struct worker *w, struct req_ctx *rc)
{
    rc->fan = calloc(rc->mc.n_fan, sizeof(*rc->fan));
    if (!rc->fan) {
        for (size_t i = 0; i < rc->mc.n_fan; i++)
            vx_store_op_complete(&rc->mc.fan[i], NULL, "out of memory");
        return 0;
    }
    rc->fan_left = rc->mc.n_fan;
    for (size_t i = 0; i < rc->mc.n_fan; i++) {
        rc->fan[i].op = &rc->mc.fan[i];
        rc->fan[i].done = fan_done;
        rc->fan[i].ud = rc;
        loop_store_send(w, &rc->fan[i]);
    }
    return rc->fan_left > 0;
}

static void fan_release(struct req_ctx *rc)
{
    for (size_t i = 0; rc->fan && i < rc->mc.n_fan; i++)
        if (rc->fan[i].node)
            queue_remove(rc->fan[i].node, &rc->fan[i]);
    free(rc->fan);
    rc->fan = NULL;
}

/* /v1, first call or resumed: as alexa(), with the merchant call's kinds of wait. */
static enum MHD_Result merchant(struct worker *w, struct req_ctx *rc, const char *method)
{
    struct server_headers h = {mhd_header, rc->conn}, q = {mhd_query, rc->conn};
    struct vx_store_op *op = NULL;
    enum merchant_wait wait;

    if (!rc->mstarted) {
        if (merchant_auth(w, rc, method) != 0)
            return send_reply_timed(rc, 0);
        rc->mstarted = 1;
        rc->mc.mop = rc->route->mop;
        rc->mc.body = rc->body.data ? rc->body.data : "";
        rc->mc.len = rc->body.len;
        wait = merchant_start(w->s, &rc->mc, &h, &q, &rc->out, &op);
    } else {
        fan_release(rc);
        wait = merchant_continue(w->s, &rc->mc, &rc->out, &op);
    }
    while (wait != MERCHANT_DONE) {
        int waits;
        if (wait == MERCHANT_WAIT_MANY) {
            waits = fan_send(w, rc);
        } else if (wait == MERCHANT_WAIT_HTTP) {
            rc->hs.op = merchant_http(&rc->mc);
            rc->hs.done = turn_http_done;
            rc->hs.ud = rc;
            waits = 0; /* without a request (a refused argument): complete already */
            if (rc->hs.op) {
                loop_http_send(w, &rc->hs);
                waits = rc->hs.op->easy != NULL;
            }
        } else {
            rc->as.op = op;
            rc->as.done = turn_store_done;
            rc->as.ud = rc;
            loop_store_send(w, &rc->as);
            waits = rc->as.node != NULL;
        }
        if (waits) {
            rc->suspended = 1;
            MHD_suspend_connection(rc->conn);
            return MHD_YES;
        }
        fan_release(rc);
        wait = merchant_continue(w->s, &rc->mc, &rc->out, &op); /* complete already */
    }
    return send_reply_timed(rc, 0);
}

/*
 * /pay/<token>, first call or resumed: the row's auth kind is the token (checked before
 * the page runs; a bad one is its 404 page), then as merchant() with store waits only.
 */
static enum MHD_Result paylink(struct worker *w, struct req_ctx *rc, const char *url,
                               const char *method)
{
    struct vx_store_op *op = NULL;
    enum paypage_wait wait;

    if (!rc->pstarted) {
        if (paypage_token(w->s, url, &rc->pc, &rc->out) != 0)
            return send_reply_timed(rc, 0);
        rc->pstarted = 1;
        wait = paypage_start(w->s, &rc->pc, strcmp(method, "POST") == 0,
                             rc->body.data ? rc->body.data : "", rc->body.len, &rc->out, &op);
    } else {
        wait = paypage_continue(w->s, &rc->pc, &rc->out, &op);
    }
    while (wait == PAYPAGE_WAIT_STORE) {
        rc->as.op = op;
        rc->as.done = turn_store_done;
        rc->as.ud = rc;
        loop_store_send(w, &rc->as);
        if (rc->as.node != NULL) {
            rc->suspended = 1;
            MHD_suspend_connection(rc->conn);
            return MHD_YES;
        }
        wait = paypage_continue(w->s, &rc->pc, &rc->out, &op); /* complete already */
    }
    return send_reply_timed(rc, 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct worker *w = cls;
    struct req_ctx *rc = *con_cls;
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
        rc->route = route_find(url, method, rc->allow, sizeof(rc->allow));
        if (rc->route && rc->route->auth == AUTH_MERCHANT)
            merchant_params(&rc->mc, rc->route->path, url);
        if (rc->route && rc->route->timed) {
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
        } else if (!rc->route && rc->allow[0])
            pend(rc, 405, "method_not_allowed", "use a method in Allow", rc->allow,
                 VX_OUT_BAD_METHOD);
        else if (!rc->route)
            pend(rc, 404, "not_found", "no such path", NULL, VX_OUT_NOT_FOUND);
        else if ((unsigned long long)n > rc->route->body_max)
            pend(rc, 413, "too_large",
                 rc->route->body_max ? "the body is larger than 128 KiB"
                                     : "this path takes no body",
                 NULL, VX_OUT_TOO_LARGE);
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
        if (!rc->pending_status && rc->body.len + *upload_data_size > rc->route->body_max) {
            pend(rc, 413, "too_large",
                 rc->route->body_max ? "the body is larger than 128 KiB"
                                     : "this path takes no body",
                 NULL, VX_OUT_TOO_LARGE);
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
    if (rc->route->auth == AUTH_PLATFORM)
        return alexa(w, rc);
    if (rc->route->auth == AUTH_MERCHANT)
        return merchant(w, rc, method);
    if (rc->route->auth == AUTH_PAYLINK)
        return paylink(w, rc, url, method);
    rc->out.status = 500;
    rc->out.outcome = VX_OUT_OK;
    if (rc->route->auth == AUTH_PROVIDER && !provider_signed(w, rc, &rc->out))
        return send_reply_timed(rc, rc->route->timed);
    rc->route->handler(w, rc, &rc->out);
    return send_reply_timed(rc, rc->route->timed);
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
    unpark(w, rc);
    if (rc->as.node)
        queue_remove(rc->as.node, &rc->as);
    if (rc->st.hop && rc->st.hop->easy) { /* a download, or the turn's payment request */
        curl_multi_remove_handle(w->multi, rc->st.hop->easy);
        vx_http_op_finish(rc->st.hop, CURLE_ABORTED_BY_CALLBACK);
    }
    if (rc->started)
        skill_turn_release(w->s, &rc->st);
    fan_release(rc);
    if (rc->mstarted && merchant_http(&rc->mc) && merchant_http(&rc->mc)->easy) {
        curl_multi_remove_handle(w->multi, merchant_http(&rc->mc)->easy);
        vx_http_op_finish(merchant_http(&rc->mc), CURLE_ABORTED_BY_CALLBACK);
    }
    if (rc->mstarted)
        merchant_call_release(&rc->mc);
    if (rc->pstarted)
        paypage_call_release(&rc->pc);
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

static int epoll_watch(int epfd, int fd, struct watch *wt)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = wt;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Milliseconds the loop may sleep: MHD's next timeout, Redis's, curl's, the health ping. */
static int loop_timeout(struct worker *w)
{
    MHD_UNSIGNED_LONG_LONG t;
    int ms = (int)(PING_NS / 1000000u);
    uint64_t now = vx_mono_ns();
    w->mhd_due = 0;
    if (MHD_get_timeout(w->d, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)ms) {
        ms = (int)t;
        w->mhd_due = t == 0;
    }
    for (size_t i = 0; i < w->n_nodes; i++) {
        const struct asend *head = w->nodes[i].head;
        if (head && head->sent_ns) {
            uint64_t waited = (now - head->sent_ns) / 1000000u;
            int left = w->s->cfg.redis_timeout_ms - (int)waited;
            if (left < 0)
                left = 0;
            if (left < ms)
                ms = left + 1;
        }
    }
    if (w->curl_timeout_ms >= 0) {
        uint64_t gone = (now - w->curl_set_ns) / 1000000u;
        long left = w->curl_timeout_ms - (long)gone;
        if (left < 0)
            left = 0;
        if (left < ms)
            ms = (int)left;
    }
    if (w->parked && ms > 100)
        ms = 100; /* parked turns look again now and then, wake-up or not */
    return ms;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[32];
    uint64_t deadline = 0;
    int quiesced = 0;

    nodes_tick(w); /* connect and ask at once, so /readyz soon knows */
    for (;;) {
        int n = epoll_wait(w->epfd, evs, (int)VX_ARRAY_LEN(evs), loop_timeout(w));
        int run_mhd = 0, woken = 0;
        if (n < 0 && errno != EINTR) {
            vx_error("http", "worker %u: epoll_wait: %s", w->id, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct watch *wt = evs[i].data.ptr;
            switch (wt->kind) {
            case W_MHD:
                run_mhd = 1;
                break;
            case W_WAKE: {
                uint64_t v;
                if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    vx_warn("http", "worker %u: wake-up read: %s", w->id, strerror(errno));
                woken = 1;
                break;
            }
            case W_REDIS: {
                struct anode *nd = wt->p;
                if (nd->ac && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                    redisAsyncHandleRead(nd->ac);
                if (nd->ac && (evs[i].events & EPOLLOUT))
                    redisAsyncHandleWrite(nd->ac);
                break;
            }
            case W_CURL: {
                struct csock *cs = wt->p;
                int ev = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                         (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                         (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_action(w, cs->fd, ev);
                break;
            }
            }
        }
        curl_check_timer(w);
        nodes_check_timeout(w);
        if (w->parked && (woken || n == 0 || atomic_load(&stopping)))
            parked_retry(w);
        nodes_tick(w);
        if (w->id == 0)
            webhooks_tick(w);
        /* MHD runs for its sockets, its timeouts, and the connections resumed above */
        if (run_mhd || w->resumed || w->mhd_due || n == 0 || atomic_load(&stopping)) {
            w->resumed = 0;
            MHD_run(w->d);
        }
        nodes_flush(w);
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
    for (size_t i = 0; i < w->n_nodes; i++)
        node_drop(&w->nodes[i]); /* fails what still waits; MHD_stop_daemon closes those */
    webhooks_stop(w);
    MHD_run(w->d);
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
        if (ws[i].multi)
            curl_multi_cleanup(ws[i].multi);
        if (ws[i].epfd >= 0)
            close(ws[i].epfd);
        if (ws[i].wakefd >= 0)
            close(ws[i].wakefd);
    }
    free(ws);
}

static int worker_setup(struct worker *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->w_mhd.kind = W_MHD;
    w->w_wake.kind = W_WAKE;
    w->nodes[0].w = w;
    w->nodes[0].fd = -1;
    w->nodes[0].watch.kind = W_REDIS;
    w->nodes[0].watch.p = &w->nodes[0];
    w->n_nodes = 1;
    w->curl_timeout_ms = -1;
    w->multi = curl_multi_init();
    if (w->epfd < 0 || w->wakefd < 0 || !w->multi ||
        epoll_watch(w->epfd, MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd,
                    &w->w_mhd) != 0 ||
        epoll_watch(w->epfd, w->wakefd, &w->w_wake) != 0)
        return -1;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, curl_on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, curl_on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    return 0;
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
    curl_global_init(CURL_GLOBAL_DEFAULT);

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
        if (worker_setup(w) != 0) {
            vx_error("http", "cannot set up the event loop: %s", strerror(errno));
            goto fail;
        }
    }
    all_workers = ws;
    n_all_workers = s->threads;
    if (s->certs)
        vx_certs_set_wake(s->certs, certs_wake, NULL);
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
    if (s->certs)
        vx_certs_set_wake(s->certs, NULL, NULL);
    all_workers = NULL;
    n_all_workers = 0;
    workers_free(ws, s->threads);
    webhooks_release();
out:
    free(cert);
    free(key);
    return code;
}
