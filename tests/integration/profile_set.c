/*
 * it_profile_set: sets one member of a customer's profile through a write set,
 * as the payment path records a billing agreement; the merchant API's tests
 * give their customers one with it.
 *
 *   it_profile_set SKILL USER MEMBER JSON
 */
#include "it_redis.h"
#include "voxcart/jscan.h"
#include "voxcart/wset.h"

#include <string.h>

int main(int argc, char **argv)
{
    struct vx_wset w;
    struct vx_err e;
    int rc;
    if (argc != 5 || vx_json_check(argv[4], strlen(argv[4]), "JSON", &e) != 0) {
        fprintf(stderr, "usage: it_profile_set SKILL USER MEMBER JSON\n");
        return 2;
    }
    if ((rc = it_store_init(2000)) != 0)
        return rc;
    vx_wset_init(&w, argv[1], argv[2]);
    vx_wset_profile_set(&w, argv[3], argv[4]);
    rc = vx_store_write(&w, &e);
    if (rc != 0)
        fprintf(stderr, "it_profile_set: %s\n", e.msg);
    vx_wset_release(&w);
    vx_store_shutdown();
    return rc == 0 ? 0 : 1;
}
