/*
 * The payment provider's merchant API (v2 kind, payments.md s.3 and s.5), as
 * operations in the style of store.h: a vx_provider_op describes one call as a
 * signed vx_http_op; whoever owns the loop sends it (voxcartd's worker on
 * libcurl multi, the CLI and tests blocking with vx_provider_run); the op then
 * reads the answer into a stable outcome and a typed object.
 *
 *     struct vx_provider_op op;
 *     if (vx_provider_op_charge_create(&op, p, key, &req))    1: op.http must be sent
 *         send op.http; when it is done:
 *             while (vx_provider_op_complete(&op)) {
 *                 wait op.retry_after_ms; vx_provider_op_rearm(&op) (fresh date); send op.http
 *             }
 *     op.outcome, op.res (and op.err when it is not a success) are set now
 *     vx_provider_op_release(&op);
 *
 * Idempotency keys are the caller's: it stores the key before the request
 * leaves, and every resend of one op carries the same key and the same body.
 * An UNKNOWN outcome (the answer was lost after the request may have been
 * processed) is settled by a GET of the object, never by charging again.
 */
#ifndef VOXCART_PROVIDER_H
#define VOXCART_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/httpop.h"
#include "voxcart/paysign.h"

struct vx_provider_config {
    /* base URL up to the API version: https://pay-api.amazon.eu/live/v2, .../sandbox/v2, or
     * .../v2 when the key ID itself names the environment (LIVE-..., SANDBOX-...) */
    const char *url;
    const char *key_id;      /* the public key ID registered with the provider */
    const char *private_key; /* PEM file of the RSA private key */
    const char *region;      /* x-amz-pay-region: eu, na, jp (EU, us, ... as the SDKs accept) */
    enum vx_paysign_alg alg; /* VX_PAYSIGN_V2 unless the key is registered for the salt-20 one */
    int connect_timeout_ms;  /* 0 = 2000 */
    int timeout_ms;          /* one attempt, whole transfer; 0 = 8000 */
    int retries;             /* resends after the first attempt; -1 = 3, 0 = none */
    int backoff_ms;          /* first wait, doubled each time; 0 = 1000 (1 s, 2 s, 4 s) */
    int max_wait_ms;         /* a Retry-After longer than this gives up; 0 = 30000 */
    const char *ca_file;     /* extra trust for the provider's TLS (the sandbox's dev CA) */
};

struct vx_provider;

struct vx_config;
/* The provider part of voxcartd's configuration (provider.* fields); its strings stay the
 * config's. VX_ECONFIG when provider.algorithm is unknown. */
int vx_provider_config_from(const struct vx_config *c, struct vx_provider_config *out,
                            struct vx_err *e);
/* The same for the live endpoints production shops charge (provider.live_*). */
int vx_provider_config_live(const struct vx_config *c, struct vx_provider_config *out,
                            struct vx_err *e);

/* Reads the key and checks the configuration; VX_ECONFIG naming the field. */
int vx_provider_new(const struct vx_provider_config *cfg, struct vx_provider **out,
                    struct vx_err *e);
void vx_provider_free(struct vx_provider *p);

/* Test hook: the clock used for x-amz-pay-date (a sandbox whose clock was moved); NULL =
 * vx_now. */
void vx_provider_set_clock(struct vx_provider *p, int64_t (*now)(void *), void *ud);

/* The calls, one row each: name, method, path after the base URL ("%s" is the object ID),
 * whether it carries an idempotency key (every POST does), the object it answers with. */
#define VX_PROVIDER_CALL_MAP(XX)                                                                   \
    XX(PERMISSION_GET, "permission_get", "GET", "/chargePermissions/%s", 0, PERMISSION)            \
    XX(PERMISSION_CLOSE, "permission_close", "DELETE", "/chargePermissions/%s/close", 0,           \
       PERMISSION)                                                                                 \
    XX(SESSION_CREATE, "session_create", "POST", "/checkoutSessions", 1, SESSION)                  \
    XX(SESSION_GET, "session_get", "GET", "/checkoutSessions/%s", 0, SESSION)                      \
    XX(SESSION_COMPLETE, "session_complete", "POST", "/checkoutSessions/%s/complete", 1, SESSION)  \
    XX(CHARGE_CREATE, "charge_create", "POST", "/charges", 1, CHARGE)                              \
    XX(CHARGE_GET, "charge_get", "GET", "/charges/%s", 0, CHARGE)                                  \
    XX(CHARGE_CAPTURE, "charge_capture", "POST", "/charges/%s/capture", 1, CHARGE)                 \
    XX(CHARGE_CANCEL, "charge_cancel", "DELETE", "/charges/%s/cancel", 0, CHARGE)                  \
    XX(REFUND_CREATE, "refund_create", "POST", "/refunds", 1, REFUND)                              \
    XX(REFUND_GET, "refund_get", "GET", "/refunds/%s", 0, REFUND)

