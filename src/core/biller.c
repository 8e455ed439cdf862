/*
 * The recurring biller (biller.h): one pass bills what is due.
 */
#include "voxcart/biller.h"

#include "voxcart/ledger.h"
#include "voxcart/log.h"
#include "voxcart/metrics.h"
#include "voxcart/pay.h"
#include "voxcart/response.h"
#include "voxcart/store.h"
#include "voxcart/wset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TZ_CACHE  8
#define PACE_KEY  "vx:{bill:pace}:charges"
#define MISSING_S 5 /* a member whose document is not there yet (written just after it) */
#define CLAIMED_S 5 /* a subscription claimed by another biller: look again then */

/* Counts an event of the pass in its stats and, as it happens, in /metrics. */
#define COUNT(ps, field)                                                                           \
    do {                                                                                           \
        (ps)->st->field++;                                                                         \
        vx_metrics_biller_count(VX_BM_##field, 1);                                                 \
    } while (0)

/* The zones of one pass, loaded once each. */
struct pass {
    const struct vx_biller_config *c;
    struct vx_biller_stats *st;
    int64_t now;
    struct {
        char name[64];
        struct vx_tz *tz;
    } tz[TZ_CACHE];
    size_t n_tz;
};

static const struct vx_tz *zone(struct pass *ps, const char *name)
{
    struct vx_err e;
    struct vx_tz *tz = NULL;
    for (size_t i = 0; i < ps->n_tz; i++)
        if (strcmp(ps->tz[i].name, name) == 0)
            return ps->tz[i].tz;
    if (vx_tz_load(name[0] ? name : "UTC", &tz, &e) != 0) {
        vx_warn("biller", "time zone %s: %s; billing in UTC", name, e.msg);
        if (vx_tz_load("UTC", &tz, &e) != 0)
            return NULL;
    }
    if (ps->n_tz == TZ_CACHE) {
        vx_tz_free(ps->tz[0].tz);
        memmove(&ps->tz[0], &ps->tz[1], sizeof(ps->tz[0]) * (TZ_CACHE - 1));
        ps->n_tz--;
    }
    vx_strlcpy(ps->tz[ps->n_tz].name, name, sizeof(ps->tz[0].name));
    ps->tz[ps->n_tz++].tz = tz;
    return tz;
}

/* Runs a write set blocking: 0, VX_ECONFLICT (a guard refused it), or a store error. */
static int store_write(struct vx_wset *w)
{
    struct vx_store_op op;
    int rc;
    if (w->overflow)
        return VX_ENOMEM;
    if (vx_store_op_write(&op, w))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc && rc != VX_ECONFLICT)
        vx_warn("biller", "write for %s failed: %s", w->user, op.err.msg);
    vx_store_op_release(&op);
    return rc;
}

static void sub_ledger(struct vx_wset *w, const struct vx_sub *s, const char *event,
                       const char *ref, const char *reason, int64_t at_ms)
{
    struct vx_buf b;
    vx_buf_init(&b);
    if (vx_sub_ledger_json(at_ms, "biller", event, s, ref, reason, &b) != 0 || !b.data)
        w->overflow = 1;
    else
        vx_wset_ledger(w, s->id, b.data);
    vx_buf_release(&b);
}

static void emit(struct pass *ps, const char *type, const struct vx_sub *s, const char *order,
                 const char *charge, const char *reason)
{
    struct vx_biller_event ev = {type, s, order, charge, reason, vx_now_ms()};
    if (ps->c->event && type)
        ps->c->event(&ev, ps->c->arg);
}

/* Claims s: fence + 1 behind a guard on the fence read. 0, or VX_ECONFLICT. */
static int claim(struct vx_sub *s)
{
    struct vx_wset w;
    int rc;
    vx_wset_init(&w, s->skill, s->user);
    vx_sub_wset_fence(&w, s);
    vx_sub_wset_num(&w, s->id, "fence", s->fence + 1);
    rc = store_write(&w);
    vx_wset_release(&w);
    if (rc == 0)
        s->fence++;
    return rc;
}

/* Only the next look (and the subscription's status and wait) change; event (may be NULL) is
 * the merchant's event type, its last part the ledger entry's. */
static int reschedule(struct pass *ps, struct vx_sub *s, const char *event, const char *reason)
{
    struct vx_wset w;
    int rc;
    vx_wset_init(&w, s->skill, s->user);
    vx_sub_wset_fence(&w, s);
    vx_sub_wset_num(&w, s->id, "due", s->due);
    vx_sub_wset_str(&w, s->id, "status", vx_sub_status_name(s->status));
    vx_sub_wset_str(&w, s->id, "wait", vx_sub_wait_name(s->wait));
    if (event)
        sub_ledger(&w, s, strchr(event, '.') ? strchr(event, '.') + 1 : event, s->permission,
                   reason, vx_now_ms());
    rc = store_write(&w);
    vx_wset_release(&w);
    if (rc == 0 && event)
        emit(ps, event, s, NULL, NULL, reason);
    return rc;
}

