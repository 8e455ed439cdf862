/*
 * Checkout: reading the order back and settling it. The summary always names
 * every item and the total in the merchant's currency, spoken for the locale,
 * and ends with a question; only AMAZON.YesIntent in CONFIRMING records the
 * order, with state CONFIRMED (the point where the payments issue takes over),
 * and remembers it as the customer's usual. NO and CANCEL drop the order and
 * keep the session. Reordering the usual goes through the same summary, so
 * nothing is ever ordered without the customer hearing the price first.
 *
 * The phrasing helpers every flow shares (items, totals, lists, the question
 * of a state) live here too: they are the checkout's vocabulary.
 */
#include "dialog.h"

#include "voxcart/vcode.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *vx_dlg_product_name(const struct vx_dialog *d, const char *id, long long n)
{
    const struct vx_cat_product *p = vx_catalog_product(d->cat, id);
    const struct vx_cat_names *names;
    if (!p)
        return id;
    names = vx_cat_names_for(p->names, p->nnames, d->lang);
    return vx_words_noun(&names->words, d->lang, n);
}

void vx_dlg_item(const struct vx_dialog *d, const struct vx_line *l, char *out, size_t outsz)
{
    const struct vx_cat_product *p = vx_catalog_product(d->cat, l->product);
    const struct vx_cat_size *z = l->size[0] ? vx_catalog_size(d->cat, l->size) : NULL;
    const struct vx_cat_names *pn, *zn = NULL;

    if (!p) {
        vx_strlcpy(out, l->product, outsz);
        return;
    }
    pn = vx_cat_names_for(p->names, p->nnames, d->lang);
    if (z)
        zn = vx_cat_names_for(z->names, z->nnames, d->lang);
    vx_locale_item(d->loc, l->qty, &pn->words, zn ? &zn->words : NULL, out, outsz);
}

void vx_dlg_items(const struct vx_dialog *d, const struct vx_cart *cart, char *out, size_t outsz)
{
    char items[VX_CART_MAX][160];
    const char *ptrs[VX_CART_MAX];
    for (size_t i = 0; i < cart->n; i++) {
        vx_dlg_item(d, &cart->lines[i], items[i], sizeof(items[i]));
        ptrs[i] = items[i];
    }
    vx_locale_join(d->loc, ptrs, cart->n, "and", out, outsz);
}

int64_t vx_dlg_total(const struct vx_dialog *d, const struct vx_cart *cart)
{
    int64_t total = 0;
    for (size_t i = 0; i < cart->n; i++) {
        const struct vx_cat_product *p = vx_catalog_product(d->cat, cart->lines[i].product);
        int64_t price;
        if (p && vx_catalog_price(p, cart->lines[i].size, &price) == 0)
            total += price * cart->lines[i].qty;
    }
    return total;
}

void vx_dlg_money(const struct vx_dialog *d, int64_t minor, char *out, size_t outsz)
{
    vx_money_spoken(d->loc, minor, d->cat->currency, out, outsz);
}

void vx_dlg_products(const struct vx_dialog *d, char *out, size_t outsz)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < d->cat->nproducts && n < VX_ARRAY_LEN(names); i++) {
        const struct vx_cat_product *p = &d->cat->products[i];
        /* "we have lattes, ... and bags of coffee beans": the plural names a kind */
        names[n++] =
            vx_words_noun(&vx_cat_names_for(p->names, p->nnames, d->lang)->words, d->lang, 2);
    }
    vx_locale_join(d->loc, names, n, "and", out, outsz);
}

void vx_dlg_sizes(const struct vx_dialog *d, const struct vx_cat_product *p, char *out,
                  size_t outsz)
{
    const char *names[32];
    size_t n = 0;
    for (size_t i = 0; p && i < p->noptions && n < VX_ARRAY_LEN(names); i++) {
        const struct vx_cat_size *z = p->options[i].size;
        names[n++] = vx_cat_names_for(z->names, z->nnames, d->lang)->words.one;
    }
    vx_locale_join(d->loc, names, n, "or", out, outsz);
}

