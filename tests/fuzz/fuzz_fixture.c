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

static void check_locale(const uint8_t *data, size_t size, const char *locale)
{
    struct cli_fixture f;
    struct vx_err e;
    struct json_object *written = NULL;
    int rc, changed = 0;

    vx_err_clear(&e);
    rc = cli_fixture_parse_locale(FUZZ_PATH, (const char *)data, size, locale, &f, &e);
    check_refusal(rc, &e);
    if (rc == 0 && json_object_deep_copy(f.written, &written, NULL) == 0) {
        FUZZ_ASSERT(cli_locales_merge(written, &f, &changed) == 0);
        FUZZ_ASSERT(changed == 0);
    }
    json_object_put(written);
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
        /* the locales point into f's copy of the file: keep it while each is loaded */
        for (size_t i = 0; i < f.nlocales && i < 4; i++)
            check_locale(data, size, f.locales[i]);
    }
    cli_fixture_release(&f); /* a failed parse leaves what it read to release too */
    return 0;
}
