/*
 * Fixtures for several locales in one file (README, "One conversation, several
 * locales"): a "locales" table gives each locale its words, and the turns name
 * them as %WORD%. The same conversation is then played once per locale, so a
 * flow cannot drift between locales the way copied files did: a turn added or
 * changed is added or changed for all of them, and a word one locale lacks is
 * refused when the file loads.
 *
 * DESIGN
 * - A word is any JSON value. A string that is exactly "%WORD%" becomes the
 *   value (a pattern, a number, a whole object); a string word also replaces
 *   %WORD% inside a longer string. Words are put in before anything else
 *   reads the file, so what replay validates, plays and matches is an ordinary
 *   single-locale fixture; the run variables (%USER%, %ORDER_ID%) still come
 *   later. Word values are not searched for further words: no recursion.
 * - --update of one locale must not rewrite what the others expect. It merges
 *   the re-based expectations back into the file as written (read afresh, as an
 *   earlier locale of the same run may have written it): a place that names a
 *   word updates that locale's value of the word; a shared place that no
 *   longer matches becomes a new word, holding the new value for this locale
 *   and the old one for the others, which their own runs then check.
 */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define WORD_NAME_MAX 40
#define LOCALES_MAX   16

/* Names replay gives its own values: a word may not hide them. */
static const char *const reserved[] = {
    "USER",   "DEVICE_ID",    "SESSION_ID",       "REQUEST_ID",    "NOW", "SKILL_ID",
    "LOCALE", "ACCESS_TOKEN", "API_ACCESS_TOKEN", "CONSENT_TOKEN", "ANY", "REDACTED",
};

static int word_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= WORD_NAME_MAX || s[0] < 'A' || s[0] > 'Z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int word_name_reserved(const char *s)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(reserved); i++)
        if (strcmp(s, reserved[i]) == 0)
            return 1;
    return strncmp(s, "TODAY", 5) == 0 || vx_runvar_kind_of(s, strlen(s)) != NULL;
}

int cli_locales_check(struct json_object *locales, const char *file, struct vx_err *e)
{
    struct json_object *first = NULL;
    const char *first_name = NULL;
    size_t n = 0;

    if (!json_object_is_type(locales, json_type_object) || json_object_object_length(locales) == 0)
        return vx_err_set(e, VX_EPARSE, "%s: locales: must be an object naming at least one locale",
                          file);
    json_object_object_foreach(locales, loc, words)
    {
        if (++n > LOCALES_MAX)
            return vx_err_set(e, VX_EPARSE, "%s: locales: more than %d locales", file, LOCALES_MAX);
        if (!*loc || strlen(loc) > 31 || strchr(loc, '%') || strchr(loc, '/'))
            return vx_err_set(e, VX_EPARSE, "%s: locales: bad locale name '%.40s'", file, loc);
        if (!json_object_is_type(words, json_type_object))
            return vx_err_set(e, VX_EPARSE, "%s: locales.%s: must be an object of words", file,
                              loc);
        json_object_object_foreach(words, w, val)
        {
            (void)val;
            if (!word_name_ok(w))
                return vx_err_set(e, VX_EPARSE,
                                  "%s: locales.%s: word '%.40s' must be upper-case letters, digits "
                                  "and '_', starting with a letter",
                                  file, loc, w);
            if (word_name_reserved(w))
                return vx_err_set(e, VX_EPARSE, "%s: locales.%s: '%s' is a replay variable", file,
                                  loc, w);
            if (first && !json_object_object_get_ex(first, w, NULL))
                return vx_err_set(e, VX_EPARSE, "%s: locales.%s.%s: not in locales.%s", file, loc,
                                  w, first_name);
        }
        if (!first) {
            first = words;
            first_name = loc;
        } else if (json_object_object_length(words) != json_object_object_length(first)) {
            json_object_object_foreach(first, w0, v0)
            {
                (void)v0;
                if (!json_object_object_get_ex(words, w0, NULL))
                    return vx_err_set(e, VX_EPARSE, "%s: locales.%s: missing word '%s'", file, loc,
                                      w0);
            }
        }
    }
    return 0;
}

