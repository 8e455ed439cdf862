/*
 * The set-up interface under /_sim/: what a developer or a test does to the
 * sandbox that a merchant cannot do through the provider's API. Register
 * merchants and their public keys, create buyers and chargeable permissions
 * directly, read the ledger (the sandbox's own record of every charge and
 * refund, which tests count "exactly once" against), set faults, move the
 * clock, change throttling, fix a hard-declined permission, approve a checkout
 * session without the browser, reset, save and load.
 *
 * Unsigned JSON over the same listener; errors are {"error":{"code","message"}}
 * with stable codes (bad_request, not_found, conflict, io). The sandbox listens
 * on loopback by default, which is what keeps this interface private.
 */
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paysim.h"
#include "voxcart/json.h"
#include "voxcart/paysign.h"

static const char *arg(struct ps_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int want_str(struct ps_req *r, const char *field, int required, size_t max, const char **out)
{
    int rc = ps_json_str(r->json, field, out);

    if (rc == VX_ENOTFOUND && !required)
        return 0;
    if (rc != 0 || !**out || strlen(*out) > max) {
        ps_sim_fail(r, 400, "bad_request", "%s must be a string of 1 to %zu characters", field,
                    max);
        return -1;
    }
    return 0;
}

static int want_money(struct ps_req *r, const char *field, struct ps_money *m)
{
    struct json_object *o = vx_json_get(r->json, field);
    struct vx_err e = {0};

    m->minor = -1;
    if (!o)
        return 0;
    if (ps_money_from_json(o, field, m, &e) != 0) {
        ps_sim_fail(r, 400, "bad_request", "%s", e.msg);
        return -1;
    }
    return 0;
}

static void reply_list(struct ps_req *r, const char *name, struct json_object *a)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, name, a);
    ps_reply_json(r, 200, o);
}

static struct json_object *merchant_json(const struct ps_merchant *m)
{
    struct json_object *o = json_object_new_object(), *keys = json_object_new_array();

    json_object_object_add(o, "merchantId", json_object_new_string(m->id));
    json_object_object_add(o, "notifyUrl",
                           m->notify_url[0] ? json_object_new_string(m->notify_url) : NULL);
    for (size_t k = 0; k < m->nkeys; k++)
        json_object_array_add(keys, json_object_new_string(m->keys[k].id));
    json_object_object_add(o, "publicKeyIds", keys);
    return o;
}

static void merchants_post(struct ps_req *r)
{
    const char *id, *key_id = NULL, *pem = NULL, *url = NULL;
    struct ps_merchant *m;
    struct vx_err e = {0};
    int created = 0;

    if (want_str(r, "merchantId", 1, 63, &id) || want_str(r, "publicKeyId", 0, 127, &key_id) ||
        want_str(r, "publicKeyPem", 0, 16384, &pem) || want_str(r, "notifyUrl", 0, 511, &url))
        return;
    if (!key_id != !pem) {
        ps_sim_fail(r, 400, "bad_request", "publicKeyId and publicKeyPem go together");
        return;
    }
    m = ps_merchant_find(id);
    if (!m) {
        if (PS_PUSH(ps.merchants, m) != 0) {
            ps_sim_fail(r, 500, "internal", "out of memory");
            return;
        }
        vx_strlcpy(m->id, id, sizeof(m->id));
        created = 1;
    }
    if (url)
        vx_strlcpy(m->notify_url, url, sizeof(m->notify_url));
    if (key_id && ps_key_add(m, key_id, pem, &e) != 0) {
        ps_sim_fail(r, e.code == VX_EEXISTS ? 409 : 400,
                    e.code == VX_EEXISTS ? "conflict" : "bad_request", "%s", e.msg);
        return;
    }
    ps.dirty = 1;
    ps_reply_json(r, created ? 201 : 200, merchant_json(m));
}

static void merchants_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.merchants.n; i++)
        json_object_array_add(a, merchant_json(&ps.merchants.v[i]));
    reply_list(r, "merchants", a);
}

