/*
 * The fixture format of `voxcart replay` (README, "Conversation fixtures"): one
 * JSON file per conversation, checked completely before anything is sent, so a
 * typo is a message naming the file and the place instead of a confusing
 * failure three turns later. Also the matching rules (an expected subset,
 * "/regex/" and "%ANY%" patterns, null for absent), the variables, the
 * re-baselining of --update, the platform checks replay warns about, and the
 * JUnit report. This file does no network or Redis I/O: replay.c does.
 */
#include "voxcart/jscan.h"
#include "voxcart/json.h"
#include "fixture.h"

#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "voxcart/response.h"

/* --- JSON in and out --- */

static int only_blanks(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    }
    return 1;
}

/* 1-based line and column of byte offset off. */
static void text_position(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

int cli_json_parse(const char *name, const char *text, size_t len, struct json_object **out,
                   struct vx_err *e)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    enum json_tokener_error jerr;
    size_t end;
    int line, col, rc = 0;

    *out = NULL;
    if (len > (size_t)INT32_MAX)
        return vx_err_set(e, VX_ERANGE, "%s: too large", name);
    if (only_blanks(text, len))
        return vx_err_set(e, VX_EPARSE, "%s: empty file, not json", name);
    tok = json_tokener_new();
    if (!tok)
        return vx_err_set(e, VX_ENOMEM, "%s: out of memory", name);
    /* json-c alone would accept a trailing comma that other tools then refuse */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (!root && jerr == json_tokener_continue) {
        text_position(text, len, &line, &col);
        rc = vx_err_set(e, VX_EPARSE,
                        "%s: line %d, column %d: invalid json: unexpected end of input", name, line,
                        col);
        goto out;
    }
    if (jerr != json_tokener_success) {
        text_position(text, end, &line, &col);
        rc = vx_err_set(e, VX_EPARSE, "%s: line %d, column %d: invalid json: %s", name, line, col,
                        json_tokener_error_desc(jerr));
        goto out;
    }
    if (!only_blanks(text + end, len - end)) {
        text_position(text, end, &line, &col);
        rc = vx_err_set(e, VX_EPARSE, "%s: line %d, column %d: data after the json value", name,
                        line, col);
        goto out;
    }
    /* json-c keeps \u0000 inside strings that are then read as C strings, and bytes
       that are not UTF-8: the request reader refuses both, and so does this one */
    rc = vx_json_check(text, len, name, e);
    if (rc)
        goto out;
    *out = root;
    root = NULL;
out:
    json_object_put(root);
    json_tokener_free(tok);
    return rc;
}

/* --- loading and validation --- */

static int expect_keys(struct json_object *o, const char *const *keys, size_t n, const char *file,
                       const char *place, struct vx_err *e)
{
    json_object_object_foreach(o, key, val)
    {
        int known = 0;
        (void)val;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known)
            return vx_err_set(e, VX_EPARSE, "%s: %s%sunknown key '%s'", file, place,
                              *place ? ": " : "", key);
    }
    return 0;
}

static int get_string_member(struct json_object *o, const char *key, int required, const char **out,
                             const char *file, const char *place, struct vx_err *e)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v)) {
        if (required)
            return vx_err_set(e, VX_EPARSE, "%s: %s%smissing '%s'", file, place, *place ? ": " : "",
                              key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
        return vx_err_set(e, VX_EPARSE, "%s: %s%s%s: must be a non-empty string", file, place,
                          *place ? "." : "", key);
    *out = json_object_get_string(v);
    return 0;
}

/* request_file: relative to the directory of the fixture. */
static int load_request_file(struct cli_turn *t, const char *file, const char *place,
                             const char *rel, struct vx_err *e)
{
    char path[PATH_MAX];
    const char *slash = strrchr(file, '/');
    char *text = NULL;
    size_t len = 0;
    struct vx_err inner = {0};
    int rc;

    if (rel[0] == '/' || !slash)
        rc = vx_snprintf(path, sizeof(path), "%s", rel);
    else
        rc = vx_snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file), file, rel);
    if (rc != 0)
        return vx_err_set(e, VX_ERANGE, "%s: %s.request_file: path too long", file, place);
    rc = vx_file_read(path, CLI_FIXTURE_MAX, &text, &len, &inner);
    if (rc == 0)
        rc = cli_json_parse(path, text, len, &t->request, &inner);
    free(text);
    if (rc != 0)
        return vx_err_set(e, rc, "%s: %s.request_file: %s", file, place, inner.msg);
    t->request_owned = 1;
    if (!json_object_is_type(t->request, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s.request_file: '%s' is not a json object", file,
                          place, path);
    return 0;
}

static int check_seed(struct json_object *seed, const char *file, const char *place,
                      struct vx_err *e)
{
    static const char *const keys[] = {"conversation", "profile", "billing_agreement"};
    char where[96];
    int rc;

