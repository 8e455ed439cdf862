/*
 * The billing calendar (calendar.h): civil dates (the days-from-civil
 * algorithms of H. Hinnant), cycles from the anchor, and time zones from TZif
 * files (RFC 8536): the version 2+ 64-bit transitions, and the footer's POSIX
 * TZ rule for instants after the last transition.
 */
#include "voxcart/calendar.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t vx_days_from_civil(struct vx_date dt)
{
    int64_t y = dt.y - (dt.m <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (dt.m + (dt.m > 2 ? -3 : 9)) + 2) / 5 + dt.d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct vx_date vx_civil_from_days(int64_t z)
{
    struct vx_date out;
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    out.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    out.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    out.y = (int)(yoe + era * 400 + (out.m <= 2));
    return out;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int vx_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

int vx_date_valid(struct vx_date d)
{
    return d.y >= 1970 && d.y <= 9999 && d.m >= 1 && d.m <= 12 && d.d >= 1 &&
           d.d <= vx_days_in_month(d.y, d.m);
}

int vx_interval_unit_parse(const char *s, enum vx_interval_unit *out)
{
    static const char *const names[] = {"day", "week", "month", "year"};
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum vx_interval_unit)i;
            return 0;
        }
    return VX_EINVAL;
}

int vx_cal_cycle(struct vx_date anchor, enum vx_interval_unit unit, int count, int64_t n,
                 struct vx_date *out)
{
    int64_t months, y, m;
    if (!vx_date_valid(anchor) || count < 1 || count > 3660 || n < 0 || n > 100000)
        return VX_EINVAL;
    switch (unit) {
    case VX_IU_DAY:
    case VX_IU_WEEK:
        *out = vx_civil_from_days(vx_days_from_civil(anchor) +
                                  n * count * (unit == VX_IU_WEEK ? 7 : 1));
        return vx_date_valid(*out) ? 0 : VX_EINVAL;
    case VX_IU_MONTH:
    case VX_IU_YEAR:
        months = n * count * (unit == VX_IU_YEAR ? 12 : 1);
        y = anchor.y + (anchor.m - 1 + months) / 12;
        m = (anchor.m - 1 + months) % 12 + 1;
        if (y > 9999)
            return VX_EINVAL;
        out->y = (int)y;
        out->m = (int)m;
        /* the anchor's day, clamped to the month: Jan 31 -> Feb 28/29 -> Mar 31 */
        out->d = anchor.d <= vx_days_in_month(out->y, out->m) ? anchor.d
                                                              : vx_days_in_month(out->y, out->m);
        return 0;
    }
    return VX_EINVAL;
}

int vx_cal_next(struct vx_date anchor, enum vx_interval_unit unit, int count, int paused,
                struct vx_date from, int64_t *n, struct vx_date *out)
{
    int64_t lo = 0, hi = 1, want = vx_days_from_civil(from);
    struct vx_date d;
    if (paused)
        return VX_ENOTFOUND;
    if (vx_cal_cycle(anchor, unit, count, 0, &d) != 0)
        return VX_EINVAL;
    if (vx_days_from_civil(d) >= want) {
        *n = 0;
        *out = d;
        return 0;
    }
    /* the dates grow with n: widen, then halve */
    for (;;) {
        if (vx_cal_cycle(anchor, unit, count, hi, &d) != 0)
            return VX_EINVAL;
        if (vx_days_from_civil(d) >= want)
            break;
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (vx_cal_cycle(anchor, unit, count, mid, &d) != 0)
            return VX_EINVAL;
        if (vx_days_from_civil(d) >= want)
            hi = mid;
        else
            lo = mid;
    }
    *n = hi;
    return vx_cal_cycle(anchor, unit, count, hi, out);
}

/* --- time zones --- */

struct rule_date {
    int m, w, d; /* Mm.w.d: day d (0 Sunday) of week w (5 = last) of month m */
    int secs;    /* local time of the change, default 02:00 */
};

struct vx_tz {
    int64_t *at;         /* transition instants */
    unsigned char *type; /* the type each starts */
    size_t n;
    int32_t *utoff; /* per type */
    size_t ntypes;
    int first_std; /* the type before the first transition */
    /* the footer's rule */
    int have_rule, have_dst;
    int32_t std_off, dst_off;
    struct rule_date start, end;
};

static int64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int32_t be32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* POSIX TZ parts: a name ("CET" or "<+03>"), an offset ("-1", "5", "-5:30"), a date rule. */
static const char *rule_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e ? e + 1 : NULL;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    return s;
}

