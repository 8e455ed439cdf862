/*
 * Subscribing by voice, and the customer's subscriptions: which plan (asked
 * when the words fit none or several), a summary with the amount, the interval
 * and the first date, and only a yes makes the subscription; then what the
 * customer has, when the next charge is, pause, resume, skip the next cycle and
 * cancel (which a yes confirms). The engine writes what the cells ask for in
 * the turn's one write set (VX_CMD_SUBSCRIBE, VX_CMD_SUB_CHANGE), with the rules
 * the merchant API has (voxcart/sub.h): a cell only decides what to ask and say.
 *
 * A plan without a trial is paid at once, as an order: its first cycle is the
 * order "<sub>-1" this turn records and pays (the saved permission in the
 * turn, else a pay link for the plan's recurring terms), and the payment cell
 * speaks what that came to (vx_st_sub_paid). A trial charges nothing now: on the saved
 * permission it just starts; without one the engine makes a pay link that asks the buyer to
 * approve the plan's terms, which the biller completes.
 */
#include "dialog.h"

#include "voxcart/sub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLANS_MAX 16

/* --- phrasing --- */

static void text_of(const struct vx_dialog *d, enum vx_msg m, const struct vx_arg *args, size_t n,
                    char *out, size_t outsz)
{
    if (vx_locale_format(d->loc, vx_msg_defs[m].key, args, n, out, outsz) != 0)
        out[0] = '\0';
}

/* "December 16" / "16 December" / "16. Dezember"; "today" for today. */
static void date_of(const struct vx_dialog *d, struct vx_date day, char *out, size_t outsz)
{
    char months[512], num[8], *save = NULL, *w;
    const char *month = "";
    if (vx_days_from_civil(day) == vx_days_from_civil(d->today)) {
        text_of(d, VX_M_DATE_TODAY, NULL, 0, out, outsz);
        return;
    }
    text_of(d, VX_M_DATE_MONTHS, NULL, 0, months, sizeof(months));
    w = strtok_r(months, " ", &save);
    for (int i = 1; w && i <= 12; i++, w = strtok_r(NULL, " ", &save))
        if (i == day.m)
            month = w;
    snprintf(num, sizeof(num), "%d", day.d);
    {
        struct vx_arg args[2] = {{"day", num}, {"month", month}};
        text_of(d, VX_M_DATE_SPOKEN, args, 2, out, outsz);
    }
}

/* "every week", "every two weeks" */
static void every_of(const struct vx_dialog *d, const char *unit, int count, char *out,
                     size_t outsz)
{
    static const struct {
        const char *unit;
        enum vx_msg one, other;
    } units[] = {{"day", VX_M_EVERY_DAY, VX_M_EVERY_DAYS},
                 {"week", VX_M_EVERY_WEEK, VX_M_EVERY_WEEKS},
                 {"month", VX_M_EVERY_MONTH, VX_M_EVERY_MONTHS},
                 {"year", VX_M_EVERY_YEAR, VX_M_EVERY_YEARS}};
    char num[16];
    struct vx_arg arg = {"count", num};
    snprintf(num, sizeof(num), "%d", count);
    out[0] = '\0';
    for (size_t i = 0; i < VX_ARRAY_LEN(units); i++)
        if (strcmp(units[i].unit, unit) == 0)
            text_of(d, count == 1 ? units[i].one : units[i].other, &arg, 1, out, outsz);
}

static const char *plan_name(const struct vx_dialog *d, const char *id)
{
    const struct vx_cat_plan *p = vx_catalog_plan(d->cat, id);
    if (!p)
        return id; /* no longer offered: its ID still names it */
    return vx_cat_names_for(p->names, p->nnames, d->lang)->words.one;
}

static const char *unit_of(const struct vx_cat_plan *p)
{
    return p->unit;
}

/* "house blend every two weeks" */
static void plan_full(const struct vx_dialog *d, const char *plan, const char *unit, int count,
                      char *out, size_t outsz)
{
    char every[96];
    every_of(d, unit, count, every, sizeof(every));
    snprintf(out, outsz, "%s %s", plan_name(d, plan), every);
}

