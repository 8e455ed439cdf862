/*
 * The voice skill's catalog from the merchant data (server.h, struct
 * voice_catalog_call): the shop of merchant.demo_id whose id is the catalog
 * file's merchant id. A product write through the API counts the shop's
 * catalog version up (vx:{m:<merchant>}:versions); a turn that finds a version
 * newer than the one it runs on loads the shop and its products, builds the
 * catalog (mcatalog.h), lets the catalog loader and the messages check it, and
 * installs it for every later turn (vx_fsm_catalog_swap).
 *
 * DESIGN
 * - Looking costs a round trip, so a turn looks only when it may matter: this
 *   process wrote the catalog since this worker last looked (the next turn
 *   sees a change made through this voxcartd), or a second has passed (a
 *   change made through another instance is seen within it).
 * - It never blocks and never fails a turn: an error of the store or a
 *   catalog that does not load is logged and the turn goes on with the
 *   catalog it had.
 */
#include "server.h"

#include "voxcart/catalog.h"
#include "voxcart/json.h"
#include "voxcart/fsm.h"
#include "voxcart/jscan.h"
#include "voxcart/log.h"
#include "voxcart/mcatalog.h"
#include "voxcart/pay.h"
#include "voxcart/response.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LOOK_NS      1000000000ull
#define PRODUCTS_MAX 1000

enum { VC_VERSION = 1, VC_SHOP, VC_PRODUCTS, VC_PLANS, VC_SIMULATION };

static atomic_uint changes;
static _Thread_local unsigned seen_changes;
static _Thread_local uint64_t looked_ns;

void voice_catalog_changed(void)
{
    atomic_fetch_add(&changes, 1);
}

static int done(struct voice_catalog_call *vc, struct vx_store_op *op)
{
    vx_store_op_release(op);
    vc->done = 1;
    return 0;
}

int voice_catalog_start(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op)
{
    uint64_t now = vx_mono_ns();
    unsigned c = atomic_load(&changes);
    if (!s->voice_shop[0] || (c == seen_changes && looked_ns && now - looked_ns < LOOK_NS)) {
        vc->done = 1;
        return 0;
    }
    seen_changes = c;
    looked_ns = now;
    vc->step = VC_VERSION;
    vx_store_op_mdoc_get(op, s->cfg.demo_id, "versions", s->voice_shop);
    return 1;
}

static void install(struct server *s, struct voice_catalog_call *vc, const char *simulation)
{
    const char **docs = calloc(vc->n_ids / 2 + 1, sizeof(*docs));
    const char **plans = calloc(vc->n_plan_ids / 2 + 1, sizeof(*plans));
    struct vx_buf text;
    struct vx_catalog *cat = NULL;
    struct vx_err e;
    char sim[64];
    vx_buf_init(&text);
    vx_err_clear(&e);
    if (!docs || !plans) {
        free(docs);
        free(plans);
        return;
    }
    for (size_t i = 0; i + 1 < vc->n_ids; i += 2)
        docs[i / 2] = vc->ids[i + 1];
    for (size_t i = 0; i + 1 < vc->n_plan_ids; i += 2)
        plans[i / 2] = vc->plan_ids[i + 1];
    if (vx_mcatalog_build(vc->shop, simulation, docs, vc->n_ids / 2, plans, vc->n_plan_ids / 2,
                          &text, &e) == 0 &&
        vx_catalog_parse(text.data, text.len, "merchant catalog", &cat, &e) == 0) {
        /* the swap takes cat over: another worker may install a newer one and free it at
           once, so what the log line names is copied first */
        vx_strlcpy(sim, cat->simulation ? cat->simulation : "", sizeof(sim));
        if (vx_fsm_catalog_swap(s->fsm, cat, vc->version, &e) == 0) {
            vx_info("catalog", "shop %s: catalog version %llu in use (%zu products, %zu plans)%s%s",
                    s->voice_shop, (unsigned long long)vc->version, vc->n_ids / 2,
                    vc->n_plan_ids / 2, sim[0] ? "; the next charge simulates " : "", sim);
            goto out;
        }
    }
    vx_warn("catalog", "shop %s: catalog version %llu not used: %s", s->voice_shop,
            (unsigned long long)vc->version, e.msg);
out:
    vx_buf_release(&text);
    free(docs);
    free(plans);
}

