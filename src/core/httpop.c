/*
 * Outbound HTTP requests as data (httpop.h). One function makes the easy
 * handle, so the blocking runner and voxcartd's multi loop send exactly the
 * same request.
 */
#include "voxcart/httpop.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void vx_http_op_init(struct vx_http_op *op, const char *method, const char *url)
{
    memset(op, 0, sizeof(*op));
    vx_strlcpy(op->method, method, sizeof(op->method));
    op->url = strdup(url ? url : "");
    vx_buf_init(&op->resp);
    vx_err_clear(&op->err);
}

int vx_http_op_header(struct vx_http_op *op, const char *name, const char *value)
{
    size_t ln = strlen(name), lv = strlen(value);
    char *h;
    if (op->nheaders >= VX_HTTP_HEADERS_MAX)
        return VX_ERANGE;
    h = malloc(ln + lv + 3);
    if (!h)
        return VX_ENOMEM;
    memcpy(h, name, ln);
    memcpy(h + ln, ": ", 2);
    memcpy(h + ln + 2, value, lv + 1);
    op->headers[op->nheaders++] = h;
    return 0;
}

int vx_http_op_body(struct vx_http_op *op, const void *body, size_t len)
{
    free(op->body);
    op->body = malloc(len + 1);
    if (!op->body) {
        op->body_len = 0;
        return VX_ENOMEM;
    }
    memcpy(op->body, body, len);
    op->body[len] = '\0';
    op->body_len = len;
    return 0;
}

const char *vx_http_op_resp_header(const struct vx_http_op *op, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < op->nresp_headers; i++) {
        const char *h = op->resp_headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            h += n + 1;
            while (*h == ' ' || *h == '\t')
                h++;
            return h;
        }
    }
    return NULL;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct vx_http_op *op = ud;
    size_t n = size * nmemb, max = op->max_resp ? op->max_resp : (size_t)1 << 20;
    if (op->resp.len + n > max) {
        op->too_large = 1;
        return 0; /* libcurl aborts with CURLE_WRITE_ERROR */
    }
    return vx_buf_append(&op->resp, ptr, n) == 0 ? n : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct vx_http_op *op = ud;
    size_t n = size * nmemb, len = n;
    char *h;
    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue): forget the headers of the last */
        for (size_t i = 0; i < op->nresp_headers; i++)
            free(op->resp_headers[i]);
        op->nresp_headers = 0;
        return n;
    }
    while (len > 0 && (ptr[len - 1] == '\r' || ptr[len - 1] == '\n' || ptr[len - 1] == ' '))
        len--;
    if (len == 0 || !memchr(ptr, ':', len) || op->nresp_headers >= VX_HTTP_HEADERS_MAX)
        return n;
    h = malloc(len + 1);
    if (!h)
        return 0;
    memcpy(h, ptr, len);
    h[len] = '\0';
    op->resp_headers[op->nresp_headers++] = h;
    return n;
}

void *vx_http_op_easy(struct vx_http_op *op)
{
    CURL *h;
    struct curl_slist *sl = NULL;

    pthread_once(&curl_once, curl_init);
    h = curl_easy_init();
    if (!h)
        return NULL;
    for (size_t i = 0; i < op->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(sl, op->headers[i]);
        if (!n) {
            curl_slist_free_all(sl);
            curl_easy_cleanup(h);
            return NULL;
        }
        sl = n;
    }
    /* no "Expect: 100-continue" round trip for small POST bodies */
    if (op->body) {
        struct curl_slist *n = curl_slist_append(sl, "Expect:");
        if (n)
            sl = n;
    }
    op->slist = sl;
    curl_easy_setopt(h, CURLOPT_URL, op->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, op->https_only ? "https" : "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(op->connect_timeout_ms > 0 ? op->connect_timeout_ms : 2000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(op->timeout_ms > 0 ? op->timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "voxcart/" VX_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, op);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, op);
    curl_easy_setopt(h, CURLOPT_PRIVATE, op);
    if (sl)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, sl);
    if (strcmp(op->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, op->method);
        if (op->body || strcmp(op->method, "POST") == 0 || strcmp(op->method, "PATCH") == 0 ||
            strcmp(op->method, "PUT") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, op->body ? op->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)op->body_len);
        }
    }
    if (op->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, op->ca_file);
    if (op->connect_to) {
        struct curl_slist *ct = curl_slist_append(NULL, op->connect_to);
        if (ct)
            curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
        op->connect_list = ct;
    }
    op->easy = h;
    op->too_large = 0;
    op->start_ns = vx_mono_ns();
    return h;
}

void vx_http_op_finish(struct vx_http_op *op, int curl_code)
{
    CURL *h = op->easy;
    op->elapsed_ns = vx_mono_ns() - op->start_ns;
    if (h) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &op->status);
        curl_easy_cleanup(h);
    }
    op->easy = NULL;
    curl_slist_free_all(op->slist);
    op->slist = NULL;
    curl_slist_free_all(op->connect_list);
    op->connect_list = NULL;
    if (!h) {
        op->rc = vx_err_set(&op->err, VX_ENOMEM, "cannot make a transfer handle");
    } else if (op->too_large) {
        op->rc = vx_err_set(&op->err, VX_ERANGE, "response larger than %zu bytes",
                            op->max_resp ? op->max_resp : (size_t)1 << 20);
    } else if (curl_code == CURLE_OPERATION_TIMEDOUT) {
        op->rc = vx_err_set(&op->err, VX_ETIMEOUT, "timed out after %d ms",
                            op->timeout_ms > 0 ? op->timeout_ms : 5000);
    } else if (curl_code != CURLE_OK) {
        op->rc = vx_err_set(&op->err, VX_EUPSTREAM, "%s", curl_easy_strerror((CURLcode)curl_code));
    } else {
        op->rc = 0;
    }
}

void vx_http_op_run(struct vx_http_op *op)
{
    CURL *h = vx_http_op_easy(op);
    CURLcode cc = h ? curl_easy_perform(h) : CURLE_FAILED_INIT;
    vx_http_op_finish(op, (int)cc);
}

void vx_http_op_release(struct vx_http_op *op)
{
    if (op->easy)
        curl_easy_cleanup(op->easy);
    op->easy = NULL;
    curl_slist_free_all(op->slist);
    curl_slist_free_all(op->connect_list);
    op->slist = op->connect_list = NULL;
    free(op->url);
    op->url = NULL;
    for (size_t i = 0; i < op->nheaders; i++)
        free(op->headers[i]);
    op->nheaders = 0;
    free(op->body);
    op->body = NULL;
    op->body_len = 0;
    for (size_t i = 0; i < op->nresp_headers; i++)
        free(op->resp_headers[i]);
    op->nresp_headers = 0;
    vx_buf_release(&op->resp);
}
