#!/usr/bin/env bash
# Makes sure a Docker engine answers. When none does and this is a Debian/Ubuntu machine where we
# are root, installs Debian's docker.io and starts dockerd in the background.
set -euo pipefail
log() { printf 'ensure-docker: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  log "no Docker engine answers, and this script can only install one as root on Debian/Ubuntu."
  log "Start Docker (Docker Desktop, 'sudo systemctl start docker', or Podman's socket) and run again."
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  log "installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
log "starting dockerd"
nohup dockerd >/tmp/sbx-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then log "engine is up"; exit 0; fi
  sleep 1
done
log "dockerd did not come up; its log: /tmp/sbx-dockerd.log"
tail -20 /tmp/sbx-dockerd.log >&2 || true
exit 1
