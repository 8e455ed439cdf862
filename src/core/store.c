/*
 * Redis access for the whole process.
 *
 * DESIGN
 * - One connection per thread, kept in thread-specific data and freed when the
 *   thread exits. Worker threads never share a hiredis context, so no locks.
 * - A failed command drops the connection; the next use reconnects, but not
 *   sooner than a backoff that doubles from 50 ms to 2 s, so a dead Redis costs a
 *   request one failed connect at most per backoff period instead of a timeout
 *   each. The server recovers by itself when Redis returns.
 * - Every change of a customer's data is a write set (wset.h) carried out by one
 *   Lua script on the customer's hash slot: guards first (the conversation's
 *   version tag, an order's state, an idempotency record), then all writes, or
 *   nothing. Version tags are random, so they never repeat after a key expires.
 * - Stored documents (profile, orders) are hashes of their top-level members,
 *   so a write changes only the members it names.
 * - Scripts are sent with EVALSHA and fall back to EVAL once on NOSCRIPT.
 * - Redis Cluster: commands are routed by the hash slot of their first key
 *   (cluster.h); MOVED updates the slot map and resends, ASK resends once with
 *   ASKING. A single server never redirects, so nothing changes there.
 */
#include "voxcart/store.h"
#include "voxcart/cluster.h"
#include "voxcart/jscan.h"
#include "voxcart/json.h"
#include "voxcart/response.h"
#include "voxcart/log.h"
#include "voxcart/wset.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store_target {
    char host[256];
    int port;
    char unix_path[256];
    char password[128];
    int db;
    int timeout_ms;
};

static struct store_target target;

/* One blocking connection of a thread: to the configured server, or to a cluster node. */
struct nconn {
    char host[128]; /* "" for the configured server */
    int port;
    redisContext *c;
    uint64_t next_try_ns;
    unsigned backoff_ms;
    int stale; /* an established connection just broke (Redis restarted, idle timeout) */
};

#define TCONN_NODES 16 /* n[0] is the configured server */

struct tconn {
    struct nconn n[TCONN_NODES];
};

static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void tconn_free(void *p)
{
    struct tconn *t = p;
    for (size_t i = 0; t && i < TCONN_NODES; i++)
        if (t->n[i].c)
            redisFree(t->n[i].c);
    free(t);
}

static void conn_key_make(void)
{
    pthread_key_create(&conn_key, tconn_free);
}

int vx_store_init(const struct vx_store_config *cfg, struct vx_err *e)
{
    const char *u = cfg->url, *p, *at, *slash, *colon;
    memset(&target, 0, sizeof(target));
    target.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 500;
    target.port = 6379;
    pthread_once(&conn_once, conn_key_make);

    if (strncmp(u, "unix://", 7) == 0) {
        if (vx_strlcpy(target.unix_path, u + 7, sizeof(target.unix_path)) != 0 ||
            !target.unix_path[0])
            return vx_err_set(e, VX_ECONFIG, "redis.url: bad unix socket path in '%s'", u);
        return 0;
    }
    if (strncmp(u, "redis://", 8) != 0)
        return vx_err_set(e, VX_ECONFIG, "redis.url: '%s' must start with redis://", u);
    p = u + 8;
    at = strchr(p, '@');
    if (at) {
        const char *pw = memchr(p, ':', (size_t)(at - p));
        pw = pw ? pw + 1 : p;
        if ((size_t)(at - pw) >= sizeof(target.password))
            return vx_err_set(e, VX_ECONFIG, "redis.url: password too long");
        memcpy(target.password, pw, (size_t)(at - pw));
        p = at + 1;
    }
    slash = strchr(p, '/');
    colon = strchr(p, ':');
    if (colon && (!slash || colon < slash)) {
        char port[8] = {0};
        long long v;
        size_t n = (size_t)((slash ? slash : p + strlen(p)) - colon - 1);
        if (n == 0 || n >= sizeof(port))
            return vx_err_set(e, VX_ECONFIG, "redis.url: bad port in '%s'", u);
        memcpy(port, colon + 1, n);
        if (vx_parse_ll(port, 1, 65535, &v) != 0)
            return vx_err_set(e, VX_ECONFIG, "redis.url: bad port in '%s'", u);
        target.port = (int)v;
    } else {
        colon = slash ? slash : p + strlen(p);
    }
    if (colon == p || (size_t)(colon - p) >= sizeof(target.host))
        return vx_err_set(e, VX_ECONFIG, "redis.url: no host in '%s'", u);
    memcpy(target.host, p, (size_t)(colon - p));
    if (slash && slash[1]) {
        long long v;
        if (vx_parse_ll(slash + 1, 0, 15, &v) != 0)
            return vx_err_set(e, VX_ECONFIG, "redis.url: bad database number in '%s'", u);
        target.db = (int)v;
    }
    return 0;
}

void vx_store_target_get(struct vx_store_target *out)
{
    out->host = target.unix_path[0] ? NULL : target.host;
    out->port = target.port;
    out->unix_path = target.unix_path[0] ? target.unix_path : NULL;
    out->password = target.password;
    out->db = target.db;
    out->timeout_ms = target.timeout_ms;
}

/* --- this thread's blocking connections: the configured server, and cluster nodes --- */

static void nconn_close(struct nconn *n)
{
    if (n->c)
        redisFree(n->c);
    n->c = NULL;
}

void vx_store_shutdown(void)
{
    struct tconn *t = pthread_getspecific(conn_key);
    if (t) {
        tconn_free(t);
        pthread_setspecific(conn_key, NULL);
    }
}

static void conn_drop(struct nconn *n, const char *why)
{
    if (n->c) {
        vx_warn("store", "dropping redis connection to %s:%d: %s", n->host[0] ? n->host : "-",
                n->port, why);
        nconn_close(n);
        n->stale = 1;
    }
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : 50;
    if (n->backoff_ms > 2000)
        n->backoff_ms = 2000;
    n->next_try_ns = vx_mono_ns() + (uint64_t)n->backoff_ms * 1000000u;
}

static int simple_cmd_ok(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *r = arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    return ok;
}

static struct tconn *tconn_get(struct vx_err *e)
{
    struct tconn *t = pthread_getspecific(conn_key);
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t) {
            vx_err_set(e, VX_ENOMEM, "out of memory");
            return NULL;
        }
        pthread_setspecific(conn_key, t);
    }
    return t;
}

/* The slot of this thread's connection to host:port (NULL host = the configured server). */
static struct nconn *nconn_find(struct tconn *t, const char *host, int port)
{
    size_t free_i = TCONN_NODES;
    if (!host)
        return &t->n[0];
    for (size_t i = 1; i < TCONN_NODES; i++) {
        if (t->n[i].port == port && strcmp(t->n[i].host, host) == 0)
            return &t->n[i];
        if (!t->n[i].port && free_i == TCONN_NODES)
            free_i = i;
    }
    if (free_i == TCONN_NODES) {
        /* full: reuse the last slot (a cluster this large reshaping) */
        free_i = TCONN_NODES - 1;
        nconn_close(&t->n[free_i]);
        memset(&t->n[free_i], 0, sizeof(t->n[free_i]));
    }
    vx_strlcpy(t->n[free_i].host, host, sizeof(t->n[free_i].host));
    t->n[free_i].port = port;
    return &t->n[free_i];
}

/* The live connection of n, or NULL with e set. */
static redisContext *nconn_get(struct nconn *n, int configured, struct vx_err *e)
{
    struct timeval tv;
    redisContext *c;

    if (n->c)
        return n->c;
    if (n->next_try_ns && vx_mono_ns() < n->next_try_ns) {
        vx_err_set(e, VX_ESTORE, "redis unavailable (waiting before reconnecting)");
        return NULL;
    }
    tv.tv_sec = target.timeout_ms / 1000;
    tv.tv_usec = (target.timeout_ms % 1000) * 1000;
    if (configured)
        c = target.unix_path[0] ? redisConnectUnixWithTimeout(target.unix_path, tv)
                                : redisConnectWithTimeout(target.host, target.port, tv);
    else
        c = redisConnectWithTimeout(n->host, n->port, tv);
    if (!c || c->err) {
        vx_err_set(e, VX_ESTORE, "cannot connect to redis: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        conn_drop(n, e ? e->msg : "connect failed");
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (target.password[0] && !simple_cmd_ok(c, "AUTH %s", target.password)) {
        vx_err_set(e, VX_ESTORE, "redis refused AUTH");
        redisFree(c);
        conn_drop(n, "auth failed");
        return NULL;
    }
    if (target.db) {
        redisReply *r = redisCommand(c, "SELECT %d", target.db);
        int ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            vx_err_set(e, VX_ESTORE, "redis refused SELECT %d", target.db);
            redisFree(c);
            conn_drop(n, "select failed");
            return NULL;
        }
    }
    n->c = c;
    n->backoff_ms = 0;
    n->next_try_ns = 0;
    return c;
}

/* --- shared certificate cache (blocking, for callers without a loop) --- */

static int cert_get(void *ud, const char *url, char **pem, size_t *len)
{
    struct vx_store_op op;
    int rc;
    (void)ud;
    if (vx_store_op_cert_get(&op, url))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc == 0) {
        *pem = op.json;
        *len = op.json_len;
        op.json = NULL;
    }
    vx_store_op_release(&op);
    return rc;
}