static void merchant_keys_post(struct ps_req *r)
{
    struct ps_merchant *m = ps_merchant_find(r->args[0]);
    const char *key_id, *pem;
    struct vx_err e = {0};

    if (!m) {
        ps_sim_fail(r, 404, "not_found", "no merchant '%s'", r->args[0]);
        return;
    }
    if (want_str(r, "publicKeyId", 1, 127, &key_id) || want_str(r, "publicKeyPem", 1, 16384, &pem))
        return;
    if (ps_key_add(m, key_id, pem, &e) != 0) {
        ps_sim_fail(r, e.code == VX_EEXISTS ? 409 : 400,
                    e.code == VX_EEXISTS ? "conflict" : "bad_request", "%s", e.msg);
        return;
    }
    ps.dirty = 1;
    ps_reply_json(r, 201, merchant_json(m));
}

static struct json_object *buyer_json(const struct ps_buyer *b)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "buyerId", json_object_new_string(b->id));
    json_object_object_add(o, "name", json_object_new_string(b->name));
    json_object_object_add(o, "email", json_object_new_string(b->email));
    json_object_object_add(o, "instrument", json_object_new_string(b->instrument));
    return o;
}

static int instrument_ok(struct ps_req *r, const char *id)
{
    if (id && !ps_instrument_find(id)) {
        ps_sim_fail(r, 400, "bad_request",
                    "no test payment instrument '%s' (GET /_sim/instruments)", id);
        return 0;
    }
    return 1;
}

static void buyers_post(struct ps_req *r)
{
    const char *id, *name = NULL, *email = NULL, *instr = NULL;
    struct ps_buyer *b;

    if (want_str(r, "buyerId", 1, 63, &id) || want_str(r, "name", 0, 127, &name) ||
        want_str(r, "email", 0, 127, &email) || want_str(r, "instrument", 0, 31, &instr) ||
        !instrument_ok(r, instr))
        return;
    if (ps_buyer_find(id)) {
        ps_sim_fail(r, 409, "conflict", "buyer '%s' exists already", id);
        return;
    }
    if (PS_PUSH(ps.buyers, b) != 0) {
        ps_sim_fail(r, 500, "internal", "out of memory");
        return;
    }
    vx_strlcpy(b->id, id, sizeof(b->id));
    vx_strlcpy(b->name, name ? name : id, sizeof(b->name));
    vx_strlcpy(b->email, email ? email : "buyer@example.com", sizeof(b->email));
    vx_strlcpy(b->instrument, instr ? instr : "card-ok", sizeof(b->instrument));
    ps.dirty = 1;
    ps_reply_json(r, 201, buyer_json(b));
}

static void buyers_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.buyers.n; i++)
        json_object_array_add(a, buyer_json(&ps.buyers.v[i]));
    reply_list(r, "buyers", a);
}

static void instruments_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps_ninstruments; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "instrument", json_object_new_string(ps_instruments[i].id));
        json_object_object_add(o, "label", json_object_new_string(ps_instruments[i].label));
        json_object_object_add(o, "outcome", json_object_new_string(ps_instruments[i].outcome));
        json_object_object_add(o, "pending", json_object_new_boolean(ps_instruments[i].pending));
        json_object_array_add(a, o);
    }
    reply_list(r, "instruments", a);
}

/* What POST /_sim/chargePermissions says, read and checked; the strings point into r->json. */
struct perm_args {
    const char *mid, *buyer, *instr, *unit, *value;
    struct ps_money amount, limit;
    int recurring;
    enum ps_env env;
};

