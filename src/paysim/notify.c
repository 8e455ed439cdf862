/*
 * Notifications (IPN): when a charge permission, charge or refund changes state,
 * the sandbox POSTs a notification to the merchant's URL (the one registered
 * for the merchant, else --notify-url) and retries it until the receiver
 * answers 2xx, with backoff 1, 2, 4 ... 60 s. As with the provider, a
 * notification only names the object; the merchant reads it with a GET.
 *
 * The body is an SNS-style envelope whose Message is the JSON text of
 * {ReleaseEnvironment, MerchantID, ObjectType, ObjectId, ChargePermissionId,
 * NotificationType, NotificationId, NotificationVersion}. It is signed the way
 * merchants sign their own requests (voxcart/paysign.h,
 * AMZN-PAY-RSASSA-PSS-V2 over accept, content-type, x-amz-pay-date,
 * x-amz-pay-host, x-amz-pay-region) with the sandbox's notification key,
 * PublicKeyId "paysim-notify"; GET /_sim/notify-key serves its public PEM so a
 * receiver verifies with the same code the sandbox uses for requests.
 *
 * Queueing happens under ps_lock; sending does not hold it (a slow receiver
 * never stalls the API).
 */
#include <json-c/json.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paysim.h"
#include "voxcart/httpop.h"
#include "voxcart/log.h"
#include "voxcart/paysign.h"
#include "voxcart/pki.h"

#define NOTIFY_KEY_ID "paysim-notify"

EVP_PKEY *ps_notify_key;

void ps_notify(const char *merchant, const char *object_type, const char *object_id,
               const char *perm_id, const char *state, enum ps_env env)
{
    const struct ps_merchant *m = ps_merchant_find(merchant);
    const char *url = m && m->notify_url[0] ? m->notify_url : ps_cfg.notify_url;
    struct json_object *msg, *env_o;
    struct ps_notice *n;
    char id[40], ts[32], digits[33];
    int64_t now = ps_now();
    time_t t = (time_t)now;
    struct tm tm;

    if (!url || !*url || PS_PUSH(ps.notices, n) != 0)
        return;
    n->seq = ++ps.notice_seq;
    vx_strlcpy(n->merchant, merchant, sizeof(n->merchant));
    vx_strlcpy(n->url, url, sizeof(n->url));
    vx_strlcpy(n->object_type, object_type, sizeof(n->object_type));
    vx_strlcpy(n->object_id, object_id, sizeof(n->object_id));
    vx_strlcpy(n->perm_id, perm_id ? perm_id : "", sizeof(n->perm_id));
    vx_strlcpy(n->state, state, sizeof(n->state));
    n->created = now;
    n->next_ns = vx_mono_ns();
    ps_random_digits(digits, 32);
    vx_snprintf(id, sizeof(id), "%.8s-%.4s-%.4s-%.4s-%.12s", digits, digits + 8, digits + 12,
                digits + 16, digits + 20);

    msg = json_object_new_object();
    json_object_object_add(msg, "ReleaseEnvironment", json_object_new_string(ps_env_name(env)));
    json_object_object_add(msg, "MerchantID", json_object_new_string(merchant));
    json_object_object_add(msg, "ObjectType", json_object_new_string(object_type));
    json_object_object_add(msg, "ObjectId", json_object_new_string(object_id));
    json_object_object_add(msg, "ChargePermissionId", json_object_new_string(n->perm_id));
    json_object_object_add(msg, "NotificationType", json_object_new_string("STATE_CHANGE"));
    json_object_object_add(msg, "NotificationId", json_object_new_string(id));
    json_object_object_add(msg, "NotificationVersion", json_object_new_string("V2"));

    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    env_o = json_object_new_object();
    json_object_object_add(env_o, "Type", json_object_new_string("Notification"));
    json_object_object_add(env_o, "MessageId", json_object_new_string(id));
    json_object_object_add(env_o, "TopicArn",
                           json_object_new_string("arn:aws:sns:local:000000000000:voxcart-paysim"));
    json_object_object_add(
        env_o, "Message",
        json_object_new_string(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN)));
    json_object_object_add(env_o, "Timestamp", json_object_new_string(ts));
    json_object_object_add(env_o, "SignatureVersion", json_object_new_string("paysim-1"));
    n->body = ps_json_text(env_o);
    json_object_put(env_o);
    json_object_put(msg);
    ps.dirty = 1;
}

/* "scheme://host[:port]/path?query" -> host (with port), path, query. */
static int url_split(const char *url, char *host, size_t hsize, char *path, size_t psize,
                     char *query, size_t qsize)
{
    const char *p = strstr(url, "://"), *slash, *q;
    size_t n;

    if (!p)
        return VX_EPARSE;
    p += 3;
    slash = strchr(p, '/');
    q = strchr(p, '?');
    if (q && (!slash || q < slash))
        slash = NULL;
    n = slash ? (size_t)(slash - p) : q ? (size_t)(q - p) : strlen(p);
    if (n == 0 || n >= hsize)
        return VX_EPARSE;
    memcpy(host, p, n);
    host[n] = '\0';
    if (slash) {
        n = q ? (size_t)(q - slash) : strlen(slash);
        if (n >= psize)
            return VX_EPARSE;
        memcpy(path, slash, n);
        path[n] = '\0';
    } else {
        vx_strlcpy(path, "/", psize);
    }
    vx_strlcpy(query, q ? q + 1 : "", qsize);
    return 0;
}

