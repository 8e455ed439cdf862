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
 * - Multi-key changes of one customer are one Lua script on one hash slot; the
 *   conversation carries a version, and the script writes only when the version
 *   is the one the caller read (optimistic concurrency).
 * - Scripts are sent with EVALSHA and fall back to EVAL once on NOSCRIPT.
 */
#include "voxcart/store.h"
#include "voxcart/log.h"

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

struct tconn {
    redisContext *c;
    uint64_t next_try_ns;
    unsigned backoff_ms;
    int stale; /* an established connection just broke (Redis restarted, idle timeout) */
};

static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void tconn_free(void *p)
{
    struct tconn *t = p;
    if (t && t->c)
        redisFree(t->c);
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

void vx_store_shutdown(void)
{
    struct tconn *t = pthread_getspecific(conn_key);
    if (t) {
        tconn_free(t);
        pthread_setspecific(conn_key, NULL);
    }
}

static void conn_drop(struct tconn *t, const char *why)
{
    if (t->c) {
        vx_warn("store", "dropping redis connection: %s", why);
        redisFree(t->c);
        t->c = NULL;
        t->stale = 1;
    }
    t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : 50;
    if (t->backoff_ms > 2000)
        t->backoff_ms = 2000;
    t->next_try_ns = vx_mono_ns() + (uint64_t)t->backoff_ms * 1000000u;
}

static int simple_cmd_ok(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *r = arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    return ok;
}

/* This thread's live connection, or NULL with e set. */
static redisContext *conn_get(struct vx_err *e)
{
    struct tconn *t = pthread_getspecific(conn_key);
    struct timeval tv;
    redisContext *c;

    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t) {
            vx_err_set(e, VX_ENOMEM, "out of memory");
            return NULL;
        }
        pthread_setspecific(conn_key, t);
    }
    if (t->c)
        return t->c;
    if (t->next_try_ns && vx_mono_ns() < t->next_try_ns) {
        vx_err_set(e, VX_ESTORE, "redis unavailable (waiting before reconnecting)");
        return NULL;
    }
    tv.tv_sec = target.timeout_ms / 1000;
    tv.tv_usec = (target.timeout_ms % 1000) * 1000;
    c = target.unix_path[0] ? redisConnectUnixWithTimeout(target.unix_path, tv)
                            : redisConnectWithTimeout(target.host, target.port, tv);
    if (!c || c->err) {
        vx_err_set(e, VX_ESTORE, "cannot connect to redis: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        conn_drop(t, e ? e->msg : "connect failed");
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (target.password[0] && !simple_cmd_ok(c, "AUTH %s", target.password)) {
        vx_err_set(e, VX_ESTORE, "redis refused AUTH");
        redisFree(c);
        conn_drop(t, "auth failed");
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
            conn_drop(t, "select failed");
            return NULL;
        }
    }
    t->c = c;
    t->backoff_ms = 0;
    t->next_try_ns = 0;
    return c;
}

/*
 * The reply, or NULL with e set: a transport failure (no reply) also drops the
 * connection; an error reply is freed. Caller frees a returned reply.
 */
