/*
 * Subscriptions within a turn (sub.h; the README's "Subscribing by voice"):
 * what the dialog reads of the customer's subscriptions, and the writes of a
 * subscription a turn makes or changes. The turn's other phases are in fsm.c.
 *
 * DESIGN
 * - A subscription lives in the customer's slot, beside the conversation, so
 *   making or changing one is part of the turn's one write set: the answer the
 *   customer hears and the subscription as stored can never disagree.
 * - A change is the merchant API's change (vx_sub_change: the same rules),
 *   guarded on the subscription's fence as read. A biller that claimed it
 *   meanwhile moved the fence: the write set is refused and the turn runs
 *   again on what is there now, as after any other conflict.
 * - Made by voice, the first cycle is paid in the conversation: the turn
 *   records it as the order "<sub>-1" and pays it as any order (in the turn, or
 *   by a pay link for a Recurring checkout session with the plan's terms), and
 *   the subscription waits for that order (wait "order", its key the order's
 *   first attempt's): the biller reads the order and records the cycle paid, or
 *   ends the subscription when the first payment did not happen. No charge is
 *   ever made twice for it: the turn and the janitor settle the order with its
 *   one key, the biller only reads.
 * - The schedule member (another slot) goes in before the write set, as the
 *   merchant API does it: a subscription is never out of the schedule, and a
 *   member early or without a document is put right by the biller.
 */
#include "engine.h"

#include "voxcart/log.h"
#include "voxcart/pay.h"
#include "voxcart/verify.h"

#include <stdlib.h>
#include <string.h>

#define SUB_IDS_READ (2 * VX_SUBS_MAX) /* canceled ones are skipped, so read a few more */

void fsm_sub_id(const struct vx_request *req, char out[VX_SUB_ID_LEN + 1])
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char md[32];
    char seed[1024];
    snprintf(seed, sizeof(seed), "subscription\n%s\n%s\n%s",
             req->application_id ? req->application_id : "", req->user_id ? req->user_id : "",
             req->request_id ? req->request_id : "");
    if (vx_sha256(seed, strlen(seed), md) != 0)
        memset(md, 0, sizeof(md));
    memcpy(out, "sub_", 4);
    for (int i = 0; i < 12; i++)
        out[4 + i] = digits[md[i] % 36];
    out[VX_SUB_ID_LEN] = '\0';
}

void fsm_subs_release(struct vx_fsm_turn *ft)
{
    vx_store_strings_free(ft->sub_ids, ft->n_sub_ids);
    ft->sub_ids = NULL;
    ft->n_sub_ids = 0;
}

int fsm_subs_start(struct vx_fsm_turn *ft)
{
    fsm_subs_release(ft);
    ft->sub_at = 0;
    ft->nsubs = 0;
    return vx_store_op_subs_recent(&ft->op, ft->req->application_id, ft->req->user_id,
                                   SUB_IDS_READ);
}

static void view_of(const struct vx_sub *s, struct vx_sub_view *v)
{
    static const char *const units[] = {"day", "week", "month", "year"};
    memset(v, 0, sizeof(*v));
    vx_strlcpy(v->id, s->id, sizeof(v->id));
    vx_strlcpy(v->plan, s->plan, sizeof(v->plan));
    vx_strlcpy(v->status, vx_sub_status_name(s->status), sizeof(v->status));
    v->in_flight = vx_sub_in_flight(s);
    v->amount = s->amount;
    memcpy(v->currency, s->currency, sizeof(v->currency));
    vx_strlcpy(v->unit, units[s->unit & 3], sizeof(v->unit));
    v->count = s->count;
    v->cycle = s->cycle;
    v->anchor = s->anchor;
    /* the calendar from the anchor alone: no time zone needed for the dates */
    if (vx_cal_cycle(s->anchor, s->unit, s->count, s->cycle - 1, &v->next) != 0 ||
        vx_cal_cycle(s->anchor, s->unit, s->count, s->cycle, &v->after) != 0)
        v->next = v->after = s->anchor;
}