/* Reads the permission to make from r's body. 0, or -1 with the error answered. */
static int perm_args_read(struct ps_req *r, struct perm_args *a)
{
    const char *type = NULL, *env = NULL;
    struct json_object *f = vx_json_get(r->json, "frequency");

    memset(a, 0, sizeof(*a));
    if (want_str(r, "merchantId", 1, 63, &a->mid) || want_str(r, "buyerId", 0, 63, &a->buyer) ||
        want_str(r, "chargePermissionType", 0, 24, &type) ||
        want_str(r, "instrument", 0, 31, &a->instr) ||
        want_str(r, "releaseEnvironment", 0, 16, &env) || want_money(r, "amount", &a->amount) ||
        want_money(r, "limit", &a->limit) || !instrument_ok(r, a->instr))
        return -1;
    if (!ps_merchant_find(a->mid)) {
        ps_sim_fail(r, 404, "not_found", "no merchant '%s'", a->mid);
        return -1;
    }
    if (a->buyer && !ps_buyer_find(a->buyer)) {
        ps_sim_fail(r, 404, "not_found", "no buyer '%s'", a->buyer);
        return -1;
    }
    a->recurring = !type || strcmp(type, "Recurring") == 0;
    if (type && !a->recurring && strcmp(type, "OneTime") != 0) {
        ps_sim_fail(r, 400, "bad_request", "chargePermissionType must be OneTime or Recurring");
        return -1;
    }
    if (!a->recurring && a->limit.minor < 0) {
        ps_sim_fail(r, 400, "bad_request",
                    "a OneTime permission needs limit {amount, currencyCode}");
        return -1;
    }
    if (f) {
        ps_json_str(f, "unit", &a->unit);
        ps_json_str(f, "value", &a->value);
    }
    a->env = env && strcmp(env, "Live") == 0 ? PS_ENV_LIVE : PS_ENV_SANDBOX;
    return 0;
}

static struct ps_perm *perm_make(const struct perm_args *a)
{
    return ps_perm_create(
        a->mid, a->buyer ? a->buyer : "buyer-alice",
        a->instr ? a->instr : (a->buyer ? ps_buyer_find(a->buyer)->instrument : "card-ok"),
        a->recurring, a->unit ? a->unit : (a->recurring ? "Month" : ""),
        a->value ? a->value : (a->recurring ? "1" : ""), a->amount.minor >= 0 ? &a->amount : NULL,
        a->limit.minor >= 0 ? &a->limit : NULL, a->env);
}

static void perms_post(struct ps_req *r)
{
    struct perm_args a;
    struct ps_perm *p;

    if (perm_args_read(r, &a) != 0)
        return;
    if (!(p = perm_make(&a))) {
        ps_sim_fail(r, 500, "internal", "out of memory");
        return;
    }
    ps_reply_json(r, 201, ps_perm_json(p));
}

#define BULK_MAX 200000

/*
 * COUNT permissions alike in one request (a benchmark's hundred thousand subscriptions would
 * take minutes one request each): the body of POST /_sim/chargePermissions plus count; the
 * answer is their IDs in the order made (one lock held throughout, so they are consecutive).
 */
static void perms_bulk_post(struct ps_req *r)
{
    struct json_object *c = vx_json_get(r->json, "count"), *ids;
    struct perm_args a;
    int64_t n;

    if (!c || !json_object_is_type(c, json_type_int) || (n = json_object_get_int64(c)) < 1 ||
        n > BULK_MAX) {
        ps_sim_fail(r, 400, "bad_request", "count must be an integer from 1 to %d", BULK_MAX);
        return;
    }
    if (perm_args_read(r, &a) != 0)
        return;
    ids = json_object_new_array_ext((int)n);
    for (int64_t i = 0; i < n; i++) {
        struct ps_perm *p = perm_make(&a);
        if (!p) { /* those made stay, as one request each would have left them */
            json_object_put(ids);
            ps_sim_fail(r, 500, "internal", "out of memory after %lld permissions", (long long)i);
            return;
        }
        json_object_array_add(ids, json_object_new_string(p->id));
    }
    {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "chargePermissionIds", ids);
        ps_reply_json(r, 201, o);
    }
}

static int match(const char *filter, const char *value)
{
    return !filter || strcmp(filter, value) == 0;
}

static void perms_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.perms.n; i++)
        if (match(arg(r, "merchantId"), ps.perms.v[i].merchant))
            json_object_array_add(a, ps_perm_json(&ps.perms.v[i]));
    reply_list(r, "chargePermissions", a);
}

static struct ps_perm *perm_arg(struct ps_req *r)
{
    struct ps_perm *p = ps_perm_find(r->args[0]);
    if (!p)
        ps_sim_fail(r, 404, "not_found", "no charge permission '%s'", r->args[0]);
    return p;
}

