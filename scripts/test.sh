#!/usr/bin/env bash
# Runs every test, the Docker ones included, on a fresh machine: installs pnpm and the
# dependencies, a Docker engine when none answers (Debian/Ubuntu, as root), the tools the
# end-to-end tests drive (tmux, debootstrap), builds the offline base image, then `pnpm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-pnpm.sh
bash scripts/ensure-docker.sh

missing=()
for tool in tmux debootstrap ps git; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    packages=$(printf '%s\n' "${missing[@]}" | sed 's/^ps$/procps/' | tr '\n' ' ')
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  else
    echo "test: please install: ${missing[*]}" >&2
    exit 1
  fi
fi

pnpm install --frozen-lockfile

# No image registry may be reachable (CI here has none): the sandbox image is built on a local
# Debian base. Real users keep the default public base image.
SBX_TEST_BASE_IMAGE=$(bash test-fixtures/offline-base/build.sh)
export SBX_TEST_BASE_IMAGE
# The other Docker-API engines (*.engines.docker.test.ts): Podman's API socket with the base image
# in its storage, and sshd for the ssh:// engine the tests start themselves.
SBX_TEST_PODMAN_HOST=$(bash scripts/ensure-podman.sh "$SBX_TEST_BASE_IMAGE")
export SBX_TEST_PODMAN_HOST
bash scripts/ensure-sshd.sh
export SBX_REQUIRE_DOCKER=1

# One closing line for the whole monorepo, summed over every package's vitest summary.
log=$(mktemp)
set +e
pnpm test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
node scripts/sum-test-results.mjs "$log"
rm -f "$log"
exit "$status"