/* 1 when s is exactly "%WORD%" for a word of the table: *value is the word's (NULL for null). */
static int whole_word(struct json_object *words, const char *s, char *name,
                      struct json_object **value)
{
    size_t n = strlen(s);

    if (n < 3 || n - 2 >= WORD_NAME_MAX || s[0] != '%' || s[n - 1] != '%')
        return 0;
    memcpy(name, s + 1, n - 2);
    name[n - 2] = '\0';
    return word_name_ok(name) && json_object_object_get_ex(words, name, value);
}

/* s with each string word (and %LOCALE%) inside it replaced. */
static int expand_text(struct json_object *words, const char *locale, const char *s,
                       struct vx_buf *out)
{
    const char *p = s;
    int rc = 0;

    while (*p && rc == 0) {
        const char *end = p[0] == '%' ? strchr(p + 1, '%') : NULL;
        size_t n = end ? (size_t)(end - p - 1) : 0;
        char name[WORD_NAME_MAX];
        struct json_object *v = NULL;

        if (end && n > 0 && n < WORD_NAME_MAX) {
            memcpy(name, p + 1, n);
            name[n] = '\0';
            if (strcmp(name, "LOCALE") == 0) {
                rc = vx_buf_appends(out, locale);
                p = end + 1;
                continue;
            }
            if (word_name_ok(name) && json_object_object_get_ex(words, name, &v) &&
                json_object_is_type(v, json_type_string)) {
                rc = vx_buf_appends(out, json_object_get_string(v));
                p = end + 1;
                continue;
            }
        }
        rc = vx_buf_append(out, p, 1);
        p++;
    }
    return rc ? VX_ENOMEM : 0;
}

/* The value o stands for in a locale: a new reference (NULL for JSON null). */
static int expand_node(struct json_object *words, const char *locale, struct json_object *o,
                       struct json_object **out)
{
    struct json_object *v;
    int rc = 0;

    *out = NULL;
    switch (json_object_get_type(o)) {
    case json_type_string: {
        struct vx_buf b;
        char name[WORD_NAME_MAX];
        if (whole_word(words, json_object_get_string(o), name, &v))
            return !v || json_object_deep_copy(v, out, NULL) == 0 ? 0 : VX_ENOMEM;
        if (!strchr(json_object_get_string(o), '%')) {
            *out = json_object_get(o);
            return 0;
        }
        vx_buf_init(&b);
        rc = expand_text(words, locale, json_object_get_string(o), &b);
        if (rc == 0 && !(*out = json_object_new_string(b.data ? b.data : "")))
            rc = VX_ENOMEM;
        vx_buf_release(&b);
        return rc;
    }
    case json_type_array: {
        size_t n = json_object_array_length(o);
        if (!(*out = json_object_new_array_ext((int)n)))
            return VX_ENOMEM;
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = expand_node(words, locale, json_object_array_get_idx(o, i), &v);
            if (rc == 0 && json_object_array_add(*out, v) != 0) {
                json_object_put(v);
                rc = VX_ENOMEM;
            }
        }
        break;
    }
    case json_type_object: {
        if (!(*out = json_object_new_object()))
            return VX_ENOMEM;
        json_object_object_foreach(o, key, val)
        {
            if (rc)
                break;
            rc = expand_node(words, locale, val, &v);
            if (rc == 0 && json_object_object_add(*out, key, v) != 0) {
                json_object_put(v);
                rc = VX_ENOMEM;
            }
        }
        break;
    }
    default:
        *out = json_object_get(o);
        return 0;
    }
    if (rc) {
        json_object_put(*out);
        *out = NULL;
    }
    return rc;
}

