/*
 * The dialog engine: a turn as phases (load what the event reads, decide by
 * the table, write the write set, render), the checks made around a cell, and
 * start-up. The commands are built in cmds.c and carried out in interp.c; the
 * skill's table, rows, events and documents are in intents/.
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
#include "turn.h"
#include "voxcart/ledger.h"
#include "voxcart/json.h"
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

/*
 * The catalog turns read, which a running server may replace (a merchant
 * changed it through the API): each turn holds a reference to the one it
 * started with, so a replaced catalog is freed when its last turn ends.
 */
struct fsm_cat {
    struct vx_catalog *cat;
    uint64_t version; /* the merchant data's catalog version it was built from; 0: the file */
    int refs;         /* under vx_fsm.mu */
};

struct vx_fsm {
    const struct vx_skill *skill;
    struct vx_catalog *cat; /* the current one: cur->cat */
    struct fsm_cat *cur;
    pthread_mutex_t mu;
    struct vx_i18n *i18n;
    int ttl;
    void (*hook)(void *ud);
    void *hook_ud;
};

int vx_fsm_gate(const struct vx_dialog *d, unsigned flags, struct vx_cmds *out)
{
    if ((flags & VX_IF_NEEDS_LINK) && !(d->req->access_token && *d->req->access_token)) {
        vx_cmd_say(out, VX_M_LINK_NEEDED, VX_END);
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

/* --- start-up --- */

const char *vx_intents_dir_default(void)
{
    const char *env = getenv("VOXCART_INTENTS_DIR");
    return env && *env ? env : VX_SOURCE_DIR "/intents";
}

struct check {
    void (*report)(void *ud, const char *file, const char *msg);
    void *ud;
    const char *file;
    const char *key;
    const char *allowed;
    size_t problems;
};

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct check *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->problems++;
    if (c->report)
        c->report(c->ud, c->file, msg);
}

static void check_placeholder(void *ud, const char *name, size_t len)
{
    struct check *c = ud;
    const char *a = c->allowed;
    while (*a) {
        size_t n = strcspn(a, " ");
        if (n == len && strncmp(a, name, len) == 0)
            return;
        a += n;
        a += strspn(a, " ");
    }
    problem(c, "%s: unknown placeholder {%.*s} (this message gets: %s)", c->key, (int)len, name,
            *c->allowed ? c->allowed : "none");
}

size_t vx_fsm_check_messages(const struct vx_skill *sk, const struct vx_i18n *m,
                             const struct vx_catalog *cat,
                             void (*report)(void *ud, const char *file, const char *msg), void *ud)
{
    struct check c = {report, ud, NULL, NULL, NULL, 0};
    for (size_t i = 0; i < vx_i18n_count(m); i++) {
        const struct vx_locale *l = vx_i18n_at(m, i);
        static const char *const cur_forms[] = {"one", "other", "minor_one", "minor_other"};
        size_t forms = vx_currency_digits(cat->currency) > 0 ? 4 : 2, k;
        c.file = vx_locale_file(l);
        for (size_t msg = 0; msg < sk->nmsgs; msg++) {
            const char *t = vx_locale_text(l, sk->msgs[msg].key);
            if (!t) {
                problem(&c, "missing message '%s'", sk->msgs[msg].key);
                continue;
            }
            c.key = sk->msgs[msg].key;
            c.allowed = sk->msgs[msg].args;
            vx_placeholders(t, check_placeholder, &c);
        }
        for (size_t f = 0; f < forms; f++) {
            char key[48];
            snprintf(key, sizeof(key), "currency.%s.%s", cat->currency, cur_forms[f]);
            if (!vx_locale_text(l, key))
                problem(&c, "missing message '%s' (the catalog's currency is %s)", key,
                        cat->currency);
        }
        for (k = 0; k < cat->nlangs; k++)
            if (strcmp(cat->langs[k], vx_locale_lang(l)) == 0)
                break;
        if (k == cat->nlangs)
            problem(&c, "the catalog %s has no names in '%s'", cat->file, vx_locale_lang(l));
    }
    return c.problems;
}

static void first_problem(void *ud, const char *file, const char *msg)
{
    struct vx_err *e = ud;
    if (e && e->code == 0)
        vx_err_set(e, VX_ECONFIG, "%s: %s", file, msg);
}

int vx_fsm_new(const struct vx_fsm_config *cfg, struct vx_fsm **out, struct vx_err *e)
{
    const char *dir =
        cfg && cfg->intents_dir && *cfg->intents_dir ? cfg->intents_dir : vx_intents_dir_default();
    char path[1024], msgdir[1024];
    struct vx_fsm *f = calloc(1, sizeof(*f));
    struct vx_err ce;
    int rc;

    *out = NULL;
    if (!f)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (!cfg || !cfg->skill) {
        free(f);
        return vx_err_set(e, VX_EINVAL, "no skill given to the dialog engine");
    }
    f->skill = cfg->skill;
    f->ttl = cfg->ttl > 0 ? cfg->ttl : VX_CONV_TTL;
    pthread_mutex_init(&f->mu, NULL);
    if (cfg && cfg->catalog && *cfg->catalog)
        rc = vx_snprintf(path, sizeof(path), "%s", cfg->catalog);
    else
        rc = vx_snprintf(path, sizeof(path), "%s/catalog.json", dir);
    if (rc == 0)
        rc = vx_snprintf(msgdir, sizeof(msgdir), "%s/messages", dir);
    if (rc) {
        rc = vx_err_set(e, VX_ECONFIG, "intents_dir: path too long");
        goto out;
    }
    vx_err_clear(&ce);
    rc = vx_catalog_load(path, &f->cat, &ce);
    if (rc) {
        /* name the configuration field as well as the file and the field in it */
        rc = vx_err_set(e, rc, "%s: %s",
                        cfg && cfg->catalog && *cfg->catalog ? "catalog" : "intents_dir", ce.msg);
        goto out;
    }
    rc = vx_i18n_load(msgdir, &f->i18n, &ce);
    if (rc) {
        rc = vx_err_set(e, rc, "intents_dir: %s", ce.msg);
        goto out;
    }
    vx_err_clear(&ce);
    if (vx_fsm_check_messages(f->skill, f->i18n, f->cat, first_problem, &ce) > 0) {
        rc = vx_err_set(e, VX_ECONFIG, "intents_dir: %s", ce.msg);
        goto out;
    }
    f->cur = calloc(1, sizeof(*f->cur));
    if (!f->cur) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory");
        goto out;
    }
    f->cur->cat = f->cat;
    f->cur->refs = 1; /* the engine's own */
    *out = f;
out:
    if (rc)
        vx_fsm_free(f);
    return rc;
}

