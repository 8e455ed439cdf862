/*
 * A shop's catalog between the catalog file and the merchant API's documents
 * (mcatalog.h). The names of products and sizes are carried over as the
 * JSON text they were written in, so the two forms say the same words; the
 * prices are read by the catalog loader (a size priced by a delta becomes its
 * final price) and written as a price per currency.
 */
#include "voxcart/mcatalog.h"
#include "voxcart/catalog.h"
#include "voxcart/jscan.h"
#include "voxcart/response.h"

#include <stdlib.h>
#include <string.h>

static void raw(struct vx_buf *b, const char *text, const struct vx_jnode *n)
{
    if (n)
        vx_buf_append(b, text + n->start, n->end - n->start);
    else
        vx_buf_appends(b, "null");
}

static void str(struct vx_buf *b, const char *s)
{
    vx_buf_appends(b, "\"");
    vx_json_escape(b, s, strlen(s));
    vx_buf_appends(b, "\"");
}

static void price(struct vx_buf *b, const char *currency, int64_t amount)
{
    vx_buf_appendf(b, "[{\"currency\":\"%s\",\"amount\":%lld}]", currency, (long long)amount);
}

/* The locales a catalog language is spoken in, as far as the skill's messages go. */
static void locales(struct vx_buf *b, const struct vx_catalog *cat)
{
    static const char *const known[][3] = {{"en", "en-US", "en-GB"}, {"de", "de-DE", NULL}};
    int first = 1;
    vx_buf_appends(b, "[");
    for (size_t i = 0; i < cat->nlangs; i++) {
        for (size_t k = 0; k < VX_ARRAY_LEN(known); k++) {
            if (strcmp(known[k][0], cat->langs[i]) != 0)
                continue;
            for (size_t j = 1; j < 3 && known[k][j]; j++) {
                vx_buf_appendf(b, "%s\"%s\"", first ? "" : ",", known[k][j]);
                first = 0;
            }
        }
    }
    vx_buf_appends(b, "]");
}

static void product_doc(struct vx_buf *b, const struct vx_catalog *cat,
                        const struct vx_cat_product *p, const char *text,
                        const struct vx_jnode *names, size_t position, int64_t now)
{
    vx_buf_appends(b, "{\"id\":");
    str(b, p->id);
    vx_buf_appends(b, ",\"shop_id\":");
    str(b, cat->merchant_id);
    vx_buf_appends(b, ",\"names\":");
    raw(b, text, names);
    if (p->noptions == 0) {
        vx_buf_appends(b, ",\"prices\":");
        price(b, cat->currency, p->price);
    } else {
        vx_buf_appends(b, ",\"sizes\":[");
        for (size_t k = 0; k < p->noptions; k++) {
            vx_buf_appends(b, k ? ",{\"size\":" : "{\"size\":");
            str(b, p->options[k].size->id);
            vx_buf_appends(b, ",\"prices\":");
            price(b, cat->currency, p->options[k].price);
            vx_buf_appends(b, "}");
        }
        vx_buf_appends(b, "]");
    }
    vx_buf_appendf(b, ",\"position\":%zu,\"active\":true,\"updated_at\":%lld}", position,
                   (long long)now);
}

/* A catalog plan as the merchant API keeps it: the name per language is the plan's "one". */
static void plan_doc(struct vx_buf *b, const struct vx_catalog *cat, const struct vx_cat_plan *p,
                     int64_t now)
{
    vx_buf_appends(b, "{\"id\":");
    str(b, p->id);
    vx_buf_appends(b, ",\"shop_id\":");
    str(b, cat->merchant_id);
    vx_buf_appends(b, ",\"name\":{");
    for (size_t k = 0; k < p->nnames; k++) {
        vx_buf_appends(b, k ? "," : "");
        str(b, p->names[k].lang);
        vx_buf_appends(b, ":");
        str(b, p->names[k].words.one);
    }
    vx_buf_appendf(b, "},\"interval\":{\"unit\":\"%s\",\"count\":%d},\"amount\":%lld,", p->unit,
                   p->count, (long long)p->amount);
    vx_buf_appendf(b, "\"currency\":\"%s\",\"trial_days\":", cat->currency);
    if (p->trial_days > 0)
        vx_buf_appendf(b, "%d", p->trial_days);
    else
        vx_buf_appends(b, "null");
    vx_buf_appendf(b, ",\"active\":true,\"created_at\":%lld}", (long long)now);
}