/* The plans as a list: "house blend every week, ... or espresso club every month". */
static void plans_list(const struct vx_dialog *d, const struct vx_cat_plan *const *pl, size_t n,
                       char *out, size_t outsz)
{
    char items[PLANS_MAX][160];
    const char *ptrs[PLANS_MAX];
    for (size_t i = 0; i < n && i < PLANS_MAX; i++) {
        plan_full(d, pl[i]->id, unit_of(pl[i]), pl[i]->count, items[i], sizeof(items[i]));
        ptrs[i] = items[i];
    }
    vx_locale_join(d->loc, ptrs, n < PLANS_MAX ? n : PLANS_MAX, "or", out, outsz);
}

static size_t all_plans(const struct vx_dialog *d, const struct vx_cat_plan **out)
{
    size_t n = 0;
    for (size_t i = 0; i < d->cat->nplans && n < PLANS_MAX; i++)
        out[n++] = &d->cat->plans[i];
    return n;
}

/* --- which plan --- */

/* The frequency slot: "week_2" (the entity's ID, or the value as said by a fixture) -> unit and
 * count; 0 when it names one. */
static int frequency_of(const struct vx_dialog *d, char *unit, size_t unitsz, int *count)
{
    const struct vx_slot *s = vx_request_slot(d->req, vx_slot_defs[VX_SLOT_FREQUENCY].name);
    const char *v = s ? (s->er == VX_ER_MATCH && s->resolved_id ? s->resolved_id : s->value) : NULL;
    const char *us;
    char *end;
    long n;
    if (!v || !(us = strchr(v, '_')) || (size_t)(us - v) >= unitsz)
        return -1;
    n = strtol(us + 1, &end, 10);
    if (*end || n < 1 || n > 1825)
        return -1;
    memcpy(unit, v, (size_t)(us - v));
    unit[us - v] = '\0';
    *count = (int)n;
    return 0;
}

/* The plans a SubscribeIntent names (all of them when it names none): how many, into pl. */
static size_t wanted_plans(const struct vx_dialog *d, const struct vx_cat_plan **pl, int *named)
{
    const struct vx_slot *s = vx_request_slot(d->req, vx_slot_defs[VX_SLOT_PLAN].name);
    char unit[16];
    int count = 0, freq = frequency_of(d, unit, sizeof(unit), &count) == 0;
    size_t n, k = 0;
    *named = s && s->value && *s->value;
    n = *named ? vx_catalog_match_plans(d->cat, s, d->lang, pl, PLANS_MAX) : all_plans(d, pl);
    if (!freq)
        return n;
    for (size_t i = 0; i < n; i++) /* "every two weeks" keeps the plans of that interval */
        if (strcmp(pl[i]->unit, unit) == 0 && pl[i]->count == count)
            pl[k++] = pl[i];
    return k ? k : n; /* an interval no plan has: ask among the plan's intervals */
}

static const struct vx_sub_view *subscribed_to(const struct vx_dialog *d, const char *plan)
{
    for (size_t i = 0; i < d->nsubs; i++)
        if (strcmp(d->subs[i].plan, plan) == 0 && strcmp(d->subs[i].status, "canceled") != 0)
            return &d->subs[i];
    return NULL;
}

static void ask_plan(const struct vx_dialog *d, const struct vx_cat_plan *const *pl, size_t n,
                     int named, struct vx_cmds *out)
{
    char list[1024];
    struct vx_elicit *e;
    plans_list(d, pl, n, list, sizeof(list));
    vx_cmd_say(out, VX_M_SUB_ASK_PLAN, "plans", list, VX_END);
    vx_cmd_reprompt(out, VX_M_SUB_ASK_PLAN, "plans", list, VX_END);
    vx_cmd_state(out, VX_ST_SUBSCRIBING);
    vx_cmd_set_sub(out, NULL, NULL, 0);
    e = vx_cmd_elicit(out, VX_SLOT_PLAN, "SubscribeIntent", vx_slot_defs[VX_SLOT_PLAN].name);
    (void)named;
    if (e)
        vx_cmd_elicit_known(out, e, vx_slot_defs[VX_SLOT_FREQUENCY].name, NULL);
}

