/*
 * Ordering: one item per OrderIntent, collected over as many turns as it takes.
 * What the customer said is merged into the item being collected (kept in the
 * conversation state, because the platform does not always send back the slots
 * of earlier turns); a missing or unusable product, size or quantity is asked
 * for with Dialog.ElicitSlot naming the slot; a complete item goes into the cart
 * and the whole order is read back for confirmation.
 *
 * Decisions:
 * - A product is recognised by the platform's entity-resolution ID first, then
 *   by the spoken value against the catalog's names and synonyms.
 * - No quantity means one: the models phrase every sample without {quantity}
 *   in the singular ("a {product}"), and the summary says the quantity before
 *   anything is ordered. A quantity that is heard but unusable ("?", 0, over
 *   VX_QTY_MAX) is asked for.
 * - Products with sizes are never given a default size: a wrong size is a wrong
 *   order. While confirming, an item already in the cart lends its size ("make
 *   it three lattes"), and a size or quantity alone changes the last item.
 * - While confirming, a quantity that is said replaces the one in the cart
 *   (that is how people correct an order), also when the item took more turns
 *   to complete; elsewhere items add up.
 */
#include "dialog.h"

#include <stdio.h>
#include <string.h>

static const struct vx_slot *slot_of(const struct vx_dialog *d, enum vx_slot_id id)
{
    return vx_request_slot(d->req, vx_slot_defs[id].name);
}

static int heard(const struct vx_slot *s)
{
    return s && (s->value || s->resolved_id);
}

static const char *heard_text(const struct vx_slot *s)
{
    return s->value ? s->value : s->resolved_name ? s->resolved_name : s->resolved_id;
}

/* Asks for slot: the item so far is kept in ORDERING. */
static void ask_slot(const struct vx_dialog *d, struct vx_pending *p, enum vx_slot_id slot,
                     struct vx_cmds *out)
{
    p->ask = (int)slot;
    if (d->st->state == VX_ST_CONFIRMING)
        p->replace = 1;
    vx_cmd_pending(out, p);
    vx_cmd_state(out, VX_ST_ORDERING);
    vx_dlg_ask(d, VX_ST_ORDERING, p, out);
}

/* The single cart line with product id, or NULL when there is none or several. */
static const struct vx_line *only_line_of(const struct vx_cart *c, const char *id)
{
    const struct vx_line *found = NULL;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->lines[i].product, id) != 0)
            continue;
        if (found)
            return NULL;
        found = &c->lines[i];
    }
    return found;
}

/* Puts item into cart; 0, or VX_ERANGE when the cart has no room for another line. */
static int cart_put(struct vx_cart *cart, const struct vx_line *item, int replace)
{
    for (size_t i = 0; i < cart->n; i++) {
        struct vx_line *l = &cart->lines[i];
        if (strcmp(l->product, item->product) != 0 || strcmp(l->size, item->size) != 0)
            continue;
        l->qty = replace ? item->qty : l->qty + item->qty;
        if (l->qty > VX_QTY_MAX)
            l->qty = VX_QTY_MAX;
        return 0;
    }
    if (cart->n == VX_CART_MAX)
        return VX_ERANGE;
    cart->lines[cart->n++] = *item;
    return 0;
}

/* Merges a line that now equals an earlier one into it (the later one goes). */
static void merge_line(struct vx_cart *cart, size_t changed)
{
    struct vx_line *l = &cart->lines[changed];
    for (size_t i = 0; i < cart->n; i++) {
        if (i == changed || strcmp(cart->lines[i].product, l->product) != 0 ||
            strcmp(cart->lines[i].size, l->size) != 0)
            continue;
        cart->lines[i].qty = l->qty;
        memmove(l, l + 1, (cart->n - changed - 1) * sizeof(*l));
        cart->n--;
        return;
    }
}

/* The pending item was a change of a cart line: changes that line; 0 when it is gone. */
static int cart_edit(struct vx_cart *cart, const struct vx_pending *p)
{
    for (size_t i = 0; i < cart->n; i++) {
        struct vx_line *l = &cart->lines[i];
        if (strcmp(l->product, p->item.product) != 0 || strcmp(l->size, p->edit_size) != 0)
            continue;
        vx_strlcpy(l->size, p->item.size, sizeof(l->size));
        l->qty = p->item.qty;
        merge_line(cart, i);
        return 1;
    }
    return 0;
}

