/*
 * The Redis store. This module is the only place that forms Redis keys and
 * commands. Every worker thread has its own connection, made on first use and
 * remade with backoff after a failure; every command has a timeout. A caller that
 * gets VX_ESTORE answers with an apology and writes nothing else.
 *
 * Keys (DESIGN section 5): everything of one customer shares the hash tag
 * {<skill>:<user>} so it lives in one cluster slot and can change atomically.
 */
#ifndef VOXCART_STORE_H
#define VOXCART_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/certs.h"
#include "voxcart/wset.h"

struct vx_store_config {
    const char *url; /* redis://[:password@]host[:port][/db] or unix:///path */
    int timeout_ms;
};

/* Parses the URL once for the whole process; returns VX_ECONFIG naming the problem. */
int vx_store_init(const struct vx_store_config *cfg, struct vx_err *e);
void vx_store_shutdown(void);

/* PING on this thread's connection: 0 when Redis answers. */
int vx_store_ping(struct vx_err *e);

/* Replay guard: 0 the first time request_id is seen within ttl seconds, VX_EEXISTS after. */
int vx_store_seen(const char *request_id, int ttl, struct vx_err *e);

/* Callbacks for certs.c's shared chain cache (vx:cert:<sha256(url)>). */
const struct vx_cert_shared *vx_store_cert_shared(void);

/* The conversation of one customer: a version tag and two JSON documents. */
struct vx_conv {
    uint64_t version; /* the random tag of the last write; 0 when there is none */
    char *state;      /* malloc'd JSON text or NULL */
    char *profile;    /* malloc'd JSON object or NULL (the profile has no TTL) */
};

void vx_conv_release(struct vx_conv *c);

/* Turns the conversation cache on (the default) or off. */
void vx_store_cache_enable(int on);

/*
 * Loads conversation and profile in one round trip, or from this process's
 * cache of what the last load or write saw. A cached read may be stale; the
 * version check of every write set catches that (VX_ECONFLICT), and the caller
 * loads again, this time from Redis. Every writer of a profile goes through a
 * write set (or vx_store_seed), so every change draws a new tag.
 */
int vx_store_load(const char *skill, const char *user, struct vx_conv *out, struct vx_err *e);

/*
 * Carries out a write set (wset.h) as one Lua script on the customer's slot.
 * Returns 0; VX_ECONFLICT when the conversation changed since it was read or
 * an order is no longer in the state a change starts from; VX_EEXISTS when an
 * idempotency record exists already (it arrived twice); VX_ESTORE when Redis
 * failed. In every case but 0 nothing was written; the op's guard field says
 * which op of the write set refused.
 */
struct vx_wset;
int vx_store_write(const struct vx_wset *w, struct vx_err *e);

/* Reads one order document (its members as a JSON object) and the newest order IDs. */
int vx_store_order_get(const char *skill, const char *user, const char *id, char **json,
                       struct vx_err *e);
int vx_store_orders_recent(const char *skill, const char *user, size_t max, char ***ids, size_t *n,
                           struct vx_err *e);
/* The ledger of an order, oldest first (JSON objects). */
int vx_store_ledger(const char *skill, const char *user, const char *id, char ***entries, size_t *n,
                    struct vx_err *e);
void vx_store_strings_free(char **v, size_t n);

/*
 * A store operation as data: the Redis command of one load, write, read or
 * replay check, and, once its reply is in, what it meant. The keys, the
 * scripts, the conversation cache and the meaning of redirects stay in this
 * module; who sends the command is up to the caller. voxcartd sends it on its
 * worker's event loop (pipelined, without blocking); vx_store_op_run sends it
 * on this thread's blocking connections. The vx_store_* calls above are op + run.
 *
 *     if (vx_store_op_load(&op, skill, user))   1: argv must be sent
 *         send op.argv (to vx_store_op_node's node, after ASKING when op.asking);
 *         on the reply:
 *             while (vx_store_op_complete(&op, reply, errstr)) send op.argv again;
 *     op.rc, op.err and the result field of the kind are set now
 *     vx_store_op_release(&op);
 */
