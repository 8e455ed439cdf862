/*
 * The platform's payment rail (reference: payments.md section 1): a shop whose
 * rail is "platform" is paid through Connections.SendRequest directives, Setup
 * the first time (which makes a billing agreement) and then Charge with
 * AuthorizeAndCapture, and the platform answers later with a Connections.Response
 * request. Pure: the directives' JSON, their tokens, and what a response means
 * for the order; the dialog engine (payturn.c) records it.
 *
 * The token of a directive is "<attempt key>.<setup|charge>": the attempt key
 * ("<order>-<attempt>", at most 32 characters) is the Charge's
 * authorizationReferenceId, so the platform's idempotency key and the ledger's
 * are one. A response is matched by its token against the order it names: the
 * order must still be CHARGE_PENDING with that key, else it is a duplicate or a
 * late answer and changes nothing.
 */
#ifndef VOXCART_PLATFORM_H
#define VOXCART_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/catalog.h"
#include "voxcart/common.h"
#include "voxcart/dialog.h"
#include "voxcart/envelope.h"
#include "voxcart/ledger.h"

/* The Setup directive for a shop and locale (checkout language from the locale). */
int vx_platform_setup(const struct vx_catalog *cat, const char *locale, const char *key,
                      struct vx_buf *out);
/* The Charge directive: AuthorizeAndCapture of amount on agreement, authorizationReferenceId
 * key; in the sandbox a simulation (the sellerAuthorizationNote) when simulation is set. */
int vx_platform_charge(const struct vx_catalog *cat, const char *agreement, const char *key,
                       const char *order_id, int64_t amount, const char *currency,
                       struct vx_buf *out);

/* The attempt key and the directive name ("setup" or "charge") of a token; VX_EINVAL. */
int vx_platform_token_parse(const char *token, char *key, size_t keysz, char *name, size_t namesz);
/* The order ID of an attempt key "<order>-<attempt>"; VX_EINVAL. */
int vx_platform_key_order(const char *key, char *order, size_t ordersz);

/* What a Connections.Response means. */
enum vx_platform_kind {
    VX_PF_SETUP_OPEN,     /* Setup made an OPEN agreement: charge it now */
    VX_PF_SETUP_NOT_OPEN, /* Setup answered with an agreement that cannot be charged */
    VX_PF_CHARGED,        /* captured (Closed with MaxCapturesProcessed counts) */
    VX_PF_PENDING,        /* the authorization is Pending */
    VX_PF_DECLINED,       /* Declined: soft or hard (reason) */
    VX_PF_ERROR,          /* status 4xx/5xx: see the flags */
};

struct vx_platform_outcome {
    enum vx_platform_kind kind;
    enum vx_order_state to;    /* what the order becomes (CHARGE_PENDING: unchanged) */
    enum vx_pay_kind pay;      /* what the customer hears */
    char reason[64];           /* reasonCode or errorCode */
    char agreement[64];        /* Setup: billingAgreementId */
    char agreement_status[16]; /* Setup: billingAgreementStatus; a decline may suspend it */
    char auth_id[64];          /* Charge: amazonAuthorizationId */
    int64_t captured;          /* Charge: capturedAmount in minor units */
    int platform_speaks;       /* the platform told the customer itself: say nothing more */
    int consent;               /* ask for payments:autopay_consent with a card */
    int integration;           /* our integration is wrong: log it loudly */
};

/* Judges req (a Connections.Response) for an order in currency. VX_EPARSE when it names
 * neither Setup nor Charge or the payload is not what the reference says. */
int vx_platform_judge(const struct vx_request *req, const char *currency,
                      struct vx_platform_outcome *out);

#endif
