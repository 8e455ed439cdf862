/*
 * The pay-link page's address (the README's "Paying by voice"): with public_url
 * configured, the card of a pay link sends the buyer to voxcartd's own page,
 * <public_url>/pay/<token>, where the voice code is set, and that page sends
 * the buyer on to the provider's approval page.
 *
 * The token names the customer's order and proves voxcartd made it:
 *
 *   base64url("<skill>\n<user>\n<order>") "." base64url(HMAC-SHA256(secret, that text))
 *
 * (base64url without padding, RFC 4648 section 5). It is the page's only
 * authentication: whoever holds the card's link may set the code of that one
 * customer, which is what the card in the customer's companion app is for. No
 * expiry is needed: the page acts only while the order is CHARGE_PENDING.
 * Pure: tested with plain strings.
 */
#ifndef VOXCART_PAYLINK_H
#define VOXCART_PAYLINK_H

#include <stddef.h>

#include "voxcart/common.h"

#define VX_PAYLINK_SECRET_MIN 32  /* bytes of paypage.secret */
#define VX_PAYLINK_PART_MAX   255 /* bytes of the skill ID, the user ID, the order ID */
#define VX_PAYLINK_TOKEN_MAX  1200
#define VX_PAYLINK_URL_MAX    1536 /* public_url (at most 255) + "/pay/" + a token */

/* Whose order a token names. */
struct vx_paylink {
    char skill[VX_PAYLINK_PART_MAX + 1];
    char user[VX_PAYLINK_PART_MAX + 1];
    char order[VX_PAYLINK_PART_MAX + 1];
};

/* The token of one order, appended to out. VX_EINVAL when a part is empty, longer than
 * VX_PAYLINK_PART_MAX or holds a newline; VX_ENOMEM. */
int vx_paylink_token(const unsigned char *secret, size_t secret_len, const char *skill,
                     const char *user, const char *order, struct vx_buf *out);
/* "<public_url>/pay/<token>" (a trailing '/' of public_url is not doubled), appended to out. */
int vx_paylink_url(const char *public_url, const unsigned char *secret, size_t secret_len,
                   const char *skill, const char *user, const char *order, struct vx_buf *out);
/*
 * 0 with out filled when token (len bytes, not NUL-terminated) is one this secret made;
 * VX_EVERIFY when it is not (any shape, encoding or MAC that is wrong: a caller answers
 * every one alike). The MAC is compared in constant time before the text is read.
 */
int vx_paylink_parse(const unsigned char *secret, size_t secret_len, const char *token, size_t len,
                     struct vx_paylink *out);
/* Reads paypage.secret's file into *key (malloc'd; the caller cleanses and frees it): a final
 * newline is not part of it; fewer than VX_PAYLINK_SECRET_MIN bytes is VX_ECONFIG, e naming
 * the field and the file. */
int vx_paylink_secret_load(const char *path, unsigned char **key, size_t *len, struct vx_err *e);

#endif
