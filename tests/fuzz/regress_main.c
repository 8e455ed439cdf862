/*
 * Runs a fuzz target's entry point over files, without libFuzzer: each
 * argument is a file or a directory of files. `make test` feeds it the kept
 * crash inputs (regress/<target>/) and the seed corpus, so an input that once
 * crashed a parser is tried on every build.
 */
#include "fuzz.h"

#include "voxcart/common.h"

#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path, size_t *count)
{
    char *text = NULL;
    size_t len = 0;
    struct vx_err e;
    vx_err_clear(&e);
    if (vx_file_read(path, 16u << 20, &text, &len, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)text, len);
    free(text);
    (*count)++;
    return 0;
}

static int run_path(const char *path, size_t *count)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    int bad = 0;
    if (stat(path, &st) != 0) {
        /* regress/<target>/ exists once a crash was kept */
        fprintf(stderr, "%s: not there, nothing to run\n", path);
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path, count);
    d = opendir(path);
    if (!d)
        return 1;
    while ((de = readdir(d)) != NULL) {
        char sub[4096];
        if (de->d_name[0] == '.')
            continue;
        if (vx_snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) != 0)
            continue;
        bad |= run_path(sub, count);
    }
    closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++)
        bad |= run_path(argv[i], &count);
    printf("%zu inputs, none crashed\n", count);
    return bad;
}
