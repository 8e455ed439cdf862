#!/bin/sh
# The compose set-up's one-shot steps (docker/compose.yml), in the shared volume /data:
#   voxcart-setup init      a development CA (voxcart devca), a TLS certificate for the
#                           services' names (voxcartd, paysim, localhost; also in /data/tlsca
#                           for voxcart-paysim --devca), the merchant's
#                           provider key, a JWT secret for the merchant API, and
#                           /data/voxcart.json (kept when it exists: edit it there)
#   voxcart-setup register  registers the merchant's public key with the sandbox and saves
#                           the key the sandbox signs its notifications with
# Each step keeps what exists, so `docker compose up` again changes nothing.
set -eu
D=${VOXCART_DATA:-/data}
MERCHANT=${VOXCART_SANDBOX_MERCHANT:-demo-merchant}
KEY_ID=${VOXCART_SANDBOX_KEY_ID:-demo-merchant-key}
PAYSIM=${VOXCART_SANDBOX_URL:-https://paysim:8471}

init() {
  voxcart devca --dir "$D/ca" >/dev/null
  if [ ! -f "$D/tls.pem" ]; then
    openssl req -new -newkey rsa:2048 -nodes -keyout "$D/tls.key" -subj /CN=voxcartd \
      -addext "subjectAltName=DNS:voxcartd,DNS:paysim,DNS:localhost,IP:127.0.0.1" \
      -out "$D/tls.csr" 2>/dev/null
    openssl x509 -req -in "$D/tls.csr" -CA "$D/ca/root.pem" -CAkey "$D/ca/root.key" \
      -CAcreateserial -days 365 -copy_extensions copy -out "$D/tls.pem" 2>/dev/null
  fi
  # the sandbox takes its certificate and the root it trusts for notifications from one
  # directory laid out as `voxcart devca` lays it out (voxcart-paysim --devca)
  mkdir -p "$D/tlsca"
  cp "$D/tls.pem" "$D/tlsca/server.pem"
  cp "$D/tls.key" "$D/tlsca/server.key"
  cp "$D/ca/root.pem" "$D/tlsca/root.pem"
  [ -f "$D/merchant.key" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$D/merchant.key" 2>/dev/null
  openssl pkey -in "$D/merchant.key" -pubout -out "$D/merchant.pub" 2>/dev/null
  [ -f "$D/jwt.secret" ] || openssl rand -hex 32 >"$D/jwt.secret"
  [ -f "$D/voxcart.json" ] || cat >"$D/voxcart.json" <<JSON
{
  "listen": {"address": "0.0.0.0", "port": 8443},
  "tls": {"cert": "$D/tls.pem", "key": "$D/tls.key"},
  "redis": {"url": "redis://redis:6379/0"},
  "verify": {"skill_ids": ["${VOXCART_SKILL_ID:-amzn1.ask.skill.demo}"],
             "ca_file": "$D/ca/root.pem",
             "cert_map": {"https://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem": "$D/ca/chain.pem"}},
  "payments": "provider",
  "provider": {"url": "$PAYSIM/sandbox/v2", "key_id": "$KEY_ID",
               "private_key": "$D/merchant.key", "ca_file": "$D/ca/root.pem",
               "notify_key": "$D/paysim-notify.pem"},
  "janitor": {"interval_ms": 5000},
  "biller": {"interval_ms": 5000, "rate": 1, "burst": 2},
  "merchant": {"jwt_key": "$D/jwt.secret"},
  "log": {"level": "info"}
}
JSON
  echo "voxcart-setup: $D is ready (edit $D/voxcart.json to change the configuration)"
}

register() {
  body=$(jq -n --arg m "$MERCHANT" --arg k "$KEY_ID" --rawfile p "$D/merchant.pub" \
    --arg u "https://voxcartd:8443/provider/notifications" \
    '{merchantId:$m, publicKeyId:$k, publicKeyPem:$p, notifyUrl:$u}')
  curl -sf --cacert "$D/ca/root.pem" -X POST -H 'content-type: application/json' \
    --data-binary "$body" "$PAYSIM/_sim/merchants" >/dev/null ||
    curl -sf --cacert "$D/ca/root.pem" "$PAYSIM/_sim/merchants" | grep -q "$KEY_ID" ||
    { echo "voxcart-setup: cannot register $MERCHANT with the sandbox at $PAYSIM" >&2; exit 1; }
  curl -sf --cacert "$D/ca/root.pem" "$PAYSIM/_sim/notify-key" >"$D/paysim-notify.pem"
  echo "voxcart-setup: $MERCHANT ($KEY_ID) is registered with the sandbox"
}

case "${1:-}" in
init) init ;;
register) register ;;
*) echo "usage: voxcart-setup init|register" >&2; exit 2 ;;
esac
