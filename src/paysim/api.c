/*
 * The provider's v2 operations: charge permissions (get, close), charges
 * (create, get, capture, cancel), refunds (create, get) and checkout sessions
 * (create, get, complete), with the provider's shapes, HTTP statuses and reason
 * codes (payments.md sections 3 and 5). The pipeline in http.c has already
 * checked the signature, the throttle and the idempotency key when a handler
 * runs, and holds ps_lock; a handler validates its body, changes the ledger and
 * sets the answer.
 *
 * Outcomes: a charge's result comes from the simulation code of the request if
 * there is one, else from the permission's test payment instrument. A declined
 * charge stays in the ledger as Declined (so tests can count attempts) and is
 * answered 422 with the decline's reason code; HardDeclined also makes the
 * permission NonChargeable (PaymentMethodInvalid) until the set-up interface
 * fixes it. Limit errors are answered 400 and create nothing.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "paysim.h"
#include "voxcart/json.h"

static const char *const decline_codes[] = {"SoftDeclined",      "HardDeclined",
                                            "AmazonRejected",    "TransactionTimedOut",
                                            "ProcessingFailure", "MFAFailed"};

static int is_decline(const char *code)
{
    for (size_t i = 0; code && i < VX_ARRAY_LEN(decline_codes); i++)
        if (strcmp(code, decline_codes[i]) == 0)
            return 1;
    return 0;
}

/* Refuses a body member the operation does not know, as the provider does. */
static int only_fields(struct ps_req *r, const char *const *allowed, size_t n)
{
    if (!r->json)
        return 0;
    json_object_object_foreach(r->json, key, val)
    {
        size_t i;
        (void)val;
        for (i = 0; i < n && strcmp(allowed[i], key) != 0; i++) {
        }
        if (i == n) {
            ps_fail(r, 400, "UnrecognizedField", "the field '%s' is not recognized", key);
            return -1;
        }
    }
    return 0;
}

static int money_field(struct ps_req *r, struct json_object *parent, const char *field,
                       const char *path, struct ps_money *m)
{
    struct json_object *o = vx_json_get(parent, field);
    struct vx_err e = {0};

    if (!o) {
        ps_fail(r, 400, "MissingParameterValue", "%s is missing", path);
        return -1;
    }
    if (ps_money_from_json(o, path, m, &e) != 0) {
        ps_fail(r, 400, e.code == VX_ENOTFOUND ? "MissingParameterValue" : "InvalidParameterValue",
                "%s", e.msg);
        return -1;
    }
    return 0;
}

static int bool_field(struct ps_req *r, const char *field, int *out)
{
    struct json_object *o = vx_json_get(r->json, field);

    *out = 0;
    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_boolean)) {
        ps_fail(r, 400, "InvalidParameterValue", "%s must be true or false", field);
        return -1;
    }
    *out = json_object_get_boolean(o);
    return 0;
}

static int str_field(struct ps_req *r, struct json_object *o, const char *field, size_t max,
                     int required, const char **out)
{
    int rc = ps_json_str(o, field, out);

    if (rc == VX_ENOTFOUND && !required)
        return 0;
    if (rc == VX_ENOTFOUND) {
        ps_fail(r, 400, "MissingParameterValue", "%s is missing", field);
        return -1;
    }
    if (rc != 0 || (max && strlen(*out) > max) || !**out) {
        ps_fail(r, 400, "InvalidParameterValue", "%s must be a string of 1 to %zu characters",
                field, max ? max : (size_t)1024);
        return -1;
    }
    return 0;
}

/* merchantMetadata: kept as given (its members are strings of bounded length). */
static int metadata_field(struct ps_req *r, struct json_object *parent, char **out)
{
    static const struct {
        const char *name;
        size_t max;
    } f[] = {{"merchantReferenceId", 256},
             {"merchantStoreName", 50},
             {"noteToBuyer", 255},
             {"customInformation", 4096}};
    struct json_object *o = vx_json_get(parent, "merchantMetadata");

    *out = NULL;
    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object)) {
        ps_fail(r, 400, "InvalidParameterValue", "merchantMetadata must be an object");
        return -1;
    }
    json_object_object_foreach(o, key, val)
    {
        size_t i;
        for (i = 0; i < VX_ARRAY_LEN(f) && strcmp(f[i].name, key) != 0; i++) {
        }
        if (i == VX_ARRAY_LEN(f)) {
            ps_fail(r, 400, "UnrecognizedField",
                    "the field 'merchantMetadata.%s' is not recognized", key);
            return -1;
        }
        if (val && (!json_object_is_type(val, json_type_string) ||
                    strlen(json_object_get_string(val)) > f[i].max)) {
            ps_fail(r, 400, "InvalidParameterValue",
                    "merchantMetadata.%s must be a string of at most %zu characters", key,
                    f[i].max);
            return -1;
        }
    }
    *out = ps_json_text(o);
    return 0;
}

