/*
 * The seams inside voxcartd: http.c owns sockets and routing, skill.c the
 * POST /alexa pipeline. Handlers get the raw body and a header lookup and fill a
 * struct server_reply; they never touch libmicrohttpd.
 */
#ifndef VOXCART_SERVER_H
#define VOXCART_SERVER_H

#include <pthread.h>
#include <stddef.h>

#include "voxcart/common.h"
#include "voxcart/config.h"
#include "voxcart/certs.h"
#include "voxcart/envelope.h"
#include "voxcart/httpop.h"
#include "voxcart/metrics.h"
#include "voxcart/mtoken.h"
#include "voxcart/paylink.h"
#include "voxcart/provider.h"
#include "voxcart/wset.h"
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
    const char *allow;            /* Allow header for 405 */
    int close_connection;         /* Connection: close, and the connection is closed after it */
    const char *www_authenticate; /* WWW-Authenticate header for 401 */
    const char *location;         /* Location header (a 303) */
    int html_page; /* a page for a browser: not cached, no referrer, not framed, no scripts */
};

struct vx_fsm;

struct server {
    struct vx_config cfg;
    struct vx_certs *certs;
    struct vx_fsm *fsm;           /* the dialog engine, made by skill_init */
    struct vx_provider *provider; /* the payment provider's client; NULL when none is configured */
    struct vx_provider *live;     /* ... its live endpoints, for production shops (or NULL) */
    EVP_PKEY *notify_key;         /* checks the provider's notifications (provider.notify_key) */
    unsigned threads;
    struct vx_mtoken_keys mkeys;             /* merchant tokens; mkeys.key NULL: /v1 answers 401 */
    char voice_shop[VX_MERCHANT_ID_MAX + 1]; /* the shop of merchant.demo_id the skill sells */
    char *openapi;                           /* the merchant API's OpenAPI document, or NULL */
    size_t openapi_len;
    char *backoffice; /* the back-office page, or NULL */
    size_t backoffice_len;
    unsigned char *paypage_key; /* the pay-link page's tokens (paypage.secret); NULL: no page */
    size_t paypage_key_len;
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
    SKILL_CATALOG, /* reading the shop's catalog version (and the catalog when it changed) */
    SKILL_DIALOG,
    SKILL_ORDER_INDEX, /* the answer is ready: the order it recorded goes into its shop's index */
    SKILL_ORDER_EVENT, /* ... and its order.created event into the merchant's log */
    SKILL_ORDER_TOLD,  /* ... and what paying it came to (order.paid, ...) */
    SKILL_SUB_INDEX,   /* ... and the subscription it made into its shop's index */
    SKILL_SUB_EVENT    /* ... and what it did to a subscription into the merchant's log */
};

/*
 * An event of the merchant's log (vx:{m:<merchant>}:events): {"id","type","created_at" (epoch
 * ms),"shop_id","data"}. Its ID, evt_<13-digit ms>_<what it is about>, sorts by time and is
 * the same however often the change that causes it is recorded, so writing it again changes
 * nothing. doc and id hold what op points into until it is complete.
 */
struct merchant_event {
    char id[128];
    struct vx_buf doc;
};
int merchant_event_op(struct vx_store_op *op, struct merchant_event *ev, const char *merchant,
                      const char *type, int64_t at_ms, const char *about, const char *shop,
                      const char *data_json);
/* The same with the idempotency record of the POST that caused it, in the same script. */
int merchant_event_idem_op(struct vx_store_op *op, struct merchant_event *ev, const char *merchant,
                           const char *type, int64_t at_ms, const char *about, const char *shop,
                           const char *data_json, const char *idem_key, const char *idem_value);

/*
 * The voice catalog from the merchant data (voice_catalog.c): before a turn's
 * dialog, the shop's catalog version is read when it may have changed (this
 * process wrote it, or a second passed since this worker last looked); a newer
 * one is loaded, checked and installed, and the turn runs on it. Any failure
 * leaves the catalog as it was.
 */
