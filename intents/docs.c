/*
 * The skill's stored documents: the conversation state, the profile members
 * the dialog knows, and the order document, with their codecs. They are read
 * with jscan (one reader for every stored document) and written with json-c.
 * The state in the store is data from the past: parsing drops cart lines the
 * catalog no longer sells rather than failing, and a document that cannot be
 * parsed starts afresh (the engine logs it).
 */
#include "dialog.h"

#include "voxcart/jscan.h"
#include "voxcart/json.h"
#include "voxcart/verify.h"
#include "voxcart/wset.h"

#include <json-c/json.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A line the catalog still sells in that size, with a sane quantity. */
static int line_valid(const struct vx_catalog *cat, const struct vx_line *l)
{
    const struct vx_cat_product *p = vx_catalog_product(cat, l->product);
    int64_t price;
    return p && l->qty >= 1 && l->qty <= VX_QTY_MAX && vx_catalog_price(p, l->size, &price) == 0;
}

static struct json_object *lines_json(const struct vx_cart *c)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < c->n; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "product", json_object_new_string(c->lines[i].product));
        if (c->lines[i].size[0])
            json_object_object_add(o, "size", json_object_new_string(c->lines[i].size));
        json_object_object_add(o, "quantity", json_object_new_int(c->lines[i].qty));
        json_object_array_add(a, o);
    }
    return a;
}

static int to_buf(struct json_object *o, struct vx_buf *out)
{
    const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
    int rc = s ? vx_buf_appends(out, s) : VX_ENOMEM;
    json_object_put(o);
    return rc ? VX_ENOMEM : 0;
}

void vx_dstate_init(struct vx_dstate *st)
{
    memset(st, 0, sizeof(*st));
    st->state = VX_ST_IDLE;
    st->pending.ask = -1;
}

/* The conversation state is read on every turn: with jscan, not a json-c tree. */
static const char *js_str(const struct vx_jdoc *d, const struct vx_jnode *o, const char *k)
{
    const char *v = vx_jget_str(d, o, k);
    return v ? v : "";
}

static int js_int(const struct vx_jdoc *d, const struct vx_jnode *o, const char *k)
{
    int64_t v;
    if (vx_jint64(vx_jget(d, o, k), &v) != 0 || v < INT32_MIN || v > INT32_MAX)
        return 0;
    return (int)v;
}

static void js_lines(const struct vx_jdoc *d, const struct vx_jnode *a,
                     const struct vx_catalog *cat, struct vx_cart *out)
{
    memset(out, 0, sizeof(*out));
    if (!a || a->type != VX_JARRAY)
        return;
    for (const struct vx_jnode *o = vx_jfirst(d, a); o && out->n < VX_CART_MAX;
         o = vx_jnext(d, o)) {
        struct vx_line *l = &out->lines[out->n];
        memset(l, 0, sizeof(*l));
        vx_strlcpy(l->product, js_str(d, o, "product"), sizeof(l->product));
        vx_strlcpy(l->size, js_str(d, o, "size"), sizeof(l->size));
        l->qty = js_int(d, o, "quantity");
        if (!cat || line_valid(cat, l))
            out->n++;
    }
}

