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

int vx_store_seen(const char *request_id, int ttl, struct vx_err *e)
{
    char key[300], ttls[16];
    const char *argv[6];
    redisReply *r;
    int rc;
    if (vx_snprintf(key, sizeof(key), "vx:seen:%s", request_id) != 0)
        return vx_err_set(e, VX_EINVAL, "request ID too long");
    snprintf(ttls, sizeof(ttls), "%d", ttl);
    argv[0] = "SET";
    argv[1] = key;
    argv[2] = "1";
    argv[3] = "NX";
    argv[4] = "EX";
    argv[5] = ttls;
    /* not repeated: a SET NX that did land would make the retry call it a replay */
    r = run_once(e, 6, argv, NULL);
    if (!r)
        return VX_ESTORE;
    rc = r->type == REDIS_REPLY_NIL ? VX_EEXISTS : 0;
    freeReplyObject(r);
    return rc;
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
    return vx_snprintf(out, outsz, "vx:{%s:%s}:%s", skill ? skill : "-", user ? user : "-", part);
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
    pthread_once_t once;
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

static struct script scripts[] = {{load_script, "", PTHREAD_ONCE_INIT},
                                  {save_script, "", PTHREAD_ONCE_INIT},
                                  {seed_script, "", PTHREAD_ONCE_INIT},
                                  {seed_profile_script, "", PTHREAD_ONCE_INIT}};

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

static void sha_load(void)
{
    sha_hex(load_script, scripts[0].sha);
}

static void sha_save(void)
{
    sha_hex(save_script, scripts[1].sha);
}

static void sha_seed(void)
{
    sha_hex(seed_script, scripts[2].sha);
}

static void sha_seed_profile(void)
{
    sha_hex(seed_profile_script, scripts[3].sha);
}

/* EVALSHA, and EVAL once if the server does not know the script yet. */
static redisReply *eval(struct script *s, void (*init)(void), int nkeys, const char **keys,
                        int nargs, const char **args, const size_t *arglens, struct vx_err *e)
{
    const char *argv[16];
    size_t lens[16];
    char nk[8];
    redisContext *c = conn_get(e);
    redisReply *r;
    int argc = 0;

    if (!c)
        return NULL;
    pthread_once(&s->once, init);
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

int vx_store_load(const char *skill, const char *user, struct vx_conv *out, struct vx_err *e)
{
    char kconv[400], kprof[400];
    const char *keys[2] = {kconv, kprof};
    redisReply *r;
    long long v = 0;

    memset(out, 0, sizeof(*out));
    if (vx_store_customer_key(skill, user, "conv", kconv, sizeof(kconv)) ||
        vx_store_customer_key(skill, user, "profile", kprof, sizeof(kprof)))
        return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
    if (cache_get(skill, user, out))
        return 0;
    {
        struct tconn *t = pthread_getspecific(conn_key);
        if (t)
            t->stale = 0;
    }
    r = eval(&scripts[0], sha_load, 2, keys, 0, NULL, NULL, e);
    if (!r && retry_after_stale()) /* a read: safe to repeat */
        r = eval(&scripts[0], sha_load, 2, keys, 0, NULL, NULL, e);
    if (!r)
        return VX_ESTORE;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        freeReplyObject(r);
        return vx_err_set(e, VX_ESTORE, "unexpected reply to the load script");
    }
    if (r->element[0]->type == REDIS_REPLY_STRING)
        vx_parse_ll(r->element[0]->str, 0, INT64_MAX, &v);
    out->version = v;
    out->state = dup_reply(r->element[1]);
    out->profile = dup_reply(r->element[2]);
    freeReplyObject(r);
    cache_put(skill, user, out->version, out->state, out->profile, -1);
    return 0;
}

int vx_store_save(const char *skill, const char *user, long long expect_version, const char *state,
                  int ttl, const char *profile, const struct vx_store_order *order,
                  struct vx_err *e)
{
    char kconv[400], kprof[400], kidx[400], kord[480], ver[24], ttls[16];
    const char *keys[4] = {kconv, kprof, kidx, kord};
    const char *args[6];
    redisReply *r;
    int rc = 0;

    if (vx_store_customer_key(skill, user, "conv", kconv, sizeof(kconv)) ||
        vx_store_customer_key(skill, user, "profile", kprof, sizeof(kprof)) ||
        vx_store_customer_key(skill, user, "orders", kidx, sizeof(kidx)))
        return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
    if (order) {
        char part[96];
        if (vx_snprintf(part, sizeof(part), "order:%s", order->id) ||
            vx_store_customer_key(skill, user, part, kord, sizeof(kord)))
            return vx_err_set(e, VX_EINVAL, "order ID too long");
    } else {
        vx_store_customer_key(skill, user, "order:-", kord, sizeof(kord));
    }
    snprintf(ver, sizeof(ver), "%lld", expect_version);
    snprintf(ttls, sizeof(ttls), "%d", ttl > 0 ? ttl : 3600);
    args[0] = ver;
    args[1] = state ? state : "{}";
    args[2] = ttls;
    args[3] = profile ? profile : "";
    args[4] = order ? order->id : "";
    args[5] = order ? order->json : "";
    r = eval(&scripts[1], sha_save, 4, keys, 6, args, NULL, e);
    if (!r) {
        cache_drop(skill, user);
        return VX_ESTORE;
    }
    if (r->type != REDIS_REPLY_INTEGER)
        rc = vx_err_set(e, VX_ESTORE, "unexpected reply to the save script");
    else if (r->integer < 0)
        rc = vx_err_set(e, VX_ECONFLICT, "conversation changed concurrently");
    if (rc == 0)
        cache_put(skill, user, r->integer, args[1], profile, expect_version);
    else
        cache_drop(skill, user);
    freeReplyObject(r);
    return rc;
}

int vx_store_order_get(const char *skill, const char *user, const char *id, char **json,
                       struct vx_err *e)
{
    char part[96], key[480];
    const char *argv[2];
    redisReply *r;
    if (vx_snprintf(part, sizeof(part), "order:%s", id) ||
        vx_store_customer_key(skill, user, part, key, sizeof(key)))
        return vx_err_set(e, VX_EINVAL, "order ID too long");
    argv[0] = "GET";
    argv[1] = key;
    r = run(e, 2, argv, NULL);
    if (!r)
        return VX_ESTORE;
    *json = dup_reply(r);
    freeReplyObject(r);
    return *json ? 0 : VX_ENOTFOUND;
}

int vx_store_orders_recent(const char *skill, const char *user, size_t max, char ***ids, size_t *n,
                           struct vx_err *e)
{
    char key[400], stop[24];
    const char *argv[4];
    redisReply *r;
    char **v;
    if (vx_store_customer_key(skill, user, "orders", key, sizeof(key)))
        return vx_err_set(e, VX_EINVAL, "skill or user ID too long");
    snprintf(stop, sizeof(stop), "%zu", max ? max - 1 : 0);
    argv[0] = "LRANGE";
    argv[1] = key;
    argv[2] = "0";
    argv[3] = stop;
    r = run(e, 4, argv, NULL);
    if (!r)
        return VX_ESTORE;
    *n = 0;
    v = calloc(r->elements ? r->elements : 1, sizeof(*v));
    if (!v) {
        freeReplyObject(r);
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->elements; i++) {
        v[i] = dup_reply(r->element[i]);
        if (v[i])
            (*n)++;
    }
    *ids = v;
    freeReplyObject(r);
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
        r = eval(&scripts[3], sha_seed_profile, 2, keys, 1, args, NULL, e);
    } else if (!json) {
        argv[0] = "DEL";
        argv[1] = key;
        r = run(e, 2, argv, NULL);
    } else if (strcmp(part, "conversation") == 0) {
        /* the TTL vx_store_save uses when the caller gives none */
        const char *keys[1] = {key};
        const char *args[2] = {json, "3600"};
        r = eval(&scripts[2], sha_seed, 1, keys, 2, args, NULL, e);
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
