/*
 * voxcartd: reads the configuration (file, then environment, then flags),
 * checks it, connects the pieces and runs the HTTP server until SIGTERM.
 */
#include "server.h"
#include "record.h"

#include "voxcart/log.h"
#include "voxcart/store.h"

#include <curl/curl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: voxcartd [-c FILE] [options]\n"
            "\n"
            "The voxcart skill endpoint: POST /alexa, GET /healthz, GET /readyz, GET /metrics.\n"
            "\n"
            "options:\n"
            "  -c, --config FILE    JSON configuration file (see --help-config)\n"
            "  -l, --listen ADDR    listen address (default 127.0.0.1)\n"
            "  -p, --port N         listen port (default 8443)\n"
            "      --development    skip the signature check (loopback only)\n"
            "      --check          validate the configuration and exit\n"
            "      --help-config    list every configuration field and its variable\n"
            "  -V, --version        print the version\n"
            "  -h, --help           this text\n"
            "\n"
            "Every field can also be set with an environment variable (VOXCART_*); flags win\n"
            "over the environment, which wins over the file. Development mode also honours\n"
            "VOXCART_CLOCK_OFFSET (86400, +1d, -2h): the server's clock moved that far, to\n"
            "replay a recording \"a day later\" at once (voxcart replay --clock-offset), and\n"
            "VOXCART_CLOCK_FILE: a file holding such an offset, read again before every\n"
            "pass of the recurring biller, so a test can move the clock over billing cycles.\n");
}

/*
 * VOXCART_CLOCK_OFFSET moves the server's clock, so that a recording can be
 * replayed "a day later" at once. Only development mode honours it: a moved
 * clock in production would date orders wrongly and open the timestamp window
 * to stale requests.
 */
static int clock_offset_init(int development, struct vx_err *e)
{
    const char *env = getenv("VOXCART_CLOCK_OFFSET");
    int64_t off = 0;

    if (!env || !*env)
        return 0;
    if (!development)
        return vx_err_set(e, VX_ECONFIG,
                          "VOXCART_CLOCK_OFFSET: honoured only in development mode "
                          "(verify.development)");
    if (vx_clock_offset_parse(env, &off) != 0)
        return vx_err_set(e, VX_ECONFIG,
                          "VOXCART_CLOCK_OFFSET: must be seconds, or a number with s, m, h or d, "
                          "at most ten years (got '%s')",
                          env);
    vx_clock_set_offset(off);
    return 0;
}

