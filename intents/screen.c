/*
 * What the coffee shop shows on a device with a screen (Alexa.Presentation.APL
 * in the request's supportedInterfaces): the pay link as a QR code, so that a
 * customer at an Echo Show pays with the phone in their hand instead of
 * looking for the card in the companion app. The card is sent all the same;
 * a device without a screen gets exactly what it got before.
 */
#include "dialog.h"

#include "voxcart/apl.h"

#include <stdio.h>
#include <string.h>

int vx_dlg_pay_code(const struct vx_dialog *d, const struct vx_pay_result *p, struct vx_cmds *out)
{
    const char *shop = vx_catalog_merchant_name(d->cat, d->lang);
    char written[96], title[256], text[512], token[VX_ID_MAX + 16];
    struct vx_arg ta[1] = {{"shop", shop}};
    struct vx_arg xa[1] = {{"total", written}};

    if (!(d->req->interfaces & VX_IFACE_APL) || !p->link || !vx_apl_code_fits(p->link))
        return 0;
    vx_money_written(d->loc, p->amount, p->currency, written, sizeof(written));
    vx_locale_format(d->loc, vx_msg_defs[VX_M_CARD_PAY_LINK_TITLE].key, ta, 1, title,
                     sizeof(title));
    vx_locale_format(d->loc, vx_msg_defs[VX_M_SCREEN_PAY_LINK].key, xa, 1, text, sizeof(text));
    snprintf(token, sizeof(token), "pay-link-%s", p->order_id ? p->order_id : "");
    vx_cmd_show_code(out, token, title, text, p->link);
    return 1;
}
