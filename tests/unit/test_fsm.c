/*
 * The dialog engine and its table.
 *
 * First without a store: the table has a function in every cell, every intent
 * is handled somewhere, the engine's checks hold, the stored documents
 * round-trip, and each flow's state functions give the commands expected (the
 * commands are the dialog's decisions; asserting them needs no Redis).
 *
 * Then, with a private redis-server on a Unix socket (DESIGN: no mocked Redis),
 * whole turns through vx_fsm_handle: a conversation that ends with an order
 * recorded in Redis, the cart kept over a SessionEndedRequest,
 * CanFulfillIntentRequest writing nothing, a concurrent writer making a turn
 * run again once and then ask for a repeat, and Redis going away.
 */
#include "voxcart/fsm.h"
#include "dialog.h"
#include "voxcart/wset.h"
#include "voxcart/store.h"
#include "voxcart/store.h"
#include "voxcart/sub.h"
#include "vxtest.h"

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static struct vx_fsm *fsm;
static const struct vx_catalog *cat;

/* --- building requests --- */

#define SLOT(n, v)    "\"" n "\":{\"name\":\"" n "\",\"value\":\"" v "\"}"
#define EMPTY_SLOT(n) "\"" n "\":{\"name\":\"" n "\"}"
#define RSLOT(n, v, id)                                                                            \
    "\"" n "\":{\"name\":\"" n "\",\"value\":\"" v                                                 \
    "\",\"resolutions\":{\"resolutionsPerAuthority\""                                              \
    ":[{\"authority\":\"a\",\"status\":{\"code\":\"ER_SUCCESS_MATCH\"},\"values\":[{\"value\":{"   \
    "\"name\":\"" v "\",\"id\":\"" id "\"}}]}]}}"

static int request_counter;
/* context.System.device of the requests made, with its comma ("" for none) */
static const char *req_device = "";

static int make_req(struct vx_request *r, const char *user, const char *type, const char *intent,
                    const char *slots, const char *locale)
{
    char body[4096], extra[2048] = "";
    struct vx_err e;
    int rc;
    if (intent)
        snprintf(extra, sizeof(extra),
                 ",\"intent\":{\"name\":\"%s\",\"confirmationStatus\":\"NONE\",\"slots\":{%s}}",
                 intent, slots ? slots : "");
    else if (strcmp(type, "SessionEndedRequest") == 0)
        snprintf(extra, sizeof(extra), ",\"reason\":\"USER_INITIATED\"");
    snprintf(body, sizeof(body),
             "{\"version\":\"1.0\",\"context\":{\"System\":{\"application\":{\"applicationId\":"
             "\"amzn1.ask.skill.unit\"},\"user\":{\"userId\":\"%s\"}%s}},\"request\":{\"type\":"
             "\"%s\",\"requestId\":\"req-%d-%ld\",\"timestamp\":\"2026-11-24T06:44:17Z\","
             "\"locale\":\"%s\"%s}}",
             user, req_device, type, ++request_counter, (long)getpid(), locale ? locale : "en-US",
             extra);
    rc = vx_request_parse(body, strlen(body), r, &e);
    if (rc)
        fprintf(stderr, "bad test request: %s\n", e.msg);
    return rc;
}

/* --- running one cell without a store --- */

struct turn {
    struct vx_request req;
    struct vx_dstate st;
    struct vx_profile prof;
    struct vx_order_view last;
    int have_last;
    struct vx_dialog d;
    struct vx_cmds cmds;
};

static void turn_init(struct turn *t, enum vx_state s)
{
    memset(t, 0, sizeof(*t));
    t->d.skill = &vx_coffee_skill;
    vx_dstate_init(&t->st);
    t->st.state = s;
}

static void add_line(struct vx_cart *c, const char *product, const char *size, int qty)
{
    struct vx_line *l = &c->lines[c->n++];
    memset(l, 0, sizeof(*l));
    snprintf(l->product, sizeof(l->product), "%s", product);
    snprintf(l->size, sizeof(l->size), "%s", size);
    l->qty = qty;
}

/* A turn in ORDERING while the size of product is asked for. */
static void asking_size(struct turn *t, const char *product)
{
    turn_init(t, VX_ST_ORDERING);
    snprintf(t->st.pending.item.product, sizeof(t->st.pending.item.product), "%s", product);
    t->st.pending.ask = VX_SLOT_SIZE;
}

static const struct vx_pay_result *run_pay; /* set: run() runs the payment event with it */
static const struct vx_sub_view *run_subs;  /* the customer's subscriptions, as loaded */
static int run_vcode = -1;                  /* what the engine found of the code said */
static size_t run_nsubs;

/* Runs the cell for the request on the turn's state; the commands are in t->cmds. */
static void run(struct turn *t, const char *type, const char *intent, const char *slots,
                const char *locale)
{
    if (make_req(&t->req, "u", type, intent, slots, locale) != 0)
        return;
    memset(&t->d, 0, sizeof(t->d));
    t->d.skill = &vx_coffee_skill;
    t->d.req = &t->req;
    t->d.ev = vx_dialog_classify(&t->req);
    t->d.st = &t->st;
    t->d.profile = &t->prof;
    t->d.last_order = t->have_last ? &t->last : NULL;
    t->d.cat = cat;
    t->d.loc = vx_i18n_get(vx_fsm_i18n(fsm), t->req.locale);
    t->d.lang = vx_locale_lang(t->d.loc);
    t->d.order_id = "o20261124-0000000001";
    t->d.now = 1795000000;
    t->d.sub_id = "sub_test00000001";
    t->d.today = vx_civil_from_days(t->d.now / 86400);
    t->d.subs = run_subs;
    t->d.nsubs = run_nsubs;
    t->d.vcode = run_vcode;
    if (run_pay) { /* the payment event: what paying for the order came to */
        t->d.ev = vx_coffee_skill.ev_paid;
        t->d.pay = run_pay;
    }
    vx_fsm_run(&t->d, &t->cmds);
    vx_request_release(&t->req);
}

static void intent(struct turn *t, const char *name, const char *slots)
{
    run(t, "IntentRequest", name, slots, "en-US");
}

static const struct vx_cmd *cmd(const struct turn *t, enum vx_cmd_type type, size_t nth)
{
    return vx_cmds_find(&t->cmds, type, nth);
}

/* The message of the nth SAY, or -1. */
static int said(const struct turn *t, size_t nth)
{
    const struct vx_cmd *c = cmd(t, VX_CMD_SAY, nth);
    return c ? (int)c->u.say.msg : -1;
}

static int new_state(const struct turn *t)
{
    const struct vx_cmd *c = cmd(t, VX_CMD_NEW_STATE, 0);
    return c ? (int)c->u.state : -1;
}

static const struct vx_cart *new_cart(const struct turn *t)
{
    const struct vx_cmd *c = cmd(t, VX_CMD_SET_CART, 0);
    return c ? &c->u.cart : NULL;
}

static int elicited(const struct turn *t)
{
    const struct vx_cmd *c = cmd(t, VX_CMD_ELICIT_SLOT, 0);
    return c ? c->u.elicit.slot : -1;
}

static const char *arg(const struct turn *t, size_t nth, const char *name)
{
    return vx_cmd_arg(cmd(t, VX_CMD_SAY, nth), name);
}

/* --- the table --- */

static void test_table_complete(void)
{
    for (int s = 0; s < VX_ST__COUNT; s++) {
        const struct vx_state_row *row = &vx_dialog_rows[s];
        vxt_checks++;
        if (!row->ask || !row->help || !row->fallback) {
            vxt_failed++;
            fprintf(stderr, "row of state %s has an empty question, help or fallback\n",
                    vx_state_name((enum vx_state)s));
        }
        for (int ev = 0; ev < VX_EV__COUNT; ev++) {
            const struct vx_cell *c = &vx_dialog_table[s][ev];
            /* only CONFIRMING/YES, the voice code that follows it and the yes that starts a
             * subscription (its first cycle is an order) may record an order */
            vxt_checks++;
            if (((c->may & VX_CK(VX_CMD_RECORD_ORDER)) != 0) !=
                ((s == VX_ST_CONFIRMING && ev == VX_EV_YES) ||
                 (s == VX_ST_SUBSCRIBING && ev == VX_EV_YES) ||
                 (s == VX_ST_VOICE_CODE && ev == VX_EV_VOICE_CODE))) {
                vxt_failed++;
                fprintf(stderr, "cell %s/%s has the wrong mask for recording an order\n",
                        vx_state_name((enum vx_state)s), vx_event_name((enum vx_event)ev));
            }
            if (c->fn == NULL) {
                vxt_failed++;
                fprintf(stderr, "table cell %s/%s is empty\n", vx_state_name((enum vx_state)s),
                        vx_event_name((enum vx_event)ev));
            }
            vxt_checks++;
        }
    }
    /* lookups outside the table answer with the apology instead of crashing */
    VX_CHECK(vx_dialog_lookup(-1, 0) == vx_st_bug);
    VX_CHECK(vx_dialog_lookup(VX_ST__COUNT, 0) == vx_st_bug);
    VX_CHECK(vx_dialog_lookup(0, VX_EV__COUNT) == vx_st_bug);
    VX_CHECK(vx_dialog_lookup(VX_ST_CONFIRMING, VX_EV_YES) == vx_st_confirm);
    /* there are explicit "not now" cells */
    VX_CHECK(vx_dialog_lookup(VX_ST_IDLE, VX_EV_CONNECTIONS_RESPONSE) ==
             vx_st_connection_unexpected);
    /* "yes" while a slot is asked for answers with the open question */
    VX_CHECK(vx_dialog_lookup(VX_ST_ORDERING, VX_EV_YES) == vx_st_yes_open_question);
}

static void test_intents_handled(void)
{
    for (int ev = 0; ev < VX_EV__COUNT; ev++) {
        vxt_checks++;
        if (!vx_dialog_handles((enum vx_event)ev)) {
            vxt_failed++;
            fprintf(stderr, "event %s is handled in no state\n", vx_event_name((enum vx_event)ev));
        }
    }
    VX_CHECK_INT(vx_intent_find("OrderIntent"), VX_EV_ORDER);
    VX_CHECK_INT(vx_intent_find("AMAZON.YesIntent"), VX_EV_YES);
    VX_CHECK_INT(vx_intent_find("NoSuchIntent"), -1);
    VX_CHECK(vx_intent_defs[VX_EV_ORDER].slots & VX_SB(PRODUCT));
    VX_CHECK_STR(vx_state_name(VX_ST_AWAITING_CHARGE), "AWAITING_CHARGE");
    {
        enum vx_state s;
        VX_CHECK_INT(vx_state_parse("DONE", &s), 0);
        VX_CHECK_INT(s, VX_ST_DONE);
        VX_CHECK_INT(vx_state_parse("NOPE", &s), VX_ENOTFOUND);
    }
}

