/*
 * The small things every module needs: error names, the caller-owned error
 * record, bounded string helpers, a growable buffer, whole-file reads, clocks.
 */
#define _GNU_SOURCE
#include "voxcart/common.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *vx_err_name(int code)
{
    switch (code) {
    case VX_OK:
        return "OK";
#define XX(name, msg)                                                                              \
    case VX_E##name:                                                                               \
        return "E" #name;
        VX_ERR_MAP(XX)
#undef XX
    default:
        return "EUNKNOWN";
    }
}

const char *vx_strerror(int code)
{
    switch (code) {
    case VX_OK:
        return "success";
#define XX(name, msg)                                                                              \
    case VX_E##name:                                                                               \
        return msg;
        VX_ERR_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

int vx_err_set(struct vx_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void vx_err_clear(struct vx_err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

int vx_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size == 0)
        return VX_ERANGE;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return VX_ERANGE;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int vx_snprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return VX_ERANGE;
    return 0;
}

int vx_strcaseeq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca + 32);
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb + 32);
        if (ca != cb)
            return 0;
        if (ca == '\0')
            return 1;
    }
}

/*
 * The well-formed sequences of the Unicode standard (table 3-7): the lead byte
 * decides the length and the range of the second byte, which is what excludes
 * overlong forms, surrogates and code points above U+10FFFF.
 */
static const struct {
    unsigned char first, last, len, lo, hi;
} utf8_leads[] = {
    {0xc2, 0xdf, 2, 0x80, 0xbf}, {0xe0, 0xe0, 3, 0xa0, 0xbf}, {0xe1, 0xec, 3, 0x80, 0xbf},
    {0xed, 0xed, 3, 0x80, 0x9f}, {0xee, 0xef, 3, 0x80, 0xbf}, {0xf0, 0xf0, 4, 0x90, 0xbf},
    {0xf1, 0xf3, 4, 0x80, 0xbf}, {0xf4, 0xf4, 4, 0x80, 0x8f},
};

size_t vx_utf8_seq(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    for (size_t k = 0; k < VX_ARRAY_LEN(utf8_leads); k++) {
        size_t len = utf8_leads[k].len;
        if (u[0] < utf8_leads[k].first || u[0] > utf8_leads[k].last)
            continue;
        if (n < len || u[1] < utf8_leads[k].lo || u[1] > utf8_leads[k].hi)
            return 0;
        for (size_t i = 2; i < len; i++)
            if (u[i] < 0x80 || u[i] > 0xbf)
                return 0;
        return len;
    }
    return 0;
}

int vx_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = (unsigned char)s[i] < 0x80 ? 1 : vx_utf8_seq(s + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

struct vx_iso_time vx_time_iso(int64_t t)
{
    struct vx_iso_time out;
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out.s, sizeof(out.s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out.s, sizeof(out.s), "@%lld", (long long)t);
    return out;
}

int vx_parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;
    if (!s || !*s)
        return VX_EPARSE;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || end == s)
        return VX_EPARSE;
    if (errno == ERANGE || v < min || v > max)
        return VX_ERANGE;
    *out = v;
    return 0;
}

void vx_buf_init(struct vx_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void vx_buf_release(struct vx_buf *b)
{
    free(b->data);
    vx_buf_init(b);
}

static int buf_reserve(struct vx_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        return VX_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int vx_buf_append(struct vx_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return VX_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int vx_buf_appends(struct vx_buf *b, const char *s)
{
    return vx_buf_append(b, s, strlen(s));
}

int vx_buf_appendf(struct vx_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return VX_EINVAL;
    if (buf_reserve(b, (size_t)n) != 0)
        return VX_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int vx_file_read(const char *path, size_t max, char **out, size_t *len, struct vx_err *e)
{
    FILE *f = NULL;
    char *data = NULL;
    struct stat st;
    size_t n;
    int rc = 0;

    f = fopen(path, "rb");
    if (!f) {
        rc = vx_err_set(e, VX_EIO, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = vx_err_set(e, VX_EIO, "'%s' is not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        rc = vx_err_set(e, VX_ERANGE, "'%s' is larger than %zu bytes", path, max);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (!data) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory reading '%s'", path);
        goto out;
    }
    n = fread(data, 1, (size_t)st.st_size, f);
    if (n != (size_t)st.st_size) {
        rc = vx_err_set(e, VX_EIO, "short read on '%s'", path);
        goto out;
    }
    data[n] = '\0';
    *out = data;
    if (len)
        *len = n;
    data = NULL;
out:
    free(data);
    if (f)
        fclose(f);
    return rc;
}

/* Set once at start-up, read by every thread: atomic only so that reading it is defined. */
static _Atomic int64_t clock_offset;

void vx_clock_set_offset(int64_t seconds)
{
    atomic_store(&clock_offset, seconds);
}

int64_t vx_clock_offset(void)
{
    return atomic_load(&clock_offset);
}

int vx_clock_offset_parse(const char *s, int64_t *seconds)
{
    /* at most ten years either way: enough for any calendar test, far from overflow */
    static const struct {
        char unit;
        long long scale;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    char num[24];
    size_t n = s ? strlen(s) : 0;
    long long scale = 1, v;

    if (n == 0 || n >= sizeof(num))
        return VX_EPARSE;
    memcpy(num, s, n + 1);
    for (size_t i = 0; i < VX_ARRAY_LEN(units); i++)
        if (num[n - 1] == units[i].unit) {
            scale = units[i].scale;
            num[--n] = '\0';
        }
    if (vx_parse_ll(num[0] == '+' ? num + 1 : num, -3660LL * 86400 / scale, 3660LL * 86400 / scale,
                    &v) != 0)
        return VX_EPARSE;
    *seconds = (int64_t)(v * scale);
    return 0;
}

int64_t vx_now(void)
{
    return (int64_t)time(NULL) + atomic_load(&clock_offset);
}

int64_t vx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + atomic_load(&clock_offset)) * 1000 + ts.tv_nsec / 1000000;
}

uint64_t vx_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
