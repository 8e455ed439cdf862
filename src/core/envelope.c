/*
 * Request envelope parsing. json-c parses the verified body once; this file
 * walks the tree and fills struct vx_request with borrowed pointers. The rules:
 * a field the pipeline needs is checked for presence and type here (a clear 400
 * names it), an optional field that is absent or of the wrong type reads as
 * NULL, and nothing here allocates beyond the json-c tree.
 */
#include "voxcart/json.h"
#include "voxcart/envelope.h"

#include <json-c/json.h>
#include <pthread.h>
#include <string.h>

static struct json_object *get_path(struct json_object *o, const char *const *keys)
{
    for (; *keys && o; keys++)
        o = vx_json_get(o, *keys);
    return o;
}

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
static void parse_slot(const char *name, struct json_object *jslot, struct vx_slot *s)
{
    struct json_object *auths =
        get_path(jslot, (const char *const[]){"resolutions", "resolutionsPerAuthority", NULL});
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->value = vx_json_get_str(jslot, "value");
    if (s->value && !*s->value)
        s->value = NULL;
    if (!auths || !json_object_is_type(auths, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(auths); i++) {
        struct json_object *a = json_object_array_get_idx(auths, i);
        const char *code = vx_json_get_str(vx_json_get(a, "status"), "code");
        struct json_object *vals = vx_json_get(a, "values");
        if (!code)
            continue;
        if (strcmp(code, "ER_SUCCESS_MATCH") == 0 && vals &&
            json_object_is_type(vals, json_type_array) && json_object_array_length(vals) > 0) {
            struct json_object *v = vx_json_get(json_object_array_get_idx(vals, 0), "value");
            s->resolved_id = vx_json_get_str(v, "id");
            s->resolved_name = vx_json_get_str(v, "name");
            if (s->resolved_id) {
                s->er = VX_ER_MATCH;
                return;
            }
        } else if (strcmp(code, "ER_SUCCESS_NO_MATCH") == 0) {
            s->er = VX_ER_NO_MATCH;
        }
    }
}

static int parse_intent(struct vx_request *r, struct json_object *req, struct vx_err *e)
{
    struct json_object *intent = vx_json_get(req, "intent");
    struct json_object *slots;
    if (!intent)
        return vx_err_set(e, VX_EPARSE, "request.intent is missing");
    r->intent_name = vx_json_get_str(intent, "name");
    if (!r->intent_name || !*r->intent_name)
        return vx_err_set(e, VX_EPARSE, "request.intent.name is missing");
    r->confirmation_status = vx_json_get_str(intent, "confirmationStatus");
    r->dialog_state = vx_json_get_str(req, "dialogState");
    slots = vx_json_get(intent, "slots");
    if (slots && json_object_is_type(slots, json_type_object)) {
        json_object_object_foreach(slots, name, jslot)
        {
            if (r->nslots >= VX_MAX_SLOTS)
                return vx_err_set(e, VX_EPARSE, "request.intent.slots has more than %d slots",
                                  VX_MAX_SLOTS);
            parse_slot(name, jslot, &r->slots[r->nslots++]);
        }
    }
    return 0;
}

static void parse_consent(struct vx_request *r, struct json_object *user)
{
    struct json_object *scope = get_path(
        user, (const char *const[]){"permissions", "scopes", "payments:autopay_consent", NULL});
    const char *status = vx_json_get_str(scope, "status");
    r->autopay_consent = -1;
    if (status)
        r->autopay_consent = strcmp(status, "GRANTED") == 0 ? 1 : 0;
}

static int parse_tree(struct vx_request *r, struct vx_err *e)
{
    struct json_object *req = vx_json_get(r->root, "request");
    struct json_object *sys = get_path(r->root, (const char *const[]){"context", "System", NULL});
    struct json_object *session = vx_json_get(r->root, "session");
    struct json_object *ts, *user;

    if (!req || !json_object_is_type(req, json_type_object))
        return vx_err_set(e, VX_EPARSE, "request is missing");
    r->type_name = vx_json_get_str(req, "type");
    if (!r->type_name)
        return vx_err_set(e, VX_EPARSE, "request.type is missing");
    r->type = classify(r->type_name);
    r->request_id = vx_json_get_str(req, "requestId");
    if (!r->request_id || !*r->request_id)
        return vx_err_set(e, VX_EPARSE, "request.requestId is missing");
    r->locale = vx_json_get_str(req, "locale");

    ts = vx_json_get(req, "timestamp");
    if (ts && json_object_is_type(ts, json_type_string)) {
        r->timestamp = json_object_get_string(ts);
    } else if (ts && json_object_is_type(ts, json_type_int)) {
        r->timestamp_is_number = 1;
        r->timestamp_ms = json_object_get_int64(ts);
    }

    /* context.System is authoritative; old envelopes only carry session.* */
    r->application_id = vx_json_get_str(vx_json_get(sys, "application"), "applicationId");
    if (!r->application_id)
        r->application_id = vx_json_get_str(vx_json_get(session, "application"), "applicationId");
    user = vx_json_get(sys, "user");
    if (!user)
        user = vx_json_get(session, "user");
    r->user_id = vx_json_get_str(user, "userId");
    r->access_token = vx_json_get_str(user, "accessToken");
    r->device_id = vx_json_get_str(vx_json_get(sys, "device"), "deviceId");
    r->api_endpoint = vx_json_get_str(sys, "apiEndpoint");
    parse_consent(r, user);

    if (session && json_object_is_type(session, json_type_object)) {
        struct json_object *n = vx_json_get(session, "new");
        struct json_object *attrs = vx_json_get(session, "attributes");
        r->session_id = vx_json_get_str(session, "sessionId");
        r->session_new =
            n && json_object_is_type(n, json_type_boolean) && json_object_get_boolean(n);
        if (attrs && json_object_is_type(attrs, json_type_object))
            r->session_attributes = attrs;
    }

    switch (r->type) {
    case VX_REQ_INTENT:
    case VX_REQ_CAN_FULFILL:
        return parse_intent(r, req, e);
    case VX_REQ_SESSION_ENDED:
        r->end_reason = vx_json_get_str(req, "reason");
        r->error_type = vx_json_get_str(vx_json_get(req, "error"), "type");
        return 0;
    case VX_REQ_CONNECTIONS_RESPONSE: {
        struct json_object *status = vx_json_get(req, "status");
        r->conn_name = vx_json_get_str(req, "name");
        r->conn_token = vx_json_get_str(req, "token");
        r->conn_status_code = vx_json_get_str(status, "code");
        r->conn_status_message = vx_json_get_str(status, "message");
        r->conn_payload = vx_json_get(req, "payload");
        if (!r->conn_name || !r->conn_status_code)
            return vx_err_set(e, VX_EPARSE, "request.name and request.status.code are required");
        return 0;
    }
    default:
        return 0;
    }
}

/* One tokener per thread, reset after each parse: every request parses one body. */
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tok_free(void *p)
{
    json_tokener_free(p);
}

static void tok_key_make(void)
{
    pthread_key_create(&tok_key, tok_free);
}

static struct json_tokener *tokener_get(void)
{
    struct json_tokener *tok;
    pthread_once(&tok_once, tok_key_make);
    tok = pthread_getspecific(tok_key);
    if (!tok) {
        tok = json_tokener_new();
        if (!tok)
            return NULL;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        if (pthread_setspecific(tok_key, tok) != 0) {
            json_tokener_free(tok);
            return NULL;
        }
    }
    return tok;
}

int vx_request_parse(const char *body, size_t len, struct vx_request *r, struct vx_err *e)
{
    struct json_tokener *tok;
    enum json_tokener_error jerr;
    int rc;

    memset(r, 0, sizeof(*r));
    r->autopay_consent = -1;
    if (len > INT32_MAX)
        return vx_err_set(e, VX_EPARSE, "body too large");
    tok = tokener_get();
    if (!tok)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    r->root = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    if (r->root && jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
        /* trailing bytes after the JSON value: only whitespace is tolerated */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') {
                jerr = json_tokener_error_parse_unexpected;
                break;
            }
        }
    }
    json_tokener_reset(tok);
    if (!r->root || jerr != json_tokener_success) {
        json_object_put(r->root);
        r->root = NULL;
        return vx_err_set(e, VX_EPARSE, "body is not valid JSON (%s)",
                          jerr == json_tokener_continue ? "unexpected end of input"
                                                        : json_tokener_error_desc(jerr));
    }
    if (!json_object_is_type(r->root, json_type_object)) {
        json_object_put(r->root);
        r->root = NULL;
        return vx_err_set(e, VX_EPARSE, "body is not a JSON object");
    }
    rc = parse_tree(r, e);
    if (rc) {
        json_object_put(r->root);
        memset(r, 0, sizeof(*r));
    }
    return rc;
}

void vx_request_release(struct vx_request *r)
{
    json_object_put(r->root);
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
