/*
 * The pure request checks of alexa.md section 1: the certificate URL rules, the
 * request timestamp, the Signature-256 over the raw body, and the base64 that
 * carries it. Nothing here touches the network, a store or a clock of its own:
 * every function takes what it judges as arguments, so each rule is tested by
 * calling it with a string.
 *
 * DESIGN
 *
 * The certificate URL is the one input that makes us fetch something, so its
 * parser is deliberately narrower than RFC 3986: a URL that any two parsers
 * could read differently is refused instead of interpreted. The pipeline is
 * screen characters, split scheme / authority / path, judge each part, normalise
 * the path (RFC 3986 5.2.4), judge the normalised path, and write the canonical
 * form "https://s3.amazonaws.com" + normalised path, which is both the cache key
 * and the URL we hand to the fetcher. Because the fetcher only ever sees the
 * canonical form, nothing we did not look at can reach it.
 *
 * Decisions on the cases the public parsers disagree on (each one is tested):
 *
 *  - NULL or empty URL: MISSING_CERT_URL (an empty header is as good as none).
 *  - Bytes outside printable ASCII (controls, space, DEL, anything >= 0x80),
 *    backslashes, '?' (query) and '#' (fragment) anywhere: MALFORMED. A
 *    backslash is a path separator to some parsers and a plain byte to others;
 *    S3 needs neither a query nor a fragment to serve a certificate.
 *  - Anything but "scheme://authority/path": MALFORMED. A scheme other than
 *    https (compared case-insensitively): SCHEME.
 *  - User-info ("https://x@s3.amazonaws.com/..."): MALFORMED. It is the classic
 *    way to make a URL read as one host to a person and another to a parser.
 *  - The host must equal "s3.amazonaws.com" ignoring ASCII case, nothing more:
 *    a trailing dot ("s3.amazonaws.com."), percent-encoding, an IPv6 or any
 *    other literal ("[::1]"), or an empty host are all HOST.
 *  - The port, when present, must be literally "443": ":0443" is PORT even
 *    though it is numerically 443 (leading zeros are read as octal by some
 *    parsers), and an empty port ("s3.amazonaws.com:") is PORT too. A port with
 *    a non-digit in it is MALFORMED.
 *  - Any '%' in the path: PATH. We never decode, and we refuse what a fetcher
 *    or S3 could decode into a dot segment ("%2e%2e") or a separator ("%2f")
 *    after our prefix check.
 *  - An empty segment anywhere in the path ("//echo.api/", "/echo.api//x"):
 *    PATH, before and after normalisation. Collapsing "//" is exactly what the
 *    parsers disagree on, and S3 keys with empty segments are never
 *    certificates.
 *  - Path characters outside RFC 3986 pchar ('"', '<', '{', '|', ...): MALFORMED.
 *  - ".." above the root is dropped, as RFC 3986 says, so "/../echo.api/x" is
 *    "/echo.api/x" and valid; "/echo.api/../x" is "/x" and PATH.
 *  - "/echo.api/" alone satisfies the rule and passes; there is no certificate
 *    to fetch there, and the fetch fails on its own.
 *
 * Timestamps follow RFC 3339's strict profile: "YYYY-MM-DDTHH:MM:SS", an
 * optional fraction of 1 to 9 digits, then "Z" or "+HH:MM"/"-HH:MM". The
 * offset is required (a timestamp without one is local time of nobody knows
 * where), 'T' and 'Z' must be upper-case, every field must be in range for its
 * month (leap years included), leap second 60 is refused (the platform never
 * sends one and timegm would fold it into the next minute), and nothing may
 * follow. A bare number (the epoch milliseconds the simulator once sent) is
 * not a timestamp here; the envelope parser decides what to do with a JSON
 * number. The fraction is dropped: the tolerance is in whole seconds.
 *
 * Base64 is decoded by hand rather than with EVP_DecodeBlock, which accepts
 * leading and trailing whitespace and counts padding as zero bytes of output.
 * We require the standard alphabet, a length that is a multiple of four,
 * padding only at the end, and zero unused bits in the last group, so each
 * signature has exactly one accepted spelling.
 */
