/*
 * The checks that run before an operation: the request signature as the
 * provider checks it, throttling per merchant and operation, and the idempotency
 * records. The signature itself is the shared module's (voxcart/paysign.h): the
 * client signs and the sandbox verifies with the same canonical-request code.
 *
 * What the provider does and so what the sandbox does: the signature covers
 * exactly the headers the request names in SignedHeaders (the official SDKs
 * sign different sets; Node adds user-agent), the list must hold at least the
 * five required ones, each named header must be present, the key must be one
 * registered for a merchant, and x-amz-pay-date must be within 15 minutes of the
 * sandbox clock. The SDKs send that date in two forms (YYYYMMDDTHHMMSSZ, and
 * the Node SDK's YYYY-MM-DDTHH:MM:SSZ); both are accepted.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "paysim.h"
#include "voxcart/paysign.h"
#include "voxcart/verify.h"

/* "2026-12-01T21:14:20Z" -> the compact form the shared parser reads. */
static int date_parse_any(const char *s, int64_t *epoch)
{
    char compact[17];
    size_t j = 0;

    if (vx_paysign_date_parse(s, epoch) == 0)
        return 0;
    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return VX_EPARSE;
    for (size_t i = 0; s[i] && j < 16; i++)
        if (s[i] != '-' && s[i] != ':')
            compact[j++] = s[i];
    compact[j] = '\0';
    return vx_paysign_date_parse(compact, epoch);
}

static int starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (toupper((unsigned char)*s) != *prefix)
            return 0;
    return 1;
}

int ps_auth_check(struct ps_req *r)
{
    const char *value = ps_req_header(r, "authorization"), *date;
    struct vx_paysign_auth a;
    struct vx_paysign_hdr h[PS_MAX_HEADERS];
    struct ps_merchant *m = NULL;
    struct ps_key *k;
    struct vx_err e = {0};
    int64_t when, now;
    int rc;

    if (!value) {
        ps_fail(r, 400, "MissingHeader", "the authorization header is missing");
        return -1;
    }
    if (vx_paysign_auth_parse(value, &a, &e) != 0) {
        ps_fail(r, 403, "InvalidAuthentication", "authorization header: %s", e.msg);
        return -1;
    }
    k = ps_key_find(a.key_id, &m);
    if (!k) {
        ps_fail(r, 401, "UnauthorizedAccess", "no merchant has the public key ID '%s'", a.key_id);
        return -1;
    }
    /* /v2/ alone needs an environment-specific key ID, which then picks the environment */
    if (strncmp(r->path, "/v2/", 4) == 0) {
        if (starts_with_ci(a.key_id, "LIVE"))
            r->env = PS_ENV_LIVE;
        else if (starts_with_ci(a.key_id, "SANDBOX"))
            r->env = PS_ENV_SANDBOX;
        else {
            ps_fail(r, 400, "InvalidRequest",
                    "/v2/ paths need a public key ID that starts with LIVE or SANDBOX; use "
                    "/live/v2/ or /sandbox/v2/ with '%s'",
                    a.key_id);
            return -1;
        }
    }
    date = ps_req_header(r, "x-amz-pay-date");
    if (!date) {
        ps_fail(r, 400, "MissingHeaderValue", "x-amz-pay-date is missing");
        return -1;
    }
    if (date_parse_any(date, &when) != 0) {
        ps_fail(r, 400, "InvalidHeaderValue", "x-amz-pay-date '%.40s' is not YYYYMMDDTHHMMSSZ",
                date);
        return -1;
    }
    now = ps.date_check_wall ? vx_now() : ps_now();
    if (when < now - ps_cfg.date_window || when > now + ps_cfg.date_window) {
        char ts[17];
        ps_timestamp(now, ts);
        ps_fail(r, 400, "InvalidHeaderValue",
                "x-amz-pay-date '%s' is more than %d seconds from the sandbox clock (%s)", date,
                ps_cfg.date_window, ts);
        return -1;
    }
    for (size_t i = 0; i < r->nhdr; i++) {
        h[i].name = r->hdr[i].name;
        h[i].value = r->hdr[i].value;
    }
    rc = vx_paysign_check(k->pub, &a, r->method, r->path, r->query, h, r->nhdr, r->body,
                          r->body_len, &e);
    if (rc == VX_EDENIED || rc == VX_ENOTFOUND) {
        ps_fail(r, 403, "InvalidRequestSignature", "%s", e.msg);
        return -1;
    }
    if (rc != 0) {
        ps_fail(r, 403, "InvalidRequestSignature", "the signature does not match the request (%s)",
                e.msg[0] ? e.msg : "mismatch");
        return -1;
    }
    r->merchant = m;
    return 0;
}

