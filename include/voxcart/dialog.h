/*
 * The dialog engine's types (DESIGN section 4): what a skill hands the engine
 * and what its state functions return. The engine (src/core) owns the command
 * list, the cell and row types, the conversation and order documents it
 * carries between store and skill, and struct vx_skill; a skill (intents/)
 * defines its states, events and messages as its own enums and hands the
 * engine its table, rows, messages and codecs through struct vx_skill. The
 * engine knows states, events and messages only as the skill's numbers.
 *
 * A state function is called for one (state, event) cell of the table. It reads
 * the request, the loaded conversation state and profile, the catalog and the
 * locale's messages, and appends commands to a list; it does no I/O and changes
 * nothing else. The engine carries the commands out: one atomic write set, then
 * the response. A unit test can therefore run any cell and assert the command
 * list without a store.
 */
#ifndef VOXCART_DIALOG_H
#define VOXCART_DIALOG_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/calendar.h"
#include "voxcart/catalog.h"
#include "voxcart/envelope.h"
#include "voxcart/i18n.h"

/* --- what an event declares: the engine enforces it and loads what it reads --- */

/* Flags of an event, enforced by the engine before the state function runs; the VX_IF_READ_*
 * ones name what the engine loads for it, beside the conversation and the profile. */
enum vx_intent_flag {
    VX_IF_BUILTIN = 1 << 0,    /* AMAZON.*: the platform supplies its samples */
    VX_IF_FULFILL = 1 << 1,    /* a CanFulfillIntentRequest for it may be answered YES */
    VX_IF_NEEDS_LINK = 1 << 3, /* answered only for a linked account (user.accessToken) */
    /* reads the customer's last order (struct vx_dialog.last_order) */
    VX_IF_READ_LAST_ORDER = 1 << 4,
    VX_IF_STATELESS = 1 << 5, /* neither loads nor writes a conversation (CanFulfill, events) */
    /* reads the order whose payment the customer last heard was not finished yet (profile
     * member pay_untold), so the answer can tell what it came to (struct vx_dialog.news) */
    VX_IF_READ_NEWS = 1 << 6,
    /* the engine checks the slot "code" against the profile's voice code (vcode.h) before
     * the cell runs (struct vx_dialog.vcode): the cell never sees the stored form */
    VX_IF_VOICE_CODE = 1 << 7,
    /* a Connections.Response: the engine reads the order its token names and settles it
     * (the platform's payment rail, platform.h) before the cell speaks the outcome */
    VX_IF_READ_CONNECTION = 1 << 8,
    /* reads the customer's subscriptions (struct vx_dialog.subs) */
    VX_IF_READ_SUBS = 1 << 9,
};

/* A message the skill speaks: its key in the messages files and the placeholders it fills. */
struct vx_msg_def {
    const char *key;
    const char *args; /* the placeholders the dialog fills, space-separated */
};
/* --- the conversation state --- */

#define VX_ID_MAX   48
#define VX_CART_MAX 10 /* lines in one order */
#define VX_QTY_MAX  20 /* of one line */
#define VX_TEXT_MAX 2048

struct vx_line {
    char product[VX_ID_MAX];
    char size[VX_ID_MAX]; /* "" for a product without sizes, or not yet known */
    int qty;              /* 0 = not yet known */
};

struct vx_cart {
    struct vx_line lines[VX_CART_MAX];
    size_t n;
};

/* The item being collected in ORDERING and the slot asked for. */
struct vx_pending {
    struct vx_line item;
    int ask;     /* a VX_SLOT_* being elicited, or -1 */
    int replace; /* started while confirming: a said quantity replaces the cart's */
    /* a change of a line already in the cart ("make it medium" when that size is not
     * sold): the line of this product in edit_size is changed when the item is complete,
     * instead of another line being added */
    int edit;
    char edit_size[VX_ID_MAX];
};