/* The cycle's order: created CHARGE_PENDING by its first attempt, moved back to CHARGE_PENDING
 * by a later one (from what the last decline left). */
static int attempt_order(struct vx_wset *w, const struct vx_sub *s, const char *order,
                         int64_t at_ms)
{
    struct vx_buf doc, e;
    char from[32] = "";
    int rc = 0;
    vx_buf_init(&doc);
    vx_buf_init(&e);
    if (s->attempt > 1) {
        struct vx_store_op op;
        struct vx_pay_order o;
        if (vx_store_op_order_get(&op, s->skill, s->user, order))
            vx_store_op_run(&op);
        rc = op.rc;
        if (rc == 0 && vx_pay_order_parse(op.json, &o) == 0)
            vx_strlcpy(from, o.state, sizeof(from));
        vx_store_op_release(&op);
        if (rc != 0 && rc != VX_ENOTFOUND)
            return rc;
    }
    if (from[0] && strcmp(from, "CHARGE_PENDING") != 0) {
        vx_wset_order_cas(w, order, from, "CHARGE_PENDING");
    } else if (!from[0]) {
        rc |= vx_buf_appends(&doc, "{\"id\":\"");
        rc |= vx_json_escape(&doc, order, strlen(order));
        rc |= vx_buf_appendf(&doc, "\",\"state\":\"CHARGE_PENDING\",\"merchant\":\"");
        rc |= vx_json_escape(&doc, s->merchant, strlen(s->merchant));
        rc |= vx_buf_appends(&doc, "\",\"shop_id\":\"");
        rc |= vx_json_escape(&doc, s->shop, strlen(s->shop));
        rc |= vx_buf_appends(&doc, "\",\"subscription_id\":\"");
        rc |= vx_json_escape(&doc, s->id, strlen(s->id));
        rc |= vx_buf_appendf(&doc, "\",\"cycle\":%lld,\"created\":%lld,\"currency\":\"",
                             (long long)s->cycle, (long long)(at_ms / 1000));
        rc |= vx_json_escape(&doc, s->currency, strlen(s->currency));
        rc |= vx_buf_appends(&doc, "\",\"lines\":[{\"product\":\"");
        rc |= vx_json_escape(&doc, s->plan, strlen(s->plan));
        rc |= vx_buf_appendf(&doc,
                             "\",\"size\":null,\"quantity\":1,\"unit_price\":%lld,\"amount\":%lld}]"
                             ",\"total\":%lld,\"amount\":%lld,\"environment\":\"%s\"}",
                             (long long)s->amount, (long long)s->amount, (long long)s->amount,
                             (long long)s->amount, s->live ? "production" : "sandbox");
        if (rc == 0 && doc.data)
            vx_wset_order_create(w, order, doc.data);
    }
    {
        char num[16];
        struct vx_buf k;
        vx_buf_init(&k);
        vx_buf_appends(&k, "\"");
        vx_buf_appends(&k, s->key);
        rc |= vx_buf_appends(&k, "\"");
        if (rc == 0 && k.data)
            vx_wset_order_set(w, order, "pay_key", k.data);
        vx_buf_release(&k);
        snprintf(num, sizeof(num), "%d", s->attempt);
        vx_wset_order_set(w, order, "attempt", num);
    }
    /* from NULL: the entry that creates the order */
    rc |= vx_ledger_entry_json(at_ms, "biller", from[0] ? from : NULL, "CHARGE_PENDING", s->amount,
                               s->currency, s->attempt, s->key, &e);
    if (rc == 0 && e.data)
        vx_wset_ledger(w, order, e.data);
    vx_buf_release(&doc);
    vx_buf_release(&e);
    return rc ? VX_ENOMEM : 0;
}

