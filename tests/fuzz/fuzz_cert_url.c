/*
 * The certificate URL rules: any header value is either refused or gives a
 * canonical URL that is https on s3.amazonaws.com under /echo.api/, and that
 * the rules accept again unchanged (the canonical form is the cache key).
 */
#include "fuzz.h"

#include "voxcart/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    char canon[1024], again[1024];
    if (vx_cert_url_check(url, canon, sizeof(canon)) == VX_VR_OK) {
        static const char prefix[] = "https://s3.amazonaws.com/echo.api/";
        FUZZ_ASSERT(strncmp(canon, prefix, sizeof(prefix) - 1) == 0);
        FUZZ_ASSERT(strstr(canon, "/../") == NULL && strstr(canon, "/./") == NULL);
        FUZZ_ASSERT(vx_cert_url_check(canon, again, sizeof(again)) == VX_VR_OK);
        FUZZ_ASSERT(strcmp(canon, again) == 0);
    }
    free(url);
    return 0;
}
