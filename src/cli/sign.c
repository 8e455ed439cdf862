/*
 * `voxcart sign`: makes a request body look as if the voice platform had sent
 * it, signed with the development CA's signing key, and optionally posts it.
 *
 * The signature covers the exact bytes sent. A body whose timestamp is left
 * alone is signed byte for byte as read; one whose request.timestamp is set
 * (--restamp, --timestamp) is parsed with json-c, changed and re-serialised
 * plainly, and those new bytes are both signed and sent (or printed). The
 * options that break a request on purpose (--signature, --timestamp,
 * --no-cert-url, --no-signature, --header-case lower) exist for the tests of
 * voxcartd's verification. cli_sign_request() is the part `voxcart replay`
 * shares.
 */
#include "cli.h"
#include "http.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "voxcart/pki.h"

#define SIGN_DEFAULT_DIR "./devca"
#define CONTENT_TYPE     "Content-Type: application/json; charset=utf-8"

void cli_signed_init(struct cli_signed *s)
{
    memset(s, 0, sizeof(*s));
}

void cli_signed_release(struct cli_signed *s)
{
    free(s->body);
    free(s->signature);
    curl_slist_free_all(s->headers);
    cli_signed_init(s);
}

int cli_load_signing_key(const char *dir, EVP_PKEY **out, struct vx_err *e)
{
    char path[PATH_MAX];
    int rc;

    if (!dir)
        dir = SIGN_DEFAULT_DIR;
    if (vx_snprintf(path, sizeof(path), "%s/%s", dir, VX_DEVCA_SIGNING_KEY) != 0)
        return vx_err_set(e, VX_ERANGE, "directory name '%s' is too long", dir);
    rc = vx_pki_read_key(path, out, e);
    if (rc == VX_ENOTFOUND && e) {
        size_t n = strlen(e->msg);
        vx_snprintf(e->msg + n, sizeof(e->msg) - n, " (run 'voxcart devca --dir %s' first)", dir);
    }
    return rc;
}

static int format_now(char *buf, size_t size)
{
    time_t now = (time_t)vx_now();
    struct tm tm;

    if (!gmtime_r(&now, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return VX_ERANGE;
    return 0;
}

/* Digits only become a JSON number (epoch milliseconds, as the console simulator once sent);
 * anything else is a string, well-formed or not. */
static json_object *timestamp_value(const char *ts)
{
    long long ms;

    if (ts[0] >= '0' && ts[0] <= '9' && vx_parse_ll(ts, 0, INT64_MAX, &ms) == 0)
        return json_object_new_int64((int64_t)ms);
    return json_object_new_string(ts);
}

static int only_blanks(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    }
    return 1;
}

static int set_timestamp(const char *name, const char *body, size_t len, const char *ts,
                         struct cli_signed *out, struct vx_err *e)
{
    struct json_tokener *tok = NULL;
    json_object *root = NULL, *req = NULL, *value = NULL;
    enum json_tokener_error jerr;
    const char *text;
    size_t n = 0;
    int rc = 0;

    if (len > (size_t)INT32_MAX)
        return vx_err_set(e, VX_ERANGE, "'%s' is too large to re-serialise", name);
    tok = json_tokener_new();
    if (!tok) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory parsing '%s'", name);
        goto out;
    }
    root = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    if (!root) {
        rc = vx_err_set(e, VX_EPARSE, "'%s' is not valid json: %s", name,
                        jerr == json_tokener_continue ? "unexpected end of input"
                                                      : json_tokener_error_desc(jerr));
        goto out;
    }
    if (!only_blanks(body + json_tokener_get_parse_end(tok),
                     len - json_tokener_get_parse_end(tok))) {
        rc = vx_err_set(e, VX_EPARSE, "'%s' has data after its json value", name);
        goto out;
    }
    if (!json_object_object_get_ex(root, "request", &req) ||
        !json_object_is_type(req, json_type_object)) {
        rc = vx_err_set(e, VX_EPARSE, "'%s' has no 'request' object to stamp", name);
        goto out;
    }
    value = timestamp_value(ts);
    if (!value || json_object_object_add(req, "timestamp", value) != 0) {
        json_object_put(value);
        rc = vx_err_set(e, VX_ENOMEM, "out of memory setting the timestamp");
        goto out;
    }
    text = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    out->body = text ? malloc(n + 1) : NULL;
    if (!out->body) {
        rc = vx_err_set(e, VX_ENOMEM, "out of memory serialising the body");
        goto out;
    }
    memcpy(out->body, text, n + 1);
    out->len = n;
    out->changed = 1;
out:
    json_object_put(root);
    if (tok)
        json_tokener_free(tok);
    return rc;
}

