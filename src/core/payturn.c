/*
 * Paying within a turn (DESIGN section 6; the README's "Paying by voice"): the
 * order recorded CHARGE_PENDING with its attempt's key and the janitor's entry,
 * the provider's request within the turn's budget, and the write that records
 * what it came to; the skill's payment cell speaks it. The turn's other phases
 * are in fsm.c.
 */
#include "engine.h"

#include "voxcart/log.h"
#include "voxcart/pay.h"
#include "voxcart/response.h"

#include <string.h>

/*
 * The order this turn records, into its write set: created (with its index
 * entry) and its first ledger entry. When it is to be paid, it is created
 * CHARGE_PENDING with its first attempt's idempotency key, so the key is
 * stored before the request leaves and a retry finds it.
 */
int fsm_order_writes(struct vx_fsm_turn *ft, struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_fsm *f = ft->f;
    struct vx_order o = *ft->order;
    int64_t at = vx_now_ms();
    int rc;

    /* the provider's rail needs its client; the platform's rail only that payments are on */
    ft->paying = t->pay && (ft->d.cat->platform ? f->payments : f->provider != NULL);
    ft->pay_attempt = 1;
    if (ft->paying) {
        if (vx_pay_key(o.id, 1, ft->pay_key, sizeof(ft->pay_key)) != 0)
            return vx_err_set(e, VX_EINVAL, "order ID %s makes no idempotency key", o.id);
        o.state = vx_order_state_name(VX_OS_CHARGE_PENDING);
        ft->paid_order = *ft->order;
        vx_pay_bucket_key(o.id, ft->bucket, sizeof(ft->bucket));
        if (vx_pay_bucket_member(ft->req->application_id, ft->req->user_id, o.id, ft->member,
                                 sizeof(ft->member)) != 0)
            return vx_err_set(e, VX_EINVAL, "customer or order ID cannot name a pending order");
    }
    if (f->skill->order_json(&o, ft->d.cat->merchant_id, &t->order_json) != 0 ||
        vx_ledger_entry_json(at, "customer", NULL, ft->order->state, o.total, o.currency, 0, NULL,
                             &t->ledger_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_wset_order_create(&t->wset, o.id, t->order_json.data);
    vx_wset_ledger(&t->wset, o.id, t->ledger_json.data);
    if (!ft->paying)
        return 0;
    t->ledger_json.len = 0;
    rc = vx_ledger_entry_json(at, "customer", ft->order->state, o.state, o.total, o.currency, 1,
                              ft->pay_key, &t->ledger_json);
    if (rc)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_wset_ledger(&t->wset, o.id, t->ledger_json.data);
    t->order_json.len = 0;
    if (vx_buf_appendf(&t->order_json, "\"%s\"", ft->pay_key) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_wset_order_set(&t->wset, o.id, "pay_key", t->order_json.data);
    vx_wset_order_set(&t->wset, o.id, "attempt", "1");
    if (ft->d.cat->production) /* its charges go to the live endpoints */
        vx_wset_order_set(&t->wset, o.id, "environment", "\"production\"");
    /* guard: an attempt key is used once; a second run of this request finds it */
    vx_wset_idem(&t->wset, ft->pay_key, o.id, 0);
    return 0;
}

int fsm_retry_start(struct vx_fsm_turn *ft, struct vx_store_op **op)
{
    vx_strlcpy(ft->paid_order.id, ft->t.st.pay_retry, sizeof(ft->paid_order.id));
    return fsm_need(ft,
                    vx_store_op_order_get(&ft->op, ft->req->application_id, ft->req->user_id,
                                          ft->paid_order.id),
                    PH_RETRY, op);
}

/*
 * One more try of a soft-declined order, with a new attempt and a new key: the
 * order moves DECLINED -> CHARGE_PENDING in the turn's write set, with the key,
 * the attempt number, a ledger entry and the key's idempotency record, before
 * the request leaves.
 */
int fsm_phase_retry(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_order *o = &ft->paid_order;
    struct vx_pay_order po;
    char num[16];
    int rc = fsm_op_outcome(ft, e);

    if (rc == 0 && vx_pay_order_parse(ft->op.json, &po) != 0)
        rc = vx_err_set(e, VX_EPARSE, "order %s cannot be read", o->id);
    vx_store_op_release(&ft->op);
    if (rc == VX_ENOTFOUND)
        rc = vx_err_set(e, VX_ENOTFOUND, "order %s to pay again is not there", o->id);
    if (rc)
        return rc;
    if (strcmp(po.state, "DECLINED") != 0 || po.attempt >= 2)
        return vx_err_set(e, VX_EINVAL, "order %s is %s after attempt %d: not tried again", o->id,
                          po.state, po.attempt);
    ft->paying = 1;
    ft->pay_attempt = po.attempt + 1;
    o->n = po.n < VX_CART_MAX ? po.n : VX_CART_MAX;
    memcpy(o->lines, po.lines, o->n * sizeof(o->lines[0]));
    o->total = po.total;
    o->created = po.created;
    memcpy(o->currency, po.currency, sizeof(o->currency));
    if (vx_pay_key(o->id, ft->pay_attempt, ft->pay_key, sizeof(ft->pay_key)) != 0)
        return vx_err_set(e, VX_EINVAL, "order ID %s makes no idempotency key", o->id);
    vx_pay_bucket_key(o->id, ft->bucket, sizeof(ft->bucket));
    if (vx_pay_bucket_member(ft->req->application_id, ft->req->user_id, o->id, ft->member,
                             sizeof(ft->member)) != 0)
        return vx_err_set(e, VX_EINVAL, "customer or order ID cannot name a pending order");
    vx_wset_order_cas(&t->wset, o->id, "DECLINED", "CHARGE_PENDING");
    t->ledger_json.len = 0;
    t->order_json.len = 0;
    snprintf(num, sizeof(num), "%d", ft->pay_attempt);
    if (vx_ledger_entry_json(vx_now_ms(), "customer", "DECLINED", "CHARGE_PENDING", o->total,
                             o->currency, ft->pay_attempt, ft->pay_key, &t->ledger_json) != 0 ||
        vx_buf_appendf(&t->order_json, "\"%s\"", ft->pay_key) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_wset_ledger(&t->wset, o->id, t->ledger_json.data);
    vx_wset_order_set(&t->wset, o->id, "pay_key", t->order_json.data);
    vx_wset_order_set(&t->wset, o->id, "attempt", num);
    vx_wset_idem(&t->wset, ft->pay_key, o->id, 0);
    if (ft->d.cat->platform) /* the platform answers; there is nothing for the janitor to ask */
        return fsm_need(ft, vx_store_op_write(&ft->op, &t->wset), PH_SAVED, op);
    return fsm_need(ft,
                    vx_store_op_zadd(&ft->op, ft->bucket, ft->member,
                                     vx_now() + ft->f->pay_budget_ms / 1000 + 2),
                    PH_MARKED, op);
}

int fsm_phase_marked(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    int rc = fsm_op_outcome(ft, e);
    vx_store_op_release(&ft->op);
    if (rc)
        return rc;
    return fsm_need(ft, vx_store_op_write(&ft->op, &ft->t.wset), PH_SAVED, op);
}

static int settle_writes(struct vx_fsm_turn *ft, int with_conv, struct vx_store_op **op,
                         struct vx_err *e);

/* The outcome s records, kept for the merchant's event once the write lands. */
static void told_mark(struct vx_fsm_turn *ft, const struct vx_pay_settle *s)
{
    ft->told = 0;
    if (s->to == VX_OS_CHARGE_PENDING)
        return;
    ft->told = 1;
    ft->told_to = s->to;
    ft->told_at_ms = s->at_ms;
    vx_strlcpy(ft->told_charge, s->res ? s->res->charge_id : "", sizeof(ft->told_charge));
    vx_strlcpy(ft->told_reason, s->res ? s->res->reason_code : "", sizeof(ft->told_reason));
}

/* What settling the turn's order records: its outcome `to`, learnt by actor. */
static void settle_of(const struct vx_fsm_turn *ft, enum vx_order_state to,
                      const struct vx_provider_result *r, const char *actor,
                      struct vx_pay_settle *s)
{
    memset(s, 0, sizeof(*s));
    s->order_id = ft->paid_order.id;
    s->to = to;
    s->res = r;
    s->amount = ft->paid_order.total;
    s->currency = ft->paid_order.currency;
    s->attempt = ft->pay_attempt;
    s->actor = actor;
    s->at_ms = vx_now_ms();
    s->live = ft->d.cat->production;
    s->hard = ft->pay_hard;
    s->permission_state = ft->perm_state[0] ? ft->perm_state : NULL;
}

/*
 * The link a pay link's card carries: with the pay-link page configured, voxcartd's own
 * page, where the customer may set the voice code before going on to the provider's page
 * (the order's "pay_url"); else the provider's page itself. A link that cannot be made
 * falls back to the provider's page: the customer can still pay, only not set a code.
 */
static const char *pay_page_link(struct vx_fsm_turn *ft, const char *provider_url)
{
    const struct vx_fsm *f = ft->f;
    struct vx_buf b;
    int rc;
    if (!f->pay_page_url[0] || ft->link_direct)
        return provider_url;
    vx_buf_init(&b);
    rc = vx_paylink_url(f->pay_page_url, f->pay_page_secret, f->pay_page_secret_len,
                        ft->req->application_id, ft->req->user_id, ft->paid_order.id, &b);
    if (rc == 0 && b.len < sizeof(ft->pay_link))
        memcpy(ft->pay_link, b.data, b.len + 1);
    else
        vx_warn("pay",
                "order %s: no link to the pay-link page (%s): the card links to the "
                "provider's page",
                ft->paid_order.id, rc ? vx_strerror(rc) : "too long");
    vx_buf_release(&b);
    return rc == 0 && b.len < sizeof(ft->pay_link) ? ft->pay_link : provider_url;
}

/* The skill's payment cell speaks what paying came to, from the state the first write left. */
void fsm_pay_speak(struct vx_fsm_turn *ft, enum vx_pay_kind kind,
                   const struct vx_provider_result *r)
{
    struct turn *t = &ft->t;
    struct vx_fsm *f = ft->f;
    ft->pay.kind = kind;
    ft->pay.order_id = ft->paid_order.id;
    ft->pay.amount = ft->paid_order.total;
    ft->pay.currency = ft->paid_order.currency;
    ft->pay.reason = r ? r->reason_code : "";
    ft->pay.link = kind == VX_PAY_LINK && r ? pay_page_link(ft, r->redirect_url) : NULL;
    ft->pay.attempt = ft->pay_attempt;
    ft->pay.order = &ft->paid_order;

    /* the skill speaks it, from the state the first write left */
    t->st = t->next;
    fsm_turn_reset(t);
    ft->d.ev = f->skill->ev_paid;
    ft->d.pay = &ft->pay;
    vx_fsm_run(&ft->d, &t->cmds);
    vx_interpret(&ft->d, t, &ft->order, &ft->cf);
}

/* A pay link is needed unless the customer's saved agreement is chargeable, or was marked
 * not chargeable after a hard decline (the turn asks the provider whether the buyer fixed
 * it), and was made in the environment the shop charges in. */
static int needs_link(const struct vx_fsm_turn *ft)
{
    const struct vx_profile *p = &ft->t.prof;
    /* a subscription made without the saved permission (none, or voice purchases locked) is
     * approved on the provider's page */
    if (ft->sub_made && !ft->sub.permission[0])
        return 1;
    /* three wrong voice codes lock purchases by voice: the provider's approval instead */
    return !(p->permission[0] &&
             (strcmp(p->permission_status, "Chargeable") == 0 ||
              strcmp(p->permission_status, "NonChargeable") == 0) &&
             p->permission_live == ft->d.cat->production && !p->voice_code_locked);
}

/* The rest of the turn's budget for the provider, from the first request of the turn. */
static int budget_left_ms(struct vx_fsm_turn *ft)
{
    int64_t now = vx_now_ms();
    if (!ft->pay_deadline_ms)
        ft->pay_deadline_ms = now + ft->f->pay_budget_ms;
    return ft->pay_deadline_ms > now ? (int)(ft->pay_deadline_ms - now) : 0;
}

/* Sends ft->pop within what is left of the budget (2 with *hop), or 0 when it is complete
 * already (refused before anything was sent). */
static int pay_send(struct vx_fsm_turn *ft, int send, int budget_ms, enum phase next,
                    struct vx_http_op **hop)
{
    ft->phase = next;
    if (!send)
        return 0;
    /* one attempt within the turn's budget; the janitor settles what it leaves open */
    ft->pop.http.timeout_ms = budget_ms;
    if (ft->pop.http.connect_timeout_ms == 0 || ft->pop.http.connect_timeout_ms > budget_ms)
        ft->pop.http.connect_timeout_ms = budget_ms;
    *hop = &ft->pop.http;
    return 2;
}

/*
 * The order and its attempt's key are recorded: in a sandbox shop with a simulation code
 * armed for its next charge, that code is taken first (read and removed at once, so one
 * charge has it), then the request leaves.
 */
int fsm_pay_send(struct vx_fsm_turn *ft, int send, enum phase next, struct vx_http_op **hop)
{
    return pay_send(ft, send, budget_left_ms(ft), next, hop);
}

/* The endpoints of the shop's environment: the sandbox's, or the live ones in production (NULL:
 * production without provider.live_url). */
struct vx_provider *fsm_pay_provider(const struct vx_fsm_turn *ft)
{
    return ft->d.cat->production ? ft->f->live : ft->f->provider;
}

int fsm_pay_begin(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_http_op **hop)
{
    const struct vx_catalog *cat = ft->d.cat;
    ft->simulation[0] = '\0';
    if (cat->platform) {
        struct vx_err e;
        vx_err_clear(&e);
        if (fsm_platform_send(ft, &e) != 0)
            vx_error("pay", "order %s: no directive for the platform: %s", ft->paid_order.id,
                     e.msg);
        ft->phase = PH_RENDER;
        return 0;
    }
    if (cat->simulation && !cat->production && ft->f->merchant[0] && !needs_link(ft))
        return fsm_need(ft,
                        vx_store_op_mdoc_take(&ft->op, ft->f->merchant, "simulations",
                                              cat->merchant_id, cat->merchant_id),
                        PH_SIMULATION, op);
    return fsm_pay_start(ft, hop);
}

int fsm_phase_simulation(struct vx_fsm_turn *ft, struct vx_http_op **hop)
{
    struct vx_jdoc d;
    if (ft->op.rc == 0 && vx_jdoc_parse(&d, ft->op.json, ft->op.json_len, NULL) == 0) {
        const char *code = vx_jget_str(&d, vx_jroot(&d), "code");
        vx_strlcpy(ft->simulation, code ? code : "", sizeof(ft->simulation));
        vx_jdoc_free(&d);
    } else if (ft->op.rc != VX_ENOTFOUND) {
        vx_warn("pay", "order %s: the simulation code cannot be read (charging without): %s",
                ft->paid_order.id, ft->op.err.msg);
    }
    vx_store_op_release(&ft->op);
    return fsm_pay_start(ft, hop);
}

/* The request that pays: Create Charge on the saved agreement, else a checkout session. */
int fsm_pay_start(struct vx_fsm_turn *ft, struct vx_http_op **hop)
{
    const struct vx_order *o = &ft->paid_order;
    const struct vx_profile *p = &ft->t.prof;
    struct vx_provider *prov = fsm_pay_provider(ft);
    int send;
    if (!prov)
        vx_error("pay",
                 "order %s: shop %s is in production but provider.live_url is not set: "
                 "not charged",
                 o->id, ft->d.cat->merchant_id);
    int budget = budget_left_ms(ft);
    ft->link = needs_link(ft);
    if (!ft->link && strcmp(p->permission_status, "NonChargeable") == 0) {
        /* no charge on it until the provider reports it chargeable again: ask first */
        return pay_send(ft, vx_provider_op_permission_get(&ft->pop, prov, p->permission), budget,
                        PH_PERMISSION, hop);
    }
    if (!ft->link) {
        struct vx_provider_charge_req r;
        vx_pay_charge_req(&r, p->permission, o->id, o->total, o->currency,
                          vx_catalog_store_name(ft->d.cat));
        send = vx_provider_op_charge_create(&ft->pop, prov, ft->pay_key, &r);
        if (send && ft->simulation[0]) {
            vx_info("pay", "order %s: the sandbox is asked to simulate %s", o->id, ft->simulation);
            send = vx_provider_op_simulate(&ft->pop, ft->simulation);
        }
    } else {
        struct vx_provider_session_req r = {0};
        r.permission_type = "Recurring";
        r.frequency_unit = "Variable"; /* charged whenever the customer says yes */
        r.frequency_value = 1;
        if (ft->sub_made) {
            /* a subscription's first cycle: the buyer approves the plan's own terms */
            static const char *const units[] = {"Day", "Week", "Month", "Year"};
            r.frequency_unit = units[ft->sub.unit & 3];
            r.frequency_value = ft->sub.count;
            r.recurring_amount = ft->sub.amount;
        }
        r.payment_intent = "AuthorizeWithCapture";
        r.amount = o->total;
        r.currency = o->currency;
        r.merchant_reference_id = o->id;
        r.store_name = vx_catalog_store_name(ft->d.cat);
        send = vx_provider_op_session_create(&ft->pop, prov, ft->pay_key, &r);
    }
    return pay_send(ft, send, budget, PH_PAY, hop);
}

static int pay_settle(struct vx_fsm_turn *ft, enum vx_pay_kind kind, struct vx_store_op **op,
                      struct vx_err *e);

/*
 * The saved permission was marked NonChargeable by a hard decline; the provider now says
 * what it is. Chargeable again (the buyer fixed the payment method): marked so and charged
 * in this turn, within what is left of the budget. Closed: a pay link, for a new one.
 * Still NonChargeable: nothing is charged, and the customer is told again how to fix it
 * (the order DECLINED with the provider's reason). Not known (no answer in time): nothing
 * is charged either, the order FAILED; the next yes asks again.
 */
int fsm_phase_permission(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_http_op **hop,
                         struct vx_err *e)
{
    struct vx_profile *p = &ft->t.prof;
    const struct vx_provider_result *r = &ft->pop.res;
    int chargeable, closed;

    if (vx_provider_op_complete(&ft->pop))
        vx_provider_op_give_up(&ft->pop); /* no time left in this turn for a resend */
    chargeable = ft->pop.outcome == VX_PROVIDER_SUCCESS && strcmp(r->state, "Chargeable") == 0;
    closed = ft->pop.outcome == VX_PROVIDER_SUCCESS && strcmp(r->state, "Closed") == 0;
    if (chargeable || closed) {
        vx_info("pay", "order %s: the saved permission %s is %s at the provider now",
                ft->paid_order.id, p->permission, r->state);
        vx_strlcpy(ft->perm_state, r->state, sizeof(ft->perm_state));
        vx_strlcpy(p->permission_status, r->state, sizeof(p->permission_status));
        vx_provider_op_release(&ft->pop);
        /* a charge needs a fair share of the budget: else the next yes charges */
        if (budget_left_ms(ft) >= ft->f->pay_budget_ms / 4)
            return fsm_pay_start(ft, hop);
        vx_warn("pay", "order %s: no time left in the turn to pay: not charged", ft->paid_order.id);
        memset(&ft->pop.res, 0, sizeof(ft->pop.res));
        ft->pop.outcome = VX_PROVIDER_RETRYABLE;
        ft->pay_to = VX_OS_FAILED;
        return pay_settle(ft, VX_PAY_FAILED, op, e);
    }
    if (ft->pop.outcome == VX_PROVIDER_SUCCESS) {
        vx_info("pay", "order %s: the saved permission %s is still %s (%s): not charged",
                ft->paid_order.id, p->permission, r->state, r->reason_code);
        ft->pay_hard = 1;
        ft->pay_to = VX_OS_DECLINED;
        return pay_settle(ft, VX_PAY_HARD_DECLINE, op, e);
    }
    vx_warn("pay", "order %s: the saved permission %s cannot be read (%s: %s): not charged",
            ft->paid_order.id, p->permission, vx_provider_outcome_name(ft->pop.outcome),
            ft->pop.err.msg);
    ft->pay_to = VX_OS_FAILED;
    return pay_settle(ft, VX_PAY_FAILED, op, e);
}

/* What paying came to: the skill's payment cell speaks it; one write records it with the
 * conversation. */
int fsm_phase_pay(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    const struct vx_provider_result *r = &ft->pop.res;
    enum vx_pay_kind kind;

    if (vx_provider_op_complete(&ft->pop))
        vx_provider_op_give_up(&ft->pop); /* no time left in this turn for a resend */
    if (ft->link) {
        kind = ft->pop.outcome == VX_PROVIDER_SUCCESS && r->redirect_url[0] ? VX_PAY_LINK
                                                                            : VX_PAY_FAILED;
        ft->pay_to = kind == VX_PAY_LINK ? VX_OS_CHARGE_PENDING : VX_OS_FAILED;
    } else {
        vx_pay_judge(ft->pop.outcome, r, &ft->pay_to, &kind);
        ft->pay_hard = vx_pay_hard(ft->pop.outcome, ft->paid_order.total, ft->paid_order.currency);
    }
    if (ft->pop.outcome != VX_PROVIDER_SUCCESS)
        vx_warn("pay", "order %s (%s): %s: %s", ft->paid_order.id, ft->pay_key,
                vx_provider_outcome_name(ft->pop.outcome), ft->pop.err.msg);
    else
        vx_info("pay", "order %s: %s %s", ft->paid_order.id, ft->link ? "pay link" : "charge",
                ft->link ? r->checkout_session_id : r->charge_id);
    return pay_settle(ft, kind, op, e);
}

/* What paying came to is spoken (the skill's payment cell) and recorded, with the
 * conversation, in one write. */
static int pay_settle(struct vx_fsm_turn *ft, enum vx_pay_kind kind, struct vx_store_op **op,
                      struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_fsm *f = ft->f;

    fsm_pay_speak(ft, kind, &ft->pop.res);
    /* a first soft decline may be tried once more, on the customer's yes */
    if (kind == VX_PAY_SOFT_DECLINE && ft->pay_attempt < 2)
        vx_strlcpy(t->next.pay_retry, ft->paid_order.id, sizeof(t->next.pay_retry));
    else
        t->next.pay_retry[0] = '\0';
    if (f->skill->state_json(&t->next, &t->state_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    return settle_writes(ft, 1, op, e);
}

/* The write that records what paying came to, with the conversation or (it changed under
 * the turn) without it. */
static int settle_writes(struct vx_fsm_turn *ft, int with_conv, struct vx_store_op **op,
                         struct vx_err *e)
{
    struct turn *t = &ft->t;
    const struct vx_provider_result *r = &ft->pop.res;
    struct vx_pay_settle s;

    vx_wset_release(&t->wset);
    vx_wset_init(&t->wset, ft->req->application_id, ft->req->user_id);
    if (with_conv)
        vx_wset_conv(&t->wset, ft->tag, t->state_json.data, ft->f->ttl);
    settle_of(ft, ft->pay_to, r, "customer", &s);
    told_mark(ft, &s);
    if (ft->link && r->checkout_session_id[0]) {
        t->order_json.len = 0;
        if (vx_buf_appendf(&t->order_json, "\"%s\"", r->checkout_session_id) == 0)
            vx_wset_order_set(&t->wset, s.order_id, "checkout_session_id", t->order_json.data);
    }
    if (ft->link && r->redirect_url[0] && ft->f->pay_page_url[0]) {
        /* where the pay-link page sends the buyer on to */
        t->order_json.len = 0;
        if (vx_buf_appends(&t->order_json, "\"") == 0 &&
            vx_json_escape(&t->order_json, r->redirect_url, strlen(r->redirect_url)) == 0 &&
            vx_buf_appends(&t->order_json, "\"") == 0)
            vx_wset_order_set(&t->wset, s.order_id, "pay_url", t->order_json.data);
    }
    if (vx_pay_settle_wset(&t->wset, &s, t->prof.permission) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (ft->pay_to == VX_OS_CHARGE_PENDING) {
        /* the customer hears it is being processed: the next launch tells what it came to */
        t->order_json.len = 0;
        if (vx_buf_appendf(&t->order_json, "\"%s\"", s.order_id) == 0)
            vx_wset_profile_set(&t->wset, "pay_untold", t->order_json.data);
    }
    return fsm_need(ft, vx_store_op_write(&ft->op, &t->wset), PH_SETTLED, op);
}

int fsm_phase_settled(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    int rc = fsm_op_outcome(ft, NULL);
    int guard = ft->op.guard;
    vx_store_op_release(&ft->op);
    (void)e;
    if (rc == VX_ECONFLICT && guard == 0 && !ft->settle_retry) {
        /* the customer spoke on another device meanwhile: the money is recorded anyway */
        vx_info("pay",
                "conversation of %s changed while order %s was paid: recording the "
                "payment without it",
                ft->req->user_id, ft->paid_order.id);
        ft->settle_retry = 1;
        return settle_writes(ft, 0, op, e);
    }
    if (rc == 0 && ft->told)
        ft->told = 2;
    if (rc == VX_ECONFLICT)
        vx_info("pay", "order %s was settled by someone else first: nothing to record",
                ft->paid_order.id);
    else if (rc)
        vx_error("pay", "cannot record what paying order %s came to (the janitor will): %s",
                 ft->paid_order.id, vx_strerror(rc));
    ft->phase = PH_RENDER;
    return 0;
}

/* --- the platform's rail (platform.h) --- */

/* Charged as it is: OPEN, and voice purchases not locked by wrong voice codes (then the
 * platform's Setup asks the customer instead). */
static int agreement_open(const struct vx_profile *p)
{
    return p->platform_agreement[0] && strcmp(p->platform_agreement_status, "OPEN") == 0 &&
           !p->voice_code_locked;
}

/* The directive for the order: Charge on an OPEN agreement, else Setup (a first purchase,
 * or an agreement the platform suspended or closed: never charged as it is). */
static int platform_directive(struct vx_fsm_turn *ft, const char *agreement)
{
    const struct vx_order *o = &ft->paid_order;
    ft->directive.len = 0;
    if (agreement)
        return vx_platform_charge(ft->d.cat, agreement, ft->pay_key, o->id, o->total, o->currency,
                                  &ft->directive);
    return vx_platform_setup(ft->d.cat, ft->req->locale, ft->pay_key, &ft->directive);
}

int fsm_platform_send(struct vx_fsm_turn *ft, struct vx_err *e)
{
    const struct vx_profile *p = &ft->t.prof;
    int rc = platform_directive(ft, agreement_open(p) ? p->platform_agreement : NULL);
    if (rc)
        return vx_err_set(e, rc, "order %s cannot be put in a directive", ft->paid_order.id);
    vx_info("pay", "order %s: %s directive to the platform (%s)", ft->paid_order.id,
            agreement_open(p) ? "Charge" : "Setup", ft->pay_key);
    fsm_pay_speak(ft, VX_PAY_PLATFORM, NULL);
    fsm_conn_render(ft);
    return 0;
}

void fsm_conn_render(struct vx_fsm_turn *ft)
{
    if (ft->directive.len && vx_response_directive(&ft->t.resp, ft->directive.data) != 0)
        vx_error("pay", "the platform directive does not fit the response");
    if (ft->conn == CONN_OPEN && ft->plat.consent &&
        vx_response_card_permissions(&ft->t.resp, "payments:autopay_consent") != 0)
        vx_error("pay", "the consent card does not fit the response");
}

/* The order a Connections.Response's token names. */
int fsm_conn_start(struct vx_fsm_turn *ft)
{
    char name[16];
    ft->conn = CONN_UNKNOWN;
    if (vx_platform_token_parse(ft->req->conn_token, ft->conn_key, sizeof(ft->conn_key), name,
                                sizeof(name)) != 0 ||
        vx_platform_key_order(ft->conn_key, ft->paid_order.id, sizeof(ft->paid_order.id)) != 0)
        return 0;
    ft->conn = CONN_NONE; /* being read */
    return vx_store_op_order_get(&ft->op, ft->req->application_id, ft->req->user_id,
                                 ft->paid_order.id);
}

int fsm_conn_done(struct vx_fsm_turn *ft, struct vx_err *e)
{
    struct vx_pay_order po;
    struct vx_order *o = &ft->paid_order;
    int rc;
    if (ft->conn == CONN_UNKNOWN) /* no token of ours: nothing was read */
        return 0;
    rc = fsm_op_outcome(ft, e);
    ft->conn = CONN_UNKNOWN;
    if (rc == VX_ENOTFOUND || (rc == 0 && vx_pay_order_parse(ft->op.json, &po) != 0)) {
        vx_store_op_release(&ft->op);
        return 0;
    }
    vx_store_op_release(&ft->op);
    if (rc)
        return rc;
    o->n = po.n < VX_CART_MAX ? po.n : VX_CART_MAX;
    memcpy(o->lines, po.lines, o->n * sizeof(o->lines[0]));
    o->total = po.total;
    o->created = po.created;
    memcpy(o->currency, po.currency, sizeof(o->currency));
    ft->pay_attempt = po.attempt;
    vx_strlcpy(ft->pay_key, ft->conn_key, sizeof(ft->pay_key));
    ft->conn = strcmp(po.state, "CHARGE_PENDING") == 0 && strcmp(po.pay_key, ft->conn_key) == 0
                   ? CONN_OPEN
                   : CONN_LATE;
    return 0;
}

/* What the response means, and what the customer hears (the skill's PAID cell). */
void fsm_conn_judge(struct vx_fsm_turn *ft)
{
    const struct vx_request *req = ft->req;
    struct vx_platform_outcome *pl = &ft->plat;
    enum vx_pay_kind kind;

    if (ft->conn == CONN_NONE)
        return;
    if (ft->conn == CONN_UNKNOWN) {
        vx_warn("pay", "%s: a %s response with the unknown token '%s': nothing changed",
                req->user_id, req->conn_name ? req->conn_name : "?",
                req->conn_token ? req->conn_token : "");
        return; /* the cell answers it politely */
    }
    if (ft->conn == CONN_LATE) {
        vx_info("pay", "order %s: a duplicate or late %s response (%s): nothing changed",
                ft->paid_order.id, req->conn_name, ft->conn_key);
        kind = VX_PAY_ALREADY;
    } else if (vx_platform_judge(req, ft->paid_order.currency, pl) != 0) {
        vx_error("pay", "order %s: a %s response the reference does not describe: failed",
                 ft->paid_order.id, req->conn_name);
        memset(pl, 0, sizeof(*pl));
        pl->kind = VX_PF_ERROR;
        pl->to = VX_OS_FAILED;
        pl->pay = kind = VX_PAY_FAILED;
    } else {
        kind = pl->pay;
        if (pl->integration)
            vx_error("pay",
                     "order %s: the platform refuses our integration: %s (check the "
                     "shop's seller_id, country and currency)",
                     ft->paid_order.id, pl->reason);
        else if (pl->kind == VX_PF_ERROR || pl->kind == VX_PF_DECLINED)
            vx_warn("pay", "order %s: %s %s", ft->paid_order.id, req->conn_name, pl->reason);
        else
            vx_info("pay", "order %s: %s %s", ft->paid_order.id, req->conn_name,
                    pl->kind == VX_PF_SETUP_OPEN ? pl->agreement : pl->auth_id);
        if (pl->kind == VX_PF_SETUP_OPEN) {
            kind = VX_PAY_PLATFORM; /* charged next, by the Charge this answer carries */
            if (platform_directive(ft, pl->agreement) != 0)
                vx_error("pay", "order %s: the Charge directive cannot be built",
                         ft->paid_order.id);
        } else if (pl->platform_speaks)
            kind = VX_PAY_PLATFORM; /* the platform told the customer itself */
        else if (pl->consent)
            kind = VX_PAY_CONSENT;
    }
    ft->pay.kind = kind;
    ft->pay.order_id = ft->paid_order.id;
    ft->pay.amount = ft->paid_order.total;
    ft->pay.currency = ft->paid_order.currency;
    ft->pay.reason = pl->reason;
    ft->pay.link = NULL;
    ft->pay.attempt = ft->pay_attempt;
    ft->pay.order = &ft->paid_order;
    ft->d.ev = ft->f->skill->ev_paid;
    ft->d.pay = &ft->pay;
}

/* The response's writes, in the turn's write set: the order settled (compare-and-set from
 * CHARGE_PENDING, so a second copy of the response changes nothing), the agreement as the
 * platform reports it, and for an OPEN Setup the Charge this answer carries. */
int fsm_conn_writes(struct vx_fsm_turn *ft, struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_platform_outcome *pl = &ft->plat;
    struct vx_provider_result r;
    struct vx_pay_settle s;
    struct vx_buf b;
    const char *agreement = pl->agreement[0] ? pl->agreement : t->prof.platform_agreement;
    int rc = 0;

    if (ft->conn != CONN_OPEN)
        return 0;
    vx_buf_init(&b);
    if (pl->agreement_status[0] && agreement[0]) {
        rc |= vx_buf_appends(&b, "{\"id\":\"");
        rc |= vx_json_escape(&b, agreement, strlen(agreement));
        rc |= vx_buf_appendf(&b, "\",\"status\":\"%s\"}", pl->agreement_status);
        if (rc == 0)
            vx_wset_profile_set(&t->wset, "platform_agreement", b.data);
    }
    vx_buf_release(&b);
    if (pl->kind == VX_PF_SETUP_OPEN) {
        /* the order stays CHARGE_PENDING, its key still the attempt's */
        b.len = 0;
        vx_buf_init(&b);
        if (vx_buf_appendf(&b, "\"%s\"", ft->conn_key) == 0)
            vx_wset_order_guard(&t->wset, ft->paid_order.id, "pay_key", b.data);
        vx_buf_release(&b);
        return 0;
    }
    if (pl->to == VX_OS_CHARGE_PENDING) /* Pending: the charge's own answer comes later */
        return 0;
    memset(&r, 0, sizeof(r));
    vx_strlcpy(r.charge_id, pl->auth_id, sizeof(r.charge_id));
    vx_strlcpy(r.reason_code, pl->reason, sizeof(r.reason_code));
    if (pl->captured > 0) {
        r.capture_amount.amount = pl->captured;
        r.capture_amount.set = 1;
        memcpy(r.capture_amount.currency, ft->paid_order.currency,
               sizeof(r.capture_amount.currency));
    }
    settle_of(ft, pl->to, &r, "platform", &s);
    told_mark(ft, &s);
    if (vx_pay_settle_wset(&t->wset, &s, NULL) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    return 0;
}

void fsm_conn_next(struct vx_fsm_turn *ft)
{
    /* a first soft decline may be tried once more, on the customer's yes */
    if (ft->conn == CONN_OPEN && ft->plat.pay == VX_PAY_SOFT_DECLINE && ft->pay_attempt < 2)
        vx_strlcpy(ft->t.next.pay_retry, ft->paid_order.id, sizeof(ft->t.next.pay_retry));
}
