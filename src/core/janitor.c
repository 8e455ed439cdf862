/*
 * The payment janitor (janitor.h): one pass settles what is due.
 */
#include "voxcart/janitor.h"

#include "voxcart/ledger.h"
#include "voxcart/log.h"
#include "voxcart/pay.h"
#include "voxcart/store.h"
#include "voxcart/wset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The saved permission of a customer's profile ("" when none). */
static void profile_permission(const char *skill, const char *user, char *out, size_t n)
{
    struct vx_store_op op;
    if (vx_store_op_load(&op, skill, user))
        vx_store_op_run(&op);
    vx_pay_agreement_id(op.rc == 0 ? op.conv.profile : NULL, out, n);
    vx_store_op_release(&op);
}

/* Records the outcome: 0, or an error (the order stays due). */
/* hard: the outcome is a hard decline (vx_pay_hard) of the permission charged, which is then
 * marked NonChargeable in the profile; save_permission (a pay link's, just approved) is saved
 * as the customer's, chargeable unless that very charge was a hard decline. */
static int settle(const char *skill, const char *user, const char *id, const struct vx_pay_order *o,
                  enum vx_order_state to, const struct vx_provider_result *r,
                  const char *save_permission, int hard)
{
    char charged[64] = "";
    struct vx_wset w;
    struct vx_store_op op;
    struct vx_pay_settle s;
    struct vx_buf b;
    int rc = 0;

    vx_wset_init(&w, skill, user);
    vx_buf_init(&b);
    memset(&s, 0, sizeof(s));
    s.order_id = id;
    s.to = to;
    s.res = r;
    s.amount = o->total;
    s.currency = o->currency;
    s.attempt = o->attempt;
    s.actor = "janitor";
    s.at_ms = vx_now_ms();
    s.live = o->live;
    s.hard = hard;
    if (hard && save_permission)
        vx_strlcpy(charged, save_permission, sizeof(charged));
    else if (hard)
        profile_permission(skill, user, charged, sizeof(charged));
    if (save_permission && !hard) {
        /* the buyer approved the pay link: from now on yes charges at once */
        rc = vx_pay_profile_json(save_permission, "Chargeable", o->live, &b);
        if (rc == 0)
            vx_wset_profile_set(&w, "billing_agreement", b.data);
    }
    if (rc == 0)
        rc = vx_pay_settle_wset(&w, &s, charged[0] ? charged : NULL);
    if (rc == 0) {
        if (vx_store_op_write(&op, &w))
            vx_store_op_run(&op);
        rc = op.rc;
        vx_store_op_release(&op);
    }
    vx_buf_release(&b);
    vx_wset_release(&w);
    if (rc == VX_ECONFLICT) {
        vx_info("janitor", "order %s was settled by someone else first", id);
        return 0;
    }
    return rc;
}

/* Tells told what a stored order came to, when it is settled and says when. */
static void tell_stored(const char *skill, const char *user, const char *id,
                        const struct vx_pay_order *o, vx_janitor_told_fn told, void *arg)
{
    struct vx_pay_outcome oc;
    if (!told || !o->settled_at_ms || !vx_pay_outcome_event(o->state, &oc.state))
        return;
    oc.skill = skill;
    oc.user = user;
    oc.order_id = id;
    oc.attempt = o->attempt;
    oc.total = o->total;
    oc.currency = o->currency;
    oc.charge_id = o->charge_id;
    oc.reason = o->reason;
    oc.created = o->created;
    oc.settled_at_ms = o->settled_at_ms;
    told(&oc, arg);
}

/* The same for the order as stored now, once the pass settled it (or someone else did first):
 * the outcome as written, with its settled_at. */
static void tell_reread(const char *skill, const char *user, const char *id,
                        vx_janitor_told_fn told, void *arg)
{
    struct vx_store_op sop;
    struct vx_pay_order o;
    if (!told)
        return;
    if (vx_store_op_order_get(&sop, skill, user, id))
        vx_store_op_run(&sop);
    if (sop.rc == 0 && vx_pay_order_parse(sop.json, &o) == 0)
        tell_stored(skill, user, id, &o, told, arg);
    vx_store_op_release(&sop);
}

/* Runs one provider call blocking; the op is complete afterwards. */
static void run(struct vx_provider_op *op, int send)
{
    if (send)
        vx_provider_run(op);
}