/* "Name: value"; an empty value needs curl's "Name;" form or curl would drop the header. */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    struct vx_buf line;
    struct curl_slist *next = NULL;

    vx_buf_init(&line);
    if ((*value ? vx_buf_appendf(&line, "%s: %s", name, value)
                : vx_buf_appendf(&line, "%s;", name)) == 0)
        next = curl_slist_append(*list, line.data);
    vx_buf_release(&line);
    if (!next)
        return VX_ENOMEM;
    *list = next;
    return 0;
}

static int build_headers(const struct cli_sign_opts *o, struct cli_signed *out, struct vx_err *e)
{
    struct curl_slist *next = curl_slist_append(NULL, CONTENT_TYPE);
    int rc = next ? 0 : VX_ENOMEM;

    out->headers = next;
    if (rc == 0 && !o->no_signature && !o->omit_cert_url)
        rc = add_header(&out->headers, out->url_hdr, out->cert_url);
    if (rc == 0 && out->signature)
        rc = add_header(&out->headers, out->sig_hdr, out->signature);
    if (rc != 0)
        return vx_err_set(e, rc, "out of memory building the request headers");
    return 0;
}

/* The bytes to send: the input as is, or re-serialised with the timestamp set. */
static int sign_body_bytes(const struct cli_sign_opts *o, const char *name, const char *body,
                           size_t len, struct cli_signed *out, struct vx_err *e)
{
    char now[32];
    const char *ts = o->timestamp;

    if (!ts && o->restamp) {
        if (format_now(now, sizeof(now)) != 0)
            return vx_err_set(e, VX_ERANGE, "cannot format the current time");
        ts = now;
    }
    if (ts)
        return set_timestamp(name, body, len, ts, out, e);
    out->body = malloc(len + 1);
    if (!out->body)
        return vx_err_set(e, VX_ENOMEM, "out of memory copying '%s'", name);
    memcpy(out->body, body, len);
    out->body[len] = '\0';
    out->len = len;
    return 0;
}

/* The Signature-256 value: none, the one given, or a real signature over out->body. */
static int sign_signature(const struct cli_sign_opts *o, struct cli_signed *out, struct vx_err *e)
{
    EVP_PKEY *loaded = NULL;
    int rc;

    if (o->no_signature || o->omit_signature)
        return 0;
    if (o->signature) {
        out->signature = strdup(o->signature);
        return out->signature ? 0 : vx_err_set(e, VX_ENOMEM, "out of memory copying the signature");
    }
    if (!o->key) {
        rc = cli_load_signing_key(o->dir, &loaded, e);
        if (rc != 0)
            return rc;
    }
    rc = vx_pki_sign_body(o->key ? o->key : loaded, out->body, out->len, &out->signature, e);
    EVP_PKEY_free(loaded);
    return rc;
}

int cli_sign_request(const struct cli_sign_opts *o, const char *name, const char *body, size_t len,
                     struct cli_signed *out, struct vx_err *e)
{
    int rc;

    cli_signed_init(out);
    out->url_hdr = o->lower_case ? "signaturecertchainurl" : "SignatureCertChainUrl";
    out->sig_hdr = o->lower_case ? "signature-256" : "Signature-256";
    out->cert_url = o->cert_url ? o->cert_url : VX_DEVCA_CERT_URL;
    rc = sign_body_bytes(o, name, body, len, out, e);
    if (rc == 0)
        rc = sign_signature(o, out, e);
    if (rc == 0)
        rc = build_headers(o, out, e);
    if (rc != 0)
        cli_signed_release(out);
    return rc;
}

