/*
 * Recurring subscriptions (sub.h): the document, its keys and what an outcome
 * does to it. Nothing here talks to Redis or the provider.
 */
#include "voxcart/sub.h"

#include "voxcart/jscan.h"
#include "voxcart/response.h"
#include "voxcart/pay.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>

static const char *const status_names[] = {
#define XX(id, name) name,
    VX_SUB_STATUS_MAP(XX)
#undef XX
};

static const char *const wait_names[] = {
#define XX(id, name, help) name,
    VX_SUB_WAIT_MAP(XX)
#undef XX
};

static const char *const unit_names[] = {"day", "week", "month", "year"};

const char *vx_sub_status_name(enum vx_sub_status s)
{
    return (unsigned)s < VX_SS__COUNT ? status_names[s] : "?";
}

int vx_sub_status_parse(const char *name, enum vx_sub_status *out)
{
    for (int i = 0; name && i < VX_SS__COUNT; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum vx_sub_status)i;
            return 0;
        }
    return VX_ENOTFOUND;
}

const char *vx_sub_wait_name(enum vx_sub_wait w)
{
    return (unsigned)w < VX_SW__COUNT ? wait_names[w] : "?";
}

static enum vx_sub_wait wait_parse(const char *name)
{
    for (int i = 0; name && i < VX_SW__COUNT; i++)
        if (strcmp(name, wait_names[i]) == 0)
            return (enum vx_sub_wait)i;
    return VX_SW_NONE;
}

static int64_t jnum(const struct vx_jdoc *d, const struct vx_jnode *o, const char *k, int64_t def)
{
    int64_t v;
    return vx_jint64(vx_jget(d, o, k), &v) == 0 ? v : def;
}

/* "2026-12-02" -> a valid date. */
static int date_parse(const char *s, struct vx_date *out)
{
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2d%c", &out->y, &out->m, &out->d, &tail) != 3 ||
        strlen(s) != 10 || !vx_date_valid(*out))
        return VX_EPARSE;
    return 0;
}

int vx_sub_parse(const char *json, struct vx_sub *s)
{
    struct vx_jdoc d;
    const struct vx_jnode *root, *iv;
    char buf[32];
    int rc = 0;
    memset(s, 0, sizeof(*s));
    if (!(root = vx_jdoc_object(&d, json)))
        return VX_EPARSE;
    vx_jget_strcpy(&d, root, "id", s->id, sizeof(s->id));
    vx_jget_strcpy(&d, root, "merchant", s->merchant, sizeof(s->merchant));
    vx_jget_strcpy(&d, root, "shop_id", s->shop, sizeof(s->shop));
    vx_jget_strcpy(&d, root, "plan_id", s->plan, sizeof(s->plan));
    vx_jget_strcpy(&d, root, "skill", s->skill, sizeof(s->skill));
    vx_jget_strcpy(&d, root, "user", s->user, sizeof(s->user));
    vx_jget_strcpy(&d, root, "charge_permission_id", s->permission, sizeof(s->permission));
    vx_jget_strcpy(&d, root, "environment", buf, sizeof(buf));
    s->live = strcmp(buf, "production") == 0;
    iv = vx_jget(&d, root, "interval");
    if (!iv || iv->type != VX_JOBJECT ||
        vx_interval_unit_parse(vx_jget_str(&d, iv, "unit"), &s->unit) != 0)
        rc = VX_EPARSE;
    s->count = (int)(iv ? jnum(&d, iv, "count", 0) : 0);
    s->amount = jnum(&d, root, "amount", 0);
    vx_jget_strcpy(&d, root, "currency", s->currency, sizeof(s->currency));
    vx_jget_strcpy(&d, root, "time_zone", s->tz, sizeof(s->tz));
    s->bill_hour = (int)jnum(&d, root, "bill_hour", 0);
    if (date_parse(vx_jget_str(&d, root, "anchor"), &s->anchor) != 0)
        rc = VX_EPARSE;
    if (vx_sub_status_parse(vx_jget_str(&d, root, "status"), &s->status) != 0)
        rc = VX_EPARSE;
    s->cycle = jnum(&d, root, "cycle", 1);
    s->due = jnum(&d, root, "due", 0);
    s->attempt = (int)jnum(&d, root, "attempt", 0);
    s->soft = (int)jnum(&d, root, "soft_declines", 0);
    vx_jget_strcpy(&d, root, "attempt_key", s->key, sizeof(s->key));
    vx_jget_strcpy(&d, root, "charge_id", s->charge_id, sizeof(s->charge_id));
    s->wait = wait_parse(vx_jget_str(&d, root, "wait"));
    s->fence = jnum(&d, root, "fence", 0);
    s->paid = jnum(&d, root, "cycles_paid", 0);
    s->wait_since = jnum(&d, root, "wait_since", 0);
    s->created = jnum(&d, root, "created_at", 0);
    vx_jget_strcpy(&d, root, "checkout_session_id", s->session, sizeof(s->session));
    vx_jdoc_free(&d);
    if (rc == 0 && (!s->id[0] || s->count < 1 || s->amount < 1 || strlen(s->currency) != 3 ||
                    s->cycle < 1 || s->bill_hour < 0 || s->bill_hour > 23))
        rc = VX_EPARSE;
    return rc;
}