/* "make it large" / "make it three" while confirming: changes the last item of the cart. */
static void change_last(const struct vx_dialog *d, const struct vx_cat_size *size, int qty,
                        const struct vx_slot *size_slot, struct vx_cmds *out)
{
    struct vx_cart cart = d->st->cart;
    struct vx_line *l = &cart.lines[cart.n - 1];
    const struct vx_cat_product *p = vx_catalog_product(d->cat, l->product);

    if (size_slot && heard(size_slot)) {
        if (!size || !p || !vx_catalog_option(p, size->id)) {
            struct vx_pending pend;
            vx_dlg_pending_clear(&pend);
            pend.item = *l;
            pend.edit = 1; /* the answer changes this line, it does not add one */
            vx_strlcpy(pend.edit_size, l->size, sizeof(pend.edit_size));
            pend.item.size[0] = '\0';
            vx_cmd_say(out, VX_M_ORDER_UNKNOWN_SIZE, "heard", heard_text(size_slot), "product",
                       vx_dlg_product_name(d, l->product, 1), VX_END);
            ask_slot(d, &pend, VX_SLOT_SIZE, out);
            return;
        }
        vx_strlcpy(l->size, size->id, sizeof(l->size));
    }
    if (qty > 0)
        l->qty = qty;
    /* the changed line may now equal another one: merge them */
    merge_line(&cart, cart.n - 1);
    vx_dlg_summary(d, &cart, out);
}

void vx_st_order(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_slot *sp = slot_of(d, VX_SLOT_PRODUCT), *ss = slot_of(d, VX_SLOT_SIZE),
                         *sq = slot_of(d, VX_SLOT_QUANTITY);
    const int confirming = d->st->state == VX_ST_CONFIRMING;
    int replace;
    const struct vx_cat_product *prod = NULL;
    const struct vx_cat_size *size = NULL;
    struct vx_pending p;
    struct vx_cart cart;
    int said_qty = 0, bad_qty = 0, bad_size = 0;
    char max[8];

    if (d->st->state == VX_ST_ORDERING)
        p = d->st->pending;
    else
        vx_dlg_pending_clear(&p);

    if (heard(sp)) {
        prod = vx_catalog_match_product(d->cat, sp, d->lang);
        if (!prod) {
            vx_cmd_say(out, VX_M_ORDER_UNKNOWN_PRODUCT, "heard", heard_text(sp), VX_END);
            p.item.product[0] = '\0';
            p.item.size[0] = '\0';
            ask_slot(d, &p, VX_SLOT_PRODUCT, out);
            return;
        }
        if (strcmp(p.item.product, prod->id) != 0) {
            /* another product replaces the one being collected; its size may not fit */
            vx_strlcpy(p.item.product, prod->id, sizeof(p.item.product));
            if (p.item.size[0] && !vx_catalog_option(prod, p.item.size))
                p.item.size[0] = '\0';
        }
    }
    if (heard(ss)) {
        size = vx_catalog_match_size(d->cat, ss, d->lang);
        if (size)
            vx_strlcpy(p.item.size, size->id, sizeof(p.item.size));
        else
            bad_size = 1;
    }
    if (sq && sq->value) {
        long long v;
        if (vx_locale_number(d->loc, sq->value, &v) == 0 && v >= 1 && v <= VX_QTY_MAX) {
            p.item.qty = (int)v;
            said_qty = 1;
        } else {
            bad_qty = 1;
        }
    }

    if (!p.item.product[0]) {
        if (confirming && d->st->cart.n > 0 && (heard(ss) || said_qty)) {
            change_last(d, size, said_qty ? p.item.qty : 0, ss, out);
            return;
        }
        ask_slot(d, &p, VX_SLOT_PRODUCT, out);
        return;
    }
    prod = vx_catalog_product(d->cat, p.item.product);
    if (!prod) {
        /* the catalog lost the product since the state was written */
        p.item.product[0] = '\0';
        ask_slot(d, &p, VX_SLOT_PRODUCT, out);
        return;
    }
    if (prod->noptions == 0) {
        p.item.size[0] = '\0';
    } else {
        if (confirming && !p.item.size[0] && !bad_size) {
            const struct vx_line *same = only_line_of(&d->st->cart, prod->id);
            if (same)
                vx_strlcpy(p.item.size, same->size, sizeof(p.item.size));
        }
        if (bad_size || (p.item.size[0] && !vx_catalog_option(prod, p.item.size))) {
            /* an unknown word, or a known size this product is not sold in */
            const struct vx_cat_size *z = bad_size ? NULL : vx_catalog_size(d->cat, p.item.size);
            const char *h =
                z ? vx_cat_names_for(z->names, z->nnames, d->lang)->words.one : heard_text(ss);
            vx_cmd_say(out, VX_M_ORDER_UNKNOWN_SIZE, "heard", h, "product",
                       vx_dlg_product_name(d, prod->id, 1), VX_END);
            p.item.size[0] = '\0';
            ask_slot(d, &p, VX_SLOT_SIZE, out);
            return;
        }
        if (!p.item.size[0]) {
            ask_slot(d, &p, VX_SLOT_SIZE, out);
            return;
        }
    }
    if (bad_qty) {
        snprintf(max, sizeof(max), "%d", VX_QTY_MAX);
        vx_cmd_say(out, VX_M_ORDER_BAD_QUANTITY, "max", max, VX_END);
        p.item.qty = 0;
        ask_slot(d, &p, VX_SLOT_QUANTITY, out);
        return;
    }
    /* a quantity said while confirming (in this turn, or in the turns that completed an item
     * begun then) is a correction; anywhere else items add up */
    replace = p.item.qty > 0 && (confirming ? said_qty : p.replace);
    if (p.item.qty <= 0)
        p.item.qty = 1;

    cart = d->st->cart;
    if (p.edit && strcmp(p.item.product, d->st->pending.item.product) == 0 &&
        cart_edit(&cart, &p)) {
        vx_dlg_summary(d, &cart, out);
        return;
    }
    if (cart_put(&cart, &p.item, replace) != 0) {
        snprintf(max, sizeof(max), "%d", VX_CART_MAX);
        vx_cmd_say(out, VX_M_ORDER_CART_FULL, "max", max, VX_END);
    }
    vx_dlg_summary(d, &cart, out);
}

