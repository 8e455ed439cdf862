/*
 * Recorded exchanges as fixtures. A fixture made from a real session must not
 * carry who the customer is, yet must still replay: so values are replaced by
 * placeholders that `voxcart replay` knows how to fill (%USER%, %DEVICE_ID%, a
 * token), and only what replay cannot need (addresses, names, e-mail, phone,
 * location) becomes %REDACTED%. A fixture must also replay on a later run, so
 * the values a run makes (order and payment IDs, times, dates) become run
 * variables. The recorder in voxcartd and `voxcart replay` also share the turn
 * names and the atomic, readable way fixtures are written.
 *
 * DESIGN
 * - Two passes. The first walks the request and replaces fields by their key,
 *   remembering each real value; the second replaces those values wherever
 *   else they occur, in the request (session attributes that copied an
 *   address) and in the response (a name spoken back).
 * - IDs and tokens are long and distinctive, so they are replaced as
 *   substrings. Personal values are replaced as whole words only, and not
 *   below three characters, so a country code "DE" does not eat the "DE" of
 *   "de-DE" or of a German sentence.
 * - "name" is far more often an intent, slot or directive name than a person's;
 *   it counts as personal only inside an object that is personal by its other
 *   keys or by the key it sits under (an address, a buyer, a contact).
 * - Run variables are recognised by their form, not by the key they sit
 *   under: an order ID is spoken, put on a card, echoed in a token, and the
 *   engine that makes it is not this file's to know. The kinds are data
 *   (runvars.def), tried in order, so a payment ID is one more row. A match
 *   counts only where it stands alone, so a UUID inside a platform session ID
 *   is left alone. Known values are replaced before new ones are looked for,
 *   longest first, so a charge ID is not read as the permission it starts with.
 */
#include "voxcart/json.h"
#include "voxcart/recording.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define REDACT_MAX_VALUES 64

struct redaction {
    char *value;
    const char *placeholder;
    int whole_word;
};

struct redactor {
    struct redaction items[REDACT_MAX_VALUES];
    size_t n;
    int nomem;
};

/* Keys whose string value identifies the customer, the device or a grant. */
static const struct {
    const char *key;
    const char *placeholder;
} id_keys[] = {
    {"userId", VX_REDACT_USER},
    {"deviceId", VX_REDACT_DEVICE},
    {"accessToken", VX_REDACT_ACCESS_TOKEN},
    {"apiAccessToken", VX_REDACT_API_ACCESS_TOKEN},
    {"consentToken", VX_REDACT_CONSENT_TOKEN},
    {"personId", VX_REDACT_OTHER},
    {"unitId", VX_REDACT_OTHER},
    {"persistentUnitId", VX_REDACT_OTHER},
    {"requestId", VX_REDACT_REQUEST_ID},
    {"applicationId", VX_REDACT_SKILL_ID},
};

/* Keys of address and contact data; "name" joins them inside a personal object. */
static const char *const personal_keys[] = {
    "addressLine1",  "addressLine2", "addressLine3",     "city",      "postalCode",
    "stateOrRegion", "countryCode",  "districtOrCounty", "email",     "emailAddress",
    "phoneNumber",   "phone",        "mobileNumber",     "givenName", "familyName",
    "fullName",      "middleName",   "nickName",
};

/* Numbers that locate the customer: zeroed rather than turned into a string. */
static const char *const location_keys[] = {"latitudeInDegrees", "longitudeInDegrees",
                                            "altitudeInMeters"};

static int in_list(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, list[i]) == 0)
            return 1;
    return 0;
}

static int personal_container(const char *parent)
{
    static const char *const containers[] = {"contact", "recipient", "customer", "buyer"};
    if (!parent)
        return 0;
    for (const char *p = parent; *p; p++)
        if (strncasecmp(p, "address", 7) == 0)
            return 1;
    for (size_t i = 0; i < VX_ARRAY_LEN(containers); i++)
        if (strncasecmp(parent, containers[i], strlen(containers[i])) == 0)
            return 1;
    return 0;
}

static int personal_object(struct json_object *o, const char *parent)
{
    if (personal_container(parent))
        return 1;
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        if (in_list(key, personal_keys, VX_ARRAY_LEN(personal_keys)))
            return 1;
    }
    return 0;
}

