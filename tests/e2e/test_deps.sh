#!/usr/bin/env bash
# A fresh machine has what the tests, the scripts and the demo run: every program they call
# (a word in command position that resolves to a file) belongs to a Debian package that
# scripts/deps.sh installs (or a direct dependency of one), or to one that every Debian system
# has (Essential, or priority required). A program only this machine happens to have fails here
# instead of on the next newcomer's machine. `../shared/tools/fresh-machine.sh` is the full proof.
. "$(dirname "$0")/lib.sh" "$1"
cd "$SRC" || exit 1
scripts=(tests/e2e/*.sh scripts/*.sh tests/fuzz/run.sh tests/bench/run.sh)

# the packages of every list in deps.sh, and their direct dependencies
listed=$(sed -n '/^want=(/,/)/p; /want+=(/p' scripts/deps.sh | tr -d '()' |
  sed 's/want+\{0,1\}=//' | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u)
# what deps.sh installs, and what those pull in, two levels down (python3 -> python3-minimal ->
# python3.11-minimal, whose file /usr/bin/python3 resolves to)
depends_of() {
  dpkg-query -W -f='${Depends} ${Pre-Depends}' "$1" 2>/dev/null | tr ',|' '\n\n' |
    sed 's/([^)]*)//g; s/:any//g' | awk 'NF {print $1}'
}
allowed=$listed
for p in $listed; do
  deps=$(depends_of "$p")
  allowed="$allowed"$'\n'"$deps"
  for q in $deps; do allowed="$allowed"$'\n'"$(depends_of "$q")"; done
done

# words in command position: start of a line, after | ; & ( ! $( { then do else, after check's
# description, after wait_for N / timeout N / xargs / exec / command -v, past VAR=value prefixes
words=$(sed -e 's/#.*$//' "${scripts[@]}" |
  grep -oE '(^|[|;&(`!]|\{ |\$\(|then |do |else |check "[^"]*" |wait_for [0-9]+ |timeout [0-9]+ |xargs |exec |command -v )[[:space:]]*([A-Za-z_][A-Za-z0-9_]*=[^ ]* )*[a-z][a-z0-9_.+-]*' |
  grep -oE '[a-z][a-z0-9_.+-]*$' | sort -u)
seen=0
for w in $words; do
  [ "$(type -t "$w")" = file ] || continue # a builtin, a function of lib.sh, or not installed
  # deps.sh's own way of installing for a user who is not root: it cannot install it, so it
  # checks for it and says so ("run as root or install sudo") when it is missing
  [ "$w" = sudo ] && continue
  seen=$((seen + 1))
  path=$(readlink -f "$(command -v "$w")")
  pkg=
  for f in "$path" "${path#/usr}" "$(command -v "$w")"; do # merged /usr: dpkg knows /bin/cat
    pkg=$(dpkg -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then
    # not from a Debian package (Node.js from elsewhere, say): deps.sh must name it
    check "'$w' ($path) is installed by scripts/deps.sh" grep -qw "$w" scripts/deps.sh
    continue
  fi
  base=$(dpkg-query -W -f='${Essential} ${Priority}' "$pkg" 2>/dev/null)
  case "$base" in yes* | *required) continue ;; esac
  check "'$w' (package $pkg) is installed by scripts/deps.sh" grep -qxF "$pkg" <<<"$allowed"
done
check "the scan found the programs the tests call ($seen)" [ "$seen" -ge 20 ]
check "jq, which the model check test calls, is among them" grep -qx jq <<<"$words"
finish
