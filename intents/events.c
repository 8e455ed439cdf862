/*
 * Which event a request is, and what the engine must do for it (the flags of
 * intents.def, and those of the events that are not intents): the skill's
 * answer to the engine's first question about every request.
 */
#include "dialog.h"

#include "voxcart/verify.h"

#include <string.h>

unsigned vx_dialog_event_flags(int ev)
{
    if ((int)ev < VX_EV__INTENTS)
        return vx_intent_defs[ev].flags;
    switch (ev) {
    case VX_EV_LAUNCH: /* a launch tells what a payment left unfinished came to */
        return VX_IF_READ_NEWS;
    case VX_EV_CONNECTIONS_RESPONSE: /* the platform's answer to a Setup or Charge */
        return VX_IF_READ_CONNECTION;
    case VX_EV_CAN_FULFILL:
    case VX_EV_SKILL_EVENT:
        return VX_IF_STATELESS;
    default:
        return 0;
    }
}

int vx_dialog_classify(const struct vx_request *req)
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

/* A yes or no in SUBSCRIBING confirms what the state holds: the customer's subscriptions are
 * read for it, so a plan subscribed meanwhile is not made twice and a cancel finds its
 * subscription. */
unsigned vx_dialog_state_reads(int state)
{
    return state == VX_ST_SUBSCRIBING ? VX_IF_READ_SUBS : 0;
}
