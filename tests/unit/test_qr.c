/*
 * The QR encoder against the standard: the Reed-Solomon codewords of the
 * standard's worked examples, the format information table (all 32 entries),
 * the version information of versions 7 to 10 and 40, the byte capacities of
 * Table 7, the symbol's own structure (finders, timing, the dark module, both
 * copies of the format bits), and round trips: the symbol written as a PBM
 * with its quiet zone, scaled, and read back by zbarimg (scripts/deps.sh
 * installs it) at both sides of every version boundary of every level, with
 * every byte value, and a real pay link.
 */
#include "voxcart/qr.h"
#include "vxtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/vx-qr-XXXXXX";

/* ISO/IEC 18004 Annex I: "01234567" in version 1-M (numeric mode; the codewords are the
 * standard's), and the well-known "HELLO WORLD" 1-M (alphanumeric). */
static void test_rs_examples(void)
{
    static const uint8_t d1[16] = {0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11,
                                   0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11};
    static const uint8_t e1[10] = {0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55};
    static const uint8_t d2[16] = {32, 91, 11,  120, 209, 114, 220, 77,
                                   67, 64, 236, 17,  236, 17,  236, 17};
    static const uint8_t e2[10] = {196, 35, 39, 119, 235, 215, 231, 226, 93, 23};
    uint8_t ecc[10];

    vx_qr_rs(d1, sizeof(d1), ecc, sizeof(ecc));
    VX_CHECK(memcmp(ecc, e1, sizeof(e1)) == 0);
    vx_qr_rs(d2, sizeof(d2), ecc, sizeof(ecc));
    VX_CHECK(memcmp(ecc, e2, sizeof(e2)) == 0);
}

/* The standard's Table C.1, by level (L, M, Q, H) and mask 0..7. */
static void test_format_bits(void)
{
    static const unsigned table[4][8] = {
        {0x77C4, 0x72F3, 0x7DAA, 0x789D, 0x662F, 0x6318, 0x6C41, 0x6976},
        {0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0},
        {0x355F, 0x3068, 0x3F31, 0x3A06, 0x24B4, 0x2183, 0x2EDA, 0x2BED},
        {0x1689, 0x13BE, 0x1CE7, 0x19D0, 0x0762, 0x0255, 0x0D0C, 0x083B},
    };
    for (int l = 0; l < 4; l++)
        for (int m = 0; m < 8; m++)
            VX_CHECK_INT(vx_qr_format_bits((enum vx_qr_ecl)l, m), table[l][m]);
}

/* Table D.1. */
static void test_version_bits(void)
{
    VX_CHECK_INT(vx_qr_version_bits(6), 0);
    VX_CHECK_INT(vx_qr_version_bits(7), 0x07C94);
    VX_CHECK_INT(vx_qr_version_bits(8), 0x085BC);
    VX_CHECK_INT(vx_qr_version_bits(9), 0x09A99);
    VX_CHECK_INT(vx_qr_version_bits(10), 0x0A4D3);
    VX_CHECK_INT(vx_qr_version_bits(40), 0x28C69);
}

