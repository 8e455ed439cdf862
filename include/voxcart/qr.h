/*
 * QR codes (ISO/IEC 18004) of our own, for the pay link on devices with a
 * screen: byte mode only (a URL is bytes), versions 1 to 40, the four error
 * correction levels, Reed-Solomon over GF(256), format and version
 * information, and the mask the standard's penalty rules rate best. The
 * symbol is a bitmap of dark modules without the quiet zone; whoever draws it
 * adds the four light modules around it.
 */
#ifndef VOXCART_QR_H
#define VOXCART_QR_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

#define VX_QR_VERSION_MAX 40
#define VX_QR_SIZE_MAX    (17 + 4 * VX_QR_VERSION_MAX) /* 177 modules a side */
#define VX_QR_QUIET       4                            /* light modules around the symbol */

/* Error correction levels, with the share of codewords each can restore. */
enum vx_qr_ecl {
    VX_QR_ECL_L, /* about 7% */
    VX_QR_ECL_M, /* about 15%: the pay link's */
    VX_QR_ECL_Q, /* about 25% */
    VX_QR_ECL_H, /* about 30% */
};

struct vx_qr {
    int version; /* 1..40 */
    int size;    /* modules a side: 17 + 4 * version */
    enum vx_qr_ecl ecl;
    int mask; /* 0..7, the one the penalty rules chose */
    /* dark modules, row by row, one bit each (bit x % 8 of byte (y * size + x) / 8) */
    uint8_t bits[(VX_QR_SIZE_MAX * VX_QR_SIZE_MAX + 7) / 8];
};

/*
 * Encodes len bytes of data in the smallest version that holds them at level
 * ecl. Returns 0, VX_ERANGE when they do not fit in version max_version (at
 * most 40; 0 means 40), VX_EINVAL for a bad level, VX_ENOMEM.
 */
int vx_qr_encode(const void *data, size_t len, enum vx_qr_ecl ecl, int max_version,
                 struct vx_qr *out, struct vx_err *e);
/* 1 when the module at column x, row y is dark; 0 outside the symbol. */
int vx_qr_dark(const struct vx_qr *q, int x, int y);
/* The bytes version holds in byte mode at level ecl (0 for a bad version or level). */
size_t vx_qr_capacity(int version, enum vx_qr_ecl ecl);

/* The building blocks, for the tests against the standard's tables and examples. */
/* The ecc_len error correction codewords of data (Reed-Solomon, GF(256) modulo 0x11D). */
void vx_qr_rs(const uint8_t *data, size_t len, uint8_t *ecc, size_t ecc_len);
/* The 15 format bits (level and mask, BCH coded and masked with 0x5412). */
unsigned vx_qr_format_bits(enum vx_qr_ecl ecl, int mask);
/* The 18 version bits (BCH coded) of versions 7 and above; 0 below. */
uint32_t vx_qr_version_bits(int version);

#endif
