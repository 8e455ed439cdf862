/*
 * An outbound HTTP request as data, the way store operations are (store.h):
 * a module (certs.c, provider.c, later the webhook sender) fills one, whoever
 * owns the loop carries it out, and the module reads the answer. voxcartd runs
 * it on its worker's event loop (libcurl multi, socket API, on the worker's
 * epoll; nothing blocks); the CLI and tests run it blocking with
 * vx_http_op_run. Both make their easy handle with vx_http_op_easy, so a
 * request behaves the same whichever way it is sent.
 *
 *     struct vx_http_op op;
 *     vx_http_op_init(&op, "POST", url);
 *     vx_http_op_header(&op, "content-type", "application/json");
 *     vx_http_op_body(&op, json, len);
 *     vx_http_op_run(&op);            (or hand it to the loop)
 *     op.rc == 0: op.status, op.resp_headers, op.resp holds the answer
 *     vx_http_op_release(&op);
 */
#ifndef VOXCART_HTTPOP_H
#define VOXCART_HTTPOP_H

#include <stddef.h>

#include "voxcart/common.h"

#define VX_HTTP_HEADERS_MAX 24

struct vx_http_op {
    /* the request (the op owns copies of everything) */
    char method[8];
    char *url;
    char *headers[VX_HTTP_HEADERS_MAX]; /* "name: value" */
    size_t nheaders;
    char *body;
    size_t body_len;
    int connect_timeout_ms; /* 0 = 2000 */
    int timeout_ms;         /* whole transfer; 0 = 5000 */
    size_t max_resp;        /* bytes of response body kept; 0 = 1 MiB; more fails the op */
    int https_only;         /* refuse plain http:// (certificate downloads) */
    const char *ca_file;    /* extra trust for the peer (tests, the sandbox's dev CA); caller's */
    const char *connect_to; /* "host:port:addr:port" (curl's CONNECT_TO), caller's; tests */

    /* the outcome: rc 0 when an HTTP answer came (any status), else a VX_E* code with err */
    int rc;
    struct vx_err err;
    long status;
    struct vx_buf resp;
    char *resp_headers[VX_HTTP_HEADERS_MAX]; /* "name: value", as received, first ones kept */
    size_t nresp_headers;
    uint64_t elapsed_ns;

    /* private: the loop's bookkeeping */
    void *easy;
    void *slist;
    void *connect_list;
    uint64_t start_ns;
    int too_large;
};

void vx_http_op_init(struct vx_http_op *op, const char *method, const char *url);
/* Adds a request header; VX_ERANGE when there are VX_HTTP_HEADERS_MAX already. */
int vx_http_op_header(struct vx_http_op *op, const char *name, const char *value);
int vx_http_op_body(struct vx_http_op *op, const void *body, size_t len);
/* The value of a response header (case-insensitive name), or NULL. */
const char *vx_http_op_resp_header(const struct vx_http_op *op, const char *name);

/*
 * Makes the libcurl easy handle for op (CURL *, returned as void * so this
 * header does not need curl.h); the handle's private pointer is op. After the
 * transfer, vx_http_op_finish(op, curl_code) reads status and timing, sets rc,
 * and frees the handle. Used by vx_http_op_run and by voxcartd's loop.
 */
void *vx_http_op_easy(struct vx_http_op *op);
void vx_http_op_finish(struct vx_http_op *op, int curl_code);

/* Carries op out on this thread, blocking (CLI, tests). */
void vx_http_op_run(struct vx_http_op *op);

/* Frees the request and the answer; the op may be initialised again. */
void vx_http_op_release(struct vx_http_op *op);

#endif