static void test_messages_complete(void)
{
    VX_CHECK_INT(vx_fsm_check_messages(&vx_coffee_skill, vx_fsm_i18n(fsm), cat, NULL, NULL), 0);
}

static void test_classify(void)
{
    struct vx_request r;
    if (make_req(&r, "u", "IntentRequest", "AMAZON.PauseIntent", NULL, NULL) == 0) {
        /* an intent intents.def does not know is unclear speech */
        VX_CHECK_INT(vx_dialog_classify(&r), VX_EV_FALLBACK);
        vx_request_release(&r);
    }
    if (make_req(&r, "u", "AlexaSkillEvent.SkillEnabled", NULL, NULL, NULL) == 0) {
        VX_CHECK_INT(vx_dialog_classify(&r), VX_EV_SKILL_EVENT);
        vx_request_release(&r);
    }
    if (make_req(&r, "u", "LaunchRequest", NULL, NULL, NULL) == 0) {
        VX_CHECK_INT(vx_dialog_classify(&r), VX_EV_LAUNCH);
        vx_request_release(&r);
    }
}

/* --- engine checks --- */

static void test_gates(void)
{
    struct turn t;
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    /* the YES cell of CONFIRMING records the order: its mask allows it */
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) != NULL);
    VX_CHECK_INT(vx_fsm_police(&t.d, vx_dialog_cell(VX_ST_CONFIRMING, VX_EV_YES)->may, &t.cmds), 0);
    /* the same commands from a cell whose mask does not allow it are refused */
    VX_CHECK_INT(vx_fsm_police(&t.d, vx_dialog_cell(VX_ST_DONE, VX_EV_YES)->may, &t.cmds), 1);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SORRY);
    VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) != NULL);

    /* an intent that needs a linked account is answered before its cell runs */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "CartIntent", NULL);
    vx_cmds_reset(&t.cmds);
    VX_CHECK_INT(vx_fsm_gate(&t.d, VX_IF_NEEDS_LINK, &t.cmds), 1);
    VX_CHECK_INT(said(&t, 0), VX_M_LINK_NEEDED);
    vx_cmds_reset(&t.cmds);
    VX_CHECK_INT(vx_fsm_gate(&t.d, VX_IF_FULFILL, &t.cmds), 0);
    VX_CHECK_INT(t.cmds.n, 0);
}

/*
 * The write set of a turn, without Redis: the turn's store operations are data,
 * so the test completes the load itself (a conversation in CONFIRMING with a
 * known tag) and reads what the engine would write.
 */
static void test_turn_write_set(void)
{
    struct vx_request r;
    struct vx_fsm_turn *ft = NULL;
    struct vx_store_op *op = NULL;
    struct vx_buf body;
    struct vx_err e;
    const struct vx_wset *w;
    const struct vx_wop *o;
    struct vx_http_op *hop;
    int warn;

    if (make_req(&r, "wset-user", "IntentRequest", "AMAZON.YesIntent", NULL, "en-US") != 0)
        return;
    vx_buf_init(&body);
    vx_store_cache_enable(0);
    VX_CHECK_INT(vx_fsm_turn_new(fsm, &r, &ft, &e), 0);
    VX_CHECK_INT(vx_fsm_turn_step(ft, &op, &hop, &body, &warn, &e), 1);
    VX_CHECK(op && op->kind == VX_STORE_OP_LOAD);
    if (!op)
        goto out;
    op->rc = 0;
    op->conv.version = 0x1234;
    op->conv.state = strdup("{\"state\":\"CONFIRMING\",\"cart\":[{\"product\":\"latte\","
                            "\"size\":\"large\",\"quantity\":2}]}");
    op->conv.profile = NULL;
    VX_CHECK_INT(vx_fsm_turn_step(ft, &op, &hop, &body, &warn, &e), 1);
    VX_CHECK(op && op->kind == VX_STORE_OP_WRITE);
    w = vx_fsm_turn_wset(ft);
    VX_CHECK(w != NULL);
    if (!w)
        goto out;
    VX_CHECK(w->expect == 0x1234 && w->tag != 0 && w->tag != 0x1234);
    o = vx_wset_find(w, VX_W_CONV, 0);
    VX_CHECK(o && strstr(o->a, "\"state\":\"DONE\"") != NULL);
    o = vx_wset_find(w, VX_W_ORDER_CREATE, 0);
    VX_CHECK(o && strncmp(o->a, "o2", 2) == 0 && strstr(o->b, "\"state\":\"CONFIRMED\"") &&
             strstr(o->b, "\"total\":900") && strstr(o->b, "\"currency\":\"EUR\""));
    {
        const struct vx_wop *l = vx_wset_find(w, VX_W_LEDGER, 0);
        VX_CHECK(l && o && strcmp(l->a, o->a) == 0 && strstr(l->b, "\"to\":\"CONFIRMED\"") &&
                 strstr(l->b, "\"amount\":900") && strstr(l->b, "\"actor\":\"customer\""));
    }
    VX_CHECK(vx_wset_find(w, VX_W_PROFILE_SET, 0) != NULL);
    VX_CHECK(vx_wset_find(w, VX_W_ORDER_CAS, 0) == NULL); /* nothing is paid yet */
    VX_CHECK(vx_wset_find(w, VX_W_IDEM, 0) == NULL);
out:
    vx_fsm_turn_free(ft);
    vx_store_cache_enable(1);
    vx_buf_release(&body);
    vx_request_release(&r);
}

/* Any YES cell but CONFIRMING's that tried to record an order would be refused by the engine. */
static void test_mask_refuses_other_yes_cells(void)
{
    for (int s = 0; s < VX_ST__COUNT; s++) {
        struct turn t;
        struct vx_order *o;
        if (s == VX_ST_CONFIRMING || s == VX_ST_SUBSCRIBING)
            continue;
        turn_init(&t, (enum vx_state)s);
        t.d.st = &t.st;
        t.d.ev = VX_EV_YES;
        vx_cmds_reset(&t.cmds);
        vx_cmd_say(&t.cmds, VX_M_ORDER_PLACED, "items", "x", "total", "y", VX_END);
        o = vx_cmd_record_order(&t.cmds);
        VX_CHECK(o != NULL);
        VX_CHECK_INT(vx_fsm_police(&t.d, vx_dialog_cell(s, VX_EV_YES)->may, &t.cmds), 1);
        VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
    }
}

static void test_cmds_overflow(void)
{
    struct vx_cmds c;
    vx_cmds_reset(&c);
    for (int i = 0; i < VX_CMDS_MAX + 3; i++)
        vx_cmd_end(&c);
    VX_CHECK_INT(c.n, VX_CMDS_MAX);
    VX_CHECK_INT(c.overflow, 1);
}

/* --- stored documents --- */

static void test_documents(void)
{
    struct vx_dstate st, back;
    struct vx_profile prof;
    struct vx_profile_set ps;
    struct vx_order_view ov;
    struct vx_order o;
    struct vx_buf b;
    char id[64];
    struct vx_request r;

    vx_dstate_init(&st);
    st.state = VX_ST_ORDERING;
    add_line(&st.cart, "latte", "large", 2);
    snprintf(st.pending.item.product, sizeof(st.pending.item.product), "cappuccino");
    st.pending.ask = VX_SLOT_SIZE;
    snprintf(st.say, sizeof(st.say), "What size?");
    vx_buf_init(&b);
    VX_CHECK_INT(vx_dstate_json(&st, &b), 0);
    VX_CHECK_INT(vx_dstate_parse(b.data, cat, &back), 0);
    VX_CHECK_INT(back.state, VX_ST_ORDERING);
    VX_CHECK_INT(back.cart.n, 1);
    VX_CHECK_STR(back.cart.lines[0].size, "large");
    VX_CHECK_STR(back.pending.item.product, "cappuccino");
    VX_CHECK_INT(back.pending.ask, VX_SLOT_SIZE);
    VX_CHECK_STR(back.say, "What size?");
    vx_buf_release(&b);

    /* what the catalog no longer sells is dropped, not fatal */
    VX_CHECK_INT(vx_dstate_parse("{\"state\":\"CONFIRMING\",\"cart\":[{\"product\":\"pizza\","
                                 "\"quantity\":1},{\"product\":\"latte\",\"size\":\"huge\","
                                 "\"quantity\":1},{\"product\":\"espresso\",\"quantity\":99}]}",
                                 cat, &back),
                 0);
    VX_CHECK_INT(back.cart.n, 0);
    VX_CHECK_INT(back.state, VX_ST_IDLE); /* nothing left to confirm */
    VX_CHECK_INT(vx_dstate_parse("{nope", cat, &back), VX_EPARSE);
    VX_CHECK_INT(back.state, VX_ST_IDLE);
    VX_CHECK_INT(vx_dstate_parse(NULL, cat, &back), 0);

    /* a profile change is the members it names, each a JSON value; the rest is left alone */
    memset(&ps, 0, sizeof(ps));
    ps.fields = VX_PF_USUAL | VX_PF_LAST_ORDER;
    add_line(&ps.usual, "latte", "large", 2);
    snprintf(ps.last_order, sizeof(ps.last_order), "o1");
    {
        struct vx_wset w;
        const struct vx_wop *op;
        vx_wset_init(&w, "skill", "user");
        VX_CHECK_INT(vx_profile_wset(&ps, &w), 0);
        VX_CHECK_INT(w.n, 2);
        VX_CHECK(vx_wset_find(&w, VX_W_PROFILE_SET, 2) == NULL);
        op = vx_wset_find(&w, VX_W_PROFILE_SET, 0);
        VX_CHECK(op && strcmp(op->a, "usual") == 0 &&
                 strcmp(op->b, "[{\"product\":\"latte\",\"size\":\"large\",\"quantity\":2}]") == 0);
        op = vx_wset_find(&w, VX_W_PROFILE_SET, 1);
        VX_CHECK(op && strcmp(op->a, "last_order") == 0 && strcmp(op->b, "\"o1\"") == 0);
        vx_wset_release(&w);
    }
    VX_CHECK_INT(vx_profile_parse("{\"locale\":\"de-DE\",\"agreement_status\":\"ACTIVE\","
                                  "\"usual\":[{\"product\":\"latte\",\"size\":\"large\","
                                  "\"quantity\":2}],\"last_order\":\"o1\"}",
                                  cat, &prof),
                 0);
    VX_CHECK_INT(prof.exists, 1);
    VX_CHECK_INT(prof.usual.n, 1);
    VX_CHECK_STR(prof.last_order, "o1");
    VX_CHECK_STR(prof.locale, "de-DE");

    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "o1");
    o.state = "CONFIRMED";
    snprintf(o.currency, sizeof(o.currency), "EUR");
    o.n = 1;
    snprintf(o.lines[0].product, sizeof(o.lines[0].product), "latte");
    o.lines[0].qty = 2;
    o.lines[0].unit_price = 450;
    o.lines[0].amount = 900;
    o.total = 900;
    vx_buf_init(&b);
    VX_CHECK_INT(vx_order_json(&o, "corner_coffee", &b), 0);
    VX_CHECK(strstr(b.data, "\"state\":\"CONFIRMED\"") != NULL);
    VX_CHECK(strstr(b.data, "\"unit_price\":450") != NULL);
    VX_CHECK_INT(vx_order_view_parse(b.data, &ov), 0);
    VX_CHECK_INT(ov.total, 900);
    VX_CHECK_STR(ov.state, "CONFIRMED");
    VX_CHECK_INT(ov.lines.n, 1);
    vx_buf_release(&b);

    /* order IDs: stable for one request (a re-run records the same order), short enough for
     * an authorizationReferenceId */
    if (make_req(&r, "u", "IntentRequest", "AMAZON.YesIntent", NULL, NULL) == 0) {
        char id2[64];
        vx_fsm_order_id(&r, 1795000000, id, sizeof(id));
        vx_fsm_order_id(&r, 1795000000, id2, sizeof(id2));
        VX_CHECK_STR(id, id2);
        VX_CHECK(strlen(id) <= 32);
        VX_CHECK(strncmp(id, "o20261118-", 10) == 0);
        vx_request_release(&r);
    }
}

