/*
 * `voxcart devca`: lays out the development certificate authority (root,
 * intermediate, request-signing leaf, chain file, TLS server certificate) with
 * vx_devca_create_ex, then says which files it made or kept and how to point
 * voxcartd and `voxcart sign` at them. Running it again is cheap and safe: it
 * keeps what is still good and remakes only what is missing or expired.
 */
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxcart/pki.h"

#define DEVCA_DEFAULT_DIR  "./devca"
#define DEVCA_DEFAULT_DAYS 365

static const char devca_usage[] =
    "usage: voxcart devca [--dir DIR] [--days N] [--force]\n"
    "\n"
    "Creates a development certificate authority for signing requests the way the voice\n"
    "platform does, and a TLS certificate for a local voxcartd. Existing files are kept\n"
    "unless --force is given; missing or expired ones are made again from what is there.\n"
    "\n"
    "options:\n"
    "  -d, --dir DIR    directory for the files (default " DEVCA_DEFAULT_DIR ")\n"
    "  -n, --days N     validity of the leaf certificates in days, 1 to 3650 (default 365);\n"
    "                   the intermediate gets five times as long, the root ten times\n"
    "  -f, --force      replace every file, the root included\n"
    "  -h, --help       show this help\n";

static const struct option devca_options[] = {
    {"dir", required_argument, NULL, 'd'},
    {"days", required_argument, NULL, 'n'},
    {"force", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct devca_line {
    unsigned bit;
    const char *files;
    const char *what;
};

static const struct devca_line devca_lines[] = {
    {VX_DEVCA_MADE_ROOT, VX_DEVCA_ROOT ", " VX_DEVCA_ROOT_KEY, "root CA: the trust anchor"},
    {VX_DEVCA_MADE_INTER, VX_DEVCA_INTER ", " VX_DEVCA_INTER_KEY, "intermediate CA"},
    {VX_DEVCA_MADE_SIGNING, VX_DEVCA_SIGNING ", " VX_DEVCA_SIGNING_KEY,
     "request signing, SAN echo-api.amazon.com"},
    {VX_DEVCA_MADE_CHAIN, VX_DEVCA_CHAIN,
     "signing + intermediate: what the certificate URL serves"},
    {VX_DEVCA_MADE_SERVER, VX_DEVCA_SERVER ", " VX_DEVCA_SERVER_KEY,
     "TLS for localhost, 127.0.0.1 and ::1"},
};

static void devca_report(const char *dir, const char *shown, unsigned made)
{
    printf("development CA in %s\n", dir);
    for (size_t i = 0; i < VX_ARRAY_LEN(devca_lines); i++) {
        const struct devca_line *l = &devca_lines[i];
        printf("  %-8s %-36s %s\n", (made & l->bit) ? "created" : "kept", l->files, l->what);
    }
    printf("\nFor voxcartd (environment variables; the config file fields in brackets):\n"
           "  trust the root:        VOXCART_CA_FILE=%s/%s  [verify.ca_file]\n"
           "  map the cert URL:      VOXCART_CERT_MAP=%s=%s/%s  [verify.cert_map]\n"
           "  serve TLS:             VOXCART_TLS_CERT=%s/%s  [tls.cert]\n"
           "                         VOXCART_TLS_KEY=%s/%s  [tls.key]\n"
           "\nThen sign requests:\n"
           "  voxcart sign --dir %s --restamp --url https://localhost:8443/alexa request.json\n",
           dir, VX_DEVCA_ROOT, VX_DEVCA_CERT_URL, dir, VX_DEVCA_CHAIN, dir, VX_DEVCA_SERVER, dir,
           VX_DEVCA_SERVER_KEY, shown);
}

int cli_cmd_devca(int argc, char **argv)
{
    const char *dir = DEVCA_DEFAULT_DIR;
    char abs[PATH_MAX];
    long long days = DEVCA_DEFAULT_DAYS;
    struct vx_err e = {0};
    unsigned made = 0;
    int force = 0, c;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:n:fh", devca_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            if (vx_parse_ll(optarg, 1, 3650, &days) != 0)
                return cli_usage_error("devca", "days '%s' is not a whole number from 1 to 3650",
                                       optarg);
            break;
        case 'f':
            force = 1;
            break;
        case 'h':
            fputs(devca_usage, stdout);
            return CLI_OK;
        default:
            return cli_bad_option("devca", c, argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("devca", "unexpected argument '%s'", argv[optind]);
    if (vx_devca_create_ex(dir, (int)days, force, &made, &e) != 0) {
        cli_error("devca", "%s", e.msg);
        return CLI_FAIL;
    }
    devca_report(realpath(dir, abs) ? abs : dir, dir, made);
    return CLI_OK;
}