static void remember(struct redactor *r, const char *value, const char *placeholder, int whole_word)
{
    size_t min = whole_word ? 3 : 6;
    if (strlen(value) < min || value[0] == '%')
        return;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].value, value) == 0)
            return;
    if (r->n == REDACT_MAX_VALUES)
        return;
    r->items[r->n].value = strdup(value);
    if (!r->items[r->n].value) {
        r->nomem = 1;
        return;
    }
    r->items[r->n].placeholder = placeholder;
    r->items[r->n].whole_word = whole_word;
    r->n++;
}

static const char *id_placeholder(const char *key)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(id_keys); i++)
        if (strcmp(key, id_keys[i].key) == 0)
            return id_keys[i].placeholder;
    return NULL;
}

static void mask_fields(struct redactor *r, struct json_object *o, const char *parent);

static void mask_member(struct redactor *r, struct json_object *o, const char *key,
                        struct json_object *val, int personal)
{
    const char *ph = NULL;
    int word = 0;

    switch (json_object_get_type(val)) {
    case json_type_string:
        ph = id_placeholder(key);
        if (!ph && (in_list(key, personal_keys, VX_ARRAY_LEN(personal_keys)) ||
                    (personal && strcmp(key, "name") == 0))) {
            ph = VX_REDACT_OTHER;
            word = 1;
        }
        if (ph) {
            remember(r, json_object_get_string(val), ph, word);
            if (json_object_set_string(val, ph) != 1)
                r->nomem = 1;
        }
        break;
    case json_type_int:
    case json_type_double:
        if (in_list(key, location_keys, VX_ARRAY_LEN(location_keys)))
            json_object_object_add(o, key, json_object_new_int(0));
        break;
    case json_type_object:
    case json_type_array:
        mask_fields(r, val, key);
        break;
    default:
        break;
    }
}

static void mask_fields(struct redactor *r, struct json_object *o, const char *parent)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            mask_fields(r, json_object_array_get_idx(o, i), parent);
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    {
        int personal = personal_object(o, parent);
        json_object_object_foreach(o, key, val) mask_member(r, o, key, val, personal);
    }
}

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c >= 0x80;
}

/* Replaces every occurrence of one value in s into out; returns the number replaced. */
static size_t replace_value(const char *s, const struct redaction *d, struct vx_buf *out, int *rc)
{
    size_t n = strlen(d->value), count = 0;
    const char *p = s, *hit;

    while ((hit = strstr(p, d->value)) != NULL) {
        int bounded = !d->whole_word || ((hit == s || !word_byte((unsigned char)hit[-1])) &&
                                         !word_byte((unsigned char)hit[n]));
        *rc |= vx_buf_append(out, p, (size_t)(hit - p));
        *rc |= vx_buf_appends(out, bounded ? d->placeholder : d->value);
        count += bounded ? 1 : 0;
        p = hit + n;
    }
    *rc |= vx_buf_appends(out, p);
    return count;
}

static void replace_in_string(struct redactor *r, struct json_object *str)
{
    struct vx_buf cur, next;
    int rc = 0;
    size_t hits = 0;

    vx_buf_init(&cur);
    vx_buf_init(&next);
    rc |= vx_buf_appends(&cur, json_object_get_string(str));
    for (size_t i = 0; i < r->n && rc == 0; i++) {
        if (!strstr(cur.data, r->items[i].value))
            continue;
        next.len = 0;
        hits += replace_value(cur.data, &r->items[i], &next, &rc);
        if (rc == 0) {
            struct vx_buf t = cur;
            cur = next;
            next = t;
        }
    }
    if (rc)
        r->nomem = 1;
    else if (hits && json_object_set_string(str, cur.data) != 1)
        r->nomem = 1;
    vx_buf_release(&cur);
    vx_buf_release(&next);
}

static void replace_everywhere(struct redactor *r, struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_string:
        replace_in_string(r, o);
        break;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            replace_everywhere(r, json_object_array_get_idx(o, i));
        break;
    case json_type_object: {
        json_object_object_foreach(o, key, val)
        {
            (void)key;
            replace_everywhere(r, val);
        }
        break;
    }
    default:
        break;
    }
}