struct voice_catalog_call {
    int step;
    int done;
    uint64_t version;
    char *shop; /* the shop document, between its read and its products' */
    char **ids; /* the products (id, document, ...), until the simulation is read */
    size_t n_ids;
    char **plan_ids; /* the plans, the same way */
    size_t n_plan_ids;
    struct vx_buf ref; /* an order's entry in its shop's index: whose it is */
    char order_id[72];
    char sub_id[24]; /* the subscription the turn made or changed ("" none), after the order */
    const char *sub_event; /* what was done to it: the merchant's event type */
    int64_t sub_at, sub_fence;
    int64_t created;
    struct merchant_event event; /* its order.created */
};
/* 1 with op to send; 0 when the turn can go on with the catalog as it is. */
int voice_catalog_start(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op);
int voice_catalog_continue(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op);
void voice_catalog_release(struct voice_catalog_call *vc);
/*
 * The order a turn recorded, in its shop's index (vx:{m:<merchant>}:orders:<shop>, a
 * collection whose documents say whose order it is: {"skill","user","created"}), so that
 * the merchant API can find it. Another slot than the customer's, so not atomic with the
 * order: written after it, idempotently (the order's own ID; a repeat changes nothing).
 * 1 with op to send.
 */
int voice_order_index(struct server *s, struct voice_catalog_call *vc, const struct vx_request *req,
                      const char *order_id, int64_t created, struct vx_store_op *op);
/* Then the order.created event (merchant_event_op); 1 with op to send. */
int voice_order_event(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op);
/*
 * What an order's payment came to (pay.h), as the merchant's event: order.paid, .declined,
 * .failed or .canceled, at the order's settled_at, one per order, attempt and outcome (a
 * repeat finds it there and changes nothing). 1 with op to send.
 */
struct vx_pay_outcome;
int order_outcome_op(struct server *s, struct merchant_event *ev, const struct vx_pay_outcome *o,
                     struct vx_store_op *op);
/* The janitor's thread (blocking): the order's index entry, order.created and its outcome,
 * each written unless there already. */
void order_told(struct server *s, const struct vx_pay_outcome *o);
/* A subscription the turn created, in its shop's index (vx:{m:<merchant>}:subs:<shop>), the
 * same way as an order: after it, idempotently. 1 with op to send. */
int voice_sub_index(struct server *s, struct voice_catalog_call *vc, const struct vx_request *req,
                    const char *sub_id, int64_t created, struct vx_store_op *op);
/* Then its event (subscription.created, .paused, ... by the customer); 1 with op to send. */
int voice_sub_event(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op);
/* At start-up (blocking): the catalog file becomes the demo merchant's shop when it has none. */
int voice_catalog_import(struct server *s, struct vx_err *e);
/* The merchant API changed the voice shop's catalog: this process's next turn looks. */
void voice_catalog_changed(void);

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
    struct voice_catalog_call vc;
};

enum skill_wait skill_start(struct server *s, const struct server_headers *h, const char *body,
                            size_t len, struct skill_turn *st, struct server_reply *out,
                            struct vx_store_op **op);
enum skill_wait skill_continue(struct server *s, struct skill_turn *st, struct server_reply *out,
                               struct vx_store_op **op);
void skill_turn_release(struct server *s, struct skill_turn *st);

/*
 * A thread running pass(server, woken, ctx) every interval_ms (periodic.c), woken early by
 * periodic_wake (woken 1 for that pass); the janitor's and the biller's.
 */
struct periodic {
    const char *name; /* its log's */
    int interval_ms;
    void (*pass)(struct server *s, int woken, void *ctx);
    struct server *server;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stopping, woken;
};
#define PERIODIC_INIT                                                                              \
    {                                                                                              \
        .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER                            \
    }
/* 0 started, -1 not (logged) */
int periodic_start(struct periodic *p);
void periodic_wake(struct periodic *p);
void periodic_stop(struct periodic *p);

