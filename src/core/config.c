/*
 * Configuration loading. A single table describes every field once: its path in
 * the JSON file, its environment variable, its type and bounds, where it lives in
 * struct vx_config, and one line for --help-config. Loading the file and the
 * environment are two walks over that table, so the two forms never drift.
 *
 * Errors name the field the way the user wrote it ("listen.port: must be an
 * integer between 1 and 65535", "VOXCART_THREADS: ...") and stop start-up.
 */
#include "voxcart/config.h"
#include "voxcart/sub.h"
#include "voxcart/jscan.h"
#include "voxcart/log.h"
#include "voxcart/mtoken.h"
#include "voxcart/paysign.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

enum field_type { F_STRING, F_INT, F_BOOL, F_LIST, F_MAP };

struct field {
    const char *path; /* "section.key" or "key" */
    const char *env;
    enum field_type type;
    size_t offset;
    size_t size; /* string capacity */
    long long min, max;
    const char *def;
    const char *help;
};

#define STR(name, path, env, def, help)                                                            \
    {                                                                                              \
        path, env, F_STRING, offsetof(struct vx_config, name),                                     \
            sizeof(((struct vx_config *)0)->name), 0, 0, def, help                                 \
    }
#define INT(name, path, env, lo, hi, def, help)                                                    \
    {                                                                                              \
        path, env, F_INT, offsetof(struct vx_config, name), 0, lo, hi, def, help                   \
    }
#define BOOL(name, path, env, def, help)                                                           \
    {                                                                                              \
        path, env, F_BOOL, offsetof(struct vx_config, name), 0, 0, 1, def, help                    \
    }

