/*
 * The Redis store against a real redis-server (started by tests/e2e/test_store.sh,
 * URL in VOXCART_REDIS_URL): versioned saves, the conflict a concurrent writer
 * sees, orders written with the state, the replay guard, the shared certificate
 * cache, and recovery after Redis goes away and comes back.
 */
#include "voxcart/store.h"
#include "it_redis.h"
#include "vxtest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_versioned_save(void)
{
    struct vx_conv c;
    struct vx_err e;
    VX_CHECK_INT(vx_store_load("skill", "u1", &c, &e), 0);
    VX_CHECK_INT(c.version, 0);
    VX_CHECK(c.state == NULL && c.profile == NULL);
    vx_conv_release(&c);

    VX_CHECK_INT(vx_store_save("skill", "u1", 0, "{\"s\":1}", 60, NULL, NULL, &e), 0);
    VX_CHECK_INT(vx_store_save("skill", "u1", 0, "{\"s\":2}", 60, NULL, NULL, &e), VX_ECONFLICT);
    VX_CHECK_INT(vx_store_load("skill", "u1", &c, &e), 0);
    VX_CHECK_INT(c.version, 1);
    VX_CHECK_STR(c.state, "{\"s\":1}");
    vx_conv_release(&c);

    VX_CHECK_INT(vx_store_save("skill", "u1", 1, "{\"s\":3}", 60, "{\"p\":1}", NULL, &e), 0);
    VX_CHECK_INT(vx_store_load("skill", "u1", &c, &e), 0);
    VX_CHECK_INT(c.version, 2);
    VX_CHECK_STR(c.state, "{\"s\":3}");
    VX_CHECK_STR(c.profile, "{\"p\":1}");
    vx_conv_release(&c);
}

static void test_order_with_state(void)
{
    struct vx_store_order o = {"o-1", "{\"id\":\"o-1\",\"state\":\"CONFIRMED\"}"};
    struct vx_store_order o2 = {"o-2", "{\"id\":\"o-2\"}"};
    struct vx_err e;
    char *json = NULL, **ids = NULL;
    size_t n = 0;

    VX_CHECK_INT(vx_store_save("skill", "u2", 0, "{}", 60, NULL, &o, &e), 0);
    /* a stale writer must not write its order either */
    VX_CHECK_INT(vx_store_save("skill", "u2", 0, "{}", 60, NULL, &o2, &e), VX_ECONFLICT);
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

struct racer {
    long long version;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct vx_err e;
    r->rc = vx_store_save("skill", "u3", r->version, "{\"racer\":1}", 60, NULL, NULL, &e);
    vx_store_shutdown();
    return NULL;
}

static void test_concurrent_writers(void)
{
    struct racer a = {0, 1}, b = {0, 1};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* exactly one of two writers that read the same version wins */
    VX_CHECK((a.rc == 0) != (b.rc == 0));
    VX_CHECK(a.rc == VX_ECONFLICT || b.rc == VX_ECONFLICT);
}

/*
 * The cache: a load after a save is served from memory; when another writer
 * (here a fixture seed, as another voxcartd would) changes the conversation or
 * only the profile, the next save with the cached version conflicts, the entry
 * is dropped, and the next load sees what Redis holds.
 */
static void test_cache_validated_by_save(void)
{
    struct vx_conv c;
    struct vx_err e;
    VX_CHECK_INT(vx_store_save("skill", "c1", 0, "{\"n\":1}", 60, "{\"p\":1}", NULL, &e), 0);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK_INT(c.version, 1);
    VX_CHECK_STR(c.state, "{\"n\":1}");
    vx_conv_release(&c);

    /* someone else changes only the profile */
    VX_CHECK_INT(vx_store_seed("skill", "c1", "profile", "{\"p\":2}", &e), 0);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK_INT(c.version, 1); /* the cached view: not yet known to be stale */
    VX_CHECK_INT(vx_store_save("skill", "c1", c.version, "{\"n\":2}", 60, "{\"p\":9}", NULL, &e),
                 VX_ECONFLICT);
    vx_conv_release(&c);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK_INT(c.version, 2);
    VX_CHECK_STR(c.profile, "{\"p\":2}"); /* the other writer's profile survived */
    VX_CHECK_INT(vx_store_save("skill", "c1", c.version, "{\"n\":3}", 60, NULL, NULL, &e), 0);
    vx_conv_release(&c);

    /* someone else replaces the conversation */
    VX_CHECK_INT(vx_store_seed("skill", "c1", "conversation", "{\"n\":99}", &e), 0);
    VX_CHECK_INT(vx_store_load("skill", "c1", &c, &e), 0);
    VX_CHECK_INT(vx_store_save("skill", "c1", c.version, "{\"n\":4}", 60, NULL, NULL, &e),
                 VX_ECONFLICT);
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
    VX_RUN(test_versioned_save);
    VX_RUN(test_order_with_state);
    VX_RUN(test_concurrent_writers);
    VX_RUN(test_cache_validated_by_save);
    VX_RUN(test_seen);
    VX_RUN(test_cert_shared);
    vx_store_shutdown();
    return VX_DONE();
}