/* --- flows, as commands --- */

static void test_launch(void)
{
    struct turn t;

    turn_init(&t, VX_ST_IDLE);
    run(&t, "LaunchRequest", NULL, NULL, "en-US");
    VX_CHECK_INT(said(&t, 0), VX_M_WELCOME_NEW);
    VX_CHECK(strstr(arg(&t, 0, "products"), "lattes") != NULL);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);
    VX_CHECK(cmd(&t, VX_CMD_REPROMPT, 0) != NULL);
    /* a visitor who never ordered leaves no profile behind */
    VX_CHECK(cmd(&t, VX_CMD_SET_PROFILE, 0) == NULL);

    turn_init(&t, VX_ST_DONE);
    t.prof.exists = 1;
    snprintf(t.prof.locale, sizeof(t.prof.locale), "en-US");
    add_line(&t.prof.usual, "latte", "large", 2);
    run(&t, "LaunchRequest", NULL, NULL, "en-US");
    VX_CHECK_INT(said(&t, 0), VX_M_WELCOME_USUAL);
    VX_CHECK_STR(arg(&t, 0, "items"), "2 large lattes");
    VX_CHECK_INT(new_state(&t), VX_ST_OFFERING);

    /* a cart left over from an earlier session is read back, never ordered */
    turn_init(&t, VX_ST_IDLE);
    add_line(&t.st.cart, "latte", "large", 2);
    t.prof.exists = 1;
    snprintf(t.prof.locale, sizeof(t.prof.locale), "en-US");
    run(&t, "LaunchRequest", NULL, NULL, "de-DE");
    VX_CHECK_INT(said(&t, 0), VX_M_WELCOME_CART);
    VX_CHECK_STR(arg(&t, 0, "items"), "2 große Latte Macchiato");
    VX_CHECK_STR(arg(&t, 0, "total"), "9 Euro");
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
    /* the customer now speaks German: the profile follows */
    VX_CHECK(cmd(&t, VX_CMD_SET_PROFILE, 0) != NULL);
    VX_CHECK_STR(cmd(&t, VX_CMD_SET_PROFILE, 0)->u.profile.locale, "de-DE");

    turn_init(&t, VX_ST_IDLE);
    t.prof.exists = 1;
    run(&t, "LaunchRequest", NULL, NULL, "en-GB");
    VX_CHECK_INT(said(&t, 0), VX_M_WELCOME_BACK);
}

static void test_order_complete(void)
{
    struct turn t;
    const struct vx_cart *c;

    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent",
           RSLOT("product", "lattes", "latte") "," SLOT("quantity", "2") "," SLOT("size", "large"));
    c = new_cart(&t);
    VX_CHECK(c != NULL);
    if (c) {
        VX_CHECK_INT(c->n, 1);
        VX_CHECK_STR(c->lines[0].product, "latte");
        VX_CHECK_STR(c->lines[0].size, "large");
        VX_CHECK_INT(c->lines[0].qty, 2);
    }
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_SUMMARY);
    VX_CHECK_STR(arg(&t, 0, "items"), "2 large lattes");
    VX_CHECK_STR(arg(&t, 0, "total"), "9 euros");
    VX_CHECK(cmd(&t, VX_CMD_REPROMPT, 0) != NULL);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);

    /* several items: the summary lists them all with the total in the locale's words */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    run(&t, "IntentRequest", "OrderIntent", SLOT("product", "espresso"), "en-GB");
    VX_CHECK_STR(arg(&t, 0, "items"), "2 large lattes and 1 espresso");
    VX_CHECK_STR(arg(&t, 0, "total"), "11 euros 50");

    /* a kept cart in IDLE: the same item adds up */
    turn_init(&t, VX_ST_IDLE);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "OrderIntent", SLOT("product", "latte") "," SLOT("size", "large"));
    c = new_cart(&t);
    VX_CHECK(c && c->n == 1 && c->lines[0].qty == 3);
}

static void test_order_elicitation(void)
{
    struct turn t;
    const struct vx_cmd *p;

    /* nothing said: ask for the product */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", EMPTY_SLOT("product") "," EMPTY_SLOT("size"));
    VX_CHECK_INT(elicited(&t), VX_SLOT_PRODUCT);
    VX_CHECK_INT(new_state(&t), VX_ST_ORDERING);
    VX_CHECK_INT(said(&t, 0), VX_M_ASK_PRODUCT);
    VX_CHECK(new_cart(&t) == NULL);

    /* the size is missing: ask for it and keep what was said */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", SLOT("product", "cappuccino") "," SLOT("quantity", "2"));
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);
    VX_CHECK_INT(said(&t, 0), VX_M_ASK_SIZE);
    VX_CHECK_STR(arg(&t, 0, "sizes"), "small, medium or large");
    p = cmd(&t, VX_CMD_SET_PENDING, 0);
    VX_CHECK(p && strcmp(p->u.pending.item.product, "cappuccino") == 0 &&
             p->u.pending.item.qty == 2 && p->u.pending.ask == VX_SLOT_SIZE);

    /* the answer completes the pending item, even when the platform drops earlier slots */
    turn_init(&t, VX_ST_ORDERING);
    snprintf(t.st.pending.item.product, sizeof(t.st.pending.item.product), "cappuccino");
    t.st.pending.item.qty = 2;
    t.st.pending.ask = VX_SLOT_SIZE;
    intent(&t, "OrderIntent", SLOT("size", "medium"));
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);
    VX_CHECK_STR(arg(&t, 0, "items"), "2 medium cappuccinos");
    VX_CHECK_STR(arg(&t, 0, "total"), "7 euros and 60 cents");

    /* a size the product is not sold in */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", SLOT("product", "flat white") "," SLOT("size", "medium"));
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_UNKNOWN_SIZE);
    VX_CHECK_STR(arg(&t, 0, "heard"), "medium");
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_SIZE);
    VX_CHECK_STR(arg(&t, 1, "sizes"), "small or large");
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);

    /* an unusable quantity is asked for again */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", SLOT("product", "espresso") "," SLOT("quantity", "?"));
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_BAD_QUANTITY);
    VX_CHECK_INT(elicited(&t), VX_SLOT_QUANTITY);
    VX_CHECK_STR(vx_cmd_arg(cmd(&t, VX_CMD_SAY, 1), "product"), "espressos");
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", SLOT("product", "espresso") "," SLOT("quantity", "21"));
    VX_CHECK_INT(elicited(&t), VX_SLOT_QUANTITY);

    /* a number word, as test tools send it, counts like digits */
    turn_init(&t, VX_ST_IDLE);
    run(&t, "IntentRequest", "OrderIntent",
        SLOT("product", "Espresso") "," SLOT("quantity", "drei"), "de-DE");
    VX_CHECK_STR(arg(&t, 0, "items"), "3 Espresso");

    /* no quantity means one */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", SLOT("product", "espresso") "," EMPTY_SLOT("quantity"));
    VX_CHECK_STR(arg(&t, 0, "items"), "1 espresso");
}

/*
 * "2 small flat whites", "make it medium" (not sold in medium), "large": the answer
 * changes the line being corrected; it does not add a second one.
 */
static void test_size_change_not_sold(void)
{
    struct turn t;
    const struct vx_cmd *p;
    const struct vx_cart *c;
    struct vx_pending pend;

    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "flat_white", "small", 2);
    intent(&t, "OrderIntent", SLOT("size", "medium"));
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_UNKNOWN_SIZE);
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);
    p = cmd(&t, VX_CMD_SET_PENDING, 0);
    VX_CHECK(p != NULL);
    if (!p)
        return;
    pend = p->u.pending;
    VX_CHECK(pend.edit && strcmp(pend.edit_size, "small") == 0);

    turn_init(&t, VX_ST_ORDERING);
    add_line(&t.st.cart, "flat_white", "small", 2);
    t.st.pending = pend;
    intent(&t, "OrderIntent", SLOT("size", "large"));
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);
    c = new_cart(&t);
    VX_CHECK(c && c->n == 1);
    if (c && c->n == 1)
        VX_CHECK(strcmp(c->lines[0].size, "large") == 0 && c->lines[0].qty == 2);
    VX_CHECK_STR(arg(&t, 0, "items"), "2 large flat whites");

    /* the pending change survives the store */
    {
        struct vx_dstate st, back;
        struct vx_buf b;
        vx_dstate_init(&st);
        st.state = VX_ST_ORDERING;
        st.pending = pend;
        vx_buf_init(&b);
        VX_CHECK_INT(vx_dstate_json(&st, &b), 0);
        VX_CHECK_INT(vx_dstate_parse(b.data, t.d.cat, &back), 0);
        VX_CHECK(back.pending.edit && strcmp(back.pending.edit_size, "small") == 0);
        vx_buf_release(&b);
    }
}

/* "yes" while the skill asks for a size: the size question again, not "I can't do that". */
static void test_yes_while_asking_size(void)
{
    struct turn t;
    turn_init(&t, VX_ST_ORDERING);
    snprintf(t.st.pending.item.product, sizeof(t.st.pending.item.product), "latte");
    t.st.pending.item.qty = 2;
    t.st.pending.ask = VX_SLOT_SIZE;
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_ASK_SIZE);
    VX_CHECK(cmd(&t, VX_CMD_SAY, 1) == NULL);
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);
}

