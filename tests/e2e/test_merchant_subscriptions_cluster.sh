#!/usr/bin/env bash
# The subscriptions test on a Redis Cluster: the customers' subscriptions, the schedule's buckets
# and the merchant's index live on different slots (and masters).
VX_STORE=cluster exec bash "$(dirname "$0")/test_merchant_subscriptions.sh" "$1"
