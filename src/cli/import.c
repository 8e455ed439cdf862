/*
 * Importing recordings made by the platform's own tools as fixtures
 * (`voxcart replay --import`). Those tools keep request/response pairs without
 * the signature headers, inside a few wrappers:
 *
 *   ask dialog --save-skill-io   {"invocations": [{"request": {"utterance", ...},
 *                                  "response": {"body": SIMULATION}}]}
 *   a simulation result          {"result": {"skillExecutionInfo": {"invocations":
 *                                  [{"invocationRequest": {"body"}, "invocationResponse":
 * {"body"}}]}}} an invocation result         {"result": {"skillExecutionInfo":
 * {"invocationRequest": ..., "invocationResponse": ...}}} our own plain form           [{"request":
 * ENVELOPE, "response": RESPONSE}, ...]
 *
 * Rather than one parser per wrapper, the walk below descends through any of
 * them until it meets a pair, so nested and mixed files work too. Each pair is
 * redacted exactly like voxcartd's recordings and becomes one turn whose
 * expectation is the full recorded response.
 */
#include "fixture.h"

#include <string.h>

#include <json-c/json.h>

#include "voxcart/recording.h"

struct import_ctx {
    struct json_object *turns;
    char skill_id[160];
    int rc;
    struct vx_err *e;
    const char *file;
};

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* A skill request envelope: an object whose "request" is an object with a "type". */
static int is_envelope(struct json_object *o)
{
    return json_object_is_type(get(get(o, "request"), "type"), json_type_string);
}

static void remember_skill(struct import_ctx *c, struct json_object *request)
{
    struct json_object *id =
        get(get(get(get(request, "context"), "System"), "application"), "applicationId");
    if (!id)
        id = get(get(get(request, "session"), "application"), "applicationId");
    if (!c->skill_id[0] && json_object_is_type(id, json_type_string))
        vx_strlcpy(c->skill_id, json_object_get_string(id), sizeof(c->skill_id));
}

static void add_pair(struct import_ctx *c, struct json_object *request,
                     struct json_object *response)
{
    struct json_object *req = NULL, *resp = NULL, *turn = NULL, *expect = NULL;
    char label[160];

    if (c->rc)
        return;
    if (json_object_deep_copy(request, &req, NULL) != 0 ||
        (response && json_object_deep_copy(response, &resp, NULL) != 0)) {
        c->rc = vx_err_set(c->e, VX_ENOMEM, "out of memory importing '%s'", c->file);
        goto out;
    }
    remember_skill(c, req);
    c->rc = vx_redact_exchange(req, resp, c->e);
    if (c->rc)
        goto out;
    vx_recording_label(req, label, sizeof(label));
    turn = json_object_new_object();
    if (!turn) {
        c->rc = vx_err_set(c->e, VX_ENOMEM, "out of memory importing '%s'", c->file);
        goto out;
    }
    json_object_object_add(turn, "name", json_object_new_string(label));
    json_object_object_add(turn, "request", req);
    req = NULL;
    if (resp) {
        expect = json_object_new_object();
        json_object_object_add(expect, "status", json_object_new_int(200));
        json_object_object_add(expect, "response", resp);
        resp = NULL;
        json_object_object_add(turn, "expect", expect);
    }
    json_object_array_add(c->turns, turn);
    turn = NULL;
out:
    json_object_put(turn);
    json_object_put(req);
    json_object_put(resp);
}

static void walk(struct import_ctx *c, struct json_object *o)
{
    /* the wrappers, in the order the tools nest them */
    static const char *const wrappers[] = {"invocations", "result", "skillExecutionInfo",
                                           "response", "body"};
    struct json_object *inv;

    if (c->rc)
        return;
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            walk(c, json_object_array_get_idx(o, i));
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    inv = get(o, "invocationRequest");
    if (inv) {
        if (is_envelope(get(inv, "body")))
            add_pair(c, get(inv, "body"), get(get(o, "invocationResponse"), "body"));
        return;
    }
    if (is_envelope(get(o, "request"))) {
        add_pair(c, get(o, "request"), get(o, "response"));
        return;
    }
    for (size_t i = 0; i < VX_ARRAY_LEN(wrappers); i++) {
        if (get(o, wrappers[i])) {
            walk(c, get(o, wrappers[i]));
            return;
        }
    }
}

int cli_import_convert(struct json_object *in, const char *file, const char *name,
                       struct json_object **fixture, struct vx_err *e)
{
    struct import_ctx c;
    struct json_object *doc = NULL;
    char desc[512];
    int rc = 0;

    memset(&c, 0, sizeof(c));
    c.e = e;
    c.file = file;
    *fixture = NULL;
    c.turns = json_object_new_array();
    if (!c.turns)
        return vx_err_set(e, VX_ENOMEM, "out of memory importing '%s'", file);
    walk(&c, in);
    if (c.rc) {
        rc = c.rc;
        goto out;
    }
    if (json_object_array_length(c.turns) == 0) {
        rc = vx_err_set(e, VX_EPARSE,
                        "%s: no request/response pairs found (expected ask dialog "
                        "--save-skill-io output, a simulation result, or an array of "
                        "{\"request\", \"response\"} pairs)",
                        file);
        goto out;
    }
    doc = json_object_new_object();
    if (!doc) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory importing '%s'", file);
        goto out;
    }
    vx_snprintf(desc, sizeof(desc),
                "imported from %s by voxcart replay --import; personal data replaced by "
                "placeholders",
                file);
    json_object_object_add(doc, "name", json_object_new_string(name));
    json_object_object_add(doc, "description", json_object_new_string(desc));
    if (c.skill_id[0])
        json_object_object_add(doc, "skill_id", json_object_new_string(c.skill_id));
    json_object_object_add(doc, "turns", c.turns);
    c.turns = NULL;
    *fixture = doc;
out:
    json_object_put(c.turns);
    return rc;
}
