/*
 * The platform's payment rail (platform.h): directives, tokens and what a
 * Connections.Response means.
 */
#include "voxcart/platform.h"

#include "voxcart/jscan.h"
#include "voxcart/json.h"
#include "voxcart/provider.h"
#include "voxcart/response.h"

#include <stdio.h>
#include <string.h>

static void str(struct vx_buf *b, const char *s)
{
    vx_buf_appends(b, "\"");
    vx_json_escape(b, s ? s : "", s ? strlen(s) : 0);
    vx_buf_appends(b, "\"");
}

/* checkoutLanguage from the locale: de-DE -> de_DE; the ones the platform knows */
static const char *checkout_language(const char *locale)
{
    static const char *const known[] = {"de_DE", "en_GB", "en_US", "es_ES",
                                        "fr_FR", "it_IT", "ja_JP"};
    static _Thread_local char out[8];
    if (!locale || strlen(locale) != 5)
        return NULL;
    memcpy(out, locale, 5);
    out[2] = '_';
    out[5] = '\0';
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(out, known[i]) == 0)
            return out;
    return NULL;
}

static void directive_head(struct vx_buf *b, const char *name, const char *key, const char *tok)
{
    vx_buf_appendf(b, "{\"type\":\"Connections.SendRequest\",\"name\":\"%s\",\"token\":", name);
    {
        char t[80];
        snprintf(t, sizeof(t), "%s.%s", key, tok);
        str(b, t);
    }
    vx_buf_appends(b, ",\"payload\":{");
}

int vx_platform_setup(const struct vx_catalog *cat, const char *locale, const char *key,
                      struct vx_buf *out)
{
    const char *lang = checkout_language(locale);
    directive_head(out, "Setup", key, "setup");
    vx_buf_appends(out, "\"@type\":\"SetupAmazonPayRequest\",\"@version\":\"2\",\"sellerId\":");
    str(out, cat->seller_id);
    vx_buf_appends(out, ",\"countryOfEstablishment\":");
    str(out, cat->country);
    vx_buf_appendf(out, ",\"ledgerCurrency\":\"%s\"", cat->currency);
    if (lang) {
        vx_buf_appends(out, ",\"checkoutLanguage\":");
        str(out, lang);
    }
    vx_buf_appendf(out, ",\"needAmazonShippingAddress\":false,\"sandboxMode\":%s",
                   cat->production ? "false" : "true");
    if (!cat->production && cat->sandbox_email) {
        vx_buf_appends(out, ",\"sandboxCustomerEmailId\":");
        str(out, cat->sandbox_email);
    }
    vx_buf_appends(out, ",\"billingAgreementAttributes\":{\"@type\":\"BillingAgreementAttributes\","
                        "\"@version\":\"2\",\"billingAgreementType\":"
                        "\"CustomerInitiatedTransaction\",\"sellerBillingAgreementAttributes\":{"
                        "\"@type\":\"SellerBillingAgreementAttributes\",\"@version\":\"2\","
                        "\"storeName\":");
    str(out, vx_catalog_merchant_name(cat, "en"));
    vx_buf_appends(out, "}}}}");
    return out->data ? 0 : VX_ENOMEM;
}

int vx_platform_charge(const struct vx_catalog *cat, const char *agreement, const char *key,
                       const char *order_id, int64_t amount, const char *currency,
                       struct vx_buf *out)
{
    char amt[40];
    if (vx_money_format(amount, currency, amt, sizeof(amt)) != 0)
        return VX_EINVAL;
    directive_head(out, "Charge", key, "charge");
    vx_buf_appends(out, "\"@type\":\"ChargeAmazonPayRequest\",\"@version\":\"2\",\"sellerId\":");
    str(out, cat->seller_id);
    vx_buf_appends(out, ",\"billingAgreementId\":");
    str(out, agreement);
    vx_buf_appends(out, ",\"paymentAction\":\"AuthorizeAndCapture\",\"authorizeAttributes\":{"
                        "\"@type\":\"AuthorizeAttributes\",\"@version\":\"2\","
                        "\"authorizationReferenceId\":");
    str(out, key);
    vx_buf_appendf(out,
                   ",\"authorizationAmount\":{\"@type\":\"Price\",\"@version\":\"2\",\"amount\":"
                   "\"%s\",\"currencyCode\":\"%s\"},\"transactionTimeout\":0",
                   amt, currency);
    if (!cat->production && cat->simulation) {
        char note[200];
        snprintf(note, sizeof(note),
                 "{\"SandboxSimulation\":{\"State\":\"Declined\",\"ReasonCode\":\"%s\"}}",
                 cat->simulation);
        vx_buf_appends(out, ",\"sellerAuthorizationNote\":");
        str(out, note);
    }
    vx_buf_appends(out, "},\"sellerOrderAttributes\":{\"@type\":\"SellerOrderAttributes\","
                        "\"@version\":\"2\",\"sellerOrderId\":");
    str(out, order_id);
    vx_buf_appends(out, ",\"storeName\":");
    str(out, vx_catalog_merchant_name(cat, "en"));
    vx_buf_appends(out, "}}}");
    return out->data ? 0 : VX_ENOMEM;
}