void vx_st_remove_item(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_slot *sp = slot_of(d, VX_SLOT_PRODUCT), *ss = slot_of(d, VX_SLOT_SIZE);
    const struct vx_cat_product *prod = vx_catalog_match_product(d->cat, sp, d->lang);
    const struct vx_cat_size *size = heard(ss) ? vx_catalog_match_size(d->cat, ss, d->lang) : NULL;
    struct vx_cart cart, removed;
    struct vx_pending none;
    char items[1024];

    if (!heard(sp)) {
        /* "remove something": say what there is to remove */
        vx_st_cart(d, out);
        return;
    }
    memset(&cart, 0, sizeof(cart));
    memset(&removed, 0, sizeof(removed));
    for (size_t i = 0; prod && i < d->st->cart.n; i++) {
        const struct vx_line *l = &d->st->cart.lines[i];
        if (strcmp(l->product, prod->id) == 0 && (!size || strcmp(l->size, size->id) == 0))
            removed.lines[removed.n++] = *l;
        else
            cart.lines[cart.n++] = *l;
    }
    if (removed.n == 0) {
        const char *what = prod ? vx_dlg_product_name(d, prod->id, 1) : heard_text(sp);
        vx_cmd_say(out, VX_M_CART_NOT_IN_CART, "product", what, VX_END);
        vx_dlg_ask(d, d->st->state, &d->st->pending, out);
        return;
    }
    vx_dlg_items(d, &removed, items, sizeof(items));
    vx_cmd_say(out, VX_M_CART_REMOVED, "items", items, VX_END);
    if (cart.n == 0) {
        vx_dlg_pending_clear(&none);
        vx_cmd_cart(out, &cart);
        vx_cmd_pending(out, &none);
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_say(out, VX_M_CART_EMPTY, VX_END);
        vx_dlg_ask(d, VX_ST_IDLE, &none, out);
        return;
    }
    vx_dlg_summary(d, &cart, out);
}

/* The cart read out with its total (or that it is empty), then the open question again:
 * neither the state nor the cart changes. */
