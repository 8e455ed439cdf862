/*
 * Shared basics of libvoxcart: the error codes every module returns, the error
 * record that carries a human-readable detail without allocating, and a few
 * small helpers for bounded strings.
 *
 * Functions return 0 on success or a negative VX_E* code. When a caller wants to
 * know more, it passes a struct vx_err; the callee fills the message (lower-case,
 * no final full stop, quoting what it talks about).
 */
#ifndef VOXCART_COMMON_H
#define VOXCART_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define VX_VERSION "0.1.0"

/* One list for every error code, so a code and its name never drift apart. */
#define VX_ERR_MAP(XX)                                                                             \
    XX(INVAL, "invalid argument")                                                                  \
    XX(NOMEM, "out of memory")                                                                     \
    XX(IO, "input/output error")                                                                   \
    XX(PARSE, "malformed input")                                                                   \
    XX(NOTFOUND, "not found")                                                                      \
    XX(EXISTS, "already exists")                                                                   \
    XX(VERIFY, "verification failed")                                                              \
    XX(STORE, "store unavailable")                                                                 \
    XX(CONFLICT, "concurrent update")                                                              \
    XX(TIMEOUT, "timed out")                                                                       \
    XX(RANGE, "value out of range")                                                                \
    XX(CONFIG, "bad configuration")                                                                \
    XX(UPSTREAM, "upstream failure")                                                               \
    XX(DENIED, "permission denied")

enum vx_errno {
    VX_OK = 0,
#define XX(name, msg) VX_E##name,
    VX__ERR_FIRST = -100,
    VX_ERR_MAP(XX)
#undef XX
};

const char *vx_err_name(int code);
const char *vx_strerror(int code);

/* An error record owned by the caller. Never allocates. */
struct vx_err {
    int code;
    char msg[256];
};

/* Sets e (if non-NULL) and returns code, so a callee can write `return vx_err_set(e, ...)`. */
int vx_err_set(struct vx_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vx_err_clear(struct vx_err *e);

/* Bounded string copy; always NUL-terminates; returns -VX_ERANGE-style truncation signal. */
int vx_strlcpy(char *dst, const char *src, size_t size);
/* snprintf into a fixed buffer; returns VX_ERANGE when the output was truncated. */
int vx_snprintf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Case-insensitive ASCII comparison (locale-independent). */
int vx_strcaseeq(const char *a, const char *b);
/* Parses a whole decimal integer in [min, max]; VX_EPARSE / VX_ERANGE otherwise. */
int vx_parse_ll(const char *s, long long min, long long max, long long *out);
/*
 * UTF-8 as RFC 3629 defines it: the length (1 to 4) of the well-formed sequence
 * at p within n bytes, or 0 when there is none (a stray continuation byte, an
 * overlong form, a surrogate, a code point above U+10FFFF, a cut sequence).
 */
size_t vx_utf8_seq(const char *p, size_t n);
/* 1 when all n bytes of s are well-formed UTF-8. */
int vx_utf8_valid(const char *s, size_t n);
/* Epoch seconds as ISO 8601 in UTC, "2026-12-01T21:14:49Z", for messages people read. */
struct vx_iso_time {
    char s[32];
};
struct vx_iso_time vx_time_iso(int64_t t);

/* A growable byte buffer: used for response bodies and downloads. */
struct vx_buf {
    char *data;
    size_t len;
    size_t cap;
};
void vx_buf_init(struct vx_buf *b);
void vx_buf_release(struct vx_buf *b);
int vx_buf_append(struct vx_buf *b, const void *p, size_t n);
int vx_buf_appendf(struct vx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vx_buf_appends(struct vx_buf *b, const char *s);

/* Reads a whole file (at most max bytes) into a NUL-terminated heap buffer. */
int vx_file_read(const char *path, size_t max, char **out, size_t *len, struct vx_err *e);

/* Wall-clock time in seconds and milliseconds, moved by the clock offset below. */
int64_t vx_now(void);
int64_t vx_now_ms(void);
/*
 * A development-only shift of vx_now()/vx_now_ms() (voxcartd's
 * VOXCART_CLOCK_OFFSET, `voxcart replay --clock-offset`): "a day later" can be
 * tried at once. The log keeps the real time.
 */
void vx_clock_set_offset(int64_t seconds);
int64_t vx_clock_offset(void);
/* "86400", "+1d", "-2h", "90m", "30s": seconds, or a count of days, hours or minutes. */
int vx_clock_offset_parse(const char *s, int64_t *seconds);
/* Monotonic clock in nanoseconds (latency measurement). */
uint64_t vx_mono_ns(void);

#define VX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
