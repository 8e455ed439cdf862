/*
 * Paying for an order, pure (pay.h): the attempt's key, what an outcome means,
 * and the writes that record it.
 */
#include "voxcart/pay.h"

#include "voxcart/i18n.h"
#include "voxcart/jscan.h"
#include "voxcart/response.h"

#include <stdio.h>
#include <string.h>

int vx_pay_key(const char *order_id, int attempt, char *out, size_t outsz)
{
    char key[64];
    if (attempt < 1 || attempt > 99 || snprintf(key, sizeof(key), "%s-%d", order_id, attempt) < 0 ||
        strlen(key) > VX_PROVIDER_KEY_MAX || !vx_provider_key_valid(key))
        return VX_EINVAL;
    return vx_snprintf(out, outsz, "%s", key);
}

void vx_pay_charge_req(struct vx_provider_charge_req *r, const char *permission,
                       const char *order_id, int64_t amount, const char *currency,
                       const char *store_name)
{
    memset(r, 0, sizeof(*r));
    r->charge_permission_id = permission;
    r->amount = amount;
    r->currency = currency;
    r->capture_now = 1;
    r->can_handle_pending = 1;
    r->merchant_reference_id = order_id;
    r->store_name = store_name;
}

void vx_pay_judge(enum vx_provider_outcome o, const struct vx_provider_result *r,
                  enum vx_order_state *to, enum vx_pay_kind *kind)
{
    switch (o) {
    case VX_PROVIDER_SUCCESS:
        /* Create Charge with capture now answers Captured; an authorization alone is not paid */
        if (strcmp(r->state, "Captured") == 0) {
            *to = VX_OS_PAID;
            *kind = VX_PAY_PAID;
        } else {
            *to = VX_OS_CHARGE_PENDING;
            *kind = VX_PAY_PENDING;
        }
        return;
    case VX_PROVIDER_PENDING:
    case VX_PROVIDER_RETRYABLE:
    case VX_PROVIDER_UNKNOWN:
        /* the janitor asks again (the same key, or a GET of the charge): never a new charge */
        *to = VX_OS_CHARGE_PENDING;
        *kind = VX_PAY_PENDING;
        return;
    case VX_PROVIDER_SOFT_DECLINE:
        *to = VX_OS_DECLINED;
        *kind = VX_PAY_SOFT_DECLINE;
        return;
    case VX_PROVIDER_HARD_DECLINE:
        *to = VX_OS_DECLINED;
        *kind = VX_PAY_HARD_DECLINE;
        return;
    case VX_PROVIDER_PERIODIC_LIMIT:
    case VX_PROVIDER_AMOUNT_LIMIT:
        *to = VX_OS_DECLINED;
        *kind = VX_PAY_LIMIT;
        return;
    case VX_PROVIDER_PERMANENT:
    default:
        *to = VX_OS_FAILED;
        *kind = VX_PAY_FAILED;
        return;
    }
}

int vx_pay_hard(enum vx_provider_outcome o, int64_t amount, const char *currency)
{
    int digits = vx_currency_digits(currency);
    int64_t max = 150000;
    if (o == VX_PROVIDER_HARD_DECLINE)
        return 1;
    if (o != VX_PROVIDER_AMOUNT_LIMIT || digits < 0)
        return 0;
    while (digits-- > 0)
        max *= 10;
    /* refused below the provider's own maximum: what the payment method allows */
    return amount <= max;
}

static int json_str(struct vx_buf *b, const char *s)
{
    int rc = vx_buf_appends(b, "\"");
    rc |= vx_json_escape(b, s, strlen(s));
    rc |= vx_buf_appends(b, "\"");
    return rc;
}

int vx_pay_profile_reason_json(const char *permission, const char *status, const char *reason,
                               int live, struct vx_buf *out)
{
    int rc = vx_buf_appends(out, "{\"id\":");
    rc |= json_str(out, permission);
    rc |= vx_buf_appends(out, ",\"status\":");
    rc |= json_str(out, status);
    if (reason && *reason) {
        rc |= vx_buf_appends(out, ",\"reason\":");
        rc |= json_str(out, reason);
    }
    rc |= vx_buf_appends(out, live ? ",\"environment\":\"production\"}"
                                   : ",\"environment\":\"sandbox\"}");
    return rc ? VX_ENOMEM : 0;
}

