/*
 * The POST /alexa pipeline (DESIGN section 3), in the order the platform
 * requires: signature headers, certificate URL rules, the chain (cached),
 * Signature-256 over the raw bytes, then the envelope, the timestamp window, the
 * skill ID allowlist and the optional replay guard. Nothing of the dialog runs
 * before every check passed; every failure is an HTTP 400 whose JSON names the
 * reason, one log line and one metric.
 */
#include "server.h"
#include "record.h"

#include "voxcart/envelope.h"
#include "voxcart/fsm.h"
#include "voxcart/log.h"
#include "voxcart/response.h"
#include "voxcart/store.h"
#include "voxcart/verify.h"

#include <stdlib.h>
#include <string.h>

int skill_init(struct server *s, struct vx_err *e)
{
    struct vx_certs_config cc;
    int rc;

    memset(&cc, 0, sizeof(cc));
    cc.ca_file = s->cfg.ca_file[0] ? s->cfg.ca_file : NULL;
    cc.ca_path = s->cfg.ca_path[0] ? s->cfg.ca_path : NULL;
    cc.map = s->cfg.cert_map;
    cc.map_len = s->cfg.cert_map_len;
    cc.fetch_connect_to = s->cfg.fetch_connect_to;
    cc.fetch_ca_file = s->cfg.fetch_ca_file;
    rc = vx_certs_new(&cc, &s->certs, e);
    if (rc)
        return rc;
    vx_certs_set_shared(s->certs, vx_store_cert_shared());
    {
        /* the dialog: a bad catalog or messages file stops start-up, naming the field */
        struct vx_fsm_config fc = {s->cfg.models_dir, s->cfg.catalog, 0};
        rc = vx_fsm_new(&fc, &s->fsm, e);
        if (rc) {
            vx_certs_free(s->certs);
            s->certs = NULL;
            return rc;
        }
    }
    return 0;
}

void skill_release(struct server *s)
{
    vx_fsm_free(s->fsm);
    s->fsm = NULL;
    vx_certs_free(s->certs);
    s->certs = NULL;
}

void server_reply_error(struct server_reply *out, int status, const char *code, const char *message)
{
    out->status = status;
    out->content_type = "application/json";
    out->body.len = 0;
    vx_buf_appends(&out->body, "{\"error\":{\"code\":\"");
    vx_json_escape(&out->body, code, strlen(code));
    vx_buf_appends(&out->body, "\",\"message\":\"");
    vx_json_escape(&out->body, message, strlen(message));
    vx_buf_appends(&out->body, "\"}}");
}

static void reject(struct server_reply *out, enum vx_verify_reason reason, const char *detail,
                   const char *request_id)
{
    char msg[512];
    if (detail && *detail)
        snprintf(msg, sizeof(msg), "%s: %s", vx_verify_reason_text(reason), detail);
    else
        snprintf(msg, sizeof(msg), "%s", vx_verify_reason_text(reason));
    vx_warn("verify", "rejected request %s: %s (%s)", request_id ? request_id : "-",
            vx_verify_reason_name(reason), msg);
    vx_metrics_verify_failure(reason);
    server_reply_error(out, 400, vx_verify_reason_name(reason), msg);
    out->outcome = VX_OUT_REJECTED;
}

/*
 * A header's value without the spaces and tabs around it (RFC 9110 section
 * 5.5: they are not part of the value; libmicrohttpd strips only the leading
 * ones). The trimmed copy goes to buf; a value that does not fit is returned
 * as it is, and the checks refuse it for its length anyway.
 */
static const char *header_value(const struct server_headers *h, const char *name, char *buf,
                                size_t size)
{
    const char *v = h->get(h->ud, name);
    size_t n;
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= size)
        return v;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

/* Certificate URL, chain and Signature-256: everything that works on raw bytes. */
static enum vx_verify_reason check_signature(struct server *s, const struct server_headers *h,
                                             const char *body, size_t len, int64_t now,
                                             struct vx_err *detail)
{
    char url_buf[2048], sig_buf[1024];
    const char *url = header_value(h, "SignatureCertChainUrl", url_buf, sizeof(url_buf));
    const char *sig = header_value(h, "Signature-256", sig_buf, sizeof(sig_buf));
    char canon[1024];
    EVP_PKEY *key = NULL;
    enum vx_verify_reason r;

