#!/bin/sh
# The official temporalio/server entrypoint's contract: bind on the
# container's address unless BIND_ON_IP says otherwise; when binding on a
# wildcard, broadcast the container's address to the other services.
set -eu

container_ip() { getent hosts "$(hostname)" | awk '{print $1; exit}'; }

: "${BIND_ON_IP:=$(container_ip)}"
export BIND_ON_IP

if [ "$BIND_ON_IP" = "0.0.0.0" ] || [ "$BIND_ON_IP" = "::0" ]; then
    : "${TEMPORAL_BROADCAST_ADDRESS:=$(container_ip)}"
    export TEMPORAL_BROADCAST_ADDRESS
fi

exec temporal-server start