static const char sign_usage[] =
    "usage: voxcart sign [options] FILE|-\n"
    "\n"
    "Signs a request body the way the voice platform does: Signature-256 (RSA SHA-256 over the\n"
    "exact bytes) and SignatureCertChainUrl, with the development CA made by 'voxcart devca'.\n"
    "FILE '-' reads the body from stdin.\n"
    "\n"
    "Without --url, prints the header lines. When the timestamp was changed it then prints an\n"
    "empty line and the new body, because the signature covers exactly those bytes.\n"
    "With --url, posts the request, prints \"HTTP <status>\" on stderr and the response body\n"
    "on stdout, and exits 0 for a 2xx answer and 1 otherwise.\n"
    "\n"
    "options:\n"
    "  -d, --dir DIR           development CA directory (default " SIGN_DEFAULT_DIR ")\n"
    "  -r, --restamp           set request.timestamp to now before signing\n"
    "  -t, --timestamp VALUE   set request.timestamp to VALUE; digits only make it a JSON\n"
    "                          number (epoch milliseconds)\n"
    "      --cert-url URL      SignatureCertChainUrl value\n"
    "                          (default " VX_DEVCA_CERT_URL ")\n"
    "      --signature BASE64  send this Signature-256 value instead of signing\n"
    "      --unsigned          send neither signature header (voxcartd development mode)\n"
    "      --no-cert-url       leave out SignatureCertChainUrl only\n"
    "      --no-signature      leave out Signature-256 only\n"
    "      --header-case CASE  header names 'canonical' (default) or 'lower'\n"
    "  -u, --url URL           post the request to URL\n"
    "      --cacert FILE       trust anchors for https (default DIR/" VX_DEVCA_ROOT ")\n"
    "  -k, --insecure          do not check the server's certificate\n"
    "  -h, --help              show this help\n"
    "\n"
    "examples:\n"
    "  voxcart sign --restamp launch.json\n"
    "  voxcart sign --restamp --url https://localhost:8443/alexa launch.json\n"
    "  voxcart sign -t 2020-01-01T00:00:00Z --url https://localhost:8443/alexa launch.json\n";

enum {
    OPT_CERT_URL = 256,
    OPT_SIGNATURE,
    OPT_UNSIGNED,
    OPT_NO_CERT_URL,
    OPT_NO_SIGNATURE,
    OPT_HEADER_CASE,
    OPT_CACERT,
};

static const struct option sign_options[] = {
    {"dir", required_argument, NULL, 'd'},
    {"restamp", no_argument, NULL, 'r'},
    {"timestamp", required_argument, NULL, 't'},
    {"cert-url", required_argument, NULL, OPT_CERT_URL},
    {"signature", required_argument, NULL, OPT_SIGNATURE},
    {"unsigned", no_argument, NULL, OPT_UNSIGNED},
    {"no-cert-url", no_argument, NULL, OPT_NO_CERT_URL},
    {"no-signature", no_argument, NULL, OPT_NO_SIGNATURE},
    {"header-case", required_argument, NULL, OPT_HEADER_CASE},
    {"url", required_argument, NULL, 'u'},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, 'k'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct sign_args {
    struct cli_sign_opts sign;
    const char *url;
    const char *cacert;
    int insecure;
    const char *input;
};

/* Returns -1 to go on, or the exit status (help shown, usage error). */
static int sign_parse(int argc, char **argv, struct sign_args *a)
{
    int c;

    memset(a, 0, sizeof(*a));
    a->sign.dir = SIGN_DEFAULT_DIR;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:rt:u:kh", sign_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->sign.dir = optarg;
            break;
        case 'r':
            a->sign.restamp = 1;
            break;
        case 't':
            a->sign.timestamp = optarg;
            break;
        case OPT_CERT_URL:
            a->sign.cert_url = optarg;
            break;
        case OPT_SIGNATURE:
            a->sign.signature = optarg;
            break;
        case OPT_UNSIGNED:
            a->sign.no_signature = 1;
            break;
        case OPT_NO_CERT_URL:
            a->sign.omit_cert_url = 1;
            break;
        case OPT_NO_SIGNATURE:
            a->sign.omit_signature = 1;
            break;
        case OPT_HEADER_CASE:
            if (strcmp(optarg, "lower") != 0 && strcmp(optarg, "canonical") != 0)
                return cli_usage_error("sign", "header case '%s' is not 'lower' or 'canonical'",
                                       optarg);
            a->sign.lower_case = strcmp(optarg, "lower") == 0;
            break;
        case 'u':
            a->url = optarg;
            break;
        case OPT_CACERT:
            a->cacert = optarg;
            break;
        case 'k':
            a->insecure = 1;
            break;
        case 'h':
            fputs(sign_usage, stdout);
            return CLI_OK;
        default:
            return cli_bad_option("sign", c, argc, argv);
        }
    }
    if (a->sign.restamp && a->sign.timestamp)
        return cli_usage_error("sign", "--restamp and --timestamp exclude each other");
    if (a->sign.no_signature && a->sign.signature)
        return cli_usage_error("sign", "--unsigned and --signature exclude each other");
    if (a->insecure && a->cacert)
        return cli_usage_error("sign", "--insecure and --cacert exclude each other");
    if ((a->insecure || a->cacert) && !a->url)
        return cli_usage_error("sign", "--insecure and --cacert only apply with --url");
    if (optind >= argc)
        return cli_usage_error("sign", "no request body given (a file, or - for stdin)");
    if (optind + 1 < argc)
        return cli_usage_error("sign", "one request body at a time, not '%s' too",
                               argv[optind + 1]);
    a->input = argv[optind];
    return -1;
}

