/*
 * Recording live sessions as conversation fixtures (record.dir). A developer
 * talks to the skill, then finds each session in the directory as a fixture
 * `voxcart replay` plays back: the requests with personal data replaced by
 * placeholders, and the full response of each turn as its expectation.
 *
 * DESIGN
 * - One file per session, named from the date the session started and a hash
 *   of its session ID ("2026-11-24-1f3a9c0d5e7b2a46.json"), so the name tells
 *   nothing about the session and a session running past midnight stays in
 *   one file: the file is found by the hash, whatever its date.
 * - Each turn is read-modify-write of the whole file under one mutex and
 *   written through a temporary file and rename(2): a reader (or a crash)
 *   never sees half a fixture. Recording is a development feature; the mutex
 *   serialises only recording requests, after their answer is rendered.
 * - Requests and responses are redacted by vx_redact_exchange, the same code
 *   `voxcart replay --import` uses. The session ID stays: replay maps every
 *   session ID to a fresh one anyway, and it keeps the turns of a session
 *   together.
 * - Values the run made (order and payment IDs, times, dates near today)
 *   become run variables (vx_runvars_templatize): %ORDER_ID% where an answer
 *   first shows an order, and the same %ORDER_ID% wherever that order comes
 *   back, in a later answer or in a request (a token naming it). Which real
 *   value got which name must outlive one request and a restart of voxcartd,
 *   and must not be in the fixture, so it is kept beside it in a hidden file
 *   ".DATE-HASH.vars.json" that replay's directory walk skips.
 * - The platform answers a payment directive in a new session, and a customer
 *   who paid by a pay link comes back in a new one to order again. A session
 *   without a file of its own is recorded into the recording it continues: the
 *   one that named a value the request carries (the directive's token), else
 *   the customer's own written within the last RECORD_JOIN_S (the customer is
 *   kept in the sidecar as a hash). It is listed in the sidecar so its further
 *   turns follow; replay plays all of them for one customer, so the order a
 *   token names exists and the payment method approved earlier is saved.
 * - Approving a pay link happens at the provider, not in a request: the
 *   janitor tells the recorder when it settled an approved link
 *   (record_approval), and the recording that showed the link gets an
 *   "approve" step (replay approves in the buyer's place on the sandbox's page)
 *   whose expectation waits for the order's outcome.
 * - A failure to record is logged and nothing else: the customer's answer
 *   never depends on it.
 */
#include "record.h"

#include "voxcart/envelope.h"
#include "voxcart/janitor.h"
#include "voxcart/json.h"
#include "voxcart/log.h"
#include "voxcart/recording.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/sha.h>

#define RECORD_HASH_HEX 16
#define RECORD_MAX_FILE (8u * 1024 * 1024)

static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int announced;

