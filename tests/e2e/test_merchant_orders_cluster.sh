#!/usr/bin/env bash
# The orders test on a Redis Cluster: the customers' orders and the merchant's index live on
# different slots (and masters), read together by one page.
VX_STORE=cluster exec bash "$(dirname "$0")/test_merchant_orders.sh" "$1"
