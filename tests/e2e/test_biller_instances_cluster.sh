#!/usr/bin/env bash
# The two-biller test on a Redis Cluster of three masters: the schedule's 16 buckets carry
# their own hash tags and spread over the nodes, each subscription's writes are one script on
# its customer's slot, and the pacing bucket lives on one node for every instance.
VX_STORE=cluster exec bash "$(dirname "$0")/test_biller_instances.sh" "$1"