int voice_catalog_continue(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op)
{
    char coll[VX_MERCHANT_ID_MAX + 16];
    long long v = 0;
    if (op->rc != 0 && !(op->rc == VX_ENOTFOUND && vc->step == VC_SIMULATION)) {
        if (op->rc != VX_ENOTFOUND)
            vx_warn("catalog", "shop %s: cannot read the catalog: %s", s->voice_shop, op->err.msg);
        return done(vc, op);
    }
    switch (vc->step) {
    case VC_VERSION:
        if (!op->json || vx_parse_ll(op->json, 1, INT64_MAX, &v) != 0 ||
            (uint64_t)v <= vx_fsm_catalog_version(s->fsm))
            return done(vc, op);
        vc->version = (uint64_t)v;
        vx_store_op_release(op);
        vc->step = VC_SHOP;
        vx_store_op_mdoc_get(op, s->cfg.demo_id, "shops", s->voice_shop);
        return 1;
    case VC_SHOP:
        vc->shop = op->json;
        op->json = NULL;
        vx_store_op_release(op);
        vc->step = VC_PRODUCTS;
        snprintf(coll, sizeof(coll), "products:%s", s->voice_shop);
        vx_store_op_mdoc_list(op, s->cfg.demo_id, coll, "", PRODUCTS_MAX);
        return 1;
    case VC_PRODUCTS:
        vc->ids = op->ids; /* the products, kept until the simulation is read */
        vc->n_ids = op->n_ids;
        op->ids = NULL;
        op->n_ids = 0;
        vx_store_op_release(op);
        vc->step = VC_PLANS;
        snprintf(coll, sizeof(coll), "plans:%s", s->voice_shop);
        vx_store_op_mdoc_list(op, s->cfg.demo_id, coll, "", PRODUCTS_MAX);
        return 1;
    case VC_PLANS:
        vc->plan_ids = op->ids;
        vc->n_plan_ids = op->n_ids;
        op->ids = NULL;
        op->n_ids = 0;
        vx_store_op_release(op);
        vc->step = VC_SIMULATION;
        vx_store_op_mdoc_get(op, s->cfg.demo_id, "simulations", s->voice_shop);
        return 1;
    case VC_SIMULATION: {
        char code[64] = "";
        struct vx_jdoc d;
        struct vx_err e;
        if (op->rc == 0 && vx_jdoc_parse(&d, op->json, op->json_len, &e) == 0) {
            const char *c = vx_jget_str(&d, vx_jroot(&d), "code");
            vx_strlcpy(code, c ? c : "", sizeof(code));
            vx_jdoc_free(&d);
        }
        install(s, vc, code);
        return done(vc, op);
    }
    }
    return done(vc, op);
}

void voice_catalog_release(struct voice_catalog_call *vc)
{
    free(vc->shop);
    vc->shop = NULL;
    vx_store_strings_free(vc->ids, vc->n_ids);
    vc->ids = NULL;
    vc->n_ids = 0;
    vx_store_strings_free(vc->plan_ids, vc->n_plan_ids);
    vc->plan_ids = NULL;
    vc->n_plan_ids = 0;
    vx_buf_release(&vc->ref);
    vx_buf_release(&vc->event.doc);
}

/* The order.created event of order_id (created: seconds); 1 with op to send. */
static int order_created_op(struct server *s, struct merchant_event *ev, const char *order_id,
                            int64_t created, struct vx_store_op *op)
{
    struct vx_buf data;
    int rc;
    vx_buf_init(&data);
    vx_buf_appends(&data, "{\"order_id\":\"");
    vx_buf_appends(&data, order_id); /* an order ID needs no escaping: [a-z0-9_-] */
    vx_buf_appends(&data, "\",\"state\":\"CONFIRMED\"}");
    rc = data.data && merchant_event_op(op, ev, s->cfg.demo_id, "order.created", created * 1000,
                                        order_id, s->voice_shop, data.data);
    vx_buf_release(&data);
    return rc;
}

int voice_order_event(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op)
{
    return order_created_op(s, &vc->event, vc->order_id, vc->created, op);
}

