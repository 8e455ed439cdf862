/*
 * The dialog engine: a turn as phases (load what the event reads, decide by
 * the table, write the write set, render) and the checks made around a cell.
 * Start-up is setup.c, paying within the turn payturn.c; the commands are
 * built in cmds.c and carried out in interp.c; the skill's table, rows, events
 * and documents are in intents/.
 *
 * DESIGN
 * - Decide, then do. A state function (in intents/) only appends commands; the
 *   interpreter is the one place that acts on them. That split keeps every dialog
 *   decision testable without Redis and every side effect in one reviewed spot.
 * - Flags before handlers, as Redis checks a command's flags before calling
 *   it: an intent marked VX_IF_NEEDS_LINK is answered here when the account is
 *   not linked; and every cell of the table carries the mask of command kinds
 *   it may emit (only named cells may record an order), whatever the event; a
 *   state function that tries anyway is overruled and logged as a bug.
 * - One write per turn. The new conversation state, the profile members that
 *   changed, a confirmed order and its first ledger entry are one write set
 *   (wset.h), carried out by one Lua script that only writes when the
 *   conversation still has the version tag we read. Two requests of
 *   one customer at once cannot both win: the loser loads again and re-runs its
 *   turn once (the order ID is derived from the request, so the re-run records
 *   the same order), and if it loses again it asks the customer to say that
 *   again instead of guessing. Nothing is spoken before the write succeeded,
 *   so the customer never hears "done" for something that was not stored.
 * - Stateless events (CanFulfillIntentRequest, skill events) neither load nor
 *   write: the platform may send them at any time and they must not change a
 *   conversation.
 * - The state in the store is data from the past: a document that cannot be
 *   parsed starts a fresh conversation (logged).
 */
#include "engine.h"
#include "voxcart/ledger.h"
#include "voxcart/pay.h"
#include "voxcart/provider.h"
#include "voxcart/vcode.h"
#include "voxcart/fsm.h"
#include "voxcart/log.h"
#include "voxcart/response.h"
#include "voxcart/store.h"
#include "voxcart/verify.h"
#include "voxcart/wset.h"

#include <pthread.h>
#include <stddef.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int vx_fsm_gate(const struct vx_dialog *d, unsigned flags, struct vx_cmds *out)
{
    if ((flags & VX_IF_NEEDS_LINK) && !(d->req->access_token && *d->req->access_token)) {
        vx_cmd_say(out, d->skill->msg_link_needed, VX_END);
        vx_cmd_end(out);
        return 1;
    }
    return 0;
}

int vx_fsm_police(const struct vx_dialog *d, unsigned may, struct vx_cmds *out)
{
    size_t bad = out->n;
    for (size_t i = 0; i < out->n && bad == out->n; i++)
        if (!(may & VX_CK(out->v[i].type)))
            bad = i;
    if (out->overflow) {
        vx_error("fsm", "cell %s/%s produced more commands than fit",
                 d->skill->state_name(d->st->state), d->skill->event_name(d->ev));
    } else if (bad < out->n) {
        vx_error("fsm", "cell %s/%s emitted command %d, which it may not: refused",
                 d->skill->state_name(d->st->state), d->skill->event_name(d->ev),
                 (int)out->v[bad].type);
    } else {
        return 0;
    }
    vx_cmds_reset(out);
    d->skill->bug(d, out);
    return 1;
}

void vx_fsm_run(const struct vx_dialog *d, struct vx_cmds *out)
{
    unsigned flags = d->skill->event_flags(d->ev);
    vx_cmds_reset(out);
    if (vx_fsm_gate(d, flags, out))
        return;
    {
        const struct vx_cell *cell = d->skill->cell((int)d->st->state, (int)d->ev);
        cell->fn(d, out);
        vx_fsm_police(d, cell->may, out);
    }
}

/*
 * Turns are large (the command list alone is ~40 KiB) and every request needs
 * one: each thread keeps a few finished ones for the next requests instead of
 * a fresh calloc each time, and clears only what is not set before it is read.
 */
#define TURN_CACHE_MAX 64

struct turn_cache {
    struct vx_fsm_turn *free[TURN_CACHE_MAX];
    size_t n;
};

static pthread_key_t turn_key;
static pthread_once_t turn_once = PTHREAD_ONCE_INIT;

static void turn_cache_free(void *p)
{
    struct turn_cache *tc = p;
    for (size_t i = 0; i < tc->n; i++)
        free(tc->free[i]);
    free(tc);
}

