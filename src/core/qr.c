/*
 * A QR code encoder (ISO/IEC 18004:2015), for the pay link on a screen. Only
 * what a URL needs: byte mode, any version from 1 to 40, any of the four error
 * correction levels. No third-party library: the whole symbol is made here and
 * read back by zbarimg in the tests.
 *
 * DESIGN. The steps are the standard's, one function each:
 *   1. the data bit stream: mode indicator 0100, the character count (8 bits
 *      in versions 1-9, 16 above), the bytes, a terminator of up to four zero
 *      bits, zero bits to a byte boundary, then the pad codewords 0xEC 0x11;
 *   2. the codewords split into the version's blocks (the short blocks first),
 *      each given its Reed-Solomon codewords over GF(256) modulo
 *      x^8 + x^4 + x^3 + x^2 + 1 (0x11D), then interleaved column by column;
 *   3. the function patterns (finders with their separators, timing,
 *      alignment, the reserved format and version areas and the dark module),
 *      then the codewords placed in the two-column zigzag from the bottom right;
 *   4. each of the eight masks applied to the data modules and rated by the four
 *      penalty rules (runs, 2x2 blocks, finder-like patterns, dark balance); the
 *      lowest wins, ties to the lower mask number.
 * The two tables below are the standard's Table 9 (error correction codewords
 * per block and number of blocks, per level and version); everything else (the
 * alignment positions, the number of data modules) follows from formulas.
 * Light modules outside the symbol count as light for the penalty rules, as the
 * quiet zone is.
 */
#include "voxcart/qr.h"

#include <stdlib.h>
#include <string.h>

#define SZ VX_QR_SIZE_MAX