int vx_dstate_parse(const char *json, const struct vx_catalog *cat, struct vx_dstate *out)
{
    struct vx_jdoc doc;
    const struct vx_jnode *o, *p;
    const char *ask;

    vx_dstate_init(out);
    if (!json)
        return 0;
    if (vx_jdoc_parse(&doc, json, strlen(json), NULL) != 0)
        return VX_EPARSE;
    o = vx_jroot(&doc);
    if (o->type != VX_JOBJECT) {
        vx_jdoc_free(&doc);
        return VX_EPARSE;
    }
    {
        enum vx_state st;
        out->state = vx_state_parse(js_str(&doc, o, "state"), &st) == 0 ? (int)st : VX_ST_IDLE;
    }
    js_lines(&doc, vx_jget(&doc, o, "cart"), cat, &out->cart);
    p = vx_jget(&doc, o, "pending");
    if (p && p->type == VX_JOBJECT) {
        const struct vx_cat_product *prod = vx_catalog_product(cat, js_str(&doc, p, "product"));
        struct vx_line *l = &out->pending.item;
        if (prod) {
            vx_strlcpy(l->product, prod->id, sizeof(l->product));
            if (vx_catalog_option(prod, js_str(&doc, p, "size")))
                vx_strlcpy(l->size, js_str(&doc, p, "size"), sizeof(l->size));
        }
        l->qty = js_int(&doc, p, "quantity");
        if (l->qty < 0 || l->qty > VX_QTY_MAX)
            l->qty = 0;
        {
            const struct vx_jnode *r = vx_jget(&doc, p, "replace");
            const char *es = vx_jget_str(&doc, p, "edit");
            out->pending.replace = r && r->type == VX_JTRUE;
            if (es) {
                out->pending.edit = 1;
                vx_strlcpy(out->pending.edit_size, es, sizeof(out->pending.edit_size));
            }
        }
        ask = js_str(&doc, p, "ask");
        for (int i = 0; i < VX_SLOT__COUNT; i++)
            if (strcmp(vx_slot_defs[i].name, ask) == 0)
                out->pending.ask = i;
    }
    /* ORDERING without a question to come back to would strand the customer */
    if (out->state == VX_ST_ORDERING && out->pending.ask < 0)
        out->pending.ask = VX_SLOT_PRODUCT;
    vx_strlcpy(out->pay_retry, js_str(&doc, o, "pay_retry"), sizeof(out->pay_retry));
    /* nothing to confirm: neither a cart nor an order to try paying once more */
    if (out->state == VX_ST_CONFIRMING && out->cart.n == 0 && !out->pay_retry[0])
        out->state = VX_ST_IDLE;
    vx_strlcpy(out->sub_plan, js_str(&doc, o, "sub_plan"), sizeof(out->sub_plan));
    vx_strlcpy(out->sub_target, js_str(&doc, o, "sub_target"), sizeof(out->sub_target));
    out->sub_change = js_int(&doc, o, "sub_change");
    /* a plan the catalog no longer offers is not confirmed */
    if (out->sub_plan[0] && !vx_catalog_plan(cat, out->sub_plan))
        out->sub_plan[0] = '\0';
    if (out->sub_change < 0 || out->sub_change > 8 || !out->sub_target[0])
        out->sub_change = 0;
    vx_strlcpy(out->say, js_str(&doc, o, "say"), sizeof(out->say));
    vx_strlcpy(out->reprompt, js_str(&doc, o, "reprompt"), sizeof(out->reprompt));
    vx_jdoc_free(&doc);
    return 0;
}

int vx_dstate_json(const struct vx_dstate *st, struct vx_buf *out)
{
    struct json_object *o = json_object_new_object();
    if (!o)
        return VX_ENOMEM;
    json_object_object_add(o, "state", json_object_new_string(vx_state_name(st->state)));
    json_object_object_add(o, "cart", lines_json(&st->cart));
    if (st->pending.ask >= 0 || st->pending.item.product[0]) {
        struct json_object *p = json_object_new_object();
        json_object_object_add(p, "product", json_object_new_string(st->pending.item.product));
        json_object_object_add(p, "size", json_object_new_string(st->pending.item.size));
        json_object_object_add(p, "quantity", json_object_new_int(st->pending.item.qty));
        if (st->pending.replace)
            json_object_object_add(p, "replace", json_object_new_boolean(1));
        if (st->pending.edit)
            json_object_object_add(p, "edit", json_object_new_string(st->pending.edit_size));
        if (st->pending.ask >= 0 && st->pending.ask < VX_SLOT__COUNT)
            json_object_object_add(p, "ask",
                                   json_object_new_string(vx_slot_defs[st->pending.ask].name));
        json_object_object_add(o, "pending", p);
    }
    if (st->say[0])
        json_object_object_add(o, "say", json_object_new_string(st->say));
    if (st->reprompt[0])
        json_object_object_add(o, "reprompt", json_object_new_string(st->reprompt));
    if (st->pay_retry[0])
        json_object_object_add(o, "pay_retry", json_object_new_string(st->pay_retry));
    if (st->sub_plan[0])
        json_object_object_add(o, "sub_plan", json_object_new_string(st->sub_plan));
    if (st->sub_target[0])
        json_object_object_add(o, "sub_target", json_object_new_string(st->sub_target));
    if (st->sub_change)
        json_object_object_add(o, "sub_change", json_object_new_int(st->sub_change));
    return to_buf(o, out);
}