static struct ps_perm *own_perm(struct ps_req *r, const char *id)
{
    struct ps_perm *p = ps_perm_find(id);

    if (!p || strcmp(p->merchant, r->merchant->id) != 0 || p->env != r->env) {
        ps_fail(r, 404, "ResourceNotFound", "charge permission '%s' does not exist", id);
        return NULL;
    }
    return p;
}

static struct ps_charge *own_charge(struct ps_req *r, const char *id)
{
    struct ps_charge *c = ps_charge_find(id);

    if (!c || strcmp(c->merchant, r->merchant->id) != 0 || c->env != r->env) {
        ps_fail(r, 404, "ResourceNotFound", "charge '%s' does not exist", id);
        return NULL;
    }
    return c;
}

/* ---- charges ---- */

struct charge_req {
    struct ps_money amount;
    int capture_now;
    int can_pending;
    const char *soft;
    char *metadata; /* taken by the charge */
};

static int sim_code_check(struct ps_req *r, const char *const *extra, size_t n)
{
    if (!r->sim_code || is_decline(r->sim_code))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->sim_code, extra[i]) == 0)
            return 0;
    ps_fail(r, 400, "InvalidSandboxSimulationSpecified",
            "x-amz-pay-simulation-code '%.40s' is not a simulation of this operation", r->sim_code);
    return -1;
}

/* The limit checks of Create Charge; 0, or the reply is set. */
static int charge_limits(struct ps_req *r, struct ps_perm *p, const struct ps_money *amt)
{
    const char *perm_cur = p->rec_amount.minor >= 0 ? p->rec_amount.cur : p->limit.cur;
    char a[32], b[32];

    if (amt->minor <= 0) {
        ps_fail(r, 400, "InvalidParameterValue", "chargeAmount.amount must be greater than zero");
        return -1;
    }
    if (strcmp(p->state, "Chargeable") != 0) {
        ps_fail(r, 422, "InvalidChargePermissionStatus",
                "charge permission '%s' is %s%s%s and cannot be charged", p->id, p->state,
                p->reason[0] ? " with reason " : "", p->reason);
        return -1;
    }
    if (perm_cur[0] && strcmp(perm_cur, amt->cur) != 0) {
        ps_fail(r, 400, "CurrencyMismatch",
                "chargeAmount.currencyCode %s differs from the permission's %s", amt->cur,
                perm_cur);
        return -1;
    }
    if (amt->minor > ps_charge_max(amt->cur) ||
        (r->sim_code && strcmp(r->sim_code, "TransactionAmountExceeded") == 0)) {
        ps_amount_format(ps_charge_max(amt->cur), amt->cur, a);
        ps_fail(r, 400, "TransactionAmountExceeded", "a charge may be at most %s %s", a, amt->cur);
        return -1;
    }
    if (p->recurring) {
        int64_t used = ps_perm_month_usage(p, amt->cur), limit = ps_monthly_limit(amt->cur);
        if (used + amt->minor > limit ||
            (r->sim_code && strcmp(r->sim_code, "PeriodicAmountExceeded") == 0)) {
            ps_amount_format(limit, amt->cur, a);
            ps_amount_format(limit - used > 0 ? limit - used : 0, amt->cur, b);
            ps_fail(r, 400, "PeriodicAmountExceeded",
                    "the monthly limit of %s %s of this permission leaves %s %s this month", a,
                    amt->cur, b, amt->cur);
            return -1;
        }
    } else if (p->limit.minor >= 0 &&
               ps_perm_month_usage(p, amt->cur) + amt->minor > p->limit.minor) {
        ps_amount_format(p->limit.minor - ps_perm_month_usage(p, amt->cur), amt->cur, b);
        ps_fail(r, 400, "TransactionAmountExceeded",
                "this one-time permission has %s %s left to charge", b, amt->cur);
        return -1;
    }
    return 0;
}