static void turn_key_make(void)
{
    pthread_key_create(&turn_key, turn_cache_free);
}

static struct turn_cache *turn_cache_get(void)
{
    struct turn_cache *tc;
    pthread_once(&turn_once, turn_key_make);
    tc = pthread_getspecific(turn_key);
    if (!tc && (tc = calloc(1, sizeof(*tc))) != NULL && pthread_setspecific(turn_key, tc) != 0) {
        free(tc);
        tc = NULL;
    }
    return tc;
}

static struct vx_fsm_turn *turn_alloc(void)
{
    struct turn_cache *tc = turn_cache_get();
    struct vx_fsm_turn *ft;
    if (tc && tc->n > 0) {
        ft = tc->free[--tc->n];
    } else {
        ft = malloc(sizeof(*ft));
        if (!ft)
            return NULL;
    }
    /* cmds: vx_fsm_run resets them; st: each attempt initialises it; next: a copy of st */
    memset(ft, 0, offsetof(struct vx_fsm_turn, t));
    memset(&ft->t.prof, 0, sizeof(ft->t) - offsetof(struct turn, prof));
    vx_cmds_reset(&ft->t.cmds);
    return ft;
}

static void turn_recycle(struct vx_fsm_turn *ft)
{
    struct turn_cache *tc = turn_cache_get();
    if (tc && tc->n < TURN_CACHE_MAX)
        tc->free[tc->n++] = ft;
    else
        free(ft);
}

int vx_fsm_turn_new(struct vx_fsm *f, const struct vx_request *req, struct vx_fsm_turn **out,
                    struct vx_err *e)
{
    struct vx_fsm_turn *ft = turn_alloc();
    *out = NULL;
    if (!ft) {
        vx_err_set(e, VX_ENOMEM, "out of memory");
        return VX_ENOMEM;
    }
    ft->f = f;
    ft->cat = fsm_cat_ref(f);
    ft->req = req;
    ft->ev = f->skill->classify(req);
    ft->stateless = (f->skill->event_flags(ft->ev) & VX_IF_STATELESS) != 0;
    vx_response_init(&ft->t.resp);
    vx_buf_init(&ft->t.state_json);
    vx_buf_init(&ft->t.order_json);
    vx_buf_init(&ft->t.ledger_json);
    vx_buf_init(&ft->directive);
    vx_buf_init(&ft->sub_json);
    if (!ft->stateless && (!req->user_id || !req->application_id)) {
        /* nothing to key a conversation by: answer, but remember nothing */
        vx_warn("fsm", "request %s has no user or skill ID: not keeping state", req->request_id);
        ft->stateless = 1;
    }
    ft->d.skill = f->skill;
    ft->d.req = req;
    ft->d.ev = ft->ev;
    ft->d.cat = ft->cat->cat;
    ft->d.loc = vx_i18n_get(f->i18n, req->locale);
    ft->d.lang = vx_locale_lang(ft->d.loc);
    ft->d.now = vx_now();
    f->skill->order_id(req, ft->d.now, ft->order_id, sizeof(ft->order_id));
    ft->d.order_id = ft->order_id;
    fsm_sub_id(req, ft->sub_id);
    ft->d.sub_id = ft->sub_id;
    {
        /* the shop's calendar day (its zone is loaded once for the process) */
        struct vx_err ze;
        const struct vx_tz *tz =
            vx_tz_shared(ft->d.cat->time_zone ? ft->d.cat->time_zone : "UTC", &ze);
        ft->d.today = tz ? vx_tz_date(tz, ft->d.now) : vx_civil_from_days(ft->d.now / 86400);
    }
    ft->d.st = &ft->t.st;
    ft->d.profile = &ft->t.prof;
    ft->phase = PH_ATTEMPT;
    *out = ft;
    return 0;
}

const struct vx_wset *vx_fsm_turn_wset(const struct vx_fsm_turn *ft)
{
    return ft->phase == PH_SAVED ? &ft->t.wset : NULL;
}

