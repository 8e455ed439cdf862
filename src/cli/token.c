/*
 * `voxcart token`: mints a merchant API token (mtoken.h) for development and
 * tests, signed with the same key file voxcartd checks against (HS256: the
 * shared secret; RS256/ES256: the private key whose public half voxcartd
 * holds). It prints the token alone on stdout, so a shell can capture it.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxcart/mtoken.h"

static const char token_usage[] =
    "usage: voxcart token --key FILE --merchant ID [--scope read|full] [--ttl SECONDS]\n"
    "                     [--algorithm HS256|RS256|ES256] [--issuer ISS] [--audience AUD]\n"
    "                     [--not-before SECONDS]\n"
    "\n"
    "Prints a bearer token for the merchant API (Authorization: Bearer TOKEN).\n"
    "\n"
    "options:\n"
    "  -k, --key FILE         HS256: the secret file voxcartd's merchant.jwt_key names;\n"
    "                         RS256/ES256: the private key PEM\n"
    "  -m, --merchant ID      the merchant claim (1 to 64 of A-Z a-z 0-9 _ -)\n"
    "  -s, --scope SCOPE      read (look only) or full (default full)\n"
    "  -t, --ttl SECONDS      lifetime, 1 to 31536000 (default 3600); negative values are\n"
    "                         refused: use --not-before to test clocks\n"
    "  -a, --algorithm ALG    HS256 (default), RS256 or ES256\n"
    "  -i, --issuer ISS       iss claim (default voxcart)\n"
    "  -u, --audience AUD     aud claim (default voxcart-merchant-api)\n"
    "  -n, --not-before SECS  nbf this many seconds from now (may be negative)\n"
    "  -h, --help             show this help\n";

static const struct option token_options[] = {
    {"key", required_argument, NULL, 'k'},
    {"merchant", required_argument, NULL, 'm'},
    {"scope", required_argument, NULL, 's'},
    {"ttl", required_argument, NULL, 't'},
    {"algorithm", required_argument, NULL, 'a'},
    {"issuer", required_argument, NULL, 'i'},
    {"audience", required_argument, NULL, 'u'},
    {"not-before", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cli_cmd_token(int argc, char **argv)
{
    const char *key_file = NULL, *alg = "HS256";
    struct vx_mtoken_mint m;
    long long ttl = 3600, nbf = 0;
    int have_nbf = 0, c, rc = CLI_FAIL;
    char *key = NULL, *tok = NULL;
    size_t key_len = 0;
    struct vx_err e;

    memset(&m, 0, sizeof(m));
    m.scope = "full";
    m.issuer = "voxcart";
    m.audience = "voxcart-merchant-api";
    optind = 1;
    while ((c = getopt_long(argc, argv, ":k:m:s:t:a:i:u:n:h", token_options, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_file = optarg;
            break;
        case 'm':
            m.merchant = optarg;
            break;
        case 's':
            if (strcmp(optarg, "read") != 0 && strcmp(optarg, "full") != 0)
                return cli_usage_error("token", "--scope: '%s' is not read or full", optarg);
            m.scope = optarg;
            break;
        case 't':
            if (vx_parse_ll(optarg, 1, 31536000, &ttl) != 0)
                return cli_usage_error("token", "--ttl: '%s' is not 1 to 31536000", optarg);
            break;
        case 'a':
            alg = optarg;
            break;
        case 'i':
            m.issuer = optarg;
            break;
        case 'u':
            m.audience = optarg;
            break;
        case 'n':
            if (vx_parse_ll(optarg, -31536000, 31536000, &nbf) != 0)
                return cli_usage_error("token", "--not-before: '%s' is not a number of seconds",
                                       optarg);
            have_nbf = 1;
            break;
        case 'h':
            fputs(token_usage, stdout);
            return CLI_OK;
        default:
            return cli_bad_option("token", c, argc, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("token", "unexpected argument '%s'", argv[optind]);
    if (!key_file)
        return cli_usage_error("token", "--key is required");
    if (!m.merchant)
        return cli_usage_error("token", "--merchant is required");
    if (vx_mtoken_alg_parse(alg, &m.alg) != 0)
        return cli_usage_error("token", "--algorithm: '%s' is not HS256, RS256 or ES256", alg);
    if (vx_mtoken_key_file(key_file, m.alg, &key, &key_len, &e) != 0) {
        cli_error("token", "%s", e.msg);
        return CLI_FAIL;
    }
    m.key = (const unsigned char *)key;
    m.key_len = key_len;
    m.now = vx_now();
    m.ttl = ttl;
    if (have_nbf)
        m.not_before = m.now + nbf;
    if (vx_mtoken_sign(&m, &tok, &e) != 0) {
        cli_error("token", "%s", e.msg);
        goto out;
    }
    printf("%s\n", tok);
    rc = CLI_OK;
out:
    free(tok);
    free(key);
    return rc;
}
