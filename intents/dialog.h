/*
 * The dialog of the skill: states, events, the conversation state, and the
 * commands state functions return (DESIGN section 4).
 *
 * A state function is called for one (state, event) cell of the table in
 * table.c. It reads the request, the loaded conversation state and profile,
 * the catalog and the locale's messages, and appends commands to a list; it
 * does no I/O and changes nothing else. The engine (src/core/fsm.c) carries the
 * commands out: one atomic write of the new state, the order and the profile,
 * then the response. A unit test can therefore run any cell and assert the
 * command list without a store.
 */
#ifndef VOXCART_DIALOG_H
#define VOXCART_DIALOG_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/catalog.h"
#include "voxcart/envelope.h"
#include "voxcart/i18n.h"

/* --- intents and events (intents.def) --- */

/* Flags of an intent, enforced by the engine before or after the state function runs. */
enum vx_intent_flag {
    VX_IF_BUILTIN = 1 << 0,    /* AMAZON.*: the platform supplies its samples */
    VX_IF_FULFILL = 1 << 1,    /* a CanFulfillIntentRequest for it may be answered YES */
    VX_IF_NEEDS_LINK = 1 << 3, /* answered only for a linked account (user.accessToken) */
    VX_IF_LAST_ORDER = 1 << 4, /* the engine loads the customer's last order first */
    VX_IF_STATELESS = 1 << 5,  /* neither loads nor writes a conversation (CanFulfill, events) */
};

enum vx_slot_kind { VX_SK_PRODUCT, VX_SK_SIZE, VX_SK_NUMBER };

enum vx_slot_id {
#define VX_SLOT(id, name, kind) VX_SLOT_##id,
#include "intents.def"
    VX_SLOT__COUNT
};
#define VX_SB(id) (1u << VX_SLOT_##id)

struct vx_slot_def {
    const char *name;
    enum vx_slot_kind kind;
};
extern const struct vx_slot_def vx_slot_defs[VX_SLOT__COUNT];

enum vx_event {
#define VX_INTENT(id, name, flags, slots) VX_EV_##id,
#include "intents.def"
    VX_EV_LAUNCH, /* the first event that is not an intent */
    VX_EV_SESSION_ENDED,
    VX_EV_CAN_FULFILL,
    VX_EV_CONNECTIONS_RESPONSE,
    VX_EV_SKILL_EVENT,
    VX_EV__COUNT
};
#define VX_EV__INTENTS VX_EV_LAUNCH

struct vx_intent_def {
    const char *name; /* as the platform sends it */
    unsigned flags;   /* VX_IF_* */
    unsigned slots;   /* VX_SB() bits */
};
extern const struct vx_intent_def vx_intent_defs[VX_EV__INTENTS];

/* The event of an intent name, or -1 when intents.def does not list it. */
int vx_intent_find(const char *name);
const char *vx_event_name(enum vx_event ev);

/* --- states --- */

#define VX_STATE_MAP(XX)                                                                           \
    XX(IDLE)            /* nothing under way; the cart may hold what a past session left */        \
    XX(OFFERING)        /* "your usual?" asked at launch */                                        \
    XX(ORDERING)        /* collecting product, size or quantity of one item */                     \
    XX(CONFIRMING)      /* the summary was read out; waiting for yes or no */                      \
    XX(AWAITING_SETUP)  /* a payment Setup directive is out (payments issue) */                    \
    XX(AWAITING_CHARGE) /* a payment Charge directive is out (payments issue) */                   \
    XX(SUBSCRIBING)     /* collecting a subscription plan (payments issue) */                      \
    XX(DONE)            /* an order was just placed */

enum vx_state {
#define XX(s) VX_ST_##s,
    VX_STATE_MAP(XX)
#undef XX
        VX_ST__COUNT
};

const char *vx_state_name(enum vx_state s);
/* 0 and *out, or VX_ENOTFOUND. */
int vx_state_parse(const char *name, enum vx_state *out);

/* --- messages: every key the dialog speaks, with the placeholders it fills --- */

