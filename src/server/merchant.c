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
#include "voxcart/response.h"
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
    NULL};

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

/* Validates a shop body and writes the stored document into doc. */
static int shop_build(struct check *c, const char *id, struct vx_buf *doc)
{
    const struct vx_jnode *name = vx_jget(&c->d, c->root, "name"),
                          *cur = vx_jget(&c->d, c->root, "currency"),
                          *locales = vx_jget(&c->d, c->root, "locales"),
                          *skills = vx_jget(&c->d, c->root, "skill_ids"),
                          *sizes = vx_jget(&c->d, c->root, "sizes"),
                          *vct = vx_jget(&c->d, c->root, "voice_code_threshold");
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
    ST_AEVENT   /* ... and its event */
};

static enum merchant_wait wait_store(struct merchant_call *mc, int step, struct vx_store_op **op)
{
    mc->step = step;
    *op = &mc->op;
    return MERCHANT_WAIT_STORE;
}

/* --- plans: what a subscription (a later issue) will bill, every interval --- */

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
    if ((mc->mop != MOP_PLANS_CREATE && p.parent_coll) || mc->mop == MOP_SHOP_PUT)
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
            mc->mop == MOP_SHOP_PUT || mc->mop == MOP_SIM_PUT || mc->mop == MOP_SIM_DELETE)
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

/* A page of the index: every order of it read at once. */
static enum merchant_wait orders_fan(struct merchant_call *mc, struct server_reply *out)
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
        vx_store_op_order_get(&mc->fan[i], skill, user, mc->op.ids[2 * i]);
    }
    mc->step = ST_FAN;
    return MERCHANT_WAIT_MANY;
}

static void orders_answer(struct merchant_call *mc, struct server_reply *out)
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

/* The order with its ledger: {...the order's members..., "ledger":[entries, oldest first]}. */
static void order_answer(struct merchant_call *mc, struct server_reply *out)
{
    size_t len = strlen(mc->parent);
    out->status = 200;
    out->content_type = "application/json";
    out->body.len = 0;
    while (len > 0 && mc->parent[len - 1] != '}')
        len--;
    if (len < 2) {
        merchant_error(out, 500, "internal", NULL, "unreadable order document");
        return;
    }
    vx_buf_append(&out->body, mc->parent, len - 1);
    vx_buf_appends(&out->body, len > 2 ? ",\"ledger\":[" : "\"ledger\":[");
    for (size_t i = 0; i < mc->op.n_ids; i++) {
        if (i)
            vx_buf_appends(&out->body, ",");
        vx_buf_appends(&out->body, mc->op.ids[i]);
    }
    vx_buf_appends(&out->body, "]}");
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
        default:
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
        return orders_fan(mc, out);
    case ST_FAN:
        orders_answer(mc, out);
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
    for (size_t i = 0; i < mc->n_fan; i++)
        vx_store_op_release(&mc->fan[i]);
    free(mc->fan);
    mc->fan = NULL;
    mc->n_fan = 0;
}