#include "voxcart/verify.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

/* Longest certificate URL we look at; real ones are under 80 bytes. */
#define URL_MAX 1024

static const char *const reason_names[] = {
#define XX(id, name, text) name,
    VX_VERIFY_REASON_MAP(XX)
#undef XX
};

static const char *const reason_texts[] = {
#define XX(id, name, text) text,
    VX_VERIFY_REASON_MAP(XX)
#undef XX
};

const char *vx_verify_reason_name(enum vx_verify_reason r)
{
    if ((unsigned)r >= (unsigned)VX_VR__COUNT)
        return "unknown";
    return reason_names[r];
}

const char *vx_verify_reason_text(enum vx_verify_reason r)
{
    if ((unsigned)r >= (unsigned)VX_VR__COUNT)
        return "unknown verification failure";
    return reason_texts[r];
}

/* ---- RFC 3986 section 5.2.4 ------------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Removes the last segment and its preceding "/" (if any) from out[0..*len). */
static void pop_segment(char *out, size_t *len)
{
    while (*len > 0 && out[*len - 1] != '/')
        (*len)--;
    if (*len > 0)
        (*len)--;
}

int vx_path_remove_dot_segments(const char *in, char *out, size_t outsz)
{
    size_t len = 0;
    const char *p = in;

    if (!in || !out || outsz == 0)
        return VX_EINVAL;
    /*
     * The RFC rewrites the input buffer ("replace that prefix with /"). Every
     * such rewrite turns a prefix into the "/" that already ends it, so moving
     * the read pointer onto that "/" does the same without a copy; for the
     * prefixes that end the input ("/." and "/..") we point at a literal "/".
     */
    while (*p) {
        if (starts_with(p, "../")) {
            p += 3;
        } else if (starts_with(p, "./")) {
            p += 2;
        } else if (starts_with(p, "/./")) {
            p += 2;
        } else if (strcmp(p, "/.") == 0) {
            p = "/";
        } else if (starts_with(p, "/../")) {
            p += 3;
            pop_segment(out, &len);
        } else if (strcmp(p, "/..") == 0) {
            p = "/";
            pop_segment(out, &len);
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            break;
        } else {
            /* Move the first segment, with its leading "/" if any, to the output. */
            size_t n = (*p == '/') ? 1 : 0;
            n += strcspn(p + n, "/");
            if (len + n >= outsz) {
                out[0] = '\0';
                return VX_ERANGE;
            }
            memcpy(out + len, p, n);
            len += n;
            p += n;
        }
    }
    out[len] = '\0';
    return 0;
}

/* ---- certificate URL -------------------------------------------------------------------- */

#define CERT_HOST        "s3.amazonaws.com"
#define CERT_PATH_PREFIX "/echo.api/"

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* True when s[0..n) equals the lower-case literal lit, ignoring ASCII case. */
static int span_caseeq(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(s[i]) != lit[i])
            return 0;
    }
    return 1;
}

/* RFC 3986 pchar without pct-encoded (refused separately), plus the "/" separator. */
static int is_path_char(int c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@/", c) != NULL);
}

enum vx_verify_reason vx_cert_url_check(const char *url, char *canon, size_t canonsz)
{
    char norm[URL_MAX];
    const char *p, *auth, *auth_end, *colon;
    size_t len;

