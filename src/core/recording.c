/*
 * Recorded exchanges as fixtures. A fixture made from a real session must not
 * carry who the customer is, yet must still replay: so values are replaced by
 * placeholders that `voxcart replay` knows how to fill (%USER%, %DEVICE_ID%, a
 * token), and only what replay cannot need (addresses, names, e-mail, phone,
 * location) becomes %REDACTED%. The recorder in voxcartd and `voxcart replay`
 * also share the turn names and the atomic, readable way fixtures are written.
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
 */
#include "voxcart/json.h"
#include "voxcart/recording.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
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
