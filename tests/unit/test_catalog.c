/*
 * The merchant catalog: the sample coffee shop loads with the prices it
 * states, broken catalogs are refused with a message that names the field, and
 * slot values resolve to catalog IDs by entity resolution or by the names and
 * synonyms of a language.
 */
#include "voxcart/catalog.h"
#include "vxtest.h"

#include <string.h>

static struct vx_catalog *cat;

static void test_sample(void)
{
    struct vx_err e;
    const struct vx_cat_product *p;
    int64_t price = -1;

    VX_CHECK_INT(vx_catalog_load(VX_SOURCE_DIR "/intents/catalog.json", &cat, &e), 0);
    if (!cat)
        return;
    VX_CHECK_STR(cat->currency, "EUR");
    VX_CHECK_STR(cat->merchant_id, "corner_coffee");
    VX_CHECK_INT(cat->nlangs, 2);
    VX_CHECK_INT(cat->nsizes, 3);
    VX_CHECK(cat->nproducts >= 7);
    VX_CHECK_STR(vx_catalog_merchant_name(cat, "de"), "Corner Coffee");

    p = vx_catalog_product(cat, "latte");
    VX_CHECK(p != NULL);
    if (!p)
        return;
    VX_CHECK_INT(p->noptions, 3);
    VX_CHECK_INT(vx_catalog_price(p, "large", &price), 0);
    VX_CHECK_INT(price, 450);
    VX_CHECK_INT(vx_catalog_price(p, NULL, &price), VX_ENOTFOUND);
    VX_CHECK_INT(vx_catalog_price(p, "huge", &price), VX_ENOTFOUND);

    /* deltas on a base price */
    p = vx_catalog_product(cat, "cappuccino");
    VX_CHECK_INT(vx_catalog_price(p, "small", &price), 0);
    VX_CHECK_INT(price, 340);
    VX_CHECK_INT(vx_catalog_price(p, "large", &price), 0);
    VX_CHECK_INT(price, 430);

    /* no sizes: one price, and a size is refused */
    p = vx_catalog_product(cat, "espresso");
    VX_CHECK_INT(vx_catalog_price(p, "", &price), 0);
    VX_CHECK_INT(price, 250);
    VX_CHECK_INT(vx_catalog_price(p, "large", &price), VX_ENOTFOUND);

    /* sold only in some sizes, listed in the catalog's size order */
    p = vx_catalog_product(cat, "flat_white");
    VX_CHECK_INT(p->noptions, 2);
    VX_CHECK_STR(p->options[0].size->id, "small");
    VX_CHECK(vx_catalog_option(p, "medium") == NULL);

    p = vx_catalog_product(cat, "hot_chocolate");
    VX_CHECK_INT(vx_cat_names_for(p->names, p->nnames, "de")->words.gender, 'f');
    VX_CHECK(vx_catalog_product(cat, "pizza") == NULL);
}

/* A catalog from a template: %s is replaced by the product list. */
static int parse_products(const char *products, struct vx_err *e)
{
    char text[4096];
    struct vx_catalog *c = NULL;
    int rc;
    snprintf(
        text, sizeof(text),
        "{\"merchant\":{\"id\":\"m\",\"name\":{\"en\":\"M\",\"de\":\"M\"},\"currency\":\"EUR\"},"
        "\"sizes\":[{\"id\":\"large\",\"names\":{\"en\":{\"one\":\"large\"},\"de\":{\"one\":"
        "\"groß\"}}}],\"products\":[%s]}",
        products);
    vx_err_clear(e);
    rc = vx_catalog_parse(text, strlen(text), "catalog.json", &c, e);
    vx_catalog_free(c);
    return rc;
}

#define NAMES "\"names\":{\"en\":{\"one\":\"tea\"},\"de\":{\"one\":\"Tee\"}}"
#define OK1   "{\"id\":\"tea\"," NAMES ",\"price\":100}"

static void expect_error(const char *products, const char *msg)
{
    struct vx_err e;
    int rc = parse_products(products, &e);
    VX_CHECK_INT(rc, VX_ECONFIG);
    if (!strstr(e.msg, msg)) {
        vxt_failed++;
        fprintf(stderr, "want '%s' in '%s'\n", msg, e.msg);
    }
}