    if (!url || !*url)
        return VX_VR_MISSING_CERT_URL;
    len = strlen(url);
    if (len >= URL_MAX)
        return VX_VR_CERT_URL_MALFORMED;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '?' || c == '#')
            return VX_VR_CERT_URL_MALFORMED;
    }

    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" */
    p = url;
    if (!is_alpha(*p))
        return VX_VR_CERT_URL_MALFORMED;
    while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (!starts_with(p, "://"))
        return VX_VR_CERT_URL_MALFORMED;
    if (!span_caseeq(url, (size_t)(p - url), "https"))
        return VX_VR_CERT_URL_SCHEME;

    auth = p + 3;
    auth_end = strchr(auth, '/');
    if (!auth_end)
        auth_end = auth + strlen(auth);
    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return VX_VR_CERT_URL_MALFORMED;
    colon = memchr(auth, ':', (size_t)(auth_end - auth));
    if (*auth == '[' || !span_caseeq(auth, (size_t)((colon ? colon : auth_end) - auth), CERT_HOST))
        return VX_VR_CERT_URL_HOST;
    if (colon) {
        const char *port = colon + 1;
        size_t plen = (size_t)(auth_end - port);
        for (size_t i = 0; i < plen; i++) {
            if (!is_digit(port[i]))
                return VX_VR_CERT_URL_MALFORMED;
        }
        if (plen != 3 || memcmp(port, "443", 3) != 0)
            return VX_VR_CERT_URL_PORT;
    }

    p = auth_end;
    if (*p != '/')
        return VX_VR_CERT_URL_PATH;
    for (const char *q = p; *q; q++) {
        if (*q == '%')
            return VX_VR_CERT_URL_PATH;
        if (!is_path_char((unsigned char)*q))
            return VX_VR_CERT_URL_MALFORMED;
    }
    if (strstr(p, "//"))
        return VX_VR_CERT_URL_PATH;
    if (vx_path_remove_dot_segments(p, norm, sizeof(norm)) != 0)
        return VX_VR_CERT_URL_MALFORMED;
    if (strstr(norm, "//") || !starts_with(norm, CERT_PATH_PREFIX))
        return VX_VR_CERT_URL_PATH;

    if (canon && vx_snprintf(canon, canonsz, "https://" CERT_HOST "%s", norm) != 0)
        return VX_VR_CERT_URL_MALFORMED;
    return VX_VR_OK;
}

/* ---- timestamps ------------------------------------------------------------------------- */

/* Reads exactly n digits at *s and advances it. */
static int read_digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (!is_digit(c))
            return VX_EPARSE;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int expect_char(const char **s, char c)
{
    if (**s != c)
        return VX_EPARSE;
    (*s)++;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return (month == 2 && leap) ? 29 : days[month - 1];
}

int vx_timestamp_parse(const char *s, int64_t *epoch)
{
    int year, mon, day, hour, min, sec, off_h = 0, off_m = 0, sign = 0;
    struct tm tm;
    time_t t;

    if (!s || !epoch)
        return VX_EPARSE;
    if (read_digits(&s, 4, &year) || expect_char(&s, '-') || read_digits(&s, 2, &mon) ||
        expect_char(&s, '-') || read_digits(&s, 2, &day) || expect_char(&s, 'T') ||
        read_digits(&s, 2, &hour) || expect_char(&s, ':') || read_digits(&s, 2, &min) ||
        expect_char(&s, ':') || read_digits(&s, 2, &sec))
        return VX_EPARSE;
    if (*s == '.') {
        int ndigits = 0;
        for (s++; is_digit(*s); s++)
            ndigits++;
        if (ndigits < 1 || ndigits > 9)
            return VX_EPARSE;
    }
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = (*s == '+') ? 1 : -1;
        s++;
        if (read_digits(&s, 2, &off_h) || expect_char(&s, ':') || read_digits(&s, 2, &off_m))
            return VX_EPARSE;
        if (off_h > 23 || off_m > 59)
            return VX_EPARSE;
    } else {
        return VX_EPARSE;
    }
    if (*s != '\0')
        return VX_EPARSE;
    if (year < 1 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
        min > 59 || sec > 59)
        return VX_EPARSE;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    /* "+05:00" is five hours ahead of UTC: subtract the offset to get UTC. */
    *epoch = (int64_t)t - (int64_t)sign * (off_h * 3600 + off_m * 60);
    return 0;
}

enum vx_verify_reason vx_timestamp_check(int64_t ts, int64_t now, int tolerance)
{
    int64_t diff;

