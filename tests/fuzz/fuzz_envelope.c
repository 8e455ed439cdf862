/*
 * The request envelope: any body either fills struct vx_request with fields
 * that are C strings inside the document (the pipeline compares them with
 * strcmp) or fails with a message; the accessors work on whatever it filled.
 */
#include "fuzz.h"

#include "voxcart/envelope.h"
#include "voxcart/verify.h"

static void check_str(const char *s)
{
    if (s)
        FUZZ_ASSERT(vx_utf8_valid(s, strlen(s)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vx_request r;
    struct vx_err e;
    char lang[8];
    int64_t ts;
    vx_err_clear(&e);
    if (vx_request_parse((const char *)data, size, &r, &e) != 0) {
        FUZZ_ASSERT(e.msg[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(r.type_name && r.request_id && *r.request_id);
    check_str(r.application_id);
    check_str(r.user_id);
    check_str(r.locale);
    check_str(r.intent_name);
    FUZZ_ASSERT(r.nslots <= VX_MAX_SLOTS);
    FUZZ_ASSERT((r.interfaces & ~(unsigned)VX_IFACE_APL) == 0);
    for (size_t i = 0; i < r.nslots; i++) {
        check_str(r.slots[i].value);
        check_str(r.slots[i].resolved_id);
        FUZZ_ASSERT(vx_request_slot(&r, r.slots[i].name) != NULL);
    }
    if (r.timestamp && vx_timestamp_parse(r.timestamp, &ts) == 0)
        (void)vx_timestamp_check(ts, 1800000000, 150);
    vx_request_lang(&r, lang, sizeof(lang));
    FUZZ_ASSERT(strlen(lang) < sizeof(lang));
    vx_request_release(&r);
    return 0;
}
