/*
 * Paying for an order, pure (pay.h): which outcomes are hard declines, and what
 * the settling write records of the saved permission.
 */
#include "voxcart/pay.h"
#include "vxtest.h"

#include <string.h>

static void test_hard(void)
{
    VX_CHECK(vx_pay_hard(VX_PROVIDER_HARD_DECLINE, 500, "EUR"));
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_SOFT_DECLINE, 500, "EUR"));
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_PERIODIC_LIMIT, 500, "EUR"));
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_SUCCESS, 500, "EUR"));
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_UNKNOWN, 500, "EUR"));
    /* an amount within the per-charge maximum refused: the payment method's own limit */
    VX_CHECK(vx_pay_hard(VX_PROVIDER_AMOUNT_LIMIT, 500, "EUR"));
    VX_CHECK(vx_pay_hard(VX_PROVIDER_AMOUNT_LIMIT, 15000000, "USD"));
    /* above it: the order is too big, the method is fine */
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_AMOUNT_LIMIT, 15000001, "USD"));
    VX_CHECK(vx_pay_hard(VX_PROVIDER_AMOUNT_LIMIT, 150000, "JPY"));
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_AMOUNT_LIMIT, 150001, "JPY"));
    VX_CHECK(!vx_pay_hard(VX_PROVIDER_AMOUNT_LIMIT, 500, "XXY"));
}

/* The value of the profile member the write set sets, or NULL. */
static const char *profile_set(const struct vx_wset *w, const char *member)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->ops[i].kind == VX_W_PROFILE_SET && strcmp(w->ops[i].a, member) == 0)
            return w->ops[i].b;
    return NULL;
}

static int count_kind(const struct vx_wset *w, enum vx_wop_kind k)
{
    int n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += w->ops[i].kind == k;
    return n;
}

static void settle(struct vx_wset *w, enum vx_order_state to, const char *reason, int hard,
                   const char *perm_state)
{
    struct vx_provider_result r;
    struct vx_pay_settle s;
    memset(&r, 0, sizeof(r));
    vx_strlcpy(r.reason_code, reason, sizeof(r.reason_code));
    memset(&s, 0, sizeof(s));
    s.order_id = "o20261202-0123456789";
    s.to = to;
    s.res = &r;
    s.amount = 500;
    s.currency = "EUR";
    s.attempt = 1;
    s.actor = "customer";
    s.at_ms = 1764633600000;
    s.hard = hard;
    s.permission_state = perm_state;
    vx_wset_init(w, "skill", "user");
    VX_CHECK_INT(vx_pay_settle_wset(w, &s, "B01-5105180-3221187"), 0);
}

static void test_settle_permission(void)
{
    struct vx_wset w;

    settle(&w, VX_OS_DECLINED, "MFAFailed", 1, NULL);
    VX_CHECK_STR(profile_set(&w, "billing_agreement"),
                 "{\"id\":\"B01-5105180-3221187\",\"status\":\"NonChargeable\",\"reason\":"
                 "\"MFAFailed\",\"environment\":\"sandbox\"}");
    VX_CHECK_INT(count_kind(&w, VX_W_ORDER_CAS), 1);
    vx_wset_release(&w);

    /* a hard decline after the provider reported it chargeable again: marked once, not twice */
    settle(&w, VX_OS_DECLINED, "AmazonRejected", 1, "Chargeable");
    VX_CHECK_INT(count_kind(&w, VX_W_PROFILE_SET), 1);
    VX_CHECK(strstr(profile_set(&w, "billing_agreement"), "\"NonChargeable\"") != NULL);
    vx_wset_release(&w);

    /* a soft decline leaves it as it is */
    settle(&w, VX_OS_DECLINED, "SoftDeclined", 0, NULL);
    VX_CHECK(profile_set(&w, "billing_agreement") == NULL);
    vx_wset_release(&w);

    /* fixed and paid: marked chargeable, without a reason */
    settle(&w, VX_OS_PAID, "", 0, "Chargeable");
    VX_CHECK_STR(profile_set(&w, "billing_agreement"),
                 "{\"id\":\"B01-5105180-3221187\",\"status\":\"Chargeable\","
                 "\"environment\":\"sandbox\"}");
    vx_wset_release(&w);

    /* closed at the provider and a pay link made: recorded while the order stays pending */
    settle(&w, VX_OS_CHARGE_PENDING, "", 0, "Closed");
    VX_CHECK(strstr(profile_set(&w, "billing_agreement"), "\"Closed\"") != NULL);
    VX_CHECK_INT(count_kind(&w, VX_W_ORDER_CAS), 0);
    vx_wset_release(&w);
}

/* The value of the order member the write set sets, or NULL. */
static const char *order_set(const struct vx_wset *w, const char *member)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->ops[i].kind == VX_W_ORDER_SET && strcmp(w->ops[i].b, member) == 0)
            return w->ops[i].c;
    return NULL;
}

/* An outcome is recorded with when (settled_at), which names its merchant event; the
 * event of each state, and what a stored order tells of it. */
static void test_outcome(void)
{
    struct vx_wset w;
    struct vx_pay_order o;
    const char *told = NULL;

    settle(&w, VX_OS_PAID, "", 0, NULL);
    VX_CHECK_STR(order_set(&w, "settled_at"), "1764633600000");
    vx_wset_release(&w);
    settle(&w, VX_OS_CHARGE_PENDING, "", 0, NULL);
    VX_CHECK(order_set(&w, "settled_at") == NULL); /* nothing decided: nothing to tell */
    vx_wset_release(&w);

    VX_CHECK_STR(vx_pay_outcome_event("PAID", &told), "order.paid");
    VX_CHECK_STR(told, "PAID");
    VX_CHECK_STR(vx_pay_outcome_event("REFUNDED", &told), "order.paid"); /* paid first */
    VX_CHECK_STR(told, "PAID");
    VX_CHECK_STR(vx_pay_outcome_event("PARTIALLY_REFUNDED", NULL), "order.paid");
    VX_CHECK_STR(vx_pay_outcome_event("DECLINED", &told), "order.declined");
    VX_CHECK_STR(vx_pay_outcome_event("FAILED", &told), "order.failed");
    VX_CHECK_STR(vx_pay_outcome_event("CANCELED", &told), "order.canceled");
    VX_CHECK(vx_pay_outcome_event("CHARGE_PENDING", &told) == NULL);
    VX_CHECK(vx_pay_outcome_event("CONFIRMED", &told) == NULL);
    VX_CHECK(vx_pay_outcome_event(NULL, &told) == NULL);

    VX_CHECK_INT(vx_pay_order_parse("{\"state\":\"DECLINED\",\"created\":1764633590,"
                                    "\"settled_at\":1764633600123,\"reason\":\"SoftDeclined\","
                                    "\"attempt\":1,\"total\":500,\"currency\":\"EUR\"}",
                                    &o),
                 0);
    VX_CHECK_INT((int)(o.settled_at_ms - 1764633600000), 123);
    VX_CHECK_INT((int)(o.created - 1764633590), 0);
    VX_CHECK_STR(o.reason, "SoftDeclined");
    /* an order recorded before settled_at was kept: told by whoever settled it, not again */
    VX_CHECK_INT(vx_pay_order_parse("{\"state\":\"PAID\"}", &o), 0);
    VX_CHECK_INT((int)o.settled_at_ms, 0);
}

int main(void)
{
    VX_RUN(test_hard);
    VX_RUN(test_settle_permission);
    VX_RUN(test_outcome);
    return VX_DONE();
}
