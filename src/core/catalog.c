/*
 * Catalog loading, validation and slot resolution. The catalog is parsed once
 * at start-up; its strings point into the json-c document kept in priv, and the
 * arrays built here are only read afterwards, so threads share it freely.
 *
 * Validation is strict because a catalog mistake would otherwise surface as a
 * customer hearing a wrong price: unknown fields, prices that are not
 * non-negative integers (a JSON 4.5 is refused: money is minor units), sizes a
 * product refers to but the catalog does not define, names missing in one of
 * the catalog's languages, duplicate IDs. Every error names the field by its
 * path, the way a reader of the file would look for it.
 */
#include "voxcart/json.h"
#include "voxcart/catalog.h"
#include "voxcart/calendar.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
    const char *file;
    struct vx_err *e;
};

static int fail(struct ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const char *path, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return vx_err_set(c->e, VX_ECONFIG, "%s: %s: %s", c->file, path, msg);
}

/* Catalog IDs become slot value IDs: lower-case letters, digits and '_'. */
static int valid_id(const char *s)
{
    if (!*s || strlen(s) > 40)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int valid_lang(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 3)
        return 0;
    for (; *s; s++)
        if (*s < 'a' || *s > 'z')
            return 0;
    return 1;
}

static int get_string(struct ctx *c, struct json_object *o, const char *key, const char *path,
                      int required, const char **out)
{
    struct json_object *v = vx_json_get(o, key);
    char p[200];
    *out = NULL;
    vx_snprintf(p, sizeof(p), "%s.%s", path, key);
    if (!v)
        return required ? fail(c, p, "missing") : 0;
    if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
        return fail(c, p, "must be a non-empty string");
    *out = json_object_get_string(v);
    return 0;
}

static int check_keys(struct ctx *c, struct json_object *o, const char *path,
                      const char *const *known)
{
    json_object_object_foreach(o, key, val)
    {
        size_t i;
        (void)val;
        for (i = 0; known[i]; i++)
            if (strcmp(known[i], key) == 0)
                break;
        if (!known[i]) {
            char p[200];
            vx_snprintf(p, sizeof(p), "%s.%s", path, key);
            return fail(c, p, "unknown field");
        }
    }
    return 0;
}

static int parse_words(struct ctx *c, struct json_object *o, const char *path,
                       struct vx_cat_names *n)
{
    static const char *const known[] = {"one", "other", "gender", "m", "f", "n", "synonyms", NULL};
    const char *gender = NULL;
    struct json_object *syn;
    char p[200];
    int rc;

    if (!json_object_is_type(o, json_type_object))
        return fail(c, path, "must be an object with \"one\" (and \"other\", \"synonyms\")");
    if ((rc = check_keys(c, o, path, known)) != 0 ||
        (rc = get_string(c, o, "one", path, 1, &n->words.one)) != 0 ||
        (rc = get_string(c, o, "other", path, 0, &n->words.other)) != 0 ||
        (rc = get_string(c, o, "m", path, 0, &n->words.forms[0])) != 0 ||
        (rc = get_string(c, o, "f", path, 0, &n->words.forms[1])) != 0 ||
        (rc = get_string(c, o, "n", path, 0, &n->words.forms[2])) != 0 ||
        (rc = get_string(c, o, "gender", path, 0, &gender)) != 0)
        return rc;
    if (gender) {
        if (strlen(gender) != 1 || !strchr("mfn", gender[0])) {
            vx_snprintf(p, sizeof(p), "%s.gender", path);
            return fail(c, p, "must be \"m\", \"f\" or \"n\"");
        }
        n->words.gender = gender[0];
    }
    syn = vx_json_get(o, "synonyms");
    if (syn) {
        size_t k = json_object_is_type(syn, json_type_array) ? json_object_array_length(syn) : 0;
        const char **v;
        vx_snprintf(p, sizeof(p), "%s.synonyms", path);
        if (!json_object_is_type(syn, json_type_array))
            return fail(c, p, "must be an array of strings");
        v = calloc(k ? k : 1, sizeof(*v));
        if (!v)
            return vx_err_set(c->e, VX_ENOMEM, "out of memory");
        n->synonyms = v;
        for (size_t i = 0; i < k; i++) {
            struct json_object *s = json_object_array_get_idx(syn, i);
            if (!json_object_is_type(s, json_type_string) || !*json_object_get_string(s)) {
                vx_snprintf(p, sizeof(p), "%s.synonyms[%zu]", path, i);
                return fail(c, p, "must be a non-empty string");
            }
            v[i] = json_object_get_string(s);
        }
        n->nsynonyms = k;
    }
    return 0;
}