void vx_fsm_free(struct vx_fsm *f)
{
    if (!f)
        return;
    vx_catalog_free(f->cat); /* turns have ended: only the engine holds the current one */
    free(f->cur);
    vx_i18n_free(f->i18n);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static struct fsm_cat *cat_ref(struct vx_fsm *f)
{
    struct fsm_cat *c;
    pthread_mutex_lock(&f->mu);
    c = f->cur;
    if (c)
        c->refs++;
    pthread_mutex_unlock(&f->mu);
    return c;
}

static void cat_unref(struct vx_fsm *f, struct fsm_cat *c)
{
    int last;
    if (!c)
        return;
    pthread_mutex_lock(&f->mu);
    last = --c->refs == 0;
    pthread_mutex_unlock(&f->mu);
    if (last) {
        vx_catalog_free(c->cat);
        free(c);
    }
}

uint64_t vx_fsm_catalog_version(struct vx_fsm *f)
{
    uint64_t v;
    pthread_mutex_lock(&f->mu);
    v = f->cur ? f->cur->version : 0;
    pthread_mutex_unlock(&f->mu);
    return v;
}

int vx_fsm_catalog_swap(struct vx_fsm *f, struct vx_catalog *cat, uint64_t version,
                        struct vx_err *e)
{
    struct fsm_cat *c, *old = NULL;
    vx_err_clear(e);
    /* the dialog must be able to speak it: the same check as at start-up */
    if (vx_fsm_check_messages(f->skill, f->i18n, cat, first_problem, e) > 0) {
        vx_catalog_free(cat);
        return VX_ECONFIG;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        vx_catalog_free(cat);
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    }
    c->cat = cat;
    c->version = version;
    c->refs = 1;
    pthread_mutex_lock(&f->mu);
    if (f->cur && f->cur->version >= version) {
        pthread_mutex_unlock(&f->mu); /* another turn installed this one, or a newer one */
        vx_catalog_free(cat);
        free(c);
        return 0;
    }
    old = f->cur;
    f->cur = c;
    f->cat = cat;
    pthread_mutex_unlock(&f->mu);
    cat_unref(f, old);
    return 0;
}

const struct vx_catalog *vx_fsm_catalog(const struct vx_fsm *f)
{
    return f->cat;
}

const struct vx_i18n *vx_fsm_i18n(const struct vx_fsm *f)
{
    return f->i18n;
}

void vx_fsm_set_save_hook(struct vx_fsm *f, void (*hook)(void *ud), void *ud)
{
    f->hook = hook;
    f->hook_ud = ud;
}

static void turn_reset(struct turn *t)
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
 * A turn as a sequence of phases; between two phases the caller carries out
 * one store operation (vx_fsm_turn_step hands it out). The same turn runs
 * blocking (vx_fsm_handle) or on voxcartd's event loop.
 */
enum phase { PH_ATTEMPT, PH_LOADED, PH_LAST_RECENT, PH_LAST_ORDER, PH_DECIDE, PH_SAVED, PH_RENDER };

struct vx_fsm_turn {
    struct vx_fsm *f;
    struct fsm_cat *cat; /* the catalog this turn started with */
    const struct vx_request *req;
    enum phase phase;
    enum vx_event ev;
    int stateless, attempt, have_last;
    const struct vx_order *order;
    const struct vx_can_fulfill *cf;
    char order_id[VX_ID_MAX];
    char last_id[VX_ID_MAX];
    struct vx_dialog d;
    struct vx_store_op op;
    struct turn t;
};

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
    ft->cat = cat_ref(f);
    ft->req = req;
    ft->ev = f->skill->classify(req);
    ft->stateless = (f->skill->event_flags(ft->ev) & VX_IF_STATELESS) != 0;
    vx_response_init(&ft->t.resp);
    vx_buf_init(&ft->t.state_json);
    vx_buf_init(&ft->t.order_json);
    vx_buf_init(&ft->t.ledger_json);
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
    cat_unref(ft->f, ft->cat);
    ft->cat = NULL;
    vx_store_op_release(&ft->op);
    vx_response_release(&ft->t.resp);
    vx_conv_release(&ft->t.conv);
    vx_wset_release(&ft->t.wset);
    vx_buf_release(&ft->t.state_json);
    vx_buf_release(&ft->t.order_json);
    vx_buf_release(&ft->t.ledger_json);
    turn_recycle(ft);
}

