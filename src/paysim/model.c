/*
 * The sandbox's objects (merchants, buyers, charge permissions, charges, refunds,
 * checkout sessions), their identifiers, their state changes and their JSON as
 * the provider renders it. Every state change goes through one *_set_state
 * function, which stamps the time and queues the notification, so no path can
 * change a state silently. ps_tick() is the sandbox clock's effect: pending
 * charges and refunds settle, unused authorizations and permissions expire.
 * Everything here runs under ps_lock.
 */
#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paysim.h"
#include "voxcart/paysign.h"

struct ps_state ps;
pthread_mutex_t ps_lock = PTHREAD_MUTEX_INITIALIZER;

/* The test payment instruments: each picks what a charge against it does. */
const struct ps_instrument ps_instruments[] = {
    {"card-ok", "Visa ending 1111 (authorizes)", "Authorized", 0},
    {"card-pending-ok", "Visa ending 2222 (pending, then authorized)", "Authorized", 1},
    {"card-pending-declined", "Mastercard ending 3333 (pending, then hard declined)",
     "HardDeclined", 1},
    {"card-soft-decline", "Visa ending 4444 (soft decline)", "SoftDeclined", 0},
    {"card-hard-decline", "Mastercard ending 5555 (hard decline)", "HardDeclined", 0},
    {"card-processing-failure", "Visa ending 6666 (processing failure)", "ProcessingFailure", 0},
    {"card-amazon-rejected", "Visa ending 7777 (rejected by the provider)", "AmazonRejected", 0},
    {"card-mfa-failed", "Visa ending 8888 (authentication failed)", "MFAFailed", 0},
    /* refused before a charge is made (400), as the provider refuses them */
    {"card-not-allowed", "Prepaid card ending 9999 (not allowed for this merchant)",
     "PaymentMethodNotAllowed", 0},
    {"card-low-limit", "Visa ending 1010 (its own limit: 1.00 a charge)",
     "TransactionAmountExceeded", 0},
};
const size_t ps_ninstruments = VX_ARRAY_LEN(ps_instruments);

const struct ps_instrument *ps_instrument_find(const char *id)
{
    for (size_t i = 0; id && i < ps_ninstruments; i++)
        if (strcmp(ps_instruments[i].id, id) == 0)
            return &ps_instruments[i];
    return NULL;
}

int ps__grow(void **v, size_t *cap, size_t need, size_t size)
{
    size_t ncap;
    void *nv;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    nv = realloc(*v, ncap * size);
    if (!nv)
        return VX_ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

int64_t ps_now(void)
{
    return ps.clock_frozen ? ps.frozen_at : vx_now() + ps.clock_offset;
}

void ps_timestamp(int64_t epoch, char out[17])
{
    if (vx_paysign_date(epoch, out) != 0)
        vx_strlcpy(out, "19700101T000000Z", 17);
}

void ps_random_digits(char *out, size_t n)
{
    unsigned char r[64];

    if (n > sizeof(r))
        n = sizeof(r);
    if (RAND_bytes(r, (int)n) != 1)
        memset(r, 7, n);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + r[i] % 10);
    out[n] = '\0';
}

void *ps__push(void **v, size_t *n, size_t *cap, size_t size)
{
    char *item;

    if (ps__grow(v, cap, *n + 1, size) != 0)
        return NULL;
    item = (char *)*v + *n * size;
    memset(item, 0, size);
    (*n)++;
    return item;
}

const char *ps_env_name(enum ps_env env)
{
    return env == PS_ENV_LIVE ? "Live" : "Sandbox";
}

static void buyer_add(const char *id, const char *name, const char *email, const char *instr)
{
    struct ps_buyer *b;

    if (PS_PUSH(ps.buyers, b) != 0)
        return;
    vx_strlcpy(b->id, id, sizeof(b->id));
    vx_strlcpy(b->name, name, sizeof(b->name));
    vx_strlcpy(b->email, email, sizeof(b->email));
    vx_strlcpy(b->instrument, instr, sizeof(b->instrument));
}

