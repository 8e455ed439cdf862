#!/usr/bin/env bash
# Source checks the compiler does not make: banned functions (unbounded or
# error-swallowing C library calls) and formatting against .clang-format.
set -u
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src intents include tests -name '*.[ch]')
banned='(^|[^_a-z])(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atof|gets|tmpnam)[[:space:]]*\('
if hits=$(grep -nE "$banned" $files); then
  echo "banned functions (use the bounded or checked alternatives):"
  echo "$hits"
  status=1
fi
if [ "${CHECK_FORMAT:-1}" = 1 ]; then
  # scripts/deps.sh installs it: a machine without it would pass unformatted code silently
  command -v clang-format >/dev/null 2>&1 || { echo "clang-format not found: run scripts/deps.sh"; exit 1; }
  for f in $files; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f"; status=1; }
  done
fi
[ $status -eq 0 ] && echo "source checks passed"
exit $status
