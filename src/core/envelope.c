/*
 * Request envelope parsing. jscan.c reads the verified body once (strict JSON,
 * three allocations per document: this runs on every request); this file
 * walks the nodes and fills struct vx_request with borrowed pointers. The
 * rules: a field the pipeline needs is checked for presence and type here (a
 * clear 400 names it), an optional field that is absent or of the wrong type
 * reads as NULL, and nothing here allocates beyond the document.
 */
#include "voxcart/jscan.h"
#include "voxcart/envelope.h"

#include <string.h>

#define J(o, k)    vx_jget(&r->doc, (o), (k))
#define JSTR(o, k) vx_jget_str(&r->doc, (o), (k))
#define IS(n, t)   ((n) && (n)->type == (t))

static const struct {
    const char *name;
    enum vx_req_type type;
} req_types[] = {
    {"LaunchRequest", VX_REQ_LAUNCH},
    {"IntentRequest", VX_REQ_INTENT},
    {"SessionEndedRequest", VX_REQ_SESSION_ENDED},
    {"CanFulfillIntentRequest", VX_REQ_CAN_FULFILL},
    {"Connections.Response", VX_REQ_CONNECTIONS_RESPONSE},
};

static enum vx_req_type classify(const char *t)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(req_types); i++)
        if (strcmp(t, req_types[i].name) == 0)
            return req_types[i].type;
    if (strncmp(t, "AlexaSkillEvent.", 16) == 0)
        return VX_REQ_SKILL_EVENT;
    return VX_REQ_OTHER;
}

/* Fills one slot from intent.slots[name]; resolution by the first authority that matched. */
static void parse_slot(struct vx_request *r, const struct vx_jnode *jslot, struct vx_slot *s)
{
    const struct vx_jnode *auths = J(J(jslot, "resolutions"), "resolutionsPerAuthority");
    memset(s, 0, sizeof(*s));
    s->name = jslot->key;
    s->value = JSTR(jslot, "value");
    if (s->value && !*s->value)
        s->value = NULL;
    if (!IS(auths, VX_JARRAY))
        return;
    for (const struct vx_jnode *a = vx_jfirst(&r->doc, auths); a; a = vx_jnext(&r->doc, a)) {
        const char *code = JSTR(J(a, "status"), "code");
        const struct vx_jnode *vals = J(a, "values");
        if (!code)
            continue;
        if (strcmp(code, "ER_SUCCESS_MATCH") == 0 && IS(vals, VX_JARRAY) && vals->count > 0) {
            const struct vx_jnode *v = J(vx_jfirst(&r->doc, vals), "value");
            s->resolved_id = JSTR(v, "id");
            s->resolved_name = JSTR(v, "name");
            if (s->resolved_id) {
                s->er = VX_ER_MATCH;
                return;
            }
        } else if (strcmp(code, "ER_SUCCESS_NO_MATCH") == 0) {
            s->er = VX_ER_NO_MATCH;
        }
    }
}

static int parse_intent(struct vx_request *r, const struct vx_jnode *req, struct vx_err *e)
{
    const struct vx_jnode *intent = J(req, "intent");
    const struct vx_jnode *slots;
    if (!intent)
        return vx_err_set(e, VX_EPARSE, "request.intent is missing");
    r->intent_name = JSTR(intent, "name");
    if (!r->intent_name || !*r->intent_name)
        return vx_err_set(e, VX_EPARSE, "request.intent.name is missing");
    r->confirmation_status = JSTR(intent, "confirmationStatus");
    r->dialog_state = JSTR(req, "dialogState");
    slots = J(intent, "slots");
    if (IS(slots, VX_JOBJECT)) {
        for (const struct vx_jnode *js = vx_jfirst(&r->doc, slots); js;
             js = vx_jnext(&r->doc, js)) {
            if (vx_jget(&r->doc, slots, js->key) != js)
                continue; /* a name given twice: its last value counts */
            if (r->nslots >= VX_MAX_SLOTS)
                return vx_err_set(e, VX_EPARSE, "request.intent.slots has more than %d slots",
                                  VX_MAX_SLOTS);
            parse_slot(r, js, &r->slots[r->nslots++]);
        }
    }
    return 0;
}

static const struct {
    const char *name;
    enum vx_iface bit;
} ifaces[] = {
    {"Alexa.Presentation.APL", VX_IFACE_APL},
};

/* supportedInterfaces is an object whose keys name the interfaces; what each holds (APL's
 * runtime.maxVersion) does not matter for what voxcart sends. Anything but an object, or a
 * key given with a value that is not an object, names nothing. */
static unsigned parse_interfaces(struct vx_request *r, const struct vx_jnode *device)
{
    const struct vx_jnode *si = J(device, "supportedInterfaces");
    unsigned bits = 0;
    if (!IS(si, VX_JOBJECT))
        return 0;
    for (size_t i = 0; i < VX_ARRAY_LEN(ifaces); i++)
        if (IS(J(si, ifaces[i].name), VX_JOBJECT))
            bits |= ifaces[i].bit;
    return bits;
}

static void parse_consent(struct vx_request *r, const struct vx_jnode *user)
{
    const struct vx_jnode *scope =
        J(J(J(user, "permissions"), "scopes"), "payments:autopay_consent");
    const char *status = JSTR(scope, "status");
    r->autopay_consent = -1;
    if (status)
        r->autopay_consent = strcmp(status, "GRANTED") == 0 ? 1 : 0;
}

