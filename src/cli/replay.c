/*
 * `voxcart replay`: plays conversation fixtures against a running voxcartd the
 * way the voice platform would, and checks every answer.
 *
 * DESIGN
 * - Every fixture is loaded and validated before its first request is sent, so
 *   a typo in turn 5 is a located message, not a half-played conversation.
 *   A file that does not load counts as a failed conversation: the others
 *   still run and the summary counts it.
 * - A request goes out as the platform would send it today: variables
 *   substituted, request.timestamp set to now, each distinct session ID of
 *   the fixture mapped to a fresh one for this run, session.new true only on a
 *   session's first turn, session.attributes carried from the previous answer,
 *   and signed with the development CA (cli_sign_request) unless --unsigned.
 *   %USER% is fresh for every conversation of every run, so runs never share
 *   Redis state and conversations do not see each other's.
 * - Values the run makes (order IDs, times) are run variables (fixture.c):
 *   each expectation is resolved against the answer before it is matched,
 *   which captures %ORDER_ID% where it first appears; requests and later
 *   expectations then carry the captured value. --clock-offset moves vx_now(),
 *   so timestamps and %TODAY% follow a server whose clock was moved too.
 * - Seeds and store expectations go through vx_store_seed/vx_store_peek; this
 *   file never forms a Redis key.
 * - Approving a pay link is the one step of a paying conversation that is no
 *   request of the platform: the buyer does it on the provider's page, and the
 *   janitor settles the order after it. An approve step posts the sandbox
 *   page's form to this run's captured %PAY_LINK% and then reads the store
 *   again until it matches (expect.within_ms), rather than sleeping a fixed
 *   time: the wait lasts as long as the janitor takes, and no longer. A sandbox
 *   step likewise posts what a test sets up between two turns (a declining
 *   test card, a dropped answer, the sandbox's clock) to that sandbox's /_sim/
 *   interface; nothing but /_sim/ paths, so it never stands in for voxcartd.
 * - --update rewrites only expectations, from the original (unsubstituted)
 *   tree the fixture was loaded into, so requests, variables and patterns that
 *   still match are kept as written.
 */
#include "cli.h"
#include "fixture.h"
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "voxcart/pki.h"
#include "voxcart/recording.h"
#include "voxcart/store.h"

#define REPLAY_DEFAULT_URL   "https://127.0.0.1:8443/alexa"
#define REPLAY_DEFAULT_DIR   "./devca"
#define REPLAY_DEFAULT_REDIS "redis://127.0.0.1:6379/0"
#define REPLAY_INDENT        "      "
/* The sandbox's first test buyer and a card that charges: what an approve step uses unless it
 * names others (voxcart-paysim's own defaults). */
#define REPLAY_DEFAULT_BUYER      "buyer-alice"
#define REPLAY_DEFAULT_INSTRUMENT "card-ok"

struct replay_opts {
    const char *url;
    const char *dir;
    int no_signature;
    const char *clock_offset;
    const char *redis;
    const char *keyword;
    int update;
    const char *junit;
    const char *skill_id;
    int insecure;
    const char *cacert;
    const char *import_dir;
    int verbose;
};

/* A conversation file as listed: its path and the shorter name the report shows. */
struct entry {
    char *path;
    char *shown;
};

struct entry_list {
    struct entry *v;
    size_t n, cap;
};

struct replay {
    struct replay_opts o;
    EVP_PKEY *key;
    const char *cacert;
    char cacert_buf[PATH_MAX];
    int store_ready;
    size_t warnings;
    size_t updated;
};

/* One session of the fixture, as this run has rewritten it. */
struct session_map {
    char *original;
    char fresh[96];
    struct json_object *attributes; /* the last answer's sessionAttributes, or NULL */
    int turns;
    int ended;
};

struct conv_run {
    struct replay *r;
    struct cli_fixture *f;
    struct cli_vars vars;
    struct session_map *sessions;
    size_t nsessions;
    struct vx_buf report; /* why the conversation failed */
    struct vx_buf notes;  /* warnings and updates */
    int changed;
};

/* --- listing the conversations --- */

static int list_add(struct entry_list *l, const char *path, const char *shown)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct entry *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return VX_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].path = strdup(path);
    l->v[l->n].shown = strdup(shown);
    if (!l->v[l->n].path || !l->v[l->n].shown) {
        free(l->v[l->n].path);
        free(l->v[l->n].shown);
        return VX_ENOMEM;
    }
    l->n++;
    return 0;
}

static void list_release(struct entry_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].shown);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int by_shown(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->shown, ((const struct entry *)b)->shown);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every *.json under root/rel; names starting with '.' or '_' are skipped, so shared request
 * bodies can live in a _requests/ directory next to the conversations. */
static int walk_dir(struct entry_list *l, const char *root, const char *rel, struct vx_err *e)
{
    char dir[PATH_MAX], path[PATH_MAX], sub[PATH_MAX];
    struct dirent *d;
    DIR *dh;
    int rc = 0;

    if (vx_snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel) != 0)
        return vx_err_set(e, VX_ERANGE, "path too long under '%s'", root);
    dh = opendir(dir);
    if (!dh)
        return vx_err_set(e, VX_EIO, "cannot read directory '%s': %s", dir, strerror(errno));
    while (rc == 0 && (d = readdir(dh)) != NULL) {
        struct stat st;
        if (d->d_name[0] == '.' || d->d_name[0] == '_')
            continue;
        if (vx_snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) != 0 ||
            vx_snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", d->d_name) != 0) {
            rc = vx_err_set(e, VX_ERANGE, "path too long under '%s'", dir);
            break;
        }
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk_dir(l, root, sub, e);
        else if (S_ISREG(st.st_mode) && ends_with(d->d_name, ".json"))
            rc = list_add(l, path, sub) ? vx_err_set(e, VX_ENOMEM, "out of memory") : 0;
    }
    closedir(dh);
    return rc;
}

static int list_args(struct entry_list *l, int argc, char **argv, struct vx_err *e)
{
    for (int i = 0; i < argc; i++) {
        struct stat st;
        size_t first = l->n;
        char root[PATH_MAX];
        size_t n;
        int rc;

        if (stat(argv[i], &st) != 0)
            return vx_err_set(e, VX_ENOTFOUND, "cannot read '%s': %s", argv[i], strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
            if (list_add(l, argv[i], argv[i]) != 0)
                return vx_err_set(e, VX_ENOMEM, "out of memory");
            continue;
        }
        n = strlen(argv[i]);
        while (n > 1 && argv[i][n - 1] == '/')
            n--;
        if (n >= sizeof(root))
            return vx_err_set(e, VX_ERANGE, "path '%s' is too long", argv[i]);
        memcpy(root, argv[i], n);
        root[n] = '\0';
        rc = walk_dir(l, root, "", e);
        if (rc)
            return rc;
        if (l->n > first)
            qsort(l->v + first, l->n - first, sizeof(*l->v), by_shown);
    }
    return 0;
}

/* --- fresh values --- */