void vx_dlg_pending_clear(struct vx_pending *p)
{
    memset(p, 0, sizeof(*p));
    p->ask = -1;
}

void vx_dlg_drop_order(struct vx_cmds *out)
{
    struct vx_cart empty;
    struct vx_pending none;
    memset(&empty, 0, sizeof(empty));
    vx_dlg_pending_clear(&none);
    vx_cmd_cart(out, &empty);
    vx_cmd_pending(out, &none);
    vx_cmd_state(out, VX_ST_IDLE);
}

void vx_dlg_summary(const struct vx_dialog *d, const struct vx_cart *cart, struct vx_cmds *out)
{
    char items[1024], total[96];
    struct vx_pending none;

    vx_dlg_pending_clear(&none);
    vx_dlg_items(d, cart, items, sizeof(items));
    vx_dlg_money(d, vx_dlg_total(d, cart), total, sizeof(total));
    vx_cmd_cart(out, cart);
    vx_cmd_pending(out, &none);
    vx_cmd_state(out, VX_ST_CONFIRMING);
    vx_cmd_say(out, VX_M_ORDER_SUMMARY, "items", items, "total", total, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_CONFIRM, "total", total, VX_END);
}

/* "large lattes" (n = 2), "large latte" (n = 1): a product with its size, no quantity */
static void sized_name(const struct vx_dialog *d, const struct vx_line *l, long long n, char *out,
                       size_t outsz)
{
    const struct vx_cat_product *p = vx_catalog_product(d->cat, l->product);
    const struct vx_cat_size *z = l->size[0] ? vx_catalog_size(d->cat, l->size) : NULL;
    const struct vx_cat_names *pn;
    if (!p) {
        vx_strlcpy(out, l->product, outsz);
        return;
    }
    pn = vx_cat_names_for(p->names, p->nnames, d->lang);
    if (z) {
        const struct vx_cat_names *zn = vx_cat_names_for(z->names, z->nnames, d->lang);
        snprintf(out, outsz, "%s %s", vx_words_adj(&zn->words, &pn->words, d->lang, n),
                 vx_words_noun(&pn->words, d->lang, n));
    } else {
        vx_strlcpy(out, vx_words_noun(&pn->words, d->lang, n), outsz);
    }
}

static void ask_ordering(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    char a[1024], b[160], max[8];
    enum vx_slot_id slot = p->ask >= 0 ? (enum vx_slot_id)p->ask : VX_SLOT_PRODUCT;
    const struct vx_cat_product *prod = vx_catalog_product(d->cat, p->item.product);

    if (slot == VX_SLOT_SIZE && prod) {
        vx_dlg_sizes(d, prod, a, sizeof(a));
        vx_strlcpy(b, vx_dlg_product_name(d, prod->id, 1), sizeof(b));
        vx_cmd_say(out, VX_M_ASK_SIZE, "product", b, "sizes", a, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_SIZE, "product", b, "sizes", a, VX_END);
    } else if (slot == VX_SLOT_QUANTITY && prod) {
        snprintf(max, sizeof(max), "%d", VX_QTY_MAX);
        sized_name(d, &p->item, 2, b, sizeof(b));
        vx_cmd_say(out, VX_M_ASK_QUANTITY, "product", b, "max", max, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_QUANTITY, "product", b, "max", max, VX_END);
    } else {
        slot = VX_SLOT_PRODUCT;
        vx_dlg_products(d, a, sizeof(a));
        vx_cmd_say(out, VX_M_ASK_PRODUCT, "products", a, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_PRODUCT, "products", a, VX_END);
    }
    vx_dlg_elicit(d, p, slot, out);
}