int order_outcome_op(struct server *s, struct merchant_event *ev, const struct vx_pay_outcome *o,
                     struct vx_store_op *op)
{
    struct vx_buf data;
    const char *told = NULL, *type = vx_pay_outcome_event(o->state, &told);
    char about[96];
    int rc;
    if (!s->voice_shop[0] || !type || !o->settled_at_ms)
        return 0;
    vx_buf_init(&data);
    vx_buf_appends(&data, "{\"order_id\":\"");
    vx_buf_appends(&data, o->order_id);
    vx_buf_appendf(&data, "\",\"state\":\"%s\",\"attempt\":%d,\"total\":%lld", told, o->attempt,
                   (long long)o->total);
    vx_json_member(&data, "currency", o->currency, 0);
    vx_json_member(&data, "charge_id", o->charge_id, 0);
    vx_json_member(&data, "reason", o->reason, 0);
    vx_buf_appends(&data, "}");
    /* one event per order, attempt and outcome: whoever tells it again writes the same ID */
    snprintf(about, sizeof(about), "%s_%d_%s", o->order_id, o->attempt, strchr(type, '.') + 1);
    rc = data.data && merchant_event_op(op, ev, s->cfg.demo_id, type, o->settled_at_ms, about,
                                        s->voice_shop, data.data);
    vx_buf_release(&data);
    return rc;
}

/* The entry of a customer's document in the shop's index coll ("orders", "subs"), its
 * {"skill","user","created"} built in ref. */
static int index_op(struct server *s, struct vx_buf *ref, const char *what, const char *skill,
                    const char *user, const char *id, int64_t created, struct vx_store_op *op)
{
    struct vx_mdoc_put p;
    char coll[VX_MERCHANT_ID_MAX + 16];
    vx_buf_release(ref);
    vx_buf_init(ref);
    vx_buf_appends(ref, "{\"skill\":\"");
    vx_json_escape(ref, skill, strlen(skill));
    vx_buf_appends(ref, "\",\"user\":\"");
    vx_json_escape(ref, user, strlen(user));
    vx_buf_appendf(ref, "\",\"created\":%lld}", (long long)created);
    if (!ref->data)
        return 0;
    memset(&p, 0, sizeof(p));
    snprintf(coll, sizeof(coll), "%s:%s", what, s->voice_shop);
    p.merchant = s->cfg.demo_id;
    p.coll = coll;
    p.id = id;
    p.doc = ref->data;
    p.mode = VX_MDOC_UPSERT;
    return vx_store_op_mdoc_put(op, &p);
}

static int index_put(struct server *s, struct voice_catalog_call *vc, const char *what,
                     const struct vx_request *req, const char *id, int64_t created,
                     struct vx_store_op *op)
{
    if (!s->voice_shop[0] || !id || vx_strlcpy(vc->order_id, id, sizeof(vc->order_id)))
        return 0;
    vc->created = created;
    return index_op(s, &vc->ref, what, req->application_id, req->user_id, vc->order_id, created,
                    op);
}

int voice_order_index(struct server *s, struct voice_catalog_call *vc, const struct vx_request *req,
                      const char *order_id, int64_t created, struct vx_store_op *op)
{
    return index_put(s, vc, "orders", req, order_id, created, op);
}

/* Runs one op blocking; a write that finds its document there already is no fault. */
static void run_told(struct vx_store_op *op, int send, const char *what, const char *id)
{
    if (send)
        vx_store_op_run(op);
    if (send && op->rc && op->rc != VX_ECONFLICT)
        vx_warn("merchant", "order %s: its %s is not written: %s", id, what, op->err.msg);
    vx_store_op_release(op);
}

void order_told(struct server *s, const struct vx_pay_outcome *o)
{
    struct vx_store_op op;
    struct merchant_event ev;
    struct vx_buf ref;
    if (!s->voice_shop[0])
        return;
    memset(&ev, 0, sizeof(ev));
    memset(&op, 0, sizeof(op));
    vx_buf_init(&ref);
    run_told(&op, index_op(s, &ref, "orders", o->skill, o->user, o->order_id, o->created, &op),
             "shop's index entry", o->order_id);
    if (o->created > 0)
        run_told(&op, order_created_op(s, &ev, o->order_id, o->created, &op), "order.created",
                 o->order_id);
    run_told(&op, order_outcome_op(s, &ev, o, &op), "outcome event", o->order_id);
    vx_buf_release(&ref);
    vx_buf_release(&ev.doc);
}

int voice_sub_index(struct server *s, struct voice_catalog_call *vc, const struct vx_request *req,
                    const char *sub_id, int64_t created, struct vx_store_op *op)
{
    return index_put(s, vc, "subs", req, sub_id, created, op);
}