/* Creates the charge and sets the answer (201, or 422 for a decline). NULL when refused
 * before anything was created. */
static struct ps_charge *charge_run(struct ps_req *r, struct ps_perm *p, struct charge_req *q)
{
    const struct ps_instrument *in = ps_instrument_find(p->instrument);
    const char *outcome = in ? in->outcome : "Authorized";
    int pending = in ? in->pending : 0;
    struct ps_charge *c;
    size_t count = 0;
    int64_t now = ps_now();

    if (charge_limits(r, p, &q->amount) != 0)
        return NULL;
    /* the payment method's own refusals: no charge is made */
    if (!r->sim_code && strcmp(outcome, "PaymentMethodNotAllowed") == 0) {
        ps_fail(r, 400, outcome, "the buyer's payment method is not allowed for this charge");
        return NULL;
    }
    if (!r->sim_code && strcmp(outcome, "TransactionAmountExceeded") == 0 &&
        q->amount.minor > 100) {
        ps_fail(r, 400, outcome, "the buyer's payment method allows at most 1.00 %s a charge",
                q->amount.cur);
        return NULL;
    }
    if (r->sim_code) {
        outcome = strcmp(r->sim_code, "CaptureInitiated") == 0 ? "Authorized" : r->sim_code;
        pending = 0;
    }
    count = ps_perm_charge_count(p->id);
    if (PS_PUSH(ps.charges, c) != 0) {
        ps_fail(r, 500, "InternalServerError", "out of memory");
        return NULL;
    }
    vx_snprintf(c->id, sizeof(c->id), "%s-C%06zu", p->id, count + 1);
    vx_strlcpy(c->perm, p->id, sizeof(c->perm));
    vx_strlcpy(c->merchant, p->merchant, sizeof(c->merchant));
    c->amount = q->amount;
    c->capture_now = q->capture_now;
    c->can_pending = q->can_pending;
    vx_strlcpy(c->soft_descriptor, q->soft ? q->soft : "", sizeof(c->soft_descriptor));
    c->metadata = q->metadata;
    q->metadata = NULL;
    c->env = p->env;
    c->created = now;
    if (p->recurring)
        p->expires = now + 395 * 86400LL;

    if (pending && !q->can_pending) {
        /* the buyer's bank does not answer in time and the merchant cannot wait */
        outcome = "TransactionTimedOut";
        pending = 0;
    }
    if (pending) {
        c->settle_at = now + ps_cfg.pending_seconds;
        vx_strlcpy(c->settle_to, is_decline(outcome) ? "Declined" : "Authorized",
                   sizeof(c->settle_to));
        vx_strlcpy(c->settle_reason, is_decline(outcome) ? outcome : "", sizeof(c->settle_reason));
        c->expires = now + 30 * 86400LL;
        ps_charge_set_state(c, "AuthorizationInitiated", "");
    } else if (is_decline(outcome)) {
        ps_charge_set_state(c, "Declined", outcome);
        if (strcmp(outcome, "HardDeclined") == 0)
            ps_perm_set_state(p, "NonChargeable", "PaymentMethodInvalid");
        ps_fail(r, 422, outcome, "charge '%s' was declined: %s", c->id, outcome);
        return c;
    } else if (r->sim_code && strcmp(r->sim_code, "CaptureInitiated") == 0) {
        c->settle_at = now + ps_cfg.pending_seconds;
        vx_strlcpy(c->settle_to, "Captured", sizeof(c->settle_to));
        ps_charge_set_state(c, "CaptureInitiated", "");
    } else if (q->capture_now) {
        c->captured = c->amount.minor;
        ps_charge_set_state(c, "Captured", "");
    } else {
        c->expires = now + 30 * 86400LL;
        ps_charge_set_state(c, "Authorized", "");
    }
    ps_reply_json(r, 201, ps_charge_json(c));
    return c;
}

