#!/usr/bin/env bash
# The merchant API test on a Redis Cluster of three masters: every merchant's keys share
# the hash tag {m:<merchant>}, so each write is one script on one slot there too.
VX_STORE=cluster exec bash "$(dirname "$0")/test_merchant_api.sh" "$1"
