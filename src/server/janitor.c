/*
 * The payment janitor's thread in voxcartd (voxcart/janitor.h does the work):
 * a pass every janitor.interval_ms while payments are on. Not a worker, so its
 * blocking store and provider calls stall no request.
 */
#include "record.h"
#include "server.h"

#include "voxcart/fsm.h"
#include "voxcart/janitor.h"
#include "voxcart/log.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int running, stopping, woken;

static void *janitor_main(void *arg)
{
    struct server *s = arg;
    int interval = s->cfg.janitor_interval_ms;
    int retry_s = interval / 1000 > 0 ? interval / 1000 : 1;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        struct timespec until;
        struct vx_janitor_stats st;
        char store[128];
        /* woken by a notification: everything pending, not only what is due */
        int64_t upto = woken ? vx_now() + 86400 : vx_now();
        woken = 0;
        pthread_mutex_unlock(&mu);
        vx_fsm_store_name(s->fsm, store, sizeof(store));
        if (vx_janitor_pass(s->provider, s->live, store[0] ? store : NULL, upto, retry_s,
                            record_approval, s, &st) == 0 &&
            st.seen > 0)
            vx_info("janitor", "%zu pending orders looked at: %zu settled, %zu waiting, %zu failed",
                    st.seen, st.settled, st.waiting, st.failed);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval / 1000;
        until.tv_nsec += (long)(interval % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&mu);
        while (!stopping && !woken && pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

void janitor_start(struct server *s)
{
    if (!s->provider || strcmp(s->cfg.payments, "provider") != 0 || s->cfg.janitor_interval_ms <= 0)
        return;
    stopping = 0;
    if (pthread_create(&thread, NULL, janitor_main, s) == 0) {
        running = 1;
        vx_info("janitor", "settling pending payments every %d ms", s->cfg.janitor_interval_ms);
    } else {
        vx_error("janitor", "cannot start its thread: pending payments wait for another instance");
    }
}

void janitor_wake(void)
{
    pthread_mutex_lock(&mu);
    woken = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void janitor_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    running = 0;
}