int vx_mcatalog_import(const char *text, size_t len, const char *name, int64_t now,
                       struct vx_buf *shop, struct vx_buf *products, size_t *n_products,
                       struct vx_buf *plans, size_t *n_plans, struct vx_err *e)
{
    struct vx_catalog *cat = NULL;
    struct vx_jdoc doc;
    const struct vx_jnode *root, *merchant, *list;
    int rc = vx_catalog_parse(text, len, name, &cat, e);
    if (rc != 0)
        return rc;
    if (vx_jdoc_parse(&doc, text, len, e) != 0) {
        vx_catalog_free(cat);
        return VX_EPARSE;
    }
    root = vx_jroot(&doc);
    merchant = vx_jget(&doc, root, "merchant");
    vx_buf_appends(shop, "{\"id\":");
    str(shop, cat->merchant_id);
    vx_buf_appends(shop, ",\"name\":");
    raw(shop, text, vx_jget(&doc, merchant, "name"));
    vx_buf_appendf(shop, ",\"currency\":\"%s\",\"locales\":", cat->currency);
    locales(shop, cat);
    vx_buf_appendf(shop, ",\"skill_ids\":[],\"rail\":\"%s\",\"environment\":\"%s\",",
                   cat->platform ? "platform" : "provider",
                   cat->production ? "production" : "sandbox");
    {
        const char *const names[] = {"seller_id", "country", "sandbox_email", "time_zone"},
                          *values[] = {cat->seller_id, cat->country, cat->sandbox_email,
                                       cat->time_zone};
        for (size_t i = 0; i < 4; i++)
            if (values[i]) {
                vx_buf_appendf(shop, "\"%s\":", names[i]);
                str(shop, values[i]);
                vx_buf_appends(shop, ",");
            }
    }
    vx_buf_appends(shop, "\"voice_code_threshold\":");
    if (cat->voice_code_threshold >= 0)
        vx_buf_appendf(shop, "%lld", (long long)cat->voice_code_threshold);
    else
        vx_buf_appends(shop, "null");
    vx_buf_appends(shop, ",\"sizes\":");
    raw(shop, text, vx_jget(&doc, root, "sizes"));
    vx_buf_appendf(shop, ",\"created_at\":%lld}", (long long)now);
    *n_products = 0;
    list = vx_jget(&doc, root, "products");
    for (const struct vx_jnode *p = vx_jfirst(&doc, list); p; p = vx_jnext(&doc, p)) {
        const struct vx_cat_product *cp = vx_catalog_product(cat, vx_jget_str(&doc, p, "id"));
        if (!cp)
            continue;
        product_doc(products, cat, cp, text, vx_jget(&doc, p, "names"), *n_products, now);
        vx_buf_append(products, "", 1);
        (*n_products)++;
    }
    *n_plans = 0;
    for (size_t i = 0; i < cat->nplans; i++) {
        plan_doc(plans, cat, &cat->plans[i], now);
        vx_buf_append(plans, "", 1);
        (*n_plans)++;
    }
    rc = shop->data && products->data && (!cat->nplans || plans->data)
             ? 0
             : vx_err_set(e, VX_ENOMEM, "out of memory");
    vx_jdoc_free(&doc);
    vx_catalog_free(cat);
    return rc;
}

/* The price in currency of a prices array, or -1. */
static int64_t price_in(const struct vx_jdoc *d, const struct vx_jnode *prices,
                        const char *currency)
{
    int64_t a;
    for (const struct vx_jnode *p = vx_jfirst(d, prices); p; p = vx_jnext(d, p)) {
        const char *c = vx_jget_str(d, p, "currency");
        if (c && strcmp(c, currency) == 0 && vx_jint64(vx_jget(d, p, "amount"), &a) == 0)
            return a;
    }
    return -1;
}