void vx_dlg_elicit(const struct vx_dialog *d, const struct vx_pending *p, enum vx_slot_id slot,
                   struct vx_cmds *out)
{
    const struct vx_intent_def *in = &vx_intent_defs[VX_EV_ORDER];
    struct vx_elicit *e = vx_cmd_elicit(out, (int)slot, in->name, vx_slot_defs[slot].name);
    for (int s = 0; e && s < VX_SLOT__COUNT; s++) {
        const char *value = NULL;
        char num[16];
        if (!(in->slots & (1u << s)))
            continue;
        if (vx_slot_defs[s].kind == VX_SK_PRODUCT && p->item.product[0]) {
            value = vx_dlg_product_name(d, p->item.product, 1);
        } else if (vx_slot_defs[s].kind == VX_SK_SIZE && p->item.size[0]) {
            const struct vx_cat_size *z = vx_catalog_size(d->cat, p->item.size);
            value = z ? vx_cat_names_for(z->names, z->nnames, d->lang)->words.one : NULL;
        } else if (vx_slot_defs[s].kind == VX_SK_NUMBER && p->item.qty > 0) {
            snprintf(num, sizeof(num), "%d", p->item.qty);
            value = num;
        }
        vx_cmd_elicit_known(out, e, vx_slot_defs[s].name, value);
    }
}

/* The questions each state asks (its row's ask: see rows.c). */
void vx_ask_usual(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    char items[1024];
    (void)p;
    vx_dlg_items(d, &d->profile->usual, items, sizeof(items));
    vx_cmd_say(out, VX_M_ASK_USUAL, "items", items, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_USUAL, "items", items, VX_END);
}

void vx_ask_item(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    ask_ordering(d, p, out);
}

void vx_ask_confirm(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    char total[96];
    (void)p;
    vx_dlg_money(d, vx_dlg_total(d, &d->st->cart), total, sizeof(total));
    vx_cmd_say(out, VX_M_ASK_CONFIRM, "total", total, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_CONFIRM, "total", total, VX_END);
}

