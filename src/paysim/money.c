/*
 * Amounts as the provider puts them on the wire: decimal strings ("12.50") that
 * the sandbox turns into int64 minor units digit by digit, never through a
 * double, so "0.1" + "0.2" is exactly 30 cents and a malformed amount is refused
 * with a message naming the field. Also the limits that depend on the currency.
 */
#include <json-c/json.h>
#include <string.h>

#include "paysim.h"
#include "voxcart/json.h"

struct currency {
    const char *code;
    int exponent;
    int64_t monthly_major; /* monthly limit of a recurring permission, major units */
};

/* payments.md s.2: 1000 in USD, EUR, GBP, CHF, AUD, NZD; 10,000 in DKK, NOK, SEK, HKD, ZAR;
 * 100,000 JPY. */
static const struct currency currencies[] = {
    {"USD", 2, 1000},  {"EUR", 2, 1000},  {"GBP", 2, 1000},  {"CHF", 2, 1000},
    {"AUD", 2, 1000},  {"NZD", 2, 1000},  {"DKK", 2, 10000}, {"NOK", 2, 10000},
    {"SEK", 2, 10000}, {"HKD", 2, 10000}, {"ZAR", 2, 10000}, {"JPY", 0, 100000},
};

static const struct currency *currency_find(const char *cur)
{
    for (size_t i = 0; cur && i < VX_ARRAY_LEN(currencies); i++)
        if (strcmp(currencies[i].code, cur) == 0)
            return &currencies[i];
    return NULL;
}

static int64_t pow10i(int n)
{
    int64_t v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

int ps_currency_exponent(const char *cur)
{
    const struct currency *c = currency_find(cur);
    return c ? c->exponent : -1;
}

int64_t ps_monthly_limit(const char *cur)
{
    const struct currency *c = currency_find(cur);
    return c ? c->monthly_major * pow10i(c->exponent) : 0;
}

int64_t ps_charge_max(const char *cur)
{
    const struct currency *c = currency_find(cur);
    return c ? 150000 * pow10i(c->exponent) : 0;
}

int ps_amount_parse(const char *s, const char *cur, int64_t *minor, struct vx_err *e)
{
    int exp = ps_currency_exponent(cur);
    int64_t whole = 0, frac = 0;
    int nwhole = 0, nfrac = 0;
    const char *p = s;

    if (exp < 0)
        return vx_err_set(e, VX_EPARSE, "unsupported currency '%s'", cur ? cur : "");
    if (!s || !*s)
        return vx_err_set(e, VX_EPARSE, "empty amount");
    for (; *p >= '0' && *p <= '9'; p++, nwhole++) {
        if (nwhole >= 12)
            return vx_err_set(e, VX_ERANGE, "amount '%s' is too large", s);
        whole = whole * 10 + (*p - '0');
    }
    if (nwhole == 0)
        return vx_err_set(e, VX_EPARSE, "amount '%s' is not a decimal number", s);
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
            if (nfrac >= exp)
                return vx_err_set(e, VX_EPARSE,
                                  "amount '%s' has more than %d decimal places for %s", s, exp,
                                  cur);
            frac = frac * 10 + (*p - '0');
        }
        if (nfrac == 0)
            return vx_err_set(e, VX_EPARSE, "amount '%s' ends with '.'", s);
    }
    if (*p)
        return vx_err_set(e, VX_EPARSE, "amount '%s' is not a decimal number", s);
    *minor = whole * pow10i(exp) + frac * pow10i(exp - nfrac);
    return 0;
}

int ps_money_from_json(struct json_object *o, const char *field, struct ps_money *m,
                       struct vx_err *e)
{
    struct json_object *a = vx_json_get(o, "amount"), *c = vx_json_get(o, "currencyCode");
    int rc;

    if (!o || !json_object_is_type(o, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s must be an object with amount and currencyCode", field);
    if (!a || !c)
        return vx_err_set(e, VX_ENOTFOUND, "%s.%s is missing", field,
                          a ? "currencyCode" : "amount");
    if (!json_object_is_type(c, json_type_string) ||
        ps_currency_exponent(json_object_get_string(c)) < 0)
        return vx_err_set(e, VX_EPARSE, "%s.currencyCode '%s' is not a supported currency", field,
                          json_object_get_string(c));
    if (!json_object_is_type(a, json_type_string))
        return vx_err_set(e, VX_EPARSE, "%s.amount must be a string such as \"12.50\"", field);
    vx_strlcpy(m->cur, json_object_get_string(c), sizeof(m->cur));
    rc = ps_amount_parse(json_object_get_string(a), m->cur, &m->minor, e);
    if (rc) {
        struct vx_err inner = *e;
        return vx_err_set(e, rc, "%s.amount: %s", field, inner.msg);
    }
    return 0;
}

void ps_amount_format(int64_t minor, const char *cur, char out[32])
{
    int exp = ps_currency_exponent(cur);
    int64_t scale = pow10i(exp < 0 ? 0 : exp);
    const char *sign = minor < 0 ? "-" : "";
    int64_t v = minor < 0 ? -minor : minor;

    if (exp <= 0)
        vx_snprintf(out, 32, "%s%lld", sign, (long long)v);
    else
        vx_snprintf(out, 32, "%s%lld.%0*lld", sign, (long long)(v / scale), exp,
                    (long long)(v % scale));
}

struct json_object *ps_money_json(const struct ps_money *m)
{
    struct json_object *o = json_object_new_object();
    char buf[32];

    ps_amount_format(m->minor, m->cur, buf);
    json_object_object_add(o, "amount", json_object_new_string(buf));
    json_object_object_add(o, "currencyCode", json_object_new_string(m->cur));
    return o;
}
