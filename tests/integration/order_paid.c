/*
 * it_order_paid: moves a CONFIRMED order to PAID the way the payment path
 * records a capture (ledger.h: the order's state, amount, charge_id, captured,
 * and a ledger entry by the provider), through a write set on the customer's
 * slot. The merchant API's refund test makes its paid orders with it until
 * paying by voice records them itself.
 *
 *   it_order_paid SKILL USER ORDER CHARGE_ID AMOUNT CURRENCY
 */
#include "it_redis.h"
#include "voxcart/ledger.h"
#include "voxcart/wset.h"

#include <string.h>

int main(int argc, char **argv)
{
    struct vx_wset w;
    struct vx_buf entry;
    struct vx_err e;
    long long amount;
    char num[32], charge[96];
    int rc;

    if (argc != 7 || vx_parse_ll(argv[5], 1, 100000000, &amount) != 0 || strlen(argv[6]) != 3 ||
        strlen(argv[4]) > 64) {
        fprintf(stderr, "usage: it_order_paid SKILL USER ORDER CHARGE_ID AMOUNT CURRENCY\n");
        return 2;
    }
    if ((rc = it_store_init(2000)) != 0)
        return rc;
    vx_buf_init(&entry);
    snprintf(num, sizeof(num), "%lld", amount);
    snprintf(charge, sizeof(charge), "\"%s\"", argv[4]);
    vx_ledger_entry_json(vx_now_ms(), "provider", "CONFIRMED", "PAID", amount, argv[6], 1, argv[4],
                         &entry);
    vx_wset_init(&w, argv[1], argv[2]);
    vx_wset_order_cas(&w, argv[3], "CONFIRMED", "PAID");
    vx_wset_order_set(&w, argv[3], "amount", num);
    vx_wset_order_set(&w, argv[3], "charge_id", charge);
    vx_wset_order_set(&w, argv[3], "captured", num);
    vx_wset_ledger(&w, argv[3], entry.data);
    rc = vx_store_write(&w, &e);
    if (rc != 0)
        fprintf(stderr, "it_order_paid: %s\n", e.msg);
    vx_wset_release(&w);
    vx_buf_release(&entry);
    vx_store_shutdown();
    return rc == 0 ? 0 : 1;
}