static void random_hex(char *out, size_t nbytes, int upper)
{
    static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
    const char *hex = upper ? up : lo;
    unsigned char b[32];

    if (nbytes > sizeof(b))
        nbytes = sizeof(b);
    if (RAND_bytes(b, (int)nbytes) != 1) {
        /* RAND_bytes only fails without entropy; uniqueness then comes from time and pid */
        uint64_t x = vx_mono_ns() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < nbytes; i++, x = x * 6364136223846793005u + 1442695040888963407u)
            b[i] = (unsigned char)(x >> 56);
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
}

static void fresh_id(char *out, size_t outsz, const char *prefix, int upper)
{
    char hex[65];
    random_hex(hex, 16, upper);
    vx_snprintf(out, outsz, "%s%s", prefix, hex);
}

static void iso_now(char *out, size_t outsz)
{
    time_t now = (time_t)vx_now();
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        vx_strlcpy(out, "1970-01-01T00:00:00Z", outsz);
}

/* --- small JSON helpers --- */

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v = get(o, key);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *copy(struct json_object *src)
{
    struct json_object *dst = NULL;
    if (src && json_object_deep_copy(src, &dst, NULL) != 0)
        return NULL;
    return dst;
}

static const char *plain(struct json_object *o)
{
    const char *s =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? s : "null";
}

static const char *pretty(struct json_object *o)
{
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? s : "null";
}

/* The skill and user a request is about, for seeds and store expectations. */
static void request_identity(struct json_object *req, const char **skill, const char **user)
{
    struct json_object *sys = get(get(req, "context"), "System");
    struct json_object *session = get(req, "session");

    *skill = get_str(get(sys, "application"), "applicationId");
    if (!*skill)
        *skill = get_str(get(session, "application"), "applicationId");
    *user = get_str(get(sys, "user"), "userId");
    if (!*user)
        *user = get_str(get(session, "user"), "userId");
}

/* --- reporting --- */

static void turn_title(struct conv_run *c, size_t i, char *out, size_t outsz)
{
    const char *name = c->f->turns[i].name;
    if (name)
        vx_snprintf(out, outsz, "turn %zu (%s)", i + 1, name);
    else
        vx_snprintf(out, outsz, "turn %zu", i + 1);
}

static void report_mismatch(struct conv_run *c, size_t i, const struct cli_mismatch *m)
{
    char title[160];
    turn_title(c, i, title, sizeof(title));
    vx_buf_appendf(&c->report, "%s: %s\n  expected: %s\n  got:      %s\n", title, m->path,
                   m->expected, m->got);
}

static void report_error(struct conv_run *c, size_t i, const char *msg)
{
    char title[160];
    turn_title(c, i, title, sizeof(title));
    vx_buf_appendf(&c->report, "%s: %s\n", title, msg);
}

/* Appends every line of text with indent in front. */
static void append_indented(struct vx_buf *b, const char *text, const char *indent)
{
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        vx_buf_appendf(b, "%s%.*s\n", indent, (int)n, p);
        p = nl ? nl + 1 : NULL;
    }
}

static void print_indented(const char *text)
{
    struct vx_buf b;
    vx_buf_init(&b);
    append_indented(&b, text, REPLAY_INDENT);
    if (b.len)
        fputs(b.data, stdout);
    vx_buf_release(&b);
}

/* --- sessions --- */

static struct session_map *session_for(struct conv_run *c, const char *original)
{
    struct session_map *s = NULL;
    for (size_t i = 0; i < c->nsessions && !s; i++)
        if (strcmp(c->sessions[i].original, original) == 0)
            s = &c->sessions[i];
    if (!s) {
        struct session_map *v = realloc(c->sessions, (c->nsessions + 1) * sizeof(*v));
        if (!v)
            return NULL;
        c->sessions = v;
        s = &v[c->nsessions];
        memset(s, 0, sizeof(*s));
        s->original = strdup(original);
        if (!s->original)
            return NULL;
        c->nsessions++;
        s->ended = 1;
    }
    if (s->ended) {
        /* a session the skill closed: reusing its ID in the fixture starts a new one, as a
         * device would */
        fresh_id(s->fresh, sizeof(s->fresh), "amzn1.echo-api.session.replay-", 0);
        json_object_put(s->attributes);
        s->attributes = NULL;
        s->turns = 0;
        s->ended = 0;
    }
    return s;
}

static void sessions_release(struct conv_run *c)
{
    for (size_t i = 0; i < c->nsessions; i++) {
        free(c->sessions[i].original);
        json_object_put(c->sessions[i].attributes);
    }
    free(c->sessions);
    c->sessions = NULL;
    c->nsessions = 0;
}

/* What the platform itself puts into a request: the session as it knows it, and the time. */
static void set_platform_fields(struct json_object *req, const struct session_map *s,
                                const char *now)
{
    struct json_object *session = get(req, "session"), *inner = get(req, "request");

    if (s && json_object_is_type(session, json_type_object)) {
        json_object_object_add(session, "sessionId", json_object_new_string(s->fresh));
        json_object_object_add(session, "new", json_object_new_boolean(s->turns == 0));
        if (s->turns > 0 && s->attributes)
            json_object_object_add(session, "attributes", copy(s->attributes));
        else if (s->turns > 0)
            json_object_object_del(session, "attributes");
    }
    if (json_object_is_type(inner, json_type_object)) {
        /* the old console simulator sent epoch milliseconds: keep the form the fixture uses */
        if (json_object_is_type(get(inner, "timestamp"), json_type_int))
            json_object_object_add(inner, "timestamp", json_object_new_int64(vx_now_ms()));
        else
            json_object_object_add(inner, "timestamp", json_object_new_string(now));
    }
}

/* Makes the request of turn i as the platform would send it now. */
static int prepare_request(struct conv_run *c, size_t i, struct json_object **out,
                           struct session_map **sess, struct vx_err *e)
{
    struct json_object *tmpl = c->f->turns[i].request;
    struct json_object *req = copy(tmpl);
    const char *original = get_str(get(tmpl, "session"), "sessionId");
    char id[96], now[32];
    int rc = 0;

    *sess = NULL;
    if (!req)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    fresh_id(id, sizeof(id), "amzn1.echo-api.request.replay-", 0);
    iso_now(now, sizeof(now));
    rc |= cli_vars_set(&c->vars, "REQUEST_ID", id, 1);
    rc |= cli_vars_set(&c->vars, "NOW", now, 0);
    if (original) {
        *sess = session_for(c, original);
        if (!*sess) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
            goto out;
        }
        rc |= cli_vars_set(&c->vars, "SESSION_ID", (*sess)->fresh, 1);
    }
    if (rc == 0)
        rc = cli_vars_apply(&c->vars, req);
    if (rc) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory substituting variables");
        goto out;
    }
    set_platform_fields(req, *sess, now);
    *out = req;
    req = NULL;
out:
    json_object_put(req);
    return rc;
}

/* --- the store --- */

static int store_ready(struct replay *r, struct vx_err *e)
{
    struct vx_store_config sc;
    const char *env = getenv("VOXCART_REDIS_URL");
    int rc;

    if (r->store_ready)
        return 0;
    sc.url = r->o.redis ? r->o.redis : env && *env ? env : REPLAY_DEFAULT_REDIS;
    sc.timeout_ms = 2000;
    rc = vx_store_init(&sc, e);
    if (rc == 0)
        r->store_ready = 1;
    return rc;
}

