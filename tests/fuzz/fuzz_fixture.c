/*
 * The fixture reader of `voxcart replay`: any file either loads into turns or
 * is refused with a message that names the file. Request files a fixture
 * names are looked for under a directory that does not exist. A file with a
 * "locales" table loads for each of its locales the same way, and merging an
 * unchanged locale back into the file as written (what --update does) changes
 * nothing.
 */
#include "fuzz.h"

#include <json-c/json.h>

#include "fixture.h"

#define FUZZ_PATH "/nonexistent/fuzz.json"

static void check_refusal(int rc, const struct vx_err *e)
{
    if (rc != 0)
        FUZZ_ASSERT(strstr(e->msg, "fuzz.json") != NULL || strstr(e->msg, "out of memory"));
}

/* --update's merge of a locale that did not change leaves the file as it was. */
static void check_unchanged_merge(const struct cli_fixture *f)
{
    struct json_object *again = NULL;
    int changed = 0;

    if (!f->written || json_object_deep_copy(f->written, &again, NULL) != 0)
        return;
    FUZZ_ASSERT(cli_locales_merge(again, f, &changed) == 0);
    FUZZ_ASSERT(changed == 0);
    json_object_put(again);
}

/* Another locale of a file that loaded, from its parsed text (the text is not read again:
 * tokenizing it is most of the cost of an input). */
static void check_locale(struct json_object *written, const char *locale)
{
    struct cli_fixture f;
    struct vx_err e;
    struct json_object *doc = NULL;
    int rc;

    vx_err_clear(&e);
    if (json_object_deep_copy(written, &doc, NULL) != 0)
        return;
    rc = cli_fixture_parse_doc(FUZZ_PATH, doc, locale, &f, &e);
    check_refusal(rc, &e);
    if (rc == 0)
        check_unchanged_merge(&f);
    cli_fixture_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cli_fixture f;
    struct vx_err e;
    int rc;

    vx_err_clear(&e);
    memset(&f, 0, sizeof(f));
    rc = cli_fixture_parse(FUZZ_PATH, (const char *)data, size, &f, &e);
    check_refusal(rc, &e);
    if (rc == 0) {
        check_unchanged_merge(&f);
        /* the first locale is the load above; the locales point into f.written */
        for (size_t i = 1; i < f.nlocales && i < 4; i++)
            check_locale(f.written, f.locales[i]);
    }
    cli_fixture_release(&f); /* a failed parse leaves what it read to release too */
    return 0;
}