static void cert_put(void *ud, const char *url, const char *pem, size_t len, int ttl)
{
    struct vx_store_op op;
    (void)ud;
    if (vx_store_op_cert_put(&op, url, pem, len, ttl))
        vx_store_op_run(&op);
    if (op.rc)
        vx_warn("store", "cannot share certificate chain for '%s': %s", url, op.err.msg);
    vx_store_op_release(&op);
}

static const struct vx_cert_shared cert_shared = {cert_get, cert_put, NULL};

const struct vx_cert_shared *vx_store_cert_shared(void)
{
    return &cert_shared;
}

static void cert_key(const char *url, char *out, size_t outsz)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";
    size_t n = 8;
    SHA256((const unsigned char *)url, strlen(url), md);
    memcpy(out, "vx:cert:", 8);
    for (size_t i = 0; i < sizeof(md) && n + 2 < outsz; i++) {
        out[n++] = hex[md[i] >> 4];
        out[n++] = hex[md[i] & 15];
    }
    out[n] = '\0';
}

/* --- keys --- */

int vx_store_customer_key(const char *skill, const char *user, const char *part, char *out,
                          size_t outsz)
{
    /* "vx:{<skill>:<user>}:<part>", built by hand: a turn makes several of these */
    const char *pieces[] = {"vx:{", skill ? skill : "-", ":", user ? user : "-", "}:", part};
    size_t n = 0;
    for (size_t i = 0; i < VX_ARRAY_LEN(pieces); i++) {
        size_t len = strlen(pieces[i]);
        if (n + len >= outsz) {
            if (outsz)
                out[0] = '\0';
            return VX_ERANGE;
        }
        memcpy(out + n, pieces[i], len);
        n += len;
    }
    out[n] = '\0';
    return 0;
}

/* part "<prefix><id>" of a customer: order:<id>, ledger:<id>, idem:<key>, sched:<name> */
static int customer_key2(const char *skill, const char *user, const char *prefix, const char *id,
                         char *out, size_t outsz)
{
    char part[160];
    if (vx_snprintf(part, sizeof(part), "%s%s", prefix, id ? id : "") != 0)
        return VX_ERANGE;
    return vx_store_customer_key(skill, user, part, out, outsz);
}

void vx_conv_release(struct vx_conv *c)
{
    free(c->state);
    free(c->profile);
    memset(c, 0, sizeof(*c));
}

static char *dup_reply(const redisReply *r)
{
    char *s;
    if (!r || r->type != REDIS_REPLY_STRING)
        return NULL;
    s = malloc(r->len + 1);
    if (s) {
        memcpy(s, r->str, r->len);
        s[r->len] = '\0';
    }
    return s;
}

/*
 * A stored document is a hash of its top-level members, each value JSON text:
 * the reply of HGETALL (name, value, name, value...) becomes the object again.
 * NULL with *empty set when there are no members; NULL otherwise means no memory.
 */
static char *doc_from_pairs(const redisReply *r, int *empty)
{
    struct vx_buf b;
    *empty = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        *empty = 1;
        return NULL;
    }
    vx_buf_init(&b);
    vx_buf_appends(&b, "{");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (b.len > 1)
            vx_buf_appends(&b, ",");
        vx_buf_appends(&b, "\"");
        vx_json_escape(&b, k->str, k->len);
        vx_buf_appends(&b, "\":");
        vx_buf_append(&b, v->str, v->len);
    }
    if (vx_buf_appends(&b, "}") != 0 || !b.data) {
        vx_buf_release(&b);
        return NULL;
    }
    return b.data;
}

/* --- scripts --- */

/* KEYS[1]=conv KEYS[2]=profile -> {tag, state, profile members} */
static const char load_script[] = "local c = redis.call('HMGET', KEYS[1], 'v', 's')\n"
                                  "return {c[1] or '', c[2] or false, "
                                  "redis.call('HGETALL', KEYS[2])}\n";

/*
 * The write-set interpreter. ARGV is a program of ops, each an opcode and its
 * arguments; key arguments are indexes into KEYS (all on one slot). Guards are
 * checked first (V: conversation tag, C: a hash member's value, I: a record
 * that must not exist); any failure returns {'conflict'|'exists', op, found}
 * having written nothing. Then the writes: V conversation, H/D hash members,
 * O document created if absent (+ index), L list append, Z schedule, I record.
 * The conversation also counts its writes in 'n' (for people and tests: the
 * tag is what the check uses).
 */
static const char write_script[] =
    "local function k(i) return KEYS[tonumber(i)] end\n"
    "local i, g = 1, 0\n"
    "while i <= #ARGV do\n"
    "  local op = ARGV[i]\n"
    "  g = g + 1\n"
    "  if op == 'V' then\n"
    "    local v = redis.call('HGET', k(ARGV[i+1]), 'v') or ''\n"
    "    if v ~= ARGV[i+2] then return {'conflict', g, v} end\n"
    "    i = i + 6\n"
    "  elseif op == 'C' then\n"
    "    local v = redis.call('HGET', k(ARGV[i+1]), ARGV[i+2]) or ''\n"
    "    if v ~= ARGV[i+3] then return {'conflict', g, v} end\n"
    "    i = i + 4\n"
    "  elseif op == 'I' then\n"
    "    local v = redis.call('GET', k(ARGV[i+1]))\n"
    "    if v then return {'exists', g, v} end\n"
    "    i = i + 4\n"
    "  elseif op == 'O' then i = i + 5 + 2 * tonumber(ARGV[i+4])\n"
    "  elseif op == 'H' or op == 'Z' then i = i + 4\n"
    "  elseif op == 'D' or op == 'L' then i = i + 3\n"
    "  else return redis.error_reply('ERR bad write set op ' .. tostring(op)) end\n"
    "end\n"
    "i = 1\n"
    "while i <= #ARGV do\n"
    "  local op = ARGV[i]\n"
    "  if op == 'V' then\n"
    "    local key = k(ARGV[i+1])\n"
    "    redis.call('HSET', key, 'v', ARGV[i+3], 's', ARGV[i+4])\n"
    "    redis.call('HINCRBY', key, 'n', 1)\n"
    "    redis.call('EXPIRE', key, ARGV[i+5])\n"
    "    i = i + 6\n"
    "  elseif op == 'C' then i = i + 4\n"
    "  elseif op == 'I' then\n"
    "    if tonumber(ARGV[i+3]) > 0 then\n"
    "      redis.call('SET', k(ARGV[i+1]), ARGV[i+2], 'EX', ARGV[i+3])\n"
    "    else redis.call('SET', k(ARGV[i+1]), ARGV[i+2]) end\n"
    "    i = i + 4\n"
    "  elseif op == 'H' then redis.call('HSET', k(ARGV[i+1]), ARGV[i+2], ARGV[i+3]); i = i + 4\n"
    "  elseif op == 'D' then redis.call('HDEL', k(ARGV[i+1]), ARGV[i+2]); i = i + 3\n"
    "  elseif op == 'L' then redis.call('RPUSH', k(ARGV[i+1]), ARGV[i+2]); i = i + 3\n"
    "  elseif op == 'Z' then redis.call('ZADD', k(ARGV[i+1]), ARGV[i+2], ARGV[i+3]); i = i + 4\n"
    "  elseif op == 'O' then\n"
    "    local key, n = k(ARGV[i+1]), tonumber(ARGV[i+4])\n"
    "    if redis.call('EXISTS', key) == 0 then\n"
    "      for j = 0, n - 1 do redis.call('HSET', key, ARGV[i+5+2*j], ARGV[i+6+2*j]) end\n"
    "      local idx = k(ARGV[i+2])\n"
    "      redis.call('LPUSH', idx, ARGV[i+3])\n"
    "      redis.call('LTRIM', idx, 0, 999)\n"
    "    end\n"
    "    i = i + 5 + 2 * n\n"
    "  end\n"
    "end\n"
    "return {'ok'}\n";

/*
 * KEYS[1]=collection hash KEYS[2]=its index; ARGV after, limit, order -> {id, doc, id, doc,
 * ...}. Order 'id' pages by id; 'seq' by the order documents were written in (the index's
 * scores, vx_mdoc_put.sequenced), the cursor being the id of the last one seen.
 */
static const char mlist_script[] =
    "local ids\n"
    "if ARGV[3] == 'seq' then\n"
    "  local min = '-inf'\n"
    "  if ARGV[1] ~= '' then\n"
    "    local s = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"
    "    if not s then return {} end\n"
    "    min = '(' .. s\n"
    "  end\n"
    "  ids = redis.call('ZRANGEBYSCORE', KEYS[2], min, '+inf', 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "else\n"
    "  local min = '-'\n"
    "  if ARGV[1] ~= '' then min = '(' .. ARGV[1] end\n"
    "  ids = redis.call('ZRANGEBYLEX', KEYS[2], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "end\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local d = redis.call('HGET', KEYS[1], id)\n"
    "  if d then out[#out + 1] = id; out[#out + 1] = d end\n"
    "end\n"
    "return out\n";

/*
 * One merchant document (vx_store_op_mdoc_put). KEYS: collection hash, its
 * index, idempotency record, parent hash, versions hash. ARGV: id, doc, mode,
 * idempotency value ('' none), its TTL, parent id ('' none), version field
 * ('' none). Guards first; nothing is written unless all pass.
 */
