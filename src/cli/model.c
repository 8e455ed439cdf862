/*
 * `voxcart model check`: proves that what the platform will send and what the
 * dialog handles are the same thing. It reads the interaction models
 * (models/<locale>.json), the dialog's intents.def and transition table (linked
 * in), the catalog and the messages, and reports every disagreement on a line
 * of its own that names the file and the place:
 *
 * - every intent of a model is in intents.def and has a cell in the table, and
 *   every intent the dialog handles is in every model;
 * - an intent's slots are the ones the dialog reads, with the right types;
 * - the values of the product and size slot types have IDs, and each ID is a
 *   catalog ID; every catalog product and size is in every model;
 * - no sample names a slot the intent does not have; a custom intent has
 *   samples; a sample that puts two slots side by side ("{quantity} {size}
 *   {product}") is a warning, not a problem: the platform's language
 *   understanding matches it and customers talk that way, but request
 *   generators such as virtual-alexa cannot, so tests built on them skip it;
 * - every model has messages and the other way round, all messages files have
 *   the same keys, and each has what the dialog speaks (vx_fsm_check_messages).
 *
 * Problems go to stdout, warnings to stderr. Exit status 0 when all agree
 * (warnings or not), 1 with one line per problem, 2 for bad usage.
 */
#include "cli.h"
#include "voxcart/calendar.h"

#include "voxcart/catalog.h"
#include "voxcart/fsm.h"
#include "dialog.h"
#include "voxcart/i18n.h"

#include <dirent.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 32

struct check {
    size_t problems;
    size_t warnings;
    const struct vx_catalog *cat;
};

static void problem(struct check *c, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct check *c, const char *file, const char *fmt, ...)
{
    va_list ap;
    printf("%s: ", file);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    c->problems++;
}

static void warning(struct check *c, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warning(struct check *c, const char *file, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: warning: ", file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    c->warnings++;
}

static void report_message(void *ud, const char *file, const char *msg)
{
    problem(ud, file, "%s", msg);
}

static struct json_object *get(struct json_object *o, const char *k)
{
    struct json_object *v;
    return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v)
               ? v
               : NULL;
}

