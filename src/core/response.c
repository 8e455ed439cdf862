/*
 * Response rendering. The response is assembled from escaped fragments and
 * written out in one pass, with no intermediate JSON tree: this is on every
 * request's path. Platform limits are checked as the document is rendered:
 * speech and card text over 8000 characters are cut at a character boundary,
 * a document over 120 KB is replaced by a short apology, and each case raises a
 * warning bit the caller logs.
 */
#include "voxcart/response.h"

#include <string.h>

void vx_response_init(struct vx_response *r)
{
    memset(r, 0, sizeof(*r));
    vx_buf_init(&r->speech);
    vx_buf_init(&r->reprompt);
    vx_buf_init(&r->card_title);
    vx_buf_init(&r->card_text);
    vx_buf_init(&r->directives);
    vx_buf_init(&r->attributes);
    r->end_session = -1;
}

void vx_response_release(struct vx_response *r)
{
    vx_buf_release(&r->speech);
    vx_buf_release(&r->reprompt);
    vx_buf_release(&r->card_title);
    vx_buf_release(&r->card_text);
    vx_buf_release(&r->directives);
    vx_buf_release(&r->attributes);
}

int vx_ssml_escape(struct vx_buf *b, const char *text)
{
    const char *p = text, *run = text;
    int rc = 0;
    for (; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            continue;
        }
        rc |= vx_buf_append(b, run, (size_t)(p - run));
        rc |= vx_buf_appends(b, rep);
        run = p + 1;
    }
    rc |= vx_buf_append(b, run, (size_t)(p - run));
    return rc ? VX_ENOMEM : 0;
}

int vx_json_member(struct vx_buf *b, const char *k, const char *v, int first)
{
    int rc = vx_buf_appendf(b, "%s\"%s\":", first ? "" : ",", k);
    if (!v || !*v)
        rc |= vx_buf_appends(b, "null");
    else {
        rc |= vx_buf_appends(b, "\"");
        rc |= vx_json_escape(b, v, strlen(v));
        rc |= vx_buf_appends(b, "\"");
    }
    return rc ? VX_ENOMEM : 0;
}

int vx_json_escape(struct vx_buf *b, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    int rc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char esc[7];
        const char *rep = NULL;
        if (c == '"')
            rep = "\\\"";
        else if (c == '\\')
            rep = "\\\\";
        else if (c == '\n')
            rep = "\\n";
        else if (c == '\r')
            rep = "\\r";
        else if (c == '\t')
            rep = "\\t";
        else if (c >= 0x80) {
            /* a byte that is not UTF-8 becomes U+FFFD: the response is always valid UTF-8 */
            size_t k = vx_utf8_seq(text + i, len - i);
            if (k > 0) {
                i += k - 1;
                continue;
            }
            rep = "\xef\xbf\xbd";
        } else if (c < 0x20) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc[6] = '\0';
            rep = esc;
        } else
            continue;
        rc |= vx_buf_append(b, text + run, i - run);
        rc |= vx_buf_appends(b, rep);
        run = i + 1;
    }
    rc |= vx_buf_append(b, text + run, len - run);
    return rc ? VX_ENOMEM : 0;
}

static int say_into(struct vx_buf *b, const char *text, int escape)
{
    int rc = 0;
    if (b->len)
        rc = vx_buf_appends(b, " ");
    if (rc)
        return rc;
    return escape ? vx_ssml_escape(b, text) : vx_buf_appends(b, text);
}

int vx_response_say(struct vx_response *r, const char *text)
{
    return say_into(&r->speech, text, 1);
}

int vx_response_say_ssml(struct vx_response *r, const char *ssml)
{
    return say_into(&r->speech, ssml, 0);
}

int vx_response_reprompt(struct vx_response *r, const char *text)
{
    return say_into(&r->reprompt, text, 1);
}

int vx_response_card(struct vx_response *r, const char *title, const char *text)
{
    r->card = VX_CARD_SIMPLE;
    r->card_title.len = 0;
    r->card_text.len = 0;
    if (vx_buf_appends(&r->card_title, title) || vx_buf_appends(&r->card_text, text))
        return VX_ENOMEM;
    return 0;
}