void vx_sub_new_id(char out[VX_SUB_ID_LEN + 1])
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[12];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = vx_wset_tag();
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)i;
    }
    memcpy(out, "sub_", 4);
    for (size_t i = 0; i < sizeof(r); i++)
        out[4 + i] = digits[r[i] % 36];
    out[VX_SUB_ID_LEN] = '\0';
}

int vx_sub_cycle_due(const struct vx_sub *s, const struct vx_tz *tz, int64_t n, int64_t *due,
                     struct vx_date *date)
{
    struct vx_date d;
    if (n < 1 || n > VX_SUB_CYCLES_MAX || vx_cal_cycle(s->anchor, s->unit, s->count, n - 1, &d))
        return VX_EINVAL;
    if (date)
        *date = d;
    *due = vx_tz_instant(tz, d, s->bill_hour * 3600);
    return 0;
}

int vx_sub_key(const char *sub, int64_t cycle, int attempt, char *out, size_t outsz)
{
    char k[64];
    if (vx_snprintf(k, sizeof(k), "%s-%lld-%d", sub, (long long)cycle, attempt) != 0 ||
        !vx_provider_key_valid(k))
        return VX_EINVAL;
    return vx_strlcpy(out, k, outsz) ? VX_EINVAL : 0;
}

int vx_sub_order_id(const char *sub, int64_t cycle, char *out, size_t outsz)
{
    return vx_snprintf(out, outsz, "%s-%lld", sub, (long long)cycle) ? VX_EINVAL : 0;
}

void vx_sub_bucket_name(unsigned b, char *out, size_t outsz)
{
    snprintf(out, outsz, "vx:{bill:%u}:due", b % VX_SUB_BUCKETS);
}

void vx_sub_bucket_key(const char *sub, char *out, size_t outsz)
{
    unsigned h = 5381;
    for (const char *p = sub; *p; p++)
        h = h * 33u + (unsigned char)*p;
    vx_sub_bucket_name(h, out, outsz);
}

void vx_sub_policy_default(struct vx_sub_policy *p)
{
    static const int64_t retry[] = {3600, 86400, 3 * 86400, 5 * 86400, 7 * 86400};
    memset(p, 0, sizeof(*p));
    memcpy(p->retry, retry, sizeof(retry));
    p->n_retry = (int)VX_ARRAY_LEN(retry);
    p->grace_s = 7 * 86400;
    p->settle_s = 60;
    p->permission_s = 3600;
    p->paused_s = 86400;
}

int vx_sub_retry_parse(const char *s, struct vx_sub_policy *p)
{
    int n = 0;
    while (s && *s) {
        size_t len = strcspn(s, ",");
        char one[24];
        int64_t v;
        if (len == 0 || len >= sizeof(one) || n >= VX_SUB_RETRIES)
            return VX_EINVAL;
        memcpy(one, s, len);
        one[len] = '\0';
        if (vx_clock_offset_parse(one, &v) != 0 || v < 1)
            return VX_EINVAL;
        p->retry[n++] = v;
        s += len;
        if (*s == ',')
            s++;
    }
    p->n_retry = n;
    return 0;
}

