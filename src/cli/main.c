/*
 * Entry point of the `voxcart` developer tool, built like git and curl: a table
 * of commands, each a name, a handler and a one-line summary, and a dispatcher
 * that answers --help, --version and `help CMD` before handing argv to the
 * command. The helpers every command uses for errors and input live here too,
 * so all commands word their messages alike: "voxcart: CMD: message".
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* One line per command, in the order `voxcart --help` lists them. */
static const struct cli_command commands[] = {
    {"devca", cli_cmd_devca, "create a development certificate authority for signing requests"},
    {"sign", cli_cmd_sign, "sign a request body like the voice platform, and optionally post it"},
    {"replay", cli_cmd_replay, "play conversation fixtures against voxcartd and check the answers"},
    {"model", cli_cmd_model, "check that models, dialog, catalog and messages agree"},
    {"token", cli_cmd_token, "mint a development token for the merchant API"},
};

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < VX_ARRAY_LEN(commands); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static void print_usage(FILE *f)
{
    fprintf(f, "usage: voxcart [--help] [--version] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < VX_ARRAY_LEN(commands); i++)
        fprintf(f, "   %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nSee 'voxcart help COMMAND' or 'voxcart COMMAND --help' for the options of a "
               "command.\n");
}

static void print_version(void)
{
    printf("voxcart %s (%s, libcurl %s)\n", VX_VERSION, OpenSSL_version(OPENSSL_VERSION),
           curl_version_info(CURLVERSION_NOW)->version);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "voxcart: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "voxcart: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nSee 'voxcart %s --help'.\n", cmd);
    return CLI_USAGE;
}

int cli_bad_option(const char *cmd, int c, int argc, char **argv)
{
    char shortopt[3] = {'-', (char)optopt, '\0'};
    const char *arg = shortopt;
    size_t n;

    /* A missing value can only be at the end of argv; an unknown long option has optopt 0 and
     * is the word getopt just stepped over. A short one is named by its letter, since argv may
     * hold a cluster such as -xk. */
    if (c == ':' && argc > 0 && strncmp(argv[argc - 1], "--", 2) == 0)
        arg = argv[argc - 1];
    else if (c != ':' && optopt == 0 && optind > 0 && optind <= argc)
        arg = argv[optind - 1];
    n = strcspn(arg, "=");
    if (c == ':')
        return cli_usage_error(cmd, "option '%.*s' needs a value", (int)n, arg);
    return cli_usage_error(cmd, "unknown option '%.*s'", (int)n, arg);
}

int cli_read_input(const char *path, size_t max, struct vx_buf *out, struct vx_err *e)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    const char *name = is_stdin ? "stdin" : path;
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (!f)
        return vx_err_set(e, errno == ENOENT ? VX_ENOTFOUND : VX_EIO, "cannot read '%s': %s", path,
                          strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > max) {
            rc = vx_err_set(e, VX_ERANGE, "'%s' is larger than %zu bytes", name, max);
            goto out;
        }
        if (vx_buf_append(out, chunk, n) != 0) {
            rc = vx_err_set(e, VX_ENOMEM, "out of memory reading '%s'", name);
            goto out;
        }
    }
    if (ferror(f))
        rc = vx_err_set(e, VX_EIO, "cannot read '%s': %s", name, strerror(errno));
    /* An empty input still yields a NUL-terminated buffer. */
    if (rc == 0 && !out->data && vx_buf_append(out, "", 0) != 0)
        rc = vx_err_set(e, VX_ENOMEM, "out of memory reading '%s'", name);
out:
    if (!is_stdin)
        fclose(f);
    return rc;
}

static int cmd_help(int argc, char **argv)
{
    const struct cli_command *c;
    char help[] = "--help";
    char *sub[3] = {NULL, help, NULL};

    if (argc < 2) {
        print_usage(stdout);
        return CLI_OK;
    }
    c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "voxcart: help: '%s' is not a voxcart command\nSee 'voxcart --help'.\n",
                argv[1]);
        return CLI_USAGE;
    }
    sub[0] = argv[1];
    return c->run(2, sub);
}

static int dispatch(int argc, char **argv)
{
    const struct cli_command *c;

    if (argc < 2) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        print_version();
        return CLI_OK;
    }
    if (strcmp(argv[1], "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (argv[1][0] == '-') {
        fprintf(stderr, "voxcart: unknown option '%s'\nSee 'voxcart --help'.\n", argv[1]);
        return CLI_USAGE;
    }
    c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "voxcart: '%s' is not a voxcart command\nSee 'voxcart --help'.\n", argv[1]);
        return CLI_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    int status;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "voxcart: cannot initialise libcurl\n");
        return CLI_FAIL;
    }
    status = dispatch(argc, argv);
    if (fflush(stdout) != 0 && status == CLI_OK) {
        fprintf(stderr, "voxcart: cannot write to stdout: %s\n", strerror(errno));
        status = CLI_FAIL;
    }
    curl_global_cleanup();
    return status;
}
