/*
 * A strict JSON reader: recursive descent over the text, nodes appended to one
 * growing array (linked by index, so growing it moves nothing that matters),
 * decoded strings written to one buffer sized from the text: a decoded string
 * or a copied number never takes more bytes than its source plus the byte
 * that ends it, so len + 2 always suffices.
 */
#include "voxcart/jscan.h"

#include <stdlib.h>
#include <string.h>

struct scan {
    struct vx_jdoc *d;
    const char *p, *end, *text;
    char *out; /* next free byte of d->strings */
    struct vx_err *e;
    int depth;
    const char *what; /* the first failure, for vx_json_check */
};

static int fail(struct scan *s, const char *what)
{
    if (s->p < s->end && *s->p == '/')
        what = "comments are not allowed in JSON";
    s->what = what;
    vx_err_set(s->e, VX_EPARSE, "at byte %zu: %s", (size_t)(s->p - s->text), what);
    return VX_EPARSE;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static long node_new(struct scan *s, enum vx_jtype type)
{
    struct vx_jdoc *d = s->d;
    struct vx_jnode *n;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct vx_jnode *v;
        if (cap > UINT32_MAX)
            return vx_err_set(s->e, VX_ERANGE, "document has too many values");
        v = realloc(d->nodes, cap * sizeof(*v));
        if (!v)
            return vx_err_set(s->e, VX_ENOMEM, "out of memory");
        d->nodes = v;
        d->cap = cap;
    }
    n = &d->nodes[d->n];
    memset(n, 0, sizeof(*n));
    n->type = type;
    n->start = (size_t)(s->p - s->text);
    return (long)d->n++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* At the opening quote: decodes the string into s->out; *str and *len describe it. */
static int scan_string(struct scan *s, const char **str, size_t *len)
{
    char *o = s->out, *begin = s->out;
    s->p++; /* the quote */
    for (;;) {
        unsigned char c;
        if (s->p >= s->end)
            return fail(s, "unterminated string");
        c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            break;
        }
        if (c < 0x20)
            return fail(s, "control character in string");
        if (c != '\\') {
            /* a run of plain bytes at once */
            const char *q = s->p;
            while (q < s->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) {
                if ((unsigned char)*q >= 0x80) {
                    /* what is read is spoken back: bytes that are not UTF-8 never pass */
                    size_t k = vx_utf8_seq(q, (size_t)(s->end - q));
                    if (k == 0) {
                        s->p = q;
                        return fail(s, "invalid UTF-8 in string");
                    }
                    q += k;
                } else {
                    q++;
                }
            }
            memcpy(o, s->p, (size_t)(q - s->p));
            o += q - s->p;
            s->p = q;
            continue;
        }
        if (s->end - s->p < 2)
            return fail(s, "unterminated string");
        switch (s->p[1]) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (s->end - s->p < 6 || hex4(s->p + 2, &cp) != 0)
                return fail(s, "bad \\u escape");
            if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 12 && s->p[6] == '\\' &&
                s->p[7] == 'u' && hex4(s->p + 8, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s->p += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd; /* a lone surrogate */
            }
            if (cp == 0) {
                /* every consumer compares C strings: a NUL would end a name or an ID early */
                return fail(s, "\\u0000 in string");
            }
            o = utf8_put(o, cp);
            s->p += 4;
            break;
        }
        default:
            return fail(s, "bad escape in string");
        }
        s->p += 2;
    }
    *o++ = '\0';
    *str = begin;
    *len = (size_t)(o - begin - 1);
    s->out = o;
    return 0;
}

static int is_digit(const struct scan *s, const char *p)
{
    return p < s->end && *p >= '0' && *p <= '9';
}