void vx_fsm_turn_free(struct vx_fsm_turn *ft)
{
    if (!ft)
        return;
    fsm_cat_unref(ft->f, ft->cat);
    ft->cat = NULL;
    vx_store_op_release(&ft->op);
    if (ft->paying || ft->sub_link == 2)
        vx_provider_op_release(&ft->pop);
    vx_response_release(&ft->t.resp);
    vx_conv_release(&ft->t.conv);
    vx_wset_release(&ft->t.wset);
    vx_buf_release(&ft->t.state_json);
    vx_buf_release(&ft->t.order_json);
    vx_buf_release(&ft->t.ledger_json);
    vx_buf_release(&ft->directive);
    vx_buf_release(&ft->sub_json);
    fsm_subs_release(ft);
    turn_recycle(ft);
}

/* The outcome of the op just carried out; the op's memory is freed, its results moved out. */
int fsm_op_outcome(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = ft->op.rc;
    if (rc && rc != VX_ENOTFOUND && rc != VX_ECONFLICT && e)
        *e = ft->op.err;
    return rc;
}

/* Hands out the op when it must be sent; moves on to next either way. */
int fsm_need(struct vx_fsm_turn *ft, int send, enum phase next, struct vx_store_op **op)
{
    ft->phase = next;
    if (!send)
        return 0;
    *op = &ft->op;
    return 1;
}

void fsm_turn_reset(struct turn *t)
{
    vx_response_release(&t->resp);
    vx_response_init(&t->resp);
    vx_conv_release(&t->conv);
    vx_wset_release(&t->wset);
    t->state_json.len = 0;
    t->order_json.len = 0;
    t->ledger_json.len = 0;
}

/*
 * What a turn reads, as rows: the conversation with the profile (every event
 * that keeps state), then one row per VX_IF_READ_* flag an event may declare.
 * A row's start sets up its first store operation; its done takes the result
 * and may set up a follow-up operation (an index first, then the document it
 * names), returning 1 with ft->send saying whether it must be sent. A new kind
 * of read is a row here and a flag in voxcart/dialog.h, not a phase.
 */
struct reader {
    unsigned flag; /* VX_IF_READ_*; 0 = the conversation, read by every stateful event */
    int (*start)(struct vx_fsm_turn *ft);
    int (*done)(struct vx_fsm_turn *ft, struct vx_err *e); /* 0 read, 1 another op, < 0 error */
};

static int read_conv_start(struct vx_fsm_turn *ft)
{
    return vx_store_op_load(&ft->op, ft->req->application_id, ft->req->user_id);
}

static int read_conv_done(struct vx_fsm_turn *ft, struct vx_err *e)
{
    struct turn *t = &ft->t;
    int rc = fsm_op_outcome(ft, e);
    if (rc)
        return rc;
    t->conv = ft->op.conv;
    memset(&ft->op.conv, 0, sizeof(ft->op.conv));
    vx_store_op_release(&ft->op);
    if (ft->f->skill->state_parse(t->conv.state, ft->d.cat, &t->st) != 0)
        vx_warn("fsm", "conversation of %s is not valid JSON: starting afresh", ft->req->user_id);
    if (ft->f->skill->profile_parse(t->conv.profile, ft->d.cat, &t->prof) != 0)
        vx_warn("fsm", "profile of %s is not valid JSON: treating it as empty", ft->req->user_id);
    return 0;
}

/* The last order: the one the profile names, else the newest of the order index. */
static int read_last_start(struct vx_fsm_turn *ft)
{
    const char *skill = ft->req->application_id, *user = ft->req->user_id;
    if (ft->t.prof.last_order[0]) {
        vx_strlcpy(ft->last_id, ft->t.prof.last_order, sizeof(ft->last_id));
        return vx_store_op_order_get(&ft->op, skill, user, ft->last_id);
    }
    ft->last_id[0] = '\0';
    return vx_store_op_orders_recent(&ft->op, skill, user, 1);
}

static int read_last_done(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = fsm_op_outcome(ft, e);
    if (rc == 0 && !ft->last_id[0]) { /* the index answered: now the order it names */
        if (ft->op.n_ids == 0) {
            vx_store_op_release(&ft->op);
            return 0;
        }
        vx_strlcpy(ft->last_id, ft->op.ids[0], sizeof(ft->last_id));
        vx_store_op_release(&ft->op);
        ft->send =
            vx_store_op_order_get(&ft->op, ft->req->application_id, ft->req->user_id, ft->last_id);
        return 1;
    }
    if (rc == VX_ENOTFOUND)
        rc = 0;
    else if (rc == 0 && ft->f->skill->order_view_parse(ft->op.json, &ft->t.last) == 0)
        ft->have_last = 1;
    vx_store_op_release(&ft->op);
    return rc;
}

