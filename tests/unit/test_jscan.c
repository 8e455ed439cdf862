/*
 * The strict JSON reader: valid documents and their node tree (keys, order,
 * counts, spans), string and number decoding, every kind of malformed text it
 * must refuse with a message naming the byte, nesting limits, text that is not
 * NUL-terminated, and a corruption loop that must never crash (run under
 * ASan/UBSan). Every text is copied into a buffer of exactly its length, so a
 * read past the end is caught.
 */
#include "voxcart/jscan.h"
#include "vxtest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One parsed document together with the exact-size copy of its text. */
struct doc {
    struct vx_jdoc d;
    struct vx_err e;
    char *text;
    size_t len;
    int rc;
};

static int doc_parse_n(struct doc *p, const char *s, size_t len)
{
    memset(&p->d, 0, sizeof(p->d));
    vx_err_clear(&p->e);
    p->len = len;
    p->text = malloc(len ? len : 1);
    if (!p->text) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (len)
        memcpy(p->text, s, len);
    p->rc = vx_jdoc_parse(&p->d, p->text, len, &p->e);
    return p->rc;
}

static int doc_parse(struct doc *p, const char *s)
{
    return doc_parse_n(p, s, strlen(s));
}

static void doc_free(struct doc *p)
{
    vx_jdoc_free(&p->d);
    free(p->text);
    p->text = NULL;
}

/* Whether n's bytes in the text are exactly want. */
static int span_is(const struct doc *p, const struct vx_jnode *n, const char *want)
{
    size_t wl = strlen(want);
    if (!n || n->end < n->start || n->end > p->len)
        return 0;
    if (n->end - n->start != wl)
        return 0;
    return memcmp(p->text + n->start, want, wl) == 0;
}

/* Whether n's str (len bytes, possibly with NULs) is exactly want[0..wl). */
static int str_is_n(const struct vx_jnode *n, const char *want, size_t wl)
{
    if (!n || n->len != wl)
        return 0;
    if (wl == 0)
        return 1;
    return n->str != NULL && memcmp(n->str, want, wl) == 0;
}

static int str_is(const struct vx_jnode *n, const char *want)
{
    return str_is_n(n, want, strlen(want));
}

/* ---- valid documents ---------------------------------------------------- */

static void test_scalars_at_root(void)
{
    static const struct {
        const char *text;
        enum vx_jtype type;
    } cases[] = {
        {"null", VX_JNULL},   {"true", VX_JTRUE},    {"false", VX_JFALSE},     {"0", VX_JNUMBER},
        {"-0", VX_JNUMBER},   {"42", VX_JNUMBER},    {"-1.25e-3", VX_JNUMBER}, {"1E+2", VX_JNUMBER},
        {"\"\"", VX_JSTRING}, {"\"x\"", VX_JSTRING}, {"[]", VX_JARRAY},        {"{}", VX_JOBJECT},
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct doc p;
        const struct vx_jnode *r;
        VX_CHECK_INT(doc_parse(&p, cases[i].text), 0);
        r = vx_jroot(&p.d);
        VX_CHECK(r != NULL);
        if (r) {
            VX_CHECK_INT(r->type, cases[i].type);
            VX_CHECK(r->key == NULL);
            VX_CHECK_INT(r->next, 0);
            VX_CHECK(span_is(&p, r, cases[i].text));
            if (r->type == VX_JNUMBER)
                VX_CHECK(str_is(r, cases[i].text));
            if (r->type == VX_JARRAY || r->type == VX_JOBJECT) {
                VX_CHECK_INT(r->count, 0);
                VX_CHECK_INT(r->first, 0);
                VX_CHECK(vx_jfirst(&p.d, r) == NULL);
            }
        }
        if (p.rc != 0)
            fprintf(stderr, "  text '%s': %s\n", cases[i].text, p.e.msg);
        doc_free(&p);
    }
}

