/*
 * Recurring subscriptions (DESIGN section 6, "Out of session"): the stored
 * document, its schedule, and what each outcome of a cycle's charge does to it.
 * Pure: the biller (biller.h) and the merchant API build their writes with it,
 * so a subscription means the same wherever it is changed.
 *
 * A subscription lives in its customer's slot, `vx:{<skill>:<user>}:sub:<id>`,
 * a hash of JSON members like an order (wset.h), beside the customer's orders:
 * every cycle is an order `<sub>-<cycle>` of its own (one line, the plan), so a
 * cycle has the order's ledger, refunds and events. The subscription's own
 * changes (created, paused, past_due, canceled, every attempt) are entries of
 * its ledger, `vx:{..}:ledger:<sub>`.
 *
 * Cycles are numbered from 1; cycle n is due on the calendar date of cycle n-1
 * of the anchor (calendar.h), at the billing hour in the merchant's time zone.
 * What is billed is the logical cycle, never a fire time: the member `cycle`
 * moves on only by the write that records the cycle paid (or skipped), and the
 * charge of attempt a of cycle c always carries the key `<sub>-<c>-<a>` and the
 * same body. Two billers charging one cycle at once (a lease that ran out, a
 * clock that jumped) send one key, and the provider answers the second with
 * what it did for the first. A new attempt (a new key) is made only after a
 * decline was recorded.
 *
 * The schedule is a sorted set per bucket, `vx:{bill:<b>}:due` (member
 * `skill\tuser\tsub`, score the epoch second to look at it again), a bucket per
 * subscription with its own hash tag, so the buckets spread over a cluster. It
 * cannot change atomically with the subscription (another slot), so it is only
 * a hint: the document's `due` is the truth. A member is written before the
 * document it names and removed only when the subscription is canceled, so a
 * subscription can never fall out of the schedule; whoever reads a member early
 * puts it back at the document's `due`.
 */
#ifndef VOXCART_SUB_H
#define VOXCART_SUB_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/calendar.h"
#include "voxcart/common.h"
#include "voxcart/ledger.h"
#include "voxcart/provider.h"
#include "voxcart/wset.h"

#define VX_SUB_STATUS_MAP(XX)                                                                      \
    XX(TRIALING, "trialing")                                                                       \
    XX(ACTIVE, "active")                                                                           \
    XX(PAST_DUE, "past_due")                                                                       \
    XX(PAUSED, "paused")                                                                           \
    XX(CANCELED, "canceled")

enum vx_sub_status {
#define XX(id, name) VX_SS_##id,
    VX_SUB_STATUS_MAP(XX)
#undef XX
        VX_SS__COUNT
};
const char *vx_sub_status_name(enum vx_sub_status s);
int vx_sub_status_parse(const char *name, enum vx_sub_status *out);

/* Why the current cycle waits (member "wait"). */
#define VX_SUB_WAIT_MAP(XX)                                                                        \
    XX(NONE, "none", "due on its date")                                                            \
    XX(SETTLE, "settle", "an attempt's outcome is not known: ask the provider")                    \
    XX(RETRY, "retry", "a soft decline: the next attempt on the retry schedule")                   \
    XX(PERMISSION, "permission", "a hard decline: until the permission is chargeable again")       \
    XX(MONTH, "month", "the permission's monthly limit: the next calendar month")                  \
    XX(MERCHANT, "merchant", "refused for good: until the merchant bills it again")                \
    XX(GRACE, "grace", "retries ran out: past due until canceled")                                 \
    XX(ORDER, "order",                                                                             \
       "the first cycle is paid in the conversation: its order tells how it ended")                \
    XX(APPROVAL, "approval", "a trial waits for the buyer to approve its pay link (no charge yet)")

enum vx_sub_wait {
#define XX(id, name, help) VX_SW_##id,
    VX_SUB_WAIT_MAP(XX)
#undef XX
        VX_SW__COUNT
};
const char *vx_sub_wait_name(enum vx_sub_wait w);

