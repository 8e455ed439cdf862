/*
 * Inside the dialog engine: the engine and a turn as the turn's phases
 * (fsm.c), start-up (setup.c) and paying (payturn.c) share them.
 */
#ifndef VOXCART_ENGINE_H
#define VOXCART_ENGINE_H

#include "turn.h"

#include <pthread.h>

#include "voxcart/fsm.h"
#include "voxcart/ledger.h"
#include "voxcart/paylink.h"
#include "voxcart/platform.h"
#include "voxcart/provider.h"
#include "voxcart/sub.h"

/*
 * The catalog turns read, which a running server may replace (a merchant
 * changed it through the API): each turn holds a reference to the one it
 * started with, so a replaced catalog is freed when its last turn ends.
 */
struct fsm_cat {
    struct vx_catalog *cat;
    uint64_t version; /* the merchant data's catalog version it was built from; 0: the file */
    int refs;         /* under vx_fsm.mu */
};

struct vx_fsm {
    const struct vx_skill *skill;
    struct vx_catalog *cat; /* the current one: cur->cat */
    struct fsm_cat *cur;
    pthread_mutex_t mu;
    struct vx_i18n *i18n;
    int ttl;
    struct vx_provider *provider; /* NULL: orders are recorded CONFIRMED, nobody is charged */
    struct vx_provider *live;     /* production catalogs; NULL: they are not charged */
    char merchant[64];            /* whose data holds the simulation code ("" none) */
    int payments;                 /* on: shops on the platform's rail are paid too */
    int pay_budget_ms;
    char pay_page_url[256]; /* the pay-link page's base ("" = cards link to the provider) */
    const unsigned char *pay_page_secret;
    size_t pay_page_secret_len;
    void (*hook)(void *ud);
    void *hook_ud;
};

/*
 * A turn as a sequence of phases; between two phases the caller carries out
 * one store operation (vx_fsm_turn_step hands it out). The same turn runs
 * blocking (vx_fsm_handle) or on voxcartd's event loop.
 */
enum phase {
    PH_ATTEMPT,
    PH_READ,
    PH_DECIDE,
    PH_RETRY,  /* paying again: the soft-declined order is loaded */
    PH_MARKED, /* paying: the janitor's entry is in, now the order and its attempt key */
    PH_SAVED,
    PH_SIMULATION, /* a sandbox shop's armed simulation code is taken */
    PH_PERMISSION, /* the saved permission, NonChargeable here, as the provider has it now */
    PH_PAY,        /* the provider's answer (or its absence) is in */
    PH_SETTLED,    /* what paying came to is written */
    PH_SUB_MARKED, /* a subscription's schedule member is in, before the write set */
    PH_SUB_LINK,   /* a trial's checkout session is asked for (its pay link) */
    PH_SUB_LINKED, /* ... and recorded with the conversation */
    PH_RENDER
};

/* What VX_IF_READ_CONNECTION found (vx_fsm_turn.conn). */
enum conn { CONN_NONE, CONN_UNKNOWN, CONN_LATE, CONN_OPEN };

/* What VX_IF_READ_NEWS found (vx_fsm_turn.news). */
enum news { NEWS_NONE, NEWS_READING, NEWS_PENDING, NEWS_SETTLED, NEWS_GONE };

struct vx_fsm_turn {
    struct vx_fsm *f;
    struct fsm_cat *cat; /* the catalog this turn started with */
    const struct vx_request *req;
    enum phase phase;
    int ev;
    int stateless, attempt, have_last;
    enum news news;
    enum conn conn;
    char conn_key[VX_PROVIDER_KEY_MAX + 1]; /* the attempt key the response's token names */
    struct vx_platform_outcome plat;        /* CONN_OPEN: what the response means */
    struct vx_buf directive;                /* the platform directive this answer carries */
    size_t reader;                          /* the row of readers[] under way */
    int send; /* a row's follow-up op must be sent (else it completed at once) */
    const struct vx_order *order;
    const struct vx_can_fulfill *cf;
    char order_id[VX_ID_MAX];
    char last_id[VX_ID_MAX];
    struct vx_dialog d;
    struct vx_store_op op;
    /* paying for the order this turn records (a provider is configured, the cell said PAY) */
    int paying, link, settle_retry;
    int pay_attempt;         /* 1, or 2 for the one more try after a soft decline */
    int pay_hard;            /* the outcome is a hard decline: the permission is marked */
    int64_t pay_deadline_ms; /* the turn's budget for the provider ends then (0: not begun) */
    char perm_state[16];     /* the saved permission's state read in the turn ("" not read) */
    uint64_t tag;            /* what the first write set the conversation to */
    char pay_key[VX_PROVIDER_KEY_MAX + 1];
    char simulation[64]; /* the sandbox's simulation code for this charge ("" none) */
    char bucket[64];
    char member[640];
    struct vx_provider_op pop;
    struct vx_pay_result pay;
    struct vx_order paid_order; /* the order as recorded, for the settling write */
    enum vx_order_state pay_to;
    /* the outcome the turn's write set records for paid_order (told_to, told_at_ms, the
     * charge and the reason), for the merchant's event: 1 in the write set, 2 it landed */
    int told;
    enum vx_order_state told_to;
    int64_t told_at_ms;
    char told_charge[64], told_reason[64];
    char pay_link[VX_PAYLINK_URL_MAX]; /* the card's link to the pay-link page */
    int link_direct; /* the card links to the provider's page (no order for voxcartd's page) */
    /* VX_IF_READ_SUBS: the customer's subscription IDs, then each document as read */
    char **sub_ids;
    size_t n_sub_ids, sub_at, nsubs;
    struct vx_sub subs[VX_SUBS_MAX];
    struct vx_sub_view sub_views[VX_SUBS_MAX];
    char sub_id[VX_SUB_ID_LEN + 1]; /* the ID a subscription this request makes gets */
    /* the subscription this turn makes (VX_CMD_SUBSCRIBE) or changes (VX_CMD_SUB_CHANGE) */
    int sub_made, sub_moved; /* sub_moved: its schedule member goes to sub.due first */
    const char *sub_event;   /* what was done to it: the merchant's event type (NULL none) */
    int sub_link;            /* a trial without a permission: a pay link for its terms */
    struct vx_sub sub;
    struct vx_buf sub_json;
    char sub_member[640];
    struct turn t;
};