/* [level][version]: index 0 unused */
static const int8_t ecc_per_block[4][41] = {
    {-1, 7,  10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
     28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
    {-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
     26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
    {-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
     28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
    {-1, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
     30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
};
static const int8_t ecc_blocks[4][41] = {
    {-1, 1, 1, 1,  1,  1,  2,  2,  2,  2,  4,  4,  4,  4,  4,  6,  6,  6,  6,  7, 8,
     8,  9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
    {-1, 1,  1,  1,  2,  2,  4,  4,  4,  5,  5,  5,  8,  9,  9,  10, 10, 11, 13, 14, 16,
     17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
    {-1, 1,  1,  2,  2,  4,  4,  6,  6,  8,  8,  8,  10, 12, 16, 12, 17, 16, 18, 21, 20,
     23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
    {-1, 1,  1,  2,  4,  4,  4,  5,  6,  8,  8,  11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
     25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
};
/* the two bits of each level in the format information (L 01, M 00, Q 11, H 10) */
static const unsigned ecl_format[4] = {1, 0, 3, 2};

/* The symbol being built: modules and which of them belong to function patterns. */
struct work {
    int version, size;
    uint8_t mod[SZ * SZ];
    uint8_t fn[SZ * SZ];
    uint8_t trial[SZ * SZ];
    uint8_t data[3706]; /* version 40's codewords */
    uint8_t all[3706];
};

/* Modules for data and error correction (all but the function patterns and version info). */
static int raw_modules(int ver)
{
    int n = (16 * ver + 128) * ver + 64;
    if (ver >= 2) {
        int align = ver / 7 + 2;
        n -= (25 * align - 10) * align - 55;
        if (ver >= 7)
            n -= 36;
    }
    return n;
}

static int data_codewords(int ver, enum vx_qr_ecl ecl)
{
    return raw_modules(ver) / 8 - ecc_per_block[ecl][ver] * ecc_blocks[ecl][ver];
}

static int count_bits(int ver)
{
    return ver <= 9 ? 8 : 16;
}

size_t vx_qr_capacity(int version, enum vx_qr_ecl ecl)
{
    if (version < 1 || version > VX_QR_VERSION_MAX || (unsigned)ecl > VX_QR_ECL_H)
        return 0;
    return (size_t)(data_codewords(version, ecl) * 8 - 4 - count_bits(version)) / 8;
}

static uint8_t gf_mul(uint8_t x, uint8_t y)
{
    unsigned z = 0;
    for (int i = 7; i >= 0; i--) {
        z = (z << 1) ^ ((z >> 7) * 0x11D);
        z ^= ((y >> i) & 1u) * x;
    }
    return (uint8_t)z;
}

void vx_qr_rs(const uint8_t *data, size_t len, uint8_t *ecc, size_t ecc_len)
{
    /* the generator (x - a^0)(x - a^1)...(x - a^(n-1)), highest coefficient (1) left out */
    uint8_t gen[32];
    uint8_t root = 1;
    size_t n = ecc_len < sizeof(gen) ? ecc_len : sizeof(gen);

    memset(gen, 0, sizeof(gen));
    gen[n - 1] = 1;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            gen[j] = gf_mul(gen[j], root);
            if (j + 1 < n)
                gen[j] ^= gen[j + 1];
        }
        root = gf_mul(root, 0x02);
    }
    /* the remainder of data * x^n divided by the generator */
    memset(ecc, 0, ecc_len);
    for (size_t i = 0; i < len; i++) {
        uint8_t factor = data[i] ^ ecc[0];
        memmove(ecc, ecc + 1, n - 1);
        ecc[n - 1] = 0;
        for (size_t j = 0; j < n; j++)
            ecc[j] ^= gf_mul(gen[j], factor);
    }
}

unsigned vx_qr_format_bits(enum vx_qr_ecl ecl, int mask)
{
    unsigned data = ecl_format[ecl & 3] << 3 | ((unsigned)mask & 7u);
    unsigned rem = data;
    for (int i = 0; i < 10; i++)
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    return ((data << 10) | (rem & 0x3FF)) ^ 0x5412;
}

uint32_t vx_qr_version_bits(int version)
{
    uint32_t rem = (uint32_t)version;
    if (version < 7 || version > VX_QR_VERSION_MAX)
        return 0;
    for (int i = 0; i < 12; i++)
        rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
    return (uint32_t)version << 12 | (rem & 0xFFF);
}

/* --- the bit stream --- */

struct bits {
    uint8_t *buf;
    size_t cap, n; /* in bits */
};

static void put_bits(struct bits *b, unsigned v, int count)
{
    for (int i = count - 1; i >= 0; i--, b->n++)
        if ((v >> i) & 1u)
            b->buf[b->n >> 3] |= (uint8_t)(0x80u >> (b->n & 7));
}

/* Step 1: the data codewords of version w->version, into w->data; their number. */
static int data_stream(struct work *w, const uint8_t *data, size_t len, enum vx_qr_ecl ecl)
{
    int ndata = data_codewords(w->version, ecl);
    struct bits b = {w->data, (size_t)ndata * 8, 0};
    size_t room;

    memset(w->data, 0, (size_t)ndata);
    put_bits(&b, 0x4, 4);
    put_bits(&b, (unsigned)len, count_bits(w->version));
    for (size_t i = 0; i < len; i++)
        put_bits(&b, data[i], 8);
    room = b.cap - b.n;
    put_bits(&b, 0, room < 4 ? (int)room : 4);
    b.n = (b.n + 7) & ~(size_t)7;
    for (int pad = 0xEC; b.n < b.cap; pad ^= 0xEC ^ 0x11)
        put_bits(&b, (unsigned)pad, 8);
    return ndata;
}

/* Step 2: blocks with their error correction, interleaved, into w->all; their number. */
static int interleave(struct work *w, enum vx_qr_ecl ecl)
{
    int ver = w->version;
    int nblocks = ecc_blocks[ecl][ver], eccn = ecc_per_block[ecl][ver];
    int raw = raw_modules(ver) / 8;
    int nshort = nblocks - raw % nblocks, short_len = raw / nblocks - eccn;
    uint8_t ecc[81][30];
    int start[81], k = 0, n = 0;

    for (int i = 0; i < nblocks; i++) {
        int dlen = short_len + (i < nshort ? 0 : 1);
        start[i] = k;
        vx_qr_rs(w->data + k, (size_t)dlen, ecc[i], (size_t)eccn);
        k += dlen;
    }
    for (int i = 0; i <= short_len; i++) /* data: one codeword of each block in turn */
        for (int j = 0; j < nblocks; j++)
            if (i < short_len || j >= nshort)
                w->all[n++] = w->data[start[j] + i];
    for (int i = 0; i < eccn; i++)
        for (int j = 0; j < nblocks; j++)
            w->all[n++] = ecc[j][i];
    return n;
}

/* --- the matrix --- */

static void set_fn(struct work *w, int x, int y, int dark)
{
    w->mod[y * SZ + x] = (uint8_t)(dark != 0);
    w->fn[y * SZ + x] = 1;
}

static void finder(struct work *w, int cx, int cy)
{
    for (int dy = -4; dy <= 4; dy++) {
        for (int dx = -4; dx <= 4; dx++) {
            int x = cx + dx, y = cy + dy;
            int d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
            if (x >= 0 && x < w->size && y >= 0 && y < w->size)
                set_fn(w, x, y, d != 2 && d != 4); /* 4: the separator */
        }
    }
}

/* Where the alignment patterns' centres are, on either axis; their number. */
static int align_positions(int ver, int *pos)
{
    int n, step;
    if (ver == 1)
        return 0;
    n = ver / 7 + 2;
    step = (ver * 8 + n * 3 + 5) / (n * 4 - 4) * 2;
    pos[0] = 6;
    for (int i = n - 1, p = ver * 4 + 10; i >= 1; i--, p -= step)
        pos[i] = p;
    return n;
}

static void draw_format(struct work *w, enum vx_qr_ecl ecl, int mask)
{
    unsigned bits = vx_qr_format_bits(ecl, mask);
    int s = w->size;
#define FBIT(i) ((bits >> (i)) & 1u)
    for (int i = 0; i <= 5; i++)
        set_fn(w, 8, i, FBIT(i));
    set_fn(w, 8, 7, FBIT(6));
    set_fn(w, 8, 8, FBIT(7));
    set_fn(w, 7, 8, FBIT(8));
    for (int i = 9; i < 15; i++)
        set_fn(w, 14 - i, 8, FBIT(i));
    for (int i = 0; i < 8; i++)
        set_fn(w, s - 1 - i, 8, FBIT(i));
    for (int i = 8; i < 15; i++)
        set_fn(w, 8, s - 15 + i, FBIT(i));
#undef FBIT
    set_fn(w, 8, s - 8, 1); /* the dark module */
}

static void function_patterns(struct work *w, enum vx_qr_ecl ecl)
{
    int s = w->size, pos[7], n = align_positions(w->version, pos);
    uint32_t vbits = vx_qr_version_bits(w->version);

    for (int i = 0; i < s; i++) {
        set_fn(w, 6, i, i % 2 == 0);
        set_fn(w, i, 6, i % 2 == 0);
    }
    finder(w, 3, 3);
    finder(w, s - 4, 3);
    finder(w, 3, s - 4);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            if ((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0))
                continue; /* the finders are there */
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++)
                    set_fn(w, pos[i] + dx, pos[j] + dy,
                           (abs(dx) > abs(dy) ? abs(dx) : abs(dy)) != 1);
        }
    }
    draw_format(w, ecl, 0); /* reserves the area; the chosen mask's bits come last */
    for (int i = 0; vbits && i < 18; i++) {
        int dark = (vbits >> i) & 1u, a = s - 11 + i % 3, b = i / 3;
        set_fn(w, a, b, dark);
        set_fn(w, b, a, dark);
    }
}

/* Step 3: the codewords in the zigzag, two columns at a time, skipping the timing column. */
static void place(struct work *w, const uint8_t *cw, int n)
{
    int s = w->size;
    long i = 0, total = (long)n * 8;
    for (int right = s - 1; right >= 1; right -= 2) {
        if (right == 6)
            right = 5;
        for (int vert = 0; vert < s; vert++) {
            int upward = ((right + 1) & 2) == 0;
            int y = upward ? s - 1 - vert : vert;
            for (int j = 0; j < 2; j++) {
                int x = right - j;
                if (w->fn[y * SZ + x])
                    continue;
                /* remainder bits past the last codeword stay light */
                w->mod[y * SZ + x] = (uint8_t)(i < total ? (cw[i >> 3] >> (7 - (i & 7))) & 1 : 0);
                i++;
            }
        }
    }
}

static int mask_bit(int mask, int x, int y)
{
    switch (mask) {
    case 0:
        return (x + y) % 2 == 0;
    case 1:
        return y % 2 == 0;
    case 2:
        return x % 3 == 0;
    case 3:
        return (x + y) % 3 == 0;
    case 4:
        return (x / 3 + y / 2) % 2 == 0;
    case 5:
        return x * y % 2 + x * y % 3 == 0;
    case 6:
        return (x * y % 2 + x * y % 3) % 2 == 0;
    default:
        return ((x + y) % 2 + x * y % 3) % 2 == 0;
    }
}

static void apply_mask(struct work *w, int mask)
{
    for (int y = 0; y < w->size; y++)
        for (int x = 0; x < w->size; x++)
            if (!w->fn[y * SZ + x] && mask_bit(mask, x, y))
                w->mod[y * SZ + x] ^= 1;
}

/* Module i of a row (dx 1) or column (dx 0) line; light outside the symbol. */
static int at(const struct work *w, int line, int i, int row)
{
    if (i < 0 || i >= w->size)
        return 0;
    return row ? w->mod[line * SZ + i] : w->mod[i * SZ + line];
}

/* Rules 1 and 3 along one row or column. */
static long line_penalty(const struct work *w, int line, int row)
{
    static const uint8_t core[7] = {1, 0, 1, 1, 1, 0, 1};
    long p = 0;
    int s = w->size, run = 1;
    for (int i = 1; i <= s; i++) {
        if (i < s && at(w, line, i, row) == at(w, line, i - 1, row)) {
            run++;
            continue;
        }
        if (run >= 5)
            p += 3 + (run - 5);
        run = 1;
    }
    for (int c = 0; c + 7 <= s; c++) {
        int k = 0, before = 1, after = 1;
        while (k < 7 && at(w, line, c + k, row) == core[k])
            k++;
        if (k < 7)
            continue;
        for (int j = 1; j <= 4; j++) {
            before &= !at(w, line, c - j, row);
            after &= !at(w, line, c + 6 + j, row);
        }
        p += 40 * (before + after);
    }
    return p;
}

static long penalty(const struct work *w)
{
    int s = w->size;
    long p = 0, dark = 0, total = (long)s * s, dev;
    for (int i = 0; i < s; i++)
        p += line_penalty(w, i, 1) + line_penalty(w, i, 0);
    for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
            uint8_t c = w->mod[y * SZ + x];
            dark += c;
            if (x + 1 < s && y + 1 < s && c == w->mod[y * SZ + x + 1] &&
                c == w->mod[(y + 1) * SZ + x] && c == w->mod[(y + 1) * SZ + x + 1])
                p += 3;
        }
    }
    dev = labs(dark * 100 - total * 50);
    return p + 10 * (dev / (total * 5));
}

int vx_qr_encode(const void *data, size_t len, enum vx_qr_ecl ecl, int max_version,
                 struct vx_qr *out, struct vx_err *e)
{
    struct work *w;
    int ver, best = 0, n;
    long best_p = -1;

    if ((unsigned)ecl > VX_QR_ECL_H)
        return vx_err_set(e, VX_EINVAL, "unknown error correction level %d", (int)ecl);
    if (max_version <= 0 || max_version > VX_QR_VERSION_MAX)
        max_version = VX_QR_VERSION_MAX;
    for (ver = 1; ver <= max_version && vx_qr_capacity(ver, ecl) < len; ver++)
        ;
    if (ver > max_version)
        return vx_err_set(e, VX_ERANGE,
                          "%zu bytes do not fit in a qr code of version %d (at most %zu)", len,
                          max_version, vx_qr_capacity(max_version, ecl));
    w = calloc(1, sizeof(*w));
    if (!w)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    w->version = ver;
    w->size = 17 + 4 * ver;
    data_stream(w, data, len, ecl);
    n = interleave(w, ecl);
    function_patterns(w, ecl);
    place(w, w->all, n);
    /* Step 4: every mask is tried on the same placed modules; the lowest penalty wins */
    memcpy(w->trial, w->mod, sizeof(w->mod));
    for (int m = 0; m < 8; m++) {
        long p;
        apply_mask(w, m);
        draw_format(w, ecl, m);
        p = penalty(w);
        if (best_p < 0 || p < best_p) {
            best_p = p;
            best = m;
        }
        memcpy(w->mod, w->trial, sizeof(w->mod));
    }
    apply_mask(w, best);
    draw_format(w, ecl, best);

    memset(out, 0, sizeof(*out));
    out->version = ver;
    out->size = w->size;
    out->ecl = ecl;
    out->mask = best;
    for (int y = 0; y < w->size; y++)
        for (int x = 0; x < w->size; x++)
            if (w->mod[y * SZ + x]) {
                size_t b = (size_t)y * (size_t)w->size + (size_t)x;
                out->bits[b >> 3] |= (uint8_t)(1u << (b & 7));
            }
    free(w);
    return 0;
}

int vx_qr_dark(const struct vx_qr *q, int x, int y)
{
    size_t b;
    if (x < 0 || y < 0 || x >= q->size || y >= q->size)
        return 0;
    b = (size_t)y * (size_t)q->size + (size_t)x;
    return (q->bits[b >> 3] >> (b & 7)) & 1;
}