enum vx_store_op_kind {
    VX_STORE_OP_LOAD,
    VX_STORE_OP_WRITE,
    VX_STORE_OP_ORDER_GET,
    VX_STORE_OP_ORDERS_RECENT,
    VX_STORE_OP_LEDGER,
    VX_STORE_OP_SEEN,
    VX_STORE_OP_CERT_GET,
    VX_STORE_OP_CERT_PUT,
    VX_STORE_OP_PING,
    VX_STORE_OP_SLOTS, /* CLUSTER SLOTS: refreshes the slot map */
    VX_STORE_OP_ZADD,  /* a member into a schedule (a sorted set of due times) */
    VX_STORE_OP_RAW,   /* fixture helpers: the reply is kept in raw */
    VX_STORE_OP_MDOC_GET,
    VX_STORE_OP_MDOC_LIST,
    VX_STORE_OP_MDOC_PUT,
    VX_STORE_OP_MIDEM_GET,
    VX_STORE_OP_MDOC_TAKE,  /* one document read and removed at once */
    VX_STORE_OP_LEASE,      /* a lease taken or renewed (vx_store_op_lease) */
    VX_STORE_OP_HOOKS_ADD,  /* the registry of webhook endpoints: one more */
    VX_STORE_OP_HOOKS_LIST, /* ... all of them (ids) */
};

#define VX_STORE_ARGV_INLINE 16

struct redisReply;

struct vx_store_op {
    enum vx_store_op_kind kind;
    int argc; /* 0 once complete without Redis (a cache hit, a bad argument) */
    const char **argv;
    size_t *lens;
    int idempotent; /* a read: may be sent again on a new connection if the old one broke */
    /* routing: the key whose hash slot picks the node (NULL: any node) */
    const char *route_key;
    int asking;          /* send ASKING first (an ASK redirect) */
    int redirected;      /* node holds where the last redirect said to go */
    int redirects;       /* how many so far */
    char node_host[128]; /* with redirected */
    int node_port;

    /* the outcome: rc 0 or a VX_E* code with err; the result of the kind */
    int rc;
    struct vx_err err;
    struct vx_conv conv; /* LOAD */
    uint64_t version;    /* WRITE: the tag written */
    int guard;           /* WRITE refused: the index of the write set op whose guard failed */
    char *json;          /* ORDER_GET (rc VX_ENOTFOUND when there is none), CERT_GET */
    size_t json_len;
    char **ids;   /* ORDERS_RECENT newest first; LEDGER oldest first */
    size_t n_ids; /* SEEN: rc VX_EEXISTS when the request ID was seen before */

    /* private: what argv points into, what the reply is checked against */
    int script;
    int noscript_tried;
    const char *argv_inline[VX_STORE_ARGV_INLINE];
    size_t lens_inline[VX_STORE_ARGV_INLINE];
    char keys[6][480];
    char num[3][24];
    struct vx_buf arena;              /* WRITE: the keys and arguments argv points into */
    const char *skill, *user, *state; /* the caller's; must outlive the op */
    uint64_t expect_version;
    int touches_profile;
    int guard_map[2 * VX_WSET_MAX]; /* write script op -> write set op */
    size_t n_lua_ops;
    struct redisReply *raw;
};

/* Each returns 1 when argv must be sent, 0 when the op is complete already. */
int vx_store_op_load(struct vx_store_op *op, const char *skill, const char *user);
/* w must outlive the op (the op keeps pointers to the conversation state). */
int vx_store_op_write(struct vx_store_op *op, const struct vx_wset *w);
int vx_store_op_order_get(struct vx_store_op *op, const char *skill, const char *user,
                          const char *id);
/* A subscription's document (sub.h), as vx_store_op_order_get: op->json, VX_ENOTFOUND. */
int vx_store_op_sub_get(struct vx_store_op *op, const char *skill, const char *user,
                        const char *id);
