/*
 * The per-state rows: for every state, the question it asks (again after help
 * or fallback, or when the customer comes back), its help and its fallback.
 * Like the transition table every row is written out: a new state gets no
 * default behaviour, and test_fsm fails on a row left empty.
 */
#include "dialog.h"

/* clang-format off */
const struct vx_state_row vx_dialog_rows[VX_ST__COUNT] = {
    [VX_ST_IDLE]            = {vx_ask_order,           vx_help_idle,       vx_fallback_idle},
    [VX_ST_OFFERING]        = {vx_ask_usual,           vx_help_offering,   vx_fallback_offering},
    [VX_ST_ORDERING]        = {vx_ask_item,            vx_help_ordering,   vx_fallback_ordering},
    [VX_ST_CONFIRMING]      = {vx_ask_confirm,         vx_help_confirming, vx_fallback_confirming},
    /* a payment directive is out: every answer says it is under way */
    [VX_ST_AWAITING_SETUP]  = {vx_ask_payment_pending, vx_help_idle,       vx_fallback_idle},
    [VX_ST_AWAITING_CHARGE] = {vx_ask_payment_pending, vx_help_idle,       vx_fallback_idle},
    [VX_ST_SUBSCRIBING]     = {vx_ask_subscribing,     vx_help_subscribing, vx_fallback_subscribing},
    [VX_ST_DONE]            = {vx_ask_more,            vx_help_done,       vx_fallback_done},
    [VX_ST_VOICE_CODE]      = {vx_ask_vcode,           vx_help_vcode,      vx_fallback_vcode},
};
/* clang-format on */