/* names: {"<lang>": WORDS} with an entry for every catalog language and no other. */
static int parse_names(struct ctx *c, struct vx_catalog *cat, struct json_object *o,
                       const char *path, struct vx_cat_names **out, size_t *nout)
{
    char p[200];
    struct vx_cat_names *v;
    int rc;

    vx_snprintf(p, sizeof(p), "%s.names", path);
    if (!o)
        return fail(c, p, "missing");
    if (!json_object_is_type(o, json_type_object))
        return fail(c, p, "must be an object of language: names");
    v = calloc(cat->nlangs, sizeof(*v));
    if (!v)
        return vx_err_set(c->e, VX_ENOMEM, "out of memory");
    *out = v;
    *nout = cat->nlangs;
    {
        json_object_object_foreach(o, lang, val)
        {
            size_t i;
            (void)val;
            for (i = 0; i < cat->nlangs; i++)
                if (strcmp(cat->langs[i], lang) == 0)
                    break;
            if (i == cat->nlangs) {
                vx_snprintf(p, sizeof(p), "%s.names.%s", path, lang);
                return fail(c, p, "language not in merchant.name");
            }
        }
    }
    for (size_t i = 0; i < cat->nlangs; i++) {
        struct json_object *w = vx_json_get(o, cat->langs[i]);
        vx_snprintf(p, sizeof(p), "%s.names.%s", path, cat->langs[i]);
        if (!w)
            return fail(c, p,
                        "missing (every product, size and plan needs names in every language of "
                        "merchant.name)");
        v[i].lang = cat->langs[i];
        rc = parse_words(c, w, p, &v[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int get_amount(struct ctx *c, struct json_object *v, const char *path, int allow_negative,
                      int64_t *out)
{
    if (!json_object_is_type(v, json_type_int) || (!allow_negative && json_object_get_int64(v) < 0))
        return fail(c, path, "must be %s integer (minor units)",
                    allow_negative ? "an" : "a non-negative");
    *out = json_object_get_int64(v);
    if (*out > INT64_C(1000000000000) || *out < -INT64_C(1000000000000))
        return fail(c, path, "out of range");
    return 0;
}

static int parse_merchant(struct ctx *c, struct vx_catalog *cat, struct json_object *m)
{
    static const char *const known[] = {
        "id",         "name", "currency",  "environment", "voice_code_threshold",
        "simulation", "rail", "seller_id", "country",     "sandbox_email",
        "time_zone",  NULL};
    struct json_object *name, *v;
    const char *cur = NULL, *env = NULL, *rail = NULL;
    int rc;

    if (!m)
        return fail(c, "merchant", "missing");
    if (!json_object_is_type(m, json_type_object))
        return fail(c, "merchant", "must be an object");
    if ((rc = check_keys(c, m, "merchant", known)) != 0 ||
        (rc = get_string(c, m, "id", "merchant", 1, &cat->merchant_id)) != 0 ||
        (rc = get_string(c, m, "currency", "merchant", 1, &cur)) != 0)
        return rc;
    if (strlen(cur) != 3 || vx_currency_digits(cur) < 0)
        return fail(c, "merchant.currency", "'%s' is not an ISO 4217 currency code voxcart knows",
                    cur);
    memcpy(cat->currency, cur, 4);
    if (vx_json_get(m, "environment") &&
        (rc = get_string(c, m, "environment", "merchant", 1, &env)) != 0)
        return rc;
    if (env && strcmp(env, "sandbox") != 0 && strcmp(env, "production") != 0)
        return fail(c, "merchant.environment", "must be sandbox or production");
    cat->production = env && strcmp(env, "production") == 0;
    /* absent: 100 in the ledger currency; null: never asked */
    v = vx_json_get(m, "voice_code_threshold");
    cat->voice_code_threshold = v ? -1 : vx_voice_code_default(cat->currency);
    if (v && !json_object_is_type(v, json_type_null) &&
        (rc = get_amount(c, v, "merchant.voice_code_threshold", 0, &cat->voice_code_threshold)) !=
            0)
        return rc;
    if (vx_json_get(m, "simulation") &&
        (rc = get_string(c, m, "simulation", "merchant", 1, &cat->simulation)) != 0)
        return rc;
    if (cat->simulation && cat->production)
        return fail(c, "merchant.simulation", "only a sandbox shop simulates outcomes");
    if (vx_json_get(m, "rail") && (rc = get_string(c, m, "rail", "merchant", 1, &rail)) != 0)
        return rc;
    if (rail && strcmp(rail, "provider") != 0 && strcmp(rail, "platform") != 0)
        return fail(c, "merchant.rail", "must be provider or platform");
    cat->platform = rail && strcmp(rail, "platform") == 0;
    if ((vx_json_get(m, "seller_id") &&
         (rc = get_string(c, m, "seller_id", "merchant", 1, &cat->seller_id)) != 0) ||
        (vx_json_get(m, "country") &&
         (rc = get_string(c, m, "country", "merchant", 1, &cat->country)) != 0) ||
        (vx_json_get(m, "sandbox_email") &&
         (rc = get_string(c, m, "sandbox_email", "merchant", 1, &cat->sandbox_email)) != 0))
        return rc;
    cat->time_zone = "UTC";
    if (vx_json_get(m, "time_zone")) {
        struct vx_err te;
        if ((rc = get_string(c, m, "time_zone", "merchant", 1, &cat->time_zone)) != 0)
            return rc;
        vx_err_clear(&te);
        if (!vx_tz_shared(cat->time_zone, &te))
            return fail(c, "merchant.time_zone", "%s", te.msg);
    }
    if (cat->platform && !cat->seller_id)
        return fail(c, "merchant.seller_id", "required with rail platform (the Setup names it)");
    if (cat->platform && (!cat->country || strlen(cat->country) != 2))
        return fail(c, "merchant.country",
                    "required with rail platform: the two-letter country of establishment (DE, "
                    "UK, US, ...)");
    name = vx_json_get(m, "name");
    if (!name)
        return fail(c, "merchant.name", "missing");
    if (!json_object_is_type(name, json_type_object) || json_object_object_length(name) == 0)
        return fail(c, "merchant.name",
                    "must be an object of language: name, e.g. {\"en\": \"The Coffee Shop\"}");
    cat->merchant_names =
        calloc((size_t)json_object_object_length(name), sizeof(struct vx_cat_names));
    if (!cat->merchant_names)
        return vx_err_set(c->e, VX_ENOMEM, "out of memory");
    {
        json_object_object_foreach(name, lang, val)
        {
            char p[200];
            vx_snprintf(p, sizeof(p), "merchant.name.%s", lang);
            if (!valid_lang(lang))
                return fail(c, p, "'%s' is not a language code such as \"en\"", lang);
            if (!json_object_is_type(val, json_type_string) || !*json_object_get_string(val))
                return fail(c, p, "must be a non-empty string");
            if (cat->nlangs == VX_CAT_MAX_LANGS)
                return fail(c, "merchant.name", "too many languages");
            cat->langs[cat->nlangs++] = lang;
            cat->merchant_names[cat->nmerchant_names].lang = lang;
            cat->merchant_names[cat->nmerchant_names++].words.one = json_object_get_string(val);
        }
    }
    return 0;
}

static int parse_sizes(struct ctx *c, struct vx_catalog *cat, struct json_object *a)
{
    static const char *const known[] = {"id", "names", NULL};
    size_t n;
    int rc;

    if (!a)
        return 0;
    if (!json_object_is_type(a, json_type_array))
        return fail(c, "sizes", "must be an array");
    n = json_object_array_length(a);
    cat->sizes = calloc(n ? n : 1, sizeof(*cat->sizes));
    if (!cat->sizes)
        return vx_err_set(c->e, VX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(a, i);
        struct vx_cat_size *s = &cat->sizes[i];
        char p[64];
        vx_snprintf(p, sizeof(p), "sizes[%zu]", i);
        if (!json_object_is_type(o, json_type_object))
            return fail(c, p, "must be an object");
        if ((rc = check_keys(c, o, p, known)) != 0 ||
            (rc = get_string(c, o, "id", p, 1, &s->id)) != 0)
            return rc;
        if (!valid_id(s->id)) {
            vx_snprintf(p, sizeof(p), "sizes[%zu].id", i);
            return fail(c, p, "'%s' must be lower-case letters, digits and '_'", s->id);
        }
        if (vx_catalog_size(cat, s->id)) {
            vx_snprintf(p, sizeof(p), "sizes[%zu].id", i);
            return fail(c, p, "duplicate size '%s'", s->id);
        }
        cat->nsizes = i + 1;
        rc = parse_names(c, cat, vx_json_get(o, "names"), p, &s->names, &s->nnames);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_options(struct ctx *c, struct vx_catalog *cat, struct vx_cat_product *p,
                         struct json_object *o, const char *path)
{
    char q[200];
    int rc;

    vx_snprintf(q, sizeof(q), "%s.sizes", path);
    if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) == 0)
        return fail(c, q, "must be an object of size: {\"price\": N} or {\"delta\": N}");
    {
        json_object_object_foreach(o, sid, val)
        {
            (void)val;
            if (!vx_catalog_size(cat, sid)) {
                vx_snprintf(q, sizeof(q), "%s.sizes.%s", path, sid);
                return fail(c, q, "unknown size '%s' (not in the catalog's \"sizes\")", sid);
            }
        }
    }
    p->options = calloc(cat->nsizes, sizeof(*p->options));
    if (!p->options)
        return vx_err_set(c->e, VX_ENOMEM, "out of memory");
    /* in the catalog's size order, so lists of sizes always read small to large */
    for (size_t i = 0; i < cat->nsizes; i++) {
        static const char *const known[] = {"price", "delta", NULL};
        struct json_object *opt = vx_json_get(o, cat->sizes[i].id), *price, *delta;
        struct vx_cat_option *op = &p->options[p->noptions];
        if (!opt)
            continue;
        vx_snprintf(q, sizeof(q), "%s.sizes.%s", path, cat->sizes[i].id);
        if (!json_object_is_type(opt, json_type_object))
            return fail(c, q, "must be {\"price\": N} or {\"delta\": N}");
        if ((rc = check_keys(c, opt, q, known)) != 0)
            return rc;
        price = vx_json_get(opt, "price");
        delta = vx_json_get(opt, "delta");
        if (!!price == !!delta)
            return fail(c, q, "needs exactly one of \"price\" and \"delta\"");
        op->size = &cat->sizes[i];
        if (price) {
            vx_snprintf(q, sizeof(q), "%s.sizes.%s.price", path, cat->sizes[i].id);
            if ((rc = get_amount(c, price, q, 0, &op->price)) != 0)
                return rc;
        } else {
            int64_t d = 0;
            vx_snprintf(q, sizeof(q), "%s.sizes.%s.delta", path, cat->sizes[i].id);
            if ((rc = get_amount(c, delta, q, 1, &d)) != 0)
                return rc;
            if (!p->has_price) {
                char b[200];
                vx_snprintf(b, sizeof(b), "%s.price", path);
                return fail(c, q, "needs a base price in %s", b);
            }
            op->price = p->price + d;
            if (op->price < 0)
                return fail(c, q, "makes the price negative");
        }
        p->noptions++;
    }
    return 0;
}

static int parse_products(struct ctx *c, struct vx_catalog *cat, struct json_object *a)
{
    static const char *const known[] = {"id", "names", "price", "sizes", NULL};
    size_t n;
    int rc;

    if (!a)
        return fail(c, "products", "missing");
    if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0)
        return fail(c, "products", "must be a non-empty array");
    n = json_object_array_length(a);
    cat->products = calloc(n, sizeof(*cat->products));
    if (!cat->products)
        return vx_err_set(c->e, VX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(a, i), *price, *sizes;
        struct vx_cat_product *p = &cat->products[i];
        char path[64], q[96];
        vx_snprintf(path, sizeof(path), "products[%zu]", i);
        if (!json_object_is_type(o, json_type_object))
            return fail(c, path, "must be an object");
        if ((rc = check_keys(c, o, path, known)) != 0 ||
            (rc = get_string(c, o, "id", path, 1, &p->id)) != 0)
            return rc;
        vx_snprintf(q, sizeof(q), "%s.id", path);
        if (!valid_id(p->id))
            return fail(c, q, "'%s' must be lower-case letters, digits and '_'", p->id);
        if (vx_catalog_product(cat, p->id))
            return fail(c, q, "duplicate product '%s'", p->id);
        cat->nproducts = i + 1;
        if ((rc = parse_names(c, cat, vx_json_get(o, "names"), path, &p->names, &p->nnames)) != 0)
            return rc;
        price = vx_json_get(o, "price");
        sizes = vx_json_get(o, "sizes");
        if (price) {
            vx_snprintf(q, sizeof(q), "%s.price", path);
            if ((rc = get_amount(c, price, q, 0, &p->price)) != 0)
                return rc;
            p->has_price = 1;
        }
        if (sizes) {
            if ((rc = parse_options(c, cat, p, sizes, path)) != 0)
                return rc;
        } else if (!price) {
            vx_snprintf(q, sizeof(q), "%s.price", path);
            return fail(c, q, "missing (a product without sizes needs a price)");
        }
    }
    return 0;
}

static int parse_plans(struct ctx *c, struct vx_catalog *cat, struct json_object *a)
{
    static const char *const known[] = {"id", "names", "interval", "amount", "trial_days", NULL};
    static const char *const iv_known[] = {"unit", "count", NULL};
    size_t n;
    int rc;

    if (!a)
        return 0;
    if (!json_object_is_type(a, json_type_array))
        return fail(c, "plans", "must be an array");
    n = json_object_array_length(a);
    cat->plans = calloc(n ? n : 1, sizeof(*cat->plans));
    if (!cat->plans)
        return vx_err_set(c->e, VX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *o = json_object_array_get_idx(a, i), *iv, *v;
        struct vx_cat_plan *p = &cat->plans[i];
        enum vx_interval_unit u;
        char path[64], q[96];
        int64_t x;
        vx_snprintf(path, sizeof(path), "plans[%zu]", i);
        if (!json_object_is_type(o, json_type_object))
            return fail(c, path, "must be an object");
        if ((rc = check_keys(c, o, path, known)) != 0 ||
            (rc = get_string(c, o, "id", path, 1, &p->id)) != 0)
            return rc;
        vx_snprintf(q, sizeof(q), "%s.id", path);
        if (!valid_id(p->id))
            return fail(c, q, "'%s' must be lower-case letters, digits and '_'", p->id);
        if (vx_catalog_plan(cat, p->id))
            return fail(c, q, "duplicate plan '%s'", p->id);
        cat->nplans = i + 1;
        if ((rc = parse_names(c, cat, vx_json_get(o, "names"), path, &p->names, &p->nnames)) != 0)
            return rc;
        iv = vx_json_get(o, "interval");
        vx_snprintf(q, sizeof(q), "%s.interval", path);
        if (!json_object_is_type(iv, json_type_object))
            return fail(c, q, "must be {\"unit\": day, week, month or year, \"count\": n}");
        if ((rc = check_keys(c, iv, q, iv_known)) != 0 ||
            (rc = get_string(c, iv, "unit", q, 1, &p->unit)) != 0)
            return rc;
        if (vx_interval_unit_parse(p->unit, &u) != 0) {
            vx_snprintf(q, sizeof(q), "%s.interval.unit", path);
            return fail(c, q, "must be day, week, month or year");
        }
        v = vx_json_get(iv, "count");
        vx_snprintf(q, sizeof(q), "%s.interval.count", path);
        if (!json_object_is_type(v, json_type_int) || (x = json_object_get_int64(v)) < 1 ||
            x > 1825)
            return fail(c, q, "must be an integer 1 to 1825");
        p->count = (int)x;
        vx_snprintf(q, sizeof(q), "%s.amount", path);
        if ((rc = get_amount(c, vx_json_get(o, "amount"), q, 0, &p->amount)) != 0)
            return rc;
        if (p->amount < 1)
            return fail(c, q, "must be at least 1 (minor units)");
        v = vx_json_get(o, "trial_days");
        if (v && !json_object_is_type(v, json_type_null)) {
            vx_snprintf(q, sizeof(q), "%s.trial_days", path);
            if (!json_object_is_type(v, json_type_int) || (x = json_object_get_int64(v)) < 0 ||
                x > 365)
                return fail(c, q, "must be null or an integer 0 to 365");
            p->trial_days = (int)x;
        }
    }
    return 0;
}

int vx_catalog_parse(const char *text, size_t len, const char *name, struct vx_catalog **out,
                     struct vx_err *e)
{
    static const char *const known[] = {"merchant", "sizes", "products", "plans", NULL};
    struct ctx c = {name, e};
    struct vx_catalog *cat = calloc(1, sizeof(*cat));
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    int rc;

    *out = NULL;
    if (!cat)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    tok = json_tokener_new();
    if (!tok || len > INT32_MAX) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory");
        goto out;
    }
    root = json_tokener_parse_ex(tok, text, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success) {
        rc = vx_err_set(e, VX_ECONFIG, "%s: not valid JSON (%s)", name,
                        json_tokener_error_desc(json_tokener_get_error(tok)));
        json_object_put(root);
        goto out;
    }
    cat->priv = root;
    vx_strlcpy(cat->file, name, sizeof(cat->file));
    if (!json_object_is_type(root, json_type_object)) {
        rc = vx_err_set(e, VX_ECONFIG, "%s: must be a JSON object", name);
        goto out;
    }
    if ((rc = check_keys(&c, root, "catalog", known)) != 0 ||
        (rc = parse_merchant(&c, cat, vx_json_get(root, "merchant"))) != 0 ||
        (rc = parse_sizes(&c, cat, vx_json_get(root, "sizes"))) != 0 ||
        (rc = parse_products(&c, cat, vx_json_get(root, "products"))) != 0 ||
        (rc = parse_plans(&c, cat, vx_json_get(root, "plans"))) != 0)
        goto out;
    *out = cat;
out:
    json_tokener_free(tok);
    if (rc)
        vx_catalog_free(cat);
    return rc;
}

int vx_catalog_load(const char *path, struct vx_catalog **out, struct vx_err *e)
{
    char *text = NULL;
    size_t len;
    int rc = vx_file_read(path, 4 << 20, &text, &len, e);
    *out = NULL;
    if (rc)
        return rc;
    rc = vx_catalog_parse(text, len, path, out, e);
    free(text);
    return rc;
}

static void names_free(struct vx_cat_names *n, size_t k)
{
    if (!n)
        return;
    for (size_t i = 0; i < k; i++)
        free((void *)n[i].synonyms);
    free(n);
}

void vx_catalog_free(struct vx_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsizes; i++)
        names_free(c->sizes[i].names, c->sizes[i].nnames);
    /* a product that failed half-way still owns what it got */
    if (c->products) {
        for (size_t i = 0; i < c->nproducts; i++) {
            names_free(c->products[i].names, c->products[i].nnames);
            free(c->products[i].options);
        }
    }
    if (c->plans)
        for (size_t i = 0; i < c->nplans; i++)
            names_free(c->plans[i].names, c->plans[i].nnames);
    free(c->plans);
    free(c->sizes);
    free(c->products);
    free(c->merchant_names);
    json_object_put(c->priv);
    free(c);
}

const struct vx_cat_product *vx_catalog_product(const struct vx_catalog *c, const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < c->nproducts; i++)
        if (c->products[i].id && strcmp(c->products[i].id, id) == 0)
            return &c->products[i];
    return NULL;
}