    if (tolerance < 0)
        tolerance = 0;
    /* Wild values (a forged year 9999 against INT64_MIN) must not wrap into the window. */
    if (__builtin_sub_overflow(ts, now, &diff))
        return ts < now ? VX_VR_TIMESTAMP_STALE : VX_VR_TIMESTAMP_FUTURE;
    if (diff < -(int64_t)tolerance)
        return VX_VR_TIMESTAMP_STALE;
    if (diff > (int64_t)tolerance)
        return VX_VR_TIMESTAMP_FUTURE;
    return VX_VR_OK;
}

int vx_is_skill_event(const char *request_type)
{
    static const char *const events[] = {
        "AlexaSkillEvent.SkillEnabled",           "AlexaSkillEvent.SkillDisabled",
        "AlexaSkillEvent.SkillPermissionChanged", "AlexaSkillEvent.SkillPermissionAccepted",
        "AlexaSkillEvent.SkillAccountLinked",
    };
    if (!request_type)
        return 0;
    for (size_t i = 0; i < VX_ARRAY_LEN(events); i++) {
        if (strcmp(request_type, events[i]) == 0)
            return 1;
    }
    return 0;
}

/* ---- base64 ----------------------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int vx_base64_encode(const unsigned char *in, size_t len, char **out)
{
    size_t n, o = 0;
    char *s;

    if ((!in && len) || !out)
        return VX_EINVAL;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return VX_ERANGE;
    n = (len + 2) / 3 * 4;
    s = malloc(n + 1);
    if (!s)
        return VX_ENOMEM;
    for (size_t i = 0; i < len; i += 3) {
        size_t rest = len - i;
        unsigned v = (unsigned)in[i] << 16;
        if (rest > 1)
            v |= (unsigned)in[i + 1] << 8;
        if (rest > 2)
            v |= in[i + 2];
        s[o++] = b64_alphabet[(v >> 18) & 63];
        s[o++] = b64_alphabet[(v >> 12) & 63];
        s[o++] = rest > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        s[o++] = rest > 2 ? b64_alphabet[v & 63] : '=';
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

/* Value of a base64 character, or -1: a table, since every request decodes 344 of them. */
static signed char b64_table[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void b64_table_make(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memset(b64_table, -1, sizeof(b64_table));
    for (int i = 0; i < 64; i++)
        b64_table[(unsigned char)alphabet[i]] = (signed char)i;
}

static int b64_value(char c)
{
    return b64_table[(unsigned char)c];
}

int vx_base64_decode(const char *in, unsigned char **out, size_t *outlen)
{
    size_t len, pad = 0, n, o = 0;
    unsigned char *buf = NULL;
    int rc = 0;

    if (!in || !out || !outlen)
        return VX_EINVAL;
    pthread_once(&b64_once, b64_table_make);
    len = strlen(in);
    if (len % 4 != 0)
        return VX_EPARSE;
    if (len > 0 && in[len - 1] == '=') {
        pad++;
        if (in[len - 2] == '=')
            pad++;
    }
    n = len / 4 * 3 - pad;
    buf = malloc(n ? n : 1);
    if (!buf)
        return VX_ENOMEM;
    for (size_t i = 0; i < len; i += 4) {
        int last = (i + 4 == len);
        size_t used = last ? 4 - pad : 4; /* characters carrying data in this group */
        unsigned v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = 0;
            if (k < used) {
                d = b64_value(in[i + k]);
                if (d < 0) {
                    rc = VX_EPARSE;
                    goto out;
                }
            }
            v = (v << 6) | (unsigned)d;
        }
        /* Unused bits of a padded group must be zero: one spelling per value. */
        if ((used == 2 && (v & 0xffff) != 0) || (used == 3 && (v & 0xff) != 0)) {
            rc = VX_EPARSE;
            goto out;
        }
        buf[o++] = (unsigned char)(v >> 16);
        if (used > 2)
            buf[o++] = (unsigned char)(v >> 8);
        if (used > 3)
            buf[o++] = (unsigned char)v;
    }
    *out = buf;
    *outlen = o;
    buf = NULL;
out:
    free(buf);
    return rc;
}