void ps_default_buyers(void)
{
    buyer_add("buyer-alice", "Alice Example", "alice@example.com", "card-ok");
    buyer_add("buyer-bob", "Bob Example", "bob@example.com", "card-soft-decline");
    buyer_add("buyer-carol", "Carol Example", "carol@example.com", "card-pending-ok");
}

void ps_throttle_defaults(void)
{
    /* payments.md s.5: max burst / restored per second, live and sandbox */
    static const struct ps_throttle_row live[PS_OP_N] = {{10, 4}, {10, 4}, {20, 4}, {20, 4}};
    static const struct ps_throttle_row sandbox[PS_OP_N] = {{2, 1}, {2, 1}, {5, 1}, {10, 1}};
    memcpy(ps.throttle[PS_ENV_LIVE], live, sizeof(live));
    memcpy(ps.throttle[PS_ENV_SANDBOX], sandbox, sizeof(sandbox));
}

void ps_state_init(void)
{
    memset(&ps, 0, sizeof(ps));
    ps.throttle_on = ps_cfg.throttle;
    ps_throttle_defaults();
    ps_default_buyers();
}

void ps_state_release(void)
{
    for (size_t i = 0; i < ps.merchants.n; i++) {
        for (size_t k = 0; k < ps.merchants.v[i].nkeys; k++) {
            free(ps.merchants.v[i].keys[k].pem);
            EVP_PKEY_free(ps.merchants.v[i].keys[k].pub);
        }
        free(ps.merchants.v[i].keys);
    }
    for (size_t i = 0; i < ps.charges.n; i++)
        free(ps.charges.v[i].metadata);
    for (size_t i = 0; i < ps.sessions.n; i++)
        free(ps.sessions.v[i].metadata);
    for (size_t i = 0; i < ps.idem.n; i++)
        free(ps.idem.v[i].body);
    for (size_t i = 0; i < ps.notices.n; i++)
        free(ps.notices.v[i].body);
    free(ps.merchants.v);
    free(ps.buyers.v);
    free(ps.perms.v);
    free(ps.charges.v);
    free(ps.refunds.v);
    free(ps.sessions.v);
    free(ps.idem.v);
    free(ps.notices.v);
    free(ps.faults.v);
    free(ps.ix_perms.slot);
    free(ps.ix_charges.slot);
    free(ps.ix_charge_perms.slot);
    free(ps.ix_idem.slot);
    memset(&ps, 0, sizeof(ps));
}

/* ---- lookups ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int index_put(struct ps_index *ix, uint64_t h, size_t pos)
{
    size_t j;
    if ((ix->count + 1) * 2 > ix->cap) {
        size_t ncap = ix->cap ? ix->cap * 2 : 256;
        struct ps_index_slot *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return VX_ENOMEM;
        for (size_t i = 0; i < ix->cap; i++) {
            if (!ix->slot[i].pos)
                continue;
            for (j = ix->slot[i].hash & (ncap - 1); ns[j].pos; j = (j + 1) & (ncap - 1)) {
            }
            ns[j] = ix->slot[i];
        }
        free(ix->slot);
        ix->slot = ns;
        ix->cap = ncap;
    }
    for (j = h & (ix->cap - 1); ix->slot[j].pos; j = (j + 1) & (ix->cap - 1)) {
    }
    ix->slot[j].hash = h;
    ix->slot[j].pos = pos + 1;
    return 0;
}

ptrdiff_t ps_index_each(struct ps_index *ix, const void *base, size_t n, size_t size, size_t off,
                        const char *key, int (*visit)(size_t pos, void *arg), void *arg)
{
    const char *b = base;
    uint64_t h;

    if (!key)
        return -1;
    h = hash_str(key);
    /* catch up, up to an object whose member is not written yet (looked at one by one below
     * until it is) or a failed allocation (likewise) */
    while (ix->count < n && b[ix->count * size + off] &&
           index_put(ix, hash_str(b + ix->count * size + off), ix->count) == 0)
        ix->count++;
    for (size_t j = ix->cap ? h & (ix->cap - 1) : 0; ix->cap && ix->slot[j].pos;
         j = (j + 1) & (ix->cap - 1)) {
        size_t pos = ix->slot[j].pos - 1;
        if (ix->slot[j].hash == h && strcmp(b + pos * size + off, key) == 0 &&
            (!visit || visit(pos, arg)))
            return (ptrdiff_t)pos;
    }
    for (size_t pos = ix->count; pos < n; pos++)
        if (strcmp(b + pos * size + off, key) == 0 && (!visit || visit(pos, arg)))
            return (ptrdiff_t)pos;
    return -1;
}

