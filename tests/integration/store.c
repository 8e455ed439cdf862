/*
 * The Redis store against a real redis-server (started by tests/e2e/test_store.sh,
 * URL in VOXCART_REDIS_URL): write sets with version tags that never repeat, the
 * conflict a concurrent writer sees, orders written with the state, order
 * compare-and-set, ledger and idempotency records, the replay guard, the shared certificate
 * cache, and recovery after Redis goes away and comes back.
 */
#include "voxcart/store.h"
#include "voxcart/wset.h"
#include "voxcart/cluster.h"
#include "it_redis.h"
#include "vxtest.h"

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A write set of a conversation state (and optionally a profile member and an order). */
static int save(const char *user, uint64_t expect, const char *state, const char *pmember,
                const char *pvalue, const char *order_id, const char *order_doc, uint64_t *tag)
{
    struct vx_wset w;
    struct vx_err e;
    int rc;
    vx_wset_init(&w, "skill", user);
    vx_wset_conv(&w, expect, state, 60);
    if (pmember)
        vx_wset_profile_set(&w, pmember, pvalue);
    if (order_id)
        vx_wset_order_create(&w, order_id, order_doc);
    rc = vx_store_write(&w, &e);
    if (tag)
        *tag = w.tag;
    vx_wset_release(&w);
    return rc;
}

static void test_versioned_write(void)
{
    struct vx_conv c;
    struct vx_err e;
    uint64_t t1, t2;
    VX_CHECK_INT(vx_store_load("skill", "u1", &c, &e), 0);
    VX_CHECK(c.version == 0);
    VX_CHECK(c.state == NULL && c.profile == NULL);
    vx_conv_release(&c);

    VX_CHECK_INT(save("u1", 0, "{\"s\":1}", NULL, NULL, NULL, NULL, &t1), 0);
    VX_CHECK_INT(save("u1", 0, "{\"s\":2}", NULL, NULL, NULL, NULL, NULL), VX_ECONFLICT);
    VX_CHECK_INT(vx_store_load("skill", "u1", &c, &e), 0);
    VX_CHECK(c.version == t1 && t1 != 0);
    VX_CHECK_STR(c.state, "{\"s\":1}");
    vx_conv_release(&c);

    VX_CHECK_INT(save("u1", t1, "{\"s\":3}", "p", "1", NULL, NULL, &t2), 0);
    VX_CHECK(t2 != t1);
    VX_CHECK_INT(vx_store_load("skill", "u1", &c, &e), 0);
    VX_CHECK(c.version == t2);
    VX_CHECK_STR(c.state, "{\"s\":3}");
    VX_CHECK_STR(c.profile, "{\"p\":1}");
    vx_conv_release(&c);
}

/*
 * The lost update of a counter that starts again: A read tag T; the key expires;
 * B writes afresh. A's write with T must fail, and B's profile member survives.
 */
static void test_no_lost_update_across_expiry(void)
{
    struct vx_conv c;
    struct vx_err e;
    uint64_t ta, tb;
    char key[400];
    VX_CHECK_INT(save("u9", 0, "{\"who\":\"a\"}", NULL, NULL, NULL, NULL, &ta), 0);
    /* the conversation expires (as its one-hour TTL would) */
    vx_store_customer_key("skill", "u9", "conv", key, sizeof(key));
    vx_store_seed("skill", "u9", "conversation", NULL, &e);
    VX_CHECK_INT(
        save("u9", 0, "{\"who\":\"b\"}", "billing_agreement", "{\"id\":\"B-1\"}", NULL, NULL, &tb),
        0);
    VX_CHECK_INT(save("u9", ta, "{\"who\":\"a-stale\"}", "usual", "[]", NULL, NULL, NULL),
                 VX_ECONFLICT);
    VX_CHECK_INT(vx_store_load("skill", "u9", &c, &e), 0);
    VX_CHECK_STR(c.state, "{\"who\":\"b\"}");
    VX_CHECK_STR(c.profile, "{\"billing_agreement\":{\"id\":\"B-1\"}}");
    vx_conv_release(&c);
}