/* ---- Signature-256 ---------------------------------------------------------------------- */

/*
 * Fetching "SHA2-256" from the provider on every request takes a global lock
 * inside OpenSSL; fetch it once. The reference is held for the life of the
 * process on purpose.
 */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha256_md;

static void sha256_fetch(void)
{
    const EVP_MD *md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    sha256_md = md ? md : EVP_sha256();
}

int vx_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    pthread_once(&sha256_once, sha256_fetch);
    return EVP_Digest(data, len, out, &n, sha256_md, NULL) == 1 && n == 32 ? 0 : VX_EIO;
}

/*
 * Per-thread verification state. Setting up an EVP_PKEY_CTX for RSA takes
 * OpenSSL's provider locks on every request; with several worker threads that
 * contention shows in profiles. So each thread keeps a verify context for the
 * signing key it saw last (holding a reference, so the pointer cannot come back
 * as another key) and a digest context it resets, and a request costs one
 * SHA-256 over the body and one RSA public-key operation.
 */
struct verify_thread {
    EVP_PKEY *key;
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *mctx;
};

static pthread_key_t verify_key;
static pthread_once_t verify_key_once = PTHREAD_ONCE_INIT;

static void verify_thread_free(void *p)
{
    struct verify_thread *t = p;
    if (!t)
        return;
    EVP_PKEY_CTX_free(t->pctx);
    EVP_PKEY_free(t->key);
    EVP_MD_CTX_free(t->mctx);
    free(t);
}

static void verify_key_make(void)
{
    pthread_key_create(&verify_key, verify_thread_free);
}

static struct verify_thread *verify_thread_get(EVP_PKEY *key)
{
    struct verify_thread *t;
    pthread_once(&verify_key_once, verify_key_make);
    t = pthread_getspecific(verify_key);
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t)
            return NULL;
        if (pthread_setspecific(verify_key, t) != 0) {
            free(t);
            return NULL;
        }
    }
    if (!t->mctx && !(t->mctx = EVP_MD_CTX_new()))
        return NULL;
    if (t->key != key) {
        EVP_PKEY_CTX_free(t->pctx);
        EVP_PKEY_free(t->key);
        t->key = NULL;
        t->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
        if (!t->pctx || EVP_PKEY_verify_init(t->pctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(t->pctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(t->pctx, sha256_md) != 1) {
            EVP_PKEY_CTX_free(t->pctx);
            t->pctx = NULL;
            return NULL;
        }
        EVP_PKEY_up_ref(key);
        t->key = key;
    }
    return t;
}

enum vx_verify_reason vx_signature_check(EVP_PKEY *key, const char *sig_b64, const void *body,
                                         size_t len)
{
    enum vx_verify_reason r = VX_VR_SIGNATURE_MISMATCH;
    unsigned char *sig = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t siglen = 0;
    struct verify_thread *t;

    if (!sig_b64)
        return VX_VR_MISSING_SIGNATURE;
    if (vx_base64_decode(sig_b64, &sig, &siglen) != 0 || siglen == 0) {
        r = VX_VR_SIGNATURE_ENCODING;
        goto out;
    }
    /* Signature-256 is RSA PKCS#1 v1.5: any other key type cannot have made it. */
    if (!key || !EVP_PKEY_is_a(key, "RSA") || (!body && len))
        goto out;
    pthread_once(&sha256_once, sha256_fetch);
    t = verify_thread_get(key);
    if (!t)
        goto out;
    if (EVP_DigestInit_ex(t->mctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(t->mctx, body ? body : (const void *)"", len) != 1 ||
        EVP_DigestFinal_ex(t->mctx, md, &mdlen) != 1)
        goto out;
    if (EVP_PKEY_verify(t->pctx, sig, siglen, md, mdlen) == 1)
        r = VX_VR_OK;
out:
    /* A failed verify leaves errors on this thread's queue; they are expected here. */
    ERR_clear_error();
    free(sig);
    return r;
}
