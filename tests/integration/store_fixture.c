/*
 * The store's fixture helpers against a real redis-server (started by
 * tests/e2e/test_replay.sh, URL in VOXCART_REDIS_URL): what `voxcart replay`
 * seeds is what voxcartd loads, a seeded conversation bumps the version so an
 * older writer conflicts, NULL deletes, and peek reads the conversation, the
 * profile and the newest order.
 */
#include "voxcart/store.h"
#include "it_redis.h"
#include "vxtest.h"
#include "voxcart/wset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_conv(const char *user, uint64_t expect, const char *state, const char *order)
{
    struct vx_wset w;
    struct vx_err e;
    int rc;
    vx_wset_init(&w, "skill", user);
    vx_wset_conv(&w, expect, state, 60);
    if (order) {
        char doc[64];
        snprintf(doc, sizeof(doc), "{\"id\":\"%s\"}", order);
        vx_wset_order_create(&w, order, doc);
    }
    rc = vx_store_write(&w, &e);
    vx_wset_release(&w);
    return rc;
}

static void test_seed_conversation(void)
{
    uint64_t read_tag;
    struct vx_conv c;
    struct vx_err e;
    char *json = NULL;

    VX_CHECK_INT(vx_store_peek("skill", "f1", "conversation", &json, &e), 0);
    VX_CHECK(json == NULL);
    VX_CHECK_INT(vx_store_seed("skill", "f1", "conversation", "{\"state\":\"ordering\"}", &e), 0);
    VX_CHECK_INT(vx_store_peek("skill", "f1", "conversation", &json, &e), 0);
    VX_CHECK_STR(json, "{\"state\":\"ordering\"}");
    free(json);
    VX_CHECK_INT(vx_store_load("skill", "f1", &c, &e), 0);
    VX_CHECK(c.version != 0);
    VX_CHECK_STR(c.state, "{\"state\":\"ordering\"}");
    read_tag = c.version;
    vx_conv_release(&c);

    /* a writer that read before the seed must lose */
    VX_CHECK_INT(vx_store_seed("skill", "f1", "conversation", "{\"state\":\"paying\"}", &e), 0);
    VX_CHECK_INT(write_conv("f1", read_tag, "{}", NULL), VX_ECONFLICT);
    VX_CHECK_INT(vx_store_load("skill", "f1", &c, &e), 0);
    VX_CHECK_INT(write_conv("f1", c.version, "{\"state\":\"done\"}", NULL), 0);
    vx_conv_release(&c);
    VX_CHECK_INT(vx_store_peek("skill", "f1", "conversation", &json, &e), 0);
    VX_CHECK_STR(json, "{\"state\":\"done\"}");
    free(json);

    VX_CHECK_INT(vx_store_seed("skill", "f1", "conversation", NULL, &e), 0);
    VX_CHECK_INT(vx_store_peek("skill", "f1", "conversation", &json, &e), 0);
    VX_CHECK(json == NULL);
    VX_CHECK_INT(vx_store_load("skill", "f1", &c, &e), 0);
    VX_CHECK(c.version == 0);
    vx_conv_release(&c);
}

static void test_seed_profile(void)
{
    struct vx_conv c;
    struct vx_err e;
    char *json = NULL;

    VX_CHECK_INT(
        vx_store_seed("skill", "f2", "profile", "{\"billing_agreement\":{\"id\":\"B\"}}", &e), 0);
    VX_CHECK_INT(vx_store_load("skill", "f2", &c, &e), 0);
    VX_CHECK_STR(c.profile, "{\"billing_agreement\":{\"id\":\"B\"}}");
    vx_conv_release(&c);
    VX_CHECK_INT(vx_store_peek("skill", "f2", "profile", &json, &e), 0);
    VX_CHECK_STR(json, "{\"billing_agreement\":{\"id\":\"B\"}}");
    free(json);
    VX_CHECK_INT(vx_store_seed("skill", "f2", "profile", NULL, &e), 0);
    VX_CHECK_INT(vx_store_peek("skill", "f2", "profile", &json, &e), 0);
    VX_CHECK(json == NULL);
}

static void test_peek_last_order(void)
{
    struct vx_conv c;
    struct vx_err e;
    char *json = NULL;

    VX_CHECK_INT(vx_store_peek("skill", "f3", "last_order", &json, &e), 0);
    VX_CHECK(json == NULL);
    VX_CHECK_INT(write_conv("f3", 0, "{}", "o-1"), 0);
    VX_CHECK_INT(vx_store_load("skill", "f3", &c, &e), 0);
    VX_CHECK_INT(write_conv("f3", c.version, "{}", "o-2"), 0);
    vx_conv_release(&c);
    VX_CHECK_INT(vx_store_peek("skill", "f3", "last_order", &json, &e), 0);
    VX_CHECK_STR(json, "{\"id\":\"o-2\"}");
    free(json);
}

static void test_bad_parts(void)
{
    struct vx_err e;
    char *json = NULL;

    VX_CHECK_INT(vx_store_seed("skill", "f4", "last_order", "{}", &e), VX_EINVAL);
    VX_CHECK_STR(e.msg, "unknown store part 'last_order'");
    VX_CHECK_INT(vx_store_peek("skill", "f4", "orders", &json, &e), VX_EINVAL);
    VX_CHECK(json == NULL);
}

int main(void)
{
    if (it_store_init(500) != 0)
        return 2;
    VX_RUN(test_seed_conversation);
    VX_RUN(test_seed_profile);
    VX_RUN(test_peek_last_order);
    VX_RUN(test_bad_parts);
    vx_store_shutdown();
    return VX_DONE();
}
