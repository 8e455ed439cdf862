/*
 * The request JSON reader: any bytes either parse into a tree whose every
 * string is well-formed UTF-8 without a NUL, whose spans lie inside the text
 * and whose counts match the children, or fail with VX_EPARSE and nothing held.
 */
#include "fuzz.h"

#include "voxcart/jscan.h"

static void walk(const struct vx_jdoc *d, const struct vx_jnode *n, size_t size, int depth)
{
    uint32_t count = 0;
    FUZZ_ASSERT(depth <= VX_JSCAN_DEPTH + 1);
    FUZZ_ASSERT(n->start <= n->end && n->end <= size);
    if (n->key) {
        FUZZ_ASSERT(vx_utf8_valid(n->key, strlen(n->key)));
    }
    if (n->type == VX_JSTRING) {
        FUZZ_ASSERT(strlen(n->str) == n->len);
        FUZZ_ASSERT(vx_utf8_valid(n->str, n->len));
    }
    for (const struct vx_jnode *c = vx_jfirst(d, n); c; c = vx_jnext(d, c)) {
        walk(d, c, size, depth + 1);
        count++;
    }
    FUZZ_ASSERT(count == ((n->type == VX_JARRAY || n->type == VX_JOBJECT) ? n->count : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vx_jdoc d;
    struct vx_err e;
    int rc;
    vx_err_clear(&e);
    rc = vx_jdoc_parse(&d, (const char *)data, size, &e);
    if (rc == 0) {
        walk(&d, vx_jroot(&d), size, 1);
        vx_jdoc_free(&d);
    } else {
        FUZZ_ASSERT(rc == VX_EPARSE || rc == VX_ENOMEM);
        FUZZ_ASSERT(vx_jroot(&d) == NULL);
    }
    /* the file check agrees with the reader */
    FUZZ_ASSERT((vx_json_check((const char *)data, size, "fuzz", &e) == 0) == (rc == 0));
    return 0;
}