const struct vx_cat_plan *vx_catalog_plan(const struct vx_catalog *c, const char *id)
{
    for (size_t i = 0; id && i < c->nplans; i++)
        if (c->plans[i].id && strcmp(c->plans[i].id, id) == 0)
            return &c->plans[i];
    return NULL;
}

const struct vx_cat_size *vx_catalog_size(const struct vx_catalog *c, const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < c->nsizes; i++)
        if (c->sizes[i].id && strcmp(c->sizes[i].id, id) == 0)
            return &c->sizes[i];
    return NULL;
}

const struct vx_cat_option *vx_catalog_option(const struct vx_cat_product *p, const char *size_id)
{
    if (!size_id)
        return NULL;
    for (size_t i = 0; i < p->noptions; i++)
        if (strcmp(p->options[i].size->id, size_id) == 0)
            return &p->options[i];
    return NULL;
}

int vx_catalog_price(const struct vx_cat_product *p, const char *size_id, int64_t *minor)
{
    const struct vx_cat_option *o;
    if (p->noptions == 0) {
        if (size_id && *size_id)
            return VX_ENOTFOUND;
        *minor = p->price;
        return 0;
    }
    o = vx_catalog_option(p, size_id);
    if (!o)
        return VX_ENOTFOUND;
    *minor = o->price;
    return 0;
}

