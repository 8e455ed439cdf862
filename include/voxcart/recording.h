/*
 * Turning exchanges into conversation fixture files: taking personal data out
 * of a request and its response, naming a turn, and writing a fixture
 * atomically. voxcartd's recorder and `voxcart replay` (--import, --update)
 * both use it, so a recording made either way carries the same placeholders,
 * reads the same and replays the same way.
 */
#ifndef VOXCART_RECORDING_H
#define VOXCART_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "voxcart/common.h"

struct json_object;

/* The placeholders written in place of real values; `voxcart replay` substitutes them. */
#define VX_REDACT_USER             "%USER%"
#define VX_REDACT_DEVICE           "%DEVICE_ID%"
#define VX_REDACT_REQUEST_ID       "%REQUEST_ID%"
#define VX_REDACT_NOW              "%NOW%"
#define VX_REDACT_SKILL_ID         "%SKILL_ID%"
#define VX_REDACT_ACCESS_TOKEN     "%ACCESS_TOKEN%"
#define VX_REDACT_API_ACCESS_TOKEN "%API_ACCESS_TOKEN%"
#define VX_REDACT_CONSENT_TOKEN    "%CONSENT_TOKEN%"
#define VX_REDACT_OTHER            "%REDACTED%"

/*
 * Replaces, in place, in request: user, device, person and unit IDs, access,
 * API and consent tokens, the request ID, request.timestamp, the skill ID, and
 * every address, name, e-mail and phone field; session IDs stay. Every real
 * value found is then also replaced wherever it occurs in a string of the
 * request or of response (may be NULL): a name spoken back, a user ID echoed.
 */
int vx_redact_exchange(struct json_object *request, struct json_object *response, struct vx_err *e);

/* The name a recorded turn gets: "LaunchRequest", "IntentRequest OrderIntent". */
void vx_recording_label(struct json_object *request, char *out, size_t outsz);

/*
 * Run variables: the values a run makes (order and payment IDs, times, dates)
 * written as %NAME% so that a recording matches every later run. The kinds
 * are the rows of src/core/runvars.def; the README's variable table lists them.
 */
enum vx_runvar_mode {
    VX_RUNVAR_CAPTURE, /* an ID: captured where it first appears, substituted after */
    VX_RUNVAR_SHAPE,   /* any value of the shape matches; nothing is captured */
};

struct vx_runvar_kind {
    const char *name; /* "ORDER_ID" */
    enum vx_runvar_mode mode;
    const char *regex;                                    /* POSIX ERE, grouping only */
    int (*check)(const char *s, size_t len, int64_t now); /* NULL, or 1 when a match counts */
    const char *meaning;
};

/* The i-th kind, in the order they are tried; NULL past the last. */
const struct vx_runvar_kind *vx_runvar_kind_at(size_t i);
/* The kind of a variable name (len bytes): "ORDER_ID", "ORDER_ID_2"; NULL when none. */
const struct vx_runvar_kind *vx_runvar_kind_of(const char *name, size_t len);
/* How many groups a kind's regex opens (for a caller building a larger regex). */
size_t vx_runvar_groups(const struct vx_runvar_kind *k);
/* 1 when the match s[off, off+len) stands alone: not part of a longer word or name. */
int vx_runvar_bounded(const char *s, size_t off, size_t len);

/*
 * %TODAY%, %TODAY+N%, %TODAY-N% (N days, at most VX_RUNVAR_MAX_DAYS): the
 * date in UTC as YYYY-MM-DD, relative to now. Returns 0 with the date in out,
 * or VX_ENOTFOUND when name (len bytes, without the percent signs) is not one.
 */
#define VX_RUNVAR_MAX_DAYS 400
int vx_runvar_relative(const char *name, size_t len, int64_t now, char *out, size_t outsz);

/* The captured values of one conversation: name -> value, both ways. */
#define VX_RUNVARS_MAX      64
#define VX_RUNVAR_NAME_MAX  40
#define VX_RUNVAR_VALUE_MAX 512

struct vx_runvar_names {
    struct {
        char name[VX_RUNVAR_NAME_MAX];
        char value[VX_RUNVAR_VALUE_MAX];
    } v[VX_RUNVARS_MAX];
    size_t n;
};

void vx_runvar_names_init(struct vx_runvar_names *names);
/* The value of name (len bytes), or NULL. */
const char *vx_runvar_names_value(const struct vx_runvar_names *names, const char *name,
                                  size_t len);
/* The name given to value, or NULL. */
const char *vx_runvar_names_name(const struct vx_runvar_names *names, const char *value);
/* Records name = value; VX_ERANGE when full or too long. */
int vx_runvar_names_set(struct vx_runvar_names *names, const char *name, const char *value);
/* Names value by its kind: KIND, else KIND_2, KIND_3, ..., the first not taken. */
int vx_runvar_names_add(struct vx_runvar_names *names, const struct vx_runvar_kind *k,
                        const char *value, const char **name);

#define VX_RUNVARS_DISCOVER 1u /* a new value of a CAPTURE kind gets the next name */
#define VX_RUNVARS_SHAPES   2u /* values of SHAPE kinds become %KIND% */
#define VX_RUNVARS_DATES    4u /* YYYY-MM-DD within VX_RUNVAR_MAX_DAYS of now: %TODAY±N% */

/*
 * Rewrites, in place, every string under o (and, with SHAPES, every number
 * of a SHAPE kind): values in names become %NAME%, then what flags ask for.
 * A value of a CAPTURE kind that is not in names stays, unless DISCOVER.
 */
int vx_runvars_templatize(struct json_object *o, struct vx_runvar_names *names, unsigned flags,
                          int64_t now, struct vx_err *e);

/*
 * Writes doc as readable JSON (pretty, spaced, no escaped slashes, a final
 * newline) to a temporary file next to path, syncs it and renames it over
 * path, so a reader sees the old file or the new one, never half of one. A
 * new file gets mode (0600 for recordings); an existing one keeps its own.
 */
int vx_json_write_atomic(const char *path, struct json_object *doc, unsigned mode,
                         struct vx_err *e);

#endif