static void perm_state_post(struct ps_req *r)
{
    struct ps_perm *p = perm_arg(r);
    const char *state, *reason = NULL;

    if (!p || want_str(r, "state", 1, 15, &state) || want_str(r, "reasonCode", 0, 39, &reason))
        return;
    if (strcmp(state, "Chargeable") != 0 && strcmp(state, "NonChargeable") != 0 &&
        strcmp(state, "Closed") != 0) {
        ps_sim_fail(r, 400, "bad_request", "state must be Chargeable, NonChargeable or Closed");
        return;
    }
    if (strcmp(state, "Chargeable") != 0 && !reason) {
        ps_sim_fail(r, 400, "bad_request", "state %s needs a reasonCode", state);
        return;
    }
    ps_perm_set_state(p, state, strcmp(state, "Chargeable") == 0 ? "" : reason);
    ps_reply_json(r, 200, ps_perm_json(p));
}

/* The buyer updated the payment method: back to Chargeable, with a working instrument
 * unless one is named. */
static void perm_fix_post(struct ps_req *r)
{
    struct ps_perm *p = perm_arg(r);
    const char *instr = NULL;

    if (!p || want_str(r, "instrument", 0, 31, &instr) || !instrument_ok(r, instr))
        return;
    if (strcmp(p->state, "Closed") == 0) {
        ps_sim_fail(r, 409, "conflict", "charge permission '%s' is Closed", p->id);
        return;
    }
    vx_strlcpy(p->instrument, instr ? instr : "card-ok", sizeof(p->instrument));
    ps_perm_set_state(p, "Chargeable", "");
    ps_reply_json(r, 200, ps_perm_json(p));
}

static void charges_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.charges.n; i++) {
        const struct ps_charge *c = &ps.charges.v[i];
        if (match(arg(r, "merchantId"), c->merchant) &&
            match(arg(r, "chargePermissionId"), c->perm) && match(arg(r, "state"), c->state))
            json_object_array_add(a, ps_charge_json(c));
    }
    reply_list(r, "charges", a);
}

static void refunds_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.refunds.n; i++) {
        const struct ps_refund *f = &ps.refunds.v[i];
        if (match(arg(r, "merchantId"), f->merchant) && match(arg(r, "chargeId"), f->charge))
            json_object_array_add(a, ps_refund_json(f));
    }
    reply_list(r, "refunds", a);
}

static void sessions_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.sessions.n; i++)
        if (match(arg(r, "merchantId"), ps.sessions.v[i].merchant))
            json_object_array_add(a, ps_session_json(&ps.sessions.v[i]));
    reply_list(r, "checkoutSessions", a);
}

static void session_approve_post(struct ps_req *r)
{
    struct ps_session *s = ps_session_find(r->args[0]);
    const char *buyer = NULL, *instr = NULL;
    struct vx_err e = {0};

    if (!s) {
        ps_sim_fail(r, 404, "not_found", "no checkout session '%s'", r->args[0]);
        return;
    }
    if (want_str(r, "buyerId", 0, 63, &buyer) || want_str(r, "instrument", 0, 31, &instr))
        return;
    if (!buyer)
        buyer = "buyer-alice";
    if (!instr)
        instr = ps_buyer_find(buyer) ? ps_buyer_find(buyer)->instrument : "card-ok";
    if (ps_session_approve(s, buyer, instr, &e) != 0) {
        ps_sim_fail(r, e.code == VX_ECONFLICT ? 409 : 404,
                    e.code == VX_ECONFLICT ? "conflict" : "not_found", "%s", e.msg);
        return;
    }
    ps_reply_json(r, 200, ps_session_json(s));
}

static void session_decline_post(struct ps_req *r)
{
    struct ps_session *s = ps_session_find(r->args[0]);

    if (!s) {
        ps_sim_fail(r, 404, "not_found", "no checkout session '%s'", r->args[0]);
        return;
    }
    if (strcmp(s->state, "Open") != 0 || s->approved) {
        ps_sim_fail(r, 409, "conflict", "checkout session '%s' is no longer open", s->id);
        return;
    }
    ps_session_decline(s);
    ps_reply_json(r, 200, ps_session_json(s));
}

/* ---- faults ---- */