/* Longer values first, so a value that contains another is replaced whole. */
static int by_length_desc(const void *a, const void *b)
{
    size_t la = strlen(((const struct redaction *)a)->value);
    size_t lb = strlen(((const struct redaction *)b)->value);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

int vx_redact_exchange(struct json_object *request, struct json_object *response, struct vx_err *e)
{
    struct redactor r;
    struct json_object *req = NULL;
    int rc = 0;

    memset(&r, 0, sizeof(r));
    if (!json_object_is_type(request, json_type_object)) {
        rc = vx_err_set(e, VX_EINVAL, "the request to redact is not a json object");
        goto out;
    }
    mask_fields(&r, request, NULL);
    if (json_object_object_get_ex(request, "request", &req) &&
        json_object_object_get_ex(req, "timestamp", NULL))
        json_object_object_add(req, "timestamp", json_object_new_string(VX_REDACT_NOW));
    qsort(r.items, r.n, sizeof(r.items[0]), by_length_desc);
    replace_everywhere(&r, request);
    if (response)
        replace_everywhere(&r, response);
    if (r.nomem)
        rc = vx_err_set(e, VX_ENOMEM, "out of memory redacting a recording");
out:
    for (size_t i = 0; i < r.n; i++)
        free(r.items[i].value);
    return rc;
}

/* --- run variables --- */

static int runvar_near(const char *s, size_t len, int64_t now, int64_t scale)
{
    char num[24];
    long long v;
    int64_t span = (int64_t)VX_RUNVAR_MAX_DAYS * 86400 * scale;

    if (len >= sizeof(num))
        return 0;
    memcpy(num, s, len);
    num[len] = '\0';
    if (vx_parse_ll(num, 0, LLONG_MAX, &v) != 0)
        return 0;
    return v >= now * scale - span && v <= now * scale + span;
}

static int runvar_near_now_s(const char *s, size_t len, int64_t now)
{
    return runvar_near(s, len, now, 1);
}

static int runvar_near_now_ms(const char *s, size_t len, int64_t now)
{
    return runvar_near(s, len, now, 1000);
}

static const struct vx_runvar_kind runvar_kinds[] = {
#define VX_RUNVAR(name, mode, regex, check, meaning) {#name, mode, regex, check, meaning},
#include "runvars.def"
#undef VX_RUNVAR
};

const struct vx_runvar_kind *vx_runvar_kind_at(size_t i)
{
    return i < VX_ARRAY_LEN(runvar_kinds) ? &runvar_kinds[i] : NULL;
}

const struct vx_runvar_kind *vx_runvar_kind_of(const char *name, size_t len)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(runvar_kinds); i++) {
        const struct vx_runvar_kind *k = &runvar_kinds[i];
        size_t n = strlen(k->name), d;
        if (len < n || strncmp(name, k->name, n) != 0)
            continue;
        if (len == n)
            return k;
        /* KIND_2, KIND_3, ...: a CAPTURE kind's further values */
        if (k->mode != VX_RUNVAR_CAPTURE || name[n] != '_' || len == n + 1 || name[n + 1] == '0')
            continue;
        for (d = n + 1; d < len && name[d] >= '0' && name[d] <= '9'; d++)
            ;
        if (d == len)
            return k;
    }
    return NULL;
}

size_t vx_runvar_groups(const struct vx_runvar_kind *k)
{
    size_t n = 0;
    for (const char *p = k->regex; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '[') {
            /* a bracket expression: a ']' first (after '^') is a member, [:class:] nests */
            p++;
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']') {
                if (p[0] == '[' && p[1] == ':') {
                    const char *end = strstr(p + 2, ":]");
                    p = end ? end + 1 : p + 1;
                }
                p++;
            }
            if (!*p)
                break;
        } else if (*p == '(') {
            n++;
        }
    }
    return n;
}

static int name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int vx_runvar_bounded(const char *s, size_t off, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t end = off + len;

    if (off > 0 &&
        (name_byte(u[off - 1]) || (u[off - 1] == '.' && off > 1 && name_byte(u[off - 2]))))
        return 0;
    /* "... order o2026...-ab." ends a sentence; "x.y" continues a name */
    if (name_byte(u[end]) || (u[end] == '.' && name_byte(u[end + 1])))
        return 0;
    return 1;
}

