/*
 * Order states and their transitions (DESIGN section 6), pure. Every change of
 * an order's state is a compare-and-set in a write set plus one ledger entry,
 * so a merchant can read the whole history of every order.
 */
#ifndef VOXCART_LEDGER_H
#define VOXCART_LEDGER_H

#include <stdint.h>

#include "voxcart/common.h"

#define VX_ORDER_STATE_MAP(XX)                                                                     \
    XX(CONFIRMED)                                                                                  \
    XX(CHARGE_PENDING)                                                                             \
    XX(PAID)                                                                                       \
    XX(DECLINED)                                                                                   \
    XX(FAILED)                                                                                     \
    XX(CANCELED)                                                                                   \
    XX(PARTIALLY_REFUNDED)                                                                         \
    XX(REFUNDED)

enum vx_order_state {
#define XX(s) VX_OS_##s,
    VX_ORDER_STATE_MAP(XX)
#undef XX
        VX_OS__COUNT
};

const char *vx_order_state_name(enum vx_order_state s);
/* 0 and *out, or VX_ENOTFOUND. */
int vx_order_state_parse(const char *name, enum vx_order_state *out);
/* 1 when an order may move from -> to. */
int vx_order_transition_ok(enum vx_order_state from, enum vx_order_state to);

/*
 * One ledger entry: {"at":<epoch ms>,"actor":"customer","from":"CONFIRMED" or
 * null,"to":"PAID","amount":450,"currency":"EUR","attempt":1,"ref":"..."}.
 * from NULL for the entry that creates the order; ref (optional) names the
 * attempt's idempotency key or a provider ID.
 */
/*
 * The order hash (store.h: one member per top-level field, each JSON text)
 * beside what the dialog writes (id, state, merchant, created, locale,
 * currency, lines, total), as the payment paths and the merchant API share it:
 *   amount     the amount charged, minor units (the total unless it changed)
 *   charge_id  the provider's charge ID, once charged
 *   captured   what the provider captured, minor units (what a refund may return)
 *   refunded   what has been refunded so far, minor units (absent: nothing)
 *   refund_pending  the provider idempotency key of a refund on its way, or null: written
 *              before the request leaves, so a retry resends the same key
 */
int vx_ledger_entry_json(int64_t at, const char *actor, const char *from, const char *to,
                         int64_t amount, const char *currency, int attempt, const char *ref,
                         struct vx_buf *out);

#endif
