#!/usr/bin/env bash
# Builds sbx from this checkout and puts an `sbx` command on PATH (~/.local/bin, or
# /usr/local/bin as root). On a fresh Debian/Ubuntu machine, as root, it also gets a Docker engine
# when none answers (Debian's docker.io), as scripts/test.sh does; elsewhere it says how.
set -euo pipefail
cd "$(dirname "$0")/.."
# sbx itself installs without an engine; `sbx up` then says what is missing (SBX_DOCKER_UNREACHABLE).
bash scripts/ensure-docker.sh || echo "install: no Docker engine yet; start one before \`sbx up\`" >&2
bash scripts/ensure-pnpm.sh
pnpm install --frozen-lockfile
pnpm build
bin_dir="$HOME/.local/bin"
[ "$(id -u)" = 0 ] && bin_dir=/usr/local/bin
mkdir -p "$bin_dir"
ln -sf "$PWD/apps/cli/bin/sbx" "$bin_dir/sbx"
echo "sbx is installed at $bin_dir/sbx"
case ":$PATH:" in *":$bin_dir:"*) ;; *) echo "add $bin_dir to your PATH" ;; esac
