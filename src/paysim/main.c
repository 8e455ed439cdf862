/*
 * voxcart-paysim: start-up and shutdown. Parses the options, loads the state
 * file, opens the listeners (plain HTTP on loopback, HTTPS with a certificate
 * such as `voxcart devca` makes), prints one line per listener that a script
 * can parse ("paysim: listening on http://127.0.0.1:PORT"), then runs the tick
 * thread (settlement on the sandbox clock, notification delivery, saving the
 * state when it changed) until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "paysim.h"
#include "voxcart/log.h"

struct ps_config ps_cfg;
char ps_base_url[256];

static const char usage[] =
    "usage: voxcart-paysim [options]\n"
    "\n"
    "A local payment sandbox that speaks the provider's v2 API (/v2/, /sandbox/v2/, /live/v2/):\n"
    "checkout sessions and their approval page, charge permissions, charges, refunds, signed\n"
    "requests, idempotency keys, limits, throttling, declines and faults on demand, a clock\n"
    "you can move, and signed notifications. Set it up through /_sim/ (see README).\n"
    "\n"
    "options:\n"
    "  -l, --listen ADDR        address to listen on (default 127.0.0.1; plain HTTP only on\n"
    "                           loopback)\n"
    "  -p, --port N             plain HTTP port; 0 picks a free one (default 0 when no\n"
    "                           --tls-port is given)\n"
    "  -s, --tls-port N         HTTPS port (0 picks one); needs --tls-cert and --tls-key, or "
    "--devca\n"
    "      --tls-cert FILE      PEM certificate for HTTPS\n"
    "      --tls-key FILE       PEM private key for HTTPS\n"
    "      --devca DIR          take server.pem and server.key from `voxcart devca --dir DIR`\n"
    "                           (and trust its root.pem for HTTPS notification URLs)\n"
    "      --state FILE         load the state from FILE at start (if it exists) and save it\n"
    "                           there when it changes and at exit\n"
    "      --notify-url URL     where notifications go when a merchant has no URL of its own\n"
    "      --base-url URL       how buyers reach this sandbox (approval page links); default\n"
    "                           the first listener\n"
    "      --throttle on|off    throttling per operation as the provider's table (default on)\n"
    "      --pending-seconds N  how long a pending charge stays pending (default 30)\n"
    "      --refund-seconds N   how long a refund stays RefundInitiated (default 5)\n"
    "      --date-window N      allowed distance of x-amz-pay-date from the clock (default 900)\n"
    "      --log-level LEVEL    debug, info, warn or error (default info)\n"
    "  -h, --help               show this help\n"
    "\n"
    "On start it prints, for each listener, a line such as\n"
    "  paysim: listening on http://127.0.0.1:43127\n";

enum {
    OPT_CERT = 256,
    OPT_KEY,
    OPT_DEVCA,
    OPT_STATE,
    OPT_NOTIFY,
    OPT_BASE,
    OPT_THROTTLE,
    OPT_PENDING,
    OPT_REFUND,
    OPT_WINDOW,
    OPT_LOG
};

static const struct option options[] = {
    {"listen", required_argument, NULL, 'l'},
    {"port", required_argument, NULL, 'p'},
    {"tls-port", required_argument, NULL, 's'},
    {"tls-cert", required_argument, NULL, OPT_CERT},
    {"tls-key", required_argument, NULL, OPT_KEY},
    {"devca", required_argument, NULL, OPT_DEVCA},
    {"state", required_argument, NULL, OPT_STATE},
    {"notify-url", required_argument, NULL, OPT_NOTIFY},
    {"base-url", required_argument, NULL, OPT_BASE},
    {"throttle", required_argument, NULL, OPT_THROTTLE},
    {"pending-seconds", required_argument, NULL, OPT_PENDING},
    {"refund-seconds", required_argument, NULL, OPT_REFUND},
    {"date-window", required_argument, NULL, OPT_WINDOW},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static volatile int stopping;

static int int_opt(const char *name, const char *v, long long min, long long max, int *out)
{
    long long n;
    if (vx_parse_ll(v, min, max, &n) != 0) {
        fprintf(stderr, "voxcart-paysim: --%s must be an integer from %lld to %lld\n", name, min,
                max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strcmp(addr, "localhost") == 0;
}

/* A listening socket on addr:port; *bound gets the port (useful for 0). */
static int open_listener(const char *addr, int port, int *bound)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, v6 = strchr(addr, ':') != NULL;

    memset(&ss, 0, sizeof(ss));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            return -1;
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, strcmp(addr, "localhost") == 0 ? "127.0.0.1" : addr, &a->sin_addr) !=
            1)
            return -1;
        len = sizeof(*a);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void *tick_main(void *arg)
{
    uint64_t last_save = vx_mono_ns();
    (void)arg;

    while (!stopping) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&ps_lock);
        ps_tick();
        if (ps_cfg.state_file && ps.dirty && vx_mono_ns() - last_save > 1000000000ull) {
            struct vx_err e = {0};
            if (ps_save(ps_cfg.state_file, &e) != 0)
                vx_warn("paysim", "%s", e.msg);
            last_save = vx_mono_ns();
        }
        pthread_mutex_unlock(&ps_lock);
        ps_notify_run();
    }
    return NULL;
}