int64_t vx_sub_next_month(int64_t t)
{
    struct vx_date d = vx_civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400);
    d.d = 1;
    if (++d.m > 12) {
        d.m = 1;
        d.y++;
    }
    return vx_days_from_civil(d) * 86400;
}

void vx_sub_after(const struct vx_sub *s, enum vx_provider_outcome o,
                  const struct vx_provider_result *r, int64_t now, const struct vx_sub_policy *p,
                  struct vx_sub_step *out)
{
    enum vx_pay_kind kind;
    memset(out, 0, sizeof(*out));
    vx_pay_judge(o, r, &out->order_to, &kind);
    out->status = s->status;
    switch (out->order_to) {
    case VX_OS_PAID:
        out->paid = 1;
        out->new_attempt = 1;
        out->status = VX_SS_ACTIVE;
        out->wait = VX_SW_NONE;
        out->event = "subscription.cycle_paid";
        return;
    case VX_OS_CHARGE_PENDING:
        /* pending, or no answer: the same key again (or a GET of the charge), never a new one */
        out->wait = VX_SW_SETTLE;
        out->due = now + p->settle_s;
        out->event = NULL;
        return;
    default:
        break;
    }
    out->new_attempt = 1;
    out->event = "subscription.payment_failed";
    if (o == VX_PROVIDER_SOFT_DECLINE) {
        if (s->soft < p->n_retry) {
            out->wait = VX_SW_RETRY;
            out->due = now + p->retry[s->soft];
        } else {
            /* the retries ran out: past due for the grace period, then canceled */
            out->status = VX_SS_PAST_DUE;
            out->wait = VX_SW_GRACE;
            out->due = now + p->grace_s;
            out->event = "subscription.past_due";
        }
    } else if (o == VX_PROVIDER_PERIODIC_LIMIT) {
        out->wait = VX_SW_MONTH;
        out->due = vx_sub_next_month(now) + 60;
    } else if (o == VX_PROVIDER_HARD_DECLINE) {
        /* never again until the buyer fixed the method: the permission says so */
        out->status = VX_SS_PAST_DUE;
        out->wait = VX_SW_PERMISSION;
        out->due = now + p->permission_s;
        out->event = "subscription.past_due";
    } else {
        /* the amount limit, a permission that cannot be charged, a refused request: only the
         * merchant (bill now) or a change of the subscription moves it */
        out->status = VX_SS_PAST_DUE;
        out->wait = VX_SW_MERCHANT;
        out->due = now + p->permission_s;
        out->event = "subscription.past_due";
    }
}

static int jkv_str(struct vx_buf *b, const char *k, const char *v)
{
    int rc = vx_buf_appendf(b, ",\"%s\":\"", k);
    rc |= vx_json_escape(b, v, strlen(v));
    rc |= vx_buf_appends(b, "\"");
    return rc;
}

int vx_sub_doc_json(const struct vx_sub *s, int64_t created, struct vx_buf *out)
{
    int rc = vx_buf_appends(out, "{\"object\":\"subscription\"");
    rc |= jkv_str(out, "id", s->id);
    rc |= jkv_str(out, "merchant", s->merchant);
    rc |= jkv_str(out, "shop_id", s->shop);
    rc |= jkv_str(out, "plan_id", s->plan);
    rc |= jkv_str(out, "skill", s->skill);
    rc |= jkv_str(out, "user", s->user);
    rc |= jkv_str(out, "charge_permission_id", s->permission);
    rc |= jkv_str(out, "environment", s->live ? "production" : "sandbox");
    rc |= vx_buf_appendf(out, ",\"interval\":{\"unit\":\"%s\",\"count\":%d}",
                         unit_names[s->unit & 3], s->count);
    rc |= vx_buf_appendf(out, ",\"amount\":%lld", (long long)s->amount);
    rc |= jkv_str(out, "currency", s->currency);
    rc |= jkv_str(out, "time_zone", s->tz);
    rc |= vx_buf_appendf(out, ",\"bill_hour\":%d,\"anchor\":\"%04d-%02d-%02d\"", s->bill_hour,
                         s->anchor.y, s->anchor.m, s->anchor.d);
    rc |= jkv_str(out, "status", vx_sub_status_name(s->status));
    rc |= vx_buf_appendf(out,
                         ",\"cycle\":%lld,\"due\":%lld,\"attempt\":0,\"soft_declines\":0,"
                         "\"attempt_key\":null,\"charge_id\":null,\"wait\":\"none\",\"fence\":0,"
                         "\"cycles_paid\":0,\"created_at\":%lld}",
                         (long long)s->cycle, (long long)s->due, (long long)created);
    return rc ? VX_ENOMEM : 0;
}