static int seed_part(const char *skill, const char *user, const char *part, struct json_object *doc,
                     const struct cli_vars *vars, struct vx_err *e)
{
    struct json_object *sub = copy(doc);
    int rc = 0;

    if (doc && !sub)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (sub && cli_vars_apply(vars, sub) != 0)
        rc = vx_err_set(e, VX_ENOMEM, "out of memory");
    if (rc == 0)
        rc = vx_store_seed(skill, user, part, sub ? plain(sub) : NULL, e);
    json_object_put(sub);
    return rc;
}

/* profile and billing_agreement both land in the profile document. */
static int seed_profile(struct conv_run *c, struct json_object *seed, const char *skill,
                        const char *user, struct vx_err *e)
{
    struct json_object *profile = NULL, *ba = NULL, *base = NULL;
    int has_profile = json_object_object_get_ex(seed, "profile", &profile);
    int has_ba = json_object_object_get_ex(seed, "billing_agreement", &ba);
    char *current = NULL;
    int rc = 0;

    if (!has_profile && !has_ba)
        return 0;
    if (has_profile) {
        base = profile ? copy(profile) : NULL;
    } else {
        rc = vx_store_peek(skill, user, "profile", &current, e);
        if (rc)
            return rc;
        base = current ? json_tokener_parse(current) : NULL;
        free(current);
    }
    if (has_ba && ba) {
        if (!json_object_is_type(base, json_type_object)) {
            json_object_put(base);
            base = json_object_new_object();
        }
        json_object_object_add(base, "billing_agreement", copy(ba));
    } else if (has_ba && json_object_is_type(base, json_type_object)) {
        json_object_object_del(base, "billing_agreement");
    }
    rc = seed_part(skill, user, "profile", base, &c->vars, e);
    json_object_put(base);
    return rc;
}

static int apply_seed(struct conv_run *c, size_t i, struct json_object *req, struct vx_err *e)
{
    struct json_object *seed = c->f->turns[i].seed, *conv = NULL;
    const char *skill, *user;
    int rc;

    if (!seed)
        return 0;
    request_identity(req, &skill, &user);
    if (!skill || !user)
        return vx_err_set(e, VX_EINVAL, "seeding needs the request's skill ID and user ID");
    rc = store_ready(c->r, e);
    if (rc == 0 && json_object_object_get_ex(seed, "conversation", &conv))
        rc = seed_part(skill, user, "conversation", conv, &c->vars, e);
    if (rc == 0)
        rc = seed_profile(c, seed, skill, user, e);
    return rc;
}

/* The store document part of a customer, parsed; *present is 0 when it does not exist. */
static int peek_part(struct conv_run *c, struct json_object *req, const char *part,
                     struct json_object **doc, int *present, struct vx_err *e)
{
    const char *skill, *user;
    char *text = NULL;
    int rc;

    *doc = NULL;
    *present = 0;
    request_identity(req, &skill, &user);
    if (!skill || !user)
        return vx_err_set(e, VX_EINVAL, "store expectations need the request's skill and user ID");
    rc = store_ready(c->r, e);
    if (rc == 0)
        rc = vx_store_peek(skill, user, part, &text, e);
    if (rc == 0 && text) {
        *present = 1;
        *doc = json_tokener_parse(text);
        if (!*doc && strcmp(text, "null") != 0)
            *doc = json_object_new_string(text); /* not JSON: compared, and shown, as text */
    }
    free(text);
    return rc;
}

/* --- checking and updating one turn --- */

static long expected_status(struct json_object *expect)
{
    struct json_object *v = get(expect, "status");
    return v ? (long)json_object_get_int64(v) : 200;
}

/* The store document an expectation names, or 1 after reporting why it cannot be read. */
static int turn_store_part(struct conv_run *c, size_t i, struct json_object *req, const char *part,
                           struct json_object **doc, int *present)
{
    struct vx_err e = {0};
    char msg[400];

    if (peek_part(c, req, part, doc, present, &e) == 0)
        return 0;
    vx_snprintf(msg, sizeof(msg), "store.%s: %s", part, e.msg);
    report_error(c, i, msg);
    return 1;
}

/* One look at the store: 0 when every part matches, 1 with m filled, 2 after reporting why a
 * part cannot be read, negative on errors. */
static int store_once(struct conv_run *c, size_t i, struct json_object *req, struct cli_mismatch *m)
{
    struct json_object *store = get(c->f->turns[i].expect, "store");

    json_object_object_foreach(store, part, exp)
    {
        struct json_object *doc = NULL, *sub = copy(exp);
        char root[64];
        int present = 0, ok;
        if (exp && !sub)
            return VX_ENOMEM;
        if (turn_store_part(c, i, req, part, &doc, &present) != 0) {
            json_object_put(sub);
            return 2;
        }
        cli_vars_resolve(&c->vars, sub, doc, present);
        vx_snprintf(root, sizeof(root), "store.%s", part);
        ok = cli_match(sub, doc, present, root, m);
        json_object_put(sub);
        json_object_put(doc);
        if (!ok)
            return 1;
    }
    return 0;
}

/*
 * The store expectations of turn i: 0 when they match, 1 when they do not (reported when
 * report is set). With within_ms the store is read again until they match or the time is
 * up: what happens after the answer (the janitor settling a payment) is waited for.
 */
