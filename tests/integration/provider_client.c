/*
 * it_provider_client: runs one provider call blocking (vx_provider_run) and
 * prints what came back, one key=value per line, for tests/e2e/test_provider.sh.
 *
 *   it_provider_client [options] CALL ARGS...
 *     --url URL --key-id ID --key PEM [--region R] [--v1] [--ca FILE]
 *     [--backoff-ms N] [--retries N] [--timeout-ms N] [--clock-offset SECONDS]
 *     [--simulate CODE]
 *   calls:
 *     charge-create KEY PERMISSION AMOUNT CURRENCY capture|authorize
 *     charge-get ID | charge-capture KEY ID AMOUNT CURRENCY | charge-cancel ID
 *     refund-create KEY CHARGE AMOUNT CURRENCY | refund-get ID
 *     permission-get ID | permission-close ID
 *     session-create KEY OneTime|Recurring AMOUNT CURRENCY | session-get ID
 *     session-complete KEY ID AMOUNT CURRENCY
 *
 * Exit status 0 whenever the op completed (the outcome is in the output), 2 on
 * a usage or configuration error.
 */
#include "voxcart/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t clock_offset;

static int64_t offset_clock(void *ud)
{
    (void)ud;
    return vx_now() + clock_offset;
}

static void print_money(const char *name, const struct vx_money *m)
{
    char s[32];
    if (m->set && vx_money_format(m->amount, m->currency, s, sizeof(s)) == 0)
        printf("%s=%s %s\n", name, s, m->currency);
}

static void print_result(const struct vx_provider_op *op)
{
    const struct vx_provider_result *r = &op->res;
    printf("outcome=%s\nrc=%d\nattempts=%d\nstatus=%ld\n", vx_provider_outcome_name(op->outcome),
           op->rc, op->attempts, r->status);
    printf("id=%s\nstate=%s\nreason=%s\n", r->id, r->state, r->reason_code);
    if (r->charge_id[0])
        printf("charge_id=%s\n", r->charge_id);
    if (r->charge_permission_id[0])
        printf("charge_permission_id=%s\n", r->charge_permission_id);
    if (r->redirect_url[0])
        printf("redirect_url=%s\n", r->redirect_url);
    print_money("charge_amount", &r->charge_amount);
    print_money("capture_amount", &r->capture_amount);
    print_money("refunded_amount", &r->refunded_amount);
    print_money("refund_amount", &r->refund_amount);
    print_money("amount_balance", &r->amount_balance);
    if (op->err.msg[0])
        printf("error=%s\n", op->err.msg);
}

static int usage(void)
{
    fprintf(stderr, "usage: it_provider_client --url URL --key-id ID --key PEM [options] CALL "
                    "ARGS...\n");
    return 2;
}

static int64_t amount_arg(const char *s)
{
    long long v = -1;
    vx_parse_ll(s, 0, INT64_MAX, &v);
    return v;
}

/* Builds op for the call in argv; 0 when the call or its arguments are not known. */
static int build(struct vx_provider_op *op, struct vx_provider *p, int argc, char **argv)
{
    const char *c = argv[0];
#define NEED(n)                                                                                    \
    if (argc != (n) + 1)                                                                           \
    return 0
    if (strcmp(c, "charge-create") == 0) {
        struct vx_provider_charge_req r = {0};
        NEED(5);
        r.charge_permission_id = argv[2];
        r.amount = amount_arg(argv[3]);
        r.currency = argv[4];
        r.capture_now = strcmp(argv[5], "capture") == 0;
        r.can_handle_pending = 1;
        r.merchant_reference_id = argv[1];
        vx_provider_op_charge_create(op, p, argv[1], &r);
    } else if (strcmp(c, "charge-get") == 0) {
        NEED(1);
        vx_provider_op_charge_get(op, p, argv[1]);
    } else if (strcmp(c, "charge-capture") == 0) {
        NEED(4);
        vx_provider_op_charge_capture(op, p, argv[1], argv[2], amount_arg(argv[3]), argv[4], NULL);
    } else if (strcmp(c, "charge-cancel") == 0) {
        NEED(1);
        vx_provider_op_charge_cancel(op, p, argv[1], "test cancel");
    } else if (strcmp(c, "refund-create") == 0) {
        NEED(4);
        vx_provider_op_refund_create(op, p, argv[1], argv[2], amount_arg(argv[3]), argv[4], NULL);
    } else if (strcmp(c, "refund-get") == 0) {
        NEED(1);
        vx_provider_op_refund_get(op, p, argv[1]);
    } else if (strcmp(c, "permission-get") == 0) {
        NEED(1);
        vx_provider_op_permission_get(op, p, argv[1]);
    } else if (strcmp(c, "permission-close") == 0) {
        NEED(1);
        vx_provider_op_permission_close(op, p, argv[1], "test close", 1);
    } else if (strcmp(c, "session-create") == 0) {
        struct vx_provider_session_req r = {0};
        NEED(4);
        r.permission_type = argv[2];
        r.frequency_unit = "Month";
        r.frequency_value = 1;
        r.recurring_amount = amount_arg(argv[3]);
        r.payment_intent = "Authorize";
        r.amount = amount_arg(argv[3]);
        r.currency = argv[4];
        r.result_return_url = "http://127.0.0.1/done";
        vx_provider_op_session_create(op, p, argv[1], &r);
    } else if (strcmp(c, "session-get") == 0) {
        NEED(1);
        vx_provider_op_session_get(op, p, argv[1]);
    } else if (strcmp(c, "session-complete") == 0) {
        NEED(4);
        vx_provider_op_session_complete(op, p, argv[1], argv[2], amount_arg(argv[3]), argv[4]);
    } else {
        return 0;
    }
#undef NEED
    return 1;
}

int main(int argc, char **argv)
{
    struct vx_provider_config cfg = {0};
    struct vx_provider *p = NULL;
    struct vx_provider_op op;
    const char *simulate = NULL;
    struct vx_err e;
    long long n;
    int i;

    cfg.region = "eu";
    cfg.retries = -1;
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--v1") == 0) {
            cfg.alg = VX_PAYSIGN_V1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(o, "--url") == 0)
            cfg.url = v;
        else if (strcmp(o, "--key-id") == 0)
            cfg.key_id = v;
        else if (strcmp(o, "--key") == 0)
            cfg.private_key = v;
        else if (strcmp(o, "--region") == 0)
            cfg.region = v;
        else if (strcmp(o, "--ca") == 0)
            cfg.ca_file = v;
        else if (strcmp(o, "--simulate") == 0)
            simulate = v;
        else if (vx_parse_ll(v, -100000000, 100000000, &n) != 0)
            return usage();
        else if (strcmp(o, "--backoff-ms") == 0)
            cfg.backoff_ms = (int)n;
        else if (strcmp(o, "--retries") == 0)
            cfg.retries = (int)n;
        else if (strcmp(o, "--timeout-ms") == 0)
            cfg.timeout_ms = (int)n;
        else if (strcmp(o, "--clock-offset") == 0)
            clock_offset = n;
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    if (vx_provider_new(&cfg, &p, &e) != 0) {
        fprintf(stderr, "it_provider_client: %s\n", e.msg);
        return 2;
    }
    if (clock_offset)
        vx_provider_set_clock(p, offset_clock, NULL);
    if (!build(&op, p, argc - i, argv + i)) {
        vx_provider_free(p);
        return usage();
    }
    if (simulate)
        vx_provider_op_simulate(&op, simulate);
    vx_provider_run(&op);
    print_result(&op);
    vx_provider_op_release(&op);
    vx_provider_free(p);
    return 0;
}