static const char *get_str(struct json_object *o, const char *k)
{
    struct json_object *v = get(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static size_t array_len(struct json_object *a)
{
    return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* --- samples --- */

/* Checks one sample: slots it names exist in the intent; two that touch are a warning. */
static void check_sample(struct check *c, const char *file, const char *where, const char *sample,
                         struct json_object *slots)
{
    const char *p = sample, *prev_end = NULL;
    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        char name[64];
        size_t n, k;
        int known = 0;
        if (!end)
            break;
        n = (size_t)(end - p - 1);
        if (n == 0 || n >= sizeof(name)) {
            p = end + 1;
            continue;
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        if (prev_end) {
            const char *q = prev_end;
            while (q < p && *q == ' ')
                q++;
            if (q == p)
                warning(c, file,
                        "%s '%s': two slots side by side: the platform matches it, request "
                        "generators such as virtual-alexa do not",
                        where, sample);
        }
        for (k = 0; k < array_len(slots); k++) {
            const char *sn = get_str(json_object_array_get_idx(slots, k), "name");
            if (sn && strcmp(sn, name) == 0)
                known = 1;
        }
        if (!known)
            problem(c, file, "%s '%s': slot {%s} is not a slot of this intent", where, sample,
                    name);
        prev_end = end + 1;
        p = end + 1;
    }
}

static void check_samples(struct check *c, const char *file, const char *where,
                          struct json_object *samples, struct json_object *slots)
{
    for (size_t i = 0; i < array_len(samples); i++) {
        struct json_object *s = json_object_array_get_idx(samples, i);
        char w[256];
        vx_snprintf(w, sizeof(w), "%s.samples[%zu]", where, i);
        if (!json_object_is_type(s, json_type_string)) {
            problem(c, file, "%s: must be a string", w);
            continue;
        }
        check_sample(c, file, w, json_object_get_string(s), slots);
    }
}

/* --- slot types --- */

static struct json_object *find_type(struct json_object *types, const char *name, size_t *idx)
{
    for (size_t i = 0; i < array_len(types); i++) {
        struct json_object *t = json_object_array_get_idx(types, i);
        const char *n = get_str(t, "name");
        if (n && strcmp(n, name) == 0) {
            *idx = i;
            return t;
        }
    }
    return NULL;
}

/* The catalog's IDs of a kind of slot: products, sizes or plans. */
static size_t kind_count(const struct vx_catalog *cat, enum vx_slot_kind kind)
{
    return kind == VX_SK_PRODUCT ? cat->nproducts : kind == VX_SK_PLAN ? cat->nplans : cat->nsizes;
}

static const char *kind_id(const struct vx_catalog *cat, enum vx_slot_kind kind, size_t k)
{
    return kind == VX_SK_PRODUCT ? cat->products[k].id
           : kind == VX_SK_PLAN  ? cat->plans[k].id
                                 : cat->sizes[k].id;
}

static int kind_has(const struct vx_catalog *cat, enum vx_slot_kind kind, const char *id)
{
    return kind == VX_SK_PRODUCT ? vx_catalog_product(cat, id) != NULL
           : kind == VX_SK_PLAN  ? vx_catalog_plan(cat, id) != NULL
                                 : vx_catalog_size(cat, id) != NULL;
}

/* An interval's ID: "<day|week|month|year>_<count>". */
static int frequency_id_ok(const char *id)
{
    const char *us = strchr(id, '_');
    enum vx_interval_unit u;
    char unit[8];
    char *end;
    long n;
    if (!us || (size_t)(us - id) >= sizeof(unit))
        return 0;
    memcpy(unit, id, (size_t)(us - id));
    unit[us - id] = '\0';
    n = strtol(us + 1, &end, 10);
    return vx_interval_unit_parse(unit, &u) == 0 && !*end && n >= 1 && n <= 1825;
}

/* The values of a custom type must be the catalog's IDs, all of them (an interval's: IDs of
 * the form week_2). */
static void check_type_values(struct check *c, const char *file, struct json_object *type,
                              size_t tidx, enum vx_slot_kind kind)
{
    const struct vx_catalog *cat = c->cat;
    struct json_object *values = get(type, "values");
    const char *tname = get_str(type, "name");
    size_t n = kind == VX_SK_FREQUENCY ? 0 : kind_count(cat, kind);
    const char *what = kind == VX_SK_PRODUCT ? "product" : kind == VX_SK_PLAN ? "plan" : "size";

    for (size_t i = 0; i < array_len(values); i++) {
        struct json_object *v = json_object_array_get_idx(values, i);
        const char *id = get_str(v, "id");
        const char *name = get_str(get(v, "name"), "value");
        if (!id) {
            problem(c, file,
                    "interactionModel.languageModel.types[%zu] '%s'.values[%zu] '%s': no id "
                    "(slot values resolve to catalog IDs)",
                    tidx, tname, i, name ? name : "?");
            continue;
        }
        if (kind == VX_SK_FREQUENCY) {
            if (!frequency_id_ok(id))
                problem(c, file,
                        "interactionModel.languageModel.types[%zu] '%s'.values[%zu]: id '%s' is "
                        "not an interval such as week_2",
                        tidx, tname, i, id);
        } else if (!kind_has(cat, kind, id)) {
            problem(c, file,
                    "interactionModel.languageModel.types[%zu] '%s'.values[%zu]: id '%s' is not "
                    "a %s in %s",
                    tidx, tname, i, id, what, cat->file);
        }
    }
    for (size_t k = 0; k < n; k++) {
        const char *id = kind_id(cat, kind, k);
        size_t i;
        for (i = 0; i < array_len(values); i++) {
            const char *vid = get_str(json_object_array_get_idx(values, i), "id");
            if (vid && strcmp(vid, id) == 0)
                break;
        }
        if (i == array_len(values))
            problem(c, file,
                    "interactionModel.languageModel.types[%zu] '%s': catalog %s '%s' is missing",
                    tidx, tname, what, id);
    }
}

/* --- one intent --- */

static void check_intent_slots(struct check *c, const char *file, const char *where,
                               struct json_object *intent, int ev, struct json_object *types,
                               unsigned *types_seen)
{
    struct json_object *slots = get(intent, "slots");
    unsigned want = vx_intent_defs[ev].slots, have = 0;

    for (size_t i = 0; i < array_len(slots); i++) {
        struct json_object *s = json_object_array_get_idx(slots, i);
        const char *name = get_str(s, "name"), *type = get_str(s, "type");
        char w[256];
        int k;
        vx_snprintf(w, sizeof(w), "%s.slots[%zu] '%s'", where, i, name ? name : "?");
        for (k = 0; k < VX_SLOT__COUNT; k++)
            if (name && strcmp(vx_slot_defs[k].name, name) == 0)
                break;
        if (k == VX_SLOT__COUNT || !(want & (1u << k))) {
            problem(c, file, "%s: the dialog does not read this slot of %s", w,
                    vx_intent_defs[ev].name);
            continue;
        }
        have |= 1u << k;
        if (!type) {
            problem(c, file, "%s: no type", w);
        } else if (vx_slot_defs[k].kind == VX_SK_NUMBER) {
            if (strcmp(type, "AMAZON.NUMBER") != 0)
                problem(c, file, "%s: type '%s' should be AMAZON.NUMBER", w, type);
        } else if (vx_slot_defs[k].kind == VX_SK_DIGITS) {
            if (strcmp(type, "AMAZON.FOUR_DIGIT_NUMBER") != 0)
                problem(c, file, "%s: type '%s' should be AMAZON.FOUR_DIGIT_NUMBER", w, type);
        } else {
            size_t tidx;
            struct json_object *t = find_type(types, type, &tidx);
            if (!t)
                problem(c, file, "%s: type '%s' is not defined in languageModel.types", w, type);
            else if (!(*types_seen & (1u << tidx)))
                check_type_values(c, file, t, tidx, vx_slot_defs[k].kind);
            if (t && tidx < 32)
                *types_seen |= 1u << tidx;
        }
        check_samples(c, file, w, get(s, "samples"), slots);
    }
    for (int k = 0; k < VX_SLOT__COUNT; k++)
        if ((want & (1u << k)) && !(have & (1u << k)))
            problem(c, file, "%s: slot '%s' is missing (the dialog reads it)", where,
                    vx_slot_defs[k].name);
    check_samples(c, file, where, get(intent, "samples"), slots);
}

static void check_model(struct check *c, const char *file)
{
    struct json_object *root = json_object_from_file(file), *lm, *intents, *types;
    char seen[VX_EV__INTENTS] = {0};
    unsigned types_seen = 0;
    const char *inv;

    if (!root) {
        problem(c, file, "not valid JSON (%s)", json_util_get_last_err());
        return;
    }
    lm = get(get(root, "interactionModel"), "languageModel");
    if (!lm) {
        problem(c, file, "interactionModel.languageModel: missing");
        goto out;
    }
    inv = get_str(lm, "invocationName");
    if (!inv || !*inv) {
        problem(c, file, "interactionModel.languageModel.invocationName: missing");
    } else {
        for (const char *p = inv; *p; p++)
            if (*p >= 'A' && *p <= 'Z') {
                problem(c, file,
                        "interactionModel.languageModel.invocationName: '%s' must be lower case",
                        inv);
                break;
            }
    }
    intents = get(lm, "intents");
    types = get(lm, "types");
    if (!array_len(intents))
        problem(c, file, "interactionModel.languageModel.intents: missing or empty");
    for (size_t i = 0; i < array_len(intents); i++) {
        struct json_object *it = json_object_array_get_idx(intents, i);
        const char *name = get_str(it, "name");
        char where[200];
        int ev;
        vx_snprintf(where, sizeof(where), "interactionModel.languageModel.intents[%zu] '%s'", i,
                    name ? name : "?");
        ev = vx_intent_find(name);
        if (ev < 0) {
            problem(c, file, "%s: not handled by the dialog (no line in intents.def)", where);
            continue;
        }
        if (!vx_dialog_handles((enum vx_event)ev))
            problem(c, file, "%s: every cell of the table answers it as unexpected", where);
        if (seen[ev])
            problem(c, file, "%s: listed twice", where);
        seen[ev] = 1;
        if (!(vx_intent_defs[ev].flags & VX_IF_BUILTIN) && !array_len(get(it, "samples")))
            problem(c, file, "%s: no samples", where);
        check_intent_slots(c, file, where, it, ev, types, &types_seen);
    }
    for (int ev = 0; ev < VX_EV__INTENTS; ev++)
        if (!seen[ev] && vx_dialog_handles((enum vx_event)ev))
            problem(c, file,
                    "interactionModel.languageModel.intents: '%s' is handled by the dialog but "
                    "missing from this model",
                    vx_intent_defs[ev].name);
out:
    json_object_put(root);
}

/* --- messages across locales --- */

struct keyset {
    char **keys;
    size_t n, cap;
};

static void key_add(void *ud, const char *key)
{
    struct keyset *k = ud;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->keys[i], key) == 0)
            return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 128;
        char **v = realloc(k->keys, cap * sizeof(*v));
        if (!v)
            return;
        k->keys = v;
        k->cap = cap;
    }
    k->keys[k->n] = strdup(key);
    if (k->keys[k->n])
        k->n++;
}

