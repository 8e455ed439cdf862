/*
 * Messages and money per locale. Each messages/<locale>.json is parsed once at
 * start-up and kept as a json-c tree that is only read afterwards, so every
 * worker thread looks texts up without locks. Formatting writes into buffers
 * the caller owns and never allocates on the request path.
 *
 * What differs between languages is data in the messages files, not code: the
 * order of quantity, size and product (item.*), the words that join a list
 * (list.*), how an amount is written (money.written, number.*) and said
 * (money.major, money.minor, money.both) and the names of each currency
 * (currency.<CODE>.one|other|minor_one|minor_other). The code knows only the
 * plural rules and the ISO 4217 table.
 */
#include "voxcart/i18n.h"

#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LOCALES 32

struct vx_locale {
    char name[16];
    char lang[8];
    char file[512];
    struct json_object *root;
};

struct vx_i18n {
    struct vx_locale locales[MAX_LOCALES];
    size_t n;
};

/* Keys the formatting in this file needs in every locale. */
static const char *const required_keys[] = {
    "money.major",  "money.minor", "money.both", "money.written", "number.decimal",
    "number.group", "list.sep",    "list.and",   "list.or",       "item.one.m",
    "item.one.f",   "item.one.n",  "item.other", "number.words",
};

static const struct {
    const char *code;
    int digits;
    const char *symbol;
} currencies[] = {
    {"AUD", 2, "A$"},  {"BRL", 2, "R$"},  {"CAD", 2, "CA$"}, {"CHF", 2, "CHF"}, {"CNY", 2, "CN¥"},
    {"CZK", 2, "Kč"},  {"DKK", 2, "kr."}, {"EUR", 2, "€"},   {"GBP", 2, "£"},   {"HKD", 2, "HK$"},
    {"HUF", 2, "Ft"},  {"INR", 2, "₹"},   {"JPY", 0, "¥"},   {"KRW", 0, "₩"},   {"KWD", 3, "KD"},
    {"MXN", 2, "MX$"}, {"NOK", 2, "kr"},  {"NZD", 2, "NZ$"}, {"PLN", 2, "zł"},  {"SEK", 2, "kr"},
    {"SGD", 2, "S$"},  {"TRY", 2, "₺"},   {"USD", 2, "$"},   {"ZAR", 2, "R"},
};

static int valid_locale_name(const char *s, size_t n)
{
    /* ll-CC or lll-CC */
    size_t i = 0;
    while (i < n && s[i] >= 'a' && s[i] <= 'z')
        i++;
    if (i < 2 || i > 3 || i + 3 != n || s[i] != '-')
        return 0;
    return s[i + 1] >= 'A' && s[i + 1] <= 'Z' && s[i + 2] >= 'A' && s[i + 2] <= 'Z';
}

static int cmp_locale(const void *a, const void *b)
{
    return strcmp(((const struct vx_locale *)a)->name, ((const struct vx_locale *)b)->name);
}

