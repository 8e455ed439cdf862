/*
 * The customer's own records: "what did I order", "where is my order". The
 * engine loads the last order (the profile names it; the order index is the
 * fallback) before this runs, because the order document, not the profile, is
 * where the payments issue will move the state on from CONFIRMED.
 */
#include "dialog.h"

#include <stdio.h>
#include <string.h>

void vx_st_order_status(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_order_view *o = d->last_order;
    char items[1024], total[96], status[160];
    enum vx_msg sm;

    if (!o) {
        vx_cmd_say(out, VX_M_STATUS_NONE, VX_END);
    } else {
        sm = strcmp(o->state, "CONFIRMED") == 0 ? VX_M_STATUS_CONFIRMED : VX_M_STATUS_PROCESSING;
        vx_locale_format(d->loc, vx_msg_defs[sm].key, NULL, 0, status, sizeof(status));
        vx_dlg_items(d, &o->lines, items, sizeof(items));
        /* the order's own currency: the merchant may have changed it since */
        vx_money_spoken(d->loc, o->total, o->currency, total, sizeof(total));
        vx_cmd_say(out, VX_M_STATUS_LAST, "items", items, "total", total, "status", status, VX_END);
    }
    vx_dlg_ask(d, d->st->state, &d->st->pending, out);
}
