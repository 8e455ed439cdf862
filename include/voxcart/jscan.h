/*
 * A strict JSON reader (RFC 8259) for the request path. One pass over the text
 * fills a flat array of nodes and one buffer of decoded strings: three
 * allocations per document where a DOM library makes one or two per value.
 * Read-only; for building or changing JSON use json-c.
 *
 * Strict means: one value, only whitespace after it; no comments, trailing
 * commas, single quotes, NaN or leading zeros; no raw control characters in
 * strings; escapes as the RFC lists them. \u escapes become UTF-8 (a lone
 * surrogate becomes U+FFFD). Strings must be well-formed UTF-8 (RFC 3629) and
 * may not hold \u0000: every reader compares them as C strings, and a NUL would
 * make "allowed-id\u0000evil" equal to "allowed-id". Nesting deeper than
 * VX_JSCAN_DEPTH (64 arrays or objects) is refused.
 * Within an object, a name given twice means its last value (as json-c does).
 */
#ifndef VOXCART_JSCAN_H
#define VOXCART_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

#define VX_JSCAN_DEPTH 64

enum vx_jtype { VX_JNULL, VX_JFALSE, VX_JTRUE, VX_JNUMBER, VX_JSTRING, VX_JARRAY, VX_JOBJECT };

struct vx_jnode {
    enum vx_jtype type;
    const char *key;   /* the member's name when the parent is an object, else NULL */
    const char *str;   /* VX_JSTRING: the decoded text; VX_JNUMBER: the number as written */
    size_t len;        /* of str (which holds no NUL byte: \u0000 is refused) */
    uint32_t first;    /* arrays and objects: index of the first child, 0 when empty */
    uint32_t next;     /* index of the next sibling, 0 for the last */
    uint32_t count;    /* arrays and objects: number of children */
    size_t start, end; /* the value's bytes in the text: text + start up to text + end */
};

struct vx_jdoc {
    struct vx_jnode *nodes; /* nodes[0] is the root */
    size_t n, cap;
    char *strings;
};

/*
 * Parses text into d. Returns 0, or VX_EPARSE with a message naming the byte
 * offset ("at byte 17: expected ':'"), or VX_ENOMEM; d then holds nothing to
 * free. Strings stay valid until vx_jdoc_free.
 */
int vx_jdoc_parse(struct vx_jdoc *d, const char *text, size_t len, struct vx_err *e);
void vx_jdoc_free(struct vx_jdoc *d);
/*
 * Checks that text is one strict JSON document as above, for files people
 * write (configuration, fixtures): 0, or VX_EPARSE with a message naming the
 * place, "voxcart.json: line 3, column 1: expected a member name".
 */
int vx_json_check(const char *text, size_t len, const char *name, struct vx_err *e);

/* A stored document (a NUL-terminated JSON object) into d: its root, or NULL (then d holds
 * nothing to free) when json is NULL, not JSON, or not an object. */
const struct vx_jnode *vx_jdoc_object(struct vx_jdoc *d, const char *json);
/* The member key of obj when it is a string, copied into out ("" when absent or too long). */
void vx_jget_strcpy(const struct vx_jdoc *d, const struct vx_jnode *obj, const char *key, char *out,
                    size_t n);
/* The root value, or NULL for an empty document. */
const struct vx_jnode *vx_jroot(const struct vx_jdoc *d);
/* The member key of object obj (the last of that name), or NULL; NULL-safe in obj. */
const struct vx_jnode *vx_jget(const struct vx_jdoc *d, const struct vx_jnode *obj,
                               const char *key);
/* The member key of obj when it is a string, else NULL. */
const char *vx_jget_str(const struct vx_jdoc *d, const struct vx_jnode *obj, const char *key);
/* Children of an array or object, in document order: first, then next; NULL at the end. */
const struct vx_jnode *vx_jfirst(const struct vx_jdoc *d, const struct vx_jnode *n);
const struct vx_jnode *vx_jnext(const struct vx_jdoc *d, const struct vx_jnode *n);
/* A number node holding a whole number in int64 range: 0 and *out; VX_EPARSE/VX_ERANGE otherwise.
 */
int vx_jint64(const struct vx_jnode *n, int64_t *out);

#endif
