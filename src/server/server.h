/*
 * The seams inside voxcartd: http.c owns sockets and routing, skill.c the
 * POST /alexa pipeline. Handlers get the raw body and a header lookup and fill a
 * struct server_reply; they never touch libmicrohttpd.
 */
#ifndef VOXCART_SERVER_H
#define VOXCART_SERVER_H

#include <stddef.h>

#include "voxcart/common.h"
#include "voxcart/config.h"
#include "voxcart/certs.h"
#include "voxcart/envelope.h"
#include "voxcart/httpop.h"
#include "voxcart/metrics.h"
#include "voxcart/store.h"

#define VX_MAX_BODY (128 * 1024)

/* Header lookup, case-insensitive, as the HTTP layer provides it. */
struct server_headers {
    const char *(*get)(void *ud, const char *name);
    void *ud;
};

struct server_reply {
    int status;
    const char *content_type;
    struct vx_buf body;
    enum vx_outcome outcome;
    const char *allow;    /* Allow header for 405 */
    int close_connection; /* Connection: close, and the connection is closed after it */
};

struct vx_fsm;

struct server {
    struct vx_config cfg;
    struct vx_certs *certs;
    struct vx_fsm *fsm;           /* the dialog engine, made by skill_init */
    struct vx_provider *provider; /* the payment provider's client; NULL when none is configured */
    EVP_PKEY *notify_key;         /* checks the provider's notifications (provider.notify_key) */
    unsigned threads;
};

/* The skill pipeline: verification, envelope, dialog, response. */
int skill_init(struct server *s, struct vx_err *e);
void skill_release(struct server *s);
void skill_handle(struct server *s, const struct server_headers *h, const char *body, size_t len,
                  struct server_reply *out);

/*
 * The same pipeline for an event loop: skill_start and skill_continue return
 * SKILL_DONE when out holds the answer, or what the turn waits for: a store
 * operation (*op; carried out on the loop's Redis connection and completed with
 * vx_store_op_complete), an HTTP request (st->http: a certificate download), or
 * another turn's certificate download (SKILL_WAIT_CERT: call skill_continue
 * again when it ended; st->park_expired tells the turn it waited too long).
 * Then skill_continue, which answers the same way. body must stay alive until
 * skill_turn_release, which every started turn gets.
 */
enum skill_wait { SKILL_DONE, SKILL_WAIT_STORE, SKILL_WAIT_HTTP, SKILL_WAIT_CERT };

enum skill_phase {
    SKILL_CERT,          /* the signing key: memory, or a load this turn drives */
    SKILL_CERT_SHARED,   /* waiting for the shared cache */
    SKILL_CERT_DOWNLOAD, /* waiting for the download */
    SKILL_CERT_SHARE,    /* offering the verified chain to the shared cache */
    SKILL_REPLAY_GUARD,
    SKILL_DIALOG
};

struct skill_turn {
    enum skill_phase phase;
    int parsed;
    struct vx_request req;
    struct vx_fsm_turn *turn;
    struct vx_store_op op; /* the replay guard's, the shared certificate cache's */
    struct vx_http_op http;
    struct vx_http_op *hop; /* SKILL_WAIT_HTTP: the request to send (http, or the turn's) */
    /* verification in progress */
    const char *body;
    size_t len;
    int64_t now;
    char cert_url[1024]; /* canonical */
    char sig[1024];
    int loading; /* this turn owns the load of cert_url */
    int park_expired;
    char *pem; /* a chain from the map or the download, until it is verified and shared */
    size_t pem_len;
    EVP_PKEY *key; /* the verified key, while the chain is offered to the shared cache */
};

enum skill_wait skill_start(struct server *s, const struct server_headers *h, const char *body,
                            size_t len, struct skill_turn *st, struct server_reply *out,
                            struct vx_store_op **op);
enum skill_wait skill_continue(struct server *s, struct skill_turn *st, struct server_reply *out,
                               struct vx_store_op **op);
void skill_turn_release(struct server *s, struct skill_turn *st);

/* The payment janitor's thread (janitor.c): started when payments are on, stopped at exit. */
void janitor_start(struct server *s);
void janitor_stop(void);
/* A notification came: the janitor runs a pass now, over every pending order. */
void janitor_wake(void);

/* Runs the HTTP server until SIGTERM/SIGINT, then drains. Returns the process exit code. */
int http_run(struct server *s);

/* Writes a JSON error body {"error":{"code":...,"message":...}} into out. */
void server_reply_error(struct server_reply *out, int status, const char *code,
                        const char *message);

#endif
