#!/bin/sh
# Runs the adapter suite (real codex / claude binaries) in a fresh network namespace that has only
# loopback, so nothing can leave 127.0.0.1. Needs root (CI is), or unprivileged user namespaces.
# Extra arguments go to vitest (e.g. a file filter).
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -eq 0 ]; then
  exec unshare --net -- sh -c 'ip link set lo up && exec node_modules/.bin/vitest run --config test/agents/vitest.config.ts "$@"' sh "$@"
fi
# Not root: map ourselves to root in a new user namespace to get the network namespace.
exec unshare --user --map-root-user --net -- sh -c 'ip link set lo up && exec node_modules/.bin/vitest run --config test/agents/vitest.config.ts "$@"' sh "$@"