static int check_store(struct conv_run *c, size_t i, struct json_object *req, int report)
{
    struct json_object *expect = c->f->turns[i].expect;
    struct json_object *within = get(expect, "within_ms");
    uint64_t deadline =
        vx_mono_ns() + (within ? (uint64_t)json_object_get_int64(within) : 0) * 1000000u;
    struct cli_mismatch m;
    int rc;

    if (!get(expect, "store"))
        return 0;
    for (;;) {
        rc = store_once(c, i, req, &m);
        if (rc != 1)
            return rc == 2 ? 1 : rc;
        if (vx_mono_ns() >= deadline)
            break;
        {
            struct timespec pause = {0, 100 * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
    if (report)
        report_mismatch(c, i, &m);
    return 1;
}

/* 0 when the turn matches; 1 after reporting the first mismatch; negative on errors. */
static int check_turn(struct conv_run *c, size_t i, struct json_object *req, long status,
                      struct json_object *resp, const struct vx_buf *body)
{
    struct json_object *expect = c->f->turns[i].expect, *want;
    struct cli_mismatch m;

    if (status != expected_status(expect)) {
        char title[160];
        turn_title(c, i, title, sizeof(title));
        vx_buf_appendf(&c->report, "%s: status\n  expected: %ld\n  got:      %ld %.300s\n", title,
                       expected_status(expect), status, body->data ? body->data : "");
        return 1;
    }
    if (json_object_object_get_ex(expect, "response", &want)) {
        struct json_object *sub = copy(want);
        int ok;
        if (want && !sub)
            return VX_ENOMEM;
        cli_vars_resolve(&c->vars, sub, resp, resp != NULL);
        if (!resp) {
            report_error(c, i, "response: the answer is not json");
            json_object_put(sub);
            return 1;
        }
        ok = cli_match(sub, resp, 1, "", &m);
        json_object_put(sub);
        if (!ok) {
            report_mismatch(c, i, &m);
            return 1;
        }
    }
    return check_store(c, i, req, 1);
}

/* Replaces the expectation at key with a re-based one; notes the first change. */
static int rebase_into(struct conv_run *c, size_t i, struct json_object *parent, const char *key,
                       struct json_object *actual, int present, const char *root)
{
    struct json_object *old = get(parent, key), *sub = copy(old), *nv = NULL;
    struct cli_mismatch m;
    int changed = 0, rc;

    if (old && !sub)
        return VX_ENOMEM;
    cli_vars_resolve(&c->vars, sub, actual, present);
    if (!cli_match(sub, actual, present, root, &m)) {
        char title[160];
        turn_title(c, i, title, sizeof(title));
        vx_buf_appendf(&c->notes, "updated %s: %s\n", title, m.path);
    }
    json_object_put(sub);
    rc = cli_rebase(old, actual, present, &c->vars, &nv, &changed);
    if (rc)
        return rc;
    if (!changed) {
        json_object_put(nv);
        return 0;
    }
    json_object_object_add(parent, key, nv);
    c->changed = 1;
    return 0;
}

static int update_turn(struct conv_run *c, size_t i, struct json_object *req, long status,
                       struct json_object *resp)
{
    struct cli_turn *t = &c->f->turns[i];
    int rc = 0;

    if (!t->expect) {
        t->expect = json_object_new_object();
        if (!t->expect || json_object_object_add(t->turn, "expect", t->expect) != 0)
            return VX_ENOMEM;
    }
    if (status != expected_status(t->expect)) {
        char title[160];
        turn_title(c, i, title, sizeof(title));
        vx_buf_appendf(&c->notes, "updated %s: status %ld -> %ld\n", title,
                       expected_status(t->expect), status);
        json_object_object_add(t->expect, "status", json_object_new_int((int)status));
        c->changed = 1;
    }
    if (resp)
        rc = rebase_into(c, i, t->expect, "response", resp, 1, "");
    if (rc == 0 && get(t->expect, "store")) {
        struct json_object *store = get(t->expect, "store");
        /* what the store is waited for is re-based from what it came to, or the time ran out */
        if (get(t->expect, "within_ms") && check_store(c, i, req, 0) < 0)
            return VX_ENOMEM;
        json_object_object_foreach(store, part, exp)
        {
            struct json_object *doc = NULL;
            char root[64];
            int present = 0;
            (void)exp;
            if (rc)
                break;
            if (turn_store_part(c, i, req, part, &doc, &present) != 0)
                return 1;
            vx_snprintf(root, sizeof(root), "store.%s", part);
            rc = rebase_into(c, i, store, part, doc, present, root);
            json_object_put(doc);
        }
    }
    return rc;
}

/* --- one turn --- */

static void note_warnings(struct conv_run *c, size_t i, struct json_object *resp, size_t len)
{
    struct cli_warning w[CLI_MAX_WARNINGS];
    size_t n = cli_response_warnings(resp, len, w, CLI_MAX_WARNINGS);
    char title[160];

    turn_title(c, i, title, sizeof(title));
    for (size_t k = 0; k < n && k < CLI_MAX_WARNINGS; k++)
        vx_buf_appendf(&c->notes, "warning: %s: %s\n", title, w[k].text);
    c->r->warnings += n;
}

/* What the platform remembers of a session after an answer. */
static void follow_session(struct session_map *s, struct json_object *req, struct json_object *resp)
{
    struct json_object *end = get(get(resp, "response"), "shouldEndSession");
    const char *type = get_str(get(req, "request"), "type");

    if (!s)
        return;
    s->turns++;
    json_object_put(s->attributes);
    s->attributes = copy(get(resp, "sessionAttributes"));
    if ((end && json_object_get_boolean(end)) || (type && strcmp(type, "SessionEndedRequest") == 0))
        s->ended = 1;
}

static int send_request(struct conv_run *c, size_t i, struct json_object *req, long *status,
                        struct vx_buf *body, struct vx_err *e)
{
    struct cli_sign_opts so;
    struct cli_signed s;
    const char *text = plain(req);
    char name[64];
    int rc;

    memset(&so, 0, sizeof(so));
    so.dir = c->r->o.dir;
    so.key = c->r->key;
    so.no_signature = c->r->o.no_signature;
    vx_snprintf(name, sizeof(name), "turns[%zu].request", i);
    rc = cli_sign_request(&so, name, text, strlen(text), &s, e);
    if (rc)
        return rc;
    rc = cli_http_post(c->r->o.url, s.headers, s.body, s.len, c->r->cacert, c->r->o.insecure,
                       status, body, e);
    cli_signed_release(&s);
    return rc;
}

/* -v: what the skill said (the speech without <speak>), or the error it answered. */
static void note_said(struct vx_buf *b, struct json_object *resp)
{
    struct json_object *r = NULL, *os = NULL, *v = NULL, *end = NULL;
    const char *text;
    size_t n;
    if (json_object_object_get_ex(resp, "error", &r) &&
        json_object_object_get_ex(r, "message", &v)) {
        vx_buf_appendf(b, "    error: %s\n", json_object_get_string(v));
        return;
    }
    if (!json_object_object_get_ex(resp, "response", &r))
        return;
    if (json_object_object_get_ex(r, "outputSpeech", &os) &&
        (json_object_object_get_ex(os, "ssml", &v) || json_object_object_get_ex(os, "text", &v))) {
        text = json_object_get_string(v);
        n = strlen(text);
        if (n >= 15 && strncmp(text, "<speak>", 7) == 0 && strcmp(text + n - 8, "</speak>") == 0) {
            text += 7;
            n -= 15;
        }
        vx_buf_appendf(b, "    said: %.*s\n", (int)n, text);
    } else if (json_object_object_get_ex(r, "canFulfillIntent", &os) &&
               json_object_object_get_ex(os, "canFulfill", &v)) {
        vx_buf_appendf(b, "    can fulfil: %s\n", json_object_get_string(v));
    } else {
        vx_buf_appends(b, "    said nothing\n");
    }
    if (json_object_object_get_ex(r, "shouldEndSession", &end) && json_object_get_boolean(end))
        vx_buf_appends(b, "    (the session ends)\n");
}

/* --- the buyer's step: approving a pay link --- */

/* The conversation's customer as a request names them: what store parts are read for. */
static struct json_object *identity_request(const struct conv_run *c)
{
    const char *skill = cli_vars_get(&c->vars, "SKILL_ID"), *user = cli_vars_get(&c->vars, "USER");
    struct json_object *req = json_object_new_object(), *session = json_object_new_object();
    struct json_object *app = json_object_new_object(), *u = json_object_new_object();

    if (!req || !session || !app || !u) {
        json_object_put(req);
        json_object_put(session);
        json_object_put(app);
        json_object_put(u);
        return NULL;
    }
    json_object_object_add(app, "applicationId", json_object_new_string(skill ? skill : ""));
    json_object_object_add(u, "userId", json_object_new_string(user ? user : ""));
    json_object_object_add(session, "application", app);
    json_object_object_add(session, "user", u);
    json_object_object_add(req, "session", session);
    return req;
}

/* name=value, form-encoded, after a '&' unless it is the first. */
static int form_field(struct vx_buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = vx_buf_appendf(b, "%s%s=", b->len ? "&" : "", name);

    for (const unsigned char *p = (const unsigned char *)value; *p && rc == 0; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            rc = vx_buf_append(b, (const char *)p, 1);
        else
            rc = vx_buf_appendf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return rc ? VX_ENOMEM : 0;
}

/* The step's object with this run's variables substituted (*out, the caller releases it) and
 * its link, which must be a link an earlier answer of the run showed: an http(s) URL, whose
 * host part *host points at. */
static int step_link(struct conv_run *c, struct json_object *step, const char *what,
                     struct json_object **out, const char **link, const char **host,
                     struct vx_err *e)
{
    const char *l;

    *out = copy(step);
    if (!*out || cli_vars_apply(&c->vars, *out) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    l = get_str(*out, "link");
    *host = l && strncmp(l, "http://", 7) == 0    ? l + 7
            : l && strncmp(l, "https://", 8) == 0 ? l + 8
                                                  : NULL;
    if (!*host || !**host || **host == '/')
        return vx_err_set(e, VX_EINVAL,
                          "%s.link: '%s' is not a link an earlier answer of this run showed", what,
                          l ? l : "");
    *link = l;
    return 0;
}

/*
 * What the buyer does on the sandbox's hosted page (voxcart-paysim's /checkout/<id>): the
 * form posted with Approve, a test buyer and a payment method. The link is the one this
 * run's answer showed (its %PAY_LINK%, captured). The real provider's page needs a person.
 */
static int approve_link(struct conv_run *c, size_t i, long *status, struct vx_buf *resp,
                        struct vx_err *e)
{
    struct json_object *a = NULL;
    struct curl_slist *headers = NULL;
    const char *link = NULL, *host, *buyer, *instrument;
    struct vx_buf form;
    int rc;

    vx_buf_init(&form);
    rc = step_link(c, c->f->turns[i].approve, "approve", &a, &link, &host, e);
    if (rc)
        goto out;
    buyer = get_str(a, "buyer") ? get_str(a, "buyer") : REPLAY_DEFAULT_BUYER;
    instrument = get_str(a, "instrument") ? get_str(a, "instrument") : REPLAY_DEFAULT_INSTRUMENT;
    rc = form_field(&form, "action", "approve");
    if (rc == 0)
        rc = form_field(&form, "buyer", buyer);
    if (rc == 0)
        rc = form_field(&form, "instrument", instrument);
    headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    if (rc || !headers) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory");
        goto out;
    }
    rc = cli_http_post(link, headers, form.data, form.len, c->r->cacert, c->r->o.insecure, status,
                       resp, e);
out:
    curl_slist_free_all(headers);
    vx_buf_release(&form);
    json_object_put(a);
    return rc;
}

/*
 * A sandbox step: what a test sets up at voxcart-paysim between two turns (a test payment
 * method of a saved permission, a fault of the next request), as the shell tests do with
 * /_sim/: body posted as JSON to post, a path of the set-up interface, at the sandbox that
 * served link (this run's %PAY_LINK%, captured: its scheme, host and port).
 */
static int sandbox_post(struct conv_run *c, size_t i, long *status, struct vx_buf *resp,
                        struct vx_err *e)
{
    struct json_object *a = NULL, *body = NULL;
    struct curl_slist *headers = NULL;
    const char *link = NULL, *host, *post, *text;
    struct vx_buf url;
    int rc;

    vx_buf_init(&url);
    rc = step_link(c, c->f->turns[i].sandbox, "sandbox", &a, &link, &host, e);
    if (rc)
        goto out;
    post = get_str(a, "post");
    json_object_object_get_ex(a, "body", &body);
    text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "{}";
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!headers || vx_buf_append(&url, link, (size_t)(host - link) + strcspn(host, "/?#")) ||
        vx_buf_appends(&url, post)) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory");
        goto out;
    }
    rc = cli_http_post(url.data, headers, text, strlen(text), c->r->cacert, c->r->o.insecure,
                       status, resp, e);
out:
    curl_slist_free_all(headers);
    vx_buf_release(&url);
    json_object_put(a);
    return rc;
}

/* An approve or sandbox step: the link approved or the sandbox set up, then the store
 * expectations waited for. */
static int run_step(struct conv_run *c, size_t i)
{
    struct json_object *req = identity_request(c);
    int approve = c->f->turns[i].approve != NULL;
    struct vx_err e = {0};
    struct vx_buf body;
    long status = 0;
    int rc;

    vx_buf_init(&body);
    rc = !req      ? vx_err_set(&e, VX_ENOMEM, "out of memory")
         : approve ? approve_link(c, i, &status, &body, &e)
                   : sandbox_post(c, i, &status, &body, &e);
    if (rc) {
        report_error(c, i, e.msg);
        rc = 1;
        goto out;
    }
    if (c->r->o.verbose) {
        char title[160];
        turn_title(c, i, title, sizeof(title));
        vx_buf_appendf(&c->notes, "%s: %s, HTTP %ld\n", title,
                       approve ? "the pay link approved" : "the sandbox set up", status);
    }
    rc = c->r->o.update ? update_turn(c, i, req, status, NULL)
                        : check_turn(c, i, req, status, NULL, &body);
    if (rc < 0) {
        report_error(c, i, "out of memory");
        rc = 1;
    }
out:
    json_object_put(req);
    vx_buf_release(&body);
    return rc;
}

/* 0 when the turn passed (or was re-based), 1 after reporting why it did not. */
static int run_turn(struct conv_run *c, size_t i)
{
    struct json_object *req = NULL, *resp = NULL;
    struct session_map *sess = NULL;
    struct vx_err e = {0};
    struct vx_buf body;
    uint64_t t0 = vx_mono_ns();
    long status = 0;
    int rc;

    if (c->f->turns[i].approve || c->f->turns[i].sandbox)
        return run_step(c, i);
    vx_buf_init(&body);
    rc = prepare_request(c, i, &req, &sess, &e);
    if (rc == 0)
        rc = apply_seed(c, i, req, &e);
    if (rc == 0)
        rc = send_request(c, i, req, &status, &body, &e);
    if (rc) {
        report_error(c, i, e.msg);
        rc = 1;
        goto out;
    }
    if (body.len)
        resp = json_tokener_parse(body.data);
    if (c->r->o.verbose) {
        char title[160];
        turn_title(c, i, title, sizeof(title));
        vx_buf_appendf(&c->notes, "%s: HTTP %ld in %.0f ms\n", title, status,
                       (double)(vx_mono_ns() - t0) / 1e6);
        note_said(&c->notes, resp);
    }
    if (status == 200 && resp)
        note_warnings(c, i, resp, body.len);
    rc = c->r->o.update ? update_turn(c, i, req, status, resp)
                        : check_turn(c, i, req, status, resp, &body);
    if (rc < 0) {
        report_error(c, i, "out of memory");
        rc = 1;
    }
    if (rc && c->r->o.verbose) {
        vx_buf_appends(&c->report, "  request sent:\n");
        append_indented(&c->report, pretty(req), "    ");
        vx_buf_appendf(&c->report, "  response (HTTP %ld):\n", status);
        append_indented(&c->report, resp ? pretty(resp) : body.data ? body.data : "", "    ");
    }
    follow_session(sess, req, resp);
out:
    json_object_put(req);
    json_object_put(resp);
    vx_buf_release(&body);
    return rc;
}

/* --- one conversation --- */

static int conv_vars(struct conv_run *c, struct vx_err *e)
{
    const char *skill = c->r->o.skill_id ? c->r->o.skill_id
                        : c->f->skill_id ? c->f->skill_id
                                         : CLI_DEFAULT_SKILL;
    char v[128];
    int rc = 0;

    cli_vars_init(&c->vars);
    fresh_id(v, sizeof(v), "amzn1.ask.account.REPLAY", 1);
    rc |= cli_vars_set(&c->vars, "USER", v, 1);
    fresh_id(v, sizeof(v), "amzn1.ask.device.REPLAY", 1);
    rc |= cli_vars_set(&c->vars, "DEVICE_ID", v, 1);
    rc |= cli_vars_set(&c->vars, "SKILL_ID", skill, 0);
    rc |= cli_vars_set(&c->vars, "LOCALE", c->f->locale ? c->f->locale : CLI_DEFAULT_LOCALE, 0);
    fresh_id(v, sizeof(v), "replay-access-token-", 0);
    rc |= cli_vars_set(&c->vars, "ACCESS_TOKEN", v, 1);
    fresh_id(v, sizeof(v), "replay-api-access-token-", 0);
    rc |= cli_vars_set(&c->vars, "API_ACCESS_TOKEN", v, 1);
    fresh_id(v, sizeof(v), "replay-consent-token-", 0);
    rc |= cli_vars_set(&c->vars, "CONSENT_TOKEN", v, 1);
    fresh_id(v, sizeof(v), "amzn1.echo-api.session.replay-", 0);
    rc |= cli_vars_set(&c->vars, "SESSION_ID", v, 1);
    return rc ? vx_err_set(e, VX_ERANGE, "skill ID too long") : 0;
}

/*
 * --update of one locale of a "locales" file: its changes merged into the file as it is on
 * disk now (an earlier locale of this run may have written it), which is written back.
 */
static int write_locale_update(const struct cli_fixture *f, struct vx_err *e)
{
    struct json_object *written = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc, changed = 0;

    rc = vx_file_read(f->path, CLI_FIXTURE_MAX, &text, &len, e);
    if (rc == 0)
        rc = cli_json_parse(f->path, text, len, &written, e);
    free(text);
    if (rc)
        return rc;
    rc = cli_locales_merge(written, f, &changed);
    if (rc)
        rc = vx_err_set(e, rc, "%s: cannot merge the update of %s: the file changed", f->path,
                        f->locale);
    else if (changed)
        rc = vx_json_write_atomic(f->path, written, 0644, e);
    json_object_put(written);
    return rc;
}

static enum cli_outcome run_conversation(struct replay *r, struct cli_fixture *f,
                                         struct conv_run *c)
{
    struct vx_err e = {0};
    int failed = 0;

    c->r = r;
    c->f = f;
    if (conv_vars(c, &e) != 0) {
        vx_buf_appendf(&c->report, "%s\n", e.msg);
        return CLI_FAILED;
    }
    for (size_t i = 0; i < f->nturns; i++) {
        /* a check stops at the first mismatch; an update re-bases every turn and stops only
         * when a turn could not be played at all */
        if (run_turn(c, i) != 0) {
            failed = 1;
            break;
        }
    }
    sessions_release(c);
    if (failed || c->report.len)
        return CLI_FAILED;
    if (r->o.update && c->changed) {
        if (f->written ? write_locale_update(f, &e) != 0
                       : vx_json_write_atomic(f->path, f->doc, 0644, &e) != 0) {
            vx_buf_appendf(&c->report, "%s\n", e.msg);
            return CLI_FAILED;
        }
        r->updated++;
        return CLI_UPDATED;
    }
    return CLI_PASSED;
}

/* --- the run --- */

static int selected(const struct replay *r, const char *shown, const struct entry *en,
                    const struct cli_fixture *f)
{
    const char *k = r->o.keyword;
    return !k || strstr(shown, k) || strstr(en->path, k) || (f->name && strstr(f->name, k));
}

static int write_junit(const char *path, const struct cli_result *res, size_t n, double secs)
{
    struct vx_buf xml;
    FILE *fh = NULL;
    int rc = 0;

    vx_buf_init(&xml);
    if (cli_junit_render(res, n, secs, &xml) != 0) {
        cli_error("replay", "out of memory writing '%s'", path);
        rc = CLI_FAIL;
        goto out;
    }
    fh = fopen(path, "w");
    if (!fh || fwrite(xml.data, 1, xml.len, fh) != xml.len) {
        cli_error("replay", "cannot write '%s': %s", path, strerror(errno));
        rc = CLI_FAIL;
        goto out;
    }
out:
    if (fh && fclose(fh) != 0 && rc == 0) {
        cli_error("replay", "cannot write '%s': %s", path, strerror(errno));
        rc = CLI_FAIL;
    }
    vx_buf_release(&xml);
    return rc;
}

/* One conversation through the run: loaded, selected, played, reported. A file with a
 * "locales" table is one item per locale, shown as "ordering/x.json (de-DE)". */
struct replay_item {
    const struct entry *en;
    char *shown;
    struct cli_fixture f;
    struct vx_err load_err; /* code 0 when the file loaded */
    int selected;
    struct cli_result res;
    struct vx_buf report, notes;
};

struct item_list {
    struct replay_item *v;
    size_t n, cap;
};

static struct replay_item *item_add(struct item_list *items, const struct entry *en,
                                    const char *locale)
{
    struct replay_item *it;
    size_t len = strlen(en->shown) + (locale ? strlen(locale) + 4 : 0) + 1;

    if (items->n == items->cap) {
        size_t cap = items->cap ? 2 * items->cap : 16;
        struct replay_item *v = realloc(items->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        items->v = v;
        items->cap = cap;
    }
    it = &items->v[items->n];
    memset(it, 0, sizeof(*it));
    it->shown = malloc(len);
    if (!it->shown)
        return NULL;
    if (locale)
        snprintf(it->shown, len, "%s (%s)", en->shown, locale);
    else
        snprintf(it->shown, len, "%s", en->shown);
    it->en = en;
    vx_buf_init(&it->report);
    vx_buf_init(&it->notes);
    items->n++;
    return it;
}

/* Loads every listed file (each locale of it) before anything is sent; returns how many
 * are selected, or -1 when out of memory. */
static long load_items(const struct replay *r, const struct entry_list *l, struct item_list *items)
{
    long total = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct replay_item *it = item_add(items, &l->v[i], NULL);
        size_t first = items->n - 1, nloc;
        if (!it)
            return -1;
        cli_fixture_load(l->v[i].path, &it->f, &it->load_err);
        nloc = it->f.nlocales;
        for (size_t k = 0; k < nloc; k++) {
            /* the first locale is the load above; the table is read again for each */
            const char *loc = items->v[first].f.locales[k];
            if (k == 0) {
                size_t len = strlen(l->v[i].shown) + strlen(loc) + 4;
                char *shown = malloc(len);
                if (!shown)
                    return -1;
                snprintf(shown, len, "%s (%s)", l->v[i].shown, loc);
                free(items->v[first].shown);
                items->v[first].shown = shown;
                continue;
            }
            it = item_add(items, &l->v[i], loc);
            if (!it)
                return -1;
            cli_fixture_load_locale(l->v[i].path, loc, &it->f, &it->load_err);
        }
    }
    for (size_t i = 0; i < items->n; i++) {
        items->v[i].selected = selected(r, items->v[i].shown, items->v[i].en, &items->v[i].f);
        total += items->v[i].selected != 0;
    }
    return total;
}

static void play_item(struct replay *r, struct replay_item *it)
{
    struct conv_run c;
    uint64_t t0 = vx_mono_ns();

    memset(&c, 0, sizeof(c));
    vx_buf_init(&c.report);
    vx_buf_init(&c.notes);
    it->res.file = it->shown;
    if (it->load_err.code == 0) {
        it->res.name = it->f.name;
        it->res.outcome = run_conversation(r, &it->f, &c);
    } else {
        it->res.outcome = CLI_BROKEN;
        vx_buf_appendf(&c.report, "%s\n", it->load_err.msg);
    }
    it->report = c.report;
    it->notes = c.notes;
    it->res.message = it->report.data;
    it->res.output = it->notes.data;
    it->res.seconds = (double)(vx_mono_ns() - t0) / 1e9;
}

static void print_item(const struct replay_item *it, size_t n, size_t total)
{
    static const char *const tags[] = {"ok", "upd", "FAIL", "FAIL"};
    printf("[%zu/%zu] %-4s %s\n", n, total, tags[it->res.outcome], it->shown);
    print_indented(it->notes.data);
    print_indented(it->report.data);
    fflush(stdout);
}

static int run_all(struct replay *r, const struct entry_list *l)
{
    struct item_list list = {0};
    struct replay_item *items;
    struct cli_result *res = NULL;
    size_t total, done = 0, passed = 0, failed = 0;
    uint64_t t0 = vx_mono_ns();
    int status = CLI_OK;
    long loaded = load_items(r, l, &list);

    items = list.v;
    total = loaded > 0 ? (size_t)loaded : 0;
    res = loaded < 0 ? NULL : calloc(total ? total : 1, sizeof(*res));
    if (!res) {
        cli_error("replay", "out of memory");
        status = CLI_FAIL;
        goto out;
    }
    for (size_t i = 0; i < list.n; i++) {
        if (!items[i].selected)
            continue;
        play_item(r, &items[i]);
        res[done++] = items[i].res;
        if (items[i].res.outcome == CLI_PASSED || items[i].res.outcome == CLI_UPDATED)
            passed++;
        else
            failed++;
        print_item(&items[i], done, total);
    }
    if (r->updated)
        printf("%zu updated\n", r->updated);
    if (r->warnings)
        printf("%zu warning%s\n", r->warnings, r->warnings == 1 ? "" : "s");
    printf("%zu passed, %zu failed\n", passed, failed);
    if (total == 0)
        cli_error("replay", "no conversation selected%s%s%s", r->o.keyword ? " by '" : "",
                  r->o.keyword ? r->o.keyword : "", r->o.keyword ? "'" : "");
    status = failed || total == 0 ? CLI_FAIL : CLI_OK;
    if (r->o.junit && write_junit(r->o.junit, res, done, (double)(vx_mono_ns() - t0) / 1e9) != 0)
        status = CLI_FAIL;
out:
    for (size_t i = 0; i < list.n; i++) {
        cli_fixture_release(&items[i].f);
        vx_buf_release(&items[i].report);
        vx_buf_release(&items[i].notes);
        free(items[i].shown);
    }
    free(items);
    free(res);
    return status;
}

/* --- import --- */

static int import_one(const char *outdir, const char *file)
{
    struct json_object *in = NULL, *fixture = NULL;
    struct cli_fixture check;
    struct vx_err e = {0};
    char out[PATH_MAX], name[256];
    const char *base = strrchr(file, '/');
    char *text = NULL;
    size_t len = 0, n;
    int rc;

    memset(&check, 0, sizeof(check));
    base = base ? base + 1 : file;
    n = strlen(base);
    if (ends_with(base, ".json"))
        n -= 5;
    if (n == 0 || n >= sizeof(name)) {
        cli_error("replay", "cannot name a fixture after '%s'", file);
        return CLI_FAIL;
    }
    memcpy(name, base, n);
    name[n] = '\0';
    if (vx_snprintf(out, sizeof(out), "%s/%s.json", outdir, name) != 0) {
        cli_error("replay", "path '%s/%s.json' is too long", outdir, name);
        return CLI_FAIL;
    }
    if (access(out, F_OK) == 0) {
        cli_error("replay", "'%s' exists already; remove it to import '%s' again", out, file);
        return CLI_FAIL;
    }
    rc = vx_file_read(file, CLI_FIXTURE_MAX, &text, &len, &e);
    if (rc == 0)
        rc = cli_json_parse(file, text, len, &in, &e);
    if (rc == 0)
        rc = cli_import_convert(in, file, name, &fixture, &e);
    /* what import writes must load as a fixture: check before it lands on disk */
    if (rc == 0) {
        const char *s = json_object_to_json_string_ext(fixture, JSON_C_TO_STRING_PLAIN);
        rc = cli_fixture_parse(out, s, strlen(s), &check, &e);
    }
    if (rc == 0)
        rc = vx_json_write_atomic(out, fixture, 0644, &e);
    if (rc == 0)
        printf("imported %s -> %s (%zu turn%s)\n", file, out, check.nturns,
               check.nturns == 1 ? "" : "s");
    else
        cli_error("replay", "%s", e.msg);
    cli_fixture_release(&check);
    json_object_put(in);
    json_object_put(fixture);
    free(text);
    return rc ? CLI_FAIL : CLI_OK;
}

static int import_all(const char *outdir, int argc, char **argv)
{
    int status = CLI_OK;

    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        cli_error("replay", "cannot create '%s': %s", outdir, strerror(errno));
        return CLI_FAIL;
    }
    for (int i = 0; i < argc; i++)
        if (import_one(outdir, argv[i]) != CLI_OK)
            status = CLI_FAIL;
    return status;
}

/* --- options --- */

static const char replay_usage[] =
    "usage: voxcart replay [options] FILE|DIR...\n"
    "       voxcart replay --import OUTDIR RECORDING...\n"
    "\n"
    "Plays conversation fixtures (README, \"Conversation fixtures\") against a running\n"
    "voxcartd as the voice platform would: variables substituted, timestamps set to now,\n"
    "session IDs made fresh, session attributes carried forward, every request signed with\n"
    "the development CA. Directories are searched for *.json (names starting with '.' or '_'\n"
    "are skipped). Prints one line per conversation, the first difference of each failure,\n"
    "warnings about what the platform would refuse later, and \"N passed, N failed\".\n"
    "Exit status: 0 all passed, 1 a conversation failed or could not be read, 2 bad usage.\n"
    "\n"
    "options:\n"
    "  -u, --url URL        the skill endpoint (default " REPLAY_DEFAULT_URL ")\n"
    "  -d, --dir DIR        development CA directory (default " REPLAY_DEFAULT_DIR ")\n"
    "      --unsigned       send no signature headers (voxcartd in development mode)\n"
    "      --clock-offset OFFSET\n"
    "                       stamp requests as if the clock were moved by OFFSET (86400,\n"
    "                       +1d, -2h, 90m): for voxcartd in development mode with the\n"
    "                       same VOXCART_CLOCK_OFFSET\n"
    "      --redis URL      Redis for seeds and store expectations (default $VOXCART_REDIS_URL,\n"
    "                       else " REPLAY_DEFAULT_REDIS ")\n"
    "      --keyword WORD   only conversations whose file path or name contains WORD\n"
    "      --update         rewrite the expectations of each fixture from the actual answers\n"
    "                       (patterns that still match are kept); review the diff afterwards\n"
    "      --junit FILE     also write a JUnit XML report to FILE\n"
    "      --skill-id ID    the skill ID for %SKILL_ID% (default: the fixture's skill_id,\n"
    "                       else " CLI_DEFAULT_SKILL ")\n"
    "      --cacert FILE    trust anchors for https (default DIR/" VX_DEVCA_ROOT ")\n"
    "  -k, --insecure       do not check the server's certificate\n"
    "      --import OUTDIR  turn recordings of the platform's tools (ask dialog\n"
    "                       --save-skill-io, simulation results, arrays of request/response\n"
    "                       pairs) into fixtures in OUTDIR, with personal data replaced\n"
    "  -v, --verbose        show every turn, and the request and answer of a failure\n"
    "  -h, --help           show this help\n"
    "\n"
    "examples:\n"
    "  voxcart replay --dir devca tests/fixtures\n"
    "  voxcart replay --url http://127.0.0.1:8080/alexa --unsigned --keyword de-DE fixtures/\n"
    "  voxcart replay --import fixtures/imported dialog-io.json\n";

enum {
    OPT_UNSIGNED = 256,
    OPT_CLOCK_OFFSET,
    OPT_REDIS,
    OPT_KEYWORD,
    OPT_UPDATE,
    OPT_JUNIT,
    OPT_SKILL_ID,
    OPT_CACERT,
    OPT_IMPORT,
};

static const struct option replay_options[] = {
    {"url", required_argument, NULL, 'u'},
    {"dir", required_argument, NULL, 'd'},
    {"unsigned", no_argument, NULL, OPT_UNSIGNED},
    {"clock-offset", required_argument, NULL, OPT_CLOCK_OFFSET},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"keyword", required_argument, NULL, OPT_KEYWORD},
    {"update", no_argument, NULL, OPT_UPDATE},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"skill-id", required_argument, NULL, OPT_SKILL_ID},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, 'k'},
    {"import", required_argument, NULL, OPT_IMPORT},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, or the exit status (help shown, usage error). */
