/*
 * Paying for an order (DESIGN section 6): what a provider's answer means for
 * the order, and the write-set ops that record it. Pure: the dialog engine
 * (the turn that charges) and the janitor (which settles what a turn left
 * pending) both build their writes with it, so an outcome means the same
 * wherever it is learnt.
 *
 * An attempt's idempotency key is "<order>-<attempt>", stored in the order
 * (member "pay_key") by the same write that moves it to CHARGE_PENDING, before
 * the request leaves. Settling is a compare-and-set from CHARGE_PENDING: who
 * learns an outcome second (a janitor after the turn, two janitors) finds the
 * order moved and changes nothing.
 */
#ifndef VOXCART_PAY_H
#define VOXCART_PAY_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/dialog.h"
#include "voxcart/ledger.h"
#include "voxcart/provider.h"
#include "voxcart/wset.h"

/* "o20261124-1a2b3c4d5e-1": VX_EINVAL when it would not fit the provider's 32 characters. */
int vx_pay_key(const char *order_id, int attempt, char *out, size_t outsz);

/* The Create Charge of an order: the same fields (and so the same body) from the turn and
 * from the janitor resending it with the same key. */
void vx_pay_charge_req(struct vx_provider_charge_req *r, const char *permission,
                       const char *order_id, int64_t amount, const char *currency,
                       const char *store_name);

/*
 * What an outcome of Create Charge (or of reading the charge again) means: the
 * order's next state (CHARGE_PENDING when it is still open) and what the
 * customer is told.
 */
void vx_pay_judge(enum vx_provider_outcome o, const struct vx_provider_result *r,
                  enum vx_order_state *to, enum vx_pay_kind *kind);

/* The settling writes of one order, all into w. */
struct vx_pay_settle {
    const char *order_id;
    enum vx_order_state to; /* CHARGE_PENDING: no state change, only what was learnt */
    const struct vx_provider_result *res;
    int64_t amount;
    const char *currency;
    int attempt;
    const char *actor; /* customer, janitor, provider notification */
    int64_t at_ms;
    int live; /* the order is of a production shop (its permission is a live one) */
    /* a hard decline (vx_pay_hard): the saved permission is marked NonChargeable */
    int hard;
    /* the saved permission's state as the provider reported it in this turn (read because
     * it was NonChargeable: "Chargeable" again, "Closed"), written back unless the outcome
     * marks it; NULL when not read */
    const char *permission_state;
};

/*
 * Whether an outcome of Create Charge is a hard decline: the payment method itself refuses
 * (HardDeclined, AmazonRejected, MFAFailed, PaymentMethodNotAllowed, a decline of a reason
 * the table does not name), or TransactionAmountExceeded for an amount within the
 * provider's per-charge maximum (150,000 in the major unit), which is then the payment
 * method's own limit, not the order's size. No later yes charges the permission until the
 * provider reports it Chargeable again.
 */
int vx_pay_hard(enum vx_provider_outcome o, int64_t amount, const char *currency);

/*
 * Appends to w: the compare-and-set CHARGE_PENDING -> to with its ledger entry
 * (naming the charge and the reason), the charge ID and what was captured. A
 * hard decline (s->hard) also marks the saved permission not chargeable, with the
 * reason code (profile member "billing_agreement"), so no later turn charges it
 * until the provider reports it chargeable again; else s->permission_state, when
 * set, is written as the permission's status. VX_ENOMEM.
 */
int vx_pay_settle_wset(struct vx_wset *w, const struct vx_pay_settle *s, const char *permission);

/* The profile member "billing_agreement": {"id":"<charge permission>","status":"Chargeable",
 * "environment":"sandbox"} (the merchant API reads and closes it). A permission is valid
 * only in the provider's environment that made it: a shop that moves to production asks
 * its customers for a new one. */
int vx_pay_profile_json(const char *permission, const char *status, int live, struct vx_buf *out);
/* The same with the reason code a NonChargeable status carries ({..., "reason":"MFAFailed"});
 * reason NULL or "" writes none. */
int vx_pay_profile_reason_json(const char *permission, const char *status, const char *reason,
                               int live, struct vx_buf *out);

/*
 * What an order's payment came to, as its merchant hears it: the event order.paid,
 * .declined, .failed or .canceled. Whoever records the outcome (the turn, the janitor)
 * tells it after its write; the janitor tells it again when it finds the order settled,
 * since a process that died between the two writes told nothing. The event's ID is
 * made of the order, the attempt, the outcome and settled_at_ms, so the log keeps one.
 */
struct vx_pay_outcome {
    const char *skill, *user, *order_id;
    const char *state; /* PAID, DECLINED, FAILED or CANCELED */
    int attempt;
    int64_t total;
    const char *currency;
    const char *charge_id, *reason; /* "" none */
    int64_t created;                /* the order's, in seconds */
    int64_t settled_at_ms;          /* the order's settled_at: when the outcome was recorded */
};
/* The event type of what an order in state came to ("order.paid", ...), and into *told the
 * state it is told as (an order refunded since was PAID); NULL for an open state. */
const char *vx_pay_outcome_event(const char *state, const char **told);

/* What paying needs of a stored order document. */
struct vx_pay_order {
    char state[32], pay_key[VX_PROVIDER_KEY_MAX + 1], charge_id[64], session_id[64];
    char currency[4], reason[64];
    int64_t total;
    int64_t created;       /* seconds */
    int64_t settled_at_ms; /* when its last outcome was recorded (0: none, or before it was kept) */
    int attempt;           /* of the last attempt (1 when the order has none recorded) */
    int live;              /* of a production shop: charged at the provider's live endpoints */
    struct vx_order_line lines[VX_CART_MAX];
    size_t n;
};
/* 0, or VX_EPARSE. */
int vx_pay_order_parse(const char *json, struct vx_pay_order *o);
/* The charge permission of a profile document's billing_agreement into id ("" when none). */
void vx_pay_agreement_id(const char *profile_json, char *id, size_t idsz);

/* The janitor's schedule of orders left pending: a bucket per order, with its own hash tag so
 * the buckets spread over a cluster; the member names customer and order. */
#define VX_PAY_BUCKETS 8
/* The key of bucket b (0 .. VX_PAY_BUCKETS-1), and of the bucket an order belongs to. */
void vx_pay_bucket_name(unsigned b, char *out, size_t outsz);
void vx_pay_bucket_key(const char *order_id, char *out, size_t outsz);
int vx_pay_bucket_member(const char *skill, const char *user, const char *order_id, char *out,
                         size_t outsz);
/* Splits a member back; 0, or VX_EPARSE. */
int vx_pay_bucket_parse(const char *member, char *skill, size_t skillsz, char *user, size_t usersz,
                        char *order_id, size_t ordersz);

#endif