static const char mput_script[] =
    "if ARGV[4] ~= '' then\n"
    "  local v = redis.call('GET', KEYS[3])\n"
    "  if v then return {'exists', v} end\n"
    "end\n"
    "if ARGV[6] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[6]) == 0 then return {'missing', 1} "
    "end\n"
    "local had = redis.call('HEXISTS', KEYS[1], ARGV[1])\n"
    "if ARGV[3] == 'create' and had == 1 then return {'conflict'} end\n"
    "if ARGV[3] == 'replace' and had == 0 then return {'missing', 2} end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "if ARGV[8] == '1' then\n"
    "  if had == 0 then redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[5], 'seq:' .. "
    "KEYS[2], "
    "1), ARGV[1]) end\n"
    "else redis.call('ZADD', KEYS[2], 0, ARGV[1]) end\n"
    "if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5]) end\n"
    "local ver = 0\n"
    "if ARGV[7] ~= '' then ver = redis.call('HINCRBY', KEYS[5], ARGV[7], 1) end\n"
    "return {'ok', ver}\n";

/*
 * One merchant document read and removed at once (vx_store_op_mdoc_take), so two
 * takers cannot both have it. KEYS: collection hash, its index, versions hash.
 * ARGV: id, version field ('' none). The document, or nil.
 */
static const char mtake_script[] =
    "local d = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not d then return false end\n"
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[2], 1) end\n"
    "return d\n";

/*
 * A lease (vx_store_op_lease): taken when free, renewed by its owner, refused to anyone
 * else until it runs out; given back by its owner (milliseconds 0). KEYS[1] the lease; ARGV
 * owner, milliseconds. 1 ours, 0 another's.
 */
static const char lease_script[] = "local v = redis.call('GET', KEYS[1])\n"
                                   "if v == false or v == ARGV[1] then\n"
                                   "  if ARGV[2] == '0' then redis.call('DEL', KEYS[1])\n"
                                   "  else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end\n"
                                   "  return 1\n"
                                   "end\n"
                                   "return 0\n";

/*
 * A token bucket shared by every instance (vx_store_pace): KEYS[1] the bucket; ARGV tokens per
 * second, burst. The server's own clock refills it, so instances whose clocks differ still share
 * one rate. 0 when a token was taken, else the milliseconds until one is there.
 */
static const char pace_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')\n"
    "local tokens, at = tonumber(b[1]), tonumber(b[2])\n"
    "if tokens == nil or at == nil then tokens, at = burst, now end\n"
    "if now > at then tokens = math.min(burst, tokens + (now - at) * rate / 1000); at = now end\n"
    "local wait = 0\n"
    "if tokens >= 1 then tokens = tokens - 1\n"
    "else wait = math.ceil((1 - tokens) * 1000 / rate) end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))\n"
    "redis.call('PEXPIRE', KEYS[1], 3600000)\n"
    "return wait\n";

struct script {
    const char *text;
    char sha[41];
};

enum {
    SCRIPT_LOAD,
    SCRIPT_WRITE,
    SCRIPT_MLIST,
    SCRIPT_MPUT,
    SCRIPT_MTAKE,
    SCRIPT_LEASE,
    SCRIPT_PACE
};
static struct script scripts[] = {{load_script, ""}, {write_script, ""}, {mlist_script, ""},
                                  {mput_script, ""}, {mtake_script, ""}, {lease_script, ""},
                                  {pace_script, ""}};

static void sha_hex(const char *text, char out[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";
    SHA1((const unsigned char *)text, strlen(text), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void sha_all(void)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(scripts); i++)
        sha_hex(scripts[i].text, scripts[i].sha);
}

/*
 * The conversation cache. A turn reads the conversation and profile, decides,
 * and writes them back with a version check (the write script). The read can come
 * from this process's memory instead of Redis, because the write validates it:
 * if anything changed the conversation or the profile since (another thread,
 * another voxcartd, a profile writer, the key expiring), the version differs,
 * the save is refused, the entry is dropped and the turn runs again on what
 * Redis holds. Every stateful turn saves, so no answer rests on an unvalidated
 * read; a turn costs one Redis round trip instead of two. Entries live in a
 * direct-mapped table (a colliding customer evicts the previous one) guarded by
 * striped mutexes; the memory is bounded by CACHE_SLOTS.
 */
#define CACHE_SLOTS   8192
#define CACHE_STRIPES 64

struct cache_slot {
    uint64_t hash;
    char *key; /* "skill\nuser" */
    uint64_t version;
    char *state;
    char *profile;
};

static struct cache_slot cache[CACHE_SLOTS];
static pthread_mutex_t cache_mu[CACHE_STRIPES] = {
#define M4                                                                                         \
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,               \
        PTHREAD_MUTEX_INITIALIZER
#define M16 M4, M4, M4, M4
    M16, M16, M16, M16
#undef M16
#undef M4
};
static int cache_enabled = 1;

void vx_store_cache_enable(int on)
{
    cache_enabled = on;
}

static uint64_t fnv1a(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ull;
    h = (h ^ '\n') * 1099511628211ull;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 1099511628211ull;
    return h;
}

static int slot_is(const struct cache_slot *cs, uint64_t h, const char *skill, const char *user)
{
    size_t n = strlen(skill);
    return cs->key && cs->hash == h && strncmp(cs->key, skill, n) == 0 && cs->key[n] == '\n' &&
           strcmp(cs->key + n + 1, user) == 0;
}

static void slot_clear(struct cache_slot *cs)
{
    free(cs->key);
    free(cs->state);
    free(cs->profile);
    memset(cs, 0, sizeof(*cs));
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* 1 and a copy in out on a hit, 0 on a miss. */
static int cache_get(const char *skill, const char *user, struct vx_conv *out)
{
    uint64_t h = fnv1a(skill, user);
    struct cache_slot *cs = &cache[h % CACHE_SLOTS];
    pthread_mutex_t *mu = &cache_mu[(h % CACHE_SLOTS) % CACHE_STRIPES];
    int hit = 0;
    if (!cache_enabled)
        return 0;
    pthread_mutex_lock(mu);
    if (slot_is(cs, h, skill, user)) {
        out->version = cs->version;
        out->state = dup_or_null(cs->state);
        out->profile = dup_or_null(cs->profile);
        hit = (!cs->state || out->state) && (!cs->profile || out->profile);
        if (!hit)
            vx_conv_release(out);
    }
    pthread_mutex_unlock(mu);
    return hit;
}

/*
 * Remembers what Redis holds now. With keep_profile the entry is updated only
 * when it still holds only_if_version (a write's result) and its profile is
 * kept; otherwise it is replaced whole (a load's result).
 */
static void cache_put(const char *skill, const char *user, uint64_t version, const char *state,
                      const char *profile, int keep_profile, uint64_t only_if_version)
{
    uint64_t h = fnv1a(skill, user);
    struct cache_slot *cs = &cache[h % CACHE_SLOTS];
    pthread_mutex_t *mu = &cache_mu[(h % CACHE_SLOTS) % CACHE_STRIPES];
    char *nstate, *nprof = NULL, *nkey = NULL;
    if (!cache_enabled)
        return;
    nstate = dup_or_null(state);
    if (profile)
        nprof = strdup(profile);
    pthread_mutex_lock(mu);
    if (keep_profile) {
        if (!slot_is(cs, h, skill, user) || cs->version != only_if_version || (state && !nstate) ||
            (profile && !nprof)) {
            if (slot_is(cs, h, skill, user))
                slot_clear(cs);
            goto out;
        }
        free(cs->state);
        cs->state = nstate;
        nstate = NULL;
        cs->version = version;
        goto out;
    }
    {
        size_t ls = strlen(skill), lu = strlen(user);
        nkey = malloc(ls + lu + 2);
        if (nkey) {
            memcpy(nkey, skill, ls);
            nkey[ls] = '\n';
            memcpy(nkey + ls + 1, user, lu + 1);
        }
    }
    slot_clear(cs);
    if (!nkey || (state && !nstate) || (profile && !nprof))
        goto out;
    cs->hash = h;
    cs->key = nkey;
    cs->version = version;
    cs->state = nstate;
    cs->profile = nprof;
    nkey = nstate = nprof = NULL;
out:
    pthread_mutex_unlock(mu);
    free(nkey);
    free(nstate);
    free(nprof);
}

static void cache_drop(const char *skill, const char *user)
{
    uint64_t h = fnv1a(skill, user);
    struct cache_slot *cs = &cache[h % CACHE_SLOTS];
    pthread_mutex_t *mu = &cache_mu[(h % CACHE_SLOTS) % CACHE_STRIPES];
    pthread_mutex_lock(mu);
    if (slot_is(cs, h, skill, user))
        slot_clear(cs);
    pthread_mutex_unlock(mu);
}

/* --- store operations as data --- */

static void op_init(struct vx_store_op *op, enum vx_store_op_kind kind)
{
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->script = -1;
    op->guard = -1;
    op->argv = op->argv_inline;
    op->lens = op->lens_inline;
    vx_buf_init(&op->arena);
    vx_err_clear(&op->err);
}

/* Completes op at once with an error, nothing to send. */
static int op_fail(struct vx_store_op *op, int code, const char *msg)
{
    op->argc = 0;
    op->rc = vx_err_set(&op->err, code, "%s", msg);
    return 0;
}

static void op_arg(struct vx_store_op *op, const char *s, size_t len)
{
    if (op->argc >= VX_STORE_ARGV_INLINE)
        return; /* the inline forms never need more; a write set builds its own argv */
    op->argv[op->argc] = s;
    op->lens[op->argc++] = len;
}

static void op_args(struct vx_store_op *op, const char *s)
{
    op_arg(op, s, strlen(s));
}

/* EVALSHA <sha> <nkeys> keys...: the arguments follow with op_arg. */
static void op_script(struct vx_store_op *op, int script, int nkeys)
{
    pthread_once(&sha_once, sha_all);
    op->script = script;
    op_arg(op, "EVALSHA", 7);
    op_arg(op, scripts[script].sha, 40);
    snprintf(op->num[2], sizeof(op->num[2]), "%d", nkeys);
    op_args(op, op->num[2]);
    for (int i = 0; i < nkeys; i++)
        op_args(op, op->keys[i]);
}

int vx_store_op_load(struct vx_store_op *op, const char *skill, const char *user)
{
    op_init(op, VX_STORE_OP_LOAD);
    op->skill = skill;
    op->user = user;
    op->idempotent = 1;
    if (vx_store_customer_key(skill, user, "conv", op->keys[0], sizeof(op->keys[0])) ||
        vx_store_customer_key(skill, user, "profile", op->keys[1], sizeof(op->keys[1])))
        return op_fail(op, VX_EINVAL, "skill or user ID too long");
    op->route_key = op->keys[0];
    if (cache_get(skill, user, &op->conv))
        return 0;
    op_script(op, SCRIPT_LOAD, 2);
    return 1;
}

/*
 * A write set as the write script's program. Every key and argument is copied
 * into one arena first and argv is pointed into it at the end (the arena may
 * move while it grows): pieces are recorded as offsets.
 */
struct piece {
    size_t off, len;
};

struct wbuild {
    struct vx_store_op *op;
    struct piece *p;
    size_t n, cap;
    size_t nkeys;
    struct piece keys[3 * VX_WSET_MAX + 3];
    int failed;
};

static size_t put_bytes(struct wbuild *b, const char *s, size_t len)
{
    size_t off = b->op->arena.len;
    if (vx_buf_append(&b->op->arena, s, len) != 0 || vx_buf_append(&b->op->arena, "", 1) != 0)
        b->failed = 1;
    return off;
}

static void warg(struct wbuild *b, const char *s, size_t len)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        struct piece *np = realloc(b->p, cap * sizeof(*np));
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    b->p[b->n].off = put_bytes(b, s, len);
    b->p[b->n++].len = len;
}

static void wargs(struct wbuild *b, const char *s)
{
    warg(b, s, strlen(s));
}

static void wnum(struct wbuild *b, long long v)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", v);
    wargs(b, num);
}