static int scan_number(struct scan *s, struct vx_jnode *n)
{
    const char *p = s->p;
    if (p < s->end && *p == '-')
        p++;
    if (!is_digit(s, p))
        return fail(s, "bad number");
    if (*p == '0') {
        p++;
        if (is_digit(s, p))
            return fail(s, "leading zero in number");
    } else {
        while (is_digit(s, p))
            p++;
    }
    if (p < s->end && *p == '.') {
        p++;
        if (!is_digit(s, p))
            return fail(s, "bad number");
        while (is_digit(s, p))
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(s, p))
            return fail(s, "bad number");
        while (is_digit(s, p))
            p++;
    }
    n->str = s->out;
    n->len = (size_t)(p - s->p);
    memcpy(s->out, s->p, n->len);
    s->out[n->len] = '\0';
    s->out += n->len + 1;
    s->p = p;
    return 0;
}

static int scan_literal(struct scan *s, const char *word, size_t wlen)
{
    if ((size_t)(s->end - s->p) < wlen || memcmp(s->p, word, wlen) != 0)
        return fail(s, "unexpected character");
    s->p += wlen;
    return 0;
}

static int scan_value(struct scan *s, long *out);

/* Arrays and objects: children linked through first/next, in order. */
static int scan_container(struct scan *s, long idx, int object)
{
    char close = object ? '}' : ']';
    long prev = -1;
    int rc;

    if (++s->depth > VX_JSCAN_DEPTH)
        return fail(s, "nested too deeply");
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen;
        long child = 0;
        skip_ws(s);
        if (s->p < s->end && *s->p == close)
            return fail(s, "trailing comma"); /* the empty container returned above */
        if (object) {
            if (s->p >= s->end || *s->p != '"')
                return fail(s, "expected a member name");
            if ((rc = scan_string(s, &key, &klen)) != 0)
                return rc;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return fail(s, "expected ':'");
            s->p++;
            skip_ws(s);
        }
        if ((rc = scan_value(s, &child)) != 0)
            return rc;
        s->d->nodes[child].key = key;
        if (prev < 0)
            s->d->nodes[idx].first = (uint32_t)child;
        else
            s->d->nodes[prev].next = (uint32_t)child;
        s->d->nodes[idx].count++;
        prev = child;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            s->depth--;
            return 0;
        }
        return fail(s, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int scan_value(struct scan *s, long *out)
{
    long idx;
    int rc;

    if (s->p >= s->end)
        return fail(s, "unexpected end of input");
    switch (*s->p) {
    case '{':
    case '[':
        idx = node_new(s, *s->p == '{' ? VX_JOBJECT : VX_JARRAY);
        if (idx < 0)
            return (int)idx;
        rc = scan_container(s, idx, s->d->nodes[idx].type == VX_JOBJECT);
        break;
    case '"':
        idx = node_new(s, VX_JSTRING);
        if (idx < 0)
            return (int)idx;
        {
            const char *str = NULL;
            size_t len = 0;
            rc = scan_string(s, &str, &len);
            s->d->nodes[idx].str = str;
            s->d->nodes[idx].len = len;
        }
        break;
    case 't':
        idx = node_new(s, VX_JTRUE);
        rc = idx < 0 ? (int)idx : scan_literal(s, "true", 4);
        break;
    case 'f':
        idx = node_new(s, VX_JFALSE);
        rc = idx < 0 ? (int)idx : scan_literal(s, "false", 5);
        break;
    case 'n':
        idx = node_new(s, VX_JNULL);
        rc = idx < 0 ? (int)idx : scan_literal(s, "null", 4);
        break;
    default:
        if (*s->p != '-' && (*s->p < '0' || *s->p > '9'))
            return fail(s, "unexpected character");
        idx = node_new(s, VX_JNUMBER);
        rc = idx < 0 ? (int)idx : scan_number(s, &s->d->nodes[idx]);
        break;
    }
    if (rc)
        return rc;
    s->d->nodes[idx].end = (size_t)(s->p - s->text);
    *out = idx;
    return 0;
}

static int parse(struct vx_jdoc *d, const char *text, size_t len, struct scan *ps,
                 struct vx_err *e);

int vx_jdoc_parse(struct vx_jdoc *d, const char *text, size_t len, struct vx_err *e)
{
    struct scan s;
    return parse(d, text, len, &s, e);
}

int vx_json_check(const char *text, size_t len, const char *name, struct vx_err *e)
{
    struct vx_jdoc d;
    struct scan s;
    size_t line = 1, col = 1, at;
    int rc = parse(&d, text, len, &s, NULL);
    if (rc == 0) {
        vx_jdoc_free(&d);
        return 0;
    }
    if (rc != VX_EPARSE)
        return vx_err_set(e, rc, "%s: out of memory", name);
    at = (size_t)(s.p - s.text);
    for (size_t i = 0; i < at; i++) {
        if (s.text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)s.text[i] & 0xc0) != 0x80) {
            col++; /* columns count characters, not the bytes of one */
        }
    }
    return vx_err_set(e, VX_EPARSE, "%s: line %zu, column %zu: %s", name, line, col,
                      s.what ? s.what : "not JSON");
}

