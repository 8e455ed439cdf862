/*
 * The dialog engine: table lookup plus command interpreter.
 *
 * DESIGN
 * - Decide, then do. A state function (in intents/) only appends commands; this
 *   file is the one place that acts on them. That split keeps every dialog
 *   decision testable without Redis and every side effect in one reviewed spot.
 * - Flags before handlers, as Redis checks a command's flags before calling
 *   it: an intent marked VX_IF_NEEDS_LINK is answered here when the account is
 *   not linked; and every cell of the table carries the mask of command kinds
 *   it may emit (only named cells may record an order), whatever the event; a
 *   state function that tries anyway is overruled and logged as a bug.
 * - One write per turn. The new conversation state, the profile changes and a
 *   confirmed order go to Redis in one Lua script (vx_store_save) that only
 *   writes when the conversation still has the version we read. Two requests of
 *   one customer at once cannot both win: the loser loads again and re-runs its
 *   turn once (the order ID is derived from the request, so the re-run records
 *   the same order), and if it loses again it asks the customer to say that
 *   again instead of guessing. Nothing is spoken before the write succeeded,
 *   so the customer never hears "done" for something that was not stored.
 * - Stateless events (CanFulfillIntentRequest, skill events) neither load nor
 *   write: the platform may send them at any time and they must not change a
 *   conversation.
 * - The state in the store is data from the past: parsing it drops cart lines
 *   the catalog no longer sells rather than failing, and a document that cannot
 *   be parsed starts a fresh conversation (logged).
 */
#include "voxcart/jscan.h"
#include "voxcart/ledger.h"
#include "voxcart/json.h"
#include "voxcart/fsm.h"
#include "voxcart/log.h"
#include "voxcart/response.h"
#include "voxcart/store.h"
#include "voxcart/verify.h"
#include "voxcart/wset.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stddef.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vx_fsm {
    struct vx_catalog *cat;
    struct vx_i18n *i18n;
    int ttl;
    void (*hook)(void *ud);
    void *hook_ud;
};

/* Flags of the events that are not intents (intents have theirs in intents.def). */
#define VX_EVF_STATELESS (1u << 16)

static unsigned event_flags(enum vx_event ev)
{
    if ((int)ev < VX_EV__INTENTS)
        return vx_intent_defs[ev].flags;
    switch (ev) {
    case VX_EV_CAN_FULFILL:
    case VX_EV_SKILL_EVENT:
        return VX_EVF_STATELESS;
    default:
        return 0;
    }
}

/* --- commands --- */

void vx_cmds_reset(struct vx_cmds *c)
{
    c->n = 0;
    c->used = 0;
    c->overflow = 0;
}

static struct vx_cmd *cmd_add(struct vx_cmds *c, enum vx_cmd_type t)
{
    struct vx_cmd *cmd;
    if (c->n == VX_CMDS_MAX) {
        c->overflow = 1;
        return NULL;
    }
    cmd = &c->v[c->n++];
    memset(cmd, 0, sizeof(*cmd));
    cmd->type = t;
    return cmd;
}

/* A copy of s in the list's arena, so commands never point into a state function's stack. */
static const char *keep(struct vx_cmds *c, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *p;
    if (c->used + n > sizeof(c->arena)) {
        c->overflow = 1;
        return "";
    }
    p = c->arena + c->used;
    memcpy(p, s ? s : "", n);
    c->used += n;
    return p;
}

static void say_v(struct vx_cmds *c, enum vx_cmd_type t, enum vx_msg m, va_list ap)
{
    struct vx_cmd *cmd = cmd_add(c, t);
    const char *name;
    if (!cmd)
        return;
    cmd->u.say.msg = m;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        if (cmd->u.say.nargs == VX_CMD_ARGS) {
            c->overflow = 1;
            return;
        }
        cmd->u.say.args[cmd->u.say.nargs].name = name;
        cmd->u.say.args[cmd->u.say.nargs++].value = keep(c, value);
    }
}

void vx_cmd_say(struct vx_cmds *c, enum vx_msg m, ...)
{
    va_list ap;
    va_start(ap, m);
    say_v(c, VX_CMD_SAY, m, ap);
    va_end(ap);
}

