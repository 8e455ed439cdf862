/*
 * The payment janitor (DESIGN section 6): settles the orders a turn left
 * CHARGE_PENDING, by asking the provider, never by charging again. It runs on
 * its own thread of voxcartd (blocking calls are fine there: it is not a
 * worker), on any number of instances at once: every write it makes is a
 * compare-and-set from CHARGE_PENDING, so whoever learns an outcome second
 * changes nothing.
 *
 * For each order due in the schedule (pay.h, vx_pay_bucket_key):
 *   - no longer CHARGE_PENDING: it leaves the schedule, and what it came to is
 *     told again (a lost event is made; one already in the log stays as it is);
 *   - a pay link (checkout_session_id): read the session; approved by the
 *     buyer: complete it (that charges the order), save the charge permission
 *     in the customer's profile as chargeable (next time yes charges at once),
 *     and record the charge's outcome; canceled or expired: the order is
 *     CANCELED; not yet: look again later;
 *   - a charge still pending (charge_id): read the charge;
 *   - no answer was recorded: Create Charge again with the attempt's stored
 *     key and the same body; the provider answers with what it did the first
 *     time, or does it now if the first request never arrived.
 */
#ifndef VOXCART_JANITOR_H
#define VOXCART_JANITOR_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/ledger.h"
#include "voxcart/provider.h"

struct vx_janitor_stats {
    size_t seen, settled, waiting, failed;
};

/*
 * A pay link the buyer approved, as the pass settled it: the order, its checkout
 * session and the state the order went to. voxcartd's recorder writes it into the
 * conversation that showed the link, as the step replay takes in the buyer's place.
 */
struct vx_janitor_approval {
    const char *skill, *user, *order_id, *session_id;
    enum vx_order_state to;
};
typedef void (*vx_janitor_approved_fn)(const struct vx_janitor_approval *a, void *arg);

/*
 * What an order's payment came to (pay.h): an outcome the pass recorded, or one it found
 * recorded already (told again, so an event lost between someone's two writes is made).
 */
struct vx_pay_outcome;
typedef void (*vx_janitor_told_fn)(const struct vx_pay_outcome *o, void *arg);

/*
 * One pass over every bucket; store_name as the turn sends it (vx_fsm_store_name). p talks
 * to the sandbox's endpoints, live to the live ones for orders of production shops (NULL:
 * such orders stay due, and each pass says why). approved (may be NULL) hears of each
 * approved pay link the pass settled, after the order's outcome is stored; told (may be
 * NULL) of what each order it looked at came to, once it has come to something.
 */
int vx_janitor_pass(struct vx_provider *p, struct vx_provider *live, const char *store_name,
                    int64_t now, int retry_s, vx_janitor_approved_fn approved,
                    vx_janitor_told_fn told, void *arg, struct vx_janitor_stats *st);

#endif