static const struct field fields[] = {
    STR(listen_address, "listen.address", "VOXCART_LISTEN_ADDRESS", "127.0.0.1",
        "IPv4 or IPv6 address to listen on"),
    INT(listen_port, "listen.port", "VOXCART_LISTEN_PORT", 1, 65535, "8443", "TCP port"),
    BOOL(listen_share_port, "listen.share_port", "VOXCART_LISTEN_SHARE_PORT", "false",
         "let several voxcartd processes share listen.port; off: a port in use stops start-up"),
    STR(tls_cert, "tls.cert", "VOXCART_TLS_CERT", "",
        "PEM certificate chain for HTTPS; without it plain HTTP (loopback only)"),
    STR(tls_key, "tls.key", "VOXCART_TLS_KEY", "", "PEM private key for tls.cert"),
    INT(threads, "threads", "VOXCART_THREADS", 0, 256, "0",
        "worker threads (event loops); 0 = one per core"),
    STR(redis_url, "redis.url", "VOXCART_REDIS_URL", "redis://127.0.0.1:6379/0",
        "redis://[:password@]host:port[/db] or unix:///path/redis.sock"),
    INT(redis_timeout_ms, "redis.timeout_ms", "VOXCART_REDIS_TIMEOUT_MS", 10, 60000, "500",
        "connect and command timeout for Redis"),
    BOOL(development, "verify.development", "VOXCART_DEVELOPMENT", "false",
         "skip the signature check (refused unless listening on loopback)"),
    STR(ca_file, "verify.ca_file", "VOXCART_CA_FILE", "",
        "trust anchors for signing chains; empty = the system trust store"),
    STR(ca_path, "verify.ca_path", "VOXCART_CA_PATH", "", "hashed directory of trust anchors"),
    {"verify.cert_map", "VOXCART_CERT_MAP", F_MAP, 0, 0, 0, 0, "",
     "certificate URL -> local PEM file (JSON object; env: URL=FILE,URL=FILE)"},
    STR(fetch_connect_to, "verify.fetch_connect_to", "VOXCART_FETCH_CONNECT_TO", "",
        "chain downloads connect here instead: HOST:443:ADDR:PORT (a mirror; tests)"),
    STR(fetch_ca_file, "verify.fetch_ca_file", "VOXCART_FETCH_CA_FILE", "",
        "CA file for the TLS connection of chain downloads; empty = the system store"),
    INT(timestamp_tolerance, "verify.timestamp_tolerance", "VOXCART_TIMESTAMP_TOLERANCE", 1,
        VX_TS_TOLERANCE, "150", "seconds a request timestamp may differ from now (max 150)"),
    BOOL(replay_guard, "verify.replay_guard", "VOXCART_REPLAY_GUARD", "false",
         "reject a request ID seen within the timestamp window"),
    {"verify.skill_ids", "VOXCART_SKILL_IDS", F_LIST, 0, 0, 0, 0, "",
     "allowed skill IDs (JSON array; env: comma-separated); required outside development"},
    STR(log_level, "log.level", "VOXCART_LOG_LEVEL", "info", "debug, info, warn or error"),
    STR(record_dir, "record.dir", "VOXCART_RECORD_DIR", "",
        "write every verified request and its response as a fixture here; empty = off"),
    STR(catalog, "catalog", "VOXCART_CATALOG", "",
        "merchant catalog file; empty = the sample coffee shop"),
    STR(models_dir, "intents_dir", "VOXCART_INTENTS_DIR", "",
        "directory with messages/ and models/; empty = the installed one"),
    STR(payments, "payments", "VOXCART_PAYMENTS", "provider",
        "how customers pay: provider (charge the saved agreement in the turn, when provider.url "
        "is set) or off (orders are recorded CONFIRMED and paid outside voxcart)"),
    STR(provider_url, "provider.url", "VOXCART_PROVIDER_URL", "",
        "payment API base: https://HOST/live/v2, /sandbox/v2 or /v2; empty = no provider"),
    STR(provider_key_id, "provider.key_id", "VOXCART_PROVIDER_KEY_ID", "",
        "public key ID registered with the provider"),
    STR(provider_private_key, "provider.private_key", "VOXCART_PROVIDER_PRIVATE_KEY", "",
        "PEM file of the RSA private key that signs provider requests"),
    STR(provider_live_url, "provider.live_url", "VOXCART_PROVIDER_LIVE_URL", "",
        "payment API base for shops in production (https://HOST/live/v2, or /v2 with a LIVE- "
        "key ID); empty = production shops cannot be charged"),
    STR(provider_live_key_id, "provider.live_key_id", "VOXCART_PROVIDER_LIVE_KEY_ID", "",
        "public key ID for provider.live_url; empty = provider.key_id"),
    STR(provider_live_private_key, "provider.live_private_key", "VOXCART_PROVIDER_LIVE_PRIVATE_KEY",
        "", "PEM private key for provider.live_url; empty = provider.private_key"),
    STR(provider_region, "provider.region", "VOXCART_PROVIDER_REGION", "eu",
        "x-amz-pay-region: eu, na or jp"),
    STR(provider_algorithm, "provider.algorithm", "VOXCART_PROVIDER_ALGORITHM",
        "AMZN-PAY-RSASSA-PSS-V2", "AMZN-PAY-RSASSA-PSS-V2 or the older AMZN-PAY-RSASSA-PSS"),
    INT(provider_connect_timeout_ms, "provider.connect_timeout_ms",
        "VOXCART_PROVIDER_CONNECT_TIMEOUT_MS", 10, 60000, "2000", "connect timeout per attempt"),
    INT(provider_timeout_ms, "provider.timeout_ms", "VOXCART_PROVIDER_TIMEOUT_MS", 100, 120000,
        "8000", "whole-request timeout per attempt (retries come on top)"),
    INT(provider_backoff_ms, "provider.backoff_ms", "VOXCART_PROVIDER_BACKOFF_MS", 1, 60000, "1000",
        "first wait before a provider request is sent again (same key), doubled each time"),
    INT(provider_pay_budget_ms, "provider.pay_budget_ms", "VOXCART_PROVIDER_PAY_BUDGET_MS", 200,
        7000, "4000",
        "how long a paying turn waits for the provider (the platform gives up after about 8 s)"),
    INT(janitor_interval_ms, "janitor.interval_ms", "VOXCART_JANITOR_INTERVAL_MS", 0, 3600000,
        "5000", "how often the payment janitor settles pending orders; 0 = not on this instance"),
    INT(biller_interval_ms, "biller.interval_ms", "VOXCART_BILLER_INTERVAL_MS", 0, 3600000, "5000",
        "how often the recurring biller looks for due cycles; 0 = not on this instance"),
    INT(biller_lease_ms, "biller.lease_ms", "VOXCART_BILLER_LEASE_MS", 500, 600000, "30000",
        "how long an instance holds a bucket of the schedule without renewing it"),
    INT(biller_rate, "biller.rate", "VOXCART_BILLER_RATE", 1, 10000, "1",
        "recurring charges per second over all instances (the provider's Create Charge "
        "throttling: sandbox 1, live 4)"),
    INT(biller_burst, "biller.burst", "VOXCART_BILLER_BURST", 1, 10000, "2",
        "recurring charges allowed at once above the rate (sandbox 2, live 10)"),
    STR(biller_retry, "biller.retry_schedule", "VOXCART_BILLER_RETRY_SCHEDULE", "1h,1d,3d,5d,7d",
        "waits before each retry of a soft-declined cycle (s, m, h or d; at most 8), then past "
        "due"),
    STR(biller_past_due, "biller.past_due_for", "VOXCART_BILLER_PAST_DUE_FOR", "7d",
        "how long a subscription stays past due after its retries ran out, then canceled"),
    STR(biller_permission_check, "biller.permission_check", "VOXCART_BILLER_PERMISSION_CHECK", "1h",
        "how often a hard-declined cycle reads its charge permission to see it fixed"),
    INT(biller_settle_s, "biller.settle_s", "VOXCART_BILLER_SETTLE_S", 1, 86400, "60",
        "seconds until an attempt without an outcome is asked about again (same key)"),
    STR(provider_notify_key, "provider.notify_key", "VOXCART_PROVIDER_NOTIFY_KEY", "",
        "PEM public key that signs the provider's notifications (POST /provider/notifications)"),
    STR(provider_ca_file, "provider.ca_file", "VOXCART_PROVIDER_CA_FILE", "",
        "CA file for the provider's TLS (the sandbox's dev CA); empty = the system store"),
    STR(jwt_algorithm, "merchant.jwt_algorithm", "VOXCART_JWT_ALGORITHM", "HS256",
        "the one algorithm merchant tokens may use: HS256, RS256 or ES256"),
    STR(jwt_key, "merchant.jwt_key", "VOXCART_JWT_KEY", "",
        "HS256: file with the shared secret; RS256/ES256: public key PEM; empty = /v1 off"),
    STR(jwt_issuer, "merchant.jwt_issuer", "VOXCART_JWT_ISSUER", "voxcart",
        "the iss claim merchant tokens must carry"),
    STR(jwt_audience, "merchant.jwt_audience", "VOXCART_JWT_AUDIENCE", "voxcart-merchant-api",
        "the aud claim merchant tokens must carry"),
    INT(jwt_leeway, "merchant.jwt_leeway", "VOXCART_JWT_LEEWAY", 0, 300, "30",
        "seconds of clock skew allowed on exp and nbf"),
    STR(demo_id, "merchant.demo_id", "VOXCART_DEMO_MERCHANT", "demo",
        "merchant owning the catalog's shop (imported when absent; the skill sells it); empty = "
        "off"),
    INT(webhook_retry_window, "merchant.webhook_retry_window", "VOXCART_WEBHOOK_RETRY_WINDOW", 1,
        2592000, "259200", "seconds a webhook event is retried until answered 2xx, then failed"),
    INT(webhook_backoff_ms, "merchant.webhook_backoff_ms", "VOXCART_WEBHOOK_BACKOFF_MS", 10,
        3600000, "1000", "first wait after a failed webhook delivery (doubled, at most 1 h)"),
    STR(openapi, "merchant.openapi", "VOXCART_OPENAPI", "",
        "the OpenAPI document GET /v1/openapi.json serves; empty = openapi/ of the source tree"),
    STR(backoffice, "merchant.backoffice", "VOXCART_BACKOFFICE", "",
        "the back-office page GET /backoffice serves; empty = backoffice/ of the source tree"),
    STR(public_url, "public_url", "VOXCART_PUBLIC_URL", "",
        "how buyers' phones reach voxcartd (https://shop.example.com): pay links open its page "
        "/pay/... first; empty = the provider's page"),
    STR(paypage_secret, "paypage.secret", "VOXCART_PAYPAGE_SECRET", "",
        "file with the key of the pay-link page's tokens (32 bytes or more); required with "
        "public_url"),
};