static int replay_parse(int argc, char **argv, struct replay_opts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    o->url = REPLAY_DEFAULT_URL;
    o->dir = REPLAY_DEFAULT_DIR;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":u:d:kvh", replay_options, NULL)) != -1) {
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case OPT_UNSIGNED:
            o->no_signature = 1;
            break;
        case OPT_CLOCK_OFFSET:
            o->clock_offset = optarg;
            break;
        case OPT_REDIS:
            o->redis = optarg;
            break;
        case OPT_KEYWORD:
            o->keyword = optarg;
            break;
        case OPT_UPDATE:
            o->update = 1;
            break;
        case OPT_JUNIT:
            o->junit = optarg;
            break;
        case OPT_SKILL_ID:
            o->skill_id = optarg;
            break;
        case OPT_CACERT:
            o->cacert = optarg;
            break;
        case 'k':
            o->insecure = 1;
            break;
        case OPT_IMPORT:
            o->import_dir = optarg;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            fputs(replay_usage, stdout);
            return CLI_OK;
        default:
            return cli_bad_option("replay", c, argc, argv);
        }
    }
    if (o->insecure && o->cacert)
        return cli_usage_error("replay", "--insecure and --cacert exclude each other");
    if (o->import_dir && (o->update || o->junit || o->keyword))
        return cli_usage_error("replay", "--import only converts: it takes no --update, --junit "
                                         "or --keyword");
    if (o->clock_offset) {
        int64_t off;
        if (vx_clock_offset_parse(o->clock_offset, &off) != 0)
            return cli_usage_error("replay",
                                   "--clock-offset: '%s' is not seconds, or a number with s, m, "
                                   "h or d (at most ten years)",
                                   o->clock_offset);
        /* timestamps, %NOW% and %TODAY% of every turn follow the moved clock */
        vx_clock_set_offset(off);
    }
    if (o->keyword && !*o->keyword)
        return cli_usage_error("replay", "--keyword needs a non-empty word");
    if (optind >= argc)
        return cli_usage_error("replay", o->import_dir ? "no recording to import"
                                                       : "no fixture file or directory given");
    return -1;
}