#define VX_MSG_MAP(XX)                                                                             \
    XX(WELCOME_NEW, "welcome.new", "shop products")                                                \
    XX(WELCOME_BACK, "welcome.back", "shop")                                                       \
    XX(WELCOME_USUAL, "welcome.usual", "shop items")                                               \
    XX(WELCOME_CART, "welcome.cart", "shop items total")                                           \
    XX(ASK_ORDER, "ask.order", "")                                                                 \
    XX(ASK_USUAL, "ask.usual", "items")                                                            \
    XX(ASK_PRODUCT, "ask.product", "products")                                                     \
    XX(ASK_SIZE, "ask.size", "product sizes")                                                      \
    XX(ASK_QUANTITY, "ask.quantity", "product max")                                                \
    XX(ASK_CONFIRM, "ask.confirm", "total")                                                        \
    XX(ASK_MORE, "ask.more", "")                                                                   \
    XX(ORDER_SUMMARY, "order.summary", "items total")                                              \
    XX(ORDER_UNKNOWN_PRODUCT, "order.unknown_product", "heard")                                    \
    XX(ORDER_UNKNOWN_SIZE, "order.unknown_size", "heard product")                                  \
    XX(ORDER_BAD_QUANTITY, "order.bad_quantity", "max")                                            \
    XX(ORDER_CART_FULL, "order.cart_full", "max")                                                  \
    XX(ORDER_PLACED, "order.placed", "items total")                                                \
    XX(ORDER_CANCELLED, "order.cancelled", "")                                                     \
    XX(ORDER_ITEM_DROPPED, "order.item_dropped", "")                                               \
    XX(ORDER_ALREADY_PLACED, "order.already_placed", "")                                           \
    XX(ORDER_FINISH_ITEM, "order.finish_item", "")                                                 \
    XX(CART_CONTENTS, "cart.contents", "items total")                                              \
    XX(CART_EMPTY, "cart.empty", "")                                                               \
    XX(CART_REMOVED, "cart.removed", "items")                                                      \
    XX(CART_NOT_IN_CART, "cart.not_in_cart", "product")                                            \
    XX(USUAL_NONE, "usual.none", "")                                                               \
    XX(USUAL_DECLINED, "usual.declined", "")                                                       \
    XX(STATUS_LAST, "status.last", "items total status")                                           \
    XX(STATUS_NONE, "status.none", "")                                                             \
    XX(STATUS_CONFIRMED, "status.confirmed", "")                                                   \
    XX(STATUS_PROCESSING, "status.processing", "")                                                 \
    XX(HELP_IDLE, "help.idle", "products")                                                         \
    XX(HELP_OFFERING, "help.offering", "items")                                                    \
    XX(HELP_ORDERING, "help.ordering", "")                                                         \
    XX(HELP_CONFIRMING, "help.confirming", "items total")                                          \
    XX(HELP_DONE, "help.done", "")                                                                 \
    XX(FALLBACK_IDLE, "fallback.idle", "")                                                         \
    XX(FALLBACK_OFFERING, "fallback.offering", "")                                                 \
    XX(FALLBACK_ORDERING, "fallback.ordering", "")                                                 \
    XX(FALLBACK_CONFIRMING, "fallback.confirming", "")                                             \
    XX(FALLBACK_DONE, "fallback.done", "")                                                         \
    XX(YES_NOTHING, "yes.nothing", "")                                                             \
    XX(UNEXPECTED, "unexpected", "")                                                               \
    XX(REPEAT_NOTHING, "repeat.nothing", "")                                                       \
    XX(START_OVER, "start_over", "")                                                               \
    XX(GOODBYE, "goodbye", "")                                                                     \
    XX(GOODBYE_CART, "goodbye.cart", "")                                                           \
    XX(RETRY, "retry", "")                                                                         \
    XX(SORRY, "sorry", "")                                                                         \
    XX(LINK_NEEDED, "link.needed", "")                                                             \
    XX(PAYMENT_PENDING, "payment.pending", "")                                                     \
    XX(CONN_UNEXPECTED, "connection.unexpected", "")                                               \
    XX(CARD_ORDER_TITLE, "card.order_title", "shop")                                               \
    XX(CARD_ORDER_LINE, "card.order_line", "quantity product amount")                              \
    XX(CARD_ORDER_TOTAL, "card.order_total", "lines total id")

