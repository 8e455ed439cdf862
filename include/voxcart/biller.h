/*
 * The recurring biller (DESIGN section 6, "Out of session"; sub.h for the
 * subscription it bills). It runs on a thread of voxcartd (not a worker, so
 * its blocking store and provider calls stall no request), on any number of
 * instances at once against one Redis or a cluster.
 *
 * One pass, for each bucket of the schedule:
 *   1. take the bucket's lease (`vx:{bill:<b>}:lease`, lease_ms): an instance
 *      that holds it is the only one working the bucket, so instances share the
 *      buckets instead of racing for the same subscriptions. The lease only
 *      saves work; it is not what makes a charge happen once (a lease can run
 *      out under a slow holder);
 *   2. for each subscription due, claim it: a compare-and-set of its `fence`
 *      (fence + 1). Every later write of this claim is guarded by that fence,
 *      so a biller whose claim was taken over writes nothing;
 *   3. if an attempt is in flight (its key stored, no outcome): settle it, by
 *      reading its charge when the provider named one, else by sending the same
 *      Create Charge again with the same key and body (the provider answers
 *      with what it did the first time, or does it now if the request never
 *      arrived). Never a new key for an attempt whose outcome is unknown;
 *   4. otherwise write the new attempt (its key `<sub>-<cycle>-<attempt>`, the
 *      cycle's order CHARGE_PENDING with a ledger entry) before the request
 *      leaves, take a token of the pacing bucket every instance shares, and
 *      charge;
 *   5. record the outcome and the next due time in one write set: the cycle's
 *      order (PAID, DECLINED, FAILED) with its ledger entry, the subscription
 *      (the next cycle when paid; else the retry schedule, the wait for a fixed
 *      permission or the next month), its ledger entry; then the schedule.
 */
#ifndef VOXCART_BILLER_H
#define VOXCART_BILLER_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/provider.h"
#include "voxcart/sub.h"

/* A change the merchant sees as an event (the server writes it into their log). */
struct vx_biller_event {
    const char *type; /* subscription.cycle_paid, .payment_failed, .past_due, .canceled */
    const struct vx_sub *sub;
    const char *order_id; /* the cycle's order, when the change is about one */
    const char *charge_id, *reason;
    int64_t at_ms;
};
typedef void (*vx_biller_event_fn)(const struct vx_biller_event *ev, void *arg);

struct vx_biller_config {
    struct vx_provider *sandbox, *live; /* live may be NULL: production subscriptions wait */
    const char *owner;                  /* this instance, as leases name it */
    int lease_ms;
    int rate, burst; /* Create Charge calls per second over all instances, and the burst */
    int batch;       /* subscriptions read per bucket and pass */
    struct vx_sub_policy policy;
    const char *store_name; /* merchantStoreName of the charges (may be NULL) */
    vx_biller_event_fn event;
    void *arg;
};

struct vx_biller_stats {
    size_t due;      /* members due when the pass read them */
    size_t claimed;  /* claims won */
    size_t charged;  /* cycles recorded paid */
    size_t declined; /* attempts recorded declined or failed */
    size_t retried;  /* attempts settled again with the same key (or a GET) */
    size_t pending;  /* attempts left without an outcome */
    size_t canceled; /* subscriptions canceled (grace over, permission closed) */
    size_t errors;   /* store or parse errors (the subscription stays due) */
    int64_t lag_s;   /* the oldest due time claimed this pass, seconds behind now */
    int more;        /* a bucket had a whole batch due and cycles were claimed: more may be
                        due already, so the next pass should not wait for the interval */
};

/* One pass over every bucket at time now (epoch seconds). 0, or VX_ESTORE when Redis is not
 * reachable (the pass stops; the next one carries on). */
int vx_biller_pass(const struct vx_biller_config *c, int64_t now, struct vx_biller_stats *st);

#endif