static struct json_object *faults_json(void)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.faults.n; i++) {
        const struct ps_fault *f = &ps.faults.v[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "operation", json_object_new_string(f->op));
        json_object_object_add(o, "kind", json_object_new_string(f->kind));
        json_object_object_add(o, "status", json_object_new_int(f->status));
        json_object_object_add(o, "latencyMs", json_object_new_int(f->latency_ms));
        json_object_object_add(o, "remaining", json_object_new_int(f->remaining));
        json_object_object_add(o, "percent", json_object_new_int(f->percent));
        json_object_object_add(o, "applied", json_object_new_int(f->applied));
        json_object_array_add(a, o);
    }
    return a;
}

static int known_op(const char *op)
{
    if (strcmp(op, "*") == 0)
        return 1;
    for (size_t i = 0; i < ps_api_nroutes; i++)
        if (strcmp(ps_api_routes[i].op_name, op) == 0)
            return 1;
    return 0;
}

static void faults_post(struct ps_req *r)
{
    const char *op = "*", *kind;
    struct json_object *st = vx_json_get(r->json, "status"),
                       *lat = vx_json_get(r->json, "latencyMs"),
                       *count = vx_json_get(r->json, "count"),
                       *pct = vx_json_get(r->json, "percent");
    struct ps_fault *f;

    if (want_str(r, "operation", 0, 31, &op) || want_str(r, "kind", 1, 15, &kind))
        return;
    if (!op)
        op = "*";
    if (!known_op(op)) {
        ps_sim_fail(r, 400, "bad_request", "operation '%s' is not one of the API's (or '*')", op);
        return;
    }
    if (strcmp(kind, "latency") != 0 && strcmp(kind, "status") != 0 && strcmp(kind, "drop") != 0) {
        ps_sim_fail(r, 400, "bad_request", "kind must be latency, status or drop");
        return;
    }
    if (strcmp(kind, "status") == 0 &&
        (!st || (json_object_get_int(st) != 500 && json_object_get_int(st) != 503 &&
                 json_object_get_int(st) != 429))) {
        ps_sim_fail(r, 400, "bad_request", "a status fault needs status 500, 503 or 429");
        return;
    }
    if (strcmp(kind, "latency") == 0 &&
        (!lat || json_object_get_int(lat) < 1 || json_object_get_int(lat) > 60000)) {
        ps_sim_fail(r, 400, "bad_request", "a latency fault needs latencyMs from 1 to 60000");
        return;
    }
    if (pct && (!json_object_is_type(pct, json_type_int) || json_object_get_int(pct) < 1 ||
                json_object_get_int(pct) > 100)) {
        ps_sim_fail(r, 400, "bad_request", "percent must be an integer from 1 to 100");
        return;
    }
    if (PS_PUSH(ps.faults, f) != 0) {
        ps_sim_fail(r, 500, "internal", "out of memory");
        return;
    }
    vx_strlcpy(f->op, op, sizeof(f->op));
    vx_strlcpy(f->kind, kind, sizeof(f->kind));
    f->status = st ? json_object_get_int(st) : 0;
    f->latency_ms = lat ? json_object_get_int(lat) : 0;
    f->percent = pct ? json_object_get_int(pct) : 0;
    f->acc = 0;
    /* a share of the requests lasts until removed unless a count is given */
    f->remaining = count ? json_object_get_int(count) : f->percent ? -1 : 1;
    if (f->remaining == 0)
        f->remaining = 1;
    reply_list(r, "faults", faults_json());
}

static void faults_get(struct ps_req *r)
{
    reply_list(r, "faults", faults_json());
}

static void faults_delete(struct ps_req *r)
{
    ps.faults.n = 0;
    reply_list(r, "faults", faults_json());
}

/* ---- clock ---- */

static struct json_object *clock_json(void)
{
    struct json_object *o = json_object_new_object();
    char ts[17];

    ps_timestamp(ps_now(), ts);
    json_object_object_add(o, "now", json_object_new_string(ts));
    json_object_object_add(o, "epoch", json_object_new_int64(ps_now()));
    json_object_object_add(o, "offsetSeconds", json_object_new_int64(ps_now() - vx_now()));
    json_object_object_add(o, "frozen", json_object_new_boolean(ps.clock_frozen));
    json_object_object_add(o, "dateCheck",
                           json_object_new_string(ps.date_check_wall ? "wall" : "sandbox"));
    return o;
}