int vx_store_op_orders_recent(struct vx_store_op *op, const char *skill, const char *user,
                              size_t max);
/* The customer's subscriptions, newest first (at most max), as orders_recent: op->ids. */
int vx_store_op_subs_recent(struct vx_store_op *op, const char *skill, const char *user,
                            size_t max);
int vx_store_op_ledger(struct vx_store_op *op, const char *skill, const char *user, const char *id);
int vx_store_op_seen(struct vx_store_op *op, const char *request_id, int ttl);
/* The shared certificate cache: vx:cert:<sha256(url)>. */
int vx_store_op_cert_get(struct vx_store_op *op, const char *canon_url);
int vx_store_op_cert_put(struct vx_store_op *op, const char *canon_url, const char *pem, size_t len,
                         int ttl);
/* ZADD key score member (key carries its own hash tag: it is routed by it). */
int vx_store_op_zadd(struct vx_store_op *op, const char *key, const char *member, int64_t score);
int vx_store_op_ping(struct vx_store_op *op);
int vx_store_op_slots(struct vx_store_op *op);

/*
 * Merchant data (DESIGN section 5): everything of one merchant shares the hash
 * tag {m:<merchant>}, so a change is one script on one slot. A collection
 * ("shops", "products:<shop>") is a hash of id -> JSON document plus a sorted
 * set of its ids (all score 0, so ordered by id) that lists read a page of,
 * after a cursor (the last id of the page before). An idempotency record
 * vx:{m:<merchant>}:idem:<key> holds what a POST answered.
 */
int vx_store_merchant_key(const char *merchant, const char *part, char *out, size_t outsz);
/* One document: op->json, or rc VX_ENOTFOUND. */
int vx_store_op_mdoc_get(struct vx_store_op *op, const char *merchant, const char *coll,
                         const char *id);
/* Up to limit documents with ids after `after` ("" = from the start): op->ids holds id,
 * document, id, document, ... (n_ids counts both). */
int vx_store_op_mdoc_list(struct vx_store_op *op, const char *merchant, const char *coll,
                          const char *after, unsigned limit);
/* The same in the order the documents were first written (a collection written sequenced,
 * such as the event log): a reader that pages with the last id it saw misses none, even when
 * writers race; VX_ENOTFOUND-free: an unknown cursor gives an empty page. */
int vx_store_op_mdoc_list_seq(struct vx_store_op *op, const char *merchant, const char *coll,
                              const char *after, unsigned limit);

enum vx_mdoc_mode {
    VX_MDOC_CREATE,  /* refused (VX_ECONFLICT) when the id exists */
    VX_MDOC_REPLACE, /* refused (VX_ENOTFOUND, guard 2) when it does not */
    VX_MDOC_UPSERT,
};

/*
 * Writes one document, all or nothing: first the guards (no idempotency
 * record idem_key yet, else rc VX_EEXISTS with the record in op->json; the
 * parent document exists, else VX_ENOTFOUND with guard 1; the mode), then the
 * document, its index entry, the idempotency record (idem_value, idem_ttl
 * seconds) and, with version_field, a counter in vx:{m:<merchant>}:versions
 * (op->version: its new value). Every string must outlive the op.
 */
struct vx_mdoc_put {
    const char *merchant, *coll, *id, *doc;
    enum vx_mdoc_mode mode;
    const char *idem_key, *idem_value; /* NULL: none */
    int idem_ttl;
    const char *parent_coll, *parent_id; /* NULL: none */
    const char *version_field;           /* NULL: none */
    int sequenced; /* index by write order (vx_store_op_mdoc_list_seq), not by id */
};
int vx_store_op_mdoc_put(struct vx_store_op *op, const struct vx_mdoc_put *p);
/*
 * One document read and removed in one step (op->json, or rc VX_ENOTFOUND), so
 * only one taker has it; with version_field, the counter in versions goes up.
 */