static redisReply *reply_checked(redisContext *c, redisReply *r, struct vx_err *e)
{
    if (!r) {
        vx_err_set(e, VX_ESTORE, "redis command failed: %s", c->errstr);
        conn_drop(pthread_getspecific(conn_key), c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        vx_err_set(e, VX_ESTORE, "redis error: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/*
 * True once after an established connection broke: a command that is safe to
 * repeat may then be tried again at once on a new connection. Each worker
 * thread only finds out that Redis restarted when it next uses its
 * connection; without this, every thread would fail one request first.
 */
static int retry_after_stale(void)
{
    struct tconn *t = pthread_getspecific(conn_key);
    if (!t || !t->stale)
        return 0;
    t->stale = 0;
    t->next_try_ns = 0;
    t->backoff_ms = 0;
    return 1;
}

static redisReply *run_once(struct vx_err *e, int argc, const char **argv, const size_t *lens)
{
    redisContext *c = conn_get(e);
    if (!c)
        return NULL;
    return reply_checked(c, redisCommandArgv(c, argc, argv, lens), e);
}

/*
 * Runs a command that is safe to repeat; on a broken connection it is tried once
 * more on a new one. Caller frees the reply.
 */
static redisReply *run(struct vx_err *e, int argc, const char **argv, const size_t *lens)
{
    redisReply *r;
    struct tconn *t = pthread_getspecific(conn_key);
    if (t)
        t->stale = 0;
    r = run_once(e, argc, argv, lens);
    if (!r && retry_after_stale())
        r = run_once(e, argc, argv, lens);
    return r;
}

int vx_store_ping(struct vx_err *e)
{
    const char *argv[] = {"PING"};
    redisReply *r = run(e, 1, argv, NULL);
    if (!r)
        return VX_ESTORE;
    freeReplyObject(r);
    return 0;
}

/* --- shared certificate cache --- */

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

static int cert_get(void *ud, const char *url, char **pem, size_t *len)
{
    char key[80];
    const char *argv[2];
    redisReply *r;
    int rc = VX_ENOTFOUND;
    (void)ud;
    cert_key(url, key, sizeof(key));
    argv[0] = "GET";
    argv[1] = key;
    r = run(NULL, 2, argv, NULL);
    if (!r)
        return VX_ESTORE;
    if (r->type == REDIS_REPLY_STRING) {
        *pem = malloc(r->len + 1);
        if (*pem) {
            memcpy(*pem, r->str, r->len);
            (*pem)[r->len] = '\0';
            *len = r->len;
            rc = 0;
        } else {
            rc = VX_ENOMEM;
        }
    }
    freeReplyObject(r);
    return rc;
}

static void cert_put(void *ud, const char *url, const char *pem, size_t len, int ttl)
{
    char key[80], ttls[16];
    const char *argv[5];
    size_t lens[5];
    struct vx_err e;
    redisReply *r;
    (void)ud;
    cert_key(url, key, sizeof(key));
    snprintf(ttls, sizeof(ttls), "%d", ttl > 0 ? ttl : 3600);
    argv[0] = "SET";
    argv[1] = key;
    argv[2] = pem;
    argv[3] = "EX";
    argv[4] = ttls;
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(argv[i]);
    lens[2] = len;
    vx_err_clear(&e);
    r = run(&e, 5, argv, lens);
    if (!r) {
        vx_warn("store", "cannot share certificate chain for '%s': %s", url, e.msg);
        return;
    }
    freeReplyObject(r);
}

static const struct vx_cert_shared cert_shared = {cert_get, cert_put, NULL};

const struct vx_cert_shared *vx_store_cert_shared(void)
{
    return &cert_shared;
}

/* --- conversations, profiles, orders --- */

int vx_store_customer_key(const char *skill, const char *user, const char *part, char *out,
                          size_t outsz)
{
    /* "vx:{<skill>:<user>}:<part>", built by hand: a turn makes six of these */
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

/* KEYS[1]=conv KEYS[2]=profile -> {version, state, profile} */
static const char load_script[] =
    "local c = redis.call('HMGET', KEYS[1], 'v', 's')\n"
    "return {c[1] or '0', c[2] or false, redis.call('GET', KEYS[2])}\n";

/*
 * KEYS: conv, profile, orders index, order. ARGV: expected version, state, ttl,
 * profile or '', order id or '', order json.
 */
static const char save_script[] = "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')\n"
                                  "if v ~= tonumber(ARGV[1]) then return -1 end\n"
                                  "redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[2])\n"
                                  "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
                                  "if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4]) end\n"
                                  "if ARGV[5] ~= '' then\n"
                                  "  redis.call('SET', KEYS[4], ARGV[6])\n"
                                  "  redis.call('LPUSH', KEYS[3], ARGV[5])\n"
                                  "  redis.call('LTRIM', KEYS[3], 0, 999)\n"
                                  "end\n"
                                  "return v + 1\n";

struct script {
    const char *text;
    char sha[41];
};

/* KEYS[1]=conv. ARGV: state, ttl. Bumps the version like a save, whatever it was. */
static const char seed_script[] = "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')\n"
                                  "redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[1])\n"
                                  "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
                                  "return v + 1\n";

/*
 * KEYS[1]=conv KEYS[2]=profile. ARGV: profile JSON or '' to delete it. A profile
 * change bumps the conversation version, so the version covers both documents
 * and a writer holding an older profile conflicts (see the cache below).
 */
static const char seed_profile_script[] =
    "if ARGV[1] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[1]) "
    "end\n"
    "local v = redis.call('HINCRBY', KEYS[1], 'v', 1)\n"
    "if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], 3600) end\n"
    "return v\n";

static struct script scripts[] = {
    {load_script, ""}, {save_script, ""}, {seed_script, ""}, {seed_profile_script, ""}};

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

/* EVALSHA, and EVAL once if the server does not know the script yet. */
static redisReply *eval(struct script *s, int nkeys, const char **keys, int nargs,
                        const char **args, const size_t *arglens, struct vx_err *e)
{
    const char *argv[16];
    size_t lens[16];
    char nk[8];
    redisContext *c = conn_get(e);
    redisReply *r;
    int argc = 0;

    if (!c)
        return NULL;
    pthread_once(&sha_once, sha_all);
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc] = "EVALSHA";
    lens[argc++] = 7;
    argv[argc] = s->sha;
    lens[argc++] = 40;
    argv[argc] = nk;
    lens[argc++] = strlen(nk);
    for (int i = 0; i < nkeys; i++) {
        argv[argc] = keys[i];
        lens[argc++] = strlen(keys[i]);
    }
    for (int i = 0; i < nargs; i++) {
        argv[argc] = args[i];
        lens[argc++] = arglens ? arglens[i] : strlen(args[i]);
    }
    r = redisCommandArgv(c, argc, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = s->text;
        lens[1] = strlen(s->text);
        r = redisCommandArgv(c, argc, argv, lens);
    }
    return reply_checked(c, r, e);
}

/*
 * The conversation cache. A turn reads the conversation and profile, decides,
 * and writes them back with a version check (save_script). The read can come
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
    long long version;
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
 * Remembers what Redis holds now. With only_if_version >= 0 the entry is updated
 * only when it still holds that version (a save's result), and the profile is
 * kept when profile is NULL; otherwise it is replaced whole (a load's result).
 */
static void cache_put(const char *skill, const char *user, long long version, const char *state,
                      const char *profile, long long only_if_version)
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
    if (only_if_version >= 0) {
        if (!slot_is(cs, h, skill, user) || cs->version != only_if_version || (state && !nstate) ||
            (profile && !nprof)) {
            if (slot_is(cs, h, skill, user))
                slot_clear(cs);
            goto out;
        }
        free(cs->state);
        cs->state = nstate;
        nstate = NULL;
        if (profile) {
            free(cs->profile);
            cs->profile = nprof;
            nprof = NULL;
        }
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
    if (cache_get(skill, user, &op->conv))
        return 0;
    op_script(op, 0, 2);
    return 1;
}

int vx_store_op_save(struct vx_store_op *op, const char *skill, const char *user,
                     long long expect_version, const char *state, int ttl, const char *profile,
                     const struct vx_store_order *order)
{
    op_init(op, VX_STORE_OP_SAVE);
    op->skill = skill;
    op->user = user;
    op->expect_version = expect_version;
    op->state = state ? state : "{}";
    op->profile = profile;
    if (vx_store_customer_key(skill, user, "conv", op->keys[0], sizeof(op->keys[0])) ||
        vx_store_customer_key(skill, user, "profile", op->keys[1], sizeof(op->keys[1])) ||
        vx_store_customer_key(skill, user, "orders", op->keys[2], sizeof(op->keys[2])))
        return op_fail(op, VX_EINVAL, "skill or user ID too long");
    if (order) {
        char part[96];
        if (vx_snprintf(part, sizeof(part), "order:%s", order->id) ||
            vx_store_customer_key(skill, user, part, op->keys[3], sizeof(op->keys[3])))
            return op_fail(op, VX_EINVAL, "order ID too long");
    } else {
        vx_store_customer_key(skill, user, "order:-", op->keys[3], sizeof(op->keys[3]));
    }
    snprintf(op->num[0], sizeof(op->num[0]), "%lld", expect_version);
    snprintf(op->num[1], sizeof(op->num[1]), "%d", ttl > 0 ? ttl : 3600);
    op_script(op, 1, 4);
    op_args(op, op->num[0]);
    op_args(op, op->state);
    op_args(op, op->num[1]);
    op_args(op, profile ? profile : "");
    op_args(op, order ? order->id : "");
    op_args(op, order ? order->json : "");
    return 1;
}

int vx_store_op_order_get(struct vx_store_op *op, const char *skill, const char *user,
                          const char *id)
{
    char part[96];
    op_init(op, VX_STORE_OP_ORDER_GET);
    op->idempotent = 1;
    if (vx_snprintf(part, sizeof(part), "order:%s", id) ||
        vx_store_customer_key(skill, user, part, op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "order ID too long");
    op_arg(op, "GET", 3);
    op_args(op, op->keys[0]);
    return 1;
}

int vx_store_op_orders_recent(struct vx_store_op *op, const char *skill, const char *user,
                              size_t max)
{
    op_init(op, VX_STORE_OP_ORDERS_RECENT);
    op->idempotent = 1;
    if (vx_store_customer_key(skill, user, "orders", op->keys[0], sizeof(op->keys[0])))
        return op_fail(op, VX_EINVAL, "skill or user ID too long");
    snprintf(op->num[0], sizeof(op->num[0]), "%zu", max ? max - 1 : 0);
    op_arg(op, "LRANGE", 6);
    op_args(op, op->keys[0]);
    op_arg(op, "0", 1);
    op_args(op, op->num[0]);
    return 1;
}

int vx_store_op_seen(struct vx_store_op *op, const char *request_id, int ttl)
{
    op_init(op, VX_STORE_OP_SEEN);
    /* not repeated: a SET NX that did land would make the retry call it a replay */
    op->idempotent = 0;
    if (vx_snprintf(op->keys[0], sizeof(op->keys[0]), "vx:seen:%s", request_id) != 0)
        return op_fail(op, VX_EINVAL, "request ID too long");
    snprintf(op->num[0], sizeof(op->num[0]), "%d", ttl);
    op_arg(op, "SET", 3);
    op_args(op, op->keys[0]);
    op_arg(op, "1", 1);
    op_arg(op, "NX", 2);
    op_arg(op, "EX", 2);
    op_args(op, op->num[0]);
    return 1;
}

static void op_complete_load(struct vx_store_op *op, const redisReply *r)
{
    long long v = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        op->rc = vx_err_set(&op->err, VX_ESTORE, "unexpected reply to the load script");
        return;
    }
    if (r->element[0]->type == REDIS_REPLY_STRING)
        vx_parse_ll(r->element[0]->str, 0, INT64_MAX, &v);
    op->conv.version = v;
    op->conv.state = dup_reply(r->element[1]);
    op->conv.profile = dup_reply(r->element[2]);
    if ((r->element[1]->type == REDIS_REPLY_STRING && !op->conv.state) ||
        (r->element[2]->type == REDIS_REPLY_STRING && !op->conv.profile)) {
        vx_conv_release(&op->conv);
        op->rc = vx_err_set(&op->err, VX_ENOMEM, "out of memory");
        return;
    }
    cache_put(op->skill, op->user, op->conv.version, op->conv.state, op->conv.profile, -1);
}

static void op_complete_save(struct vx_store_op *op, const redisReply *r)
{
    if (r->type != REDIS_REPLY_INTEGER)
        op->rc = vx_err_set(&op->err, VX_ESTORE, "unexpected reply to the save script");
    else if (r->integer < 0)
        op->rc = vx_err_set(&op->err, VX_ECONFLICT, "conversation changed concurrently");
    if (op->rc == 0) {
        op->version = r->integer;
        cache_put(op->skill, op->user, r->integer, op->state, op->profile, op->expect_version);
    } else {
        cache_drop(op->skill, op->user);
    }
}

static void op_complete_recent(struct vx_store_op *op, const redisReply *r)
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

int vx_store_op_complete(struct vx_store_op *op, const struct redisReply *r, const char *errstr)
{
    if (!r) {
        op->rc = vx_err_set(&op->err, VX_ESTORE, "redis command failed: %s",
                            errstr && *errstr ? errstr : "connection lost");
        if (op->kind == VX_STORE_OP_SAVE)
            cache_drop(op->skill, op->user);
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (op->script >= 0 && !op->noscript_tried && r->str &&
            strncmp(r->str, "NOSCRIPT", 8) == 0) {
            /* Redis restarted or was flushed: send the script itself, once */
            op->noscript_tried = 1;
            op->argv[0] = "EVAL";
            op->lens[0] = 4;
            op->argv[1] = scripts[op->script].text;
            op->lens[1] = strlen(scripts[op->script].text);
            return 1;
        }
        op->rc = vx_err_set(&op->err, VX_ESTORE, "redis error: %s", r->str ? r->str : "?");
        if (op->kind == VX_STORE_OP_SAVE)
            cache_drop(op->skill, op->user);
        return 0;
    }
    op->rc = 0;
    switch (op->kind) {
    case VX_STORE_OP_LOAD:
        op_complete_load(op, r);
        break;
    case VX_STORE_OP_SAVE:
        op_complete_save(op, r);
        break;
    case VX_STORE_OP_ORDER_GET:
        op->json = dup_reply(r);
        if (!op->json)
            op->rc = r->type == REDIS_REPLY_STRING
                         ? vx_err_set(&op->err, VX_ENOMEM, "out of memory")
                         : vx_err_set(&op->err, VX_ENOTFOUND, "no such order");
        break;
    case VX_STORE_OP_ORDERS_RECENT:
        op_complete_recent(op, r);
        break;
    case VX_STORE_OP_SEEN:
        op->rc = r->type == REDIS_REPLY_NIL
                     ? vx_err_set(&op->err, VX_EEXISTS, "request already seen")
                     : 0;
        break;
    default:
        op->rc = vx_err_set(&op->err, VX_EINVAL, "unknown store operation");
        break;
    }
    return 0;
}

void vx_store_op_run(struct vx_store_op *op)
{
    struct tconn *t = pthread_getspecific(conn_key);
    if (op->argc == 0)
        return;
    if (t)
        t->stale = 0;
    for (;;) {
        redisContext *c = conn_get(&op->err);
        redisReply *r;
        if (!c) {
            op->rc = op->err.code ? op->err.code : VX_ESTORE;
            if (op->kind == VX_STORE_OP_SAVE)
                cache_drop(op->skill, op->user);
            return;
        }
        r = redisCommandArgv(c, op->argc, op->argv, op->lens);
        if (!r) {
            char why[128];
            vx_strlcpy(why, c->errstr, sizeof(why));
            conn_drop(pthread_getspecific(conn_key), why);
            if (op->idempotent && retry_after_stale())
                continue; /* a read on a connection that broke while idle: once more */
            vx_store_op_complete(op, NULL, why);
            return;
        }
        if (vx_store_op_complete(op, r, NULL)) {
            freeReplyObject(r);
            continue;
        }
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

int vx_store_save(const char *skill, const char *user, long long expect_version, const char *state,
                  int ttl, const char *profile, const struct vx_store_order *order,
                  struct vx_err *e)
{
    struct vx_store_op op;
    if (vx_store_op_save(&op, skill, user, expect_version, state, ttl, profile, order))
        vx_store_op_run(&op);
    if (op.rc && e)
        *e = op.err;
    vx_store_op_release(&op);
    return op.rc;
}

int vx_store_seen(const char *request_id, int ttl, struct vx_err *e)
{
    struct vx_store_op op;
    if (vx_store_op_seen(&op, request_id, ttl))
        vx_store_op_run(&op);
    if (op.rc && e)
        *e = op.err;
    vx_store_op_release(&op);
    return op.rc;
}

int vx_store_order_get(const char *skill, const char *user, const char *id, char **json,
                       struct vx_err *e)
{
    struct vx_store_op op;
    *json = NULL;
    if (vx_store_op_order_get(&op, skill, user, id))
        vx_store_op_run(&op);
    if (op.rc && op.rc != VX_ENOTFOUND && e)
        *e = op.err;
    *json = op.json;
    op.json = NULL;
    vx_store_op_release(&op);
    return op.rc;
}

int vx_store_orders_recent(const char *skill, const char *user, size_t max, char ***ids, size_t *n,
                           struct vx_err *e)
{
    struct vx_store_op op;
    *ids = NULL;
    *n = 0;
    if (vx_store_op_orders_recent(&op, skill, user, max))
        vx_store_op_run(&op);
    if (op.rc) {
        if (e)
            *e = op.err;
        vx_store_op_release(&op);
        return op.rc;
    }
    *ids = op.ids;
    *n = op.n_ids;
    op.ids = NULL;
    op.n_ids = 0;
    vx_store_op_release(&op);
    return 0;
}

void vx_store_strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* --- fixture helpers (voxcart replay) --- */

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
    if (!suffix)
        return vx_err_set(e, VX_EINVAL, "unknown store part '%s'", part);
    if (vx_store_customer_key(skill, user, suffix, out, outsz) != 0)
        return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
    return 0;
}

/* Runs a command that answers with a string or nil; *json gets a copy or NULL. */
static int get_string(int argc, const char **argv, char **json, struct vx_err *e)
{
    redisReply *r = run(e, argc, argv, NULL);
    if (!r)
        return VX_ESTORE;
    *json = dup_reply(r);
    if (!*json && r->type == REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    }
    freeReplyObject(r);
    return 0;
}

int vx_store_seed(const char *skill, const char *user, const char *part, const char *json,
                  struct vx_err *e)
{
    char key[400];
    const char *argv[3];
    redisReply *r;
    int rc = fixture_key(skill, user, part, 0, key, sizeof(key), e);

    if (rc)
        return rc;
    if (strcmp(part, "profile") == 0) {
        char kconv[400];
        const char *keys[2] = {kconv, key};
        const char *args[1] = {json ? json : ""};
        if (vx_store_customer_key(skill, user, "conv", kconv, sizeof(kconv)))
            return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
        r = eval(&scripts[3], 2, keys, 1, args, NULL, e);
    } else if (!json) {
        argv[0] = "DEL";
        argv[1] = key;
        r = run(e, 2, argv, NULL);
    } else if (strcmp(part, "conversation") == 0) {
        /* the TTL vx_store_save uses when the caller gives none */
        const char *keys[1] = {key};
        const char *args[2] = {json, "3600"};
        r = eval(&scripts[2], 1, keys, 2, args, NULL, e);
    } else {
        argv[0] = "SET";
        argv[1] = key;
        argv[2] = json;
        r = run(e, 3, argv, NULL);
    }
    if (!r)
        return VX_ESTORE;
    freeReplyObject(r);
    return 0;
}

int vx_store_peek(const char *skill, const char *user, const char *part, char **json,
                  struct vx_err *e)
{
    char key[400], okey[480], part_id[96];
    const char *argv[3];
    char *id = NULL;
    int rc = fixture_key(skill, user, part, 1, key, sizeof(key), e);

    *json = NULL;
    if (rc)
        return rc;
    argv[1] = key;
    if (strcmp(part, "conversation") == 0) {
        argv[0] = "HGET";
        argv[2] = "s";
        return get_string(3, argv, json, e);
    }
    if (strcmp(part, "profile") == 0) {
        argv[0] = "GET";
        return get_string(2, argv, json, e);
    }
    argv[0] = "LINDEX";
    argv[2] = "0";
    rc = get_string(3, argv, &id, e);
    if (rc || !id)
        return rc;
    if (vx_snprintf(part_id, sizeof(part_id), "order:%s", id) ||
        vx_store_customer_key(skill, user, part_id, okey, sizeof(okey))) {
        rc = vx_err_set(e, VX_EINVAL, "order ID too long");
        goto out;
    }
    argv[0] = "GET";
    argv[1] = okey;
    rc = get_string(2, argv, json, e);
out:
    free(id);
    return rc;
}