/* The index (1-based, as a string argument) of key in KEYS, added when new. */
static void wkey(struct wbuild *b, const char *skill, const char *user, const char *prefix,
                 const char *id)
{
    char key[600];
    const char *arena;
    size_t len;
    if (customer_key2(skill, user, prefix, id, key, sizeof(key)) != 0) {
        b->failed = 1;
        return;
    }
    len = strlen(key);
    arena = b->op->arena.data;
    for (size_t i = 0; i < b->nkeys; i++) {
        if (b->keys[i].len == len && memcmp(arena + b->keys[i].off, key, len) == 0) {
            wnum(b, (long long)i + 1);
            return;
        }
    }
    if (b->nkeys >= VX_ARRAY_LEN(b->keys)) {
        b->failed = 1;
        return;
    }
    b->keys[b->nkeys].off = put_bytes(b, key, len);
    b->keys[b->nkeys++].len = len;
    wnum(b, (long long)b->nkeys);
}

/* '"<text>"': a state name as the JSON value an order member holds. */
static void wjson_str(struct wbuild *b, const char *s)
{
    struct vx_buf t;
    vx_buf_init(&t);
    vx_buf_appends(&t, "\"");
    vx_json_escape(&t, s, strlen(s));
    if (vx_buf_appends(&t, "\"") != 0 || !t.data)
        b->failed = 1;
    else
        warg(b, t.data, t.len);
    vx_buf_release(&t);
}

/* O: the order's (or subscription's) document members become the hash's fields; part and
 * index name the kind ("order:", "orders" or "sub:", "subs"). */
static void worder(struct wbuild *b, const struct vx_wset *w, const struct vx_wop *o,
                   const char *part, const char *index)
{
    struct vx_jdoc doc;
    const struct vx_jnode *root, *m;
    if (!o->b || vx_jdoc_parse(&doc, o->b, strlen(o->b), NULL) != 0) {
        b->failed = 1;
        return;
    }
    root = vx_jroot(&doc);
    if (root->type != VX_JOBJECT) {
        vx_jdoc_free(&doc);
        b->failed = 1;
        return;
    }
    wargs(b, "O");
    wkey(b, w->skill, w->user, part, o->a);
    wkey(b, w->skill, w->user, index, NULL);
    wargs(b, o->a);
    wnum(b, (long long)root->count);
    for (m = vx_jfirst(&doc, root); m; m = vx_jnext(&doc, m)) {
        wargs(b, m->key);
        warg(b, o->b + m->start, m->end - m->start);
    }
    vx_jdoc_free(&doc);
}

int vx_store_op_write(struct vx_store_op *op, const struct vx_wset *w)
{
    struct wbuild b;
    char tag[17], expect[17];
    size_t nargs, at = 0;

    op_init(op, VX_STORE_OP_WRITE);
    op->skill = w->skill;
    op->user = w->user;
    if (w->overflow)
        return op_fail(op, VX_EINVAL, "write set too large or out of memory");
    memset(&b, 0, sizeof(b));
    b.op = op;
    snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)w->tag);
    if (w->expect)
        snprintf(expect, sizeof(expect), "%016llx", (unsigned long long)w->expect);
    else
        expect[0] = '\0';
    op->version = w->tag;
    op->expect_version = w->expect;
    for (size_t i = 0; i < w->n && !b.failed; i++) {
        const struct vx_wop *o = &w->ops[i];
        size_t before = b.n;
        switch (o->kind) {
        case VX_W_CONV:
            op->state = o->a;
            wargs(&b, "V");
            wkey(&b, w->skill, w->user, "conv", NULL);
            wargs(&b, expect);
            wargs(&b, tag);
            wargs(&b, o->a);
            wnum(&b, o->n);
            break;
        case VX_W_PROFILE_SET:
            op->touches_profile = 1;
            wargs(&b, "H");
            wkey(&b, w->skill, w->user, "profile", NULL);
            wargs(&b, o->a);
            wargs(&b, o->b);
            break;
        case VX_W_PROFILE_DEL:
            op->touches_profile = 1;
            wargs(&b, "D");
            wkey(&b, w->skill, w->user, "profile", NULL);
            wargs(&b, o->a);
            break;
        case VX_W_ORDER_CREATE:
            worder(&b, w, o, "order:", "orders");
            break;
        case VX_W_SUB_CREATE:
            worder(&b, w, o, "sub:", "subs");
            break;
        case VX_W_ORDER_SET:
        case VX_W_SUB_SET:
            wargs(&b, "H");
            wkey(&b, w->skill, w->user, o->kind == VX_W_SUB_SET ? "sub:" : "order:", o->a);
            wargs(&b, o->b);
            wargs(&b, o->c);
            break;
        case VX_W_ORDER_CAS:
            wargs(&b, "C");
            wkey(&b, w->skill, w->user, "order:", o->a);
            wargs(&b, "state");
            wjson_str(&b, o->b);
            op->guard_map[op->n_lua_ops++] = (int)i;
            wargs(&b, "H");
            wkey(&b, w->skill, w->user, "order:", o->a);
            wargs(&b, "state");
            wjson_str(&b, o->c);
            break;
        case VX_W_LEDGER:
            wargs(&b, "L");
            wkey(&b, w->skill, w->user, "ledger:", o->a);
            wargs(&b, o->b);
            break;
        case VX_W_IDEM:
            wargs(&b, "I");
            wkey(&b, w->skill, w->user, "idem:", o->a);
            wargs(&b, o->b);
            wnum(&b, o->n);
            break;
        case VX_W_ORDER_GUARD:
        case VX_W_SUB_GUARD:
            wargs(&b, "C");
            wkey(&b, w->skill, w->user, o->kind == VX_W_SUB_GUARD ? "sub:" : "order:", o->a);
            wargs(&b, o->b);
            wargs(&b, o->c);
            break;
        case VX_W_SCHEDULE:
            wargs(&b, "Z");
            wkey(&b, w->skill, w->user, "sched:", o->a);
            wnum(&b, o->n);
            wargs(&b, o->b);
            break;
        }
        if (b.n != before && op->n_lua_ops < VX_ARRAY_LEN(op->guard_map))
            op->guard_map[op->n_lua_ops++] = (int)i;
    }
    if (b.failed || b.nkeys == 0) {
        free(b.p);
        return op_fail(op, VX_EINVAL,
                       b.nkeys == 0 && !b.failed ? "empty write set"
                                                 : "write set cannot be encoded");
    }
    pthread_once(&sha_once, sha_all);
    nargs = 3 + b.nkeys + b.n;
    op->argv = malloc(nargs * sizeof(*op->argv));
    op->lens = malloc(nargs * sizeof(*op->lens));
    if (!op->argv || !op->lens) {
        free(b.p);
        free(op->argv);
        free(op->lens);
        op->argv = op->argv_inline;
        op->lens = op->lens_inline;
        return op_fail(op, VX_ENOMEM, "out of memory");
    }
    op->script = SCRIPT_WRITE;
    snprintf(op->num[2], sizeof(op->num[2]), "%zu", b.nkeys);
    op->argv[at] = "EVALSHA";
    op->lens[at++] = 7;
    op->argv[at] = scripts[SCRIPT_WRITE].sha;
    op->lens[at++] = 40;
    op->argv[at] = op->num[2];
    op->lens[at++] = strlen(op->num[2]);
    for (size_t i = 0; i < b.nkeys; i++) {
        op->argv[at] = op->arena.data + b.keys[i].off;
        op->lens[at++] = b.keys[i].len;
    }
    for (size_t i = 0; i < b.n; i++) {
        op->argv[at] = op->arena.data + b.p[i].off;
        op->lens[at++] = b.p[i].len;
    }
    op->argc = (int)at;
    op->route_key = op->argv[3];
    free(b.p);
    return 1;
}