static int parse(struct vx_jdoc *d, const char *text, size_t len, struct scan *ps, struct vx_err *e)
{
    struct scan s;
    long root;
    int rc;

    memset(d, 0, sizeof(*d));
    d->strings = malloc(len + 2);
    if (!d->strings)
        return vx_err_set(e, VX_ENOMEM, "out of memory");
    memset(&s, 0, sizeof(s));
    s.d = d;
    s.text = s.p = text ? text : "";
    s.end = s.p + (text ? len : 0);
    s.out = d->strings;
    s.e = e;
    skip_ws(&s);
    rc = scan_value(&s, &root);
    if (rc == 0) {
        skip_ws(&s);
        if (s.p != s.end)
            rc = fail(&s, "unexpected data after the JSON value");
    }
    *ps = s;
    if (rc) {
        vx_jdoc_free(d);
        return rc;
    }
    return 0;
}

void vx_jdoc_free(struct vx_jdoc *d)
{
    free(d->nodes);
    free(d->strings);
    memset(d, 0, sizeof(*d));
}

const struct vx_jnode *vx_jroot(const struct vx_jdoc *d)
{
    return d->n ? &d->nodes[0] : NULL;
}

const struct vx_jnode *vx_jfirst(const struct vx_jdoc *d, const struct vx_jnode *n)
{
    if (!n || (n->type != VX_JOBJECT && n->type != VX_JARRAY) || !n->first)
        return NULL;
    return &d->nodes[n->first];
}

const struct vx_jnode *vx_jnext(const struct vx_jdoc *d, const struct vx_jnode *n)
{
    return n && n->next ? &d->nodes[n->next] : NULL;
}

const struct vx_jnode *vx_jget(const struct vx_jdoc *d, const struct vx_jnode *obj, const char *key)
{
    const struct vx_jnode *found = NULL;
    if (!obj || obj->type != VX_JOBJECT)
        return NULL;
    for (const struct vx_jnode *c = vx_jfirst(d, obj); c; c = vx_jnext(d, c))
        if (strcmp(c->key, key) == 0)
            found = c;
    return found;
}

const char *vx_jget_str(const struct vx_jdoc *d, const struct vx_jnode *obj, const char *key)
{
    const struct vx_jnode *n = vx_jget(d, obj, key);
    return n && n->type == VX_JSTRING ? n->str : NULL;
}

void vx_jget_strcpy(const struct vx_jdoc *d, const struct vx_jnode *obj, const char *key, char *out,
                    size_t n)
{
    const char *v = vx_jget_str(d, obj, key);
    if (vx_strlcpy(out, v ? v : "", n) != 0)
        out[0] = '\0';
}

const struct vx_jnode *vx_jdoc_object(struct vx_jdoc *d, const char *json)
{
    const struct vx_jnode *root;
    if (!json || vx_jdoc_parse(d, json, strlen(json), NULL) != 0)
        return NULL;
    root = vx_jroot(d);
    if (!root || root->type != VX_JOBJECT) {
        vx_jdoc_free(d);
        return NULL;
    }
    return root;
}

int vx_jint64(const struct vx_jnode *n, int64_t *out)
{
    long long v;
    int rc;
    if (!n || n->type != VX_JNUMBER)
        return VX_EPARSE;
    rc = vx_parse_ll(n->str, INT64_MIN, INT64_MAX, &v);
    if (rc)
        return rc;
    *out = v;
    return 0;
}