int record_init(const struct vx_config *cfg, struct vx_err *e)
{
    const char *dir = cfg->record_dir;
    struct stat st;

    if (!dir[0])
        return 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return vx_err_set(e, VX_ECONFIG, "record.dir: cannot create '%s': %s", dir,
                          strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return vx_err_set(e, VX_ECONFIG, "record.dir: '%s' is not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return vx_err_set(e, VX_ECONFIG, "record.dir: cannot write into '%s': %s", dir,
                          strerror(errno));
    if (!atomic_exchange(&announced, 1))
        vx_warn("record",
                "RECORDING: every verified request and its response is written as a fixture "
                "into '%s' (personal data replaced by placeholders)",
                dir);
    return 0;
}

/* The first RECORD_HASH_HEX hex digits of SHA-256(id). */
static void id_hash(const char *id, char out[RECORD_HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)id, strlen(id), md);
    for (int i = 0; i < RECORD_HASH_HEX / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[RECORD_HASH_HEX] = '\0';
}

/* The session's file: an existing "DATE-HASH.json", else a new one dated today. */
static int session_file(const char *dir, const char *hash, char *out, size_t outsz, int *exists)
{
    char suffix[RECORD_HASH_HEX + 8], date[16];
    time_t now = (time_t)vx_now();
    struct dirent *d;
    struct tm tm;
    DIR *dh;

    *exists = 0;
    vx_snprintf(suffix, sizeof(suffix), "-%s.json", hash);
    dh = opendir(dir);
    if (!dh)
        return VX_EIO;
    while ((d = readdir(dh)) != NULL) {
        size_t n = strlen(d->d_name), m = strlen(suffix);
        if (n == 10 + m && strcmp(d->d_name + 10, suffix) == 0) {
            *exists = 1;
            break;
        }
    }
    if (*exists) {
        int rc = vx_snprintf(out, outsz, "%s/%s", dir, d->d_name);
        closedir(dh);
        return rc;
    }
    closedir(dh);
    if (!gmtime_r(&now, &tm) || strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
        return VX_ERANGE;
    return vx_snprintf(out, outsz, "%s/%s%s", dir, date, suffix);
}

static struct json_object *new_fixture(const char *hash, const char *skill_id)
{
    struct json_object *doc = json_object_new_object();
    char name[64], desc[224], when[32];
    time_t now = (time_t)vx_now();
    struct tm tm;

    if (!doc)
        return NULL;
    if (!gmtime_r(&now, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        vx_strlcpy(when, "an unknown time", sizeof(when));
    vx_snprintf(name, sizeof(name), "recorded session %s", hash);
    vx_snprintf(desc, sizeof(desc),
                "recorded by voxcartd %s from %s; personal data replaced by placeholders, "
                "values of the run by run variables",
                VX_VERSION, when);
    json_object_object_add(doc, "name", json_object_new_string(name));
    json_object_object_add(doc, "description", json_object_new_string(desc));
    if (skill_id)
        json_object_object_add(doc, "skill_id", json_object_new_string(skill_id));
    json_object_object_add(doc, "turns", json_object_new_array());
    return doc;
}

/* The fixture as it is on disk; a file that is not one is left alone. */
static int load_fixture(const char *path, struct json_object **doc, struct vx_err *e)
{
    struct json_object *turns = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = vx_file_read(path, RECORD_MAX_FILE, &text, &len, e);

    if (rc)
        return rc;
    *doc = json_tokener_parse(text);
    free(text);
    if (!json_object_object_get_ex(*doc, "turns", &turns) ||
        !json_object_is_type(turns, json_type_array)) {
        json_object_put(*doc);
        *doc = NULL;
        return vx_err_set(e, VX_EPARSE, "'%s' is not a fixture any more; not touching it", path);
    }
    return 0;
}

/*
 * What the recorder remembers of a fixture beside it: which value got which
 * name, and the sessions (by hash) recorded into it besides the one it is
 * named after. The platform answers a payment directive in a new session;
 * that session belongs to the conversation whose answer named what it carries.
 */
#define RECORD_SESSIONS_MAX 16
/* A customer's new session joins their recording written this recently (the conversation's
 * time to live): one sitting, with its pay link approved in between, is one fixture. */
#define RECORD_JOIN_S 3600
/* How long the approve step waits for the janitor: six of its passes at the default interval. */
#define RECORD_APPROVE_WAIT_MS 30000

struct sidecar {
    struct vx_runvar_names names;
    char sessions[RECORD_SESSIONS_MAX][RECORD_HASH_HEX + 1];
    size_t nsessions;
    char user[RECORD_HASH_HEX + 1]; /* the customer's hash, "" in an older sidecar */
};

/* The sidecar of a fixture path: "dir/.NAME.vars.json" for "dir/NAME.json". */
static int sidecar_path(const char *fixture, char *out, size_t outsz)
{
    const char *slash = strrchr(fixture, '/');
    const char *base = slash ? slash + 1 : fixture;
    size_t stem = strlen(base) - strlen(".json");

    return vx_snprintf(out, outsz, "%.*s.%.*s.vars.json", (int)(base - fixture), fixture, (int)stem,
                       base);
}

/* The sidecar as stored; empty when there is none yet. */
static void sidecar_load(const char *path, struct sidecar *sc)
{
    struct json_object *doc, *names = NULL, *sessions = NULL;
    struct vx_err e = {0};
    char *text = NULL;

    vx_runvar_names_init(&sc->names);
    sc->nsessions = 0;
    sc->user[0] = '\0';
    if (access(path, F_OK) != 0 || vx_file_read(path, RECORD_MAX_FILE, &text, NULL, &e) != 0)
        return;
    doc = json_tokener_parse(text);
    free(text);
    if (json_object_object_get_ex(doc, "names", &names) &&
        json_object_is_type(names, json_type_object)) {
        json_object_object_foreach(names, name, val)
        {
            if (json_object_is_type(val, json_type_string))
                vx_runvar_names_set(&sc->names, name, json_object_get_string(val));
        }
    }
    if (json_object_object_get_ex(doc, "sessions", &sessions) &&
        json_object_is_type(sessions, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(sessions); i++) {
            const char *h = json_object_get_string(json_object_array_get_idx(sessions, i));
            if (sc->nsessions < RECORD_SESSIONS_MAX && h && strlen(h) == RECORD_HASH_HEX)
                vx_strlcpy(sc->sessions[sc->nsessions++], h, RECORD_HASH_HEX + 1);
        }
    }
    {
        const char *u = vx_json_get_str(doc, "user");
        if (u && strlen(u) == RECORD_HASH_HEX)
            vx_strlcpy(sc->user, u, sizeof(sc->user));
    }
    json_object_put(doc);
}

static int sidecar_has_session(const struct sidecar *sc, const char *hash)
{
    for (size_t i = 0; i < sc->nsessions; i++)
        if (strcmp(sc->sessions[i], hash) == 0)
            return 1;
    return 0;
}

static int sidecar_save(const char *path, const struct sidecar *sc, struct vx_err *e)
{
    struct json_object *doc = json_object_new_object(), *names = json_object_new_object();
    struct json_object *sessions = json_object_new_array();
    int rc;

    if (!doc || !names || !sessions) {
        json_object_put(doc);
        json_object_put(names);
        json_object_put(sessions);
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < sc->names.n; i++)
        json_object_object_add(names, sc->names.v[i].name,
                               json_object_new_string(sc->names.v[i].value));
    for (size_t i = 0; i < sc->nsessions; i++)
        json_object_array_add(sessions, json_object_new_string(sc->sessions[i]));
    json_object_object_add(doc, "names", names);
    json_object_object_add(doc, "sessions", sessions);
    if (sc->user[0])
        json_object_object_add(doc, "user", json_object_new_string(sc->user));
    rc = vx_json_write_atomic(path, doc, 0600, e);
    json_object_put(doc);
    return rc;
}

/* 1 when body names one of the values, standing alone. */
static int body_names_one(const char *body, size_t len, const struct vx_runvar_names *names)
{
    for (size_t i = 0; i < names->n; i++) {
        const char *v = names->v[i].value;
        size_t n = strlen(v);
        /* a JSON body ends in '}': a value never touches its end, so off + n + 1 < len */
        for (size_t off = 0; n && off + n + 1 < len; off++)
            if (body[off] == v[0] && memcmp(body + off, v, n) == 0 &&
                vx_runvar_bounded(body, off, n))
                return 1;
    }
    return 0;
}

/* The customer's hash: skill and user ID, which the recording itself never keeps. */
static void user_hash(const char *skill, const char *user, char out[RECORD_HASH_HEX + 1])
{
    char both[600];

    vx_snprintf(both, sizeof(both), "%s\n%s", skill ? skill : "", user ? user : "");
    id_hash(both, out);
}

/* What a recording must show to be the one a session or an approval continues. */
struct follow {
    const char *session; /* the session's hash, listed in the sidecar */
    const char *body;    /* a request naming one of its values */
    size_t body_len;
    const char *user;     /* the customer's hash, with a recent enough file */
    const char *checkout; /* a checkout session whose pay link it named */
};

/* The name of the newest pay link among names that names the checkout session. */
static const char *pay_link_name(const struct vx_runvar_names *names, const char *session_id)
{
    const char *name = NULL;

    for (size_t i = 0; i < names->n; i++) {
        const struct vx_runvar_kind *k =
            vx_runvar_kind_of(names->v[i].name, strlen(names->v[i].name));
        if (k && strcmp(k->name, "PAY_LINK") == 0 && strstr(names->v[i].value, session_id))
            name = names->v[i].name;
    }
    return name;
}

static int follows(const struct follow *f, const struct sidecar *sc, time_t mtime)
{
    if (f->session && sidecar_has_session(sc, f->session))
        return 1;
    if (f->body && body_names_one(f->body, f->body_len, &sc->names))
        return 1;
    if (f->checkout && pay_link_name(&sc->names, f->checkout))
        return 1;
    return f->user && sc->user[0] && strcmp(sc->user, f->user) == 0 &&
           time(NULL) - mtime <= RECORD_JOIN_S;
}

/*
 * The fixture of the conversation f continues: the newest one whose sidecar
 * shows what f asks for. *found stays 0 when there is none.
 */
static void follow_up_file(const char *dir, const struct follow *f, struct sidecar *tmp, char *out,
                           size_t outsz, int *found)
{
    time_t newest = 0;
    struct dirent *d;
    DIR *dh = opendir(dir);

    if (!dh)
        return;
    while ((d = readdir(dh)) != NULL) {
        char side[PATH_MAX], fixture[PATH_MAX];
        size_t n = strlen(d->d_name), tail = strlen(".vars.json");
        struct stat st;

        if (d->d_name[0] != '.' || n <= tail + 1 || strcmp(d->d_name + n - tail, ".vars.json") != 0)
            continue;
        if (vx_snprintf(side, sizeof(side), "%s/%s", dir, d->d_name) != 0 ||
            vx_snprintf(fixture, sizeof(fixture), "%s/%.*s.json", dir, (int)(n - tail - 1),
                        d->d_name + 1) != 0 ||
            stat(fixture, &st) != 0 || (*found && st.st_mtime < newest))
            continue;
        sidecar_load(side, tmp);
        if (follows(f, tmp, st.st_mtime)) {
            vx_strlcpy(out, fixture, outsz);
            newest = st.st_mtime;
            *found = 1;
        }
    }
    closedir(dh);
}

/*
 * The turn to append: the request and the status and response it got, with
 * personal data redacted and run values named. In the request only values
 * already named (and dates) are replaced: a new ID the platform sends is not
 * voxcart's to name; the answer names what it shows first.
 */
static struct json_object *make_turn(const struct vx_request *req, const struct server_reply *out,
                                     struct vx_runvar_names *names, struct vx_err *e)
{
    struct json_object *request = NULL, *response = NULL, *turn = NULL, *expect;
    char label[160];

    {
        /* the request as it came, as a tree the redaction can change */
        struct json_tokener *tok = json_tokener_new();
        if (tok)
            request = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
        json_tokener_free(tok);
    }
    if (!request) {
        vx_err_set(e, VX_ENOMEM, "cannot copy the request");
        goto out;
    }
    if (out->body.len)
        response = json_tokener_parse(out->body.data);
    if (vx_redact_exchange(request, response, e) != 0 ||
        vx_runvars_templatize(request, names, VX_RUNVARS_DATES, vx_now(), e) != 0 ||
        (response &&
         vx_runvars_templatize(response, names,
                               VX_RUNVARS_DISCOVER | VX_RUNVARS_SHAPES | VX_RUNVARS_DATES, vx_now(),
                               e) != 0))
        goto out;
    vx_recording_label(request, label, sizeof(label));
    turn = json_object_new_object();
    expect = json_object_new_object();
    if (!turn || !expect) {
        json_object_put(expect);
        json_object_put(turn);
        turn = NULL;
        vx_err_set(e, VX_ENOMEM, "out of memory");
        goto out;
    }
    json_object_object_add(turn, "name", json_object_new_string(label));
    json_object_object_add(turn, "request", request);
    request = NULL;
    json_object_object_add(expect, "status", json_object_new_int(out->status));
    if (response) {
        json_object_object_add(expect, "response", response);
        response = NULL;
    }
    json_object_object_add(turn, "expect", expect);
out:
    json_object_put(request);
    json_object_put(response);
    return turn;
}

/*
 * Appends turn (taken over when it is appended: *turn is NULL then) to doc and writes the
 * sidecar, then the fixture: a fixture naming a value its sidecar does not know would get
 * it again.
 */
static int append_turn(const char *path, struct json_object *doc, const char *vars,
                       const struct sidecar *side, struct json_object **turn, struct vx_err *e)
{
    struct json_object *turns = NULL;
    int rc;

    json_object_object_get_ex(doc, "turns", &turns);
    if (json_object_array_add(turns, *turn) != 0)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    *turn = NULL;
    rc = sidecar_save(vars, side, e);
    return rc ? rc : vx_json_write_atomic(path, doc, 0600, e);
}

void record_turn(const struct server *s, const struct vx_request *req,
                 const struct server_reply *out)
{
    const char *dir = s->cfg.record_dir;
    struct json_object *turn = NULL, *doc = NULL;
    char hash[RECORD_HASH_HEX + 1], uhash[RECORD_HASH_HEX + 1], path[PATH_MAX], vars[PATH_MAX];
    struct sidecar *side = NULL;
    struct vx_err e = {0};
    int exists = 0, locked = 0;

    if (!dir[0])
        return;
    if (!atomic_load(&announced) && record_init(&s->cfg, &e) != 0)
        goto out;
    /* about 35 KiB each: on the heap, not on a worker's stack */
    side = malloc(2 * sizeof(*side));
    if (!side) {
        vx_err_set(&e, VX_ENOMEM, "out of memory");
        goto out;
    }
    /* sessionless requests (skill events) get a file each */
    id_hash(req->session_id ? req->session_id : req->request_id, hash);
    pthread_mutex_lock(&record_lock);
    locked = 1;
    if (session_file(dir, hash, path, sizeof(path), &exists) != 0) {
        vx_err_set(&e, VX_EIO, "cannot name a file in '%s'", dir);
        goto out;
    }
    user_hash(req->application_id, req->user_id, uhash);
    if (!exists) {
        struct follow f = {hash, req->body, req->body_len, uhash, NULL};
        follow_up_file(dir, &f, &side[1], path, sizeof(path), &exists);
    }
    if (sidecar_path(path, vars, sizeof(vars)) != 0) {
        vx_err_set(&e, VX_EIO, "cannot name a file in '%s'", dir);
        goto out;
    }
    sidecar_load(vars, side);
    turn = make_turn(req, out, &side->names, &e);
    if (!turn)
        goto out;
    if (exists && load_fixture(path, &doc, &e) != 0)
        goto out;
    if (!exists) {
        doc = new_fixture(hash, req->application_id);
        if (!doc) {
            vx_err_set(&e, VX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (!sidecar_has_session(side, hash) && side->nsessions < RECORD_SESSIONS_MAX)
        vx_strlcpy(side->sessions[side->nsessions++], hash, RECORD_HASH_HEX + 1);
    if (!side->user[0])
        vx_strlcpy(side->user, uhash, sizeof(side->user));
    if (append_turn(path, doc, vars, side, &turn, &e) == 0)
        vx_debug("record", "recorded request %s into '%s'", req->request_id, path);
out:
    free(side);
    if (locked)
        pthread_mutex_unlock(&record_lock);
    if (e.msg[0])
        vx_warn("record", "cannot record request %s: %s", req->request_id, e.msg);
    json_object_put(turn);
    json_object_put(doc);
}

/*
 * The approve step: what the buyer did on the provider's page, and the order's
 * outcome that replay waits for, both in the recording's run variables.
 */
static struct json_object *approval_turn(const char *link_name, const char *order_name,
                                         const char *state)
{
    struct json_object *turn = json_object_new_object(), *approve = json_object_new_object();
    struct json_object *expect = json_object_new_object(), *store = json_object_new_object();
    struct json_object *order = json_object_new_object();
    char v[VX_RUNVAR_NAME_MAX + 2];

    if (!turn || !approve || !expect || !store || !order) {
        json_object_put(turn);
        json_object_put(approve);
        json_object_put(expect);
        json_object_put(store);
        json_object_put(order);
        return NULL;
    }
    json_object_object_add(turn, "name", json_object_new_string("the buyer approves the pay link"));
    vx_snprintf(v, sizeof(v), "%%%s%%", link_name);
    json_object_object_add(approve, "link", json_object_new_string(v));
    json_object_object_add(turn, "approve", approve);
    json_object_object_add(expect, "status", json_object_new_int(200));
    vx_snprintf(v, sizeof(v), "%%%s%%", order_name);
    json_object_object_add(order, "id", json_object_new_string(v));
    json_object_object_add(order, "state", json_object_new_string(state));
    json_object_object_add(store, "last_order", order);
    json_object_object_add(expect, "store", store);
    json_object_object_add(expect, "within_ms", json_object_new_int(RECORD_APPROVE_WAIT_MS));
    json_object_object_add(turn, "expect", expect);
    return turn;
}

void record_approval(const struct vx_janitor_approval *a, void *arg)
{
    const struct server *s = arg;
    const char *dir = s->cfg.record_dir, *link, *order;
    struct json_object *turn = NULL, *doc = NULL;
    char path[PATH_MAX], vars[PATH_MAX];
    struct sidecar *side = NULL;
    struct vx_err e = {0};
    struct follow f = {NULL, NULL, 0, NULL, a->session_id};
    int found = 0;

    if (!dir[0])
        return;
    side = malloc(2 * sizeof(*side));
    if (!side) {
        vx_warn("record", "cannot record the approval of order %s: out of memory", a->order_id);
        return;
    }
    pthread_mutex_lock(&record_lock);
    follow_up_file(dir, &f, &side[1], path, sizeof(path), &found);
    if (!found || sidecar_path(path, vars, sizeof(vars)) != 0)
        goto out; /* an order of no recording: nothing to write */
    sidecar_load(vars, side);
    link = pay_link_name(&side->names, a->session_id);
    order = vx_runvar_names_name(&side->names, a->order_id);
    /* the pay link's answer does not say the order's ID: the step names it, and replay
     * captures it from the order it waits for */
    if (!order && vx_runvar_names_add(&side->names, vx_runvar_kind_of("ORDER_ID", 8), a->order_id,
                                      &order) != 0) {
        vx_err_set(&e, VX_ERANGE, "too many run values in '%s'", path);
        goto out;
    }
    turn = approval_turn(link, order, vx_order_state_name(a->to));
    if (!turn) {
        vx_err_set(&e, VX_ENOMEM, "out of memory");
        goto out;
    }
    if (load_fixture(path, &doc, &e) != 0)
        goto out;
    if (append_turn(path, doc, vars, side, &turn, &e) == 0)
        vx_debug("record", "recorded the approval of order %s into '%s'", a->order_id, path);
out:
    pthread_mutex_unlock(&record_lock);
    free(side);
    if (e.msg[0])
        vx_warn("record", "cannot record the approval of order %s: %s", a->order_id, e.msg);
    json_object_put(turn);
    json_object_put(doc);
}