static void clock_get(struct ps_req *r)
{
    ps_reply_json(r, 200, clock_json());
}

static void clock_post(struct ps_req *r)
{
    struct json_object *adv = vx_json_get(r->json, "advanceSeconds"),
                       *days = vx_json_get(r->json, "advanceDays"),
                       *months = vx_json_get(r->json, "advanceMonths"),
                       *epoch = vx_json_get(r->json, "epoch"),
                       *freeze = vx_json_get(r->json, "freeze");
    const char *set = NULL, *check = NULL;
    int64_t target = ps_now();

    if (want_str(r, "set", 0, 16, &set) || want_str(r, "dateCheck", 0, 7, &check))
        return;
    if (set && vx_paysign_date_parse(set, &target) != 0) {
        ps_sim_fail(r, 400, "bad_request", "set must be YYYYMMDDTHHMMSSZ");
        return;
    }
    if (epoch)
        target = json_object_get_int64(epoch);
    if (adv)
        target += json_object_get_int64(adv);
    if (days)
        target += json_object_get_int64(days) * 86400;
    if (months) {
        /* calendar months: the same day and time, n months on (clamped to the month's end) */
        time_t t = (time_t)target;
        struct tm tm;
        int n = json_object_get_int(months),
            mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y, mon;
        gmtime_r(&t, &tm);
        mon = tm.tm_mon + n;
        y = tm.tm_year + 1900 + (mon >= 0 ? mon / 12 : (mon - 11) / 12);
        mon = ((mon % 12) + 12) % 12;
        mdays[1] = (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
        tm.tm_year = y - 1900;
        tm.tm_mon = mon;
        if (tm.tm_mday > mdays[mon])
            tm.tm_mday = mdays[mon];
        target = (int64_t)timegm(&tm);
    }
    if (check) {
        if (strcmp(check, "wall") != 0 && strcmp(check, "sandbox") != 0) {
            ps_sim_fail(r, 400, "bad_request", "dateCheck must be sandbox or wall");
            return;
        }
        ps.date_check_wall = strcmp(check, "wall") == 0;
    }
    if (freeze)
        ps.clock_frozen = json_object_get_boolean(freeze);
    ps.frozen_at = target;
    ps.clock_offset = target - vx_now();
    ps.dirty = 1;
    ps_tick();
    ps_reply_json(r, 200, clock_json());
}

/* ---- throttling ---- */

static const char *const op_names[PS_OP_N] = {"createCharge", "createRefund", "getCharge",
                                              "getChargePermission"};

static struct json_object *throttle_json(void)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "enabled", json_object_new_boolean(ps.throttle_on));
    for (int env = 0; env < 2; env++) {
        struct json_object *t = json_object_new_object();
        for (int op = 0; op < PS_OP_N; op++) {
            struct json_object *row = json_object_new_object();
            json_object_object_add(row, "burst", json_object_new_int(ps.throttle[env][op].burst));
            json_object_object_add(row, "perSecond",
                                   json_object_new_int(ps.throttle[env][op].per_second));
            json_object_object_add(t, op_names[op], row);
        }
        json_object_object_add(o, env == PS_ENV_LIVE ? "live" : "sandbox", t);
    }
    return o;
}

static void throttle_get(struct ps_req *r)
{
    ps_reply_json(r, 200, throttle_json());
}

static void throttle_post(struct ps_req *r)
{
    struct json_object *en = vx_json_get(r->json, "enabled");

    if (en)
        ps.throttle_on = json_object_get_boolean(en);
    for (int env = 0; env < 2; env++) {
        struct json_object *t = vx_json_get(r->json, env == PS_ENV_LIVE ? "live" : "sandbox");
        for (int op = 0; t && op < PS_OP_N; op++) {
            struct json_object *row = vx_json_get(t, op_names[op]), *b, *s;
            if (!row)
                continue;
            b = vx_json_get(row, "burst");
            s = vx_json_get(row, "perSecond");
            if ((b && json_object_get_int(b) < 0) || (s && json_object_get_int(s) < 0)) {
                ps_sim_fail(r, 400, "bad_request", "burst and perSecond must be 0 or more");
                return;
            }
            if (b)
                ps.throttle[env][op].burst = json_object_get_int(b);
            if (s)
                ps.throttle[env][op].per_second = json_object_get_int(s);
        }
    }
    /* new limits start with full buckets */
    for (size_t i = 0; i < ps.merchants.n; i++)
        memset(ps.merchants.v[i].buckets, 0, sizeof(ps.merchants.v[i].buckets));
    ps_reply_json(r, 200, throttle_json());
}