int vx_pay_profile_json(const char *permission, const char *status, int live, struct vx_buf *out)
{
    return vx_pay_profile_reason_json(permission, status, NULL, live, out);
}

/* The saved permission's status after this outcome, into w: NonChargeable with the reason
 * after a hard decline, else what the provider reported in the turn (when it was read). */
static int permission_writes(struct vx_wset *w, const struct vx_pay_settle *s,
                             const char *permission)
{
    const struct vx_provider_result *r = s->res;
    int hard = s->hard && s->to == VX_OS_DECLINED;
    struct vx_buf b;
    int rc;
    if (!permission || !*permission || (!hard && !s->permission_state))
        return 0;
    vx_buf_init(&b);
    rc = hard ? vx_pay_profile_reason_json(permission, "NonChargeable", r ? r->reason_code : NULL,
                                           s->live, &b)
              : vx_pay_profile_json(permission, s->permission_state, s->live, &b);
    if (rc == 0)
        vx_wset_profile_set(w, "billing_agreement", b.data);
    vx_buf_release(&b);
    return rc;
}

/* One member as JSON text into w (a string value when str, else the text as is). */
static int order_member(struct vx_wset *w, const char *id, const char *member, const char *value,
                        int str)
{
    struct vx_buf b;
    int rc = 0;
    vx_buf_init(&b);
    rc = str ? json_str(&b, value) : vx_buf_appends(&b, value);
    if (rc == 0 && b.data)
        vx_wset_order_set(w, id, member, b.data);
    else
        rc = VX_ENOMEM;
    vx_buf_release(&b);
    return rc;
}

int vx_pay_settle_wset(struct vx_wset *w, const struct vx_pay_settle *s, const char *permission)
{
    const struct vx_provider_result *r = s->res;
    const char *to = vx_order_state_name(s->to);
    char num[32];
    struct vx_buf b;
    int rc = 0;

    if (r && r->charge_id[0])
        rc |= order_member(w, s->order_id, "charge_id", r->charge_id, 1);
    if (r && r->reason_code[0])
        rc |= order_member(w, s->order_id, "reason", r->reason_code, 1);
    rc |= permission_writes(w, s, permission);
    if (s->to == VX_OS_CHARGE_PENDING)
        return rc || w->overflow ? VX_ENOMEM : 0; /* nothing decided yet: no state change, no
                                                     ledger entry */
    vx_buf_init(&b);
    vx_wset_order_cas(w, s->order_id, vx_order_state_name(VX_OS_CHARGE_PENDING), to);
    snprintf(num, sizeof(num), "%lld", (long long)s->at_ms);
    rc |= order_member(w, s->order_id, "settled_at", num, 0);
    if (s->to == VX_OS_PAID) {
        int64_t captured = r && r->capture_amount.set ? r->capture_amount.amount : s->amount;
        snprintf(num, sizeof(num), "%lld", (long long)captured);
        rc |= order_member(w, s->order_id, "captured", num, 0);
    }
    rc |= vx_ledger_entry_json(s->at_ms, s->actor, vx_order_state_name(VX_OS_CHARGE_PENDING), to,
                               s->amount, s->currency, s->attempt,
                               r && r->charge_id[0] ? r->charge_id : NULL, &b);
    if (rc == 0 && b.data)
        vx_wset_ledger(w, s->order_id, b.data);
    vx_buf_release(&b);
    return rc || w->overflow ? VX_ENOMEM : 0;
}

void vx_pay_bucket_name(unsigned b, char *out, size_t outsz)
{
    snprintf(out, outsz, "vx:{pay:%u}:pending", b % VX_PAY_BUCKETS);
}

void vx_pay_bucket_key(const char *order_id, char *out, size_t outsz)
{
    unsigned h = 5381;
    for (const char *p = order_id; *p; p++)
        h = h * 33u + (unsigned char)*p;
    vx_pay_bucket_name(h, out, outsz);
}

int vx_pay_bucket_member(const char *skill, const char *user, const char *order_id, char *out,
                         size_t outsz)
{
    if (strchr(skill, '\t') || strchr(user, '\t') || strchr(order_id, '\t'))
        return VX_EINVAL;
    return vx_snprintf(out, outsz, "%s\t%s\t%s", skill, user, order_id);
}