static void tell_cart(const struct vx_dialog *d, enum vx_msg contents, enum vx_msg empty,
                      struct vx_cmds *out)
{
    char items[1024], total[96];
    if (d->st->cart.n == 0) {
        vx_cmd_say(out, empty, VX_END);
    } else {
        vx_dlg_items(d, &d->st->cart, items, sizeof(items));
        vx_dlg_money(d, vx_dlg_total(d, &d->st->cart), total, sizeof(total));
        vx_cmd_say(out, contents, "items", items, "total", total, VX_END);
    }
    vx_dlg_ask(d, d->st->state, &d->st->pending, out);
}

void vx_st_cart(const struct vx_dialog *d, struct vx_cmds *out)
{
    tell_cart(d, VX_M_CART_CONTENTS, VX_M_CART_EMPTY, out);
}

/* "How much is that?": the total first, in the shop's currency, wherever there is a cart. */
void vx_st_total(const struct vx_dialog *d, struct vx_cmds *out)
{
    tell_cart(d, VX_M_TOTAL_CONTENTS, VX_M_TOTAL_EMPTY, out);
}

static enum vx_cf_answer yes_no(int ok)
{
    return ok ? VX_CF_YES : VX_CF_NO;
}

/*
 * CanFulfillIntentRequest: could this skill handle the request if it were sent?
 * Answered from intents.def and the catalog alone: no state is read or written.
 */
void vx_st_can_fulfill(const struct vx_dialog *d, struct vx_cmds *out)
{
    struct vx_can_fulfill *cf = vx_cmd_can_fulfill(out);
    int ev = vx_intent_find(d->req->intent_name);
    const struct vx_cat_product *prod;
    int all_yes = 1, any_no = 0;

    if (!cf)
        return;
    cf->intent = VX_CF_NO;
    if (ev < 0 || !(vx_intent_defs[ev].flags & VX_IF_FULFILL))
        return;
    prod = vx_catalog_match_product(d->cat, slot_of(d, VX_SLOT_PRODUCT), d->lang);
    for (size_t i = 0; i < d->req->nslots && cf->nslots < VX_MAX_SLOTS; i++) {
        const struct vx_slot *s = &d->req->slots[i];
        int k;
        if (!heard(s))
            continue;
        cf->slots[cf->nslots].name = s->name;
        for (k = 0; k < VX_SLOT__COUNT; k++)
            if (strcmp(vx_slot_defs[k].name, s->name) == 0 &&
                (vx_intent_defs[ev].slots & (1u << k)))
                break;
        if (k == VX_SLOT__COUNT) {
            cf->slots[cf->nslots].understand = VX_CF_NO;
            cf->slots[cf->nslots].fulfill = VX_CF_NO;
        } else if (vx_slot_defs[k].kind == VX_SK_PRODUCT) {
            const struct vx_cat_product *p = vx_catalog_match_product(d->cat, s, d->lang);
            cf->slots[cf->nslots].understand = yes_no(p != NULL);
            cf->slots[cf->nslots].fulfill = yes_no(p != NULL);
        } else if (vx_slot_defs[k].kind == VX_SK_SIZE) {
            const struct vx_cat_size *z = vx_catalog_match_size(d->cat, s, d->lang);
            cf->slots[cf->nslots].understand = yes_no(z != NULL);
            /* a known size the product is not sold in is understood but cannot be served */
            cf->slots[cf->nslots].fulfill =
                yes_no(z && (!prod || vx_catalog_option(prod, z->id) || prod->noptions == 0));
        } else {
            long long v;
            int num = vx_locale_number(d->loc, s->value, &v) == 0;
            cf->slots[cf->nslots].understand = yes_no(num);
            cf->slots[cf->nslots].fulfill = yes_no(num && v >= 1 && v <= VX_QTY_MAX);
        }
        if (cf->slots[cf->nslots].fulfill != VX_CF_YES)
            all_yes = 0;
        if (cf->slots[cf->nslots].fulfill == VX_CF_NO)
            any_no = 1;
        cf->nslots++;
    }
    if (any_no)
        cf->intent = VX_CF_NO;
    else if (ev == VX_EV_ORDER && !prod)
        cf->intent = VX_CF_MAYBE; /* would have to ask what to order */
    else
        cf->intent = all_yes ? VX_CF_YES : VX_CF_MAYBE;
}