#define FIND_BY_ID(vec, field, key)                                                                \
    do {                                                                                           \
        for (size_t i_ = 0; (key) && i_ < (vec).n; i_++)                                           \
            if (strcmp((vec).v[i_].field, (key)) == 0)                                             \
                return &(vec).v[i_];                                                               \
        return NULL;                                                                               \
    } while (0)

struct ps_merchant *ps_merchant_find(const char *id)
{
    FIND_BY_ID(ps.merchants, id, id);
}

struct ps_buyer *ps_buyer_find(const char *id)
{
    FIND_BY_ID(ps.buyers, id, id);
}

struct ps_perm *ps_perm_find(const char *id)
{
    ptrdiff_t pos = ps_index_each(&ps.ix_perms, ps.perms.v, ps.perms.n, sizeof(*ps.perms.v),
                                  offsetof(struct ps_perm, id), id, NULL, NULL);
    return pos < 0 ? NULL : &ps.perms.v[pos];
}

struct ps_charge *ps_charge_find(const char *id)
{
    ptrdiff_t pos = ps_index_each(&ps.ix_charges, ps.charges.v, ps.charges.n, sizeof(*ps.charges.v),
                                  offsetof(struct ps_charge, id), id, NULL, NULL);
    return pos < 0 ? NULL : &ps.charges.v[pos];
}

struct ps_refund *ps_refund_find(const char *id)
{
    FIND_BY_ID(ps.refunds, id, id);
}

struct ps_session *ps_session_find(const char *id)
{
    FIND_BY_ID(ps.sessions, id, id);
}

struct ps_key *ps_key_find(const char *key_id, struct ps_merchant **m)
{
    for (size_t i = 0; i < ps.merchants.n; i++)
        for (size_t k = 0; k < ps.merchants.v[i].nkeys; k++)
            if (strcmp(ps.merchants.v[i].keys[k].id, key_id) == 0) {
                if (m)
                    *m = &ps.merchants.v[i];
                return &ps.merchants.v[i].keys[k];
            }
    return NULL;
}

int ps_key_add(struct ps_merchant *m, const char *key_id, const char *pem, struct vx_err *e)
{
    struct ps_key *nk;
    BIO *bio;
    EVP_PKEY *pub;

    if (!key_id || !*key_id || strlen(key_id) >= sizeof(nk->id))
        return vx_err_set(e, VX_EINVAL, "publicKeyId must be 1 to 127 characters");
    if (ps_key_find(key_id, NULL))
        return vx_err_set(e, VX_EEXISTS, "public key '%s' is already registered", key_id);
    bio = BIO_new_mem_buf(pem, -1);
    pub = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pub || EVP_PKEY_base_id(pub) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pub);
        return vx_err_set(e, VX_EPARSE, "publicKeyPem is not a PEM RSA public key");
    }
    nk = realloc(m->keys, (m->nkeys + 1) * sizeof(*nk));
    if (!nk) {
        EVP_PKEY_free(pub);
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    }
    m->keys = nk;
    nk = &m->keys[m->nkeys++];
    memset(nk, 0, sizeof(*nk));
    vx_strlcpy(nk->id, key_id, sizeof(nk->id));
    nk->pem = strdup(pem);
    nk->pub = pub;
    return 0;
}

