/*
 * The merchant API (/v1): shops and their products, as JSON over the worker's
 * event loop. http.c has checked the bearer token and the scope before any of
 * this runs (the row's auth kind); every key below is the token's merchant's,
 * so another merchant's shop is simply not there: 404, never 403.
 *
 * DESIGN
 * - A call is a small state machine like the skill turn: merchant_start and
 *   merchant_continue either answer or hand the loop one store operation and
 *   are called again when it is complete. Nothing here blocks.
 * - A POST with an Idempotency-Key is answered once: the record of its answer
 *   (a digest of the route, its parameters and the body, the status and the
 *   body) is written in the same script as the document, behind a guard that
 *   it does not exist yet. A repeat with the same digest gets the stored
 *   answer; with another digest 422 idempotency_key_reused. A repeat that
 *   races the first finds the record in the guard and is answered from it.
 * - Validation names the field. A product's names are checked by the
 *   catalog's own loader (catalog.h) on the catalog the product would make with
 *   its shop, so the API accepts exactly what the voice skill can sell; its
 *   errors are mapped back to the product's fields.
 * - Lists are pages in id order; the cursor is the last id of the page, and a
 *   page is read one longer than asked to know whether there is a next.
 */
#include "server.h"

#include "voxcart/catalog.h"
#include "voxcart/i18n.h"
#include "voxcart/jscan.h"
#include "voxcart/ledger.h"
#include "voxcart/log.h"
#include "voxcart/pay.h"
#include "voxcart/response.h"
#include "voxcart/sub.h"
#include "voxcart/verify.h"

#include <json-c/json.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 20
#define LIMIT_MAX     100
#define IDEM_TTL      86400
#define NAME_MAX_LEN  200

void merchant_error(struct server_reply *out, int status, const char *code, const char *field,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    server_reply_error(out, status, code, msg);
    if (field && out->body.len > 2) {
        out->body.len -= 2; /* the error object gets a member more: reopen its "}}" */
        vx_buf_appends(&out->body, ",\"field\":\"");
        vx_json_escape(&out->body, field, strlen(field));
        vx_buf_appends(&out->body, "\"}}");
    }
}

/* A resource ID: 1 to 64 of [a-z0-9_] (what a catalog takes), safe in keys, paths and cursors. */
static int id_chars_ok(const char *id, size_t len, int dash)
{
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (dash && c == '-')))
            return 0;
    }
    return 1;
}

static int api_id_ok(const char *id, size_t len)
{
    return id_chars_ok(id, len, 0);
}

/* What a path or a cursor may name: an ID, or an order's ID (o20261202-1a2b3c4d5e). */
static int ref_ok(const char *id, size_t len)
{
    return id_chars_ok(id, len, 1);
}

void merchant_params(struct merchant_call *mc, const char *pattern, const char *url)
{
    const char *p = pattern, *u = url;
    size_t n = 0;
    while (*p && *u && *u != '?') {
        if (*p == '{') {
            size_t seg = strcspn(u, "/?");
            const char *close = strchr(p, '}');
            if (n < MERCHANT_PARAMS) {
                if (!ref_ok(u, seg) || seg >= MERCHANT_PARAM_SZ)
                    mc->bad_param = 1;
                else
                    memcpy(mc->params[n], u, seg);
                n++;
            }
            u += seg;
            p = close ? close + 1 : p + strlen(p);
        } else {
            p++;
            u++;
        }
    }
}

/* --- small pieces --- */

static void reply_json(struct server_reply *out, int status, const char *body, size_t len)
{
    out->status = status;
    out->content_type = "application/json";
    out->body.len = 0;
    vx_buf_append(&out->body, body, len);
}

static void store_failed(struct server_reply *out, const struct vx_store_op *op)
{
    vx_warn("merchant", "store: %s", op->err.msg);
    merchant_error(out, 503, "store_unavailable", NULL, "the store did not answer; try again");
}

static void new_id(const char *prefix, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s_%016llx", prefix, (unsigned long long)vx_wset_tag());
}

static void append_str(struct vx_buf *b, const char *s)
{
    vx_buf_appends(b, "\"");
    vx_json_escape(b, s, strlen(s));
    vx_buf_appends(b, "\"");
}

/* The raw JSON text of a node. */
static void append_raw(struct vx_buf *b, const char *text, const struct vx_jnode *n)
{
    vx_buf_append(b, text + n->start, n->end - n->start);
}

/* The digest an idempotency record is matched by: route, parameters, body. */
static void call_digest(struct merchant_call *mc)
{
    struct vx_buf b;
    unsigned char md[32];
    static const char hex[] = "0123456789abcdef";
    vx_buf_init(&b);
    vx_buf_appendf(&b, "%d\n%s\n%s\n", (int)mc->mop, mc->params[0], mc->params[1]);
    vx_buf_append(&b, mc->body, mc->len);
    vx_sha256(b.data ? b.data : "", b.len, md);
    for (int i = 0; i < 32; i++) {
        mc->body_hash[2 * i] = hex[md[i] >> 4];
        mc->body_hash[2 * i + 1] = hex[md[i] & 15];
    }
    mc->body_hash[64] = '\0';
    vx_buf_release(&b);
}

/* An idempotency record "<digest> <status>\n<body>": the same call is answered by it again. */
static void replay_memo(struct merchant_call *mc, const char *memo, struct server_reply *out)
{
    const char *nl = strchr(memo, '\n');
    long long status = 0;
    char num[8];
    if (strlen(memo) < 66 || memo[64] != ' ' || !nl || nl - memo - 65 >= (long)sizeof(num)) {
        merchant_error(out, 500, "internal", NULL, "unreadable idempotency record");
        return;
    }
    if (memcmp(memo, mc->body_hash, 64) != 0) {
        merchant_error(out, 422, "idempotency_key_reused", "Idempotency-Key",
                       "this key was used with another request");
        return;
    }
    memcpy(num, memo + 65, (size_t)(nl - memo - 65));
    num[nl - memo - 65] = '\0';
    if (vx_parse_ll(num, 100, 599, &status) != 0)
        status = 500;
    reply_json(out, (int)status, nl + 1, strlen(nl + 1));
}

/* --- validation --- */

struct check {
    struct vx_jdoc d;
    const struct vx_jnode *root;
    const char *text;
    struct server_reply *out;
};

static int invalid(struct check *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int invalid(struct check *c, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    merchant_error(c->out, 422, "validation_failed", field, "%s: %s", field, msg);
    return -1;
}

static int check_open(struct check *c, const char *body, size_t len, struct server_reply *out)
{
    struct vx_err e;
    c->out = out;
    c->text = body;
    if (vx_jdoc_parse(&c->d, body, len, &e) != 0) {
        merchant_error(out, 400, "malformed_json", NULL, "the body is not JSON: %s", e.msg);
        return -1;
    }
    c->root = vx_jroot(&c->d);
    if (!c->root || c->root->type != VX_JOBJECT) {
        vx_jdoc_free(&c->d);
        merchant_error(out, 400, "malformed_json", NULL, "the body must be a JSON object");
        return -1;
    }
    return 0;
}

/* Every member of the body is one of known. */
static int check_known(struct check *c, const char *const *known)
{
    for (const struct vx_jnode *m = vx_jfirst(&c->d, c->root); m; m = vx_jnext(&c->d, m)) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], m->key) != 0)
            i++;
        if (!known[i])
            return invalid(c, m->key, "unknown field");
    }
    return 0;
}

/* An optional id member: given and valid, or a new one. */
static int check_id(struct check *c, const char *prefix, char *out, size_t outsz)
{
    const struct vx_jnode *n = vx_jget(&c->d, c->root, "id");
    if (!n) {
        new_id(prefix, out, outsz);
        return 0;
    }
    if (n->type != VX_JSTRING || !api_id_ok(n->str, n->len))
        return invalid(c, "id", "must be 1 to 64 of a-z 0-9 _");
    memcpy(out, n->str, n->len + 1);
    return 0;
}

static int check_currency(struct check *c, const struct vx_jnode *n, const char *field)
{
    if (!n || n->type != VX_JSTRING || n->len != 3 || vx_currency_digits(n->str) < 0)
        return invalid(c, field,
                       "must be an ISO 4217 code this service knows (EUR, USD, GBP, ...)");
    return 0;
}

/*
 * prices: [{"currency":"EUR","amount":350}, ...], each currency once, amounts
 * in minor units; *shop_price is the one in the shop's currency (-1: none).
 */
static int check_prices(struct check *c, const struct vx_jnode *arr, const char *field,
                        const char *shop_currency, int64_t *shop_price, struct vx_buf *doc)
{
    char f[96];
    size_t i = 0;
    *shop_price = -1;
    if (!arr || arr->type != VX_JARRAY || arr->count == 0)
        return invalid(c, field, "must be a non-empty array of {currency, amount}");
    vx_buf_appends(doc, "[");
    for (const struct vx_jnode *p = vx_jfirst(&c->d, arr); p; p = vx_jnext(&c->d, p), i++) {
        const struct vx_jnode *cur = vx_jget(&c->d, p, "currency"),
                              *amt = vx_jget(&c->d, p, "amount");
        int64_t a;
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (p->type != VX_JOBJECT || p->count != 2 || !cur || !amt)
            return invalid(c, f, "must be {currency, amount} and nothing else");
        snprintf(f, sizeof(f), "%s[%zu].currency", field, i);
        if (check_currency(c, cur, f) != 0)
            return -1;
        for (const struct vx_jnode *q = vx_jfirst(&c->d, arr); q != p; q = vx_jnext(&c->d, q)) {
            const char *qc = vx_jget_str(&c->d, q, "currency");
            if (qc && strcmp(qc, cur->str) == 0)
                return invalid(c, f, "'%s' is priced twice", cur->str);
        }
        snprintf(f, sizeof(f), "%s[%zu].amount", field, i);
        if (vx_jint64(amt, &a) != 0 || a < 0 || a > 100000000)
            return invalid(c, f, "must be an integer count of minor units, 0 to 100000000");
        if (strcmp(cur->str, shop_currency) == 0)
            *shop_price = a;
        vx_buf_appendf(doc, "%s{\"currency\":\"%s\",\"amount\":%lld}", i ? "," : "", cur->str,
                       (long long)a);
    }
    vx_buf_appends(doc, "]");
    if (*shop_price < 0)
        return invalid(c, field, "needs a price in the shop's currency %s", shop_currency);
    return 0;
}

/* An array of strings matching ok (NULL: any non-empty string up to 200 bytes). */
static int check_strings(struct check *c, const struct vx_jnode *arr, const char *field,
                         int (*ok)(const char *s, size_t len), const char *what, struct vx_buf *doc)
{
    size_t i = 0;
    char f[96];
    if (arr->type != VX_JARRAY)
        return invalid(c, field, "must be an array of %s", what);
    vx_buf_appends(doc, "[");
    for (const struct vx_jnode *s = vx_jfirst(&c->d, arr); s; s = vx_jnext(&c->d, s), i++) {
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (s->type != VX_JSTRING || s->len == 0 || s->len > NAME_MAX_LEN ||
            (ok && !ok(s->str, s->len)))
            return invalid(c, f, "must be %s", what);
        if (i)
            vx_buf_appends(doc, ",");
        append_str(doc, s->str);
    }
    vx_buf_appends(doc, "]");
    return 0;
}

static int locale_ok(const char *s, size_t len)
{
    return len == 5 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' && s[2] == '-' &&
           s[3] >= 'A' && s[3] <= 'Z' && s[4] >= 'A' && s[4] <= 'Z';
}

/*
 * Runs the catalog's loader over the catalog these pieces make; an error comes
 * back as "c: <path>: <message>" and is answered as the field path without
 * the prefix (products[0].names.de.one -> names.de.one).
 */
static int check_catalog(struct check *c, const char *catalog, const char *strip)
{
    struct vx_catalog *cat = NULL;
    struct vx_err e;
    char field[128];
    const char *path, *msg;
    size_t n;
    if (vx_catalog_parse(catalog, strlen(catalog), "c", &cat, &e) == 0) {
        vx_catalog_free(cat);
        return 0;
    }
    path = strncmp(e.msg, "c: ", 3) == 0 ? e.msg + 3 : e.msg;
    msg = strstr(path, ": ");
    n = msg ? (size_t)(msg - path) : strlen(path);
    if (n >= sizeof(field))
        n = sizeof(field) - 1;
    memcpy(field, path, n);
    field[n] = '\0';
    if (strip && strncmp(field, strip, strlen(strip)) == 0)
        memmove(field, field + strlen(strip), strlen(field + strlen(strip)) + 1);
    return invalid(c, field, "%s", msg ? msg + 2 : "invalid");
}

/* --- shops --- */

static const char *const shop_fields[] = {
    "id",        "name",    "currency",      "locales",
    "skill_ids", "rail",    "environment",   "voice_code_threshold",
    "seller_id", "country", "sandbox_email", "sizes",
    "time_zone", NULL};

/* what the platform's rail names in its Setup and Charge directives */
static const char *const platform_fields[] = {"seller_id", "country", "sandbox_email"};

static int one_of(const char *s, const char *a, const char *b)
{
    return s && (strcmp(s, a) == 0 || strcmp(s, b) == 0);
}

/* The catalog a shop makes with one stand-in product: checks its name and sizes. */
static int check_shop_catalog(struct check *c, const struct vx_jnode *name,
                              const struct vx_jnode *cur, const struct vx_jnode *sizes)
{
    struct vx_buf cat;
    int rc;
    vx_buf_init(&cat);
    vx_buf_appends(&cat, "{\"merchant\":{\"id\":\"shop\",\"name\":");
    append_raw(&cat, c->text, name);
    vx_buf_appends(&cat, ",\"currency\":");
    append_raw(&cat, c->text, cur);
    vx_buf_appends(&cat, "},\"sizes\":");
    if (sizes)
        append_raw(&cat, c->text, sizes);
    else
        vx_buf_appends(&cat, "[]");
    vx_buf_appends(&cat, ",\"products\":[{\"id\":\"x\",\"names\":{");
    for (const struct vx_jnode *l = vx_jfirst(&c->d, name); l; l = vx_jnext(&c->d, l)) {
        append_str(&cat, l->key);
        vx_buf_appends(&cat, ":{\"one\":\"x\"}");
        if (l->next)
            vx_buf_appends(&cat, ",");
    }
    vx_buf_appends(&cat, "},\"price\":0}]}");
    rc = cat.data ? check_catalog(c, cat.data, "merchant.") : -1;
    vx_buf_release(&cat);
    return rc;
}

