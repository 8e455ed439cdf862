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
#include "voxcart/pay.h"
#include "dialog.h"
#include "voxcart/log.h"
#include "voxcart/paylink.h"
#include "voxcart/provider.h"
#include "voxcart/response.h"
#include "voxcart/store.h"
#include "voxcart/verify.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
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
    if (s->cfg.provider_url[0]) {
        struct vx_provider_config pc;
        rc = vx_provider_config_from(&s->cfg, &pc, e);
        if (rc == 0)
            rc = vx_provider_new(&pc, &s->provider, e);
        if (rc) {
            skill_release(s);
            return rc;
        }
        if (s->cfg.provider_notify_key[0]) {
            FILE *f = fopen(s->cfg.provider_notify_key, "r");
            s->notify_key = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
            if (f)
                fclose(f);
            if (!s->notify_key) {
                rc = vx_err_set(e, VX_ECONFIG,
                                "provider.notify_key: '%s' is not a readable PEM "
                                "public key",
                                s->cfg.provider_notify_key);
                skill_release(s);
                return rc;
            }
        }
        if (rc == 0 && s->cfg.provider_live_url[0]) {
            struct vx_provider_config lc;
            rc = vx_provider_config_live(&s->cfg, &lc, e);
            if (rc == 0)
                rc = vx_provider_new(&lc, &s->live, e);
            if (rc) {
                skill_release(s);
                return rc;
            }
        }
        if (strcmp(s->cfg.payments, "provider") == 0)
            vx_info("pay", "customers pay through the provider at %s (production shops: %s)",
                    s->cfg.provider_url,
                    s->cfg.provider_live_url[0] ? s->cfg.provider_live_url : "not charged");
        else
            vx_info("pay", "payments are off: orders are recorded CONFIRMED, nobody is charged");
    }
    if (s->cfg.public_url[0]) {
        /* the pay-link page's key: the links the dialog makes and the page checks */
        rc = vx_paylink_secret_load(s->cfg.paypage_secret, &s->paypage_key, &s->paypage_key_len, e);
        if (rc) {
            skill_release(s);
            return rc;
        }
        vx_info("pay", "pay links open %s/pay/... first (the voice code is set there)",
                s->cfg.public_url);
    }
    {
        /* the dialog: a bad catalog or messages file stops start-up, naming the field */
        struct vx_fsm_config fc = {&vx_coffee_skill,
                                   s->cfg.models_dir,
                                   s->cfg.catalog,
                                   0,
                                   strcmp(s->cfg.payments, "provider") == 0 ? s->provider : NULL,
                                   s->cfg.provider_pay_budget_ms,
                                   strcmp(s->cfg.payments, "provider") == 0 ? s->live : NULL,
                                   s->cfg.demo_id,
                                   strcmp(s->cfg.payments, "provider") == 0};
        rc = vx_fsm_new(&fc, &s->fsm, e);
        if (rc == 0 &&
            vx_fsm_set_pay_page(s->fsm, s->cfg.public_url, s->paypage_key, s->paypage_key_len) != 0)
            rc = vx_err_set(e, VX_ECONFIG, "public_url: longer than 255 characters");
        if (rc) {
            skill_release(s);
            return rc;
        }
    }
    /* the merchant data may hold a newer catalog of the same shop (voice_catalog.c) */
    if (s->cfg.demo_id[0] && vx_merchant_id_ok(vx_fsm_catalog(s->fsm)->merchant_id))
        vx_strlcpy(s->voice_shop, vx_fsm_catalog(s->fsm)->merchant_id, sizeof(s->voice_shop));
    return 0;
}