struct vx_dstate {
    int state; /* the skill's state (its enum) */
    struct vx_cart cart;
    struct vx_pending pending;
    /* an order whose first charge was soft-declined: yes (in CONFIRMING) tries it once more,
     * with a new attempt and key; kept by the engine only while the state stays CONFIRMING */
    char pay_retry[VX_ID_MAX];
    /* subscribing (the skill's subscription states): the plan whose summary was read out, or
     * the subscription a question is about and the change it waits a yes for (0 none) */
    char sub_plan[VX_ID_MAX];
    char sub_target[VX_ID_MAX];
    int sub_change;
    char say[VX_TEXT_MAX]; /* the last speech, for AMAZON.RepeatIntent */
    char reprompt[VX_TEXT_MAX];
};

/* What the dialog knows of the profile (the document may hold more: payments keeps its own). */
struct vx_profile {
    int exists;
    char locale[16];
    struct vx_cart usual;
    char last_order[VX_ID_MAX];
    /* the saved billing agreement (member "billing_agreement", written by the engine's payment
     * code, voxcart/pay.h): the provider's charge permission and whether it can be charged */
    char permission[64];
    char permission_status[24]; /* Chargeable, NonChargeable, Closed; "" = none saved */
    int permission_live;        /* made at the provider's live endpoints (else the sandbox's) */
    /* the order the customer last heard "your payment is being processed" about (member
     * pay_untold, written by the engine): the next launch tells what it came to */
    char pay_untold[VX_ID_MAX];
    /* the voice code (vcode.h): its stored form ("" = none set), wrong codes in a row, and
     * whether three of them locked voice purchases (until a new code is set) */
    char voice_code[256];
    int voice_code_failures;
    int voice_code_locked;
    /* the platform rail's billing agreement (member "platform_agreement", written by the
     * engine): its ID and status (OPEN can be charged; SUSPENDED, CLOSED, ... cannot) */
    char platform_agreement[64];
    char platform_agreement_status[16];
};

/* The customer's last order as recorded (loaded for VX_IF_READ_LAST_ORDER intents). */
struct vx_order_view {
    char id[VX_ID_MAX];
    char state[32];
    struct vx_cart lines;
    int64_t total;
    char currency[4];
};

/* A subscription of the customer's as the dialog sees it (loaded for VX_IF_READ_SUBS). */
#define VX_SUBS_MAX 6
struct vx_sub_view {
    char id[VX_ID_MAX];
    char plan[VX_ID_MAX];
    char status[16]; /* trialing, active, past_due, paused, canceled */
    int in_flight;   /* a charge of the current cycle is under way */
    int64_t amount;
    char currency[4];
    char unit[8]; /* day, week, month, year */
    int count;
    int64_t cycle;         /* the cycle billed next */
    struct vx_date anchor; /* the first billed day: the calendar counts from it */
    struct vx_date next;   /* the date of the cycle billed next */
    struct vx_date after;  /* the date of the one after it (what a skip moves on to) */
};

/* --- commands --- */

enum vx_cmd_type {
    VX_CMD_SAY,           /* msg + args */
    VX_CMD_SAY_TEXT,      /* text as is (Repeat) */
    VX_CMD_REPROMPT,      /* msg + args */
    VX_CMD_REPROMPT_TEXT, /* text as is */
    VX_CMD_CARD,          /* title msg + text, rendered */
    VX_CMD_ELICIT_SLOT,   /* Dialog.ElicitSlot: which intent's slot, and what is known so far */
    VX_CMD_NEW_STATE,     /* state */
    VX_CMD_SET_CART,      /* cart */
    VX_CMD_SET_PENDING,   /* pending */
    VX_CMD_SET_PROFILE,   /* profile changes */
    VX_CMD_RECORD_ORDER,  /* order: written atomically with the state */
    VX_CMD_CAN_FULFILL,   /* the answer to a CanFulfillIntentRequest */
    VX_CMD_END_SESSION,
    VX_CMD_SILENT,     /* no speech at all (SessionEndedRequest) */
    VX_CMD_PAY,        /* pay for the order this turn records (the engine's payment rail) */
    VX_CMD_SHOW_CODE,  /* a QR code of a link on the device's screen (an APL document) */
    VX_CMD_SET_SUB,    /* the subscribing members of the state (sub_plan, sub_target, ...) */
    VX_CMD_SUBSCRIBE,  /* subscribe the customer to a plan (the engine writes it) */
    VX_CMD_SUB_CHANGE, /* change one of the customer's subscriptions (sub.h's rules) */
};

