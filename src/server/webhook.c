/*
 * Webhook deliveries: every event of a merchant's log (merchant.c) is POSTed
 * to each endpoint the merchant registered, in the log's order, signed, and
 * retried with backoff until the endpoint answers 2xx or the retry window
 * (merchant.webhook_retry_window) has passed; then the event is marked failed
 * and the next one goes. Each attempt is visible through the API
 * (/v1/webhook_endpoints/{endpoint}/deliveries).
 *
 * DESIGN
 * - One runner, on the first worker's loop, one step at a time: it walks the
 *   registry of endpoints (vx:webhooks), reads an endpoint, its progress
 *   (collection "hookstate": the last event done, and the attempts at the one
 *   under way), the next event after it, sends it, and records the attempt
 *   (collection "deliveries:<endpoint>", one document per event) and the
 *   progress. Like every handler it hands the loop store operations and an
 *   HTTP request as data; nothing blocks.
 * - The signature is Stripe's scheme: Voxcart-Signature: t=<unix time>,
 *   v1=<hex HMAC-SHA256 with the endpoint's secret over "<t>.<body>">. The
 *   receiver checks it and the age of t, and de-duplicates by
 *   Voxcart-Event-Id: an attempt whose answer is lost is sent again.
 * - An endpoint whose next try is not due yet is passed over, so one failing
 *   endpoint delays only its own events.
 * - Several instances run the runner; each endpoint is delivered to by the one
 *   holding its lease (vx:{m:<merchant>}:hooklease:<endpoint>, LEASE_MS, renewed
 *   at each visit), so no event is sent by two at once and the order holds; when
 *   the holder stops, another takes over once the lease runs out.
 */
#include "server.h"

#include "voxcart/jscan.h"
#include "voxcart/log.h"
#include "voxcart/response.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define ROUND_NS       200000000ull /* the walk over the registry starts again this often */
#define BACKOFF_MAX_MS 3600000ll

enum {
    WH_IDLE,
    WH_LIST,
    WH_ENDPOINT,
    WH_LEASE,
    WH_STATE,
    WH_EVENT,
    WH_SEND,
    WH_DELIVERY,
    WH_PROGRESS
};

/* How long an instance holds an endpoint: far longer than one attempt (5 s), so it delivers
 * the endpoint's events in order while it runs, and another takes over soon after it stops. */
#define LEASE_MS 30000

struct runner {
    int phase;
    uint64_t round_ns;
    char **members;
    size_t n, i;
    char merchant[VX_MERCHANT_ID_MAX + 1], endpoint[72], coll[96];
    char url[512], secret[80];
    char cursor[128], event_id[128];
    char owner[40], lease[256]; /* this instance, and the endpoint's lease key */
    int64_t first_at, next_at;  /* ms: the first attempt at event_id, when the next is due */
    struct vx_buf attempts;     /* JSON array text of the attempts at event_id */
    char *event;
    int outcome; /* 1 delivered, -1 failed for good, 0 still to retry */
    struct vx_buf doc, progress;
};

static struct runner R;

static void take_members(struct vx_store_op *op)
{
    vx_store_strings_free(R.members, R.n);
    R.members = op->ids;
    R.n = op->n_ids;
    op->ids = NULL;
    op->n_ids = 0;
    R.i = 0;
}

static void str_member(struct vx_jdoc *d, const char *key, char *out, size_t sz)
{
    const char *v = vx_jget_str(d, vx_jroot(d), key);
    vx_strlcpy(out, v ? v : "", sz);
}

static int64_t int_member(struct vx_jdoc *d, const char *key)
{
    int64_t v = 0;
    vx_jint64(vx_jget(d, vx_jroot(d), key), &v);
    return v;
}

/* The progress of an endpoint: {"cursor","event_id","first_at","next_at","attempts":[...]}. */
static void read_progress(const char *json)
{
    struct vx_jdoc d;
    const struct vx_jnode *a;
    R.cursor[0] = R.event_id[0] = '\0';
    R.first_at = R.next_at = 0;
    R.attempts.len = 0;
    if (!json || vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return;
    str_member(&d, "cursor", R.cursor, sizeof(R.cursor));
    str_member(&d, "event_id", R.event_id, sizeof(R.event_id));
    R.first_at = int_member(&d, "first_at");
    R.next_at = int_member(&d, "next_at");
    a = vx_jget(&d, vx_jroot(&d), "attempts");
    if (a && a->type == VX_JARRAY)
        vx_buf_append(&R.attempts, json + a->start, a->end - a->start);
    vx_jdoc_free(&d);
}

static void sign(const char *body, size_t len, int64_t t, char *out, size_t outsz)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    struct vx_buf msg;
    size_t n;
    vx_buf_init(&msg);
    vx_buf_appendf(&msg, "%lld.", (long long)t);
    vx_buf_append(&msg, body, len);
    HMAC(EVP_sha256(), R.secret, (int)strlen(R.secret), (const unsigned char *)msg.data, msg.len,
         md, &mdlen);
    vx_buf_release(&msg);
    n = (size_t)snprintf(out, outsz, "t=%lld,v1=", (long long)t);
    for (unsigned i = 0; i < mdlen && n + 2 < outsz; i++) {
        out[n++] = hex[md[i] >> 4];
        out[n++] = hex[md[i] & 15];
    }
    out[n] = '\0';
}

