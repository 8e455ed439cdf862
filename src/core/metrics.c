/*
 * Prometheus counters: requests by outcome, verification failures by reason,
 * and a latency histogram of POST /alexa. Relaxed atomics only; the exposition
 * is assembled on demand by GET /metrics.
 */
#include "voxcart/metrics.h"

#include <stdatomic.h>

static const char *outcome_names[] = {
#define XX(id, name) name,
    VX_OUTCOME_MAP(XX)
#undef XX
};

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bucket_us[] = {250,   500,    1000,   2500,   5000,    10000,  25000,
                                     50000, 100000, 250000, 500000, 1000000, 2500000};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

static atomic_uint_fast64_t outcomes[VX_OUT__COUNT];
static atomic_uint_fast64_t failures[VX_VR__COUNT];
static atomic_uint_fast64_t buckets[NBUCKETS + 1];
static atomic_uint_fast64_t latency_sum_ns;
static atomic_uint_fast64_t latency_count;
static atomic_int inflight;

void vx_metrics_outcome(enum vx_outcome outcome)
{
    if ((unsigned)outcome < VX_OUT__COUNT)
        atomic_fetch_add_explicit(&outcomes[outcome], 1, memory_order_relaxed);
}

void vx_metrics_request(enum vx_outcome outcome, uint64_t duration_ns)
{
    uint64_t us = duration_ns / 1000;
    size_t i;
    vx_metrics_outcome(outcome);
    for (i = 0; i < NBUCKETS && us > bucket_us[i]; i++)
        ;
    atomic_fetch_add_explicit(&buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_ns, duration_ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_count, 1, memory_order_relaxed);
}

void vx_metrics_verify_failure(enum vx_verify_reason reason)
{
    if ((unsigned)reason < VX_VR__COUNT)
        atomic_fetch_add_explicit(&failures[reason], 1, memory_order_relaxed);
}

void vx_metrics_inflight(int delta)
{
    atomic_fetch_add_explicit(&inflight, delta, memory_order_relaxed);
}

uint64_t vx_metrics_outcome_count(enum vx_outcome outcome)
{
    return atomic_load_explicit(&outcomes[outcome], memory_order_relaxed);
}

int vx_metrics_render(struct vx_buf *b)
{
    uint64_t cum = 0;
    int rc = 0;

    rc |= vx_buf_appends(b, "# HELP voxcart_requests_total Skill requests by outcome.\n"
                            "# TYPE voxcart_requests_total counter\n");
    for (int i = 0; i < VX_OUT__COUNT; i++)
        rc |= vx_buf_appendf(b, "voxcart_requests_total{outcome=\"%s\"} %llu\n", outcome_names[i],
                             (unsigned long long)atomic_load(&outcomes[i]));
    rc |= vx_buf_appends(b, "# HELP voxcart_verification_failures_total Requests rejected by "
                            "verification, by reason.\n"
                            "# TYPE voxcart_verification_failures_total counter\n");
    for (int i = 1; i < VX_VR__COUNT; i++)
        rc |= vx_buf_appendf(b, "voxcart_verification_failures_total{reason=\"%s\"} %llu\n",
                             vx_verify_reason_name((enum vx_verify_reason)i),
                             (unsigned long long)atomic_load(&failures[i]));
    rc |= vx_buf_appends(b, "# HELP voxcart_request_duration_seconds Time to answer POST /alexa "
                            "(requests that reached verification).\n"
                            "# TYPE voxcart_request_duration_seconds histogram\n");
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += atomic_load(&buckets[i]);
        rc |= vx_buf_appendf(b, "voxcart_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                             (double)bucket_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += atomic_load(&buckets[NBUCKETS]);
    rc |= vx_buf_appendf(b, "voxcart_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                         (unsigned long long)cum);
    rc |= vx_buf_appendf(b, "voxcart_request_duration_seconds_sum %.6f\n",
                         (double)atomic_load(&latency_sum_ns) / 1e9);
    rc |= vx_buf_appendf(b, "voxcart_request_duration_seconds_count %llu\n",
                         (unsigned long long)atomic_load(&latency_count));
    rc |= vx_buf_appends(b,
                         "# HELP voxcart_requests_in_flight POST /alexa requests being processed.\n"
                         "# TYPE voxcart_requests_in_flight gauge\n");
    rc |= vx_buf_appendf(b, "voxcart_requests_in_flight %d\n", atomic_load(&inflight));
    return rc ? VX_ENOMEM : 0;
}
