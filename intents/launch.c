/*
 * Opening and closing a session. A launch greets by what the store knows of the
 * customer: a cart left from an earlier session is read back for confirmation
 * (it was never ordered), a usual order is offered ("Welcome back. Your usual,
 * 2 large lattes?"), a returning customer without one is welcomed back, and a
 * new customer hears what the shop sells. A SessionEndedRequest gets no speech
 * (the platform allows none); the cart stays in the conversation state until
 * its TTL runs out, so the next launch can offer it again.
 */
#include "dialog.h"

#include <string.h>

static void launch_news(const struct vx_dialog *d, const struct vx_order_view *o,
                        struct vx_cmds *out)
{
    char total[96];
    int msg = strcmp(o->state, "DECLINED") == 0 || strcmp(o->state, "FAILED") == 0
                  ? VX_M_NEWS_DECLINED
              : strcmp(o->state, "CANCELED") == 0 ? VX_M_NEWS_CANCELED
                                                  : VX_M_NEWS_PAID; /* PAID, or refunded since */
    vx_dlg_money(d, o->total, total, sizeof(total));
    vx_cmd_say(out, msg, "total", total, "id", o->id, VX_END);
}

void vx_st_launch(const struct vx_dialog *d, struct vx_cmds *out)
{
    const char *shop = vx_catalog_merchant_name(d->cat, d->lang);
    const char *locale = vx_locale_name(d->loc);
    struct vx_pending none;
    char items[1024], total[96], products[1024];

    if (d->profile->exists && strcmp(d->profile->locale, locale) != 0) {
        /* the customer now talks to us in another language: later answers follow it */
        struct vx_profile_set *ps = vx_cmd_profile(out);
        if (ps) {
            ps->fields = VX_PF_LOCALE;
            vx_strlcpy(ps->locale, locale, sizeof(ps->locale));
        }
    }
    vx_dlg_pending_clear(&none);
    vx_cmd_pending(out, &none);
    if (d->news) /* a payment the customer last heard was being processed: what it came to */
        launch_news(d, d->news, out);
    if (d->st->cart.n > 0) {
        vx_dlg_items(d, &d->st->cart, items, sizeof(items));
        vx_dlg_money(d, vx_dlg_total(d, &d->st->cart), total, sizeof(total));
        vx_cmd_state(out, VX_ST_CONFIRMING);
        vx_cmd_say(out, VX_M_WELCOME_CART, "shop", shop, "items", items, "total", total, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_CONFIRM, "total", total, VX_END);
    } else if (d->profile->usual.n > 0) {
        vx_dlg_items(d, &d->profile->usual, items, sizeof(items));
        vx_cmd_state(out, VX_ST_OFFERING);
        vx_cmd_say(out, VX_M_WELCOME_USUAL, "shop", shop, "items", items, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_USUAL, "items", items, VX_END);
    } else if (d->profile->exists) {
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_say(out, VX_M_WELCOME_BACK, "shop", shop, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_ORDER, VX_END);
    } else {
        vx_dlg_products(d, products, sizeof(products));
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_say(out, VX_M_WELCOME_NEW, "shop", shop, "products", products, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_ORDER, VX_END);
    }
}

void vx_st_session_ended(const struct vx_dialog *d, struct vx_cmds *out)
{
    struct vx_pending none;
    (void)d;
    /* a half-collected item is forgotten; the cart is not */
    vx_dlg_pending_clear(&none);
    vx_cmd_pending(out, &none);
    vx_cmd_state(out, VX_ST_IDLE);
    vx_cmd_silent(out);
}

void vx_st_session_keep(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_silent(out);
}

void vx_st_skill_event(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_silent(out);
}
