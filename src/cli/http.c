/*
 * The CLI's single HTTP client call: POST a body with given headers and collect
 * the status and the response. Kept apart from the commands so `voxcart sign`
 * and `voxcart replay` send requests the same way: no redirects, http and
 * https only, a bounded response, and "Expect:" suppressed so libcurl never
 * waits for a 100 Continue on larger bodies.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_TIMEOUT_MS         30000L

struct http_sink {
    struct vx_buf *buf; /* NULL: the body is read and dropped */
    int too_large;
    int no_memory;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct http_sink *s = ud;
    size_t n = size * nmemb;

    if (!s->buf)
        return n;
    if (s->buf->len + n > CLI_HTTP_MAX_RESPONSE) {
        s->too_large = 1;
        return 0;
    }
    if (vx_buf_append(s->buf, p, n) != 0) {
        s->no_memory = 1;
        return 0;
    }
    return n;
}

/* The caller's headers plus "Expect:", in a list this call owns. */
static struct curl_slist *headers_with_expect(const struct curl_slist *headers)
{
    struct curl_slist *list = NULL, *next;

    for (const struct curl_slist *h = headers; h; h = h->next) {
        next = curl_slist_append(list, h->data);
        if (!next) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    next = curl_slist_append(list, "Expect:");
    if (!next)
        curl_slist_free_all(list);
    return next;
}

static CURLcode http_setup(CURL *h, const char *url, struct curl_slist *headers, const char *body,
                           size_t len, const char *cacert, int insecure, struct http_sink *sink,
                           char *errbuf)
{
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS);
    SET(CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, sink);
    if (cacert) {
        /* Only this file: the system directory of anchors would otherwise be trusted too. */
        SET(CURLOPT_CAINFO, cacert);
        SET(CURLOPT_CAPATH, (char *)NULL);
    }
    if (insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
#undef SET
    return rc;
}

int cli_http_post(const char *url, const struct curl_slist *headers, const char *body, size_t len,
                  const char *cacert, int insecure, long *status, struct vx_buf *resp,
                  struct vx_err *e)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct http_sink sink = {resp, 0, 0};
    struct curl_slist *list = NULL;
    CURL *h = NULL;
    CURLcode res;
    int rc = 0;

    if (!url || (!body && len) || !status)
        return vx_err_set(e, VX_EINVAL, "a post needs a url, a body and a place for the status");
    h = curl_easy_init();
    list = headers_with_expect(headers);
    if (!h || !list) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory preparing the request to '%s'", url);
        goto out;
    }
    res = http_setup(h, url, list, body ? body : "", len, cacert, insecure, &sink, errbuf);
    if (res != CURLE_OK) {
        rc = vx_err_set(e, VX_EINVAL, "cannot prepare the request to '%s': %s", url,
                        curl_easy_strerror(res));
        goto out;
    }
    res = curl_easy_perform(h);
    if (sink.too_large) {
        rc = vx_err_set(e, VX_ERANGE, "the response from '%s' is larger than %u bytes", url,
                        CLI_HTTP_MAX_RESPONSE);
        goto out;
    }
    if (sink.no_memory) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory reading the response from '%s'", url);
        goto out;
    }
    if (res != CURLE_OK) {
        rc = vx_err_set(e, res == CURLE_OPERATION_TIMEDOUT ? VX_ETIMEOUT : VX_EUPSTREAM,
                        "cannot post to '%s': %s", url,
                        errbuf[0] ? errbuf : curl_easy_strerror(res));
        goto out;
    }
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK)
        rc = vx_err_set(e, VX_EUPSTREAM, "no http status from '%s'", url);
out:
    curl_slist_free_all(list);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}
