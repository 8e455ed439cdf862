/*
 * The billing calendar: month ends clamped from the anchor, leap years, every two weeks across
 * both daylight-saving changes in Europe/Berlin and America/New_York (the merchant's calendar
 * day decides; no cycle doubled or missed), the gap and the overlap, instants after the zone
 * file's last transition (its POSIX rule), trials and pauses.
 */
#include "voxcart/calendar.h"
#include "vxtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct vx_date D(int y, int m, int d) {
    struct vx_date x = {y, m, d};
    return x;
}

static int
same(struct vx_date a, struct vx_date b)
{
    return a.y == b.y && a.m == b.m && a.d == b.d;
}

static void test_civil(void)
{
    VX_CHECK_INT(vx_days_from_civil(D(1970, 1, 1)), 0);
    VX_CHECK_INT(vx_days_from_civil(D(2000, 3, 1)), 11017);
    for (int64_t z = -1000; z < 200000; z += 37)
        VX_CHECK_INT(vx_days_from_civil(vx_civil_from_days(z)), z);
    VX_CHECK_INT(vx_days_in_month(2028, 2), 29);
    VX_CHECK_INT(vx_days_in_month(2100, 2), 28);
    VX_CHECK_INT(vx_days_in_month(2000, 2), 29);
    VX_CHECK(!vx_date_valid(D(2027, 2, 29)));
}

static void test_month_ends(void)
{
    /* Jan 31 monthly for 14 months */
    static const int want[15][3] = {{2027, 1, 31}, {2027, 2, 28},  {2027, 3, 31},  {2027, 4, 30},
                                    {2027, 5, 31}, {2027, 6, 30},  {2027, 7, 31},  {2027, 8, 31},
                                    {2027, 9, 30}, {2027, 10, 31}, {2027, 11, 30}, {2027, 12, 31},
                                    {2028, 1, 31}, {2028, 2, 29},  {2028, 3, 31}};
    for (int n = 0; n < 15; n++) {
        struct vx_date d;
        VX_CHECK_INT(vx_cal_cycle(D(2027, 1, 31), VX_IU_MONTH, 1, n, &d), 0);
        VX_CHECK(same(d, D(want[n][0], want[n][1], want[n][2])));
    }
}

static void test_leap_day(void)
{
    /* Feb 29 yearly across 4 years */
    static const int want[5][3] = {
        {2028, 2, 29}, {2029, 2, 28}, {2030, 2, 28}, {2031, 2, 28}, {2032, 2, 29}};
    for (int n = 0; n < 5; n++) {
        struct vx_date d;
        VX_CHECK_INT(vx_cal_cycle(D(2028, 2, 29), VX_IU_YEAR, 1, n, &d), 0);
        VX_CHECK(same(d, D(want[n][0], want[n][1], want[n][2])));
    }
}

/* Every two weeks at 09:00 local: the local date steps by exactly 14 days and the local hour
 * stays 9 across both changes; the UTC hour moves with the offset. */
static void two_weeks(const char *zone, struct vx_date anchor, int std_utc_hour, int dst_utc_hour,
                      struct vx_date spring, struct vx_date autumn)
{
    struct vx_tz *tz = NULL;
    struct vx_err e;
    int64_t prev = 0;
    int saw_std = 0, saw_dst = 0;
    VX_CHECK_INT(vx_tz_load(zone, &tz, &e), 0);
    if (!tz)
        return;
    for (int n = 0; n < 26; n++) {
        struct vx_date d, local;
        int64_t t, days;
        int utc_hour;
        VX_CHECK_INT(vx_cal_cycle(anchor, VX_IU_WEEK, 2, n, &d), 0);
        t = vx_tz_instant(tz, d, 9 * 3600);
        local = vx_tz_date(tz, t);
        VX_CHECK(same(local, d)); /* due on the merchant's calendar day */
        days = vx_days_from_civil(d);
        if (n)
            VX_CHECK_INT(days - prev, 14); /* nothing doubled, nothing missed */
        prev = days;
        utc_hour = (int)((t % 86400) / 3600);
        if (days < vx_days_from_civil(spring) || days >= vx_days_from_civil(autumn)) {
            VX_CHECK_INT(utc_hour, std_utc_hour);
            saw_std = 1;
        } else {
            VX_CHECK_INT(utc_hour, dst_utc_hour);
            saw_dst = 1;
        }
    }
    VX_CHECK(saw_std && saw_dst);
    vx_tz_free(tz);
}