static const char *rule_time(const char *s, int *secs)
{
    int sign = 1, h = 0, m = 0, sec = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9')
        h = h * 10 + (*s++ - '0');
    if (*s == ':') {
        s++;
        while (*s >= '0' && *s <= '9')
            m = m * 10 + (*s++ - '0');
        if (*s == ':') {
            s++;
            while (*s >= '0' && *s <= '9')
                sec = sec * 10 + (*s++ - '0');
        }
    }
    *secs = sign * (h * 3600 + m * 60 + sec);
    return s;
}

static const char *rule_date(const char *s, struct rule_date *r)
{
    char *end;
    if (*s != 'M')
        return NULL; /* only the Mm.w.d form, which every current zone uses */
    r->m = (int)strtol(s + 1, &end, 10);
    if (*end != '.')
        return NULL;
    r->w = (int)strtol(end + 1, &end, 10);
    if (*end != '.')
        return NULL;
    r->d = (int)strtol(end + 1, &end, 10);
    if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
        return NULL;
    r->secs = 7200;
    s = end;
    if (*s == '/')
        s = rule_time(s + 1, &r->secs);
    return s;
}

static int parse_rule(struct vx_tz *tz, const char *s)
{
    int off;
    if (!*s)
        return 0;
    if (!(s = rule_name(s)) || !(s = rule_time(s, &off)))
        return -1;
    tz->std_off = -off; /* POSIX offsets are west of Greenwich */
    tz->have_rule = 1;
    if (!*s)
        return 0;
    if (!(s = rule_name(s)))
        return -1;
    tz->have_dst = 1;
    tz->dst_off = tz->std_off + 3600;
    if (*s && *s != ',') {
        if (!(s = rule_time(s, &off)))
            return -1;
        tz->dst_off = -off;
    }
    if (*s != ',' || !(s = rule_date(s + 1, &tz->start)) || *s != ',' ||
        !(s = rule_date(s + 1, &tz->end)))
        return -1;
    return *s ? -1 : 0;
}

void vx_tz_free(struct vx_tz *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->type);
    free(tz->utoff);
    free(tz);
}

static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

int vx_tz_load(const char *name, struct vx_tz **out, struct vx_err *e)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    unsigned char *b = NULL;
    size_t len = 0, cap = 0, off;
    struct vx_tz *tz = NULL;
    FILE *f;
    int32_t cnt[6];

    *out = NULL;
    if (!name_ok(name))
        return vx_err_set(e, VX_EINVAL, "time zone '%s' is not a zone name such as Europe/Berlin",
                          name ? name : "");
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    f = fopen(path, "rb");
    if (!f)
        return vx_err_set(e, VX_ENOTFOUND, "time zone '%s' is unknown (no %s)", name, path);
    for (;;) {
        size_t r;
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 4096;
            if (cap > (1u << 20) || !(nb = realloc(b, cap)))
                break;
            b = nb;
        }
        r = fread(b + len, 1, cap - len, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
#define NEED(x)                                                                                    \
    do {                                                                                           \
        if (!(x))                                                                                  \
            goto bad;                                                                              \
    } while (0)
    NEED(b && len >= 44 && memcmp(b, "TZif", 4) == 0 && b[4] >= '2');
    /* skip the version 1 data block */
    for (int i = 0; i < 6; i++)
        cnt[i] = be32(b + 20 + 4 * i);
    off = 44 + (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + (size_t)cnt[5] + (size_t)cnt[2] * 8 +
          (size_t)cnt[1] + (size_t)cnt[0];
    NEED(off + 44 <= len && memcmp(b + off, "TZif", 4) == 0);
    for (int i = 0; i < 6; i++)
        cnt[i] = be32(b + off + 20 + 4 * i);
    NEED(cnt[4] >= 1 && cnt[4] <= 256 && cnt[3] >= 0 && cnt[3] <= 100000);
    off += 44;
    NEED(off + (size_t)cnt[3] * 9 + (size_t)cnt[4] * 6 <= len);
    tz = calloc(1, sizeof(*tz));
    NEED(tz);
    tz->n = (size_t)cnt[3];
    tz->ntypes = (size_t)cnt[4];
    tz->at = calloc(tz->n + 1, sizeof(*tz->at));
    tz->type = calloc(tz->n + 1, 1);
    tz->utoff = calloc(tz->ntypes, sizeof(*tz->utoff));
    NEED(tz->at && tz->type && tz->utoff);
    for (size_t i = 0; i < tz->n; i++)
        tz->at[i] = be64(b + off + 8 * i);
    off += tz->n * 8;
    for (size_t i = 0; i < tz->n; i++) {
        tz->type[i] = b[off + i];
        NEED(tz->type[i] < tz->ntypes);
    }
    off += tz->n;
    for (size_t i = 0; i < tz->ntypes; i++)
        tz->utoff[i] = be32(b + off + 6 * i);
    tz->first_std = 0;
    off += tz->ntypes * 6 + (size_t)cnt[5] + (size_t)cnt[2] * 12 + (size_t)cnt[1] + (size_t)cnt[0];
    /* the footer: "\n<POSIX TZ>\n" */
    if (off < len && b[off] == '\n') {
        char rule[128];
        size_t k = 0;
        off++;
        while (off < len && b[off] != '\n' && k + 1 < sizeof(rule))
            rule[k++] = (char)b[off++];
        rule[k] = '\0';
        NEED(parse_rule(tz, rule) == 0);
    }
#undef NEED
    free(b);
    *out = tz;
    return 0;
bad:
    free(b);
    vx_tz_free(tz);
    return vx_err_set(e, VX_EPARSE, "time zone '%s': %s is not a TZif file this version reads",
                      name, path);
}

/* The instant of a rule's change in year y, given the offset in force before it. */
static int64_t rule_instant(const struct rule_date *r, int y, int32_t before)
{
    struct vx_date first = {y, r->m, 1};
    int64_t days = vx_days_from_civil(first);
    int wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int day = 1 + (r->d - wday + 7) % 7 + (r->w - 1) * 7;
    while (day > vx_days_in_month(y, r->m))
        day -= 7;
    return (days + day - 1) * 86400 + r->secs - before;
}

static int32_t rule_offset(const struct vx_tz *tz, int64_t t)
{
    int y;
    int64_t start, end;
    if (!tz->have_dst)
        return tz->std_off;
    y = vx_civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400).y;
    start = rule_instant(&tz->start, y, tz->std_off);
    end = rule_instant(&tz->end, y, tz->dst_off);
    if (start < end)
        return t >= start && t < end ? tz->dst_off : tz->std_off;
    return t >= end && t < start ? tz->std_off : tz->dst_off; /* southern hemisphere */
}