/* One product of the catalog; 0 when it is left out (inactive, or unreadable). */
static int catalog_product(struct vx_buf *out, const char *json, const char *currency, int first)
{
    struct vx_jdoc d;
    const struct vx_jnode *root, *active, *sizes, *prices;
    int64_t a;
    size_t k = 0;
    if (vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return 0;
    root = vx_jroot(&d);
    active = vx_jget(&d, root, "active");
    if (!root || root->type != VX_JOBJECT || (active && active->type == VX_JFALSE) ||
        !vx_jget_str(&d, root, "id")) {
        vx_jdoc_free(&d);
        return 0;
    }
    vx_buf_appends(out, first ? "{\"id\":" : ",{\"id\":");
    str(out, vx_jget_str(&d, root, "id"));
    vx_buf_appends(out, ",\"names\":");
    raw(out, json, vx_jget(&d, root, "names"));
    prices = vx_jget(&d, root, "prices");
    if (prices && (a = price_in(&d, prices, currency)) >= 0)
        vx_buf_appendf(out, ",\"price\":%lld", (long long)a);
    sizes = vx_jget(&d, root, "sizes");
    if (sizes) {
        vx_buf_appends(out, ",\"sizes\":{");
        for (const struct vx_jnode *s = vx_jfirst(&d, sizes); s; s = vx_jnext(&d, s)) {
            const char *size = vx_jget_str(&d, s, "size");
            a = price_in(&d, vx_jget(&d, s, "prices"), currency);
            if (!size || a < 0)
                continue;
            if (k++)
                vx_buf_appends(out, ",");
            str(out, size);
            vx_buf_appendf(out, ":{\"price\":%lld}", (long long)a);
        }
        vx_buf_appends(out, "}");
    }
    vx_buf_appends(out, "}");
    vx_jdoc_free(&d);
    return 1;
}

/*
 * One plan of the catalog, with a name in every language of the shop (the plan's own in that
 * language, else its first: the catalog needs one in each); 0 when it is left out (inactive, in
 * another currency, or unreadable).
 */
static int catalog_plan(struct vx_buf *out, const char *json, const struct vx_jdoc *shop,
                        const struct vx_jnode *shop_names, const char *currency, int first)
{
    struct vx_jdoc d;
    const struct vx_jnode *root, *active, *names, *iv, *trial;
    const char *id, *cur, *unit;
    int64_t amount, count, t = 0;
    if (vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return 0;
    root = vx_jroot(&d);
    active = vx_jget(&d, root, "active");
    names = vx_jget(&d, root, "name");
    iv = vx_jget(&d, root, "interval");
    id = vx_jget_str(&d, root, "id");
    cur = vx_jget_str(&d, root, "currency");
    unit = iv ? vx_jget_str(&d, iv, "unit") : NULL;
    trial = vx_jget(&d, root, "trial_days");
    if (!id || !cur || strcmp(cur, currency) != 0 || (active && active->type == VX_JFALSE) ||
        !names || names->type != VX_JOBJECT || !vx_jfirst(&d, names) || !unit ||
        vx_jint64(vx_jget(&d, root, "amount"), &amount) != 0 ||
        vx_jint64(vx_jget(&d, iv, "count"), &count) != 0 ||
        (trial && trial->type != VX_JNULL && vx_jint64(trial, &t) != 0)) {
        vx_jdoc_free(&d);
        return 0;
    }
    vx_buf_appends(out, first ? "{\"id\":" : ",{\"id\":");
    str(out, id);
    vx_buf_appends(out, ",\"names\":{");
    for (const struct vx_jnode *l = vx_jfirst(shop, shop_names); l; l = vx_jnext(shop, l)) {
        const char *n = vx_jget_str(&d, names, l->key);
        if (!n)
            n = vx_jfirst(&d, names)->type == VX_JSTRING ? vx_jfirst(&d, names)->str : id;
        vx_buf_appends(out, l == vx_jfirst(shop, shop_names) ? "" : ",");
        str(out, l->key);
        vx_buf_appends(out, ":{\"one\":");
        str(out, n);
        vx_buf_appends(out, "}");
    }
    vx_buf_appendf(out, "},\"interval\":{\"unit\":");
    str(out, unit);
    vx_buf_appendf(out, ",\"count\":%lld},\"amount\":%lld,\"trial_days\":%lld}", (long long)count,
                   (long long)amount, (long long)t);
    vx_jdoc_free(&d);
    return 1;
}

struct ranked {
    const char *doc;
    int64_t position;
    size_t index; /* in id order, as the store lists them */
};

static int by_position(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The position member of a product document; one without comes after those with. */
static int64_t position_of(const char *json)
{
    struct vx_jdoc d;
    int64_t p = INT64_MAX;
    if (vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return p;
    if (vx_jint64(vx_jget(&d, vx_jroot(&d), "position"), &p) != 0)
        p = INT64_MAX;
    vx_jdoc_free(&d);
    return p;
}

int vx_mcatalog_build(const char *shop_json, const char *simulation, const char *const *products,
                      size_t n, const char *const *plans, size_t n_plans, struct vx_buf *out,
                      struct vx_err *e)
{
    struct ranked *order = calloc(n ? n : 1, sizeof(*order));
    struct vx_jdoc d;
    const struct vx_jnode *root;
    const char *id, *currency, *env;
    const struct vx_jnode *vct;
    int64_t threshold;
    int first = 1;
    if (!order)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    /* the order the skill lists them in: by position, then by id */
    for (size_t i = 0; i < n; i++) {
        order[i].doc = products[i];
        order[i].position = position_of(products[i]);
        order[i].index = i;
    }
    qsort(order, n, sizeof(*order), by_position);
    if (vx_jdoc_parse(&d, shop_json, strlen(shop_json), e) != 0) {
        free(order);
        return VX_EPARSE;
    }
    root = vx_jroot(&d);
    id = vx_jget_str(&d, root, "id");
    currency = vx_jget_str(&d, root, "currency");
    if (!id || !currency) {
        vx_jdoc_free(&d);
        free(order);
        return vx_err_set(e, VX_EPARSE, "the shop document has no id or currency");
    }
    vx_buf_appends(out, "{\"merchant\":{\"id\":");
    str(out, id);
    vx_buf_appends(out, ",\"name\":");
    raw(out, shop_json, vx_jget(&d, root, "name"));
    vx_buf_appendf(out, ",\"currency\":\"%s\"", currency);
    env = vx_jget_str(&d, root, "environment");
    if (env) {
        vx_buf_appends(out, ",\"environment\":");
        str(out, env);
    }
    vct = vx_jget(&d, root, "voice_code_threshold");
    if (vct && vx_jint64(vct, &threshold) == 0)
        vx_buf_appendf(out, ",\"voice_code_threshold\":%lld", (long long)threshold);
    else if (vct)
        vx_buf_appends(out, ",\"voice_code_threshold\":null");
    {
        static const char *const copied[] = {"rail", "seller_id", "country", "sandbox_email",
                                             "time_zone"};
        for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
            const char *v = vx_jget_str(&d, root, copied[i]);
            if (v) {
                vx_buf_appendf(out, ",\"%s\":", copied[i]);
                str(out, v);
            }
        }
    }
    if (simulation && *simulation && !(env && strcmp(env, "production") == 0)) {
        vx_buf_appends(out, ",\"simulation\":");
        str(out, simulation);
    }
    vx_buf_appends(out, "},\"sizes\":");
    raw(out, shop_json, vx_jget(&d, root, "sizes"));
    vx_buf_appends(out, ",\"products\":[");
    for (size_t i = 0; i < n; i++)
        if (catalog_product(out, order[i].doc, currency, first))
            first = 0;
    vx_buf_appends(out, "],\"plans\":[");
    first = 1;
    for (size_t i = 0; i < n_plans; i++)
        if (catalog_plan(out, plans[i], &d, vx_jget(&d, root, "name"), currency, first))
            first = 0;
    vx_buf_appends(out, "]}");
    vx_jdoc_free(&d);
    free(order);
    return out->data ? 0 : vx_err_set(e, VX_ENOMEM, "out of memory");
}
