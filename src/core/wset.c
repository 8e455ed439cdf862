/*
 * Write sets (wset.h): pure bookkeeping. The store turns one into its Lua
 * program; nothing here knows Redis.
 */
#include "voxcart/wset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *const kind_names[] = {
    [VX_W_CONV] = "conv",
    [VX_W_PROFILE_SET] = "profile_set",
    [VX_W_PROFILE_DEL] = "profile_del",
    [VX_W_ORDER_CREATE] = "order_create",
    [VX_W_ORDER_SET] = "order_set",
    [VX_W_ORDER_CAS] = "order_cas",
    [VX_W_LEDGER] = "ledger",
    [VX_W_IDEM] = "idem",
    [VX_W_SCHEDULE] = "schedule",
    [VX_W_ORDER_GUARD] = "order_guard",
    [VX_W_SUB_CREATE] = "sub_create",
    [VX_W_SUB_SET] = "sub_set",
    [VX_W_SUB_GUARD] = "sub_guard",
};

const char *vx_wop_kind_name(enum vx_wop_kind kind)
{
    return (unsigned)kind < VX_ARRAY_LEN(kind_names) ? kind_names[kind] : "?";
}

uint64_t vx_wset_tag(void)
{
    uint64_t t = 0;
    while (t == 0) {
        if (getrandom(&t, sizeof(t), 0) != (ssize_t)sizeof(t)) {
            /* no entropy source: the monotonic clock mixed with the address space still
             * never repeats within one process; good enough to keep serving */
            t = vx_mono_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&t;
        }
    }
    return t;
}

void vx_wset_init(struct vx_wset *w, const char *skill, const char *user)
{
    memset(w, 0, sizeof(*w));
    if (vx_strlcpy(w->skill, skill ? skill : "", sizeof(w->skill)) != 0 ||
        vx_strlcpy(w->user, user ? user : "", sizeof(w->user)) != 0)
        w->overflow = 1;
    w->tag = vx_wset_tag();
}

void vx_wset_release(struct vx_wset *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->ops[i].a);
        free(w->ops[i].b);
        free(w->ops[i].c);
    }
    w->n = 0;
}

static char *dup(struct vx_wset *w, const char *s)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        w->overflow = 1;
    return d;
}

static void add(struct vx_wset *w, enum vx_wop_kind kind, const char *a, const char *b,
                const char *c, int64_t n)
{
    struct vx_wop *op;
    if (w->n >= VX_WSET_MAX) {
        w->overflow = 1;
        return;
    }
    op = &w->ops[w->n++];
    op->kind = kind;
    op->a = dup(w, a);
    op->b = dup(w, b);
    op->c = dup(w, c);
    op->n = n;
}

void vx_wset_conv(struct vx_wset *w, uint64_t expect, const char *state_json, int ttl)
{
    w->expect = expect;
    add(w, VX_W_CONV, state_json ? state_json : "{}", NULL, NULL, ttl > 0 ? ttl : 3600);
}

void vx_wset_profile_set(struct vx_wset *w, const char *member, const char *json_value)
{
    add(w, VX_W_PROFILE_SET, member, json_value ? json_value : "null", NULL, 0);
}

void vx_wset_profile_del(struct vx_wset *w, const char *member)
{
    add(w, VX_W_PROFILE_DEL, member, NULL, NULL, 0);
}

void vx_wset_order_create(struct vx_wset *w, const char *id, const char *doc_json)
{
    add(w, VX_W_ORDER_CREATE, id, doc_json, NULL, 0);
}

void vx_wset_order_set(struct vx_wset *w, const char *id, const char *member,
                       const char *json_value)
{
    add(w, VX_W_ORDER_SET, id, member, json_value ? json_value : "null", 0);
}

void vx_wset_order_cas(struct vx_wset *w, const char *id, const char *from, const char *to)
{
    add(w, VX_W_ORDER_CAS, id, from, to, 0);
}

void vx_wset_order_guard(struct vx_wset *w, const char *id, const char *member,
                         const char *json_value)
{
    add(w, VX_W_ORDER_GUARD, id, member, json_value ? json_value : "", 0);
}

void vx_wset_sub_create(struct vx_wset *w, const char *id, const char *doc_json)
{
    add(w, VX_W_SUB_CREATE, id, doc_json, NULL, 0);
}

void vx_wset_sub_set(struct vx_wset *w, const char *id, const char *member, const char *json_value)
{
    add(w, VX_W_SUB_SET, id, member, json_value ? json_value : "null", 0);
}

void vx_wset_sub_guard(struct vx_wset *w, const char *id, const char *member,
                       const char *json_value)
{
    add(w, VX_W_SUB_GUARD, id, member, json_value ? json_value : "", 0);
}

void vx_wset_ledger(struct vx_wset *w, const char *order_id, const char *entry_json)
{
    add(w, VX_W_LEDGER, order_id, entry_json, NULL, 0);
}

void vx_wset_idem(struct vx_wset *w, const char *key, const char *value, int ttl)
{
    add(w, VX_W_IDEM, key, value ? value : "1", NULL, ttl > 0 ? ttl : 0);
}

void vx_wset_schedule(struct vx_wset *w, const char *name, const char *member, int64_t due)
{
    add(w, VX_W_SCHEDULE, name, member, NULL, due);
}

const struct vx_wop *vx_wset_find(const struct vx_wset *w, enum vx_wop_kind kind, size_t nth)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->ops[i].kind == kind && nth-- == 0)
            return &w->ops[i];
    }
    return NULL;
}