/* ---- notifications, key, reset, save, load ---- */

static void notifications_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < ps.notices.n; i++) {
        const struct ps_notice *n = &ps.notices.v[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "seq", json_object_new_int64((int64_t)n->seq));
        json_object_object_add(o, "merchantId", json_object_new_string(n->merchant));
        json_object_object_add(o, "url", json_object_new_string(n->url));
        json_object_object_add(o, "objectType", json_object_new_string(n->object_type));
        json_object_object_add(o, "objectId", json_object_new_string(n->object_id));
        json_object_object_add(o, "state", json_object_new_string(n->state));
        json_object_object_add(o, "attempts", json_object_new_int(n->attempts));
        json_object_object_add(o, "delivered", json_object_new_boolean(n->delivered));
        json_object_object_add(o, "lastStatus", json_object_new_int(n->last_status));
        json_object_array_add(a, o);
    }
    reply_list(r, "notifications", a);
}

/* Sends a notification again, as the provider may (delivery is at least once): the same body,
 * signed afresh, once more than it would be sent otherwise (one still being delivered is
 * delivered a further time after it is answered). The argument is its seq, or the ID of an object
 * (a charge permission, a charge, a refund): then every notification naming that object, so a
 * fixture names what it captured without knowing the sandbox's numbering. */
static void notification_redeliver_post(struct ps_req *r)
{
    char *end;
    unsigned long long seq = strtoull(r->args[0], &end, 10);
    int by_seq = *r->args[0] && !*end, n_sent = 0;
    for (size_t i = 0; *r->args[0] && i < ps.notices.n; i++) {
        struct ps_notice *n = &ps.notices.v[i];
        if (by_seq ? n->seq != seq : strcmp(n->object_id, r->args[0]) != 0)
            continue;
        if (n->delivered) {
            n->delivered = 0;
            n->next_ns = 0;
        } else {
            n->again++; /* not delivered yet: a further delivery after that one */
        }
        n_sent++;
        if (by_seq)
            break;
    }
    if (n_sent == 0) {
        ps_sim_fail(r, 404, "not_found", "no notification '%s'", r->args[0]);
        return;
    }
    {
        struct json_object *o = json_object_new_object();
        if (!by_seq)
            json_object_object_add(o, "redelivered", json_object_new_int(n_sent));
        ps_reply_json(r, 202, o);
    }
}

static void notify_key_get(struct ps_req *r)
{
    char *pem = ps_notify_key_pem();

    if (!pem) {
        ps_sim_fail(r, 500, "internal", "cannot write the notification key");
        return;
    }
    r->status = 200;
    r->content_type = "application/x-pem-file";
    vx_buf_appends(&r->out, pem);
    free(pem);
}

static void reset_post(struct ps_req *r)
{
    int wall = ps.date_check_wall;
    ps_state_release();
    ps_state_init();
    ps.date_check_wall = wall;
    ps.dirty = 1;
    ps_reply_json(r, 200, json_object_new_object());
}

static void file_op(struct ps_req *r, int save)
{
    const char *file = NULL;
    struct vx_err e = {0};
    struct json_object *o;

    if (want_str(r, "file", 0, 1000, &file))
        return;
    if (!file)
        file = ps_cfg.state_file;
    if (!file) {
        ps_sim_fail(r, 400, "bad_request", "no file given and no --state file configured");
        return;
    }
    if ((save ? ps_save(file, &e) : ps_load(file, &e)) != 0) {
        ps_sim_fail(r, e.code == VX_ENOTFOUND ? 404 : 500,
                    e.code == VX_ENOTFOUND ? "not_found" : "io", "%s", e.msg);
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, save ? "saved" : "loaded", json_object_new_string(file));
    ps_reply_json(r, 200, o);
}

