/*
 * voxcart-paysim: a stateful local double of the payment provider's v2 API.
 *
 * DESIGN. One process, one in-memory ledger guarded by one mutex (ps_lock): the
 * sandbox is a test fixture, and a single lock makes every request atomic, so
 * "exactly once" questions (a charge whose answer was dropped, a replayed
 * idempotency key) have one obvious answer. libmicrohttpd runs a thread per
 * connection so that an injected latency or a slow notification receiver never
 * stalls other clients; a background thread ("tick") settles pending objects on
 * the sandbox clock and delivers notifications.
 *
 * The files, one job each:
 *   main.c     options, daemon start-up, the tick thread, shutdown
 *   http.c     libmicrohttpd glue: body collection, the request pipeline (faults,
 *              signature, throttling, idempotency), dispatch, replies
 *   money.c    amounts on the wire ("12.50") <-> int64 minor units, per-currency limits
 *   model.c    the objects, their ids, state changes, settlement, JSON rendering
 *   api.c      the provider's /v2 operations
 *   auth.c     the signature check, idempotency records, token buckets
 *   setup.c    the /_sim/ set-up interface for developers and tests
 *   persist.c  save and load the state as one JSON file
 *   notify.c   signed notifications to the merchant's URL, retried until 2xx
 *   page.c     the hosted approval page of a checkout session
 */
#ifndef VOXCART_PAYSIM_H
#define VOXCART_PAYSIM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "voxcart/common.h"

struct json_object;

/* ---- money (money.c) ---- */

struct ps_money {
    int64_t minor; /* minor units of cur */
    char cur[4];   /* ISO 4217 */
};

/* Decimal places of a currency (JPY 0, the others the sandbox knows 2); -1 if unknown. */
int ps_currency_exponent(const char *cur);
/* "12.50" -> 1250 with exactly the currency's decimal places or fewer; no sign, exponent,
 * spaces or leading '.'; VX_EPARSE / VX_ERANGE with e naming the problem. */
int ps_amount_parse(const char *s, const char *cur, int64_t *minor, struct vx_err *e);
/* {"amount":"12.50","currencyCode":"EUR"} -> m; field names the member for messages. */
int ps_money_from_json(struct json_object *o, const char *field, struct ps_money *m,
                       struct vx_err *e);
void ps_amount_format(int64_t minor, const char *cur, char out[32]);
struct json_object *ps_money_json(const struct ps_money *m);
/* The monthly limit of a recurring permission in cur (payments.md s.2), minor units. */
int64_t ps_monthly_limit(const char *cur);
/* The per-charge maximum (150,000 in the major unit), minor units. */
int64_t ps_charge_max(const char *cur);

/* ---- the model (model.c) ---- */

enum ps_env { PS_ENV_SANDBOX, PS_ENV_LIVE };

struct ps_key {
    char id[128];
    char *pem;
    EVP_PKEY *pub;
};

/* Token buckets per operation (payments.md s.5, "Throttling"). */
enum ps_op { PS_OP_CREATE_CHARGE, PS_OP_CREATE_REFUND, PS_OP_GET_CHARGE, PS_OP_GET_PERM, PS_OP_N };

struct ps_bucket {
    int64_t milli; /* tokens x 1000 */
    uint64_t last_ns;
    int init;
};

struct ps_merchant {
    char id[64];
    char notify_url[512];
    struct ps_key *keys;
    size_t nkeys;
    struct ps_bucket buckets[2][PS_OP_N]; /* [env][op] */
};

struct ps_buyer {
    char id[64];
    char name[128];
    char email[128];
    char instrument[32];
};

struct ps_perm {
    char id[32];
    char merchant[64];
    char buyer[64];
    char instrument[32];
    int recurring;
    char freq_unit[16];
    char freq_value[16];
    struct ps_money rec_amount; /* minor < 0: none */
    struct ps_money limit;      /* OneTime: the amount approved */
    char state[16];             /* Chargeable | NonChargeable | Closed */
    char reason[40];
    int64_t created, updated, expires;
    enum ps_env env;
};

