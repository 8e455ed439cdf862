/*
 * The fixture reader of `voxcart replay`: any file either loads into turns or
 * is refused with a message that names the file. Request files a fixture
 * names are looked for under a directory that does not exist.
 */
#include "fuzz.h"

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cli_fixture f;
    struct vx_err e;
    vx_err_clear(&e);
    memset(&f, 0, sizeof(f));
    if (cli_fixture_parse("/nonexistent/fuzz.json", (const char *)data, size, &f, &e) != 0)
        FUZZ_ASSERT(strstr(e.msg, "fuzz.json") != NULL || strstr(e.msg, "out of memory"));
    cli_fixture_release(&f); /* a failed parse leaves what it read to release too */
    return 0;
}