const struct vx_cat_names *vx_cat_names_for(const struct vx_cat_names *names, size_t n,
                                            const char *lang)
{
    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n && lang; i++)
        if (strcmp(names[i].lang, lang) == 0)
            return &names[i];
    return &names[0];
}

const char *vx_catalog_merchant_name(const struct vx_catalog *c, const char *lang)
{
    return vx_cat_names_for(c->merchant_names, c->nmerchant_names, lang)->words.one;
}

/*
 * Folds text for comparison: ASCII and German capitals to lower case, '-' and
 * '_' to spaces, runs of spaces to one, no leading or trailing space. Spoken
 * values arrive in any case ("Flat White", "flat-white").
 */
static void fold(const char *s, char *out, size_t outsz)
{
    size_t k = 0;
    for (; *s && k + 3 < outsz; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '-' || ch == '_' || ch == ' ' || ch == '\t') {
            if (k > 0 && out[k - 1] != ' ')
                out[k++] = ' ';
            continue;
        }
        if (ch >= 'A' && ch <= 'Z') {
            out[k++] = (char)(ch + 32);
        } else if (ch == 0xC3 && s[1] &&
                   ((unsigned char)s[1] == 0x84 || (unsigned char)s[1] == 0x96 ||
                    (unsigned char)s[1] == 0x9C)) {
            /* Ä Ö Ü -> ä ö ü */
            out[k++] = (char)0xC3;
            out[k++] = (char)((unsigned char)s[1] + 0x20);
            s++;
        } else {
            out[k++] = (char)ch;
        }
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
}

