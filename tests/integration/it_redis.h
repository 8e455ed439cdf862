/*
 * What every integration program does first: connect the store to the
 * redis-server its driving script started (URL in VOXCART_REDIS_URL).
 */
#ifndef IT_REDIS_H
#define IT_REDIS_H

#include "voxcart/store.h"

#include <stdio.h>
#include <stdlib.h>

/* 0 when the store is ready; otherwise says why on stderr and returns 2 (exit status). */
static inline int it_store_init(int timeout_ms)
{
    struct vx_store_config cfg;
    struct vx_err e;
    cfg.url = getenv("VOXCART_REDIS_URL");
    cfg.timeout_ms = timeout_ms;
    if (!cfg.url) {
        fprintf(stderr, "VOXCART_REDIS_URL is not set\n");
        return 2;
    }
    if (vx_store_init(&cfg, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    return 0;
}

#endif