int vx_store_op_mdoc_take(struct vx_store_op *op, const char *merchant, const char *coll,
                          const char *id, const char *version_field);
/*
 * A lease on key (its own hash tag routes it) for owner, for ttl_ms: rc 0 when it was free or
 * already owner's (then renewed), VX_ECONFLICT while another owner holds it. A crashed owner's
 * lease runs out by itself. ttl_ms < 0 gives it back (only its owner can).
 */
int vx_store_op_lease(struct vx_store_op *op, const char *key, const char *owner, int ttl_ms);
/* An idempotency record: op->json, or rc VX_ENOTFOUND. */
int vx_store_op_midem_get(struct vx_store_op *op, const char *merchant, const char *key);
/*
 * The registry of every merchant's webhook endpoints (vx:webhooks, a set of
 * "<merchant> <endpoint>"), which the delivery runner walks. Its own slot, so
 * written after the endpoint, idempotently (a set member added twice is one).
 */
int vx_store_op_hooks_add(struct vx_store_op *op, const char *merchant, const char *endpoint);
int vx_store_op_hooks_list(struct vx_store_op *op);

/*
 * The node op must go to: 1 and host/port (a redirect, or the slot map of a
 * cluster), or 0 for the configured server.
 */
int vx_store_op_node(const struct vx_store_op *op, char *host, size_t hostsz, int *port);

/*
 * Takes the reply (NULL when the connection failed; errstr then says why).
 * Returns 1 when argv must be sent again: Redis did not know the script (argv
 * now carries its text), or a cluster node redirected it (vx_store_op_node
 * then names the node; asking says whether ASKING goes first). Else 0 with the
 * outcome set. A write that failed or conflicted drops the customer's cache
 * entry; a failed write is never resent.
 */
int vx_store_op_complete(struct vx_store_op *op, const struct redisReply *reply,
                         const char *errstr);

/* Sends op on this thread's blocking connections; a read is tried once more on a stale one. */
void vx_store_op_run(struct vx_store_op *op);

/* Frees the results op still holds. */
void vx_store_op_release(struct vx_store_op *op);

/* The store's target, for a caller that keeps its own (asynchronous) connection. */
struct vx_store_target {
    const char *host; /* NULL when unix_path is set */
    int port;
    const char *unix_path;
    const char *password; /* "" for none */
    int db;
    int timeout_ms;
};
void vx_store_target_get(struct vx_store_target *out);

/*
 * Schedules (sorted sets of due times), blocking, for threads that are not
 * workers (the payment janitor): the members due at now (at most max; free
 * with vx_store_strings_free), and a member's due time set (due < 0 removes it).
 */
int vx_store_sched_due(const char *key, int64_t now, size_t max, char ***members, size_t *n,
                       struct vx_err *e);
/* One token of a bucket every instance shares (per_second, burst): 0 and *wait_ms 0 when one
 * was taken, else *wait_ms until one is there (nothing taken). Blocking. */
int vx_store_pace(const char *key, int per_second, int burst, int *wait_ms, struct vx_err *e);
int vx_store_sched_set(const char *key, const char *member, int64_t due, struct vx_err *e);

/* Development helpers for fixtures: raw GET/SET/DEL of a customer's documents. */
int vx_store_customer_key(const char *skill, const char *user, const char *part, char *out,
                          size_t outsz);

/*
 * Fixture helpers for `voxcart replay`: set or read one document of a customer
 * as a test needs it, never used by the server. part is "conversation" (the
 * JSON kept in the conversation hash), "profile" or, for peek only,
 * "last_order" (the newest order), "last_subscription" (the newest subscription). Seeding NULL
 * deletes the document; seeding a conversation bumps its version, so a writer holding an older one
 * conflicts. Peek gives 0 with *json NULL when the document does not exist.
 */
int vx_store_seed(const char *skill, const char *user, const char *part, const char *json,
                  struct vx_err *e);
int vx_store_peek(const char *skill, const char *user, const char *part, char **json,
                  struct vx_err *e);

#endif