static void send_event(struct vx_http_op *http)
{
    char sig[128];
    size_t len = strlen(R.event);
    vx_http_op_release(http);
    vx_http_op_init(http, "POST", R.url);
    http->timeout_ms = 5000;
    sign(R.event, len, vx_now(), sig, sizeof(sig));
    vx_http_op_header(http, "Content-Type", "application/json");
    vx_http_op_header(http, "Voxcart-Signature", sig);
    vx_http_op_header(http, "Voxcart-Event-Id", R.event_id);
    vx_http_op_header(http, "User-Agent", "voxcart-webhooks/" VX_VERSION);
    vx_http_op_body(http, R.event, len);
}

/* The attempt's answer: what to record for the event and the endpoint's progress. */
static void judge(struct server *s, const struct vx_http_op *http)
{
    int64_t now = vx_now_ms(), wait = s->cfg.webhook_backoff_ms;
    int ok = http->rc == 0 && http->status >= 200 && http->status < 300;
    size_t n = 0;
    const char *error = http->rc ? http->err.msg : ok ? "" : "not a 2xx answer";

    for (size_t i = 0; i < R.attempts.len; i++)
        n += R.attempts.data[i] == '{';
    if (R.attempts.len < 2) {
        R.attempts.len = 0;
        vx_buf_appends(&R.attempts, "[]");
    }
    R.attempts.len--; /* reopen the array */
    vx_buf_appendf(&R.attempts, "%s{\"at\":%lld,\"status\":%ld,\"error\":", n ? "," : "",
                   (long long)now, http->rc ? 0L : http->status);
    vx_buf_appends(&R.attempts, "\"");
    vx_json_escape(&R.attempts, error, strlen(error));
    vx_buf_appends(&R.attempts, "\"}]");
    for (size_t i = 0; i < n && wait < BACKOFF_MAX_MS; i++)
        wait *= 2;
    if (wait > BACKOFF_MAX_MS)
        wait = BACKOFF_MAX_MS;
    R.outcome = ok ? 1 : now - R.first_at >= (int64_t)s->cfg.webhook_retry_window * 1000 ? -1 : 0;
    R.next_at = now + wait;
    if (R.outcome < 0)
        vx_warn("webhooks", "event %s to endpoint %s of %s failed for good after %zu attempts",
                R.event_id, R.endpoint, R.merchant, n + 1);
}

static int put(struct vx_store_op *op, const char *coll, const char *id, const char *doc)
{
    struct vx_mdoc_put p;
    memset(&p, 0, sizeof(p));
    p.merchant = R.merchant;
    p.coll = coll;
    p.id = id;
    p.doc = doc;
    p.mode = VX_MDOC_UPSERT;
    return vx_store_op_mdoc_put(op, &p);
}

static int put_delivery(struct vx_store_op *op)
{
    R.doc.len = 0;
    vx_buf_appends(&R.doc, "{\"id\":\"");
    vx_buf_appends(&R.doc, R.event_id); /* IDs of the log: no escaping needed */
    vx_buf_appends(&R.doc, "\",\"event_id\":\"");
    vx_buf_appends(&R.doc, R.event_id);
    vx_buf_appends(&R.doc, "\",\"endpoint_id\":\"");
    vx_buf_appends(&R.doc, R.endpoint);
    vx_buf_appendf(&R.doc, "\",\"state\":\"%s\",\"attempts\":",
                   R.outcome > 0   ? "succeeded"
                   : R.outcome < 0 ? "failed"
                                   : "pending");
    vx_buf_append(&R.doc, R.attempts.data, R.attempts.len);
    vx_buf_appends(&R.doc, ",\"next_attempt_at\":");
    if (R.outcome == 0)
        vx_buf_appendf(&R.doc, "%lld}", (long long)R.next_at);
    else
        vx_buf_appends(&R.doc, "null}");
    snprintf(R.coll, sizeof(R.coll), "deliveries:%s", R.endpoint);
    return R.doc.data && put(op, R.coll, R.event_id, R.doc.data);
}

static int put_progress(struct vx_store_op *op)
{
    R.progress.len = 0;
    if (R.outcome != 0) { /* this event is done with: the next one starts afresh */
        vx_strlcpy(R.cursor, R.event_id, sizeof(R.cursor));
        vx_buf_appendf(&R.progress, "{\"cursor\":\"%s\",\"event_id\":\"\",\"attempts\":[]}",
                       R.cursor);
    } else {
        vx_buf_appendf(&R.progress,
                       "{\"cursor\":\"%s\",\"event_id\":\"%s\",\"first_at\":%lld,\"next_at\":%lld,"
                       "\"attempts\":",
                       R.cursor, R.event_id, (long long)R.first_at, (long long)R.next_at);
        vx_buf_append(&R.progress, R.attempts.data, R.attempts.len);
        vx_buf_appends(&R.progress, "}");
    }
    return R.progress.data && put(op, "hookstate", R.endpoint, R.progress.data);
}