int vx_sub_ledger_json(int64_t at_ms, const char *actor, const char *event, const struct vx_sub *s,
                       const char *ref, const char *reason, struct vx_buf *out)
{
    int rc = vx_buf_appendf(out, "{\"at\":%lld", (long long)at_ms);
    rc |= jkv_str(out, "actor", actor);
    rc |= jkv_str(out, "event", event);
    rc |= jkv_str(out, "status", vx_sub_status_name(s->status));
    rc |= vx_buf_appendf(out, ",\"cycle\":%lld,\"attempt\":%d,\"amount\":%lld", (long long)s->cycle,
                         s->attempt, (long long)s->amount);
    rc |= jkv_str(out, "currency", s->currency);
    if (ref && *ref)
        rc |= jkv_str(out, "ref", ref);
    if (reason && *reason)
        rc |= jkv_str(out, "reason", reason);
    rc |= vx_buf_appends(out, "}");
    return rc ? VX_ENOMEM : 0;
}

void vx_sub_wset_num(struct vx_wset *w, const char *id, const char *member, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)v);
    vx_wset_sub_set(w, id, member, num);
}

void vx_sub_wset_str(struct vx_wset *w, const char *id, const char *member, const char *v)
{
    struct vx_buf b;
    if (!v || !*v) {
        vx_wset_sub_set(w, id, member, "null");
        return;
    }
    vx_buf_init(&b);
    vx_buf_appends(&b, "\"");
    vx_json_escape(&b, v, strlen(v));
    if (vx_buf_appends(&b, "\"") != 0 || !b.data)
        w->overflow = 1;
    else
        vx_wset_sub_set(w, id, member, b.data);
    vx_buf_release(&b);
}

void vx_sub_wset_fence(struct vx_wset *w, const struct vx_sub *s)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)s->fence);
    vx_wset_sub_guard(w, s->id, "fence", num);
}

int vx_sub_in_flight(const struct vx_sub *s)
{
    return s->key[0] || s->wait == VX_SW_SETTLE || s->wait == VX_SW_ORDER;
}

int vx_sub_approval_key(const char *sub, int completion, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s-0-%s", sub, completion ? "c" : "1");
    return n < 0 || (size_t)n >= outsz || n > VX_PROVIDER_KEY_MAX ? VX_EINVAL : 0;
}

static int refuse(struct vx_sub_refusal *why, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct vx_sub_refusal *why, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    why->status = status;
    why->code = code;
    va_start(ap, fmt);
    vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
    va_end(ap);
    return VX_EINVAL;
}