enum vx_provider_call {
#define XX(id, name, method, path, idem, object) VX_PROVIDER_##id,
    VX_PROVIDER_CALL_MAP(XX)
#undef XX
};
const char *vx_provider_call_name(enum vx_provider_call c);

/* The stable outcomes callers act on. */
#define VX_PROVIDER_OUTCOME_MAP(XX)                                                                \
    XX(SUCCESS, "success", "done (authorized, captured, refunded, read, closed)")                  \
    XX(PENDING, "pending", "accepted, the result comes later: read the object again")              \
    XX(SOFT_DECLINE, "soft_decline", "declined for now: retry later if still chargeable")          \
    XX(HARD_DECLINE, "hard_decline", "declined: never retry until the buyer fixes the method")     \
    XX(PERIODIC_LIMIT, "periodic_limit", "the monthly limit is reached: wait for next month")      \
    XX(AMOUNT_LIMIT, "amount_limit", "above the per-charge maximum")                               \
    XX(PERMANENT, "permanent", "refused for good (request, state, key or signature)")              \
    XX(RETRYABLE, "retryable", "no answer or a transient error after every retry: try later")      \
    XX(UNKNOWN, "unknown", "the request may have been processed: settle it with a GET")

enum vx_provider_outcome {
#define XX(id, name, help) VX_PROVIDER_##id,
    VX_PROVIDER_OUTCOME_MAP(XX)
#undef XX
};
const char *vx_provider_outcome_name(enum vx_provider_outcome o);

struct vx_money {
    int64_t amount; /* minor units */
    char currency[4];
    int set; /* 0 when the object did not carry it */
};

/* What the provider's answer said; every field empty or zero when absent. */
struct vx_provider_result {
    char id[64]; /* the object's own ID (chargeId, refundId, chargePermissionId,
                    checkoutSessionId) */
    char charge_id[64];
    char charge_permission_id[64];
    char checkout_session_id[64];
    char permission_type[24]; /* OneTime, Recurring, PaymentMethodOnFile */
    char state[32];           /* statusDetails.state */
    char reason_code[64];     /* statusDetails.reasonCode / first reasons[] / error reasonCode */
    char message[256];        /* reasonDescription or the error message */
    char release_env[16];     /* Live or Sandbox */
    char redirect_url[512];   /* webCheckoutDetails.amazonPayRedirectUrl */
    struct vx_money charge_amount, capture_amount, refunded_amount, refund_amount;
    struct vx_money amount_limit, amount_balance; /* a permission's limits */
    int64_t created, expires;                     /* epoch seconds, 0 when absent */
    long status;                                  /* the HTTP status of the last answer */
};

#define VX_PROVIDER_KEY_MAX 32

struct vx_provider_op {
    enum vx_provider_call call;
    struct vx_http_op http; /* what to send now */

    /* the outcome (valid once complete returned 0) */
    enum vx_provider_outcome outcome;
    int rc; /* 0 when the provider answered (any outcome); else why not, with err */
    struct vx_err err;
    struct vx_provider_result res;
    int retry_after_ms; /* when complete returned 1: wait this long, then send again */
    int attempts;       /* sent so far */

    /* private: the request as described, to re-sign on every attempt */
    struct vx_provider *p;
    char path[256];
    char key[VX_PROVIDER_KEY_MAX + 1];
    char simulation[64];
    char *body;
    size_t body_len;
    int maybe_processed; /* an attempt may have reached the provider without an answer */
    int armed;           /* op->http is a request waiting to be sent */
};

/* Idempotency key syntax: 1 to 32 of [A-Za-z0-9_-]. */
int vx_provider_key_valid(const char *key);

/* Amounts on the wire: "19.99", "100" (JPY) from minor units, without floating point. */
int vx_money_format(int64_t minor, const char *currency, char *out, size_t size);
int vx_money_parse(const char *s, const char *currency, int64_t *minor);

/*
 * The calls. Each returns 1 when op->http must be sent, 0 when the op is complete already
 * (a bad argument: outcome PERMANENT, rc VX_EINVAL, err naming it). IDs are checked
 * against [A-Za-z0-9_-] so they cannot change the path. Optional strings may be NULL.
 */
