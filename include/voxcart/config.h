/*
 * Configuration: one JSON file (voxcartd -c FILE), every field overridable by an
 * environment variable, defaults good enough to start with neither. The table of
 * fields in config.c is the single description of both forms; `voxcartd
 * --help-config` prints it.
 */
#ifndef VOXCART_CONFIG_H
#define VOXCART_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "voxcart/common.h"
#include "voxcart/certs.h"

#define VX_MAX_SKILL_IDS 32
#define VX_MAX_CERT_MAP  16

struct vx_config {
    char listen_address[64];
    int listen_port;
    int listen_share_port; /* let other processes bind listen.port too (SO_REUSEPORT) */
    char tls_cert[512];
    char tls_key[512];
    int threads; /* 0 = one per core */

    char redis_url[256];
    int redis_timeout_ms;

    int development; /* skip the signature check; loopback only */
    char ca_file[512];
    char ca_path[512];
    struct vx_cert_map_entry cert_map[VX_MAX_CERT_MAP];
    size_t cert_map_len;
    char cert_map_store[VX_MAX_CERT_MAP][2][512];
    char fetch_connect_to[300]; /* chain downloads: HOST:443:ADDR:PORT (mirrors, tests) */
    char fetch_ca_file[512];    /* chain downloads: CA file for that TLS connection */
    int timestamp_tolerance;    /* seconds, at most 150 */
    int replay_guard;           /* reject a request ID seen within the window */
    char skill_ids[VX_MAX_SKILL_IDS][128];
    size_t skill_ids_len;

    char log_level[16];
    char record_dir[512]; /* write verified requests + responses as fixtures; empty = off */
    char catalog[512];    /* merchant catalog file; empty = the built-in sample coffee shop */
    char models_dir[512]; /* interaction models + messages; empty = installed default */

    char payments[16]; /* "provider" or "off" */
    /* the payment provider's client (provider.h); an empty url means none is configured */
    char provider_url[512];
    char provider_key_id[128];
    char provider_private_key[512];
    char provider_live_url[512]; /* production shops: the live endpoints */
    char provider_live_key_id[128];
    char provider_live_private_key[512];
    char provider_region[16];
    char provider_algorithm[32];
    int provider_connect_timeout_ms;
    int provider_timeout_ms;
    int provider_pay_budget_ms;
    int provider_backoff_ms; /* first wait before a request is sent again, doubled */
    int janitor_interval_ms;
    /* the recurring biller (biller.h); interval 0 = not on this instance */
    int biller_interval_ms;
    int biller_lease_ms;
    int biller_rate, biller_burst; /* charges per second over all instances, and the burst */
    char biller_retry[128];        /* "1h,1d,3d,5d,7d" */
    char biller_past_due[24];      /* "7d" */
    char biller_permission_check[24];
    int biller_settle_s;
    char provider_notify_key[512];
    char provider_ca_file[512];

    /* the merchant API's bearer tokens (mtoken.h); an empty key file turns /v1 off */
    char jwt_algorithm[16]; /* HS256, RS256 or ES256: the only one accepted */
    char jwt_key[512];      /* HS256: the secret's file; RS256/ES256: the public key PEM */
    char jwt_issuer[128];
    char jwt_audience[128];
    int jwt_leeway;   /* seconds of clock skew allowed on exp and nbf */
    char demo_id[65]; /* merchant that owns the sample shop (imported at start); "" = none */
    int webhook_retry_window; /* seconds an event is retried before it is marked failed */
    int webhook_backoff_ms;   /* the first wait after a failed delivery, doubled each time */
    char openapi[512];        /* the OpenAPI document /v1/openapi.json serves; "" = the source's */
    char backoffice[512];     /* the page /backoffice serves; "" = the source's */

    /* how buyers' phones reach voxcartd ("https://shop.example.com"): the pay link's card sends
     * them to its page /pay/<token> first; "" = straight to the provider's page */
    char public_url[256];
    char paypage_secret[512]; /* file with the key of the page's tokens (32 bytes or more) */
};

/* Fills defaults. */
void vx_config_init(struct vx_config *c);
/* Loads a JSON file over the current values; unknown keys and bad values are errors naming the
 * field. */
int vx_config_load_file(struct vx_config *c, const char *path, struct vx_err *e);
/* The same for a file's text already in memory (len bytes; path names it in errors). */
int vx_config_load_text(struct vx_config *c, const char *path, const char *text, size_t len,
                        struct vx_err *e);
/* Applies VOXCART_* environment variables over the current values. */
int vx_config_load_env(struct vx_config *c, struct vx_err *e);
/* Cross-field checks (TLS pair complete, development only on loopback, ...). */
int vx_config_validate(const struct vx_config *c, struct vx_err *e);
/* The biller's settings (biller.*) as a policy (sub.h); VX_ECONFIG naming the field. */
struct vx_sub_policy;
int vx_config_biller_policy(const struct vx_config *c, struct vx_sub_policy *p, struct vx_err *e);
/* True when the listen address is a loopback address. */
int vx_config_is_loopback(const struct vx_config *c);
/* True when id is an allowed skill ID. */
int vx_config_skill_allowed(const struct vx_config *c, const char *id);
/* Writes the table of fields (JSON path, environment variable, default, meaning). */
void vx_config_describe(FILE *out);

#endif
