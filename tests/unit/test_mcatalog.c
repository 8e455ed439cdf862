/*
 * The catalog between its file form and the merchant API's documents
 * (mcatalog.h): the sample coffee shop imported and built back is the same
 * catalog, price for price and word for word; an inactive product drops out.
 */
#include "voxcart/catalog.h"
#include "voxcart/mcatalog.h"
#include "vxtest.h"

#include <stdlib.h>
#include <string.h>

static char *sample(size_t *len)
{
    char path[1024], *text = NULL;
    const char *dir = getenv("VX_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/intents/catalog.json", dir ? dir : VX_SOURCE_DIR);
    if (vx_file_read(path, 1 << 20, &text, len, NULL) != 0)
        return NULL;
    return text;
}

/* The product documents of an import, as an array of strings. */
static size_t split(struct vx_buf *products, size_t n, const char **out)
{
    const char *p = products->data;
    for (size_t i = 0; i < n; i++) {
        out[i] = p;
        p += strlen(p) + 1;
    }
    return n;
}

static void test_round_trip(void)
{
    size_t len = 0, n = 0, np = 0;
    char *text = sample(&len);
    struct vx_buf shop, products, built, plans;
    const char *plan_docs[16];
    struct vx_catalog *a = NULL, *b = NULL;
    struct vx_err e;
    const char *docs[64];

    vx_buf_init(&shop);
    vx_buf_init(&products);
    vx_buf_init(&built);
    vx_buf_init(&plans);
    VX_CHECK(text != NULL);
    VX_CHECK_INT(vx_mcatalog_import(text, len, "catalog.json", 1800000000, &shop, &products, &n,
                                    &plans, &np, &e),
                 0);
    VX_CHECK(np >= 2 && np < 16);
    split(&plans, np, plan_docs);
    VX_CHECK(strstr(shop.data, "\"id\":\"corner_coffee\"") != NULL);
    VX_CHECK(strstr(shop.data, "\"locales\":[\"en-US\",\"en-GB\",\"de-DE\"]") != NULL);
    VX_CHECK(n > 2 && n < 64);
    split(&products, n, docs);
    VX_CHECK_INT(vx_mcatalog_build(shop.data, NULL, docs, n, plan_docs, np, &built, &e), 0);
    VX_CHECK_INT(vx_catalog_parse(text, len, "file", &a, &e), 0);
    VX_CHECK_INT(vx_catalog_parse(built.data, built.len, "built", &b, &e), 0);
    if (a && b) {
        VX_CHECK_STR(b->merchant_id, a->merchant_id);
        VX_CHECK_STR(b->currency, a->currency);
        VX_CHECK_INT(b->nproducts, a->nproducts);
        VX_CHECK_INT(b->nsizes, a->nsizes);
        for (size_t i = 0; i < a->nproducts && i < b->nproducts; i++) {
            const struct vx_cat_product *pa = &a->products[i], *pb = &b->products[i];
            VX_CHECK_STR(pb->id, pa->id);
            VX_CHECK_STR(pb->names[0].words.one, pa->names[0].words.one);
            VX_CHECK_INT(pb->noptions, pa->noptions);
            for (size_t k = 0; k < pa->noptions && k < pb->noptions; k++)
                VX_CHECK_INT(pb->options[k].price, pa->options[k].price);
            if (pa->noptions == 0)
                VX_CHECK_INT(pb->price, pa->price);
        }
        /* the plans, term for term, with their names in every language */
        VX_CHECK_INT(b->nplans, a->nplans);
        for (size_t i = 0; i < a->nplans && i < b->nplans; i++) {
            const struct vx_cat_plan *pa = &a->plans[i], *pb = &b->plans[i];
            VX_CHECK_STR(pb->id, pa->id);
            VX_CHECK_STR(pb->unit, pa->unit);
            VX_CHECK_INT(pb->count, pa->count);
            VX_CHECK_INT(pb->amount, pa->amount);
            VX_CHECK_INT(pb->trial_days, pa->trial_days);
            VX_CHECK_INT(pb->nnames, pa->nnames);
            for (size_t k = 0; k < pa->nnames && k < pb->nnames; k++)
                VX_CHECK_STR(pb->names[k].words.one, pa->names[k].words.one);
        }
    }
    /* a plan in another currency than the shop's is not offered by voice */
    if (np > 0) {
        struct vx_buf other;
        char *cur;
        vx_buf_init(&other);
        vx_buf_appends(&other, plan_docs[0]);
        cur = other.data ? strstr(other.data, "\"currency\":\"EUR\"") : NULL;
        VX_CHECK(cur != NULL);
        if (cur) {
            memcpy(cur + 12, "USD", 3);
            plan_docs[0] = other.data;
            built.len = 0;
            VX_CHECK_INT(vx_mcatalog_build(shop.data, NULL, docs, n, plan_docs, np, &built, &e), 0);
            vx_catalog_free(b);
            b = NULL;
            VX_CHECK_INT(vx_catalog_parse(built.data, built.len, "built", &b, &e), 0);
            VX_CHECK(b && b->nplans + 1 == np);
        }
        vx_buf_release(&other);
    }
    vx_catalog_free(b);
    b = NULL;
    /* the first product switched off is not sold by voice */
    {
        char *off = strdup(docs[0]);
        char *at = strstr(off, "\"active\":true");
        const char *docs2[64];
        memcpy(docs2, docs, n * sizeof(*docs));
        if (at)
            memcpy(at, "\"active\":0   ", 13); /* not false: a reader must not take it as off */
        docs2[0] = off;
        built.len = 0;
        VX_CHECK_INT(vx_mcatalog_build(shop.data, NULL, docs2, n, NULL, 0, &built, &e), 0);
        VX_CHECK_INT(vx_catalog_parse(built.data, built.len, "built", &b, &e), 0);
        VX_CHECK(b && b->nproducts == a->nproducts);
        vx_catalog_free(b);
        b = NULL;
        struct vx_buf f;
        vx_buf_init(&f);
        if (at) {
            vx_buf_append(&f, off, (size_t)(at - off));
            vx_buf_appends(&f, "\"active\":false");
            vx_buf_appends(&f, at + 13);
        }
        docs2[0] = f.data ? f.data : off;
        built.len = 0;
        VX_CHECK_INT(vx_mcatalog_build(shop.data, NULL, docs2, n, NULL, 0, &built, &e), 0);
        VX_CHECK_INT(vx_catalog_parse(built.data, built.len, "built", &b, &e), 0);
        VX_CHECK(b && b->nproducts + 1 == a->nproducts);
        VX_CHECK(b && vx_catalog_product(b, a->products[0].id) == NULL);
        free(off);
        vx_buf_release(&f);
    }
    vx_catalog_free(a);
    vx_catalog_free(b);
    vx_buf_release(&shop);
    vx_buf_release(&products);
    vx_buf_release(&built);
    vx_buf_release(&plans);
    free(text);
}

int main(void)
{
    VX_RUN(test_round_trip);
    return VX_DONE();
}
