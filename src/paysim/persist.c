/*
 * Saving and loading the whole sandbox state as one JSON file (--state FILE,
 * POST /_sim/save, POST /_sim/load), so a developer's merchants, keys, buyers,
 * permissions, ledger and idempotency records survive a restart. Each object
 * kind is described once by a table of its fields (name, type, offset), and
 * one writer and one reader walk the tables: adding a field is one line. The
 * file is written to a temporary name and renamed, so a crash never leaves half
 * a file.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paysim.h"
#include "voxcart/json.h"

enum ftype { F_STR, F_I64, F_INT, F_MONEY, F_TEXT, F_U64, F_HEX32, F_ENV };

struct field {
    const char *name;
    enum ftype type;
    size_t off;
    size_t size;
};

#define FS(T, f)                                                                                   \
    {                                                                                              \
#f, F_STR, offsetof(T, f), sizeof(((T *)0)->f)                                             \
    }
#define FT(T, f, typ)                                                                              \
    {                                                                                              \
#f, typ, offsetof(T, f), 0                                                                 \
    }

static const struct field buyer_fields[] = {FS(struct ps_buyer, id), FS(struct ps_buyer, name),
                                            FS(struct ps_buyer, email),
                                            FS(struct ps_buyer, instrument)};

static const struct field perm_fields[] = {FS(struct ps_perm, id),
                                           FS(struct ps_perm, merchant),
                                           FS(struct ps_perm, buyer),
                                           FS(struct ps_perm, instrument),
                                           FT(struct ps_perm, recurring, F_INT),
                                           FS(struct ps_perm, freq_unit),
                                           FS(struct ps_perm, freq_value),
                                           FT(struct ps_perm, rec_amount, F_MONEY),
                                           FT(struct ps_perm, limit, F_MONEY),
                                           FS(struct ps_perm, state),
                                           FS(struct ps_perm, reason),
                                           FT(struct ps_perm, created, F_I64),
                                           FT(struct ps_perm, updated, F_I64),
                                           FT(struct ps_perm, expires, F_I64),
                                           FT(struct ps_perm, env, F_ENV)};

static const struct field charge_fields[] = {FS(struct ps_charge, id),
                                             FS(struct ps_charge, perm),
                                             FS(struct ps_charge, merchant),
                                             FT(struct ps_charge, amount, F_MONEY),
                                             FT(struct ps_charge, captured, F_I64),
                                             FT(struct ps_charge, refunded, F_I64),
                                             FS(struct ps_charge, state),
                                             FS(struct ps_charge, reason),
                                             FS(struct ps_charge, soft_descriptor),
                                             FT(struct ps_charge, metadata, F_TEXT),
                                             FT(struct ps_charge, capture_now, F_INT),
                                             FT(struct ps_charge, can_pending, F_INT),
                                             FT(struct ps_charge, created, F_I64),
                                             FT(struct ps_charge, updated, F_I64),
                                             FT(struct ps_charge, expires, F_I64),
                                             FT(struct ps_charge, settle_at, F_I64),
                                             FS(struct ps_charge, settle_to),
                                             FS(struct ps_charge, settle_reason),
                                             FT(struct ps_charge, env, F_ENV)};

static const struct field refund_fields[] = {FS(struct ps_refund, id),
                                             FS(struct ps_refund, charge),
                                             FS(struct ps_refund, merchant),
                                             FT(struct ps_refund, amount, F_MONEY),
                                             FS(struct ps_refund, state),
                                             FS(struct ps_refund, reason),
                                             FS(struct ps_refund, soft_descriptor),
                                             FT(struct ps_refund, created, F_I64),
                                             FT(struct ps_refund, updated, F_I64),
                                             FT(struct ps_refund, settle_at, F_I64),
                                             FS(struct ps_refund, settle_to),
                                             FS(struct ps_refund, settle_reason),
                                             FT(struct ps_refund, env, F_ENV)};

static const struct field session_fields[] = {FS(struct ps_session, id),
                                              FS(struct ps_session, merchant),
                                              FS(struct ps_session, perm_type),
                                              FS(struct ps_session, freq_unit),
                                              FS(struct ps_session, freq_value),
                                              FT(struct ps_session, rec_amount, F_MONEY),
                                              FS(struct ps_session, intent),
                                              FT(struct ps_session, amount, F_MONEY),
                                              FT(struct ps_session, metadata, F_TEXT),
                                              FS(struct ps_session, review_url),
                                              FS(struct ps_session, result_url),
                                              FS(struct ps_session, state),
                                              FS(struct ps_session, reason),
                                              FS(struct ps_session, buyer),
                                              FS(struct ps_session, instrument),
                                              FS(struct ps_session, perm),
                                              FS(struct ps_session, charge),
                                              FT(struct ps_session, approved, F_INT),
                                              FT(struct ps_session, created, F_I64),
                                              FT(struct ps_session, updated, F_I64),
                                              FT(struct ps_session, expires, F_I64),
                                              FT(struct ps_session, env, F_ENV)};

static const struct field idem_fields[] = {
    FS(struct ps_idem, merchant),     FS(struct ps_idem, key),
    FT(struct ps_idem, fp, F_HEX32),  FT(struct ps_idem, status, F_INT),
    FT(struct ps_idem, body, F_TEXT), FT(struct ps_idem, created, F_I64)};

static const struct field notice_fields[] = {FT(struct ps_notice, seq, F_U64),
                                             FS(struct ps_notice, merchant),
                                             FS(struct ps_notice, url),
                                             FS(struct ps_notice, object_type),
                                             FS(struct ps_notice, object_id),
                                             FS(struct ps_notice, perm_id),
                                             FS(struct ps_notice, state),
                                             FT(struct ps_notice, body, F_TEXT),
                                             FT(struct ps_notice, attempts, F_INT),
                                             FT(struct ps_notice, delivered, F_INT),
                                             FT(struct ps_notice, last_status, F_INT),
                                             FT(struct ps_notice, created, F_I64)};

static struct json_object *obj_to_json(const void *obj, const struct field *f, size_t n)
{
    struct json_object *o = json_object_new_object();
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)obj + f[i].off;
        struct json_object *v = NULL;
        switch (f[i].type) {
        case F_STR:
            v = json_object_new_string(p);
            break;
        case F_I64:
            v = json_object_new_int64(*(const int64_t *)p);
            break;
        case F_U64:
            v = json_object_new_int64((int64_t) * (const uint64_t *)p);
            break;
        case F_INT:
            v = json_object_new_int(*(const int *)p);
            break;
        case F_ENV:
            v = json_object_new_string(ps_env_name(*(const enum ps_env *)p));
            break;
        case F_MONEY: {
            const struct ps_money *m = (const struct ps_money *)p;
            v = json_object_new_object();
            json_object_object_add(v, "minor", json_object_new_int64(m->minor));
            json_object_object_add(v, "currencyCode", json_object_new_string(m->cur));
            break;
        }
        case F_TEXT:
            v = *(char *const *)p ? json_object_new_string(*(char *const *)p) : NULL;
            break;
        case F_HEX32: {
            char h[65];
            for (size_t k = 0; k < 32; k++) {
                h[2 * k] = hex[((const unsigned char *)p)[k] >> 4];
                h[2 * k + 1] = hex[((const unsigned char *)p)[k] & 15];
            }
            h[64] = '\0';
            v = json_object_new_string(h);
            break;
        }
        }
        json_object_object_add(o, f[i].name, v);
    }
    return o;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int obj_from_json(void *obj, const struct field *f, size_t n, struct json_object *o,
                         struct vx_err *e)
{
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)obj + f[i].off;
        struct json_object *v = vx_json_get(o, f[i].name);
        const char *s = v ? json_object_get_string(v) : NULL;
        switch (f[i].type) {
        case F_STR:
            vx_strlcpy(p, s ? s : "", f[i].size);
            break;
        case F_I64:
            *(int64_t *)p = v ? json_object_get_int64(v) : 0;
            break;
        case F_U64:
            *(uint64_t *)p = v ? (uint64_t)json_object_get_int64(v) : 0;
            break;
        case F_INT:
            *(int *)p = v ? json_object_get_int(v) : 0;
            break;
        case F_ENV:
            *(enum ps_env *)p = s && strcmp(s, "Live") == 0 ? PS_ENV_LIVE : PS_ENV_SANDBOX;
            break;
        case F_MONEY: {
            struct ps_money *m = (struct ps_money *)p;
            struct json_object *mi = vx_json_get(v, "minor");
            m->minor = mi ? json_object_get_int64(mi) : -1;
            vx_strlcpy(m->cur,
                       vx_json_get_str(v, "currencyCode") ? vx_json_get_str(v, "currencyCode") : "",
                       sizeof(m->cur));
            break;
        }
        case F_TEXT:
            *(char **)p = v && json_object_is_type(v, json_type_string) ? strdup(s) : NULL;
            break;
        case F_HEX32:
            if (!s || strlen(s) != 64)
                return vx_err_set(e, VX_EPARSE, "field '%s' is not 64 hex digits", f[i].name);
            for (size_t k = 0; k < 32; k++) {
                int hi = hexval(s[2 * k]), lo = hexval(s[2 * k + 1]);
                if (hi < 0 || lo < 0)
                    return vx_err_set(e, VX_EPARSE, "field '%s' is not hex", f[i].name);
                ((unsigned char *)p)[k] = (unsigned char)(hi * 16 + lo);
            }
            break;
        }
    }
    return 0;
}

#define SAVE_VEC(root, name, vec, fields)                                                          \
    do {                                                                                           \
        struct json_object *a_ = json_object_new_array();                                          \
        for (size_t i_ = 0; i_ < (vec).n; i_++)                                                    \
            json_object_array_add(a_, obj_to_json(&(vec).v[i_], fields, VX_ARRAY_LEN(fields)));    \
        json_object_object_add(root, name, a_);                                                    \
    } while (0)

#define LOAD_VEC(root, name, vec, fields, rc, e)                                                   \
    do {                                                                                           \
        struct json_object *a_ = vx_json_get(root, name);                                          \
        size_t n_ =                                                                                \
            a_ && json_object_is_type(a_, json_type_array) ? json_object_array_length(a_) : 0;     \
        for (size_t i_ = 0; (rc) == 0 && i_ < n_; i_++) {                                          \
            void *item_;                                                                           \
            if (PS_PUSH(vec, item_) != 0) {                                                        \
                (rc) = vx_err_set(e, VX_ENOMEM, "out of memory");                                  \
                break;                                                                             \
            }                                                                                      \
            (rc) = obj_from_json(item_, fields, VX_ARRAY_LEN(fields),                              \
                                 json_object_array_get_idx(a_, i_), e);                            \
        }                                                                                          \
    } while (0)

int ps_save(const char *path, struct vx_err *e)
{
    struct json_object *root = json_object_new_object(), *ms = json_object_new_array();
    char tmp[1100];
    const char *text;
    FILE *f;
    int rc = 0;

    for (size_t i = 0; i < ps.merchants.n; i++) {
        const struct ps_merchant *m = &ps.merchants.v[i];
        struct json_object *o = json_object_new_object(), *keys = json_object_new_array();
        json_object_object_add(o, "id", json_object_new_string(m->id));
        json_object_object_add(o, "notify_url", json_object_new_string(m->notify_url));
        for (size_t k = 0; k < m->nkeys; k++) {
            struct json_object *ko = json_object_new_object();
            json_object_object_add(ko, "id", json_object_new_string(m->keys[k].id));
            json_object_object_add(ko, "pem", json_object_new_string(m->keys[k].pem));
            json_object_array_add(keys, ko);
        }
        json_object_object_add(o, "keys", keys);
        json_object_array_add(ms, o);
    }
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "merchants", ms);
    SAVE_VEC(root, "buyers", ps.buyers, buyer_fields);
    SAVE_VEC(root, "chargePermissions", ps.perms, perm_fields);
    SAVE_VEC(root, "charges", ps.charges, charge_fields);
    SAVE_VEC(root, "refunds", ps.refunds, refund_fields);
    SAVE_VEC(root, "checkoutSessions", ps.sessions, session_fields);
    SAVE_VEC(root, "idempotency", ps.idem, idem_fields);
    SAVE_VEC(root, "notifications", ps.notices, notice_fields);
    json_object_object_add(root, "clockOffset", json_object_new_int64(ps.clock_offset));
    json_object_object_add(root, "clockFrozen", json_object_new_boolean(ps.clock_frozen));
    json_object_object_add(root, "frozenAt", json_object_new_int64(ps.frozen_at));
    json_object_object_add(root, "notificationSeq", json_object_new_int64((int64_t)ps.notice_seq));

    text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
    vx_snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) {
        rc = vx_err_set(e, VX_EIO, "cannot write '%s'", tmp);
    } else {
        int bad = fputs(text, f) < 0;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path) != 0)
            rc = vx_err_set(e, VX_EIO, "cannot write '%s'", path);
    }
    json_object_put(root);
    if (rc == 0)
        ps.dirty = 0;
    return rc;
}

int ps_load(const char *path, struct vx_err *e)
{
    struct json_object *root, *ms;
    char *text = NULL;
    size_t len;
    int rc;

    rc = vx_file_read(path, 256u * 1024 * 1024, &text, &len, e);
    if (rc)
        return rc == VX_EIO ? vx_err_set(e, VX_ENOTFOUND, "cannot read '%s'", path) : rc;
    root = json_tokener_parse(text);
    free(text);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return vx_err_set(e, VX_EPARSE, "'%s' is not a sandbox state file", path);
    }
    ps_state_release();
    memset(&ps, 0, sizeof(ps));
    ps.throttle_on = ps_cfg.throttle;
    ps_throttle_defaults();
    ms = vx_json_get(root, "merchants");
    for (size_t i = 0; rc == 0 && ms && i < json_object_array_length(ms); i++) {
        struct json_object *o = json_object_array_get_idx(ms, i), *keys = vx_json_get(o, "keys");
        struct ps_merchant *m;
        if (PS_PUSH(ps.merchants, m) != 0) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory");
            break;
        }
        vx_strlcpy(m->id, vx_json_get_str(o, "id") ? vx_json_get_str(o, "id") : "", sizeof(m->id));
        vx_strlcpy(m->notify_url,
                   vx_json_get_str(o, "notify_url") ? vx_json_get_str(o, "notify_url") : "",
                   sizeof(m->notify_url));
        for (size_t k = 0; rc == 0 && keys && k < json_object_array_length(keys); k++) {
            struct json_object *ko = json_object_array_get_idx(keys, k);
            const char *id = vx_json_get_str(ko, "id"), *pem = vx_json_get_str(ko, "pem");
            rc = ps_key_add(m, id ? id : "", pem ? pem : "", e);
        }
    }
    LOAD_VEC(root, "buyers", ps.buyers, buyer_fields, rc, e);
    LOAD_VEC(root, "chargePermissions", ps.perms, perm_fields, rc, e);
    LOAD_VEC(root, "charges", ps.charges, charge_fields, rc, e);
    LOAD_VEC(root, "refunds", ps.refunds, refund_fields, rc, e);
    LOAD_VEC(root, "checkoutSessions", ps.sessions, session_fields, rc, e);
    LOAD_VEC(root, "idempotency", ps.idem, idem_fields, rc, e);
    LOAD_VEC(root, "notifications", ps.notices, notice_fields, rc, e);
    {
        struct json_object *off = vx_json_get(root, "clockOffset"),
                           *seq = vx_json_get(root, "notificationSeq");
        ps.clock_offset = off ? json_object_get_int64(off) : 0;
        ps.clock_frozen = vx_json_get(root, "clockFrozen") &&
                          json_object_get_boolean(vx_json_get(root, "clockFrozen"));
        ps.frozen_at = vx_json_get(root, "frozenAt")
                           ? json_object_get_int64(vx_json_get(root, "frozenAt"))
                           : 0;
        ps.notice_seq = seq ? (uint64_t)json_object_get_int64(seq) : 0;
    }
    for (size_t i = 0; i < ps.notices.n; i++)
        ps.notices.v[i].next_ns = vx_mono_ns();
    json_object_put(root);
    if (rc) {
        struct vx_err inner = *e;
        ps_state_release();
        ps_state_init();
        return vx_err_set(e, rc, "'%s': %s", path, inner.msg);
    }
    ps.dirty = 0;
    return 0;
}