int cli_locales_expand(struct json_object *doc, const char *locale, struct json_object **out)
{
    struct json_object *locales = NULL, *words = NULL, *o = NULL;
    int rc = 0;

    *out = NULL;
    if (!json_object_object_get_ex(doc, "locales", &locales) ||
        !json_object_object_get_ex(locales, locale, &words))
        return VX_ENOTFOUND;
    if (!(o = json_object_new_object()))
        return VX_ENOMEM;
    json_object_object_foreach(doc, key, val)
    {
        struct json_object *v = NULL;
        if (rc)
            break;
        if (strcmp(key, "locales") == 0)
            continue; /* the table itself is not expanded, and the copy plays one locale */
        rc = expand_node(words, locale, val, &v);
        if (rc == 0 && json_object_object_add(o, key, v) != 0) {
            json_object_put(v);
            rc = VX_ENOMEM;
        }
    }
    if (rc == 0 && json_object_object_add(o, "locale", json_object_new_string(locale)) != 0)
        rc = VX_ENOMEM;
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

int cli_locales_expand_value(struct json_object *doc, const char *locale, struct json_object *o,
                             struct json_object **out)
{
    struct json_object *locales = NULL, *words = NULL;
    if (!json_object_object_get_ex(doc, "locales", &locales) ||
        !json_object_object_get_ex(locales, locale, &words))
        return VX_ENOTFOUND;
    return expand_node(words, locale, o, out);
}

/* --- --update: merging one locale's re-based expectations back --- */

#define TOUCHED_MAX 64

struct merge {
    struct json_object *locales; /* the written file's table */
    const char *locale;
    struct json_object *words; /* locales[locale] */
    size_t turn;
    int changed;
    char touched[TOUCHED_MAX][WORD_NAME_MAX]; /* words this merge made or changed */
    size_t ntouched;
};

static void touch(struct merge *m, const char *name)
{
    for (size_t i = 0; i < m->ntouched; i++)
        if (strcmp(m->touched[i], name) == 0)
            return;
    if (m->ntouched < TOUCHED_MAX)
        snprintf(m->touched[m->ntouched++], WORD_NAME_MAX, "%s", name);
}

static int same(struct json_object *a, struct json_object *b)
{
    return json_object_equal(a, b);
}

/* A fresh word name for a place: T<turn>_<KEY>, then _2, _3, ... */
static void new_word_name(const struct merge *m, const char *key, char *out, size_t outsz)
{
    char base[WORD_NAME_MAX];
    size_t n = 0;

    n = (size_t)snprintf(base, sizeof(base), "T%zu_", m->turn + 1);
    for (const char *k = key; *k && n + 1 < 24; k++) {
        char ch = *k;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        base[n++] = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ? ch : '_';
    }
    base[n] = '\0';
    snprintf(out, outsz, "%s", base);
    for (int i = 2; json_object_object_get_ex(m->words, out, NULL); i++)
        snprintf(out, outsz, "%.23s_%d", base, i & 0xffff); /* names stay short */
}

/*
 * A shared place that changed for this locale becomes a word: the new value
 * here, what the place said before in each other locale. *out is "%NAME%".
 */
static int make_word(struct merge *m, const char *key, struct json_object *written,
                     struct json_object *now, struct json_object **out)
{
    char name[WORD_NAME_MAX], ref[WORD_NAME_MAX + 2];
    int rc = 0;

    new_word_name(m, key, name, sizeof(name));
    json_object_object_foreach(m->locales, loc, words)
    {
        struct json_object *v = NULL;
        if (rc)
            break;
        if (strcmp(loc, m->locale) == 0)
            rc = !now || json_object_deep_copy(now, &v, NULL) == 0 ? 0 : VX_ENOMEM;
        else if (!written && strcmp(key, "status") == 0) /* the default the file implied */
            v = json_object_new_int(200);
        else if (!written) /* a place only this locale's answer had: any value there */
            v = json_object_new_string(CLI_PATTERN_ANY);
        else
            rc = expand_node(words, loc, written, &v);
        if (rc == 0 && json_object_object_add(words, name, v) != 0) {
            json_object_put(v);
            rc = VX_ENOMEM;
        }
    }
    touch(m, name);
    snprintf(ref, sizeof(ref), "%%%s%%", name);
    *out = rc ? NULL : json_object_new_string(ref);
    if (rc == 0 && !*out)
        rc = VX_ENOMEM;
    m->changed = 1;
    return rc;
}

static int merge_node(struct merge *m, const char *key, struct json_object *written,
                      struct json_object *before, struct json_object *now,
                      struct json_object **out);

/* Puts the merged child nv where old was (key in an object, else index i of an array). */
static int install(struct json_object *parent, const char *key, size_t i, struct json_object *old,
                   struct json_object *nv)
{
    int rc;
    if (nv == old) { /* unchanged: drop the reference merge_node returned */
        json_object_put(nv);
        return 0;
    }
    rc = key ? json_object_object_add(parent, key, nv) : json_object_array_put_idx(parent, i, nv);
    if (rc != 0) {
        json_object_put(nv);
        return VX_ENOMEM;
    }
    return 0;
}

static int merge_object(struct merge *m, struct json_object *written, struct json_object *before,
                        struct json_object *now)
{
    int rc = 0;
    json_object_object_foreach(now, key, val)
    {
        struct json_object *w = NULL, *b = NULL, *nv = NULL;
        if (rc)
            break;
        json_object_object_get_ex(written, key, &w);
        json_object_object_get_ex(before, key, &b);
        if (!json_object_object_get_ex(written, key, NULL))
            rc = make_word(m, key, NULL, val, &nv);
        else
            rc = merge_node(m, key, w, b, val, &nv);
        if (rc == 0)
            rc = install(written, key, 0, w, nv);
    }
    return rc;
}

static int merge_node(struct merge *m, const char *key, struct json_object *written,
                      struct json_object *before, struct json_object *now, struct json_object **out)
{
    char name[WORD_NAME_MAX];
    struct json_object *word = NULL;
    int rc = 0;

    *out = NULL;
    if (json_object_is_type(written, json_type_string) &&
        whole_word(m->words, json_object_get_string(written), name, &word)) {
        if (!same(before, now)) {
            struct json_object *v = NULL;
            if (now && json_object_deep_copy(now, &v, NULL) != 0)
                return VX_ENOMEM;
            if (json_object_object_add(m->words, name, v) != 0) {
                json_object_put(v);
                return VX_ENOMEM;
            }
            touch(m, name);
            m->changed = 1;
        }
        *out = json_object_get(written);
        return 0;
    }
    if (json_object_is_type(written, json_type_object) &&
        json_object_is_type(now, json_type_object)) {
        rc = merge_object(m, written, json_object_is_type(before, json_type_object) ? before : NULL,
                          now);
        *out = rc ? NULL : json_object_get(written);
        return rc;
    }
    if (json_object_is_type(written, json_type_array) &&
        json_object_is_type(now, json_type_array) && json_object_is_type(before, json_type_array) &&
        json_object_array_length(written) == json_object_array_length(now) &&
        json_object_array_length(before) == json_object_array_length(now)) {
        for (size_t i = 0; i < json_object_array_length(now) && rc == 0; i++) {
            struct json_object *w = json_object_array_get_idx(written, i), *nv = NULL;
            rc = merge_node(m, key, w, json_object_array_get_idx(before, i),
                            json_object_array_get_idx(now, i), &nv);
            if (rc == 0)
                rc = install(written, NULL, i, w, nv);
        }
        *out = rc ? NULL : json_object_get(written);
        return rc;
    }
    if (same(before, now)) {
        *out = json_object_get(written);
        return 0;
    }
    return make_word(m, key, written, now, out);
}

/* Every "%NAME%" under o replaced by value (inside longer strings too when it is a string). */
static int fold_refs(struct json_object *o, const char *name, struct json_object *value)
{
    char ref[WORD_NAME_MAX + 2];
    int rc = 0;

    snprintf(ref, sizeof(ref), "%%%s%%", name);
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o) && rc == 0; i++) {
            struct json_object *x = json_object_array_get_idx(o, i), *v = NULL;
            if (json_object_is_type(x, json_type_string) &&
                strcmp(json_object_get_string(x), ref) == 0) {
                if (value && json_object_deep_copy(value, &v, NULL) != 0)
                    return VX_ENOMEM;
                rc = json_object_array_put_idx(o, i, v) == 0 ? 0 : VX_ENOMEM;
            } else {
                rc = fold_refs(x, name, value);
            }
        }
        return rc;
    }
    if (!json_object_is_type(o, json_type_object))
        return 0;
    json_object_object_foreach(o, key, x)
    {
        struct json_object *v = NULL;
        if (rc)
            break;
        if (json_object_is_type(x, json_type_string) &&
            strcmp(json_object_get_string(x), ref) == 0) {
            if (value && json_object_deep_copy(value, &v, NULL) != 0)
                return VX_ENOMEM;
            rc = json_object_object_add(o, key, v) == 0 ? 0 : VX_ENOMEM;
        } else if (json_object_is_type(x, json_type_string) &&
                   json_object_is_type(value, json_type_string) &&
                   strstr(json_object_get_string(x), ref)) {
            struct vx_buf b;
            const char *p = json_object_get_string(x), *hit;
            vx_buf_init(&b);
            while ((hit = strstr(p, ref)) != NULL && rc == 0) {
                rc = vx_buf_append(&b, p, (size_t)(hit - p));
                rc |= vx_buf_appends(&b, json_object_get_string(value));
                p = hit + strlen(ref);
            }
            rc |= vx_buf_appends(&b, p);
            if (rc == 0 && json_object_set_string(x, b.data) != 1)
                rc = VX_ENOMEM;
            vx_buf_release(&b);
            rc = rc ? VX_ENOMEM : 0;
        } else {
            rc = fold_refs(x, name, value);
        }
    }
    return rc;
}