/* The order the customer last heard was still being paid, when the profile names one. */
static int read_news_start(struct vx_fsm_turn *ft)
{
    ft->news = NEWS_NONE;
    if (!ft->t.prof.pay_untold[0])
        return 0;
    ft->news = NEWS_READING;
    return vx_store_op_order_get(&ft->op, ft->req->application_id, ft->req->user_id,
                                 ft->t.prof.pay_untold);
}

static int read_news_done(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc;
    if (ft->news == NEWS_NONE)
        return 0;
    rc = fsm_op_outcome(ft, e);
    ft->news = NEWS_PENDING;
    if (rc == VX_ENOTFOUND) { /* gone (expired): nothing to tell, nothing to keep */
        ft->news = NEWS_GONE;
        rc = 0;
    } else if (rc == 0 && ft->f->skill->order_view_parse(ft->op.json, &ft->t.news) == 0 &&
               strcmp(ft->t.news.state, "CHARGE_PENDING") != 0) {
        ft->news = NEWS_SETTLED;
    }
    vx_store_op_release(&ft->op);
    return rc;
}

static const struct reader readers[] = {
    {0, read_conv_start, read_conv_done},
    {VX_IF_READ_LAST_ORDER, read_last_start, read_last_done},
    {VX_IF_READ_NEWS, read_news_start, read_news_done},
    {VX_IF_READ_CONNECTION, fsm_conn_start, fsm_conn_done},
    {VX_IF_READ_SUBS, fsm_subs_start, fsm_subs_done},
};
#define NREADERS (sizeof(readers) / sizeof(readers[0]))

/*
 * Runs the rows the event reads from ft->reader on: 1 with *op to send (then
 * phase_read), 0 when all are read. A store op may complete without being sent
 * (the conversation from this process's cache): its row's done runs at once.
 */
static int read_rows(struct vx_fsm_turn *ft, int sent, struct vx_store_op **op, struct vx_err *e)
{
    const struct vx_skill *sk = ft->f->skill;
    for (;;) {
        int rc;
        /* once the conversation is read, what its state needs too */
        unsigned flags = sk->event_flags(ft->ev) |
                         (ft->reader > 0 && sk->state_reads ? sk->state_reads(ft->t.st.state) : 0);
        if (!sent) {
            while (ft->reader < NREADERS && readers[ft->reader].flag &&
                   !(flags & readers[ft->reader].flag))
                ft->reader++;
            if (ft->reader == NREADERS) {
                ft->phase = PH_DECIDE;
                return 0;
            }
            if (readers[ft->reader].start(ft))
                return fsm_need(ft, 1, PH_READ, op);
        }
        rc = readers[ft->reader].done(ft, e);
        if (rc < 0)
            return rc;
        if (rc == 1) { /* a follow-up op: sent, or (ft->send == 0) already complete */
            if (ft->send)
                return fsm_need(ft, 1, PH_READ, op);
            sent = 1;
            continue;
        }
        sent = 0;
        ft->reader++;
    }
}