int cli_cmd_replay(int argc, char **argv)
{
    struct replay r;
    struct entry_list l;
    struct vx_err e = {0};
    int status;

    memset(&r, 0, sizeof(r));
    memset(&l, 0, sizeof(l));
    status = replay_parse(argc, argv, &r.o);
    if (status >= 0)
        return status;
    if (r.o.import_dir)
        return import_all(r.o.import_dir, argc - optind, argv + optind);
    if (list_args(&l, argc - optind, argv + optind, &e) != 0) {
        status = cli_usage_error("replay", "%s", e.msg);
        goto out;
    }
    if (!r.o.no_signature && cli_load_signing_key(r.o.dir, &r.key, &e) != 0) {
        cli_error("replay", "%s", e.msg);
        status = CLI_FAIL;
        goto out;
    }
    r.cacert = r.o.cacert;
    if (!r.cacert && !r.o.insecure && strncasecmp(r.o.url, "https:", 6) == 0 &&
        vx_snprintf(r.cacert_buf, sizeof(r.cacert_buf), "%s/%s", r.o.dir, VX_DEVCA_ROOT) == 0 &&
        access(r.cacert_buf, R_OK) == 0)
        r.cacert = r.cacert_buf;
    status = run_all(&r, &l);
out:
    if (r.store_ready)
        vx_store_shutdown();
    EVP_PKEY_free(r.key);
    list_release(&l);
    return status;
}