int vx_response_card_permissions(struct vx_response *r, const char *scope)
{
    r->card = VX_CARD_PERMISSIONS;
    r->card_text.len = 0;
    return vx_buf_appends(&r->card_text, scope);
}

int vx_response_directive(struct vx_response *r, const char *json)
{
    if (r->directives.len && vx_buf_appends(&r->directives, ","))
        return VX_ENOMEM;
    return vx_buf_appends(&r->directives, json);
}

/* Length of the longest prefix of s (of length len) that is at most max characters of UTF-8. */
static size_t utf8_prefix(const char *s, size_t len, size_t max, int *cut)
{
    size_t chars = 0, i = 0;
    *cut = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t step = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (chars == max) {
            *cut = 1;
            return i;
        }
        if (i + step > len)
            step = len - i;
        i += step;
        chars++;
    }
    return i;
}

/* Cuts an SSML fragment without splitting an entity or a tag. */
static size_t ssml_cut(const char *s, size_t len, size_t max, int *cut)
{
    size_t n = utf8_prefix(s, len, max, cut);
    if (!*cut)
        return n;
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '>' || s[i - 1] == ';')
            break;
        if (s[i - 1] == '<' || s[i - 1] == '&')
            return i - 1;
    }
    return n;
}

static int render_speech(struct vx_buf *out, const char *key, const struct vx_buf *ssml, int *warn)
{
    int cut;
    size_t n = ssml_cut(ssml->data ? ssml->data : "", ssml->len, VX_SPEECH_MAX, &cut);
    int rc = 0;
    if (cut)
        *warn |= VX_RW_SPEECH_TOO_LONG;
    rc |= vx_buf_appendf(out, "\"%s\":{\"type\":\"SSML\",\"ssml\":\"<speak>", key);
    rc |= vx_json_escape(out, ssml->data ? ssml->data : "", n);
    rc |= vx_buf_appends(out, "</speak>\"}");
    return rc ? VX_ENOMEM : 0;
}

static int render_card(const struct vx_response *r, struct vx_buf *out, int *warn)
{
    int rc = 0, cut;
    size_t n;
    if (r->card == VX_CARD_PERMISSIONS) {
        rc |= vx_buf_appends(out, "\"card\":{\"type\":\"AskForPermissionsConsent\","
                                  "\"permissions\":[\"");
        rc |= vx_json_escape(out, r->card_text.data, r->card_text.len);
        rc |= vx_buf_appends(out, "\"]}");
        return rc ? VX_ENOMEM : 0;
    }
    n = utf8_prefix(r->card_text.data ? r->card_text.data : "", r->card_text.len, VX_SPEECH_MAX,
                    &cut);
    if (cut)
        *warn |= VX_RW_CARD_TOO_LONG;
    rc |= vx_buf_appends(out, "\"card\":{\"type\":\"Simple\",\"title\":\"");
    rc |= vx_json_escape(out, r->card_title.data ? r->card_title.data : "", r->card_title.len);
    rc |= vx_buf_appends(out, "\",\"content\":\"");
    rc |= vx_json_escape(out, r->card_text.data ? r->card_text.data : "", n);
    rc |= vx_buf_appends(out, "\"}");
    return rc ? VX_ENOMEM : 0;
}

static int ends_with_question(const struct vx_buf *b)
{
    size_t i = b->len;
    while (i > 0 && (b->data[i - 1] == ' ' || b->data[i - 1] == '>'))
        i--;
    return i > 0 && b->data[i - 1] == '?';
}