void vx_ask_more(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    (void)d;
    (void)p;
    vx_cmd_say(out, VX_M_ASK_MORE, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

void vx_ask_payment_pending(const struct vx_dialog *d, const struct vx_pending *p,
                            struct vx_cmds *out)
{
    (void)d;
    (void)p;
    vx_cmd_say(out, VX_M_PAYMENT_PENDING, VX_END);
    vx_cmd_end(out);
}

void vx_ask_order(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    (void)d;
    (void)p;
    vx_cmd_say(out, VX_M_ASK_ORDER, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_ORDER, VX_END);
}

void vx_dlg_ask(const struct vx_dialog *d, enum vx_state s, const struct vx_pending *p,
                struct vx_cmds *out)
{
    if ((unsigned)s >= VX_ST__COUNT || !vx_dialog_rows[s].ask) {
        vx_st_bug(d, out);
        return;
    }
    vx_dialog_rows[s].ask(d, p, out);
}

/* The receipt card: one line per item with its written amount, then the total and the ID. */
/* The order's card: its lines, total and number; a receipt (paid) adds the day it was paid. */
static void receipt(const struct vx_dialog *d, const struct vx_order *o, int paid,
                    struct vx_cmds *out)
{
    char lines[2048] = "", line[256], name[160], qty[16], amount[48], total[48], text[2600];
    char date[16];
    size_t len = 0;

    for (size_t i = 0; i < o->n; i++) {
        struct vx_line l;
        struct vx_arg args[3] = {{"quantity", qty}, {"product", name}, {"amount", amount}};
        memset(&l, 0, sizeof(l));
        vx_strlcpy(l.product, o->lines[i].product, sizeof(l.product));
        vx_strlcpy(l.size, o->lines[i].size, sizeof(l.size));
        sized_name(d, &l, 1, name, sizeof(name));
        snprintf(qty, sizeof(qty), "%d", o->lines[i].qty);
        vx_money_written(d->loc, o->lines[i].amount, o->currency, amount, sizeof(amount));
        vx_locale_format(d->loc, vx_msg_defs[VX_M_CARD_ORDER_LINE].key, args, 3, line,
                         sizeof(line));
        if (len + strlen(line) + 2 < sizeof(lines))
            len += (size_t)snprintf(lines + len, sizeof(lines) - len, "%s%s", i ? "\n" : "", line);
    }
    vx_money_written(d->loc, o->total, o->currency, total, sizeof(total));
    {
        struct vx_arg args[4] = {{"lines", lines}, {"total", total}, {"id", o->id}, {"date", date}};
        time_t now = (time_t)d->now;
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        vx_locale_format(d->loc, vx_msg_defs[paid ? VX_M_CARD_RECEIPT : VX_M_CARD_ORDER_TOTAL].key,
                         args, paid ? 4 : 3, text, sizeof(text));
    }
    vx_cmd_card(out, VX_M_CARD_ORDER_TITLE, vx_catalog_merchant_name(d->cat, d->lang), text);
}

static void place_order(const struct vx_dialog *d, int vcode_right, struct vx_cmds *out);

/*
 * The voice code is asked before charging an order from the shop's threshold, when the
 * customer set one and the saved agreement would be charged in the turn (a pay link, or the
 * platform's Setup, is its own approval; one marked NonChargeable may be, when the provider
 * reports it fixed). Locked (three wrong codes): no voice purchase; the
 * engine makes the order a pay link (or a Setup on the platform's rail) instead.
 */
int vx_dlg_vcode_needed(const struct vx_dialog *d, int64_t amount)
{
    const struct vx_profile *pr = d->profile;
    int chargeable = d->cat->platform ? pr->platform_agreement[0] &&
                                            strcmp(pr->platform_agreement_status, "OPEN") == 0
                                      : pr->permission[0] &&
                                            (strcmp(pr->permission_status, "Chargeable") == 0 ||
                                             strcmp(pr->permission_status, "NonChargeable") == 0) &&
                                            pr->permission_live == d->cat->production;
    return pr->voice_code[0] && !pr->voice_code_locked && chargeable &&
           d->cat->voice_code_threshold >= 0 && amount >= d->cat->voice_code_threshold;
}

/* What a yes in VOICE_CODE is about: a subscription's plan (its amount), else the cart. */
static int64_t vcode_amount(const struct vx_dialog *d)
{
    const struct vx_cat_plan *pl =
        d->st->sub_plan[0] ? vx_catalog_plan(d->cat, d->st->sub_plan) : NULL;
    return pl ? pl->amount : vx_dlg_total(d, &d->st->cart);
}

static int vcode_needed(const struct vx_dialog *d)
{
    return vx_dlg_vcode_needed(d, vcode_amount(d));
}

void vx_st_confirm(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_cart *cart = &d->st->cart;

    if (d->st->pay_retry[0]) { /* "shall I try once more?" after a soft decline: yes */
        vx_cmd_state(out, VX_ST_DONE);
        vx_cmd_pay(out);
        return;
    }
    if (cart->n == 0) {
        vx_st_yes_nothing(d, out);
        return;
    }
    if (vx_dlg_vcode_needed(d, vx_dlg_total(d, cart))) {
        vx_cmd_state(out, VX_ST_VOICE_CODE);
        vx_cmd_set_sub(out, NULL, NULL, 0); /* the code is for the cart */
        vx_ask_vcode(d, &d->st->pending, out);
        return;
    }
    place_order(d, 0, out);
}

/* The order recorded from the cart, and paid (the engine charges after the cell); after a
 * right voice code, the count of wrong ones starts again. */
static void place_order(const struct vx_dialog *d, int vcode_right, struct vx_cmds *out)
{
    const struct vx_cart *cart = &d->st->cart;
    struct vx_profile_set *ps;
    struct vx_order *o;
    struct vx_cart empty;
    char items[1024], total[96];

    o = vx_cmd_record_order(out);
    if (!o)
        return;
    vx_strlcpy(o->id, d->order_id, sizeof(o->id));
    o->state = "CONFIRMED";
    memcpy(o->currency, d->cat->currency, sizeof(o->currency));
    vx_strlcpy(o->locale, vx_locale_name(d->loc), sizeof(o->locale));
    o->created = d->now;
    for (size_t i = 0; i < cart->n; i++) {
        const struct vx_cat_product *p = vx_catalog_product(d->cat, cart->lines[i].product);
        struct vx_order_line *ol = &o->lines[o->n];
        int64_t price;
        if (!p || vx_catalog_price(p, cart->lines[i].size, &price) != 0)
            continue;
        vx_strlcpy(ol->product, cart->lines[i].product, sizeof(ol->product));
        vx_strlcpy(ol->size, cart->lines[i].size, sizeof(ol->size));
        ol->qty = cart->lines[i].qty;
        ol->unit_price = price;
        ol->amount = price * ol->qty;
        o->total += ol->amount;
        o->n++;
    }
    ps = vx_cmd_profile(out);
    if (ps) {
        ps->fields = VX_PF_LOCALE | VX_PF_USUAL | VX_PF_LAST_ORDER;
        if (vcode_right && d->profile->voice_code_failures) {
            ps->fields |= VX_PF_VOICE_CODE;
            ps->voice_code_failures = 0;
            ps->voice_code_locked = 0;
        }
        vx_strlcpy(ps->locale, vx_locale_name(d->loc), sizeof(ps->locale));
        ps->usual = *cart;
        vx_strlcpy(ps->last_order, o->id, sizeof(ps->last_order));
    }
    memset(&empty, 0, sizeof(empty));
    vx_cmd_cart(out, &empty);
    vx_cmd_state(out, VX_ST_DONE);
    vx_dlg_items(d, cart, items, sizeof(items));
    vx_dlg_money(d, o->total, total, sizeof(total));
    vx_cmd_say(out, VX_M_ORDER_PLACED, "items", items, "total", total, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
    receipt(d, o, 0, out);
    /* with a payment provider the engine now charges, and vx_st_paid speaks instead */
    vx_cmd_pay(out);
}

void vx_ask_vcode(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    char total[96];
    (void)p;
    vx_dlg_money(d, vcode_amount(d), total, sizeof(total));
    vx_cmd_say(out, d->st->sub_plan[0] ? VX_M_VCODE_ASK_SUB : VX_M_VCODE_ASK, "total", total,
               VX_END);
    vx_cmd_reprompt(out, VX_M_VCODE_REPROMPT, VX_END);
}

void vx_help_vcode(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_VCODE_HELP, VX_END);
}

void vx_fallback_vcode(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_VCODE_FALLBACK, VX_END);
}

/* yes while the code is asked for: the code, please */
void vx_st_vcode_again(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_VCODE_REPROMPT, VX_END);
    vx_cmd_reprompt(out, VX_M_VCODE_REPROMPT, VX_END);
}