#define VX_SUB_ID_LEN     16 /* "sub_" + 12 of [a-z0-9] */
#define VX_SUB_BUCKETS    16
#define VX_SUB_RETRIES    8 /* at most this many soft-decline retries in a schedule */
#define VX_SUB_CYCLES_MAX 99999

struct vx_sub {
    char id[VX_SUB_ID_LEN + 8];
    char merchant[65], shop[65], plan[65];
    char skill[256], user[256];
    char permission[64]; /* the Recurring charge permission it charges */
    int live;            /* of a production shop: the provider's live endpoints */
    enum vx_interval_unit unit;
    int count;
    int64_t amount; /* per cycle, minor units */
    char currency[4];
    char tz[64];           /* the merchant's time zone (IANA name) */
    int bill_hour;         /* local hour of the day a cycle is due (0..23) */
    struct vx_date anchor; /* the first billed day (the start plus any trial) */
    enum vx_sub_status status;
    int64_t cycle;                     /* the cycle to bill next (1-based) */
    int64_t due;                       /* epoch seconds: when the biller looks at it next */
    int attempt;                       /* of the cycle: the last one made (0: none yet) */
    int soft;                          /* soft declines of the cycle so far */
    char key[VX_PROVIDER_KEY_MAX + 1]; /* the attempt in flight ("" none): written first */
    char charge_id[64];                /* of the attempt in flight, once the provider named it */
    char session[64]; /* wait approval: the checkout session the buyer approves ("" not yet) */
    int64_t created;  /* epoch seconds */
    enum vx_sub_wait wait;
    int64_t fence;      /* counts claims: a write of a stale claim is refused */
    int64_t paid;       /* cycles paid */
    int64_t wait_since; /* epoch seconds the current wait began (grace counts from it) */
};

/* 0, or VX_EPARSE naming nothing: the document as the store returns it (a JSON object). */
int vx_sub_parse(const char *json, struct vx_sub *s);
/* A fresh ID, "sub_" + 12 random [a-z0-9]. */
void vx_sub_new_id(char out[VX_SUB_ID_LEN + 1]);

/* The due instant of cycle n (1-based): its date at bill_hour in the zone. VX_EINVAL. */
int vx_sub_cycle_due(const struct vx_sub *s, const struct vx_tz *tz, int64_t n, int64_t *due,
                     struct vx_date *date);

/* The key of attempt a of cycle c: "<sub>-<c>-<a>" (VX_EINVAL if over 32 characters). */
int vx_sub_key(const char *sub, int64_t cycle, int attempt, char *out, size_t outsz);
/* The order of cycle c: "<sub>-<c>". */
int vx_sub_order_id(const char *sub, int64_t cycle, char *out, size_t outsz);

/* The schedule: bucket b's key, the bucket of a subscription, a member (pay.h's form). */
void vx_sub_bucket_name(unsigned b, char *out, size_t outsz);
void vx_sub_bucket_key(const char *sub, char *out, size_t outsz);

/* The biller's settings (biller.* in the configuration). */
struct vx_sub_policy {
    int64_t retry[VX_SUB_RETRIES]; /* seconds after each soft decline (default 1h 1d 3d 5d 7d) */
    int n_retry;
    int64_t grace_s;      /* past_due after the retries ran out, then canceled (default 7 d) */
    int64_t settle_s;     /* look again at an attempt without an outcome (default 60 s) */
    int64_t permission_s; /* read a not chargeable permission again (default 1 h) */
    int64_t paused_s;     /* look again at a paused subscription (default 1 d) */
};
void vx_sub_policy_default(struct vx_sub_policy *p);
/* "1h,1d,3d,5d,7d" -> p->retry; VX_EINVAL naming nothing (the caller names the field). */
int vx_sub_retry_parse(const char *s, struct vx_sub_policy *p);

/*
 * What one outcome of the cycle's attempt (the Create Charge, its replay with the same key, or
 * a GET of its charge) does, as pure data: the cycle order's state, and the subscription's
 * status, wait, next look and whether the cycle moves on.
 */