static void check_messages(struct check *c, const struct vx_i18n *m)
{
    struct keyset all = {NULL, 0, 0};
    for (size_t i = 0; i < vx_i18n_count(m); i++)
        vx_locale_keys(vx_i18n_at(m, i), key_add, &all);
    for (size_t i = 0; i < vx_i18n_count(m); i++) {
        const struct vx_locale *l = vx_i18n_at(m, i);
        for (size_t k = 0; k < all.n; k++) {
            if (vx_locale_text(l, all.keys[k]))
                continue;
            for (size_t j = 0; j < vx_i18n_count(m); j++) {
                if (vx_locale_text(vx_i18n_at(m, j), all.keys[k])) {
                    problem(c, vx_locale_file(l), "missing key '%s' (present in %s)", all.keys[k],
                            vx_locale_file(vx_i18n_at(m, j)));
                    break;
                }
            }
        }
    }
    for (size_t k = 0; k < all.n; k++)
        free(all.keys[k]);
    free(all.keys);
    if (c->cat)
        vx_fsm_check_messages(&vx_coffee_skill, m, c->cat, report_message, c);
}

/* --- the command --- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The locales of dir/models, sorted; returns their number. */
static size_t list_models(const char *dir, char names[][16], size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *ptrs[MAX_MODELS];
    char tmp[MAX_MODELS][16];
    size_t n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL && n < max && n < MAX_MODELS) {
        size_t len = strlen(de->d_name);
        if (len < 6 || len - 5 >= sizeof(tmp[0]) || strcmp(de->d_name + len - 5, ".json") != 0 ||
            de->d_name[0] == '.')
            continue;
        memcpy(tmp[n], de->d_name, len - 5);
        tmp[n][len - 5] = '\0';
        ptrs[n] = tmp[n];
        n++;
    }
    closedir(d);
    qsort(ptrs, n, sizeof(ptrs[0]), cmp_str);
    for (size_t i = 0; i < n; i++)
        vx_snprintf(names[i], sizeof(names[i]), "%s", ptrs[i]);
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: voxcart model check [--dir DIR] [--catalog FILE]\n"
               "\n"
               "Checks that the interaction models, the dialog's intents and transition table,\n"
               "the catalog and the messages agree. Prints one line per problem, naming the file\n"
               "and the place; exits 1 when there is any. Samples with two slots side by side\n"
               "are warnings on stderr: the platform matches them, request generators do not.\n"
               "\n"
               "  -d, --dir DIR       the intents directory with models/ and messages/\n"
               "                      (default $VOXCART_INTENTS_DIR, else the built-in one)\n"
               "  -c, --catalog FILE  the merchant catalog (default DIR/catalog.json)\n"
               "  -h, --help          this text\n");
}

