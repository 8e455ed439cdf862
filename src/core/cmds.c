/*
 * The command list a state function fills (dialog.h): appending, with the
 * strings of arguments copied into the list's own arena, and finding. A list
 * that runs out of room is marked; the engine then answers with the apology.
 */
#include "voxcart/dialog.h"

#include <stdarg.h>
#include <string.h>

void vx_cmds_reset(struct vx_cmds *c)
{
    c->n = 0;
    c->used = 0;
    c->overflow = 0;
}

static struct vx_cmd *cmd_add(struct vx_cmds *c, enum vx_cmd_type t)
{
    struct vx_cmd *cmd;
    if (c->n == VX_CMDS_MAX) {
        c->overflow = 1;
        return NULL;
    }
    cmd = &c->v[c->n++];
    memset(cmd, 0, sizeof(*cmd));
    cmd->type = t;
    return cmd;
}

/* A copy of s in the list's arena, so commands never point into a state function's stack. */
static const char *keep(struct vx_cmds *c, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *p;
    if (c->used + n > sizeof(c->arena)) {
        c->overflow = 1;
        return "";
    }
    p = c->arena + c->used;
    memcpy(p, s ? s : "", n);
    c->used += n;
    return p;
}

static void say_v(struct vx_cmds *c, enum vx_cmd_type t, int m, va_list ap)
{
    struct vx_cmd *cmd = cmd_add(c, t);
    const char *name;
    if (!cmd)
        return;
    cmd->u.say.msg = m;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        if (cmd->u.say.nargs == VX_CMD_ARGS) {
            c->overflow = 1;
            return;
        }
        cmd->u.say.args[cmd->u.say.nargs].name = name;
        cmd->u.say.args[cmd->u.say.nargs++].value = keep(c, value);
    }
}

void vx_cmd_say(struct vx_cmds *c, int m, ...)
{
    va_list ap;
    va_start(ap, m);
    say_v(c, VX_CMD_SAY, m, ap);
    va_end(ap);
}

void vx_cmd_reprompt(struct vx_cmds *c, int m, ...)
{
    va_list ap;
    va_start(ap, m);
    say_v(c, VX_CMD_REPROMPT, m, ap);
    va_end(ap);
}

void vx_cmd_say_text(struct vx_cmds *c, const char *text)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SAY_TEXT);
    if (cmd)
        cmd->u.say.text = keep(c, text);
}

void vx_cmd_reprompt_text(struct vx_cmds *c, const char *text)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_REPROMPT_TEXT);
    if (cmd)
        cmd->u.say.text = keep(c, text);
}

void vx_cmd_card(struct vx_cmds *c, int title, const char *shop, const char *text)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_CARD);
    if (!cmd)
        return;
    cmd->u.say.msg = title;
    cmd->u.say.args[0].name = "shop";
    cmd->u.say.args[0].value = keep(c, shop);
    cmd->u.say.nargs = 1;
    cmd->u.say.text = keep(c, text);
}

struct vx_elicit *vx_cmd_elicit(struct vx_cmds *c, int slot, const char *intent,
                                const char *slot_name)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_ELICIT_SLOT);
    if (!cmd)
        return NULL;
    memset(&cmd->u.elicit, 0, sizeof(cmd->u.elicit));
    cmd->u.elicit.slot = slot;
    cmd->u.elicit.intent = keep(c, intent);
    cmd->u.elicit.slot_name = keep(c, slot_name);
    return &cmd->u.elicit;
}

void vx_cmd_elicit_known(struct vx_cmds *c, struct vx_elicit *e, const char *name,
                         const char *value)
{
    if (!e)
        return;
    if (e->nknown >= VX_MAX_SLOTS) {
        c->overflow = 1;
        return;
    }
    e->known[e->nknown].name = keep(c, name);
    e->known[e->nknown++].value = value ? keep(c, value) : NULL;
}

void vx_cmd_state(struct vx_cmds *c, int s)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_NEW_STATE);
    if (cmd)
        cmd->u.state = s;
}

void vx_cmd_cart(struct vx_cmds *c, const struct vx_cart *cart)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SET_CART);
    if (cmd)
        cmd->u.cart = *cart;
}

void vx_cmd_pending(struct vx_cmds *c, const struct vx_pending *p)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SET_PENDING);
    if (cmd)
        cmd->u.pending = *p;
}

struct vx_profile_set *vx_cmd_profile(struct vx_cmds *c)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SET_PROFILE);
    return cmd ? &cmd->u.profile : NULL;
}

struct vx_order *vx_cmd_record_order(struct vx_cmds *c)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_RECORD_ORDER);
    return cmd ? &cmd->u.order : NULL;
}

struct vx_can_fulfill *vx_cmd_can_fulfill(struct vx_cmds *c)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_CAN_FULFILL);
    return cmd ? &cmd->u.cf : NULL;
}

void vx_cmd_end(struct vx_cmds *c)
{
    cmd_add(c, VX_CMD_END_SESSION);
}

void vx_cmd_silent(struct vx_cmds *c)
{
    cmd_add(c, VX_CMD_SILENT);
}

const struct vx_cmd *vx_cmds_find(const struct vx_cmds *c, enum vx_cmd_type t, size_t nth)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].type == t && nth-- == 0)
            return &c->v[i];
    return NULL;
}

const char *vx_cmd_arg(const struct vx_cmd *cmd, const char *name)
{
    for (size_t i = 0; cmd && i < cmd->u.say.nargs; i++)
        if (strcmp(cmd->u.say.args[i].name, name) == 0)
            return cmd->u.say.args[i].value;
    return NULL;
}

void vx_cmd_pay(struct vx_cmds *c)
{
    cmd_add(c, VX_CMD_PAY);
}

void vx_cmd_show_code(struct vx_cmds *c, const char *token, const char *title, const char *text,
                      const char *data)
{
    struct vx_cmd *cmd = cmd_add(c, VX_CMD_SHOW_CODE);
    if (!cmd)
        return;
    cmd->u.code.token = keep(c, token);
    cmd->u.code.title = keep(c, title);
    cmd->u.code.text = keep(c, text);
    cmd->u.code.data = keep(c, data);
}

static void sub_cmd(struct vx_cmds *c, enum vx_cmd_type t, const char *plan, const char *target,
                    int change)
{
    struct vx_cmd *cmd = cmd_add(c, t);
    if (!cmd)
        return;
    vx_strlcpy(cmd->u.sub.plan, plan ? plan : "", sizeof(cmd->u.sub.plan));
    vx_strlcpy(cmd->u.sub.target, target ? target : "", sizeof(cmd->u.sub.target));
    cmd->u.sub.change = change;
}

void vx_cmd_set_sub(struct vx_cmds *c, const char *plan, const char *target, int change)
{
    sub_cmd(c, VX_CMD_SET_SUB, plan, target, change);
}

void vx_cmd_subscribe(struct vx_cmds *c, const char *plan)
{
    sub_cmd(c, VX_CMD_SUBSCRIBE, plan, NULL, 0);
}

void vx_cmd_sub_change(struct vx_cmds *c, const char *target, int action)
{
    sub_cmd(c, VX_CMD_SUB_CHANGE, NULL, target, action);
}