int vx_tz_offset(const struct vx_tz *tz, int64_t t)
{
    size_t lo = 0, hi;
    if (!tz)
        return 0;
    if (tz->n == 0 || t < tz->at[0])
        return tz->n == 0 && tz->have_rule ? rule_offset(tz, t) : tz->utoff[tz->first_std];
    if (t >= tz->at[tz->n - 1] && tz->have_rule)
        return rule_offset(tz, t);
    hi = tz->n;
    while (hi - lo > 1) { /* the last transition at or before t */
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->utoff[tz->type[lo]];
}

int64_t vx_tz_instant(const struct vx_tz *tz, struct vx_date d, int sec_of_day)
{
    int64_t local = vx_days_from_civil(d) * 86400 + sec_of_day;
    int32_t before = vx_tz_offset(tz, local - 86400), after = vx_tz_offset(tz, local + 86400);
    int64_t t1 = local - before, t2 = local - after;
    int ok1 = vx_tz_offset(tz, t1) == before, ok2 = vx_tz_offset(tz, t2) == after;
    if (ok1 && ok2)
        return t1 < t2 ? t1 : t2; /* twice that day: the first */
    if (ok1)
        return t1;
    if (ok2)
        return t2;
    return t1; /* in the gap: as many seconds after it as the time is into it */
}

struct vx_date vx_tz_date(const struct vx_tz *tz, int64_t t)
{
    int64_t local = t + vx_tz_offset(tz, t);
    return vx_civil_from_days(local >= 0 ? local / 86400 : (local - 86399) / 86400);
}

#define TZ_SHARED_MAX 64

static struct {
    pthread_mutex_t lock;
    size_t n;
    char names[TZ_SHARED_MAX][64];
    struct vx_tz *tz[TZ_SHARED_MAX];
} shared = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}, {0}};

const struct vx_tz *vx_tz_shared(const char *name, struct vx_err *e)
{
    struct vx_tz *tz = NULL;
    size_t i;
    if (!name || strlen(name) >= sizeof(shared.names[0])) {
        vx_err_set(e, VX_EINVAL, "time zone '%s' is not a zone name such as Europe/Berlin",
                   name ? name : "");
        return NULL;
    }
    pthread_mutex_lock(&shared.lock);
    for (i = 0; i < shared.n; i++)
        if (strcmp(shared.names[i], name) == 0) {
            tz = shared.tz[i];
            break;
        }
    if (!tz && vx_tz_load(name, &tz, e) == 0 && shared.n < TZ_SHARED_MAX) {
        vx_strlcpy(shared.names[shared.n], name, sizeof(shared.names[0]));
        shared.tz[shared.n++] = tz;
    } else if (tz && i == shared.n) {
        vx_tz_free(tz); /* the cache is full: refuse rather than leak one per call */
        tz = NULL;
        vx_err_set(e, VX_ENOMEM, "more than %d time zones in use", TZ_SHARED_MAX);
    }
    pthread_mutex_unlock(&shared.lock);
    return tz;
}
