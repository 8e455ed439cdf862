#!/usr/bin/env bash
# The provider client (provider.c, run blocking by it_provider_client) against voxcart-paysim:
# success and the typed object, both signature variants, authorize/capture/cancel, refunds
# (one above what was captured refused), soft and hard declines (by test instrument and by
# simulation header), the monthly limit refused and fine again once the sandbox clock moved a
# month, a 429 retried after the backoff, a charge whose answer was dropped retried with the
# same key leaving exactly one charge in the sandbox's ledger, an answer lost on every attempt
# ending "unknown" and settled by resending the same key, a timeout after the sandbox took the
# charge, the same key with another amount refused as DuplicateIdempotencyKey, checkout
# sessions and closing a permission.
. "$(dirname "$0")/lib.sh" "$1"
. "$SRC/tests/paysim/lib.sh"
CLIENT="$BUILD/it_provider_client"

make_devca
start_paysim --throttle off --port 0 --devca "$CA" --tls-port 0
# start_paysim returns on the first listener it sees; this test wants both
for _ in $(seq 1 100); do
  PS_URL=$(sed -n 's|^paysim: listening on \(http://[^ ]*\)$|\1|p' "$T/paysim.out" | head -n 1)
  PS_TLS_URL=$(sed -n 's|^paysim: listening on \(https://[^ ]*\)$|\1|p' "$T/paysim.out" | head -n 1)
  [ -n "$PS_URL" ] && [ -n "$PS_TLS_URL" ] && break
  sleep 0.05
done
make_merchant shop1

# pay [client options] CALL ARGS...: OUT holds key=value lines, ELAPSED_MS the run time
pay() {
  local t0 t1
  t0=$(date +%s%N)
  OUT=$("$CLIENT" --url "$PS_URL/sandbox/v2" --key-id "$KEY_ID" --key "$KEY_FILE" "$@" 2>&1)
  printf '%s\n' "$OUT" >>"$T/client.log"
  t1=$(date +%s%N)
  ELAPSED_MS=$(((t1 - t0) / 1000000))
  STATUS="" BODY="$OUT"
}
field() { sed -n "s/^$1=//p" <<<"$OUT" | head -n 1; }
is() { [ "$(field "$1")" = "$2" ]; }

# perm INSTRUMENT: a chargeable recurring permission of shop1 paid with INSTRUMENT, in PERM
perm() {
  sim POST chargePermissions \
    "{\"merchantId\":\"shop1\",\"chargePermissionType\":\"Recurring\",\"instrument\":\"$1\"}"
  PERM=$(jqb .chargePermissionId)
  [ "$STATUS" = 201 ] && [ -n "$PERM" ] || { echo "cannot create a permission: $BODY"; exit 1; }
}
# ledger_count PERM: how many charges the sandbox holds for a permission
ledger_count() {
  sim GET "charges?chargePermissionId=$1"
  jqb '.charges | length'
}

# --- success, the object, both algorithms ---
perm card-ok
P_OK=$PERM
pay charge-create ok-1 "$P_OK" 1999 EUR capture
check "capture now: success" is outcome success
check "capture now: state Captured" is state Captured
check "capture now: amounts parsed" \
  bash -c '[ "$1" = "19.99 EUR" ] && [ "$2" = "19.99 EUR" ]' _ "$(field charge_amount)" \
  "$(field capture_amount)"
check "capture now: one attempt, HTTP 201" bash -c '[ "$1" = 1 ] && [ "$2" = 201 ]' _ \
  "$(field attempts)" "$(field status)"
CHARGE=$(field id)
check "capture now: a charge ID" [ -n "$CHARGE" ]
pay charge-get "$CHARGE"
check "get charge: success, Captured, same permission" \
  bash -c '[ "$1" = success ] && [ "$2" = Captured ] && [ "$3" = "$4" ]' _ "$(field outcome)" \
  "$(field state)" "$(field charge_permission_id)" "$P_OK"
pay --v1 charge-get "$CHARGE"
check "the salt-20 algorithm is accepted too" is outcome success
pay --key "$T/shop1.pub" charge-get "$CHARGE"
check "a public key file is refused as signing key" contains "$OUT" "provider.private_key"

# --- authorize, capture, refunds, cancel ---
pay charge-create auth-1 "$P_OK" 5000 EUR authorize
check "authorize only: success, Authorized" \
  bash -c '[ "$1" = success ] && [ "$2" = Authorized ]' _ "$(field outcome)" "$(field state)"
AUTH=$(field id)
pay charge-capture cap-1 "$AUTH" 5000 EUR
check "capture: success, Captured" \
  bash -c '[ "$1" = success ] && [ "$2" = Captured ]' _ "$(field outcome)" "$(field state)"
pay refund-create ref-1 "$AUTH" 2000 EUR
check "refund: accepted (pending or refunded)" \
  bash -c '[ "$1" = pending ] || [ "$1" = success ]' _ "$(field outcome)"
