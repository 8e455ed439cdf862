/*
 * The payment janitor's thread in voxcartd (voxcart/janitor.h does the work):
 * a pass every janitor.interval_ms while payments are on (periodic.c), and at
 * once when a provider's notification comes.
 */
#include "record.h"
#include "server.h"

#include "voxcart/fsm.h"
#include "voxcart/janitor.h"
#include "voxcart/log.h"
#include "voxcart/pay.h"

#include <string.h>

static struct periodic janitor = PERIODIC_INIT;

/* What an order came to, to its merchant (the event written unless there already). */
static void told(const struct vx_pay_outcome *o, void *arg)
{
    order_told(arg, o);
}

static void janitor_pass(struct server *s, int woken, void *ctx)
{
    struct vx_janitor_stats st;
    char store[128];
    int retry_s = s->cfg.janitor_interval_ms / 1000 > 0 ? s->cfg.janitor_interval_ms / 1000 : 1;
    /* woken by a notification: everything pending, not only what is due */
    int64_t upto = woken ? vx_now() + 86400 : vx_now();
    (void)ctx;
    vx_fsm_store_name(s->fsm, store, sizeof(store));
    if (vx_janitor_pass(s->provider, s->live, store[0] ? store : NULL, upto, retry_s,
                        record_approval, told, s, &st) == 0 &&
        st.seen > 0)
        vx_info("janitor", "%zu pending orders looked at: %zu settled, %zu waiting, %zu failed",
                st.seen, st.settled, st.waiting, st.failed);
}

void janitor_start(struct server *s)
{
    if (!s->provider || strcmp(s->cfg.payments, "provider") != 0 || s->cfg.janitor_interval_ms <= 0)
        return;
    janitor.name = "janitor";
    janitor.interval_ms = s->cfg.janitor_interval_ms;
    janitor.pass = janitor_pass;
    janitor.server = s;
    if (periodic_start(&janitor) == 0)
        vx_info("janitor", "settling pending payments every %d ms", s->cfg.janitor_interval_ms);
    else
        vx_error("janitor", "pending payments wait for another instance");
}

void janitor_wake(void)
{
    periodic_wake(&janitor);
}

void janitor_stop(void)
{
    periodic_stop(&janitor);
}