/* The outcome of the op just carried out (errors other than not found and conflict into e). */
int fsm_op_outcome(struct vx_fsm_turn *ft, struct vx_err *e);
/* Moves on to next; 1 with *op = the turn's op when send, else 0. */
int fsm_need(struct vx_fsm_turn *ft, int send, enum phase next, struct vx_store_op **op);
void fsm_turn_reset(struct turn *t);
/* setup.c: a reference to the current catalog, and its end */
struct fsm_cat *fsm_cat_ref(struct vx_fsm *f);
void fsm_cat_unref(struct vx_fsm *f, struct fsm_cat *c);

/* payturn.c */
int fsm_order_writes(struct vx_fsm_turn *ft, struct vx_err *e);
/* Loads the order a yes tries to pay once more (t->st.pay_retry); 1 with *op. */
int fsm_retry_start(struct vx_fsm_turn *ft, struct vx_store_op **op);
int fsm_phase_retry(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e);
int fsm_phase_marked(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e);
int fsm_pay_begin(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_http_op **hop);
int fsm_phase_simulation(struct vx_fsm_turn *ft, struct vx_http_op **hop);
int fsm_pay_start(struct vx_fsm_turn *ft, struct vx_http_op **hop);
/* ft->pop sent within what is left of the turn's budget (2 with *hop; 0: complete already). */
int fsm_pay_send(struct vx_fsm_turn *ft, int send, enum phase next, struct vx_http_op **hop);
struct vx_provider *fsm_pay_provider(const struct vx_fsm_turn *ft);
int fsm_phase_permission(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_http_op **hop,
                         struct vx_err *e);
/* platform rail: the directive a paying turn answers with (Setup, or Charge on an OPEN
 * agreement); the reader of a Connections.Response; what it means, before the cell runs;
 * its writes, after the write set is begun */
int fsm_platform_send(struct vx_fsm_turn *ft, struct vx_err *e);
int fsm_conn_start(struct vx_fsm_turn *ft);
int fsm_conn_done(struct vx_fsm_turn *ft, struct vx_err *e);
void fsm_conn_judge(struct vx_fsm_turn *ft);
int fsm_conn_writes(struct vx_fsm_turn *ft, struct vx_err *e);
void fsm_conn_render(struct vx_fsm_turn *ft);
void fsm_conn_next(struct vx_fsm_turn *ft);
int fsm_phase_pay(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e);
int fsm_phase_settled(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e);
void fsm_pay_speak(struct vx_fsm_turn *ft, enum vx_pay_kind kind,
                   const struct vx_provider_result *r);

/* subturn.c: the customer's subscriptions (VX_IF_READ_SUBS), and what a turn makes or changes
 * of them, in its write set; the schedule member that goes first; the write set after it */
int fsm_subs_start(struct vx_fsm_turn *ft);
int fsm_subs_done(struct vx_fsm_turn *ft, struct vx_err *e);
void fsm_subs_release(struct vx_fsm_turn *ft);
void fsm_sub_id(const struct vx_request *req, char out[VX_SUB_ID_LEN + 1]);
int fsm_sub_writes(struct vx_fsm_turn *ft, struct vx_err *e);
int fsm_write_next(struct vx_fsm_turn *ft, struct vx_store_op **op);
int fsm_phase_sub_marked(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e);
/* A trial made without a saved permission: its checkout session (2 with *hop), the answer
 * spoken and recorded (1 with *op), the write's outcome. */
int fsm_sub_link_start(struct vx_fsm_turn *ft, struct vx_http_op **hop);
int fsm_phase_sub_link(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e);
int fsm_phase_sub_linked(struct vx_fsm_turn *ft, struct vx_err *e);

#endif
