#!/usr/bin/env bash
# Makes sure sshd is installed for the ssh:// engine tests, which start an sshd of their own (a
# temp config on 127.0.0.1 and a free port). Installs Debian's openssh-server as root on
# Debian/Ubuntu WITHOUT starting the machine's ssh service: the package's postinst would start it
# on port 22, and nothing here may change the machine's own sshd.
set -euo pipefail
log() { printf 'ensure-sshd: %s\n' "$*" >&2; }

[ -x /usr/sbin/sshd ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  log "sshd is not installed, and this script can only install it as root on Debian/Ubuntu."
  exit 1
fi
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  # invoke-rc.d asks this file whether a package may start its service; 101 means no.
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ -z "$made_policy" ] || rm -f "$policy"' EXIT
log "installing Debian's openssh-server (its service is not started)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