/*
 * A word this merge touched that now says the same in every locale is shared again: its
 * places get the value and the table loses it, so a change every locale agrees on reads
 * as one edit of the turn, not as a word with three equal values.
 */
static int fold_agreed(struct merge *m, struct json_object *written)
{
    int rc = 0;
    for (size_t i = 0; i < m->ntouched && rc == 0; i++) {
        struct json_object *mine = NULL;
        int agreed = json_object_object_get_ex(m->words, m->touched[i], &mine);
        json_object_object_foreach(m->locales, loc, words)
        {
            struct json_object *v = NULL;
            (void)loc;
            agreed = agreed && json_object_object_get_ex(words, m->touched[i], &v) && same(v, mine);
        }
        if (!agreed)
            continue;
        mine = json_object_get(mine);
        json_object_object_foreach(written, key, val)
        {
            if (rc == 0 && strcmp(key, "locales") != 0)
                rc = fold_refs(val, m->touched[i], mine);
        }
        json_object_put(mine);
        json_object_object_foreach(m->locales, loc2, words2)
        {
            (void)loc2;
            json_object_object_del(words2, m->touched[i]);
        }
    }
    return rc;
}

int cli_locales_merge(struct json_object *written, const struct cli_fixture *f, int *changed)
{
    struct json_object *turns = NULL, *before = NULL, *before_turns = NULL;
    struct merge m;
    int rc = 0;

    *changed = 0;
    memset(&m, 0, sizeof(m));
    m.locale = f->locale;
    /* what the run started from: the expansion it was loaded as */
    if (!f->written || cli_locales_expand(f->written, f->locale, &before) != 0)
        return VX_EINVAL;
    if (!json_object_object_get_ex(written, "locales", &m.locales) ||
        !json_object_object_get_ex(m.locales, f->locale, &m.words) ||
        !json_object_object_get_ex(written, "turns", &turns) ||
        !json_object_object_get_ex(before, "turns", &before_turns) ||
        json_object_array_length(turns) != f->nturns) {
        json_object_put(before);
        return VX_EINVAL; /* the file changed under the run: not this locale's shape */
    }
    for (size_t i = 0; i < f->nturns && rc == 0; i++) {
        struct json_object *wt = json_object_array_get_idx(turns, i), *we = NULL, *be = NULL,
                           *ne = NULL, *out = NULL;
        m.turn = i;
        json_object_object_get_ex(json_object_array_get_idx(before_turns, i), "expect", &be);
        if (!json_object_object_get_ex(f->turns[i].turn, "expect", &ne) || !ne)
            continue;
        if (!json_object_object_get_ex(wt, "expect", &we)) {
            if (!(we = json_object_new_object()) || json_object_object_add(wt, "expect", we) != 0) {
                rc = VX_ENOMEM;
                break;
            }
        }
        rc = merge_node(&m, "expect", we, be, ne, &out);
        if (rc == 0)
            rc = install(wt, "expect", 0, we, out);
    }
    if (rc == 0)
        rc = fold_agreed(&m, written);
    json_object_put(before);
    *changed = m.changed;
    return rc;
}