    vx_snprintf(where, sizeof(where), "%s.seed", place);
    if (!json_object_is_type(seed, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s: must be an object", file, where);
    rc = expect_keys(seed, keys, VX_ARRAY_LEN(keys), file, where, e);
    if (rc)
        return rc;
    json_object_object_foreach(seed, key, val)
    {
        if (val && !json_object_is_type(val, json_type_object))
            return vx_err_set(e, VX_EPARSE, "%s: %s.%s: must be an object or null", file, where,
                              key);
    }
    return 0;
}

static int check_expect(struct json_object *ex, const char *file, const char *place,
                        struct vx_err *e)
{
    static const char *const keys[] = {"status", "response", "store", "within_ms"};
    static const char *const store_keys[] = {"conversation", "profile", "last_order",
                                             "last_subscription"};
    struct json_object *v;
    char where[96], sub[128];
    int rc;

    vx_snprintf(where, sizeof(where), "%s.expect", place);
    if (!json_object_is_type(ex, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s: must be an object", file, where);
    rc = expect_keys(ex, keys, VX_ARRAY_LEN(keys), file, where, e);
    if (rc)
        return rc;
    if (json_object_object_get_ex(ex, "status", &v)) {
        int64_t s = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || s < 100 || s > 599)
            return vx_err_set(e, VX_EPARSE, "%s: %s.status: must be an HTTP status (100 to 599)",
                              file, where);
    }
    if (json_object_object_get_ex(ex, "within_ms", &v)) {
        int64_t ms = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || ms < 0 || ms > CLI_WITHIN_MAX_MS)
            return vx_err_set(e, VX_EPARSE, "%s: %s.within_ms: must be milliseconds (0 to %d)",
                              file, where, CLI_WITHIN_MAX_MS);
        if (!json_object_object_get_ex(ex, "store", NULL))
            return vx_err_set(e, VX_EPARSE, "%s: %s.within_ms: waits for 'store', which is missing",
                              file, where);
    }
    if (json_object_object_get_ex(ex, "response", &v)) {
        vx_snprintf(sub, sizeof(sub), "%s.response", where);
        rc = cli_patterns_check(v, file, sub, e);
        if (rc)
            return rc;
    }
    if (json_object_object_get_ex(ex, "store", &v)) {
        vx_snprintf(sub, sizeof(sub), "%s.store", where);
        if (!json_object_is_type(v, json_type_object))
            return vx_err_set(e, VX_EPARSE, "%s: %s: must be an object", file, sub);
        rc = expect_keys(v, store_keys, VX_ARRAY_LEN(store_keys), file, sub, e);
        if (rc == 0)
            rc = cli_patterns_check(v, file, sub, e);
    }
    return rc;
}

/* approve: {link, buyer?, instrument?}, every one a non-empty string. */
static int check_approve(struct cli_turn *turn, const char *file, const char *place,
                         struct vx_err *e)
{
    static const char *const keys[] = {"link", "buyer", "instrument"};
    char where[64];
    const char *s;
    int rc;

    vx_snprintf(where, sizeof(where), "%s.approve", place);
    if (!json_object_is_type(turn->approve, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s: must be an object", file, where);
    rc = expect_keys(turn->approve, keys, VX_ARRAY_LEN(keys), file, where, e);
    for (size_t k = 0; k < VX_ARRAY_LEN(keys) && rc == 0; k++)
        rc = get_string_member(turn->approve, keys[k], k == 0, &s, file, where, e);
    if (rc)
        return rc;
    if (turn->seed)
        return vx_err_set(e, VX_EPARSE, "%s: %s: an approve step takes no 'seed'", file, place);
    if (turn->expect && json_object_object_get_ex(turn->expect, "response", NULL))
        return vx_err_set(e, VX_EPARSE,
                          "%s: %s.expect.response: an approve step's answer is a page, not json",
                          file, place);
    return 0;
}

/* sandbox: {link, post, body?}: link and post non-empty strings, post under /_sim/ (the set-up
 * interface, nothing a real provider serves), body an object. */
static int check_sandbox(struct cli_turn *turn, const char *file, const char *place,
                         struct vx_err *e)
{
    static const char *const keys[] = {"link", "post", "body"};
    struct json_object *body;
    char where[64];
    const char *link, *post;
    int rc;

    vx_snprintf(where, sizeof(where), "%s.sandbox", place);
    if (!json_object_is_type(turn->sandbox, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s: must be an object", file, where);
    rc = expect_keys(turn->sandbox, keys, VX_ARRAY_LEN(keys), file, where, e);
    if (rc == 0)
        rc = get_string_member(turn->sandbox, "link", 1, &link, file, where, e);
    if (rc == 0)
        rc = get_string_member(turn->sandbox, "post", 1, &post, file, where, e);
    if (rc)
        return rc;
    if (strncmp(post, "/_sim/", 6) != 0)
        return vx_err_set(e, VX_EPARSE, "%s: %s.post: '%s' is not a path under /_sim/", file, where,
                          post);
    if (json_object_object_get_ex(turn->sandbox, "body", &body) &&
        !json_object_is_type(body, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s.body: must be an object", file, where);
    if (turn->seed)
        return vx_err_set(e, VX_EPARSE, "%s: %s: a sandbox step takes no 'seed'", file, place);
    if (turn->expect && json_object_object_get_ex(turn->expect, "response", NULL))
        return vx_err_set(e, VX_EPARSE,
                          "%s: %s.expect.response: a sandbox step is checked by its status and "
                          "the store",
                          file, place);
    return 0;
}

static int parse_turn(struct cli_fixture *f, size_t i, struct json_object *t, struct vx_err *e)
{
    static const char *const keys[] = {"name",    "request", "request_file", "approve",
                                       "sandbox", "seed",    "expect"};
    struct cli_turn *turn = &f->turns[i];
    struct json_object *v;
    const char *rf = NULL;
    char place[32];
    int has_request, rc;

    vx_snprintf(place, sizeof(place), "turns[%zu]", i);
    turn->turn = t;
    if (!json_object_is_type(t, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: %s: must be an object", f->path, place);
    rc = expect_keys(t, keys, VX_ARRAY_LEN(keys), f->path, place, e);
    if (rc == 0)
        rc = get_string_member(t, "name", 0, &turn->name, f->path, place, e);
    if (rc == 0)
        rc = get_string_member(t, "request_file", 0, &rf, f->path, place, e);
    if (rc)
        return rc;
    has_request = json_object_object_get_ex(t, "request", &v);
    if (has_request && rf)
        return vx_err_set(e, VX_EPARSE, "%s: %s: both 'request' and 'request_file'", f->path,
                          place);
    json_object_object_get_ex(t, "approve", &turn->approve);
    json_object_object_get_ex(t, "sandbox", &turn->sandbox);
    if (turn->approve && turn->sandbox)
        return vx_err_set(e, VX_EPARSE, "%s: %s: both 'approve' and 'sandbox'", f->path, place);
    if (turn->approve || turn->sandbox) {
        const char *step = turn->approve ? "approve" : "sandbox";
        if (has_request || rf)
            return vx_err_set(e, VX_EPARSE, "%s: %s: both '%s' and '%s'", f->path, place,
                              rf ? "request_file" : "request", step);
        json_object_object_get_ex(t, "seed", &turn->seed);
        if (json_object_object_get_ex(t, "expect", &turn->expect))
            rc = check_expect(turn->expect, f->path, place, e);
        if (rc)
            return rc;
        return turn->approve ? check_approve(turn, f->path, place, e)
                             : check_sandbox(turn, f->path, place, e);
    }
    if (!has_request && !rf)
        return vx_err_set(e, VX_EPARSE, "%s: %s: missing 'request' (or 'request_file')", f->path,
                          place);
    if (has_request) {
        if (!json_object_is_type(v, json_type_object))
            return vx_err_set(e, VX_EPARSE, "%s: %s.request: must be a json object", f->path,
                              place);
        turn->request = v;
    } else {
        rc = load_request_file(turn, f->path, place, rf, e);
        if (rc == 0 && f->written) { /* a shared body says %WORD% too */
            struct json_object *x = NULL;
            rc = cli_locales_expand_value(f->written, f->locale, turn->request, &x);
            if (rc)
                return vx_err_set(e, rc, "out of memory");
            json_object_put(turn->request);
            turn->request = x;
        }
        if (rc)
            return rc;
    }
    if (json_object_object_get_ex(t, "seed", &turn->seed)) {
        rc = check_seed(turn->seed, f->path, place, e);
        if (rc)
            return rc;
    }
    if (json_object_object_get_ex(t, "expect", &turn->expect))
        rc = check_expect(turn->expect, f->path, place, e);
    return rc;
}

/* A file with a "locales" table: doc becomes the expansion for one of them. */
static int pick_locale(struct cli_fixture *f, const char *locale, struct vx_err *e)
{
    struct json_object *locales = NULL;
    size_t k = 0;
    int rc;

    if (!json_object_object_get_ex(f->doc, "locales", &locales))
        return 0;
    if (json_object_object_get_ex(f->doc, "locale", NULL))
        return vx_err_set(e, VX_EPARSE, "%s: both 'locale' and 'locales'", f->path);
    rc = cli_locales_check(locales, f->path, e);
    if (rc)
        return rc;
    f->locales = calloc((size_t)json_object_object_length(locales), sizeof(*f->locales));
    if (!f->locales)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    json_object_object_foreach(locales, loc, words)
    {
        (void)words;
        f->locales[k++] = loc;
    }
    f->nlocales = k;
    if (!locale)
        locale = f->locales[0];
    else if (!json_object_object_get_ex(locales, locale, NULL))
        return vx_err_set(e, VX_ENOTFOUND, "%s: locales: no locale '%s'", f->path, locale);
    f->written = f->doc;
    f->doc = NULL;
    rc = cli_locales_expand(f->written, locale, &f->doc);
    return rc ? vx_err_set(e, rc, "out of memory") : 0;
}

int cli_fixture_parse(const char *path, const char *text, size_t len, struct cli_fixture *f,
                      struct vx_err *e)
{
    return cli_fixture_parse_locale(path, text, len, NULL, f, e);
}

int cli_fixture_parse_locale(const char *path, const char *text, size_t len, const char *locale,
                             struct cli_fixture *f, struct vx_err *e)
{
    struct json_object *doc = NULL;
    int rc = cli_json_parse(path, text, len, &doc, e);

    if (rc) {
        memset(f, 0, sizeof(*f));
        return rc;
    }
    return cli_fixture_parse_doc(path, doc, locale, f, e);
}

int cli_fixture_parse_doc(const char *path, struct json_object *doc, const char *locale,
                          struct cli_fixture *f, struct vx_err *e)
{
    static const char *const keys[] = {"name",   "description", "skill_id",
                                       "locale", "locales",     "turns"};
    struct json_object *turns;
    size_t n;
    int rc;

    memset(f, 0, sizeof(*f));
    f->doc = doc; /* released with f from here on, whatever happens */
    f->path = strdup(path);
    if (!f->path)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (!json_object_is_type(f->doc, json_type_object))
        return vx_err_set(e, VX_EPARSE, "%s: not a conversation: the file must hold a json object",
                          path);
    rc = expect_keys(f->doc, keys, VX_ARRAY_LEN(keys), path, "", e);
    if (rc == 0)
        rc = pick_locale(f, locale, e);
    if (rc == 0)
        rc = get_string_member(f->doc, "name", 1, &f->name, path, "", e);
    if (rc == 0)
        rc = get_string_member(f->doc, "description", 0, &f->description, path, "", e);
    if (rc == 0)
        rc = get_string_member(f->doc, "skill_id", 0, &f->skill_id, path, "", e);
    if (rc == 0)
        rc = get_string_member(f->doc, "locale", 0, &f->locale, path, "", e);
    if (rc)
        return rc;
    if (!json_object_object_get_ex(f->doc, "turns", &turns))
        return vx_err_set(e, VX_EPARSE, "%s: missing 'turns'", path);
    if (!json_object_is_type(turns, json_type_array) || json_object_array_length(turns) == 0)
        return vx_err_set(e, VX_EPARSE, "%s: 'turns' must be a non-empty array", path);
    n = json_object_array_length(turns);
    f->turns = calloc(n, sizeof(*f->turns));
    if (!f->turns)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    f->nturns = n;
    for (size_t i = 0; i < n; i++) {
        rc = parse_turn(f, i, json_object_array_get_idx(turns, i), e);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_fixture_load(const char *path, struct cli_fixture *f, struct vx_err *e)
{
    return cli_fixture_load_locale(path, NULL, f, e);
}

int cli_fixture_load_locale(const char *path, const char *locale, struct cli_fixture *f,
                            struct vx_err *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    memset(f, 0, sizeof(*f));
    rc = vx_file_read(path, CLI_FIXTURE_MAX, &text, &len, e);
    if (rc == 0)
        rc = cli_fixture_parse_locale(path, text, len, locale, f, e);
    free(text);
    return rc;
}

void cli_fixture_release(struct cli_fixture *f)
{
    for (size_t i = 0; i < f->nturns; i++)
        if (f->turns[i].request_owned)
            json_object_put(f->turns[i].request);
    free(f->turns);
    json_object_put(f->doc);
    free(f->locales);
    json_object_put(f->written);
    free(f->path);
    memset(f, 0, sizeof(*f));
}

/* --- variables --- */

void cli_vars_init(struct cli_vars *v)
{
    memset(v, 0, sizeof(*v));
    vx_runvar_names_init(&v->run);
}

static int64_t vars_now(const struct cli_vars *v)
{
    return v->now ? v->now : vx_now();
}

int cli_vars_set(struct cli_vars *v, const char *name, const char *value, int reversible)
{
    struct cli_var *slot = NULL;
    for (size_t i = 0; i < v->n && !slot; i++)
        if (strcmp(v->v[i].name, name) == 0)
            slot = &v->v[i];
    if (!slot) {
        if (v->n == CLI_VARS_MAX)
            return VX_ERANGE;
        slot = &v->v[v->n++];
        if (vx_strlcpy(slot->name, name, sizeof(slot->name)) != 0)
            return VX_ERANGE;
    }
    slot->reversible = reversible;
    return vx_strlcpy(slot->value, value, sizeof(slot->value));
}

const char *cli_vars_get(const struct cli_vars *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i].name, name) == 0)
            return v->v[i].value;
    return NULL;
}

static const struct cli_var *var_at(const struct cli_vars *v, const char *p, size_t *len)
{
    for (size_t i = 0; i < v->n; i++) {
        size_t n = strlen(v->v[i].name);
        if (strncmp(p + 1, v->v[i].name, n) == 0 && p[n + 1] == '%') {
            *len = n + 2;
            return &v->v[i];
        }
    }
    return NULL;
}

/* The length of the name of a "%NAME%" token at p (p[0] == '%'), or 0 when there is none. */
static size_t token_len(const char *p)
{
    size_t n = 1;
    while (n <= VX_RUNVAR_NAME_MAX &&
           ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_' ||
            p[n] == '+' || p[n] == '-'))
        n++;
    return n > 1 && p[n] == '%' ? n - 1 : 0;
}

/* The value of a run variable at p: captured in this run, or a relative date. */
static const char *run_value_at(const struct cli_vars *v, const char *p, size_t *len, char *buf,
                                size_t bufsz)
{
    size_t n = token_len(p);
    const char *val;

    if (!n)
        return NULL;
    val = vx_runvar_names_value(&v->run, p + 1, n);
    if (!val && vx_runvar_relative(p + 1, n, vars_now(v), buf, bufsz) == 0)
        val = buf;
    if (val)
        *len = n + 2;
    return val;
}

int cli_vars_expand(const struct cli_vars *v, const char *s, struct vx_buf *out)
{
    const char *p = s, *run = s;
    int rc = 0;

    while ((p = strchr(p, '%')) != NULL) {
        size_t n;
        char date[16];
        const struct cli_var *var = var_at(v, p, &n);
        const char *val = var ? var->value : run_value_at(v, p, &n, date, sizeof(date));
        if (!val) {
            p++;
            continue;
        }
        rc |= vx_buf_append(out, run, (size_t)(p - run));
        rc |= vx_buf_appends(out, val);
        p += n;
        run = p;
    }
    rc |= vx_buf_appends(out, run);
    return rc ? VX_ENOMEM : 0;
}

/* Calls fn on every string value under o (not on keys). */
static int each_string(struct json_object *o,
                       int (*fn)(const struct cli_vars *, struct json_object *),
                       const struct cli_vars *v)
{
    int rc = 0;
    switch (json_object_get_type(o)) {
    case json_type_string:
        return fn(v, o);
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o) && rc == 0; i++)
            rc = each_string(json_object_array_get_idx(o, i), fn, v);
        return rc;
    case json_type_object: {
        json_object_object_foreach(o, key, val)
        {
            (void)key;
            if (rc == 0)
                rc = each_string(val, fn, v);
        }
        return rc;
    }
    default:
        return 0;
    }
}

static int apply_one(const struct cli_vars *v, struct json_object *str)
{
    struct vx_buf b;
    int rc;
    if (!strchr(json_object_get_string(str), '%'))
        return 0;
    vx_buf_init(&b);
    rc = cli_vars_expand(v, json_object_get_string(str), &b);
    if (rc == 0 && json_object_set_string(str, b.data) != 1)
        rc = VX_ENOMEM;
    vx_buf_release(&b);
    return rc;
}

int cli_vars_apply(const struct cli_vars *v, struct json_object *o)
{
    return each_string(o, apply_one, v);
}

static int unapply_one(const struct cli_vars *v, struct json_object *str)
{
    struct vx_buf cur;
    int rc = 0, changed = 0;

    vx_buf_init(&cur);
    rc |= vx_buf_appends(&cur, json_object_get_string(str));
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const struct cli_var *var = &v->v[i];
        struct vx_buf next;
        const char *p, *hit;
        if (!var->reversible || !var->value[0] || !strstr(cur.data, var->value))
            continue;
        vx_buf_init(&next);
        for (p = cur.data; (hit = strstr(p, var->value)) != NULL; p = hit + strlen(var->value)) {
            rc |= vx_buf_append(&next, p, (size_t)(hit - p));
            rc |= vx_buf_appendf(&next, "%%%s%%", var->name);
        }
        rc |= vx_buf_appends(&next, p);
        vx_buf_release(&cur);
        cur = next;
        changed = 1;
    }
    if (rc == 0 && changed && json_object_set_string(str, cur.data) != 1)
        rc = VX_ENOMEM;
    vx_buf_release(&cur);
    return rc ? VX_ENOMEM : 0;
}

int cli_vars_unapply(struct cli_vars *v, struct json_object *o)
{
    struct vx_err e = {0};
    int rc = each_string(o, unapply_one, v);

    if (rc == 0)
        rc = vx_runvars_templatize(o, &v->run,
                                   VX_RUNVARS_DISCOVER | VX_RUNVARS_SHAPES | VX_RUNVARS_DATES,
                                   vars_now(v), &e);
    return rc;
}

/* --- resolving run variables against an answer --- */

/* A run variable still in an expected string after substitution. */
struct run_token {
    size_t at, len; /* of "%NAME%" in the string */
    const struct vx_runvar_kind *kind;
    size_t group; /* its group in the combined regex */
};

#define RUN_TOKENS_MAX 8

static int append_escaped(struct vx_buf *b, const char *p, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr(".[]()*+?{}|^$\\", p[i]))
            rc |= vx_buf_append(b, "\\", 1);
        rc |= vx_buf_append(b, p + i, 1);
    }
    return rc;
}

/* The anchored regex that s stands for, with a group per token. */
static int tokens_regex(const char *s, struct run_token *t, size_t n, struct vx_buf *re)
{
    size_t at = 0, group = 1;
    int rc = vx_buf_appends(re, "^");

    for (size_t i = 0; i < n; i++) {
        rc |= append_escaped(re, s + at, t[i].at - at);
        rc |= vx_buf_appendf(re, "(%s)", t[i].kind->regex);
        t[i].group = group;
        group += 1 + vx_runvar_groups(t[i].kind);
        at = t[i].at + t[i].len;
    }
    rc |= append_escaped(re, s + at, strlen(s + at));
    rc |= vx_buf_appends(re, "$");
    return rc ? VX_ENOMEM : 0;
}

/*
 * Captures the tokens' values from subject: 1 when it matched and the values
 * count (the checks of their kinds, one value per name), 0 when the regex did
 * not match, -1 when it matched but the values do not count. Nothing is
 * captured unless all of them do.
 */
static int tokens_capture(struct cli_vars *v, const char *s, const struct run_token *t, size_t n,
                          const char *re_text, const char *subject)
{
    char values[RUN_TOKENS_MAX][VX_RUNVAR_VALUE_MAX];
    regmatch_t m[64];
    regex_t re;
    int matched;

    if (regcomp(&re, re_text, REG_EXTENDED) != 0)
        return 0;
    matched = regexec(&re, subject, VX_ARRAY_LEN(m), m, 0) == 0;
    regfree(&re);
    if (!matched)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = t[i].group, len;
        if (g >= VX_ARRAY_LEN(m) || m[g].rm_so < 0)
            return -1;
        len = (size_t)(m[g].rm_eo - m[g].rm_so);
        if (len >= sizeof(values[i]))
            return -1;
        memcpy(values[i], subject + m[g].rm_so, len);
        values[i][len] = '\0';
        if (t[i].kind->check && !t[i].kind->check(values[i], len, vars_now(v)))
            return -1;
        /* the same captured variable twice in one string must be the same value (a shape
         * is any value of its form each time: two dates in one sentence) */
        for (size_t k = 0; k < i && t[i].kind->mode == VX_RUNVAR_CAPTURE; k++)
            if (t[k].len == t[i].len && strncmp(s + t[k].at, s + t[i].at, t[i].len) == 0 &&
                strcmp(values[k], values[i]) != 0)
                return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char name[VX_RUNVAR_NAME_MAX];
        if (t[i].kind->mode != VX_RUNVAR_CAPTURE)
            continue;
        vx_snprintf(name, sizeof(name), "%.*s", (int)(t[i].len - 2), s + t[i].at + 1);
        if (vx_runvar_names_set(&v->run, name, values[i]) != 0)
            return -1;
    }
    return 1;
}

static int resolve_string(struct cli_vars *v, struct json_object *str, struct json_object *actual,
                          int present)
{
    struct run_token t[RUN_TOKENS_MAX];
    const char *s, *subject = NULL;
    struct vx_buf b, re;
    size_t n = 0;
    int rc = 0, matched = 0;

    vx_buf_init(&b);
    vx_buf_init(&re);
    /* substitute first: what the turns before captured is a literal here */
    rc = cli_vars_expand(v, json_object_get_string(str), &b);
    if (rc)
        goto out;
    s = b.data;
    if (!cli_is_pattern(s) && strcmp(s, CLI_PATTERN_ANY) != 0) {
        for (const char *p = strchr(s, '%'); p && n < RUN_TOKENS_MAX; p = strchr(p + 1, '%')) {
            size_t len = token_len(p);
            const struct vx_runvar_kind *k = len ? vx_runvar_kind_of(p + 1, len) : NULL;
            if (!k)
                continue;
            t[n].at = (size_t)(p - s);
            t[n].len = len + 2;
            t[n].kind = k;
            n++;
            p += len + 1;
        }
    }
    if (n == 0) {
        if (strcmp(s, json_object_get_string(str)) != 0 && json_object_set_string(str, s) != 1)
            rc = VX_ENOMEM;
        goto out;
    }
    rc = tokens_regex(s, t, n, &re);
    if (rc)
        goto out;
    if (present && actual && !json_object_is_type(actual, json_type_object) &&
        !json_object_is_type(actual, json_type_array))
        subject = json_object_get_string(actual);
    matched = subject ? tokens_capture(v, s, t, n, re.data, subject) : 0;
    if (matched > 0 && json_object_is_type(actual, json_type_string)) {
        if (json_object_set_string(str, subject) != 1)
            rc = VX_ENOMEM;
    } else if (matched < 0) {
        /* of the right shape, but not this run's: stays as written, which matches nothing */
        if (json_object_set_string(str, s) != 1)
            rc = VX_ENOMEM;
    } else {
        /* a number matched, or nothing did: the pattern, which matches (and shows) the same */
        struct vx_buf pat;
        vx_buf_init(&pat);
        rc = vx_buf_appendf(&pat, "/%s/", re.data) ? VX_ENOMEM : 0;
        if (rc == 0 && json_object_set_string(str, pat.data) != 1)
            rc = VX_ENOMEM;
        vx_buf_release(&pat);
    }
out:
    vx_buf_release(&b);
    vx_buf_release(&re);
    return rc;
}

int cli_vars_resolve(struct cli_vars *v, struct json_object *expected, struct json_object *actual,
                     int present)
{
    int rc = 0;

    switch (json_object_get_type(expected)) {
    case json_type_string:
        return resolve_string(v, expected, actual, present);
    case json_type_array: {
        size_t na = json_object_is_type(actual, json_type_array) && present
                        ? json_object_array_length(actual)
                        : 0;
        for (size_t i = 0; i < json_object_array_length(expected) && rc == 0; i++)
            rc = cli_vars_resolve(v, json_object_array_get_idx(expected, i),
                                  i < na ? json_object_array_get_idx(actual, i) : NULL, i < na);
        return rc;
    }
    case json_type_object: {
        json_object_object_foreach(expected, key, val)
        {
            struct json_object *a = NULL;
            int has = present && json_object_is_type(actual, json_type_object) &&
                      json_object_object_get_ex(actual, key, &a);
            if (rc == 0)
                rc = cli_vars_resolve(v, val, a, has);
        }
        return rc;
    }
    default:
        return 0;
    }
}

/* --- matching --- */

int cli_is_pattern(const char *s)
{
    size_t n = strlen(s);
    return n >= 2 && s[0] == '/' && s[n - 1] == '/';
}

/* The body of a "/regex/" pattern as its own string. */
static char *pattern_body(const char *s)
{
    size_t n = strlen(s) - 2;
    char *re = malloc(n + 1);
    if (re) {
        memcpy(re, s + 1, n);
        re[n] = '\0';
    }
    return re;
}

static void path_child(char *out, size_t outsz, const char *path, const char *key)
{
    if (vx_snprintf(out, outsz, "%s%s%s", path, *path ? "." : "", key) != 0)
        vx_strlcpy(out, path, outsz);
}

static void path_index(char *out, size_t outsz, const char *path, size_t i)
{
    if (vx_snprintf(out, outsz, "%s[%zu]", path, i) != 0)
        vx_strlcpy(out, path, outsz);
}

/*
 * glibc's regcomp copies the tree of a repeated part once per repetition, and
 * again for each quantifier stacked on it, so a short pattern such as
 * "a++++++++++++++++++++++++++++++" or "((a{200}){200}){200}" takes gigabytes.
 * Patterns in fixtures never need that: refuse stacked quantifiers (undefined
 * in POSIX EREs anyway) and patterns whose repetitions would copy more than
 * PATTERN_BUDGET nodes. Returns NULL when re is fine, else why not.
 */
#define PATTERN_BUDGET 100000
#define PATTERN_DEPTH  32

static const char *pattern_too_costly(const char *re)
{
    double weight[PATTERN_DEPTH + 1] = {0}; /* per open group: the cost of its elements so far */
    double last = 0;                        /* the cost of the element a quantifier applies to */
    int depth = 0, after_quantifier = 0;

    for (const char *p = re; *p; p++) {
        double times = 0;
        if (*p == '*' || *p == '+' || *p == '?') {
            times = 2;
        } else if (*p == '{' && p[1] >= '0' && p[1] <= '9') {
            char *end;
            unsigned long m = strtoul(p + 1, &end, 10), n = m;
            if (*end == ',' && end[1] >= '0' && end[1] <= '9') {
                n = strtoul(end + 1, &end, 10);
            } else if (*end == ',') { /* {m,}: m copies and a star */
                n = m + 1;
                end++;
            }
            if (*end != '}')
                return NULL; /* regcomp says what is wrong with it */
            p = end;
            times = (double)(n > m ? n : m) + 1;
        }
        if (times > 0) {
            if (after_quantifier)
                return "a quantifier on a quantifier";
            weight[depth] += last * (times - 1);
            after_quantifier = 1;
            if (weight[depth] > PATTERN_BUDGET)
                return "too many repetitions";
            continue;
        }
        after_quantifier = 0;
        if (*p == '(') {
            if (++depth > PATTERN_DEPTH)
                return "groups nested too deeply";
            weight[depth] = 0;
            continue;
        }
        if (*p == ')' && depth > 0) {
            last = weight[depth--] + 1;
            weight[depth] += last;
            continue;
        }
        if (*p == '[') { /* a bracket expression is one element: skip to its ']' */
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']') {
                const char *close = NULL;
                if (q[0] == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '='))
                    close = strchr(q + 2, ']'); /* [:alpha:] and the like */
                q = close ? close + 1 : q + 1;
            }
            if (!*q)
                return NULL;
            p = q;
        } else if (*p == '\\' && p[1]) {
            p++;
        }
        last = 1;
        weight[depth] += 1;
    }
    return NULL;
}

