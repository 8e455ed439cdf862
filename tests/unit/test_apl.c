/*
 * The APL document of a QR code: the directive is one JSON object of the
 * platform's shape, the texts are bound from its datasources (a "${...}" in a
 * shop name stays text), the AVG path drawn back module by module is exactly
 * the symbol the encoder made, and a link too long for a screen's code is
 * refused with a clear error.
 */
#include "voxcart/apl.h"
#include "vxtest.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static const char pay_link[] =
    "https://127.0.0.1:8471/checkout/41938612-4038-4384-8671-289000018443";

static struct json_object *at(struct json_object *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)strtoul(key, NULL, 10));
        else if (!json_object_object_get_ex(o, key, &o))
            o = NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

static const char *str_at(struct json_object *o, const char *path)
{
    struct json_object *v = at(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *directive(const char *title, const char *data, struct vx_buf *b)
{
    struct vx_apl_code c = {"pay-link-o1", title, "Scan the code with your phone to pay €5.00.",
                            data};
    struct vx_err e;
    vx_buf_init(b);
    if (vx_apl_code_directive(&c, b, &e) != 0 || vx_buf_append(b, "", 1) != 0) {
        fprintf(stderr, "directive: %s\n", e.msg);
        return NULL;
    }
    return json_tokener_parse(b->data);
}

static void test_directive_shape(void)
{
#define TEMPLATE "document.mainTemplate.items.0.items.0.items."
    static const struct {
        const char *path, *want;
    } t[] = {
        {"type", "Alexa.Presentation.APL.RenderDocument"},
        {"token", "pay-link-o1"},
        {"document.type", "APL"},
        {"document.version", "1.1"},
        {"datasources.code.title", "Pay ${environment.x} & \"Corner\""},
        {"datasources.code.text", "Scan the code with your phone to pay €5.00."},
        {"document.mainTemplate.parameters.0", "payload"},
        {TEMPLATE "0.text", "${payload.code.title}"},
        {TEMPLATE "1.text", "${payload.code.text}"},
        {TEMPLATE "2.type", "VectorGraphic"},
        {TEMPLATE "2.source", "payCode"},
        {"document.graphics.payCode.type", "AVG"},
    };
    struct vx_buf b;
    struct json_object *d = directive("Pay ${environment.x} & \"Corner\"", pay_link, &b);

    VX_CHECK(d != NULL);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        VX_CHECK_STR(str_at(d, t[i].path), t[i].want);
    VX_CHECK(at(d, TEMPLATE "3") == NULL);
#undef TEMPLATE
    /* nothing of the texts in the document itself: only the bindings */
    VX_CHECK(strstr(json_object_to_json_string(at(d, "document")), "Corner") == NULL);
    json_object_put(d);
    vx_buf_release(&b);
}

/* Draws the path back into a grid, rectangle by rectangle; -1 for anything but module runs. */
static int draw(const char *path, int side, unsigned char *grid)
{
    while (*path) {
        int x, y, w, w2, n = 0;
        if (sscanf(path, "M%d,%dh%dv1h-%dz%n", &x, &y, &w, &w2, &n) != 4 || n == 0 || w != w2 ||
            w <= 0 || x < 0 || y < 0 || x + w > side || y >= side)
            return -1;
        for (int i = 0; i < w; i++)
            grid[y * side + x + i] = 1;
        path += n;
    }
    return 0;
}

static void test_path_is_the_symbol(void)
{
    static unsigned char grid[(VX_QR_SIZE_MAX + 8) * (VX_QR_SIZE_MAX + 8)];
    static struct vx_qr q;
    struct vx_err e;
    struct vx_buf b;
    struct json_object *d = directive("Pay", pay_link, &b);
    struct json_object *g = at(d, "document.graphics.payCode");
    int side, diff = 0;
    char want_bg[64];

    VX_CHECK_INT(vx_qr_encode(pay_link, strlen(pay_link), VX_QR_ECL_M, 10, &q, &e), 0);
    side = q.size + 2 * VX_QR_QUIET;
    VX_CHECK_INT(json_object_get_int(at(g, "width")), side);
    VX_CHECK_INT(json_object_get_int(at(g, "height")), side);
    snprintf(want_bg, sizeof(want_bg), "M0,0h%dv%dh-%dz", side, side, side);
    VX_CHECK_STR(str_at(g, "items.0.pathData"), want_bg);
    VX_CHECK_STR(str_at(g, "items.0.fill"), "#FFFFFF");
    VX_CHECK_STR(str_at(g, "items.1.fill"), "#000000");
    memset(grid, 0, sizeof(grid));
    VX_CHECK_INT(
        draw(str_at(g, "items.1.pathData") ? str_at(g, "items.1.pathData") : "x", side, grid), 0);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            diff += grid[y * side + x] != vx_qr_dark(&q, x - VX_QR_QUIET, y - VX_QR_QUIET);
    VX_CHECK_INT(diff, 0);
    json_object_put(d);
    vx_buf_release(&b);
}

/* A run per stretch of dark modules: two neighbours are one rectangle, not two. */
static void test_runs_merge(void)
{
    static struct vx_qr q;
    struct vx_buf b;
    memset(&q, 0, sizeof(q));
    q.size = 21;
    q.bits[0] = 0x3B; /* row 0: x 0, 1, 3, 4, 5 dark */
    vx_buf_init(&b);
    VX_CHECK_INT(vx_apl_qr_path(&q, &b), 0);
    VX_CHECK_INT(vx_buf_append(&b, "", 1), 0);
    VX_CHECK_STR(b.data, "M4,4h2v1h-2zM7,4h3v1h-3z");
    vx_buf_release(&b);
}

/* The longest link a screen's code holds (version 10-M, 213 bytes), and one byte more. */
static void test_too_long(void)
{
    static char data[215];
    struct vx_apl_code c = {"t", "Pay", "Scan", data};
    struct vx_buf b;
    struct vx_err e;
    size_t len;

    memset(data, 'x', 213);
    VX_CHECK(vx_apl_code_fits(data));
    vx_buf_init(&b);
    VX_CHECK_INT(vx_apl_code_directive(&c, &b, &e), 0);
    len = b.len;
    fprintf(stderr, "a directive of a 213-byte link: %zu bytes\n", len);
    VX_CHECK(len < 40 * 1024);
    data[213] = 'x';
    VX_CHECK(!vx_apl_code_fits(data));
    b.len = 0;
    VX_CHECK_INT(vx_apl_code_directive(&c, &b, &e), VX_ERANGE);
    VX_CHECK(strstr(e.msg, "214 bytes do not fit in a qr code of version 10") != NULL);
    vx_buf_release(&b);
}

int main(void)
{
    VX_RUN(test_directive_shape);
    VX_RUN(test_path_is_the_symbol);
    VX_RUN(test_runs_merge);
    VX_RUN(test_too_long);
    return VX_DONE();
}