/*
 * A shop's time zone decides the calendar day of its subscriptions' cycles: an IANA name the
 * system's zoneinfo has (the biller loads the same file).
 */
static int check_zone(struct check *c, const struct vx_jnode *zone)
{
    struct vx_tz *tz = NULL;
    struct vx_err e;
    if (zone->type != VX_JSTRING || zone->len == 0 || zone->len >= sizeof(((struct vx_sub *)0)->tz))
        return invalid(c, "time_zone", "must be an IANA time zone name such as Europe/Berlin");
    if (vx_tz_load(zone->str, &tz, &e) != 0)
        return invalid(c, "time_zone",
                       "'%s' is not a time zone this system knows (an IANA name such as "
                       "Europe/Berlin)",
                       zone->str);
    vx_tz_free(tz);
    return 0;
}

/* Validates a shop body and writes the stored document into doc. */
static int shop_build(struct check *c, const char *id, struct vx_buf *doc)
{
    const struct vx_jnode *name = vx_jget(&c->d, c->root, "name"),
                          *cur = vx_jget(&c->d, c->root, "currency"),
                          *locales = vx_jget(&c->d, c->root, "locales"),
                          *skills = vx_jget(&c->d, c->root, "skill_ids"),
                          *sizes = vx_jget(&c->d, c->root, "sizes"),
                          *vct = vx_jget(&c->d, c->root, "voice_code_threshold"),
                          *zone = vx_jget(&c->d, c->root, "time_zone");
    const char *rail = vx_jget_str(&c->d, c->root, "rail"),
               *env = vx_jget_str(&c->d, c->root, "environment");
    int64_t threshold = -1;

    if (check_known(c, shop_fields) != 0)
        return -1;
    if (!name || name->type != VX_JOBJECT || name->count == 0)
        return invalid(c, "name", "must be an object of language -> name, {\"en\": \"...\"}");
    if (check_currency(c, cur, "currency") != 0)
        return -1;
    if (!locales || locales->count == 0)
        return invalid(c, "locales", "must be a non-empty array of locales (en-US, de-DE, ...)");
    if (vx_jget(&c->d, c->root, "rail") && !one_of(rail, "provider", "platform"))
        return invalid(c, "rail", "must be provider or platform");
    for (size_t i = 0; i < 3; i++) {
        const struct vx_jnode *v = vx_jget(&c->d, c->root, platform_fields[i]);
        if (v && (v->type != VX_JSTRING || v->len == 0 || v->len > 128))
            return invalid(c, platform_fields[i], "must be a string of 1 to 128 characters");
    }
    if (rail && strcmp(rail, "platform") == 0 &&
        (!vx_jget_str(&c->d, c->root, "seller_id") || !vx_jget_str(&c->d, c->root, "country")))
        return invalid(c, vx_jget_str(&c->d, c->root, "seller_id") ? "country" : "seller_id",
                       "required with rail platform (the Setup directive names it)");
    if (vx_jget(&c->d, c->root, "environment") && !one_of(env, "sandbox", "production"))
        return invalid(c, "environment", "must be sandbox or production");
    if (vct && vct->type != VX_JNULL &&
        (vx_jint64(vct, &threshold) != 0 || threshold < 0 || threshold > 100000000))
        return invalid(c, "voice_code_threshold",
                       "must be null or an integer count of minor units, 0 to 100000000");
    if (sizes && sizes->type != VX_JARRAY)
        return invalid(c, "sizes", "must be an array of {id, names}");
    if (check_shop_catalog(c, name, cur, sizes) != 0)
        return -1;
    if (zone && check_zone(c, zone) != 0)
        return -1;
    vx_buf_appends(doc, "{\"id\":");
    append_str(doc, id);
    vx_buf_appends(doc, ",\"name\":");
    append_raw(doc, c->text, name);
    vx_buf_appendf(doc, ",\"currency\":\"%s\",\"locales\":", cur->str);
    if (check_strings(c, locales, "locales", locale_ok, "a locale such as en-US", doc) != 0)
        return -1;
    vx_buf_appends(doc, ",\"skill_ids\":");
    if (skills && check_strings(c, skills, "skill_ids", NULL, "a skill ID", doc) != 0)
        return -1;
    if (!skills)
        vx_buf_appends(doc, "[]");
    vx_buf_appendf(doc, ",\"rail\":\"%s\",\"environment\":\"%s\",", rail ? rail : "provider",
                   env ? env : "sandbox");
    for (size_t i = 0; i < 3; i++) {
        const char *v = vx_jget_str(&c->d, c->root, platform_fields[i]);
        if (v) {
            vx_buf_appendf(doc, "\"%s\":", platform_fields[i]);
            append_str(doc, v);
            vx_buf_appends(doc, ",");
        }
    }
    vx_buf_appends(doc, "\"voice_code_threshold\":");
    if (!vct) /* absent: 100 in the shop's currency; null: never asked */
        threshold = vx_voice_code_default(cur->str);
    if (threshold >= 0)
        vx_buf_appendf(doc, "%lld", (long long)threshold);
    else
        vx_buf_appends(doc, "null");
    vx_buf_appends(doc, ",\"sizes\":");
    if (sizes)
        append_raw(doc, c->text, sizes);
    else
        vx_buf_appends(doc, "[]");
    vx_buf_appends(doc, ",\"time_zone\":");
    append_str(doc, zone ? zone->str : "UTC");
    vx_buf_appendf(doc, ",\"created_at\":%lld}", (long long)vx_now());
    return 0;
}

/* --- products --- */

static const char *const product_fields[] = {"id",       "names",  "prices", "sizes",
                                             "position", "active", NULL};

/*
 * Validates a product against its shop (shop_json: the stored document) and
 * writes the stored document into doc.
 */
static int product_build(struct check *c, const char *shop_json, const char *shop_id,
                         const char *id, struct vx_buf *doc)
{
    const struct vx_jnode *names = vx_jget(&c->d, c->root, "names"),
                          *prices = vx_jget(&c->d, c->root, "prices"),
                          *sizes = vx_jget(&c->d, c->root, "sizes"),
                          *active = vx_jget(&c->d, c->root, "active"),
                          *position = vx_jget(&c->d, c->root, "position");
    struct vx_jdoc shop;
    int64_t pos = -1;
    const struct vx_jnode *sroot;
    struct vx_buf cat;
    char currency[4], f[64];
    int64_t price = -1;
    size_t i = 0;
    int rc = -1;

    if (check_known(c, product_fields) != 0)
        return -1;
    if (!names || names->type != VX_JOBJECT)
        return invalid(c, "names", "must be an object of language -> {one, other, synonyms}");
    if (!prices && !sizes)
        return invalid(c, "prices", "a product needs prices, or sizes with prices");
    if (active && active->type != VX_JTRUE && active->type != VX_JFALSE)
        return invalid(c, "active", "must be true or false");
    if (position && (vx_jint64(position, &pos) != 0 || pos < 0 || pos > 100000))
        return invalid(c, "position", "must be an integer 0 to 100000 (the order the skill lists)");
    if (sizes && (sizes->type != VX_JARRAY || sizes->count == 0))
        return invalid(c, "sizes", "must be a non-empty array of {size, prices}");
    if (vx_jdoc_parse(&shop, shop_json, strlen(shop_json), NULL) != 0) {
        merchant_error(c->out, 500, "internal", NULL, "unreadable shop document");
        return -1;
    }
    sroot = vx_jroot(&shop);
    vx_strlcpy(currency,
               vx_jget_str(&shop, sroot, "currency") ? vx_jget_str(&shop, sroot, "currency") : "",
               sizeof(currency));
    vx_buf_init(&cat);
    vx_buf_appends(doc, "{\"id\":");
    append_str(doc, id);
    vx_buf_appends(doc, ",\"shop_id\":");
    append_str(doc, shop_id);
    vx_buf_appends(doc, ",\"names\":");
    append_raw(doc, c->text, names);
    /* the catalog this product makes with its shop, in the shop's currency */
    vx_buf_appends(&cat, "{\"merchant\":{\"id\":\"shop\",\"name\":");
    append_raw(&cat, shop_json, vx_jget(&shop, sroot, "name"));
    vx_buf_appendf(&cat, ",\"currency\":\"%s\"},\"sizes\":", currency);
    append_raw(&cat, shop_json, vx_jget(&shop, sroot, "sizes"));
    vx_buf_appends(&cat, ",\"products\":[{\"id\":");
    append_str(&cat, id);
    vx_buf_appends(&cat, ",\"names\":");
    append_raw(&cat, c->text, names);
    if (prices) {
        vx_buf_appends(doc, ",\"prices\":");
        if (check_prices(c, prices, "prices", currency, &price, doc) != 0)
            goto out;
        vx_buf_appendf(&cat, ",\"price\":%lld", (long long)price);
    }
    if (sizes) {
        vx_buf_appends(doc, ",\"sizes\":[");
        vx_buf_appends(&cat, ",\"sizes\":{");
        for (const struct vx_jnode *s = vx_jfirst(&c->d, sizes); s; s = vx_jnext(&c->d, s), i++) {
            const char *size = vx_jget_str(&c->d, s, "size");
            int64_t sp;
            snprintf(f, sizeof(f), "sizes[%zu]", i);
            if (s->type != VX_JOBJECT || s->count != 2 || !size) {
                invalid(c, f, "must be {size, prices} and nothing else");
                goto out;
            }
            snprintf(f, sizeof(f), "sizes[%zu].prices", i);
            vx_buf_appendf(doc, "%s{\"size\":", i ? "," : "");
            append_str(doc, size);
            vx_buf_appends(doc, ",\"prices\":");
            if (check_prices(c, vx_jget(&c->d, s, "prices"), f, currency, &sp, doc) != 0)
                goto out;
            vx_buf_appends(doc, "}");
            vx_buf_appendf(&cat, "%s", i ? "," : "");
            append_str(&cat, size);
            vx_buf_appendf(&cat, ":{\"price\":%lld}", (long long)sp);
        }
        vx_buf_appends(doc, "]");
        vx_buf_appends(&cat, "}");
    }
    vx_buf_appends(&cat, "}]}");
    if (!cat.data || check_catalog(c, cat.data, "products[0].") != 0)
        goto out;
    if (pos >= 0)
        vx_buf_appendf(doc, ",\"position\":%lld", (long long)pos);
    vx_buf_appendf(doc, ",\"active\":%s,\"updated_at\":%lld}",
                   active && active->type == VX_JFALSE ? "false" : "true", (long long)vx_now());
    rc = 0;
out:
    vx_buf_release(&cat);
    vx_jdoc_free(&shop);
    return rc;
}

/* --- the calls --- */

static char *coll_name(const struct merchant_call *mc, char *buf, size_t sz)
{
    switch (mc->mop) {
    case MOP_PRODUCTS_LIST:
    case MOP_PRODUCTS_CREATE:
    case MOP_PRODUCT_GET:
    case MOP_PRODUCT_PUT:
        snprintf(buf, sz, "products:%s", mc->params[0]);
        break;
    case MOP_PLANS_LIST:
    case MOP_PLANS_CREATE:
    case MOP_PLAN_GET:
        snprintf(buf, sz, "plans:%s", mc->params[0]);
        break;
    case MOP_ORDERS_LIST:
    case MOP_ORDER_GET:
    case MOP_REFUND_CREATE:
    case MOP_AGREEMENT_GET:
    case MOP_AGREEMENT_CLOSE:
        snprintf(buf, sz, "orders:%s", mc->params[0]);
        break;
    case MOP_EVENTS_LIST:
        snprintf(buf, sz, "events");
        break;
    case MOP_SIM_GET:
    case MOP_SIM_PUT:
    case MOP_SIM_DELETE:
        snprintf(buf, sz, "simulations");
        break;
    case MOP_HOOKS_LIST:
    case MOP_HOOKS_CREATE:
        snprintf(buf, sz, "webhook_endpoints");
        break;
    case MOP_DELIVERIES_LIST:
        snprintf(buf, sz, "deliveries:%s", mc->params[0]);
        break;
    case MOP_SUBS_LIST:
    case MOP_SUBS_CREATE:
    case MOP_SUB_GET:
    case MOP_SUB_PAUSE:
    case MOP_SUB_RESUME:
    case MOP_SUB_CANCEL:
    case MOP_SUB_BILL_NOW:
    case MOP_SUB_SKIP:
        snprintf(buf, sz, "subs:%s", mc->params[0]);
        break;
    default:
        snprintf(buf, sz, "shops");
        break;
    }
    return buf;
}

/* A page of a collection: {"data":[...],"next_cursor":"id"|null}. */
static void list_answer(struct merchant_call *mc, struct server_reply *out)
{
    size_t n = mc->op.n_ids / 2, shown = n > (size_t)mc->limit ? (size_t)mc->limit : n;
    out->status = 200;
    out->content_type = "application/json";
    out->body.len = 0;
    vx_buf_appends(&out->body, "{\"data\":[");
    for (size_t i = 0; i < shown; i++) {
        if (i)
            vx_buf_appends(&out->body, ",");
        vx_buf_appends(&out->body, mc->op.ids[2 * i + 1]);
    }
    vx_buf_appends(&out->body, "],\"next_cursor\":");
    if (n > shown)
        append_str(&out->body, mc->op.ids[2 * (shown - 1)]);
    else
        vx_buf_appends(&out->body, "null");
    vx_buf_appends(&out->body, "}");
}