int vx_platform_token_parse(const char *token, char *key, size_t keysz, char *name, size_t namesz)
{
    const char *dot = token ? strrchr(token, '.') : NULL;
    size_t n;
    if (!dot)
        return VX_EINVAL;
    n = (size_t)(dot - token);
    if (n == 0 || n >= keysz)
        return VX_EINVAL;
    memcpy(key, token, n);
    key[n] = '\0';
    if (!vx_provider_key_valid(key) ||
        (strcmp(dot + 1, "setup") != 0 && strcmp(dot + 1, "charge") != 0)) {
        key[0] = '\0';
        return VX_EINVAL;
    }
    return vx_strlcpy(name, dot + 1, namesz) ? VX_EINVAL : 0;
}

int vx_platform_key_order(const char *key, char *order, size_t ordersz)
{
    const char *dash = strrchr(key, '-');
    size_t n;
    if (!dash || dash == key || !dash[1])
        return VX_EINVAL;
    for (const char *p = dash + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return VX_EINVAL;
    n = (size_t)(dash - key);
    if (n >= ordersz)
        return VX_EINVAL;
    memcpy(order, key, n);
    order[n] = '\0';
    return 0;
}

static const char *jstr(const struct vx_jdoc *d, const struct vx_jnode *o, const char *k)
{
    return o ? vx_jget_str(d, o, k) : NULL;
}

static int one_of(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static void copy(char *dst, size_t n, const char *s)
{
    vx_strlcpy(dst, s ? s : "", n);
}

int vx_platform_judge(const struct vx_request *req, const char *currency,
                      struct vx_platform_outcome *out)
{
    static const char *const spoken[] = {"UnsupportedClientPlatform", "InvalidShippingAddress",
                                         "InvalidAccountStatus",      "RequestThrottled",
                                         "InvalidPaymentMethod",      NULL};
    static const char *const consent[] = {"ACCESS_DENIED",
                                          "ACCESS_NOT_REQUESTED",
                                          "FORBIDDEN",
                                          "VoicePurchaseNotEnabled",
                                          "MissingPermissionsToAccessResource",
                                          NULL};
    static const char *const integration[] = {
        "BuyerEqualsSeller",           "InvalidParameterValue",
        "InvalidSandboxCustomerEmail", "InvalidSellerId",
        "UnauthorizedAccess",          "UnsupportedCountryOfEstablishment",
        "UnsupportedCurrency",         NULL};
    const struct vx_jdoc *d = &req->doc;
    const struct vx_jnode *p = req->conn_payload;
    int setup;

    memset(out, 0, sizeof(*out));
    out->to = VX_OS_CHARGE_PENDING;
    if (!req->conn_name || !req->conn_status_code)
        return VX_EPARSE;
    setup = strcmp(req->conn_name, "Setup") == 0;
    if (!setup && strcmp(req->conn_name, "Charge") != 0)
        return VX_EPARSE;
    if (strcmp(req->conn_status_code, "200") != 0) {
        const char *code = jstr(d, p, "errorCode");
        copy(out->reason, sizeof(out->reason),
             code                       ? code
             : req->conn_status_message ? req->conn_status_message
                                        : "");
        out->kind = VX_PF_ERROR;
        out->to = VX_OS_FAILED;
        out->pay = VX_PAY_FAILED;
        out->platform_speaks = one_of(out->reason, spoken);
        out->consent = one_of(out->reason, consent);
        out->integration = one_of(out->reason, integration);
        if (strcmp(out->reason, "PeriodicAmountExceeded") == 0) {
            out->to = VX_OS_DECLINED;
            out->pay = VX_PAY_LIMIT;
        } else if (strcmp(out->reason, "InvalidBillingAgreementStatus") == 0 ||
                   strcmp(out->reason, "InvalidBillingAgreementId") == 0) {
            /* the agreement cannot be charged: a Setup is needed the next time */
            copy(out->agreement_status, sizeof(out->agreement_status), "SUSPENDED");
            out->to = VX_OS_DECLINED;
            out->pay = VX_PAY_HARD_DECLINE;
        }
        return 0;
    }
    if (setup) {
        const struct vx_jnode *ba = p ? vx_jget(d, p, "billingAgreementDetails") : NULL;
        const char *id = jstr(d, ba, "billingAgreementId"),
                   *st = jstr(d, ba, "billingAgreementStatus");
        if (!id || !st)
            return VX_EPARSE;
        copy(out->agreement, sizeof(out->agreement), id);
        copy(out->agreement_status, sizeof(out->agreement_status), st);
        if (strcmp(st, "OPEN") == 0) {
            out->kind = VX_PF_SETUP_OPEN;
            return 0;
        }
        out->kind = VX_PF_SETUP_NOT_OPEN;
        out->to = VX_OS_DECLINED;
        out->pay = VX_PAY_HARD_DECLINE;
        copy(out->reason, sizeof(out->reason), st);
        return 0;
    }
    {
        const struct vx_jnode *ad = p ? vx_jget(d, p, "authorizationDetails") : NULL,
                              *status = ad ? vx_jget(d, ad, "authorizationStatus") : NULL,
                              *cap = ad ? vx_jget(d, ad, "capturedAmount") : NULL;
        const char *state = jstr(d, status, "state"), *reason = jstr(d, status, "reasonCode"),
                   *id = jstr(d, ad, "amazonAuthorizationId"), *amt = jstr(d, cap, "amount");
        const struct vx_jnode *soft = ad ? vx_jget(d, ad, "softDecline") : NULL;
        if (!state)
            return VX_EPARSE;
        copy(out->auth_id, sizeof(out->auth_id), id);
        copy(out->reason, sizeof(out->reason), reason);
        if (strcmp(state, "Declined") == 0) {
            int is_soft =
                soft &&
                (soft->type == VX_JTRUE ||
                 (soft->type == VX_JSTRING && strcmp(jstr(d, ad, "softDecline"), "true") == 0));
            out->kind = VX_PF_DECLINED;
            out->to = VX_OS_DECLINED;
            if (reason && strcmp(reason, "InvalidPaymentMethod") == 0) {
                /* the agreement is SUSPENDED until the customer fixes the payment method */
                copy(out->agreement_status, sizeof(out->agreement_status), "SUSPENDED");
                out->pay = is_soft ? VX_PAY_SOFT_DECLINE : VX_PAY_HARD_DECLINE;
            } else if (reason && strcmp(reason, "AmazonRejected") == 0) {
                out->pay = VX_PAY_HARD_DECLINE;
            } else {
                out->pay = VX_PAY_SOFT_DECLINE; /* ProcessingFailure, TransactionTimedOut */
            }
            return 0;
        }
        if (strcmp(state, "Pending") == 0) {
            out->kind = VX_PF_PENDING;
            out->pay = VX_PAY_PENDING;
            return 0;
        }
        if (strcmp(state, "Open") == 0 || strcmp(state, "Closed") == 0) {
            int64_t minor = 0;
            if (strcmp(state, "Closed") == 0 && reason &&
                strcmp(reason, "MaxCapturesProcessed") != 0) {
                out->kind = VX_PF_DECLINED; /* closed without capturing (AmazonClosed, ...) */
                out->to = VX_OS_DECLINED;
                out->pay = VX_PAY_HARD_DECLINE;
                return 0;
            }
            if (amt && vx_money_parse(amt, currency, &minor) == 0)
                out->captured = minor;
            out->kind = VX_PF_CHARGED;
            out->to = VX_OS_PAID;
            out->pay = VX_PAY_PAID;
            return 0;
        }
        return VX_EPARSE;
    }
}