int vx_response_render(const struct vx_response *r, struct vx_buf *out, int *warnings)
{
    int warn = 0, rc = 0, first = 1;
    size_t start = out->len;

    rc |= vx_buf_appends(out, "{\"version\":\"1.0\"");
    if (r->attributes.len) {
        rc |= vx_buf_appends(out, ",\"sessionAttributes\":");
        rc |= vx_buf_append(out, r->attributes.data, r->attributes.len);
    }
    rc |= vx_buf_appends(out, ",\"response\":{");
    if (!r->silent) {
        if (r->speech.len) {
            rc |= render_speech(out, "outputSpeech", &r->speech, &warn);
            first = 0;
        }
        if (r->reprompt.len) {
            rc |= vx_buf_appends(out, first ? "" : ",");
            rc |= vx_buf_appends(out, "\"reprompt\":{");
            rc |= render_speech(out, "outputSpeech", &r->reprompt, &warn);
            rc |= vx_buf_appends(out, "}");
            first = 0;
        }
        if (r->card != VX_CARD_NONE) {
            rc |= vx_buf_appends(out, first ? "" : ",");
            rc |= render_card(r, out, &warn);
            first = 0;
        }
        if (r->directives.len) {
            rc |= vx_buf_appends(out, first ? "\"directives\":[" : ",\"directives\":[");
            rc |= vx_buf_append(out, r->directives.data, r->directives.len);
            rc |= vx_buf_appends(out, "]");
            first = 0;
        }
        if (r->end_session >= 0) {
            rc |= vx_buf_appendf(out, "%s\"shouldEndSession\":%s", first ? "" : ",",
                                 r->end_session ? "true" : "false");
        }
    }
    rc |= vx_buf_appends(out, "}}");
    if (rc)
        return VX_ENOMEM;
    if (ends_with_question(&r->speech) && !r->reprompt.len && r->end_session != 1)
        warn |= VX_RW_QUESTION_WITHOUT_REPROMPT;
    if (r->speech.len && vx_ssml_check(r->speech.data, r->speech.len) != 0)
        warn |= VX_RW_BAD_SSML;
    if (out->len - start > VX_RESPONSE_MAX) {
        warn |= VX_RW_TOO_LARGE;
        out->len = start;
        rc = vx_buf_appends(out, "{\"version\":\"1.0\",\"response\":{\"outputSpeech\":{\"type\":"
                                 "\"PlainText\",\"text\":\"Sorry, something went wrong.\"},"
                                 "\"shouldEndSession\":true}}");
    }
    if (warnings)
        *warnings = warn;
    return rc ? VX_ENOMEM : 0;
}

/* Tags must nest, attribute quotes must close, '&' must start a known entity. */
int vx_ssml_check(const char *s, size_t len)
{
    char stack[32][24];
    int depth = 0;
    size_t i = 0;
    while (i < len) {
        if (s[i] == '&') {
            static const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int ok = 0;
            for (size_t k = 0; k < VX_ARRAY_LEN(ents); k++) {
                size_t n = strlen(ents[k]);
                if (i + n <= len && memcmp(s + i, ents[k], n) == 0) {
                    i += n;
                    ok = 1;
                    break;
                }
            }
            if (!ok)
                return -1;
            continue;
        }
        if (s[i] == '>')
            return -1;
        if (s[i] != '<') {
            i++;
            continue;
        }
        {
            size_t j = i + 1, nstart, nlen;
            int closing = 0, selfclose = 0;
            char quote = 0;
            if (j < len && s[j] == '/') {
                closing = 1;
                j++;
            }
            nstart = j;
            while (j < len && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                               s[j] == ':' || s[j] == '-'))
                j++;
            nlen = j - nstart;
            if (nlen == 0 || nlen >= sizeof(stack[0]))
                return -1;
            for (; j < len; j++) {
                if (quote) {
                    if (s[j] == quote)
                        quote = 0;
                } else if (s[j] == '"' || s[j] == '\'') {
                    quote = s[j];
                } else if (s[j] == '<') {
                    return -1;
                } else if (s[j] == '>') {
                    break;
                }
            }
            if (j >= len)
                return -1;
            selfclose = s[j - 1] == '/';
            if (closing) {
                if (depth == 0 || strlen(stack[depth - 1]) != nlen ||
                    memcmp(stack[depth - 1], s + nstart, nlen) != 0)
                    return -1;
                depth--;
            } else if (!selfclose) {
                if (depth == (int)VX_ARRAY_LEN(stack))
                    return -1;
                memcpy(stack[depth], s + nstart, nlen);
                stack[depth][nlen] = '\0';
                depth++;
            }
            i = j + 1;
        }
    }
    return depth == 0 ? 0 : -1;
}
