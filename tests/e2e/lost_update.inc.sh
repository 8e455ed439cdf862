# The lost update across expiry, with two voxcartd on one store (sourced by
# test_lost_update.sh on a single Redis and by test_cluster.sh on a cluster).
# A caches the conversation; the key expires; B writes anew (and the profile holds
# a billing agreement). A's next turn, with its stale copy, must not win: B's
# state, B's order and the billing agreement stay, and A's stale order is not
# recorded.
lost_update_scenario() {
  local user=LOSTUPD conv prof
  conv="vx:{amzn1.ask.skill.test:amzn1.ask.account.$user}:conv"
  prof="vx:{amzn1.ask.skill.test:amzn1.ask.account.$user}:profile"
  start_voxcartd
  A_BASE=$BASE A_PID=$VX_PID
  start_voxcartd
  B_BASE=$BASE
  with_user() { sed -e "s/TESTUSER/$user/g" "$1" >"$1.$user" && echo "$1.$user"; }
  on() { # on BASE BODYFILE: a signed turn against one instance
    BODY=$("$VOXCART" sign --dir "$CA" --url "$1/alexa" --restamp "$2" 2>"$T/sign.err")
    STATUS=$(sed -n 's/^HTTP \([0-9]*\).*/\1/p' "$T/sign.err" | tail -n 1)
  }
  espresso=$(with_user "$(make_request lu_esp OrderIntent)")
  sed -i 's/"name":"OrderIntent","confirmationStatus":"NONE"}/"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"espresso"}}}/' "$espresso"
  beans=$(with_user "$(make_request lu_beans OrderIntent)")
  sed -i 's/"name":"OrderIntent","confirmationStatus":"NONE"}/"name":"OrderIntent","confirmationStatus":"NONE","slots":{"product":{"name":"product","value":"coffee beans"}}}/' "$beans"
  yes=$(with_user "$(make_request lu_yes AMAZON.YesIntent)")

  on "$A_BASE" "$espresso"
  check "A: an espresso waits for yes" contains "$BODY" 'Shall I place the order'
  rcli hset "$prof" billing_agreement '{"id":"B01-KEEP","status":"OPEN"}' >/dev/null
  rcli del "$conv" >/dev/null # the conversation's TTL ran out
  on "$B_BASE" "$beans"
  check "B: after the expiry, coffee beans wait for yes" contains "$BODY" 'Shall I place the order'
  on "$B_BASE" "$yes"
  check "B: the order is placed" grep -qiE 'order|placed|bestellung' <<<"$BODY"
  on "$A_BASE" "$yes"
  check "A: its stale copy did not pass the version check (a conflict was logged)" \
    grep -q "changed under request" "$T/voxcartd.log"
  check "A's turn ran again on B's state: it did not confirm the stale espresso" \
    bash -c '! grep -qi espresso <<<"$1"' _ "$BODY"
  check "the stored conversation is built on B's, not A's stale copy" \
    bash -c '! grep -q espresso <<<"$1"' _ "$(rcli hget "$conv" s)"
  check "B's billing agreement is intact" \
    grep -q 'B01-KEEP' <<<"$(rcli hget "$prof" billing_agreement)"
  check "B's usual order is coffee beans" grep -q coffee_beans <<<"$(rcli hget "$prof" usual)"
  orders=$(rcli lrange "vx:{amzn1.ask.skill.test:amzn1.ask.account.$user}:orders" 0 -1)
  check "exactly one order, B's (A's stale espresso was not recorded)" \
    [ "$(grep -c . <<<"$orders")" = 1 ]
  last=$(rcli hget "vx:{amzn1.ask.skill.test:amzn1.ask.account.$user}:order:$orders" lines)
  check "... and it is coffee beans" grep -q coffee_beans <<<"$last"
  kill "$A_PID" 2>/dev/null
}