struct ps_perm *ps_perm_create(const char *merchant, const char *buyer, const char *instrument,
                               int recurring, const char *freq_unit, const char *freq_value,
                               const struct ps_money *rec_amount, const struct ps_money *limit,
                               enum ps_env env)
{
    struct ps_perm *p;
    char a[8], b[8];

    if (PS_PUSH(ps.perms, p) != 0)
        return NULL;
    ps_random_digits(a, 7);
    ps_random_digits(b, 7);
    vx_snprintf(p->id, sizeof(p->id), "%s02-%s-%s", recurring ? "B" : "S", a, b);
    vx_strlcpy(p->merchant, merchant, sizeof(p->merchant));
    vx_strlcpy(p->buyer, buyer ? buyer : "", sizeof(p->buyer));
    vx_strlcpy(p->instrument, instrument ? instrument : "card-ok", sizeof(p->instrument));
    p->recurring = recurring;
    vx_strlcpy(p->freq_unit, freq_unit ? freq_unit : "", sizeof(p->freq_unit));
    vx_strlcpy(p->freq_value, freq_value ? freq_value : "", sizeof(p->freq_value));
    p->rec_amount.minor = -1;
    if (rec_amount)
        p->rec_amount = *rec_amount;
    p->limit.minor = -1;
    if (limit)
        p->limit = *limit;
    p->env = env;
    p->created = ps_now();
    /* a OneTime permission lasts 180 days; a Recurring one 13 months past its last charge */
    p->expires = p->created + (recurring ? 395 : 180) * 86400LL;
    ps_perm_set_state(p, "Chargeable", "");
    return p;
}

/* An object's next change by the clock is at t (0: none): ps_tick looks then. */
static void deadline(int64_t t)
{
    if (t && t < ps.tick_next)
        ps.tick_next = t;
}

static int64_t perm_deadline(const struct ps_perm *p)
{
    return strcmp(p->state, "Closed") != 0 ? p->expires : 0;
}

static int64_t charge_deadline(const struct ps_charge *c)
{
    if (c->settle_at)
        return c->settle_at;
    return strcmp(c->state, "Authorized") == 0 ? c->expires : 0;
}

void ps_perm_set_state(struct ps_perm *p, const char *state, const char *reason)
{
    int changed = strcmp(p->state, state) != 0 || strcmp(p->reason, reason) != 0;

    vx_strlcpy(p->state, state, sizeof(p->state));
    vx_strlcpy(p->reason, reason, sizeof(p->reason));
    p->updated = ps_now();
    ps.dirty = 1;
    deadline(perm_deadline(p));
    if (changed)
        ps_notify(p->merchant, "CHARGE_PERMISSION", p->id, p->id, state, p->env);
}

void ps_charge_set_state(struct ps_charge *c, const char *state, const char *reason)
{
    vx_strlcpy(c->state, state, sizeof(c->state));
    vx_strlcpy(c->reason, reason, sizeof(c->reason));
    c->updated = ps_now();
    ps.dirty = 1;
    deadline(charge_deadline(c));
    ps_notify(c->merchant, "CHARGE", c->id, c->perm, state, c->env);
}

void ps_refund_set_state(struct ps_refund *r, const char *state, const char *reason)
{
    vx_strlcpy(r->state, state, sizeof(r->state));
    vx_strlcpy(r->reason, reason, sizeof(r->reason));
    r->updated = ps_now();
    ps.dirty = 1;
    deadline(r->settle_at);
    {
        struct ps_charge *c = ps_charge_find(r->charge);
        ps_notify(r->merchant, "REFUND", r->id, c ? c->perm : "", state, r->env);
    }
}

static int same_month(int64_t a, int64_t b)
{
    time_t ta = (time_t)a, tb = (time_t)b;
    struct tm ma, mb;

    gmtime_r(&ta, &ma);
    gmtime_r(&tb, &mb);
    return ma.tm_year == mb.tm_year && ma.tm_mon == mb.tm_mon;
}

