/*
 * Process-wide counters exposed on GET /metrics in the Prometheus text format.
 * Lock-free: every counter is a relaxed atomic, so the hot path pays one atomic
 * add per event.
 */
#ifndef VOXCART_METRICS_H
#define VOXCART_METRICS_H

#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/verify.h"

#define VX_OUTCOME_MAP(XX)                                                                         \
    XX(OK, "ok")                                                                                   \
    XX(REJECTED, "rejected")                                                                       \
    XX(STORE_DOWN, "store_unavailable")                                                            \
    XX(ERROR, "error")                                                                             \
    XX(NOT_FOUND, "not_found")                                                                     \
    XX(BAD_METHOD, "method_not_allowed")                                                           \
    XX(TOO_LARGE, "too_large")                                                                     \
    XX(BAD_REQUEST, "bad_request")

enum vx_outcome {
#define XX(id, name) VX_OUT_##id,
    VX_OUTCOME_MAP(XX)
#undef XX
        VX_OUT__COUNT
};

/* A POST /alexa answered by the skill pipeline: its outcome and its duration. */
void vx_metrics_request(enum vx_outcome outcome, uint64_t duration_ns);
/* A request answered before the pipeline (404, 405, 413, 400): its outcome only. */
void vx_metrics_outcome(enum vx_outcome outcome);
void vx_metrics_verify_failure(enum vx_verify_reason reason);
void vx_metrics_inflight(int delta);
/* The recurring biller: its counters as they happen, and a pass's gauges when it ends. */
enum vx_biller_metric {
    VX_BM_claimed,
    VX_BM_charged,
    VX_BM_declined,
    VX_BM_retried,
    VX_BM_pending,
    VX_BM_canceled,
    VX_BM_errors,
    VX_BM__COUNT
};
void vx_metrics_biller_count(enum vx_biller_metric m, uint64_t n);
struct vx_biller_stats;
void vx_metrics_biller(const struct vx_biller_stats *st);
/* Appends the whole exposition to b. */
int vx_metrics_render(struct vx_buf *b);
/* For tests: read one counter. */
uint64_t vx_metrics_outcome_count(enum vx_outcome outcome);

#endif
