/*
 * The fuzz targets: each file defines LLVMFuzzerTestOneInput for one parser of
 * outside input. Built with -fsanitize=fuzzer by `make fuzz`; built with
 * regress_main.c instead by every build, so the inputs in regress/ (crashes
 * found once, kept) run in `make test` through the same entry points.
 *
 * A target checks the promises of its parser, not only that it does not
 * crash: FUZZ_ASSERT aborts, which both libFuzzer and the ctest run report.
 */
#ifndef VOXCART_FUZZ_H
#define VOXCART_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy, for parsers of C strings (a header value, a field). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