/* The index answered, then each document in turn; canceled ones are not kept. */
int fsm_subs_done(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = fsm_op_outcome(ft, e);
    if (!ft->sub_ids) {
        if (rc == VX_ENOTFOUND)
            rc = 0;
        if (rc == 0) {
            ft->sub_ids = ft->op.ids;
            ft->n_sub_ids = ft->op.n_ids;
            ft->op.ids = NULL;
            ft->op.n_ids = 0;
            if (!ft->sub_ids) { /* none: an empty list still says the index was read */
                ft->sub_ids = calloc(1, sizeof(char *));
                if (!ft->sub_ids)
                    rc = vx_err_set(e, VX_ENOMEM, "out of memory");
            }
        }
    } else if (rc == 0) {
        struct vx_sub *s = &ft->subs[ft->nsubs];
        if (vx_sub_parse(ft->op.json, s) == 0 && s->status != VX_SS_CANCELED) {
            vx_strlcpy(s->skill, ft->req->application_id, sizeof(s->skill));
            vx_strlcpy(s->user, ft->req->user_id, sizeof(s->user));
            view_of(s, &ft->sub_views[ft->nsubs]);
            ft->nsubs++;
        }
    } else if (rc == VX_ENOTFOUND) {
        rc = 0; /* in the index before its document is written: not there yet */
    }
    vx_store_op_release(&ft->op);
    if (rc)
        return rc;
    if (ft->sub_at < ft->n_sub_ids && ft->nsubs < VX_SUBS_MAX) {
        ft->send = vx_store_op_sub_get(&ft->op, ft->req->application_id, ft->req->user_id,
                                       ft->sub_ids[ft->sub_at++]);
        return 1;
    }
    ft->d.subs = ft->sub_views;
    ft->d.nsubs = ft->nsubs;
    return 0;
}

/* The saved permission charges a subscription: chargeable, and of the shop's environment. */
static const char *recurring_permission(const struct vx_fsm_turn *ft)
{
    const struct vx_profile *p = &ft->t.prof;
    return p->permission[0] && strcmp(p->permission_status, "Chargeable") == 0 &&
                   p->permission_live == ft->d.cat->production
               ? p->permission
               : "";
}

static int sub_create(struct vx_fsm_turn *ft, struct vx_err *e)
{
    struct turn *t = &ft->t;
    const struct vx_catalog *cat = ft->d.cat;
    const struct vx_cat_plan *pl = vx_catalog_plan(cat, t->subscribe);
    const struct vx_tz *tz;
    struct vx_sub *s = &ft->sub;
    struct vx_buf b;
    int rc = 0;

    if (!pl)
        return vx_err_set(e, VX_EINVAL, "no plan '%s' to subscribe to", t->subscribe);
    tz = vx_tz_shared(cat->time_zone ? cat->time_zone : "UTC", e);
    if (!tz)
        return VX_EINVAL;
    memset(s, 0, sizeof(*s));
    vx_strlcpy(s->id, ft->sub_id, sizeof(s->id));
    vx_strlcpy(s->merchant, ft->f->merchant[0] ? ft->f->merchant : cat->merchant_id,
               sizeof(s->merchant));
    vx_strlcpy(s->shop, cat->merchant_id, sizeof(s->shop));
    vx_strlcpy(s->plan, pl->id, sizeof(s->plan));
    vx_strlcpy(s->skill, ft->req->application_id, sizeof(s->skill));
    vx_strlcpy(s->user, ft->req->user_id, sizeof(s->user));
    vx_strlcpy(s->permission, recurring_permission(ft), sizeof(s->permission));
    if (t->prof.voice_code_locked)
        /* three wrong voice codes locked purchases by voice: the provider's approval instead */
        s->permission[0] = '\0';
    s->live = cat->production;
    if (vx_interval_unit_parse(pl->unit, &s->unit) != 0)
        return vx_err_set(e, VX_EINVAL, "plan %s: unit %s", pl->id, pl->unit);
    s->count = pl->count;
    s->amount = pl->amount;
    memcpy(s->currency, cat->currency, sizeof(s->currency));
    vx_strlcpy(s->tz, cat->time_zone ? cat->time_zone : "UTC", sizeof(s->tz));
    s->anchor = vx_civil_from_days(vx_days_from_civil(vx_tz_date(tz, ft->d.now)) + pl->trial_days);
    s->status = pl->trial_days > 0 ? VX_SS_TRIALING : VX_SS_ACTIVE;
    s->cycle = 1;
    if (vx_sub_cycle_due(s, tz, 1, &s->due, NULL) != 0)
        return vx_err_set(e, VX_EINVAL, "plan %s: the first cycle has no date", pl->id);
    ft->sub_json.len = 0;
    if (vx_sub_doc_json(s, ft->d.now, &ft->sub_json) != 0 || !ft->sub_json.data)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_wset_sub_create(&t->wset, s->id, ft->sub_json.data);
    if (ft->order) {
        /* the first cycle is the order this turn records and pays: the biller follows it */
        s->attempt = 1;
        vx_strlcpy(s->key, ft->pay_key, sizeof(s->key));
        s->wait = VX_SW_ORDER;
        s->due = ft->d.now + 2; /* the turn settles it first; the biller reads it then */
        vx_sub_wset_num(&t->wset, s->id, "attempt", 1);
        vx_sub_wset_str(&t->wset, s->id, "attempt_key", s->key[0] ? s->key : NULL);
        vx_sub_wset_str(&t->wset, s->id, "wait", vx_sub_wait_name(VX_SW_ORDER));
        vx_sub_wset_num(&t->wset, s->id, "due", s->due);
    }
    if (!ft->order && !s->permission[0] && pl->trial_days > 0 && fsm_pay_provider(ft)) {
        /* a trial without a permission: the buyer approves the plan's terms on a pay link
         * (nothing is charged); its key is written before the request leaves */
        s->wait = VX_SW_APPROVAL;
        if (vx_sub_approval_key(s->id, 0, s->key, sizeof(s->key)) != 0)
            return vx_err_set(e, VX_EINVAL, "subscription ID %s makes no key", s->id);
        vx_sub_wset_str(&t->wset, s->id, "attempt_key", s->key);
        vx_sub_wset_str(&t->wset, s->id, "wait", vx_sub_wait_name(VX_SW_APPROVAL));
        s->due = ft->d.now + 2;
        vx_sub_wset_num(&t->wset, s->id, "due", s->due);
        ft->sub_link = 1;
    }
    vx_buf_init(&b);
    rc = vx_sub_ledger_json(vx_now_ms(), "customer", "created", s, NULL, NULL, &b);
    if (rc == 0 && b.data)
        vx_wset_ledger(&t->wset, s->id, b.data);
    /* the text lives on in the write set's own copy */
    vx_buf_release(&b);
    ft->sub_made = 1;
    ft->sub_moved = 1;
    ft->sub_event = "subscription.created";
    vx_info("sub", "%s: subscribing to %s as %s (%s, first cycle %04d-%02d-%02d)", ft->req->user_id,
            pl->id, s->id, s->permission[0] ? "saved permission" : "no permission yet", s->anchor.y,
            s->anchor.m, s->anchor.d);
    return rc || t->wset.overflow ? vx_err_set(e, VX_ENOMEM, "out of memory") : 0;
}