void vx_cmd_reprompt(struct vx_cmds *c, enum vx_msg m, ...)
{
    va_list ap;
    va_start(ap, m);
    say_v(c, VX_CMD_REPROMPT, m, ap);
    va_end(ap);
}

void vx_cmd_say_text(struct vx_cmds *c, const char *text)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SAY_TEXT);
    if (cmd)
        cmd->u.say.text = keep(c, text);
}

void vx_cmd_reprompt_text(struct vx_cmds *c, const char *text)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_REPROMPT_TEXT);
    if (cmd)
        cmd->u.say.text = keep(c, text);
}

void vx_cmd_card(struct vx_cmds *c, enum vx_msg title, const char *shop, const char *text)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_CARD);
    if (!cmd)
        return;
    cmd->u.say.msg = title;
    cmd->u.say.args[0].name = "shop";
    cmd->u.say.args[0].value = keep(c, shop);
    cmd->u.say.nargs = 1;
    cmd->u.say.text = keep(c, text);
}

struct vx_elicit *vx_cmd_elicit(struct vx_cmds *c, int slot, const char *intent,
                                const char *slot_name)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_ELICIT_SLOT);
    if (!cmd)
        return NULL;
    memset(&cmd->u.elicit, 0, sizeof(cmd->u.elicit));
    cmd->u.elicit.slot = slot;
    cmd->u.elicit.intent = keep(c, intent);
    cmd->u.elicit.slot_name = keep(c, slot_name);
    return &cmd->u.elicit;
}

void vx_cmd_elicit_known(struct vx_cmds *c, struct vx_elicit *e, const char *name,
                         const char *value)
{
    if (!e)
        return;
    if (e->nknown >= VX_MAX_SLOTS) {
        c->overflow = 1;
        return;
    }
    e->known[e->nknown].name = keep(c, name);
    e->known[e->nknown++].value = value ? keep(c, value) : NULL;
}

void vx_cmd_state(struct vx_cmds *c, enum vx_state s)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_NEW_STATE);
    if (cmd)
        cmd->u.state = s;
}

void vx_cmd_cart(struct vx_cmds *c, const struct vx_cart *cart)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SET_CART);
    if (cmd)
        cmd->u.cart = *cart;
}

void vx_cmd_pending(struct vx_cmds *c, const struct vx_pending *p)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SET_PENDING);
    if (cmd)
        cmd->u.pending = *p;
}

struct vx_profile_set *vx_cmd_profile(struct vx_cmds *c)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SET_PROFILE);
    return cmd ? &cmd->u.profile : NULL;
}

struct vx_order *vx_cmd_record_order(struct vx_cmds *c)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_RECORD_ORDER);
    return cmd ? &cmd->u.order : NULL;
}

struct vx_can_fulfill *vx_cmd_can_fulfill(struct vx_cmds *c)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_CAN_FULFILL);
    return cmd ? &cmd->u.cf : NULL;
}

void vx_cmd_end(struct vx_cmds *c)
{
    cmd_add(c, VX_CMD_END_SESSION);
}

void vx_cmd_silent(struct vx_cmds *c)
{
    cmd_add(c, VX_CMD_SILENT);
}

const struct vx_cmd *vx_cmds_find(const struct vx_cmds *c, enum vx_cmd_type t, size_t nth)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].type == t && nth-- == 0)
            return &c->v[i];
    return NULL;
}

const char *vx_cmd_arg(const struct vx_cmd *cmd, const char *name)
{
    for (size_t i = 0; cmd && i < cmd->u.say.nargs; i++)
        if (strcmp(cmd->u.say.args[i].name, name) == 0)
            return cmd->u.say.args[i].value;
    return NULL;
}

/* --- the stored documents --- */

