#!/usr/bin/env bash
# Installs the pinned pnpm (package.json "packageManager") when it is not already on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  printf 'ensure-pnpm: installing pnpm %s\n' "$want" >&2
  npm install -g --no-fund --no-audit "pnpm@$want" >/dev/null
fi
