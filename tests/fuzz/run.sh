#!/usr/bin/env bash
# make fuzz: runs each libFuzzer target of BUILD_DIR one at a time, for FUZZ_SECONDS
# (default 60) or FUZZ_RUNS executions when set, on a corpus seeded from tests/fixtures
# and tests/fuzz/seeds, and prints executions and crashes per target. A crash is kept in
# BUILD_DIR/fuzz-crashes/<target>/; copy it to tests/fuzz/regress/<target>/ so that
# `make test` runs it from then on (ctest fuzz.regress.<target>), and fix its cause.
# Usage: tests/fuzz/run.sh BUILD_DIR [TARGET...]
set -euo pipefail
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [TARGET...]}" && pwd)
shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jscan envelope cert_url timestamp config fixture)

seed() { # seed TARGET DIR
  local t=$1 dir=$2 f n=0
  case "$t" in
    jscan | envelope)
      # the request bodies of every fixture turn, one file each
      for f in $(find "$SRC/tests/fixtures" -name '*.json' | sort); do
        jq -c '.turns[]?.request // empty' "$f" 2>/dev/null | while IFS= read -r line; do
          printf '%s' "$line" >"$dir/$(basename "$f" .json)-$((n += 1))"
        done
      done
      for f in "$SRC"/tests/fixtures/_requests/*.json "$SRC"/scripts/demo/*.json; do
        cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
      done ;;
    fixture) # ours, and the forms no fixture of the tree uses (an approve step)
      find "$SRC/tests/fixtures" -name '*.json' -exec cp {} "$dir/" \;
      cp "$SRC/tests/fuzz/seeds/fixture"/* "$dir/" ;;
    *) cp "$SRC/tests/fuzz/seeds/$t"/* "$dir/" ;;
  esac
  if [ -d "$SRC/tests/fuzz/regress/$t" ]; then cp "$SRC/tests/fuzz/regress/$t"/* "$dir/"; fi
}

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$BUILD/fuzz-corpus/$t" crashes="$BUILD/fuzz-crashes/$t" log="$BUILD/fuzz-$t.log"
  mkdir -p "$corpus" "$crashes"
  seed "$t" "$corpus"
  limit=(-max_total_time="$SECS")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  echo "fuzz: $t (${FUZZ_RUNS:+$FUZZ_RUNS runs}${FUZZ_RUNS:-$SECS s})" >&2
  rc=0
  "$BUILD/fuzz_$t" "${limit[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(find "$crashes" -type f | wc -l)
  summary+=("$(printf '%-10s %12s executions  %d crashes  (exit %d, corpus %d files)' "$t" \
    "${execs:-?}" "$found" "$rc" "$(find "$corpus" -type f | wc -l)")")
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    grep -m1 -A12 'ERROR\|broken promise' "$log" >&2 || tail -n 20 "$log" >&2
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
