/*
 * The platform's built-in intents (reference/alexa.md section 4) and the cells
 * that answer "not now". Help and Fallback depend on the state: each says what
 * can be done at this point and then asks the state's question again, so the
 * customer is never left without a way on. Repeat says the last speech again,
 * which the engine keeps in the state for this. Stop leaves and keeps the cart;
 * Start over empties it.
 */
#include "dialog.h"

#include <string.h>

static void say_goodbye(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_cmd_say(out, d->st->cart.n > 0 ? VX_M_GOODBYE_CART : VX_M_GOODBYE, VX_END);
    vx_cmd_end(out);
}

/* Help and Fallback: the state's row says what to say; then the state's question again. */
void vx_st_help(const struct vx_dialog *d, struct vx_cmds *out)
{
    if ((unsigned)d->st->state >= VX_ST__COUNT || !vx_dialog_rows[d->st->state].help) {
        vx_st_bug(d, out);
        return;
    }
    vx_dialog_rows[d->st->state].help(d, out);
    vx_dlg_ask(d, d->st->state, &d->st->pending, out);
}

void vx_st_fallback(const struct vx_dialog *d, struct vx_cmds *out)
{
    if ((unsigned)d->st->state >= VX_ST__COUNT || !vx_dialog_rows[d->st->state].fallback) {
        vx_st_bug(d, out);
        return;
    }
    vx_dialog_rows[d->st->state].fallback(d, out);
    vx_dlg_ask(d, d->st->state, &d->st->pending, out);
}

/* The help of each state (rows.c). */
void vx_help_idle(const struct vx_dialog *d, struct vx_cmds *out)
{
    char a[1024];
    vx_dlg_products(d, a, sizeof(a));
    vx_cmd_say(out, VX_M_HELP_IDLE, "products", a, VX_END);
}

void vx_help_offering(const struct vx_dialog *d, struct vx_cmds *out)
{
    char a[1024];
    vx_dlg_items(d, &d->profile->usual, a, sizeof(a));
    vx_cmd_say(out, VX_M_HELP_OFFERING, "items", a, VX_END);
}

void vx_help_ordering(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_HELP_ORDERING, VX_END);
}

void vx_help_confirming(const struct vx_dialog *d, struct vx_cmds *out)
{
    char a[1024], total[96];
    vx_dlg_items(d, &d->st->cart, a, sizeof(a));
    vx_dlg_money(d, vx_dlg_total(d, &d->st->cart), total, sizeof(total));
    vx_cmd_say(out, VX_M_HELP_CONFIRMING, "items", a, "total", total, VX_END);
}

void vx_help_done(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_HELP_DONE, VX_END);
}

/* The fallback of each state (rows.c): one sentence, then the question. */
#define FALLBACK(name, msg)                                                                        \
    void vx_fallback_##name(const struct vx_dialog *d, struct vx_cmds *out)                        \
    {                                                                                              \
        (void)d;                                                                                   \
        vx_cmd_say(out, msg, VX_END);                                                              \
    }
FALLBACK(idle, VX_M_FALLBACK_IDLE)
FALLBACK(offering, VX_M_FALLBACK_OFFERING)
FALLBACK(ordering, VX_M_FALLBACK_ORDERING)
FALLBACK(confirming, VX_M_FALLBACK_CONFIRMING)
FALLBACK(done, VX_M_FALLBACK_DONE)
#undef FALLBACK

void vx_st_repeat(const struct vx_dialog *d, struct vx_cmds *out)
{
    if (!d->st->say[0]) {
        vx_cmd_say(out, VX_M_REPEAT_NOTHING, VX_END);
        vx_dlg_ask(d, d->st->state, &d->st->pending, out);
        return;
    }
    vx_cmd_say_text(out, d->st->say);
    if (d->st->reprompt[0])
        vx_cmd_reprompt_text(out, d->st->reprompt);
    /* the answer must reach the same slot as before */
    if (d->st->state == VX_ST_ORDERING && d->st->pending.ask >= 0)
        vx_dlg_elicit(d, &d->st->pending, (enum vx_slot_id)d->st->pending.ask, out);
}

void vx_st_start_over(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_dlg_drop_order(out);
    vx_cmd_say(out, VX_M_START_OVER, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_ORDER, VX_END);
}

void vx_st_stop(const struct vx_dialog *d, struct vx_cmds *out)
{
    struct vx_pending none;
    vx_dlg_pending_clear(&none);
    vx_cmd_pending(out, &none);
    vx_cmd_state(out, VX_ST_IDLE);
    say_goodbye(d, out);
}

void vx_st_goodbye(const struct vx_dialog *d, struct vx_cmds *out)
{
    say_goodbye(d, out);
}

void vx_st_cancel(const struct vx_dialog *d, struct vx_cmds *out)
{
    if (d->st->cart.n > 0) {
        vx_st_confirm_no(d, out);
        return;
    }
    /* nothing to cancel: "cancel" is how many people leave a skill */
    vx_st_stop(d, out);
}

void vx_st_cancel_done(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_ORDER_ALREADY_PLACED, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

void vx_st_yes_nothing(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_cmd_say(out, VX_M_YES_NOTHING, VX_END);
    vx_dlg_ask(d, d->st->state == VX_ST_CONFIRMING ? VX_ST_IDLE : d->st->state, &d->st->pending,
               out);
    if (d->st->state == VX_ST_CONFIRMING)
        vx_cmd_state(out, VX_ST_IDLE);
}

void vx_st_yes_more(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_state(out, VX_ST_IDLE);
    vx_cmd_say(out, VX_M_ASK_ORDER, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_ORDER, VX_END);
}

void vx_st_unexpected(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_cmd_say(out, VX_M_UNEXPECTED, VX_END);
    vx_dlg_ask(d, d->st->state, &d->st->pending, out);
}

/* "yes" while a product, size or quantity is asked for: no refusal, the open question again. */
void vx_st_yes_open_question(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_dlg_ask(d, d->st->state, &d->st->pending, out);
}

void vx_st_payment_pending(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_PAYMENT_PENDING, VX_END);
    vx_cmd_end(out);
}

void vx_st_connection_unexpected(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_CONN_UNEXPECTED, VX_END);
    vx_cmd_end(out);
}

void vx_st_bug(const struct vx_dialog *d, struct vx_cmds *out)
{
    (void)d;
    vx_cmd_say(out, VX_M_SORRY, VX_END);
    vx_cmd_end(out);
}
