/*
 * The interpreter: a turn's commands become the next conversation state, the
 * response (speech, reprompt, card, directives) and the changes the engine
 * writes (profile members, the order). The one place that acts on commands,
 * so every dialog decision stays testable without a store.
 */
#include "turn.h"

#include "voxcart/apl.h"
#include "voxcart/log.h"

#include <stdio.h>
#include <string.h>

static void append_text(char *dst, size_t size, const char *text)
{
    size_t n = strlen(dst);
    if (n && n + 1 < size)
        dst[n++] = ' ';
    vx_strlcpy(dst + n, text, size - n);
}

static const char *format_msg(const struct vx_dialog *d, const struct vx_cmd *cmd, char *out,
                              size_t outsz)
{
    const char *key;
    int rc;
    if ((size_t)cmd->u.say.msg >= d->skill->nmsgs) {
        vx_warn("fsm", "message %d is not one of the skill's", (int)cmd->u.say.msg);
        out[0] = '\0';
        return out;
    }
    key = d->skill->msgs[cmd->u.say.msg].key;
    rc = vx_locale_format(d->loc, key, cmd->u.say.args, cmd->u.say.nargs, out, outsz);
    if (rc)
        vx_warn("fsm", "message '%s' in %s: %s", key, vx_locale_name(d->loc), vx_strerror(rc));
    return out;
}

static void slot_json(struct vx_buf *b, const char *name, const char *value, int first)
{
    vx_buf_appendf(b, "%s\"%s\":{\"name\":\"%s\",\"confirmationStatus\":\"NONE\"", first ? "" : ",",
                   name, name);
    if (value && *value) {
        vx_buf_appends(b, ",\"value\":\"");
        vx_json_escape(b, value, strlen(value));
        vx_buf_appends(b, "\"");
    }
    vx_buf_appends(b, "}");
}

/* Dialog.ElicitSlot with what is known of the intent, so the platform keeps it (alexa.md s. 3). */
static int elicit_directive(const struct vx_elicit *e, struct vx_response *resp)
{
    struct vx_buf b;
    int rc;
    vx_buf_init(&b);
    vx_buf_appends(&b, "{\"type\":\"Dialog.ElicitSlot\",\"slotToElicit\":\"");
    vx_json_escape(&b, e->slot_name, strlen(e->slot_name));
    vx_buf_appends(&b, "\",\"updatedIntent\":{\"name\":\"");
    vx_json_escape(&b, e->intent, strlen(e->intent));
    vx_buf_appends(&b, "\",\"confirmationStatus\":\"NONE\",\"slots\":{");
    for (size_t i = 0; i < e->nknown; i++)
        slot_json(&b, e->known[i].name, e->known[i].value, i == 0);
    vx_buf_appends(&b, "}}}");
    rc = b.data ? vx_response_directive(resp, b.data) : VX_ENOMEM;
    vx_buf_release(&b);
    return rc;
}

/* The APL document of a QR code, for a device that shows APL; without it the speech and the
 * card carry the answer alone, so a code that cannot be drawn is only logged. */
static void show_code(const struct vx_dialog *d, const struct vx_cmd *c, struct vx_response *resp)
{
    struct vx_apl_code code = {c->u.code.token, c->u.code.title, c->u.code.text, c->u.code.data};
    struct vx_buf b;
    struct vx_err e;

    if (!(d->req->interfaces & VX_IFACE_APL))
        return;
    vx_buf_init(&b);
    vx_err_clear(&e);
    if (vx_apl_code_directive(&code, &b, &e) != 0 || vx_response_directive(resp, b.data) != 0)
        vx_warn("fsm", "no qr code on the screen for '%s': %s", c->u.code.token,
                e.msg[0] ? e.msg : "out of memory");
    vx_buf_release(&b);
}

