#!/bin/sh
# Registers the stack's namespace, or updates its retention when it exists.
# The frontend answers TCP before cluster metadata is ready, so wait for SERVING first.
set -eu
tries=0
until temporal operator cluster health 2>/dev/null | grep -q SERVING; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then
    echo "temporal-namespace: $TEMPORAL_ADDRESS is not SERVING after 180s" >&2
    exit 1
  fi
  sleep 2
done
if temporal operator namespace describe --namespace "$KIT_NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace update --namespace "$KIT_NAMESPACE" --retention "$KIT_RETENTION"
  echo "namespace $KIT_NAMESPACE exists; retention set to $KIT_RETENTION"
else
  temporal operator namespace create --namespace "$KIT_NAMESPACE" --retention "$KIT_RETENTION"
  echo "namespace $KIT_NAMESPACE registered with retention $KIT_RETENTION"
fi
