#!/usr/bin/env bash
# The interaction models in virtual-alexa, the common Node test tool for skills:
# its requests, built from our models, reach the intended handlers of voxcartd.
# Needs Node.js and npm (make test installs them); the tool is installed once
# into the build directory from the pinned lock file in tests/virtual-alexa/.
. "$(dirname "$0")/lib.sh" "$1"
VA="$BUILD/virtual-alexa"
mkdir -p "$VA"
cp "$SRC/tests/virtual-alexa/package.json" "$SRC/tests/virtual-alexa/package-lock.json" \
  "$SRC/tests/virtual-alexa/check.js" "$VA/"
if [ ! -d "$VA/node_modules/virtual-alexa" ]; then
  for attempt in 1 2 3; do # the registry is on the network: a passing fault is retried
    (cd "$VA" && npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) && break
    [ "$attempt" = 3 ] && { echo "npm ci failed:"; tail -20 "$T/npm.log"; exit 1; }
    sleep $((attempt * 5))
  done
fi
make_devca
start_redis
VX_PLAIN=1 start_voxcartd --development
out=$(cd "$VA" && node check.js "$BASE/alexa" "$SRC/intents" 2>/dev/null); rc=$?
echo "$out"
check "every sample utterance reaches its handler" [ "$rc" = 0 ]
check "all three locales were played" [ "$(grep -c '^ok' <<<"$out")" -ge 38 ]
finish
