#!/bin/bash
# The official temporalio/ui start script: ui-server renders
# config/docker.yaml (a template) from env itself.
set -eu -o pipefail

# "bash" as an argument opens a shell instead, like the official image.
for arg in "$@"; do [[ $arg == "bash" ]] && exec bash; done

exec ./ui-server --env docker start