static void create_charge(struct ps_req *r)
{
    static const char *const fields[] = {"chargePermissionId",
                                         "chargeAmount",
                                         "captureNow",
                                         "softDescriptor",
                                         "canHandlePendingAuthorization",
                                         "merchantMetadata",
                                         "providerMetadata",
                                         "platformId"};
    static const char *const sims[] = {"CaptureInitiated", "PeriodicAmountExceeded",
                                       "TransactionAmountExceeded"};
    struct charge_req q = {0};
    const char *perm_id;
    struct ps_perm *p;

    if (!r->json) {
        ps_fail(r, 400, "MissingParameterValue", "the request has no body");
        return;
    }
    if (only_fields(r, fields, VX_ARRAY_LEN(fields)) != 0 ||
        str_field(r, r->json, "chargePermissionId", 64, 1, &perm_id) != 0 ||
        money_field(r, r->json, "chargeAmount", "chargeAmount", &q.amount) != 0 ||
        bool_field(r, "captureNow", &q.capture_now) != 0 ||
        bool_field(r, "canHandlePendingAuthorization", &q.can_pending) != 0 ||
        str_field(r, r->json, "softDescriptor", 16, 0, &q.soft) != 0 ||
        sim_code_check(r, sims, VX_ARRAY_LEN(sims)) != 0)
        return;
    if (q.soft && !q.capture_now) {
        ps_fail(r, 400, "InvalidParameterCombination", "softDescriptor needs captureNow true");
        return;
    }
    if (r->sim_code && strcmp(r->sim_code, "CaptureInitiated") == 0 && !q.capture_now) {
        ps_fail(r, 400, "InvalidSandboxSimulationSpecified",
                "CaptureInitiated simulates a capture and needs captureNow true");
        return;
    }
    if (!(p = own_perm(r, perm_id)) || metadata_field(r, r->json, &q.metadata) != 0)
        return;
    charge_run(r, p, &q);
    free(q.metadata);
}

static void get_charge(struct ps_req *r)
{
    struct ps_charge *c = own_charge(r, r->args[0]);
    if (c)
        ps_reply_json(r, 200, ps_charge_json(c));
}

static void capture_charge(struct ps_req *r)
{
    static const char *const fields[] = {"captureAmount", "softDescriptor"};
    static const char *const sims[] = {"CaptureInitiated"};
    struct ps_charge *c;
    struct ps_money amt;
    const char *soft = NULL;

    if (!(c = own_charge(r, r->args[0])))
        return;
    if (only_fields(r, fields, VX_ARRAY_LEN(fields)) != 0 ||
        money_field(r, r->json, "captureAmount", "captureAmount", &amt) != 0 ||
        str_field(r, r->json, "softDescriptor", 16, 0, &soft) != 0 ||
        sim_code_check(r, sims, VX_ARRAY_LEN(sims)) != 0)
        return;
    if (strcmp(c->state, "Authorized") != 0) {
        ps_fail(r, 422, "InvalidChargeStatus", "charge '%s' is %s; only Authorized can be captured",
                c->id, c->state);
        return;
    }
    if (strcmp(amt.cur, c->amount.cur) != 0) {
        ps_fail(r, 400, "CurrencyMismatch", "captureAmount.currencyCode %s differs from %s",
                amt.cur, c->amount.cur);
        return;
    }
    if (amt.minor <= 0 || amt.minor > c->amount.minor) {
        char a[32];
        ps_amount_format(c->amount.minor, c->amount.cur, a);
        ps_fail(r, 400, "TransactionAmountExceeded",
                "captureAmount must be more than zero and at most the authorized %s %s", a,
                c->amount.cur);
        return;
    }
    if (soft)
        vx_strlcpy(c->soft_descriptor, soft, sizeof(c->soft_descriptor));
    if (r->sim_code && strcmp(r->sim_code, "CaptureInitiated") == 0) {
        c->settle_at = ps_now() + ps_cfg.pending_seconds;
        vx_strlcpy(c->settle_to, "Captured", sizeof(c->settle_to));
        c->amount.minor = amt.minor;
        ps_charge_set_state(c, "CaptureInitiated", "");
    } else if (is_decline(r->sim_code)) {
        ps_charge_set_state(c, "Declined", r->sim_code);
        ps_fail(r, 422, r->sim_code, "the capture of charge '%s' was declined", c->id);
        return;
    } else {
        c->captured = amt.minor;
        ps_charge_set_state(c, "Captured", "");
    }
    ps_reply_json(r, 200, ps_charge_json(c));
}