static void test_nested_document(void)
{
    struct doc p;
    const struct vx_jnode *r, *n, *c, *o;
    const char *t = "{\"s\":\"hi\",\"n\":-12.5,\"t\":true,\"f\":false,\"z\":null,"
                    "\"a\":[1,\"two\",[],{}],\"o\":{\"x\":{\"y\":[true]}},\"e\":{},\"ea\":[]}";
    VX_CHECK_INT(doc_parse(&p, t), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r != NULL && r->type == VX_JOBJECT);
    if (!r || p.rc != 0) {
        doc_free(&p);
        return;
    }
    VX_CHECK(r == &p.d.nodes[0]);
    VX_CHECK_INT(r->count, 9);
    VX_CHECK(span_is(&p, r, t));

    n = vx_jget(&p.d, r, "s");
    VX_CHECK(n && n->type == VX_JSTRING && str_is(n, "hi"));
    VX_CHECK(span_is(&p, n, "\"hi\""));
    VX_CHECK_STR(vx_jget_str(&p.d, r, "s"), "hi");

    n = vx_jget(&p.d, r, "n");
    VX_CHECK(n && n->type == VX_JNUMBER && str_is(n, "-12.5"));
    VX_CHECK(span_is(&p, n, "-12.5"));
    VX_CHECK(vx_jget_str(&p.d, r, "n") == NULL);

    n = vx_jget(&p.d, r, "t");
    VX_CHECK(n && n->type == VX_JTRUE && span_is(&p, n, "true"));
    n = vx_jget(&p.d, r, "f");
    VX_CHECK(n && n->type == VX_JFALSE && span_is(&p, n, "false"));
    n = vx_jget(&p.d, r, "z");
    VX_CHECK(n && n->type == VX_JNULL && span_is(&p, n, "null"));
    VX_CHECK(vx_jget_str(&p.d, r, "t") == NULL);
    VX_CHECK(vx_jget_str(&p.d, r, "z") == NULL);

    /* The array: order, count, no keys on elements. */
    n = vx_jget(&p.d, r, "a");
    VX_CHECK(n && n->type == VX_JARRAY);
    VX_CHECK(span_is(&p, n, "[1,\"two\",[],{}]"));
    VX_CHECK_STR(n ? n->key : NULL, "a");
    if (n) {
        VX_CHECK_INT(n->count, 4);
        VX_CHECK(vx_jget(&p.d, n, "a") == NULL); /* not an object */
        c = vx_jfirst(&p.d, n);
        VX_CHECK(c && c->type == VX_JNUMBER && str_is(c, "1") && c->key == NULL);
        c = c ? vx_jnext(&p.d, c) : NULL;
        VX_CHECK(c && c->type == VX_JSTRING && str_is(c, "two") && c->key == NULL);
        VX_CHECK(span_is(&p, c, "\"two\""));
        c = c ? vx_jnext(&p.d, c) : NULL;
        VX_CHECK(c && c->type == VX_JARRAY && c->count == 0 && c->key == NULL);
        VX_CHECK(c && vx_jfirst(&p.d, c) == NULL);
        c = c ? vx_jnext(&p.d, c) : NULL;
        VX_CHECK(c && c->type == VX_JOBJECT && c->count == 0 && c->key == NULL);
        VX_CHECK(span_is(&p, c, "{}"));
        VX_CHECK(c && vx_jnext(&p.d, c) == NULL);
    }

    /* Nested objects: lookups through levels and the exact span. */
    o = vx_jget(&p.d, r, "o");
    VX_CHECK(o && o->type == VX_JOBJECT && o->count == 1);
    VX_CHECK(span_is(&p, o, "{\"x\":{\"y\":[true]}}"));
    n = vx_jget(&p.d, o, "x");
    VX_CHECK(n && n->type == VX_JOBJECT);
    VX_CHECK(span_is(&p, n, "{\"y\":[true]}"));
    VX_CHECK_STR(n ? n->key : NULL, "x");
    n = vx_jget(&p.d, n, "y");
    VX_CHECK(n && n->type == VX_JARRAY && n->count == 1);
    VX_CHECK(span_is(&p, n, "[true]"));
    c = n ? vx_jfirst(&p.d, n) : NULL;
    VX_CHECK(c && c->type == VX_JTRUE && c->key == NULL && span_is(&p, c, "true"));

    n = vx_jget(&p.d, r, "e");
    VX_CHECK(n && n->type == VX_JOBJECT && n->count == 0 && n->first == 0);
    VX_CHECK(n && vx_jfirst(&p.d, n) == NULL);
    VX_CHECK(vx_jget(&p.d, n, "x") == NULL);
    n = vx_jget(&p.d, r, "ea");
    VX_CHECK(n && n->type == VX_JARRAY && n->count == 0 && n->first == 0);

    /* Missing keys and NULL objects. */
    VX_CHECK(vx_jget(&p.d, r, "missing") == NULL);
    VX_CHECK(vx_jget(&p.d, r, "") == NULL);
    VX_CHECK(vx_jget(&p.d, r, "S") == NULL);
    VX_CHECK(vx_jget_str(&p.d, r, "missing") == NULL);
    VX_CHECK(vx_jget(&p.d, NULL, "s") == NULL);
    VX_CHECK(vx_jget(&p.d, vx_jget(&p.d, r, "missing"), "s") == NULL);
    VX_CHECK(vx_jget_str(&p.d, NULL, "s") == NULL);
    VX_CHECK(vx_jget_str(&p.d, vx_jget(&p.d, r, "nope"), "s") == NULL);
    VX_CHECK(vx_jget_str(&p.d, r, "o") == NULL);
    VX_CHECK(vx_jget_str(&p.d, r, "a") == NULL);
    /* Lookup on a scalar finds nothing. */
    VX_CHECK(vx_jget(&p.d, vx_jget(&p.d, r, "s"), "s") == NULL);
    VX_CHECK(vx_jfirst(&p.d, vx_jget(&p.d, r, "s")) == NULL);

    /* Iteration order over the root: document order, keys set, count agrees. */
    {
        static const char *const keys[] = {"s", "n", "t", "f", "z", "a", "o", "e", "ea"};
        uint32_t k = 0;
        for (c = vx_jfirst(&p.d, r); c; c = vx_jnext(&p.d, c)) {
            if (k < 9)
                VX_CHECK_STR(c->key, keys[k]);
            VX_CHECK(c->start > r->start && c->end < r->end);
            k++;
            if (k > 100)
                break;
        }
        VX_CHECK_INT(k, r->count);
    }
    VX_CHECK(vx_jnext(&p.d, r) == NULL);
    doc_free(&p);
}