static int parse_args(int argc, char **argv, int *port, int *tls_port, const char **devca)
{
    int c;

    while ((c = getopt_long(argc, argv, "l:p:s:h", options, NULL)) != -1) {
        switch (c) {
        case 'l':
            ps_cfg.listen = optarg;
            break;
        case 'p':
            if (int_opt("port", optarg, 0, 65535, port))
                return -1;
            break;
        case 's':
            if (int_opt("tls-port", optarg, 0, 65535, tls_port))
                return -1;
            break;
        case OPT_CERT:
            ps_cfg.tls_cert = optarg;
            break;
        case OPT_KEY:
            ps_cfg.tls_key = optarg;
            break;
        case OPT_DEVCA:
            *devca = optarg;
            break;
        case OPT_STATE:
            ps_cfg.state_file = optarg;
            break;
        case OPT_NOTIFY:
            ps_cfg.notify_url = optarg;
            break;
        case OPT_BASE:
            ps_cfg.base_url = optarg;
            break;
        case OPT_THROTTLE:
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "voxcart-paysim: --throttle must be on or off\n");
                return -1;
            }
            ps_cfg.throttle = strcmp(optarg, "on") == 0;
            break;
        case OPT_PENDING:
            if (int_opt("pending-seconds", optarg, 0, 86400, &ps_cfg.pending_seconds))
                return -1;
            break;
        case OPT_REFUND:
            if (int_opt("refund-seconds", optarg, 0, 86400, &ps_cfg.refund_seconds))
                return -1;
            break;
        case OPT_WINDOW:
            if (int_opt("date-window", optarg, 1, 86400 * 365, &ps_cfg.date_window))
                return -1;
            break;
        case OPT_LOG: {
            enum vx_log_level lvl;
            if (vx_log_level_parse(optarg, &lvl) != 0) {
                fprintf(stderr, "voxcart-paysim: --log-level must be debug, info, warn or error\n");
                return -1;
            }
            vx_log_set_level(lvl);
            break;
        }
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "voxcart-paysim: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int port = -1, tls_port = -1, bound, rc = 1, fd;
    const char *devca = NULL;
    static char ca_path[1024];
    char cert_path[1024], key_path[1024], *cert = NULL, *key = NULL;
    struct MHD_Daemon *plain = NULL, *tls = NULL;
    struct vx_err e = {0};
    pthread_t tick;
    sigset_t set;
    int sig;
    size_t len;

    ps_cfg.listen = "127.0.0.1";
    ps_cfg.throttle = 1;
    ps_cfg.date_window = 900;
    ps_cfg.pending_seconds = 30;
    ps_cfg.refund_seconds = 5;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &port, &tls_port, &devca) != 0)
        return 2;
    if (devca) {
        vx_snprintf(cert_path, sizeof(cert_path), "%s/server.pem", devca);
        vx_snprintf(key_path, sizeof(key_path), "%s/server.key", devca);
        ps_cfg.tls_cert = cert_path;
        ps_cfg.tls_key = key_path;
        vx_snprintf(ca_path, sizeof(ca_path), "%s/root.pem", devca);
        ps_cfg.notify_ca = ca_path; /* a merchant served with the same development CA */
    }
    if (tls_port >= 0 && (!ps_cfg.tls_cert || !ps_cfg.tls_key)) {
        fprintf(stderr, "voxcart-paysim: --tls-port needs --tls-cert and --tls-key (or --devca)\n");
        return 2;
    }
    if (tls_port < 0 && port < 0)
        port = 0;
    if (port >= 0 && !is_loopback(ps_cfg.listen)) {
        fprintf(stderr, "voxcart-paysim: plain HTTP is for loopback only; use --tls-port on %s\n",
                ps_cfg.listen);
        return 2;
    }

    ps_state_init();
    if (ps_cfg.state_file && access(ps_cfg.state_file, F_OK) == 0) {
        if (ps_load(ps_cfg.state_file, &e) != 0) {
            fprintf(stderr, "voxcart-paysim: %s\n", e.msg);
            return 1;
        }
        vx_info("paysim", "state loaded from %s", ps_cfg.state_file);
    }
    if (ps_notify_key_load(ps_cfg.state_file, &e) != 0) {
        fprintf(stderr, "voxcart-paysim: notification key: %s\n", e.msg);
        return 1;
    }

    /* signals go to sigwait below, not to the server threads */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (tls_port >= 0) {
        if (vx_file_read(ps_cfg.tls_cert, 1 << 20, &cert, &len, &e) != 0 ||
            vx_file_read(ps_cfg.tls_key, 1 << 20, &key, &len, &e) != 0) {
            fprintf(stderr, "voxcart-paysim: %s\n", e.msg);
            goto out;
        }
        fd = open_listener(ps_cfg.listen, tls_port, &bound);
        if (fd < 0 || !(tls = ps_http_start(fd, cert, key))) {
            fprintf(stderr, "voxcart-paysim: cannot listen on %s:%d (HTTPS): %s\n", ps_cfg.listen,
                    tls_port, strerror(errno));
            goto out;
        }
        printf("paysim: listening on https://%s:%d\n", ps_cfg.listen, bound);
        vx_snprintf(ps_base_url, sizeof(ps_base_url), "https://%s:%d", ps_cfg.listen, bound);
    }
    if (port >= 0) {
        fd = open_listener(ps_cfg.listen, port, &bound);
        if (fd < 0 || !(plain = ps_http_start(fd, NULL, NULL))) {
            fprintf(stderr, "voxcart-paysim: cannot listen on %s:%d: %s\n", ps_cfg.listen, port,
                    strerror(errno));
            goto out;
        }
        printf("paysim: listening on http://%s:%d\n", ps_cfg.listen, bound);
        if (!ps_base_url[0])
            vx_snprintf(ps_base_url, sizeof(ps_base_url), "http://%s:%d", ps_cfg.listen, bound);
    }
    if (ps_cfg.base_url)
        vx_strlcpy(ps_base_url, ps_cfg.base_url, sizeof(ps_base_url));

    if (pthread_create(&tick, NULL, tick_main, NULL) != 0) {
        fprintf(stderr, "voxcart-paysim: cannot start the tick thread\n");
        goto out;
    }
    sigdelset(&set, SIGPIPE);
    do {
        if (sigwait(&set, &sig) != 0)
            break;
    } while (sig != SIGTERM && sig != SIGINT);
    vx_info("paysim", "stopping");
    stopping = 1;
    pthread_join(tick, NULL);
    rc = 0;
out:
    if (plain)
        MHD_stop_daemon(plain);
    if (tls)
        MHD_stop_daemon(tls);
    if (ps_cfg.state_file && rc == 0 && ps_save(ps_cfg.state_file, &e) != 0) {
        fprintf(stderr, "voxcart-paysim: %s\n", e.msg);
        rc = 1;
    }
    ps_state_release();
    EVP_PKEY_free(ps_notify_key);
    free(cert);
    free(key);
    return rc;
}