static void cancel_charge(struct ps_req *r)
{
    static const char *const fields[] = {"cancellationReason"};
    struct ps_charge *c;
    const char *why = NULL;

    if (!(c = own_charge(r, r->args[0])) || only_fields(r, fields, 1) != 0 ||
        str_field(r, r->json, "cancellationReason", 255, 0, &why) != 0)
        return;
    if (strcmp(c->state, "Canceled") == 0) {
        ps_reply_json(r, 200, ps_charge_json(c));
        return;
    }
    if (strcmp(c->state, "Authorized") != 0 && strcmp(c->state, "AuthorizationInitiated") != 0) {
        ps_fail(r, 422, "InvalidChargeStatus",
                "charge '%s' is %s; only an authorization that is not captured can be canceled",
                c->id, c->state);
        return;
    }
    c->settle_at = 0;
    ps_charge_set_state(c, "Canceled", "MerchantCanceled");
    ps_reply_json(r, 200, ps_charge_json(c));
}

/* ---- charge permissions ---- */

static void get_perm(struct ps_req *r)
{
    struct ps_perm *p = own_perm(r, r->args[0]);
    if (p)
        ps_reply_json(r, 200, ps_perm_json(p));
}

static void close_perm(struct ps_req *r)
{
    static const char *const fields[] = {"closureReason", "cancelPendingCharges"};
    struct ps_perm *p;
    const char *why = NULL;
    int cancel = 0;

    if (!(p = own_perm(r, r->args[0])) || only_fields(r, fields, 2) != 0 ||
        str_field(r, r->json, "closureReason", 255, 0, &why) != 0 ||
        bool_field(r, "cancelPendingCharges", &cancel) != 0)
        return;
    if (strcmp(p->state, "Closed") != 0)
        ps_perm_set_state(p, "Closed", "MerchantClosed");
    for (size_t i = 0; cancel && i < ps.charges.n; i++) {
        struct ps_charge *c = &ps.charges.v[i];
        if (strcmp(c->perm, p->id) == 0 && (strcmp(c->state, "Authorized") == 0 ||
                                            strcmp(c->state, "AuthorizationInitiated") == 0)) {
            c->settle_at = 0;
            ps_charge_set_state(c, "Canceled", "ChargePermissionCanceled");
        }
    }
    ps_reply_json(r, 200, ps_perm_json(p));
}

/* ---- refunds ---- */

static void create_refund(struct ps_req *r)
{
    static const char *const fields[] = {"chargeId", "refundAmount", "softDescriptor"};
    static const char *const sims[] = {"RefundDeclined"};
    const char *charge_id, *soft = NULL;
    struct ps_money amt;
    struct ps_charge *c;
    struct ps_refund *f;
    size_t count = 0;

    if (!r->json) {
        ps_fail(r, 400, "MissingParameterValue", "the request has no body");
        return;
    }
    if (only_fields(r, fields, VX_ARRAY_LEN(fields)) != 0 ||
        str_field(r, r->json, "chargeId", 64, 1, &charge_id) != 0 ||
        money_field(r, r->json, "refundAmount", "refundAmount", &amt) != 0 ||
        str_field(r, r->json, "softDescriptor", 16, 0, &soft) != 0)
        return;
    if (r->sim_code && strcmp(r->sim_code, "RefundDeclined") != 0) {
        ps_fail(r, 400, "InvalidSandboxSimulationSpecified",
                "x-amz-pay-simulation-code '%.40s' is not a simulation of Create Refund",
                r->sim_code);
        return;
    }
    (void)sims;
    if (!(c = own_charge(r, charge_id)))
        return;
    if (strcmp(c->state, "Captured") != 0) {
        ps_fail(r, 422, "InvalidChargeStatus", "charge '%s' is %s; only Captured can be refunded",
                c->id, c->state);
        return;
    }
    if (strcmp(amt.cur, c->amount.cur) != 0) {
        ps_fail(r, 400, "CurrencyMismatch", "refundAmount.currencyCode %s differs from %s", amt.cur,
                c->amount.cur);
        return;
    }
    for (size_t i = 0; i < ps.refunds.n; i++)
        count += strcmp(ps.refunds.v[i].charge, c->id) == 0;
    if (amt.minor <= 0 || c->refunded + amt.minor > c->captured) {
        char a[32];
        ps_amount_format(c->captured - c->refunded, c->amount.cur, a);
        ps_fail(r, 400, "TransactionAmountExceeded",
                "refundAmount must be more than zero and at most the %s %s captured and not yet "
                "refunded",
                a, c->amount.cur);
        return;
    }
    if (count >= 10) {
        ps_fail(r, 400, "TransactionCountExceeded", "charge '%s' has 10 refunds already", c->id);
        return;
    }
    if (PS_PUSH(ps.refunds, f) != 0) {
        ps_fail(r, 500, "InternalServerError", "out of memory");
        return;
    }
    vx_snprintf(f->id, sizeof(f->id), "%s-R%06zu", c->perm, ps.refunds.n);
    vx_strlcpy(f->charge, c->id, sizeof(f->charge));
    vx_strlcpy(f->merchant, c->merchant, sizeof(f->merchant));
    vx_strlcpy(f->soft_descriptor, soft ? soft : "", sizeof(f->soft_descriptor));
    f->amount = amt;
    f->env = c->env;
    f->created = ps_now();
    f->settle_at = f->created + ps_cfg.refund_seconds;
    if (f->settle_at == 0)
        f->settle_at = 1;
    vx_strlcpy(f->settle_to, r->sim_code ? "Declined" : "Refunded", sizeof(f->settle_to));
    vx_strlcpy(f->settle_reason, r->sim_code ? "ProcessingFailure" : "", sizeof(f->settle_reason));
    c->refunded += amt.minor;
    ps_refund_set_state(f, "RefundInitiated", "");
    ps_reply_json(r, 201, ps_refund_json(f));
}