enum vx_msg {
#define XX(id, key, args) VX_M_##id,
    VX_MSG_MAP(XX)
#undef XX
        VX_M__COUNT
};

struct vx_msg_def {
    const char *key;
    const char *args; /* the placeholders the dialog fills, space-separated */
};
extern const struct vx_msg_def vx_msg_defs[VX_M__COUNT];

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
    enum vx_state state;
    struct vx_cart cart;
    struct vx_pending pending;
    char say[VX_TEXT_MAX]; /* the last speech, for AMAZON.RepeatIntent */
    char reprompt[VX_TEXT_MAX];
};

/* What the dialog knows of the profile (the document may hold more: payments keeps its own). */
struct vx_profile {
    int exists;
    char locale[16];
    struct vx_cart usual;
    char last_order[VX_ID_MAX];
};

/* The customer's last order as recorded (loaded for VX_IF_LAST_ORDER intents). */
struct vx_order_view {
    char id[VX_ID_MAX];
    char state[32];
    struct vx_cart lines;
    int64_t total;
    char currency[4];
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
    VX_CMD_SILENT, /* no speech at all (SessionEndedRequest) */
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
};

struct vx_profile_set {
    unsigned fields; /* VX_PF_* */
    char locale[16];
    struct vx_cart usual;
    char last_order[VX_ID_MAX];
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
            enum vx_msg msg;
            struct vx_arg args[VX_CMD_ARGS];
            size_t nargs;
            const char *text; /* SAY_TEXT, REPROMPT_TEXT; CARD: its text */
        } say;
        enum vx_state state;
        struct vx_cart cart;
        struct vx_pending pending;
        struct vx_profile_set profile;
        struct vx_order order;
        struct vx_can_fulfill cf;
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
void vx_cmd_say(struct vx_cmds *c, enum vx_msg m, ...) __attribute__((sentinel));
void vx_cmd_reprompt(struct vx_cmds *c, enum vx_msg m, ...) __attribute__((sentinel));
void vx_cmd_say_text(struct vx_cmds *c, const char *text);
void vx_cmd_reprompt_text(struct vx_cmds *c, const char *text);
void vx_cmd_card(struct vx_cmds *c, enum vx_msg title, const char *shop, const char *text);
/* Starts an ELICIT_SLOT command (NULL when the list is full); add what is known with
 * vx_cmd_elicit_known. */
struct vx_elicit *vx_cmd_elicit(struct vx_cmds *c, int slot, const char *intent,
                                const char *slot_name);
void vx_cmd_elicit_known(struct vx_cmds *c, struct vx_elicit *e, const char *name,
                         const char *value);
void vx_cmd_state(struct vx_cmds *c, enum vx_state s);
void vx_cmd_cart(struct vx_cmds *c, const struct vx_cart *cart);
void vx_cmd_pending(struct vx_cmds *c, const struct vx_pending *p);
/* These return the payload to fill, or NULL when the list is full. */
struct vx_profile_set *vx_cmd_profile(struct vx_cmds *c);
struct vx_order *vx_cmd_record_order(struct vx_cmds *c);
struct vx_can_fulfill *vx_cmd_can_fulfill(struct vx_cmds *c);
void vx_cmd_end(struct vx_cmds *c);
void vx_cmd_silent(struct vx_cmds *c);

/* The nth command of a type (0 = first), or NULL: for the engine and for tests. */
const struct vx_cmd *vx_cmds_find(const struct vx_cmds *c, enum vx_cmd_type t, size_t nth);
/* The value of argument name of a SAY/REPROMPT command, or NULL. */
const char *vx_cmd_arg(const struct vx_cmd *cmd, const char *name);

/* --- state functions --- */

/* Everything a state function may read. */
struct vx_skill;

