/*
 * Human-readable log lines on stderr. Each line is formatted into a stack
 * buffer and written with one write(2): atomic for lines under PIPE_BUF, so
 * worker threads never interleave their output.
 */
#include "voxcart/log.h"
#include "voxcart/common.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = VX_LOG_INFO;

void vx_log_set_level(enum vx_log_level level)
{
    atomic_store(&log_level, (int)level);
}

int vx_log_level_parse(const char *s, enum vx_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < VX_ARRAY_LEN(names); i++) {
        if (vx_strcaseeq(s, names[i])) {
            *out = (enum vx_log_level)i;
            return 0;
        }
    }
    return VX_EPARSE;
}

void vx_log(enum vx_log_level level, const char *component, const char *fmt, ...)
{
    static const char *tags[] = {"debug", "info", "warn", "error"};
    char line[2048];
    struct tm tm;
    time_t now;
    size_t n;
    int k;
    va_list ap;

    if ((int)level < atomic_load(&log_level))
        return;
    now = time(NULL);
    gmtime_r(&now, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    k = snprintf(line + n, sizeof(line) - n, "%-5s %s: ", tags[level], component);
    if (k > 0)
        n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report a failed log write */
    }
}
