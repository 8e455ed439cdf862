/*
 * APL documents for devices with a screen (Alexa.Presentation.APL in the
 * request's supportedInterfaces): a QR code of a link, drawn as an AVG
 * VectorGraphic, with a title and a line of text above it, sent in an
 * Alexa.Presentation.APL.RenderDocument directive.
 */
#ifndef VOXCART_APL_H
#define VOXCART_APL_H

#include <stddef.h>

#include "voxcart/common.h"
#include "voxcart/qr.h"

/*
 * The largest QR version put on a screen: 57 modules a side, 213 bytes at
 * level M. Beyond it the path would crowd the response (120 KB at most) and a
 * phone camera across the room; a longer link gets no code (its card stays).
 */
#define VX_APL_QR_VERSION_MAX 10

/* What the document shows. */
struct vx_apl_code {
    const char *token; /* the directive's token: names the document in later events */
    const char *title; /* "Pay The Coffee Shop" */
    const char *text;  /* "Scan the code with your phone to pay $5.00." */
    const char *data;  /* what the code holds: the pay link */
};

/* 1 when data fits in a code of VX_APL_QR_VERSION_MAX at level M. */
int vx_apl_code_fits(const char *data);

/*
 * The AVG path of the dark modules of q, with the quiet zone's offset (the
 * symbol's top left module at VX_QR_QUIET, VX_QR_QUIET): one rectangle per run
 * of dark modules in a row, "M<x>,<y>h<w>v1h-<w>z". Appended to out.
 */
int vx_apl_qr_path(const struct vx_qr *q, struct vx_buf *out);

/*
 * Appends the RenderDocument directive (a complete JSON object) to out. The
 * texts go into the directive's datasources, not into the document, so that
 * nothing a merchant or a provider wrote is evaluated as an APL expression.
 * VX_ERANGE when data does not fit in a code of VX_APL_QR_VERSION_MAX.
 */
int vx_apl_code_directive(const struct vx_apl_code *c, struct vx_buf *out, struct vx_err *e);

#endif