static void test_order_with_state(void)
{
    struct vx_err e;
    char *json = NULL, **ids = NULL;
    size_t n = 0;

    VX_CHECK_INT(
        save("u2", 0, "{}", NULL, NULL, "o-1", "{\"id\":\"o-1\",\"state\":\"CONFIRMED\"}", NULL),
        0);
    /* a stale writer must not write its order either */
    VX_CHECK_INT(save("u2", 0, "{}", NULL, NULL, "o-2", "{\"id\":\"o-2\"}", NULL), VX_ECONFLICT);
    VX_CHECK_INT(vx_store_order_get("skill", "u2", "o-1", &json, &e), 0);
    VX_CHECK_STR(json, "{\"id\":\"o-1\",\"state\":\"CONFIRMED\"}");
    free(json);
    VX_CHECK_INT(vx_store_order_get("skill", "u2", "o-2", &json, &e), VX_ENOTFOUND);
    VX_CHECK_INT(vx_store_orders_recent("skill", "u2", 10, &ids, &n, &e), 0);
    VX_CHECK_INT(n, 1);
    if (n == 1)
        VX_CHECK_STR(ids[0], "o-1");
    vx_store_strings_free(ids, n);
}

/* Order state compare-and-set, the ledger, and a record that makes a repeat change nothing. */
static void test_cas_ledger_idem(void)
{
    struct vx_wset w;
    struct vx_err e;
    char *json = NULL, **led = NULL;
    size_t n = 0;
    int rc;

    vx_wset_init(&w, "skill", "u5");
    vx_wset_order_create(&w, "o-5", "{\"id\":\"o-5\",\"state\":\"CONFIRMED\",\"total\":450}");
    vx_wset_ledger(&w, "o-5", "{\"to\":\"CONFIRMED\"}");
    VX_CHECK_INT(vx_store_write(&w, &e), 0);
    vx_wset_release(&w);

    /* a charge response: CONFIRMED -> PAID once, recorded under its idempotency key */
    for (int i = 0; i < 2; i++) {
        vx_wset_init(&w, "skill", "u5");
        vx_wset_idem(&w, "resp-ch-1", "PAID", 0);
        vx_wset_order_cas(&w, "o-5", "CONFIRMED", "PAID");
        vx_wset_ledger(&w, "o-5", "{\"from\":\"CONFIRMED\",\"to\":\"PAID\"}");
        rc = vx_store_write(&w, &e);
        VX_CHECK_INT(rc, i == 0 ? 0 : VX_EEXISTS);
        vx_wset_release(&w);
    }
    /* a different change that starts from a state the order has left */
    vx_wset_init(&w, "skill", "u5");
    vx_wset_order_cas(&w, "o-5", "CONFIRMED", "CANCELED");
    vx_wset_ledger(&w, "o-5", "{\"from\":\"CONFIRMED\",\"to\":\"CANCELED\"}");
    {
        struct vx_store_op op;
        if (vx_store_op_write(&op, &w))
            vx_store_op_run(&op);
        VX_CHECK_INT(op.rc, VX_ECONFLICT);
        VX_CHECK_INT(op.guard, 0);
        vx_store_op_release(&op);
    }
    vx_wset_release(&w);

    VX_CHECK_INT(vx_store_order_get("skill", "u5", "o-5", &json, &e), 0);
    VX_CHECK_STR(json, "{\"id\":\"o-5\",\"state\":\"PAID\",\"total\":450}");
    free(json);
    VX_CHECK_INT(vx_store_ledger("skill", "u5", "o-5", &led, &n, &e), 0);
    VX_CHECK_INT(n, 2);
    if (n == 2) {
        VX_CHECK_STR(led[0], "{\"to\":\"CONFIRMED\"}");
        VX_CHECK_STR(led[1], "{\"from\":\"CONFIRMED\",\"to\":\"PAID\"}");
    }
    vx_store_strings_free(led, n);
}

struct racer {
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    r->rc = save("u3", 0, "{\"racer\":1}", NULL, NULL, NULL, NULL, NULL);
    vx_store_shutdown();
    return NULL;
}

static void test_concurrent_writers(void)
{
    struct racer a = {1}, b = {1};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* exactly one of two writers that read the same version wins */
    VX_CHECK((a.rc == 0) != (b.rc == 0));
    VX_CHECK(a.rc == VX_ECONFLICT || b.rc == VX_ECONFLICT);
}

/* One command on its own connection, following a cluster's MOVED once. */
static void raw_cmd(const char *host, int port, int db, const char *fmt, const char *key,
                    const char *value)
{
    for (int hop = 0; hop < 3; hop++) {
        redisContext *c = redisConnect(host, port);
        redisReply *r;
        struct vx_node node;
        uint16_t slot;
        int ask;
        VX_CHECK(c && !c->err);
        if (!c || c->err) {
            redisFree(c);
            return;
        }
        if (db)
            freeReplyObject(redisCommand(c, "SELECT %d", db));
        r = redisCommand(c, fmt, key, value);
        if (r && r->type == REDIS_REPLY_ERROR &&
            vx_cluster_redirect_parse(r->str, &ask, &slot, &node)) {
            static char h[128];
            snprintf(h, sizeof(h), "%s", node.host);
            host = h;
            port = node.port;
            freeReplyObject(r);
            redisFree(c);
            continue;
        }
        VX_CHECK(r && r->type != REDIS_REPLY_ERROR);
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return;
    }
}

