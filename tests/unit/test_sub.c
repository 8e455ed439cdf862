/*
 * Subscriptions (sub.h): the document written and read back, attempt keys within the
 * provider's 32 characters, cycle due instants in the merchant's zone (month ends clamped, a
 * daylight-saving change that neither doubles nor drops a cycle), the retry schedule, and what
 * each outcome of a charge does: paid moves the cycle on, pending and unknown keep the key,
 * soft declines follow the schedule then go past due, hard declines wait for the permission,
 * the monthly limit waits for the 1st of next month, the rest waits for the merchant.
 */
#include "voxcart/sub.h"
#include "vxtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vx_sub base(void)
{
    struct vx_sub s;
    memset(&s, 0, sizeof(s));
    vx_strlcpy(s.id, "sub_abcdefghijkl", sizeof(s.id));
    vx_strlcpy(s.merchant, "demo", sizeof(s.merchant));
    vx_strlcpy(s.shop, "corner_coffee", sizeof(s.shop));
    vx_strlcpy(s.plan, "monthly_beans", sizeof(s.plan));
    vx_strlcpy(s.skill, "amzn1.ask.skill.test", sizeof(s.skill));
    vx_strlcpy(s.user, "amzn1.ask.account.X", sizeof(s.user));
    vx_strlcpy(s.permission, "B01-1234567-1234567", sizeof(s.permission));
    s.unit = VX_IU_MONTH;
    s.count = 1;
    s.amount = 1299;
    vx_strlcpy(s.currency, "EUR", sizeof(s.currency));
    vx_strlcpy(s.tz, "Europe/Berlin", sizeof(s.tz));
    s.bill_hour = 9;
    s.anchor.y = 2027;
    s.anchor.m = 1;
    s.anchor.d = 31;
    s.status = VX_SS_ACTIVE;
    s.cycle = 1;
    s.due = 1800000000;
    return s;
}

static void test_doc_roundtrip(void)
{
    struct vx_sub s = base(), r;
    struct vx_buf b;
    vx_buf_init(&b);
    VX_CHECK_INT(vx_sub_doc_json(&s, 1799990000, &b), 0);
    VX_CHECK_INT(vx_sub_parse(b.data, &r), 0);
    VX_CHECK_STR(r.id, s.id);
    VX_CHECK_STR(r.permission, s.permission);
    VX_CHECK_STR(r.tz, "Europe/Berlin");
    VX_CHECK_INT(r.amount, 1299);
    VX_CHECK_INT(r.unit, VX_IU_MONTH);
    VX_CHECK_INT(r.count, 1);
    VX_CHECK_INT(r.anchor.d, 31);
    VX_CHECK_INT(r.cycle, 1);
    VX_CHECK_INT(r.due, 1800000000);
    VX_CHECK_INT(r.status, VX_SS_ACTIVE);
    VX_CHECK_INT(r.wait, VX_SW_NONE);
    VX_CHECK_INT(r.bill_hour, 9);
    VX_CHECK(!r.live);
    VX_CHECK(r.key[0] == '\0');
    vx_buf_release(&b);
    /* what cannot be billed is refused, not guessed */
    VX_CHECK_INT(vx_sub_parse("{\"id\":\"sub_x\"}", &r), VX_EPARSE);
    VX_CHECK_INT(vx_sub_parse("not json", &r), VX_EPARSE);
    VX_CHECK_INT(vx_sub_parse(NULL, &r), VX_EPARSE);
}