int vx_store_op_order_get(struct vx_store_op *op, const char *skill, const char *user,
                          const char *id)
{
    op_init(op, VX_STORE_OP_ORDER_GET);
    op->idempotent = 1;
    if (customer_key2(skill, user, "order:", id, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "order ID too long");
    op->route_key = op->keys[0];
    op_arg(op, "HGETALL", 7);
    op_args(op, op->keys[0]);
    return 1;
}

int vx_store_op_sub_get(struct vx_store_op *op, const char *skill, const char *user, const char *id)
{
    op_init(op, VX_STORE_OP_ORDER_GET);
    op->idempotent = 1;
    if (customer_key2(skill, user, "sub:", id, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "subscription ID too long");
    op->route_key = op->keys[0];
    op_arg(op, "HGETALL", 7);
    op_args(op, op->keys[0]);
    return 1;
}

static int op_recent(struct vx_store_op *op, const char *skill, const char *user, const char *list,
                     size_t max)
{
    op_init(op, VX_STORE_OP_ORDERS_RECENT);
    op->idempotent = 1;
    if (vx_store_customer_key(skill, user, list, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "skill or user ID too long");
    op->route_key = op->keys[0];
    snprintf(op->num[0], sizeof(op->num[0]), "%zu", max ? max - 1 : 0);
    op_arg(op, "LRANGE", 6);
    op_args(op, op->keys[0]);
    op_arg(op, "0", 1);
    op_args(op, op->num[0]);
    return 1;
}

int vx_store_op_orders_recent(struct vx_store_op *op, const char *skill, const char *user,
                              size_t max)
{
    return op_recent(op, skill, user, "orders", max);
}

int vx_store_op_subs_recent(struct vx_store_op *op, const char *skill, const char *user, size_t max)
{
    return op_recent(op, skill, user, "subs", max);
}

int vx_store_op_ledger(struct vx_store_op *op, const char *skill, const char *user, const char *id)
{
    op_init(op, VX_STORE_OP_LEDGER);
    op->idempotent = 1;
    if (customer_key2(skill, user, "ledger:", id, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "order ID too long");
    op->route_key = op->keys[0];
    op_arg(op, "LRANGE", 6);
    op_args(op, op->keys[0]);
    op_arg(op, "0", 1);
    op_arg(op, "-1", 2);
    return 1;
}

int vx_store_op_seen(struct vx_store_op *op, const char *request_id, int ttl)
{
    op_init(op, VX_STORE_OP_SEEN);
    /* not repeated: a SET NX that did land would make the retry call it a replay */
    op->idempotent = 0;
    if (vx_snprintf(op->keys[0], sizeof(op->keys[0]), "vx:seen:%s", request_id) != 0)
        return op_fail(op, VX_EINVAL, "request ID too long");
    op->route_key = op->keys[0];
    snprintf(op->num[0], sizeof(op->num[0]), "%d", ttl);
    op_arg(op, "SET", 3);
    op_args(op, op->keys[0]);
    op_arg(op, "1", 1);
    op_arg(op, "NX", 2);
    op_arg(op, "EX", 2);
    op_args(op, op->num[0]);
    return 1;
}

int vx_store_op_cert_get(struct vx_store_op *op, const char *canon_url)
{
    op_init(op, VX_STORE_OP_CERT_GET);
    op->idempotent = 1;
    cert_key(canon_url, op->keys[0], sizeof(op->keys[0]));
    op->route_key = op->keys[0];
    op_arg(op, "GET", 3);
    op_args(op, op->keys[0]);
    return 1;
}

int vx_store_op_cert_put(struct vx_store_op *op, const char *canon_url, const char *pem, size_t len,
                         int ttl)
{
    op_init(op, VX_STORE_OP_CERT_PUT);
    op->idempotent = 1;
    cert_key(canon_url, op->keys[0], sizeof(op->keys[0]));
    op->route_key = op->keys[0];
    if (vx_buf_append(&op->arena, pem, len) != 0)
        return op_fail(op, VX_ENOMEM, "out of memory");
    snprintf(op->num[0], sizeof(op->num[0]), "%d", ttl > 0 ? ttl : 3600);
    op_arg(op, "SET", 3);
    op_args(op, op->keys[0]);
    op_arg(op, op->arena.data, len);
    op_arg(op, "EX", 2);
    op_args(op, op->num[0]);
    return 1;
}

int vx_store_op_zadd(struct vx_store_op *op, const char *key, const char *member, int64_t score)
{
    op_init(op, VX_STORE_OP_ZADD);
    op->idempotent = 1; /* the same member and score again changes nothing */
    if (vx_snprintf(op->keys[0], sizeof(op->keys[0]), "%s", key) != 0 ||
        vx_snprintf(op->keys[1], sizeof(op->keys[1]), "%s", member) != 0)
        return op_fail(op, VX_EINVAL, "schedule key or member too long");
    snprintf(op->num[0], sizeof(op->num[0]), "%lld", (long long)score);
    op->route_key = op->keys[0];
    op_arg(op, "ZADD", 4);
    op_args(op, op->keys[0]);
    op_args(op, op->num[0]);
    op_args(op, op->keys[1]);
    return 1;
}

int vx_store_op_ping(struct vx_store_op *op)
{
    op_init(op, VX_STORE_OP_PING);
    op->idempotent = 1;
    op_arg(op, "PING", 4);
    return 1;
}

int vx_store_op_slots(struct vx_store_op *op)
{
    op_init(op, VX_STORE_OP_SLOTS);
    op->idempotent = 1;
    op_arg(op, "CLUSTER", 7);
    op_arg(op, "SLOTS", 5);
    return 1;
}

/* --- merchant data --- */

int vx_store_merchant_key(const char *merchant, const char *part, char *out, size_t outsz)
{
    return vx_store_customer_key("m", merchant, part, out, outsz);
}

static int mkey2(const char *merchant, const char *prefix, const char *id, char *out, size_t outsz)
{
    char part[300];
    if (vx_snprintf(part, sizeof(part), "%s%s", prefix, id ? id : "") != 0)
        return VX_ERANGE;
    return vx_store_merchant_key(merchant, part, out, outsz);
}

int vx_store_op_mdoc_get(struct vx_store_op *op, const char *merchant, const char *coll,
                         const char *id)
{
    op_init(op, VX_STORE_OP_MDOC_GET);
    op->idempotent = 1;
    if (vx_store_merchant_key(merchant, coll, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "merchant or collection too long");
    op->route_key = op->keys[0];
    op_arg(op, "HGET", 4);
    op_args(op, op->keys[0]);
    op_args(op, id);
    return 1;
}

static int mdoc_list(struct vx_store_op *op, const char *merchant, const char *coll,
                     const char *after, unsigned limit, const char *order)
{
    op_init(op, VX_STORE_OP_MDOC_LIST);
    op->idempotent = 1;
    if (vx_store_merchant_key(merchant, coll, op->keys[0], sizeof(op->keys[0])) ||
        mkey2(merchant, coll, ":idx", op->keys[1], sizeof(op->keys[1])))
        return op_fail(op, VX_EINVAL, "merchant or collection too long");
    op->route_key = op->keys[0];
    op_script(op, SCRIPT_MLIST, 2);
    op_args(op, after ? after : "");
    snprintf(op->num[0], sizeof(op->num[0]), "%u", limit);
    op_args(op, op->num[0]);
    op_args(op, order);
    return 1;
}

int vx_store_op_mdoc_list(struct vx_store_op *op, const char *merchant, const char *coll,
                          const char *after, unsigned limit)
{
    return mdoc_list(op, merchant, coll, after, limit, "id");
}

int vx_store_op_mdoc_list_seq(struct vx_store_op *op, const char *merchant, const char *coll,
                              const char *after, unsigned limit)
{
    return mdoc_list(op, merchant, coll, after, limit, "seq");
}

static const char *const mdoc_modes[] = {"create", "replace", "upsert"};

int vx_store_op_mdoc_put(struct vx_store_op *op, const struct vx_mdoc_put *p)
{
    op_init(op, VX_STORE_OP_MDOC_PUT);
    if (vx_store_merchant_key(p->merchant, p->coll, op->keys[0], sizeof(op->keys[0])) ||
        mkey2(p->merchant, p->coll, ":idx", op->keys[1], sizeof(op->keys[1])) ||
        mkey2(p->merchant, "idem:", p->idem_key ? p->idem_key : "", op->keys[2],
              sizeof(op->keys[2])) ||
        vx_store_merchant_key(p->merchant, p->parent_coll ? p->parent_coll : "none", op->keys[3],
                              sizeof(op->keys[3])) ||
        vx_store_merchant_key(p->merchant, "versions", op->keys[4], sizeof(op->keys[4])))
        return op_fail(op, VX_EINVAL, "merchant, collection or key too long");
    op->route_key = op->keys[0];
    op_script(op, SCRIPT_MPUT, 5);
    op_args(op, p->id);
    op_args(op, p->doc);
    op_args(op, mdoc_modes[p->mode]);
    op_args(op, p->idem_key && p->idem_value ? p->idem_value : "");
    snprintf(op->num[0], sizeof(op->num[0]), "%d", p->idem_ttl > 0 ? p->idem_ttl : 86400);
    op_args(op, op->num[0]);
    op_args(op, p->parent_coll && p->parent_id ? p->parent_id : "");
    op_args(op, p->version_field ? p->version_field : "");
    op_args(op, p->sequenced ? "1" : "0");
    return 1;
}

int vx_store_op_mdoc_take(struct vx_store_op *op, const char *merchant, const char *coll,
                          const char *id, const char *version_field)
{
    op_init(op, VX_STORE_OP_MDOC_TAKE);
    if (vx_store_merchant_key(merchant, coll, op->keys[0], sizeof(op->keys[0])) ||
        mkey2(merchant, coll, ":idx", op->keys[1], sizeof(op->keys[1])) ||
        vx_store_merchant_key(merchant, "versions", op->keys[2], sizeof(op->keys[2])))
        return op_fail(op, VX_EINVAL, "merchant or collection too long");
    op->route_key = op->keys[0];
    op_script(op, SCRIPT_MTAKE, 3);
    op_args(op, id);
    op_args(op, version_field ? version_field : "");
    return 1;
}

int vx_store_op_lease(struct vx_store_op *op, const char *key, const char *owner, int ttl_ms)
{
    op_init(op, VX_STORE_OP_LEASE);
    if (vx_strlcpy(op->keys[0], key, sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "lease key too long");
    op->route_key = op->keys[0];
    op_script(op, SCRIPT_LEASE, 1);
    op_args(op, owner);
    snprintf(op->num[0], sizeof(op->num[0]), "%d", ttl_ms > 0 ? ttl_ms : ttl_ms < 0 ? 0 : 1000);
    op_args(op, op->num[0]);
    return 1;
}

int vx_store_op_midem_get(struct vx_store_op *op, const char *merchant, const char *key)
{
    op_init(op, VX_STORE_OP_MIDEM_GET);
    op->idempotent = 1;
    if (mkey2(merchant, "idem:", key, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "idempotency key too long");
    op->route_key = op->keys[0];
    op_arg(op, "GET", 3);
    op_args(op, op->keys[0]);
    return 1;
}

int vx_store_op_hooks_add(struct vx_store_op *op, const char *merchant, const char *endpoint)
{
    op_init(op, VX_STORE_OP_HOOKS_ADD);
    op->idempotent = 1;
    vx_strlcpy(op->keys[0], "vx:webhooks", sizeof(op->keys[0]));
    if (vx_snprintf(op->keys[1], sizeof(op->keys[1]), "%s %s", merchant, endpoint) != 0)
        return op_fail(op, VX_EINVAL, "merchant or endpoint too long");
    op->route_key = op->keys[0];
    op_arg(op, "SADD", 4);
    op_args(op, op->keys[0]);
    op_args(op, op->keys[1]);
    return 1;
}

int vx_store_op_hooks_list(struct vx_store_op *op)
{
    op_init(op, VX_STORE_OP_HOOKS_LIST);
    op->idempotent = 1;
    vx_strlcpy(op->keys[0], "vx:webhooks", sizeof(op->keys[0]));
    op->route_key = op->keys[0];
    op_arg(op, "SMEMBERS", 8);
    op_args(op, op->keys[0]);
    return 1;
}

static void op_complete_mput(struct vx_store_op *op, const redisReply *r)
{
    const redisReply *w;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        (w = r->element[0])->type != REDIS_REPLY_STRING) {
        op->rc = vx_err_set(&op->err, VX_ESTORE, "unexpected reply to the merchant write");
    } else if (strcmp(w->str, "ok") == 0) {
        op->version = r->elements > 1 && r->element[1]->type == REDIS_REPLY_INTEGER
                          ? (uint64_t)r->element[1]->integer
                          : 0;
    } else if (strcmp(w->str, "exists") == 0) {
        op->json = r->elements > 1 ? dup_reply(r->element[1]) : NULL;
        op->json_len = op->json ? r->element[1]->len : 0;
        op->rc = vx_err_set(&op->err, VX_EEXISTS, "idempotency key used already");
    } else if (strcmp(w->str, "missing") == 0) {
        op->guard = r->elements > 1 && r->element[1]->type == REDIS_REPLY_INTEGER
                        ? (int)r->element[1]->integer
                        : 0;
        op->rc = vx_err_set(&op->err, VX_ENOTFOUND,
                            op->guard == 1 ? "no such parent" : "no such document");
    } else {
        op->rc = vx_err_set(&op->err, VX_ECONFLICT, "a document with this id exists");
    }
}

/* A string reply as op->json, or VX_ENOTFOUND for a nil. */
static void op_complete_string(struct vx_store_op *op, const redisReply *r, const char *what)
{
    op->json = dup_reply(r);
    op->json_len = op->json ? r->len : 0;
    if (!op->json)
        op->rc = r->type == REDIS_REPLY_STRING ? vx_err_set(&op->err, VX_ENOMEM, "out of memory")
                                               : vx_err_set(&op->err, VX_ENOTFOUND, "%s", what);
}

int vx_store_op_node(const struct vx_store_op *op, char *host, size_t hostsz, int *port)
{
    struct vx_node n;
    if (op->redirected) {
        vx_strlcpy(host, op->node_host, hostsz);
        *port = op->node_port;
        return 1;
    }
    if (!op->route_key || !vx_cluster_active())
        return 0;
    if (!vx_cluster_node_for(vx_cluster_slot(op->route_key, strlen(op->route_key)), &n))
        return 0;
    vx_strlcpy(host, n.host, hostsz);
    *port = n.port;
    return 1;
}

static void op_complete_load(struct vx_store_op *op, const redisReply *r)
{
    int empty;
    uint64_t v = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        op->rc = vx_err_set(&op->err, VX_ESTORE, "unexpected reply to the load script");
        return;
    }
    if (r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len == 16)
        v = strtoull(r->element[0]->str, NULL, 16);
    op->conv.version = v;
    op->conv.state = dup_reply(r->element[1]);
    op->conv.profile = doc_from_pairs(r->element[2], &empty);
    if ((r->element[1]->type == REDIS_REPLY_STRING && !op->conv.state) ||
        (!empty && !op->conv.profile)) {
        vx_conv_release(&op->conv);
        op->rc = vx_err_set(&op->err, VX_ENOMEM, "out of memory");
        return;
    }
    cache_put(op->skill, op->user, op->conv.version, op->conv.state, op->conv.profile, 0, 0);
}

static void op_complete_write(struct vx_store_op *op, const redisReply *r)
{
    const redisReply *w;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        (w = r->element[0])->type != REDIS_REPLY_STRING) {
        op->rc = vx_err_set(&op->err, VX_ESTORE, "unexpected reply to the write script");
    } else if (strcmp(w->str, "ok") == 0) {
        op->rc = 0;
    } else {
        long long g = r->elements > 1 && r->element[1]->type == REDIS_REPLY_INTEGER
                          ? r->element[1]->integer
                          : 0;
        op->guard = g >= 1 && (size_t)g <= op->n_lua_ops ? op->guard_map[g - 1] : -1;
        if (strcmp(w->str, "exists") == 0)
            op->rc =
                vx_err_set(&op->err, VX_EEXISTS, "already recorded (write set op %d)", op->guard);
        else
            op->rc = vx_err_set(&op->err, VX_ECONFLICT, "changed concurrently (write set op %d)",
                                op->guard);
    }
    if (op->rc == 0 && op->state && !op->touches_profile)
        cache_put(op->skill, op->user, op->version, op->state, NULL, 1, op->expect_version);
    else
        cache_drop(op->skill, op->user);
}

static void op_complete_strings(struct vx_store_op *op, const redisReply *r)
{
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    op->ids = calloc(n ? n : 1, sizeof(*op->ids));
    if (!op->ids) {
        op->rc = vx_err_set(&op->err, VX_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        op->ids[op->n_ids] = dup_reply(r->element[i]);
        if (op->ids[op->n_ids])
            op->n_ids++;
    }
}

/* MOVED/ASK: 1 when op goes again to the node named (the slot map learns of MOVED). */
static int op_redirect(struct vx_store_op *op, const char *err)
{
    struct vx_node node;
    uint16_t slot;
    int ask;
    if (!vx_cluster_redirect_parse(err, &ask, &slot, &node))
        return 0;
    if (op->redirects++ >= VX_REDIRECTS_MAX)
        return 0;
    if (!ask)
        vx_cluster_set_slot(slot, &node);
    op->asking = ask;
    op->redirected = 1;
    vx_strlcpy(op->node_host, node.host, sizeof(op->node_host));
    op->node_port = node.port;
    return 1;
}

int vx_store_op_complete(struct vx_store_op *op, const struct redisReply *r, const char *errstr)
{
    op->asking = 0;
    if (!r) {
        op->rc = vx_err_set(&op->err, VX_ESTORE, "redis command failed: %s",
                            errstr && *errstr ? errstr : "connection lost");
        if (op->kind == VX_STORE_OP_WRITE)
            cache_drop(op->skill, op->user);
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        const char *s = r->str ? r->str : "?";
        if (op_redirect(op, s))
            return 1;
        if (op->script >= 0 && !op->noscript_tried && strncmp(s, "NOSCRIPT", 8) == 0) {
            /* Redis restarted or was flushed, or a cluster node never saw it: send the text */
            op->noscript_tried = 1;
            op->argv[0] = "EVAL";
            op->lens[0] = 4;
            op->argv[1] = scripts[op->script].text;
            op->lens[1] = strlen(scripts[op->script].text);
            return 1;
        }
        op->rc = vx_err_set(&op->err, VX_ESTORE, "redis error: %s", s);
        if (op->kind == VX_STORE_OP_WRITE)
            cache_drop(op->skill, op->user);
        return 0;
    }
    op->rc = 0;
    switch (op->kind) {
    case VX_STORE_OP_LOAD:
        op_complete_load(op, r);
        break;
    case VX_STORE_OP_WRITE:
        op_complete_write(op, r);
        break;
    case VX_STORE_OP_ORDER_GET: {
        int empty;
        op->json = doc_from_pairs(r, &empty);
        if (!op->json)
            op->rc = empty ? vx_err_set(&op->err, VX_ENOTFOUND, "no such order")
                           : vx_err_set(&op->err, VX_ENOMEM, "out of memory");
        break;
    }
    case VX_STORE_OP_ORDERS_RECENT:
    case VX_STORE_OP_LEDGER:
        op_complete_strings(op, r);
        break;
    case VX_STORE_OP_SEEN:
        op->rc = r->type == REDIS_REPLY_NIL
                     ? vx_err_set(&op->err, VX_EEXISTS, "request already seen")
                     : 0;
        break;
    case VX_STORE_OP_CERT_GET:
        op_complete_string(op, r, "not in the shared cache");
        break;
    case VX_STORE_OP_MDOC_GET:
    case VX_STORE_OP_MDOC_TAKE:
        op_complete_string(op, r, "no such document");
        break;
    case VX_STORE_OP_MIDEM_GET:
        op_complete_string(op, r, "no such idempotency record");
        break;
    case VX_STORE_OP_MDOC_LIST:
    case VX_STORE_OP_HOOKS_LIST:
        op_complete_strings(op, r);
        break;
    case VX_STORE_OP_HOOKS_ADD:
        break;
    case VX_STORE_OP_MDOC_PUT:
        op_complete_mput(op, r);
        break;
    case VX_STORE_OP_LEASE:
        if (!(r->type == REDIS_REPLY_INTEGER && r->integer == 1))
            op->rc = vx_err_set(&op->err, VX_ECONFLICT, "the lease is another's");
        break;
    case VX_STORE_OP_CERT_PUT:
    case VX_STORE_OP_PING:
    case VX_STORE_OP_ZADD:
    case VX_STORE_OP_RAW:
        break;
    case VX_STORE_OP_SLOTS:
        if (vx_cluster_load_slots(r) != 0)
            op->rc = vx_err_set(&op->err, VX_ESTORE, "unexpected reply to CLUSTER SLOTS");
        break;
    default:
        op->rc = vx_err_set(&op->err, VX_EINVAL, "unknown store operation");
        break;
    }
    return 0;
}

/* Fetches the slot map on this thread's connection to the configured server (after MOVED). */
static void slots_refresh(struct tconn *t)
{
    struct vx_store_op s;
    redisContext *c;
    redisReply *r;
    struct vx_err e;
    if (!vx_cluster_refresh_due())
        return;
    vx_err_clear(&e);
    c = nconn_get(&t->n[0], 1, &e);
    if (!c)
        return;
    vx_store_op_slots(&s);
    r = redisCommandArgv(c, s.argc, s.argv, s.lens);
    if (!r) {
        conn_drop(&t->n[0], c->errstr);
        return;
    }
    vx_store_op_complete(&s, r, NULL);
    if (s.rc)
        vx_warn("store", "cannot read the cluster's slot map: %s", s.err.msg);
    freeReplyObject(r);
    vx_store_op_release(&s);
}

void vx_store_op_run(struct vx_store_op *op)
{
    struct tconn *t;
    int stale_retry = 1;
    if (op->argc == 0)
        return;
    t = tconn_get(&op->err);
    if (!t) {
        op->rc = VX_ENOMEM;
        return;
    }
    for (;;) {
        char host[128];
        int port = 0, routed;
        struct nconn *n;
        redisContext *c;
        redisReply *r;

        slots_refresh(t);
        routed = vx_store_op_node(op, host, sizeof(host), &port);
        n = nconn_find(t, routed ? host : NULL, port);
        c = nconn_get(n, !routed, &op->err);
        if (!c) {
            op->rc = op->err.code ? op->err.code : VX_ESTORE;
            if (op->kind == VX_STORE_OP_WRITE)
                cache_drop(op->skill, op->user);
            return;
        }
        if (op->asking) {
            redisReply *a = redisCommand(c, "ASKING");
            if (a)
                freeReplyObject(a);
        }
        r = redisCommandArgv(c, op->argc, op->argv, op->lens);
        if (!r) {
            char why[128];
            int was_stale;
            vx_strlcpy(why, c->errstr, sizeof(why));
            was_stale = n->c != NULL && stale_retry;
            conn_drop(n, why);
            if (op->idempotent && was_stale) {
                /* a read on a connection that broke while idle: once more on a new one */
                stale_retry = 0;
                n->next_try_ns = 0;
                n->backoff_ms = 0;
                continue;
            }
            vx_store_op_complete(op, NULL, why);
            return;
        }
        stale_retry = 0;
        if (vx_store_op_complete(op, r, NULL)) {
            freeReplyObject(r);
            continue;
        }
        if (op->kind == VX_STORE_OP_RAW && op->rc == 0)
            op->raw = r;
        else
            freeReplyObject(r);
        return;
    }
}

void vx_store_op_release(struct vx_store_op *op)
{
    vx_conv_release(&op->conv);
    free(op->json);
    op->json = NULL;
    vx_store_strings_free(op->ids, op->n_ids);
    op->ids = NULL;
    op->n_ids = 0;
    if (op->argv != op->argv_inline)
        free(op->argv);
    if (op->lens != op->lens_inline)
        free(op->lens);
    op->argv = op->argv_inline;
    op->lens = op->lens_inline;
    op->argc = 0;
    vx_buf_release(&op->arena);
    if (op->raw)
        freeReplyObject(op->raw);
    op->raw = NULL;
}

int vx_store_ping(struct vx_err *e)
{
    struct vx_store_op op;
    int rc;
    vx_store_op_ping(&op);
    vx_store_op_run(&op);
    rc = op.rc;
    if (rc && e)
        *e = op.err;
    vx_store_op_release(&op);
    return rc ? VX_ESTORE : 0;
}

/* --- the blocking forms, for callers without an event loop --- */

int vx_store_load(const char *skill, const char *user, struct vx_conv *out, struct vx_err *e)
{
    struct vx_store_op op;
    memset(out, 0, sizeof(*out));
    if (vx_store_op_load(&op, skill, user))
        vx_store_op_run(&op);
    if (op.rc) {
        if (e)
            *e = op.err;
        vx_store_op_release(&op);
        return op.rc;
    }
    *out = op.conv;
    memset(&op.conv, 0, sizeof(op.conv));
    vx_store_op_release(&op);
    return 0;
}

int vx_store_write(const struct vx_wset *w, struct vx_err *e)
{
    struct vx_store_op op;
    int rc;
    if (vx_store_op_write(&op, w))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc && e)
        *e = op.err;
    vx_store_op_release(&op);
    return rc;
}

int vx_store_seen(const char *request_id, int ttl, struct vx_err *e)
{
    struct vx_store_op op;
    int rc;
    if (vx_store_op_seen(&op, request_id, ttl))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc && e)
        *e = op.err;
    vx_store_op_release(&op);
    return rc;
}

int vx_store_order_get(const char *skill, const char *user, const char *id, char **json,
                       struct vx_err *e)
{
    struct vx_store_op op;
    int rc;
    *json = NULL;
    if (vx_store_op_order_get(&op, skill, user, id))
        vx_store_op_run(&op);
    rc = op.rc;
    if (rc && rc != VX_ENOTFOUND && e)
        *e = op.err;
    *json = op.json;
    op.json = NULL;
    vx_store_op_release(&op);
    return rc;
}

static int strings_take(struct vx_store_op *op, char ***v, size_t *n, struct vx_err *e)
{
    int rc = op->rc;
    *v = NULL;
    *n = 0;
    if (op->argc)
        vx_store_op_run(op);
    rc = op->rc;
    if (rc == 0) {
        *v = op->ids;
        *n = op->n_ids;
        op->ids = NULL;
        op->n_ids = 0;
    } else if (e) {
        *e = op->err;
    }
    vx_store_op_release(op);
    return rc;
}

int vx_store_orders_recent(const char *skill, const char *user, size_t max, char ***ids, size_t *n,
                           struct vx_err *e)
{
    struct vx_store_op op;
    vx_store_op_orders_recent(&op, skill, user, max);
    return strings_take(&op, ids, n, e);
}

int vx_store_ledger(const char *skill, const char *user, const char *id, char ***entries, size_t *n,
                    struct vx_err *e)
{
    struct vx_store_op op;
    vx_store_op_ledger(&op, skill, user, id);
    return strings_take(&op, entries, n, e);
}

void vx_store_strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* --- fixture helpers (voxcart replay) --- */

/* One raw command routed by its first key; *reply for the caller to free, or an error. */
static int raw(int argc, const char **argv, const size_t *lens, redisReply **reply,
               struct vx_err *e)
{
    struct vx_store_op op;
    op_init(&op, VX_STORE_OP_RAW);
    op.idempotent = 1;
    for (int i = 0; i < argc && i < VX_STORE_ARGV_INLINE; i++)
        op_arg(&op, argv[i], lens ? lens[i] : strlen(argv[i]));
    op.route_key = argc > 1 ? argv[1] : NULL;
    vx_store_op_run(&op);
    *reply = op.raw;
    op.raw = NULL;
    if (op.rc && e)
        *e = op.err;
    vx_store_op_release(&op);
    return op.rc;
}

/* --- schedules, blocking (for threads that are not workers: the janitor, the biller) --- */

int vx_store_sched_due(const char *key, int64_t now, size_t max, char ***members, size_t *n,
                       struct vx_err *e)
{
    char snow[24], smax[24];
    const char *argv[8] = {"ZRANGEBYSCORE", key, "-inf", snow, "LIMIT", "0", smax};
    redisReply *r = NULL;
    int rc;
    *members = NULL;
    *n = 0;
    snprintf(snow, sizeof(snow), "%lld", (long long)now);
    snprintf(smax, sizeof(smax), "%zu", max);
    rc = raw(7, argv, NULL, &r, e);
    if (rc == 0 && r && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        *members = calloc(r->elements, sizeof(char *));
        if (!*members) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < r->elements; i++)
                if (r->element[i]->type == REDIS_REPLY_STRING &&
                    ((*members)[*n] = strdup(r->element[i]->str)) != NULL)
                    (*n)++;
        }
    }
    if (r)
        freeReplyObject(r);
    return rc;
}

int vx_store_pace(const char *key, int per_second, int burst, int *wait_ms, struct vx_err *e)
{
    struct vx_store_op op;
    int rc;
    *wait_ms = 0;
    op_init(&op, VX_STORE_OP_RAW);
    if (vx_strlcpy(op.keys[0], key, sizeof(op.keys[0])))
        return vx_err_set(e, VX_EINVAL, "pace key too long");
    op.route_key = op.keys[0];
    op_script(&op, SCRIPT_PACE, 1);
    snprintf(op.num[0], sizeof(op.num[0]), "%d", per_second > 0 ? per_second : 1);
    op_args(&op, op.num[0]);
    snprintf(op.num[1], sizeof(op.num[1]), "%d", burst > 0 ? burst : 1);
    op_args(&op, op.num[1]);
    vx_store_op_run(&op);
    rc = op.rc;
    if (rc && e)
        *e = op.err;
    else if (rc == 0 && op.raw && op.raw->type == REDIS_REPLY_INTEGER)
        *wait_ms = (int)op.raw->integer;
    vx_store_op_release(&op);
    return rc;
}

int vx_store_sched_set(const char *key, const char *member, int64_t due, struct vx_err *e)
{
    char sdue[24];
    const char *add[4] = {"ZADD", key, sdue, member};
    const char *rem[3] = {"ZREM", key, member};
    redisReply *r = NULL;
    int rc;
    snprintf(sdue, sizeof(sdue), "%lld", (long long)due);
    rc = due >= 0 ? raw(4, add, NULL, &r, e) : raw(3, rem, NULL, &r, e);
    if (r)
        freeReplyObject(r);
    return rc;
}

/* A key of one customer for a fixture part name; VX_EINVAL names a bad part. */
static int fixture_key(const char *skill, const char *user, const char *part, int peek, char *out,
                       size_t outsz, struct vx_err *e)
{
    const char *suffix = NULL;
    if (strcmp(part, "conversation") == 0)
        suffix = "conv";
    else if (strcmp(part, "profile") == 0)
        suffix = "profile";
    else if (peek && strcmp(part, "last_order") == 0)
        suffix = "orders";
    else if (peek && strcmp(part, "last_subscription") == 0)
        suffix = "subs";
    if (!suffix)
        return vx_err_set(e, VX_EINVAL, "unknown store part '%s'", part);
    if (vx_store_customer_key(skill, user, suffix, out, outsz) != 0)
        return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
    return 0;
}

/*
 * KEYS[1]=conv KEYS[2]=profile. ARGV: a new tag, then member, value pairs (none:
 * the profile is deleted). A profile change draws a new conversation tag, so a
 * writer holding the older profile conflicts.
 */
static const char seed_profile_script[] =
    "redis.call('DEL', KEYS[2])\n"
    "for j = 2, #ARGV - 1, 2 do redis.call('HSET', KEYS[2], ARGV[j], ARGV[j+1]) end\n"
    "redis.call('HSET', KEYS[1], 'v', ARGV[1])\n"
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], 3600) end\n"
    "return 1\n";