/* Days from the epoch of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t day_of(int64_t epoch_s)
{
    return epoch_s >= 0 ? epoch_s / 86400 : -((-epoch_s + 86399) / 86400);
}

int vx_runvar_relative(const char *name, size_t len, int64_t now, char *out, size_t outsz)
{
    long long n = 0;
    time_t t;
    struct tm tm;

    if (len < 5 || strncmp(name, "TODAY", 5) != 0)
        return VX_ENOTFOUND;
    if (len > 5) {
        char num[8];
        if (len - 5 < 2 || len - 5 >= sizeof(num) || (name[5] != '+' && name[5] != '-'))
            return VX_ENOTFOUND;
        memcpy(num, name + 6, len - 6);
        num[len - 6] = '\0';
        if (num[0] < '0' || num[0] > '9' || (num[0] == '0' && num[1]) ||
            vx_parse_ll(num, 1, VX_RUNVAR_MAX_DAYS, &n) != 0)
            return VX_ENOTFOUND;
        if (name[5] == '-')
            n = -n;
    }
    t = (time_t)((day_of(now) + n) * 86400);
    if (!gmtime_r(&t, &tm) || strftime(out, outsz, "%Y-%m-%d", &tm) == 0)
        return VX_ERANGE;
    return 0;
}

void vx_runvar_names_init(struct vx_runvar_names *names)
{
    names->n = 0;
}

const char *vx_runvar_names_value(const struct vx_runvar_names *names, const char *name, size_t len)
{
    for (size_t i = 0; i < names->n; i++)
        if (strlen(names->v[i].name) == len && strncmp(names->v[i].name, name, len) == 0)
            return names->v[i].value;
    return NULL;
}

const char *vx_runvar_names_name(const struct vx_runvar_names *names, const char *value)
{
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->v[i].value, value) == 0)
            return names->v[i].name;
    return NULL;
}

int vx_runvar_names_set(struct vx_runvar_names *names, const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < names->n; i++)
        if (strcmp(names->v[i].name, name) == 0)
            break;
    if (i == VX_RUNVARS_MAX || strlen(name) >= VX_RUNVAR_NAME_MAX ||
        strlen(value) >= VX_RUNVAR_VALUE_MAX)
        return VX_ERANGE;
    vx_strlcpy(names->v[i].name, name, sizeof(names->v[i].name));
    vx_strlcpy(names->v[i].value, value, sizeof(names->v[i].value));
    if (i == names->n)
        names->n++;
    return 0;
}

int vx_runvar_names_add(struct vx_runvar_names *names, const struct vx_runvar_kind *k,
                        const char *value, const char **name)
{
    char candidate[VX_RUNVAR_NAME_MAX];
    int rc;

    for (unsigned i = 1; i <= VX_RUNVARS_MAX; i++) {
        if (i == 1)
            rc = vx_strlcpy(candidate, k->name, sizeof(candidate));
        else
            rc = vx_snprintf(candidate, sizeof(candidate), "%s_%u", k->name, i);
        if (rc)
            return rc;
        if (vx_runvar_names_value(names, candidate, strlen(candidate)))
            continue;
        rc = vx_runvar_names_set(names, candidate, value);
        if (rc == 0)
            *name = names->v[names->n - 1].name;
        return rc;
    }
    return VX_ERANGE;
}

/* The compiled recognisers of one templatize call. */
struct runvar_scan {
    regex_t re[VX_ARRAY_LEN(runvar_kinds)];
    regex_t date;
    size_t compiled;
    int date_ok;
    struct vx_runvar_names *names;
    unsigned flags;
    int64_t now;
    int rc;
};

/*
 * Replaces every known value in cur where it stands alone, longest first, so
 * a charge ID is not taken for the charge permission it starts with.
 */
static int replace_known(struct runvar_scan *sc, struct vx_buf *cur)
{
    size_t order[VX_RUNVARS_MAX], n = sc->names->n;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        /* insertion sort by length, longest first: a few dozen names at most */
        while (k > 0 && strlen(sc->names->v[order[k - 1]].value) < strlen(sc->names->v[i].value)) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *value = sc->names->v[order[i]].value;
        size_t len = strlen(value), hits = 0;
        const char *p = cur->data, *hit;
        struct vx_buf next;

        if (!len || !strstr(cur->data, value))
            continue;
        vx_buf_init(&next);
        while ((hit = strstr(p, value)) != NULL) {
            int alone = vx_runvar_bounded(cur->data, (size_t)(hit - cur->data), len);
            rc |= vx_buf_append(&next, p, (size_t)(hit - p));
            if (alone)
                rc |= vx_buf_appendf(&next, "%%%s%%", sc->names->v[order[i]].name);
            else
                rc |= vx_buf_append(&next, hit, len);
            hits += alone != 0;
            p = hit + len;
        }
        rc |= vx_buf_appends(&next, p);
        if (rc == 0 && hits) {
            vx_buf_release(cur);
            *cur = next;
        } else {
            vx_buf_release(&next);
        }
    }
    return rc ? VX_ENOMEM : 0;
}