static void test_dst(void)
{
    /* 2027: Europe/Berlin changes on Mar 28 and Oct 31, America/New_York on Mar 14 and Nov 7 */
    two_weeks("Europe/Berlin", D(2027, 1, 10), 8, 7, D(2027, 3, 28), D(2027, 10, 31));
    two_weeks("America/New_York", D(2027, 1, 3), 14, 13, D(2027, 3, 14), D(2027, 11, 7));
}

static void test_gap_overlap(void)
{
    struct vx_tz *tz = NULL;
    struct vx_err e;
    VX_CHECK_INT(vx_tz_load("Europe/Berlin", &tz, &e), 0);
    if (!tz)
        return;
    /* 02:30 does not exist on 2027-03-28: 03:30 CEST = 01:30 UTC */
    VX_CHECK_INT(vx_tz_instant(tz, D(2027, 3, 28), 9000),
                 vx_days_from_civil(D(2027, 3, 28)) * 86400 + 5400);
    /* 02:30 happens twice on 2027-10-31: the first, 00:30 UTC */
    VX_CHECK_INT(vx_tz_instant(tz, D(2027, 10, 31), 9000),
                 vx_days_from_civil(D(2027, 10, 31)) * 86400 + 1800);
    /* after the file's last transition, the footer's rule: 2045 is CEST in July, CET in Dec */
    VX_CHECK_INT(vx_tz_offset(tz, vx_days_from_civil(D(2045, 7, 1)) * 86400), 7200);
    VX_CHECK_INT(vx_tz_offset(tz, vx_days_from_civil(D(2045, 12, 1)) * 86400), 3600);
    /* and the same as the C library says for instants in the table */
    for (int64_t t = 1700000000; t < 1900000000; t += 86400 * 13 + 3600) {
        struct tm tm;
        time_t tt = (time_t)t;
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        localtime_r(&tt, &tm);
        VX_CHECK_INT(vx_tz_offset(tz, t), tm.tm_gmtoff);
    }
    vx_tz_free(tz);
    VX_CHECK_INT(vx_tz_load("../etc/passwd", &tz, &e), VX_EINVAL);
    VX_CHECK_INT(vx_tz_load("Mars/Olympus_Mons", &tz, &e), VX_ENOTFOUND);
}

static void test_trial_pause(void)
{
    struct vx_date start = D(2027, 1, 31), anchor, d;
    int64_t n;
    /* a 14-day trial: the first billed day is the anchor */
    anchor = vx_civil_from_days(vx_days_from_civil(start) + 14);
    VX_CHECK(same(anchor, D(2027, 2, 14)));
    VX_CHECK_INT(vx_cal_next(anchor, VX_IU_MONTH, 1, 0, start, &n, &d), 0);
    VX_CHECK(n == 0 && same(d, D(2027, 2, 14)));
    VX_CHECK_INT(vx_cal_next(anchor, VX_IU_MONTH, 1, 0, D(2027, 2, 15), &n, &d), 0);
    VX_CHECK(n == 1 && same(d, D(2027, 3, 14)));
    VX_CHECK_INT(vx_cal_next(D(2027, 1, 31), VX_IU_MONTH, 1, 0, D(2027, 3, 1), &n, &d), 0);
    VX_CHECK(n == 2 && same(d, D(2027, 3, 31)));
    /* paused: no due cycle */
    VX_CHECK_INT(vx_cal_next(anchor, VX_IU_MONTH, 1, 1, start, &n, &d), VX_ENOTFOUND);
    VX_CHECK_INT(vx_cal_cycle(D(2027, 2, 30), VX_IU_DAY, 1, 0, &d), VX_EINVAL);
    VX_CHECK_INT(vx_cal_cycle(anchor, VX_IU_DAY, 0, 0, &d), VX_EINVAL);
}

int main(void)
{
    VX_RUN(test_civil);
    VX_RUN(test_month_ends);
    VX_RUN(test_leap_day);
    VX_RUN(test_dst);
    VX_RUN(test_gap_overlap);
    VX_RUN(test_trial_pause);
    return VX_DONE();
}