/* Parses a stored object with jscan: 0 and the root, VX_EPARSE when it is not one. */
static int parse_doc(struct vx_jdoc *doc, const char *json, const struct vx_jnode **root)
{
    if (vx_jdoc_parse(doc, json, strlen(json), NULL) != 0)
        return VX_EPARSE;
    *root = vx_jroot(doc);
    if ((*root)->type != VX_JOBJECT) {
        vx_jdoc_free(doc);
        return VX_EPARSE;
    }
    return 0;
}

int vx_profile_parse(const char *json, const struct vx_catalog *cat, struct vx_profile *out)
{
    struct vx_jdoc doc;
    const struct vx_jnode *o;
    memset(out, 0, sizeof(*out));
    if (!json)
        return 0;
    if (parse_doc(&doc, json, &o) != 0)
        return VX_EPARSE;
    out->exists = 1;
    vx_strlcpy(out->locale, js_str(&doc, o, "locale"), sizeof(out->locale));
    vx_strlcpy(out->last_order, js_str(&doc, o, "last_order"), sizeof(out->last_order));
    vx_strlcpy(out->pay_untold, js_str(&doc, o, "pay_untold"), sizeof(out->pay_untold));
    {
        const struct vx_jnode *vc = vx_jget(&doc, o, "voice_code"), *lk;
        if (vc && vc->type == VX_JOBJECT && vc->end - vc->start < sizeof(out->voice_code))
            vx_strlcpy(out->voice_code, json + vc->start, vc->end - vc->start + 1);
        out->voice_code_failures = js_int(&doc, o, "voice_code_failures");
        lk = vx_jget(&doc, o, "voice_code_locked");
        out->voice_code_locked = lk && lk->type == VX_JTRUE;
    }
    js_lines(&doc, vx_jget(&doc, o, "usual"), cat, &out->usual);
    {
        const struct vx_jnode *pay =
            vx_jget(&doc, o, "billing_agreement"); /* the engine writes it */
        if (pay && pay->type == VX_JOBJECT) {
            vx_strlcpy(out->permission, js_str(&doc, pay, "id"), sizeof(out->permission));
            vx_strlcpy(out->permission_status, js_str(&doc, pay, "status"),
                       sizeof(out->permission_status));
            out->permission_live = strcmp(js_str(&doc, pay, "environment"), "production") == 0;
        }
        pay = vx_jget(&doc, o, "platform_agreement");
        if (pay && pay->type == VX_JOBJECT) {
            vx_strlcpy(out->platform_agreement, js_str(&doc, pay, "id"),
                       sizeof(out->platform_agreement));
            vx_strlcpy(out->platform_agreement_status, js_str(&doc, pay, "status"),
                       sizeof(out->platform_agreement_status));
        }
    }
    vx_jdoc_free(&doc);
    return 0;
}

