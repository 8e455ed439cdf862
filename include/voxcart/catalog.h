/*
 * A merchant's catalog: the merchant's name, the currency every price is in,
 * the sizes it sells, and its products with their names and synonyms per
 * language and their prices in minor units. The skill's slot values resolve to
 * the IDs here; the interaction models' slot types are checked against them.
 *
 * The file format (intents/catalog.json is the sample):
 *
 *   {"merchant": {"id": "...", "name": {"en": "...", "de": "..."}, "currency": "EUR",
 *                 "environment": "sandbox",             (optional: sandbox or production,
 *                 "voice_code_threshold": 10000,          the minor units from which a voice
 *                 "simulation": "HardDeclined",           code is asked; sandbox only: the
 *                                                         next charge's simulation code;
 *                 "rail": "platform", "seller_id": "A1..", the platform's Setup/Charge rail
 *                 "country": "DE", "sandbox_email": ".."}  instead of the provider's API;
 *                 "time_zone": "Europe/Berlin"            the calendar of subscriptions)
 *    "sizes": [{"id": "large", "names": {"en": WORDS, "de": WORDS}}],
 *    "products": [{"id": "latte", "names": {"en": WORDS, ...},
 *                  "price": 400,                         (base price, minor units)
 *                  "sizes": {"small": {"price": 350},    (a price of its own, or
 *                            "large": {"delta": 50}}}],   the base price plus a delta)
 *    "plans": [{"id": "house_blend_2w", "names": {"en": WORDS, ...},   (optional: what a
 *               "interval": {"unit": "week", "count": 2},               customer may
 *               "amount": 1250, "trial_days": 14}]}                     subscribe to)
 *
 *   WORDS = {"one": "latte", "other": "lattes", "gender": "m",
 *            "m": "großer", "f": "große", "n": "großes", "synonyms": ["..."]}
 *
 * The languages of the catalog are those of merchant.name; every product and
 * size must have names in each. A product with "sizes" is sold only in those
 * sizes; without, it has one price and no size. Loading validates everything
 * and the error names the file and the field:
 * "catalog.json: products[2].price: must be a non-negative integer".
 */
#ifndef VOXCART_CATALOG_H
#define VOXCART_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"
#include "voxcart/envelope.h"
#include "voxcart/i18n.h"

#define VX_CAT_MAX_LANGS 8

struct vx_cat_names {
    const char *lang;
    struct vx_words words;
    const char *const *synonyms;
    size_t nsynonyms;
};

struct vx_cat_size {
    const char *id;
    struct vx_cat_names *names;
    size_t nnames;
};

struct vx_cat_option {
    const struct vx_cat_size *size;
    int64_t price; /* minor units, the final price for this size */
};

struct vx_cat_product {
    const char *id;
    struct vx_cat_names *names;
    size_t nnames;
    int64_t price;                 /* minor units; the only price when there are no options */
    int has_price;                 /* "price" was given */
    struct vx_cat_option *options; /* the sizes it is sold in, in catalog order */
    size_t noptions;
};

/* A subscription plan: an amount in the catalog's currency every count units, after an optional
 * trial (the merchant API's plans, the README's "Subscriptions"). */
struct vx_cat_plan {
    const char *id;
    struct vx_cat_names *names;
    size_t nnames;
    const char *unit; /* "day", "week", "month" or "year" */
    int count;
    int64_t amount;
    int trial_days;
};

struct vx_catalog {
    char file[512]; /* how errors and checks name it */
    const char *merchant_id;
    struct vx_cat_names *merchant_names; /* words.one is the merchant's name per language */
    size_t nmerchant_names;
    char currency[4];
    const char *langs[VX_CAT_MAX_LANGS];
    size_t nlangs;
    struct vx_cat_size *sizes;
    size_t nsizes;
    struct vx_cat_product *products;
    size_t nproducts;
    struct vx_cat_plan *plans;
    size_t nplans;
    /* paying: which of the provider's endpoints charges (sandbox unless production), from
     * which amount a voice code is asked (-1: never), and, in the sandbox only, the
     * simulation code armed for the next charge (NULL: none) */
    int production;
    int64_t voice_code_threshold;
    const char *simulation;
    /* the rail: the provider's API (0), or the platform's Setup/Charge directives (1), with
     * the seller ID and country of establishment they name, and in the sandbox the
     * customer e-mail its Setup uses (NULL: none) */
    int platform;
    const char *seller_id, *country, *sandbox_email;
    /* the shop's time zone (IANA name, "UTC" when none is given): it decides the calendar
     * day of a subscription's cycles */
    const char *time_zone;
    void *priv; /* the parsed document the strings point into */
};

/* Reads and validates a catalog file; errors name the file and the field. */
int vx_catalog_load(const char *path, struct vx_catalog **out, struct vx_err *e);
/* The same from text; name is how errors refer to it. */
int vx_catalog_parse(const char *text, size_t len, const char *name, struct vx_catalog **out,
                     struct vx_err *e);
void vx_catalog_free(struct vx_catalog *c);

const struct vx_cat_product *vx_catalog_product(const struct vx_catalog *c, const char *id);
const struct vx_cat_size *vx_catalog_size(const struct vx_catalog *c, const char *id);
/* The option of product p for size_id, or NULL when p is not sold in that size. */
const struct vx_cat_option *vx_catalog_option(const struct vx_cat_product *p, const char *size_id);
/* The price of p in size_id (NULL or "" when p has no sizes); VX_ENOTFOUND when not sold so. */
int vx_catalog_price(const struct vx_cat_product *p, const char *size_id, int64_t *minor);

const struct vx_cat_plan *vx_catalog_plan(const struct vx_catalog *c, const char *id);
/*
 * The plans a slot names, best first, into out (at most max): the plan of the entity-resolution
 * ID, else every plan whose names (in lang, then the others) match the spoken value, so "house
 * blend" finds the weekly and the two-weekly one. The count found.
 */
size_t vx_catalog_match_plans(const struct vx_catalog *c, const struct vx_slot *s, const char *lang,
                              const struct vx_cat_plan **out, size_t max);

/* The names in lang, else in the catalog's first language. */
const struct vx_cat_names *vx_cat_names_for(const struct vx_cat_names *names, size_t n,
                                            const char *lang);
const char *vx_catalog_merchant_name(const struct vx_catalog *c, const char *lang);

/*
 * Resolves a slot: by the entity-resolution ID when the platform matched one,
 * else by the spoken value against the names, plural forms and synonyms in
 * lang, then in the other languages. NULL when the slot is empty or unknown.
 */
const struct vx_cat_product *vx_catalog_match_product(const struct vx_catalog *c,
                                                      const struct vx_slot *s, const char *lang);
const struct vx_cat_size *vx_catalog_match_size(const struct vx_catalog *c, const struct vx_slot *s,
                                                const char *lang);
/* True when text names the thing (case- and space-insensitive). */
int vx_cat_names_match(const struct vx_cat_names *n, const char *text);

#endif