/*
 * The code said (the engine checked it: d->vcode). Right: the order is placed and paid, and
 * the count of wrong codes starts again. Wrong: one try fewer; the third wrong code in a row
 * locks voice purchases, and the cart goes back to the summary, where yes makes a pay link.
 */
void vx_st_voice_code(const struct vx_dialog *d, struct vx_cmds *out)
{
    struct vx_profile_set *ps;
    int failures = d->profile->voice_code_failures;
    char left[16];

    if (d->vcode < 0) { /* no four digits heard */
        vx_cmd_say(out, VX_M_VCODE_REPROMPT, VX_END);
        vx_cmd_reprompt(out, VX_M_VCODE_REPROMPT, VX_END);
        return;
    }
    if (d->vcode == 1 || !vcode_needed(d)) {
        if (d->st->sub_plan[0]) /* the code was asked for a subscription */
            vx_dlg_sub_start(d, d->vcode == 1, out);
        else
            place_order(d, d->vcode == 1, out);
        return;
    }
    ps = vx_cmd_profile(out);
    if (!ps)
        return;
    ps->fields = VX_PF_VOICE_CODE;
    ps->voice_code_failures = failures + 1;
    ps->voice_code_locked = failures + 1 >= VX_VCODE_FAILURES;
    if (ps->voice_code_locked) {
        /* back to the summary (the cart's, or the plan's): yes makes a pay link instead */
        vx_cmd_state(out, d->st->sub_plan[0] ? VX_ST_SUBSCRIBING : VX_ST_CONFIRMING);
        vx_cmd_say(out, VX_M_VCODE_LOCKED, VX_END);
        vx_cmd_reprompt(out, VX_M_VCODE_LOCKED, VX_END);
        return;
    }
    snprintf(left, sizeof(left), "%d", VX_VCODE_FAILURES - failures - 1);
    if (VX_VCODE_FAILURES - failures - 1 == 1)
        vx_cmd_say(out, VX_M_VCODE_WRONG_LAST, VX_END);
    else
        vx_cmd_say(out, VX_M_VCODE_WRONG, "left", left, VX_END);
    vx_cmd_reprompt(out, VX_M_VCODE_REPROMPT, VX_END);
}