static void test_unknown_product(void)
{
    struct turn t;
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderIntent", SLOT("product", "pizza") "," SLOT("quantity", "2"));
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_UNKNOWN_PRODUCT);
    VX_CHECK_STR(arg(&t, 0, "heard"), "pizza");
    /* then what is available, and the product slot is asked for */
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_PRODUCT);
    VX_CHECK(strstr(arg(&t, 1, "products"), "hot chocolates") != NULL);
    VX_CHECK_INT(elicited(&t), VX_SLOT_PRODUCT);
    VX_CHECK_INT(new_state(&t), VX_ST_ORDERING);
}

static void test_change_while_confirming(void)
{
    struct turn t;
    const struct vx_cart *c;

    /* "make it three large lattes": a said quantity replaces */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    add_line(&t.st.cart, "espresso", "", 1);
    intent(&t, "OrderIntent",
           SLOT("product", "latte") "," SLOT("quantity", "3") "," SLOT("size", "large"));
    c = new_cart(&t);
    VX_CHECK(c && c->n == 2 && c->lines[0].qty == 3);
    VX_CHECK_STR(arg(&t, 0, "items"), "3 large lattes and 1 espresso");
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);

    /* "three lattes": the size comes from the cart */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "OrderIntent", SLOT("product", "latte") "," SLOT("quantity", "3"));
    c = new_cart(&t);
    VX_CHECK(c && c->n == 1 && c->lines[0].qty == 3 && strcmp(c->lines[0].size, "large") == 0);

    /* "make it three": the last item */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    add_line(&t.st.cart, "espresso", "", 1);
    intent(&t, "OrderIntent", SLOT("quantity", "3"));
    c = new_cart(&t);
    VX_CHECK(c && c->n == 2 && c->lines[0].qty == 2 && c->lines[1].qty == 3);

    /* a correction that needed another turn still replaces */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "cappuccino", "medium", 1);
    intent(&t, "OrderIntent",
           SLOT("product", "cappuccino") "," SLOT("quantity", "?") "," SLOT("size", "medium"));
    VX_CHECK_INT(elicited(&t), VX_SLOT_QUANTITY);
    VX_CHECK(cmd(&t, VX_CMD_SET_PENDING, 0) && cmd(&t, VX_CMD_SET_PENDING, 0)->u.pending.replace);
    t.st.state = VX_ST_ORDERING;
    t.st.pending = cmd(&t, VX_CMD_SET_PENDING, 0)->u.pending;
    intent(&t, "OrderIntent", SLOT("quantity", "4"));
    c = new_cart(&t);
    VX_CHECK(c && c->n == 1 && c->lines[0].qty == 4);

    /* "make it medium": the last item's size */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "OrderIntent", SLOT("size", "medium"));
    c = new_cart(&t);
    VX_CHECK(c && c->n == 1 && strcmp(c->lines[0].size, "medium") == 0);
    VX_CHECK_STR(arg(&t, 0, "total"), "8 euros");
}

static void test_confirm(void)
{
    struct turn t;
    const struct vx_cmd *o, *p;

    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    add_line(&t.st.cart, "espresso", "", 1);
    intent(&t, "AMAZON.YesIntent", NULL);
    o = cmd(&t, VX_CMD_RECORD_ORDER, 0);
    VX_CHECK(o != NULL);
    if (o) {
        VX_CHECK_STR(o->u.order.id, "o20261124-0000000001");
        VX_CHECK_STR(o->u.order.state, "CONFIRMED");
        VX_CHECK_STR(o->u.order.currency, "EUR");
        VX_CHECK_INT(o->u.order.n, 2);
        VX_CHECK_INT(o->u.order.lines[0].unit_price, 450);
        VX_CHECK_INT(o->u.order.lines[0].amount, 900);
        VX_CHECK_INT(o->u.order.total, 1150);
    }
    p = cmd(&t, VX_CMD_SET_PROFILE, 0);
    VX_CHECK(p && (p->u.profile.fields & VX_PF_USUAL) && p->u.profile.usual.n == 2 &&
             strcmp(p->u.profile.last_order, "o20261124-0000000001") == 0);
    VX_CHECK(new_cart(&t) && new_cart(&t)->n == 0);
    VX_CHECK_INT(new_state(&t), VX_ST_DONE);
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_PLACED);
    VX_CHECK(cmd(&t, VX_CMD_CARD, 0) != NULL);
    VX_CHECK(strstr(cmd(&t, VX_CMD_CARD, 0)->u.say.text, "€11.50") != NULL);

    /* NO drops the order and stays */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "AMAZON.NoIntent", NULL);
    VX_CHECK(new_cart(&t) && new_cart(&t)->n == 0);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_CANCELLED);
    VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) == NULL);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
}

static void test_yes_with_nothing(void)
{
    static const enum vx_state states[] = {VX_ST_IDLE, VX_ST_ORDERING, VX_ST_DONE,
                                           VX_ST_SUBSCRIBING};
    for (size_t i = 0; i < VX_ARRAY_LEN(states); i++) {
        struct turn t;
        turn_init(&t, states[i]);
        t.st.pending.ask = VX_SLOT_PRODUCT;
        intent(&t, "AMAZON.YesIntent", NULL);
        VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
        VX_CHECK(said(&t, 0) >= 0);
        VX_CHECK(cmd(&t, VX_CMD_REPROMPT, 0) != NULL);
    }
    {
        struct turn t;
        turn_init(&t, VX_ST_IDLE);
        intent(&t, "AMAZON.YesIntent", NULL);
        VX_CHECK_INT(said(&t, 0), VX_M_YES_NOTHING);
    }
}

static void test_cancel_everywhere(void)
{
    for (int s = 0; s < VX_ST__COUNT; s++) {
        for (int with_cart = 0; with_cart < 2; with_cart++) {
            struct turn t;
            turn_init(&t, (enum vx_state)s);
            if (with_cart)
                add_line(&t.st.cart, "latte", "large", 2);
            if (s == VX_ST_ORDERING)
                t.st.pending.ask = VX_SLOT_PRODUCT;
            intent(&t, "AMAZON.CancelIntent", NULL);
            /* every state answers, and cancelling never records anything */
            VX_CHECK(said(&t, 0) >= 0);
            VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
            if (s == VX_ST_CONFIRMING || (s == VX_ST_IDLE && with_cart)) {
                VX_CHECK_INT(said(&t, 0), VX_M_ORDER_CANCELLED);
                VX_CHECK(new_cart(&t) && new_cart(&t)->n == 0);
                VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) == NULL);
            }
        }
    }
    {
        struct turn t;
        /* in ORDERING, cancel leaves out the item being collected and reads the rest back */
        turn_init(&t, VX_ST_ORDERING);
        add_line(&t.st.cart, "latte", "large", 2);
        snprintf(t.st.pending.item.product, sizeof(t.st.pending.item.product), "cappuccino");
        t.st.pending.ask = VX_SLOT_SIZE;
        intent(&t, "AMAZON.CancelIntent", NULL);
        VX_CHECK_INT(said(&t, 0), VX_M_ORDER_ITEM_DROPPED);
        VX_CHECK_INT(said(&t, 1), VX_M_ORDER_SUMMARY);
        VX_CHECK(cmd(&t, VX_CMD_SET_PENDING, 0) &&
                 cmd(&t, VX_CMD_SET_PENDING, 0)->u.pending.ask < 0);
        /* nothing at all to cancel: cancel leaves, as people use it */
        turn_init(&t, VX_ST_IDLE);
        intent(&t, "AMAZON.CancelIntent", NULL);
        VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) != NULL);
        turn_init(&t, VX_ST_DONE);
        intent(&t, "AMAZON.CancelIntent", NULL);
        VX_CHECK_INT(said(&t, 0), VX_M_ORDER_ALREADY_PLACED);
        turn_init(&t, VX_ST_OFFERING);
        intent(&t, "AMAZON.CancelIntent", NULL);
        VX_CHECK_INT(said(&t, 0), VX_M_USUAL_DECLINED);
        VX_CHECK_INT(new_state(&t), VX_ST_IDLE);
        turn_init(&t, VX_ST_AWAITING_CHARGE);
        intent(&t, "AMAZON.CancelIntent", NULL);
        VX_CHECK_INT(said(&t, 0), VX_M_PAYMENT_PENDING);
    }
}

static void test_usual(void)
{
    struct turn t;
    turn_init(&t, VX_ST_OFFERING);
    add_line(&t.prof.usual, "latte", "large", 2);
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_SUMMARY);
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);

    turn_init(&t, VX_ST_OFFERING);
    add_line(&t.prof.usual, "latte", "large", 2);
    intent(&t, "AMAZON.NoIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_USUAL_DECLINED);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);

    /* "reorder my usual": the usual replaces the cart, read back before anything happens */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "espresso", "", 1);
    add_line(&t.prof.usual, "latte", "large", 2);
    intent(&t, "ReorderIntent", NULL);
    VX_CHECK_STR(arg(&t, 0, "items"), "2 large lattes");
    VX_CHECK(new_cart(&t) && new_cart(&t)->n == 1);

    turn_init(&t, VX_ST_IDLE);
    intent(&t, "ReorderIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_USUAL_NONE);
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_ORDER);
}

