/*
 * The dialog engine's start-up: the catalog and messages loaded and checked
 * against what the skill speaks, once, shared read-only by every worker.
 */
#include "engine.h"

#include "voxcart/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vx_intents_dir_default(void)
{
    const char *env = getenv("VOXCART_INTENTS_DIR");
    return env && *env ? env : VX_SOURCE_DIR "/intents";
}

struct check {
    void (*report)(void *ud, const char *file, const char *msg);
    void *ud;
    const char *file;
    const char *key;
    const char *allowed;
    size_t problems;
};

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct check *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->problems++;
    if (c->report)
        c->report(c->ud, c->file, msg);
}

static void check_placeholder(void *ud, const char *name, size_t len)
{
    struct check *c = ud;
    const char *a = c->allowed;
    while (*a) {
        size_t n = strcspn(a, " ");
        if (n == len && strncmp(a, name, len) == 0)
            return;
        a += n;
        a += strspn(a, " ");
    }
    problem(c, "%s: unknown placeholder {%.*s} (this message gets: %s)", c->key, (int)len, name,
            *c->allowed ? c->allowed : "none");
}

size_t vx_fsm_check_messages(const struct vx_skill *sk, const struct vx_i18n *m,
                             const struct vx_catalog *cat,
                             void (*report)(void *ud, const char *file, const char *msg), void *ud)
{
    struct check c = {report, ud, NULL, NULL, NULL, 0};
    for (size_t i = 0; i < vx_i18n_count(m); i++) {
        const struct vx_locale *l = vx_i18n_at(m, i);
        static const char *const cur_forms[] = {"one", "other", "minor_one", "minor_other"};
        size_t forms = vx_currency_digits(cat->currency) > 0 ? 4 : 2, k;
        c.file = vx_locale_file(l);
        for (size_t msg = 0; msg < sk->nmsgs; msg++) {
            const char *t = vx_locale_text(l, sk->msgs[msg].key);
            if (!t) {
                problem(&c, "missing message '%s'", sk->msgs[msg].key);
                continue;
            }
            c.key = sk->msgs[msg].key;
            c.allowed = sk->msgs[msg].args;
            vx_placeholders(t, check_placeholder, &c);
        }
        for (size_t f = 0; f < forms; f++) {
            char key[48];
            snprintf(key, sizeof(key), "currency.%s.%s", cat->currency, cur_forms[f]);
            if (!vx_locale_text(l, key))
                problem(&c, "missing message '%s' (the catalog's currency is %s)", key,
                        cat->currency);
        }
        for (k = 0; k < cat->nlangs; k++)
            if (strcmp(cat->langs[k], vx_locale_lang(l)) == 0)
                break;
        if (k == cat->nlangs)
            problem(&c, "the catalog %s has no names in '%s'", cat->file, vx_locale_lang(l));
    }
    return c.problems;
}

static void first_problem(void *ud, const char *file, const char *msg)
{
    struct vx_err *e = ud;
    if (e && e->code == 0)
        vx_err_set(e, VX_ECONFIG, "%s: %s", file, msg);
}

int vx_fsm_new(const struct vx_fsm_config *cfg, struct vx_fsm **out, struct vx_err *e)
{
    const char *dir =
        cfg && cfg->intents_dir && *cfg->intents_dir ? cfg->intents_dir : vx_intents_dir_default();
    char path[1024], msgdir[1024];
    struct vx_fsm *f = calloc(1, sizeof(*f));
    struct vx_err ce;
    int rc;

    *out = NULL;
    if (!f)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    if (!cfg || !cfg->skill) {
        free(f);
        return vx_err_set(e, VX_EINVAL, "no skill given to the dialog engine");
    }
    f->skill = cfg->skill;
    f->ttl = cfg->ttl > 0 ? cfg->ttl : VX_CONV_TTL;
    pthread_mutex_init(&f->mu, NULL);
    f->provider = cfg->provider;
    f->live = cfg->live;
    f->payments = cfg->payments;
    vx_strlcpy(f->merchant, cfg->merchant ? cfg->merchant : "", sizeof(f->merchant));
    f->pay_budget_ms = cfg->pay_budget_ms > 0 ? cfg->pay_budget_ms : VX_PAY_BUDGET_MS;
    if (cfg && cfg->catalog && *cfg->catalog)
        rc = vx_snprintf(path, sizeof(path), "%s", cfg->catalog);
    else
        rc = vx_snprintf(path, sizeof(path), "%s/catalog.json", dir);
    if (rc == 0)
        rc = vx_snprintf(msgdir, sizeof(msgdir), "%s/messages", dir);
    if (rc) {
        rc = vx_err_set(e, VX_ECONFIG, "intents_dir: path too long");
        goto out;
    }
    vx_err_clear(&ce);
    rc = vx_catalog_load(path, &f->cat, &ce);
    if (rc) {
        /* name the configuration field as well as the file and the field in it */
        rc = vx_err_set(e, rc, "%s: %s",
                        cfg && cfg->catalog && *cfg->catalog ? "catalog" : "intents_dir", ce.msg);
        goto out;
    }
    rc = vx_i18n_load(msgdir, &f->i18n, &ce);
    if (rc) {
        rc = vx_err_set(e, rc, "intents_dir: %s", ce.msg);
        goto out;
    }
    vx_err_clear(&ce);
    if (vx_fsm_check_messages(f->skill, f->i18n, f->cat, first_problem, &ce) > 0) {
        rc = vx_err_set(e, VX_ECONFIG, "intents_dir: %s", ce.msg);
        goto out;
    }
    f->cur = calloc(1, sizeof(*f->cur));
    if (!f->cur) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory");
        goto out;
    }
    f->cur->cat = f->cat;
    f->cur->refs = 1; /* the engine's own */
    *out = f;