struct vx_provider_charge_req {
    const char *charge_permission_id;
    int64_t amount;
    const char *currency;
    int capture_now;                   /* 1: authorize and capture; 0: authorize only */
    int can_handle_pending;            /* canHandlePendingAuthorization */
    const char *soft_descriptor;       /* only with capture_now; at most 16 characters */
    const char *merchant_reference_id; /* merchantMetadata */
    const char *store_name;
    const char *note_to_buyer;
    const char *custom_information;
};

struct vx_provider_session_req {
    const char *store_id;          /* storeId (the provider's client ID); optional */
    const char *permission_type;   /* OneTime or Recurring */
    const char *frequency_unit;    /* Recurring: Year, Month, Week, Day, Variable */
    int frequency_value;           /* Recurring: e.g. 1 */
    int64_t recurring_amount;      /* Recurring: the amount per cycle (0 = none given) */
    const char *payment_intent;    /* Authorize, AuthorizeWithCapture or Confirm */
    int64_t amount;                /* paymentDetails.chargeAmount (0 with Confirm = none) */
    const char *currency;          /* of both amounts */
    const char *review_return_url; /* webCheckoutDetails.checkoutReviewReturnUrl */
    const char *result_return_url; /* webCheckoutDetails.checkoutResultReturnUrl */
    const char *merchant_reference_id;
    const char *store_name;
    const char *note_to_buyer;
};

int vx_provider_op_permission_get(struct vx_provider_op *op, struct vx_provider *p,
                                  const char *permission_id);
int vx_provider_op_permission_close(struct vx_provider_op *op, struct vx_provider *p,
                                    const char *permission_id, const char *reason,
                                    int cancel_pending);
int vx_provider_op_session_create(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                  const struct vx_provider_session_req *r);
int vx_provider_op_session_get(struct vx_provider_op *op, struct vx_provider *p,
                               const char *session_id);
int vx_provider_op_session_complete(struct vx_provider_op *op, struct vx_provider *p,
                                    const char *key, const char *session_id, int64_t amount,
                                    const char *currency);
int vx_provider_op_charge_create(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                 const struct vx_provider_charge_req *r);
int vx_provider_op_charge_get(struct vx_provider_op *op, struct vx_provider *p,
                              const char *charge_id);
int vx_provider_op_charge_capture(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                  const char *charge_id, int64_t amount, const char *currency,
                                  const char *soft_descriptor);
int vx_provider_op_charge_cancel(struct vx_provider_op *op, struct vx_provider *p,
                                 const char *charge_id, const char *reason);
int vx_provider_op_refund_create(struct vx_provider_op *op, struct vx_provider *p, const char *key,
                                 const char *charge_id, int64_t amount, const char *currency,
                                 const char *soft_descriptor);
int vx_provider_op_refund_get(struct vx_provider_op *op, struct vx_provider *p,
                              const char *refund_id);

/* The sandbox's x-amz-pay-simulation-code header (signed with the others); call after the
 * call function. Returns what vx_provider_op_rearm returns. */
int vx_provider_op_simulate(struct vx_provider_op *op, const char *code);

/*
 * Reads op->http's answer. Returns 1 when op must be sent again (408, 425, 429, 5xx, no
 * answer, and retries left): op->retry_after_ms says how long to wait (the backoff, or the
 * provider's Retry-After when longer) and op->http is re-armed already with the same key and
 * body. Otherwise 0 with op->outcome, op->rc, op->res (and op->err) set. No I/O: it reads
 * op->http's answer (and re-signs for a resend), so tests feed it canned answers.
 */
int vx_provider_op_complete(struct vx_provider_op *op);

/* Rebuilds op->http for the attempt complete asked for, signed with a fresh x-amz-pay-date
 * (call it after the wait). Returns 1 when ready to send, 0 when op is not waiting to be sent
 * again or signing failed (op complete, rc set). */
int vx_provider_op_rearm(struct vx_provider_op *op);

/* Ends an op that complete wanted to send again (the caller has no time left for it): the
 * outcome is then RETRYABLE, or UNKNOWN when an attempt may have been processed. */
void vx_provider_op_give_up(struct vx_provider_op *op);

/* Carries op out on this thread: vx_http_op_run and the retry loop, sleeping between tries. */
void vx_provider_run(struct vx_provider_op *op);

void vx_provider_op_release(struct vx_provider_op *op);

#endif