static int check_patterns_at(struct json_object *o, const char *file, const char *path,
                             struct vx_err *e)
{
    char child[512];
    int rc = 0;

    switch (json_object_get_type(o)) {
    case json_type_string: {
        const char *s = json_object_get_string(o), *costly;
        regex_t re;
        char *body;
        int err;
        if (!cli_is_pattern(s))
            return 0;
        body = pattern_body(s);
        if (!body)
            return vx_err_set(e, VX_ENOMEM, "out of memory");
        if ((costly = pattern_too_costly(body)) != NULL) {
            free(body);
            return vx_err_set(e, VX_EPARSE, "%s: %s: bad regular expression '%.100s': %s", file,
                              path, s, costly);
        }
        err = regcomp(&re, body, REG_EXTENDED | REG_NOSUB);
        free(body);
        if (err != 0) {
            char why[128];
            regerror(err, &re, why, sizeof(why));
            return vx_err_set(e, VX_EPARSE, "%s: %s: bad regular expression '%.100s': %s", file,
                              path, s, why);
        }
        regfree(&re);
        return 0;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o) && rc == 0; i++) {
            path_index(child, sizeof(child), path, i);
            rc = check_patterns_at(json_object_array_get_idx(o, i), file, child, e);
        }
        return rc;
    case json_type_object: {
        json_object_object_foreach(o, key, val)
        {
            if (rc)
                break;
            path_child(child, sizeof(child), path, key);
            rc = check_patterns_at(val, file, child, e);
        }
        return rc;
    }
    default:
        return 0;
    }
}