/*
 * What paying for the order came to (the engine's VX_EV_PAID, after the turn
 * that recorded it). Every outcome gets a short, true sentence; nobody is told
 * "paid" unless the provider captured the amount.
 */
void vx_st_paid(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_pay_result *p = d->pay;
    const char *shop = vx_catalog_merchant_name(d->cat, d->lang);
    char total[96];

    if (!p) {
        vx_st_bug(d, out);
        return;
    }
    if (p->order_id && strncmp(p->order_id, "sub_", 4) == 0) { /* a subscription's first cycle */
        vx_st_sub_paid(d, out);
        return;
    }
    vx_dlg_money(d, p->amount, total, sizeof(total));
    switch (p->kind) {
    case VX_PAY_PAID:
        vx_cmd_say(out, VX_M_PAY_PAID, "total", total, "id", p->order_id, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        if (p->order)
            receipt(d, p->order, 1, out);
        return;
    case VX_PAY_PENDING:
        vx_cmd_say(out, VX_M_PAYMENT_PENDING, VX_END);
        vx_cmd_end(out);
        return;
    case VX_PAY_PLATFORM: /* the platform's directive speaks (or the platform spoke itself) */
        vx_cmd_end(out);
        return;
    case VX_PAY_ALREADY:
        vx_cmd_say(out, VX_M_PAY_ALREADY, "id", p->order_id, VX_END);
        vx_cmd_end(out);
        return;
    case VX_PAY_CONSENT: /* the engine adds the card that asks for payments:autopay_consent */
        vx_cmd_say(out, VX_M_PAY_CONSENT, VX_END);
        vx_cmd_end(out);
        return;
    case VX_PAY_LINK: {
        char written[96], text[1024];
        struct vx_arg args[2] = {{"total", written}, {"link", p->link ? p->link : ""}};
        vx_money_written(d->loc, p->amount, p->currency, written, sizeof(written));
        vx_locale_format(d->loc, vx_msg_defs[VX_M_CARD_PAY_LINK].key, args, 2, text, sizeof(text));
        /* on a screen, a QR code of the link too (screen.c), and the speech says so */
        vx_cmd_say(out, vx_dlg_pay_code(d, p, out) ? VX_M_PAY_LINK_SCREEN : VX_M_PAY_LINK, "total",
                   total, VX_END);
        vx_cmd_card(out, VX_M_CARD_PAY_LINK_TITLE, shop, text);
        vx_cmd_end(out);
        return;
    }
    case VX_PAY_SOFT_DECLINE:
        if (p->attempt < 2) { /* one more try, on an explicit yes */
            vx_cmd_say(out, VX_M_PAY_SOFT_RETRY, VX_END);
            vx_cmd_reprompt(out, VX_M_PAY_SOFT_RETRY, VX_END);
            vx_cmd_state(out, VX_ST_CONFIRMING);
            return;
        }
        vx_cmd_say(out, VX_M_PAY_SOFT_DECLINE, VX_END);
        break;
    case VX_PAY_HARD_DECLINE: {
        char text[512];
        vx_locale_format(d->loc, vx_msg_defs[VX_M_CARD_PAY_FIX].key, NULL, 0, text, sizeof(text));
        vx_cmd_say(out, VX_M_PAY_HARD_DECLINE, VX_END);
        vx_cmd_card(out, VX_M_CARD_PAY_FIX_TITLE, shop, text);
        break;
    }
    case VX_PAY_LIMIT:
        vx_cmd_say(out, VX_M_PAY_LIMIT, VX_END);
        break;
    case VX_PAY_FAILED:
        vx_cmd_say(out, VX_M_PAY_FAILED, VX_END);
        break;
    }
    vx_cmd_end(out);
}

void vx_st_confirm_no(const struct vx_dialog *d, struct vx_cmds *out)
{
    if (d->st->state == VX_ST_VOICE_CODE && d->st->sub_plan[0]) {
        vx_st_sub_no(d, out); /* the code was asked for a subscription: the cart stays */
        return;
    }
    vx_dlg_drop_order(out);
    vx_cmd_say(out, VX_M_ORDER_CANCELLED, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

void vx_st_checkout(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_dstate *st = d->st;
    struct vx_pending none;

    if (st->state == VX_ST_ORDERING && st->pending.item.product[0]) {
        /* "that's all" while a size is missing: the item must be finished or dropped */
        vx_cmd_say(out, VX_M_ORDER_FINISH_ITEM, VX_END);
        vx_dlg_ask(d, VX_ST_ORDERING, &st->pending, out);
        return;
    }
    if (st->cart.n == 0) {
        vx_dlg_pending_clear(&none);
        vx_cmd_pending(out, &none);
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_say(out, VX_M_CART_EMPTY, VX_END);
        vx_dlg_ask(d, VX_ST_IDLE, &none, out);
        return;
    }
    vx_dlg_summary(d, &st->cart, out);
}

void vx_st_reorder(const struct vx_dialog *d, struct vx_cmds *out)
{
    if (d->profile->usual.n == 0) {
        vx_cmd_say(out, VX_M_USUAL_NONE, VX_END);
        vx_dlg_ask(d, d->st->state == VX_ST_OFFERING ? VX_ST_IDLE : d->st->state, &d->st->pending,
                   out);
        if (d->st->state == VX_ST_OFFERING)
            vx_cmd_state(out, VX_ST_IDLE);
        return;
    }
    /* the usual replaces whatever was in the cart: it is a whole order */
    vx_dlg_summary(d, &d->profile->usual, out);
}

void vx_st_offer_yes(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_st_reorder(d, out);
}

void vx_st_offer_no(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_state(out, VX_ST_IDLE);
    vx_cmd_say(out, VX_M_USUAL_DECLINED, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_ORDER, VX_END);
}

void vx_st_drop_item(const struct vx_dialog *d, struct vx_cmds *out)
{
    struct vx_pending none;
    if (d->st->cart.n == 0) {
        vx_st_confirm_no(d, out);
        return;
    }
    /* only the item being collected goes; what is already in the cart is read back */
    vx_cmd_say(out, VX_M_ORDER_ITEM_DROPPED, VX_END);
    vx_dlg_pending_clear(&none);
    vx_dlg_summary(d, &d->st->cart, out);
}