static int load_one(struct vx_locale *l, struct vx_err *e)
{
    char *text = NULL;
    size_t len;
    enum json_tokener_error jerr;
    int rc = vx_file_read(l->file, 1 << 20, &text, &len, e);

    if (rc)
        return rc;
    l->root = json_tokener_parse_verbose(text, &jerr);
    free(text);
    if (!l->root || !json_object_is_type(l->root, json_type_object)) {
        rc = vx_err_set(e, VX_ECONFIG, "%s: not a JSON object (%s)", l->file,
                        l->root ? "wrong type" : json_tokener_error_desc(jerr));
        goto out;
    }
    {
        json_object_object_foreach(l->root, key, val)
        {
            if (!json_object_is_type(val, json_type_string)) {
                rc = vx_err_set(e, VX_ECONFIG, "%s: %s: must be a string", l->file, key);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < VX_ARRAY_LEN(required_keys); i++) {
        if (!vx_locale_text(l, required_keys[i])) {
            rc = vx_err_set(e, VX_ECONFIG, "%s: missing message '%s'", l->file, required_keys[i]);
            goto out;
        }
    }
out:
    if (rc) {
        json_object_put(l->root);
        l->root = NULL;
    }
    return rc;
}

int vx_i18n_load(const char *dir, struct vx_i18n **out, struct vx_err *e)
{
    struct vx_i18n *m = calloc(1, sizeof(*m));
    DIR *d = NULL;
    struct dirent *de;
    int rc = 0;

    *out = NULL;
    if (!m)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    d = opendir(dir);
    if (!d) {
        rc = vx_err_set(e, VX_ECONFIG, "cannot open messages directory '%s'", dir);
        goto out;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        struct vx_locale *l;
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        if (!valid_locale_name(de->d_name, n - 5))
            continue;
        if (m->n == MAX_LOCALES) {
            rc = vx_err_set(e, VX_ECONFIG, "%s: more than %d locales", dir, MAX_LOCALES);
            goto out;
        }
        l = &m->locales[m->n];
        memcpy(l->name, de->d_name, n - 5);
        l->name[n - 5] = '\0';
        memcpy(l->lang, l->name, strcspn(l->name, "-"));
        if (vx_snprintf(l->file, sizeof(l->file), "%s/%s", dir, de->d_name) != 0) {
            rc = vx_err_set(e, VX_ECONFIG, "messages path too long in '%s'", dir);
            goto out;
        }
        m->n++;
    }
    if (m->n == 0) {
        rc = vx_err_set(e, VX_ENOTFOUND, "no messages/<locale>.json in '%s'", dir);
        goto out;
    }
    qsort(m->locales, m->n, sizeof(m->locales[0]), cmp_locale);
    for (size_t i = 0; i < m->n; i++) {
        rc = load_one(&m->locales[i], e);
        if (rc)
            goto out;
    }
    *out = m;
out:
    if (d)
        closedir(d);
    if (rc)
        vx_i18n_free(m);
    return rc;
}

void vx_i18n_free(struct vx_i18n *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        json_object_put(m->locales[i].root);
    free(m);
}

size_t vx_i18n_count(const struct vx_i18n *m)
{
    return m->n;
}

const struct vx_locale *vx_i18n_at(const struct vx_i18n *m, size_t i)
{
    return i < m->n ? &m->locales[i] : NULL;
}

const struct vx_locale *vx_i18n_get(const struct vx_i18n *m, const char *locale)
{
    size_t ll;
    if (locale) {
        for (size_t i = 0; i < m->n; i++)
            if (vx_strcaseeq(m->locales[i].name, locale))
                return &m->locales[i];
        ll = strcspn(locale, "-_");
        for (size_t i = 0; i < m->n; i++)
            if (strlen(m->locales[i].lang) == ll && strncmp(m->locales[i].lang, locale, ll) == 0)
                return &m->locales[i];
    }
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->locales[i].name, "en-US") == 0)
            return &m->locales[i];
    return &m->locales[0];
}

const char *vx_locale_name(const struct vx_locale *l)
{
    return l->name;
}

const char *vx_locale_lang(const struct vx_locale *l)
{
    return l->lang;
}

const char *vx_locale_file(const struct vx_locale *l)
{
    return l->file;
}

