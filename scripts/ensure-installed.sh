#!/bin/sh
# Installs dependencies when node_modules is missing or older than the lockfile, so that
# `npm start` and `npm test` work alone on a fresh clone. Node 22 then comes from node_modules.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies…" >&2
  # `npm install`, not `npm ci`: the lockfile pins versions either way, and ci refuses a lock
  # that lacks other platforms' optional workerd binaries.
  npm install --no-audit --no-fund >&2
fi
