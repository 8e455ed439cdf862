/*
 * The billing calendar of recurring subscriptions (issue: recurring billing;
 * reference payments.md sections 4 and 6). Pure date arithmetic on civil dates,
 * and the merchant's time zone read from the system's TZif files, so that the
 * merchant's calendar day decides when a cycle is due and a daylight-saving
 * change can neither double nor drop a cycle.
 *
 * - Cycle n is computed from the anchor, never from cycle n-1: a monthly plan
 *   anchored on Jan 31 is due Feb 28 (29), Mar 31, Apr 30, ...; a yearly one on
 *   Feb 29 is due Feb 28 in common years and Feb 29 again in leap years.
 * - A cycle's instant is a local wall time on its date in the merchant's zone:
 *   a time that does not exist that day (the spring gap) is the first instant
 *   after the gap; one that happens twice (the autumn overlap) is the first.
 */
#ifndef VOXCART_CALENDAR_H
#define VOXCART_CALENDAR_H

#include <stdint.h>

#include "voxcart/common.h"

struct vx_date {
    int y, m, d; /* proleptic Gregorian; m 1..12, d 1..31 */
};

enum vx_interval_unit { VX_IU_DAY, VX_IU_WEEK, VX_IU_MONTH, VX_IU_YEAR };

/* Days since 1970-01-01 of a date, and back. */
int64_t vx_days_from_civil(struct vx_date d);
struct vx_date vx_civil_from_days(int64_t days);
int vx_days_in_month(int y, int m);
int vx_date_valid(struct vx_date d);
/* "day", "week", "month", "year" -> 0 and *out; VX_EINVAL. */
int vx_interval_unit_parse(const char *s, enum vx_interval_unit *out);

/* The date of cycle n (0 = the anchor itself) of every `count` units. VX_EINVAL. */
int vx_cal_cycle(struct vx_date anchor, enum vx_interval_unit unit, int count, int64_t n,
                 struct vx_date *out);
/*
 * The first cycle due on or after the date `from`: its number and date. The
 * anchor is the first billed day (the start plus any trial). A paused
 * subscription has no due cycle: VX_ENOTFOUND.
 */
int vx_cal_next(struct vx_date anchor, enum vx_interval_unit unit, int count, int paused,
                struct vx_date from, int64_t *n, struct vx_date *out);

/* A time zone from the system's zoneinfo (TZDIR, else /usr/share/zoneinfo). */
struct vx_tz;
int vx_tz_load(const char *name, struct vx_tz **out, struct vx_err *e);
void vx_tz_free(struct vx_tz *tz);
/* The same zone for the whole process, loaded once (a zone is never changed once loaded, so
 * threads share it): a turn names a shop's zone without reading zoneinfo every time. NULL with
 * e set when it cannot be loaded; at most 64 zones are kept. */
const struct vx_tz *vx_tz_shared(const char *name, struct vx_err *e);
/* The zone's offset from UTC, in seconds, at the instant t (Unix seconds). */
int vx_tz_offset(const struct vx_tz *tz, int64_t t);
/* The instant of a local wall time (seconds into the day) on date d (gap and overlap as above). */
int64_t vx_tz_instant(const struct vx_tz *tz, struct vx_date d, int sec_of_day);
/* The local date of the instant t. */
struct vx_date vx_tz_date(const struct vx_tz *tz, int64_t t);

#endif
