/*
 * The transition table: for every state and every event, the state function
 * that answers. Like the SCTP state table every cell is written out, including
 * the ones that only say "not now" (vx_st_unexpected) or "still paying"
 * (vx_st_payment_pending), so reading one row tells everything a state does,
 * and test_fsm fails when a cell is missing. Lookups are bounds-checked and
 * fall back to vx_st_bug, which apologises instead of crashing.
 *
 * This file also holds the tables generated from intents.def and the message
 * list, and the names of states and events.
 */
#include "dialog.h"

#include <string.h>

/* What a SAY cell may emit: speech, a card, a slot to elicit, the end of the session. */
#define VX_CK_SAY                                                                                  \
    (VX_CK(VX_CMD_SAY) | VX_CK(VX_CMD_SAY_TEXT) | VX_CK(VX_CMD_REPROMPT) |                         \
     VX_CK(VX_CMD_REPROMPT_TEXT) | VX_CK(VX_CMD_CARD) | VX_CK(VX_CMD_ELICIT_SLOT) |                \
     VX_CK(VX_CMD_END_SESSION))

const struct vx_slot_def vx_slot_defs[VX_SLOT__COUNT] = {
#define VX_SLOT(id, name, kind) [VX_SLOT_##id] = {name, kind},
#include "intents.def"
};

const struct vx_intent_def vx_intent_defs[VX_EV__INTENTS] = {
#define VX_INTENT(id, name, flags, slots) [VX_EV_##id] = {name, flags, slots},
#include "intents.def"
};

const struct vx_msg_def vx_msg_defs[VX_M__COUNT] = {
#define XX(id, key, args) [VX_M_##id] = {key, args},
    VX_MSG_MAP(XX)
#undef XX
};

static const char *const event_names[VX_EV__COUNT] = {
#define VX_INTENT(id, name, flags, slots) [VX_EV_##id] = #id,
#include "intents.def"
    [VX_EV_LAUNCH] = "LAUNCH",           [VX_EV_SESSION_ENDED] = "SESSION_ENDED",
    [VX_EV_CAN_FULFILL] = "CAN_FULFILL", [VX_EV_CONNECTIONS_RESPONSE] = "CONNECTIONS_RESPONSE",
    [VX_EV_SKILL_EVENT] = "SKILL_EVENT", [VX_EV_PAID] = "PAID",
};

static const char *const state_names[VX_ST__COUNT] = {
#define XX(s) [VX_ST_##s] = #s,
    VX_STATE_MAP(XX)
#undef XX
};

int vx_intent_find(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < VX_EV__INTENTS; i++)
        if (strcmp(vx_intent_defs[i].name, name) == 0)
            return i;
    return -1;
}

const char *vx_event_name(int ev)
{
    return (unsigned)ev < VX_EV__COUNT ? event_names[ev] : "?";
}

const char *vx_state_name(int s)
{
    return (unsigned)s < VX_ST__COUNT ? state_names[s] : "?";
}

int vx_state_parse(const char *name, enum vx_state *out)
{
    for (int i = 0; name && i < VX_ST__COUNT; i++) {
        if (strcmp(state_names[i], name) == 0) {
            *out = (enum vx_state)i;
            return 0;
        }
    }
    return VX_ENOTFOUND;
}

/* clang-format off */
/* A cell that only talks, and the one kind of cell that may also record an order. A SAY
 * cell only answers: it may not change the state, the cart or the profile either, so a
 * question such as "how much is that?" can be asked anywhere without moving the dialog. */
#define C(fn)   {fn, VX_CK_TALK}
#define PAY(fn) {fn, VX_CK_TALK | VX_CK(VX_CMD_RECORD_ORDER) | VX_CK(VX_CMD_PAY)}
#define SAY(fn) {fn, VX_CK_SAY}
/* a change of one of the customer's subscriptions, and the yes that makes or cancels one */
#define CHG(fn)  {fn, VX_CK_TALK | VX_CK(VX_CMD_SUB_CHANGE)}
/* the voice code said: the order, or the subscription, it was asked for */
#define PAYSUB(fn) {fn, VX_CK_TALK | VX_CK(VX_CMD_RECORD_ORDER) | VX_CK(VX_CMD_PAY) |              \
                        VX_CK(VX_CMD_SUBSCRIBE)}
#define SUBS(fn) {fn, VX_CK_TALK | VX_CK(VX_CMD_SUB_CHANGE) | VX_CK(VX_CMD_SUBSCRIBE) |            \
                      VX_CK(VX_CMD_RECORD_ORDER) | VX_CK(VX_CMD_PAY)}