struct ps_charge {
    char id[48];
    char perm[32];
    char merchant[64];
    struct ps_money amount;
    int64_t captured, refunded;
    char state[24];
    char reason[40];
    char soft_descriptor[20];
    char *metadata; /* merchantMetadata as JSON text, or NULL */
    int capture_now, can_pending;
    int64_t created, updated, expires;
    int64_t settle_at; /* 0: nothing pending */
    char settle_to[24];
    char settle_reason[40];
    enum ps_env env;
};

struct ps_refund {
    char id[56];
    char charge[48];
    char merchant[64];
    struct ps_money amount;
    char state[20];
    char reason[40];
    char soft_descriptor[20];
    int64_t created, updated, settle_at;
    char settle_to[20];
    char settle_reason[40];
    enum ps_env env;
};

struct ps_session {
    char id[40];
    char merchant[64];
    char perm_type[24]; /* OneTime | Recurring */
    char freq_unit[16];
    char freq_value[16];
    struct ps_money rec_amount; /* minor < 0: none */
    char intent[24];            /* Authorize | AuthorizeWithCapture | Confirm */
    struct ps_money amount;     /* minor < 0: none */
    char *metadata;             /* merchantMetadata JSON text or NULL */
    char review_url[512];
    char result_url[512];
    char state[16]; /* Open | Completed | Canceled */
    char reason[40];
    char buyer[64];
    char instrument[32];
    char perm[32];
    char charge[48];
    int approved;
    int64_t created, updated, expires;
    enum ps_env env;
};

struct ps_idem {
    char merchant[64];
    char key[33];
    unsigned char fp[32]; /* SHA-256 of method, path and body */
    int status;
    char *body;
    int64_t created;
};

struct ps_notice {
    uint64_t seq;
    char merchant[64];
    char url[512];
    char object_type[24]; /* CHARGE_PERMISSION | CHARGE | REFUND */
    char object_id[64];
    char perm_id[32];
    char state[24];
    char *body; /* the JSON posted */
    int attempts;
    int delivered;
    int again; /* deliveries asked for by redeliver on top of the one under way (not saved) */
    int last_status;
    int64_t created;
    uint64_t next_ns; /* monotonic time of the next attempt */
};

#define PS_VEC(T)                                                                                  \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

struct ps_throttle_row {
    int burst;
    int per_second;
};

struct ps_fault {
    char op[32];   /* an operation name ("createCharge") or "*" */
    char kind[16]; /* latency | status | drop */
    int status;    /* for kind status: 500, 503 or 429 */
    int latency_ms;
    int remaining; /* requests it still applies to; < 0: until removed */
    int percent;   /* 1..100: a share of the requests it matches, spread evenly (0: every one) */
    int acc;       /* the share counted so far: applies when it reaches 100 */
    int applied;   /* requests it was applied to */
};

/* Positions of a vector's objects by the hash of a string member (model.c, ps_index_each). */
struct ps_index {
    struct ps_index_slot {
        uint64_t hash;
        size_t pos; /* position + 1; 0: empty */
    } * slot;
    size_t cap;   /* a power of two, at least twice the objects indexed */
    size_t count; /* the vector's objects [0, count) are in it */
};

struct ps_state {
    PS_VEC(struct ps_merchant) merchants;
    PS_VEC(struct ps_buyer) buyers;
    PS_VEC(struct ps_perm) perms;
    PS_VEC(struct ps_charge) charges;
    PS_VEC(struct ps_refund) refunds;
    PS_VEC(struct ps_session) sessions;
    PS_VEC(struct ps_idem) idem;
    PS_VEC(struct ps_notice) notices;
    PS_VEC(struct ps_fault) faults;
    int64_t clock_offset; /* sandbox clock = wall clock + offset, seconds */
    int clock_frozen;     /* the sandbox clock stands still at frozen_at (tests) */
    int64_t frozen_at;
    int date_check_wall; /* compare x-amz-pay-date with the wall clock instead */
    int throttle_on;
    struct ps_throttle_row throttle[2][PS_OP_N];
    uint64_t notice_seq;
    int dirty;
    /* lookups that do not read every object (a benchmark's 100,000 permissions and charges):
     * permissions and charges by ID, charges by permission, idempotency records by key */
    struct ps_index ix_perms, ix_charges, ix_charge_perms, ix_idem;
    /* ps_tick looks at every object only when something may be due: nothing is before
     * tick_next (lowered by each *_set_state), unless sessions were made since (tick_sessions) */
    int64_t tick_next;
    size_t tick_sessions;
};