#define VX_CMD_ARGS 6
#define VX_CMDS_MAX 24

enum vx_cf_answer { VX_CF_NO, VX_CF_MAYBE, VX_CF_YES };

struct vx_can_fulfill {
    enum vx_cf_answer intent;
    struct {
        const char *name;
        enum vx_cf_answer understand, fulfill;
    } slots[VX_MAX_SLOTS];
    size_t nslots;
};

enum vx_profile_field {
    VX_PF_LOCALE = 1 << 0,
    VX_PF_USUAL = 1 << 1,
    VX_PF_LAST_ORDER = 1 << 2,
    VX_PF_VOICE_CODE = 1 << 3, /* voice_code_failures and voice_code_locked */
};

struct vx_profile_set {
    unsigned fields; /* VX_PF_* */
    char locale[16];
    struct vx_cart usual;
    char last_order[VX_ID_MAX];
    int voice_code_failures;
    int voice_code_locked;
};

struct vx_order_line {
    char product[VX_ID_MAX];
    char size[VX_ID_MAX];
    int qty;
    int64_t unit_price;
    int64_t amount;
};

struct vx_order {
    char id[VX_ID_MAX];
    const char *state; /* "CONFIRMED": the hand-over point to payments */
    struct vx_order_line lines[VX_CART_MAX];
    size_t n;
    int64_t total;
    char currency[4];
    char locale[16];
    int64_t created; /* seconds since the epoch */
};

/* A slot to elicit: the engine renders the directive from this alone. */
struct vx_elicit {
    int slot;           /* the skill's slot ID (for its tests) */
    const char *intent; /* the platform name of the intent whose slot is asked for */
    const char *slot_name;
    struct {
        const char *name, *value; /* value NULL: not known yet */
    } known[VX_MAX_SLOTS];
    size_t nknown;
};

struct vx_cmd {
    enum vx_cmd_type type;
    union {
        struct vx_elicit elicit;
        struct {
            int msg; /* the skill's message ID */
            struct vx_arg args[VX_CMD_ARGS];
            size_t nargs;
            const char *text; /* SAY_TEXT, REPROMPT_TEXT; CARD: its text */
        } say;
        int state;
        struct vx_cart cart;
        struct vx_pending pending;
        struct vx_profile_set profile;
        struct vx_order order;
        struct vx_can_fulfill cf;
        struct {
            const char *token, *title, *text, *data;
        } code;
        struct {
            char plan[VX_ID_MAX];
            char target[VX_ID_MAX];
            int change;
        } sub; /* SET_SUB; SUBSCRIBE: plan; SUB_CHANGE: target and change (enum vx_sub_action) */
    } u;
};

struct vx_cmds {
    struct vx_cmd v[VX_CMDS_MAX];
    size_t n;
    char arena[8192]; /* the strings of arguments and texts */
    size_t used;
    int overflow; /* a command or a string did not fit: the engine answers with an apology */
};

void vx_cmds_reset(struct vx_cmds *c);
/* The end of a name, value list: a null pointer of the type va_arg reads. */
#define VX_END ((const char *)0)
/* Appends SAY/REPROMPT with name, value pairs ending in VX_END. */
void vx_cmd_say(struct vx_cmds *c, int m, ...) __attribute__((sentinel));
void vx_cmd_reprompt(struct vx_cmds *c, int m, ...) __attribute__((sentinel));
void vx_cmd_say_text(struct vx_cmds *c, const char *text);
void vx_cmd_reprompt_text(struct vx_cmds *c, const char *text);
void vx_cmd_card(struct vx_cmds *c, int title, const char *shop, const char *text);
/* Starts an ELICIT_SLOT command (NULL when the list is full); add what is known with
 * vx_cmd_elicit_known. */
struct vx_elicit *vx_cmd_elicit(struct vx_cmds *c, int slot, const char *intent,
                                const char *slot_name);
void vx_cmd_elicit_known(struct vx_cmds *c, struct vx_elicit *e, const char *name,
                         const char *value);