/* Applies the commands to t->next and t->resp; profile and order changes are left in t. */
void vx_interpret(const struct vx_dialog *d, struct turn *t, const struct vx_order **order,
                  const struct vx_can_fulfill **cf)
{
    int spoke = 0, reprompted = 0, end = 0, silent = 0;
    const struct vx_elicit *elicit = NULL;
    char title[256];

    t->next = t->st;
    memset(&t->pset, 0, sizeof(t->pset));
    *order = NULL;
    *cf = NULL;
    t->pay = 0;
    t->subscribe[0] = '\0';
    t->sub_target[0] = '\0';
    t->sub_action = -1;
    for (size_t i = 0; i < t->cmds.n; i++) {
        const struct vx_cmd *c = &t->cmds.v[i];
        switch (c->type) {
        case VX_CMD_SAY:
        case VX_CMD_SAY_TEXT: {
            const char *text = c->type == VX_CMD_SAY_TEXT
                                   ? c->u.say.text
                                   : format_msg(d, c, t->text, sizeof(t->text));
            if (!spoke)
                t->next.say[0] = '\0';
            spoke = 1;
            vx_response_say(&t->resp, text);
            append_text(t->next.say, sizeof(t->next.say), text);
            break;
        }
        case VX_CMD_REPROMPT:
        case VX_CMD_REPROMPT_TEXT: {
            const char *text = c->type == VX_CMD_REPROMPT_TEXT
                                   ? c->u.say.text
                                   : format_msg(d, c, t->text, sizeof(t->text));
            if (!reprompted)
                t->next.reprompt[0] = '\0';
            reprompted = 1;
            vx_response_reprompt(&t->resp, text);
            append_text(t->next.reprompt, sizeof(t->next.reprompt), text);
            break;
        }
        case VX_CMD_CARD:
            vx_response_card(&t->resp, format_msg(d, c, title, sizeof(title)), c->u.say.text);
            break;
        case VX_CMD_ELICIT_SLOT:
            elicit = &c->u.elicit;
            break;
        case VX_CMD_NEW_STATE:
            t->next.state = c->u.state;
            break;
        case VX_CMD_SET_CART:
            t->next.cart = c->u.cart;
            break;
        case VX_CMD_SET_PENDING:
            t->next.pending = c->u.pending;
            break;
        case VX_CMD_SET_PROFILE:
            /* several changes in one turn add up */
            if (c->u.profile.fields & VX_PF_LOCALE)
                vx_strlcpy(t->pset.locale, c->u.profile.locale, sizeof(t->pset.locale));
            if (c->u.profile.fields & VX_PF_USUAL)
                t->pset.usual = c->u.profile.usual;
            if (c->u.profile.fields & VX_PF_LAST_ORDER)
                vx_strlcpy(t->pset.last_order, c->u.profile.last_order, sizeof(t->pset.last_order));
            if (c->u.profile.fields & VX_PF_VOICE_CODE) {
                t->pset.voice_code_failures = c->u.profile.voice_code_failures;
                t->pset.voice_code_locked = c->u.profile.voice_code_locked;
            }
            t->pset.fields |= c->u.profile.fields;
            break;
        case VX_CMD_RECORD_ORDER:
            *order = &c->u.order;
            break;
        case VX_CMD_CAN_FULFILL:
            *cf = &c->u.cf;
            break;
        case VX_CMD_END_SESSION:
            end = 1;
            break;
        case VX_CMD_SILENT:
            silent = 1;
            break;
        case VX_CMD_PAY:
            t->pay = 1;
            break;
        case VX_CMD_SHOW_CODE:
            show_code(d, c, &t->resp);
            break;
        case VX_CMD_SET_SUB:
            vx_strlcpy(t->next.sub_plan, c->u.sub.plan, sizeof(t->next.sub_plan));
            vx_strlcpy(t->next.sub_target, c->u.sub.target, sizeof(t->next.sub_target));
            t->next.sub_change = c->u.sub.change;
            break;
        case VX_CMD_SUBSCRIBE:
            vx_strlcpy(t->subscribe, c->u.sub.plan, sizeof(t->subscribe));
            break;
        case VX_CMD_SUB_CHANGE:
            vx_strlcpy(t->sub_target, c->u.sub.target, sizeof(t->sub_target));
            t->sub_action = c->u.sub.change;
            break;
        }
    }
    if (spoke && !reprompted)
        t->next.reprompt[0] = '\0';
    t->resp.silent = silent;
    t->resp.end_session = silent ? -1 : end ? 1 : 0;
    /* dialog directives only answer intent requests, and never with the session ending */
    if (elicit && !end && !silent && d->req->type == VX_REQ_INTENT)
        elicit_directive(elicit, &t->resp);
}

static const char *cf_word(enum vx_cf_answer a)
{
    return a == VX_CF_YES ? "YES" : a == VX_CF_MAYBE ? "MAYBE" : "NO";
}

int vx_render_can_fulfill(const struct vx_can_fulfill *cf, struct vx_buf *body)
{
    int rc = vx_buf_appendf(body,
                            "{\"version\":\"1.0\",\"response\":{\"canFulfillIntent\":{"
                            "\"canFulfill\":\"%s\",\"slots\":{",
                            cf_word(cf->intent));
    for (size_t i = 0; i < cf->nslots && rc == 0; i++) {
        rc |= vx_buf_appendf(body, "%s\"", i ? "," : "");
        rc |= vx_json_escape(body, cf->slots[i].name, strlen(cf->slots[i].name));
        rc |= vx_buf_appendf(body, "\":{\"canUnderstand\":\"%s\",\"canFulfill\":\"%s\"}",
                             cf_word(cf->slots[i].understand), cf_word(cf->slots[i].fulfill));
    }
    rc |= vx_buf_appends(body, "}}}}");
    return rc ? VX_ENOMEM : 0;
}
