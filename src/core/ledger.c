/*
 * Order states (ledger.h). The table of allowed transitions is the whole
 * policy: whatever arrives twice finds the order already moved, its
 * compare-and-set fails, and nothing changes.
 */
#include "voxcart/ledger.h"
#include "voxcart/json.h"
#include "voxcart/response.h"

#include <string.h>

static const char *const names[VX_OS__COUNT] = {
#define XX(s) [VX_OS_##s] = #s,
    VX_ORDER_STATE_MAP(XX)
#undef XX
};

const char *vx_order_state_name(enum vx_order_state s)
{
    return (unsigned)s < VX_OS__COUNT ? names[s] : "?";
}

int vx_order_state_parse(const char *name, enum vx_order_state *out)
{
    for (int i = 0; name && i < VX_OS__COUNT; i++) {
        if (strcmp(names[i], name) == 0) {
            *out = (enum vx_order_state)i;
            return 0;
        }
    }
    return VX_ENOTFOUND;
}

#define B(s) (1u << VX_OS_##s)
static const unsigned next[VX_OS__COUNT] = {
    [VX_OS_CONFIRMED] = B(CHARGE_PENDING) | B(PAID) | B(DECLINED) | B(FAILED) | B(CANCELED),
    [VX_OS_CHARGE_PENDING] = B(PAID) | B(DECLINED) | B(FAILED) | B(CANCELED),
    /* a soft decline may be tried again with a new attempt */
    [VX_OS_DECLINED] = B(CHARGE_PENDING) | B(PAID) | B(CANCELED),
    [VX_OS_FAILED] = B(CHARGE_PENDING) | B(CANCELED),
    [VX_OS_PAID] = B(PARTIALLY_REFUNDED) | B(REFUNDED),
    [VX_OS_PARTIALLY_REFUNDED] = B(PARTIALLY_REFUNDED) | B(REFUNDED),
    [VX_OS_CANCELED] = 0,
    [VX_OS_REFUNDED] = 0,
};
#undef B

int vx_order_transition_ok(enum vx_order_state from, enum vx_order_state to)
{
    if ((unsigned)from >= VX_OS__COUNT || (unsigned)to >= VX_OS__COUNT)
        return 0;
    return (next[from] >> to) & 1u;
}

int vx_ledger_entry_json(int64_t at, const char *actor, const char *from, const char *to,
                         int64_t amount, const char *currency, int attempt, const char *ref,
                         struct vx_buf *out)
{
    int rc = vx_buf_appendf(out, "{\"at\":%lld,\"actor\":\"", (long long)at);
    rc |= vx_json_escape(out, actor, strlen(actor));
    rc |= vx_buf_appends(out, "\",\"from\":");
    if (from) {
        rc |= vx_buf_appends(out, "\"");
        rc |= vx_json_escape(out, from, strlen(from));
        rc |= vx_buf_appends(out, "\"");
    } else {
        rc |= vx_buf_appends(out, "null");
    }
    rc |= vx_buf_appends(out, ",\"to\":\"");
    rc |= vx_json_escape(out, to, strlen(to));
    rc |= vx_buf_appendf(out, "\",\"amount\":%lld,\"currency\":\"", (long long)amount);
    rc |= vx_json_escape(out, currency, strlen(currency));
    rc |= vx_buf_appendf(out, "\",\"attempt\":%d", attempt);
    if (ref) {
        rc |= vx_buf_appends(out, ",\"ref\":\"");
        rc |= vx_json_escape(out, ref, strlen(ref));
        rc |= vx_buf_appends(out, "\"");
    }
    rc |= vx_buf_appends(out, "}");
    return rc ? VX_ENOMEM : 0;
}