int voice_sub_event(struct server *s, struct voice_catalog_call *vc, struct vx_store_op *op)
{
    struct vx_buf data;
    char about[96];
    int rc;
    if (!s->voice_shop[0] || !vc->sub_event || !strchr(vc->sub_event, '.'))
        return 0;
    vx_buf_init(&data);
    vx_buf_appends(&data, "{\"subscription_id\":\"");
    vx_buf_appends(&data, vc->sub_id); /* a subscription ID needs no escaping: [a-z0-9_] */
    vx_buf_appends(&data, "\",\"by\":\"customer\"}");
    /* one event per change: the fence counts the subscription's changes */
    snprintf(about, sizeof(about), "%s_%lld_%s", vc->sub_id, (long long)vc->sub_fence,
             strchr(vc->sub_event, '.') + 1);
    rc = data.data && merchant_event_op(op, &vc->event, s->cfg.demo_id, vc->sub_event,
                                        vc->sub_at * 1000, about, s->voice_shop, data.data);
    vx_buf_release(&data);
    return rc;
}

/* One document written at start-up, on this thread's blocking connection. */
static int put_blocking(const struct vx_mdoc_put *p, struct vx_err *e)
{
    struct vx_store_op op;
    int rc;
    if (vx_store_op_mdoc_put(&op, p))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc != 0 && rc != VX_ECONFLICT)
        vx_err_set(e, rc, "%s", op.err.msg);
    vx_store_op_release(&op);
    return rc == VX_ECONFLICT ? 0 : rc; /* another instance imported it meanwhile */
}

int voice_catalog_import(struct server *s, struct vx_err *e)
{
    const struct vx_catalog *cat = vx_fsm_catalog(s->fsm);
    struct vx_store_op op;
    struct vx_buf shop, products, plans;
    struct vx_mdoc_put p;
    char *text = NULL, coll[VX_MERCHANT_ID_MAX + 16];
    size_t len = 0, n = 0, np = 0;
    int rc;

    if (!s->voice_shop[0])
        return 0;
    if (vx_store_op_mdoc_get(&op, s->cfg.demo_id, "shops", s->voice_shop))
        vx_store_op_run(&op);
    rc = op.rc;
    vx_store_op_release(&op);
    if (rc != VX_ENOTFOUND)
        return rc == 0 ? 0 : vx_err_set(e, rc, "cannot look for the demo shop");
    vx_buf_init(&shop);
    vx_buf_init(&products);
    vx_buf_init(&plans);
    rc = vx_file_read(cat->file, 1 << 20, &text, &len, e);
    if (rc == 0)
        rc = vx_mcatalog_import(text, len, cat->file, vx_now(), &shop, &products, &n, &plans, &np,
                                e);
    memset(&p, 0, sizeof(p));
    p.merchant = s->cfg.demo_id;
    p.mode = VX_MDOC_CREATE;
    if (rc == 0) {
        p.coll = "shops";
        p.id = s->voice_shop;
        p.doc = shop.data;
        rc = put_blocking(&p, e);
    }
    snprintf(coll, sizeof(coll), "products:%s", s->voice_shop);
    p.coll = coll;
    p.parent_coll = "shops";
    p.parent_id = s->voice_shop;
    p.version_field = s->voice_shop;
    for (int pass = 0; pass < 2; pass++) {
        const char *d = pass ? plans.data : products.data;
        size_t k = pass ? np : n;
        if (pass) {
            snprintf(coll, sizeof(coll), "plans:%s", s->voice_shop);
            p.coll = coll;
        }
        for (; rc == 0 && k > 0; k--, d += strlen(d) + 1) {
            struct vx_jdoc doc;
            if (vx_jdoc_parse(&doc, d, strlen(d), e) != 0) {
                rc = VX_EPARSE;
                break;
            }
            p.id = vx_jget_str(&doc, vx_jroot(&doc), "id");
            p.doc = d;
            rc = p.id ? put_blocking(&p, e) : VX_EPARSE;
            vx_jdoc_free(&doc);
        }
    }
    if (rc == 0)
        vx_info("catalog", "imported %s as shop %s of merchant %s", cat->file, s->voice_shop,
                s->cfg.demo_id);
    free(text);
    vx_buf_release(&shop);
    vx_buf_release(&products);
    vx_buf_release(&plans);
    return rc;
}