struct vx_dialog {
    const struct vx_skill *skill; /* set by the engine: what the cell checks need */
    const struct vx_request *req;
    enum vx_event ev;
    const struct vx_dstate *st;
    const struct vx_profile *profile;
    const struct vx_order_view *last_order; /* VX_IF_LAST_ORDER intents; NULL when none */
    const struct vx_catalog *cat;
    const struct vx_locale *loc;
    const char *lang;     /* of loc */
    const char *order_id; /* the ID an order recorded by this request gets */
    int64_t now;
};

typedef void vx_state_fn(const struct vx_dialog *d, struct vx_cmds *out);

/*
 * A cell of the table: its state function and the mask of command kinds it may
 * emit. The engine refuses a cell's commands when one is outside its mask, so
 * only the cells named for it may record an order (and, with the payment work,
 * start a charge), whatever the event.
 */
#define VX_CK(type) (1u << (type))
#define VX_CK_TALK  (~0u & ~VX_CK(VX_CMD_RECORD_ORDER))
struct vx_cell {
    vx_state_fn *fn;
    unsigned may; /* VX_CK() bits */
};

extern const struct vx_cell vx_dialog_table[VX_ST__COUNT][VX_EV__COUNT];
/* &table[s][ev], or a cell of vx_st_bug when either is out of range or the cell is empty. */
const struct vx_cell *vx_dialog_cell(int s, int ev);
vx_state_fn *vx_dialog_lookup(int s, int ev);
/* True when some state has a cell for ev other than vx_st_unexpected. */
int vx_dialog_handles(enum vx_event ev);

/* Per-state rows (rows.c): the state's question, its help, its fallback; no defaults. */
typedef void vx_ask_fn(const struct vx_dialog *d, const struct vx_pending *p, struct vx_cmds *out);
struct vx_state_row {
    vx_ask_fn *ask;
    vx_state_fn *help;
    vx_state_fn *fallback;
};
extern const struct vx_state_row vx_dialog_rows[VX_ST__COUNT];
vx_ask_fn vx_ask_order, vx_ask_usual, vx_ask_item, vx_ask_confirm, vx_ask_more,
    vx_ask_payment_pending;
vx_state_fn vx_help_idle, vx_help_offering, vx_help_ordering, vx_help_confirming, vx_help_done;
vx_state_fn vx_fallback_idle, vx_fallback_offering, vx_fallback_ordering, vx_fallback_confirming,
    vx_fallback_done;

/* launch.c */
vx_state_fn vx_st_launch, vx_st_session_ended, vx_st_session_keep, vx_st_skill_event;
/* order.c */
vx_state_fn vx_st_order, vx_st_remove_item, vx_st_cart, vx_st_can_fulfill;
/* checkout.c */
vx_state_fn vx_st_checkout, vx_st_confirm, vx_st_confirm_no, vx_st_reorder, vx_st_offer_yes,
    vx_st_offer_no, vx_st_drop_item;
/* account.c */
vx_state_fn vx_st_order_status;
/* builtin.c */
vx_state_fn vx_st_help, vx_st_fallback, vx_st_repeat, vx_st_start_over, vx_st_stop, vx_st_cancel,
    vx_st_cancel_done, vx_st_goodbye, vx_st_yes_nothing, vx_st_yes_more, vx_st_unexpected,
    vx_st_yes_open_question, vx_st_payment_pending, vx_st_connection_unexpected, vx_st_bug;

/* --- events and stored documents: what the skill hands the engine (events.c, docs.c) --- */

/* The event of a request; an intent intents.def does not list is AMAZON.FallbackIntent. */
enum vx_event vx_dialog_classify(const struct vx_request *req);
/* VX_IF_* flags of an event (VX_IF_STATELESS for those that neither load nor write). */
unsigned vx_dialog_event_flags(enum vx_event ev);