static void test_duplicate_key_last_wins(void)
{
    struct doc p;
    const struct vx_jnode *r, *n;
    VX_CHECK_INT(doc_parse(&p, "{\"k\":\"first\",\"other\":1,\"k\":\"last\"}"), 0);
    r = vx_jroot(&p.d);
    VX_CHECK_STR(vx_jget_str(&p.d, r, "k"), "last");
    n = vx_jget(&p.d, r, "k");
    VX_CHECK(n && span_is(&p, n, "\"last\""));
    n = vx_jget(&p.d, r, "other");
    VX_CHECK(n && str_is(n, "1"));
    doc_free(&p);

    /* Different types for the same name: the last one counts. */
    VX_CHECK_INT(doc_parse(&p, "{\"k\":{\"a\":1},\"k\":[2]}"), 0);
    r = vx_jroot(&p.d);
    n = vx_jget(&p.d, r, "k");
    VX_CHECK(n && n->type == VX_JARRAY && span_is(&p, n, "[2]"));
    doc_free(&p);

    VX_CHECK_INT(doc_parse(&p, "{\"k\":\"s\",\"k\":5}"), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(vx_jget_str(&p.d, r, "k") == NULL);
    doc_free(&p);
}

static void test_whitespace_around_value(void)
{
    struct doc p;
    const struct vx_jnode *r, *n;
    const char *t = " \t\r\n{ \"a\" :\t[ 1 ,\r\n2 ] , \"b\"\n:\"c\" }\n\r\t ";
    VX_CHECK_INT(doc_parse(&p, t), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r && r->type == VX_JOBJECT && r->count == 2);
    VX_CHECK(span_is(&p, r, "{ \"a\" :\t[ 1 ,\r\n2 ] , \"b\"\n:\"c\" }"));
    n = vx_jget(&p.d, r, "a");
    VX_CHECK(n && n->count == 2 && span_is(&p, n, "[ 1 ,\r\n2 ]"));
    VX_CHECK_STR(vx_jget_str(&p.d, r, "b"), "c");
    doc_free(&p);

    VX_CHECK_INT(doc_parse(&p, "\n 7 \t"), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r && r->type == VX_JNUMBER && str_is(r, "7") && span_is(&p, r, "7"));
    doc_free(&p);
}

static void test_not_nul_terminated(void)
{
    struct doc p;
    const struct vx_jnode *r, *n;
    const char *t = "{\"a\":1}garbage";
    /* Only the first 7 bytes are the text (copied into an exact-size buffer). */
    VX_CHECK_INT(doc_parse_n(&p, t, 7), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r && r->type == VX_JOBJECT && r->count == 1);
    n = vx_jget(&p.d, r, "a");
    VX_CHECK(n && n->type == VX_JNUMBER && str_is(n, "1"));
    VX_CHECK(r && r->start == 0 && r->end == 7);
    doc_free(&p);

    /* A number that ends at the end of the buffer. */
    VX_CHECK_INT(doc_parse_n(&p, "12345", 3), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r && str_is(r, "123"));
    doc_free(&p);

    /* A literal cut by len is incomplete. */
    VX_CHECK_INT(doc_parse_n(&p, "true", 3), VX_EPARSE);
    doc_free(&p);
    VX_CHECK_INT(doc_parse_n(&p, "\"abc\"", 4), VX_EPARSE);
    doc_free(&p);
}

/* Many values: the node array and string buffer must grow without breaking pointers. */
static void test_large_documents(void)
{
    struct doc p;
    const struct vx_jnode *r, *c;
    size_t cap = 200000, len = 0;
    char *buf = malloc(cap);
    char want[32];
    int i, bad = 0;
    const int n = 5000;
    if (!buf)
        return;
    buf[len++] = '[';
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s\"s%d\\n\"", i ? "," : "", i);
    buf[len++] = ']';
    VX_CHECK_INT(doc_parse_n(&p, buf, len), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r && r->type == VX_JARRAY);
    VX_CHECK_INT(r ? r->count : 0, n);
    i = 0;
    for (c = r ? vx_jfirst(&p.d, r) : NULL; c; c = vx_jnext(&p.d, c), i++) {
        snprintf(want, sizeof(want), "s%d\n", i);
        if (!str_is(c, want) || c->type != VX_JSTRING || c->key)
            bad++;
        if (i > n)
            break;
    }
    VX_CHECK_INT(i, n);
    VX_CHECK_INT(bad, 0);
    doc_free(&p);

    len = 0;
    buf[len++] = '{';
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s\"k%d\":%d", i ? "," : "", i, i * 7);
    buf[len++] = '}';
    VX_CHECK_INT(doc_parse_n(&p, buf, len), 0);
    r = vx_jroot(&p.d);
    VX_CHECK_INT(r ? r->count : 0, n);
    bad = 0;
    for (i = 0; i < n; i++) {
        int64_t v = -1;
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        c = vx_jget(&p.d, r, key);
        if (!c || !c->key || strcmp(c->key, key) != 0 || vx_jint64(c, &v) != 0 || v != i * 7)
            bad++;
    }
    VX_CHECK_INT(bad, 0);
    doc_free(&p);
    free(buf);
}