/* One due order: 1 settled (leaves the schedule), 0 look again later, < 0 failed. */
static int one(struct vx_provider *sandbox, struct vx_provider *live, const char *store_name,
               const char *skill, const char *user, const char *id, vx_janitor_approved_fn approved,
               vx_janitor_told_fn told, void *arg)
{
    struct vx_provider *p;
    struct vx_store_op sop;
    struct vx_provider_op op;
    struct vx_pay_order o;
    enum vx_order_state to;
    enum vx_pay_kind kind;
    char perm[64] = "";
    int rc;

    if (vx_store_op_order_get(&sop, skill, user, id))
        vx_store_op_run(&sop);
    rc = sop.rc;
    if (rc == 0 && vx_pay_order_parse(sop.json, &o) != 0)
        rc = VX_EPARSE;
    vx_store_op_release(&sop);
    if (rc == 0 && strcmp(o.state, "CHARGE_PENDING") != 0) {
        /* settled already: told again, in case whoever settled it died before telling */
        tell_stored(skill, user, id, &o, told, arg);
        return 1;
    }
    if (rc == VX_ENOTFOUND)
        return 1; /* the turn that scheduled it never wrote it */
    if (rc)
        return rc;
    p = o.live ? live : sandbox;
    if (!p) {
        vx_error("janitor", "order %s is of a production shop but provider.live_url is not set",
                 id);
        return VX_ECONFIG;
    }

    memset(&op, 0, sizeof(op));
    if (o.session_id[0]) {
        char key[VX_PROVIDER_KEY_MAX + 1];
        run(&op, vx_provider_op_session_get(&op, p, o.session_id));
        if (op.outcome != VX_PROVIDER_SUCCESS) {
            vx_provider_op_release(&op);
            return 0;
        }
        if (strcmp(op.res.state, "Canceled") == 0) {
            vx_info("janitor", "order %s: the pay link was %s: canceled", id,
                    op.res.reason_code[0] ? op.res.reason_code : "canceled");
            rc = settle(skill, user, id, &o, VX_OS_CANCELED, &op.res, NULL, 0);
            if (rc == 0)
                tell_reread(skill, user, id, told, arg);
            vx_provider_op_release(&op);
            return rc ? rc : 1;
        }
        if (!op.res.charge_permission_id[0]) { /* not approved yet */
            vx_provider_op_release(&op);
            return 0;
        }
        vx_strlcpy(perm, op.res.charge_permission_id, sizeof(perm));
        vx_provider_op_release(&op);
        if (vx_snprintf(key, sizeof(key), "%s-c", id) != 0)
            return VX_EINVAL;
        run(&op, vx_provider_op_session_complete(&op, p, key, o.session_id, o.total, o.currency));
        if (op.outcome != VX_PROVIDER_SUCCESS && !op.res.charge_id[0]) {
            vx_warn("janitor", "order %s: completing its checkout session: %s", id, op.err.msg);
            vx_provider_op_release(&op);
            return 0;
        }
        vx_strlcpy(o.charge_id, op.res.charge_id, sizeof(o.charge_id));
        vx_provider_op_release(&op);
        memset(&op, 0, sizeof(op));
        if (!o.charge_id[0]) {
            vx_warn("janitor", "order %s: its completed session names no charge", id);
            return 0;
        }
    }
    if (o.charge_id[0]) {
        run(&op, vx_provider_op_charge_get(&op, p, o.charge_id));
    } else {
        struct vx_provider_charge_req r;
        profile_permission(skill, user, perm, sizeof(perm));
        if (!perm[0] || !o.pay_key[0]) {
            vx_warn("janitor", "order %s: no permission or key to ask with", id);
            return VX_EINVAL;
        }
        vx_pay_charge_req(&r, perm, id, o.total, o.currency, store_name);
        run(&op, vx_provider_op_charge_create(&op, p, o.pay_key, &r));
        perm[0] = '\0'; /* the permission was saved already: nothing to save */
    }
    vx_pay_judge(op.outcome, &op.res, &to, &kind);
    if (op.outcome == VX_PROVIDER_RETRYABLE || op.outcome == VX_PROVIDER_UNKNOWN)
        vx_warn("janitor", "order %s: %s", id, op.err.msg);
    if (to == VX_OS_CHARGE_PENDING) {
        vx_provider_op_release(&op);
        return 0;
    }
    vx_info("janitor", "order %s: %s (%s)", id, vx_order_state_name(to),
            op.res.charge_id[0] ? op.res.charge_id : op.res.reason_code);
    rc = settle(skill, user, id, &o, to, &op.res, perm[0] ? perm : NULL,
                vx_pay_hard(op.outcome, o.total, o.currency));
    if (rc == 0)
        tell_reread(skill, user, id, told, arg);
    vx_provider_op_release(&op);
    if (rc == 0 && perm[0] && o.session_id[0] && approved) {
        struct vx_janitor_approval a = {skill, user, id, o.session_id, to};
        approved(&a, arg);
    }
    return rc ? rc : 1;
}

int vx_janitor_pass(struct vx_provider *p, struct vx_provider *live, const char *store_name,
                    int64_t now, int retry_s, vx_janitor_approved_fn approved,
                    vx_janitor_told_fn told, void *arg, struct vx_janitor_stats *st)
{
    struct vx_err e;
    memset(st, 0, sizeof(*st));
    for (int b = 0; b < VX_PAY_BUCKETS; b++) {
        char key[64], **due = NULL;
        size_t n = 0;
        vx_pay_bucket_name((unsigned)b, key, sizeof(key));
        vx_err_clear(&e);
        if (vx_store_sched_due(key, now, 50, &due, &n, &e) != 0) {
            vx_warn("janitor", "cannot read %s: %s", key, e.msg);
            return VX_ESTORE;
        }
        for (size_t i = 0; i < n; i++) {
            char skill[256], user[256], id[64];
            int rc;
            st->seen++;
            if (vx_pay_bucket_parse(due[i], skill, sizeof(skill), user, sizeof(user), id,
                                    sizeof(id)) != 0) {
                vx_store_sched_set(key, due[i], -1, &e);
                continue;
            }
            rc = one(p, live, store_name, skill, user, id, approved, told, arg);
            if (rc == 1)
                st->settled++;
            else if (rc == 0)
                st->waiting++;
            else
                st->failed++;
            vx_err_clear(&e);
            vx_store_sched_set(key, due[i], rc == 1 ? -1 : now + retry_s, &e);
        }
        vx_store_strings_free(due, n);
    }
    return 0;
}