static void test_bad_products(void)
{
    struct vx_err e;
    VX_CHECK_INT(parse_products(OK1, &e), 0);
    expect_error(OK1 "," OK1 ",{\"id\":\"cake\"," NAMES ",\"price\":4.5}",
                 "catalog.json: products[1].id: duplicate product 'tea'");
    expect_error(OK1 ",{\"id\":\"x\"," NAMES ",\"price\":4.5}",
                 "catalog.json: products[1].price: must be a non-negative integer");
    expect_error(OK1 ",{\"id\":\"x\"," NAMES ",\"price\":-1}",
                 "catalog.json: products[1].price: must be a non-negative integer");
    expect_error(OK1 ",{\"id\":\"x\"," NAMES ",\"price\":\"4\"}",
                 "products[1].price: must be a non-negative integer");
    expect_error("{\"id\":\"x\"," NAMES "}",
                 "products[0].price: missing (a product without sizes needs a price)");
    expect_error("{\"id\":\"X y\"," NAMES ",\"price\":1}",
                 "products[0].id: 'X y' must be lower-case letters, digits and '_'");
    expect_error("{\"id\":\"x\",\"price\":1}", "products[0].names: missing");
    expect_error("{\"id\":\"x\",\"names\":{\"en\":{\"one\":\"tea\"}},\"price\":1}",
                 "products[0].names.de: missing");
    expect_error("{\"id\":\"x\",\"names\":{\"en\":{\"one\":\"tea\"},\"de\":{\"one\":\"\"}},"
                 "\"price\":1}",
                 "products[0].names.de.one: must be a non-empty string");
    expect_error("{\"id\":\"x\",\"names\":{\"en\":{\"one\":\"tea\"},\"de\":{\"one\":\"Tee\","
                 "\"gender\":\"x\"}},\"price\":1}",
                 "products[0].names.de.gender: must be \"m\", \"f\" or \"n\"");
    expect_error("{\"id\":\"x\",\"names\":{\"en\":{\"one\":\"tea\"},\"de\":{\"one\":\"Tee\"},"
                 "\"fr\":{\"one\":\"thé\"}},\"price\":1}",
                 "products[0].names.fr: language not in merchant.name");
    expect_error("{\"id\":\"x\"," NAMES ",\"price\":1,\"colour\":\"red\"}",
                 "products[0].colour: unknown field");
    expect_error("{\"id\":\"x\"," NAMES ",\"sizes\":{\"huge\":{\"price\":1}}}",
                 "products[0].sizes.huge: unknown size 'huge'");
    expect_error("{\"id\":\"x\"," NAMES ",\"sizes\":{\"large\":{\"delta\":50}}}",
                 "products[0].sizes.large.delta: needs a base price in products[0].price");
    expect_error("{\"id\":\"x\"," NAMES ",\"price\":10,\"sizes\":{\"large\":{\"delta\":-50}}}",
                 "products[0].sizes.large.delta: makes the price negative");
    expect_error("{\"id\":\"x\"," NAMES ",\"sizes\":{\"large\":{\"price\":1,\"delta\":1}}}",
                 "products[0].sizes.large: needs exactly one of \"price\" and \"delta\"");
    expect_error("{\"id\":\"x\"," NAMES ",\"sizes\":{\"large\":{\"price\":1.5}}}",
                 "products[0].sizes.large.price: must be a non-negative integer");
    expect_error("", "catalog.json: products: must be a non-empty array");
}

static void expect_doc_error(const char *doc, const char *msg)
{
    struct vx_catalog *c = NULL;
    struct vx_err e;
    vx_err_clear(&e);
    VX_CHECK_INT(vx_catalog_parse(doc, strlen(doc), "shop.json", &c, &e), VX_ECONFIG);
    VX_CHECK(c == NULL);
    if (!strstr(e.msg, msg)) {
        vxt_failed++;
        fprintf(stderr, "want '%s' in '%s'\n", msg, e.msg);
    }
}