/* ---- strings ------------------------------------------------------------ */

/* Parses the JSON string literal lit and checks it decodes to want[0..wl). */
static void check_string_n(const char *lit, const char *want, size_t wl)
{
    struct doc p;
    const struct vx_jnode *r;
    int ok;
    VX_CHECK_INT(doc_parse(&p, lit), 0);
    r = vx_jroot(&p.d);
    ok = r && r->type == VX_JSTRING && str_is_n(r, want, wl);
    VX_CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  literal %s: rc %d (%s), len %zu, want len %zu\n", lit, p.rc, p.e.msg,
                r ? r->len : (size_t)0, wl);
    }
    VX_CHECK(r && span_is(&p, r, lit));
    doc_free(&p);
}

static void check_string(const char *lit, const char *want)
{
    check_string_n(lit, want, strlen(want));
}

static void test_string_escapes(void)
{
    check_string("\"\"", "");
    check_string("\"plain\"", "plain");
    check_string("\"\\\"\"", "\"");
    check_string("\"\\\\\"", "\\");
    check_string("\"\\/\"", "/");
    check_string("\"\\b\"", "\b");
    check_string("\"\\f\"", "\f");
    check_string("\"\\n\"", "\n");
    check_string("\"\\r\"", "\r");
    check_string("\"\\t\"", "\t");
    check_string("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", "a\"b\\c/d\be\ff\ng\rh\ti");
    check_string("\"\\u0041\"", "A");
    check_string("\"x\\u0041y\"", "xAy");
    check_string("\"\\u00e9\"", "\xc3\xa9");
    check_string("\"\\u00E9\"", "\xc3\xa9");
    check_string("\"\\u007f\"", "\x7f");
    check_string("\"\\u0080\"", "\xc2\x80");
    check_string("\"\\u07ff\"", "\xdf\xbf");
    check_string("\"\\u0800\"", "\xe0\xa0\x80");
    check_string("\"\\u20ac\"", "\xe2\x82\xac");
    check_string("\"\\uffff\"", "\xef\xbf\xbf");
    /* A surrogate pair is one 4-byte sequence. */
    check_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    check_string("\"\\uD83D\\uDE00!\"", "\xf0\x9f\x98\x80!");
    check_string("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf");
    /* Lone surrogates become U+FFFD; what follows is kept. */
    check_string("\"\\ud83d\"", "\xef\xbf\xbd");
    check_string("\"\\ude00\"", "\xef\xbf\xbd");
    check_string("\"a\\ud83db\"", "a\xef\xbf\xbd"
                                  "b");
    check_string("\"\\ud83d\\u0041\"", "\xef\xbf\xbd"
                                       "A");
    /* Raw UTF-8 passes through unchanged. */
    check_string("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* DEL (0x7f) is not a control character in JSON's sense. */
    check_string("\"a\x7f"
                 "b\"",
                 "a\x7f"
                 "b");
}

static void test_keys_are_decoded(void)
{
    struct doc p;
    const struct vx_jnode *r, *n;
    VX_CHECK_INT(doc_parse(&p, "{\"a\\u0062\":1,\"caf\\u00e9\":\"x\",\"q\\\"\":true}"), 0);
    r = vx_jroot(&p.d);
    n = vx_jget(&p.d, r, "ab");
    VX_CHECK(n && n->type == VX_JNUMBER);
    VX_CHECK_STR(n ? n->key : NULL, "ab");
    VX_CHECK_STR(vx_jget_str(&p.d, r, "caf\xc3\xa9"), "x");
    n = vx_jget(&p.d, r, "q\"");
    VX_CHECK(n && n->type == VX_JTRUE);
    VX_CHECK(vx_jget(&p.d, r, "a\\u0062") == NULL);
    doc_free(&p);
}

/* ---- numbers ------------------------------------------------------------ */

static int int64_of(const char *text, int64_t *out)
{
    struct doc p;
    int rc = -12345;
    *out = 0;
    if (doc_parse(&p, text) == 0) {
        const struct vx_jnode *r = vx_jroot(&p.d);
        VX_CHECK(r && r->type == VX_JNUMBER && str_is(r, text));
        if (r)
            rc = vx_jint64(r, out);
    } else {
        fprintf(stderr, "  '%s' did not parse: %s\n", text, p.e.msg);
    }
    doc_free(&p);
    return rc;
}

static void test_numbers(void)
{
    int64_t v;
    VX_CHECK_INT(int64_of("0", &v), 0);
    VX_CHECK_INT(v, 0);
    VX_CHECK_INT(int64_of("-0", &v), 0);
    VX_CHECK_INT(v, 0);
    VX_CHECK_INT(int64_of("7", &v), 0);
    VX_CHECK_INT(v, 7);
    VX_CHECK_INT(int64_of("-12", &v), 0);
    VX_CHECK_INT(v, -12);
    VX_CHECK_INT(int64_of("1595321000000", &v), 0);
    VX_CHECK_INT(v, 1595321000000LL);
    VX_CHECK_INT(int64_of("9223372036854775807", &v), 0);
    VX_CHECK(v == INT64_MAX);
    VX_CHECK_INT(int64_of("-9223372036854775808", &v), 0);
    VX_CHECK(v == INT64_MIN);
    VX_CHECK_INT(int64_of("9223372036854775808", &v), VX_ERANGE);
    VX_CHECK_INT(int64_of("-9223372036854775809", &v), VX_ERANGE);
    VX_CHECK_INT(int64_of("99999999999999999999999", &v), VX_ERANGE);
    VX_CHECK(int64_of("1.5", &v) != 0);
    VX_CHECK(int64_of("-0.5", &v) != 0);
    VX_CHECK(int64_of("1e3", &v) != 0);
    VX_CHECK(int64_of("1E3", &v) != 0);
    VX_CHECK(int64_of("2e-1", &v) != 0);

    /* The text as written is kept for every number form. */
    {
        static const char *const forms[] = {
            "0",    "-0",   "0.0",    "123.456", "-1e10",
            "1E+2", "1e-2", "0.5E-7", "-0.0e0",  "1234567890123456789012345678901234567890"};
        size_t i;
        for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
            struct doc p;
            const struct vx_jnode *r;
            char t[80];
            snprintf(t, sizeof(t), "[%s]", forms[i]);
            VX_CHECK_INT(doc_parse(&p, t), 0);
            r = vx_jroot(&p.d);
            r = r ? vx_jfirst(&p.d, r) : NULL;
            VX_CHECK(r && r->type == VX_JNUMBER && str_is(r, forms[i]) && span_is(&p, r, forms[i]));
            doc_free(&p);
        }
    }

    /* vx_jint64 on a node that is not a number fails. */
    {
        struct doc p;
        VX_CHECK_INT(doc_parse(&p, "[\"12\",true,null]"), 0);
        const struct vx_jnode *c = vx_jfirst(&p.d, vx_jroot(&p.d));
        for (; c; c = vx_jnext(&p.d, c))
            VX_CHECK(vx_jint64(c, &v) != 0);
        VX_CHECK(vx_jint64(vx_jroot(&p.d), &v) != 0);
        doc_free(&p);
    }
}