int cli_patterns_check(struct json_object *expected, const char *file, const char *place,
                       struct vx_err *e)
{
    return check_patterns_at(expected, file, place, e);
}

/* A value as the report shows it: JSON text, "(absent)", cut to fit. */
static void show(char *out, size_t outsz, struct json_object *v, int present)
{
    const char *text;
    size_t n;
    if (!present) {
        vx_strlcpy(out, "(absent)", outsz);
        return;
    }
    text =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text)
        text = "(out of memory)";
    n = strlen(text);
    if (n < outsz) {
        memcpy(out, text, n + 1);
        return;
    }
    /* cut on a UTF-8 character boundary, and say so */
    n = outsz - 4;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, text, n);
    memcpy(out + n, "...", 4);
}

static int mismatch(struct cli_mismatch *m, const char *path, struct json_object *expected,
                    struct json_object *actual, int present)
{
    if (m) {
        vx_strlcpy(m->path, *path ? path : "(the whole document)", sizeof(m->path));
        show(m->expected, sizeof(m->expected), expected, 1);
        show(m->got, sizeof(m->got), actual, present);
    }
    return 0;
}

/* Arrays of different lengths: the counts, and the whole actual array to see why. */
static int length_mismatch(struct cli_mismatch *m, const char *path, size_t want,
                           struct json_object *actual)
{
    size_t got = json_object_array_length(actual), used;
    if (m) {
        vx_strlcpy(m->path, *path ? path : "(the whole document)", sizeof(m->path));
        vx_snprintf(m->expected, sizeof(m->expected), "%zu element%s", want, want == 1 ? "" : "s");
        vx_snprintf(m->got, sizeof(m->got), "%zu element%s: ", got, got == 1 ? "" : "s");
        used = strlen(m->got);
        show(m->got + used, sizeof(m->got) - used, actual, 1);
    }
    return 0;
}