/* ---- throttling: a token bucket per merchant, environment and operation ---- */

int ps_throttle_take(struct ps_req *r, enum ps_op op)
{
    struct ps_bucket *b = &r->merchant->buckets[r->env][op];
    const struct ps_throttle_row *row = &ps.throttle[r->env][op];
    uint64_t now = vx_mono_ns();
    int64_t cap;

    if (!ps.throttle_on || row->burst <= 0)
        return 0;
    cap = (int64_t)row->burst * 1000;
    if (!b->init) {
        b->init = 1;
        b->milli = cap;
        b->last_ns = now;
    }
    b->milli += (int64_t)((now - b->last_ns) / 1000000u) * row->per_second;
    b->last_ns = now - (now - b->last_ns) % 1000000u;
    if (b->milli > cap)
        b->milli = cap;
    if (b->milli < 1000) {
        ps_fail(r, 429, "TooManyRequests",
                "the request rate for this operation is above %d per second (burst %d)",
                row->per_second, row->burst);
        return -1;
    }
    b->milli -= 1000;
    return 0;
}

/* ---- idempotency records ---- */

int ps_idem_key_valid(const char *key)
{
    size_t n = strlen(key);

    if (n == 0 || n > 32)
        return 0;
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static int idem_of(size_t pos, void *arg)
{
    const char *const *merchant = arg;
    return strcmp(ps.idem.v[pos].merchant, *merchant) == 0;
}

struct ps_idem *ps_idem_find(const char *merchant, const char *key)
{
    ptrdiff_t pos = ps_index_each(&ps.ix_idem, ps.idem.v, ps.idem.n, sizeof(*ps.idem.v),
                                  offsetof(struct ps_idem, key), key, idem_of, &merchant);
    return pos < 0 ? NULL : &ps.idem.v[pos];
}

/* The request's identity: operation (method + path after the environment) and body bytes. */
void ps_idem_fingerprint(const struct ps_req *r, unsigned char fp[32])
{
    struct vx_buf b;
    unsigned char body[32];
    static const char hex[] = "0123456789abcdef";

    vx_buf_init(&b);
    vx_sha256(r->body, r->body_len, body);
    vx_buf_appendf(&b, "%s\n%s\n", r->method, r->rest);
    for (size_t i = 0; i < 32; i++) {
        char two[2] = {hex[body[i] >> 4], hex[body[i] & 15]};
        vx_buf_append(&b, two, 2);
    }
    vx_sha256(b.data ? b.data : "", b.len, fp);
    vx_buf_release(&b);
}

int ps_idem_store(const char *merchant, const char *key, const unsigned char fp[32], int status,
                  const char *body)
{
    struct ps_idem *rec;

    if (PS_PUSH(ps.idem, rec) != 0)
        return VX_ENOMEM;
    vx_strlcpy(rec->merchant, merchant, sizeof(rec->merchant));
    vx_strlcpy(rec->key, key, sizeof(rec->key));
    memcpy(rec->fp, fp, 32);
    rec->status = status;
    rec->body = strdup(body);
    rec->created = ps_now();
    ps.dirty = 1;
    return 0;
}
