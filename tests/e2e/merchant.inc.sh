# Shared by the merchant API tests (sourced after lib.sh): a store, the development CA, an
# HS256 secret for merchant tokens, voxcartd selling the demo skill, and tok to mint tokens.
start_store
make_devca
head -c 48 /dev/urandom | base64 >"$T/jwt.secret"
export VOXCART_JWT_KEY="$T/jwt.secret" VOXCART_SKILL_IDS=amzn1.ask.skill.voxcart-demo
start_voxcartd
tok() { "$VOXCART" token --key "$T/jwt.secret" "$@"; }