enum {
    ST_BEGIN,
    ST_IDEM,
    ST_PARENT,
    ST_WRITE,
    ST_READ,
    ST_REFS,
    ST_FAN,
    ST_REF,
    ST_ORDER,
    ST_LEDGER,
    ST_RREF,    /* a refund: whose the order is */
    ST_RORDER,  /* the order as it is now */
    ST_RPRE,    /* the attempt recorded on the order before the provider hears of it */
    ST_RCALL,   /* the provider's answer */
    ST_RPOST,   /* the refund recorded on the order: state, refunded, ledger */
    ST_RDOC,    /* ... as a resource of the shop, with the POST's idempotency record */
    ST_REVENT,  /* ... and its event */
    ST_HOOKREG, /* a new webhook endpoint into the runner's registry */
    ST_AREF,    /* a billing agreement: whose the order is */
    ST_APROF,   /* ... the customer's profile */
    ST_ACALL,   /* ... the provider closed it */
    ST_ASAVE,   /* ... recorded as closed in the profile */
    ST_AEVENT,  /* ... and its event */
    ST_SPLAN,   /* a new subscription: its plan */
    ST_SZADD,   /* ... its member in the schedule */
    ST_SWRITE,  /* ... the document and its ledger entry in the customer's slot */
    ST_SREAD,   /* ... read back as stored */
    ST_SINDEX,  /* ... the shop's index */
    ST_SEVENT,  /* ... (and every change's) event with the idempotency record */
    ST_SREFS,   /* a page of the shop's subscriptions */
    ST_SFAN,    /* ... each read from its customer's slot */
    ST_XREF,    /* a subscription: whose it is */
    ST_GSUB,    /* ... read */
    ST_GLEDGER, /* ... its ledger */
    ST_XSUB,    /* a change: the subscription as it is */
    ST_XWRITE,  /* ... the change, guarded on the fence */
    ST_XZADD,   /* ... the schedule at the new due time */
    ST_XREAD    /* ... the document as stored now */
};

static enum merchant_wait wait_store(struct merchant_call *mc, int step, struct vx_store_op **op)
{
    mc->step = step;
    *op = &mc->op;
    return MERCHANT_WAIT_STORE;
}

/* --- plans: what a subscription bills, every interval --- */

static const char *const plan_fields[] = {"id",       "name",       "interval", "amount",
                                          "currency", "trial_days", "active",   NULL};

/* The largest count per unit: a plan bills at least once every five years. */
static long long interval_max(const char *unit)
{
    return strcmp(unit, "day") == 0     ? 1825
           : strcmp(unit, "week") == 0  ? 260
           : strcmp(unit, "month") == 0 ? 60
           : strcmp(unit, "year") == 0  ? 5
                                        : 0;
}

static int plan_build(struct check *c, const char *shop, const char *id, struct vx_buf *doc)
{
    const struct vx_jnode *name = vx_jget(&c->d, c->root, "name"),
                          *iv = vx_jget(&c->d, c->root, "interval"),
                          *amount = vx_jget(&c->d, c->root, "amount"),
                          *cur = vx_jget(&c->d, c->root, "currency"),
                          *trial = vx_jget(&c->d, c->root, "trial_days"),
                          *active = vx_jget(&c->d, c->root, "active"), *count;
    const char *unit;
    int64_t a, n, t = -1;
    if (check_known(c, plan_fields) != 0)
        return -1;
    if (!name || name->type != VX_JOBJECT || name->count == 0)
        return invalid(c, "name", "must be an object of language -> name, {\"en\": \"...\"}");
    for (const struct vx_jnode *l = vx_jfirst(&c->d, name); l; l = vx_jnext(&c->d, l))
        if (l->type != VX_JSTRING || l->len == 0 || l->len > NAME_MAX_LEN)
            return invalid(c, "name", "every name must be a non-empty string");
    if (!iv || iv->type != VX_JOBJECT || iv->count != 2)
        return invalid(c, "interval", "must be {unit, count}");
    unit = vx_jget_str(&c->d, iv, "unit");
    if (!unit || !interval_max(unit))
        return invalid(c, "interval.unit", "must be day, week, month or year");
    count = vx_jget(&c->d, iv, "count");
    if (!count || vx_jint64(count, &n) != 0 || n < 1 || n > interval_max(unit))
        return invalid(c, "interval.count", "must be an integer 1 to %lld for %s",
                       interval_max(unit), unit);
    if (!amount || vx_jint64(amount, &a) != 0 || a < 1 || a > 100000000)
        return invalid(c, "amount", "must be an integer count of minor units, 1 to 100000000");
    if (check_currency(c, cur, "currency") != 0)
        return -1;
    if (trial && trial->type != VX_JNULL && (vx_jint64(trial, &t) != 0 || t < 1 || t > 365))
        return invalid(c, "trial_days", "must be null or an integer 1 to 365");
    if (active && active->type != VX_JTRUE && active->type != VX_JFALSE)
        return invalid(c, "active", "must be true or false");
    vx_buf_appends(doc, "{\"id\":");
    append_str(doc, id);
    vx_buf_appends(doc, ",\"shop_id\":");
    append_str(doc, shop);
    vx_buf_appends(doc, ",\"name\":");
    append_raw(doc, c->text, name);
    vx_buf_appendf(doc,
                   ",\"interval\":{\"unit\":\"%s\",\"count\":%lld},\"amount\":%lld,\"currency\":"
                   "\"%s\",\"trial_days\":",
                   unit, (long long)n, (long long)a, cur->str);
    if (t > 0)
        vx_buf_appendf(doc, "%lld", (long long)t);
    else
        vx_buf_appends(doc, "null");
    vx_buf_appendf(doc, ",\"active\":%s,\"created_at\":%lld}",
                   active && active->type == VX_JFALSE ? "false" : "true", (long long)vx_now());
    return 0;
}

/* --- webhook endpoints (webhook.c delivers) --- */

static const char *const hook_fields[] = {"id", "url", "description", NULL};