/* Conversation state as stored; parsing drops what the catalog no longer sells. */
int vx_dstate_parse(const char *json, const struct vx_catalog *cat, struct vx_dstate *out);
int vx_dstate_json(const struct vx_dstate *st, struct vx_buf *out);
void vx_dstate_init(struct vx_dstate *st);
int vx_profile_parse(const char *json, const struct vx_catalog *cat, struct vx_profile *out);
/* The profile members set changes, as write set ops (other members are left alone). */
struct vx_wset;
int vx_profile_wset(const struct vx_profile_set *set, struct vx_wset *w);
int vx_order_json(const struct vx_order *o, const char *merchant, struct vx_buf *out);
int vx_order_view_parse(const char *json, struct vx_order_view *out);
/* "o20261124-1a2b3c4d5e": derived from the request, so a re-run after a conflict keeps it. */
void vx_fsm_order_id(const struct vx_request *req, int64_t now, char *out, size_t outsz);

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
    enum vx_event (*classify)(const struct vx_request *req);
    unsigned (*event_flags)(enum vx_event ev);
    const char *(*state_name)(enum vx_state s);
    const char *(*event_name)(enum vx_event ev);
    const struct vx_msg_def *msgs;
    size_t nmsgs;
    void (*state_init)(struct vx_dstate *st);
    int (*state_parse)(const char *json, const struct vx_catalog *cat, struct vx_dstate *out);
    int (*state_json)(const struct vx_dstate *st, struct vx_buf *out);
    int (*profile_parse)(const char *json, const struct vx_catalog *cat, struct vx_profile *out);
    int (*profile_wset)(const struct vx_profile_set *set, struct vx_wset *w);
    int (*order_json)(const struct vx_order *o, const char *merchant, struct vx_buf *out);
    int (*order_view_parse)(const char *json, struct vx_order_view *out);
    void (*order_id)(const struct vx_request *req, int64_t now, char *out, size_t outsz);
};

/* The coffee shop (skill.c). */
extern const struct vx_skill vx_coffee_skill;

/* --- phrasing helpers the state functions share (checkout.c, builtin.c) --- */

/* "2 large lattes and 1 espresso" */
void vx_dlg_items(const struct vx_dialog *d, const struct vx_cart *cart, char *out, size_t outsz);
/* One line: "2 large lattes" */
void vx_dlg_item(const struct vx_dialog *d, const struct vx_line *l, char *out, size_t outsz);
/* The cart's total in minor units of the catalog currency (lines the catalog lost count 0). */
int64_t vx_dlg_total(const struct vx_dialog *d, const struct vx_cart *cart);
/* The spoken amount: "11 euros 50". */
void vx_dlg_money(const struct vx_dialog *d, int64_t minor, char *out, size_t outsz);
/* "latte, espresso, ... and coffee beans" */
void vx_dlg_products(const struct vx_dialog *d, char *out, size_t outsz);
/* The sizes p is sold in: "small, medium or large" */
void vx_dlg_sizes(const struct vx_dialog *d, const struct vx_cat_product *p, char *out,
                  size_t outsz);
/* The product's name in the number n calls for. */
const char *vx_dlg_product_name(const struct vx_dialog *d, const char *id, long long n);
/* Reads the summary and asks for confirmation: SET_CART, NEW_STATE CONFIRMING, SAY, REPROMPT. */
void vx_dlg_summary(const struct vx_dialog *d, const struct vx_cart *cart, struct vx_cmds *out);
/* Asks the question of state s again (with pending p in ORDERING): SAY, REPROMPT, ELICIT_SLOT. */
void vx_dlg_ask(const struct vx_dialog *d, enum vx_state s, const struct vx_pending *p,
                struct vx_cmds *out);
/* Asks the platform to elicit slot of OrderIntent, with what p holds of the item so far. */
void vx_dlg_elicit(const struct vx_dialog *d, const struct vx_pending *p, enum vx_slot_id slot,
                   struct vx_cmds *out);
/* A pending item with nothing collected. */
void vx_dlg_pending_clear(struct vx_pending *p);
/* Empties the cart and the pending item and goes back to IDLE (cancel, start over). */
void vx_dlg_drop_order(struct vx_cmds *out);

#endif