/* Table 7, byte mode. */
static void test_capacity(void)
{
    static const struct {
        int version;
        enum vx_qr_ecl ecl;
        size_t bytes;
    } t[] = {
        {1, VX_QR_ECL_L, 17},    {1, VX_QR_ECL_M, 14},    {1, VX_QR_ECL_Q, 11},
        {1, VX_QR_ECL_H, 7},     {9, VX_QR_ECL_M, 180},   {10, VX_QR_ECL_M, 213},
        {40, VX_QR_ECL_L, 2953}, {40, VX_QR_ECL_M, 2331}, {40, VX_QR_ECL_Q, 1663},
        {40, VX_QR_ECL_H, 1273}, {0, VX_QR_ECL_M, 0},     {41, VX_QR_ECL_M, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        VX_CHECK_INT(vx_qr_capacity(t[i].version, t[i].ecl), t[i].bytes);
}

static struct vx_qr q; /* 4 KiB: not on the stack of every test */

static void test_too_long(void)
{
    static char big[3000];
    struct vx_err e;
    memset(big, 'a', sizeof(big));
    VX_CHECK_INT(vx_qr_encode(big, 2954, VX_QR_ECL_L, 0, &q, &e), VX_ERANGE);
    VX_CHECK(strstr(e.msg, "2954 bytes do not fit") != NULL);
    VX_CHECK_INT(vx_qr_encode(big, 2953, VX_QR_ECL_L, 0, &q, &e), 0);
    VX_CHECK_INT(q.version, 40);
    VX_CHECK_INT(vx_qr_encode(big, 214, VX_QR_ECL_M, 10, &q, &e), VX_ERANGE);
    VX_CHECK(strstr(e.msg, "version 10 (at most 213)") != NULL);
    VX_CHECK_INT(vx_qr_encode(big, 213, VX_QR_ECL_M, 10, &q, &e), 0);
    VX_CHECK_INT(q.version, 10);
    VX_CHECK_INT(q.size, 57);
    VX_CHECK_INT(vx_qr_encode(big, 1, (enum vx_qr_ecl)7, 0, &q, &e), VX_EINVAL);
}

/* The 15 bits read back from the symbol, from the copy beside the top left finder (a) and
 * the copy split between the other two (b). */
static void read_format(const struct vx_qr *s, unsigned *a, unsigned *b)
{
    int n = s->size;
    *a = *b = 0;
    for (int i = 0; i <= 5; i++)
        *a |= (unsigned)vx_qr_dark(s, 8, i) << i;
    *a |= (unsigned)vx_qr_dark(s, 8, 7) << 6 | (unsigned)vx_qr_dark(s, 8, 8) << 7 |
          (unsigned)vx_qr_dark(s, 7, 8) << 8;
    for (int i = 9; i < 15; i++)
        *a |= (unsigned)vx_qr_dark(s, 14 - i, 8) << i;
    for (int i = 0; i < 8; i++)
        *b |= (unsigned)vx_qr_dark(s, n - 1 - i, 8) << i;
    for (int i = 8; i < 15; i++)
        *b |= (unsigned)vx_qr_dark(s, 8, n - 15 + i) << i;
}

static void test_structure(void)
{
    static const char url[] = "https://pay.example.com/checkout/cs-1234";
    struct vx_err e;
    unsigned fa, fb;
    int n;

    VX_CHECK_INT(vx_qr_encode(url, strlen(url), VX_QR_ECL_M, 0, &q, &e), 0);
    VX_CHECK_INT(q.version, 3); /* 40 bytes: version 2-M holds 26, 3-M 42 */
    n = q.size;
    VX_CHECK_INT(n, 29);
    /* the three finders' rings and centres, and their light separators */
    for (int k = 0; k < 3; k++) {
        int cx = k == 1 ? n - 4 : 3, cy = k == 2 ? n - 4 : 3;
        VX_CHECK(vx_qr_dark(&q, cx, cy) && vx_qr_dark(&q, cx - 3, cy - 3));
        VX_CHECK(!vx_qr_dark(&q, cx - 2, cy) && !vx_qr_dark(&q, cx + 2, cy + 2));
    }
    VX_CHECK(!vx_qr_dark(&q, 7, 0) && !vx_qr_dark(&q, n - 8, 0) && !vx_qr_dark(&q, 0, n - 8));
    for (int i = 8; i < n - 8; i++) {
        VX_CHECK_INT(vx_qr_dark(&q, i, 6), i % 2 == 0);
        VX_CHECK_INT(vx_qr_dark(&q, 6, i), i % 2 == 0);
    }
    VX_CHECK(vx_qr_dark(&q, 8, n - 8));
    VX_CHECK(vx_qr_dark(&q, 22, 22)); /* version 3's alignment pattern at (22, 22) */
    VX_CHECK(!vx_qr_dark(&q, 21, 22) && !vx_qr_dark(&q, 23, 23));
    read_format(&q, &fa, &fb);
    VX_CHECK_INT(fa, vx_qr_format_bits(VX_QR_ECL_M, q.mask));
    VX_CHECK_INT(fb, fa);
}

/* Version information in both corners of a version 7 symbol. */
static void test_version_area(void)
{
    static char text[130];
    struct vx_err e;
    uint32_t a = 0, b = 0;
    memset(text, 'v', sizeof(text));
    VX_CHECK_INT(vx_qr_encode(text, 123, VX_QR_ECL_M, 0, &q, &e), 0); /* 6-M: 106, 7-M: 122 */
    VX_CHECK_INT(q.version, 8);
    VX_CHECK_INT(vx_qr_encode(text, 122, VX_QR_ECL_M, 0, &q, &e), 0);
    VX_CHECK_INT(q.version, 7);
    for (int i = 0; i < 18; i++) {
        a |= (uint32_t)vx_qr_dark(&q, q.size - 11 + i % 3, i / 3) << i;
        b |= (uint32_t)vx_qr_dark(&q, i / 3, q.size - 11 + i % 3) << i;
    }
    VX_CHECK_INT(a, 0x07C94);
    VX_CHECK_INT(b, 0x07C94);
}

/* --- round trips through zbarimg --- */

static int write_pbm(const struct vx_qr *s, const char *path, int scale)
{
    int side = (s->size + 2 * VX_QR_QUIET) * scale;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "P1\n%d %d\n", side, side);
    for (int py = 0; py < side; py++) {
        for (int px = 0; px < side; px++)
            fputc(vx_qr_dark(s, px / scale - VX_QR_QUIET, py / scale - VX_QR_QUIET) ? '1' : '0', f);
        fputc('\n', f);
    }
    return fclose(f);
}

/* What zbarimg reads from the PBM into out, the bytes as encoded (-Sbinary: no guessing of
 * a character set); their number, or -1. */
static long zbar_read(const char *path, char *out, size_t outsz)
{
    char cmd[512];
    FILE *p;
    size_t n;
    snprintf(cmd, sizeof(cmd), "zbarimg -q --raw -Sbinary '%s' 2>/dev/null", path);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    n = fread(out, 1, outsz, p);
    if (pclose(p) != 0)
        return -1;
    return (long)n;
}

static int round_trip(const void *data, size_t len, enum vx_qr_ecl ecl, int want_version)
{
    static char got[4096];
    char path[128];
    struct vx_err e;
    long n;
    int ok;

    if (vx_qr_encode(data, len, ecl, 0, &q, &e) != 0) {
        fprintf(stderr, "encode %zu bytes at level %d: %s\n", len, (int)ecl, e.msg);
        return 0;
    }
    if (want_version && q.version != want_version) {
        fprintf(stderr, "%zu bytes at level %d: version %d, want %d\n", len, (int)ecl, q.version,
                want_version);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/v%d-l%d-%zu.pbm", tmpdir, q.version, (int)ecl, len);
    if (write_pbm(&q, path, q.size > 100 ? 3 : 4) != 0)
        return 0;
    n = zbar_read(path, got, sizeof(got));
    /* -Sbinary: the bytes as they are, with no newline after them */
    ok = n == (long)len && memcmp(got, data, len) == 0;
    if (!ok)
        fprintf(stderr, "zbarimg read %ld bytes of %s (version %d, level %d, mask %d, %zu bytes)\n",
                n, path, q.version, (int)ecl, q.mask, len);
    else
        unlink(path);
    return ok;
}

/* Printable text that differs from place to place, so no two symbols are alike. */
static void fill_text(char *buf, size_t len, unsigned seed)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "-._~:/?#[]@!$&'()*+,;=%";
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = chars[(seed >> 16) % (sizeof(chars) - 1)];
    }
}

