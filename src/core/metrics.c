/*
 * Prometheus counters: requests by outcome, verification failures by reason,
 * and a latency histogram of POST /alexa. Relaxed atomics only; the exposition
 * is assembled on demand by GET /metrics.
 */
#include "voxcart/metrics.h"

#include "voxcart/biller.h"

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

/* the biller: counters summed over passes; due and lag as of the last pass */
#define BILLER_COUNTERS(XX)                                                                        \
    XX(claimed, "cycles claimed (a subscription due, claimed with a new fence)")                   \
    XX(charged, "cycles recorded paid")                                                            \
    XX(declined, "attempts recorded declined or failed")                                           \
    XX(retried, "attempts without an outcome asked about again (same key, or a GET)")              \
    XX(pending, "attempts left without an outcome by a pass")                                      \
    XX(canceled, "subscriptions canceled by the biller")                                           \
    XX(errors, "subscriptions a pass could not read or write")
static _Atomic uint64_t biller_counts[VX_BM__COUNT];
static _Atomic uint64_t biller_due, biller_passes;
static _Atomic int64_t biller_lag;

void vx_metrics_biller_count(enum vx_biller_metric m, uint64_t n)
{
    if ((unsigned)m < VX_BM__COUNT)
        atomic_fetch_add(&biller_counts[m], n);
}

void vx_metrics_biller(const struct vx_biller_stats *st)
{
    atomic_store(&biller_due, (uint64_t)st->due);
    atomic_store(&biller_lag, st->lag_s);
    atomic_fetch_add(&biller_passes, 1);
}

static int render_biller(struct vx_buf *b)
{
    int rc = 0;
#define XX(name, help)                                                                             \
    rc |= vx_buf_appendf(b,                                                                        \
                         "# HELP voxcart_biller_" #name "_total The recurring biller: " help       \
                         ".\n# TYPE voxcart_biller_" #name "_total counter\nvoxcart_biller_" #name \
                         "_total %llu\n",                                                          \
                         (unsigned long long)atomic_load(&biller_counts[VX_BM_##name]));
    BILLER_COUNTERS(XX)
#undef XX
    rc |= vx_buf_appendf(
        b,
        "# HELP voxcart_biller_passes_total Passes of this instance's biller.\n"
        "# TYPE voxcart_biller_passes_total counter\n"
        "voxcart_biller_passes_total %llu\n"
        "# HELP voxcart_biller_due Subscriptions due as the last pass read the "
        "buckets it held.\n# TYPE voxcart_biller_due gauge\nvoxcart_biller_due %llu\n"
        "# HELP voxcart_biller_lag_seconds How far behind its due time the "
        "oldest cycle of the last pass was claimed.\n"
        "# TYPE voxcart_biller_lag_seconds gauge\nvoxcart_biller_lag_seconds %lld\n",
        (unsigned long long)atomic_load(&biller_passes),
        (unsigned long long)atomic_load(&biller_due), (long long)atomic_load(&biller_lag));
    return rc;
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
    rc |= render_biller(b);
    return rc ? VX_ENOMEM : 0;
}
