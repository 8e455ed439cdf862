/*
 * Order states, their transitions and ledger entries (ledger.h), and write sets
 * as data (wset.h): pure, no store.
 */
#include "voxcart/ledger.h"
#include "voxcart/wset.h"
#include "vxtest.h"

#include <string.h>

static void test_transitions(void)
{
    enum vx_order_state s;
    VX_CHECK(vx_order_transition_ok(VX_OS_CONFIRMED, VX_OS_CHARGE_PENDING));
    VX_CHECK(vx_order_transition_ok(VX_OS_CHARGE_PENDING, VX_OS_PAID));
    VX_CHECK(vx_order_transition_ok(VX_OS_PAID, VX_OS_PARTIALLY_REFUNDED));
    VX_CHECK(vx_order_transition_ok(VX_OS_PARTIALLY_REFUNDED, VX_OS_REFUNDED));
    /* a soft decline may be tried again */
    VX_CHECK(vx_order_transition_ok(VX_OS_DECLINED, VX_OS_CHARGE_PENDING));
    /* what is paid is never paid again or canceled; what ended stays ended */
    VX_CHECK(!vx_order_transition_ok(VX_OS_PAID, VX_OS_PAID));
    VX_CHECK(!vx_order_transition_ok(VX_OS_PAID, VX_OS_CANCELED));
    VX_CHECK(!vx_order_transition_ok(VX_OS_CANCELED, VX_OS_PAID));
    VX_CHECK(!vx_order_transition_ok(VX_OS_REFUNDED, VX_OS_PARTIALLY_REFUNDED));
    VX_CHECK(!vx_order_transition_ok(VX_OS__COUNT, VX_OS_PAID));
    VX_CHECK_INT(vx_order_state_parse("CHARGE_PENDING", &s), 0);
    VX_CHECK_INT(s, VX_OS_CHARGE_PENDING);
    VX_CHECK_INT(vx_order_state_parse("paid", &s), VX_ENOTFOUND);
    VX_CHECK_STR(vx_order_state_name(VX_OS_PARTIALLY_REFUNDED), "PARTIALLY_REFUNDED");
}

static void test_entry(void)
{
    struct vx_buf b;
    vx_buf_init(&b);
    VX_CHECK_INT(
        vx_ledger_entry_json(1764633600000, "customer", NULL, "CONFIRMED", 900, "EUR", 0, NULL, &b),
        0);
    VX_CHECK_STR(b.data, "{\"at\":1764633600000,\"actor\":\"customer\",\"from\":null,"
                         "\"to\":\"CONFIRMED\",\"amount\":900,\"currency\":\"EUR\",\"attempt\":0}");
    b.len = 0;
    VX_CHECK_INT(vx_ledger_entry_json(1, "provider \"ipn\"", "CHARGE_PENDING", "PAID", 900, "EUR",
                                      2, "o1-a2", &b),
                 0);
    VX_CHECK(strstr(b.data, "\"actor\":\"provider \\\"ipn\\\"\"") != NULL);
    VX_CHECK(strstr(b.data, "\"from\":\"CHARGE_PENDING\"") && strstr(b.data, "\"ref\":\"o1-a2\""));
    vx_buf_release(&b);
}

static void test_wset(void)
{
    struct vx_wset w;
    const struct vx_wop *o;
    uint64_t t1, t2;
    vx_wset_init(&w, "skill", "user");
    t1 = w.tag;
    VX_CHECK(t1 != 0);
    vx_wset_conv(&w, 0x42, "{}", 0);
    vx_wset_order_cas(&w, "o1", "CONFIRMED", "PAID");
    vx_wset_idem(&w, "resp-1", NULL, 0);
    VX_CHECK_INT(w.n, 3);
    VX_CHECK(w.expect == 0x42);
    o = vx_wset_find(&w, VX_W_CONV, 0);
    VX_CHECK(o && o->n == 3600); /* no TTL given: the conversation's hour */
    o = vx_wset_find(&w, VX_W_ORDER_CAS, 0);
    VX_CHECK(o && !strcmp(o->a, "o1") && !strcmp(o->b, "CONFIRMED") && !strcmp(o->c, "PAID"));
    o = vx_wset_find(&w, VX_W_IDEM, 0);
    VX_CHECK(o && !strcmp(o->b, "1"));
    VX_CHECK(vx_wset_find(&w, VX_W_IDEM, 1) == NULL);
    VX_CHECK_STR(vx_wop_kind_name(VX_W_ORDER_CAS), "order_cas");
    vx_wset_release(&w);
    /* full: marked, so the store refuses to carry it out */
    vx_wset_init(&w, "skill", "user");
    t2 = w.tag;
    for (int i = 0; i <= VX_WSET_MAX; i++)
        vx_wset_ledger(&w, "o1", "{}");
    VX_CHECK(w.overflow);
    VX_CHECK(t2 != t1); /* every write set draws its own tag */
    vx_wset_release(&w);
}

int main(void)
{
    VX_RUN(test_transitions);
    VX_RUN(test_entry);
    VX_RUN(test_wset);
    return VX_DONE();
}