    if (!url || !*url)
        return VX_VR_MISSING_CERT_URL;
    if (!sig || !*sig)
        return VX_VR_MISSING_SIGNATURE;
    r = vx_cert_url_check(url, canon, sizeof(canon));
    if (r != VX_VR_OK) {
        vx_err_set(detail, VX_EVERIFY, "'%.200s'", url);
        return r;
    }
    r = vx_certs_get_key(s->certs, canon, now, &key, detail);
    if (r != VX_VR_OK)
        return r;
    r = vx_signature_check(key, sig, body, len);
    EVP_PKEY_free(key);
    return r;
}

/* Timestamp window, skill ID, replay guard: the checks that need the parsed envelope. */
static enum vx_verify_reason check_envelope(struct server *s, const struct vx_request *req,
                                            int64_t now, struct vx_err *detail)
{
    int64_t ts;
    int tolerance = s->cfg.timestamp_tolerance;
    enum vx_verify_reason r;

    if (req->timestamp_is_number) {
        /* epoch milliseconds, as an old console simulator sent them */
        ts = req->timestamp_ms / 1000;
    } else if (!req->timestamp) {
        return VX_VR_TIMESTAMP_MISSING;
    } else if (vx_timestamp_parse(req->timestamp, &ts) != 0) {
        vx_err_set(detail, VX_EVERIFY, "'%.64s'", req->timestamp);
        return VX_VR_TIMESTAMP_INVALID;
    }
    if (vx_is_skill_event(req->type_name))
        tolerance = VX_TS_TOLERANCE_SKILL_EVENT;
    r = vx_timestamp_check(ts, now, tolerance);
    if (r != VX_VR_OK) {
        vx_err_set(detail, VX_EVERIFY, "%lld seconds off, %d allowed",
                   (long long)(ts > now ? ts - now : now - ts), tolerance);
        return r;
    }
    if (s->cfg.skill_ids_len > 0 || !s->cfg.development) {
        if (!vx_config_skill_allowed(&s->cfg, req->application_id)) {
            vx_err_set(detail, VX_EVERIFY, "'%.128s'",
                       req->application_id ? req->application_id : "(none)");
            return VX_VR_SKILL_ID;
        }
    }
    return VX_VR_OK;
}

/* The apology when the store is down: it must not depend on anything that could be down. */
static const struct {
    const char *lang;
    const char *sorry;
} texts[] = {
    {"en", "Sorry, I can't take orders right now. Please try again in a minute."},
    {"de",
     "Entschuldige, ich kann gerade keine Bestellungen annehmen. Bitte versuche es gleich noch "
     "einmal."},
};

static size_t text_index(const struct vx_request *req)
{
    char lang[8];
    vx_request_lang(req, lang, sizeof(lang));
    for (size_t i = 0; i < VX_ARRAY_LEN(texts); i++)
        if (strcmp(texts[i].lang, lang) == 0)
            return i;
    return 0;
}

static void answer(struct vx_response *resp, struct server_reply *out)
{
    int warn = 0;
    out->body.len = 0;
    if (vx_response_render(resp, &out->body, &warn) != 0) {
        server_reply_error(out, 500, "internal", "out of memory");
        out->outcome = VX_OUT_ERROR;
        return;
    }
    if (warn)
        vx_warn("response", "response breaks a platform rule (flags 0x%x)", (unsigned)warn);
    out->status = 200;
    out->content_type = "application/json;charset=UTF-8";
}

static void apologise(const struct vx_request *req, struct server_reply *out, const char *why)
{
    struct vx_response resp;
    vx_error("skill", "answering %s with an apology: %s", req->request_id, why);
    vx_response_init(&resp);
    vx_response_say(&resp, texts[text_index(req)].sorry);
    resp.end_session = 1;
    answer(&resp, out);
    vx_response_release(&resp);
    out->outcome = VX_OUT_STORE_DOWN;
}