static int set_string(struct vx_config *c, const struct field *f, const char *v, const char *name,
                      struct vx_err *e)
{
    char *dst = (char *)c + f->offset;
    if (strlen(v) >= f->size)
        return vx_err_set(e, VX_ECONFIG, "%s: longer than %zu characters", name, f->size - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int set_int(struct vx_config *c, const struct field *f, long long v, const char *name,
                   struct vx_err *e)
{
    if (v < f->min || v > f->max)
        return vx_err_set(e, VX_ECONFIG, "%s: must be an integer between %lld and %lld", name,
                          f->min, f->max);
    *(int *)((char *)c + f->offset) = (int)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (vx_strcaseeq(s, "true") || vx_strcaseeq(s, "1") || vx_strcaseeq(s, "yes") ||
        vx_strcaseeq(s, "on")) {
        *out = 1;
        return 0;
    }
    if (vx_strcaseeq(s, "false") || vx_strcaseeq(s, "0") || vx_strcaseeq(s, "no") ||
        vx_strcaseeq(s, "off")) {
        *out = 0;
        return 0;
    }
    return VX_EPARSE;
}

static int add_skill_id(struct vx_config *c, const char *id, const char *name, struct vx_err *e)
{
    if (!*id)
        return vx_err_set(e, VX_ECONFIG, "%s: empty skill ID", name);
    if (c->skill_ids_len >= VX_MAX_SKILL_IDS)
        return vx_err_set(e, VX_ECONFIG, "%s: more than %d skill IDs", name, VX_MAX_SKILL_IDS);
    if (vx_strlcpy(c->skill_ids[c->skill_ids_len], id, sizeof(c->skill_ids[0])) != 0)
        return vx_err_set(e, VX_ECONFIG, "%s: skill ID '%s' is too long", name, id);
    c->skill_ids_len++;
    return 0;
}

static int add_cert_map(struct vx_config *c, const char *url, const char *file, const char *name,
                        struct vx_err *e)
{
    size_t i = c->cert_map_len;
    if (i >= VX_MAX_CERT_MAP)
        return vx_err_set(e, VX_ECONFIG, "%s: more than %d entries", name, VX_MAX_CERT_MAP);
    if (!*url || !*file)
        return vx_err_set(e, VX_ECONFIG, "%s: entries need a URL and a file", name);
    if (vx_strlcpy(c->cert_map_store[i][0], url, sizeof(c->cert_map_store[i][0])) != 0 ||
        vx_strlcpy(c->cert_map_store[i][1], file, sizeof(c->cert_map_store[i][1])) != 0)
        return vx_err_set(e, VX_ECONFIG, "%s: entry '%s' is too long", name, url);
    c->cert_map[i].url = c->cert_map_store[i][0];
    c->cert_map[i].file = c->cert_map_store[i][1];
    c->cert_map_len++;
    return 0;
}

void vx_config_init(struct vx_config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < VX_ARRAY_LEN(fields); i++) {
        const struct field *f = &fields[i];
        long long v = 0;
        int b = 0;
        switch (f->type) {
        case F_STRING:
            set_string(c, f, f->def, f->path, NULL);
            break;
        case F_INT:
            vx_parse_ll(f->def, f->min, f->max, &v);
            set_int(c, f, v, f->path, NULL);
            break;
        case F_BOOL:
            parse_bool(f->def, &b);
            *(int *)((char *)c + f->offset) = b;
            break;
        case F_LIST:
        case F_MAP:
            break;
        }
    }
}

/* Finds "a.b" in the parsed file; the section object must exist. */
static struct json_object *lookup(struct json_object *root, const char *path)
{
    char sect[64];
    const char *dot = strchr(path, '.');
    struct json_object *s, *v;
    if (!dot)
        return json_object_object_get_ex(root, path, &v) ? v : NULL;
    if ((size_t)(dot - path) >= sizeof(sect))
        return NULL;
    memcpy(sect, path, (size_t)(dot - path));
    sect[dot - path] = '\0';
    if (!json_object_object_get_ex(root, sect, &s) || !json_object_is_type(s, json_type_object))
        return NULL;
    return json_object_object_get_ex(s, dot + 1, &v) ? v : NULL;
}

static int known_key(const char *sect, const char *key)
{
    char path[160];
    if (sect)
        snprintf(path, sizeof(path), "%s.%s", sect, key);
    else
        snprintf(path, sizeof(path), "%s", key);
    for (size_t i = 0; i < VX_ARRAY_LEN(fields); i++)
        if (strcmp(fields[i].path, path) == 0)
            return 1;
    return 0;
}

static int is_section(const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < VX_ARRAY_LEN(fields); i++)
        if (strncmp(fields[i].path, key, n) == 0 && fields[i].path[n] == '.')
            return 1;
    return 0;
}

