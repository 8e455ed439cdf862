/*
 * The unit-test harness: a test is a function registered in main() with
 * VX_RUN(fn); checks report file:line and keep going, and main returns non-zero
 * when any check failed. Deliberately tiny: no fixtures, no globals but counters.
 */
#ifndef VXTEST_H
#define VXTEST_H

#include <stdio.h>
#include <string.h>

static int vxt_failed, vxt_checks, vxt_tests;
static int vxt_tests_failed __attribute__((unused));

#define VX_CHECK(cond)                                                                             \
    do {                                                                                           \
        vxt_checks++;                                                                              \
        if (!(cond)) {                                                                             \
            vxt_failed++;                                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define VX_CHECK_INT(got, want)                                                                    \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        vxt_checks++;                                                                              \
        if (g_ != w_) {                                                                            \
            vxt_failed++;                                                                          \
            fprintf(stderr, "%s:%d: %s: got %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); \
        }                                                                                          \
    } while (0)

#define VX_CHECK_STR(got, want)                                                                    \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        vxt_checks++;                                                                              \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                                   \
            vxt_failed++;                                                                          \
            fprintf(stderr, "%s:%d: %s: got '%s', want '%s'\n", __FILE__, __LINE__, #got,          \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                       \
        }                                                                                          \
    } while (0)

#define VX_RUN(fn)                                                                                 \
    do {                                                                                           \
        int before_ = vxt_failed;                                                                  \
        vxt_tests++;                                                                               \
        fn();                                                                                      \
        if (vxt_failed != before_) {                                                               \
            vxt_tests_failed++;                                                                    \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        } else {                                                                                   \
            fprintf(stderr, "ok   %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0)

#define VX_DONE()                                                                                  \
    (fprintf(stderr, "%d tests, %d checks, %d failed\n", vxt_tests, vxt_checks, vxt_failed),       \
     vxt_failed ? 1 : 0)

#endif
