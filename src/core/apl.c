/*
 * APL documents: the pay link's QR code on a screen. The document is
 * deliberately plain (APL 1.1, AVG 1.0, components every APL device has):
 * a white Frame filling the screen, the title and the line of text, and the
 * code as a VectorGraphic scaled to fit what is left. The graphic is the
 * symbol plus its quiet zone in module units, a white square with one black
 * path over it; the path draws each run of dark modules in a row as one
 * rectangle, which keeps a version 10 code near 15 KB of JSON.
 *
 * The texts are bound from the directive's datasources (${payload.code.*}):
 * a shop name holding "${...}" is shown as written, never evaluated.
 */
#include "voxcart/apl.h"

#include "voxcart/response.h"

#include <string.h>

int vx_apl_code_fits(const char *data)
{
    return strlen(data) <= vx_qr_capacity(VX_APL_QR_VERSION_MAX, VX_QR_ECL_M);
}

int vx_apl_qr_path(const struct vx_qr *q, struct vx_buf *out)
{
    int rc = 0;
    for (int y = 0; y < q->size; y++) {
        for (int x = 0; x < q->size;) {
            int w = 0;
            while (x + w < q->size && vx_qr_dark(q, x + w, y))
                w++;
            if (w == 0) {
                x++;
                continue;
            }
            rc |= vx_buf_appendf(out, "M%d,%dh%dv1h-%dz", x + VX_QR_QUIET, y + VX_QR_QUIET, w, w);
            x += w;
        }
    }
    return rc ? VX_ENOMEM : 0;
}

static int json_str(struct vx_buf *b, const char *s)
{
    int rc = vx_buf_appends(b, "\"");
    rc |= vx_json_escape(b, s ? s : "", s ? strlen(s) : 0);
    rc |= vx_buf_appends(b, "\"");
    return rc;
}

int vx_apl_code_directive(const struct vx_apl_code *c, struct vx_buf *out, struct vx_err *e)
{
    struct vx_qr q;
    int rc, side;

    rc = vx_qr_encode(c->data, strlen(c->data), VX_QR_ECL_M, VX_APL_QR_VERSION_MAX, &q, e);
    if (rc)
        return rc;
    side = q.size + 2 * VX_QR_QUIET;
    rc = vx_buf_appends(out, "{\"type\":\"Alexa.Presentation.APL.RenderDocument\",\"token\":");
    rc |= json_str(out, c->token);
    rc |= vx_buf_appends(
        out, ",\"document\":{\"type\":\"APL\",\"version\":\"1.1\",\"settings\":{\"idleTimeout\":"
             "120000},\"graphics\":{\"payCode\":{\"type\":\"AVG\",\"version\":\"1.0\",");
    rc |= vx_buf_appendf(out, "\"width\":%d,\"height\":%d,\"items\":[", side, side);
    rc |= vx_buf_appendf(
        out, "{\"type\":\"path\",\"fill\":\"#FFFFFF\",\"pathData\":\"M0,0h%dv%dh-%dz\"},", side,
        side, side);
    rc |= vx_buf_appends(out, "{\"type\":\"path\",\"fill\":\"#000000\",\"pathData\":\"");
    rc |= vx_apl_qr_path(&q, out);
    rc |= vx_buf_appends(
        out,
        "\"}]}},\"mainTemplate\":{\"parameters\":[\"payload\"],\"items\":[{\"type\":\"Frame\","
        "\"width\":\"100vw\",\"height\":\"100vh\",\"backgroundColor\":\"#FFFFFF\",\"items\":[{"
        "\"type\":\"Container\",\"width\":\"100%\",\"height\":\"100%\",\"alignItems\":\"center\","
        "\"justifyContent\":\"center\",\"items\":["
        "{\"type\":\"Text\",\"text\":\"${payload.code.title}\",\"color\":\"#000000\","
        "\"fontSize\":\"32dp\",\"fontWeight\":\"bold\",\"textAlign\":\"center\"},"
        "{\"type\":\"Text\",\"text\":\"${payload.code.text}\",\"color\":\"#000000\","
        "\"fontSize\":\"24dp\",\"textAlign\":\"center\",\"paddingBottom\":\"16dp\"},"
        "{\"type\":\"VectorGraphic\",\"source\":\"payCode\",\"width\":\"60vh\","
        "\"height\":\"60vh\",\"scale\":\"best-fit\",\"align\":\"center\"}]}]}]}},"
        "\"datasources\":{\"code\":{\"title\":");
    rc |= json_str(out, c->title);
    rc |= vx_buf_appends(out, ",\"text\":");
    rc |= json_str(out, c->text);
    rc |= vx_buf_appends(out, "}}}");
    return rc ? vx_err_set(e, VX_ENOMEM, "out of memory") : 0;
}