void vx_cmd_state(struct vx_cmds *c, int s);
void vx_cmd_cart(struct vx_cmds *c, const struct vx_cart *cart);
void vx_cmd_pending(struct vx_cmds *c, const struct vx_pending *p);
/* These return the payload to fill, or NULL when the list is full. */
struct vx_profile_set *vx_cmd_profile(struct vx_cmds *c);
struct vx_order *vx_cmd_record_order(struct vx_cmds *c);
struct vx_can_fulfill *vx_cmd_can_fulfill(struct vx_cmds *c);
void vx_cmd_end(struct vx_cmds *c);
/* Pay for the order this turn records: with a payment provider configured, the engine
 * charges the saved agreement (or makes a pay link) once the order is stored, and the cell
 * of the skill's payment event speaks what it came to. */
void vx_cmd_pay(struct vx_cmds *c);
void vx_cmd_silent(struct vx_cmds *c);
/* Show a QR code of data with a title and a line of text on the device's screen: an APL
 * document (voxcart/apl.h) named token. The engine renders it only for a device that shows
 * APL (VX_IFACE_APL in d->req->interfaces, which the cell checks first) and only when data
 * fits in a code a screen can show; the rest of the answer (speech, card) stands alone. */
void vx_cmd_show_code(struct vx_cmds *c, const char *token, const char *title, const char *text,
                      const char *data);
/* The state's subscribing members (plan, target: NULL or "" for none; change 0 for none). */
void vx_cmd_set_sub(struct vx_cmds *c, const char *plan, const char *target, int change);
/* Subscribe the customer to the catalog plan: the engine writes the subscription with this
 * turn (its ID is d->sub_id), and, without a trial, the first cycle is the order this turn
 * records and pays (RECORD_ORDER and PAY, whose ID is "<sub_id>-1"). */
void vx_cmd_subscribe(struct vx_cmds *c, const char *plan);
/* Change subscription target with action (enum vx_sub_action of voxcart/sub.h), in this
 * turn's write set, guarded as every change of a subscription is. */
void vx_cmd_sub_change(struct vx_cmds *c, const char *target, int action);

/* The nth command of a type (0 = first), or NULL: for the engine and for tests. */
const struct vx_cmd *vx_cmds_find(const struct vx_cmds *c, enum vx_cmd_type t, size_t nth);
/* The value of argument name of a SAY/REPROMPT command, or NULL. */
const char *vx_cmd_arg(const struct vx_cmd *cmd, const char *name);

/* --- state functions, cells and rows --- */

struct vx_skill;
struct vx_wset;

/*
 * What paying for an order came to, for the cell of the skill's payment event
 * (struct vx_skill.ev_paid) that speaks it: the engine charged (or asked the
 * customer to approve a pay link) after the turn that recorded the order.
 */
enum vx_pay_kind {
    VX_PAY_PAID,         /* captured: confirm, with a receipt card */
    VX_PAY_PENDING,      /* the provider is still deciding, or the answer is not known yet */
    VX_PAY_LINK,         /* no chargeable agreement: a pay link was made (link) */
    VX_PAY_SOFT_DECLINE, /* may be tried once more (a yes tries again with a new attempt) */
    VX_PAY_HARD_DECLINE, /* the payment method must be fixed on the provider's page */
    VX_PAY_LIMIT,        /* a monthly or per-charge limit of the agreement */
    VX_PAY_FAILED,       /* could not be charged (an error of ours or the provider's) */
    VX_PAY_PLATFORM, /* the platform takes over (a Setup or Charge directive), or spoke itself */
    VX_PAY_ALREADY,  /* a duplicate or late answer about an order settled before */
    VX_PAY_CONSENT,  /* the customer must allow payments:autopay_consent (a card asks) */
};

struct vx_pay_result {
    enum vx_pay_kind kind;
    const char *order_id;
    int64_t amount;
    const char *currency;
    const char *reason; /* the provider's reason code, or "" */
    const char *link;   /* VX_PAY_LINK: the approval page; else NULL */
    int attempt;
    const struct vx_order *order; /* as recorded: its lines for the receipt */
};

/* Everything a state function may read. */