/* A charge counts against the limits unless it was declined or its authorization canceled. */
static int charge_counts(const struct ps_charge *c)
{
    return strcmp(c->state, "Declined") != 0 && strcmp(c->state, "Canceled") != 0;
}

struct usage {
    const struct ps_perm *p;
    const char *cur;
    int64_t now, sum;
    size_t n;
};

static int usage_add(size_t pos, void *arg)
{
    struct usage *u = arg;
    const struct ps_charge *c = &ps.charges.v[pos];
    u->n++;
    if (u->p && strcmp(c->amount.cur, u->cur) == 0 && charge_counts(c) &&
        (!u->p->recurring || same_month(c->created, u->now)))
        u->sum += c->amount.minor;
    return 0; /* every one */
}

static void perm_charges(const char *perm_id, struct usage *u)
{
    ps_index_each(&ps.ix_charge_perms, ps.charges.v, ps.charges.n, sizeof(*ps.charges.v),
                  offsetof(struct ps_charge, perm), perm_id, usage_add, u);
}

int64_t ps_perm_month_usage(const struct ps_perm *p, const char *cur)
{
    struct usage u = {p, cur, ps_now(), 0, 0};
    perm_charges(p->id, &u);
    return u.sum;
}

size_t ps_perm_charge_count(const char *perm_id)
{
    struct usage u = {NULL, NULL, 0, 0, 0};
    perm_charges(perm_id, &u);
    return u.n;
}

static void charge_settle(struct ps_charge *c)
{
    char to[24], reason[40];

    vx_strlcpy(to, c->settle_to, sizeof(to));
    vx_strlcpy(reason, c->settle_reason, sizeof(reason));
    c->settle_at = 0;
    if (strcmp(to, "Authorized") == 0 && c->capture_now)
        vx_strlcpy(to, "Captured", sizeof(to));
    if (strcmp(to, "Captured") == 0)
        c->captured = c->amount.minor;
    ps_charge_set_state(c, to, reason);
    if (strcmp(reason, "HardDeclined") == 0) {
        struct ps_perm *p = ps_perm_find(c->perm);
        if (p && strcmp(p->state, "Chargeable") == 0)
            ps_perm_set_state(p, "NonChargeable", "PaymentMethodInvalid");
    }
}

int ps_tick(void)
{
    int64_t now = ps_now();
    int n = 0;

    /* every request ticks: with a hundred thousand objects, looking at each one every time
     * made the sandbox slower than what it serves. Nothing changes before tick_next (every
     * object is made and changed through its *_set_state, which lowers it) unless sessions
     * were made since the last look (a session has no set_state). */
    if (now < ps.tick_next && ps.sessions.n == ps.tick_sessions)
        return 0;
    ps.tick_next = INT64_MAX; /* lowered by the loops and by every *_set_state they cause */
    for (size_t i = 0; i < ps.charges.n; i++) {
        struct ps_charge *c = &ps.charges.v[i];
        if (c->settle_at && c->settle_at <= now) {
            charge_settle(c);
            n++;
        } else if (strcmp(c->state, "Authorized") == 0 && c->expires && c->expires <= now) {
            ps_charge_set_state(c, "Canceled", "ExpiredUnused");
            n++;
        }
        deadline(charge_deadline(c));
    }
    for (size_t i = 0; i < ps.refunds.n; i++) {
        struct ps_refund *r = &ps.refunds.v[i];
        if (r->settle_at && r->settle_at <= now) {
            r->settle_at = 0;
            if (strcmp(r->settle_to, "Declined") == 0) {
                struct ps_charge *c = ps_charge_find(r->charge);
                if (c)
                    c->refunded -= r->amount.minor;
            }
            ps_refund_set_state(r, r->settle_to, r->settle_reason);
            n++;
        }
        deadline(r->settle_at);
    }
    for (size_t i = 0; i < ps.perms.n; i++) {
        struct ps_perm *p = &ps.perms.v[i];
        if (strcmp(p->state, "Closed") != 0 && p->expires && p->expires <= now) {
            ps_perm_set_state(p, "Closed", "Expired");
            n++;
        }
        deadline(perm_deadline(p));
    }
    for (size_t i = 0; i < ps.sessions.n; i++) {
        struct ps_session *s = &ps.sessions.v[i];
        if (strcmp(s->state, "Open") == 0 && s->expires <= now) {
            vx_strlcpy(s->state, "Canceled", sizeof(s->state));
            vx_strlcpy(s->reason, "Expired", sizeof(s->reason));
            s->updated = now;
            ps.dirty = 1;
            n++;
        }
        if (strcmp(s->state, "Open") == 0)
            deadline(s->expires);
    }
    ps.tick_sessions = ps.sessions.n;
    return n;
}

