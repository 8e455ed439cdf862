/*
 * The `voxcart` developer tool: one dispatcher (main.c) with a table of
 * commands, one file per command, and the helpers commands share (error
 * reporting, option errors, reading a file or stdin, request signing).
 *
 * To add a command: write src/cli/NAME.c with `int cli_cmd_NAME(int argc, char **argv)`,
 * declare it below, and add one line to the table in main.c. A handler gets
 * argv[0] == its name, parses its options with getopt_long, answers --help
 * itself (that is also what `voxcart help NAME` runs) and returns an exit status.
 */
#ifndef VOXCART_CLI_H
#define VOXCART_CLI_H

#include <stddef.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "voxcart/common.h"

/* Exit statuses, the same for every command. */
enum cli_status {
    CLI_OK = 0,
    CLI_FAIL = 1,  /* the command ran and failed (or the server said no) */
    CLI_USAGE = 2, /* bad options or arguments */
};

/* Command handlers: one per file, each listed in the table in main.c. */
int cli_cmd_devca(int argc, char **argv);
int cli_cmd_sign(int argc, char **argv);
int cli_cmd_replay(int argc, char **argv);
int cli_cmd_model(int argc, char **argv);
int cli_cmd_token(int argc, char **argv);

/* "voxcart: CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a usage error with a pointer to CMD --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports what getopt_long returned for an unknown option or a missing argument ('?' or ':',
 * with an optstring starting with ':'); returns CLI_USAGE. */
int cli_bad_option(const char *cmd, int c, int argc, char **argv);

/* Reads a whole file, or stdin for "-", into out (at most max bytes). */
int cli_read_input(const char *path, size_t max, struct vx_buf *out, struct vx_err *e);

#define CLI_BODY_MAX (8u * 1024 * 1024)

/* How to turn a request body into a signed POST, as `voxcart sign` and `voxcart replay` do. */
struct cli_sign_opts {
    const char *dir;       /* development CA directory holding signing.key (NULL = ./devca) */
    EVP_PKEY *key;         /* signing key; NULL = read DIR/signing.key */
    const char *cert_url;  /* SignatureCertChainUrl; NULL = VX_DEVCA_CERT_URL */
    int restamp;           /* set request.timestamp to now */
    const char *timestamp; /* set request.timestamp to this value instead (digits: a number) */
    const char *signature; /* send this Signature-256 value instead of signing */
    int no_signature;      /* send neither signature header (development mode) */
    int omit_cert_url;     /* send Signature-256 without SignatureCertChainUrl */
    int omit_signature;    /* send SignatureCertChainUrl without Signature-256 */
    int lower_case;        /* header names in lower case, as some load balancers forward them */
};

/* A request ready to send: the exact bytes and the headers that go with them. */
struct cli_signed {
    char *body; /* the bytes that were signed: re-serialised when the timestamp changed */
    size_t len;
    int changed;         /* body differs from the input (timestamp set) */
    const char *url_hdr; /* header names in the chosen case */
    const char *sig_hdr;
    const char *cert_url;
    char *signature;            /* Signature-256 value; NULL when no_signature */
    struct curl_slist *headers; /* Content-Type and the signature headers, for cli_http_post */
};

void cli_signed_init(struct cli_signed *s);
void cli_signed_release(struct cli_signed *s);

/*
 * Applies o to body: sets request.timestamp when asked (parse with json-c, set,
 * serialise plain), signs the resulting bytes unless told otherwise, and builds
 * the header list. Without a timestamp change the body is signed byte for byte.
 * name is how messages refer to the body ("launch.json", "stdin").
 */
int cli_sign_request(const struct cli_sign_opts *o, const char *name, const char *body, size_t len,
                     struct cli_signed *out, struct vx_err *e);

/* Loads DIR/signing.key, with a hint to run `voxcart devca` when it is missing. */
int cli_load_signing_key(const char *dir, EVP_PKEY **out, struct vx_err *e);

#endif