/* The profile members a turn changes, each as its JSON value, into the write set. */
int vx_profile_wset(const struct vx_profile_set *set, struct vx_wset *w)
{
    if (set->fields & VX_PF_LOCALE) {
        struct json_object *v = json_object_new_string(set->locale);
        vx_wset_profile_set(w, "locale",
                            v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL);
        json_object_put(v);
    }
    if (set->fields & VX_PF_USUAL) {
        struct json_object *v = lines_json(&set->usual);
        vx_wset_profile_set(w, "usual",
                            v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL);
        json_object_put(v);
    }
    if (set->fields & VX_PF_VOICE_CODE) {
        char n[16];
        snprintf(n, sizeof(n), "%d", set->voice_code_failures);
        vx_wset_profile_set(w, "voice_code_failures", n);
        vx_wset_profile_set(w, "voice_code_locked", set->voice_code_locked ? "true" : "false");
    }
    if (set->fields & VX_PF_LAST_ORDER) {
        struct json_object *v = json_object_new_string(set->last_order);
        vx_wset_profile_set(w, "last_order",
                            v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : NULL);
        json_object_put(v);
    }
    return w->overflow ? VX_ENOMEM : 0;
}

int vx_order_json(const struct vx_order *ord, const char *merchant, struct vx_buf *out)
{
    struct json_object *o = json_object_new_object(), *a = json_object_new_array();
    if (!o || !a) {
        json_object_put(o);
        json_object_put(a);
        return VX_ENOMEM;
    }
    json_object_object_add(o, "id", json_object_new_string(ord->id));
    json_object_object_add(o, "state", json_object_new_string(ord->state ? ord->state : ""));
    json_object_object_add(o, "merchant", json_object_new_string(merchant ? merchant : ""));
    json_object_object_add(o, "created", json_object_new_int64(ord->created));
    json_object_object_add(o, "locale", json_object_new_string(ord->locale));
    json_object_object_add(o, "currency", json_object_new_string(ord->currency));
    for (size_t i = 0; i < ord->n; i++) {
        struct json_object *l = json_object_new_object();
        json_object_object_add(l, "product", json_object_new_string(ord->lines[i].product));
        if (ord->lines[i].size[0])
            json_object_object_add(l, "size", json_object_new_string(ord->lines[i].size));
        json_object_object_add(l, "quantity", json_object_new_int(ord->lines[i].qty));
        json_object_object_add(l, "unit_price", json_object_new_int64(ord->lines[i].unit_price));
        json_object_object_add(l, "amount", json_object_new_int64(ord->lines[i].amount));
        json_object_array_add(a, l);
    }
    json_object_object_add(o, "lines", a);
    json_object_object_add(o, "total", json_object_new_int64(ord->total));
    return to_buf(o, out);
}

int vx_order_view_parse(const char *json, struct vx_order_view *out)
{
    struct vx_jdoc doc;
    const struct vx_jnode *o;
    int64_t total = 0;
    memset(out, 0, sizeof(*out));
    if (!json || parse_doc(&doc, json, &o) != 0)
        return VX_EPARSE;
    vx_strlcpy(out->id, js_str(&doc, o, "id"), sizeof(out->id));
    vx_strlcpy(out->state, js_str(&doc, o, "state"), sizeof(out->state));
    vx_strlcpy(out->currency, js_str(&doc, o, "currency"), sizeof(out->currency));
    if (vx_jint64(vx_jget(&doc, o, "total"), &total) == 0)
        out->total = total;
    js_lines(&doc, vx_jget(&doc, o, "lines"), NULL, &out->lines);
    vx_jdoc_free(&doc);
    return 0;
}

void vx_fsm_order_id(const struct vx_request *req, int64_t now, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    char seed[1024];
    char h[11];
    time_t t = (time_t)now;
    struct tm tm;

    snprintf(seed, sizeof(seed), "%s\n%s\n%s", req->application_id ? req->application_id : "",
             req->user_id ? req->user_id : "", req->request_id ? req->request_id : "");
    if (vx_sha256(seed, strlen(seed), md) != 0)
        memset(md, 0, sizeof(md));
    for (int i = 0; i < 5; i++) {
        h[2 * i] = hex[md[i] >> 4];
        h[2 * i + 1] = hex[md[i] & 15];
    }
    h[10] = '\0';
    gmtime_r(&t, &tm);
    snprintf(out, outsz, "o%04d%02d%02d-%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, h);
}