static int seed_profile(const char *skill, const char *user, const char *json, struct vx_err *e)
{
    char kconv[400], kprof[400], tag[17];
    const char *argv[2 * 48 + 6];
    size_t lens[VX_ARRAY_LEN(argv)];
    struct vx_jdoc doc;
    const struct vx_jnode *root = NULL;
    redisReply *r = NULL;
    struct vx_store_op op;
    int argc = 0, rc;

    if (vx_store_customer_key(skill, user, "conv", kconv, sizeof(kconv)) ||
        vx_store_customer_key(skill, user, "profile", kprof, sizeof(kprof)))
        return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
    memset(&doc, 0, sizeof(doc));
    if (json) {
        if (vx_jdoc_parse(&doc, json, strlen(json), e) != 0)
            return VX_EINVAL;
        root = vx_jroot(&doc);
        if (root->type != VX_JOBJECT || root->count > 48) {
            vx_jdoc_free(&doc);
            return vx_err_set(e, VX_EINVAL, "a profile is a JSON object of at most 48 members");
        }
    }
    snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)vx_wset_tag());
    argv[argc++] = "EVAL";
    argv[argc++] = seed_profile_script;
    argv[argc++] = "2";
    argv[argc++] = kconv;
    argv[argc++] = kprof;
    argv[argc++] = tag;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    for (const struct vx_jnode *m = root ? vx_jfirst(&doc, root) : NULL; m; m = vx_jnext(&doc, m)) {
        argv[argc] = m->key;
        lens[argc++] = strlen(m->key);
        argv[argc] = json + m->start;
        lens[argc++] = m->end - m->start;
    }
    op_init(&op, VX_STORE_OP_RAW);
    op.argv = argv;
    op.lens = lens;
    op.argc = argc;
    op.route_key = kconv;
    vx_store_op_run(&op);
    r = op.raw;
    op.raw = NULL;
    rc = op.rc;
    if (rc && e)
        *e = op.err;
    op.argv = op.argv_inline;
    op.lens = op.lens_inline;
    vx_store_op_release(&op);
    if (r)
        freeReplyObject(r);
    vx_jdoc_free(&doc);
    return rc;
}