int vx_pay_bucket_parse(const char *member, char *skill, size_t skillsz, char *user, size_t usersz,
                        char *order_id, size_t ordersz)
{
    const char *a = strchr(member, '\t'), *b = a ? strchr(a + 1, '\t') : NULL;
    if (!a || !b || (size_t)(a - member) >= skillsz || (size_t)(b - a - 1) >= usersz ||
        strlen(b + 1) >= ordersz || !b[1])
        return VX_EPARSE;
    memcpy(skill, member, (size_t)(a - member));
    skill[a - member] = '\0';
    memcpy(user, a + 1, (size_t)(b - a - 1));
    user[b - a - 1] = '\0';
    vx_strlcpy(order_id, b + 1, ordersz);
    return 0;
}

int vx_pay_order_parse(const char *json, struct vx_pay_order *o)
{
    struct vx_jdoc d;
    const struct vx_jnode *root;
    int64_t v;
    memset(o, 0, sizeof(*o));
    if (!(root = vx_jdoc_object(&d, json)))
        return VX_EPARSE;
    vx_jget_strcpy(&d, root, "state", o->state, sizeof(o->state));
    vx_jget_strcpy(&d, root, "pay_key", o->pay_key, sizeof(o->pay_key));
    vx_jget_strcpy(&d, root, "charge_id", o->charge_id, sizeof(o->charge_id));
    vx_jget_strcpy(&d, root, "checkout_session_id", o->session_id, sizeof(o->session_id));
    vx_jget_strcpy(&d, root, "currency", o->currency, sizeof(o->currency));
    vx_jget_strcpy(&d, root, "reason", o->reason, sizeof(o->reason));
    if (vx_jint64(vx_jget(&d, root, "total"), &v) == 0)
        o->total = v;
    if (vx_jint64(vx_jget(&d, root, "created"), &v) == 0)
        o->created = v;
    if (vx_jint64(vx_jget(&d, root, "settled_at"), &v) == 0 && v > 0)
        o->settled_at_ms = v;
    o->attempt = vx_jint64(vx_jget(&d, root, "attempt"), &v) == 0 ? (int)v : 1;
    {
        const char *env = vx_jget_str(&d, root, "environment");
        o->live = env && strcmp(env, "production") == 0;
    }
    {
        const struct vx_jnode *lines = vx_jget(&d, root, "lines");
        for (const struct vx_jnode *l = lines && lines->type == VX_JARRAY ? vx_jfirst(&d, lines)
                                                                          : NULL;
             l && o->n < VX_CART_MAX; l = vx_jnext(&d, l)) {
            struct vx_order_line *ol = &o->lines[o->n];
            if (l->type != VX_JOBJECT)
                continue;
            vx_jget_strcpy(&d, l, "product", ol->product, sizeof(ol->product));
            vx_jget_strcpy(&d, l, "size", ol->size, sizeof(ol->size));
            ol->qty = vx_jint64(vx_jget(&d, l, "quantity"), &v) == 0 ? (int)v : 0;
            ol->unit_price = vx_jint64(vx_jget(&d, l, "unit_price"), &v) == 0 ? v : 0;
            ol->amount = vx_jint64(vx_jget(&d, l, "amount"), &v) == 0 ? v : 0;
            o->n++;
        }
    }
    vx_jdoc_free(&d);
    return 0;
}

const char *vx_pay_outcome_event(const char *state, const char **told)
{
    static const struct {
        const char *state, *event, *told;
    } map[] = {
        {"PAID", "order.paid", "PAID"},       {"PARTIALLY_REFUNDED", "order.paid", "PAID"},
        {"REFUNDED", "order.paid", "PAID"},   {"DECLINED", "order.declined", "DECLINED"},
        {"FAILED", "order.failed", "FAILED"}, {"CANCELED", "order.canceled", "CANCELED"},
    };
    for (size_t i = 0; state && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(state, map[i].state) == 0) {
            if (told)
                *told = map[i].told;
            return map[i].event;
        }
    return NULL;
}

void vx_pay_agreement_id(const char *profile_json, char *id, size_t idsz)
{
    struct vx_jdoc d;
    id[0] = '\0';
    if (!profile_json || vx_jdoc_parse(&d, profile_json, strlen(profile_json), NULL) != 0)
        return;
    {
        const struct vx_jnode *a = vx_jget(&d, vx_jroot(&d), "billing_agreement");
        if (a && a->type == VX_JOBJECT)
            vx_jget_strcpy(&d, a, "id", id, idsz);
    }
    vx_jdoc_free(&d);
}