/* ---- rejected texts ----------------------------------------------------- */

static void expect_reject_n(const char *text, size_t len)
{
    struct doc p;
    int rc = doc_parse_n(&p, text, len);
    VX_CHECK_INT(rc, VX_EPARSE);
    if (rc != VX_EPARSE) {
        fprintf(stderr, "  accepted or wrong code for '%.*s' (len %zu)\n", (int)len, text, len);
    } else if (!strstr(p.e.msg, "byte")) {
        VX_CHECK(strstr(p.e.msg, "byte") != NULL);
        fprintf(stderr, "  message for '%.*s' does not name a byte: '%s'\n", (int)len, text,
                p.e.msg);
    }
    /* d holds nothing: no root, and freeing it anyway is harmless. */
    if (rc != 0)
        VX_CHECK(vx_jroot(&p.d) == NULL);
    doc_free(&p);
}

static void expect_reject(const char *text)
{
    expect_reject_n(text, strlen(text));
}

static void test_rejected(void)
{
    static const char *const bad[] = {
        "", " ", " \t\r\n", "{", "}", "[", "]", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "[1,,2]",
        "[1 2]", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{,}", "{a:1}", "{1:2}", "{'a':1}", "'x'", "[}",
        "{]", "{\"a\":1]", "[1}", "{\"a\"}", "{\"a\":}", "{:1}",
        /* numbers */
        "01", "00", "-01", "-", "--1", "1.", "1.e3", ".5", "-.5", "1e", "1e+", "1E-", "+1", "0x10",
        "1.5.2", "NaN", "-NaN", "Infinity", "-Infinity", "[1e]",
        /* literals */
        "tru", "nul", "fals", "True", "TRUE", "Null", "nulll", "truex", "[tru]", "{\"a\":nul}",
        /* strings */
        "\"abc", "\"", "\"\\\"",
        "\"a\x01"
        "b\"",
        "\"a\nb\"", "\"a\tb\"", "\"\x1f\"", "\"\\x\"", "\"\\a\"", "\"\\'\"", "\"\\U0041\"",
        "\"\\u12G4\"", "\"\\u12\"", "\"\\u\"", "\"\\u004\"", "{\"a\x01\":1}", "{\"a\":\"b}",
        /* after the value */
        "{} x", "1 2", "{}{}", "[] []", "{} // c", "{} /* c */", "/* c */ {}", "// c\n{}", "{}}",
        "[1]]", "\"a\" \"b\"",
        /* whitespace RFC 8259 does not list */
        "\f1", "\v1", "[1\f]"};
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_reject(bad[i]);
    /* An escaped NUL, in a value or a name: every reader compares C strings. */
    expect_reject("\"\\u0000\"");
    expect_reject("\"a\\u0000b\"");
    expect_reject("{\"applicationId\\u0000x\":\"y\"}");
    expect_reject("{\"a\":\"amzn1.ask.skill.ok\\u0000evil\"}");
    /* Bytes that are not UTF-8 (RFC 3629): stray continuation, overlong forms, surrogates,
       above U+10FFFF, cut sequences, bytes that never occur. */
    {
        static const char *const bad_utf8[] = {
            "\"\x80\"",         "\"a\xbf\"",        "\"\xc0\xaf\"",         "\"\xc1\xbf\"",
            "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"",
            "\"\xc3\"",         "\"\xe2\x82\"",     "\"\xf0\x9f\x98\"",     "\"\xfe\"",
            "\"\xff\"",         "{\"k\xe9y\":1}",   "\"caf\xe9\""};
        for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++)
            expect_reject(bad_utf8[i]);
    }
    /* A raw NUL byte inside a string, and a NUL after the value. */
    expect_reject_n("\"a\0b\"", 5);
    expect_reject_n("{}\0", 3);
    expect_reject_n("\0", 1);
}