int vx_sub_change(struct vx_sub *s, enum vx_sub_action a, const struct vx_tz *tz, int64_t now,
                  const char **event, struct vx_sub_refusal *why)
{
    struct vx_sub t = *s;
    int in_flight = vx_sub_in_flight(s);
    if (s->status == VX_SS_CANCELED)
        return refuse(why, 409, "subscription_canceled",
                      "the subscription is canceled: it cannot change any more");
    switch (a) {
    case VX_SA_PAUSE:
        if (s->status == VX_SS_PAUSED)
            return refuse(why, 409, "subscription_paused", "the subscription is paused");
        t.status = VX_SS_PAUSED;
        *event = "subscription.paused";
        break;
    case VX_SA_RESUME: {
        int64_t n;
        struct vx_date next;
        if (s->status != VX_SS_PAUSED)
            return refuse(why, 409, "subscription_not_paused", "the subscription is %s, not paused",
                          vx_sub_status_name(s->status));
        t.status = VX_SS_ACTIVE;
        if (in_flight) {
            t.due = now; /* the biller settles the attempt at its next pass */
        } else if (vx_cal_next(t.anchor, t.unit, t.count, 0, vx_tz_date(tz, now), &n, &next) == 0 &&
                   n + 1 > t.cycle) {
            /* the cycles whose dates passed while paused are not billed: skipped */
            t.cycle = n + 1;
            t.attempt = 0;
            t.soft = 0;
            t.wait = VX_SW_NONE;
        }
        if (!in_flight && t.wait == VX_SW_NONE && vx_sub_cycle_due(&t, tz, t.cycle, &t.due, NULL))
            return refuse(why, 409, "subscription_ended",
                          "the subscription has no cycle left to bill");
        *event = "subscription.resumed";
        break;
    }
    case VX_SA_CANCEL:
        t.status = VX_SS_CANCELED;
        if (!in_flight)
            t.wait = VX_SW_NONE;
        *event = "subscription.canceled";
        break;
    case VX_SA_BILL_NOW:
    case VX_SA_SKIP:
        if (in_flight)
            return refuse(why, 409, "attempt_in_flight",
                          "cycle %lld has a charge whose outcome is not known yet (%s): the "
                          "biller settles it first",
                          (long long)s->cycle, s->key[0] ? s->key : "paid in a conversation");
        if (a == VX_SA_BILL_NOW) {
            if (s->status != VX_SS_ACTIVE && s->status != VX_SS_PAST_DUE)
                return refuse(why, 409, "subscription_not_billable",
                              "the subscription is %s: only an active or past_due one is "
                              "billed now",
                              vx_sub_status_name(s->status));
            t.wait = VX_SW_NONE;
            t.due = now;
            *event = "subscription.billed_now";
            break;
        }
        if (s->status == VX_SS_PAUSED)
            return refuse(why, 409, "subscription_paused",
                          "the subscription is paused: it has no next cycle to skip");
        t.cycle++;
        if (vx_sub_cycle_due(&t, tz, t.cycle, &t.due, NULL) != 0)
            return refuse(why, 409, "subscription_ended",
                          "the subscription has no cycle left to bill");
        t.attempt = 0;
        t.soft = 0;
        t.wait = VX_SW_NONE;
        if (t.status == VX_SS_PAST_DUE) /* the cycle it was past due for is let go */
            t.status = VX_SS_ACTIVE;
        *event = "subscription.skipped";
        break;
    }
    *s = t;
    return 0;
}

int vx_sub_change_wset(struct vx_wset *w, const struct vx_sub *before, struct vx_sub *after,
                       enum vx_sub_action a, const char *actor, const char *event,
                       struct vx_buf *scratch)
{
    const char *id = after->id;
    struct vx_sub e;
    after->fence = before->fence + 1;
    vx_sub_wset_fence(w, before);
    vx_sub_wset_num(w, id, "fence", after->fence);
    vx_sub_wset_str(w, id, "status", vx_sub_status_name(after->status));
    if (!vx_sub_in_flight(before)) {
        vx_sub_wset_str(w, id, "wait", vx_sub_wait_name(after->wait));
        vx_sub_wset_num(w, id, "due", after->due);
        if (after->cycle != before->cycle) {
            vx_sub_wset_num(w, id, "cycle", after->cycle);
            vx_sub_wset_num(w, id, "attempt", after->attempt);
            vx_sub_wset_num(w, id, "soft_declines", after->soft);
        }
    } else if (after->due != before->due) {
        vx_sub_wset_num(w, id, "due", after->due);
    }
    e = *after;
    if (a == VX_SA_SKIP)
        e.cycle--; /* the entry names the cycle skipped */
    scratch->len = 0;
    if (vx_sub_ledger_json(vx_now_ms(), actor, strchr(event, '.') + 1, &e, NULL, NULL, scratch) !=
            0 ||
        !scratch->data)
        return VX_ENOMEM;
    vx_wset_ledger(w, id, scratch->data);
    return w->overflow ? VX_ENOMEM : 0;
}
