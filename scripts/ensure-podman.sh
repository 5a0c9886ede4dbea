#!/usr/bin/env bash
# Makes sure Podman's Docker-compatible API answers for the engine tests, and prints its
# DOCKER_HOST on stdout. Installs Debian's podman when it is missing (as root on Debian/Ubuntu),
# starts `podman system service` on a socket of its own, and copies the test base image (given as
# $1) from Docker's storage into Podman's, which is separate.
#
# Rootful, because rootless cannot honour the hardened spec on this CI machine (tried as a
# dedicated user with /etc/subuid ranges): on cgroup v1 Podman says "Resource limits are not
# supported and ignored on cgroups V1 rootless systems" — the pids and memory limits every
# sandbox is created with would silently not apply — and slirp4netns, rootless networking,
# cannot open /dev/net/tun here. On a cgroup v2 machine with systemd, point DOCKER_HOST at the
# user's own socket (`systemctl --user start podman.socket`). See packages/container-runtime/README.md.
set -euo pipefail
log() { printf 'ensure-podman: %s\n' "$*" >&2; }

base_image=${1:-}
# SBX_PODMAN_SOCKET_DIR: another directory for the socket, so a test can start a service of its own.
socket_dir=${SBX_PODMAN_SOCKET_DIR:-/run/sbx-podman}
socket=$socket_dir/podman.sock
service_log=$socket_dir/service.log
host=unix://$socket

# `podman --url` asks the service itself, so a socket left over from a dead service is not "up".
answers() { podman --url "$host" version >/dev/null 2>&1; }

if ! command -v podman >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "podman is not installed, and this script can only install it as root on Debian/Ubuntu."
    exit 1
  fi
  log "installing Debian's podman"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
fi
# The sandbox runs with an init as PID 1 (HostConfig.Init); Podman's is catatonit, which Debian's
# podman only recommends.
if [ ! -x /usr/libexec/podman/catatonit ] && [ ! -x /usr/bin/catatonit ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq catatonit >/dev/null
  else
    log "catatonit (Podman's init) is missing: install it"
    exit 1
  fi
fi

# A service started (by an older copy of this script) from a directory since deleted answers but
# cannot start a container: replace it.
for pid in $(pgrep -f "podman system service --time=0 $host" || true); do
  case $(readlink "/proc/$pid/cwd" 2>/dev/null) in
    *" (deleted)") log "restarting podman system service (its working directory was deleted)"; kill "$pid"; sleep 1 ;;
  esac
done

if ! answers; then
  log "starting podman system service on $host"
  mkdir -p "$socket_dir"
  rm -f "$socket"
  # Rootful Podman raises every container's nofile and nproc limits to 1048576 (Docker leaves
  # them as dockerd has them). Where root lacks CAP_SYS_RESOURCE (this CI VM) that fails every
  # container start with "error setting rlimit": give containers the limits this machine allows,
  # in a containers.conf of the service's own (the machine's /etc/containers is not touched).
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo "$nproc")
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
  [ "$nofile" != unlimited ] || nofile=1048576
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc" >"$socket_dir/containers.conf"
  # From /: conmon, which the service starts per container, works in the service's directory, and a
  # checkout the service was started from may be deleted while it runs ("Failed to get working
  # directory", every start then a 500 "write child: broken pipe").
  # Every descriptor of the background process is redirected, the subshell's own included: this
  # script runs inside $(…), which waits until nothing holds its pipe (a forked `cd / && podman`
  # list that kept it open hung CI for its whole 90 minutes).
  (cd / && CONTAINERS_CONF=$socket_dir/containers.conf exec nohup podman system service --time=0 "$host") \
    </dev/null >"$service_log" 2>&1 &
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
  if ! answers; then
    log "podman system service did not come up; its log: $service_log"
    tail -20 "$service_log" >&2 || true
    exit 1
  fi
fi

if [ -n "$base_image" ] && ! podman image exists "$base_image"; then
  log "copying $base_image from docker into podman's storage"
  docker save "$base_image" | podman load -q >/dev/null
fi
echo "$host"