/* ---- JSON as the provider renders it ---- */

static struct json_object *str_or_null(const char *s)
{
    return s && *s ? json_object_new_string(s) : NULL;
}

static void add_ts(struct json_object *o, const char *key, int64_t t)
{
    char ts[17];

    if (!t) {
        json_object_object_add(o, key, NULL);
        return;
    }
    ps_timestamp(t, ts);
    json_object_object_add(o, key, json_object_new_string(ts));
}

static struct json_object *metadata_json(const char *text)
{
    struct json_object *o = text ? json_tokener_parse(text) : NULL;

    if (!o) {
        o = json_object_new_object();
        json_object_object_add(o, "merchantReferenceId", NULL);
        json_object_object_add(o, "merchantStoreName", NULL);
        json_object_object_add(o, "noteToBuyer", NULL);
        json_object_object_add(o, "customInformation", NULL);
    }
    return o;
}

static struct json_object *recurring_json(const char *unit, const char *value,
                                          const struct ps_money *amount)
{
    struct json_object *o = json_object_new_object(), *f = json_object_new_object();

    json_object_object_add(f, "unit", str_or_null(unit));
    json_object_object_add(f, "value", str_or_null(value));
    json_object_object_add(o, "frequency", f);
    json_object_object_add(o, "amount", amount->minor >= 0 ? ps_money_json(amount) : NULL);
    return o;
}

static const char *reason_description(const char *code)
{
    static const struct {
        const char *code, *text;
    } t[] = {
        {"PaymentMethodInvalid", "The payment method was declined; the buyer must update it"},
        {"MerchantClosed", "The merchant closed the charge permission"},
        {"BuyerClosed", "The buyer closed the charge permission"},
        {"AmazonClosed", "The provider closed the charge permission"},
        {"Expired", "The object expired"},
        {"SoftDeclined", "The authorization was soft declined; retry later"},
        {"HardDeclined",
         "The authorization was declined; the buyer must update the payment method"},
        {"ProcessingFailure", "The provider could not process the transaction; retry later"},
        {"AmazonRejected", "The provider rejected the transaction"},
        {"TransactionTimedOut", "The authorization timed out"},
        {"MFAFailed", "The buyer did not complete multi-factor authentication"},
        {"MerchantCanceled", "The merchant canceled the charge"},
        {"ExpiredUnused", "The authorization expired unused after 30 days"},
        {"BuyerCanceled", "The buyer canceled the checkout"},
    };
    for (size_t i = 0; code && i < VX_ARRAY_LEN(t); i++)
        if (strcmp(t[i].code, code) == 0)
            return t[i].text;
    return code && *code ? code : NULL;
}

static struct json_object *status_json(const char *state, const char *reason, int64_t updated)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "state", json_object_new_string(state));
    json_object_object_add(o, "reasonCode", str_or_null(reason));
    json_object_object_add(o, "reasonDescription", str_or_null(reason_description(reason)));
    add_ts(o, "lastUpdatedTimestamp", updated);
    return o;
}

static struct json_object *buyer_json(const char *id)
{
    const struct ps_buyer *b = ps_buyer_find(id);
    struct json_object *o;

