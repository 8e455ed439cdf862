/*
 * The dialog engine (DESIGN sections 3 and 4): classifies a verified request
 * into an event, loads the customer's conversation from the store, runs the
 * state function the transition table names, carries out the commands it
 * returned in one atomic store write, and renders the response.
 *
 * One struct vx_fsm is made at start-up from the catalog and the messages and
 * shared read-only by every worker thread.
 */
#ifndef VOXCART_FSM_H
#define VOXCART_FSM_H

#include <stddef.h>

#include "voxcart/catalog.h"
#include "voxcart/common.h"
#include "voxcart/envelope.h"
#include "voxcart/i18n.h"

#define VX_CONV_TTL 3600 /* seconds a conversation (and its cart) is kept */
/* how long a turn waits for the payment provider: the platform gives up after about 8 s */
#define VX_PAY_BUDGET_MS 4000

struct vx_fsm;
struct vx_dialog;
struct vx_cmds;

struct vx_skill;

struct vx_fsm_config {
    const struct vx_skill *skill; /* the skill's table, rows, events, messages and codecs */
    const char *intents_dir; /* messages/ and catalog.json; NULL or "" = vx_intents_dir_default() */
    const char *catalog;     /* merchant catalog; NULL or "" = <intents_dir>/catalog.json */
    int ttl;                 /* conversation TTL in seconds; 0 = VX_CONV_TTL */
    /* the payment provider's client (provider.h): a turn whose cell says PAY charges the
     * customer's saved agreement through it; NULL = orders stay CONFIRMED, nobody pays */
    struct vx_provider *provider;
    int pay_budget_ms; /* 0 = VX_PAY_BUDGET_MS */
    /* the live endpoints, for a catalog in production (NULL: production shops are not
     * charged); the merchant whose data holds the shop's armed simulation code (NULL: none) */
    struct vx_provider *live;
    const char *merchant;
    /* payments are on (a shop on the platform's rail is paid through its directives) */
    int payments;
};

/* $VOXCART_INTENTS_DIR when set, else the intents/ directory of the source tree. */
const char *vx_intents_dir_default(void);

/*
 * Loads and cross-checks catalog and messages. A bad catalog fails with a
 * message naming the field ("catalog: /x/catalog.json: products[2].price: ...");
 * a messages file missing a key the dialog speaks names the file and the key.
 */
int vx_fsm_new(const struct vx_fsm_config *cfg, struct vx_fsm **out, struct vx_err *e);
void vx_fsm_free(struct vx_fsm *f);
const struct vx_catalog *vx_fsm_catalog(const struct vx_fsm *f);
/* The current catalog for a reader outside a turn (the pay-link page): kept alive, even if a
 * newer one replaces it, until vx_fsm_catalog_drop(f, *hold). */
struct fsm_cat;
const struct vx_catalog *vx_fsm_catalog_hold(struct vx_fsm *f, struct fsm_cat **hold);
void vx_fsm_catalog_drop(struct vx_fsm *f, struct fsm_cat *hold);
/*
 * A running server's catalog can change (the merchant API): the next turn
 * takes the new one, turns under way finish with theirs. swap takes cat over;
 * it is refused (VX_ECONFIG, e naming why) when the messages cannot speak it,
 * and ignored when version is not newer than the current one's.
 */
struct vx_catalog;
int vx_fsm_catalog_swap(struct vx_fsm *f, struct vx_catalog *cat, uint64_t version,
                        struct vx_err *e);
uint64_t vx_fsm_catalog_version(struct vx_fsm *f);
const struct vx_i18n *vx_fsm_i18n(const struct vx_fsm *f);
/* The shop's name as the payment provider shows it (storeName; "" when it has none), of the
 * current catalog; vx_catalog_store_name the same of one catalog (NULL when none). */
void vx_fsm_store_name(struct vx_fsm *f, char *out, size_t outsz);
const char *vx_catalog_store_name(const struct vx_catalog *c);