/* A file voxcartd serves as it is; a missing one makes its route answer 404. */
static void load_page(const char *configured, const char *fallback, const char *route, char **out,
                      size_t *len)
{
    struct vx_err e;
    if (vx_file_read(*configured ? configured : fallback, 1 << 20, out, len, &e) != 0)
        vx_warn("main", "GET %s answers 404: %s", route, e.msg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"development", no_argument, NULL, 'D'},
                                         {"check", no_argument, NULL, 'K'},
                                         {"help-config", no_argument, NULL, 'H'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static struct server srv;
    const char *config_path = NULL, *listen = NULL, *port = NULL;
    int development = 0, check_only = 0, opt, code = 1;
    struct vx_store_config sc;
    enum vx_log_level lvl;
    struct vx_err e;
    long ncpu;

    opterr = 0; /* getopt would name the program by its path: the messages below name it */
    while ((opt = getopt_long(argc, argv, ":c:l:p:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'D':
            development = 1;
            break;
        case 'K':
            check_only = 1;
            break;
        case 'H':
            vx_config_describe(stdout);
            return 0;
        case 'V':
            printf("voxcartd %s\n", VX_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "voxcartd: option '%s' needs a value\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        default:
            /* a short option is named by its letter: it may sit inside a group like -Vx */
            if (optopt)
                fprintf(stderr, "voxcartd: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "voxcartd: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "voxcartd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    vx_err_clear(&e);
    vx_config_init(&srv.cfg);
    if (config_path && vx_config_load_file(&srv.cfg, config_path, &e) != 0)
        goto fail;
    if (vx_config_load_env(&srv.cfg, &e) != 0)
        goto fail;
    if (listen && vx_strlcpy(srv.cfg.listen_address, listen, sizeof(srv.cfg.listen_address))) {
        vx_err_set(&e, VX_ECONFIG, "--listen: too long");
        goto fail;
    }
    if (port) {
        long long v;
        if (vx_parse_ll(port, 1, 65535, &v) != 0) {
            vx_err_set(&e, VX_ECONFIG, "--port: '%s' is not a port number", port);
            goto fail;
        }
        srv.cfg.listen_port = (int)v;
    }
    if (development)
        srv.cfg.development = 1;
    if (vx_config_validate(&srv.cfg, &e) != 0)
        goto fail;
    if (clock_offset_init(srv.cfg.development, &e) != 0)
        goto fail;
    vx_log_level_parse(srv.cfg.log_level, &lvl);
    vx_log_set_level(lvl);

    /*
     * Keep freed memory for the next requests instead of handing it back to the
     * kernel after each burst: trimming a worker's heap on every request costs
     * page faults and TLB shootdowns on the other cores.
     */
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* workers never wait on Redis (http.c), so one per core keeps the cores busy */
    srv.threads = srv.cfg.threads > 0 ? (unsigned)srv.cfg.threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    sc.url = srv.cfg.redis_url;
    sc.timeout_ms = srv.cfg.redis_timeout_ms;
    if (vx_store_init(&sc, &e) != 0)
        goto fail;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (skill_init(&srv, &e) != 0)
        goto fail;
    if (srv.cfg.jwt_key[0] &&
        vx_mtoken_keys_load(&srv.mkeys, srv.cfg.jwt_algorithm, srv.cfg.jwt_key, srv.cfg.jwt_issuer,
                            srv.cfg.jwt_audience, srv.cfg.jwt_leeway, &e) != 0)
        goto fail;
    /* the document of /v1 and the back-office page, served as they are in the repository */
    load_page(srv.cfg.openapi, VX_SOURCE_DIR "/openapi/merchant-v1.json", "/v1/openapi.json",
              &srv.openapi, &srv.openapi_len);
    load_page(srv.cfg.backoffice, VX_SOURCE_DIR "/backoffice/index.html", "/backoffice",
              &srv.backoffice, &srv.backoffice_len);
    if (check_only) {
        printf("voxcartd: configuration ok\n");
        skill_release(&srv);
        curl_global_cleanup();
        return 0;
    }
    if (srv.cfg.development)
        vx_warn("main",
                "DEVELOPMENT MODE: request signatures are NOT checked; listening on "
                "loopback %s only",
                srv.cfg.listen_address);
    if (vx_clock_offset())
        vx_warn("main",
                "CLOCK MOVED: requests, orders and recordings see now %+lld s (development only)",
                (long long)vx_clock_offset());
    if (srv.cfg.skill_ids_len == 0)
        vx_warn("main", "no skill IDs configured: any skill ID is accepted (development only)");
    if (vx_store_ping(&e) != 0)
        vx_warn("main", "redis is not reachable yet (%s): /readyz is red until it is", e.msg);
    else if (voice_catalog_import(&srv, &e) != 0)
        vx_warn("main", "the catalog was not imported as the demo shop: %s", e.msg);
    if (!srv.mkeys.key)
        vx_info("main", "merchant API off: no merchant.jwt_key (every /v1 call answers 401)");
    vx_info("main", "voxcartd %s starting", VX_VERSION);
    janitor_start(&srv);
    biller_start(&srv);
    code = http_run(&srv);
    biller_stop();
    janitor_stop();
    vx_mtoken_keys_release(&srv.mkeys);
    free(srv.openapi);
    free(srv.backoffice);
    skill_release(&srv);
    vx_store_shutdown();
    curl_global_cleanup();
    return code;
fail:
    fprintf(stderr, "voxcartd: %s\n", e.msg);
    return 1;
}
