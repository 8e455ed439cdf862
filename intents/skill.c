/*
 * The skill as the engine sees it: one table of what it hands over (dialog.h,
 * struct vx_skill). voxcartd and the tools pass it to vx_fsm_new.
 */
#include "dialog.h"

const struct vx_skill vx_coffee_skill = {
    .name = "coffee shop",
    .cell = vx_dialog_cell,
    .bug = vx_st_bug,
    .classify = vx_dialog_classify,
    .event_flags = vx_dialog_event_flags,
    .state_reads = vx_dialog_state_reads,
    .state_name = vx_state_name,
    .event_name = vx_event_name,
    .msgs = vx_msg_defs,
    .nmsgs = VX_M__COUNT,
    .msg_retry = VX_M_RETRY,
    .msg_link_needed = VX_M_LINK_NEEDED,
    .ev_paid = VX_EV_PAID,
    .state_init = vx_dstate_init,
    .state_parse = vx_dstate_parse,
    .state_json = vx_dstate_json,
    .profile_parse = vx_profile_parse,
    .profile_wset = vx_profile_wset,
    .order_json = vx_order_json,
    .order_view_parse = vx_order_view_parse,
    .order_id = vx_fsm_order_id,
};