/* Another voxcartd's write: on its own connection, so this process's cache does not know. */
static void foreign(const char *user, const char *part, const char *value)
{
    struct vx_store_target t;
    char key[400], tag[17];
    vx_store_target_get(&t);
    vx_store_customer_key("skill", user, part, key, sizeof(key));
    raw_cmd(t.host, t.port, t.db, strcmp(part, "profile") == 0 ? "HSET %s p %s" : "HSET %s s %s",
            key, value);
    vx_store_customer_key("skill", user, "conv", key, sizeof(key));
    snprintf(tag, sizeof(tag), "%016llx", (unsigned long long)vx_wset_tag());
    raw_cmd(t.host, t.port, t.db, "HSET %s v %s", key, tag);
}

/*
 * The cache: a load after a write is served from memory; when another writer
 * (here a fixture seed, as another voxcartd would) changes the conversation or
 * only the profile, the next write with the cached tag conflicts, the entry is
 * dropped, and the next load sees what Redis holds.
 */
static void test_cache_validated_by_write(void)
{
    struct vx_conv c;
    struct vx_err e;
    uint64_t t1, t3;
    VX_CHECK_INT(save("c1", 0, "{\"n\":1}", "p", "1", NULL, NULL, &t1), 0);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK(c.version == t1);
    VX_CHECK_STR(c.state, "{\"n\":1}");
    vx_conv_release(&c);

    /* another instance changes only the profile */
    foreign("c1", "profile", "2");
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK(c.version == t1); /* the cached view: not yet known to be stale */
    VX_CHECK_INT(save("c1", c.version, "{\"n\":2}", "p", "9", NULL, NULL, NULL), VX_ECONFLICT);
    vx_conv_release(&c);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK(c.version != t1);
    VX_CHECK_STR(c.profile, "{\"p\":2}"); /* the other writer's profile survived */
    VX_CHECK_INT(save("c1", c.version, "{\"n\":3}", NULL, NULL, NULL, NULL, &t3), 0);
    vx_conv_release(&c);

    /* another instance replaces the conversation */
    foreign("c1", "conv", "{\"n\":99}");
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK(c.version == t3);
    VX_CHECK_INT(save("c1", c.version, "{\"n\":4}", NULL, NULL, NULL, NULL, NULL), VX_ECONFLICT);
    vx_conv_release(&c);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK_STR(c.state, "{\"n\":99}");
    VX_CHECK_STR(c.profile, "{\"p\":2}");
    vx_conv_release(&c);

    /* with the cache off every load reads Redis */
    vx_store_cache_enable(0);
    VX_CHECK_INT(vx_store_seed("skill", "c1", "conversation", "{\"n\":100}", &e), 0);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK_STR(c.state, "{\"n\":100}");
    vx_conv_release(&c);
    vx_store_cache_enable(1);
}

static void test_seen(void)
{
    struct vx_err e;
    VX_CHECK_INT(vx_store_seen("req-1", 10, &e), 0);
    VX_CHECK_INT(vx_store_seen("req-1", 10, &e), VX_EEXISTS);
    VX_CHECK_INT(vx_store_seen("req-2", 10, &e), 0);
}

static void test_cert_shared(void)
{
    const struct vx_cert_shared *s = vx_store_cert_shared();
    char *pem = NULL;
    size_t len = 0;
    VX_CHECK_INT(s->get(s->ud, "https://s3.amazonaws.com/echo.api/a.pem", &pem, &len),
                 VX_ENOTFOUND);
    s->put(s->ud, "https://s3.amazonaws.com/echo.api/a.pem", "PEMDATA", 7, 60);
    VX_CHECK_INT(s->get(s->ud, "https://s3.amazonaws.com/echo.api/a.pem", &pem, &len), 0);
    VX_CHECK_INT(len, 7);
    if (pem)
        VX_CHECK_STR(pem, "PEMDATA");
    free(pem);
}

int main(void)
{
    if (it_store_init(500) != 0)
        return 2;
    VX_RUN(test_versioned_write);
    VX_RUN(test_no_lost_update_across_expiry);
    VX_RUN(test_order_with_state);
    VX_RUN(test_cas_ledger_idem);
    VX_RUN(test_concurrent_writers);
    VX_RUN(test_cache_validated_by_write);
    VX_RUN(test_seen);
    VX_RUN(test_cert_shared);
    vx_store_shutdown();
    return VX_DONE();
}
