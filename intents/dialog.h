/*
 * The coffee shop's dialog: its slots, events, states and messages, the table
 * and rows (table.c, rows.c), the state functions and the phrasing helpers
 * they share. The types the engine owns (commands, cells, rows, documents,
 * struct vx_skill) are in voxcart/dialog.h.
 */
#ifndef VOXCART_SKILL_DIALOG_H
#define VOXCART_SKILL_DIALOG_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/catalog.h"
#include "voxcart/dialog.h"

/* --- intents and events (intents.def) --- */

enum vx_slot_kind {
    VX_SK_PRODUCT,
    VX_SK_SIZE,
    VX_SK_NUMBER,
    VX_SK_DIGITS,   /* AMAZON.FOUR_DIGIT_NUMBER */
    VX_SK_PLAN,     /* a catalog plan */
    VX_SK_FREQUENCY /* an interval: "week_2" (unit_count) */
};

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
    VX_EV_PAID, /* not from the platform: what paying for the order came to (d->pay) */
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
const char *vx_event_name(int ev);

/* --- states --- */

#define VX_STATE_MAP(XX)                                                                           \
    XX(IDLE)            /* nothing under way; the cart may hold what a past session left */        \
    XX(OFFERING)        /* "your usual?" asked at launch */                                        \
    XX(ORDERING)        /* collecting product, size or quantity of one item */                     \
    XX(CONFIRMING)      /* the summary was read out; waiting for yes or no */                      \
    XX(AWAITING_SETUP)  /* a payment Setup directive is out (payments issue) */                    \
    XX(AWAITING_CHARGE) /* a payment Charge directive is out (payments issue) */                   \
    XX(SUBSCRIBING)     /* a plan is chosen or confirmed, or a cancel waits for its yes */         \
    XX(DONE)            /* an order was just placed */                                             \
    XX(VOICE_CODE)      /* the summary was accepted; the order waits for the voice code */

enum vx_state {
#define XX(s) VX_ST_##s,
    VX_STATE_MAP(XX)
#undef XX
        VX_ST__COUNT
};