const char *vx_locale_text(const struct vx_locale *l, const char *key)
{
    struct json_object *v;
    if (!l->root || !json_object_object_get_ex(l->root, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

void vx_locale_keys(const struct vx_locale *l, void (*fn)(void *ud, const char *key), void *ud)
{
    json_object_object_foreach(l->root, key, val)
    {
        (void)val;
        fn(ud, key);
    }
}

/* --- placeholders --- */

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of the placeholder name starting after '{' at p, or 0 when p is no placeholder. */
static size_t placeholder_len(const char *p)
{
    size_t n = 0;
    while (is_name_char(p[n]))
        n++;
    return n > 0 && p[n] == '}' ? n : 0;
}

void vx_placeholders(const char *tmpl, void (*fn)(void *ud, const char *name, size_t len), void *ud)
{
    for (const char *p = tmpl; *p; p++) {
        size_t n;
        if (*p != '{')
            continue;
        n = placeholder_len(p + 1);
        if (n) {
            fn(ud, p + 1, n);
            p += n + 1;
        }
    }
}

struct out {
    char *p;
    size_t size, len;
    int truncated;
};

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->len + n >= o->size) {
        n = o->size - 1 > o->len ? o->size - 1 - o->len : 0;
        o->truncated = 1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void out_puts(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

int vx_format(const char *tmpl, const struct vx_arg *args, size_t nargs, char *out, size_t outsz)
{
    struct out o = {out, outsz, 0, 0};
    int missing = 0;
    const char *p = tmpl, *run = tmpl;

    if (outsz == 0)
        return VX_ERANGE;
    out[0] = '\0';
    for (; *p; p++) {
        size_t n, i;
        if (*p != '{')
            continue;
        n = placeholder_len(p + 1);
        if (!n)
            continue;
        out_put(&o, run, (size_t)(p - run));
        for (i = 0; i < nargs; i++) {
            if (strlen(args[i].name) == n && memcmp(args[i].name, p + 1, n) == 0) {
                out_puts(&o, args[i].value ? args[i].value : "");
                break;
            }
        }
        if (i == nargs)
            missing = 1;
        p += n + 1;
        run = p + 1;
    }
    out_put(&o, run, (size_t)(p - run));
    if (o.truncated)
        return VX_ERANGE;
    return missing ? VX_ENOTFOUND : 0;
}

int vx_locale_format(const struct vx_locale *l, const char *key, const struct vx_arg *args,
                     size_t nargs, char *out, size_t outsz)
{
    const char *t = vx_locale_text(l, key);
    if (!t) {
        if (outsz)
            out[0] = '\0';
        return VX_ENOTFOUND;
    }
    return vx_format(t, args, nargs, out, outsz);
}

int vx_locale_number(const struct vx_locale *l, const char *text, long long *out)
{
    const char *w = vx_locale_text(l, "number.words");
    size_t tl;
    long long n = 0;

    if (!text)
        return VX_EPARSE;
    if (vx_parse_ll(text, 0, INT32_MAX, out) == 0)
        return 0;
    tl = strlen(text);
    while (w && *w) {
        size_t k = strcspn(w, " ");
        if (k == tl && strncasecmp(w, text, k) == 0) {
            *out = n;
            return 0;
        }
        w += k;
        w += strspn(w, " ");
        n++;
    }
    return VX_EPARSE;
}

/* --- plurals and items --- */

enum vx_plural vx_plural_of(const char *lang, long long n)
{
    /* French and Portuguese count 0 as singular; English and German only 1. */
    if (lang && (strcmp(lang, "fr") == 0 || strcmp(lang, "pt") == 0))
        return n == 0 || n == 1 ? VX_PLURAL_ONE : VX_PLURAL_OTHER;
    return n == 1 ? VX_PLURAL_ONE : VX_PLURAL_OTHER;
}

static int gender_index(char g)
{
    return g == 'm' ? 0 : g == 'f' ? 1 : 2;
}

const char *vx_words_noun(const struct vx_words *w, const char *lang, long long n)
{
    if (vx_plural_of(lang, n) == VX_PLURAL_OTHER && w->other)
        return w->other;
    return w->one;
}

const char *vx_words_adj(const struct vx_words *adj, const struct vx_words *noun, const char *lang,
                         long long n)
{
    const char *f;
    if (!adj)
        return "";
    if (vx_plural_of(lang, n) == VX_PLURAL_OTHER)
        return adj->other ? adj->other : adj->one;
    f = adj->forms[gender_index(noun ? noun->gender : 0)];
    return f ? f : adj->one;
}

/* Collapses runs of spaces (an empty placeholder leaves two) and trims both ends. */
static void squeeze(char *s)
{
    char *w = s;
    const char *r = s;
    while (*r == ' ')
        r++;
    for (; *r; r++) {
        if (*r == ' ' && w > s && w[-1] == ' ')
            continue;
        *w++ = *r;
    }
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

int vx_locale_item(const struct vx_locale *l, long long qty, const struct vx_words *noun,
                   const struct vx_words *adj, char *out, size_t outsz)
{
    char q[24], key[16];
    struct vx_arg args[3];
    int rc;

    snprintf(q, sizeof(q), "%lld", qty);
    if (vx_plural_of(l->lang, qty) == VX_PLURAL_ONE)
        snprintf(key, sizeof(key), "item.one.%c", "mfn"[gender_index(noun->gender)]);
    else
        snprintf(key, sizeof(key), "item.other");
    args[0] = (struct vx_arg){"quantity", q};
    args[1] = (struct vx_arg){"size", vx_words_adj(adj, noun, l->lang, qty)};
    args[2] = (struct vx_arg){"product", vx_words_noun(noun, l->lang, qty)};
    rc = vx_locale_format(l, key, args, 3, out, outsz);
    squeeze(out);
    return rc;
}

int vx_locale_join(const struct vx_locale *l, const char *const *items, size_t n, const char *conj,
                   char *out, size_t outsz)
{
    struct out o = {out, outsz, 0, 0};
    char key[24];
    const char *sep = vx_locale_text(l, "list.sep"), *last;

    if (outsz == 0)
        return VX_ERANGE;
    out[0] = '\0';
    snprintf(key, sizeof(key), "list.%s", conj);
    last = vx_locale_text(l, key);
    if (!sep || !last)
        return VX_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out_puts(&o, i + 1 == n ? last : sep);
        out_puts(&o, items[i]);
    }
    return o.truncated ? VX_ERANGE : 0;
}

/* --- money --- */

static int currency_index(const char *code)
{
    if (!code)
        return -1;
    for (size_t i = 0; i < VX_ARRAY_LEN(currencies); i++)
        if (strcmp(currencies[i].code, code) == 0)
            return (int)i;
    return -1;
}

int vx_currency_digits(const char *code)
{
    int i = currency_index(code);
    return i < 0 ? -1 : currencies[i].digits;
}

const char *vx_currency_symbol(const char *code)
{
    int i = currency_index(code);
    return i < 0 ? code : currencies[i].symbol;
}

static int64_t pow10i(int d)
{
    int64_t p = 1;
    while (d-- > 0)
        p *= 10;
    return p;
}

int64_t vx_voice_code_default(const char *currency)
{
    int d = vx_currency_digits(currency);
    return 100 * pow10i(d < 0 ? 2 : d);
}

int vx_money_written(const struct vx_locale *l, int64_t minor, const char *currency, char *out,
                     size_t outsz)
{
    int d = vx_currency_digits(currency);
    char major[32], amount[96];
    const char *group = vx_locale_text(l, "number.group");
    const char *dec = vx_locale_text(l, "number.decimal");
    struct out a = {amount, sizeof(amount), 0, 0};
    struct vx_arg args[2];
    size_t n;
    int64_t p;

    if (outsz)
        out[0] = '\0';
    if (d < 0 || d > 4 || minor < 0 || !group || !dec)
        return VX_EINVAL;
    p = pow10i(d);
    n = (size_t)snprintf(major, sizeof(major), "%lld", (long long)(minor / p));
    amount[0] = '\0';
    /* thousands grouping: a separator before every third digit from the right */
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out_puts(&a, group);
        out_put(&a, &major[i], 1);
    }
    if (d > 0) {
        char frac[24];
        snprintf(frac, sizeof(frac), "%0*lld", d, (long long)(minor % p));
        out_puts(&a, dec);
        out_puts(&a, frac);
    }
    args[0] = (struct vx_arg){"symbol", vx_currency_symbol(currency)};
    args[1] = (struct vx_arg){"amount", amount};
    return vx_locale_format(l, "money.written", args, 2, out, outsz);
}

int vx_money_spoken(const struct vx_locale *l, int64_t minor, const char *currency, char *out,
                    size_t outsz)
{
    int d = vx_currency_digits(currency);
    char maj[32], min[32], key[4][40];
    const char *unit, *minor_unit;
    struct vx_arg args[4];
    int64_t p, whole, frac;

    if (outsz)
        out[0] = '\0';
    if (d < 0 || minor < 0)
        return VX_EINVAL;
    p = pow10i(d);
    whole = minor / p;
    frac = minor % p;
    snprintf(maj, sizeof(maj), "%lld", (long long)whole);
    snprintf(min, sizeof(min), "%lld", (long long)frac);
    snprintf(key[0], sizeof(key[0]), "currency.%s.one", currency);
    snprintf(key[1], sizeof(key[1]), "currency.%s.other", currency);
    snprintf(key[2], sizeof(key[2]), "currency.%s.minor_one", currency);
    snprintf(key[3], sizeof(key[3]), "currency.%s.minor_other", currency);
    unit = vx_locale_text(l, key[vx_plural_of(l->lang, whole) == VX_PLURAL_ONE ? 0 : 1]);
    minor_unit = vx_locale_text(l, key[vx_plural_of(l->lang, frac) == VX_PLURAL_ONE ? 2 : 3]);
    if (!unit || (d > 0 && !minor_unit)) {
        /* no names for this currency here: say the digits and the code rather than nothing */
        const char *dec = vx_locale_text(l, "number.decimal");
        char f[32] = "";
        if (d > 0)
            vx_snprintf(f, sizeof(f), "%s%0*lld", dec ? dec : ".", d, (long long)frac);
        vx_snprintf(out, outsz, "%s%s %s", maj, f, currency);
        return VX_ENOTFOUND;
    }
    args[0] = (struct vx_arg){"major", maj};
    args[1] = (struct vx_arg){"unit", unit};
    args[2] = (struct vx_arg){"minor", min};
    args[3] = (struct vx_arg){"minor_unit", minor_unit ? minor_unit : ""};
    if (frac == 0)
        return vx_locale_format(l, "money.major", args, 4, out, outsz);
    if (whole == 0)
        return vx_locale_format(l, "money.minor", args, 4, out, outsz);
    return vx_locale_format(l, "money.both", args, 4, out, outsz);
}
