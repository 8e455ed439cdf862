/*
 * One HTTP(S) POST with libcurl, shared by the commands that talk to a running
 * voxcartd (`voxcart sign --url`, `voxcart replay`). Needs curl_global_init,
 * which main() does once for the whole tool.
 */
#ifndef VOXCART_CLI_HTTP_H
#define VOXCART_CLI_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

#include "voxcart/common.h"

/* Largest response body kept; a longer one fails the request. */
#define CLI_HTTP_MAX_RESPONSE (16u * 1024 * 1024)

/*
 * POSTs len bytes of body to url with headers (sent as given; the caller sets
 * Content-Type). cacert (optional) replaces the system trust store for https;
 * insecure skips certificate and host name checks. No redirects are followed.
 * On 0, *status holds the HTTP status (whatever it is) and resp (optional) the
 * response body; a failure to get any response is VX_EUPSTREAM with curl's reason.
 */
int cli_http_post(const char *url, const struct curl_slist *headers, const char *body, size_t len,
                  const char *cacert, int insecure, long *status, struct vx_buf *resp,
                  struct vx_err *e);

#endif