static void get_refund(struct ps_req *r)
{
    struct ps_refund *f = ps_refund_find(r->args[0]);

    if (!f || strcmp(f->merchant, r->merchant->id) != 0 || f->env != r->env) {
        ps_fail(r, 404, "ResourceNotFound", "refund '%s' does not exist", r->args[0]);
        return;
    }
    ps_reply_json(r, 200, ps_refund_json(f));
}

/* ---- checkout sessions ---- */

static int recurring_field(struct ps_req *r, struct ps_session *s)
{
    static const char *const units[] = {"Year", "Month", "Week", "Day", "Variable"};
    struct json_object *rm = vx_json_get(r->json, "recurringMetadata"), *f, *v;
    const char *unit = NULL;
    size_t i;

    s->rec_amount.minor = -1;
    if (!rm)
        return 0;
    f = vx_json_get(rm, "frequency");
    if (f) {
        if (str_field(r, f, "unit", 16, 1, &unit) != 0)
            return -1;
        for (i = 0; i < VX_ARRAY_LEN(units) && strcmp(units[i], unit) != 0; i++) {
        }
        if (i == VX_ARRAY_LEN(units)) {
            ps_fail(r, 400, "InvalidParameterValue",
                    "recurringMetadata.frequency.unit '%s' is not Year, Month, Week, Day or "
                    "Variable",
                    unit);
            return -1;
        }
        vx_strlcpy(s->freq_unit, unit, sizeof(s->freq_unit));
        v = vx_json_get(f, "value");
        if (v &&
            (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)))
            vx_strlcpy(s->freq_value, json_object_get_string(v), sizeof(s->freq_value));
    }
    if (vx_json_get(rm, "amount") &&
        money_field(r, rm, "amount", "recurringMetadata.amount", &s->rec_amount) != 0)
        return -1;
    return 0;
}