static void test_bad_documents(void)
{
    expect_doc_error("{\"products\":[]}", "shop.json: merchant: missing");
    expect_doc_error("{\"merchant\":{\"id\":\"m\",\"name\":{\"en\":\"M\"},\"currency\":\"XYZ\"}}",
                     "shop.json: merchant.currency: 'XYZ' is not an ISO 4217 currency code");
    expect_doc_error("{\"merchant\":{\"id\":\"m\",\"name\":{\"en\":\"M\"},\"currency\":\"eur\"}}",
                     "merchant.currency: 'eur'");
    expect_doc_error("{\"merchant\":{\"id\":\"m\",\"name\":{},\"currency\":\"EUR\"}}",
                     "merchant.name: must be an object of language: name");
    expect_doc_error("{\"merchant\":{\"id\":\"m\",\"name\":{\"english\":\"M\"},\"currency\":"
                     "\"EUR\"}}",
                     "merchant.name.english: 'english' is not a language code");
    expect_doc_error("{\"merchant\":{\"id\":\"m\",\"name\":{\"en\":\"M\"},\"currency\":\"EUR\"},"
                     "\"sizes\":[{\"id\":\"a\",\"names\":{\"en\":{\"one\":\"a\"}}},{\"id\":\"a\","
                     "\"names\":{\"en\":{\"one\":\"b\"}}}]}",
                     "sizes[1].id: duplicate size 'a'");
    expect_doc_error("{\"merchant\":{\"id\":\"m\",\"name\":{\"en\":\"M\"},\"currency\":\"EUR\"},"
                     "\"products\":[],\"extra\":1}",
                     "shop.json: catalog.extra: unknown field");
    expect_doc_error("{\"merchant\":", "shop.json: not valid JSON");
    expect_doc_error("[]", "shop.json: must be a JSON object");
    {
        struct vx_catalog *c = NULL;
        struct vx_err e;
        VX_CHECK_INT(vx_catalog_load("/nonexistent/catalog.json", &c, &e) < 0, 1);
        VX_CHECK(strstr(e.msg, "/nonexistent/catalog.json") != NULL);
    }
}

static const struct vx_cat_product *resolve(const char *value, const char *id, const char *lang)
{
    struct vx_slot s;
    memset(&s, 0, sizeof(s));
    s.name = "product";
    s.value = value;
    if (id) {
        s.resolved_id = id;
        s.er = VX_ER_MATCH;
    }
    return vx_catalog_match_product(cat, &s, lang);
}

static const char *resolve_id(const char *value, const char *id, const char *lang)
{
    const struct vx_cat_product *p = resolve(value, id, lang);
    return p ? p->id : "(none)";
}

static void test_resolution(void)
{
    struct vx_slot s;
    const struct vx_cat_size *z;

    /* the entity-resolution ID wins over what was heard */
    VX_CHECK_STR(resolve_id("lattes", "latte", "en"), "latte");
    VX_CHECK_STR(resolve_id("something odd", "espresso", "en"), "espresso");
    /* an ID the catalog does not know falls back to the spoken value */
    VX_CHECK_STR(resolve_id("cappuccino", "old_id", "en"), "cappuccino");
    /* names, plurals and synonyms, in any case and with hyphens */
    VX_CHECK_STR(resolve_id("Flat-White", NULL, "en"), "flat_white");
    VX_CHECK_STR(resolve_id("flat whites", NULL, "en"), "flat_white");
    VX_CHECK_STR(resolve_id("  hot   cocoa ", NULL, "en"), "hot_chocolate");
    VX_CHECK_STR(resolve_id("Kakao", NULL, "de"), "hot_chocolate");
    VX_CHECK_STR(resolve_id("HEIßE SCHOKOLADE", NULL, "de"), "hot_chocolate");
    VX_CHECK_STR(resolve_id("Kaffeebohnen", NULL, "de"), "coffee_beans");
    /* a German word in an English request still resolves, after the English names */
    VX_CHECK_STR(resolve_id("Milchkaffee", NULL, "en"), "latte");
    VX_CHECK_STR(resolve_id("pizza", NULL, "en"), "(none)");
    VX_CHECK_STR(resolve_id(NULL, NULL, "en"), "(none)");
    VX_CHECK(vx_catalog_match_product(cat, NULL, "en") == NULL);

    memset(&s, 0, sizeof(s));
    s.name = "size";
    s.value = "großen";
    z = vx_catalog_match_size(cat, &s, "de");
    VX_CHECK_STR(z ? z->id : "(none)", "large");
    s.value = "Kleine";
    z = vx_catalog_match_size(cat, &s, "de");
    VX_CHECK_STR(z ? z->id : "(none)", "small");
    s.value = "regular";
    z = vx_catalog_match_size(cat, &s, "en");
    VX_CHECK_STR(z ? z->id : "(none)", "medium");
    s.value = "enormous";
    VX_CHECK(vx_catalog_match_size(cat, &s, "en") == NULL);
    s.value = "x";
    s.resolved_id = "large";
    s.er = VX_ER_MATCH;
    z = vx_catalog_match_size(cat, &s, "en");
    VX_CHECK_STR(z ? z->id : "(none)", "large");
}

int main(void)
{
    VX_RUN(test_sample);
    if (!cat)
        return VX_DONE();
    VX_RUN(test_bad_products);
    VX_RUN(test_bad_documents);
    VX_RUN(test_resolution);
    vx_catalog_free(cat);
    return VX_DONE();
}