static void test_error_names_offset(void)
{
    struct doc p;
    VX_CHECK_INT(doc_parse(&p, "{\"a\" 1}"), VX_EPARSE);
    VX_CHECK(strstr(p.e.msg, "byte") != NULL);
    VX_CHECK_INT(p.e.code, VX_EPARSE);
    doc_free(&p);
}

/* vx_json_check, for files people write: the place as line and column, and the reason. */
static void check_place(const char *text, const char *want)
{
    struct vx_err e;
    vx_err_clear(&e);
    VX_CHECK_INT(vx_json_check(text, strlen(text), "f.json", &e), VX_EPARSE);
    VX_CHECK_STR(e.msg, want);
}

static void test_check_names_place(void)
{
    struct vx_err e;
    vx_err_clear(&e);
    VX_CHECK_INT(vx_json_check("{\"a\": [1, 2]}\n", 14, "f.json", &e), 0);
    check_place("{\"a\": 1,\n}", "f.json: line 2, column 1: trailing comma");
    check_place("[1,\n 2,\n]", "f.json: line 3, column 1: trailing comma");
    check_place("{\"a\": 1}\nx", "f.json: line 2, column 1: unexpected data after the JSON value");
    check_place("{\n  // note\n  \"a\": 1}",
                "f.json: line 2, column 3: comments are not allowed in JSON");
    check_place("{\"a\": 1} /* c */",
                "f.json: line 1, column 10: comments are not allowed in JSON");
    check_place("{\"\xc3\xa9\": \"\\u0000\"}", "f.json: line 1, column 8: \\u0000 in string");
    check_place("{\"a\": \"\xff\"}", "f.json: line 1, column 8: invalid UTF-8 in string");
}

static void test_failure_leaves_nothing(void)
{
    struct vx_jdoc d;
    struct vx_err e;
    const char *t = "{\"a\":[1,2,{\"b\":\"ccc\"}],\"d\":tru}";
    memset(&d, 0, sizeof(d));
    vx_err_clear(&e);
    VX_CHECK_INT(vx_jdoc_parse(&d, t, strlen(t), &e), VX_EPARSE);
    VX_CHECK(vx_jroot(&d) == NULL);
    VX_CHECK(d.nodes == NULL || d.n == 0);
    vx_jdoc_free(&d); /* documented to hold nothing: must be harmless */

    /* The same doc struct then parses fine. */
    memset(&d, 0, sizeof(d));
    VX_CHECK_INT(vx_jdoc_parse(&d, "[true]", 6, &e), 0);
    VX_CHECK(vx_jroot(&d) && vx_jroot(&d)->count == 1);
    vx_jdoc_free(&d);

    /* A NULL error record is allowed for callers that do not want the message. */
    memset(&d, 0, sizeof(d));
    VX_CHECK_INT(vx_jdoc_parse(&d, "[", 1, NULL), VX_EPARSE);
    vx_jdoc_free(&d);
}

/* ---- nesting ------------------------------------------------------------ */

static char *nested_arrays(size_t depth, size_t *len)
{
    char *s = malloc(2 * depth + 1);
    if (!s)
        exit(2);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    *len = 2 * depth;
    return s;
}

static char *nested_objects(size_t depth, size_t *len)
{
    /* {"a":{"a":...{"a":1}...}} */
    size_t i, n = 0;
    char *s = malloc(6 * depth + 2);
    if (!s)
        exit(2);
    for (i = 0; i < depth; i++) {
        memcpy(s + n, "{\"a\":", 5);
        n += 5;
    }
    s[n++] = '1';
    memset(s + n, '}', depth);
    n += depth;
    s[n] = '\0';
    *len = n;
    return s;
}

