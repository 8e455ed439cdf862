#!/usr/bin/env bash
# No lost update across expiry: two voxcartd instances on one Redis (see lost_update.inc.sh).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lost_update.inc.sh"
make_devca
start_redis
lost_update_scenario
finish