/* Options fixed at start. */
struct ps_config {
    const char *listen;
    int port;
    const char *tls_cert, *tls_key;
    const char *notify_ca; /* extra trust for HTTPS notification URLs (--devca DIR/root.pem) */
    const char *state_file;
    const char *notify_url;
    const char *base_url; /* how buyers reach the approval page; computed when empty */
    int throttle;
    int date_window; /* seconds, 900 */
    int pending_seconds;
    int refund_seconds;
};

extern struct ps_state ps;
extern struct ps_config ps_cfg;
extern pthread_mutex_t ps_lock;
extern char ps_base_url[256];
extern EVP_PKEY *ps_notify_key; /* signs notifications */

struct MHD_Daemon;
struct MHD_Daemon *ps_http_start(int fd, const char *cert, const char *key);

/* Appends a zeroed element to a PS_VEC; 0, or VX_ENOMEM with out NULL. */
#define PS_PUSH(vec, out)                                                                          \
    (((out) = ps__push((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v))) ? 0 : VX_ENOMEM)
void *ps__push(void **v, size_t *n, size_t *cap, size_t size);
int ps__grow(void **v, size_t *cap, size_t need, size_t size);

int64_t ps_now(void);
void ps_timestamp(int64_t epoch, char out[17]);
void ps_random_digits(char *out, size_t n);
void ps_state_init(void);
void ps_state_release(void);
void ps_default_buyers(void);
void ps_throttle_defaults(void);

struct ps_merchant *ps_merchant_find(const char *id);
struct ps_key *ps_key_find(const char *key_id, struct ps_merchant **m);
struct ps_buyer *ps_buyer_find(const char *id);
struct ps_perm *ps_perm_find(const char *id);
struct ps_charge *ps_charge_find(const char *id);
struct ps_refund *ps_refund_find(const char *id);
struct ps_session *ps_session_find(const char *id);
int ps_key_add(struct ps_merchant *m, const char *key_id, const char *pem, struct vx_err *e);

/* Test instruments: what a charge against each one does. */
struct ps_instrument {
    const char *id;
    const char *label;
    const char *outcome; /* Authorized, or a decline reason code */
    int pending;         /* pending first, then outcome */
};
const struct ps_instrument *ps_instrument_find(const char *id);
extern const struct ps_instrument ps_instruments[];
extern const size_t ps_ninstruments;

struct ps_perm *ps_perm_create(const char *merchant, const char *buyer, const char *instrument,
                               int recurring, const char *freq_unit, const char *freq_value,
                               const struct ps_money *rec_amount, const struct ps_money *limit,
                               enum ps_env env);
void ps_perm_set_state(struct ps_perm *p, const char *state, const char *reason);
void ps_charge_set_state(struct ps_charge *c, const char *state, const char *reason);
void ps_refund_set_state(struct ps_refund *r, const char *state, const char *reason);
/* What a permission has been charged in the calendar month of the sandbox clock, in cur. */
int64_t ps_perm_month_usage(const struct ps_perm *p, const char *cur);
/* How many charges were ever made against the permission. */
size_t ps_perm_charge_count(const char *perm_id);
/*
 * The objects of a vector (base, n objects of size bytes) whose string member at offset off
 * equals key, through ix: visit(pos, arg) for each until it answers 1 (NULL: the first is it).
 * The position it stopped at, or -1. Objects are only ever appended and their IDs never
 * change, so ix catches up at each call with those appended since.
 */
ptrdiff_t ps_index_each(struct ps_index *ix, const void *base, size_t n, size_t size, size_t off,
                        const char *key, int (*visit)(size_t pos, void *arg), void *arg);
/* Settles pending charges and refunds, expires what is due; returns how many changed. */
int ps_tick(void);

