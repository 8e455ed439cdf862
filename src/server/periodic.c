/*
 * A thread that runs a pass every interval (periodic.h in server.h): the payment
 * janitor's and the recurring biller's. Neither is a worker, so their blocking
 * store and provider calls stall no request. A wake runs the next pass at once;
 * stop waits for the pass under way to finish.
 */
#include "server.h"

#include "voxcart/log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec until;
        int woken = p->woken;
        p->woken = 0;
        pthread_mutex_unlock(&p->mu);
        p->pass(p->server, woken, p->ctx);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += p->interval_ms / 1000;
        until.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&p->mu);
        while (!p->stopping && !p->woken &&
               pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int periodic_start(struct periodic *p)
{
    p->stopping = p->woken = 0;
    if (pthread_create(&p->thread, NULL, periodic_main, p) != 0) {
        vx_error(p->name, "cannot start its thread");
        return -1;
    }
    p->running = 1;
    return 0;
}

void periodic_wake(struct periodic *p)
{
    pthread_mutex_lock(&p->mu);
    p->woken = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void periodic_stop(struct periodic *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = 0;
}