const struct vx_cell vx_dialog_table[VX_ST__COUNT][VX_EV__COUNT] = {
    [VX_ST_IDLE] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = C(vx_st_fallback),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = C(vx_st_yes_nothing),
        [VX_EV_NO]                   = C(vx_st_goodbye),
        [VX_EV_CANCEL]               = C(vx_st_cancel),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    [VX_ST_OFFERING] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = C(vx_st_fallback),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = C(vx_st_offer_yes),
        [VX_EV_NO]                   = C(vx_st_offer_no),
        [VX_EV_CANCEL]               = C(vx_st_offer_no),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    [VX_ST_ORDERING] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = C(vx_st_fallback),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = C(vx_st_yes_open_question),
        [VX_EV_NO]                   = C(vx_st_drop_item),
        [VX_EV_CANCEL]               = C(vx_st_drop_item),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    [VX_ST_CONFIRMING] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = C(vx_st_fallback),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = PAY(vx_st_confirm),
        [VX_EV_NO]                   = C(vx_st_confirm_no),
        [VX_EV_CANCEL]               = C(vx_st_confirm_no),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    /* The payment states belong to the payments issue; until a directive is out nothing
     * reaches them, and a customer who finds one in the store hears that the payment is
     * still under way rather than being able to order twice. */
    [VX_ST_AWAITING_SETUP] = {
        [VX_EV_ORDER]                = C(vx_st_payment_pending),
        [VX_EV_REORDER]              = C(vx_st_payment_pending),
        [VX_EV_CART]                 = C(vx_st_payment_pending),
        [VX_EV_TOTAL]                = SAY(vx_st_payment_pending),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_payment_pending),
        [VX_EV_CHECKOUT]             = C(vx_st_payment_pending),
        [VX_EV_ORDER_STATUS]         = C(vx_st_payment_pending),
        [VX_EV_VOICE_CODE]           = C(vx_st_payment_pending),
        [VX_EV_SUBSCRIBE]            = C(vx_st_payment_pending),
        [VX_EV_SUBSCRIPTIONS]        = C(vx_st_payment_pending),
        [VX_EV_PAUSE_SUB]            = C(vx_st_payment_pending),
        [VX_EV_RESUME_SUB]           = C(vx_st_payment_pending),
        [VX_EV_SKIP_SUB]             = C(vx_st_payment_pending),
        [VX_EV_CANCEL_SUB]           = C(vx_st_payment_pending),
        [VX_EV_YES]                  = C(vx_st_payment_pending),
        [VX_EV_NO]                   = C(vx_st_payment_pending),
        [VX_EV_CANCEL]               = C(vx_st_payment_pending),
        [VX_EV_STOP]                 = C(vx_st_goodbye),
        [VX_EV_HELP]                 = C(vx_st_payment_pending),
        [VX_EV_FALLBACK]             = C(vx_st_payment_pending),
        [VX_EV_REPEAT]               = C(vx_st_payment_pending),
        [VX_EV_START_OVER]           = C(vx_st_payment_pending),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_goodbye),
        [VX_EV_LAUNCH]               = C(vx_st_payment_pending),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_keep),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    [VX_ST_AWAITING_CHARGE] = {
        [VX_EV_ORDER]                = C(vx_st_payment_pending),
        [VX_EV_REORDER]              = C(vx_st_payment_pending),
        [VX_EV_CART]                 = C(vx_st_payment_pending),
        [VX_EV_TOTAL]                = SAY(vx_st_payment_pending),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_payment_pending),
        [VX_EV_CHECKOUT]             = C(vx_st_payment_pending),
        [VX_EV_ORDER_STATUS]         = C(vx_st_payment_pending),
        [VX_EV_VOICE_CODE]           = C(vx_st_payment_pending),
        [VX_EV_SUBSCRIBE]            = C(vx_st_payment_pending),
        [VX_EV_SUBSCRIPTIONS]        = C(vx_st_payment_pending),
        [VX_EV_PAUSE_SUB]            = C(vx_st_payment_pending),
        [VX_EV_RESUME_SUB]           = C(vx_st_payment_pending),
        [VX_EV_SKIP_SUB]             = C(vx_st_payment_pending),
        [VX_EV_CANCEL_SUB]           = C(vx_st_payment_pending),
        [VX_EV_YES]                  = C(vx_st_payment_pending),
        [VX_EV_NO]                   = C(vx_st_payment_pending),
        [VX_EV_CANCEL]               = C(vx_st_payment_pending),
        [VX_EV_STOP]                 = C(vx_st_goodbye),
        [VX_EV_HELP]                 = C(vx_st_payment_pending),
        [VX_EV_FALLBACK]             = C(vx_st_payment_pending),
        [VX_EV_REPEAT]               = C(vx_st_payment_pending),
        [VX_EV_START_OVER]           = C(vx_st_payment_pending),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_goodbye),
        [VX_EV_LAUNCH]               = C(vx_st_payment_pending),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_keep),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    /* A plan was asked for or its summary read out, or a cancel of a subscription waits:
     * yes makes (or cancels) it, no and cancel leave it; ordering is still possible. */
    [VX_ST_SUBSCRIBING] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = C(vx_st_fallback),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = SUBS(vx_st_sub_yes),
        [VX_EV_NO]                   = C(vx_st_sub_no),
        [VX_EV_CANCEL]               = C(vx_st_sub_no),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    [VX_ST_DONE] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = C(vx_st_fallback),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = C(vx_st_yes_more),
        [VX_EV_NO]                   = C(vx_st_goodbye),
        [VX_EV_CANCEL]               = C(vx_st_cancel_done),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
    /* yes to a summary from the shop's voice_code_threshold: the order waits for the code */
    [VX_ST_VOICE_CODE] = {
        [VX_EV_ORDER]                = C(vx_st_order),
        [VX_EV_REORDER]              = C(vx_st_reorder),
        [VX_EV_CART]                 = C(vx_st_cart),
        [VX_EV_TOTAL]                = SAY(vx_st_total),
        [VX_EV_REMOVE_ITEM]          = C(vx_st_remove_item),
        [VX_EV_CHECKOUT]             = C(vx_st_checkout),
        [VX_EV_ORDER_STATUS]         = C(vx_st_order_status),
        [VX_EV_VOICE_CODE]           = PAYSUB(vx_st_voice_code),
        [VX_EV_SUBSCRIBE]            = C(vx_st_subscribe),
        [VX_EV_SUBSCRIPTIONS]        = SAY(vx_st_subs_status),
        [VX_EV_PAUSE_SUB]            = CHG(vx_st_sub_pause),
        [VX_EV_RESUME_SUB]           = CHG(vx_st_sub_resume),
        [VX_EV_SKIP_SUB]             = CHG(vx_st_sub_skip),
        [VX_EV_CANCEL_SUB]           = C(vx_st_sub_cancel),
        [VX_EV_YES]                  = C(vx_st_vcode_again),
        [VX_EV_NO]                   = C(vx_st_confirm_no),
        [VX_EV_CANCEL]               = C(vx_st_confirm_no),
        [VX_EV_STOP]                 = C(vx_st_stop),
        [VX_EV_HELP]                 = C(vx_st_help),
        [VX_EV_FALLBACK]             = C(vx_st_fallback),
        [VX_EV_REPEAT]               = C(vx_st_repeat),
        [VX_EV_START_OVER]           = C(vx_st_start_over),
        [VX_EV_NAVIGATE_HOME]        = C(vx_st_stop),
        [VX_EV_LAUNCH]               = C(vx_st_launch),
        [VX_EV_SESSION_ENDED]        = C(vx_st_session_ended),
        [VX_EV_CAN_FULFILL]          = C(vx_st_can_fulfill),
        [VX_EV_CONNECTIONS_RESPONSE] = C(vx_st_connection_unexpected),
        [VX_EV_SKILL_EVENT]          = C(vx_st_skill_event),
        [VX_EV_PAID]                 = C(vx_st_paid),
    },
};
/* clang-format on */

#undef C
#undef PAY
#undef SAY
#undef CHG
#undef PAYSUB
#undef SUBS

static const struct vx_cell bug_cell = {vx_st_bug, VX_CK_TALK};

const struct vx_cell *vx_dialog_cell(int s, int ev)
{
    const struct vx_cell *c;
    if (s < 0 || s >= VX_ST__COUNT || ev < 0 || ev >= VX_EV__COUNT)
        return &bug_cell;
    c = &vx_dialog_table[s][ev];
    return c->fn ? c : &bug_cell;
}

vx_state_fn *vx_dialog_lookup(int s, int ev)
{
    return vx_dialog_cell(s, ev)->fn;
}

int vx_dialog_handles(enum vx_event ev)
{
    for (int s = 0; s < VX_ST__COUNT; s++) {
        vx_state_fn *fn = vx_dialog_lookup(s, (int)ev);
        if (fn != vx_st_unexpected && fn != vx_st_bug)
            return 1;
    }
    return 0;
}
