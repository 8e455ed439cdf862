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

#include "voxcart/common.h"
#include "voxcart/certs.h"

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

/* The conversation of one customer: a version counter and an opaque JSON document. */
struct vx_conv {
    long long version; /* 0 when there is none */
    char *state;       /* malloc'd JSON text or NULL */
    char *profile;     /* malloc'd JSON text or NULL (profile has no TTL) */
};

void vx_conv_release(struct vx_conv *c);

/* Turns the conversation cache on (the default) or off. */
void vx_store_cache_enable(int on);

/*
 * Loads conversation and profile in one round trip, or from this process's
 * cache of what the last load or save saw. A cached read may be stale; the
 * version check of vx_store_save catches that (VX_ECONFLICT), and the caller
 * loads again, this time from Redis. Whoever changes a profile outside
 * vx_store_save must bump the conversation version (as vx_store_seed does).
 */
int vx_store_load(const char *skill, const char *user, struct vx_conv *out, struct vx_err *e);

/* An order written in the same atomic step as the state that confirmed it. */
struct vx_store_order {
    const char *id;
    const char *json;
};

/*
 * Writes the conversation state if its version is still `expect_version` (0 =
 * must not exist), bumping it; with the optional profile and order in the same
 * atomic step. Returns 0, VX_ECONFLICT when someone else wrote first, or
 * VX_ESTORE.
 */
int vx_store_save(const char *skill, const char *user, long long expect_version, const char *state,
                  int ttl, const char *profile, const struct vx_store_order *order,
                  struct vx_err *e);

/* Reads one order document (malloc'd JSON) and the newest order IDs of a customer. */
int vx_store_order_get(const char *skill, const char *user, const char *id, char **json,
                       struct vx_err *e);
int vx_store_orders_recent(const char *skill, const char *user, size_t max, char ***ids, size_t *n,
                           struct vx_err *e);
void vx_store_strings_free(char **v, size_t n);

/*
 * A store operation as data: the Redis command of one load, save, order read
 * or replay check, and, once its reply is in, what it meant. The keys, the
 * scripts and the conversation cache stay in this module; who sends the
 * command is up to the caller. voxcartd sends it on its worker's event loop
 * (pipelined, without blocking); vx_store_op_run sends it on this thread's
 * blocking connection. The vx_store_* calls above are op + run.
 *
 *     if (vx_store_op_load(&op, skill, user))   1: argv must be sent
 *         send op.argv; on the reply:
 *             while (vx_store_op_complete(&op, reply, errstr)) send op.argv again;
 *     op.rc, op.err and the result field of the kind are set now
 *     vx_store_op_release(&op);
 */
enum vx_store_op_kind {
    VX_STORE_OP_LOAD,
    VX_STORE_OP_SAVE,
    VX_STORE_OP_ORDER_GET,
    VX_STORE_OP_ORDERS_RECENT,
    VX_STORE_OP_SEEN,
};

#define VX_STORE_ARGV_MAX 14

struct redisReply;

struct vx_store_op {
    enum vx_store_op_kind kind;
    int argc; /* 0 once complete without Redis (a cache hit, a bad argument) */
    const char *argv[VX_STORE_ARGV_MAX];
    size_t lens[VX_STORE_ARGV_MAX];
    int idempotent; /* a read: may be sent again on a new connection if the old one broke */

    /* the outcome: rc 0 or a VX_E* code with err; the result of the kind */
    int rc;
    struct vx_err err;
    struct vx_conv conv; /* LOAD */
    long long version;   /* SAVE: the version written */
    char *json;          /* ORDER_GET (rc VX_ENOTFOUND when there is none) */
    char **ids;          /* ORDERS_RECENT, newest first */
    size_t n_ids;        /* SEEN: rc VX_EEXISTS when the request ID was seen before */

    /* private: what argv points into, what the reply is checked against */
    int script;
    int noscript_tried;
    char keys[4][480];
    char num[3][24];
    const char *skill, *user, *state, *profile; /* the caller's; must outlive the op */
    long long expect_version;
};

/* Each returns 1 when argv must be sent, 0 when the op is complete already. */
int vx_store_op_load(struct vx_store_op *op, const char *skill, const char *user);
int vx_store_op_save(struct vx_store_op *op, const char *skill, const char *user,
                     long long expect_version, const char *state, int ttl, const char *profile,
                     const struct vx_store_order *order);
int vx_store_op_order_get(struct vx_store_op *op, const char *skill, const char *user,
                          const char *id);
int vx_store_op_orders_recent(struct vx_store_op *op, const char *skill, const char *user,
                              size_t max);
int vx_store_op_seen(struct vx_store_op *op, const char *request_id, int ttl);

/*
 * Takes the reply (NULL when the connection failed; errstr then says why).
 * Returns 1 when argv must be sent again (Redis did not know the script: argv
 * now carries its text), else 0 with the outcome set. A save that failed or
 * conflicted drops the customer's cache entry; a failed save is never resent.
 */
int vx_store_op_complete(struct vx_store_op *op, const struct redisReply *reply,
                         const char *errstr);

/* Sends op on this thread's blocking connection; a read is tried once more on a stale one. */
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

/* Development helpers for fixtures: raw GET/SET/DEL of a customer's documents. */
int vx_store_customer_key(const char *skill, const char *user, const char *part, char *out,
                          size_t outsz);

/*
 * Fixture helpers for `voxcart replay`: set or read one document of a customer
 * as a test needs it, never used by the server. part is "conversation" (the
 * JSON kept in the conversation hash), "profile" or, for peek only,
 * "last_order" (the newest order). Seeding NULL deletes the document; seeding a
 * conversation bumps its version, so a writer holding an older one conflicts.
 * Peek gives 0 with *json NULL when the document does not exist.
 */
int vx_store_seed(const char *skill, const char *user, const char *part, const char *json,
                  struct vx_err *e);
int vx_store_peek(const char *skill, const char *user, const char *part, char **json,
                  struct vx_err *e);

#endif
