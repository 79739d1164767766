#!/usr/bin/env bash
# Builds lnd + lncli and btcd + btcctl for the regtest tier into .cache/regtest/bin/.
# Idempotent: skips a binary pair when it already exists and reports the pinned version.
# Override versions with LND_VERSION / BTCD_VERSION.
set -euo pipefail

LND_VERSION="${LND_VERSION:-v0.21.3-beta}" # newest lnd the module proxy serves here (see README in this dir)
BTCD_VERSION="${BTCD_VERSION:-v0.26.2}"
LND_TAGS="signrpc walletrpc chainrpc invoicesrpc peersrpc routerrpc"

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="$ROOT/.cache/regtest"
BIN="$CACHE/bin"
mkdir -p "$BIN"

# Self-contained Go caches, so a second run (and `rm -rf .cache/regtest/bin`) is fast
# without touching the user's global module/build cache.
export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/pkg/mod"
export GOCACHE="$CACHE/go/cache"
export GOFLAGS="-buildvcs=false -modcacherw"
export GOTOOLCHAIN=local

has_version() { # <binary> <expected substring>
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q -- "$2"
}

start=$(date +%s)

lnd_plain="${LND_VERSION#v}"
if has_version "$BIN/lnd" "$lnd_plain" && has_version "$BIN/lncli" "$lnd_plain"; then
  echo "lnd: cached ($("$BIN/lnd" --version))"
else
  echo "lnd: building $LND_VERSION ..."
  # lnd's go.mod has replace directives, so `go install pkg@version` refuses it:
  # fetch the module, copy it to a writable dir and build inside it.
  dir=$(cd "$CACHE" && go mod download -json "github.com/lightningnetwork/lnd@$LND_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "go mod download gave no Dir" >&2; exit 1; }
  src="$CACHE/src/lnd-$LND_VERSION"
  rm -rf "$src"; mkdir -p "$(dirname "$src")"
  cp -r "$dir" "$src"; chmod -R u+w "$src"
  (cd "$src" && go build -tags="$LND_TAGS" -trimpath \
     -ldflags "-s -w -X github.com/lightningnetwork/lnd/build.Commit=$LND_VERSION -X 'github.com/lightningnetwork/lnd/build.RawTags=${LND_TAGS// /,}'" \
     -o "$BIN/" ./cmd/lnd ./cmd/lncli)
  echo "lnd: built ($("$BIN/lnd" --version))"
fi

btcd_plain="${BTCD_VERSION#v}"
if has_version "$BIN/btcd" "$btcd_plain" && [ -x "$BIN/btcctl" ]; then
  echo "btcd: cached ($("$BIN/btcd" --version))"
else
  echo "btcd: building $BTCD_VERSION ..."
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" \
    "github.com/btcsuite/btcd@$BTCD_VERSION" "github.com/btcsuite/btcd/cmd/btcctl@$BTCD_VERSION"
  echo "btcd: built ($("$BIN/btcd" --version))"
fi

echo "regtest binaries ready in $BIN ($(( $(date +%s) - start ))s)"