/* "How much is that?": the total, then the state's own question; nothing moves. */
static void test_total(void)
{
    static const struct {
        enum vx_state s;
        int ask; /* the message of the state's question */
    } cases[] = {
        {VX_ST_IDLE, VX_M_ASK_ORDER},         {VX_ST_OFFERING, VX_M_ASK_USUAL},
        {VX_ST_CONFIRMING, VX_M_ASK_CONFIRM}, {VX_ST_SUBSCRIBING, VX_M_SUB_ASK_PLAN},
        {VX_ST_DONE, VX_M_ASK_MORE},
    };
    struct turn t;

    for (size_t i = 0; i < VX_ARRAY_LEN(cases); i++) {
        turn_init(&t, cases[i].s);
        add_line(&t.st.cart, "latte", "large", 2);
        add_line(&t.st.cart, "espresso", "", 1);
        if (cases[i].s == VX_ST_OFFERING)
            add_line(&t.prof.usual, "latte", "large", 1);
        intent(&t, "TotalIntent", NULL);
        VX_CHECK_INT(said(&t, 0), VX_M_TOTAL_CONTENTS);
        VX_CHECK_STR(arg(&t, 0, "items"), "2 large lattes and 1 espresso");
        VX_CHECK_STR(arg(&t, 0, "total"), "11 euros and 50 cents");
        VX_CHECK_INT(said(&t, 1), cases[i].ask);
        VX_CHECK_INT(new_state(&t), -1);
        VX_CHECK(new_cart(&t) == NULL);
        VX_CHECK(cmd(&t, VX_CMD_SET_PENDING, 0) == NULL);
        VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
        VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) == NULL);
    }

    /* no cart: said briefly, then what would they like */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "TotalIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_TOTAL_EMPTY);
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_ORDER);
    VX_CHECK_INT(new_state(&t), -1);

    /* the item being collected stays asked for; a payment under way is what every answer says */
    asking_size(&t, "latte");
    add_line(&t.st.cart, "espresso", "", 1);
    intent(&t, "TotalIntent", NULL);
    VX_CHECK_STR(arg(&t, 0, "total"), "2 euros and 50 cents");
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);
    VX_CHECK(cmd(&t, VX_CMD_SET_PENDING, 0) == NULL);
    turn_init(&t, VX_ST_AWAITING_CHARGE);
    intent(&t, "TotalIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_PAYMENT_PENDING);

    /* the column's cells may not move the dialog, whatever their function emits */
    for (int s = 0; s < VX_ST__COUNT; s++) {
        unsigned may = vx_dialog_cell(s, VX_EV_TOTAL)->may;
        VX_CHECK(
            (may & (VX_CK(VX_CMD_NEW_STATE) | VX_CK(VX_CMD_SET_CART) | VX_CK(VX_CMD_SET_PENDING) |
                    VX_CK(VX_CMD_SET_PROFILE) | VX_CK(VX_CMD_RECORD_ORDER))) == 0);
    }
}

static void test_cart_and_remove(void)
{
    struct turn t;

    turn_init(&t, VX_ST_IDLE);
    intent(&t, "CartIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_CART_EMPTY);
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_ORDER);

    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "CartIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_CART_CONTENTS);
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_CONFIRM);
    VX_CHECK_INT(new_state(&t), -1);

    /* the review keeps the question of ORDERING open */
    asking_size(&t, "latte");
    intent(&t, "CartIntent", NULL);
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);

    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    add_line(&t.st.cart, "espresso", "", 1);
    intent(&t, "RemoveItemIntent", SLOT("product", "espresso"));
    VX_CHECK_INT(said(&t, 0), VX_M_CART_REMOVED);
    VX_CHECK_STR(arg(&t, 0, "items"), "1 espresso");
    VX_CHECK_STR(arg(&t, 1, "items"), "2 large lattes");
    VX_CHECK(new_cart(&t) && new_cart(&t)->n == 1);

    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "RemoveItemIntent", SLOT("product", "latte"));
    VX_CHECK_INT(said(&t, 1), VX_M_CART_EMPTY);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);

    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "RemoveItemIntent", SLOT("product", "cappuccino"));
    VX_CHECK_INT(said(&t, 0), VX_M_CART_NOT_IN_CART);
    VX_CHECK(new_cart(&t) == NULL);
}

static void test_checkout(void)
{
    struct turn t;
    turn_init(&t, VX_ST_IDLE);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "CheckoutIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_SUMMARY);
    VX_CHECK_INT(new_state(&t), VX_ST_CONFIRMING);

    turn_init(&t, VX_ST_DONE);
    intent(&t, "CheckoutIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_CART_EMPTY);

    turn_init(&t, VX_ST_ORDERING);
    snprintf(t.st.pending.item.product, sizeof(t.st.pending.item.product), "latte");
    t.st.pending.ask = VX_SLOT_SIZE;
    intent(&t, "CheckoutIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_ORDER_FINISH_ITEM);
    VX_CHECK_INT(elicited(&t), VX_SLOT_SIZE);
}

static void test_status(void)
{
    struct turn t;
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "OrderStatusIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_STATUS_NONE);

    turn_init(&t, VX_ST_DONE);
    t.have_last = 1;
    snprintf(t.last.state, sizeof(t.last.state), "CONFIRMED");
    snprintf(t.last.currency, sizeof(t.last.currency), "EUR");
    add_line(&t.last.lines, "latte", "large", 2);
    t.last.total = 900;
    intent(&t, "OrderStatusIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_STATUS_LAST);
    VX_CHECK_STR(arg(&t, 0, "status"), "confirmed");
    VX_CHECK_STR(arg(&t, 0, "total"), "9 euros");
    VX_CHECK_INT(said(&t, 1), VX_M_ASK_MORE);
}

static void test_builtins(void)
{
    static const struct {
        enum vx_state state;
        enum vx_msg help, fallback;
    } by_state[] = {
        {VX_ST_IDLE, VX_M_HELP_IDLE, VX_M_FALLBACK_IDLE},
        {VX_ST_OFFERING, VX_M_HELP_OFFERING, VX_M_FALLBACK_OFFERING},
        {VX_ST_ORDERING, VX_M_HELP_ORDERING, VX_M_FALLBACK_ORDERING},
        {VX_ST_CONFIRMING, VX_M_HELP_CONFIRMING, VX_M_FALLBACK_CONFIRMING},
        {VX_ST_DONE, VX_M_HELP_DONE, VX_M_FALLBACK_DONE},
    };
    struct turn t;

    for (size_t i = 0; i < VX_ARRAY_LEN(by_state); i++) {
        turn_init(&t, by_state[i].state);
        add_line(&t.st.cart, "latte", "large", 2);
        add_line(&t.prof.usual, "latte", "large", 2);
        t.st.pending.ask = VX_SLOT_PRODUCT;
        intent(&t, "AMAZON.HelpIntent", NULL);
        VX_CHECK_INT(said(&t, 0), by_state[i].help);
        /* help always ends in the state's question, with the session open */
        VX_CHECK(said(&t, 1) >= 0);
        VX_CHECK(cmd(&t, VX_CMD_REPROMPT, 0) != NULL);
        VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) == NULL);
        VX_CHECK_INT(new_state(&t), -1);
        turn_init(&t, by_state[i].state);
        add_line(&t.st.cart, "latte", "large", 2);
        t.st.pending.ask = VX_SLOT_PRODUCT;
        intent(&t, "AMAZON.FallbackIntent", NULL);
        VX_CHECK_INT(said(&t, 0), by_state[i].fallback);
        VX_CHECK(cmd(&t, VX_CMD_REPROMPT, 0) != NULL);
    }
    turn_init(&t, VX_ST_ORDERING);
    t.st.pending.ask = VX_SLOT_PRODUCT;
    intent(&t, "AMAZON.FallbackIntent", NULL);
    VX_CHECK_INT(elicited(&t), VX_SLOT_PRODUCT);

    /* repeat: the last speech again */
    turn_init(&t, VX_ST_CONFIRMING);
    snprintf(t.st.say, sizeof(t.st.say),
             "2 large lattes, that's 9 euros. Shall I place the order?");
    snprintf(t.st.reprompt, sizeof(t.st.reprompt), "Shall I place the order?");
    intent(&t, "AMAZON.RepeatIntent", NULL);
    VX_CHECK(cmd(&t, VX_CMD_SAY_TEXT, 0) != NULL);
    VX_CHECK_STR(cmd(&t, VX_CMD_SAY_TEXT, 0)->u.say.text,
                 "2 large lattes, that's 9 euros. Shall I place the order?");
    VX_CHECK_STR(cmd(&t, VX_CMD_REPROMPT_TEXT, 0)->u.say.text, "Shall I place the order?");
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "AMAZON.RepeatIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_REPEAT_NOTHING);

    /* start over empties the cart */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "AMAZON.StartOverIntent", NULL);
    VX_CHECK(new_cart(&t) && new_cart(&t)->n == 0);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);
    VX_CHECK_INT(said(&t, 0), VX_M_START_OVER);

    /* stop leaves, and keeps the cart */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    intent(&t, "AMAZON.StopIntent", NULL);
    VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) != NULL);
    VX_CHECK(new_cart(&t) == NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_GOODBYE_CART);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);

    /* after "anything else?", no means goodbye */
    turn_init(&t, VX_ST_DONE);
    intent(&t, "AMAZON.NoIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_GOODBYE);
    VX_CHECK(cmd(&t, VX_CMD_END_SESSION, 0) != NULL);

    /* session ended: no speech, the cart stays */
    turn_init(&t, VX_ST_CONFIRMING);
    add_line(&t.st.cart, "latte", "large", 2);
    run(&t, "SessionEndedRequest", NULL, NULL, "en-US");
    VX_CHECK(cmd(&t, VX_CMD_SILENT, 0) != NULL);
    VX_CHECK_INT(said(&t, 0), -1);
    VX_CHECK(new_cart(&t) == NULL);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);
}

static void test_can_fulfill(void)
{
    struct turn t;
    const struct vx_cmd *c;

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "OrderIntent",
        RSLOT("product", "latte", "latte") "," SLOT("quantity", "2") "," SLOT("size", "large"),
        "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c != NULL);
    if (c) {
        VX_CHECK_INT(c->u.cf.intent, VX_CF_YES);
        VX_CHECK_INT(c->u.cf.nslots, 3);
    }
    /* a CanFulfillIntentRequest changes nothing */
    VX_CHECK_INT(t.cmds.n, 1);

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "OrderIntent", SLOT("product", "pizza"), "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c && c->u.cf.intent == VX_CF_NO && c->u.cf.slots[0].understand == VX_CF_NO);

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "OrderIntent",
        SLOT("product", "flat white") "," SLOT("size", "medium"), "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c && c->u.cf.intent == VX_CF_NO);

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "OrderIntent", SLOT("quantity", "2"), "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c && c->u.cf.intent == VX_CF_MAYBE);

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "CartIntent", NULL, "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c && c->u.cf.intent == VX_CF_YES);

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "AMAZON.HelpIntent", NULL, "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c && c->u.cf.intent == VX_CF_NO);

    turn_init(&t, VX_ST_IDLE);
    run(&t, "CanFulfillIntentRequest", "WeatherIntent", NULL, "en-US");
    c = cmd(&t, VX_CMD_CAN_FULFILL, 0);
    VX_CHECK(c && c->u.cf.intent == VX_CF_NO);
}

static void test_payment_states(void)
{
    /* the payments issue's states: nothing can be ordered twice while a payment is out */
    static const enum vx_state states[] = {VX_ST_AWAITING_SETUP, VX_ST_AWAITING_CHARGE};
    for (size_t i = 0; i < VX_ARRAY_LEN(states); i++) {
        struct turn t;
        turn_init(&t, states[i]);
        add_line(&t.st.cart, "latte", "large", 2);
        intent(&t, "OrderIntent", SLOT("product", "espresso"));
        VX_CHECK_INT(said(&t, 0), VX_M_PAYMENT_PENDING);
        VX_CHECK(new_cart(&t) == NULL);
        turn_init(&t, states[i]);
        run(&t, "SessionEndedRequest", NULL, NULL, "en-US");
        VX_CHECK_INT(new_state(&t), -1);
        turn_init(&t, states[i]);
        run(&t, "LaunchRequest", NULL, NULL, "en-US");
        VX_CHECK_INT(said(&t, 0), VX_M_PAYMENT_PENDING);
    }
}