    if (!b)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "buyerId", json_object_new_string(b->id));
    json_object_object_add(o, "name", json_object_new_string(b->name));
    json_object_object_add(o, "email", json_object_new_string(b->email));
    json_object_object_add(o, "phoneNumber", NULL);
    return o;
}

static struct json_object *preferences_json(const char *instrument)
{
    const struct ps_instrument *in = ps_instrument_find(instrument);
    struct json_object *a = json_object_new_array(), *o;

    if (!in)
        return a;
    o = json_object_new_object();
    json_object_object_add(o, "paymentDescriptor", json_object_new_string(in->label));
    json_object_array_add(a, o);
    return a;
}

struct json_object *ps_perm_json(const struct ps_perm *p)
{
    struct json_object *o = json_object_new_object(), *st, *lim, *reasons;
    struct ps_money limit, balance;
    const char *cur = p->rec_amount.minor >= 0 ? p->rec_amount.cur
                      : p->limit.cur[0]        ? p->limit.cur
                                               : "USD";

    json_object_object_add(o, "chargePermissionId", json_object_new_string(p->id));
    json_object_object_add(o, "chargePermissionReferenceId", NULL);
    json_object_object_add(o, "chargePermissionType",
                           json_object_new_string(p->recurring ? "Recurring" : "OneTime"));
    json_object_object_add(
        o, "recurringMetadata",
        p->recurring ? recurring_json(p->freq_unit, p->freq_value, &p->rec_amount) : NULL);
    json_object_object_add(o, "buyer", buyer_json(p->buyer));
    json_object_object_add(o, "paymentPreferences", preferences_json(p->instrument));
    st = json_object_new_object();
    json_object_object_add(st, "state", json_object_new_string(p->state));
    if (p->reason[0]) {
        struct json_object *r = json_object_new_object();
        reasons = json_object_new_array();
        json_object_object_add(r, "reasonCode", json_object_new_string(p->reason));
        json_object_object_add(r, "reasonDescription", str_or_null(reason_description(p->reason)));
        json_object_array_add(reasons, r);
    } else {
        reasons = NULL;
    }
    json_object_object_add(st, "reasons", reasons);
    add_ts(st, "lastUpdatedTimestamp", p->updated);
    json_object_object_add(o, "statusDetails", st);
    vx_strlcpy(limit.cur, cur, sizeof(limit.cur));
    vx_strlcpy(balance.cur, cur, sizeof(balance.cur));
    limit.minor = p->recurring ? ps_monthly_limit(cur) : (p->limit.minor >= 0 ? p->limit.minor : 0);
    balance.minor = limit.minor - ps_perm_month_usage(p, cur);
    if (balance.minor < 0)
        balance.minor = 0;
    lim = json_object_new_object();
    json_object_object_add(lim, "amountLimit", ps_money_json(&limit));
    json_object_object_add(lim, "amountBalance", ps_money_json(&balance));
    json_object_object_add(o, "limits", lim);
    json_object_object_add(o, "merchantMetadata", metadata_json(NULL));
    json_object_object_add(o, "releaseEnvironment", json_object_new_string(ps_env_name(p->env)));
    add_ts(o, "creationTimestamp", p->created);
    add_ts(o, "expirationTimestamp", p->expires);
    return o;
}

struct json_object *ps_charge_json(const struct ps_charge *c)
{
    struct json_object *o = json_object_new_object();
    struct ps_money cap = c->amount, ref = c->amount;

