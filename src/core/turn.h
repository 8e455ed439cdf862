/*
 * Inside the engine: what one turn holds, shared by the turn's phases (fsm.c)
 * and the interpreter (interp.c).
 */
#ifndef VOXCART_TURN_H
#define VOXCART_TURN_H

#include "voxcart/dialog.h"

#include "voxcart/response.h"
#include "voxcart/store.h"
#include "voxcart/wset.h"

/* Everything one turn needs; on the heap, because commands and texts are several KiB. */
struct turn {
    struct vx_cmds cmds;
    struct vx_dstate st, next;
    struct vx_profile prof;
    struct vx_order_view last;
    struct vx_order_view news; /* VX_IF_READ_NEWS: the order of prof.pay_untold */
    struct vx_profile_set pset;
    struct vx_response resp;
    struct vx_conv conv;
    struct vx_wset wset;
    struct vx_buf state_json, order_json, ledger_json;
    char text[VX_TEXT_MAX];
    int pay; /* VX_CMD_PAY: pay for the order this turn records */
    /* VX_CMD_SUBSCRIBE: the plan ("" none); VX_CMD_SUB_CHANGE: which and how (-1 none) */
    char subscribe[VX_ID_MAX];
    char sub_target[VX_ID_MAX];
    int sub_action;
};

/* Applies the commands to t->next and t->resp; profile and order changes are left in t. */
void vx_interpret(const struct vx_dialog *d, struct turn *t, const struct vx_order **order,
                  const struct vx_can_fulfill **cf);
int vx_render_can_fulfill(const struct vx_can_fulfill *cf, struct vx_buf *body);

#endif