int vx_store_seed(const char *skill, const char *user, const char *part, const char *json,
                  struct vx_err *e)
{
    char key[400], tag[17];
    redisReply *r = NULL;
    int rc = fixture_key(skill, user, part, 0, key, sizeof(key), e);

    if (rc)
        return rc;
    cache_drop(skill, user); /* other processes find out by the new tag */
    if (strcmp(part, "profile") == 0)
        return seed_profile(skill, user, json, e);
    if (!json) {
        const char *argv[] = {"DEL", key};
        rc = raw(2, argv, NULL, &r, e);
    } else {
        /* a seeded conversation draws a new tag like any write: older copies conflict */
        const char *argv[] = {"HSET", key, "v", tag, "s", json};
        const char *exp[] = {"EXPIRE", key, "3600"};
        snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)vx_wset_tag());
        rc = raw(6, argv, NULL, &r, e);
        if (rc == 0) {
            if (r)
                freeReplyObject(r);
            r = NULL;
            rc = raw(3, exp, NULL, &r, e);
        }
    }
    if (r)
        freeReplyObject(r);
    return rc;
}

int vx_store_peek(const char *skill, const char *user, const char *part, char **json,
                  struct vx_err *e)
{
    char key[400];
    redisReply *r = NULL;
    char *id = NULL;
    int rc = fixture_key(skill, user, part, 1, key, sizeof(key), e), empty;

