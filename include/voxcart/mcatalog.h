/*
 * A shop's catalog between its two forms: the catalog file (catalog.h, the
 * import format and what the voice skill reads) and the merchant API's
 * documents in Redis (a shop and its products, merchant.c). Pure: text in,
 * text out.
 *
 *   shop:    {"id","name":{lang:name},"currency","locales":[...],"skill_ids":[],
 *             "rail","environment","voice_code_threshold","sizes":[catalog sizes],
 *             "created_at"}
 *   product: {"id","shop_id","names":{catalog WORDS per lang},
 *             "prices":[{"currency","amount"}]            (a product without sizes)
 *             "sizes":[{"size","prices":[{"currency","amount"}]}],
 *             "active":true,"updated_at"}
 *   plan:    {"id","shop_id","name":{lang:name},"interval":{"unit","count"},"amount",
 *             "currency","trial_days","active","created_at"}
 */
#ifndef VOXCART_MCATALOG_H
#define VOXCART_MCATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

/*
 * The documents a catalog file makes: the shop (its id is the catalog's
 * merchant.id), one product document per product, NUL-separated in
 * products (n_products of them), and one plan document per plan the same way
 * in plans. Errors name the catalog's field.
 */
int vx_mcatalog_import(const char *text, size_t len, const char *name, int64_t now,
                       struct vx_buf *shop, struct vx_buf *products, size_t *n_products,
                       struct vx_buf *plans, size_t *n_plans, struct vx_err *e);

/*
 * The catalog file text of a shop, its products and its plans (inactive ones,
 * and plans in another currency, left out), priced in the shop's currency, with the shop's
 * environment and voice-code threshold and the simulation code armed for its next charge (NULL:
 * none). vx_catalog_parse checks the result.
 */
int vx_mcatalog_build(const char *shop_json, const char *simulation, const char *const *products,
                      size_t n, const char *const *plans, size_t n_plans, struct vx_buf *out,
                      struct vx_err *e);

#endif
