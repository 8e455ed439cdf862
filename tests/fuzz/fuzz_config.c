/*
 * The configuration reader: any file text either loads (and is then checked
 * as start-up checks it) or is refused with a message that names the file.
 */
#include "fuzz.h"

#include "voxcart/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vx_config *c = malloc(sizeof(*c));
    struct vx_err e;
    if (!c)
        abort();
    vx_config_init(c);
    vx_err_clear(&e);
    if (vx_config_load_text(c, "fuzz.json", (const char *)data, size, &e) == 0) {
        FUZZ_ASSERT(c->skill_ids_len <= VX_MAX_SKILL_IDS && c->cert_map_len <= VX_MAX_CERT_MAP);
        (void)vx_config_validate(c, &e);
    } else {
        FUZZ_ASSERT(strstr(e.msg, "fuzz.json") != NULL);
    }
    free(c);
    return 0;
}