/* The placeholder for one match, or NULL to leave it. */
static const char *runvar_for(struct runvar_scan *sc, const struct vx_runvar_kind *k,
                              const char *value, char *buf, size_t bufsz)
{
    const char *name = NULL;

    if (k->mode == VX_RUNVAR_SHAPE) {
        if (!(sc->flags & VX_RUNVARS_SHAPES))
            return NULL;
        name = k->name;
    } else {
        name = vx_runvar_names_name(sc->names, value);
        if (!name && (sc->flags & VX_RUNVARS_DISCOVER) &&
            vx_runvar_names_add(sc->names, k, value, &name) != 0)
            name = NULL;
    }
    if (!name || vx_snprintf(buf, bufsz, "%%%s%%", name) != 0)
        return NULL;
    return buf;
}

/* A date near today as %TODAY±N%, or NULL. */
static const char *date_for(struct runvar_scan *sc, const char *s, char *buf, size_t bufsz)
{
    unsigned y, m, d;
    int64_t diff;

    if (sscanf(s, "%4u-%2u-%2u", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return NULL;
    diff = days_from_civil(y, m, d) - day_of(sc->now);
    if (diff < -VX_RUNVAR_MAX_DAYS || diff > VX_RUNVAR_MAX_DAYS)
        return NULL;
    if (diff == 0)
        vx_strlcpy(buf, "%TODAY%", bufsz);
    else
        vx_snprintf(buf, bufsz, "%%TODAY%+lld%%", (long long)diff);
    return buf;
}

/* One recogniser over cur: every bounded match that gets a placeholder is replaced. */
static int scan_one(struct runvar_scan *sc, const regex_t *re, const struct vx_runvar_kind *k,
                    struct vx_buf *cur)
{
    struct vx_buf next;
    const char *p = cur->data;
    regmatch_t m;
    int rc = 0, hits = 0;

    vx_buf_init(&next);
    while (*p && regexec(re, p, 1, &m, p == cur->data ? 0 : REG_NOTBOL) == 0) {
        size_t off = (size_t)(p - cur->data) + (size_t)m.rm_so;
        size_t len = (size_t)(m.rm_eo - m.rm_so);
        char value[VX_RUNVAR_VALUE_MAX], ph[VX_RUNVAR_NAME_MAX + 2];
        const char *rep = NULL;

        if (len == 0) {
            rc |= vx_buf_append(&next, p, 1);
            p++;
            continue;
        }
        if (len < sizeof(value) && vx_runvar_bounded(cur->data, off, len) &&
            (!k || !k->check || k->check(cur->data + off, len, sc->now))) {
            memcpy(value, cur->data + off, len);
            value[len] = '\0';
            rep =
                k ? runvar_for(sc, k, value, ph, sizeof(ph)) : date_for(sc, value, ph, sizeof(ph));
        }
        rc |= vx_buf_append(&next, p, (size_t)m.rm_so);
        rc |= vx_buf_append(&next, p + m.rm_so, rep ? 0 : len);
        if (rep) {
            rc |= vx_buf_appends(&next, rep);
            hits++;
        }
        p += m.rm_eo;
    }
    rc |= vx_buf_appends(&next, p);
    if (rc == 0 && hits) {
        vx_buf_release(cur);
        *cur = next;
    } else {
        vx_buf_release(&next);
    }
    return rc ? VX_ENOMEM : 0;
}

/* The text s into cur, with every run value replaced. */
static int templatize_text(struct runvar_scan *sc, const char *s, struct vx_buf *cur)
{
    int rc = vx_buf_appends(cur, s) ? VX_ENOMEM : 0;

    if (rc == 0)
        rc = replace_known(sc, cur);
    for (size_t i = 0; i < sc->compiled && rc == 0; i++)
        if (runvar_kinds[i].mode == VX_RUNVAR_SHAPE ? (sc->flags & VX_RUNVARS_SHAPES) != 0 : 1)
            rc = scan_one(sc, &sc->re[i], &runvar_kinds[i], cur);
    if (rc == 0 && sc->date_ok && (sc->flags & VX_RUNVARS_DATES))
        rc = scan_one(sc, &sc->date, NULL, cur);
    return rc;
}

static void templatize_node(struct runvar_scan *sc, struct json_object *parent, const char *key,
                            size_t idx, struct json_object *o)
{
    struct vx_buf cur;
    char num[32];
    const char *text;

    if (sc->rc)
        return;
    switch (json_object_get_type(o)) {
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            templatize_node(sc, o, NULL, i, json_object_array_get_idx(o, i));
        return;
    case json_type_object: {
        json_object_object_foreach(o, k, v) templatize_node(sc, o, k, 0, v);
        return;
    }
    case json_type_int:
        /* a time as a number (an order's "created") becomes the name of its shape */
        if (!parent || !(sc->flags & VX_RUNVARS_SHAPES))
            return;
        vx_snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(o));
        text = num;
        break;
    case json_type_string:
        text = json_object_get_string(o);
        break;
    default:
        return;
    }
    vx_buf_init(&cur);
    sc->rc = templatize_text(sc, text, &cur);
    if (sc->rc == 0 && strcmp(cur.data, text) != 0) {
        if (json_object_is_type(o, json_type_string)) {
            if (json_object_set_string(o, cur.data) != 1)
                sc->rc = VX_ENOMEM;
        } else if (cur.data[0] == '%') {
            /* only a whole number is replaced: a part of one is no time */
            struct json_object *s = json_object_new_string(cur.data);
            if (!s)
                sc->rc = VX_ENOMEM;
            else if (key)
                json_object_object_add(parent, key, s);
            else
                json_object_array_put_idx(parent, idx, s);
        }
    }
    vx_buf_release(&cur);
}

int vx_runvars_templatize(struct json_object *o, struct vx_runvar_names *names, unsigned flags,
                          int64_t now, struct vx_err *e)
{
    struct runvar_scan sc;

    memset(&sc, 0, sizeof(sc));
    sc.names = names;
    sc.flags = flags;
    sc.now = now;
    for (; sc.compiled < VX_ARRAY_LEN(runvar_kinds); sc.compiled++)
        if (regcomp(&sc.re[sc.compiled], runvar_kinds[sc.compiled].regex, REG_EXTENDED) != 0) {
            sc.rc = vx_err_set(e, VX_EINVAL, "run variable %s: bad regular expression",
                               runvar_kinds[sc.compiled].name);
            goto out;
        }
    sc.date_ok = regcomp(&sc.date, "[0-9]{4}-[0-9]{2}-[0-9]{2}", REG_EXTENDED) == 0;
    templatize_node(&sc, NULL, NULL, 0, o);
    if (sc.rc)
        vx_err_set(e, sc.rc, "run variables: %s",
                   sc.rc == VX_ERANGE ? "too many values" : "out of memory");
out:
    for (size_t i = 0; i < sc.compiled; i++)
        regfree(&sc.re[i]);
    if (sc.date_ok)
        regfree(&sc.date);
    return sc.rc;
}

/* --- naming and writing fixtures --- */

void vx_recording_label(struct json_object *request, char *out, size_t outsz)
{
    struct json_object *req = vx_json_get(request, "request");
    const char *type = vx_json_get_str(req, "type");
    const char *intent = vx_json_get_str(vx_json_get(req, "intent"), "name");

    if (intent)
        vx_snprintf(out, outsz, "%s %s", type ? type : "request", intent);
    else
        vx_snprintf(out, outsz, "%s", type ? type : "request");
}

int vx_json_write_atomic(const char *path, struct json_object *doc, unsigned mode, struct vx_err *e)
{
    char tmp[PATH_MAX];
    const char *text;
    struct stat st;
    size_t len = 0, done = 0;
    int fd = -1, rc = 0;

    if (vx_snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) != 0)
        return vx_err_set(e, VX_ERANGE, "file name '%s' is too long", path);
    text = json_object_to_json_string_length(
        doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
        &len);
    if (!text)
        return vx_err_set(e, VX_ENOMEM, "out of memory writing '%s'", path);
    /* a rewritten file keeps the permissions it had, whatever the umask says */
    if (stat(path, &st) == 0)
        mode = (unsigned)(st.st_mode & 07777);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, (mode_t)mode) != 0) {
        rc = vx_err_set(e, VX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    while (done < len + 1) {
        /* the text, then a final newline */
        const char *p = done < len ? text + done : "\n";
        size_t n = done < len ? len - done : 1;
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = vx_err_set(e, VX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
            goto out;
        }
        done += (size_t)w;
    }
    /* the rename must not make a file visible whose bytes are not on disk yet */
    if (fsync(fd) != 0) {
        rc = vx_err_set(e, VX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        rc = vx_err_set(e, VX_EIO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0)
        rc = vx_err_set(e, VX_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    return rc;
}