/* The pay link: a QR code of it on a device with APL (and the speech says so), the card on
 * every device; none on a device without APL, nor for a link too long for a screen's code. */
static void test_pay_link_screen(void)
{
    static const char apl[] =
        ",\"device\":{\"deviceId\":\"D\",\"supportedInterfaces\":{"
        "\"Alexa.Presentation.APL\":{\"runtime\":{\"maxVersion\":\"2024.1\"}}}}";
    static const char other[] =
        ",\"device\":{\"deviceId\":\"D\",\"supportedInterfaces\":{\"AudioPlayer\":{}}}";
    static char long_link[300];
    struct vx_pay_result p = {
        VX_PAY_LINK, "o20261124-0000000001", 500, "EUR", "", "https://pay.example/checkout/cs-1", 1,
        NULL};
    static const struct {
        const char *device, *link;
        int code;
    } t[] = {{apl, NULL, 1}, {"", NULL, 0}, {other, NULL, 0}, {apl, long_link, 0}};

    snprintf(long_link, sizeof(long_link), "https://pay.example/checkout/%0214d", 1);
    run_pay = &p;
    for (size_t i = 0; i < VX_ARRAY_LEN(t); i++) {
        struct turn tt;
        const struct vx_cmd *c, *card;
        p.link = t[i].link ? t[i].link : "https://pay.example/checkout/cs-1";
        req_device = t[i].device;
        turn_init(&tt, VX_ST_DONE);
        intent(&tt, "AMAZON.YesIntent", NULL);
        c = cmd(&tt, VX_CMD_SHOW_CODE, 0);
        card = cmd(&tt, VX_CMD_CARD, 0);
        VX_CHECK_INT(c != NULL, t[i].code);
        VX_CHECK_INT(said(&tt, 0), t[i].code ? VX_M_PAY_LINK_SCREEN : VX_M_PAY_LINK);
        VX_CHECK(card && strstr(card->u.say.text, p.link) != NULL);
        VX_CHECK(cmd(&tt, VX_CMD_END_SESSION, 0) != NULL);
        if (!c)
            continue;
        VX_CHECK_STR(c->u.code.data, p.link);
        VX_CHECK_STR(c->u.code.token, "pay-link-o20261124-0000000001");
        VX_CHECK(strstr(c->u.code.title, "Pay ") == c->u.code.title);
        VX_CHECK(strstr(c->u.code.text, "€5.00") != NULL);
    }
    run_pay = NULL;
    req_device = "";
}

/* --- with a real redis-server --- */

static pid_t redis_pid;
static char redis_dir[64], redis_sock[128];

static int redis_start(void)
{
    char log[160];
    char *argv[] = {"redis-server", "--port", "0",     "--unixsocket", redis_sock,  "--save", "",
                    "--appendonly", "no",     "--dir", redis_dir,      "--logfile", log,      NULL};
    struct vx_store_config sc;
    struct vx_err e;

    snprintf(redis_dir, sizeof(redis_dir), "/tmp/vx-fsm-XXXXXX");
    if (!mkdtemp(redis_dir))
        return -1;
    snprintf(redis_sock, sizeof(redis_sock), "%s/redis.sock", redis_dir);
    snprintf(log, sizeof(log), "%s/redis.log", redis_dir);
    if (posix_spawnp(&redis_pid, "redis-server", NULL, NULL, argv, environ) != 0)
        return -1;
    for (int i = 0; i < 200; i++) {
        struct stat sb;
        if (stat(redis_sock, &sb) == 0)
            break;
        nanosleep(&(struct timespec){0, 25000000}, NULL);
    }
    {
        char url[200];
        snprintf(url, sizeof(url), "unix://%s", redis_sock);
        sc.url = url;
        sc.timeout_ms = 500;
        if (vx_store_init(&sc, &e) != 0)
            return -1;
    }
    for (int i = 0; i < 100; i++) {
        if (vx_store_ping(&e) == 0)
            return 0;
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    return -1;
}

static void redis_stop(void)
{
    char path[200];
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
    snprintf(path, sizeof(path), "%s/redis.log", redis_dir);
    unlink(path);
    unlink(redis_sock);
    rmdir(redis_dir);
}

/* One turn through the engine; returns the rc and leaves the response in body. */
static int say(const char *user, const char *locale, const char *type, const char *intent_name,
               const char *slots, struct vx_buf *body)
{
    struct vx_request r;
    struct vx_err e;
    int rc;
    body->len = 0;
    if (make_req(&r, user, type, intent_name, slots, locale) != 0)
        return VX_EPARSE;
    vx_err_clear(&e);
    rc = vx_fsm_handle(fsm, &r, body, NULL, &e);
    if (rc == 0 && vx_buf_append(body, "", 1) == 0)
        body->len--;
    vx_request_release(&r);
    return rc;
}

static int body_has(const struct vx_buf *b, const char *s)
{
    int ok = b->data && strstr(b->data, s) != NULL;
    if (!ok)
        fprintf(stderr, "response lacks '%s': %s\n", s, b->data ? b->data : "(empty)");
    return ok;
}

static void test_store_conversation(void)
{
    struct vx_buf b;
    struct vx_conv conv;
    struct vx_err e;
    char **ids = NULL, *order = NULL;
    size_t n = 0;
    const char *u = "conversation";

    vx_buf_init(&b);
    VX_CHECK_INT(say(u, "en-GB", "LaunchRequest", NULL, NULL, &b), 0);
    VX_CHECK(body_has(&b, "Welcome to Corner Coffee!"));
    VX_CHECK(body_has(&b, "\"shouldEndSession\":false"));
    VX_CHECK_INT(
        say(u, "en-GB", "IntentRequest", "OrderIntent",
            RSLOT("product", "lattes", "latte") "," SLOT("quantity", "2") "," SLOT("size", "large"),
            &b),
        0);
    VX_CHECK(body_has(&b, "2 large lattes, that&apos;s 9 euros. Shall I place the order?"));
    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "OrderIntent", SLOT("product", "espresso"), &b),
                 0);
    VX_CHECK(body_has(&b, "2 large lattes and 1 espresso, that&apos;s 11 euros 50. Shall I place "
                          "the order?"));
    /* elicitation: a directive naming the slot, with what is known so far */
    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "OrderIntent", SLOT("product", "cappuccino"), &b),
                 0);
    VX_CHECK(body_has(&b, "\"type\":\"Dialog.ElicitSlot\",\"slotToElicit\":\"size\""));
    VX_CHECK(body_has(&b, "\"value\":\"cappuccino\""));
    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "AMAZON.CancelIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "OK, I&apos;ve left that out."));
    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "AMAZON.RepeatIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "OK, I&apos;ve left that out. 2 large lattes and 1 espresso"));
    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "AMAZON.YesIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "Done! I&apos;ve placed your order for 2 large lattes and 1 espresso, "
                          "that&apos;s 11 euros 50."));
    VX_CHECK(body_has(&b, "\"card\":{\"type\":\"Simple\""));

    /* the order is in Redis with the state payments takes over from */
    VX_CHECK_INT(vx_store_orders_recent("amzn1.ask.skill.unit", u, 5, &ids, &n, &e), 0);
    VX_CHECK_INT(n, 1);
    if (n == 1) {
        VX_CHECK_INT(vx_store_order_get("amzn1.ask.skill.unit", u, ids[0], &order, &e), 0);
        VX_CHECK(order && strstr(order, "\"state\":\"CONFIRMED\"") != NULL);
        VX_CHECK(order && strstr(order, "\"total\":1150") != NULL);
        VX_CHECK(order && strstr(order, "\"currency\":\"EUR\"") != NULL);
        free(order);
    }
    vx_store_strings_free(ids, n);
    VX_CHECK_INT(vx_store_load("amzn1.ask.skill.unit", u, &conv, &e), 0);
    VX_CHECK(conv.profile && strstr(conv.profile, "\"usual\":[{\"product\":\"latte\"") != NULL);
    VX_CHECK(conv.state && strstr(conv.state, "\"state\":\"DONE\"") != NULL);
    vx_conv_release(&conv);

    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "OrderStatusIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "Your last order was 2 large lattes and 1 espresso, for 11 euros 50. "
                          "It&apos;s confirmed."));
    VX_CHECK_INT(say(u, "en-GB", "IntentRequest", "AMAZON.NoIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "\"shouldEndSession\":true"));

    /* next time: the usual */
    VX_CHECK_INT(say(u, "en-GB", "LaunchRequest", NULL, NULL, &b), 0);
    VX_CHECK(body_has(&b, "Welcome back. Your usual, 2 large lattes and 1 espresso?"));
    vx_buf_release(&b);
}

static void test_store_session_end_keeps_cart(void)
{
    struct vx_buf b;
    const char *u = "keeper";
    vx_buf_init(&b);
    VX_CHECK_INT(say(u, "de-DE", "IntentRequest", "OrderIntent",
                     SLOT("product", "Kakao") "," SLOT("size", "klein"), &b),
                 0);
    VX_CHECK(body_has(&b, "eine kleine heiße Schokolade, das macht 3 Euro 30."));
    VX_CHECK_INT(say(u, "de-DE", "SessionEndedRequest", NULL, NULL, &b), 0);
    VX_CHECK(body_has(&b, "{\"version\":\"1.0\",\"response\":{}}"));
    VX_CHECK_INT(say(u, "de-DE", "LaunchRequest", NULL, NULL, &b), 0);
    VX_CHECK(body_has(&b, "Willkommen zurück. Du hast noch eine kleine heiße Schokolade im "
                          "Warenkorb, das macht 3 Euro 30. Soll ich die Bestellung aufgeben?"));
    vx_buf_release(&b);
}

static void test_store_can_fulfill_writes_nothing(void)
{
    struct vx_buf b;
    struct vx_conv conv;
    struct vx_err e;
    const char *u = "asker";
    vx_buf_init(&b);
    VX_CHECK_INT(say(u, "en-US", "CanFulfillIntentRequest", "OrderIntent",
                     RSLOT("product", "latte", "latte") "," SLOT("size", "large"), &b),
                 0);
    VX_CHECK(body_has(&b, "\"canFulfillIntent\":{\"canFulfill\":\"YES\",\"slots\":{"));
    VX_CHECK(body_has(&b, "\"product\":{\"canUnderstand\":\"YES\",\"canFulfill\":\"YES\"}"));
    VX_CHECK_INT(vx_store_load("amzn1.ask.skill.unit", u, &conv, &e), 0);
    VX_CHECK_INT(conv.version, 0);
    VX_CHECK(conv.state == NULL && conv.profile == NULL);
    vx_conv_release(&conv);
    vx_buf_release(&b);
}