static void create_session(struct ps_req *r)
{
    static const char *const fields[] = {"webCheckoutDetails",
                                         "storeId",
                                         "chargePermissionType",
                                         "recurringMetadata",
                                         "paymentDetails",
                                         "merchantMetadata",
                                         "scopes",
                                         "platformId",
                                         "providerMetadata",
                                         "addressDetails",
                                         "deliverySpecifications",
                                         "chargeAmount"};
    struct json_object *w = vx_json_get(r->json, "webCheckoutDetails"),
                       *pd = vx_json_get(r->json, "paymentDetails");
    struct ps_session tmp, *s;
    const char *type = "OneTime", *intent = NULL, *url = NULL;
    char u[40];

    memset(&tmp, 0, sizeof(tmp));
    tmp.amount.minor = -1;
    if (!r->json) {
        ps_fail(r, 400, "MissingParameterValue", "the request has no body");
        return;
    }
    if (only_fields(r, fields, VX_ARRAY_LEN(fields)) != 0 ||
        str_field(r, r->json, "chargePermissionType", 24, 0, &type) != 0)
        return;
    if (!type)
        type = "OneTime";
    if (strcmp(type, "OneTime") != 0 && strcmp(type, "Recurring") != 0) {
        ps_fail(r, 400, "InvalidParameterValue",
                "chargePermissionType '%s' is not OneTime or Recurring", type);
        return;
    }
    vx_strlcpy(tmp.perm_type, type, sizeof(tmp.perm_type));
    if (str_field(r, w, "checkoutReviewReturnUrl", 511, 0, &url) != 0)
        return;
    vx_strlcpy(tmp.review_url, url ? url : "", sizeof(tmp.review_url));
    url = NULL;
    if (str_field(r, w, "checkoutResultReturnUrl", 511, 0, &url) != 0)
        return;
    vx_strlcpy(tmp.result_url, url ? url : "", sizeof(tmp.result_url));
    if (pd && str_field(r, pd, "paymentIntent", 24, 0, &intent) != 0)
        return;
    if (intent && strcmp(intent, "Authorize") != 0 && strcmp(intent, "AuthorizeWithCapture") != 0 &&
        strcmp(intent, "Confirm") != 0) {
        ps_fail(r, 400, "InvalidParameterValue",
                "paymentDetails.paymentIntent '%s' is not Authorize, AuthorizeWithCapture or "
                "Confirm",
                intent);
        return;
    }
    vx_strlcpy(tmp.intent, intent ? intent : "Confirm", sizeof(tmp.intent));
    if (vx_json_get(pd, "chargeAmount") &&
        money_field(r, pd, "chargeAmount", "paymentDetails.chargeAmount", &tmp.amount) != 0)
        return;
    if (strcmp(tmp.intent, "Confirm") != 0 && tmp.amount.minor < 0) {
        ps_fail(r, 400, "MissingParameterValue",
                "paymentDetails.chargeAmount is required with paymentIntent %s", tmp.intent);
        return;
    }
    if (recurring_field(r, &tmp) != 0 || metadata_field(r, r->json, &tmp.metadata) != 0)
        return;
    if (PS_PUSH(ps.sessions, s) != 0) {
        free(tmp.metadata);
        ps_fail(r, 500, "InternalServerError", "out of memory");
        return;
    }
    *s = tmp;
    ps_random_digits(u, 32);
    vx_snprintf(s->id, sizeof(s->id), "%.8s-%.4s-4%.3s-8%.3s-%.12s", u, u + 8, u + 12, u + 15,
                u + 18);
    vx_strlcpy(s->merchant, r->merchant->id, sizeof(s->merchant));
    vx_strlcpy(s->state, "Open", sizeof(s->state));
    s->env = r->env;
    s->created = s->updated = ps_now();
    s->expires = s->created + 86400;
    ps.dirty = 1;
    ps_reply_json(r, 201, ps_session_json(s));
}

static struct ps_session *own_session(struct ps_req *r, const char *id)
{
    struct ps_session *s = ps_session_find(id);

    if (!s || strcmp(s->merchant, r->merchant->id) != 0 || s->env != r->env) {
        ps_fail(r, 404, "ResourceNotFound", "checkout session '%s' does not exist", id);
        return NULL;
    }
    return s;
}

static void get_session(struct ps_req *r)
{
    struct ps_session *s = own_session(r, r->args[0]);
    if (s)
        ps_reply_json(r, 200, ps_session_json(s));
}