static const char *jstr(struct json_object *o, const char *k)
{
    struct json_object *v = vx_json_get(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

static int64_t jint(struct json_object *o, const char *k)
{
    struct json_object *v = vx_json_get(o, k);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static struct json_object *parse_object(const char *json)
{
    struct json_object *o = json ? json_tokener_parse(json) : NULL;
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

/* A line the catalog still sells in that size, with a sane quantity. */
static int line_valid(const struct vx_catalog *cat, const struct vx_line *l)
{
    const struct vx_cat_product *p = vx_catalog_product(cat, l->product);
    int64_t price;
    return p && l->qty >= 1 && l->qty <= VX_QTY_MAX && vx_catalog_price(p, l->size, &price) == 0;
}

static void lines_parse(struct json_object *a, const struct vx_catalog *cat, struct vx_cart *out)
{
    memset(out, 0, sizeof(*out));
    if (!a || !json_object_is_type(a, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(a) && out->n < VX_CART_MAX; i++) {
        struct json_object *o = json_object_array_get_idx(a, i);
        struct vx_line *l = &out->lines[out->n];
        memset(l, 0, sizeof(*l));
        vx_strlcpy(l->product, jstr(o, "product"), sizeof(l->product));
        vx_strlcpy(l->size, jstr(o, "size"), sizeof(l->size));
        l->qty = (int)jint(o, "quantity");
        if (!cat || line_valid(cat, l))
            out->n++;
    }
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
    if (vx_state_parse(js_str(&doc, o, "state"), &out->state) != 0)
        out->state = VX_ST_IDLE;
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
    if (out->state == VX_ST_CONFIRMING && out->cart.n == 0)
        out->state = VX_ST_IDLE;
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
    return to_buf(o, out);
}

int vx_profile_parse(const char *json, const struct vx_catalog *cat, struct vx_profile *out)
{
    struct json_object *o = parse_object(json);
    memset(out, 0, sizeof(*out));
    if (!json)
        return 0;
    if (!o)
        return VX_EPARSE;
    out->exists = 1;
    vx_strlcpy(out->locale, jstr(o, "locale"), sizeof(out->locale));
    vx_strlcpy(out->last_order, jstr(o, "last_order"), sizeof(out->last_order));
    lines_parse(vx_json_get(o, "usual"), cat, &out->usual);
    json_object_put(o);
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
    struct json_object *o = parse_object(json);
    memset(out, 0, sizeof(*out));
    if (!o)
        return VX_EPARSE;
    vx_strlcpy(out->id, jstr(o, "id"), sizeof(out->id));
    vx_strlcpy(out->state, jstr(o, "state"), sizeof(out->state));
    vx_strlcpy(out->currency, jstr(o, "currency"), sizeof(out->currency));
    out->total = jint(o, "total");
    lines_parse(vx_json_get(o, "lines"), NULL, &out->lines);
    json_object_put(o);
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

/* --- classification, flags, lookup --- */

enum vx_event vx_fsm_classify(const struct vx_request *req)
{
    int i;
    switch (req->type) {
    case VX_REQ_LAUNCH:
        return VX_EV_LAUNCH;
    case VX_REQ_SESSION_ENDED:
        return VX_EV_SESSION_ENDED;
    case VX_REQ_CAN_FULFILL:
        return VX_EV_CAN_FULFILL;
    case VX_REQ_CONNECTIONS_RESPONSE:
        return VX_EV_CONNECTIONS_RESPONSE;
    case VX_REQ_INTENT:
        /* an intent the models gained before the code did: answer it like unclear speech */
        i = vx_intent_find(req->intent_name);
        return i >= 0 ? (enum vx_event)i : VX_EV_FALLBACK;
    case VX_REQ_SKILL_EVENT:
    case VX_REQ_OTHER:
    default:
        return VX_EV_SKILL_EVENT;
    }
}

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
        vx_error("fsm", "cell %s/%s produced more commands than fit", vx_state_name(d->st->state),
                 vx_event_name(d->ev));
    } else if (bad < out->n) {
        vx_error("fsm", "cell %s/%s emitted command %d, which it may not: refused",
                 vx_state_name(d->st->state), vx_event_name(d->ev), (int)out->v[bad].type);
    } else {
        return 0;
    }
    vx_cmds_reset(out);
    vx_st_bug(d, out);
    return 1;
}

void vx_fsm_run(const struct vx_dialog *d, struct vx_cmds *out)
{
    unsigned flags = event_flags(d->ev);
    vx_cmds_reset(out);
    if (vx_fsm_gate(d, flags, out))
        return;
    {
        const struct vx_cell *cell = vx_dialog_cell((int)d->st->state, (int)d->ev);
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

size_t vx_fsm_check_messages(const struct vx_i18n *m, const struct vx_catalog *cat,
                             void (*report)(void *ud, const char *file, const char *msg), void *ud)
{
    struct check c = {report, ud, NULL, NULL, NULL, 0};
    for (size_t i = 0; i < vx_i18n_count(m); i++) {
        const struct vx_locale *l = vx_i18n_at(m, i);
        static const char *const cur_forms[] = {"one", "other", "minor_one", "minor_other"};
        size_t forms = vx_currency_digits(cat->currency) > 0 ? 4 : 2, k;
        c.file = vx_locale_file(l);
        for (int msg = 0; msg < VX_M__COUNT; msg++) {
            const char *t = vx_locale_text(l, vx_msg_defs[msg].key);
            if (!t) {
                problem(&c, "missing message '%s'", vx_msg_defs[msg].key);
                continue;
            }
            c.key = vx_msg_defs[msg].key;
            c.allowed = vx_msg_defs[msg].args;
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
    f->ttl = cfg && cfg->ttl > 0 ? cfg->ttl : VX_CONV_TTL;
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
    if (vx_fsm_check_messages(f->i18n, f->cat, first_problem, &ce) > 0) {
        rc = vx_err_set(e, VX_ECONFIG, "intents_dir: %s", ce.msg);
        goto out;
    }
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
    vx_catalog_free(f->cat);
    vx_i18n_free(f->i18n);
    free(f);
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

/* --- the interpreter --- */

/* Everything one turn needs; on the heap, because commands and texts are several KiB. */
struct turn {
    struct vx_cmds cmds;
    struct vx_dstate st, next;
    struct vx_profile prof;
    struct vx_order_view last;
    struct vx_profile_set pset;
    struct vx_response resp;
    struct vx_conv conv;
    struct vx_wset wset;
    struct vx_buf state_json, order_json, ledger_json;
    char text[VX_TEXT_MAX];
};

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

static void append_text(char *dst, size_t size, const char *text)
{
    size_t n = strlen(dst);
    if (n && n + 1 < size)
        dst[n++] = ' ';
    vx_strlcpy(dst + n, text, size - n);
}

static const char *format_msg(const struct vx_dialog *d, const struct vx_cmd *cmd, char *out,
                              size_t outsz)
{
    const char *key = vx_msg_defs[cmd->u.say.msg].key;
    int rc = vx_locale_format(d->loc, key, cmd->u.say.args, cmd->u.say.nargs, out, outsz);
    if (rc)
        vx_warn("fsm", "message '%s' in %s: %s", key, vx_locale_name(d->loc), vx_strerror(rc));
    return out;
}

static void slot_json(struct vx_buf *b, const char *name, const char *value, int first)
{
    vx_buf_appendf(b, "%s\"%s\":{\"name\":\"%s\",\"confirmationStatus\":\"NONE\"", first ? "" : ",",
                   name, name);
    if (value && *value) {
        vx_buf_appends(b, ",\"value\":\"");
        vx_json_escape(b, value, strlen(value));
        vx_buf_appends(b, "\"");
    }
    vx_buf_appends(b, "}");
}

/* Dialog.ElicitSlot with what is known of the intent, so the platform keeps it (alexa.md s. 3). */
static int elicit_directive(const struct vx_elicit *e, struct vx_response *resp)
{
    struct vx_buf b;
    int rc;
    vx_buf_init(&b);
    vx_buf_appends(&b, "{\"type\":\"Dialog.ElicitSlot\",\"slotToElicit\":\"");
    vx_json_escape(&b, e->slot_name, strlen(e->slot_name));
    vx_buf_appends(&b, "\",\"updatedIntent\":{\"name\":\"");
    vx_json_escape(&b, e->intent, strlen(e->intent));
    vx_buf_appends(&b, "\",\"confirmationStatus\":\"NONE\",\"slots\":{");
    for (size_t i = 0; i < e->nknown; i++)
        slot_json(&b, e->known[i].name, e->known[i].value, i == 0);
    vx_buf_appends(&b, "}}}");
    rc = b.data ? vx_response_directive(resp, b.data) : VX_ENOMEM;
    vx_buf_release(&b);
    return rc;
}

/* Applies the commands to t->next and t->resp; profile and order changes are left in t. */
static void interpret(const struct vx_dialog *d, struct turn *t, const struct vx_order **order,
                      const struct vx_can_fulfill **cf)
{
    int spoke = 0, reprompted = 0, end = 0, silent = 0;
    const struct vx_elicit *elicit = NULL;
    char title[256];

    t->next = t->st;
    memset(&t->pset, 0, sizeof(t->pset));
    *order = NULL;
    *cf = NULL;
    for (size_t i = 0; i < t->cmds.n; i++) {
        const struct vx_cmd *c = &t->cmds.v[i];
        switch (c->type) {
        case VX_CMD_SAY:
        case VX_CMD_SAY_TEXT: {
            const char *text = c->type == VX_CMD_SAY_TEXT
                                   ? c->u.say.text
                                   : format_msg(d, c, t->text, sizeof(t->text));
            if (!spoke)
                t->next.say[0] = '\0';
            spoke = 1;
            vx_response_say(&t->resp, text);
            append_text(t->next.say, sizeof(t->next.say), text);
            break;
        }
        case VX_CMD_REPROMPT:
        case VX_CMD_REPROMPT_TEXT: {
            const char *text = c->type == VX_CMD_REPROMPT_TEXT
                                   ? c->u.say.text
                                   : format_msg(d, c, t->text, sizeof(t->text));
            if (!reprompted)
                t->next.reprompt[0] = '\0';
            reprompted = 1;
            vx_response_reprompt(&t->resp, text);
            append_text(t->next.reprompt, sizeof(t->next.reprompt), text);
            break;
        }
        case VX_CMD_CARD:
            vx_response_card(&t->resp, format_msg(d, c, title, sizeof(title)), c->u.say.text);
            break;
        case VX_CMD_ELICIT_SLOT:
            elicit = &c->u.elicit;
            break;
        case VX_CMD_NEW_STATE:
            t->next.state = c->u.state;
            break;
        case VX_CMD_SET_CART:
            t->next.cart = c->u.cart;
            break;
        case VX_CMD_SET_PENDING:
            t->next.pending = c->u.pending;
            break;
        case VX_CMD_SET_PROFILE:
            /* several changes in one turn add up */
            if (c->u.profile.fields & VX_PF_LOCALE)
                vx_strlcpy(t->pset.locale, c->u.profile.locale, sizeof(t->pset.locale));
            if (c->u.profile.fields & VX_PF_USUAL)
                t->pset.usual = c->u.profile.usual;
            if (c->u.profile.fields & VX_PF_LAST_ORDER)
                vx_strlcpy(t->pset.last_order, c->u.profile.last_order, sizeof(t->pset.last_order));
            t->pset.fields |= c->u.profile.fields;
            break;
        case VX_CMD_RECORD_ORDER:
            *order = &c->u.order;
            break;
        case VX_CMD_CAN_FULFILL:
            *cf = &c->u.cf;
            break;
        case VX_CMD_END_SESSION:
            end = 1;
            break;
        case VX_CMD_SILENT:
            silent = 1;
            break;
        }
    }
    if (spoke && !reprompted)
        t->next.reprompt[0] = '\0';
    t->resp.silent = silent;
    t->resp.end_session = silent ? -1 : end ? 1 : 0;
    /* dialog directives only answer intent requests, and never with the session ending */
    if (elicit && !end && !silent && d->req->type == VX_REQ_INTENT)
        elicit_directive(elicit, &t->resp);
}

static const char *cf_word(enum vx_cf_answer a)
{
    return a == VX_CF_YES ? "YES" : a == VX_CF_MAYBE ? "MAYBE" : "NO";
}

static int render_can_fulfill(const struct vx_can_fulfill *cf, struct vx_buf *body)
{
    int rc = vx_buf_appendf(body,
                            "{\"version\":\"1.0\",\"response\":{\"canFulfillIntent\":{"
                            "\"canFulfill\":\"%s\",\"slots\":{",
                            cf_word(cf->intent));
    for (size_t i = 0; i < cf->nslots && rc == 0; i++) {
        rc |= vx_buf_appendf(body, "%s\"", i ? "," : "");
        rc |= vx_json_escape(body, cf->slots[i].name, strlen(cf->slots[i].name));
        rc |= vx_buf_appendf(body, "\":{\"canUnderstand\":\"%s\",\"canFulfill\":\"%s\"}",
                             cf_word(cf->slots[i].understand), cf_word(cf->slots[i].fulfill));
    }
    rc |= vx_buf_appends(body, "}}}}");
    return rc ? VX_ENOMEM : 0;
}

/*
 * A turn as a sequence of phases; between two phases the caller carries out
 * one store operation (vx_fsm_turn_step hands it out). The same turn runs
 * blocking (vx_fsm_handle) or on voxcartd's event loop.
 */
enum phase { PH_ATTEMPT, PH_LOADED, PH_LAST_RECENT, PH_LAST_ORDER, PH_DECIDE, PH_SAVED, PH_RENDER };

struct vx_fsm_turn {
    struct vx_fsm *f;
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
    ft->req = req;
    ft->ev = vx_fsm_classify(req);
    ft->stateless = (event_flags(ft->ev) & VX_EVF_STATELESS) != 0;
    vx_response_init(&ft->t.resp);
    vx_buf_init(&ft->t.state_json);
    vx_buf_init(&ft->t.order_json);
    vx_buf_init(&ft->t.ledger_json);
    if (!ft->stateless && (!req->user_id || !req->application_id)) {
        /* nothing to key a conversation by: answer, but remember nothing */
        vx_warn("fsm", "request %s has no user or skill ID: not keeping state", req->request_id);
        ft->stateless = 1;
    }
    ft->d.req = req;
    ft->d.ev = ft->ev;
    ft->d.cat = f->cat;
    ft->d.loc = vx_i18n_get(f->i18n, req->locale);
    ft->d.lang = vx_locale_lang(ft->d.loc);
    ft->d.now = vx_now();
    vx_fsm_order_id(req, ft->d.now, ft->order_id, sizeof(ft->order_id));
    ft->d.order_id = ft->order_id;
    ft->d.st = &ft->t.st;
    ft->d.profile = &ft->t.prof;
    ft->phase = PH_ATTEMPT;
    *out = ft;
    return 0;
}

void vx_fsm_turn_free(struct vx_fsm_turn *ft)
{
    if (!ft)
        return;
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
    if (vx_dstate_parse(t->conv.state, ft->f->cat, &t->st) != 0)
        vx_warn("fsm", "conversation of %s is not valid JSON: starting afresh", ft->req->user_id);
    if (vx_profile_parse(t->conv.profile, ft->f->cat, &t->prof) != 0)
        vx_warn("fsm", "profile of %s is not valid JSON: treating it as empty", ft->req->user_id);
    if (!(event_flags(ft->ev) & VX_IF_LAST_ORDER))
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
    else if (rc == 0 && vx_order_view_parse(ft->op.json, &ft->t.last) == 0)
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
    interpret(&ft->d, t, &ft->order, &ft->cf);
    if (ft->stateless)
        return need(ft, 0, PH_RENDER, op);
    if (vx_dstate_json(&t->next, &t->state_json) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    /* the turn's changes as one write set: all of it lands, or none */
    vx_wset_init(&t->wset, ft->req->application_id, ft->req->user_id);
    vx_wset_conv(&t->wset, t->conv.version, t->state_json.data, f->ttl);
    if (t->pset.fields && vx_profile_wset(&t->pset, &t->wset) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (ft->order) {
        if (vx_order_json(ft->order, f->cat->merchant_id, &t->order_json) != 0 ||
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
        vx_debug("fsm", "%s: %s/%s -> %s", req->user_id, vx_state_name(t->st.state),
                 vx_event_name(ft->ev), vx_state_name(t->next.state));
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
    interpret(&ft->d, t, &ft->order, &ft->cf);
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
            vx_dstate_init(&t->st);
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
            rc = ft->cf ? render_can_fulfill(ft->cf, body)
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