/* Writes attempt s->attempt + 1 of the cycle before its request leaves. 0 or an error. */
static int begin_attempt(struct pass *ps, struct vx_sub *s, const char *order)
{
    struct vx_wset w;
    int rc;
    s->attempt++;
    if (vx_sub_key(s->id, s->cycle, s->attempt, s->key, sizeof(s->key)) != 0)
        return VX_EINVAL;
    s->charge_id[0] = '\0';
    vx_wset_init(&w, s->skill, s->user);
    vx_sub_wset_fence(&w, s);
    vx_sub_wset_num(&w, s->id, "attempt", s->attempt);
    vx_sub_wset_str(&w, s->id, "attempt_key", s->key);
    vx_sub_wset_str(&w, s->id, "charge_id", NULL);
    vx_sub_wset_str(&w, s->id, "wait", vx_sub_wait_name(VX_SW_SETTLE));
    vx_sub_wset_num(&w, s->id, "due", ps->now + ps->c->policy.settle_s);
    sub_ledger(&w, s, "attempt", s->key, NULL, vx_now_ms());
    rc = attempt_order(&w, s, order, vx_now_ms());
    if (rc == 0)
        rc = store_write(&w);
    vx_wset_release(&w);
    return rc;
}

/* Waits for a token of the pacing bucket every instance shares. 0, or a store error. */
static int pace(const struct vx_biller_config *c)
{
    for (;;) {
        struct vx_err e;
        int wait_ms = 0;
        if (vx_store_pace(PACE_KEY, c->rate, c->burst, &wait_ms, &e) != 0) {
            vx_warn("biller", "pacing: %s", e.msg);
            return VX_ESTORE;
        }
        if (wait_ms <= 0)
            return 0;
        struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Paused or canceled while its attempt was in flight: the outcome is recorded, the status
 * stays what the merchant or customer made it. */
static int held(const struct vx_sub *s)
{
    return s->status == VX_SS_PAUSED || s->status == VX_SS_CANCELED;
}

/* Records the outcome of the attempt in flight. 1 paid, 0 recorded, < 0 error/conflict. */
static int record(struct pass *ps, struct vx_sub *s, const char *order, enum vx_provider_outcome o,
                  const struct vx_provider_result *r)
{
    struct vx_sub_step step;
    struct vx_pay_settle ps_ = {0};
    struct vx_wset w;
    struct vx_sub before = *s;
    int rc;
    int64_t at_ms = vx_now_ms();

    vx_sub_after(s, o, r, ps->now, &ps->c->policy, &step);
    vx_wset_init(&w, s->skill, s->user);
    vx_sub_wset_fence(&w, s);
    ps_.order_id = order;
    ps_.to = step.order_to;
    ps_.res = r;
    ps_.amount = s->amount;
    ps_.currency = s->currency;
    ps_.attempt = s->attempt;
    ps_.actor = "biller";
    ps_.at_ms = at_ms;
    ps_.live = s->live;
    rc = vx_pay_settle_wset(&w, &ps_, NULL);
    if (step.order_to == VX_OS_CHARGE_PENDING) {
        if (r->charge_id[0]) {
            vx_strlcpy(s->charge_id, r->charge_id, sizeof(s->charge_id));
            vx_sub_wset_str(&w, s->id, "charge_id", s->charge_id);
        }
        s->due = step.due;
        vx_sub_wset_num(&w, s->id, "due", s->due);
    } else if (step.paid) {
        const struct vx_tz *tz = zone(ps, s->tz);
        int64_t due;
        s->cycle++;
        s->paid++;
        if (!held(s))
            s->status = VX_SS_ACTIVE;
        s->wait = VX_SW_NONE;
        if (!tz || vx_sub_cycle_due(s, tz, s->cycle, &due, NULL) != 0) {
            vx_wset_release(&w);
            return VX_EINVAL;
        }
        s->due = due;
        vx_sub_wset_num(&w, s->id, "cycle", s->cycle);
        vx_sub_wset_num(&w, s->id, "cycles_paid", s->paid);
        vx_sub_wset_num(&w, s->id, "due", s->due);
        vx_sub_wset_num(&w, s->id, "attempt", 0);
        vx_sub_wset_num(&w, s->id, "soft_declines", 0);
        vx_sub_wset_str(&w, s->id, "attempt_key", NULL);
        vx_sub_wset_str(&w, s->id, "charge_id", NULL);
        vx_sub_wset_str(&w, s->id, "status", vx_sub_status_name(s->status));
        vx_sub_wset_str(&w, s->id, "wait", vx_sub_wait_name(s->wait));
        vx_sub_wset_str(&w, s->id, "last_charge_id", r->charge_id);
    } else {
        if (o == VX_PROVIDER_SOFT_DECLINE)
            s->soft++;
        if (!held(s))
            s->status = step.status;
        s->wait = step.wait;
        s->due = step.due;
        s->wait_since = ps->now;
        s->key[0] = s->charge_id[0] = '\0';
        vx_sub_wset_num(&w, s->id, "soft_declines", s->soft);
        vx_sub_wset_num(&w, s->id, "due", s->due);
        vx_sub_wset_num(&w, s->id, "wait_since", s->wait_since);
        vx_sub_wset_str(&w, s->id, "attempt_key", NULL);
        vx_sub_wset_str(&w, s->id, "charge_id", NULL);
        vx_sub_wset_str(&w, s->id, "status", vx_sub_status_name(s->status));
        vx_sub_wset_str(&w, s->id, "wait", vx_sub_wait_name(s->wait));
        vx_sub_wset_str(&w, s->id, "reason", r->reason_code);
    }
    if (step.order_to != VX_OS_CHARGE_PENDING) {
        /* the attempt's cycle and number, the status it left */
        struct vx_sub e = before;
        e.status = s->status;
        sub_ledger(&w, &e,
                   step.paid                         ? "paid"
                   : step.order_to == VX_OS_DECLINED ? "declined"
                                                     : "failed",
                   r->charge_id, r->reason_code, at_ms);
    }
    if (rc == 0)
        rc = store_write(&w);
    vx_wset_release(&w);
    if (rc == VX_ECONFLICT) {
        vx_info("biller", "%s cycle %lld: the subscription changed under the claim", s->id,
                (long long)before.cycle);
        *s = before;
        return rc;
    }
    if (rc)
        return rc;
    /* counted once written: a refused write changed nothing */
    if (step.order_to == VX_OS_CHARGE_PENDING)
        COUNT(ps, pending);
    else if (step.paid)
        COUNT(ps, charged);
    else
        COUNT(ps, declined);
    if (step.order_to != VX_OS_CHARGE_PENDING) {
        vx_info("biller", "%s cycle %lld attempt %d: %s%s%s", s->id, (long long)before.cycle,
                before.attempt, vx_order_state_name(step.order_to), r->reason_code[0] ? " " : "",
                r->reason_code);
        struct vx_sub told = before; /* the attempt's cycle and number, the status it left */
        told.status = s->status;
        emit(ps, step.event, &told, order, r->charge_id, r->reason_code);
    }
    return step.paid;
}

/* The Create Charge of the attempt in flight: the same body for the same key, always. */
static void charge(struct pass *ps, const struct vx_sub *s, const char *order,
                   struct vx_provider_op *op)
{
    struct vx_provider_charge_req r;
    struct vx_provider *p = s->live ? ps->c->live : ps->c->sandbox;
    vx_pay_charge_req(&r, s->permission, order, s->amount, s->currency, ps->c->store_name);
    if (vx_provider_op_charge_create(op, p, s->key, &r))
        vx_provider_run(op);
}

/* Reads the permission of a subscription waiting for it: 1 chargeable, 0 not yet, 2 closed. */
static int permission_state(struct pass *ps, const struct vx_sub *s)
{
    struct vx_provider_op op;
    struct vx_provider *p = s->live ? ps->c->live : ps->c->sandbox;
    int rc = 0;
    memset(&op, 0, sizeof(op));
    if (vx_provider_op_permission_get(&op, p, s->permission))
        vx_provider_run(&op);
    if (op.outcome == VX_PROVIDER_SUCCESS)
        rc = strcmp(op.res.state, "Chargeable") == 0 ? 1
             : strcmp(op.res.state, "Closed") == 0   ? 2
                                                     : 0;
    vx_provider_op_release(&op);
    return rc;
}

static int cancel(struct pass *ps, struct vx_sub *s, const char *reason)
{
    s->status = VX_SS_CANCELED;
    s->wait = VX_SW_NONE;
    s->due = ps->now;
    COUNT(ps, canceled);
    return reschedule(ps, s, "subscription.canceled", reason);
}

/* 1 when the cycle's order is not in the store. */
static int order_missing(const struct vx_sub *s, const char *order)
{
    struct vx_store_op op;
    int rc;
    if (vx_store_op_order_get(&op, s->skill, s->user, order))
        vx_store_op_run(&op);
    rc = op.rc;
    vx_store_op_release(&op);
    return rc == VX_ENOTFOUND;
}

/* The customer's saved charge permission ("" none): what a pay link's approval saved. */
static void saved_permission(const struct vx_sub *s, char *id, size_t idsz)
{
    struct vx_store_op op;
    id[0] = '\0';
    if (vx_store_op_load(&op, s->skill, s->user))
        vx_store_op_run(&op);
    if (op.rc == 0 && op.conv.profile)
        vx_pay_agreement_id(op.conv.profile, id, idsz);
    vx_store_op_release(&op);
}

/*
 * A first cycle paid in the conversation (wait "order", sub.h): its order tells how it ended.
 * PAID: the cycle is recorded paid with the order's charge, and the permission the customer
 * approved becomes the subscription's; still being paid: looked at again; anything else: the
 * first payment did not happen, and the subscription ends. Nothing is charged here.
 */
static int64_t follow_order(struct pass *ps, struct vx_sub *s, const char *order)
{
    struct vx_store_op op;
    struct vx_pay_order po;
    struct vx_wset w;
    const struct vx_tz *tz;
    struct vx_sub before = *s;
    int rc;
    if (vx_store_op_order_get(&op, s->skill, s->user, order))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc == 0 && vx_pay_order_parse(op.json, &po) != 0)
        rc = VX_EPARSE;
    vx_store_op_release(&op);
    if (rc == VX_ENOTFOUND)
        return cancel(ps, s, "first_payment_missing") == 0 ? -1 : ps->now + CLAIMED_S;
    if (rc) {
        COUNT(ps, errors);
        return ps->now + ps->c->policy.settle_s;
    }
    if (strcmp(po.state, "CHARGE_PENDING") == 0 || strcmp(po.state, "CONFIRMED") == 0) {
        s->due = ps->now + ps->c->policy.settle_s;
        return reschedule(ps, s, NULL, NULL) == 0 ? s->due : ps->now + CLAIMED_S;
    }
    if (strcmp(po.state, "PAID") != 0) {
        char why[48];
        snprintf(why, sizeof(why), "first_payment_%s", po.state);
        for (char *c = why; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        vx_info("biller", "%s: the first payment (order %s) is %s: the subscription ends", s->id,
                order, po.state);
        return cancel(ps, s, why) == 0 ? -1 : ps->now + CLAIMED_S;
    }
    if (!s->permission[0])
        saved_permission(s, s->permission, sizeof(s->permission));
    tz = zone(ps, s->tz);
    s->cycle++;
    s->paid++;
    if (!held(s))
        s->status = VX_SS_ACTIVE;
    s->wait = VX_SW_NONE;
    s->key[0] = s->charge_id[0] = '\0';
    if (!tz || vx_sub_cycle_due(s, tz, s->cycle, &s->due, NULL) != 0) {
        *s = before;
        return ps->now + ps->c->policy.settle_s;
    }
    vx_wset_init(&w, s->skill, s->user);
    vx_sub_wset_fence(&w, &before);
    vx_sub_wset_num(&w, s->id, "cycle", s->cycle);
    vx_sub_wset_num(&w, s->id, "cycles_paid", s->paid);
    vx_sub_wset_num(&w, s->id, "due", s->due);
    vx_sub_wset_num(&w, s->id, "attempt", 0);
    vx_sub_wset_num(&w, s->id, "soft_declines", 0);
    vx_sub_wset_str(&w, s->id, "attempt_key", NULL);
    vx_sub_wset_str(&w, s->id, "charge_id", NULL);
    vx_sub_wset_str(&w, s->id, "status", vx_sub_status_name(s->status));
    vx_sub_wset_str(&w, s->id, "wait", vx_sub_wait_name(s->wait));
    vx_sub_wset_str(&w, s->id, "last_charge_id", po.charge_id);
    if (s->permission[0])
        vx_sub_wset_str(&w, s->id, "charge_permission_id", s->permission);
    {
        struct vx_sub e = before;
        e.status = s->status;
        sub_ledger(&w, &e, "paid", po.charge_id, NULL, vx_now_ms());
    }
    rc = store_write(&w);
    vx_wset_release(&w);
    if (rc) {
        *s = before;
        return ps->now + (rc == VX_ECONFLICT ? CLAIMED_S : ps->c->policy.settle_s);
    }
    vx_info("biller", "%s cycle %lld: paid in the conversation (order %s, charge %s)", s->id,
            (long long)before.cycle, order, po.charge_id);
    {
        struct vx_sub told = before;
        told.status = s->status;
        emit(ps, "subscription.cycle_paid", &told, order, po.charge_id, NULL);
    }
    return s->due;
}

/*
 * A trial made by voice without a permission (wait "approval", sub.h): its pay link asks the
 * buyer to approve the plan's terms. Approved: the checkout session is completed (nothing is
 * charged: its payment intent is Confirm), and the permission it made becomes the
 * subscription's and the customer's saved one; the first cycle is then due after the trial.
 * The buyer declined, or the link expired: the subscription ends. Not yet: looked at again.
 */
static int64_t follow_approval(struct pass *ps, struct vx_sub *s)
{
    struct vx_provider *p = s->live ? ps->c->live : ps->c->sandbox;
    struct vx_provider_op op;
    struct vx_sub before = *s;
    const struct vx_tz *tz = zone(ps, s->tz);
    char key[VX_PROVIDER_KEY_MAX + 1], perm[64];
    struct vx_wset w;
    struct vx_buf b;
    int rc;

    if (!s->session[0]) { /* the turn's answer was lost before it recorded the session */
        if (ps->now - s->created < 3600) {
            s->due = ps->now + ps->c->policy.settle_s;
            return reschedule(ps, s, NULL, NULL) == 0 ? s->due : ps->now + CLAIMED_S;
        }
        return cancel(ps, s, "no_pay_link") == 0 ? -1 : ps->now + CLAIMED_S;
    }
    memset(&op, 0, sizeof(op));
    if (vx_provider_op_session_get(&op, p, s->session))
        vx_provider_run(&op);
    if (op.outcome == VX_PROVIDER_SUCCESS && strcmp(op.res.state, "Canceled") == 0) {
        vx_info("biller", "%s: the trial's pay link was %s: the subscription ends", s->id,
                op.res.reason_code[0] ? op.res.reason_code : "canceled");
        vx_provider_op_release(&op);
        return cancel(ps, s, "pay_link_not_approved") == 0 ? -1 : ps->now + CLAIMED_S;
    }
    if (op.outcome != VX_PROVIDER_SUCCESS || !op.res.charge_permission_id[0]) {
        vx_provider_op_release(&op); /* not approved yet (or no answer): later */
        s->due = ps->now + ps->c->policy.settle_s;
        return reschedule(ps, s, NULL, NULL) == 0 ? s->due : ps->now + CLAIMED_S;
    }
    vx_strlcpy(perm, op.res.charge_permission_id, sizeof(perm));
    rc = strcmp(op.res.state, "Completed") == 0;
    vx_provider_op_release(&op);
    if (!rc) {
        if (vx_sub_approval_key(s->id, 1, key, sizeof(key)) != 0)
            return -1;
        memset(&op, 0, sizeof(op));
        if (vx_provider_op_session_complete(&op, p, key, s->session, s->amount, s->currency))
            vx_provider_run(&op);
        rc = op.outcome == VX_PROVIDER_SUCCESS;
        if (!rc)
            vx_warn("biller", "%s: completing the trial's checkout session: %s", s->id, op.err.msg);
        vx_provider_op_release(&op);
        if (!rc) {
            s->due = ps->now + ps->c->policy.settle_s;
            return reschedule(ps, s, NULL, NULL) == 0 ? s->due : ps->now + CLAIMED_S;
        }
    }
    vx_strlcpy(s->permission, perm, sizeof(s->permission));
    s->wait = VX_SW_NONE;
    s->key[0] = '\0';
    if (!tz || vx_sub_cycle_due(s, tz, s->cycle, &s->due, NULL) != 0) {
        *s = before;
        return ps->now + ps->c->policy.settle_s;
    }
    vx_wset_init(&w, s->skill, s->user);
    vx_sub_wset_fence(&w, &before);
    vx_sub_wset_str(&w, s->id, "charge_permission_id", s->permission);
    vx_sub_wset_str(&w, s->id, "wait", vx_sub_wait_name(s->wait));
    vx_sub_wset_str(&w, s->id, "attempt_key", NULL);
    vx_sub_wset_num(&w, s->id, "due", s->due);
    vx_buf_init(&b);
    /* the customer's saved permission too: the next purchase by voice is charged with it */
    if (vx_pay_profile_json(s->permission, "Chargeable", s->live, &b) == 0 && b.data)
        vx_wset_profile_set(&w, "billing_agreement", b.data);
    vx_buf_release(&b);
    sub_ledger(&w, s, "approved", s->permission, NULL, vx_now_ms());
    rc = store_write(&w);
    vx_wset_release(&w);
    if (rc) {
        *s = before;
        return ps->now + (rc == VX_ECONFLICT ? CLAIMED_S : ps->c->policy.settle_s);
    }
    vx_info("biller", "%s: the trial's terms were approved (%s): the first charge is due then",
            s->id, s->permission);
    return s->due;
}

/* Reads a subscription (its customer's names kept in it). 0, VX_ENOTFOUND, VX_EPARSE, ... */
static int sub_read(const char *skill, const char *user, const char *id, struct vx_sub *s)
{
    struct vx_store_op sop;
    int rc;
    if (vx_store_op_sub_get(&sop, skill, user, id))
        vx_store_op_run(&sop);
    rc = sop.rc;
    if (rc == 0 && vx_sub_parse(sop.json, s) != 0)
        rc = VX_EPARSE;
    vx_store_op_release(&sop);
    if (rc == 0) {
        vx_strlcpy(s->skill, skill, sizeof(s->skill));
        vx_strlcpy(s->user, user, sizeof(s->user));
    }
    return rc;
}

/*
 * The outcome's write was refused: the fence moved. Another biller took the claim over (it
 * settles the attempt itself), or the merchant changed the subscription meanwhile (paused
 * it, say), which leaves the attempt in flight: then it is claimed again and the outcome
 * recorded on what is there now. 1 recorded, 0 not ours to record.
 */
static int record_again(struct pass *ps, struct vx_sub *s, const char *order,
                        enum vx_provider_outcome o, const struct vx_provider_result *r)
{
    struct vx_sub now;
    char key[sizeof(s->key)];
    vx_strlcpy(key, s->key, sizeof(key));
    if (sub_read(s->skill, s->user, s->id, &now) != 0 || now.wait != VX_SW_SETTLE ||
        strcmp(now.key, key) != 0 || now.cycle != s->cycle || claim(&now) != 0)
        return 0;
    if (record(ps, &now, order, o, r) < 0)
        return 0;
    *s = now;
    return 1;
}

/* One subscription due: its next look (epoch seconds), or -1 to leave the schedule. */
static int64_t one(struct pass *ps, const char *skill, const char *user, const char *id)
{
    struct vx_sub s;
    struct vx_provider_op op;
    char order[64];
    int rc, inflight;

    rc = sub_read(skill, user, id, &s);
    if (rc == VX_ENOTFOUND)
        return ps->now + MISSING_S; /* written after its member: not there yet */
    if (rc) {
        COUNT(ps, errors);
        vx_warn("biller", "%s: cannot be read (%s)", id, vx_strerror(rc));
        return ps->now + ps->c->policy.settle_s;
    }
    /* an attempt in flight is settled whatever happened to the subscription meanwhile: a
     * charge the provider may have made is always recorded */
    inflight = (s.wait == VX_SW_SETTLE && s.key[0]) || s.wait == VX_SW_ORDER;
    if (s.status == VX_SS_CANCELED && !inflight)
        return -1;
    if (s.status == VX_SS_PAUSED && !inflight)
        return ps->now + ps->c->policy.paused_s;
    if (s.due > ps->now)
        return s.due; /* the schedule was behind the document: put it right */
    if (s.live ? !ps->c->live : !ps->c->sandbox) {
        vx_warn("biller", "%s is of a production shop but provider.live_url is not set", id);
        return ps->now + ps->c->policy.permission_s;
    }
    if (claim(&s) != 0)
        return ps->now + CLAIMED_S;
    COUNT(ps, claimed);
    if (ps->now - s.due > ps->st->lag_s)
        ps->st->lag_s = ps->now - s.due;
    if (vx_sub_order_id(s.id, s.cycle, order, sizeof(order)) != 0)
        return -1;

    switch (s.wait) {
    case VX_SW_ORDER:
        return follow_order(ps, &s, order);
    case VX_SW_APPROVAL:
        return follow_approval(ps, &s);
    case VX_SW_GRACE:
        return cancel(ps, &s, "past_due") == 0 ? -1 : ps->now + CLAIMED_S;
    case VX_SW_MERCHANT:
        s.due = ps->now + ps->c->policy.permission_s;
        reschedule(ps, &s, NULL, NULL);
        return s.due;
    case VX_SW_PERMISSION: {
        int st = permission_state(ps, &s);
        if (st == 2)
            return cancel(ps, &s, "charge_permission_closed") == 0 ? -1 : ps->now + CLAIMED_S;
        if (st == 0) {
            s.due = ps->now + ps->c->policy.permission_s;
            reschedule(ps, &s, NULL, NULL);
            return s.due;
        }
        break; /* chargeable again: a new attempt */
    }
    default:
        break;
    }

    memset(&op, 0, sizeof(op));
    if (inflight && order_missing(&s, order)) {
        /* the attempt's order is not there (the store lost it, or the attempt was written by
         * hand): written again first, or its outcome could never be recorded */
        struct vx_wset w;
        vx_wset_init(&w, s.skill, s.user);
        vx_sub_wset_fence(&w, &s);
        rc = attempt_order(&w, &s, order, vx_now_ms());
        if (rc == 0)
            rc = store_write(&w);
        vx_wset_release(&w);
        if (rc)
            return ps->now + CLAIMED_S;
        vx_warn("biller",
                "%s cycle %lld: the order of the attempt in flight was missing; written again",
                s.id, (long long)s.cycle);
    }
    if (inflight) {
        /* an attempt without an outcome: ask, or send the very same request again */
        struct vx_provider *p = s.live ? ps->c->live : ps->c->sandbox;
        COUNT(ps, retried);
        if (s.charge_id[0]) {
            if (vx_provider_op_charge_get(&op, p, s.charge_id))
                vx_provider_run(&op);
        } else {
            if (pace(ps->c) != 0)
                return ps->now + ps->c->policy.settle_s;
            charge(ps, &s, order, &op);
        }
    } else {
        if (pace(ps->c) != 0)
            return ps->now + ps->c->policy.settle_s;
        if (begin_attempt(ps, &s, order) != 0)
            return ps->now + CLAIMED_S;
        charge(ps, &s, order, &op);
    }
    if (op.outcome == VX_PROVIDER_RETRYABLE || op.outcome == VX_PROVIDER_UNKNOWN)
        vx_warn("biller", "%s cycle %lld attempt %d: %s; settled later with the same key", s.id,
                (long long)s.cycle, s.attempt, op.err.msg);
    rc = record(ps, &s, order, op.outcome, &op.res);
    if (rc == VX_ECONFLICT && record_again(ps, &s, order, op.outcome, &op.res))
        rc = 0;
    vx_provider_op_release(&op);
    if (rc < 0)
        return rc == VX_ECONFLICT ? ps->now + CLAIMED_S : ps->now + ps->c->policy.settle_s;
    return s.due;
}

int vx_biller_pass(const struct vx_biller_config *c, int64_t now, struct vx_biller_stats *st)
{
    /* where the pass begins: instances started together do not all start on bucket 0 */
    unsigned start = (unsigned)(vx_wset_tag() % VX_SUB_BUCKETS);
    struct pass ps;
    struct vx_err e;
    int rc = 0, full = 0;

    memset(st, 0, sizeof(*st));
    memset(&ps, 0, sizeof(ps));
    ps.c = c;
    ps.st = st;
    ps.now = now;
    for (unsigned i = 0; i < VX_SUB_BUCKETS && rc == 0; i++) {
        unsigned b = (start + i) % VX_SUB_BUCKETS;
        char key[64], lease[64], **due = NULL;
        size_t n = 0;
        struct vx_store_op lop;
        int64_t renewed;

        vx_sub_bucket_name(b, key, sizeof(key));
        snprintf(lease, sizeof(lease), "vx:{bill:%u}:lease", b);
        if (vx_store_op_lease(&lop, lease, c->owner, c->lease_ms))
            vx_store_op_run(&lop);
        rc = lop.rc;
        vx_store_op_release(&lop);
        if (rc == VX_ECONFLICT) {
            rc = 0;
            continue; /* another instance works this bucket */
        }
        if (rc) {
            rc = VX_ESTORE;
            break;
        }
        renewed = vx_now_ms();
        vx_err_clear(&e);
        if (vx_store_sched_due(key, now, (size_t)(c->batch > 0 ? c->batch : 100), &due, &n, &e) !=
            0) {
            vx_warn("biller", "cannot read %s: %s", key, e.msg);
            rc = VX_ESTORE;
            break;
        }
        st->due += n;
        if (n >= (size_t)(c->batch > 0 ? c->batch : 100))
            full = 1;
        for (size_t j = 0; j < n; j++) {
            char skill[256], user[256], id[64];
            int64_t next;
            if (vx_pay_bucket_parse(due[j], skill, sizeof(skill), user, sizeof(user), id,
                                    sizeof(id)) != 0) {
                vx_store_sched_set(key, due[j], -1, &e);
                continue;
            }
            /* the lease covers the bucket while it is worked: renew it on the way */
            if (vx_now_ms() - renewed > c->lease_ms / 3) {
                if (vx_store_op_lease(&lop, lease, c->owner, c->lease_ms))
                    vx_store_op_run(&lop);
                int lost = lop.rc != 0;
                vx_store_op_release(&lop);
                if (lost)
                    break; /* taken over (or Redis is gone): the holder carries on */
                renewed = vx_now_ms();
            }
            next = one(&ps, skill, user, id);
            vx_err_clear(&e);
            if (vx_store_sched_set(key, due[j], next, &e) != 0)
                vx_warn("biller",
                        "%s: the schedule is not written (%s); the document's due "
                        "time stands",
                        id, e.msg);
        }
        vx_store_strings_free(due, n);
        /* given back once worked, so another instance takes the bucket at its next pass: the
         * instances share the work instead of one holding every lease it ever took */
        if (vx_store_op_lease(&lop, lease, c->owner, -1))
            vx_store_op_run(&lop);
        vx_store_op_release(&lop);
    }
    for (size_t i = 0; i < ps.n_tz; i++)
        vx_tz_free(ps.tz[i].tz);
    /* claimed, since a full batch this instance could not claim (another biller holds its
     * subscriptions) is looked at again later anyway, and must not make the passes spin */
    st->more = full && st->claimed > 0;
    return rc;
}