REFUND=$(field id)
check "refund: 20.00 EUR of the charge" bash -c '[ "$1" = "20.00 EUR" ] && [ "$2" = "$3" ]' _ \
  "$(field refund_amount)" "$(field charge_id)" "$AUTH"
pay refund-get "$REFUND"
check "get refund: read back" bash -c '[ "$1" = "$2" ] && [ -n "$3" ]' _ "$(field id)" "$REFUND" \
  "$(field state)"
pay refund-create ref-2 "$AUTH" 3001 EUR
check "refund above what is left of the capture: refused" is outcome amount_limit
check "refund above the capture: TransactionAmountExceeded" is reason TransactionAmountExceeded
pay refund-create ref-3 "$AUTH" 3000 EUR
check "refund of exactly the rest: accepted" \
  bash -c '[ "$1" = pending ] || [ "$1" = success ]' _ "$(field outcome)"
pay charge-create auth-2 "$P_OK" 700 EUR authorize
AUTH2=$(field id)
pay charge-cancel "$AUTH2"
check "cancel an authorization: success, Canceled" \
  bash -c '[ "$1" = success ] && [ "$2" = Canceled ]' _ "$(field outcome)" "$(field state)"

# --- declines ---
perm card-soft-decline
pay charge-create soft-1 "$PERM" 1000 EUR capture
check "soft decline by instrument" is outcome soft_decline
check "soft decline: reason SoftDeclined" is reason SoftDeclined
pay --simulate SoftDeclined charge-create soft-2 "$P_OK" 1000 EUR capture
check "soft decline by simulation header" is outcome soft_decline
perm card-processing-failure
pay charge-create pf-1 "$PERM" 1000 EUR capture
check "processing failure: a soft decline" is outcome soft_decline
perm card-hard-decline
P_HARD=$PERM
pay charge-create hard-1 "$P_HARD" 1000 EUR capture
check "hard decline by instrument" is outcome hard_decline
check "hard decline: reason HardDeclined" is reason HardDeclined
pay permission-get "$P_HARD"
check "after a hard decline the permission is NonChargeable" \
  bash -c '[ "$1" = success ] && [ "$2" = NonChargeable ]' _ "$(field outcome)" "$(field state)"
pay charge-create hard-2 "$P_HARD" 1000 EUR capture
check "charging a NonChargeable permission: permanent" is outcome permanent
perm card-ok
pay --simulate HardDeclined charge-create hard-3 "$PERM" 1000 EUR capture
check "hard decline by simulation header" is outcome hard_decline

# --- the monthly limit and the clock ---
perm card-ok
P_LIM=$PERM
pay charge-create lim-1 "$P_LIM" 90000 EUR capture
check "900 EUR of the 1000 EUR monthly limit: success" is outcome success
pay charge-create lim-2 "$P_LIM" 20000 EUR capture
check "200 EUR more in the same month: periodic limit" is outcome periodic_limit
check "periodic limit: reason PeriodicAmountExceeded" is reason PeriodicAmountExceeded
sim POST clock '{"advanceMonths":1}'
OFFSET=$(jqb .offsetSeconds)
check "the sandbox clock moved a month" [ "$OFFSET" -gt 86400 ]
pay charge-create lim-3 "$P_LIM" 20000 EUR capture
check "signed with the wall clock, a month off the sandbox's: refused" is outcome permanent
pay --clock-offset "$OFFSET" charge-create lim-4 "$P_LIM" 20000 EUR capture
check "the next month: 200 EUR is fine again" is outcome success
pay --clock-offset "$OFFSET" charge-create lim-5 "$P_LIM" 15000001 EUR capture
check "above the per-charge maximum: amount limit" is outcome amount_limit
sim POST clock '{"epoch":'"$(date +%s)"'}'

# --- retries ---
perm card-ok
P_RT=$PERM
sim POST faults '{"operation":"createCharge","kind":"status","status":429,"count":1}'
pay charge-create thr-1 "$P_RT" 1000 EUR capture
check "429 retried: success on the second attempt" \
  bash -c '[ "$1" = success ] && [ "$2" = 2 ]' _ "$(field outcome)" "$(field attempts)"
check "429 retried after the 1 s backoff (took ${ELAPSED_MS} ms)" [ "$ELAPSED_MS" -ge 1000 ]
sim POST faults '{"operation":"createCharge","kind":"status","status":503,"count":4}'
pay --backoff-ms 50 charge-create thr-2 "$P_RT" 1000 EUR capture
check "503 on every attempt: retryable after 4 attempts" \
  bash -c '[ "$1" = retryable ] && [ "$2" = 4 ]' _ "$(field outcome)" "$(field attempts)"
pay charge-create thr-2 "$P_RT" 1000 EUR capture
check "the same key later: charged once" is outcome success
check "503s and the retry leave one charge per key" [ "$(ledger_count "$P_RT")" = 2 ]

