/*
 * What a worker's event loop offers the request handlers: Redis commands on
 * asynchronous connections (one per node: a single server, or every master of
 * a cluster, routed by hash slot and redirect), outbound HTTP on libcurl's
 * multi socket API, and a health state kept by the loop itself. Every one of
 * them is started and resumed by the loop; none ever blocks the worker.
 */
#ifndef VOXCART_LOOP_H
#define VOXCART_LOOP_H

#include <stdint.h>

#include "voxcart/httpop.h"
#include "voxcart/store.h"

struct worker;

/* A store operation in flight: done runs on the loop when op holds its outcome. */
struct asend {
    struct vx_store_op *op;
    void (*done)(struct asend *a);
    void *ud;
    uint64_t sent_ns;
    struct asend *next; /* in its node's queue, oldest first */
    struct anode *node;
};

/* Sends a->op; done always runs later (at once with VX_ESTORE when Redis is unreachable). */
void loop_store_send(struct worker *w, struct asend *a);

/* An HTTP request in flight: done runs on the loop when op holds its outcome. */
struct hsend {
    struct vx_http_op *op;
    void (*done)(struct hsend *h);
    void *ud;
};
void loop_http_send(struct worker *w, struct hsend *h);

/* 1 when this worker's Redis connections are up and answering. */
int loop_store_ready(struct worker *w, char *why, size_t whysz);

#endif