/* A second writer: bumps the conversation's version before the engine writes. */
static int interfere_left;

static void interfere(void *ud)
{
    struct vx_conv c;
    struct vx_err e;
    const char *user = ud;
    if (interfere_left <= 0)
        return;
    interfere_left--;
    if (vx_store_load("amzn1.ask.skill.unit", user, &c, &e) == 0) {
        struct vx_wset w;
        vx_wset_init(&w, "amzn1.ask.skill.unit", user);
        vx_wset_conv(&w, c.version, c.state ? c.state : "{}", 60);
        vx_store_write(&w, &e);
        vx_wset_release(&w);
        vx_conv_release(&c);
    }
}

static void test_store_conflict(void)
{
    struct vx_buf b;
    struct vx_conv conv;
    struct vx_err e;
    char **ids = NULL;
    size_t n = 0;
    const char *u = "racer";
    uint64_t v;

    vx_buf_init(&b);
    VX_CHECK_INT(say(u, "en-US", "IntentRequest", "OrderIntent",
                     SLOT("product", "espresso") "," SLOT("quantity", "2"), &b),
                 0);
    /* one concurrent write: the turn loads again, runs again and wins */
    vx_fsm_set_save_hook(fsm, interfere, (void *)u);
    interfere_left = 1;
    VX_CHECK_INT(say(u, "en-US", "IntentRequest", "AMAZON.YesIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "Done! I&apos;ve placed your order for 2 espressos"));
    VX_CHECK_INT(interfere_left, 0);
    VX_CHECK_INT(vx_store_orders_recent("amzn1.ask.skill.unit", u, 5, &ids, &n, &e), 0);
    VX_CHECK_INT(n, 1);
    vx_store_strings_free(ids, n);

    /* it loses twice: nothing is written and the customer is asked to say it again */
    VX_CHECK_INT(say(u, "en-US", "IntentRequest", "OrderIntent", SLOT("product", "espresso"), &b),
                 0);
    VX_CHECK_INT(vx_store_load("amzn1.ask.skill.unit", u, &conv, &e), 0);
    v = conv.version;
    vx_conv_release(&conv);
    interfere_left = 2;
    VX_CHECK_INT(say(u, "en-US", "IntentRequest", "AMAZON.YesIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "Sorry, I didn&apos;t catch that. Please say that again."));
    VX_CHECK(body_has(&b, "\"shouldEndSession\":false"));
    VX_CHECK_INT(vx_store_orders_recent("amzn1.ask.skill.unit", u, 5, &ids, &n, &e), 0);
    VX_CHECK_INT(n, 1);
    vx_store_strings_free(ids, n);
    VX_CHECK_INT(vx_store_load("amzn1.ask.skill.unit", u, &conv, &e), 0);
    /* only the interfering writes happened; the conversation still waits for yes */
    VX_CHECK(conv.version != v);
    VX_CHECK(conv.state && strstr(conv.state, "\"state\":\"CONFIRMING\"") != NULL);
    vx_conv_release(&conv);
    vx_fsm_set_save_hook(fsm, NULL, NULL);

    /* saying it again then works */
    VX_CHECK_INT(say(u, "en-US", "IntentRequest", "AMAZON.YesIntent", NULL, &b), 0);
    VX_CHECK(body_has(&b, "Done!"));
    vx_buf_release(&b);
}

static void test_store_down(void)
{
    struct vx_buf b;
    vx_buf_init(&b);
    redis_stop();
    VX_CHECK_INT(say("down", "en-US", "LaunchRequest", NULL, NULL, &b), VX_ESTORE);
    /* a stateless request does not need the store */
    VX_CHECK_INT(say("down", "en-US", "CanFulfillIntentRequest", "CartIntent", NULL, &b), 0);
    vx_buf_release(&b);
}

/* --- subscribing (subscribe.c) --- */

#define HOUSE_BLEND "\"plan\":{\"name\":\"plan\",\"value\":\"house blend\"}"
#define EVERY_TWO_WEEKS                                                                            \
    ",\"frequency\":{\"name\":\"frequency\",\"value\":\"every two weeks\",\"resolutions\":{"       \
    "\"resolutionsPerAuthority\":[{\"authority\":\"x.FREQUENCY\",\"status\":{\"code\":"            \
    "\"ER_SUCCESS_MATCH\"},\"values\":[{\"value\":{\"name\":\"every two weeks\",\"id\":"           \
    "\"week_2\"}}]}]}}"

static const struct vx_cmd *sub_cmd(const struct turn *t, enum vx_cmd_type type)
{
    return cmd(t, type, 0);
}

static void test_subscribe_choose(void)
{
    struct turn t;
    const struct vx_cmd *c;
    /* "house blend": two plans share the name, so the skill asks which */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "SubscribeIntent", HOUSE_BLEND);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_ASK_PLAN);
    VX_CHECK_INT(new_state(&t), VX_ST_SUBSCRIBING);
    VX_CHECK(cmd(&t, VX_CMD_ELICIT_SLOT, 0) != NULL);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) == NULL);
    /* with the interval: the summary, and the plan kept for the yes */
    turn_init(&t, VX_ST_SUBSCRIBING);
    intent(&t, "SubscribeIntent", HOUSE_BLEND EVERY_TWO_WEEKS);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_SUMMARY);
    c = cmd(&t, VX_CMD_SAY, 0);
    VX_CHECK_STR(c ? vx_cmd_arg(c, "amount") : NULL, "11 euros and 90 cents");
    VX_CHECK_STR(c ? vx_cmd_arg(c, "every") : NULL, "every 2 weeks");
    VX_CHECK_STR(c ? vx_cmd_arg(c, "first") : NULL, "today");
    c = sub_cmd(&t, VX_CMD_SET_SUB);
    VX_CHECK_STR(c ? c->u.sub.plan : NULL, "house_blend_fortnightly");
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) == NULL);
    /* a plan the shop does not have */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "SubscribeIntent", "\"plan\":{\"name\":\"plan\",\"value\":\"green tea\"}");
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_UNKNOWN_PLAN);
    /* the trial's summary: the first charge after it, on its date */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "SubscribeIntent", "\"plan\":{\"name\":\"plan\",\"value\":\"espresso club\"}");
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_SUMMARY_TRIAL);
    c = cmd(&t, VX_CMD_SAY, 0);
    {
        char want[32];
        struct vx_date d = vx_civil_from_days(1795000000 / 86400 + 14);
        static const char *const months[] = {"January",   "February", "March",    "April",
                                             "May",       "June",     "July",     "August",
                                             "September", "October",  "November", "December"};
        snprintf(want, sizeof(want), "%s %d", months[d.m - 1], d.d);
        VX_CHECK_STR(c ? vx_cmd_arg(c, "first") : NULL, want);
    }
}

static void test_subscribe_yes(void)
{
    struct turn t;
    const struct vx_cmd *c;
    /* a plan without a trial: the subscription, its first cycle as an order, paid */
    turn_init(&t, VX_ST_SUBSCRIBING);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "house_blend_fortnightly");
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK_INT(vx_fsm_police(&t.d, vx_dialog_cell(VX_ST_SUBSCRIBING, VX_EV_YES)->may, &t.cmds),
                 0);
    c = sub_cmd(&t, VX_CMD_SUBSCRIBE);
    VX_CHECK_STR(c ? c->u.sub.plan : NULL, "house_blend_fortnightly");
    c = cmd(&t, VX_CMD_RECORD_ORDER, 0);
    VX_CHECK_STR(c ? c->u.order.id : NULL, "sub_test00000001-1");
    VX_CHECK(c && c->u.order.total == 1190 && c->u.order.n == 1);
    VX_CHECK_STR(c ? c->u.order.currency : NULL, "EUR");
    VX_CHECK(cmd(&t, VX_CMD_PAY, 0) != NULL);
    /* a trial without a saved permission: made, and the engine asks the buyer to approve its
     * terms on a pay link; nothing is recorded to be paid */
    turn_init(&t, VX_ST_SUBSCRIBING);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "espresso_club");
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) != NULL);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL && cmd(&t, VX_CMD_PAY, 0) == NULL);
    c = sub_cmd(&t, VX_CMD_SET_SUB);
    VX_CHECK_STR(c ? c->u.sub.plan : NULL, "espresso_club"); /* for the payment cell */
    /* ... with one: the trial starts, nothing is charged */
    turn_init(&t, VX_ST_SUBSCRIBING);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "espresso_club");
    snprintf(t.prof.permission, sizeof(t.prof.permission), "B01-0000000-0000001");
    snprintf(t.prof.permission_status, sizeof(t.prof.permission_status), "Chargeable");
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_STARTED_TRIAL);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) != NULL);
    VX_CHECK(cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL && cmd(&t, VX_CMD_PAY, 0) == NULL);
    /* no: nothing */
    turn_init(&t, VX_ST_SUBSCRIBING);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "espresso_club");
    intent(&t, "AMAZON.NoIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_NOT_STARTED);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) == NULL);
    VX_CHECK_INT(new_state(&t), VX_ST_IDLE);
}

static struct vx_sub_view view(const char *id, const char *plan, const char *status)
{
    struct vx_sub_view v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "%s", id);
    snprintf(v.plan, sizeof(v.plan), "%s", plan);
    snprintf(v.status, sizeof(v.status), "%s", status);
    v.amount = 1190;
    memcpy(v.currency, "EUR", 4);
    snprintf(v.unit, sizeof(v.unit), "week");
    v.count = 2;
    v.cycle = 2;
    v.anchor = (struct vx_date){2026, 12, 2};
    v.next = (struct vx_date){2026, 12, 16};
    v.after = (struct vx_date){2026, 12, 30};
    return v;
}

