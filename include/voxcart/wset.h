/*
 * A write set: everything one decision changes in one customer's data, as
 * data. The dialog engine (and later the payment paths, the merchant API and
 * the biller) build one; store.c carries it out as one Lua script on the
 * customer's hash slot, all or nothing (DESIGN section 3, step 6).
 *
 * A write set has guards and writes. Guards are checked first, all of them:
 *   - the conversation's version tag is still the one the writer read;
 *   - an order's state is still the one the change starts from (compare and
 *     set from -> to);
 *   - an idempotency record does not exist yet (whatever arrives twice finds
 *     it and changes nothing).
 * If any guard fails, nothing is written and the outcome names the guard. Only
 * then are the writes applied: the conversation, profile fields, an order
 * created if absent (with its index entry), order fields, ledger entries,
 * idempotency records and schedule entries.
 *
 * Stored documents (profile, order) are Redis hashes whose fields are the
 * document's top-level members, each value JSON text; a write changes the
 * members it names and leaves the others alone, so two writers of different
 * members never undo each other.
 *
 * Version tags are random 64-bit values drawn for every write (vx_wset_tag),
 * never a counter that could start again when a key expires: a cached copy
 * can never pass the check against a key that expired and was written anew.
 */
#ifndef VOXCART_WSET_H
#define VOXCART_WSET_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

enum vx_wop_kind {
    VX_W_CONV,         /* a = state JSON, n = TTL; guard: tag == expect */
    VX_W_PROFILE_SET,  /* a = member, b = JSON value */
    VX_W_PROFILE_DEL,  /* a = member */
    VX_W_ORDER_CREATE, /* a = order id, b = order document (JSON object); if absent, + index */
    VX_W_ORDER_SET,    /* a = order id, b = member, c = JSON value */
    VX_W_ORDER_CAS,    /* a = order id, b = from state, c = to state (guard + write) */
    VX_W_LEDGER,       /* a = order id, b = entry (JSON object) appended to its ledger */
    VX_W_IDEM,         /* a = key, b = value, n = TTL seconds (0 = none); guard: absent */
    VX_W_SCHEDULE,     /* a = schedule name, b = member, n = due time (epoch seconds) */
    VX_W_ORDER_GUARD,  /* a = order id, b = member, c = the JSON value it must hold (guard) */
    VX_W_SUB_CREATE,   /* a = subscription id, b = its document; if absent, + index (sub.h) */
    VX_W_SUB_SET,      /* a = subscription id, b = member, c = JSON value */
    VX_W_SUB_GUARD,    /* a = subscription id, b = member, c = the JSON value it must hold */
};

struct vx_wop {
    enum vx_wop_kind kind;
    char *a, *b, *c;
    int64_t n;
};

#define VX_WSET_MAX 24

struct vx_wset {
    char skill[256], user[256]; /* the customer whose slot every key is in */
    uint64_t expect;            /* VX_W_CONV: the tag read (0 = there was no conversation) */
    uint64_t tag;               /* the tag this write sets (drawn by vx_wset_init) */
    struct vx_wop ops[VX_WSET_MAX];
    size_t n;
    int overflow; /* an op did not fit or out of memory: the write set must not be carried out */
};

void vx_wset_init(struct vx_wset *w, const char *skill, const char *user);
void vx_wset_release(struct vx_wset *w);

void vx_wset_conv(struct vx_wset *w, uint64_t expect, const char *state_json, int ttl);
void vx_wset_profile_set(struct vx_wset *w, const char *member, const char *json_value);
void vx_wset_profile_del(struct vx_wset *w, const char *member);
void vx_wset_order_create(struct vx_wset *w, const char *id, const char *doc_json);
void vx_wset_order_set(struct vx_wset *w, const char *id, const char *member,
                       const char *json_value);
void vx_wset_order_cas(struct vx_wset *w, const char *id, const char *from, const char *to);
void vx_wset_ledger(struct vx_wset *w, const char *order_id, const char *entry_json);
void vx_wset_idem(struct vx_wset *w, const char *key, const char *value, int ttl);
void vx_wset_schedule(struct vx_wset *w, const char *name, const char *member, int64_t due);
/* A guard only: the order's member still holds json_value ("" for a member it does not have);
 * a refund counts its amount onto "refunded" behind one, so two never add to the same base. */
void vx_wset_order_guard(struct vx_wset *w, const char *id, const char *member,
                         const char *json_value);

/* A subscription's document (sub.h), as an order's: created if absent, a member, a guard. */
void vx_wset_sub_create(struct vx_wset *w, const char *id, const char *doc_json);
void vx_wset_sub_set(struct vx_wset *w, const char *id, const char *member, const char *json_value);
void vx_wset_sub_guard(struct vx_wset *w, const char *id, const char *member,
                       const char *json_value);
/* The nth op of a kind (0 = first), or NULL: for tests and the store. */
const struct vx_wop *vx_wset_find(const struct vx_wset *w, enum vx_wop_kind kind, size_t nth);
const char *vx_wop_kind_name(enum vx_wop_kind kind);

/* A fresh random version tag, never 0. */
uint64_t vx_wset_tag(void);

#endif