    *json = NULL;
    if (rc)
        return rc;
    if (strcmp(part, "conversation") == 0) {
        const char *argv[] = {"HGET", key, "s"};
        rc = raw(3, argv, NULL, &r, e);
        if (rc == 0 && r && r->type == REDIS_REPLY_STRING && !(*json = dup_reply(r)))
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
    } else if (strcmp(part, "profile") == 0) {
        const char *argv[] = {"HGETALL", key};
        rc = raw(2, argv, NULL, &r, e);
        if (rc == 0 && !(*json = doc_from_pairs(r, &empty)) && !empty)
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
    } else {
        const char *argv[] = {"LINDEX", key, "0"};
        rc = raw(3, argv, NULL, &r, e);
        if (rc == 0 && r && r->type == REDIS_REPLY_STRING)
            id = dup_reply(r);
        if (id && strcmp(part, "last_order") == 0) {
            rc = vx_store_order_get(skill, user, id, json, e);
        } else if (id) {
            struct vx_store_op op;
            if (vx_store_op_sub_get(&op, skill, user, id))
                vx_store_op_run(&op);
            rc = op.rc;
            if (rc && rc != VX_ENOTFOUND && e)
                *e = op.err;
            *json = op.json;
            op.json = NULL;
            vx_store_op_release(&op);
        }
        if (rc == VX_ENOTFOUND)
            rc = 0;
        free(id);
    }
    if (r)
        freeReplyObject(r);
    return rc;
}
