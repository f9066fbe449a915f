#!/usr/bin/env bash
# Runs a command under Node 22, the deployed runtime (nodejs22.x), beside the machine's Node 20:
#   bash scripts/node22.sh npx vitest run test/artifact
# The binary is the npm registry's node-<os>-<arch> package at a pinned version, installed once into
# node_modules/.cache/node22 (not a dependency: its `node` bin would replace Node 20 in every npm script).
set -euo pipefail
VERSION=22.23.5
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/node_modules/.cache/node22"
os=$(node -p process.platform)
arch=$(node -p process.arch)
bin="$dir/node_modules/node-$os-$arch/bin/node"
if [ ! -x "$bin" ] || [ "$("$bin" --version)" != "v$VERSION" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
    "node-$os-$arch@$VERSION" >/dev/null
fi
export PATH="$(dirname "$bin"):$PATH"
echo "# under $(node --version): $*" >&2
exec "$@"
