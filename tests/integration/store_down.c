/*
 * Redis going away and coming back, in one process as a server would see it:
 * while Redis is down, commands fail fast with VX_ESTORE (no hang); then this
 * program touches the file named by argv[1], the driving script
 * (tests/e2e/test_store.sh) starts redis-server again, and the same thread's
 * commands must succeed again by themselves within a few backoff periods.
 */
#include "voxcart/store.h"
#include "vxtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct vx_store_config cfg = {getenv("VOXCART_REDIS_URL"), 300};
    struct vx_err e;
    uint64_t t0;
    FILE *f;
    int ok = 0;

    if (argc < 2 || !cfg.url || vx_store_init(&cfg, &e) != 0)
        return 2;
    t0 = vx_mono_ns();
    VX_CHECK_INT(vx_store_ping(&e), VX_ESTORE);
    VX_CHECK_INT(vx_store_seen("x", 10, &e), VX_ESTORE);
    VX_CHECK_INT(vx_store_ping(&e), VX_ESTORE);
    VX_CHECK(vx_mono_ns() - t0 < 2000000000ull);

    f = fopen(argv[1], "w");
    if (f)
        fclose(f);
    for (int i = 0; i < 150 && !ok; i++) {
        ok = vx_store_ping(&e) == 0;
        if (!ok)
            usleep(100000);
    }
    VX_CHECK(ok);
    vx_store_shutdown();
    return VX_DONE();
}
