/*
 * Logging: one line per event on stderr, "2026-11-24T06:44:17Z level component: message".
 * Lines are written with a single write(2) so threads never interleave within a line.
 */
#ifndef VOXCART_LOG_H
#define VOXCART_LOG_H

enum vx_log_level { VX_LOG_DEBUG, VX_LOG_INFO, VX_LOG_WARN, VX_LOG_ERROR };

void vx_log_set_level(enum vx_log_level level);
/* Parses "debug", "info", "warn", "error"; returns 0 or VX_EPARSE. */
int vx_log_level_parse(const char *s, enum vx_log_level *out);
void vx_log(enum vx_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define vx_debug(c, ...) vx_log(VX_LOG_DEBUG, c, __VA_ARGS__)
#define vx_info(c, ...)  vx_log(VX_LOG_INFO, c, __VA_ARGS__)
#define vx_warn(c, ...)  vx_log(VX_LOG_WARN, c, __VA_ARGS__)
#define vx_error(c, ...) vx_log(VX_LOG_ERROR, c, __VA_ARGS__)

#endif