int cli_cmd_model(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"catalog", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *catalog = NULL;
    char path[1024], catpath[1024], models[MAX_MODELS][16];
    struct vx_catalog *cat = NULL;
    struct vx_i18n *msgs = NULL;
    struct check c = {0, 0, NULL};
    struct vx_err e;
    size_t nmodels;
    int opt;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc < 2 || strcmp(argv[1], "check") != 0)
        return cli_usage_error("model", "expected 'check'");
    argc--;
    argv++;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            catalog = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            return cli_bad_option("model check", opt, argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("model check", "unexpected argument '%s'", argv[optind]);
    if (!dir)
        dir = vx_intents_dir_default();
    if (vx_snprintf(catpath, sizeof(catpath), "%s", catalog ? catalog : dir) != 0 ||
        (!catalog && vx_snprintf(catpath, sizeof(catpath), "%s/catalog.json", dir) != 0) ||
        vx_snprintf(path, sizeof(path), "%s/models/", dir) != 0)
        return cli_usage_error("model check", "path too long: '%s'", catalog ? catalog : dir);

    vx_err_clear(&e);
    if (vx_catalog_load(catpath, &cat, &e) != 0) {
        printf("%s\n", e.msg);
        c.problems++;
    }
    c.cat = cat;

    vx_snprintf(path, sizeof(path), "%s/messages", dir);
    vx_err_clear(&e);
    if (vx_i18n_load(path, &msgs, &e) != 0) {
        printf("%s\n", e.msg);
        c.problems++;
    } else {
        check_messages(&c, msgs);
    }

    vx_snprintf(path, sizeof(path), "%s/models", dir);
    nmodels = list_models(path, models, MAX_MODELS);
    if (nmodels == 0) {
        printf("%s: no interaction models (<locale>.json)\n", path);
        c.problems++;
    }
    for (size_t i = 0; i < nmodels; i++) {
        char file[1200];
        vx_snprintf(file, sizeof(file), "%s/%s.json", path, models[i]);
        if (cat)
            check_model(&c, file);
        if (msgs && strcmp(vx_locale_name(vx_i18n_get(msgs, models[i])), models[i]) != 0)
            problem(&c, file, "no messages/%s.json for this locale", models[i]);
    }
    for (size_t i = 0; msgs && i < vx_i18n_count(msgs); i++) {
        const struct vx_locale *l = vx_i18n_at(msgs, i);
        size_t k;
        for (k = 0; k < nmodels; k++)
            if (strcmp(models[k], vx_locale_name(l)) == 0)
                break;
        if (k == nmodels)
            problem(&c, vx_locale_file(l), "no models/%s.json for this locale", vx_locale_name(l));
    }

    if (c.warnings)
        fprintf(stderr, "voxcart: model check: %zu warning%s\n", c.warnings,
                c.warnings == 1 ? "" : "s");
    if (c.problems) {
        cli_error("model check", "%zu problem%s", c.problems, c.problems == 1 ? "" : "s");
    } else {
        printf("models, dialog, catalog and messages agree: %zu locales, %d intents, %zu "
               "products\n",
               nmodels, VX_EV__INTENTS, cat->nproducts);
    }
    vx_catalog_free(cat);
    vx_i18n_free(msgs);
    return c.problems ? CLI_FAIL : CLI_OK;
}