/*
 * Answers one verified request: body gets the response document (HTTP 200),
 * *warnings the vx_response_render warning bits. Returns 0; VX_ESTORE when the
 * store failed (nothing was written: the caller answers with an apology and
 * ends the session); another negative code on an internal failure.
 */
int vx_fsm_handle(struct vx_fsm *f, const struct vx_request *req, struct vx_buf *body,
                  int *warnings, struct vx_err *e);

/*
 * The same turn, one phase at a time, for a caller with its own event loop.
 * vx_fsm_turn_step returns 1 with *op a store operation to carry out (send it,
 * feed the reply to vx_store_op_complete) before the next call; 2 with *hop an
 * HTTP request to carry out (the payment provider; vx_http_op_finish) before
 * the next call; 0 when body holds the answer; or an error as vx_fsm_handle
 * does. req must stay alive until vx_fsm_turn_free.
 */
struct vx_http_op;
struct vx_fsm_turn;
struct vx_store_op;
int vx_fsm_turn_new(struct vx_fsm *f, const struct vx_request *req, struct vx_fsm_turn **out,
                    struct vx_err *e);
int vx_fsm_turn_step(struct vx_fsm_turn *t, struct vx_store_op **op, struct vx_http_op **hop,
                     struct vx_buf *body, int *warnings, struct vx_err *e);
void vx_fsm_turn_free(struct vx_fsm_turn *t);
/* While the turn's write waits to be carried out: its write set (else NULL). */
struct vx_wset;
const struct vx_wset *vx_fsm_turn_wset(const struct vx_fsm_turn *t);
/* The ID of the order a finished turn recorded (its write landed), or NULL. */
const char *vx_fsm_turn_order(const struct vx_fsm_turn *t, int64_t *created);
/* What the finished turn's write recorded an order's payment came to (pay.h): 1 and *o
 * (pointing into the turn), or 0 when it recorded none. */
struct vx_pay_outcome;
int vx_fsm_turn_settled(const struct vx_fsm_turn *ft, struct vx_pay_outcome *o);
/*
 * The subscription the finished turn made or changed, or NULL: when (*at), the merchant's event
 * type ("subscription.created", ".paused", ...) and the fence it left (which numbers the
 * change, so its event is logged once).
 */
const char *vx_fsm_turn_sub(const struct vx_fsm_turn *ft, int64_t *at, const char **event,
                            int64_t *fence);

/*
 * Calls report(ud, file, message) for every way the messages do not fit the
 * dialog and the catalog: a key the dialog speaks is missing, a placeholder the
 * dialog does not fill, no names for the catalog's currency, a locale whose
 * language the catalog has no names in. Returns the number of problems.
 */
size_t vx_fsm_check_messages(const struct vx_skill *skill, const struct vx_i18n *m,
                             const struct vx_catalog *cat,
                             void (*report)(void *ud, const char *file, const char *msg), void *ud);

/*
 * The pay-link page (paylink.h), set at start-up before any turn: a pay link's card then
 * opens <url>/pay/<token> first, the token signed with secret (which must outlive the
 * engine), and the order keeps the provider's page as "pay_url". url NULL or "" (the
 * default): the card links to the provider's page. VX_ERANGE when url is too long.
 */
int vx_fsm_set_pay_page(struct vx_fsm *f, const char *url, const unsigned char *secret,
                        size_t secret_len);

/* Test seam: called just before each store write, to let a test write first. */
void vx_fsm_set_save_hook(struct vx_fsm *f, void (*hook)(void *ud), void *ud);

/*
 * The checks around a cell, for tests: vx_fsm_gate answers before a state
 * function runs (1 when it did); vx_fsm_police refuses commands outside the
 * cell's mask (may, VX_CK bits of dialog.h): they are replaced by an apology
 * (returns 1). vx_fsm_run runs the cell for d with both.
 */
void vx_fsm_run(const struct vx_dialog *d, struct vx_cmds *out);
int vx_fsm_gate(const struct vx_dialog *d, unsigned flags, struct vx_cmds *out);
int vx_fsm_police(const struct vx_dialog *d, unsigned may, struct vx_cmds *out);

#endif