static int match_pattern(const char *pattern, struct json_object *actual)
{
    const char *subject;
    regex_t re;
    char *body = pattern_body(pattern);
    int ok;

    if (!body)
        return 0;
    if (!actual || json_object_is_type(actual, json_type_object) ||
        json_object_is_type(actual, json_type_array)) {
        free(body);
        return 0;
    }
    subject = json_object_get_string(actual);
    if (pattern_too_costly(body) || regcomp(&re, body, REG_EXTENDED | REG_NOSUB) != 0) {
        free(body);
        return 0;
    }
    ok = regexec(&re, subject ? subject : "", 0, NULL, 0) == 0;
    regfree(&re);
    free(body);
    return ok;
}

static int match_number(struct json_object *expected, struct json_object *actual)
{
    if (!json_object_is_type(actual, json_type_int) &&
        !json_object_is_type(actual, json_type_double))
        return 0;
    if (json_object_is_type(expected, json_type_int) && json_object_is_type(actual, json_type_int))
        return json_object_get_int64(expected) == json_object_get_int64(actual);
    return json_object_get_double(expected) == json_object_get_double(actual);
}

int cli_match(struct json_object *expected, struct json_object *actual, int present,
              const char *path, struct cli_mismatch *m)
{
    char child[512];

    switch (json_object_get_type(expected)) {
    case json_type_null:
        if (present && actual)
            return mismatch(m, path, expected, actual, present);
        return 1;
    case json_type_string: {
        const char *s = json_object_get_string(expected);
        int ok;
        if (strcmp(s, CLI_PATTERN_ANY) == 0)
            ok = present;
        else if (cli_is_pattern(s))
            ok = present && match_pattern(s, actual);
        else
            ok = present && json_object_is_type(actual, json_type_string) &&
                 strcmp(s, json_object_get_string(actual)) == 0;
        return ok ? 1 : mismatch(m, path, expected, actual, present);
    }
    case json_type_boolean:
        if (present && json_object_is_type(actual, json_type_boolean) &&
            json_object_get_boolean(actual) == json_object_get_boolean(expected))
            return 1;
        return mismatch(m, path, expected, actual, present);
    case json_type_int:
    case json_type_double:
        if (present && match_number(expected, actual))
            return 1;
        return mismatch(m, path, expected, actual, present);
    case json_type_object: {
        if (!present || !json_object_is_type(actual, json_type_object))
            return mismatch(m, path, expected, actual, present);
        json_object_object_foreach(expected, key, val)
        {
            struct json_object *a = NULL;
            int has = json_object_object_get_ex(actual, key, &a);
            path_child(child, sizeof(child), path, key);
            if (!cli_match(val, a, has, child, m))
                return 0;
        }
        return 1;
    }
    case json_type_array: {
        size_t n = json_object_array_length(expected);
        if (!present || !json_object_is_type(actual, json_type_array))
            return mismatch(m, path, expected, actual, present);
        if (json_object_array_length(actual) != n)
            return length_mismatch(m, path, n, actual);
        for (size_t i = 0; i < n; i++) {
            path_index(child, sizeof(child), path, i);
            if (!cli_match(json_object_array_get_idx(expected, i),
                           json_object_array_get_idx(actual, i), 1, child, m))
                return 0;
        }
        return 1;
    }
    }
    return 0;
}