/* The payment janitor's thread (janitor.c): started when payments are on, stopped at exit. */
void janitor_start(struct server *s);
void janitor_stop(void);
/* A notification came: the janitor runs a pass now, over every pending order. */
void janitor_wake(void);
/* The recurring biller's thread (biller.c): started when payments are on and biller.interval_ms
 * is not 0, stopped at exit. */
void biller_start(struct server *s);
void biller_stop(void);

/*
 * The merchant API (/v1, merchant.c), the same shape as the skill pipeline:
 * http.c checks the bearer token and the scope (the row's auth kind), then
 * merchant_start / merchant_continue answer MERCHANT_DONE, or wait for a store
 * operation (*op) the loop carries out. One enum value per route row.
 */
#define MERCHANT_OP_MAP(XX)                                                                        \
    XX(SHOPS_LIST)                                                                                 \
    XX(SHOPS_CREATE)                                                                               \
    XX(SHOP_GET)                                                                                   \
    XX(SHOP_PUT)                                                                                   \
    XX(SIM_GET)                                                                                    \
    XX(SIM_PUT)                                                                                    \
    XX(SIM_DELETE)                                                                                 \
    XX(PRODUCTS_LIST)                                                                              \
    XX(PRODUCTS_CREATE)                                                                            \
    XX(PRODUCT_GET)                                                                                \
    XX(PRODUCT_PUT)                                                                                \
    XX(ORDERS_LIST)                                                                                \
    XX(ORDER_GET)                                                                                  \
    XX(REFUND_CREATE)                                                                              \
    XX(EVENTS_LIST)                                                                                \
    XX(HOOKS_LIST)                                                                                 \
    XX(HOOKS_CREATE)                                                                               \
    XX(DELIVERIES_LIST)                                                                            \
    XX(PLANS_LIST)                                                                                 \
    XX(PLANS_CREATE)                                                                               \
    XX(PLAN_GET)                                                                                   \
    XX(AGREEMENT_GET)                                                                              \
    XX(AGREEMENT_CLOSE)                                                                            \
    XX(SUBS_LIST)                                                                                  \
    XX(SUBS_CREATE)                                                                                \
    XX(SUB_GET)                                                                                    \
    XX(SUB_PAUSE)                                                                                  \
    XX(SUB_RESUME)                                                                                 \
    XX(SUB_CANCEL)                                                                                 \
    XX(SUB_BILL_NOW)                                                                               \
    XX(SUB_SKIP)

enum merchant_op {
    MOP_NONE, /* rows that are not /v1 */
#define XX(n) MOP_##n,
    MERCHANT_OP_MAP(XX)
#undef XX
        MOP__COUNT
};

/* WAIT_MANY: every op of fan (n_fan of them) at once; continue when all are complete. */
enum merchant_wait { MERCHANT_DONE, MERCHANT_WAIT_STORE, MERCHANT_WAIT_MANY, MERCHANT_WAIT_HTTP };

/* A refund on its way (merchant.c): the order as read, and the provider's call. */
struct merchant_refund {
    int64_t amount, captured, refunded;
    char state[24], currency[4], charge_id[64];
    char key[VX_PROVIDER_KEY_MAX + 1]; /* the provider's idempotency key */
    char refund_id[64], refund_state[32];
    int to_send;               /* pop.http is a request to send (0: refused before it was made) */
    int sent;                  /* the provider accepted it: what is left is recording it */
    int attempts;              /* of recording it (a concurrent refund moved the base) */
    int live;                  /* the order or agreement is of a production shop */
    struct vx_provider_op pop; /* WAIT_HTTP: pop.http */
    struct vx_wset ws;
    struct vx_buf entry;
};

#define MERCHANT_PARAMS   2
#define MERCHANT_PARAM_SZ 72

struct merchant_sub; /* a subscription on its way (merchant.c) */