static int url_ok(const char *u, size_t len)
{
    if (len > 500 || !(strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
            return 0;
    return strlen(u) > 8;
}

/* An endpoint: its URL, a description, and a signing secret of its own made here. */
static int hook_build(struct check *c, const char *id, struct vx_buf *doc)
{
    const struct vx_jnode *url = vx_jget(&c->d, c->root, "url"),
                          *desc = vx_jget(&c->d, c->root, "description");
    if (check_known(c, hook_fields) != 0)
        return -1;
    if (!url || url->type != VX_JSTRING || !url_ok(url->str, url->len))
        return invalid(c, "url", "must be an http:// or https:// URL of at most 500 characters");
    if (desc && (desc->type != VX_JSTRING || desc->len > NAME_MAX_LEN))
        return invalid(c, "description", "must be a string of at most %d bytes", NAME_MAX_LEN);
    vx_buf_appends(doc, "{\"id\":");
    append_str(doc, id);
    vx_buf_appends(doc, ",\"url\":");
    append_str(doc, url->str);
    vx_buf_appends(doc, ",\"description\":");
    append_str(doc, desc ? desc->str : "");
    vx_buf_appendf(doc, ",\"secret\":\"whsec_%016llx%016llx\",\"created_at\":%lld}",
                   (unsigned long long)vx_wset_tag(), (unsigned long long)vx_wset_tag(),
                   (long long)vx_now());
    return 0;
}

/* --- the sandbox's simulation code for a shop's next charge --- */

/* The codes of Create Charge the provider's sandbox simulates (payments.md section 5). */
static const char *const sim_codes[] = {"SoftDeclined",           "HardDeclined",
                                        "AmazonRejected",         "TransactionTimedOut",
                                        "ProcessingFailure",      "MFAFailed",
                                        "PeriodicAmountExceeded", "TransactionAmountExceeded",
                                        "CaptureInitiated",       NULL};

static int sim_build(struct check *c, const char *shop_json, struct vx_buf *doc)
{
    static const char *const fields[] = {"code", NULL};
    const char *code = vx_jget_str(&c->d, c->root, "code"), *env;
    struct vx_jdoc shop;
    struct vx_err e;
    int known = 0, sandbox;
    if (check_known(c, fields) != 0)
        return -1;
    for (size_t i = 0; code && sim_codes[i]; i++)
        known |= strcmp(code, sim_codes[i]) == 0;
    if (!known)
        return invalid(c, "code",
                       "must be one of SoftDeclined, HardDeclined, AmazonRejected, "
                       "TransactionTimedOut, ProcessingFailure, MFAFailed, PeriodicAmountExceeded, "
                       "TransactionAmountExceeded, CaptureInitiated");
    if (vx_jdoc_parse(&shop, shop_json, strlen(shop_json), &e) != 0)
        return invalid(c, "code", "the shop cannot be read");
    env = vx_jget_str(&shop, vx_jroot(&shop), "environment");
    sandbox = !env || strcmp(env, "sandbox") == 0;
    vx_jdoc_free(&shop);
    if (!sandbox) {
        merchant_error(c->out, 409, "shop_not_sandbox", "code",
                       "code: only a sandbox shop simulates outcomes; this one is in production");
        return -1;
    }
    vx_buf_appends(doc, "{\"code\":");
    append_str(doc, code);
    vx_buf_appendf(doc, ",\"set_at\":%lld}", (long long)vx_now());
    return 0;
}

/* Validates the body (against the parent read in mc->parent) and sends the write. */
static enum merchant_wait write_doc(struct merchant_call *mc, struct server_reply *out,
                                    struct vx_store_op **op)
{
    struct check c;
    char *id = mc->id;
    struct vx_mdoc_put p;
    int rc,
        create = mc->mop != MOP_PRODUCT_PUT && mc->mop != MOP_SHOP_PUT && mc->mop != MOP_SIM_PUT;
    const char *prefix = mc->mop == MOP_SHOPS_CREATE   ? "shop"
                         : mc->mop == MOP_HOOKS_CREATE ? "we"
                         : mc->mop == MOP_PLANS_CREATE ? "plan"
                                                       : "prod";

    if (check_open(&c, mc->body, mc->len, out) != 0)
        return MERCHANT_DONE;
    rc = create ? check_id(&c, prefix, id, sizeof(mc->id))
                : vx_strlcpy(id, mc->mop == MOP_PRODUCT_PUT ? mc->params[1] : mc->params[0],
                             sizeof(mc->id));
    if (rc == 0 && !create && mc->mop != MOP_SIM_PUT) {
        const char *given = vx_jget_str(&c.d, c.root, "id");
        if (vx_jget(&c.d, c.root, "id") && (!given || strcmp(given, id) != 0))
            rc = invalid(&c, "id", "must be the id of the path, '%s', or left out", id);
    }
    mc->doc.len = 0;
    if (rc == 0)
        rc = mc->mop == MOP_SHOPS_CREATE || mc->mop == MOP_SHOP_PUT ? shop_build(&c, id, &mc->doc)
             : mc->mop == MOP_SIM_PUT      ? sim_build(&c, mc->parent, &mc->doc)
             : mc->mop == MOP_HOOKS_CREATE ? hook_build(&c, id, &mc->doc)
             : mc->mop == MOP_PLANS_CREATE
                 ? plan_build(&c, mc->params[0], id, &mc->doc)
                 : product_build(&c, mc->parent, mc->params[0], id, &mc->doc);
    vx_jdoc_free(&c.d);
    if (rc != 0)
        return MERCHANT_DONE;
    if (!mc->doc.data) {
        merchant_error(out, 500, "internal", NULL, "out of memory");
        return MERCHANT_DONE;
    }
    mc->memo.len = 0;
    vx_buf_appendf(&mc->memo, "%s %d\n", mc->body_hash, create ? 201 : 200);
    vx_buf_append(&mc->memo, mc->doc.data, mc->doc.len);
    memset(&p, 0, sizeof(p));
    p.merchant = mc->who.merchant;
    p.coll = coll_name(mc, mc->coll, sizeof(mc->coll));
    p.id = id;
    p.doc = mc->doc.data;
    p.mode = create ? VX_MDOC_CREATE : mc->mop == MOP_SIM_PUT ? VX_MDOC_UPSERT : VX_MDOC_REPLACE;
    if (mc->idem_key[0] && mc->memo.data) {
        p.idem_key = mc->idem_key;
        p.idem_value = mc->memo.data;
        p.idem_ttl = IDEM_TTL;
    }
    if (mc->mop == MOP_PRODUCTS_CREATE || mc->mop == MOP_PRODUCT_PUT ||
        mc->mop == MOP_PLANS_CREATE || mc->mop == MOP_SIM_PUT) {
        p.parent_coll = "shops";
        p.parent_id = mc->params[0];
    }
    if (p.parent_coll || mc->mop == MOP_SHOP_PUT)
        p.version_field = mc->params[0]; /* the shop's catalog version: voxcartd reloads it */
    vx_store_op_mdoc_put(&mc->op, &p);
    return wait_store(mc, ST_WRITE, op);
}

static enum merchant_wait after_write(struct merchant_call *mc, struct server_reply *out)
{
    int create = mc->mop == MOP_SHOPS_CREATE || mc->mop == MOP_PRODUCTS_CREATE ||
                 mc->mop == MOP_HOOKS_CREATE || mc->mop == MOP_PLANS_CREATE;
    switch (mc->op.rc) {
    case 0:
        if (mc->mop == MOP_PRODUCTS_CREATE || mc->mop == MOP_PRODUCT_PUT ||
            mc->mop == MOP_PLANS_CREATE || mc->mop == MOP_SHOP_PUT || mc->mop == MOP_SIM_PUT ||
            mc->mop == MOP_SIM_DELETE)
            voice_catalog_changed();
        if (mc->mop == MOP_HOOKS_CREATE && mc->step == ST_WRITE) {
            /* the runner's registry: after the endpoint, idempotently */
            vx_store_op_release(&mc->op);
            vx_store_op_hooks_add(&mc->op, mc->who.merchant, mc->id);
            mc->step = ST_HOOKREG;
            return MERCHANT_WAIT_STORE;
        }
        reply_json(out, create || mc->mop == MOP_REFUND_CREATE ? 201 : 200, mc->doc.data,
                   mc->doc.len);
        break;
    case VX_EEXISTS: /* the same key won a race with this one */
        if (mc->op.json)
            replay_memo(mc, mc->op.json, out);
        else
            store_failed(out, &mc->op);
        break;
    case VX_ECONFLICT:
        merchant_error(out, 409, "already_exists", "id", "id: a resource with this id exists");
        break;
    case VX_ENOTFOUND:
        merchant_error(out, 404, "not_found", NULL, "no such %s",
                       mc->op.guard == 1 ? "shop" : "resource");
        break;
    default:
        store_failed(out, &mc->op);
        break;
    }
    return MERCHANT_DONE;
}

/* --- orders: the shop's index says whose each is; the order lives in its customer's slot --- */

/* skill and user of an index entry {"skill","user","created"}; 0 or -1. */
static int ref_parse(const char *json, char *skill, size_t ssz, char *user, size_t usz)
{
    struct vx_jdoc d;
    const char *sk, *us;
    int rc = -1;
    if (!json || vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return -1;
    sk = vx_jget_str(&d, vx_jroot(&d), "skill");
    us = vx_jget_str(&d, vx_jroot(&d), "user");
    if (sk && us && vx_strlcpy(skill, sk, ssz) == 0 && vx_strlcpy(user, us, usz) == 0)
        rc = 0;
    vx_jdoc_free(&d);
    return rc;
}

/* How a document of a customer's slot is read (vx_store_op_order_get, vx_store_op_sub_get). */
typedef int (*slot_get_fn)(struct vx_store_op *op, const char *skill, const char *user,
                           const char *id);
/* Whether a document read belongs in the answer (a list's filters). */
typedef int (*fan_match_fn)(const struct merchant_call *mc, const char *json);

/* A page of an index (orders, subscriptions): every document of it read at once. */
static enum merchant_wait index_fan(struct merchant_call *mc, struct server_reply *out,
                                    slot_get_fn get, int next)
{
    size_t n = mc->op.n_ids / 2;
    if (n > (size_t)mc->limit)
        n = (size_t)mc->limit;
    if (n == 0) {
        list_answer(mc, out);
        return MERCHANT_DONE;
    }
    mc->fan = calloc(n, sizeof(*mc->fan));
    if (!mc->fan) {
        merchant_error(out, 500, "internal", NULL, "out of memory");
        return MERCHANT_DONE;
    }
    mc->n_fan = n;
    for (size_t i = 0; i < n; i++) {
        char skill[256] = "", user[256] = "";
        ref_parse(mc->op.ids[2 * i + 1], skill, sizeof(skill), user, sizeof(user));
        get(&mc->fan[i], skill, user, mc->op.ids[2 * i]);
    }
    mc->step = next;
    return MERCHANT_WAIT_MANY;
}

/* The page: the documents read (those match takes; NULL: all), the cursor after the index's. */
static void fan_answer(struct merchant_call *mc, struct server_reply *out, fan_match_fn match)
{
    size_t shown = 0, n = mc->op.n_ids / 2;
    for (size_t i = 0; i < mc->n_fan; i++) {
        if (mc->fan[i].rc != 0 && mc->fan[i].rc != VX_ENOTFOUND) {
            store_failed(out, &mc->fan[i]);
            return;
        }
    }
    out->status = 200;
    out->content_type = "application/json";
    out->body.len = 0;
    vx_buf_appends(&out->body, "{\"data\":[");
    for (size_t i = 0; i < mc->n_fan; i++) {
        if (mc->fan[i].rc != 0)
            continue; /* indexed, but gone (a customer's data deleted) */
        if (match && !match(mc, mc->fan[i].json))
            continue;
        if (shown++)
            vx_buf_appends(&out->body, ",");
        vx_buf_appends(&out->body, mc->fan[i].json);
    }
    vx_buf_appends(&out->body, "],\"next_cursor\":");
    if (n > mc->n_fan)
        append_str(&out->body, mc->op.ids[2 * (mc->n_fan - 1)]);
    else
        vx_buf_appends(&out->body, "null");
    vx_buf_appends(&out->body, "}");
}

/*
 * A document (mc->parent) with its ledger (mc->op's entries, oldest first) into out, left open
 * for more members: {...the document's members..., "ledger":[...]. 0, or -1 answered.
 */
static int doc_with_ledger(struct merchant_call *mc, struct server_reply *out, const char *what)
{
    size_t len = strlen(mc->parent);
    out->status = 200;
    out->content_type = "application/json";
    out->body.len = 0;
    while (len > 0 && mc->parent[len - 1] != '}')
        len--;
    if (len < 2) {
        merchant_error(out, 500, "internal", NULL, "unreadable %s document", what);
        return -1;
    }
    vx_buf_append(&out->body, mc->parent, len - 1);
    vx_buf_appends(&out->body, len > 2 ? ",\"ledger\":[" : "\"ledger\":[");
    for (size_t i = 0; i < mc->op.n_ids; i++) {
        if (i)
            vx_buf_appends(&out->body, ",");
        vx_buf_appends(&out->body, mc->op.ids[i]);
    }
    vx_buf_appends(&out->body, "]");
    return 0;
}

/* The order with its ledger: {...the order's members..., "ledger":[entries, oldest first]}. */
static void order_answer(struct merchant_call *mc, struct server_reply *out)
{
    if (doc_with_ledger(mc, out, "order") == 0)
        vx_buf_appends(&out->body, "}");
}

/* 0 when the op read what it looked for; else the call is answered (404 naming what, or 503). */
static int read_ok(struct merchant_call *mc, struct server_reply *out, const char *what)
{
    if (mc->op.rc == VX_ENOTFOUND) {
        merchant_error(out, 404, "not_found", NULL, "no such %s", what);
        return -1;
    }
    if (mc->op.rc != 0) {
        store_failed(out, &mc->op);
        return -1;
    }
    return 0;
}

/* The order's index entry is in: whose the order is, in mc->skill and mc->user; else -1. */
static int ref_read(struct merchant_call *mc, struct server_reply *out)
{
    if (read_ok(mc, out, "order") != 0)
        return -1;
    if (ref_parse(mc->op.json, mc->skill, sizeof(mc->skill), mc->user, sizeof(mc->user))) {
        merchant_error(out, 500, "internal", NULL, "unreadable order index entry");
        return -1;
    }
    vx_store_op_release(&mc->op);
    return 0;
}

/* ... then the order itself, from its customer's slot. */
static enum merchant_wait ref_to_order(struct merchant_call *mc, struct server_reply *out,
                                       struct vx_store_op **op, int next)
{
    if (ref_read(mc, out) != 0)
        return MERCHANT_DONE;
    vx_store_op_order_get(&mc->op, mc->skill, mc->user, mc->params[1]);
    return wait_store(mc, next, op);
}

static enum merchant_wait order_step(struct merchant_call *mc, struct server_reply *out,
                                     struct vx_store_op **op)
{
    if (mc->step == ST_REF)
        return ref_to_order(mc, out, op, ST_ORDER);
    if (read_ok(mc, out, "order") != 0)
        return MERCHANT_DONE;
    switch (mc->step) {
    case ST_ORDER:
        mc->parent = mc->op.json;
        mc->op.json = NULL;
        vx_store_op_release(&mc->op);
        vx_store_op_ledger(&mc->op, mc->skill, mc->user, mc->params[1]);
        return wait_store(mc, ST_LEDGER, op);
    default:
        order_answer(mc, out);
        return MERCHANT_DONE;
    }
}

/* --- the event log --- */

int merchant_event_op(struct vx_store_op *op, struct merchant_event *ev, const char *merchant,
                      const char *type, int64_t at_ms, const char *about, const char *shop,
                      const char *data_json)
{
    return merchant_event_idem_op(op, ev, merchant, type, at_ms, about, shop, data_json, NULL,
                                  NULL);
}

int merchant_event_idem_op(struct vx_store_op *op, struct merchant_event *ev, const char *merchant,
                           const char *type, int64_t at_ms, const char *about, const char *shop,
                           const char *data_json, const char *idem_key, const char *idem_value)
{
    struct vx_mdoc_put p;
    snprintf(ev->id, sizeof(ev->id), "evt_%013lld_%.64s", (long long)at_ms, about);
    for (char *c = ev->id; *c; c++)
        if (*c == '-')
            *c = '_'; /* order IDs carry a dash; event IDs are IDs like the others */
    vx_buf_release(&ev->doc);
    vx_buf_appends(&ev->doc, "{\"id\":");
    append_str(&ev->doc, ev->id);
    vx_buf_appends(&ev->doc, ",\"type\":");
    append_str(&ev->doc, type);
    vx_buf_appendf(&ev->doc, ",\"created_at\":%lld,\"shop_id\":", (long long)at_ms);
    append_str(&ev->doc, shop);
    vx_buf_appends(&ev->doc, ",\"data\":");
    vx_buf_appends(&ev->doc, data_json);
    vx_buf_appends(&ev->doc, "}");
    if (!ev->doc.data)
        return 0;
    memset(&p, 0, sizeof(p));
    p.merchant = merchant;
    p.coll = "events";
    p.id = ev->id;
    p.doc = ev->doc.data;
    p.mode = VX_MDOC_CREATE; /* there already: recorded before, nothing to change */
    p.sequenced = 1;         /* the log reads in the order events were written */
    p.idem_key = idem_key && *idem_key ? idem_key : NULL;
    p.idem_value = idem_value;
    p.idem_ttl = IDEM_TTL;
    return vx_store_op_mdoc_put(op, &p);
}

/* --- refunds: in full or in part, never above what was captured, through the provider --- */

static const char *const refund_fields[] = {"amount", "currency", NULL};

/* The body: {"amount": minor units > 0, "currency": optional, the order's}. */
static int refund_body(struct merchant_call *mc, struct server_reply *out)
{
    struct check c;
    const struct vx_jnode *amount, *cur;
    int rc = 0;
    if (check_open(&c, mc->body, mc->len, out) != 0)
        return -1;
    amount = vx_jget(&c.d, c.root, "amount");
    cur = vx_jget(&c.d, c.root, "currency");
    mc->refund = calloc(1, sizeof(*mc->refund));
    if (!mc->refund)
        rc = -1;
    else if (check_known(&c, refund_fields) != 0)
        rc = -1;
    else if (!amount || vx_jint64(amount, &mc->refund->amount) != 0 || mc->refund->amount < 1 ||
             mc->refund->amount > 100000000)
        rc = invalid(&c, "amount", "must be an integer count of minor units, 1 to 100000000");
    else if (cur && check_currency(&c, cur, "currency") != 0)
        rc = -1;
    else if (cur)
        memcpy(mc->refund->currency, cur->str, 4);
    vx_jdoc_free(&c.d);
    if (rc != 0 && !mc->refund)
        merchant_error(out, 500, "internal", NULL, "out of memory");
    if (mc->refund)
        vx_buf_init(&mc->refund->entry);
    return rc;
}

/* The provider's endpoints for an order or agreement: the live ones for a production shop's. */
static struct vx_provider *merchant_provider(const struct merchant_call *mc, int live)
{
    return live ? mc->server->live : mc->server->provider;
}

/* The order's members a refund needs; -1 when it is not an order that was paid. */
static int refund_read_order(struct merchant_refund *r, const char *json)
{
    struct vx_jdoc d;
    const struct vx_jnode *o;
    const char *state, *cur, *charge;
    int rc = -1;
    if (!json || vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return -1;
    o = vx_jroot(&d);
    state = vx_jget_str(&d, o, "state");
    cur = vx_jget_str(&d, o, "currency");
    charge = vx_jget_str(&d, o, "charge_id");
    r->live = vx_jget_str(&d, o, "environment") &&
              strcmp(vx_jget_str(&d, o, "environment"), "production") == 0;
    r->captured = 0;
    r->refunded = 0;
    vx_jint64(vx_jget(&d, o, "captured"), &r->captured);
    vx_jint64(vx_jget(&d, o, "refunded"), &r->refunded);
    if (state && cur && strlen(cur) == 3) {
        vx_strlcpy(r->state, state, sizeof(r->state));
        if (!r->currency[0] || r->sent)
            memcpy(r->currency, cur, 4);
        else if (strcmp(r->currency, cur) != 0)
            r->currency[0] = '?'; /* the body named another currency */
        vx_strlcpy(r->charge_id, charge ? charge : "", sizeof(r->charge_id));
        rc = 0;
    }
    vx_jdoc_free(&d);
    return rc;
}

/* The provider's key of this refund: the same request on the same order state, the same key. */
static void refund_key(struct merchant_call *mc)
{
    struct vx_buf b;
    unsigned char md[32];
    static const char hex[] = "0123456789abcdef";
    struct merchant_refund *r = mc->refund;
    vx_buf_init(&b);
    vx_buf_appendf(&b, "%s\n%s\n%s\n%lld\n%lld\n%s", mc->who.merchant, mc->params[0], mc->params[1],
                   (long long)r->refunded, (long long)r->amount, mc->idem_key);
    vx_sha256(b.data ? b.data : "", b.len, md);
    memcpy(r->key, "rf-", 3);
    for (int i = 0; i < 14; i++) {
        r->key[3 + 2 * i] = hex[md[i] >> 4];
        r->key[4 + 2 * i] = hex[md[i] & 15];
    }
    r->key[31] = '\0';
    vx_buf_release(&b);
}

static void num_json(char *buf, size_t sz, int64_t v)
{
    snprintf(buf, sz, "%lld", (long long)v);
}

/* Before the provider hears of it: the order is still as read, and it carries the attempt. */
static enum merchant_wait refund_pre(struct merchant_call *mc, struct server_reply *out,
                                     struct vx_store_op **op)
{
    struct merchant_refund *r = mc->refund;
    char base[24], key[48], amount[24];
    enum vx_order_state st;
    if (r->currency[0] == '?') {
        merchant_error(out, 422, "validation_failed", "currency",
                       "currency: must be the order's currency");
        return MERCHANT_DONE;
    }
    if (vx_order_state_parse(r->state, &st) != 0 ||
        (st != VX_OS_PAID && st != VX_OS_PARTIALLY_REFUNDED) || !r->charge_id[0]) {
        merchant_error(out, 409, "order_not_refundable", NULL,
                       "the order is %s: only a paid order can be refunded", r->state);
        return MERCHANT_DONE;
    }
    if (r->amount > r->captured - r->refunded) {
        merchant_error(out, 422, "refund_exceeds_captured", "amount",
                       "amount: %lld is more than is left of what was captured (%lld of %lld)",
                       (long long)r->amount, (long long)(r->captured - r->refunded),
                       (long long)r->captured);
        return MERCHANT_DONE;
    }
    if (!merchant_provider(mc, r->live)) {
        merchant_error(out, 503, "provider_unconfigured", NULL,
                       "no payment provider is configured for this order's environment "
                       "(provider.url, provider.live_url)");
        return MERCHANT_DONE;
    }
    refund_key(mc);
    num_json(base, sizeof(base), r->refunded);
    num_json(amount, sizeof(amount), r->amount);
    snprintf(key, sizeof(key), "\"%s\"", r->key);
    vx_wset_release(&r->ws);
    vx_wset_init(&r->ws, mc->skill, mc->user);
    vx_wset_order_guard(&r->ws, mc->params[1], "refunded", r->refunded ? base : "");
    vx_wset_order_set(&r->ws, mc->params[1], "refund_pending", key);
    vx_wset_idem(&r->ws, r->key, amount, 0);
    vx_store_op_write(&mc->op, &r->ws);
    return wait_store(mc, ST_RPRE, op);
}

static enum merchant_wait refund_call(struct merchant_call *mc, struct server_reply *out)
{
    struct merchant_refund *r = mc->refund;
    if (mc->op.rc == VX_ECONFLICT) {
        merchant_error(out, 409, "order_changed", NULL,
                       "the order changed meanwhile (another refund?): read it and try again");
        return MERCHANT_DONE;
    }
    if (mc->op.rc != 0 && mc->op.rc != VX_EEXISTS) { /* EEXISTS: this attempt, once more */
        store_failed(out, &mc->op);
        return MERCHANT_DONE;
    }
    vx_store_op_release(&mc->op);
    mc->step = ST_RCALL;
    r->to_send = vx_provider_op_refund_create(&r->pop, merchant_provider(mc, r->live), r->key,
                                              r->charge_id, r->amount, r->currency, NULL);
    return MERCHANT_WAIT_HTTP;
}

/* The refund happened: the order's state, what is refunded, and its ledger entry. */
static enum merchant_wait refund_post(struct merchant_call *mc, struct server_reply *out,
                                      struct vx_store_op **op)
{
    struct merchant_refund *r = mc->refund;
    int64_t total = r->refunded + r->amount;
    const char *to =
        vx_order_state_name(total >= r->captured ? VX_OS_REFUNDED : VX_OS_PARTIALLY_REFUNDED);
    char base[24], now[24], key[48];
    (void)out;
    num_json(base, sizeof(base), r->refunded);
    num_json(now, sizeof(now), total);
    snprintf(key, sizeof(key), "refunded-%s", r->key);
    r->entry.len = 0;
    vx_ledger_entry_json(vx_now_ms(), "merchant", r->state, to, r->amount, r->currency, 0,
                         r->refund_id, &r->entry);
    vx_wset_release(&r->ws);
    vx_wset_init(&r->ws, mc->skill, mc->user);
    vx_wset_idem(&r->ws, key, r->refund_id, 0); /* recorded once, whatever arrives twice */
    vx_wset_order_cas(&r->ws, mc->params[1], r->state, to);
    vx_wset_order_guard(&r->ws, mc->params[1], "refunded", r->refunded ? base : "");
    vx_wset_order_set(&r->ws, mc->params[1], "refunded", now);
    vx_wset_order_set(&r->ws, mc->params[1], "refund_pending", NULL);
    vx_wset_ledger(&r->ws, mc->params[1], r->entry.data ? r->entry.data : "{}");
    vx_store_op_write(&mc->op, &r->ws);
    return wait_store(mc, ST_RPOST, op);
}

static enum merchant_wait refund_answered(struct merchant_call *mc, struct server_reply *out,
                                          struct vx_store_op **op)
{
    struct merchant_refund *r = mc->refund;
    if (r->to_send && vx_provider_op_complete(&r->pop) == 1) {
        merchant_error(out, 503, "provider_unavailable", NULL,
                       "the provider did not answer: send the same request (the same "
                       "Idempotency-Key) again");
        return MERCHANT_DONE;
    }
    if (r->pop.outcome == VX_PROVIDER_AMOUNT_LIMIT) {
        merchant_error(out, 422, "refund_exceeds_captured", "amount",
                       "amount: the provider refuses to refund more than was captured (%s)",
                       r->pop.res.reason_code);
        return MERCHANT_DONE;
    }
    if (r->pop.rc != 0 ||
        (r->pop.outcome != VX_PROVIDER_SUCCESS && r->pop.outcome != VX_PROVIDER_PENDING)) {
        merchant_error(out, 502, "provider_refused", NULL, "the provider refused the refund: %s %s",
                       vx_provider_outcome_name(r->pop.outcome),
                       r->pop.rc ? r->pop.err.msg : r->pop.res.reason_code);
        return MERCHANT_DONE;
    }
    vx_strlcpy(r->refund_id, r->pop.res.id, sizeof(r->refund_id));
    vx_strlcpy(r->refund_state, r->pop.res.state, sizeof(r->refund_state));
    r->sent = 1;
    return refund_post(mc, out, op);
}

/* The refund as a resource of the shop, with the idempotency record of the POST. */
static enum merchant_wait refund_record(struct merchant_call *mc, struct server_reply *out,
                                        struct vx_store_op **op)
{
    struct merchant_refund *r = mc->refund;
    struct vx_mdoc_put p;
    int64_t total = r->refunded + r->amount;
    if (mc->op.rc == VX_ECONFLICT && r->attempts++ < 3) {
        /* another refund moved the base between our read and this write: read it again */
        vx_store_op_release(&mc->op);
        vx_store_op_order_get(&mc->op, mc->skill, mc->user, mc->params[1]);
        return wait_store(mc, ST_RORDER, op);
    }
    if (mc->op.rc != 0 && mc->op.rc != VX_EEXISTS) {
        vx_warn("merchant", "refund %s of order %s happened but is not recorded: %s", r->refund_id,
                mc->params[1], mc->op.err.msg);
        store_failed(out, &mc->op);
        return MERCHANT_DONE;
    }
    vx_store_op_release(&mc->op);
    mc->doc.len = 0;
    vx_buf_appends(&mc->doc, "{\"id\":");
    append_str(&mc->doc, r->refund_id);
    vx_buf_appends(&mc->doc, ",\"order_id\":");
    append_str(&mc->doc, mc->params[1]);
    vx_buf_appendf(&mc->doc,
                   ",\"amount\":%lld,\"currency\":\"%s\",\"state\":", (long long)r->amount,
                   r->currency);
    append_str(&mc->doc, r->refund_state[0] ? r->refund_state : "RefundInitiated");
    vx_buf_appendf(
        &mc->doc, ",\"order_state\":\"%s\",\"refunded\":%lld,\"created_at\":%lld}",
        vx_order_state_name(total >= r->captured ? VX_OS_REFUNDED : VX_OS_PARTIALLY_REFUNDED),
        (long long)total, (long long)vx_now());
    mc->memo.len = 0;
    vx_buf_appendf(&mc->memo, "%s 201\n", mc->body_hash);
    vx_buf_append(&mc->memo, mc->doc.data, mc->doc.len);
    vx_strlcpy(mc->id, r->refund_id, sizeof(mc->id));
    snprintf(mc->coll, sizeof(mc->coll), "refunds:%s", mc->params[0]);
    memset(&p, 0, sizeof(p));
    p.merchant = mc->who.merchant;
    p.coll = mc->coll;
    p.id = mc->id;
    p.doc = mc->doc.data;
    p.mode = VX_MDOC_UPSERT;
    if (mc->idem_key[0] && mc->memo.data) {
        p.idem_key = mc->idem_key;
        p.idem_value = mc->memo.data;
        p.idem_ttl = IDEM_TTL;
    }
    vx_store_op_mdoc_put(&mc->op, &p);
    return wait_store(mc, ST_RDOC, op);
}

/* The refund is recorded: its event, then the answer (the event's failure is only logged). */
static enum merchant_wait refund_event(struct merchant_call *mc, struct server_reply *out,
                                       struct vx_store_op **op)
{
    struct merchant_refund *r = mc->refund;
    struct vx_buf data;
    if (mc->op.rc != 0)
        return after_write(mc, out); /* the idempotency record won a race, or the store failed */
    vx_store_op_release(&mc->op);
    vx_buf_init(&data);
    vx_buf_appends(&data, "{\"refund\":");
    vx_buf_append(&data, mc->doc.data, mc->doc.len);
    vx_buf_appends(&data, "}");
    if (!data.data || !merchant_event_op(&mc->op, &mc->event, mc->who.merchant, "order.refunded",
                                         vx_now_ms(), r->refund_id, mc->params[0], data.data)) {
        vx_buf_release(&data);
        mc->op.rc = 0;
        return after_write(mc, out);
    }
    vx_buf_release(&data);
    return wait_store(mc, ST_REVENT, op);
}

static enum merchant_wait refund_step(struct merchant_call *mc, struct server_reply *out,
                                      struct vx_store_op **op)
{
    switch (mc->step) {
    case ST_RREF:
        return ref_to_order(mc, out, op, ST_RORDER);
    case ST_RORDER:
        if (read_ok(mc, out, "order") != 0)
            return MERCHANT_DONE;
        if (refund_read_order(mc->refund, mc->op.json) != 0) {
            merchant_error(out, 500, "internal", NULL, "unreadable order document");
            return MERCHANT_DONE;
        }
        vx_store_op_release(&mc->op);
        return mc->refund->sent ? refund_post(mc, out, op) : refund_pre(mc, out, op);
    case ST_RPRE:
        return refund_call(mc, out);
    case ST_RCALL:
        return refund_answered(mc, out, op);
    case ST_RDOC:
        return refund_event(mc, out, op);
    case ST_REVENT:
        if (mc->op.rc != 0 && mc->op.rc != VX_ECONFLICT)
            vx_warn("merchant", "event %s not in the log: %s", mc->event.id, mc->op.err.msg);
        mc->op.rc = 0;
        return after_write(mc, out);
    default:
        return refund_record(mc, out, op);
    }
}

/* --- customers' billing agreements (the profile's billing_agreement), by one of their orders ---
 */

/* The agreement object of a profile document (NULL when there is none), malloc'd. */
static char *agreement_of(const char *profile)
{
    struct vx_jdoc d;
    const struct vx_jnode *a;
    char *out = NULL;
    if (!profile || vx_jdoc_parse(&d, profile, strlen(profile), NULL) != 0)
        return NULL;
    a = vx_jget(&d, vx_jroot(&d), "billing_agreement");
    if (a && a->type == VX_JOBJECT)
        out = strndup(profile + a->start, a->end - a->start);
    vx_jdoc_free(&d);
    return out;
}

static void agreement_answer(struct merchant_call *mc, struct server_reply *out)
{
    reply_json(out, 200, "", 0);
    vx_buf_appends(&out->body, "{\"order_id\":");
    append_str(&out->body, mc->params[1]);
    vx_buf_appends(&out->body, ",\"billing_agreement\":");
    vx_buf_appends(&out->body, mc->parent);
    vx_buf_appends(&out->body, "}");
}

/* The agreement closed: the same object with status Closed and closed_at. */
static int agreement_closed(struct merchant_call *mc)
{
    struct json_object *o = json_tokener_parse(mc->parent);
    const char *text;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return -1;
    }
    json_object_object_add(o, "status", json_object_new_string("Closed"));
    json_object_object_add(o, "closed_at", json_object_new_int64(vx_now()));
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    free(mc->parent);
    mc->parent = text ? strdup(text) : NULL;
    json_object_put(o);
    return mc->parent ? 0 : -1;
}

static enum merchant_wait agreement_step(struct merchant_call *mc, struct server_reply *out,
                                         struct vx_store_op **op)
{
    struct merchant_refund *r = mc->refund;
    const char *id, *status;
    struct vx_jdoc d;
    switch (mc->step) {
    case ST_AREF:
        if (ref_read(mc, out) != 0)
            return MERCHANT_DONE;
        vx_store_op_load(&mc->op, mc->skill, mc->user);
        return wait_store(mc, ST_APROF, op);
    case ST_APROF:
        if (mc->op.rc != 0) {
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        mc->parent = agreement_of(mc->op.conv.profile);
        vx_store_op_release(&mc->op);
        if (!mc->parent) {
            merchant_error(out, 404, "not_found", NULL, "the customer has no billing agreement");
            return MERCHANT_DONE;
        }
        if (mc->mop == MOP_AGREEMENT_GET) {
            agreement_answer(mc, out);
            return MERCHANT_DONE;
        }
        if (vx_jdoc_parse(&d, mc->parent, strlen(mc->parent), NULL) != 0) {
            merchant_error(out, 500, "internal", NULL, "unreadable billing agreement");
            return MERCHANT_DONE;
        }
        id = vx_jget_str(&d, vx_jroot(&d), "id");
        status = vx_jget_str(&d, vx_jroot(&d), "status");
        r->live = vx_jget_str(&d, vx_jroot(&d), "environment") &&
                  strcmp(vx_jget_str(&d, vx_jroot(&d), "environment"), "production") == 0;
        vx_strlcpy(r->charge_id, id ? id : "", sizeof(r->charge_id));
        vx_strlcpy(r->state, status ? status : "", sizeof(r->state));
        vx_jdoc_free(&d);
        if (strcmp(r->state, "Closed") == 0) {
            merchant_error(out, 409, "billing_agreement_closed", NULL,
                           "the billing agreement is closed already");
            return MERCHANT_DONE;
        }
        if (!merchant_provider(mc, r->live)) {
            merchant_error(out, 503, "provider_unconfigured", NULL,
                           "no payment provider is configured for this agreement's environment "
                           "(provider.url, provider.live_url)");
            return MERCHANT_DONE;
        }
        mc->step = ST_ACALL;
        r->to_send = vx_provider_op_permission_close(&r->pop, merchant_provider(mc, r->live),
                                                     r->charge_id, "closed by the merchant", 0);
        return MERCHANT_WAIT_HTTP;
    case ST_ACALL:
        if (r->to_send && vx_provider_op_complete(&r->pop) == 1) {
            merchant_error(out, 503, "provider_unavailable", NULL,
                           "the provider did not answer: send the same request again");
            return MERCHANT_DONE;
        }
        if (r->pop.rc != 0 || r->pop.outcome != VX_PROVIDER_SUCCESS) {
            merchant_error(out, 502, "provider_refused", NULL,
                           "the provider did not close it: %s %s",
                           vx_provider_outcome_name(r->pop.outcome),
                           r->pop.rc ? r->pop.err.msg : r->pop.res.reason_code);
            return MERCHANT_DONE;
        }
        if (agreement_closed(mc) != 0) {
            merchant_error(out, 500, "internal", NULL, "out of memory");
            return MERCHANT_DONE;
        }
        vx_wset_release(&r->ws);
        vx_wset_init(&r->ws, mc->skill, mc->user);
        vx_wset_profile_set(&r->ws, "billing_agreement", mc->parent);
        vx_store_op_write(&mc->op, &r->ws);
        return wait_store(mc, ST_ASAVE, op);
    case ST_ASAVE:
        if (mc->op.rc != 0) {
            vx_warn("merchant", "billing agreement %s closed but not recorded: %s", r->charge_id,
                    mc->op.err.msg);
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        vx_store_op_release(&mc->op);
        mc->doc.len = 0;
        vx_buf_appends(&mc->doc, "{\"order_id\":");
        append_str(&mc->doc, mc->params[1]);
        vx_buf_appends(&mc->doc, ",\"billing_agreement\":");
        vx_buf_appends(&mc->doc, mc->parent);
        vx_buf_appends(&mc->doc, "}");
        mc->memo.len = 0;
        vx_buf_appendf(&mc->memo, "%s 200\n", mc->body_hash);
        vx_buf_append(&mc->memo, mc->doc.data, mc->doc.len);
        if (mc->doc.data && mc->memo.data &&
            merchant_event_idem_op(&mc->op, &mc->event, mc->who.merchant,
                                   "billing_agreement.closed", vx_now_ms(), r->charge_id,
                                   mc->params[0], mc->doc.data, mc->idem_key, mc->memo.data))
            return wait_store(mc, ST_AEVENT, op);
        agreement_answer(mc, out); /* no event to wait for */
        return MERCHANT_DONE;
    default:
        if (mc->op.rc != 0 && mc->op.rc != VX_ECONFLICT)
            vx_warn("merchant", "event %s not in the log: %s", mc->event.id, mc->op.err.msg);
        agreement_answer(mc, out);
        return MERCHANT_DONE;
    }
}

/* --- subscriptions (sub.h): each lives in its customer's slot; the shop's index says whose --- */

struct merchant_sub {
    struct vx_sub s;
    struct vx_tz *tz; /* the shop's (create) or the subscription's zone (a change) */
    int retried;      /* a change refused by its guard is read again and tried once more */
    struct vx_wset ws;
    struct vx_buf entry;
    char bucket[64];
    char member[640];
};

static const char *const sub_fields[] = {"plan_id",    "customer",  "charge_permission_id",
                                         "start_date", "bill_hour", NULL};
static const char *const customer_fields[] = {"skill_id", "user_id", NULL};

static struct merchant_sub *sub_of(struct merchant_call *mc, struct server_reply *out)
{
    if (!mc->sub) {
        mc->sub = calloc(1, sizeof(*mc->sub));
        if (!mc->sub) {
            merchant_error(out, 500, "internal", NULL, "out of memory");
            return NULL;
        }
        vx_buf_init(&mc->sub->entry);
    }
    return mc->sub;
}

/* What a key, a schedule member and the provider take: 1 to max of printable ASCII, no space. */
static int token_ok(const struct vx_jnode *n, size_t max)
{
    if (!n || n->type != VX_JSTRING || n->len < 1 || n->len > max)
        return 0;
    for (size_t i = 0; i < n->len; i++)
        if ((unsigned char)n->str[i] <= 0x20 || (unsigned char)n->str[i] >= 0x7f)
            return 0;
    return 1;
}

/* "2026-12-02" -> a valid date; -1 otherwise. */
static int date_text(const char *t, struct vx_date *d)
{
    if (!t || strlen(t) != 10 || t[4] != '-' || t[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (t[i] < '0' || t[i] > '9'))
            return -1;
    d->y = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
    d->m = (t[5] - '0') * 10 + (t[6] - '0');
    d->d = (t[8] - '0') * 10 + (t[9] - '0');
    return vx_date_valid(*d) ? 0 : -1;
}

/* skill_id is one of the shop's skill_ids (a shop that names none takes any). */
static int shop_has_skill(const char *shop_json, const char *skill)
{
    struct vx_jdoc d;
    const struct vx_jnode *ids;
    int found = 0, any = 1;
    if (vx_jdoc_parse(&d, shop_json, strlen(shop_json), NULL) != 0)
        return 0;
    ids = vx_jget(&d, vx_jroot(&d), "skill_ids");
    for (const struct vx_jnode *i = ids && ids->type == VX_JARRAY ? vx_jfirst(&d, ids) : NULL; i;
         i = vx_jnext(&d, i)) {
        any = 0;
        found |= i->type == VX_JSTRING && strcmp(i->str, skill) == 0;
    }
    vx_jdoc_free(&d);
    return any || found;
}

/*
 * The body of a new subscription, against its shop (mc->parent): who, which permission, when.
 * Fills ms->s with all but the plan's terms; the shop's currency goes into s.currency for the
 * plan to match.
 */
static int sub_body(struct merchant_call *mc, struct merchant_sub *ms, struct server_reply *out)
{
    struct check c;
    struct vx_jdoc shop;
    const struct vx_jnode *plan, *cust, *perm, *start, *hour, *sroot, *sk, *us;
    const char *cur, *env, *zone;
    struct vx_date today, first;
    struct vx_err e;
    int64_t h = 0;
    int rc = -1;

    if (vx_jdoc_parse(&shop, mc->parent, strlen(mc->parent), NULL) != 0) {
        merchant_error(out, 500, "internal", NULL, "unreadable shop document");
        return -1;
    }
    sroot = vx_jroot(&shop);
    cur = vx_jget_str(&shop, sroot, "currency");
    env = vx_jget_str(&shop, sroot, "environment");
    zone = vx_jget_str(&shop, sroot, "time_zone");
    vx_strlcpy(ms->s.currency, cur ? cur : "", sizeof(ms->s.currency));
    vx_strlcpy(ms->s.tz, zone && *zone ? zone : "UTC", sizeof(ms->s.tz));
    ms->s.live = env && strcmp(env, "production") == 0;
    vx_jdoc_free(&shop);
    if (vx_tz_load(ms->s.tz, &ms->tz, &e) != 0) {
        merchant_error(out, 500, "internal", NULL, "the shop's time zone: %s", e.msg);
        return -1;
    }
    if (check_open(&c, mc->body, mc->len, out) != 0)
        return -1;
    plan = vx_jget(&c.d, c.root, "plan_id");
    cust = vx_jget(&c.d, c.root, "customer");
    perm = vx_jget(&c.d, c.root, "charge_permission_id");
    start = vx_jget(&c.d, c.root, "start_date");
    hour = vx_jget(&c.d, c.root, "bill_hour");
    sk = cust ? vx_jget(&c.d, cust, "skill_id") : NULL;
    us = cust ? vx_jget(&c.d, cust, "user_id") : NULL;
    today = vx_tz_date(ms->tz, vx_now());
    first = today;
    if (check_known(&c, sub_fields) != 0)
        goto out;
    if (!plan || plan->type != VX_JSTRING || !api_id_ok(plan->str, plan->len)) {
        invalid(&c, "plan_id", "must be the id of one of the shop's plans");
        goto out;
    }
    if (!cust || cust->type != VX_JOBJECT) {
        invalid(&c, "customer", "must be {skill_id, user_id}");
        goto out;
    }
    for (const struct vx_jnode *m = vx_jfirst(&c.d, cust); m; m = vx_jnext(&c.d, m)) {
        size_t i = 0;
        while (customer_fields[i] && strcmp(customer_fields[i], m->key) != 0)
            i++;
        if (!customer_fields[i]) {
            char f[96];
            snprintf(f, sizeof(f), "customer.%.64s", m->key);
            invalid(&c, f, "unknown field");
            goto out;
        }
    }
    if (!token_ok(sk, sizeof(ms->s.skill) - 1)) {
        invalid(&c, "customer.skill_id", "must be the skill's ID, 1 to 255 printable characters");
        goto out;
    }
    if (!shop_has_skill(mc->parent, sk->str)) {
        invalid(&c, "customer.skill_id", "'%s' is not one of the shop's skill_ids", sk->str);
        goto out;
    }
    if (!token_ok(us, sizeof(ms->s.user) - 1)) {
        invalid(&c, "customer.user_id",
                "must be the customer's user ID on the platform, 1 to 255 printable characters");
        goto out;
    }
    if (!token_ok(perm, sizeof(ms->s.permission) - 1)) {
        invalid(&c, "charge_permission_id",
                "must be the ID of the customer's Recurring charge permission");
        goto out;
    }
    if (start && (start->type != VX_JSTRING || date_text(start->str, &first) != 0)) {
        invalid(&c, "start_date", "must be a date YYYY-MM-DD");
        goto out;
    }
    if (vx_days_from_civil(first) < vx_days_from_civil(today) ||
        vx_days_from_civil(first) > vx_days_from_civil(today) + 366) {
        invalid(&c, "start_date",
                "must be today or up to a year ahead in the shop's time zone %s (today is "
                "%04d-%02d-%02d)",
                ms->s.tz, today.y, today.m, today.d);
        goto out;
    }
    if (hour && (vx_jint64(hour, &h) != 0 || h < 0 || h > 23)) {
        invalid(&c, "bill_hour", "must be an integer 0 to 23 (the shop's local hour)");
        goto out;
    }
    vx_strlcpy(ms->s.merchant, mc->who.merchant, sizeof(ms->s.merchant));
    vx_strlcpy(ms->s.shop, mc->params[0], sizeof(ms->s.shop));
    vx_strlcpy(ms->s.plan, plan->str, sizeof(ms->s.plan));
    vx_strlcpy(ms->s.skill, sk->str, sizeof(ms->s.skill));
    vx_strlcpy(ms->s.user, us->str, sizeof(ms->s.user));
    vx_strlcpy(ms->s.permission, perm->str, sizeof(ms->s.permission));
    ms->s.bill_hour = (int)h;
    ms->s.anchor = first; /* the start; the plan's trial moves it on */
    rc = 0;
out:
    vx_jdoc_free(&c.d);
    return rc;
}

/*
 * A POST with an Idempotency-Key names its subscription by the key: a digest of merchant and
 * key, so a retry of a POST whose first try stopped half way can only create the same one.
 */
static void sub_id_for_key(const char *merchant, const char *key, char out[VX_SUB_ID_LEN + 1])
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    struct vx_buf b;
    unsigned char md[32];
    vx_buf_init(&b);
    vx_buf_appendf(&b, "subscription\n%s\n%s", merchant, key);
    vx_sha256(b.data ? b.data : "", b.len, md);
    vx_buf_release(&b);
    memcpy(out, "sub_", 4);
    for (int i = 0; i < 12; i++)
        out[4 + i] = digits[md[i] % 36];
    out[VX_SUB_ID_LEN] = '\0';
}

/* The plan read (mc->op): its terms make the subscription; then its schedule member first. */
static enum merchant_wait sub_create_plan(struct merchant_call *mc, struct server_reply *out,
                                          struct vx_store_op **op)
{
    struct merchant_sub *ms = mc->sub;
    struct vx_sub *s = &ms->s;
    struct vx_jdoc d;
    const struct vx_jnode *p, *iv;
    const char *cur, *unit;
    int64_t count = 0, amount = 0, trial = 0;
    int active, bad = 1;

    if (mc->op.rc == VX_ENOTFOUND) {
        merchant_error(out, 422, "validation_failed", "plan_id",
                       "plan_id: the shop has no plan '%s'", s->plan);
        return MERCHANT_DONE;
    }
    if (mc->op.rc != 0 || vx_jdoc_parse(&d, mc->op.json, strlen(mc->op.json), NULL) != 0) {
        if (mc->op.rc)
            store_failed(out, &mc->op);
        else
            merchant_error(out, 500, "internal", NULL, "unreadable plan document");
        return MERCHANT_DONE;
    }
    p = vx_jroot(&d);
    iv = vx_jget(&d, p, "interval");
    cur = vx_jget_str(&d, p, "currency");
    unit = iv ? vx_jget_str(&d, iv, "unit") : NULL;
    active = vx_jget(&d, p, "active") && vx_jget(&d, p, "active")->type == VX_JTRUE;
    vx_jint64(vx_jget(&d, p, "amount"), &amount);
    if (iv)
        vx_jint64(vx_jget(&d, iv, "count"), &count);
    vx_jint64(vx_jget(&d, p, "trial_days"), &trial);
    if (!active)
        merchant_error(out, 422, "validation_failed", "plan_id",
                       "plan_id: the plan '%s' is not active", s->plan);
    else if (!cur || strcmp(cur, s->currency) != 0)
        merchant_error(out, 422, "validation_failed", "plan_id",
                       "plan_id: the plan bills in %s, the shop's ledger is in %s", cur ? cur : "?",
                       s->currency);
    else if (!unit || vx_interval_unit_parse(unit, &s->unit) != 0 || count < 1 || amount < 1)
        merchant_error(out, 500, "internal", NULL, "unreadable plan document");
    else
        bad = 0;
    vx_jdoc_free(&d);
    if (bad)
        return MERCHANT_DONE;
    vx_store_op_release(&mc->op);
    s->count = (int)count;
    s->amount = amount;
    s->anchor = vx_civil_from_days(vx_days_from_civil(s->anchor) + trial);
    s->status = trial > 0 ? VX_SS_TRIALING : VX_SS_ACTIVE;
    s->cycle = 1;
    if (mc->idem_key[0])
        sub_id_for_key(mc->who.merchant, mc->idem_key, s->id);
    else
        vx_sub_new_id(s->id);
    if (vx_sub_cycle_due(s, ms->tz, 1, &s->due, NULL) != 0) {
        merchant_error(out, 500, "internal", NULL, "the first cycle has no date");
        return MERCHANT_DONE;
    }
    mc->doc.len = 0;
    if (vx_sub_doc_json(s, vx_now(), &mc->doc) != 0 || !mc->doc.data ||
        vx_pay_bucket_member(s->skill, s->user, s->id, ms->member, sizeof(ms->member)) != 0) {
        merchant_error(out, 500, "internal", NULL, "out of memory");
        return MERCHANT_DONE;
    }
    /* the member before the document: a subscription can never be out of the schedule */
    vx_sub_bucket_key(s->id, ms->bucket, sizeof(ms->bucket));
    vx_store_op_zadd(&mc->op, ms->bucket, ms->member, s->due);
    return wait_store(mc, ST_SZADD, op);
}

/* ms->ws with the ledger entry of a change by the merchant (event, as of s), sent. */
static enum merchant_wait sub_send(struct merchant_call *mc, struct server_reply *out,
                                   struct vx_store_op **op, const struct vx_sub *s,
                                   const char *event, int next)
{
    struct merchant_sub *ms = mc->sub;
    ms->entry.len = 0;
    if (vx_sub_ledger_json(vx_now_ms(), "merchant", event, s, NULL, NULL, &ms->entry) != 0 ||
        !ms->entry.data)
        ms->ws.overflow = 1;
    else
        vx_wset_ledger(&ms->ws, s->id, ms->entry.data);
    if (ms->ws.overflow) {
        merchant_error(out, 500, "internal", NULL, "out of memory");
        return MERCHANT_DONE;
    }
    vx_store_op_write(&mc->op, &ms->ws);
    return wait_store(mc, next, op);
}

/* The document, its `created` entry, once: a retry that finds the record changes nothing. */
static enum merchant_wait sub_create_write(struct merchant_call *mc, struct server_reply *out,
                                           struct vx_store_op **op)
{
    struct merchant_sub *ms = mc->sub;
    char idem[64];
    if (mc->op.rc != 0) {
        store_failed(out, &mc->op);
        return MERCHANT_DONE;
    }
    vx_store_op_release(&mc->op);
    snprintf(idem, sizeof(idem), "sub-created:%s", ms->s.id);
    vx_wset_release(&ms->ws);
    vx_wset_init(&ms->ws, ms->s.skill, ms->s.user);
    vx_wset_idem(&ms->ws, idem, "1", 0);
    vx_wset_sub_create(&ms->ws, ms->s.id, mc->doc.data);
    return sub_send(mc, out, op, &ms->s, "created", ST_SWRITE);
}

/* The shop's index: whose subscription it is (after the document, idempotently, as orders). */
static enum merchant_wait sub_index(struct merchant_call *mc, struct server_reply *out,
                                    struct vx_store_op **op)
{
    struct merchant_sub *ms = mc->sub;
    struct vx_mdoc_put p;
    if (read_ok(mc, out, "subscription") != 0)
        return MERCHANT_DONE;
    mc->doc.len = 0;
    vx_buf_append(&mc->doc, mc->op.json, strlen(mc->op.json)); /* the document as stored */
    vx_store_op_release(&mc->op);
    ms->entry.len = 0;
    vx_buf_appends(&ms->entry, "{\"skill\":");
    append_str(&ms->entry, ms->s.skill);
    vx_buf_appends(&ms->entry, ",\"user\":");
    append_str(&ms->entry, ms->s.user);
    vx_buf_appendf(&ms->entry, ",\"created\":%lld}", (long long)vx_now());
    vx_strlcpy(mc->id, ms->s.id, sizeof(mc->id));
    if (!ms->entry.data || !mc->doc.data) {
        merchant_error(out, 500, "internal", NULL, "out of memory");
        return MERCHANT_DONE;
    }
    memset(&p, 0, sizeof(p));
    p.merchant = mc->who.merchant;
    p.coll = coll_name(mc, mc->coll, sizeof(mc->coll));
    p.id = mc->id;
    p.doc = ms->entry.data;
    p.mode = VX_MDOC_UPSERT;
    vx_store_op_mdoc_put(&mc->op, &p);
    return wait_store(mc, ST_SINDEX, op);
}

/* The change's event with the POST's idempotency record; the answer is the document. */
static enum merchant_wait sub_event(struct merchant_call *mc, struct server_reply *out,
                                    struct vx_store_op **op, const char *type, int status)
{
    struct merchant_sub *ms = mc->sub;
    char about[96];
    struct vx_buf data;
    int sent;
    int64_t at_ms = vx_now_ms();
    vx_store_op_release(&mc->op);
    if (mc->mop == MOP_SUBS_CREATE) {
        /* at its creation time: a retry that finds it created logs the same event, once */
        struct vx_jdoc d;
        int64_t created;
        if (vx_jdoc_parse(&d, mc->doc.data, mc->doc.len, NULL) == 0) {
            if (vx_jint64(vx_jget(&d, vx_jroot(&d), "created_at"), &created) == 0)
                at_ms = created * 1000;
            vx_jdoc_free(&d);
        }
    }
    mc->memo.len = 0;
    vx_buf_appendf(&mc->memo, "%s %d\n", mc->body_hash, status);
    vx_buf_append(&mc->memo, mc->doc.data, mc->doc.len);
    /* one event per change: the fence counts the subscription's changes */
    snprintf(about, sizeof(about), "%s_%lld_%s", ms->s.id, (long long)ms->s.fence,
             strchr(type, '.') + 1);
    vx_buf_init(&data);
    vx_buf_appends(&data, "{\"subscription_id\":");
    append_str(&data, ms->s.id);
    vx_buf_appends(&data, ",\"subscription\":");
    vx_buf_append(&data, mc->doc.data, mc->doc.len);
    vx_buf_appends(&data, "}");
    sent = data.data && mc->memo.data &&
           merchant_event_idem_op(&mc->op, &mc->event, mc->who.merchant, type, at_ms, about,
                                  mc->params[0], data.data, mc->idem_key, mc->memo.data);
    vx_buf_release(&data);
    out->status = status;
    if (sent)
        return wait_store(mc, ST_SEVENT, op);
    reply_json(out, status, mc->doc.data, mc->doc.len);
    return MERCHANT_DONE;
}

static enum merchant_wait sub_answer(struct merchant_call *mc, struct server_reply *out)
{
    int status = out->status;
    if (mc->op.rc == VX_EEXISTS && mc->op.json) { /* the same key won a race with this one */
        replay_memo(mc, mc->op.json, out);
        return MERCHANT_DONE;
    }
    if (mc->op.rc != 0 && mc->op.rc != VX_ECONFLICT)
        vx_warn("merchant", "event %s not in the log: %s", mc->event.id, mc->op.err.msg);
    reply_json(out, status, mc->doc.data, mc->doc.len);
    return MERCHANT_DONE;
}

/*
 * A change of the merchant's, on the subscription as read (mc->op): the rules of sub.h, then
 * one write set guarded on the fence as read and bumping it, so it never races a biller's claim
 * (whose writes the new fence refuses) or another change. An attempt in flight is the biller's
 * to settle: no change touches it.
 */
static enum merchant_wait sub_change(struct merchant_call *mc, struct server_reply *out,
                                     struct vx_store_op **op)
{
    static const enum vx_sub_action actions[] = {
        [MOP_SUB_PAUSE] = VX_SA_PAUSE,   [MOP_SUB_RESUME] = VX_SA_RESUME,
        [MOP_SUB_CANCEL] = VX_SA_CANCEL, [MOP_SUB_BILL_NOW] = VX_SA_BILL_NOW,
        [MOP_SUB_SKIP] = VX_SA_SKIP,
    };
    struct merchant_sub *ms = mc->sub;
    struct vx_sub *s = &ms->s, before;
    const char *event = NULL;
    struct vx_sub_refusal why;
    struct vx_err e;

    if (read_ok(mc, out, "subscription") != 0)
        return MERCHANT_DONE;
    if (vx_sub_parse(mc->op.json, s) != 0) {
        merchant_error(out, 500, "internal", NULL, "unreadable subscription document");
        return MERCHANT_DONE;
    }
    vx_store_op_release(&mc->op);
    vx_strlcpy(s->skill, mc->skill, sizeof(s->skill));
    vx_strlcpy(s->user, mc->user, sizeof(s->user));
    before = *s;
    if (s->status != VX_SS_CANCELED && !ms->tz &&
        vx_tz_load(s->tz[0] ? s->tz : "UTC", &ms->tz, &e) != 0) {
        merchant_error(out, 500, "internal", NULL, "the subscription's time zone: %s", e.msg);
        return MERCHANT_DONE;
    }
    if (vx_sub_change(s, actions[mc->mop], ms->tz, vx_now(), &event, &why) != 0) {
        merchant_error(out, why.status, why.code, NULL, "%s", why.msg);
        return MERCHANT_DONE;
    }
    vx_wset_release(&ms->ws);
    vx_wset_init(&ms->ws, s->skill, s->user);
    if (vx_sub_change_wset(&ms->ws, &before, s, actions[mc->mop], "merchant", event, &ms->entry) !=
        0) {
        merchant_error(out, 500, "internal", NULL, "out of memory");
        return MERCHANT_DONE;
    }
    vx_store_op_write(&mc->op, &ms->ws);
    return wait_store(mc, ST_XWRITE, op);
}

/* The change written (or refused by the fence: read again once, then 409 conflict). */
static enum merchant_wait sub_changed(struct merchant_call *mc, struct server_reply *out,
                                      struct vx_store_op **op)
{
    struct merchant_sub *ms = mc->sub;
    int schedule =
        mc->mop == MOP_SUB_RESUME || mc->mop == MOP_SUB_BILL_NOW || mc->mop == MOP_SUB_SKIP;
    if (mc->op.rc == VX_ECONFLICT) {
        vx_store_op_release(&mc->op);
        if (ms->retried++ == 0) {
            vx_store_op_sub_get(&mc->op, mc->skill, mc->user, mc->params[1]);
            return wait_store(mc, ST_XSUB, op);
        }
        merchant_error(out, 409, "conflict", NULL,
                       "the subscription changed meanwhile (the biller, or another change): "
                       "read it and try again");
        return MERCHANT_DONE;
    }
    if (mc->op.rc != 0) {
        store_failed(out, &mc->op);
        return MERCHANT_DONE;
    }
    vx_store_op_release(&mc->op);
    if (schedule && vx_pay_bucket_member(ms->s.skill, ms->s.user, ms->s.id, ms->member,
                                         sizeof(ms->member)) == 0) {
        /* the schedule at the new due time: else the biller would look only when it was due */
        vx_sub_bucket_key(ms->s.id, ms->bucket, sizeof(ms->bucket));
        vx_store_op_zadd(&mc->op, ms->bucket, ms->member, ms->s.due);
        return wait_store(mc, ST_XZADD, op);
    }
    vx_store_op_sub_get(&mc->op, mc->skill, mc->user, mc->params[1]);
    return wait_store(mc, ST_XREAD, op);
}

static const char *sub_event_type(enum merchant_op mop)
{
    return mop == MOP_SUB_PAUSE      ? "subscription.paused"
           : mop == MOP_SUB_RESUME   ? "subscription.resumed"
           : mop == MOP_SUB_CANCEL   ? "subscription.canceled"
           : mop == MOP_SUB_BILL_NOW ? "subscription.billed_now"
           : mop == MOP_SUB_SKIP     ? "subscription.skipped"
                                     : "subscription.created";
}

/* The subscription with its ledger and the IDs of its cycles' orders. */
static void sub_answer_get(struct merchant_call *mc, struct server_reply *out)
{
    int64_t last = 0;
    int first = 1;
    if (doc_with_ledger(mc, out, "subscription") != 0)
        return;
    vx_buf_appends(&out->body, ",\"orders\":[");
    /* a cycle has an order once the biller made an attempt for it (a skipped one has none) */
    for (size_t i = 0; i < mc->op.n_ids; i++) {
        struct vx_jdoc d;
        const char *ev;
        int64_t cycle = 0;
        char oid[96];
        if (vx_jdoc_parse(&d, mc->op.ids[i], strlen(mc->op.ids[i]), NULL) != 0)
            continue;
        ev = vx_jget_str(&d, vx_jroot(&d), "event");
        vx_jint64(vx_jget(&d, vx_jroot(&d), "cycle"), &cycle);
        if (ev && strcmp(ev, "attempt") == 0 && cycle > last &&
            vx_sub_order_id(mc->params[1], cycle, oid, sizeof(oid)) == 0) {
            vx_buf_appends(&out->body, first ? "" : ",");
            append_str(&out->body, oid);
            first = 0;
            last = cycle;
        }
        vx_jdoc_free(&d);
    }
    vx_buf_appends(&out->body, "]}");
}

/* The filters: a subscription that does not match is left out of its page (the cursor still
 * moves over it), so a filtered page may hold fewer than limit. */
static int sub_matches(const struct merchant_call *mc, const char *json)
{
    struct vx_jdoc d;
    const char *st, *plan;
    int ok;
    if (!mc->f_status[0] && !mc->f_plan[0])
        return 1;
    if (vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return 0;
    st = vx_jget_str(&d, vx_jroot(&d), "status");
    plan = vx_jget_str(&d, vx_jroot(&d), "plan_id");
    ok = (!mc->f_status[0] || (st && strcmp(st, mc->f_status) == 0)) &&
         (!mc->f_plan[0] || (plan && strcmp(plan, mc->f_plan) == 0));
    vx_jdoc_free(&d);
    return ok;
}

/* A change's body: nothing, or an empty object. */
static int sub_change_body(struct merchant_call *mc, struct server_reply *out)
{
    struct check c;
    static const char *const none[] = {NULL};
    int rc;
    if (mc->len == 0)
        return 0;
    if (check_open(&c, mc->body, mc->len, out) != 0)
        return -1;
    rc = check_known(&c, none);
    vx_jdoc_free(&c.d);
    return rc;
}

static enum merchant_wait sub_step(struct merchant_call *mc, struct server_reply *out,
                                   struct vx_store_op **op)
{
    struct merchant_sub *ms = mc->sub;
    switch (mc->step) {
    case ST_SPLAN:
        return sub_create_plan(mc, out, op);
    case ST_SZADD:
        return sub_create_write(mc, out, op);
    case ST_SWRITE:
        if (mc->op.rc != 0 && mc->op.rc != VX_EEXISTS) {
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        /* EEXISTS: an earlier try of this POST created it; either way, as it is stored */
        vx_store_op_release(&mc->op);
        vx_store_op_sub_get(&mc->op, ms->s.skill, ms->s.user, ms->s.id);
        return wait_store(mc, ST_SREAD, op);
    case ST_SREAD:
        return sub_index(mc, out, op);
    case ST_SINDEX:
        if (mc->op.rc != 0) {
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        return sub_event(mc, out, op, "subscription.created", 201);
    case ST_SEVENT:
        return sub_answer(mc, out);
    case ST_SFAN:
        fan_answer(mc, out, sub_matches);
        return MERCHANT_DONE;
    case ST_XREF:
        if (read_ok(mc, out, "subscription") != 0)
            return MERCHANT_DONE;
        if (ref_parse(mc->op.json, mc->skill, sizeof(mc->skill), mc->user, sizeof(mc->user))) {
            merchant_error(out, 500, "internal", NULL, "unreadable subscription index entry");
            return MERCHANT_DONE;
        }
        vx_store_op_release(&mc->op);
        vx_store_op_sub_get(&mc->op, mc->skill, mc->user, mc->params[1]);
        return wait_store(mc, mc->mop == MOP_SUB_GET ? ST_GSUB : ST_XSUB, op);
    case ST_GSUB:
        if (read_ok(mc, out, "subscription") != 0)
            return MERCHANT_DONE;
        mc->parent = mc->op.json;
        mc->op.json = NULL;
        vx_store_op_release(&mc->op);
        vx_store_op_ledger(&mc->op, mc->skill, mc->user, mc->params[1]);
        return wait_store(mc, ST_GLEDGER, op);
    case ST_GLEDGER:
        if (mc->op.rc != 0 && mc->op.rc != VX_ENOTFOUND)
            store_failed(out, &mc->op);
        else
            sub_answer_get(mc, out);
        return MERCHANT_DONE;
    case ST_XSUB:
        return sub_change(mc, out, op);
    case ST_XWRITE:
        return sub_changed(mc, out, op);
    case ST_XZADD:
        if (mc->op.rc != 0) /* the document's due stands; the biller finds it later */
            vx_warn("merchant", "%s: the schedule is not written: %s", mc->params[1],
                    mc->op.err.msg);
        vx_store_op_release(&mc->op);
        vx_store_op_sub_get(&mc->op, mc->skill, mc->user, mc->params[1]);
        return wait_store(mc, ST_XREAD, op);
    default: /* ST_XREAD */
        if (read_ok(mc, out, "subscription") != 0)
            return MERCHANT_DONE;
        mc->doc.len = 0;
        vx_buf_append(&mc->doc, mc->op.json, strlen(mc->op.json));
        if (!mc->doc.data) {
            merchant_error(out, 500, "internal", NULL, "out of memory");
            return MERCHANT_DONE;
        }
        return sub_event(mc, out, op, sub_event_type(mc->mop), 200);
    }
}

struct vx_http_op *merchant_http(struct merchant_call *mc)
{
    return mc->refund && mc->refund->to_send ? &mc->refund->pop.http : NULL;
}

/* A POST or PUT, once its idempotency record is known to be absent: read the parent shop. */
static enum merchant_wait write_begin(struct merchant_call *mc, struct server_reply *out,
                                      struct vx_store_op **op)
{
    if (mc->mop == MOP_SHOPS_CREATE || mc->mop == MOP_HOOKS_CREATE)
        return write_doc(mc, out, op);
    if (mc->mop == MOP_REFUND_CREATE || mc->mop == MOP_AGREEMENT_CLOSE) {
        vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, mc->coll, sizeof(mc->coll)),
                             mc->params[1]);
        return wait_store(mc, mc->mop == MOP_REFUND_CREATE ? ST_RREF : ST_AREF, op);
    }
    if (mc->mop >= MOP_SUB_PAUSE && mc->mop <= MOP_SUB_SKIP) {
        vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, mc->coll, sizeof(mc->coll)),
                             mc->params[1]);
        return wait_store(mc, ST_XREF, op);
    }
    vx_store_op_mdoc_get(&mc->op, mc->who.merchant, "shops", mc->params[0]);
    return wait_store(mc, ST_PARENT, op);
}

static enum merchant_wait step(struct server *s, struct merchant_call *mc, struct server_reply *out,
                               struct vx_store_op **op)
{
    char coll[MERCHANT_PARAM_SZ + 16];
    (void)s;
    switch (mc->step) {
    case ST_BEGIN:
        switch (mc->mop) {
        case MOP_SHOPS_LIST:
        case MOP_PRODUCTS_LIST:
        case MOP_EVENTS_LIST:
        case MOP_HOOKS_LIST:
        case MOP_DELIVERIES_LIST:
        case MOP_PLANS_LIST:
            if (mc->mop == MOP_EVENTS_LIST) /* the log: in the order it was written */
                vx_store_op_mdoc_list_seq(&mc->op, mc->who.merchant,
                                          coll_name(mc, coll, sizeof(coll)), mc->cursor,
                                          (unsigned)mc->limit + 1);
            else
                vx_store_op_mdoc_list(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                      mc->cursor, (unsigned)mc->limit + 1);
            return wait_store(mc, ST_READ, op);
        case MOP_SHOP_GET:
        case MOP_PRODUCT_GET:
        case MOP_PLAN_GET:
            vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                 mc->mop == MOP_SHOP_GET ? mc->params[0] : mc->params[1]);
            return wait_store(mc, ST_READ, op);
        case MOP_SIM_GET:
            vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                 mc->params[0]);
            return wait_store(mc, ST_READ, op);
        case MOP_SIM_DELETE:
            vx_store_op_mdoc_take(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                  mc->params[0], mc->params[0]);
            return wait_store(mc, ST_READ, op);
        case MOP_ORDERS_LIST:
            vx_store_op_mdoc_list(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                  mc->cursor, (unsigned)mc->limit + 1);
            return wait_store(mc, ST_REFS, op);
        case MOP_ORDER_GET:
            vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                 mc->params[1]);
            return wait_store(mc, ST_REF, op);
        case MOP_AGREEMENT_GET:
            vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                 mc->params[1]);
            return wait_store(mc, ST_AREF, op);
        case MOP_SUBS_LIST:
            vx_store_op_mdoc_list(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                  mc->cursor, (unsigned)mc->limit + 1);
            return wait_store(mc, ST_SREFS, op);
        case MOP_SUB_GET:
            vx_store_op_mdoc_get(&mc->op, mc->who.merchant, coll_name(mc, coll, sizeof(coll)),
                                 mc->params[1]);
            return wait_store(mc, ST_XREF, op);
        default:
            if (mc->mop >= MOP_SUBS_CREATE && mc->mop <= MOP_SUB_SKIP &&
                (!sub_of(mc, out) || (mc->mop != MOP_SUBS_CREATE && sub_change_body(mc, out))))
                return MERCHANT_DONE;
            if (mc->mop == MOP_REFUND_CREATE && refund_body(mc, out) != 0)
                return MERCHANT_DONE;
            if (mc->mop == MOP_AGREEMENT_CLOSE) {
                mc->refund = calloc(1, sizeof(*mc->refund)); /* its provider call lives there */
                if (!mc->refund) {
                    merchant_error(out, 500, "internal", NULL, "out of memory");
                    return MERCHANT_DONE;
                }
                vx_buf_init(&mc->refund->entry);
            }
            call_digest(mc);
            if (mc->idem_key[0]) {
                vx_store_op_midem_get(&mc->op, mc->who.merchant, mc->idem_key);
                return wait_store(mc, ST_IDEM, op);
            }
            return write_begin(mc, out, op);
        }
    case ST_IDEM:
        if (mc->op.rc == 0) {
            replay_memo(mc, mc->op.json, out);
            return MERCHANT_DONE;
        }
        if (mc->op.rc != VX_ENOTFOUND) {
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        vx_store_op_release(&mc->op);
        return write_begin(mc, out, op);
    case ST_PARENT:
        if (read_ok(mc, out, "shop") != 0)
            return MERCHANT_DONE;
        mc->parent = mc->op.json;
        mc->op.json = NULL;
        vx_store_op_release(&mc->op);
        if (mc->mop == MOP_SUBS_CREATE) {
            if (sub_body(mc, mc->sub, out) != 0)
                return MERCHANT_DONE;
            snprintf(mc->coll, sizeof(mc->coll), "plans:%s", mc->params[0]);
            vx_store_op_mdoc_get(&mc->op, mc->who.merchant, mc->coll, mc->sub->s.plan);
            return wait_store(mc, ST_SPLAN, op);
        }
        return write_doc(mc, out, op);
    case ST_WRITE:
    case ST_HOOKREG:
        if (mc->step == ST_WRITE && mc->mop == MOP_HOOKS_CREATE && mc->op.rc == 0) {
            enum merchant_wait wt = after_write(mc, out);
            *op = &mc->op;
            return wt;
        }
        return after_write(mc, out);
    case ST_REFS:
        if (mc->op.rc != 0) {
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        return index_fan(mc, out, vx_store_op_order_get, ST_FAN);
    case ST_FAN:
        fan_answer(mc, out, NULL);
        return MERCHANT_DONE;
    case ST_REF:
    case ST_ORDER:
    case ST_LEDGER:
        return order_step(mc, out, op);
    case ST_RREF:
    case ST_RORDER:
    case ST_RPRE:
    case ST_RCALL:
    case ST_RPOST:
    case ST_RDOC:
    case ST_REVENT:
        return refund_step(mc, out, op);
    case ST_AREF:
    case ST_APROF:
    case ST_ACALL:
    case ST_ASAVE:
    case ST_AEVENT:
        return agreement_step(mc, out, op);
    case ST_SREFS:
        if (mc->op.rc != 0) {
            store_failed(out, &mc->op);
            return MERCHANT_DONE;
        }
        return index_fan(mc, out, vx_store_op_sub_get, ST_SFAN);
    case ST_SPLAN:
    case ST_SZADD:
    case ST_SWRITE:
    case ST_SREAD:
    case ST_SINDEX:
    case ST_SEVENT:
    case ST_SFAN:
    case ST_XREF:
    case ST_GSUB:
    case ST_GLEDGER:
    case ST_XSUB:
    case ST_XWRITE:
    case ST_XZADD:
    case ST_XREAD:
        return sub_step(mc, out, op);
    case ST_READ:
        if (mc->mop == MOP_SIM_DELETE && mc->op.rc == 0)
            voice_catalog_changed();
        if (mc->op.rc == VX_ENOTFOUND)
            merchant_error(out, 404, "not_found", NULL, "no such %s",
                           mc->mop == MOP_SHOP_GET   ? "shop"
                           : mc->mop == MOP_PLAN_GET ? "plan"
                           : mc->mop == MOP_SIM_GET || mc->mop == MOP_SIM_DELETE
                               ? "simulation (none is armed for this shop)"
                               : "product");
        else if (mc->op.rc != 0)
            store_failed(out, &mc->op);
        else if (mc->mop == MOP_SHOPS_LIST || mc->mop == MOP_PRODUCTS_LIST ||
                 mc->mop == MOP_EVENTS_LIST || mc->mop == MOP_HOOKS_LIST ||
                 mc->mop == MOP_DELIVERIES_LIST || mc->mop == MOP_PLANS_LIST)
            list_answer(mc, out);
        else
            reply_json(out, 200, mc->op.json, mc->op.json_len);
        return MERCHANT_DONE;
    }
    merchant_error(out, 500, "internal", NULL, "lost track of the call");
    return MERCHANT_DONE;
}

/* A list of subscriptions by status and plan. */
static int read_filters(struct merchant_call *mc, const struct server_headers *query,
                        struct server_reply *out)
{
    const char *status = query->get(query->ud, "status"), *plan = query->get(query->ud, "plan_id");
    enum vx_sub_status st;
    if (status && vx_sub_status_parse(status, &st) != 0) {
        merchant_error(out, 422, "validation_failed", "status",
                       "status: must be trialing, active, past_due, paused or canceled");
        return -1;
    }
    if (plan && !api_id_ok(plan, strlen(plan))) {
        merchant_error(out, 422, "validation_failed", "plan_id",
                       "plan_id: must be 1 to 64 of a-z 0-9 _");
        return -1;
    }
    vx_strlcpy(mc->f_status, status ? status : "", sizeof(mc->f_status));
    vx_strlcpy(mc->f_plan, plan ? plan : "", sizeof(mc->f_plan));
    return 0;
}

/* cursor and limit of a list, the Idempotency-Key of a write. */
static int read_request(struct merchant_call *mc, const struct server_headers *h,
                        const struct server_headers *query, struct server_reply *out)
{
    const char *cursor = query->get(query->ud, "cursor"), *limit = query->get(query->ud, "limit"),
               *key = h->get(h->ud, "Idempotency-Key");
    mc->limit = LIMIT_DEFAULT;
    if (limit && vx_parse_ll(limit, 1, LIMIT_MAX, &mc->limit) != 0) {
        merchant_error(out, 422, "validation_failed", "limit", "limit: must be 1 to %d", LIMIT_MAX);
        return -1;
    }
    if (cursor && *cursor) {
        if (!ref_ok(cursor, strlen(cursor))) {
            merchant_error(out, 422, "validation_failed", "cursor",
                           "cursor: not a cursor this API gave out");
            return -1;
        }
        vx_strlcpy(mc->cursor, cursor, sizeof(mc->cursor));
    }
    if (mc->mop == MOP_SUBS_LIST && read_filters(mc, query, out) != 0)
        return -1;
    if (key) {
        size_t n = strlen(key);
        int ok = n >= 1 && n < sizeof(mc->idem_key);
        for (size_t i = 0; ok && i < n; i++)
            ok = key[i] > 0x20 && key[i] < 0x7f;
        if (!ok) {
            merchant_error(out, 422, "validation_failed", "Idempotency-Key",
                           "Idempotency-Key: 1 to 127 printable ASCII characters");
            return -1;
        }
        memcpy(mc->idem_key, key, n + 1);
    }
    return 0;
}

enum merchant_wait merchant_start(struct server *s, struct merchant_call *mc,
                                  const struct server_headers *h,
                                  const struct server_headers *query, struct server_reply *out,
                                  struct vx_store_op **op)
{
    vx_buf_init(&mc->doc);
    vx_buf_init(&mc->memo);
    mc->step = ST_BEGIN;
    mc->server = s;
    if (mc->bad_param) {
        merchant_error(out, 404, "not_found", NULL, "no such resource");
        return MERCHANT_DONE;
    }
    if (read_request(mc, h, query, out) != 0)
        return MERCHANT_DONE;
    return step(s, mc, out, op);
}

enum merchant_wait merchant_continue(struct server *s, struct merchant_call *mc,
                                     struct server_reply *out, struct vx_store_op **op)
{
    return step(s, mc, out, op);
}

void merchant_call_release(struct merchant_call *mc)
{
    vx_store_op_release(&mc->op);
    vx_buf_release(&mc->doc);
    vx_buf_release(&mc->memo);
    free(mc->parent);
    mc->parent = NULL;
    vx_buf_release(&mc->event.doc);
    if (mc->refund) {
        vx_provider_op_release(&mc->refund->pop);
        vx_wset_release(&mc->refund->ws);
        vx_buf_release(&mc->refund->entry);
        free(mc->refund);
        mc->refund = NULL;
    }
    if (mc->sub) {
        vx_tz_free(mc->sub->tz);
        vx_wset_release(&mc->sub->ws);
        vx_buf_release(&mc->sub->entry);
        free(mc->sub);
        mc->sub = NULL;
    }
    for (size_t i = 0; i < mc->n_fan; i++)
        vx_store_op_release(&mc->fan[i]);
    free(mc->fan);
    mc->fan = NULL;
    mc->n_fan = 0;
}