static void test_keys(void)
{
    char k[40], id[VX_SUB_ID_LEN + 1], o[64];
    VX_CHECK_INT(vx_sub_key("sub_abcdefghijkl", 12, 3, k, sizeof(k)), 0);
    VX_CHECK_STR(k, "sub_abcdefghijkl-12-3");
    /* the largest cycle and a two-digit attempt still fit the provider's 32 characters */
    VX_CHECK_INT(vx_sub_key("sub_abcdefghijkl", VX_SUB_CYCLES_MAX, 99, k, sizeof(k)), 0);
    VX_CHECK(strlen(k) <= 32);
    VX_CHECK_INT(vx_sub_key("sub_abcdefghijklmnopqrstuvwxyz", 1, 1, k, sizeof(k)), VX_EINVAL);
    VX_CHECK_INT(vx_sub_order_id("sub_abcdefghijkl", 4, o, sizeof(o)), 0);
    VX_CHECK_STR(o, "sub_abcdefghijkl-4");
    vx_sub_new_id(id);
    VX_CHECK_INT(strlen(id), VX_SUB_ID_LEN);
    VX_CHECK(strncmp(id, "sub_", 4) == 0);
    for (size_t i = 4; i < VX_SUB_ID_LEN; i++)
        VX_CHECK((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9'));
    {
        char a[64], b[64];
        vx_sub_bucket_key("sub_abcdefghijkl", a, sizeof(a));
        vx_sub_bucket_key("sub_abcdefghijkl", b, sizeof(b));
        VX_CHECK_STR(a, b);
        VX_CHECK(strncmp(a, "vx:{bill:", 9) == 0);
    }
}

static void test_due(void)
{
    struct vx_sub s = base();
    struct vx_tz *tz;
    struct vx_err e;
    struct vx_date d;
    int64_t due, prev = 0;
    VX_CHECK_INT(vx_tz_load("Europe/Berlin", &tz, &e), 0);
    /* Jan 31 monthly at 09:00 Berlin: Feb 28, Mar 31 (after the spring change), Apr 30 */
    VX_CHECK_INT(vx_sub_cycle_due(&s, tz, 1, &due, &d), 0);
    VX_CHECK(d.m == 1 && d.d == 31);
    VX_CHECK_INT(due, 1801382400); /* 2027-01-31T08:00:00Z: 09:00 winter time */
    VX_CHECK_INT(vx_sub_cycle_due(&s, tz, 2, &due, &d), 0);
    VX_CHECK(d.m == 2 && d.d == 28);
    VX_CHECK_INT(vx_sub_cycle_due(&s, tz, 3, &due, &d), 0);
    VX_CHECK(d.m == 3 && d.d == 31);
    VX_CHECK_INT(due % 86400, 7 * 3600); /* 09:00 summer time is 07:00 UTC */
    VX_CHECK_INT(vx_sub_cycle_due(&s, tz, 4, &due, &d), 0);
    VX_CHECK(d.m == 4 && d.d == 30);
    for (int64_t n = 1; n <= 40; n++) { /* strictly increasing: none doubled, none missed */
        VX_CHECK_INT(vx_sub_cycle_due(&s, tz, n, &due, NULL), 0);
        VX_CHECK(due > prev);
        prev = due;
    }
    VX_CHECK_INT(vx_sub_cycle_due(&s, tz, 0, &due, NULL), VX_EINVAL);
    vx_tz_free(tz);
}

static void test_policy(void)
{
    struct vx_sub_policy p;
    vx_sub_policy_default(&p);
    VX_CHECK_INT(p.n_retry, 5);
    VX_CHECK_INT(p.retry[0], 3600);
    VX_CHECK_INT(p.retry[4], 7 * 86400);
    VX_CHECK_INT(vx_sub_retry_parse("30m,2d", &p), 0);
    VX_CHECK_INT(p.n_retry, 2);
    VX_CHECK_INT(p.retry[1], 2 * 86400);
    VX_CHECK_INT(vx_sub_retry_parse("", &p), 0);
    VX_CHECK_INT(p.n_retry, 0);
    VX_CHECK_INT(vx_sub_retry_parse("1h,,1d", &p), VX_EINVAL);
    VX_CHECK_INT(vx_sub_retry_parse("1h,soon", &p), VX_EINVAL);
    VX_CHECK_INT(vx_sub_retry_parse("1h,1h,1h,1h,1h,1h,1h,1h,1h", &p), VX_EINVAL);
    /* the 1st of the month after, in UTC */
    VX_CHECK_INT(vx_sub_next_month(1798761599), 1798761600); /* 2026-12-31T23:59:59Z */
    VX_CHECK_INT(vx_sub_next_month(1798761600), 1801440000); /* 2027-01-01 -> 02-01 */
    VX_CHECK_INT(vx_sub_next_month(1835395200), 1835481600); /* 2028-02-29 -> 03-01 */
}

static void after(struct vx_sub *s, enum vx_provider_outcome o, const char *state,
                  struct vx_sub_step *st)
{
    struct vx_provider_result r;
    struct vx_sub_policy p;
    memset(&r, 0, sizeof(r));
    vx_strlcpy(r.state, state, sizeof(r.state));
    vx_sub_policy_default(&p);
    vx_sub_after(s, o, &r, 1000000, &p, st);
}

static void test_outcomes(void)
{
    struct vx_sub s = base();
    struct vx_sub_step st;

    after(&s, VX_PROVIDER_SUCCESS, "Captured", &st);
    VX_CHECK(st.paid && st.new_attempt && st.order_to == VX_OS_PAID);
    VX_CHECK_STR(st.event, "subscription.cycle_paid");
    s.status = VX_SS_TRIALING;
    after(&s, VX_PROVIDER_SUCCESS, "Captured", &st);
    VX_CHECK_INT(st.status, VX_SS_ACTIVE);
    s.status = VX_SS_ACTIVE;
    /* not decided: the same key again, never a new attempt */
    for (int o = VX_PROVIDER_PENDING; o <= VX_PROVIDER_UNKNOWN; o++) {
        if (o != VX_PROVIDER_PENDING && o != VX_PROVIDER_RETRYABLE && o != VX_PROVIDER_UNKNOWN)
            continue;
        after(&s, (enum vx_provider_outcome)o, "", &st);
        VX_CHECK(!st.paid && !st.new_attempt && st.order_to == VX_OS_CHARGE_PENDING);
        VX_CHECK_INT(st.wait, VX_SW_SETTLE);
        VX_CHECK_INT(st.due, 1000000 + 60);
    }
    after(&s, VX_PROVIDER_SUCCESS, "Authorized", &st); /* not captured: not paid yet */
    VX_CHECK(!st.paid && st.wait == VX_SW_SETTLE);
    /* soft declines: the schedule, then past due for the grace period */
    for (int i = 0; i < 5; i++) {
        s.soft = i;
        after(&s, VX_PROVIDER_SOFT_DECLINE, "Declined", &st);
        VX_CHECK(st.new_attempt && st.wait == VX_SW_RETRY && st.status == VX_SS_ACTIVE);
    }
    s.soft = 1;
    after(&s, VX_PROVIDER_SOFT_DECLINE, "Declined", &st);
    VX_CHECK_INT(st.due, 1000000 + 86400);
    s.soft = 5;
    after(&s, VX_PROVIDER_SOFT_DECLINE, "Declined", &st);
    VX_CHECK(st.status == VX_SS_PAST_DUE && st.wait == VX_SW_GRACE);
    VX_CHECK_INT(st.due, 1000000 + 7 * 86400);
    s.soft = 0;
    after(&s, VX_PROVIDER_HARD_DECLINE, "Declined", &st);
    VX_CHECK(st.status == VX_SS_PAST_DUE && st.wait == VX_SW_PERMISSION && st.new_attempt);
    after(&s, VX_PROVIDER_PERIODIC_LIMIT, "", &st);
    VX_CHECK(st.wait == VX_SW_MONTH && st.status == VX_SS_ACTIVE);
    VX_CHECK_INT(st.due, vx_sub_next_month(1000000) + 60);
    after(&s, VX_PROVIDER_AMOUNT_LIMIT, "", &st);
    VX_CHECK(st.wait == VX_SW_MERCHANT && st.status == VX_SS_PAST_DUE);
    after(&s, VX_PROVIDER_PERMANENT, "", &st);
    VX_CHECK(st.wait == VX_SW_MERCHANT && st.order_to == VX_OS_FAILED);
}

static void test_ledger_entry(void)
{
    struct vx_sub s = base();
    struct vx_buf b;
    vx_buf_init(&b);
    s.attempt = 2;
    VX_CHECK_INT(
        vx_sub_ledger_json(1800000000123, "biller", "declined", &s, "C01-1", "SoftDeclined", &b),
        0);
    VX_CHECK_STR(b.data, "{\"at\":1800000000123,\"actor\":\"biller\",\"event\":\"declined\","
                         "\"status\":\"active\",\"cycle\":1,\"attempt\":2,\"amount\":1299,"
                         "\"currency\":\"EUR\",\"ref\":\"C01-1\",\"reason\":\"SoftDeclined\"}");
    vx_buf_release(&b);
}

/* The changes a merchant or a customer asks for (vx_sub_change): the same rules for both. */
static void test_changes(void)
{
    struct vx_sub s = base(), before;
    const struct vx_tz *tz = vx_tz_shared("Europe/Berlin", NULL);
    struct vx_sub_refusal why;
    const char *event = NULL;
    struct vx_wset w;
    struct vx_buf scratch;
    /* 2027-01-31 is cycle 1; "now" is 2027-04-10: cycles 2 (Feb 28) and 3 (Mar 31) passed */
    int64_t now = 1807000000;

    VX_CHECK(tz != NULL);
    VX_CHECK(vx_tz_shared("Europe/Berlin", NULL) == tz); /* loaded once for the process */
    VX_CHECK(vx_tz_shared("Not/AZone", NULL) == NULL);
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_PAUSE, tz, now, &event, &why), 0);
    VX_CHECK_STR(event, "subscription.paused");
    VX_CHECK(s.status == VX_SS_PAUSED);
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_PAUSE, tz, now, &event, &why), VX_EINVAL);
    VX_CHECK_STR(why.code, "subscription_paused");
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_SKIP, tz, now, &event, &why), VX_EINVAL);
    VX_CHECK_STR(why.code, "subscription_paused");
    /* resumed: the cycles whose dates passed while paused are let go */
    before = s;
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_RESUME, tz, now, &event, &why), 0);
    VX_CHECK(s.status == VX_SS_ACTIVE && s.cycle == 4 && s.due > now);
    vx_wset_init(&w, s.skill, s.user);
    vx_buf_init(&scratch);
    VX_CHECK_INT(vx_sub_change_wset(&w, &before, &s, VX_SA_RESUME, "customer", event, &scratch), 0);
    VX_CHECK(s.fence == before.fence + 1);
    VX_CHECK(w.n >= 5); /* the guard, the fence, status, wait, due, the cycle's members, ledger */
    VX_CHECK(scratch.data && strstr(scratch.data, "\"actor\":\"customer\"") &&
             strstr(scratch.data, "\"event\":\"resumed\""));
    vx_wset_release(&w);
    /* skip moves on one cycle; with a charge in flight it is refused, pause is not */
    before = s;
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_SKIP, tz, now, &event, &why), 0);
    VX_CHECK(s.cycle == before.cycle + 1 && s.due > before.due);
    s.wait = VX_SW_ORDER; /* the first cycle paid in a conversation */
    vx_strlcpy(s.key, "sub_abcdefghijkl-5-1", sizeof(s.key));
    VX_CHECK(vx_sub_in_flight(&s));
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_SKIP, tz, now, &event, &why), VX_EINVAL);
    VX_CHECK_STR(why.code, "attempt_in_flight");
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_BILL_NOW, tz, now, &event, &why), VX_EINVAL);
    before = s;
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_CANCEL, tz, now, &event, &why), 0);
    VX_CHECK(s.status == VX_SS_CANCELED && s.wait == VX_SW_ORDER); /* the biller settles it */
    vx_wset_init(&w, s.skill, s.user);
    VX_CHECK_INT(vx_sub_change_wset(&w, &before, &s, VX_SA_CANCEL, "merchant", event, &scratch), 0);
    for (size_t i = 0; i < w.n; i++) /* in flight: neither wait nor due is written */
        VX_CHECK(!(w.ops[i].kind == VX_W_SUB_SET && strcmp(w.ops[i].b, "wait") == 0));
    vx_wset_release(&w);
    VX_CHECK_INT(vx_sub_change(&s, VX_SA_RESUME, tz, now, &event, &why), VX_EINVAL);
    VX_CHECK_STR(why.code, "subscription_canceled");
    vx_buf_release(&scratch);
}

int main(void)
{
    VX_RUN(test_doc_roundtrip);
    VX_RUN(test_keys);
    VX_RUN(test_due);
    VX_RUN(test_policy);
    VX_RUN(test_outcomes);
    VX_RUN(test_ledger_entry);
    VX_RUN(test_changes);
    return VX_DONE();
}