static int sub_change(struct vx_fsm_turn *ft, struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_sub *before = NULL;
    struct vx_sub_refusal why;
    const struct vx_tz *tz = NULL;
    const char *event = NULL;
    enum vx_sub_action a = (enum vx_sub_action)t->sub_action;

    for (size_t i = 0; i < ft->nsubs; i++)
        if (strcmp(ft->subs[i].id, t->sub_target) == 0)
            before = &ft->subs[i];
    if (!before)
        return vx_err_set(e, VX_ENOTFOUND, "no subscription %s of %s to change", t->sub_target,
                          ft->req->user_id);
    ft->sub = *before;
    if (a == VX_SA_RESUME || a == VX_SA_SKIP) {
        tz = vx_tz_shared(before->tz[0] ? before->tz : "UTC", e);
        if (!tz)
            return VX_EINVAL;
    }
    if (vx_sub_change(&ft->sub, a, tz, ft->d.now, &event, &why) != 0)
        return vx_err_set(e, VX_EINVAL, "subscription %s: %s", before->id, why.msg);
    if (vx_sub_change_wset(&t->wset, before, &ft->sub, a, "customer", event, &ft->sub_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    ft->sub_moved = a == VX_SA_RESUME || a == VX_SA_SKIP || a == VX_SA_BILL_NOW;
    ft->sub_event = event;
    vx_info("sub", "%s: %s by the customer", before->id, event);
    return 0;
}

int fsm_sub_writes(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = 0;
    ft->sub_made = ft->sub_moved = ft->sub_link = 0;
    ft->sub_event = NULL;
    if (ft->t.subscribe[0])
        rc = sub_create(ft, e);
    else if (ft->t.sub_action >= 0 && ft->t.sub_target[0])
        rc = sub_change(ft, e);
    if (rc == 0 && ft->sub_moved &&
        vx_pay_bucket_member(ft->sub.skill, ft->sub.user, ft->sub.id, ft->sub_member,
                             sizeof(ft->sub_member)) != 0)
        rc = vx_err_set(e, VX_EINVAL, "customer or subscription ID cannot name a schedule entry");
    return rc;
}

/* After the schedule member (if any): the janitor's entry of a paying turn, or the write set. */
int fsm_write_next(struct vx_fsm_turn *ft, struct vx_store_op **op)
{
    if (ft->paying && !ft->d.cat->platform) /* the janitor's entry first: never lost */
        /* due once this turn's own settling is surely over */
        return fsm_need(ft,
                        vx_store_op_zadd(&ft->op, ft->bucket, ft->member,
                                         vx_now() + ft->f->pay_budget_ms / 1000 + 2),
                        PH_MARKED, op);
    return fsm_need(ft, vx_store_op_write(&ft->op, &ft->t.wset), PH_SAVED, op);
}

int fsm_phase_sub_marked(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    int rc = fsm_op_outcome(ft, e);
    vx_store_op_release(&ft->op);
    if (rc)
        return rc;
    return fsm_write_next(ft, op);
}

/*
 * The trial's pay link: a Recurring checkout session with the plan's terms that only asks the
 * buyer to approve them (payment intent Confirm: nothing is charged). The subscription is
 * written already (waiting for the approval, with the session's key); the biller completes the
 * session once the buyer approved it and takes the permission for the first charge after the
 * trial.
 */
int fsm_sub_link_start(struct vx_fsm_turn *ft, struct vx_http_op **hop)
{
    struct vx_provider_session_req r = {0};
    static const char *const units[] = {"Day", "Week", "Month", "Year"};
    struct vx_provider *prov = fsm_pay_provider(ft);
    const struct vx_sub *s = &ft->sub;
    r.permission_type = "Recurring";
    r.frequency_unit = units[s->unit & 3];
    r.frequency_value = s->count;
    r.recurring_amount = s->amount;
    r.payment_intent = "Confirm";
    r.amount = 0;
    r.currency = s->currency;
    r.merchant_reference_id = s->id;
    r.store_name = vx_catalog_store_name(ft->d.cat);
    memset(&ft->pop, 0, sizeof(ft->pop));
    ft->sub_link = 2; /* pop is ours to release */
    return fsm_pay_send(ft, prov && vx_provider_op_session_create(&ft->pop, prov, s->key, &r),
                        PH_SUB_LINK, hop);
}

int fsm_phase_sub_link(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    struct turn *t = &ft->t;
    const struct vx_provider_result *r = &ft->pop.res;
    int ok;
    struct vx_buf b;

    if (vx_provider_op_complete(&ft->pop))
        vx_provider_op_give_up(&ft->pop); /* no time left in this turn for a resend */
    ok = ft->pop.outcome == VX_PROVIDER_SUCCESS && r->redirect_url[0] && r->checkout_session_id[0];
    if (ok)
        vx_info("sub", "%s: pay link %s for the trial's terms", ft->sub.id, r->checkout_session_id);
    else
        vx_warn("sub", "%s: no pay link for the trial (%s: %s); the biller asks again", ft->sub.id,
                vx_provider_outcome_name(ft->pop.outcome), ft->pop.err.msg);
    /* the payment cell speaks it, as for an order's pay link (the card links to the provider) */
    vx_strlcpy(ft->paid_order.id, ft->sub.id, sizeof(ft->paid_order.id));
    ft->paid_order.total = ft->sub.amount;
    memcpy(ft->paid_order.currency, ft->sub.currency, sizeof(ft->paid_order.currency));
    ft->paid_order.n = 0;
    ft->link_direct = 1;
    ft->pay_attempt = 1;
    fsm_pay_speak(ft, ok ? VX_PAY_LINK : VX_PAY_FAILED, r);
    if (ft->f->skill->state_json(&t->next, &t->state_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_wset_release(&t->wset);
    vx_wset_init(&t->wset, ft->req->application_id, ft->req->user_id);
    vx_wset_conv(&t->wset, ft->tag, t->state_json.data, ft->f->ttl);
    if (ok) {
        vx_sub_wset_str(&t->wset, ft->sub.id, "checkout_session_id", r->checkout_session_id);
    } else {
        /* no link the customer could approve: the trial is not started (the customer hears so) */
        struct vx_sub c = ft->sub;
        c.status = VX_SS_CANCELED;
        vx_sub_wset_fence(&t->wset, &ft->sub);
        vx_sub_wset_str(&t->wset, c.id, "status", vx_sub_status_name(c.status));
        vx_sub_wset_str(&t->wset, c.id, "wait", vx_sub_wait_name(VX_SW_NONE));
        vx_sub_wset_str(&t->wset, c.id, "attempt_key", NULL);
        vx_sub_wset_str(&t->wset, c.id, "reason", "no_pay_link");
        vx_buf_init(&b);
        if (vx_sub_ledger_json(vx_now_ms(), "voxcart", "canceled", &c, NULL, "no_pay_link", &b) ==
                0 &&
            b.data)
            vx_wset_ledger(&t->wset, c.id, b.data);
        vx_buf_release(&b);
    }
    vx_provider_op_release(&ft->pop);
    ft->sub_link = 1;
    return fsm_need(ft, vx_store_op_write(&ft->op, &t->wset), PH_SUB_LINKED, op);
}

int fsm_phase_sub_linked(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = fsm_op_outcome(ft, NULL);
    (void)e;
    if (rc)
        /* the biller finds the session by its key, which the subscription holds */
        vx_warn("sub", "%s: the pay link is not recorded with the conversation (%s)", ft->sub.id,
                vx_strerror(rc));
    vx_store_op_release(&ft->op);
    ft->phase = PH_RENDER;
    return 0;
}