static int check_unknown_keys(struct json_object *root, const char *file, struct vx_err *e)
{
    json_object_object_foreach(root, key, val)
    {
        if (is_section(key)) {
            if (!json_object_is_type(val, json_type_object))
                return vx_err_set(e, VX_ECONFIG, "%s: %s: must be an object", file, key);
            json_object_object_foreach(val, k2, v2)
            {
                (void)v2;
                if (!known_key(key, k2))
                    return vx_err_set(e, VX_ECONFIG, "%s: unknown field '%s.%s'", file, key, k2);
            }
        } else if (!known_key(NULL, key)) {
            return vx_err_set(e, VX_ECONFIG, "%s: unknown field '%s'", file, key);
        }
    }
    return 0;
}

static int apply_json(struct vx_config *c, const struct field *f, struct json_object *v,
                      struct vx_err *e)
{
    switch (f->type) {
    case F_STRING:
        if (!json_object_is_type(v, json_type_string))
            return vx_err_set(e, VX_ECONFIG, "%s: must be a string", f->path);
        return set_string(c, f, json_object_get_string(v), f->path, e);
    case F_INT:
        if (!json_object_is_type(v, json_type_int))
            return vx_err_set(e, VX_ECONFIG, "%s: must be an integer between %lld and %lld",
                              f->path, f->min, f->max);
        return set_int(c, f, json_object_get_int64(v), f->path, e);
    case F_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return vx_err_set(e, VX_ECONFIG, "%s: must be true or false", f->path);
        *(int *)((char *)c + f->offset) = json_object_get_boolean(v) ? 1 : 0;
        return 0;
    case F_LIST:
        if (!json_object_is_type(v, json_type_array))
            return vx_err_set(e, VX_ECONFIG, "%s: must be an array of strings", f->path);
        c->skill_ids_len = 0;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *it = json_object_array_get_idx(v, i);
            int rc;
            if (!json_object_is_type(it, json_type_string))
                return vx_err_set(e, VX_ECONFIG, "%s[%zu]: must be a string", f->path, i);
            rc = add_skill_id(c, json_object_get_string(it), f->path, e);
            if (rc)
                return rc;
        }
        return 0;
    case F_MAP:
        if (!json_object_is_type(v, json_type_object))
            return vx_err_set(e, VX_ECONFIG, "%s: must be an object of URL: file", f->path);
        c->cert_map_len = 0;
        {
            json_object_object_foreach(v, url, file)
            {
                int rc;
                if (!json_object_is_type(file, json_type_string))
                    return vx_err_set(e, VX_ECONFIG, "%s['%s']: must be a file path", f->path, url);
                rc = add_cert_map(c, url, json_object_get_string(file), f->path, e);
                if (rc)
                    return rc;
            }
        }
        return 0;
    }
    return 0;
}