void skill_release(struct server *s)
{
    vx_fsm_free(s->fsm);
    s->fsm = NULL;
    vx_provider_free(s->provider);
    s->provider = NULL;
    vx_provider_free(s->live);
    s->live = NULL;
    EVP_PKEY_free(s->notify_key);
    s->notify_key = NULL;
    if (s->paypage_key)
        OPENSSL_cleanse(s->paypage_key, s->paypage_key_len);
    free(s->paypage_key);
    s->paypage_key = NULL;
    s->paypage_key_len = 0;
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

/* The signature headers and the certificate URL rules: what needs no key yet. */
static enum vx_verify_reason check_headers(const struct server_headers *h, struct skill_turn *st,
                                           struct vx_err *detail)
{
    char url_buf[2048], sig_buf[1024];
    const char *url = header_value(h, "SignatureCertChainUrl", url_buf, sizeof(url_buf));
    const char *sig = header_value(h, "Signature-256", sig_buf, sizeof(sig_buf));
    enum vx_verify_reason r;

    if (!url || !*url)
        return VX_VR_MISSING_CERT_URL;
    if (!sig || !*sig)
        return VX_VR_MISSING_SIGNATURE;
    r = vx_cert_url_check(url, st->cert_url, sizeof(st->cert_url));
    if (r != VX_VR_OK) {
        vx_err_set(detail, VX_EVERIFY, "'%.200s'", url);
        return r;
    }
    if (vx_strlcpy(st->sig, sig, sizeof(st->sig)) != 0)
        return VX_VR_SIGNATURE_ENCODING;
    return VX_VR_OK;
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

/* Runs the dialog turn until it needs the store or has answered. */
/* What the turn did to a subscription, after its first order's entries: one it made goes into
 * its shop's index, then the change into the merchant's log. */
static enum skill_wait sub_event(struct server *s, struct skill_turn *st, struct vx_store_op **op)
{
    vx_store_op_release(&st->op);
    if (st->vc.sub_id[0] && voice_sub_event(s, &st->vc, &st->op)) {
        st->vc.sub_id[0] = '\0';
        st->phase = SKILL_SUB_EVENT;
        *op = &st->op;
        return SKILL_WAIT_STORE;
    }
    return SKILL_DONE;
}

static enum skill_wait sub_index(struct server *s, struct skill_turn *st, struct vx_store_op **op)
{
    if (st->vc.sub_id[0] && st->vc.sub_event &&
        strcmp(st->vc.sub_event, "subscription.created") == 0 &&
        voice_sub_index(s, &st->vc, &st->req, st->vc.sub_id, st->vc.sub_at, &st->op)) {
        st->phase = SKILL_SUB_INDEX;
        *op = &st->op;
        return SKILL_WAIT_STORE;
    }
    return sub_event(s, st, op);
}

/* What paying the turn's order came to, as the merchant's event; then its subscription. */
static enum skill_wait order_told_step(struct server *s, struct skill_turn *st,
                                       struct vx_store_op **op)
{
    struct vx_pay_outcome oc;
    if (vx_fsm_turn_settled(st->turn, &oc) && order_outcome_op(s, &st->vc.event, &oc, &st->op)) {
        vx_strlcpy(st->vc.order_id, oc.order_id, sizeof(st->vc.order_id));
        st->phase = SKILL_ORDER_TOLD;
        *op = &st->op;
        return SKILL_WAIT_STORE;
    }
    return sub_index(s, st, op);
}

static enum skill_wait dialog_step(struct server *s, struct skill_turn *st,
                                   struct server_reply *out, struct vx_store_op **op)
{
    struct vx_err e;
    int warn = 0, rc;

    vx_err_clear(&e);
    out->body.len = 0;
    rc = vx_fsm_turn_step(st->turn, op, &st->hop, &out->body, &warn, &e);
    if (rc == 1)
        return SKILL_WAIT_STORE;
    if (rc == 2)
        return SKILL_WAIT_HTTP;
    dialog_answer(st, rc, &e, warn, out);
    record_turn(s, &st->req, out);
    if (rc == 0) {
        int64_t created = 0;
        const char *id =
            vx_fsm_turn_sub(st->turn, &st->vc.sub_at, &st->vc.sub_event, &st->vc.sub_fence);
        vx_strlcpy(st->vc.sub_id, id ? id : "", sizeof(st->vc.sub_id));
        id = vx_fsm_turn_order(st->turn, &created);
        if (id && voice_order_index(s, &st->vc, &st->req, id, created, &st->op)) {
            st->phase = SKILL_ORDER_INDEX;
            *op = &st->op;
            return SKILL_WAIT_STORE;
        }
        return order_told_step(s, st, op);
    }
    return SKILL_DONE;
}

static enum skill_wait dialog_start(struct server *s, struct skill_turn *st,
                                    struct server_reply *out, struct vx_store_op **op)
{
    struct vx_err e;
    int rc;

    vx_err_clear(&e);
    if (!st->vc.done && voice_catalog_start(s, &st->vc, &st->op)) {
        st->phase = SKILL_CATALOG;
        *op = &st->op;
        return SKILL_WAIT_STORE;
    }
    st->phase = SKILL_DIALOG;
    rc = vx_fsm_turn_new(s->fsm, &st->req, &st->turn, &e);
    if (rc) {
        dialog_answer(st, rc, &e, 0, out);
        return SKILL_DONE;
    }
    return dialog_step(s, st, out, op);
}

/* The key is known: the signature over the raw bytes, then the envelope and what follows. */
static enum skill_wait verified_key(struct server *s, struct skill_turn *st, EVP_PKEY *key,
                                    struct server_reply *out, struct vx_store_op **op);

static enum skill_wait after_signature(struct server *s, struct skill_turn *st,
                                       struct server_reply *out, struct vx_store_op **op)
{
    struct vx_err detail;
    enum vx_verify_reason r;

    vx_err_clear(&detail);
    if (vx_request_parse(st->body, st->len, &st->req, &detail) != 0) {
        reject(out, VX_VR_BODY_MALFORMED, detail.msg, NULL);
        return SKILL_DONE;
    }
    st->parsed = 1;
    r = check_envelope(s, &st->req, st->now, &detail);
    if (r != VX_VR_OK) {
        reject(out, r, detail.msg, st->req.request_id);
        return SKILL_DONE;
    }
    if (s->cfg.replay_guard) {
        /* a request older than the window is refused by the timestamp check anyway */
        int tolerance = vx_is_skill_event(st->req.type_name) ? VX_TS_TOLERANCE_SKILL_EVENT
                                                             : s->cfg.timestamp_tolerance;
        st->phase = SKILL_REPLAY_GUARD;
        vx_store_op_seen(&st->op, st->req.request_id, 2 * tolerance + 1);
        *op = &st->op;
        return SKILL_WAIT_STORE;
    }
    return dialog_start(s, st, out, op);
}

static enum skill_wait verified_key(struct server *s, struct skill_turn *st, EVP_PKEY *key,
                                    struct server_reply *out, struct vx_store_op **op)
{
    enum vx_verify_reason r = vx_signature_check(key, st->sig, st->body, st->len);
    EVP_PKEY_free(key);
    if (r != VX_VR_OK) {
        reject(out, r, "", NULL);
        return SKILL_DONE;
    }
    return after_signature(s, st, out, op);
}

/* Ends this turn's load with verdict r (key k on OK) and goes on with the request. */
static enum skill_wait settle(struct server *s, struct skill_turn *st, enum vx_verify_reason r,
                              EVP_PKEY *k, int64_t nb, int64_t na, int share, struct vx_err *detail,
                              struct server_reply *out, struct vx_store_op **op)
{
    EVP_PKEY *key = NULL;
    st->loading = 0;
    r = vx_certs_settle(s->certs, st->cert_url, st->now, r, k, nb, na, &key, detail);
    if (r != VX_VR_OK) {
        free(st->pem);
        st->pem = NULL;
        reject(out, r, detail->msg, NULL);
        return SKILL_DONE;
    }
    if (share && st->pem) {
        int ttl = vx_certs_share_ttl(s->certs, st->now, na);
        if (ttl > 0 && vx_store_op_cert_put(&st->op, st->cert_url, st->pem, st->pem_len, ttl)) {
            /* the key waits until the put is answered */
            free(st->pem);
            st->pem = NULL;
            st->key = key;
            st->phase = SKILL_CERT_SHARE;
            *op = &st->op;
            return SKILL_WAIT_STORE;
        }
        vx_store_op_release(&st->op);
    }
    free(st->pem);
    st->pem = NULL;
    return verified_key(s, st, key, out, op);
}

/* A chain from the map or the download: verify, settle, share. */
static enum skill_wait chain_found(struct server *s, struct skill_turn *st, const char *from,
                                   struct server_reply *out, struct vx_store_op **op)
{
    struct vx_err detail;
    EVP_PKEY *k = NULL;
    int64_t nb = 0, na = 0;
    enum vx_verify_reason r;
    vx_err_clear(&detail);
    r = vx_certs_check(s->certs, st->cert_url, st->pem, st->pem_len, st->now, from, &k, &nb, &na,
                       &detail);
    return settle(s, st, r, k, nb, na, 1, &detail, out, op);
}

/* The shared cache had nothing usable: the map file, else the download. */
static enum skill_wait load_source(struct server *s, struct skill_turn *st,
                                   struct server_reply *out, struct vx_store_op **op)
{
    struct vx_err detail;
    vx_err_clear(&detail);
    if (vx_certs_map_read(s->certs, st->cert_url, &st->pem, &st->pem_len, &detail)) {
        if (!st->pem)
            return settle(s, st, VX_VR_CERT_FETCH, NULL, 0, 0, 0, &detail, out, op);
        return chain_found(s, st, "the certificate map", out, op);
    }
    vx_certs_download_op(s->certs, st->cert_url, &st->http);
    st->hop = &st->http;
    st->phase = SKILL_CERT_DOWNLOAD;
    return SKILL_WAIT_HTTP;
}

static enum skill_wait cert_step(struct server *s, struct skill_turn *st, struct server_reply *out,
                                 struct vx_store_op **op)
{
    struct vx_err detail;
    EVP_PKEY *key = NULL, *k = NULL;
    enum vx_verify_reason r;
    int64_t nb = 0, na = 0;

    vx_err_clear(&detail);
    switch (st->phase) {
    case SKILL_CERT:
        switch (vx_certs_begin(s->certs, st->cert_url, st->now, &key, &r, &detail)) {
        case VX_CERT_DONE:
            if (r != VX_VR_OK) {
                reject(out, r, detail.msg, NULL);
                return SKILL_DONE;
            }
            return verified_key(s, st, key, out, op);
        case VX_CERT_WAIT:
            if (st->park_expired) {
                reject(out, VX_VR_CERT_FETCH, "waited too long for the chain's download", NULL);
                return SKILL_DONE;
            }
            return SKILL_WAIT_CERT;
        case VX_CERT_LOAD:
            st->loading = 1;
            st->phase = SKILL_CERT_SHARED;
            vx_store_op_cert_get(&st->op, st->cert_url);
            *op = &st->op;
            return SKILL_WAIT_STORE;
        }
        break;
    case SKILL_CERT_SHARED:
        if (st->op.rc == 0 && st->op.json) {
            r = vx_certs_check(s->certs, st->cert_url, st->op.json, st->op.json_len, st->now,
                               "the shared cache", &k, &nb, &na, &detail);
            vx_store_op_release(&st->op);
            if (r == VX_VR_OK)
                return settle(s, st, r, k, nb, na, 0, &detail, out, op);
            vx_warn("verify", "shared cache chain for '%s' not used: loading it again",
                    st->cert_url);
        } else {
            vx_store_op_release(&st->op);
        }
        return load_source(s, st, out, op);
    case SKILL_CERT_DOWNLOAD: {
        int rc = vx_certs_download_result(s->certs, st->cert_url, &st->http, &st->pem, &st->pem_len,
                                          &detail);
        vx_http_op_release(&st->http);
        if (rc != 0) {
            vx_warn("verify", "%s", detail.msg);
            return settle(s, st, VX_VR_CERT_FETCH, NULL, 0, 0, 0, &detail, out, op);
        }
        return chain_found(s, st, "https", out, op);
    }
    case SKILL_CERT_SHARE:
        if (st->op.rc)
            vx_warn("store", "cannot share certificate chain for '%s': %s", st->cert_url,
                    st->op.err.msg);
        vx_store_op_release(&st->op);
        key = st->key;
        st->key = NULL;
        return verified_key(s, st, key, out, op);
    default:
        break;
    }
    reject(out, VX_VR_CERT_FETCH, "internal: unknown verification step", NULL);
    return SKILL_DONE;
}

enum skill_wait skill_start(struct server *s, const struct server_headers *h, const char *body,
                            size_t len, struct skill_turn *st, struct server_reply *out,
                            struct vx_store_op **op)
{
    struct vx_err detail;
    enum vx_verify_reason r;

    memset(st, 0, sizeof(*st));
    vx_err_clear(&detail);
    *op = NULL;
    st->body = body;
    st->len = len;
    st->now = vx_now();
    if (s->cfg.development)
        return after_signature(s, st, out, op);
    r = check_headers(h, st, &detail);
    if (r != VX_VR_OK) {
        reject(out, r, detail.msg, NULL);
        return SKILL_DONE;
    }
    st->phase = SKILL_CERT;
    return cert_step(s, st, out, op);
}

enum skill_wait skill_continue(struct server *s, struct skill_turn *st, struct server_reply *out,
                               struct vx_store_op **op)
{
    *op = NULL;
    switch (st->phase) {
    case SKILL_REPLAY_GUARD: {
        int rc = st->op.rc;
        if (rc == VX_EEXISTS) {
            vx_store_op_release(&st->op);
            reject(out, VX_VR_REPLAY, "", st->req.request_id);
            return SKILL_DONE;
        }
        if (rc != 0) {
            apologise(&st->req, out, st->op.err.msg);
            vx_store_op_release(&st->op);
            return SKILL_DONE;
        }
        vx_store_op_release(&st->op);
        return dialog_start(s, st, out, op);
    }
    case SKILL_CATALOG:
        if (voice_catalog_continue(s, &st->vc, &st->op)) {
            *op = &st->op;
            return SKILL_WAIT_STORE;
        }
        return dialog_start(s, st, out, op);
    case SKILL_DIALOG:
        return dialog_step(s, st, out, op);
    case SKILL_ORDER_INDEX:
    case SKILL_ORDER_EVENT:
        if (st->op.rc != 0 && !(st->phase == SKILL_ORDER_EVENT && st->op.rc == VX_ECONFLICT))
            vx_warn("merchant", "order %s is not in its shop's %s: %s", st->vc.order_id,
                    st->phase == SKILL_ORDER_INDEX ? "index" : "event log", st->op.err.msg);
        vx_store_op_release(&st->op);
        if (st->phase == SKILL_ORDER_INDEX && voice_order_event(s, &st->vc, &st->op)) {
            st->phase = SKILL_ORDER_EVENT;
            *op = &st->op;
            return SKILL_WAIT_STORE;
        }
        return order_told_step(s, st, op);
    case SKILL_ORDER_TOLD:
        if (st->op.rc != 0 && st->op.rc != VX_ECONFLICT)
            vx_warn("merchant", "what order %s came to is not in the event log: %s",
                    st->vc.order_id, st->op.err.msg);
        vx_store_op_release(&st->op);
        return sub_index(s, st, op);
    case SKILL_SUB_INDEX:
        if (st->op.rc != 0)
            vx_warn("merchant", "subscription %s is not in its shop's index: %s", st->vc.sub_id,
                    st->op.err.msg);
        return sub_event(s, st, op);
    case SKILL_SUB_EVENT:
        if (st->op.rc != 0 && st->op.rc != VX_ECONFLICT)
            vx_warn("merchant", "a subscription's %s is not in the event log: %s", st->vc.sub_event,
                    st->op.err.msg);
        vx_store_op_release(&st->op);
        return SKILL_DONE;
    default:
        return cert_step(s, st, out, op);
    }
}

void skill_turn_release(struct server *s, struct skill_turn *st)
{
    if (st->loading)
        vx_certs_abandon(s->certs, st->cert_url); /* a turn that went away ends its load */
    st->loading = 0;
    EVP_PKEY_free(st->key);
    st->key = NULL;
    free(st->pem);
    st->pem = NULL;
    vx_http_op_release(&st->http);
    vx_fsm_turn_free(st->turn);
    st->turn = NULL;
    voice_catalog_release(&st->vc);
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
    enum skill_wait wait = skill_start(s, h, body, len, &st, out, &op);
    while (wait != SKILL_DONE) {
        if (wait == SKILL_WAIT_STORE)
            vx_store_op_run(op);
        else if (wait == SKILL_WAIT_HTTP)
            vx_http_op_run(st.hop);
        else
            st.park_expired = 1; /* blocking callers do not wait for another's download */
        wait = skill_continue(s, &st, out, &op);
    }
    skill_turn_release(s, &st);
}