static int phase_decide(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_fsm *f = ft->f;
    int rc;
    ft->d.last_order = ft->have_last ? &t->last : NULL;
    ft->d.news = ft->news == NEWS_SETTLED ? &t->news : NULL;
    fsm_conn_judge(ft); /* a Connections.Response: the PAID cell speaks what it means */
    ft->d.vcode = -1;
    if ((f->skill->event_flags(ft->ev) & VX_IF_VOICE_CODE) && t->prof.voice_code[0]) {
        /* checked here, so the cell learns right or wrong and never the stored form */
        const struct vx_slot *s = vx_request_slot(ft->req, "code");
        if (s && vx_vcode_valid(s->value))
            ft->d.vcode = vx_vcode_check(s->value, t->prof.voice_code) == 1;
        if (ft->d.vcode < 0 && s && s->value)
            vx_warn("fsm", "%s: the voice code heard is not four digits", ft->req->user_id);
    }
    vx_fsm_run(&ft->d, &t->cmds);
    vx_interpret(&ft->d, t, &ft->order, &ft->cf);
    fsm_conn_render(ft);
    if (ft->stateless)
        return fsm_need(ft, 0, PH_RENDER, op);
    /* the offer to try a soft-declined order once more lasts while the state does */
    if (t->next.state != t->st.state)
        t->next.pay_retry[0] = '\0';
    fsm_conn_next(ft);
    if (f->skill->state_json(&t->next, &t->state_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    /* the turn's changes as one write set: all of it lands, or none */
    vx_wset_init(&t->wset, ft->req->application_id, ft->req->user_id);
    vx_wset_conv(&t->wset, t->conv.version, t->state_json.data, f->ttl);
    if (t->pset.fields && f->skill->profile_wset(&t->pset, &t->wset) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    rc = fsm_conn_writes(ft, e);
    if (rc)
        return rc;
    /* told now (or gone): the next visit does not tell it again */
    if (ft->news == NEWS_SETTLED || ft->news == NEWS_GONE)
        vx_wset_profile_del(&t->wset, "pay_untold");
    if (ft->order) {
        rc = fsm_order_writes(ft, e);
        if (rc)
            return rc;
    }
    rc = fsm_sub_writes(ft, e);
    if (rc)
        return rc;
    if (f->hook)
        f->hook(f->hook_ud);
    if (!ft->order && t->pay && (f->provider || (ft->d.cat->platform && f->payments)) &&
        t->st.pay_retry[0])
        return fsm_retry_start(ft, op); /* yes to "shall I try once more?" */
    if (ft->sub_moved) {
        /* the subscription's schedule member first: it is never out of the schedule */
        char bucket[64];
        vx_sub_bucket_key(ft->sub.id, bucket, sizeof(bucket));
        return fsm_need(ft, vx_store_op_zadd(&ft->op, bucket, ft->sub_member, ft->sub.due),
                        PH_SUB_MARKED, op);
    }
    return fsm_write_next(ft, op);
}

static int phase_saved(struct vx_fsm_turn *ft, struct vx_err *e)
{
    const struct vx_request *req = ft->req;
    struct turn *t = &ft->t;
    int rc = fsm_op_outcome(ft, e);
    ft->tag = ft->op.version;
    vx_store_op_release(&ft->op);
    if (rc == 0) {
        if (ft->told) /* a platform's response settled the order in this write */
            ft->told = 2;
        vx_debug("fsm", "%s: %s/%s -> %s", req->user_id, ft->f->skill->state_name(t->st.state),
                 ft->f->skill->event_name(ft->ev), ft->f->skill->state_name(t->next.state));
        ft->phase = PH_RENDER;
        return 0;
    }
    if (rc == VX_EEXISTS && ft->paying) {
        /* the attempt's key is recorded: an earlier run of this request pays for the order */
        vx_warn("pay", "order %s of request %s is being paid already: not paying twice",
                ft->paid_order.id, req->request_id);
        ft->paying = 0;
        fsm_pay_speak(ft, VX_PAY_PENDING, NULL);
        ft->phase = PH_RENDER;
        return 0;
    }
    if (rc != VX_ECONFLICT)
        return rc;
    if (ft->attempt++ == 0) {
        vx_info("fsm", "conversation of %s changed under request %s: running it again",
                req->user_id, req->request_id);
        ft->phase = PH_ATTEMPT;
        return 0;
    }
    /* lost twice: say nothing was done rather than guess which answer is right */
    vx_warn("fsm", "conversation of %s changed twice under request %s: asking to repeat",
            req->user_id, req->request_id);
    fsm_turn_reset(t);
    vx_cmds_reset(&t->cmds);
    vx_cmd_say(&t->cmds, ft->f->skill->msg_retry, VX_END);
    vx_cmd_reprompt(&t->cmds, ft->f->skill->msg_retry, VX_END);
    vx_interpret(&ft->d, t, &ft->order, &ft->cf);
    ft->phase = PH_RENDER;
    return 0;
}

int vx_fsm_turn_step(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_http_op **hop,
                     struct vx_buf *body, int *warnings, struct vx_err *e)
{
    struct turn *t = &ft->t;
    int rc = 0;

    *op = NULL;
    *hop = NULL;
    if (warnings)
        *warnings = 0;
    for (;;) {
        switch (ft->phase) {
        case PH_ATTEMPT:
            fsm_turn_reset(t);
            ft->paying = 0; /* a re-run decides afresh: only an order it records is paid */
            ft->told = 0;
            ft->f->skill->state_init(&t->st);
            memset(&t->prof, 0, sizeof(t->prof));
            ft->have_last = 0;
            ft->news = NEWS_NONE;
            ft->conn = CONN_NONE;
            ft->directive.len = 0;
            ft->d.ev = ft->ev;
            ft->d.pay = NULL;
            ft->d.subs = NULL;
            ft->d.nsubs = 0;
            ft->nsubs = 0;
            fsm_subs_release(ft);
            if (ft->stateless) {
                ft->phase = PH_DECIDE;
                break;
            }
            ft->reader = 0;
            rc = read_rows(ft, 0, op, e);
            break;
        case PH_READ:
            rc = read_rows(ft, 1, op, e);
            break;
        case PH_DECIDE:
            rc = phase_decide(ft, op, e);
            break;
        case PH_RETRY:
            rc = fsm_phase_retry(ft, op, e);
            break;
        case PH_MARKED:
            rc = fsm_phase_marked(ft, op, e);
            break;
        case PH_SUB_MARKED:
            rc = fsm_phase_sub_marked(ft, op, e);
            break;
        case PH_SAVED:
            rc = phase_saved(ft, e);
            if (rc == 0 && ft->phase == PH_RENDER && ft->paying)
                rc = fsm_pay_begin(ft, op, hop);
            else if (rc == 0 && ft->phase == PH_RENDER && ft->sub_link)
                rc = fsm_sub_link_start(ft, hop);
            break;
        case PH_SUB_LINK:
            rc = fsm_phase_sub_link(ft, op, e);
            break;
        case PH_SUB_LINKED:
            rc = fsm_phase_sub_linked(ft, e);
            break;
        case PH_SIMULATION:
            rc = fsm_phase_simulation(ft, hop);
            break;
        case PH_PERMISSION:
            rc = fsm_phase_permission(ft, op, hop, e);
            break;
        case PH_PAY:
            rc = fsm_phase_pay(ft, op, e);
            break;
        case PH_SETTLED:
            rc = fsm_phase_settled(ft, op, e);
            break;
        case PH_RENDER:
            rc = ft->cf ? vx_render_can_fulfill(ft->cf, body)
                        : vx_response_render(&t->resp, body, warnings);
            if (rc)
                return vx_err_set(e, rc, "cannot render the response");
            return 0;
        }
        if (rc < 0)
            return rc;
        if (rc == 1 || rc == 2)
            return rc;
    }
}

const char *vx_fsm_turn_order(const struct vx_fsm_turn *ft, int64_t *created)
{
    /* a paid order's turn went on to speak the payment: the order is the one it paid for */
    const struct vx_order *o = ft->order                            ? ft->order
                               : ft->paying && ft->pay_attempt == 1 ? &ft->paid_order
                                                                    : NULL;
    if (ft->phase != PH_RENDER || ft->stateless || !o)
        return NULL;
    *created = o->created;
    return o->id;
}

int vx_fsm_turn_settled(const struct vx_fsm_turn *ft, struct vx_pay_outcome *o)
{
    if (ft->phase != PH_RENDER || ft->told != 2)
        return 0;
    memset(o, 0, sizeof(*o));
    o->skill = ft->req->application_id;
    o->user = ft->req->user_id;
    o->order_id = ft->paid_order.id;
    o->state = vx_order_state_name(ft->told_to);
    o->attempt = ft->pay_attempt;
    o->total = ft->paid_order.total;
    o->currency = ft->paid_order.currency;
    o->charge_id = ft->told_charge;
    o->reason = ft->told_reason;
    o->created = ft->paid_order.created;
    o->settled_at_ms = ft->told_at_ms;
    return 1;
}

const char *vx_fsm_turn_sub(const struct vx_fsm_turn *ft, int64_t *at, const char **event,
                            int64_t *fence)
{
    if (ft->phase != PH_RENDER || ft->stateless || !ft->sub_event)
        return NULL;
    *at = ft->d.now;
    *event = ft->sub_event;
    *fence = ft->sub.fence;
    return ft->sub.id;
}

int vx_fsm_handle(struct vx_fsm *f, const struct vx_request *req, struct vx_buf *body,
                  int *warnings, struct vx_err *e)
{
    struct vx_fsm_turn *ft;
    struct vx_store_op *op;
    struct vx_http_op *hop;
    int rc;

    if (warnings)
        *warnings = 0;
    rc = vx_fsm_turn_new(f, req, &ft, e);
    if (rc)
        return rc;
    while ((rc = vx_fsm_turn_step(ft, &op, &hop, body, warnings, e)) == 1 || rc == 2) {
        if (rc == 1)
            vx_store_op_run(op);
        else
            vx_http_op_run(hop);
    }
    vx_fsm_turn_free(ft);
    return rc;
}
