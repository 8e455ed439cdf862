/*
 * The timestamp parser: any string is refused or gives an epoch time that the
 * window check can compare with now without overflow.
 */
#include "fuzz.h"

#include "voxcart/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t ts = 0;
    if (vx_timestamp_parse(s, &ts) == 0) {
        /* years 0001 to 9999 with an offset of at most a day */
        FUZZ_ASSERT(ts >= -62135596800LL - 86400 && ts <= 253402300799LL + 86400);
        (void)vx_timestamp_check(ts, 1800000000, 150);
    }
    free(s);
    return 0;
}