/* One delivery attempt; returns the HTTP status, or 0 when no answer came. */
static long deliver(const char *url, const char *body)
{
    char host[256], path[512], query[512], date[17];
    struct vx_paysign_hdr h[5];
    struct vx_http_op op;
    struct vx_buf auth;
    struct vx_err e = {0};
    long status = 0;

    if (url_split(url, host, sizeof(host), path, sizeof(path), query, sizeof(query)) != 0)
        return 0;
    vx_paysign_date(vx_now(), date);
    h[0] = (struct vx_paysign_hdr){"accept", "application/json"};
    h[1] = (struct vx_paysign_hdr){"content-type", "application/json"};
    h[2] = (struct vx_paysign_hdr){"x-amz-pay-date", date};
    h[3] = (struct vx_paysign_hdr){"x-amz-pay-host", host};
    h[4] = (struct vx_paysign_hdr){"x-amz-pay-region", "sandbox"};
    vx_buf_init(&auth);
    if (vx_paysign_authorize(ps_notify_key, VX_PAYSIGN_V2, NOTIFY_KEY_ID, "POST", path, query, h, 5,
                             body, strlen(body), &auth, &e) != 0) {
        vx_warn("paysim", "cannot sign a notification: %s", e.msg);
        vx_buf_release(&auth);
        return 0;
    }
    vx_http_op_init(&op, "POST", url);
    for (size_t i = 0; i < 5; i++)
        vx_http_op_header(&op, h[i].name, h[i].value);
    vx_http_op_header(&op, "authorization", auth.data);
    vx_http_op_header(&op, "user-agent", "voxcart-paysim/" VX_VERSION);
    vx_http_op_body(&op, body, strlen(body));
    op.timeout_ms = 3000;
    op.max_resp = 64 * 1024;
    op.ca_file = ps_cfg.notify_ca;
    vx_http_op_run(&op);
    if (op.rc == 0)
        status = op.status;
    vx_http_op_release(&op);
    vx_buf_release(&auth);
    return status;
}

void ps_notify_run(void)
{
    for (;;) {
        char url[512], *body = NULL;
        uint64_t seq = 0, now = vx_mono_ns();
        long status;

        pthread_mutex_lock(&ps_lock);
        for (size_t i = 0; i < ps.notices.n; i++) {
            struct ps_notice *n = &ps.notices.v[i];
            if (!n->delivered && n->next_ns <= now) {
                seq = n->seq;
                vx_strlcpy(url, n->url, sizeof(url));
                body = strdup(n->body);
                break;
            }
        }
        pthread_mutex_unlock(&ps_lock);
        if (!body)
            return;
        status = deliver(url, body);
        free(body);
        pthread_mutex_lock(&ps_lock);
        for (size_t i = 0; i < ps.notices.n; i++) {
            struct ps_notice *n = &ps.notices.v[i];
            if (n->seq != seq)
                continue;
            n->attempts++;
            n->last_status = (int)status;
            if (status >= 200 && status < 300 && n->again > 0) {
                n->again--; /* redelivered while this one was under way: once more */
                n->next_ns = 0;
            } else if (status >= 200 && status < 300) {
                n->delivered = 1;
            } else {
                unsigned shift = n->attempts > 6 ? 6 : (unsigned)n->attempts - 1;
                uint64_t wait_s = (1u << shift) > 60 ? 60 : (1u << shift);
                n->next_ns = vx_mono_ns() + wait_s * 1000000000ull;
                vx_info("paysim", "notification %llu to %s: %s%ld, retrying in %llus",
                        (unsigned long long)seq, url, status ? "HTTP " : "no answer ", status,
                        (unsigned long long)wait_s);
            }
            ps.dirty = 1;
        }
        pthread_mutex_unlock(&ps_lock);
    }
}

int ps_notify_key_load(const char *state_file, struct vx_err *e)
{
    char path[1024];
    int rc;

    if (state_file) {
        vx_snprintf(path, sizeof(path), "%s.notify-key.pem", state_file);
        if (vx_pki_read_key(path, &ps_notify_key, NULL) == 0)
            return 0;
    }
    rc = vx_pki_keygen(2048, &ps_notify_key, e);
    if (rc == 0 && state_file)
        rc = vx_pki_write_key(path, ps_notify_key, e);
    return rc;
}

char *ps_notify_key_pem(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long n;

    if (!b)
        return NULL;
    if (PEM_write_bio_PUBKEY(b, ps_notify_key) == 1 && (n = BIO_get_mem_data(b, &data)) > 0)
        out = strndup(data, (size_t)n);
    BIO_free(b);
    return out;
}
