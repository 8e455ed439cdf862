/*
 * The recurring biller's thread in voxcartd (voxcart/biller.h does the work): a
 * pass every biller.interval_ms while payments are on, on every instance whose
 * interval is not 0. Not a worker, so its blocking store and provider calls
 * stall no request. What a pass changes reaches the merchant here: the cycle's
 * order joins the shop's orders (so the merchant API lists and refunds it) and
 * each change is an event of the merchant's log (and so a webhook).
 */
#include "server.h"

#include "voxcart/biller.h"
#include "voxcart/fsm.h"
#include "voxcart/log.h"
#include "voxcart/metrics.h"
#include "voxcart/response.h"
#include "voxcart/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_put(const struct vx_mdoc_put *p)
{
    struct vx_store_op op;
    if (vx_store_op_mdoc_put(&op, p))
        vx_store_op_run(&op);
    if (op.rc && op.rc != VX_ECONFLICT)
        vx_warn("biller", "%s of %s not written: %s", p->id, p->coll, op.err.msg);
    vx_store_op_release(&op);
}

/* A change of a subscription: the cycle's order in the shop's index, and the event. */
static void on_event(const struct vx_biller_event *ev, void *arg)
{
    const struct vx_sub *s = ev->sub;
    struct merchant_event me;
    struct vx_buf data, ref;
    struct vx_store_op op;
    char about[96], coll[VX_MERCHANT_ID_MAX + 16];
    (void)arg;

    vx_buf_init(&data);
    vx_buf_init(&ref);
    memset(&me, 0, sizeof(me));
    memset(&op, 0, sizeof(op));
    if (ev->order_id) {
        struct vx_mdoc_put p;
        vx_buf_appends(&ref, "{");
        vx_json_member(&ref, "skill", s->skill, 1);
        vx_json_member(&ref, "user", s->user, 0);
        vx_buf_appendf(&ref, ",\"created\":%lld}", (long long)(ev->at_ms / 1000));
        snprintf(coll, sizeof(coll), "orders:%s", s->shop);
        memset(&p, 0, sizeof(p));
        p.merchant = s->merchant;
        p.coll = coll;
        p.id = ev->order_id;
        p.doc = ref.data;
        p.mode = VX_MDOC_UPSERT;
        if (ref.data)
            run_put(&p);
    }
    vx_buf_appends(&data, "{");
    vx_json_member(&data, "subscription_id", s->id, 1);
    vx_json_member(&data, "plan_id", s->plan, 0);
    vx_json_member(&data, "status", vx_sub_status_name(s->status), 0);
    vx_buf_appendf(&data, ",\"cycle\":%lld,\"attempt\":%d,\"amount\":%lld", (long long)s->cycle,
                   s->attempt, (long long)s->amount);
    vx_json_member(&data, "currency", s->currency, 0);
    vx_json_member(&data, "order_id", ev->order_id, 0);
    vx_json_member(&data, "charge_id", ev->charge_id, 0);
    vx_json_member(&data, "reason", ev->reason, 0);
    vx_buf_appends(&data, "}");
    /* one event per subscription, cycle, attempt and kind of change */
    snprintf(about, sizeof(about), "%s_%lld_%d_%s", s->id, (long long)s->cycle, s->attempt,
             strrchr(ev->type, '.') ? strrchr(ev->type, '.') + 1 : ev->type);
    if (data.data &&
        merchant_event_op(&op, &me, s->merchant, ev->type, ev->at_ms, about, s->shop, data.data))
        vx_store_op_run(&op);
    if (op.rc && op.rc != VX_ECONFLICT)
        vx_warn("biller", "event %s not written: %s", me.id, op.err.msg);
    vx_store_op_release(&op);
    vx_buf_release(&me.doc);
    vx_buf_release(&data);
    vx_buf_release(&ref);
}

/*
 * VOXCART_CLOCK_FILE (development mode only): a file holding a clock offset as
 * VOXCART_CLOCK_OFFSET takes it, read again before every pass, so a test can
 * move a running voxcartd's clock over months of cycles.
 */
static void clock_follow(const struct server *s)
{
    const char *path = getenv("VOXCART_CLOCK_FILE");
    char *text = NULL;
    size_t len;
    int64_t off;
    struct vx_err e;
    if (!path || !*path || !s->cfg.development)
        return;
    if (vx_file_read(path, 64, &text, &len, &e) != 0)
        return;
    text[strcspn(text, " \t\r\n")] = '\0';
    if (vx_clock_offset_parse(text, &off) == 0 && off != vx_clock_offset())
        vx_clock_set_offset(off);
    free(text);
}

/* What every pass uses: set up once when the thread starts. */
struct biller {
    struct vx_biller_config c;
    char owner[128], store[128];
};
static struct biller biller;
static struct periodic biller_thread = PERIODIC_INIT;

static void biller_pass(struct server *s, int woken, void *ctx)
{
    struct biller *b = ctx;
    struct vx_biller_stats st;
    (void)woken;
    clock_follow(s);
    vx_fsm_store_name(s->fsm, b->store, sizeof(b->store));
    b->c.store_name = b->store[0] ? b->store : NULL;
    if (vx_biller_pass(&b->c, vx_now(), &st) != 0)
        vx_warn("biller", "the store is not reachable; the next pass carries on");
    else if (st.more)
        periodic_wake(&biller_thread); /* a backlog: the next pass at once, not after the interval
                                          (which left a biller idle most of the time) */
    vx_metrics_biller(&st);
    if (st.claimed > 0)
        vx_info("biller",
                "%zu due, %zu claimed: %zu paid, %zu declined, %zu asked again, %zu pending, "
                "%zu canceled, %zu errors; lag %llds",
                st.due, st.claimed, st.charged, st.declined, st.retried, st.pending, st.canceled,
                st.errors, (long long)st.lag_s);
}

void biller_start(struct server *s)
{
    struct vx_biller_config *c = &biller.c;
    struct vx_err e;
    char host[64] = "";
    if (!s->provider || strcmp(s->cfg.payments, "provider") != 0 || s->cfg.biller_interval_ms <= 0)
        return;
    memset(&biller, 0, sizeof(biller));
    gethostname(host, sizeof(host) - 1);
    snprintf(biller.owner, sizeof(biller.owner), "%s:%d:%016llx", host, (int)getpid(),
             (unsigned long long)vx_wset_tag());
    c->sandbox = s->provider;
    c->live = s->live;
    c->owner = biller.owner;
    c->lease_ms = s->cfg.biller_lease_ms;
    c->rate = s->cfg.biller_rate;
    c->burst = s->cfg.biller_burst;
    c->batch = 100;
    c->event = on_event;
    if (vx_config_biller_policy(&s->cfg, &c->policy, &e) != 0) {
        vx_error("biller", "%s", e.msg); /* validated at start: cannot happen */
        return;
    }
    biller_thread.name = "biller";
    biller_thread.interval_ms = s->cfg.biller_interval_ms;
    biller_thread.pass = biller_pass;
    biller_thread.server = s;
    biller_thread.ctx = &biller;
    if (periodic_start(&biller_thread) == 0)
        vx_info("biller", "billing due subscriptions every %d ms (%d charges/s, burst %d)",
                s->cfg.biller_interval_ms, s->cfg.biller_rate, s->cfg.biller_burst);
    else
        vx_error("biller", "due cycles wait for another instance");
}

void biller_stop(void)
{
    periodic_stop(&biller_thread);
}