int vx_config_load_file(struct vx_config *c, const char *path, struct vx_err *e)
{
    char *text = NULL;
    size_t len;
    int rc = vx_file_read(path, 1 << 20, &text, &len, e);
    if (rc == 0)
        rc = vx_config_load_text(c, path, text, len, e);
    free(text);
    return rc;
}

int vx_config_load_text(struct vx_config *c, const char *path, const char *text, size_t len,
                        struct vx_err *e)
{
    struct json_object *root = NULL;
    int rc;
    enum json_tokener_error jerr;

    if (len > INT32_MAX)
        return vx_err_set(e, VX_ECONFIG, "%s: too large", path);
    /* json-c forgives comments, trailing commas and data after the object: refuse them,
       and NULs in names and values, before it reads anything */
    if (vx_json_check(text, len, path, e) != 0) {
        if (e)
            e->code = VX_ECONFIG;
        return VX_ECONFIG;
    }
    {
        /* text need not end in a NUL: the tokener gets its length */
        struct json_tokener *tok = json_tokener_new();
        if (!tok)
            return vx_err_set(e, VX_ENOMEM, "%s: out of memory", path);
        root = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
    }
    if (!root || !json_object_is_type(root, json_type_object)) {
        rc = vx_err_set(e, VX_ECONFIG, "%s: not a JSON object (%s)", path,
                        root ? "wrong type" : json_tokener_error_desc(jerr));
        goto out;
    }
    rc = check_unknown_keys(root, path, e);
    if (rc)
        goto out;
    for (size_t i = 0; i < VX_ARRAY_LEN(fields); i++) {
        struct json_object *v = lookup(root, fields[i].path);
        if (!v)
            continue;
        rc = apply_json(c, &fields[i], v, e);
        if (rc) {
            char msg[sizeof(e->msg)];
            if (e) {
                memcpy(msg, e->msg, sizeof(msg));
                vx_err_set(e, rc, "%s: %s", path, msg);
            }
            goto out;
        }
    }
out:
    json_object_put(root);
    return rc;
}