    cap.minor = c->captured;
    ref.minor = c->refunded;
    json_object_object_add(o, "chargeId", json_object_new_string(c->id));
    json_object_object_add(o, "chargePermissionId", json_object_new_string(c->perm));
    json_object_object_add(o, "chargeAmount", ps_money_json(&c->amount));
    json_object_object_add(o, "captureAmount", c->captured ? ps_money_json(&cap) : NULL);
    json_object_object_add(o, "refundedAmount", ps_money_json(&ref));
    json_object_object_add(o, "convertedAmount", NULL);
    json_object_object_add(o, "conversionRate", NULL);
    json_object_object_add(o, "softDescriptor", str_or_null(c->soft_descriptor));
    json_object_object_add(o, "merchantMetadata", metadata_json(c->metadata));
    json_object_object_add(o, "providerMetadata", NULL);
    json_object_object_add(o, "statusDetails", status_json(c->state, c->reason, c->updated));
    add_ts(o, "creationTimestamp", c->created);
    add_ts(o, "expirationTimestamp", c->expires);
    json_object_object_add(o, "releaseEnvironment", json_object_new_string(ps_env_name(c->env)));
    return o;
}

struct json_object *ps_refund_json(const struct ps_refund *r)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "refundId", json_object_new_string(r->id));
    json_object_object_add(o, "chargeId", json_object_new_string(r->charge));
    json_object_object_add(o, "refundAmount", ps_money_json(&r->amount));
    json_object_object_add(o, "softDescriptor", str_or_null(r->soft_descriptor));
    json_object_object_add(o, "statusDetails", status_json(r->state, r->reason, r->updated));
    add_ts(o, "creationTimestamp", r->created);
    json_object_object_add(o, "releaseEnvironment", json_object_new_string(ps_env_name(r->env)));
    return o;
}

struct json_object *ps_session_json(const struct ps_session *s)
{
    struct json_object *o = json_object_new_object(), *w = json_object_new_object(),
                       *pd = json_object_new_object();
    char url[600];

    json_object_object_add(o, "checkoutSessionId", json_object_new_string(s->id));
    json_object_object_add(w, "checkoutReviewReturnUrl", str_or_null(s->review_url));
    json_object_object_add(w, "checkoutResultReturnUrl", str_or_null(s->result_url));
    vx_snprintf(url, sizeof(url), "%s/checkout/%s", ps_base_url, s->id);
    json_object_object_add(w, "amazonPayRedirectUrl",
                           strcmp(s->state, "Open") == 0 ? json_object_new_string(url) : NULL);
    json_object_object_add(w, "checkoutMode", NULL);
    json_object_object_add(o, "webCheckoutDetails", w);
    json_object_object_add(o, "chargePermissionType", json_object_new_string(s->perm_type));
    json_object_object_add(o, "recurringMetadata",
                           strcmp(s->perm_type, "Recurring") == 0
                               ? recurring_json(s->freq_unit, s->freq_value, &s->rec_amount)
                               : NULL);
    json_object_object_add(pd, "paymentIntent", str_or_null(s->intent));
    json_object_object_add(pd, "chargeAmount",
                           s->amount.minor >= 0 ? ps_money_json(&s->amount) : NULL);
    json_object_object_add(o, "paymentDetails", pd);
    json_object_object_add(o, "merchantMetadata", metadata_json(s->metadata));
    json_object_object_add(o, "buyer", s->approved ? buyer_json(s->buyer) : NULL);
    json_object_object_add(o, "paymentPreferences",
                           s->approved ? preferences_json(s->instrument) : NULL);
    json_object_object_add(o, "statusDetails", status_json(s->state, s->reason, s->updated));
    add_ts(o, "creationTimestamp", s->created);
    add_ts(o, "expirationTimestamp", s->expires);
    json_object_object_add(o, "chargePermissionId", str_or_null(s->perm));
    json_object_object_add(o, "chargeId", str_or_null(s->charge));
    json_object_object_add(o, "releaseEnvironment", json_object_new_string(ps_env_name(s->env)));
    return o;
}

int ps_json_str(struct json_object *o, const char *key, const char **out)
{
    struct json_object *v = NULL;

    *out = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return VX_ENOTFOUND;
    if (!json_object_is_type(v, json_type_string))
        return VX_EPARSE;
    *out = json_object_get_string(v);
    return 0;
}

char *ps_json_text(struct json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    return strdup(s ? s : "null");
}
