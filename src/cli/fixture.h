/*
 * Conversation fixtures for `voxcart replay`: loading and validating the files,
 * run-time variables, matching a response against an expected subset with
 * patterns, re-baselining expectations, the checks the platform would make
 * later, JUnit XML, and turning the platform's own recordings into fixtures.
 * Nothing here talks to the network or Redis, so all of it is unit-tested
 * (tests/unit/test_fixture.c).
 */
#ifndef VOXCART_CLI_FIXTURE_H
#define VOXCART_CLI_FIXTURE_H

#include <stddef.h>

#include "voxcart/common.h"
#include "voxcart/recording.h"

struct json_object;

#define CLI_FIXTURE_MAX    (8u * 1024 * 1024)
#define CLI_DEFAULT_SKILL  "amzn1.ask.skill.test"
#define CLI_DEFAULT_LOCALE "en-US"
#define CLI_PATTERN_ANY    "%ANY%"
#define CLI_RESPONSE_LIMIT (120 * 1024)
#define CLI_TEXT_LIMIT     8000
#define CLI_MAX_WARNINGS   8
#define CLI_MATCH_TEXT     1024
#define CLI_WITHIN_MAX_MS  600000 /* the longest an expectation may wait for the store */

struct cli_turn {
    const char *name;            /* NULL when the turn has none */
    struct json_object *request; /* the request template, variables not yet substituted; NULL
                                    for an approve step */
    struct json_object *approve; /* NULL, or {link, buyer?, instrument?}: the buyer approves a
                                    pay link on the sandbox's page instead of a request */
    struct json_object *sandbox; /* NULL, or {link, post, body?}: a POST of body to the set-up
                                    interface (post, under /_sim/) of the sandbox that served
                                    link, instead of a request: a test instrument, a fault */
    struct json_object *seed;    /* NULL, or {conversation?, profile?, billing_agreement?} */
    struct json_object *expect;  /* NULL, or the turn's "expect" object inside doc */
    struct json_object *turn;    /* the turn object inside doc */
    int request_owned;           /* request came from request_file: released with the fixture */
};

/* One conversation file. Strings and objects point into doc and live as long as it. */
struct cli_fixture {
    char *path;
    struct json_object *doc; /* the file as parsed: --update edits and writes it back */
    const char *name;
    const char *description;
    const char *skill_id; /* NULL: the replay default */
    const char *locale;   /* NULL: CLI_DEFAULT_LOCALE */
    struct cli_turn *turns;
    size_t nturns;
    /* A file with a "locales" table (locales.c) is loaded for one of its locales: doc is
     * then that locale's expansion of written, the file as it was read (which --update
     * expands again to see what the run changed). */
    struct json_object *written;
    const char **locales; /* the table's locales, in file order (point into written) */
    size_t nlocales;      /* 0 for a single-locale file */
};

/*
 * Parses and validates one fixture. Errors name the file and the place:
 * "x.json: turns[2]: unknown key 'expcet'", "x.json: line 3, column 9: ...".
 * request_file is read relative to the fixture's directory.
 */
int cli_fixture_parse(const char *path, const char *text, size_t len, struct cli_fixture *f,
                      struct vx_err *e);
int cli_fixture_load(const char *path, struct cli_fixture *f, struct vx_err *e);
/* The same for one locale of a file with a "locales" table (NULL: its first; ignored for a
 * single-locale file). */
int cli_fixture_parse_locale(const char *path, const char *text, size_t len, const char *locale,
                             struct cli_fixture *f, struct vx_err *e);
int cli_fixture_load_locale(const char *path, const char *locale, struct cli_fixture *f,
                            struct vx_err *e);
/* The same from a document already parsed (with cli_json_parse), which f takes over: what
 * loads several locales of one file without reading its text again. */
int cli_fixture_parse_doc(const char *path, struct json_object *doc, const char *locale,
                          struct cli_fixture *f, struct vx_err *e);
void cli_fixture_release(struct cli_fixture *f);

/*
 * Several locales in one file (locales.c): "locales": {"en-US": {"WORD": value, ...}, ...}
 * and %WORD% in the turns. cli_locales_check refuses a table whose locales do not all
 * define the same words. cli_locales_expand makes the single-locale fixture of one locale
 * (a new document). cli_locales_merge brings --update's changes of f (one locale) into the
 * file as written: a word's place updates that locale's word, a shared place that changed
 * becomes a new word; *changed says whether written changed.
 */
int cli_locales_check(struct json_object *locales, const char *file, struct vx_err *e);
int cli_locales_expand(struct json_object *doc, const char *locale, struct json_object **out);
/* One value (a request file's body) expanded for locale with doc's table; a new reference. */
int cli_locales_expand_value(struct json_object *doc, const char *locale, struct json_object *o,
                             struct json_object **out);
