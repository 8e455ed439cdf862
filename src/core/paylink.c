/*
 * The pay-link page's tokens (paylink.h): "<text>.<mac>", both base64url
 * without padding, the MAC an HMAC-SHA256 of the text under paypage.secret.
 *
 * DESIGN
 * - The token is checked by computing what voxcartd would have written for the
 *   text it carries and comparing the whole MAC part in constant time. A token
 *   is accepted only in its one spelling: only base64url characters, and the
 *   text part must decode strictly (unused bits zero), so no other string
 *   (padding, '+' for '-', a changed last character whose bits are unused)
 *   reaches the same order.
 * - The base64 work is verify.c's strict codec with the two characters of the
 *   URL alphabet swapped, rather than a second codec.
 */
#include "voxcart/paylink.h"
#include "voxcart/verify.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN     32
#define MAC_B64_LEN 43 /* 32 bytes, unpadded */

/* base64url without padding of in, appended to out. */
static int b64url_append(struct vx_buf *out, const unsigned char *in, size_t len)
{
    char *s = NULL;
    size_t n;
    int rc = vx_base64_encode(in, len, &s);
    if (rc)
        return rc;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++)
        s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    rc = vx_buf_append(out, s, n) == 0 ? 0 : VX_ENOMEM;
    free(s);
    return rc;
}

/* Decodes len bytes of base64url (no padding) into a malloc'd buffer; VX_EPARSE for anything
 * but its one spelling. */
static int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    char *s;
    size_t n = len;
    int rc;
    if (len % 4 == 1)
        return VX_EPARSE;
    s = malloc(len + 3);
    if (!s)
        return VX_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            free(s);
            return VX_EPARSE;
        }
        s[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4)
        s[n++] = '=';
    s[n] = '\0';
    rc = vx_base64_decode(s, out, outlen);
    free(s);
    return rc;
}

static int mac_b64(const unsigned char *secret, size_t secret_len, const void *text, size_t len,
                   struct vx_buf *out)
{
    unsigned char mac[MAC_LEN];
    unsigned int mac_len = 0;
    int rc;
    if (secret_len > (size_t)INT32_MAX ||
        !HMAC(EVP_sha256(), secret, (int)secret_len, text, len, mac, &mac_len) ||
        mac_len != MAC_LEN)
        return VX_ENOMEM;
    rc = b64url_append(out, mac, sizeof(mac));
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

static int part_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= VX_PAYLINK_PART_MAX && !memchr(s, '\n', n);
}

int vx_paylink_token(const unsigned char *secret, size_t secret_len, const char *skill,
                     const char *user, const char *order, struct vx_buf *out)
{
    struct vx_buf text;
    int rc;
    if (!secret || secret_len == 0 || !part_ok(skill) || !part_ok(user) || !part_ok(order))
        return VX_EINVAL;
    vx_buf_init(&text);
    rc = vx_buf_appendf(&text, "%s\n%s\n%s", skill, user, order) == 0 ? 0 : VX_ENOMEM;
    if (rc == 0)
        rc = b64url_append(out, (const unsigned char *)text.data, text.len);
    if (rc == 0)
        rc = vx_buf_append(out, ".", 1) == 0 ? 0 : VX_ENOMEM;
    if (rc == 0)
        rc = mac_b64(secret, secret_len, text.data, text.len, out);
    vx_buf_release(&text);
    return rc;
}

int vx_paylink_url(const char *public_url, const unsigned char *secret, size_t secret_len,
                   const char *skill, const char *user, const char *order, struct vx_buf *out)
{
    size_t n = public_url ? strlen(public_url) : 0;
    if (n == 0)
        return VX_EINVAL;
    if (public_url[n - 1] == '/')
        n--;
    if (vx_buf_append(out, public_url, n) != 0 || vx_buf_appends(out, "/pay/") != 0)
        return VX_ENOMEM;
    return vx_paylink_token(secret, secret_len, skill, user, order, out);
}

/* Splits "<skill>\n<user>\n<order>" into out; VX_EVERIFY unless it is exactly three parts. */
static int split_text(const unsigned char *text, size_t len, struct vx_paylink *out)
{
    char *parts[3] = {out->skill, out->user, out->order};
    size_t at = 0;
    if (memchr(text, '\0', len))
        return VX_EVERIFY;
    for (int i = 0; i < 3; i++) {
        const unsigned char *nl = memchr(text + at, '\n', len - at);
        size_t end = i < 2 ? (nl ? (size_t)(nl - text) : len + 1) : len;
        if (end > len || (i == 2 && nl) || end == at || end - at > VX_PAYLINK_PART_MAX)
            return VX_EVERIFY;
        memcpy(parts[i], text + at, end - at);
        parts[i][end - at] = '\0';
        at = end + 1;
    }
    return 0;
}

int vx_paylink_parse(const unsigned char *secret, size_t secret_len, const char *token, size_t len,
                     struct vx_paylink *out)
{
    const char *dot = token && len <= VX_PAYLINK_TOKEN_MAX ? memchr(token, '.', len) : NULL;
    unsigned char *text = NULL;
    size_t text_len = 0, head;
    struct vx_buf want;
    int rc = VX_EVERIFY;

    memset(out, 0, sizeof(*out));
    if (!dot || !secret || secret_len == 0)
        return VX_EVERIFY;
    head = (size_t)(dot - token);
    if (len - head - 1 != MAC_B64_LEN || b64url_decode(token, head, &text, &text_len) != 0)
        return VX_EVERIFY;
    vx_buf_init(&want);
    if (mac_b64(secret, secret_len, text, text_len, &want) == 0 && want.len == MAC_B64_LEN &&
        CRYPTO_memcmp(want.data, dot + 1, MAC_B64_LEN) == 0)
        rc = split_text(text, text_len, out);
    vx_buf_release(&want);
    free(text);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

int vx_paylink_secret_load(const char *path, unsigned char **key, size_t *len, struct vx_err *e)
{
    char *data = NULL;
    size_t n = 0;
    int rc = vx_file_read(path, 64 * 1024, &data, &n, e);
    *key = NULL;
    *len = 0;
    if (rc)
        return vx_err_set(e, VX_ECONFIG, "paypage.secret: %s", e ? e->msg : "cannot read");
    /* a secret written by echo ends in a newline nobody means as part of it */
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        data[--n] = '\0';
    if (n < VX_PAYLINK_SECRET_MIN) {
        OPENSSL_cleanse(data, n);
        free(data);
        return vx_err_set(e, VX_ECONFIG, "paypage.secret: '%s' is %s (it needs %d bytes or more)",
                          path, n ? "too short" : "empty", VX_PAYLINK_SECRET_MIN);
    }
    *key = (unsigned char *)data;
    *len = n;
    return 0;
}