const char *vx_state_name(int s);
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
    XX(TOTAL_CONTENTS, "total.contents", "items total")                                            \
    XX(TOTAL_EMPTY, "total.empty", "")                                                             \
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
    XX(PAY_PAID, "payment.paid", "total id")                                                       \
    XX(PAY_LINK, "payment.link", "total")                                                          \
    XX(PAY_LINK_SCREEN, "payment.link_screen", "total")                                            \
    XX(PAY_SOFT_DECLINE, "payment.soft_decline", "")                                               \
    XX(PAY_SOFT_RETRY, "payment.soft_retry", "")                                                   \
    XX(PAY_HARD_DECLINE, "payment.hard_decline", "")                                               \
    XX(PAY_LIMIT, "payment.limit", "")                                                             \
    XX(PAY_FAILED, "payment.failed", "")                                                           \
    XX(PAY_ALREADY, "payment.already", "id")                                                       \
    XX(PAY_CONSENT, "payment.consent", "")                                                         \
    XX(NEWS_PAID, "news.paid", "total id")                                                         \
    XX(VCODE_ASK, "vcode.ask", "total")                                                            \
    XX(VCODE_ASK_SUB, "vcode.ask_sub", "total")                                                    \
    XX(VCODE_REPROMPT, "vcode.reprompt", "")                                                       \
    XX(VCODE_WRONG, "vcode.wrong", "left")                                                         \
    XX(VCODE_WRONG_LAST, "vcode.wrong_last", "")                                                   \
    XX(VCODE_LOCKED, "vcode.locked", "")                                                           \
    XX(VCODE_HELP, "vcode.help", "")                                                               \
    XX(VCODE_FALLBACK, "vcode.fallback", "")                                                       \
    XX(NEWS_DECLINED, "news.declined", "total id")                                                 \
    XX(NEWS_CANCELED, "news.canceled", "total id")                                                 \
    XX(CARD_PAY_LINK_TITLE, "card.pay_link_title", "shop")                                         \
    XX(CARD_PAY_LINK, "card.pay_link", "total link")                                               \
    XX(SCREEN_PAY_LINK, "screen.pay_link", "total")                                                \
    XX(CARD_PAY_FIX_TITLE, "card.pay_fix_title", "shop")                                           \
    XX(CARD_PAY_FIX, "card.pay_fix", "")                                                           \
    XX(CARD_RECEIPT, "card.receipt", "lines total id date")                                        \
    XX(CARD_ORDER_TITLE, "card.order_title", "shop")                                               \
    XX(CARD_ORDER_LINE, "card.order_line", "quantity product amount")                              \
    XX(CARD_ORDER_TOTAL, "card.order_total", "lines total id")                                     \
    XX(DATE_TODAY, "date.today", "")                                                               \
    XX(DATE_MONTHS, "date.months", "")                                                             \
    XX(DATE_SPOKEN, "date.spoken", "day month")                                                    \
    XX(EVERY_DAY, "every.day", "")                                                                 \
    XX(EVERY_DAYS, "every.days", "count")                                                          \
    XX(EVERY_WEEK, "every.week", "")                                                               \
    XX(EVERY_WEEKS, "every.weeks", "count")                                                        \
    XX(EVERY_MONTH, "every.month", "")                                                             \
    XX(EVERY_MONTHS, "every.months", "count")                                                      \
    XX(EVERY_YEAR, "every.year", "")                                                               \
    XX(EVERY_YEARS, "every.years", "count")                                                        \
    XX(SUB_ASK_PLAN, "sub.ask_plan", "plans")                                                      \
    XX(SUB_UNKNOWN_PLAN, "sub.unknown_plan", "heard plans")                                        \
    XX(SUB_NOT_OFFERED, "sub.not_offered", "")                                                     \
    XX(SUB_ALREADY, "sub.already", "plan")                                                         \
    XX(SUB_SUMMARY, "sub.summary", "plan every amount first")                                      \
    XX(SUB_SUMMARY_TRIAL, "sub.summary_trial", "plan every amount days first")                     \
    XX(SUB_ASK_START, "sub.ask_start", "")                                                         \
    XX(SUB_STARTED_TRIAL, "sub.started_trial", "plan days first")                                  \
    XX(SUB_MADE, "sub.made", "plan")                                                               \
    XX(SUB_PAID, "sub.paid", "plan amount next")                                                   \
    XX(SUB_LINK, "sub.link", "amount every")                                                       \
    XX(SUB_LINK_SCREEN, "sub.link_screen", "amount every")                                         \
    XX(SUB_TRIAL_LINK, "sub.trial_link", "plan amount every first")                                \
    XX(SUB_TRIAL_LINK_SCREEN, "sub.trial_link_screen", "plan amount every first")                  \
    XX(CARD_SUB_LINK, "card.sub_link", "total every link")                                         \
    XX(SUB_PENDING, "sub.pending", "")                                                             \
    XX(SUB_FIRST_FAILED, "sub.first_failed", "")                                                   \
    XX(SUB_NONE, "sub.none", "")                                                                   \
    XX(SUB_LIST, "sub.list", "list")                                                               \
    XX(SUB_ITEM, "sub.item", "plan amount next")                                                   \
    XX(SUB_ITEM_PAUSED, "sub.item_paused", "plan")                                                 \
    XX(SUB_ITEM_PAST_DUE, "sub.item_past_due", "plan")                                             \
    XX(SUB_ITEM_TRIAL, "sub.item_trial", "plan next")                                              \
    XX(SUB_ITEM_PAYING, "sub.item_paying", "plan amount")                                          \
    XX(SUB_NOT_YOURS, "sub.not_yours", "heard")                                                    \
    XX(SUB_WHICH, "sub.which", "list")                                                             \
    XX(SUB_PAUSED, "sub.paused", "plan")                                                           \
    XX(SUB_ALREADY_PAUSED, "sub.already_paused", "plan")                                           \
    XX(SUB_NOT_PAUSED, "sub.not_paused", "plan")                                                   \
    XX(SUB_RESUMED, "sub.resumed", "plan next")                                                    \
    XX(SUB_SKIP_PAUSED, "sub.skip_paused", "plan")                                                 \
    XX(SUB_BUSY, "sub.busy", "plan")                                                               \
    XX(SUB_SKIPPED, "sub.skipped", "plan skipped next")                                            \
    XX(SUB_CONFIRM_CANCEL, "sub.confirm_cancel", "plan")                                           \
    XX(SUB_CANCELED, "sub.canceled", "plan")                                                       \
    XX(SUB_KEPT, "sub.kept", "plan")                                                               \
    XX(SUB_NOT_STARTED, "sub.not_started", "")                                                     \
    XX(HELP_SUBSCRIBING, "help.subscribing", "")                                                   \
    XX(HELP_SUB_CANCEL, "help.sub_cancel", "")                                                     \
    XX(FALLBACK_SUBSCRIBING, "fallback.subscribing", "")