static void test_depth(void)
{
    struct doc p;
    const struct vx_jnode *n;
    size_t len, levels;
    char *s;

    s = nested_arrays(VX_JSCAN_DEPTH, &len);
    VX_CHECK_INT(doc_parse_n(&p, s, len), 0);
    if (p.rc != 0)
        fprintf(stderr, "  %d nested arrays: %s\n", VX_JSCAN_DEPTH, p.e.msg);
    levels = 0;
    for (n = vx_jroot(&p.d); n && n->type == VX_JARRAY; n = vx_jfirst(&p.d, n))
        levels++;
    VX_CHECK_INT(levels, VX_JSCAN_DEPTH);
    doc_free(&p);
    free(s);

    s = nested_arrays(VX_JSCAN_DEPTH + 1, &len);
    expect_reject_n(s, len);
    free(s);

    s = nested_objects(VX_JSCAN_DEPTH, &len);
    VX_CHECK_INT(doc_parse_n(&p, s, len), 0);
    levels = 0;
    for (n = vx_jroot(&p.d); n && n->type == VX_JOBJECT; n = vx_jget(&p.d, n, "a"))
        levels++;
    VX_CHECK_INT(levels, VX_JSCAN_DEPTH);
    VX_CHECK(n && n->type == VX_JNUMBER && str_is(n, "1"));
    doc_free(&p);
    free(s);

    s = nested_objects(VX_JSCAN_DEPTH + 1, &len);
    expect_reject_n(s, len);
    free(s);

    /* Far deeper than the limit, and unbalanced: refused, no stack exhaustion. */
    s = nested_arrays(200000, &len);
    expect_reject_n(s, len);
    expect_reject_n(s, len / 2);
    free(s);
}

/* ---- robustness --------------------------------------------------------- */

#define ALEXA                                                                                      \
    "{\"version\":\"1.0\",\"session\":{\"new\":true,\"sessionId\":\"amzn1.echo-api.session.1\","   \
    "\"attributes\":{}},\"context\":{\"System\":{\"user\":{\"userId\":\"amzn1.ask.account.X\"},"   \
    "\"device\":{\"deviceId\":\"D1\"}}},\"request\":{\"type\":\"IntentRequest\","                  \
    "\"requestId\":\"R1\",\"timestamp\":1595321000000,\"locale\":\"fr-FR\",\"intent\":{"           \
    "\"name\":\"OrderIntent\",\"slots\":{\"product\":{\"name\":\"product\","                       \
    "\"value\":\"caf\\u00e9 \\\"noir\\\"\"}}},\"list\":[1,-2.5e3,null,false]}}"

/* Walks a parsed tree checking the invariants; returns the number of violations. */
static int walk(const struct doc *p, const struct vx_jnode *n, int depth)
{
    int bad = 0;
    const struct vx_jnode *c;
    uint32_t k = 0;
    int64_t v;
    if (depth > VX_JSCAN_DEPTH + 1)
        return 1;
    if (n->end < n->start || n->end > p->len || n->end == n->start)
        bad++;
    switch (n->type) {
    case VX_JNUMBER:
        if (!n->str || n->len == 0)
            bad++;
        (void)vx_jint64(n, &v);
        break;
    case VX_JSTRING:
        if (n->len && !n->str)
            bad++;
        else if (n->len) {
            volatile unsigned char sum = 0;
            size_t i;
            for (i = 0; i < n->len; i++)
                sum = (unsigned char)(sum + (unsigned char)n->str[i]);
            (void)sum;
        }
        break;
    case VX_JARRAY:
    case VX_JOBJECT:
        for (c = vx_jfirst(&p->d, n); c; c = vx_jnext(&p->d, c)) {
            if (n->type == VX_JOBJECT) {
                if (!c->key)
                    bad++;
                else if (vx_jget(&p->d, n, c->key) == NULL)
                    bad++;
            } else if (c->key) {
                bad++;
            }
            if (c->start <= n->start || c->end >= n->end)
                bad++;
            bad += walk(p, c, depth + 1);
            if (++k > n->count)
                return bad + 1;
        }
        if (k != n->count)
            bad++;
        break;
    default:
        break;
    }
    return bad;
}

static void test_request_document(void)
{
    struct doc p;
    const struct vx_jnode *r, *req, *n;
    int64_t v = 0;
    VX_CHECK_INT(doc_parse(&p, ALEXA), 0);
    r = vx_jroot(&p.d);
    VX_CHECK(r && r->count == 4);
    req = vx_jget(&p.d, r, "request");
    VX_CHECK_STR(vx_jget_str(&p.d, req, "type"), "IntentRequest");
    VX_CHECK_STR(vx_jget_str(&p.d, req, "locale"), "fr-FR");
    VX_CHECK_INT(vx_jint64(vx_jget(&p.d, req, "timestamp"), &v), 0);
    VX_CHECK_INT(v, 1595321000000LL);
    n = vx_jget(&p.d, vx_jget(&p.d, vx_jget(&p.d, req, "intent"), "slots"), "product");
    VX_CHECK_STR(vx_jget_str(&p.d, n, "value"), "caf\xc3\xa9 \"noir\"");
    n = vx_jget(&p.d, vx_jget(&p.d, r, "context"), "System");
    VX_CHECK(n && n->type == VX_JOBJECT && vx_jget_str(&p.d, n, "x") == NULL);
    n = vx_jget(&p.d, req, "list");
    VX_CHECK(n && n->type == VX_JARRAY && n->count == 4);
    VX_CHECK(n && span_is(&p, n, "[1,-2.5e3,null,false]"));
    VX_CHECK_INT(walk(&p, r, 0), 0);
    doc_free(&p);
}