static int same(const char *a, const char *folded)
{
    char fa[160];
    if (!a)
        return 0;
    fold(a, fa, sizeof(fa));
    return strcmp(fa, folded) == 0;
}

static int names_match_folded(const struct vx_cat_names *n, const char *f)
{
    if (same(n->words.one, f) || same(n->words.other, f))
        return 1;
    for (size_t i = 0; i < 3; i++)
        if (same(n->words.forms[i], f))
            return 1;
    for (size_t i = 0; i < n->nsynonyms; i++)
        if (same(n->synonyms[i], f))
            return 1;
    return 0;
}

int vx_cat_names_match(const struct vx_cat_names *n, const char *text)
{
    char f[160];
    fold(text, f, sizeof(f));
    return *f && names_match_folded(n, f);
}

/* Index of the entry whose names (in lang first, then any language) match text, or -1. */
static long match_names(const char *text, const char *lang, size_t count,
                        const struct vx_cat_names *(*names_at)(const struct vx_catalog *, size_t,
                                                               size_t *),
                        const struct vx_catalog *c)
{
    char f[160];
    fold(text, f, sizeof(f));
    if (!*f)
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < count; i++) {
            size_t nn;
            const struct vx_cat_names *names = names_at(c, i, &nn);
            for (size_t k = 0; k < nn; k++) {
                int in_lang = lang && strcmp(names[k].lang, lang) == 0;
                if ((pass == 0) != in_lang)
                    continue;
                if (names_match_folded(&names[k], f))
                    return (long)i;
            }
        }
    }
    return -1;
}