struct vx_dialog {
    const struct vx_skill *skill; /* set by the engine: what the cell checks need */
    const struct vx_request *req;
    int ev; /* the skill's event (its enum) */
    const struct vx_dstate *st;
    const struct vx_profile *profile;
    const struct vx_order_view *last_order; /* VX_IF_READ_LAST_ORDER intents; NULL when none */
    const struct vx_catalog *cat;
    const struct vx_locale *loc;
    const char *lang;                /* of loc */
    const char *order_id;            /* the ID an order recorded by this request gets */
    const struct vx_pay_result *pay; /* the skill's payment event: what paying came to */
    /* VX_IF_READ_NEWS events: the order of profile->pay_untold once its payment is settled
     * (state PAID, DECLINED, CANCELED, FAILED, ...); NULL while it is pending, or none */
    const struct vx_order_view *news;
    /* VX_IF_VOICE_CODE events: 1 the code said is the customer's, 0 it is not, -1 no four
     * digits were heard or the customer has none set */
    int vcode;
    int64_t now;
    /* VX_IF_READ_SUBS events: the customer's subscriptions, newest first */
    const struct vx_sub_view *subs;
    size_t nsubs;
    const char *sub_id;   /* the ID a subscription this request makes gets */
    struct vx_date today; /* in the shop's time zone (the catalog's time_zone) */
};

typedef void vx_state_fn(const struct vx_dialog *d, struct vx_cmds *out);

/*
 * A cell of the table: its state function and the mask of command kinds it may
 * emit. The engine refuses a cell's commands when one is outside its mask, so
 * only the cells named for it may record an order (and, with the payment work,
 * start a charge), whatever the event.
 */
#define VX_CK(type) (1u << (type))
#define VX_CK_TALK                                                                                 \
    (~0u & ~(VX_CK(VX_CMD_RECORD_ORDER) | VX_CK(VX_CMD_PAY) | VX_CK(VX_CMD_SUBSCRIBE) |            \
             VX_CK(VX_CMD_SUB_CHANGE)))
struct vx_cell {
    vx_state_fn *fn;
    unsigned may; /* VX_CK() bits */
};

/* Per-state rows (rows.c): the state's question, its help, its fallback; no defaults. */
typedef void vx_ask_fn(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out);
struct vx_state_row {
    vx_ask_fn *ask;
    vx_state_fn *help;
    vx_state_fn *fallback;
};
/*
 * Everything the engine needs of the skill, handed over at start-up
 * (vx_fsm_config.skill): the table and its bug cell, the events, the messages
 * the dialog speaks and the document codecs. The engine (src/core) calls the
 * skill only through this table.
 */
struct vx_skill {
    const char *name;
    const struct vx_cell *(*cell)(int state, int ev);
    vx_state_fn *bug; /* the apology when a cell misbehaves */
    int (*classify)(const struct vx_request *req);
    unsigned (*event_flags)(int ev); /* VX_IF_* */
    /* VX_IF_READ_* the conversation's state needs whatever the event (a yes that confirms
     * what the state holds may need what it is about); NULL: none */
    unsigned (*state_reads)(int state);
    const char *(*state_name)(int s);
    const char *(*event_name)(int ev);
    const struct vx_msg_def *msgs;
    size_t nmsgs;
    int msg_retry;       /* "please say that again": a turn that lost twice to another */
    int msg_link_needed; /* a VX_IF_NEEDS_LINK event without a linked account */
    int ev_paid;         /* the event whose cells speak a payment's outcome (d->pay) */
    void (*state_init)(struct vx_dstate *st);
    int (*state_parse)(const char *json, const struct vx_catalog *cat, struct vx_dstate *out);
    int (*state_json)(const struct vx_dstate *st, struct vx_buf *out);
    int (*profile_parse)(const char *json, const struct vx_catalog *cat, struct vx_profile *out);
    int (*profile_wset)(const struct vx_profile_set *set, struct vx_wset *w);
    int (*order_json)(const struct vx_order *o, const char *merchant, struct vx_buf *out);
    int (*order_view_parse)(const char *json, struct vx_order_view *out);
    void (*order_id)(const struct vx_request *req, int64_t now, char *out, size_t outsz);
};

#endif