int cli_locales_merge(struct json_object *written, const struct cli_fixture *f, int *changed);

/* Parses JSON text; a failure names name, the line and the column. */
int cli_json_parse(const char *name, const char *text, size_t len, struct json_object **out,
                   struct vx_err *e);

/*
 * Run-time variables: %NAME% in requests and expectations. Besides the fixed
 * ones (%USER%, %NOW%, ...) there are the run variables of recording.h: IDs
 * captured from this run's answers (%ORDER_ID%), shapes (%TIMESTAMP%) and
 * dates relative to now (%TODAY+1%).
 */
#define CLI_VARS_MAX 16

struct cli_var {
    char name[24]; /* without the percent signs */
    char value[256];
    int reversible; /* a fresh per-run value: --update turns it back into %NAME% */
};

struct cli_vars {
    struct cli_var v[CLI_VARS_MAX];
    size_t n;
    struct vx_runvar_names run; /* captured so far in this conversation */
    int64_t now;                /* what %TODAY% is relative to; 0: vx_now() */
};

void cli_vars_init(struct cli_vars *v);
int cli_vars_set(struct cli_vars *v, const char *name, const char *value, int reversible);
const char *cli_vars_get(const struct cli_vars *v, const char *name);
/* Appends s with every known %NAME% replaced; unknown ones stay as written. */
int cli_vars_expand(const struct cli_vars *v, const char *s, struct vx_buf *out);
/* Substitutes in every string value of o, in place. */
int cli_vars_apply(const struct cli_vars *v, struct json_object *o);
/*
 * An expectation (a copy: it is changed) made ready to match actual: variables
 * substituted, and where a string still names a run variable that is not
 * captured yet, or a shape, the string is matched against the actual value in
 * the same place; a CAPTURE variable there is captured from it for the rest
 * of the conversation. Such a string then reads as the actual value when it
 * matched, and as the regular expression it stands for when it did not.
 */
int cli_vars_resolve(struct cli_vars *v, struct json_object *expected, struct json_object *actual,
                     int present);
/*
 * The reverse, for values copied from a response: this run's IDs become
 * %NAME% again, new IDs of a run-variable kind get the next name (and are
 * captured), times their shape, dates near today %TODAY±N%.
 */
int cli_vars_unapply(struct cli_vars *v, struct json_object *o);

/* The first difference found, for the report. */
struct cli_mismatch {
    char path[512];
    char expected[CLI_MATCH_TEXT];
    char got[CLI_MATCH_TEXT];
};

/*
 * 1 when actual matches the expected subset, else 0 with m filled. present
 * says whether actual exists at all (JSON null is a NULL object that exists).
 * path is the name of the root in the report ("" for a response document).
 */
int cli_match(struct json_object *expected, struct json_object *actual, int present,
              const char *path, struct cli_mismatch *m);
/* 1 when s is a "/regex/" pattern. */
int cli_is_pattern(const char *s);
/* Compiles every pattern under expected; place names it in the message. */
int cli_patterns_check(struct json_object *expected, const char *file, const char *place,
                       struct vx_err *e);

/*
 * The expected subset brought up to date with actual: parts that still match
 * (after substituting vars) stay as written, patterns included; the others are
 * replaced by the actual value with this run's IDs turned back into variables.
 * *out is a new reference (NULL for JSON null); *changed is set when different.
 */
int cli_rebase(struct json_object *expected, struct json_object *actual, int present,
               struct cli_vars *vars, struct json_object **out, int *changed);

/* What the platform would refuse or mishandle later; returns how many were found. */
struct cli_warning {
    char text[200];
};
size_t cli_response_warnings(struct json_object *doc, size_t body_len, struct cli_warning *w,
                             size_t max);

/* JUnit XML. */
int cli_xml_escape(struct vx_buf *b, const char *s);

enum cli_outcome { CLI_PASSED, CLI_UPDATED, CLI_FAILED, CLI_BROKEN };

struct cli_result {
    const char *file; /* as listed */
    const char *name; /* the fixture's name, or NULL when it could not be read */
    enum cli_outcome outcome;
    const char *message; /* the failure report, or NULL */
    const char *output;  /* warnings and notes, or NULL */
    double seconds;
};

int cli_junit_render(const struct cli_result *r, size_t n, double seconds, struct vx_buf *out);

/*
 * A recording from the platform's tools turned into a fixture: `ask dialog
 * --save-skill-io` output, a simulation or invocation result, or a JSON array
 * of {"request": ..., "response": ...} pairs. Redacted like voxcartd's own
 * recordings. name becomes the fixture's name.
 */
int cli_import_convert(struct json_object *in, const char *file, const char *name,
                       struct json_object **fixture, struct vx_err *e);

#endif
