/*
 * The voice code (reference: certification rules): an optional four digits a
 * customer sets on the pay-link page and says before an order at or above the
 * shop's voice_code_threshold is charged. Stored in the profile member
 * "voice_code" as a salted slow hash, never the digits:
 *
 *   {"alg":"pbkdf2-sha256","iter":20000,"salt":"<32 hex>","hash":"<64 hex>"}
 *
 * Four digits are only 10,000 codes, so no hash keeps a stolen profile from
 * being searched; what protects the customer is the lock after three wrong codes
 * (members "voice_code_failures", "voice_code_locked"), and the hash keeps the
 * digits themselves out of the store, its backups and its logs. 20,000 rounds
 * cost a few milliseconds of a worker's time per check (the turn that checks a
 * code), which is all the slowness four digits can use.
 */
#ifndef VOXCART_VCODE_H
#define VOXCART_VCODE_H

#include <stddef.h>

#include "voxcart/common.h"

#define VX_VCODE_ITER     20000
#define VX_VCODE_FAILURES 3 /* wrong codes in a row that lock voice purchases */

/* 1 when s is exactly four ASCII digits. */
int vx_vcode_valid(const char *s);
/* The stored form of code (four digits) with a fresh salt, into out. VX_EINVAL, VX_ENOMEM. */
int vx_vcode_hash(const char *code, struct vx_buf *out);
/* 1 when code matches the stored form (constant time over the hash), 0 when not, and
 * VX_EPARSE when stored is not a form this version reads. */
int vx_vcode_check(const char *code, const char *stored_json);

#endif
