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
# The engine apart from the skill: no public header includes the skill's, and no
# file of the engine calls one of the skill's functions (it gets them as struct vx_skill).
if hits=$(grep -nE '#include "(dialog\.h|intents/)' include/voxcart/*.h); then
  echo "a public header includes the skill (intents/):"
  echo "$hits"
  status=1
fi
if hits=$(grep -nE '#include "(dialog\.h|intents\.def|intents/)' src/core/*.[ch]); then
  echo "the engine includes the skill's header (it knows the skill only through voxcart/dialog.h):"
  echo "$hits"
  status=1
fi
skill_fns=$(grep -ohE '^(vx_state_fn|vx_ask_fn) +[a-z_, ]+|^[a-z].* (vx_(st|dlg|dialog|ask|help|fallback)_[a-z_]+|vx_dstate_[a-z]+|vx_profile_(parse|wset)|vx_order_(json|view_parse)|vx_fsm_order_id)\(' intents/*.c |
  grep -oE 'vx_[a-z_]+' | sort -u | grep -vE '^vx_(state_fn|ask_fn)$')
for fn in $skill_fns; do
  if hits=$(grep -nE "(^|[^a-z_])$fn\(" src/core/*.c); then
    echo "the engine calls the skill's $fn directly (use struct vx_skill):"
    echo "$hits"
    status=1
  fi
done
if [ "${CHECK_FORMAT:-1}" = 1 ]; then
  # scripts/deps.sh installs it: a machine without it would pass unformatted code silently
  command -v clang-format >/dev/null 2>&1 || { echo "clang-format not found: run scripts/deps.sh"; exit 1; }
  for f in $files; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f"; status=1; }
  done
fi
[ $status -eq 0 ] && echo "source checks passed"
exit $status