static int parse_tree(struct vx_request *r, struct vx_err *e)
{
    const struct vx_jnode *root = vx_jroot(&r->doc);
    const struct vx_jnode *req = J(root, "request");
    const struct vx_jnode *sys = J(J(root, "context"), "System");
    const struct vx_jnode *session = J(root, "session");
    const struct vx_jnode *ts, *user;

    if (!IS(req, VX_JOBJECT))
        return vx_err_set(e, VX_EPARSE, "request is missing");
    r->type_name = JSTR(req, "type");
    if (!r->type_name)
        return vx_err_set(e, VX_EPARSE, "request.type is missing");
    r->type = classify(r->type_name);
    r->request_id = JSTR(req, "requestId");
    if (!r->request_id || !*r->request_id)
        return vx_err_set(e, VX_EPARSE, "request.requestId is missing");
    r->locale = JSTR(req, "locale");

    ts = J(req, "timestamp");
    if (IS(ts, VX_JSTRING)) {
        r->timestamp = ts->str;
    } else if (IS(ts, VX_JNUMBER)) {
        int64_t ms;
        if (vx_jint64(ts, &ms) == 0) {
            r->timestamp_is_number = 1;
            r->timestamp_ms = ms;
        } else {
            /* a fraction, an exponent or out of range: present but not epoch ms, so the
               number as written goes to the ISO 8601 parser, which refuses it as invalid */
            r->timestamp = ts->str;
        }
    }

    /* context.System is authoritative; old envelopes only carry session.* */
    r->application_id = JSTR(J(sys, "application"), "applicationId");
    if (!r->application_id)
        r->application_id = JSTR(J(session, "application"), "applicationId");
    user = J(sys, "user");
    if (!user)
        user = J(session, "user");
    r->user_id = JSTR(user, "userId");
    r->access_token = JSTR(user, "accessToken");
    r->device_id = JSTR(J(sys, "device"), "deviceId");
    r->interfaces = parse_interfaces(r, J(sys, "device"));
    r->api_endpoint = JSTR(sys, "apiEndpoint");
    parse_consent(r, user);

    if (IS(session, VX_JOBJECT)) {
        const struct vx_jnode *attrs = J(session, "attributes");
        r->session_id = JSTR(session, "sessionId");
        r->session_new = IS(J(session, "new"), VX_JTRUE);
        if (IS(attrs, VX_JOBJECT))
            r->session_attributes = attrs;
    }

    switch (r->type) {
    case VX_REQ_INTENT:
    case VX_REQ_CAN_FULFILL:
        return parse_intent(r, req, e);
    case VX_REQ_SESSION_ENDED:
        r->end_reason = JSTR(req, "reason");
        r->error_type = JSTR(J(req, "error"), "type");
        return 0;
    case VX_REQ_CONNECTIONS_RESPONSE: {
        const struct vx_jnode *status = J(req, "status");
        r->conn_name = JSTR(req, "name");
        r->conn_token = JSTR(req, "token");
        r->conn_status_code = JSTR(status, "code");
        r->conn_status_message = JSTR(status, "message");
        r->conn_payload = J(req, "payload");
        if (!r->conn_name || !r->conn_status_code)
            return vx_err_set(e, VX_EPARSE, "request.name and request.status.code are required");
        return 0;
    }
    default:
        return 0;
    }
}

int vx_request_parse(const char *body, size_t len, struct vx_request *r, struct vx_err *e)
{
    struct vx_err je;
    int rc;

    memset(r, 0, sizeof(*r));
    r->autopay_consent = -1;
    if (len > INT32_MAX)
        return vx_err_set(e, VX_EPARSE, "body too large");
    vx_err_clear(&je);
    rc = vx_jdoc_parse(&r->doc, body, len, &je);
    if (rc == VX_ENOMEM)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (rc)
        return vx_err_set(e, VX_EPARSE, "body is not valid JSON (%s)", je.msg);
    if (vx_jroot(&r->doc)->type != VX_JOBJECT) {
        vx_jdoc_free(&r->doc);
        return vx_err_set(e, VX_EPARSE, "body is not a JSON object");
    }
    r->body = body;
    r->body_len = len;
    rc = parse_tree(r, e);
    if (rc) {
        vx_jdoc_free(&r->doc);
        memset(r, 0, sizeof(*r));
    }
    return rc;
}

void vx_request_release(struct vx_request *r)
{
    vx_jdoc_free(&r->doc);
    memset(r, 0, sizeof(*r));
}

const struct vx_slot *vx_request_slot(const struct vx_request *r, const char *name)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (strcmp(r->slots[i].name, name) == 0)
            return &r->slots[i];
    return NULL;
}

void vx_request_lang(const struct vx_request *r, char *out, size_t outsz)
{
    const char *l = r->locale ? r->locale : "en-US";
    size_t i;
    for (i = 0; i + 1 < outsz && l[i] && l[i] != '-' && l[i] != '_'; i++)
        out[i] = (char)(l[i] >= 'A' && l[i] <= 'Z' ? l[i] + 32 : l[i]);
    out[i] = '\0';
}