/* --- re-baselining (--update) --- */

static int copy_json(struct json_object *src, struct json_object **dst)
{
    *dst = NULL;
    if (!src)
        return 0;
    return json_object_deep_copy(src, dst, NULL) == 0 ? 0 : VX_ENOMEM;
}

/* Whether the expected node, with variables substituted, matches actual. */
static int still_matches(struct json_object *expected, struct json_object *actual, int present,
                         struct cli_vars *vars, int *ok)
{
    struct json_object *sub = NULL;
    int rc = copy_json(expected, &sub);
    if (rc == 0)
        rc = cli_vars_resolve(vars, sub, actual, present);
    if (rc == 0)
        *ok = cli_match(sub, actual, present, "", NULL);
    json_object_put(sub);
    return rc;
}

static int rebase_object(struct json_object *expected, struct json_object *actual,
                         struct cli_vars *vars, struct json_object **out, int *changed)
{
    struct json_object *o = json_object_new_object();
    int rc = o ? 0 : VX_ENOMEM;

    json_object_object_foreach(expected, key, val)
    {
        struct json_object *a = NULL, *nv = NULL;
        int has;
        if (rc)
            break;
        has = json_object_object_get_ex(actual, key, &a);
        rc = cli_rebase(val, a, has, vars, &nv, changed);
        if (rc == 0 && json_object_object_add(o, key, nv) != 0) {
            json_object_put(nv);
            rc = VX_ENOMEM;
        }
    }
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int rebase_array(struct json_object *expected, struct json_object *actual,
                        struct cli_vars *vars, struct json_object **out, int *changed)
{
    size_t n = json_object_array_length(expected);
    struct json_object *o = json_object_new_array_ext((int)n);
    int rc = o ? 0 : VX_ENOMEM;