/* The next endpoint of the registry, or the end of the round. */
static int next_endpoint(struct vx_store_op *op)
{
    while (R.i < R.n) {
        const char *m = R.members[R.i++], *sp = strchr(m, ' ');
        if (!sp || (size_t)(sp - m) >= sizeof(R.merchant) || strlen(sp + 1) >= sizeof(R.endpoint))
            continue;
        memcpy(R.merchant, m, (size_t)(sp - m));
        R.merchant[sp - m] = '\0';
        vx_strlcpy(R.endpoint, sp + 1, sizeof(R.endpoint));
        R.phase = WH_ENDPOINT;
        return vx_store_op_mdoc_get(op, R.merchant, "webhook_endpoints", R.endpoint);
    }
    R.phase = WH_IDLE;
    return 0;
}

int webhooks_step(struct server *s, struct vx_store_op *op, struct vx_http_op *http)
{
    struct vx_jdoc d;
    uint64_t now = vx_mono_ns();
    int rc = op->rc;

    switch (R.phase) {
    case WH_IDLE:
        if (!s->mkeys.key || (R.round_ns && now - R.round_ns < ROUND_NS))
            return 0;
        R.round_ns = now;
        R.phase = WH_LIST;
        return vx_store_op_hooks_list(op) ? 1 : 0;
    case WH_LIST:
        if (rc == 0)
            take_members(op);
        vx_store_op_release(op);
        return next_endpoint(op);
    case WH_ENDPOINT:
        R.url[0] = R.secret[0] = '\0';
        if (rc == 0 && vx_jdoc_parse(&d, op->json, strlen(op->json), NULL) == 0) {
            str_member(&d, "url", R.url, sizeof(R.url));
            str_member(&d, "secret", R.secret, sizeof(R.secret));
            vx_jdoc_free(&d);
        }
        vx_store_op_release(op);
        if (!R.url[0] || !R.secret[0])
            return next_endpoint(op);
        /* one instance at a time delivers to an endpoint, so none is sent an event twice */
        if (!R.owner[0])
            snprintf(R.owner, sizeof(R.owner), "%016llx%016llx", (unsigned long long)vx_wset_tag(),
                     (unsigned long long)vx_wset_tag());
        snprintf(R.coll, sizeof(R.coll), "hooklease:%s", R.endpoint);
        if (vx_store_merchant_key(R.merchant, R.coll, R.lease, sizeof(R.lease)) != 0)
            return next_endpoint(op);
        R.phase = WH_LEASE;
        return vx_store_op_lease(op, R.lease, R.owner, LEASE_MS);
    case WH_LEASE:
        vx_store_op_release(op);
        if (rc != 0) /* another instance has it (or the store failed): its turn */
            return next_endpoint(op);
        R.phase = WH_STATE;
        return vx_store_op_mdoc_get(op, R.merchant, "hookstate", R.endpoint);
    case WH_STATE:
        read_progress(rc == 0 ? op->json : NULL);
        vx_store_op_release(op);
        if (R.event_id[0] && vx_now_ms() < R.next_at)
            return next_endpoint(op); /* its next try is not due yet */
        R.phase = WH_EVENT;
        return vx_store_op_mdoc_list_seq(op, R.merchant, "events", R.cursor, 1);
    case WH_EVENT:
        if (rc != 0 || op->n_ids < 2) {
            vx_store_op_release(op);
            return next_endpoint(op);
        }
        if (strcmp(R.event_id, op->ids[0]) != 0) { /* a new event: its first attempt */
            vx_strlcpy(R.event_id, op->ids[0], sizeof(R.event_id));
            R.first_at = vx_now_ms();
            R.attempts.len = 0;
        }
        free(R.event);
        R.event = op->ids[1];
        op->ids[1] = NULL;
        vx_store_op_release(op);
        send_event(http);
        R.phase = WH_SEND;
        return 2;
    case WH_SEND:
        judge(s, http);
        vx_http_op_release(http);
        R.phase = WH_DELIVERY;
        return put_delivery(op);
    case WH_DELIVERY:
        if (rc != 0)
            vx_warn("webhooks", "attempt at %s not recorded: %s", R.event_id, op->err.msg);
        vx_store_op_release(op);
        R.phase = WH_PROGRESS;
        return put_progress(op);
    case WH_PROGRESS:
        if (rc != 0)
            vx_warn("webhooks", "progress of %s not recorded: %s", R.endpoint, op->err.msg);
        vx_store_op_release(op);
        return next_endpoint(op);
    }
    R.phase = WH_IDLE;
    return 0;
}

void webhooks_release(void)
{
    vx_store_strings_free(R.members, R.n);
    free(R.event);
    vx_buf_release(&R.attempts);
    vx_buf_release(&R.doc);
    vx_buf_release(&R.progress);
    memset(&R, 0, sizeof(R));
}