perm card-ok
P_DROP=$PERM
sim POST faults '{"operation":"createCharge","kind":"drop","count":1}'
pay charge-create drop-1 "$P_DROP" 2500 EUR capture
check "answer dropped once: success on the resend" \
  bash -c '[ "$1" = success ] && [ "$2" = 2 ]' _ "$(field outcome)" "$(field attempts)"
DROPPED=$(field id)
check "answer dropped once: exactly one charge in the ledger" [ "$(ledger_count "$P_DROP")" = 1 ]
sim GET "charges?chargePermissionId=$P_DROP"
check "answer dropped once: the ledger's charge is the one replayed" \
  [ "$(jqb '.charges[0].chargeId')" = "$DROPPED" ]

perm card-ok
P_LOST=$PERM
sim POST faults '{"operation":"createCharge","kind":"drop","count":4}'
pay --backoff-ms 50 charge-create lost-1 "$P_LOST" 2500 EUR capture
check "answer lost on every attempt: unknown, not retryable" is outcome unknown
check "answer lost: the sandbox did take the charge, once" [ "$(ledger_count "$P_LOST")" = 1 ]
pay charge-create lost-1 "$P_LOST" 2500 EUR capture
check "unknown settled by resending the same key: success" is outcome success
check "unknown settled: still one charge" [ "$(ledger_count "$P_LOST")" = 1 ]

perm card-ok
P_SLOW=$PERM
sim POST faults '{"operation":"createCharge","kind":"latency","latencyMs":1500,"count":1}'
pay --timeout-ms 400 --retries 0 charge-create slow-1 "$P_SLOW" 1200 EUR capture
check "a timeout on a charge: unknown" is outcome unknown
wait_for 5 bash -c "[ \"\$(curl -sS '$PS_URL/_sim/charges?chargePermissionId=$P_SLOW' | jq '.charges | length')\" = 1 ]"
check "the timed-out charge was taken by the sandbox" [ "$(ledger_count "$P_SLOW")" = 1 ]
sim GET "charges?chargePermissionId=$P_SLOW"
pay charge-get "$(jqb '.charges[0].chargeId')"
check "settled by a GET: Captured" is state Captured

# --- idempotency keys ---
pay charge-create dup-1 "$P_OK" 1000 EUR capture
FIRST=$(field id)
pay charge-create dup-1 "$P_OK" 1000 EUR capture
check "the same key and body: the first answer replayed" \
  bash -c '[ "$1" = success ] && [ "$2" = "$3" ]' _ "$(field outcome)" "$(field id)" "$FIRST"
pay charge-create dup-1 "$P_OK" 1001 EUR capture
check "the same key, another amount: permanent" is outcome permanent
check "the same key, another amount: DuplicateIdempotencyKey" is reason DuplicateIdempotencyKey
pay charge-create "key with spaces" "$P_OK" 1000 EUR capture
check "a bad idempotency key never leaves the client" \
  bash -c '[ "$1" = permanent ] && [ "$2" = 0 ]' _ "$(field outcome)" "$(field attempts)"

# --- checkout sessions, closing ---
pay session-create sess-1 Recurring 999 EUR
check "checkout session created" is outcome success
SESSION=$(field id)
check "checkout session: an approval page link" contains "$(field redirect_url)" "$SESSION"
sim POST "checkoutSessions/$SESSION/approve" '{"instrument":"card-ok"}'
check "checkout session approved in the sandbox" [ "$STATUS" = 200 ]
pay session-get "$SESSION"
check "checkout session read back" is outcome success
pay session-complete done-1 "$SESSION" 999 EUR
check "checkout session completed" is outcome success
P_NEW=$(field charge_permission_id)
check "completion yields a charge permission" [ -n "$P_NEW" ]
pay permission-get "$P_NEW"
check "the new permission is Chargeable" is state Chargeable
pay permission-close "$P_NEW"
check "permission closed" bash -c '[ "$1" = success ] && [ "$2" = Closed ]' _ \
  "$(field outcome)" "$(field state)"
pay charge-create closed-1 "$P_NEW" 100 EUR capture
check "charging a closed permission: permanent" is outcome permanent

# --- over HTTPS with the development CA as provider.ca_file ---
if [ -n "${PS_TLS_URL:-}" ]; then
  pay --url "$PS_TLS_URL/sandbox/v2" --ca "$CA/root.pem" charge-get "$CHARGE"
  check "HTTPS with the dev CA trusted: success" is state Captured
  pay --url "$PS_TLS_URL/sandbox/v2" --retries 0 charge-get "$CHARGE"
  check "HTTPS without trusting the dev CA: no answer, retryable" is outcome retryable
else
  check "the sandbox opened an HTTPS listener" false
fi

# --- the client never points the sandbox at a path it was not given ---
pay charge-get "../../_sim/reset"
check "an object ID with a path in it never leaves the client" \
  bash -c '[ "$1" = permanent ] && [ "$2" = 0 ]' _ "$(field outcome)" "$(field attempts)"

check "the client (ASan/UBSan build) reported no sanitizer error" \
  bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' '$T/client.log'"
finish_paysim
