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

int main(void)
{
    VX_RUN(test_hard);
    VX_RUN(test_settle_permission);
    return VX_DONE();
}