enum vx_msg {
#define XX(id, key, args) VX_M_##id,
    VX_MSG_MAP(XX)
#undef XX
        VX_M__COUNT
};

extern const struct vx_msg_def vx_msg_defs[VX_M__COUNT];

/* --- state functions --- */

extern const struct vx_cell vx_dialog_table[VX_ST__COUNT][VX_EV__COUNT];
/* &table[s][ev], or a cell of vx_st_bug when either is out of range or the cell is empty. */
const struct vx_cell *vx_dialog_cell(int s, int ev);
vx_state_fn *vx_dialog_lookup(int s, int ev);
/* True when some state has a cell for ev other than vx_st_unexpected. */
int vx_dialog_handles(enum vx_event ev);

extern const struct vx_state_row vx_dialog_rows[VX_ST__COUNT];
vx_ask_fn vx_ask_order, vx_ask_usual, vx_ask_item, vx_ask_confirm, vx_ask_more,
    vx_ask_payment_pending, vx_ask_vcode;
vx_state_fn vx_help_idle, vx_help_offering, vx_help_ordering, vx_help_confirming, vx_help_done,
    vx_help_vcode;
vx_state_fn vx_fallback_idle, vx_fallback_offering, vx_fallback_ordering, vx_fallback_confirming,
    vx_fallback_done, vx_fallback_vcode;

/* launch.c */
vx_state_fn vx_st_launch, vx_st_session_ended, vx_st_session_keep, vx_st_skill_event;
/* order.c */
vx_state_fn vx_st_order, vx_st_remove_item, vx_st_cart, vx_st_total, vx_st_can_fulfill;
/* checkout.c */
vx_state_fn vx_st_paid;
vx_state_fn vx_st_checkout, vx_st_confirm, vx_st_confirm_no, vx_st_reorder, vx_st_offer_yes,
    vx_st_offer_no, vx_st_drop_item, vx_st_voice_code, vx_st_vcode_again;
/* subscribe.c */
vx_state_fn vx_st_subscribe, vx_st_subs_status, vx_st_sub_pause, vx_st_sub_resume, vx_st_sub_skip,
    vx_st_sub_cancel, vx_st_sub_yes, vx_st_sub_no, vx_st_sub_paid, vx_help_subscribing,
    vx_fallback_subscribing;
vx_ask_fn vx_ask_subscribing;
/* account.c */
vx_state_fn vx_st_order_status;
/* builtin.c */
vx_state_fn vx_st_help, vx_st_fallback, vx_st_repeat, vx_st_start_over, vx_st_stop, vx_st_cancel,
    vx_st_cancel_done, vx_st_goodbye, vx_st_yes_nothing, vx_st_yes_more, vx_st_unexpected,
    vx_st_yes_open_question, vx_st_payment_pending, vx_st_connection_unexpected, vx_st_bug;

/* --- events and stored documents: what the skill hands the engine (events.c, docs.c) --- */

/* The event of a request; an intent intents.def does not list is AMAZON.FallbackIntent. */
int vx_dialog_classify(const struct vx_request *req);
/* VX_IF_* flags of an event (VX_IF_STATELESS for those that neither load nor write). */
unsigned vx_dialog_event_flags(int ev);
/* VX_IF_READ_* a state needs whatever the event (struct vx_skill.state_reads). */
unsigned vx_dialog_state_reads(int state);

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
/* A voice code is asked before paying amount: the customer set one, voice purchases are not
 * locked, the saved agreement would be charged, and amount is from the shop's threshold. */
int vx_dlg_vcode_needed(const struct vx_dialog *d, int64_t amount);
/* Starts the subscription to the plan of d->st->sub_plan (after a right voice code, whose
 * count of wrong ones then starts again; subscribe.c). */
void vx_dlg_sub_start(const struct vx_dialog *d, int vcode_right, struct vx_cmds *out);
/* Empties the cart and the pending item and goes back to IDLE (cancel, start over). */
void vx_dlg_drop_order(struct vx_cmds *out);

/* --- screens (screen.c) --- */

/* On a device with a screen, the pay link of p as a QR code with the shop and the total
 * (SHOW_CODE); 1 when it is shown, 0 on a device without one or for a link too long to draw. */
int vx_dlg_pay_code(const struct vx_dialog *d, const struct vx_pay_result *p, struct vx_cmds *out);

#endif