static int apply_env_list(struct vx_config *c, const struct field *f, const char *v,
                          struct vx_err *e)
{
    char buf[4096];
    char *save = NULL, *tok;
    if (vx_strlcpy(buf, v, sizeof(buf)) != 0)
        return vx_err_set(e, VX_ECONFIG, "%s: too long", f->env);
    if (f->type == F_LIST)
        c->skill_ids_len = 0;
    else
        c->cert_map_len = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int rc;
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (f->type == F_LIST) {
            rc = add_skill_id(c, tok, f->env, e);
        } else {
            /* URL=FILE: the URL itself holds no '=' we accept, so split at the last one */
            char *eq = strrchr(tok, '=');
            if (!eq)
                return vx_err_set(e, VX_ECONFIG, "%s: entry '%s' is not URL=FILE", f->env, tok);
            *eq = '\0';
            rc = add_cert_map(c, tok, eq + 1, f->env, e);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int vx_config_load_env(struct vx_config *c, struct vx_err *e)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(fields); i++) {
        const struct field *f = &fields[i];
        const char *v = getenv(f->env);
        long long n;
        int b, rc = 0;
        if (!v)
            continue;
        switch (f->type) {
        case F_STRING:
            rc = set_string(c, f, v, f->env, e);
            break;
        case F_INT:
            if (vx_parse_ll(v, f->min, f->max, &n) != 0)
                rc = vx_err_set(e, VX_ECONFIG, "%s: must be an integer between %lld and %lld",
                                f->env, f->min, f->max);
            else
                rc = set_int(c, f, n, f->env, e);
            break;
        case F_BOOL:
            if (parse_bool(v, &b) != 0)
                rc = vx_err_set(e, VX_ECONFIG, "%s: must be true or false, not '%s'", f->env, v);
            else
                *(int *)((char *)c + f->offset) = b;
            break;
        case F_LIST:
        case F_MAP:
            rc = apply_env_list(c, f, v, e);
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int vx_config_is_loopback(const struct vx_config *c)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(c->listen_address, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, c->listen_address, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, c->listen_address, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* The provider's fields, when a provider is configured; vx_provider_new checks the rest
 * (the URL's shape, the region, the key file itself). */
static int provider_validate(const struct vx_config *c, struct vx_err *e)
{
    enum vx_paysign_alg alg;
    if (c->provider_live_url[0] && !c->provider_url[0])
        return vx_err_set(e, VX_ECONFIG,
                          "provider.live_url: needs provider.url (the sandbox's endpoints) too");
    if (!c->provider_url[0])
        return 0;
    if (strncmp(c->provider_url, "https://", 8) != 0 && strncmp(c->provider_url, "http://", 7) != 0)
        return vx_err_set(e, VX_ECONFIG, "provider.url: '%s' must start with https:// or http://",
                          c->provider_url);
    if (c->provider_live_url[0] && strncmp(c->provider_live_url, "https://", 8) != 0 &&
        strncmp(c->provider_live_url, "http://", 7) != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "provider.live_url: '%s' must start with https:// or http://",
                          c->provider_live_url);
    if (!c->provider_key_id[0])
        return vx_err_set(e, VX_ECONFIG, "provider.key_id: required with provider.url");
    if (!c->provider_private_key[0])
        return vx_err_set(e, VX_ECONFIG, "provider.private_key: required with provider.url");
    if (!c->provider_region[0])
        return vx_err_set(e, VX_ECONFIG, "provider.region: required with provider.url");
    if (vx_paysign_alg_parse(c->provider_algorithm, &alg) != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "provider.algorithm: '%s' is not AMZN-PAY-RSASSA-PSS-V2 or "
                          "AMZN-PAY-RSASSA-PSS",
                          c->provider_algorithm);
    return 0;
}

/* public_url is written into cards and pages: an absolute http(s) URL of printable ASCII
 * without a query or fragment (the page's path is appended to it). */
static int public_url_validate(const struct vx_config *c, struct vx_err *e)
{
    const char *u = c->public_url;
    size_t scheme = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
    if (!u[0])
        return 0;
    if (!scheme || !u[scheme] || u[scheme] == '/')
        return vx_err_set(e, VX_ECONFIG,
                          "public_url: '%s' must be https://HOST[:PORT][/PATH] (or http://)", u);
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#' ||
            *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return vx_err_set(e, VX_ECONFIG,
                              "public_url: '%s' holds a character a link cannot carry as it is "
                              "(space, control, non-ASCII, ?, #, quote, <, >, backslash)",
                              u);
    if (!c->paypage_secret[0])
        return vx_err_set(e, VX_ECONFIG,
                          "paypage.secret: required with public_url (a file with 32 bytes or "
                          "more)");
    return 0;
}

int vx_config_biller_policy(const struct vx_config *c, struct vx_sub_policy *p, struct vx_err *e)
{
    int64_t v;
    vx_sub_policy_default(p);
    if (vx_sub_retry_parse(c->biller_retry, p) != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "biller.retry_schedule: '%s' is not a list of 0 to %d waits such as "
                          "1h,1d,3d (s, m, h or d)",
                          c->biller_retry, VX_SUB_RETRIES);
    if (vx_clock_offset_parse(c->biller_past_due, &v) != 0 || v < 0)
        return vx_err_set(e, VX_ECONFIG, "biller.past_due_for: '%s' is not a wait such as 7d",
                          c->biller_past_due);
    p->grace_s = v;
    if (vx_clock_offset_parse(c->biller_permission_check, &v) != 0 || v < 1)
        return vx_err_set(e, VX_ECONFIG, "biller.permission_check: '%s' is not a wait such as 1h",
                          c->biller_permission_check);
    p->permission_s = v;
    p->settle_s = c->biller_settle_s;
    return 0;
}

int vx_config_validate(const struct vx_config *c, struct vx_err *e)
{
    struct vx_sub_policy policy;
    if (strcmp(c->payments, "provider") != 0 && strcmp(c->payments, "off") != 0)
        return vx_err_set(e, VX_ECONFIG, "payments: '%s' is not provider or off", c->payments);
    if (vx_config_biller_policy(c, &policy, e) != 0)
        return VX_ECONFIG;
    struct in_addr a4;
    struct in6_addr a6;
    enum vx_log_level lvl;

    if (strcmp(c->listen_address, "localhost") != 0 &&
        inet_pton(AF_INET, c->listen_address, &a4) != 1 &&
        inet_pton(AF_INET6, c->listen_address, &a6) != 1)
        return vx_err_set(e, VX_ECONFIG, "listen.address: '%s' is not an IP address",
                          c->listen_address);
    if (!!c->tls_cert[0] != !!c->tls_key[0])
        return vx_err_set(e, VX_ECONFIG, "tls.cert and tls.key: give both or neither");
    if (c->development && !vx_config_is_loopback(c))
        return vx_err_set(e, VX_ECONFIG,
                          "verify.development: refused because listen.address '%s' is not "
                          "loopback",
                          c->listen_address);
    if (!c->tls_cert[0] && !vx_config_is_loopback(c))
        return vx_err_set(e, VX_ECONFIG,
                          "tls.cert: required when listening on '%s' (plain HTTP is allowed on "
                          "loopback only)",
                          c->listen_address);
    if (!c->development && c->skill_ids_len == 0)
        return vx_err_set(e, VX_ECONFIG,
                          "verify.skill_ids: at least one skill ID is required outside "
                          "development mode");
    if (vx_log_level_parse(c->log_level, &lvl) != 0)
        return vx_err_set(e, VX_ECONFIG, "log.level: '%s' is not debug, info, warn or error",
                          c->log_level);
    if (strncmp(c->redis_url, "redis://", 8) != 0 && strncmp(c->redis_url, "unix://", 7) != 0)
        return vx_err_set(e, VX_ECONFIG, "redis.url: '%s' must start with redis:// or unix://",
                          c->redis_url);
    if (strcmp(c->jwt_algorithm, "HS256") != 0 && strcmp(c->jwt_algorithm, "RS256") != 0 &&
        strcmp(c->jwt_algorithm, "ES256") != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "merchant.jwt_algorithm: '%s' is not HS256, RS256 or ES256",
                          c->jwt_algorithm);
    if (c->demo_id[0] && !vx_merchant_id_ok(c->demo_id))
        return vx_err_set(e, VX_ECONFIG, "merchant.demo_id: '%s' is not 1 to 64 of A-Z a-z 0-9 _ -",
                          c->demo_id);
    if (public_url_validate(c, e) != 0)
        return VX_ECONFIG;
    return provider_validate(c, e);
}

int vx_config_skill_allowed(const struct vx_config *c, const char *id)
{
    if (!id)
        return 0;
    for (size_t i = 0; i < c->skill_ids_len; i++)
        if (strcmp(c->skill_ids[i], id) == 0)
            return 1;
    return 0;
}

void vx_config_describe(FILE *out)
{
    fprintf(out, "%-28s %-30s %-26s %s\n", "field", "environment", "default", "meaning");
    for (size_t i = 0; i < VX_ARRAY_LEN(fields); i++)
        fprintf(out, "%-28s %-30s %-26s %s\n", fields[i].path, fields[i].env,
                *fields[i].def ? fields[i].def : "-", fields[i].help);
}