struct vx_sub_step {
    enum vx_order_state order_to; /* CHARGE_PENDING: the outcome is not known yet */
    int paid;                     /* the cycle is paid: the next one is due on its date */
    int new_attempt;              /* the attempt is over: the next one gets a new key */
    enum vx_sub_status status;
    enum vx_sub_wait wait;
    int64_t due;       /* when to look again (paid: the caller computes the next cycle's) */
    const char *event; /* the merchant's event type */
};
void vx_sub_after(const struct vx_sub *s, enum vx_provider_outcome o,
                  const struct vx_provider_result *r, int64_t now, const struct vx_sub_policy *p,
                  struct vx_sub_step *out);
/* The first second of the calendar month after t's (UTC, as the provider counts its limit). */
int64_t vx_sub_next_month(int64_t t);

/*
 * The document of a new subscription (members as the store keeps them) into out: the fields
 * of s (id, merchant, shop, plan, customer, permission, interval, amount, zone, anchor, status
 * active or trialing), cycle 1 due at its date. VX_ENOMEM.
 */
int vx_sub_doc_json(const struct vx_sub *s, int64_t created, struct vx_buf *out);

/* An attempt of the current cycle whose outcome is not recorded yet (its key is written, or a
 * conversation pays for it): no change touches it, and the biller settles it whatever the
 * status says. */
int vx_sub_in_flight(const struct vx_sub *s);

/* The key of the checkout session that asks a buyer to approve a trial's terms ("<sub>-0-1",
 * cycle 0: nothing is billed), and of its completion ("<sub>-0-c"). VX_EINVAL. */
int vx_sub_approval_key(const char *sub, int completion, char *out, size_t outsz);

/*
 * A change asked for by the merchant (API) or the customer (by voice): the same rules for
 * both. Pause and cancel leave an attempt in flight alone (the biller records its outcome);
 * resume lets the cycles whose dates passed while paused go (they are not billed); skip moves
 * on one cycle; bill now makes the cycle due at once.
 */
enum vx_sub_action { VX_SA_PAUSE, VX_SA_RESUME, VX_SA_CANCEL, VX_SA_BILL_NOW, VX_SA_SKIP };

/* Why a change was refused: the merchant API's HTTP status and stable code, and a sentence. */
struct vx_sub_refusal {
    int status;
    const char *code;
    char msg[192];
};

/*
 * Applies a to s as of now (tz: the subscription's zone, for the dates of cycles), with the
 * merchant's event type ("subscription.paused", ...) in *event. 0, or VX_EINVAL with why (s is
 * then as it was).
 */
int vx_sub_change(struct vx_sub *s, enum vx_sub_action a, const struct vx_tz *tz, int64_t now,
                  const char **event, struct vx_sub_refusal *why);

/*
 * The write of a change from before to after (vx_sub_change's result) into w: guarded on the
 * fence as read and counting it up, the members that moved, and the ledger entry of the event
 * by actor (scratch holds its text until w is sent). VX_ENOMEM.
 */
int vx_sub_change_wset(struct vx_wset *w, const struct vx_sub *before, struct vx_sub *after,
                       enum vx_sub_action a, const char *actor, const char *event,
                       struct vx_buf *scratch);

/*
 * Members of a subscription in a write set, as the document keeps them: a JSON number, a JSON
 * string (NULL or "": null), and the guard every change of a claimed subscription carries (its
 * `fence` still the one read). An op that does not fit sets w->overflow.
 */
void vx_sub_wset_num(struct vx_wset *w, const char *id, const char *member, int64_t v);
void vx_sub_wset_str(struct vx_wset *w, const char *id, const char *member, const char *v);
void vx_sub_wset_fence(struct vx_wset *w, const struct vx_sub *s);

/*
 * A ledger entry of a subscription: {"at","actor","event","status","cycle","attempt",
 * "amount","currency","ref","reason"} (ref, reason optional).
 */
int vx_sub_ledger_json(int64_t at_ms, const char *actor, const char *event, const struct vx_sub *s,
                       const char *ref, const char *reason, struct vx_buf *out);
#endif