/* Both sides of every version boundary, every level: the most a version holds, and one byte
 * more, which needs the next. Between them they use every mask. */
static void test_zbar_boundaries(void)
{
    static char buf[3000];
    int fails = 0;
    unsigned masks = 0;
    for (int l = 0; l < 4; l++) {
        for (int v = 1; v <= VX_QR_VERSION_MAX; v++) {
            size_t cap = vx_qr_capacity(v, (enum vx_qr_ecl)l);
            fill_text(buf, cap, (unsigned)(v * 4 + l));
            fails += !round_trip(buf, cap, (enum vx_qr_ecl)l, v);
            masks |= 1u << q.mask;
            if (v > 1) {
                size_t first = vx_qr_capacity(v - 1, (enum vx_qr_ecl)l) + 1;
                fill_text(buf, first, (unsigned)(v * 4 + l + 1000));
                fails += !round_trip(buf, first, (enum vx_qr_ecl)l, v);
                masks |= 1u << q.mask;
            }
        }
    }
    VX_CHECK_INT(fails, 0);
    VX_CHECK_INT(masks, 0xFF);
}

/* Every length a pay link may have in the versions it uses (M, 1 to 10), and every byte value. */
static void test_zbar_contents(void)
{
    static const char link[] =
        "https://127.0.0.1:8471/checkout/S01-7265371-1530431?amazonCheckoutSessionId="
        "a2f4c1d0-9e8b-4f3a-b6c7-112233445566&lang=en-US";
    static uint8_t bytes[256];
    char buf[256];
    int fails = 0;

    for (size_t len = 1; len <= 213; len += 1 + len / 16) {
        fill_text(buf, len, (unsigned)len);
        fails += !round_trip(buf, len, VX_QR_ECL_M, 0);
    }
    VX_CHECK_INT(fails, 0);
    VX_CHECK(round_trip(link, strlen(link), VX_QR_ECL_M, 0));
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    VX_CHECK(round_trip(bytes, sizeof(bytes), VX_QR_ECL_M, 0));
    VX_CHECK(round_trip(bytes + 128, 128, VX_QR_ECL_H, 0));
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    VX_RUN(test_rs_examples);
    VX_RUN(test_format_bits);
    VX_RUN(test_version_bits);
    VX_RUN(test_capacity);
    VX_RUN(test_too_long);
    VX_RUN(test_structure);
    VX_RUN(test_version_area);
    VX_RUN(test_zbar_boundaries);
    VX_RUN(test_zbar_contents);
    if (!vxt_failed)
        rmdir(tmpdir);
    else
        fprintf(stderr, "the symbols zbarimg could not read are in %s\n", tmpdir);
    return VX_DONE();
}