struct merchant_call {
    enum merchant_op mop;
    struct server *server;
    struct vx_mtoken_claims who;
    char params[MERCHANT_PARAMS][MERCHANT_PARAM_SZ]; /* the {...} of the path, in order */
    int bad_param;                                   /* one is not an ID */
    const char *body;
    size_t len;
    char cursor[MERCHANT_PARAM_SZ];
    long long limit;
    char idem_key[128];
    char body_hash[65];
    char id[MERCHANT_PARAM_SZ];        /* the document a write stores (the op points here) */
    char coll[MERCHANT_PARAM_SZ + 16]; /* its collection */
    int step;
    struct vx_store_op op;
    struct vx_buf doc;       /* the document a write stores */
    struct vx_buf memo;      /* what an idempotent POST answered, as stored */
    char *parent;            /* the parent document a write read (a product's shop); an order */
    struct vx_store_op *fan; /* reads of several customers' orders */
    size_t n_fan;
    char skill[256], user[256]; /* whose order it is (its shop's index says) */
    struct merchant_refund *refund;
    struct merchant_sub *sub;
    char f_status[16], f_plan[MERCHANT_PARAM_SZ]; /* a list's filters ("" none) */
    struct merchant_event event;
};

/* Fills the path parameters from url by pattern; query for cursor and limit. */
void merchant_params(struct merchant_call *mc, const char *pattern, const char *url);
enum merchant_wait merchant_start(struct server *s, struct merchant_call *mc,
                                  const struct server_headers *h,
                                  const struct server_headers *query, struct server_reply *out,
                                  struct vx_store_op **op);
enum merchant_wait merchant_continue(struct server *s, struct merchant_call *mc,
                                     struct server_reply *out, struct vx_store_op **op);
void merchant_call_release(struct merchant_call *mc);

/* WAIT_HTTP: the request to send (a provider call), or NULL when there is none. */
struct vx_http_op *merchant_http(struct merchant_call *mc);
/* {"error":{"code","message","field"}} (field omitted when NULL). */
void merchant_error(struct server_reply *out, int status, const char *code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * The webhook runner (webhook.c), driven by the first worker's loop: 0 when it
 * has nothing to do now, 1 when op must be carried out, 2 when http must be
 * sent; called again once it is complete.
 */
int webhooks_step(struct server *s, struct vx_store_op *op, struct vx_http_op *http);
void webhooks_release(void);

/*
 * The pay-link page (paypage.c): GET /pay/<token> shows the customer's pending order with a
 * field for the voice code; POST sets it (a write set on the customer's slot) and sends the
 * buyer on to the provider's page with a 303. The token is the row's auth kind: http.c has
 * paypage_token check it before anything else, and a bad one is a plain 404 page. Then the
 * same shape as the merchant API: start / continue answer PAYPAGE_DONE or wait for *op.
 */
enum paypage_wait { PAYPAGE_DONE, PAYPAGE_WAIT_STORE };

struct paypage_call {
    struct vx_paylink who; /* whose order the token names */
    int post;
    int step;
    char code[8];     /* POST: the voice code given ("" none) */
    int code_invalid; /* POST: something that is not four digits was given */
    struct vx_store_op op;
    struct vx_wset ws;
    struct vx_buf hash; /* the code's stored form */
    char *order;        /* POST with a code: the order document, as read before the write */
    char *location;     /* the 303's Location (the reply points here) */
};

/* 0 with pc->who filled when url's token is valid; else out holds the 404 page. */
int paypage_token(struct server *s, const char *url, struct paypage_call *pc,
                  struct server_reply *out);
enum paypage_wait paypage_start(struct server *s, struct paypage_call *pc, int post,
                                const char *body, size_t len, struct server_reply *out,
                                struct vx_store_op **op);
enum paypage_wait paypage_continue(struct server *s, struct paypage_call *pc,
                                   struct server_reply *out, struct vx_store_op **op);
void paypage_call_release(struct paypage_call *pc);

/* Runs the HTTP server until SIGTERM/SIGINT, then drains. Returns the process exit code. */
int http_run(struct server *s);

/* Writes a JSON error body {"error":{"code":...,"message":...}} into out. */
void server_reply_error(struct server_reply *out, int status, const char *code,
                        const char *message);

#endif