struct json_object *ps_perm_json(const struct ps_perm *p);
struct json_object *ps_charge_json(const struct ps_charge *c);
struct json_object *ps_refund_json(const struct ps_refund *r);
struct json_object *ps_session_json(const struct ps_session *s);
const char *ps_env_name(enum ps_env env);

/* ---- notifications (notify.c) ---- */
void ps_notify(const char *merchant, const char *object_type, const char *object_id,
               const char *perm_id, const char *state, enum ps_env env);
/* Sends what is due (called by the tick thread without ps_lock held). */
void ps_notify_run(void);
int ps_notify_key_load(const char *state_file, struct vx_err *e);
char *ps_notify_key_pem(void);

/* ---- persistence (persist.c) ---- */
int ps_save(const char *path, struct vx_err *e);
int ps_load(const char *path, struct vx_err *e);

/* ---- requests (http.c) ---- */

#define PS_MAX_HEADERS 48

struct ps_req {
    const char *method;
    const char *path; /* as received, without the query */
    const char *rest; /* the path after the API prefix, e.g. "charges/C01/capture" */
    char query[1024]; /* canonical-ready query string rebuilt from the arguments */
    const char *body;
    size_t body_len;
    struct json_object *json; /* parsed body, or NULL when empty */
    const char *args[4];      /* '*' segments of the matched route */
    size_t nargs;
    struct {
        const char *name, *value;
    } hdr[PS_MAX_HEADERS];
    size_t nhdr;
    enum ps_env env;
    struct ps_merchant *merchant;
    const char *sim_code;
    void *conn;

    /* the answer */
    int status;
    struct vx_buf out;
    const char *content_type;
    char location[512];
};

const char *ps_req_header(const struct ps_req *r, const char *name);
/* Reply helpers: the provider's error body {"reasonCode","message"}, an object (taken). */
void ps_fail(struct ps_req *r, int status, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ps_reply_json(struct ps_req *r, int status, struct json_object *o);
/* The set-up interface's errors: {"error":{"code","message"}}. */
void ps_sim_fail(struct ps_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the provider API (api.c) ---- */
struct ps_route {
    const char *method;
    const char *pattern; /* segments, '*' matches one */
    const char *op_name; /* the operation, as faults name it */
    int throttle_op;     /* enum ps_op, or -1 */
    int idempotent;      /* 1: key required, 2: key optional, 0: none */
    void (*handler)(struct ps_req *r);
};
extern const struct ps_route ps_api_routes[];
extern const size_t ps_api_nroutes;
/* Route arguments point into rest; cuts them at their '/' in a copy (returned, to free). */
char *ps_req_args_split(struct ps_req *r);
const struct ps_route *ps_route_match(const struct ps_route *routes, size_t n, struct ps_req *r,
                                      int *method_mismatch);

/* ---- signature, throttling, idempotency (auth.c) ---- */
/* 0 and r->merchant set when the signature holds; otherwise the reply is set. */
int ps_auth_check(struct ps_req *r);
/* 0 when a token was taken; otherwise a 429 reply is set. */
int ps_throttle_take(struct ps_req *r, enum ps_op op);
int ps_idem_key_valid(const char *key);
struct ps_idem *ps_idem_find(const char *merchant, const char *key);
void ps_idem_fingerprint(const struct ps_req *r, unsigned char fp[32]);
int ps_idem_store(const char *merchant, const char *key, const unsigned char fp[32], int status,
                  const char *body);

/* ---- the set-up interface (setup.c) and the approval page (page.c) ---- */
void ps_setup_dispatch(struct ps_req *r);
void ps_page_dispatch(struct ps_req *r);
/* Approving a session: creates the permission and notifies; 0 or VX_E* with e. */
int ps_session_approve(struct ps_session *s, const char *buyer, const char *instrument,
                       struct vx_err *e);
void ps_session_decline(struct ps_session *s);

/* JSON helpers shared by the handlers. */
int ps_json_str(struct json_object *o, const char *key, const char **out);
char *ps_json_text(struct json_object *o); /* malloc'd compact text */

#endif