static void complete_session(struct ps_req *r)
{
    static const char *const fields[] = {"chargeAmount", "totalOrderAmount"};
    struct ps_session *s;
    struct ps_money amt;
    struct ps_perm *p;

    if (!(s = own_session(r, r->args[0])) || only_fields(r, fields, 2) != 0 ||
        money_field(r, r->json, "chargeAmount", "chargeAmount", &amt) != 0)
        return;
    if (strcmp(s->state, "Completed") == 0) {
        ps_reply_json(r, 200, ps_session_json(s));
        return;
    }
    if (strcmp(s->state, "Canceled") == 0) {
        ps_fail(r, 422, "CheckoutSessionCanceled", "checkout session '%s' was canceled (%s)", s->id,
                s->reason);
        return;
    }
    if (!s->approved) {
        ps_fail(r, 422, "InvalidCheckoutSessionStatus",
                "the buyer has not approved checkout session '%s' yet", s->id);
        return;
    }
    if (s->amount.minor >= 0 &&
        (amt.minor != s->amount.minor || strcmp(amt.cur, s->amount.cur) != 0)) {
        ps_fail(r, 400, "InvalidParameterValue",
                "chargeAmount differs from the amount of checkout session '%s'", s->id);
        return;
    }
    p = ps_perm_find(s->perm);
    if (p && strcmp(s->intent, "Confirm") != 0 && !s->charge[0]) {
        struct charge_req q = {0};
        struct ps_charge *c;
        q.amount = amt;
        q.capture_now = strcmp(s->intent, "AuthorizeWithCapture") == 0;
        if (s->metadata)
            q.metadata = strdup(s->metadata);
        c = charge_run(r, p, &q);
        free(q.metadata);
        if (!c)
            return;
        vx_strlcpy(s->charge, c->id, sizeof(s->charge));
        if (r->status >= 400) {
            vx_strlcpy(s->state, "Canceled", sizeof(s->state));
            vx_strlcpy(s->reason, "Declined", sizeof(s->reason));
            s->updated = ps_now();
            return;
        }
    }
    vx_strlcpy(s->state, "Completed", sizeof(s->state));
    s->reason[0] = '\0';
    s->updated = ps_now();
    ps.dirty = 1;
    ps_reply_json(r, 200, ps_session_json(s));
}

const struct ps_route ps_api_routes[] = {
    {"GET", "chargePermissions/*", "getChargePermission", PS_OP_GET_PERM, 0, get_perm},
    {"DELETE", "chargePermissions/*/close", "closeChargePermission", -1, 0, close_perm},
    {"POST", "charges", "createCharge", PS_OP_CREATE_CHARGE, 1, create_charge},
    {"GET", "charges/*", "getCharge", PS_OP_GET_CHARGE, 0, get_charge},
    {"POST", "charges/*/capture", "captureCharge", -1, 1, capture_charge},
    {"DELETE", "charges/*/cancel", "cancelCharge", -1, 0, cancel_charge},
    {"POST", "refunds", "createRefund", PS_OP_CREATE_REFUND, 1, create_refund},
    {"GET", "refunds/*", "getRefund", -1, 0, get_refund},
    {"POST", "checkoutSessions", "createCheckoutSession", -1, 1, create_session},
    {"GET", "checkoutSessions/*", "getCheckoutSession", -1, 0, get_session},
    {"POST", "checkoutSessions/*/complete", "completeCheckoutSession", -1, 2, complete_session},
};
const size_t ps_api_nroutes = VX_ARRAY_LEN(ps_api_routes);

/* ---- approval (the hosted page and the set-up interface call these) ---- */

int ps_session_approve(struct ps_session *s, const char *buyer, const char *instrument,
                       struct vx_err *e)
{
    struct ps_perm *p;
    struct ps_money limit = s->amount;

    if (strcmp(s->state, "Open") != 0 || s->approved)
        return vx_err_set(e, VX_ECONFLICT, "checkout session '%s' is %s%s", s->id,
                          s->approved ? "already approved" : s->state, "");
    if (!ps_buyer_find(buyer))
        return vx_err_set(e, VX_ENOTFOUND, "no test buyer '%s'", buyer);
    if (!ps_instrument_find(instrument))
        return vx_err_set(e, VX_ENOTFOUND, "no test payment instrument '%s'", instrument);
    p = ps_perm_create(s->merchant, buyer, instrument, strcmp(s->perm_type, "Recurring") == 0,
                       s->freq_unit, s->freq_value, &s->rec_amount,
                       s->amount.minor >= 0 ? &limit : NULL, s->env);
    if (!p)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (!p->recurring && s->amount.minor < 0 && s->rec_amount.minor < 0)
        p->limit.minor = -1;
    vx_strlcpy(s->buyer, buyer, sizeof(s->buyer));
    vx_strlcpy(s->instrument, instrument, sizeof(s->instrument));
    vx_strlcpy(s->perm, p->id, sizeof(s->perm));
    s->approved = 1;
    s->updated = ps_now();
    ps.dirty = 1;
    return 0;
}

void ps_session_decline(struct ps_session *s)
{
    vx_strlcpy(s->state, "Canceled", sizeof(s->state));
    vx_strlcpy(s->reason, "BuyerCanceled", sizeof(s->reason));
    s->updated = ps_now();
    ps.dirty = 1;
}