out:
    if (rc)
        vx_fsm_free(f);
    return rc;
}

void vx_fsm_free(struct vx_fsm *f)
{
    if (!f)
        return;
    vx_catalog_free(f->cat); /* turns have ended: only the engine holds the current one */
    free(f->cur);
    vx_i18n_free(f->i18n);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

struct fsm_cat *fsm_cat_ref(struct vx_fsm *f)
{
    struct fsm_cat *c;
    pthread_mutex_lock(&f->mu);
    c = f->cur;
    if (c)
        c->refs++;
    pthread_mutex_unlock(&f->mu);
    return c;
}

void fsm_cat_unref(struct vx_fsm *f, struct fsm_cat *c)
{
    int last;
    if (!c)
        return;
    pthread_mutex_lock(&f->mu);
    last = --c->refs == 0;
    pthread_mutex_unlock(&f->mu);
    if (last) {
        vx_catalog_free(c->cat);
        free(c);
    }
}

uint64_t vx_fsm_catalog_version(struct vx_fsm *f)
{
    uint64_t v;
    pthread_mutex_lock(&f->mu);
    v = f->cur ? f->cur->version : 0;
    pthread_mutex_unlock(&f->mu);
    return v;
}

int vx_fsm_catalog_swap(struct vx_fsm *f, struct vx_catalog *cat, uint64_t version,
                        struct vx_err *e)
{
    struct fsm_cat *c, *old = NULL;
    vx_err_clear(e);
    /* the dialog must be able to speak it: the same check as at start-up */
    if (vx_fsm_check_messages(f->skill, f->i18n, cat, first_problem, e) > 0) {
        vx_catalog_free(cat);
        return VX_ECONFIG;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        vx_catalog_free(cat);
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    }
    c->cat = cat;
    c->version = version;
    c->refs = 1;
    pthread_mutex_lock(&f->mu);
    if (f->cur && f->cur->version >= version) {
        pthread_mutex_unlock(&f->mu); /* another turn installed this one, or a newer one */
        vx_catalog_free(cat);
        free(c);
        return 0;
    }
    old = f->cur;
    f->cur = c;
    f->cat = cat;
    pthread_mutex_unlock(&f->mu);
    fsm_cat_unref(f, old);
    return 0;
}

const struct vx_catalog *vx_fsm_catalog(const struct vx_fsm *f)
{
    return f->cat;
}

const struct vx_catalog *vx_fsm_catalog_hold(struct vx_fsm *f, struct fsm_cat **hold)
{
    *hold = fsm_cat_ref(f);
    return *hold ? (*hold)->cat : NULL;
}

void vx_fsm_catalog_drop(struct vx_fsm *f, struct fsm_cat *hold)
{
    fsm_cat_unref(f, hold);
}

const char *vx_catalog_store_name(const struct vx_catalog *c)
{
    return c->nmerchant_names ? c->merchant_names[0].words.one : NULL;
}

void vx_fsm_store_name(struct vx_fsm *f, char *out, size_t outsz)
{
    const char *n;
    pthread_mutex_lock(&f->mu); /* the catalog may be replaced meanwhile */
    n = vx_catalog_store_name(f->cur->cat);
    vx_strlcpy(out, n ? n : "", outsz);
    pthread_mutex_unlock(&f->mu);
}

const struct vx_i18n *vx_fsm_i18n(const struct vx_fsm *f)
{
    return f->i18n;
}

void vx_fsm_set_save_hook(struct vx_fsm *f, void (*hook)(void *ud), void *ud)
{
    f->hook = hook;
    f->hook_ud = ud;
}

int vx_fsm_set_pay_page(struct vx_fsm *f, const char *url, const unsigned char *secret,
                        size_t secret_len)
{
    f->pay_page_url[0] = '\0';
    f->pay_page_secret = NULL;
    f->pay_page_secret_len = 0;
    if (!url || !*url || !secret || !secret_len)
        return 0;
    if (vx_strlcpy(f->pay_page_url, url, sizeof(f->pay_page_url)) != 0) {
        f->pay_page_url[0] = '\0';
        return VX_ERANGE;
    }
    f->pay_page_secret = secret;
    f->pay_page_secret_len = secret_len;
    return 0;
}