    for (size_t i = 0; i < n && rc == 0; i++) {
        struct json_object *nv = NULL;
        rc = cli_rebase(json_object_array_get_idx(expected, i),
                        json_object_array_get_idx(actual, i), 1, vars, &nv, changed);
        if (rc == 0 && json_object_array_add(o, nv) != 0) {
            json_object_put(nv);
            rc = VX_ENOMEM;
        }
    }
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

int cli_rebase(struct json_object *expected, struct json_object *actual, int present,
               struct cli_vars *vars, struct json_object **out, int *changed)
{
    int ok = 0, rc;

    *out = NULL;
    /* Descend where the shapes agree, so a pattern deep inside an object survives a change
     * next to it. */
    if (json_object_is_type(expected, json_type_object) && present &&
        json_object_is_type(actual, json_type_object))
        return rebase_object(expected, actual, vars, out, changed);
    if (json_object_is_type(expected, json_type_array) && present &&
        json_object_is_type(actual, json_type_array) &&
        json_object_array_length(expected) == json_object_array_length(actual))
        return rebase_array(expected, actual, vars, out, changed);
    rc = still_matches(expected, actual, present, vars, &ok);
    if (rc)
        return rc;
    if (ok) {
        *out = json_object_get(expected);
        return 0;
    }
    *changed = 1;
    if (!present || !actual)
        return 0;
    rc = copy_json(actual, out);
    if (rc == 0 && json_object_is_type(*out, json_type_int)) {
        /* a number alone (an order's "created"): a time among numbers becomes its shape, a
         * string, which only a container can hold in its place */
        struct json_object *box = json_object_new_array();
        if (!box || json_object_array_add(box, *out) != 0) {
            json_object_put(box);
            return VX_ENOMEM; /* *out is released by the caller */
        }
        rc = cli_vars_unapply(vars, box);
        *out = json_object_get(json_object_array_get_idx(box, 0));
        json_object_put(box);
    } else if (rc == 0) {
        rc = cli_vars_unapply(vars, *out);
    }
    return rc;
}

/* --- what the platform would complain about --- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Speech text ends in a question mark, once trailing blanks and tags are skipped. */
static int asks_question(const char *s)
{
    size_t i = strlen(s);
    for (;;) {
        while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\n' || s[i - 1] == '\t'))
            i--;
        if (i > 0 && s[i - 1] == '>') {
            while (i > 0 && s[i - 1] != '<')
                i--;
            if (i > 0)
                i--;
            continue;
        }
        break;
    }
    if (i > 0 && s[i - 1] == '?')
        return 1;
    /* U+FF1F FULLWIDTH QUESTION MARK, as Japanese speech ends */
    return i >= 3 && memcmp(s + i - 3, "\xEF\xBC\x9F", 3) == 0;
}

static void warn(struct cli_warning *w, size_t max, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void warn(struct cli_warning *w, size_t max, size_t *n, const char *fmt, ...)
{
    va_list ap;
    if (*n < max) {
        va_start(ap, fmt);
        vsnprintf(w[*n].text, sizeof(w[*n].text), fmt, ap);
        va_end(ap);
    }
    (*n)++;
}

static void check_speech(struct json_object *speech, const char *path, struct cli_warning *w,
                         size_t max, size_t *n)
{
    const char *type = vx_json_get_str(speech, "type");
    const char *ssml = vx_json_get_str(speech, "ssml");
    const char *text = vx_json_get_str(speech, "text");
    const char *body = ssml ? ssml : text;
    size_t len;

    if (!body)
        return;
    len = utf8_chars(body);
    if (len > CLI_TEXT_LIMIT)
        warn(w, max, n, "%s.%s has %zu characters, over the %d the platform speaks", path,
             ssml ? "ssml" : "text", len, CLI_TEXT_LIMIT);
    if (type && strcmp(type, "SSML") == 0) {
        size_t bl = strlen(body);
        if (!ssml || bl < 15 || strncmp(body, "<speak>", 7) != 0 ||
            strcmp(body + bl - 8, "</speak>") != 0 || vx_ssml_check(body, bl) != 0)
            warn(w, max, n, "%s.ssml is not well-formed SSML inside <speak>", path);
    }
}

size_t cli_response_warnings(struct json_object *doc, size_t body_len, struct cli_warning *w,
                             size_t max)
{
    struct json_object *resp = vx_json_get(doc, "response");
    struct json_object *speech = vx_json_get(resp, "outputSpeech");
    struct json_object *reprompt = vx_json_get(vx_json_get(resp, "reprompt"), "outputSpeech");
    struct json_object *card = vx_json_get(resp, "card");
    struct json_object *end = vx_json_get(resp, "shouldEndSession");
    static const char *const card_fields[] = {"title", "content", "text"};
    size_t n = 0;

    if (body_len > CLI_RESPONSE_LIMIT)
        warn(w, max, &n, "response is %zu bytes, over the %d KB the platform accepts", body_len,
             CLI_RESPONSE_LIMIT / 1024);
    check_speech(speech, "response.outputSpeech", w, max, &n);
    check_speech(reprompt, "response.reprompt.outputSpeech", w, max, &n);
    for (size_t i = 0; i < VX_ARRAY_LEN(card_fields); i++) {
        const char *t = vx_json_get_str(card, card_fields[i]);
        size_t len = t ? utf8_chars(t) : 0;
        if (len > CLI_TEXT_LIMIT)
            warn(w, max, &n, "response.card.%s has %zu characters, over the %d the platform shows",
                 card_fields[i], len, CLI_TEXT_LIMIT);
    }
    if (speech && !reprompt && !(end && json_object_get_boolean(end))) {
        const char *s = vx_json_get_str(speech, "ssml");
        if (!s)
            s = vx_json_get_str(speech, "text");
        if (s && asks_question(s))
            warn(w, max, &n,
                 "response.outputSpeech asks a question but has no reprompt while the session "
                 "stays open");
    }
    return n;
}

/* --- JUnit XML --- */

int cli_xml_escape(struct vx_buf *b, const char *s)
{
    const char *run = s;
    int rc = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *rep = NULL;
        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"')
            rep = "&quot;";
        else if (c == '\'')
            rep = "&apos;";
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            rep = "\xEF\xBF\xBD"; /* not allowed in XML 1.0 even as a reference: U+FFFD */
        if (!rep)
            continue;
        rc |= vx_buf_append(b, run, (size_t)(s - run));
        rc |= vx_buf_appends(b, rep);
        run = s + 1;
    }
    rc |= vx_buf_appends(b, run);
    return rc ? VX_ENOMEM : 0;
}

static int junit_attr(struct vx_buf *b, const char *name, const char *value)
{
    int rc = vx_buf_appendf(b, " %s=\"", name);
    rc |= cli_xml_escape(b, value);
    rc |= vx_buf_appends(b, "\"");
    return rc;
}

/* classname: the fixture's directory with dots, as JUnit readers group by it. */
static int junit_classname(struct vx_buf *b, const char *file)
{
    const char *slash = strrchr(file, '/');
    struct vx_buf cls;
    int rc = 0;

    vx_buf_init(&cls);
    rc |= vx_buf_appends(&cls, "replay");
    if (slash) {
        rc |= vx_buf_appends(&cls, ".");
        for (const char *p = file; p < slash; p++)
            rc |= vx_buf_append(&cls, *p == '/' ? "." : p, 1);
    }
    if (rc == 0)
        rc = junit_attr(b, "classname", cls.data);
    vx_buf_release(&cls);
    return rc;
}

int cli_junit_render(const struct cli_result *r, size_t n, double seconds, struct vx_buf *out)
{
    size_t failures = 0, errors = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        failures += r[i].outcome == CLI_FAILED;
        errors += r[i].outcome == CLI_BROKEN;
    }
    rc |= vx_buf_appends(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    rc |= vx_buf_appendf(out,
                         "<testsuites name=\"voxcart replay\" tests=\"%zu\" failures=\"%zu\" "
                         "errors=\"%zu\" time=\"%.3f\">\n",
                         n, failures, errors, seconds);
    rc |= vx_buf_appendf(out,
                         "  <testsuite name=\"voxcart replay\" tests=\"%zu\" failures=\"%zu\" "
                         "errors=\"%zu\" skipped=\"0\" time=\"%.3f\">\n",
                         n, failures, errors, seconds);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *msg = r[i].message ? r[i].message : "";
        size_t first = strcspn(msg, "\n");
        struct vx_buf head;

        rc |= vx_buf_appends(out, "    <testcase");
        rc |= junit_classname(out, r[i].file);
        rc |= junit_attr(out, "name", r[i].file);
        rc |= vx_buf_appendf(out, " time=\"%.3f\">\n", r[i].seconds);
        if (r[i].outcome == CLI_FAILED || r[i].outcome == CLI_BROKEN) {
            vx_buf_init(&head);
            rc |= vx_buf_append(&head, msg, first);
            rc |=
                vx_buf_appends(out, r[i].outcome == CLI_FAILED ? "      <failure" : "      <error");
            rc |= junit_attr(out, "message", head.data ? head.data : "");
            rc |= vx_buf_appends(out, ">");
            rc |= cli_xml_escape(out, msg);
            rc |= vx_buf_appends(out, r[i].outcome == CLI_FAILED ? "</failure>\n" : "</error>\n");
            vx_buf_release(&head);
        }
        if (r[i].output && *r[i].output) {
            rc |= vx_buf_appends(out, "      <system-out>");
            rc |= cli_xml_escape(out, r[i].output);
            rc |= vx_buf_appends(out, "</system-out>\n");
        }
        rc |= vx_buf_appends(out, "    </testcase>\n");
    }
    rc |= vx_buf_appends(out, "  </testsuite>\n</testsuites>\n");
    return rc ? VX_ENOMEM : 0;
}