/* The dialog's answer, or the apology when it failed (nothing was written then). */
static void dialog_answer(struct skill_turn *st, int rc, const struct vx_err *e, int warn,
                          struct server_reply *out)
{
    if (rc != 0) {
        apologise(&st->req, out, e->msg);
        if (rc != VX_ESTORE)
            out->outcome = VX_OUT_ERROR;
        return;
    }
    if (warn)
        vx_warn("response", "response breaks a platform rule (flags 0x%x)", (unsigned)warn);
    out->status = 200;
    out->content_type = "application/json;charset=UTF-8";
    out->outcome = VX_OUT_OK;
}

/* Runs the dialog turn until it needs the store (1) or has answered (0). */
static int dialog_step(struct server *s, struct skill_turn *st, struct server_reply *out,
                       struct vx_store_op **op)
{
    struct vx_err e;
    int warn = 0, rc;

    vx_err_clear(&e);
    out->body.len = 0;
    rc = vx_fsm_turn_step(st->turn, op, &out->body, &warn, &e);
    if (rc == 1)
        return 1;
    dialog_answer(st, rc, &e, warn, out);
    record_turn(s, &st->req, out);
    return 0;
}

static int dialog_start(struct server *s, struct skill_turn *st, struct server_reply *out,
                        struct vx_store_op **op)
{
    struct vx_err e;
    int rc;

    vx_err_clear(&e);
    st->phase = SKILL_DIALOG;
    rc = vx_fsm_turn_new(s->fsm, &st->req, &st->turn, &e);
    if (rc) {
        dialog_answer(st, rc, &e, 0, out);
        return 0;
    }
    return dialog_step(s, st, out, op);
}

int skill_start(struct server *s, const struct server_headers *h, const char *body, size_t len,
                struct skill_turn *st, struct server_reply *out, struct vx_store_op **op)
{
    struct vx_err detail;
    enum vx_verify_reason r;
    int64_t now = vx_now();

    memset(st, 0, sizeof(*st));
    vx_err_clear(&detail);
    *op = NULL;
    if (!s->cfg.development) {
        r = check_signature(s, h, body, len, now, &detail);
        if (r != VX_VR_OK) {
            reject(out, r, detail.msg, NULL);
            return 0;
        }
    }
    if (vx_request_parse(body, len, &st->req, &detail) != 0) {
        reject(out, VX_VR_BODY_MALFORMED, detail.msg, NULL);
        return 0;
    }
    st->parsed = 1;
    r = check_envelope(s, &st->req, now, &detail);
    if (r != VX_VR_OK) {
        reject(out, r, detail.msg, st->req.request_id);
        return 0;
    }
    if (s->cfg.replay_guard) {
        /* a request older than the window is refused by the timestamp check anyway */
        int tolerance = vx_is_skill_event(st->req.type_name) ? VX_TS_TOLERANCE_SKILL_EVENT
                                                             : s->cfg.timestamp_tolerance;
        st->phase = SKILL_REPLAY_GUARD;
        if (vx_store_op_seen(&st->op, st->req.request_id, 2 * tolerance + 1)) {
            *op = &st->op;
            return 1;
        }
        return skill_continue(s, st, out, op);
    }
    return dialog_start(s, st, out, op);
}

int skill_continue(struct server *s, struct skill_turn *st, struct server_reply *out,
                   struct vx_store_op **op)
{
    *op = NULL;
    if (st->phase == SKILL_REPLAY_GUARD) {
        int rc = st->op.rc;
        vx_store_op_release(&st->op);
        if (rc == VX_EEXISTS) {
            reject(out, VX_VR_REPLAY, "", st->req.request_id);
            return 0;
        }
        if (rc != 0) {
            apologise(&st->req, out, st->op.err.msg);
            return 0;
        }
        return dialog_start(s, st, out, op);
    }
    return dialog_step(s, st, out, op);
}

void skill_turn_release(struct skill_turn *st)
{
    vx_fsm_turn_free(st->turn);
    st->turn = NULL;
    vx_store_op_release(&st->op);
    if (st->parsed)
        vx_request_release(&st->req);
    st->parsed = 0;
}

void skill_handle(struct server *s, const struct server_headers *h, const char *body, size_t len,
                  struct server_reply *out)
{
    struct skill_turn st;
    struct vx_store_op *op;
    int more = skill_start(s, h, body, len, &st, out, &op);
    while (more) {
        vx_store_op_run(op);
        more = skill_continue(s, &st, out, &op);
    }
    skill_turn_release(&st);
}