static uint32_t lcg_state = 12345u;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static void test_prefixes_and_corruptions(void)
{
    static const char structural[] = "{}[]\":,\\ u0-.eE+tfn\x01\x7f\xff";
    const char *full = ALEXA;
    size_t len = strlen(full), i;
    char *buf;
    int wrong = 0, bad_tree = 0, accepted = 0, k;

    VX_CHECK(len > 250);
    /* Every proper prefix of an object document is incomplete. */
    for (i = 0; i < len; i++) {
        struct doc p;
        int rc = doc_parse_n(&p, full, i);
        if (rc != VX_EPARSE) {
            if (wrong++ < 5)
                fprintf(stderr, "  prefix of %zu bytes: rc %d\n", i, rc);
        } else if (!strstr(p.e.msg, "byte")) {
            if (wrong++ < 5)
                fprintf(stderr, "  prefix of %zu bytes: message '%s'\n", i, p.e.msg);
        }
        doc_free(&p);
    }
    VX_CHECK_INT(wrong, 0);

    /* Single-byte corruptions: 0 or VX_EPARSE, and a sound tree when accepted. */
    buf = malloc(len);
    if (!buf)
        return;
    wrong = 0;
    for (k = 0; k < 2000; k++) {
        struct doc p;
        int rc;
        size_t pos = lcg() % len;
        char ch;
        memcpy(buf, full, len);
        if (k & 1)
            ch = structural[lcg() % (sizeof(structural) - 1)];
        else
            ch = (char)(lcg() & 0xff);
        buf[pos] = ch;
        rc = doc_parse_n(&p, buf, len);
        if (rc == 0) {
            const struct vx_jnode *r = vx_jroot(&p.d);
            accepted++;
            if (!r || walk(&p, r, 0) != 0) {
                if (bad_tree++ < 5)
                    fprintf(stderr, "  corruption %d (byte %zu -> 0x%02x): unsound tree\n", k, pos,
                            (unsigned char)ch);
            }
        } else if (rc != VX_EPARSE || !strstr(p.e.msg, "byte") || vx_jroot(&p.d) != NULL) {
            if (wrong++ < 5)
                fprintf(stderr, "  corruption %d (byte %zu -> 0x%02x): rc %d '%s'\n", k, pos,
                        (unsigned char)ch, rc, p.e.msg);
        }
        doc_free(&p);
    }
    VX_CHECK_INT(wrong, 0);
    VX_CHECK_INT(bad_tree, 0);
    /* Some corruptions (inside string values) leave a valid document. */
    VX_CHECK(accepted > 0);
    free(buf);
}

/* A stored document: an object or nothing, and its string members copied out. */
static void test_stored_object(void)
{
    struct vx_jdoc d;
    const struct vx_jnode *root;
    char out[8];
    VX_CHECK(vx_jdoc_object(&d, NULL) == NULL);
    VX_CHECK(vx_jdoc_object(&d, "not json") == NULL);
    VX_CHECK(vx_jdoc_object(&d, "[1,2]") == NULL);
    root = vx_jdoc_object(&d, "{\"a\":\"abc\",\"n\":1,\"long\":\"abcdefghij\"}");
    VX_CHECK(root != NULL);
    if (!root)
        return;
    vx_jget_strcpy(&d, root, "a", out, sizeof(out));
    VX_CHECK_STR(out, "abc");
    vx_jget_strcpy(&d, root, "n", out, sizeof(out)); /* not a string */
    VX_CHECK_STR(out, "");
    vx_jget_strcpy(&d, root, "long", out, sizeof(out)); /* too long: not a truncated copy */
    VX_CHECK_STR(out, "");
    vx_jget_strcpy(&d, root, "absent", out, sizeof(out));
    VX_CHECK_STR(out, "");
    vx_jdoc_free(&d);
}

int main(void)
{
    VX_RUN(test_stored_object);
    VX_RUN(test_scalars_at_root);
    VX_RUN(test_nested_document);
    VX_RUN(test_duplicate_key_last_wins);
    VX_RUN(test_whitespace_around_value);
    VX_RUN(test_not_nul_terminated);
    VX_RUN(test_large_documents);
    VX_RUN(test_string_escapes);
    VX_RUN(test_keys_are_decoded);
    VX_RUN(test_numbers);
    VX_RUN(test_rejected);
    VX_RUN(test_error_names_offset);
    VX_RUN(test_check_names_place);
    VX_RUN(test_failure_leaves_nothing);
    VX_RUN(test_depth);
    VX_RUN(test_request_document);
    VX_RUN(test_prefixes_and_corruptions);
    return VX_DONE();
}
