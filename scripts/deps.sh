#!/usr/bin/env bash
# Installs the Debian packages voxcart needs, only those that are missing.
# Usage: scripts/deps.sh [build|bench|fuzz]
#   build: compile, test and run: every program a test, script or the demo calls (jq and xmllint
#          in the e2e checks, clang-format in the source check, Node.js for virtual-alexa and the
#          payment sandbox's SDK test, Chromium for the sandbox's approval page, run headless,
#          zbarimg to read back the QR codes voxcart draws, python3 to compute voice-code hashes
#          independently of voxcart's C code)
#   bench: also wrk and pgrep (procps)
#   fuzz:  also clang with its libFuzzer runtime (make fuzz)
set -euo pipefail

want=(build-essential cmake pkg-config git ca-certificates curl openssl
      libmicrohttpd-dev libjson-c-dev libssl-dev libjwt-dev libhiredis-dev libcurl4-openssl-dev
      redis-server redis-tools nodejs npm jq libxml2-utils clang-format coreutils procps
      chromium zbar-tools python3)
case "${1:-build}" in
  build) ;;
  bench) want+=(wrk) ;;
  fuzz) want+=(clang libclang-rt-dev) ;;
  *) echo "usage: scripts/deps.sh [build|bench|fuzz]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed'; then
    # nodejs/npm may come from elsewhere than Debian: a working binary is enough
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "deps: missing packages: ${missing[*]}; run as root or install sudo" >&2
    exit 1
  fi
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