static void test_subscriptions_by_voice(void)
{
    struct vx_sub_view subs[2] = {view("sub_aaaaaaaaaaaa", "house_blend_fortnightly", "active"),
                                  view("sub_bbbbbbbbbbbb", "espresso_club", "paused")};
    struct turn t;
    const struct vx_cmd *c;
    run_subs = subs;
    run_nsubs = 2;
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "SubscriptionStatusIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_LIST);
    c = cmd(&t, VX_CMD_SAY, 0);
    VX_CHECK(c && strstr(vx_cmd_arg(c, "list"), "next charged on December 16") != NULL);
    VX_CHECK(c && strstr(vx_cmd_arg(c, "list"), "espresso club every 2 weeks, which is paused"));
    VX_CHECK_INT(vx_fsm_police(&t.d, vx_dialog_cell(VX_ST_IDLE, VX_EV_SUBSCRIPTIONS)->may, &t.cmds),
                 0);
    /* two: "pause" asks which */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "PauseSubscriptionIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_WHICH);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUB_CHANGE) == NULL);
    VX_CHECK(cmd(&t, VX_CMD_ELICIT_SLOT, 0) != NULL);
    /* named: paused */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "PauseSubscriptionIntent", HOUSE_BLEND);
    c = sub_cmd(&t, VX_CMD_SUB_CHANGE);
    VX_CHECK_STR(c ? c->u.sub.target : NULL, "sub_aaaaaaaaaaaa");
    VX_CHECK(c && c->u.sub.change == VX_SA_PAUSE);
    VX_CHECK_INT(vx_fsm_police(&t.d, vx_dialog_cell(VX_ST_IDLE, VX_EV_PAUSE_SUB)->may, &t.cmds), 0);
    /* one subscription only: skip needs no name; skipped on its date, the next named */
    run_nsubs = 1;
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "SkipSubscriptionIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_SKIPPED);
    c = cmd(&t, VX_CMD_SAY, 0);
    VX_CHECK_STR(c ? vx_cmd_arg(c, "skipped") : NULL, "December 16");
    VX_CHECK_STR(c ? vx_cmd_arg(c, "next") : NULL, "December 30");
    c = sub_cmd(&t, VX_CMD_SUB_CHANGE);
    VX_CHECK(c && c->u.sub.change == VX_SA_SKIP);
    /* a charge in flight is not skipped */
    subs[0].in_flight = 1;
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "SkipSubscriptionIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_BUSY);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUB_CHANGE) == NULL);
    subs[0].in_flight = 0;
    /* cancel asks first; yes cancels, no keeps it */
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "CancelSubscriptionIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_CONFIRM_CANCEL);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUB_CHANGE) == NULL);
    VX_CHECK_INT(new_state(&t), VX_ST_SUBSCRIBING);
    c = sub_cmd(&t, VX_CMD_SET_SUB);
    VX_CHECK(c && c->u.sub.change == VX_SA_CANCEL + 1);
    turn_init(&t, VX_ST_SUBSCRIBING);
    snprintf(t.st.sub_target, sizeof(t.st.sub_target), "sub_aaaaaaaaaaaa");
    t.st.sub_change = VX_SA_CANCEL + 1;
    intent(&t, "AMAZON.YesIntent", NULL);
    c = sub_cmd(&t, VX_CMD_SUB_CHANGE);
    VX_CHECK(c && c->u.sub.change == VX_SA_CANCEL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_CANCELED);
    turn_init(&t, VX_ST_SUBSCRIBING);
    snprintf(t.st.sub_target, sizeof(t.st.sub_target), "sub_aaaaaaaaaaaa");
    t.st.sub_change = VX_SA_CANCEL + 1;
    intent(&t, "AMAZON.NoIntent", NULL);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUB_CHANGE) == NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_KEPT);
    /* resume: the next charge from today's date */
    turn_init(&t, VX_ST_IDLE);
    snprintf(subs[0].status, sizeof(subs[0].status), "paused");
    intent(&t, "ResumeSubscriptionIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_RESUMED);
    c = sub_cmd(&t, VX_CMD_SUB_CHANGE);
    VX_CHECK(c && c->u.sub.change == VX_SA_RESUME);
    /* none */
    run_nsubs = 0;
    turn_init(&t, VX_ST_IDLE);
    intent(&t, "PauseSubscriptionIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_NONE);
    run_subs = NULL;
}

/* A plan from the shop's voice-code amount asks for the customer's code first, as an order. */
static void test_subscribe_voice_code(void)
{
    struct vx_catalog *c = (struct vx_catalog *)cat;
    int64_t threshold = c->voice_code_threshold;
    const struct vx_cmd *k;
    struct turn t;
    c->voice_code_threshold = 1000;
#define WITH_CODE(t)                                                                               \
    do {                                                                                           \
        snprintf((t).prof.voice_code, sizeof((t).prof.voice_code), "pbkdf2$stored");               \
        snprintf((t).prof.permission, sizeof((t).prof.permission), "B01-0000000-0000001");         \
        snprintf((t).prof.permission_status, sizeof((t).prof.permission_status), "Chargeable");    \
    } while (0)
    turn_init(&t, VX_ST_SUBSCRIBING);
    WITH_CODE(t);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "house_blend_weekly");
    intent(&t, "AMAZON.YesIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_VCODE_ASK_SUB);
    VX_CHECK_INT(new_state(&t), VX_ST_VOICE_CODE);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) == NULL && cmd(&t, VX_CMD_RECORD_ORDER, 0) == NULL);
    /* the right code: subscribed, the first cycle recorded and paid */
    turn_init(&t, VX_ST_VOICE_CODE);
    WITH_CODE(t);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "house_blend_weekly");
    run_vcode = 1;
    intent(&t, "VoiceCodeIntent", "\"code\":{\"name\":\"code\",\"value\":\"4821\"}");
    VX_CHECK_INT(
        vx_fsm_police(&t.d, vx_dialog_cell(VX_ST_VOICE_CODE, VX_EV_VOICE_CODE)->may, &t.cmds), 0);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) != NULL && cmd(&t, VX_CMD_PAY, 0) != NULL);
    k = cmd(&t, VX_CMD_RECORD_ORDER, 0);
    VX_CHECK_STR(k ? k->u.order.id : NULL, "sub_test00000001-1");
    /* the third wrong code locks voice purchases: back to the plan's summary */
    turn_init(&t, VX_ST_VOICE_CODE);
    WITH_CODE(t);
    t.prof.voice_code_failures = 2;
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "house_blend_weekly");
    run_vcode = 0;
    intent(&t, "VoiceCodeIntent", "\"code\":{\"name\":\"code\",\"value\":\"1111\"}");
    VX_CHECK_INT(said(&t, 0), VX_M_VCODE_LOCKED);
    VX_CHECK_INT(new_state(&t), VX_ST_SUBSCRIBING);
    VX_CHECK(sub_cmd(&t, VX_CMD_SUBSCRIBE) == NULL);
    /* no: nothing is started, and a cart waiting meanwhile stays */
    turn_init(&t, VX_ST_VOICE_CODE);
    WITH_CODE(t);
    add_line(&t.st.cart, "latte", "large", 1);
    snprintf(t.st.sub_plan, sizeof(t.st.sub_plan), "house_blend_weekly");
    run_vcode = -1;
    intent(&t, "AMAZON.NoIntent", NULL);
    VX_CHECK_INT(said(&t, 0), VX_M_SUB_NOT_STARTED);
    VX_CHECK(new_cart(&t) == NULL);
#undef WITH_CODE
    c->voice_code_threshold = threshold;
}

/* Only the subscription cells may make or change one: any other cell that tries is refused. */
static void test_sub_masks(void)
{
    for (int s = 0; s < VX_ST__COUNT; s++) {
        for (int ev = 0; ev < VX_EV__COUNT; ev++) {
            const struct vx_cell *c = &vx_dialog_table[s][ev];
            int change = (c->may & VX_CK(VX_CMD_SUB_CHANGE)) != 0,
                make = (c->may & VX_CK(VX_CMD_SUBSCRIBE)) != 0;
            int may_change = ev == VX_EV_PAUSE_SUB || ev == VX_EV_RESUME_SUB ||
                             ev == VX_EV_SKIP_SUB || (s == VX_ST_SUBSCRIBING && ev == VX_EV_YES);
            vxt_checks++;
            if (change != (may_change && c->fn != vx_st_payment_pending) ||
                make != ((s == VX_ST_SUBSCRIBING && ev == VX_EV_YES) ||
                         (s == VX_ST_VOICE_CODE && ev == VX_EV_VOICE_CODE))) {
                vxt_failed++;
                fprintf(stderr, "cell %s/%s has the wrong mask for subscriptions\n",
                        vx_state_name((enum vx_state)s), vx_event_name(ev));
            }
        }
    }
}

int main(void)
{
    struct vx_fsm_config fc = {
        &vx_coffee_skill, VX_SOURCE_DIR "/intents", NULL, 0, NULL, 0, NULL, NULL, 0};
    struct vx_err e;

    /* as in voxcartd: a write to a Redis that went away is an error, not a signal */
    signal(SIGPIPE, SIG_IGN);
    vx_err_clear(&e);
    if (vx_fsm_new(&fc, &fsm, &e) != 0) {
        fprintf(stderr, "cannot load the dialog: %s\n", e.msg);
        return 1;
    }
    cat = vx_fsm_catalog(fsm);
    VX_RUN(test_subscribe_choose);
    VX_RUN(test_subscribe_yes);
    VX_RUN(test_subscriptions_by_voice);
    VX_RUN(test_subscribe_voice_code);
    VX_RUN(test_sub_masks);
    VX_RUN(test_table_complete);
    VX_RUN(test_intents_handled);
    VX_RUN(test_messages_complete);
    VX_RUN(test_classify);
    VX_RUN(test_gates);
    VX_RUN(test_cmds_overflow);
    VX_RUN(test_documents);
    VX_RUN(test_launch);
    VX_RUN(test_order_complete);
    VX_RUN(test_order_elicitation);
    VX_RUN(test_size_change_not_sold);
    VX_RUN(test_yes_while_asking_size);
    VX_RUN(test_mask_refuses_other_yes_cells);
    VX_RUN(test_turn_write_set);
    VX_RUN(test_unknown_product);
    VX_RUN(test_change_while_confirming);
    VX_RUN(test_confirm);
    VX_RUN(test_yes_with_nothing);
    VX_RUN(test_cancel_everywhere);
    VX_RUN(test_usual);
    VX_RUN(test_cart_and_remove);
    VX_RUN(test_total);
    VX_RUN(test_checkout);
    VX_RUN(test_status);
    VX_RUN(test_builtins);
    VX_RUN(test_can_fulfill);
    VX_RUN(test_payment_states);
    VX_RUN(test_pay_link_screen);
    if (redis_start() == 0) {
        VX_RUN(test_store_conversation);
        VX_RUN(test_store_session_end_keeps_cart);
        VX_RUN(test_store_can_fulfill_writes_nothing);
        VX_RUN(test_store_conflict);
        VX_RUN(test_store_down);
    } else {
        vxt_failed++;
        fprintf(stderr, "FAIL cannot start redis-server for the store tests\n");
    }
    redis_stop();
    vx_store_shutdown();
    vx_fsm_free(fsm);
    return VX_DONE();
}