/* The outcome of the op just carried out; the op's memory is freed, its results moved out. */
static int op_outcome(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = ft->op.rc;
    if (rc && rc != VX_ENOTFOUND && rc != VX_ECONFLICT && e)
        *e = ft->op.err;
    return rc;
}

/* Hands out the op when it must be sent; moves on to next either way. */
static int need(struct vx_fsm_turn *ft, int send, enum phase next, struct vx_store_op **op)
{
    ft->phase = next;
    if (!send)
        return 0;
    *op = &ft->op;
    return 1;
}

static int phase_loaded(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    struct turn *t = &ft->t;
    int rc = op_outcome(ft, e);
    if (rc)
        return rc;
    t->conv = ft->op.conv;
    memset(&ft->op.conv, 0, sizeof(ft->op.conv));
    vx_store_op_release(&ft->op);
    if (ft->f->skill->state_parse(t->conv.state, ft->d.cat, &t->st) != 0)
        vx_warn("fsm", "conversation of %s is not valid JSON: starting afresh", ft->req->user_id);
    if (ft->f->skill->profile_parse(t->conv.profile, ft->d.cat, &t->prof) != 0)
        vx_warn("fsm", "profile of %s is not valid JSON: treating it as empty", ft->req->user_id);
    if (!(ft->f->skill->event_flags(ft->ev) & VX_IF_LAST_ORDER))
        return need(ft, 0, PH_DECIDE, op);
    if (t->prof.last_order[0]) {
        vx_strlcpy(ft->last_id, t->prof.last_order, sizeof(ft->last_id));
        return need(
            ft,
            vx_store_op_order_get(&ft->op, ft->req->application_id, ft->req->user_id, ft->last_id),
            PH_LAST_ORDER, op);
    }
    return need(ft,
                vx_store_op_orders_recent(&ft->op, ft->req->application_id, ft->req->user_id, 1),
                PH_LAST_RECENT, op);
}

static int phase_last_recent(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    int rc = op_outcome(ft, e);
    if (rc)
        return rc;
    if (ft->op.n_ids == 0) {
        vx_store_op_release(&ft->op);
        return need(ft, 0, PH_DECIDE, op);
    }
    vx_strlcpy(ft->last_id, ft->op.ids[0], sizeof(ft->last_id));
    vx_store_op_release(&ft->op);
    return need(
        ft, vx_store_op_order_get(&ft->op, ft->req->application_id, ft->req->user_id, ft->last_id),
        PH_LAST_ORDER, op);
}

static int phase_last_order(struct vx_fsm_turn *ft, struct vx_err *e)
{
    int rc = op_outcome(ft, e);
    if (rc == VX_ENOTFOUND)
        rc = 0;
    else if (rc == 0 && ft->f->skill->order_view_parse(ft->op.json, &ft->t.last) == 0)
        ft->have_last = 1;
    vx_store_op_release(&ft->op);
    ft->phase = PH_DECIDE;
    return rc;
}

