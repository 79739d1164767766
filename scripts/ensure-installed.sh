#!/bin/sh
# Installs dependencies when node_modules is missing or older than the lockfile, so that
# `npm start` and `npm test` work alone on a fresh clone. Node 22 then comes from node_modules.
#
# wrangler and vitest need Node >= 22.12, which the devDependency `node` provides
# (node_modules/.bin/node). npm checks every package's "engines" against the Node that runs npm
# itself, so an install under an older system Node prints an EBADENGINE warning for each of them.
# Hence, when no Node 22 is at hand yet (a fresh clone): first the `node` package alone, at the
# version the lockfile pins, into the git-ignored .cache/; then the full install runs under it.
set -e
cd "$(dirname "$0")/.."

# Whether the Node at $1 runs and is at least 22.12.
node_ok() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies…" >&2
  if node_ok node_modules/.bin/node; then
    PATH="$PWD/node_modules/.bin:$PATH"
  elif ! node_ok node; then
    version=$(node -p 'require("./package-lock.json").packages["node_modules/node"].version')
    boot=".cache/node-$version"
    if ! node_ok "$boot/node_modules/.bin/node"; then
      echo "first Node $version (the devDependency \`node\`), then the rest…" >&2
      rm -rf "$boot"
      mkdir -p "$boot"
      printf '{ "private": true, "dependencies": { "node": "%s" }, "allowScripts": { "node": true } }\n' "$version" >"$boot/package.json"
      npm install --prefix "$boot" --no-package-lock --no-audit --no-fund >&2
    fi
    PATH="$PWD/$boot/node_modules/.bin:$PATH"
  fi
  export PATH
  # `npm install`, not `npm ci`: ci would first delete node_modules, which may hold the very Node
  # running this install. The lockfile pins versions either way, and lists every platform's
  # optional binaries, so the install leaves it as it is.
  npm install --no-audit --no-fund >&2
  # npm leaves its record of the tree untouched when nothing changed; mark it current so the next
  # run does not install again.
  touch node_modules/.package-lock.json
  if [ -n "${boot:-}" ]; then rm -rf "$boot"; fi
fi