/* The body printed on a terminal gets a final newline; in a pipe it stays byte-exact. */
static void print_body(const char *data, size_t len)
{
    fwrite(data, 1, len, stdout);
    if (len && data[len - 1] != '\n' && isatty(STDOUT_FILENO))
        fputc('\n', stdout);
}

static void sign_print(const struct sign_args *a, const struct cli_signed *s)
{
    if (!a->sign.no_signature && !a->sign.omit_cert_url)
        printf("%s: %s\n", s->url_hdr, s->cert_url);
    if (s->signature)
        printf("%s: %s\n", s->sig_hdr, s->signature);
    if (s->changed) {
        putchar('\n');
        print_body(s->body, s->len);
    }
}

/* https trusts DIR/root.pem unless told otherwise; plain http needs no anchors. */
static int sign_post(const struct sign_args *a, const struct cli_signed *s)
{
    char root[PATH_MAX];
    const char *cacert = a->cacert;
    struct vx_buf resp;
    struct vx_err e = {0};
    long status = 0;
    int rc;

    if (!cacert && !a->insecure && strncasecmp(a->url, "https:", 6) == 0 &&
        vx_snprintf(root, sizeof(root), "%s/%s", a->sign.dir, VX_DEVCA_ROOT) == 0 &&
        access(root, R_OK) == 0)
        cacert = root;
    vx_buf_init(&resp);
    rc =
        cli_http_post(a->url, s->headers, s->body, s->len, cacert, a->insecure, &status, &resp, &e);
    if (rc != 0) {
        cli_error("sign", "%s", e.msg);
        vx_buf_release(&resp);
        return CLI_FAIL;
    }
    fprintf(stderr, "HTTP %ld\n", status);
    if (resp.len)
        print_body(resp.data, resp.len);
    vx_buf_release(&resp);
    return status >= 200 && status < 300 ? CLI_OK : CLI_FAIL;
}

int cli_cmd_sign(int argc, char **argv)
{
    struct sign_args a;
    struct cli_signed s;
    struct vx_buf input;
    struct vx_err e = {0};
    int status = sign_parse(argc, argv, &a);

    if (status >= 0)
        return status;
    vx_buf_init(&input);
    cli_signed_init(&s);
    if (cli_read_input(a.input, CLI_BODY_MAX, &input, &e) != 0 ||
        cli_sign_request(&a.sign, strcmp(a.input, "-") == 0 ? "stdin" : a.input, input.data,
                         input.len, &s, &e) != 0) {
        cli_error("sign", "%s", e.msg);
        status = CLI_FAIL;
        goto out;
    }
    if (a.url) {
        status = sign_post(&a, &s);
    } else {
        sign_print(&a, &s);
        status = CLI_OK;
    }
out:
    cli_signed_release(&s);
    vx_buf_release(&input);
    return status;
}