static const struct vx_cat_names *product_names(const struct vx_catalog *c, size_t i, size_t *n)
{
    *n = c->products[i].nnames;
    return c->products[i].names;
}

static const struct vx_cat_names *size_names(const struct vx_catalog *c, size_t i, size_t *n)
{
    *n = c->sizes[i].nnames;
    return c->sizes[i].names;
}

const struct vx_cat_product *vx_catalog_match_product(const struct vx_catalog *c,
                                                      const struct vx_slot *s, const char *lang)
{
    const struct vx_cat_product *p;
    long i;
    if (!s)
        return NULL;
    if (s->er == VX_ER_MATCH && (p = vx_catalog_product(c, s->resolved_id)) != NULL)
        return p;
    if (!s->value)
        return NULL;
    i = match_names(s->value, lang, c->nproducts, product_names, c);
    if (i >= 0)
        return &c->products[i];
    return NULL;
}

const struct vx_cat_size *vx_catalog_match_size(const struct vx_catalog *c, const struct vx_slot *s,
                                                const char *lang)
{
    const struct vx_cat_size *z;
    long i;
    if (!s)
        return NULL;
    if (s->er == VX_ER_MATCH && (z = vx_catalog_size(c, s->resolved_id)) != NULL)
        return z;
    if (!s->value)
        return NULL;
    i = match_names(s->value, lang, c->nsizes, size_names, c);
    if (i >= 0)
        return &c->sizes[i];
    return NULL;
}

size_t vx_catalog_match_plans(const struct vx_catalog *c, const struct vx_slot *s, const char *lang,
                              const struct vx_cat_plan **out, size_t max)
{
    const struct vx_cat_plan *p;
    char f[160];
    size_t n = 0;
    if (!s || max == 0)
        return 0;
    if (s->er == VX_ER_MATCH && (p = vx_catalog_plan(c, s->resolved_id)) != NULL) {
        out[0] = p;
        return 1;
    }
    if (!s->value)
        return 0;
    fold(s->value, f, sizeof(f));
    if (!*f)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < c->nplans && n < max; i++) {
            const struct vx_cat_plan *pl = &c->plans[i];
            size_t k;
            for (k = 0; k < n && out[k] != pl; k++)
                ;
            if (k < n)
                continue;
            for (k = 0; k < pl->nnames; k++) {
                int in_lang = lang && strcmp(pl->names[k].lang, lang) == 0;
                if ((pass == 0) == in_lang && names_match_folded(&pl->names[k], f)) {
                    out[n++] = pl;
                    break;
                }
            }
        }
        if (n)
            break; /* names in the customer's language win */
    }
    return n;
}