static int phase_decide(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_err *e)
{
    struct turn *t = &ft->t;
    struct vx_fsm *f = ft->f;
    ft->d.last_order = ft->have_last ? &t->last : NULL;
    vx_fsm_run(&ft->d, &t->cmds);
    vx_interpret(&ft->d, t, &ft->order, &ft->cf);
    if (ft->stateless)
        return need(ft, 0, PH_RENDER, op);
    if (f->skill->state_json(&t->next, &t->state_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    /* the turn's changes as one write set: all of it lands, or none */
    vx_wset_init(&t->wset, ft->req->application_id, ft->req->user_id);
    vx_wset_conv(&t->wset, t->conv.version, t->state_json.data, f->ttl);
    if (t->pset.fields && f->skill->profile_wset(&t->pset, &t->wset) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (ft->order) {
        if (f->skill->order_json(ft->order, ft->d.cat->merchant_id, &t->order_json) != 0 ||
            vx_ledger_entry_json(vx_now_ms(), "customer", NULL, ft->order->state, ft->order->total,
                                 ft->order->currency, 0, NULL, &t->ledger_json) != 0)
            return vx_err_set(e, VX_ENOMEM, "out of memory");
        vx_wset_order_create(&t->wset, ft->order->id, t->order_json.data);
        vx_wset_ledger(&t->wset, ft->order->id, t->ledger_json.data);
    }
    if (f->hook)
        f->hook(f->hook_ud);
    return need(ft, vx_store_op_write(&ft->op, &t->wset), PH_SAVED, op);
}

static int phase_saved(struct vx_fsm_turn *ft, struct vx_err *e)
{
    const struct vx_request *req = ft->req;
    struct turn *t = &ft->t;
    int rc = op_outcome(ft, e);
    vx_store_op_release(&ft->op);
    if (rc == 0) {
        vx_debug("fsm", "%s: %s/%s -> %s", req->user_id, ft->f->skill->state_name(t->st.state),
                 ft->f->skill->event_name(ft->ev), ft->f->skill->state_name(t->next.state));
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
    turn_reset(t);
    vx_cmds_reset(&t->cmds);
    vx_cmd_say(&t->cmds, VX_M_RETRY, VX_END);
    vx_cmd_reprompt(&t->cmds, VX_M_RETRY, VX_END);
    vx_interpret(&ft->d, t, &ft->order, &ft->cf);
    ft->phase = PH_RENDER;
    return 0;
}

int vx_fsm_turn_step(struct vx_fsm_turn *ft, struct vx_store_op **op, struct vx_buf *body,
                     int *warnings, struct vx_err *e)
{
    struct turn *t = &ft->t;
    int rc = 0;

    *op = NULL;
    if (warnings)
        *warnings = 0;
    for (;;) {
        switch (ft->phase) {
        case PH_ATTEMPT:
            turn_reset(t);
            ft->f->skill->state_init(&t->st);
            memset(&t->prof, 0, sizeof(t->prof));
            ft->have_last = 0;
            if (ft->stateless) {
                ft->phase = PH_DECIDE;
                break;
            }
            if (need(ft, vx_store_op_load(&ft->op, ft->req->application_id, ft->req->user_id),
                     PH_LOADED, op))
                return 1;
            break;
        case PH_LOADED:
            rc = phase_loaded(ft, op, e);
            break;
        case PH_LAST_RECENT:
            rc = phase_last_recent(ft, op, e);
            break;
        case PH_LAST_ORDER:
            rc = phase_last_order(ft, e);
            break;
        case PH_DECIDE:
            rc = phase_decide(ft, op, e);
            break;
        case PH_SAVED:
            rc = phase_saved(ft, e);
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
        if (rc == 1)
            return 1;
    }
}

const char *vx_fsm_turn_order(const struct vx_fsm_turn *ft, int64_t *created)
{
    if (ft->phase != PH_RENDER || ft->stateless || !ft->order)
        return NULL;
    *created = ft->order->created;
    return ft->order->id;
}

int vx_fsm_handle(struct vx_fsm *f, const struct vx_request *req, struct vx_buf *body,
                  int *warnings, struct vx_err *e)
{
    struct vx_fsm_turn *ft;
    struct vx_store_op *op;
    int rc;

    if (warnings)
        *warnings = 0;
    rc = vx_fsm_turn_new(f, req, &ft, e);
    if (rc)
        return rc;
    while ((rc = vx_fsm_turn_step(ft, &op, body, warnings, e)) == 1)
        vx_store_op_run(op);
    vx_fsm_turn_free(ft);
    return rc;
}