static void save_post(struct ps_req *r)
{
    file_op(r, 1);
}

static void load_post(struct ps_req *r)
{
    file_op(r, 0);
}

static void index_get(struct ps_req *r);

static const struct ps_route sim_routes[] = {
    {"GET", "", "index", -1, 0, index_get},
    {"GET", "merchants", "listMerchants", -1, 0, merchants_get},
    {"POST", "merchants", "registerMerchant", -1, 0, merchants_post},
    {"POST", "merchants/*/keys", "addKey", -1, 0, merchant_keys_post},
    {"GET", "buyers", "listBuyers", -1, 0, buyers_get},
    {"POST", "buyers", "createBuyer", -1, 0, buyers_post},
    {"GET", "instruments", "listInstruments", -1, 0, instruments_get},
    {"GET", "chargePermissions", "listChargePermissions", -1, 0, perms_get},
    {"POST", "chargePermissions", "createChargePermission", -1, 0, perms_post},
    {"POST", "chargePermissions/bulk", "createChargePermissions", -1, 0, perms_bulk_post},
    {"POST", "chargePermissions/*/state", "setChargePermissionState", -1, 0, perm_state_post},
    {"POST", "chargePermissions/*/fix", "fixChargePermission", -1, 0, perm_fix_post},
    {"GET", "charges", "listCharges", -1, 0, charges_get},
    {"GET", "refunds", "listRefunds", -1, 0, refunds_get},
    {"GET", "checkoutSessions", "listCheckoutSessions", -1, 0, sessions_get},
    {"POST", "checkoutSessions/*/approve", "approveCheckoutSession", -1, 0, session_approve_post},
    {"POST", "checkoutSessions/*/decline", "declineCheckoutSession", -1, 0, session_decline_post},
    {"GET", "faults", "listFaults", -1, 0, faults_get},
    {"POST", "faults", "addFault", -1, 0, faults_post},
    {"DELETE", "faults", "clearFaults", -1, 0, faults_delete},
    {"GET", "clock", "getClock", -1, 0, clock_get},
    {"POST", "clock", "setClock", -1, 0, clock_post},
    {"GET", "throttle", "getThrottle", -1, 0, throttle_get},
    {"POST", "throttle", "setThrottle", -1, 0, throttle_post},
    {"GET", "notifications", "listNotifications", -1, 0, notifications_get},
    {"POST", "notifications/*/redeliver", "redeliverNotification", -1, 0,
     notification_redeliver_post},
    {"GET", "notify-key", "notifyKey", -1, 0, notify_key_get},
    {"POST", "reset", "reset", -1, 0, reset_post},
    {"POST", "save", "save", -1, 0, save_post},
    {"POST", "load", "load", -1, 0, load_post},
};

static void index_get(struct ps_req *r)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < VX_ARRAY_LEN(sim_routes); i++) {
        char line[128];
        vx_snprintf(line, sizeof(line), "%s /_sim/%s", sim_routes[i].method, sim_routes[i].pattern);
        json_object_array_add(a, json_object_new_string(line));
    }
    reply_list(r, "routes", a);
}

void ps_setup_dispatch(struct ps_req *r)
{
    int mismatch;
    const struct ps_route *route =
        ps_route_match(sim_routes, VX_ARRAY_LEN(sim_routes), r, &mismatch);
    char *copy;

    if (!route) {
        ps_sim_fail(r, mismatch ? 405 : 404, mismatch ? "method_not_allowed" : "not_found",
                    "%s /_sim/%s is not part of the set-up interface (GET /_sim/ lists it)",
                    r->method, r->rest);
        return;
    }
    if (r->body_len) {
        r->json = json_tokener_parse(r->body);
        if (!r->json || !json_object_is_type(r->json, json_type_object)) {
            ps_sim_fail(r, 400, "bad_request", "the body is not a JSON object");
            return;
        }
    }
    copy = ps_req_args_split(r);
    pthread_mutex_lock(&ps_lock);
    ps_tick();
    route->handler(r);
    pthread_mutex_unlock(&ps_lock);
    free(copy);
}