/* The summary of plan p: amount, interval, first date; a yes starts it. */
static void summary(const struct vx_dialog *d, const struct vx_cat_plan *p, struct vx_cmds *out)
{
    char every[96], amount[96], first[64], days[16];
    struct vx_date start = vx_civil_from_days(vx_days_from_civil(d->today) + p->trial_days);
    every_of(d, p->unit, p->count, every, sizeof(every));
    vx_dlg_money(d, p->amount, amount, sizeof(amount));
    date_of(d, start, first, sizeof(first));
    snprintf(days, sizeof(days), "%d", p->trial_days);
    if (p->trial_days > 0)
        vx_cmd_say(out, VX_M_SUB_SUMMARY_TRIAL, "plan", plan_name(d, p->id), "every", every,
                   "amount", amount, "days", days, "first", first, VX_END);
    else
        vx_cmd_say(out, VX_M_SUB_SUMMARY, "plan", plan_name(d, p->id), "every", every, "amount",
                   amount, "first", first, VX_END);
    vx_cmd_reprompt(out, VX_M_SUB_ASK_START, VX_END);
    vx_cmd_state(out, VX_ST_SUBSCRIBING);
    vx_cmd_set_sub(out, p->id, NULL, 0);
}

/* "subscribe me to house blend every two weeks" */
void vx_st_subscribe(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_cat_plan *pl[PLANS_MAX];
    const struct vx_sub_view *have;
    int named;
    size_t n;

    if (d->cat->nplans == 0 || d->cat->platform) {
        vx_cmd_say(out, VX_M_SUB_NOT_OFFERED, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        return;
    }
    n = wanted_plans(d, pl, &named);
    if (n == 0) {
        const struct vx_slot *s = vx_request_slot(d->req, vx_slot_defs[VX_SLOT_PLAN].name);
        char list[1024];
        n = all_plans(d, pl);
        plans_list(d, pl, n, list, sizeof(list));
        vx_cmd_say(out, VX_M_SUB_UNKNOWN_PLAN, "heard", s && s->value ? s->value : "", "plans",
                   list, VX_END);
        vx_cmd_reprompt(out, VX_M_SUB_ASK_PLAN, "plans", list, VX_END);
        vx_cmd_state(out, VX_ST_SUBSCRIBING);
        vx_cmd_set_sub(out, NULL, NULL, 0);
        return;
    }
    if (n > 1) {
        ask_plan(d, pl, n, named, out);
        return;
    }
    have = subscribed_to(d, pl[0]->id);
    if (have) {
        char full[256];
        plan_full(d, have->plan, have->unit, have->count, full, sizeof(full));
        vx_cmd_say(out, VX_M_SUB_ALREADY, "plan", full, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_set_sub(out, NULL, NULL, 0);
        return;
    }
    summary(d, pl[0], out);
}

/* The saved permission charges a subscription: chargeable, in the shop's environment. */
static int can_charge(const struct vx_dialog *d)
{
    const struct vx_profile *p = d->profile;
    return p->permission[0] && strcmp(p->permission_status, "Chargeable") == 0 &&
           p->permission_live == d->cat->production;
}

static void start(const struct vx_dialog *d, const struct vx_cat_plan *p, int vcode_right,
                  struct vx_cmds *out)
{
    struct vx_order *o;
    char full[256];

    if (vcode_right && d->profile->voice_code_failures) { /* the count starts again */
        struct vx_profile_set *ps = vx_cmd_profile(out);
        if (ps) {
            ps->fields = VX_PF_VOICE_CODE;
            ps->voice_code_failures = 0;
            ps->voice_code_locked = 0;
        }
    }
    if (!vcode_right && vx_dlg_vcode_needed(d, p->amount)) {
        /* from the shop's voice-code amount, as an order: the code first */
        char amount[96];
        vx_dlg_money(d, p->amount, amount, sizeof(amount));
        vx_cmd_state(out, VX_ST_VOICE_CODE);
        vx_cmd_set_sub(out, p->id, NULL, 0);
        vx_cmd_say(out, VX_M_VCODE_ASK_SUB, "total", amount, VX_END);
        vx_cmd_reprompt(out, VX_M_VCODE_REPROMPT, VX_END);
        return;
    }

    if (subscribed_to(d, p->id)) { /* made meanwhile (another device): not twice */
        plan_full(d, p->id, p->unit, p->count, full, sizeof(full));
        vx_cmd_say(out, VX_M_SUB_ALREADY, "plan", full, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_set_sub(out, NULL, NULL, 0);
        return;
    }
    if (p->trial_days > 0) {
        char first[64], days[16];
        struct vx_date day = vx_civil_from_days(vx_days_from_civil(d->today) + p->trial_days);
        if (!can_charge(d)) {
            /* the engine makes a pay link for the plan's terms (nothing is charged), and the
             * payment cell speaks it; said as is only without a payment provider */
            vx_cmd_subscribe(out, p->id);
            plan_full(d, p->id, p->unit, p->count, full, sizeof(full));
            vx_cmd_say(out, VX_M_SUB_MADE, "plan", full, VX_END);
            vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
            vx_cmd_state(out, VX_ST_DONE);
            vx_cmd_set_sub(out, p->id, NULL, 0); /* for the payment cell */
            return;
        }
        date_of(d, day, first, sizeof(first));
        snprintf(days, sizeof(days), "%d", p->trial_days);
        vx_cmd_subscribe(out, p->id);
        vx_cmd_say(out, VX_M_SUB_STARTED_TRIAL, "plan", plan_name(d, p->id), "days", days, "first",
                   first, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        vx_cmd_state(out, VX_ST_DONE);
        vx_cmd_set_sub(out, NULL, NULL, 0);
        return;
    }
    /* the first cycle is an order of its own, paid now: the payment cell speaks */
    vx_cmd_subscribe(out, p->id);
    o = vx_cmd_record_order(out);
    if (!o)
        return;
    if (vx_sub_order_id(d->sub_id, 1, o->id, sizeof(o->id)) != 0) {
        vx_st_bug(d, out);
        return;
    }
    o->state = "CONFIRMED";
    vx_strlcpy(o->currency, d->cat->currency, sizeof(o->currency));
    vx_strlcpy(o->locale, vx_locale_name(d->loc), sizeof(o->locale));
    o->created = d->now;
    vx_strlcpy(o->lines[0].product, p->id, sizeof(o->lines[0].product));
    o->lines[0].qty = 1;
    o->lines[0].unit_price = o->lines[0].amount = o->total = p->amount;
    o->n = 1;
    vx_cmd_state(out, VX_ST_DONE);
    vx_cmd_set_sub(out, p->id, NULL, 0); /* for the payment cell */
    /* without a payment provider nothing is charged: say what was made */
    plan_full(d, p->id, p->unit, p->count, full, sizeof(full));
    vx_cmd_say(out, VX_M_SUB_MADE, "plan", full, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
    vx_cmd_pay(out);
}

void vx_dlg_sub_start(const struct vx_dialog *d, int vcode_right, struct vx_cmds *out)
{
    const struct vx_cat_plan *p = vx_catalog_plan(d->cat, d->st->sub_plan);
    if (!p) {
        vx_st_yes_nothing(d, out);
        return;
    }
    start(d, p, vcode_right, out);
}

/* --- the customer's subscriptions --- */

static int status_is(const struct vx_sub_view *v, const char *s)
{
    return strcmp(v->status, s) == 0;
}

static void item_of(const struct vx_dialog *d, const struct vx_sub_view *v, char *out, size_t outsz)
{
    char full[256], amount[96], next[64];
    plan_full(d, v->plan, v->unit, v->count, full, sizeof(full));
    vx_money_spoken(d->loc, v->amount, v->currency, amount, sizeof(amount));
    date_of(d, v->next, next, sizeof(next));
    {
        struct vx_arg args[3] = {{"plan", full}, {"amount", amount}, {"next", next}};
        enum vx_msg m = status_is(v, "paused")     ? VX_M_SUB_ITEM_PAUSED
                        : status_is(v, "past_due") ? VX_M_SUB_ITEM_PAST_DUE
                        : status_is(v, "trialing") ? VX_M_SUB_ITEM_TRIAL
                        : v->in_flight             ? VX_M_SUB_ITEM_PAYING
                                                   : VX_M_SUB_ITEM;
        text_of(d, m, args, 3, out, outsz);
    }
}

void vx_st_subs_status(const struct vx_dialog *d, struct vx_cmds *out)
{
    char items[VX_SUBS_MAX][384], list[2400];
    const char *ptrs[VX_SUBS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < d->nsubs && n < VX_SUBS_MAX; i++) {
        item_of(d, &d->subs[i], items[n], sizeof(items[n]));
        ptrs[n] = items[n];
        n++;
    }
    if (n == 0) {
        vx_cmd_say(out, VX_M_SUB_NONE, VX_END);
    } else {
        vx_locale_join(d->loc, ptrs, n, "and", list, sizeof(list));
        vx_cmd_say(out, VX_M_SUB_LIST, "list", list, VX_END);
    }
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

/*
 * The subscription a change is about: the one the plan slot names, the only one, or NULL after
 * asking which (the platform elicits the plan slot of intent) or saying there is none.
 */
static const struct vx_sub_view *target(const struct vx_dialog *d, const char *intent,
                                        struct vx_cmds *out)
{
    const struct vx_slot *s = vx_request_slot(d->req, vx_slot_defs[VX_SLOT_PLAN].name);
    const struct vx_sub_view *found[VX_SUBS_MAX];
    size_t n = 0;
    if (s && s->value && *s->value) {
        const struct vx_cat_plan *pl[PLANS_MAX];
        size_t np = vx_catalog_match_plans(d->cat, s, d->lang, pl, PLANS_MAX);
        for (size_t i = 0; i < d->nsubs; i++)
            for (size_t k = 0; k < np; k++)
                if (strcmp(d->subs[i].plan, pl[k]->id) == 0 && n < VX_SUBS_MAX)
                    found[n++] = &d->subs[i];
        if (n == 0) {
            vx_cmd_say(out, VX_M_SUB_NOT_YOURS, "heard", s->value, VX_END);
            vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
            return NULL;
        }
    } else {
        for (size_t i = 0; i < d->nsubs; i++)
            found[n++] = &d->subs[i];
    }
    if (n == 1)
        return found[0];
    if (n == 0) {
        vx_cmd_say(out, VX_M_SUB_NONE, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        return NULL;
    }
    {
        char items[VX_SUBS_MAX][256], list[1600];
        const char *ptrs[VX_SUBS_MAX];
        for (size_t i = 0; i < n; i++) {
            plan_full(d, found[i]->plan, found[i]->unit, found[i]->count, items[i],
                      sizeof(items[i]));
            ptrs[i] = items[i];
        }
        vx_locale_join(d->loc, ptrs, n, "or", list, sizeof(list));
        vx_cmd_say(out, VX_M_SUB_WHICH, "list", list, VX_END);
        vx_cmd_reprompt(out, VX_M_SUB_WHICH, "list", list, VX_END);
        vx_cmd_elicit(out, VX_SLOT_PLAN, intent, vx_slot_defs[VX_SLOT_PLAN].name);
    }
    return NULL;
}

static void said(const struct vx_dialog *d, enum vx_msg m, const struct vx_sub_view *v,
                 struct vx_cmds *out)
{
    vx_cmd_say(out, m, "plan", plan_name(d, v->plan), VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

void vx_st_sub_pause(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_sub_view *v = target(d, "PauseSubscriptionIntent", out);
    if (!v)
        return;
    if (status_is(v, "paused")) {
        said(d, VX_M_SUB_ALREADY_PAUSED, v, out);
        return;
    }
    vx_cmd_sub_change(out, v->id, VX_SA_PAUSE);
    said(d, VX_M_SUB_PAUSED, v, out);
}

void vx_st_sub_resume(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_sub_view *v = target(d, "ResumeSubscriptionIntent", out);
    enum vx_interval_unit u;
    struct vx_date next = d->today;
    int64_t n;
    char when[64];
    if (!v)
        return;
    if (!status_is(v, "paused")) {
        said(d, VX_M_SUB_NOT_PAUSED, v, out);
        return;
    }
    /* the cycles whose dates passed while paused are let go (sub.h): the next one from today */
    if (vx_interval_unit_parse(v->unit, &u) != 0 ||
        vx_cal_next(v->anchor, u, v->count, 0, d->today, &n, &next) != 0 || n + 1 < v->cycle)
        next = v->next;
    date_of(d, next, when, sizeof(when));
    vx_cmd_sub_change(out, v->id, VX_SA_RESUME);
    vx_cmd_say(out, VX_M_SUB_RESUMED, "plan", plan_name(d, v->plan), "next", when, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

void vx_st_sub_skip(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_sub_view *v = target(d, "SkipSubscriptionIntent", out);
    char skipped[64], next[64];
    if (!v)
        return;
    if (status_is(v, "paused")) {
        said(d, VX_M_SUB_SKIP_PAUSED, v, out);
        return;
    }
    if (v->in_flight) {
        said(d, VX_M_SUB_BUSY, v, out);
        return;
    }
    date_of(d, v->next, skipped, sizeof(skipped));
    date_of(d, v->after, next, sizeof(next));
    vx_cmd_sub_change(out, v->id, VX_SA_SKIP);
    vx_cmd_say(out, VX_M_SUB_SKIPPED, "plan", plan_name(d, v->plan), "skipped", skipped, "next",
               next, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

/* "cancel my subscription": asked first, a yes cancels (vx_st_sub_yes) */
void vx_st_sub_cancel(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_sub_view *v = target(d, "CancelSubscriptionIntent", out);
    char full[256];
    if (!v)
        return;
    plan_full(d, v->plan, v->unit, v->count, full, sizeof(full));
    vx_cmd_say(out, VX_M_SUB_CONFIRM_CANCEL, "plan", full, VX_END);
    vx_cmd_reprompt(out, VX_M_SUB_CONFIRM_CANCEL, "plan", full, VX_END);
    vx_cmd_state(out, VX_ST_SUBSCRIBING);
    vx_cmd_set_sub(out, NULL, v->id, VX_SA_CANCEL + 1);
}

/* --- the SUBSCRIBING state --- */

static const struct vx_sub_view *pending_target(const struct vx_dialog *d)
{
    for (size_t i = 0; i < d->nsubs; i++)
        if (strcmp(d->subs[i].id, d->st->sub_target) == 0)
            return &d->subs[i];
    return NULL;
}

void vx_st_sub_yes(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_dstate *st = d->st;
    if (st->sub_change == VX_SA_CANCEL + 1) {
        const struct vx_sub_view *v = pending_target(d);
        vx_cmd_state(out, VX_ST_IDLE);
        vx_cmd_set_sub(out, NULL, NULL, 0);
        if (!v) { /* canceled meanwhile (the merchant, another device) */
            vx_cmd_say(out, VX_M_SUB_NONE, VX_END);
            vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
            return;
        }
        vx_cmd_sub_change(out, v->id, VX_SA_CANCEL);
        said(d, VX_M_SUB_CANCELED, v, out);
        return;
    }
    if (st->sub_plan[0] && vx_catalog_plan(d->cat, st->sub_plan)) {
        start(d, vx_catalog_plan(d->cat, st->sub_plan), 0, out);
        return;
    }
    vx_st_yes_nothing(d, out);
}

void vx_st_sub_no(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_sub_view *v = d->st->sub_change ? pending_target(d) : NULL;
    vx_cmd_state(out, VX_ST_IDLE);
    vx_cmd_set_sub(out, NULL, NULL, 0);
    if (v) {
        said(d, VX_M_SUB_KEPT, v, out);
        return;
    }
    vx_cmd_say(out, VX_M_SUB_NOT_STARTED, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
}

void vx_ask_subscribing(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out)
{
    const struct vx_dstate *st = d->st;
    const struct vx_cat_plan *pl[PLANS_MAX];
    (void)p;
    if (st->sub_change) {
        const struct vx_sub_view *v = pending_target(d);
        const char *name = v ? plan_name(d, v->plan) : "";
        vx_cmd_say(out, VX_M_SUB_CONFIRM_CANCEL, "plan", name, VX_END);
        vx_cmd_reprompt(out, VX_M_SUB_CONFIRM_CANCEL, "plan", name, VX_END);
        return;
    }
    if (st->sub_plan[0]) {
        vx_cmd_say(out, VX_M_SUB_ASK_START, VX_END);
        vx_cmd_reprompt(out, VX_M_SUB_ASK_START, VX_END);
        return;
    }
    {
        char list[1024];
        plans_list(d, pl, all_plans(d, pl), list, sizeof(list));
        vx_cmd_say(out, VX_M_SUB_ASK_PLAN, "plans", list, VX_END);
        vx_cmd_reprompt(out, VX_M_SUB_ASK_PLAN, "plans", list, VX_END);
    }
}

void vx_help_subscribing(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_cmd_say(out, d->st->sub_change ? VX_M_HELP_SUB_CANCEL : VX_M_HELP_SUBSCRIBING, VX_END);
    vx_ask_subscribing(d, NULL, out);
}

void vx_fallback_subscribing(const struct vx_dialog *d, struct vx_cmds *out)
{
    vx_cmd_say(out, VX_M_FALLBACK_SUBSCRIBING, VX_END);
    vx_ask_subscribing(d, NULL, out);
}

/* What paying for a subscription's first cycle came to (the payment cell, for "<sub>-1"). */
void vx_st_sub_paid(const struct vx_dialog *d, struct vx_cmds *out)
{
    const struct vx_pay_result *p = d->pay;
    const struct vx_cat_plan *pl = vx_catalog_plan(d->cat, d->st->sub_plan);
    const char *shop = vx_catalog_merchant_name(d->cat, d->lang);
    char amount[96], every[96] = "", next[64] = "";
    vx_cmd_set_sub(out, NULL, NULL, 0);
    vx_dlg_money(d, p->amount, amount, sizeof(amount));
    if (pl) {
        struct vx_date day;
        enum vx_interval_unit u;
        every_of(d, pl->unit, pl->count, every, sizeof(every));
        if (vx_interval_unit_parse(pl->unit, &u) == 0 &&
            vx_cal_cycle(d->today, u, pl->count, 1, &day) == 0)
            date_of(d, day, next, sizeof(next));
    }
    switch (p->kind) {
    case VX_PAY_PAID:
        vx_cmd_say(out, VX_M_SUB_PAID, "plan", pl ? plan_name(d, pl->id) : "", "amount", amount,
                   "next", next, VX_END);
        vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
        return;
    case VX_PAY_LINK: {
        char written[96], text[1024], first[64] = "";
        struct vx_arg args[3] = {{"total", written}, {"every", every}, {"link", p->link}};
        int screen, trial = pl && pl->trial_days > 0;
        if (!p->link)
            args[2].value = "";
        if (trial)
            date_of(d, vx_civil_from_days(vx_days_from_civil(d->today) + pl->trial_days), first,
                    sizeof(first));
        vx_money_written(d->loc, p->amount, p->currency, written, sizeof(written));
        text_of(d, VX_M_CARD_SUB_LINK, args, 3, text, sizeof(text));
        screen = vx_dlg_pay_code(d, p, out);
        if (trial) /* nothing is charged now: the trial starts once the terms are approved */
            vx_cmd_say(out, screen ? VX_M_SUB_TRIAL_LINK_SCREEN : VX_M_SUB_TRIAL_LINK, "plan",
                       plan_name(d, pl->id), "amount", amount, "every", every, "first", first,
                       VX_END);
        else
            vx_cmd_say(out, screen ? VX_M_SUB_LINK_SCREEN : VX_M_SUB_LINK, "amount", amount,
                       "every", every, VX_END);
        vx_cmd_card(out, VX_M_CARD_PAY_LINK_TITLE, shop, text);
        vx_cmd_end(out);
        return;
    }
    case VX_PAY_PENDING:
        vx_cmd_say(out, VX_M_SUB_PENDING, VX_END);
        vx_cmd_end(out);
        return;
    case VX_PAY_HARD_DECLINE: {
        char text[512];
        vx_locale_format(d->loc, vx_msg_defs[VX_M_CARD_PAY_FIX].key, NULL, 0, text, sizeof(text));
        vx_cmd_card(out, VX_M_CARD_PAY_FIX_TITLE, shop, text);
        break;
    }
    default:
        break;
    }
    /* declined, over a limit, failed: the biller ends the subscription it made */
    vx_cmd_say(out, VX_M_SUB_FIRST_FAILED, VX_END);
    vx_cmd_reprompt(out, VX_M_ASK_MORE, VX_END);
    vx_cmd_state(out, VX_ST_IDLE);
}
