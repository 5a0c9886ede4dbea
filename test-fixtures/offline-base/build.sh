#!/usr/bin/env bash
# Builds a local stand-in for `node:22-slim` when no image registry is reachable:
# Debian bookworm (debootstrap minbase) + Node 22 and npm 10 from the npm registry,
# laid out like the official image (/usr/local/bin/node, npm, npx; user `node` 1000:1000).
#
# Usage:  BASE=$(bash test-fixtures/offline-base/build.sh)
# Stdout carries only the image tag (last line); progress goes to stderr.
#
# Overrides (all optional):
#   SBX_DEBIAN_MIRROR   Debian mirror URL   (default: the bookworm mirror in the host's apt sources)
#   SBX_NODE_SPEC       npm spec for node   (default: 22)
#   SBX_NPM_SPEC        npm spec for npm    (default: 10)
#   SBX_OFFLINE_BASE_CACHE  where downloaded .debs are kept between builds
#                           (default: ${XDG_CACHE_HOME:-~/.cache}/sbx-offline-base; "" disables)
set -euo pipefail

# Keep stdout for the tag alone; everything else (npm, debootstrap, docker) goes to stderr.
exec 3>&1 1>&2

log() { printf 'offline-base: %s\n' "$*" >&2; }
die() { printf 'offline-base: error: %s\n' "$*" >&2; exit 1; }

suite=bookworm
node_spec=${SBX_NODE_SPEC:-22}
npm_spec=${SBX_NPM_SPEC:-10}

case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64 | arm64) node_arch=arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
esac

command -v docker >/dev/null || die "docker is not installed"
command -v npm >/dev/null || die "npm is needed on the host to fetch node and npm from the registry"

# Resolve the exact versions first: they name the image, so a new Node 22 release makes a new tag.
resolve_version() { # <package> <range> -> highest published version in range
  npm view "$1@$2" version --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(Array.isArray(v)?v[v.length-1]:v)})'
}
node_version=$(resolve_version "node-linux-$node_arch" "$node_spec") || true
npm_version=$(resolve_version npm "$npm_spec") || true
[[ -n $node_version ]] || die "could not resolve node-linux-$node_arch@$node_spec from the npm registry"
[[ -n $npm_version ]] || die "could not resolve npm@$npm_spec from the npm registry"

tag="sbx-offline-base:${suite}-node${node_version}-npm${npm_version}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "reused existing image $tag"
  echo "$tag" >&3
  exit 0
fi

# The mirror apt already uses on this host for suite $1 (deb822 .sources or one-line .list).
find_debian_mirror() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk -v s="$suite" '$1 == "deb" { sub(/\[[^]]*\] */, ""); if ($3 == s) { print $2; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk -v s="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uri = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
          if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
        }
        if (ok && uri != "") { print uri; exit }
      }' "$f"
  done
}
mirror=${SBX_DEBIAN_MIRROR:-$(find_debian_mirror "$suite" | head -n1)}
[[ -n $mirror ]] || die "no '$suite' Debian mirror in /etc/apt/sources*; set SBX_DEBIAN_MIRROR"
security_mirror=$(find_debian_mirror "$suite-security" | head -n1)

if ! command -v debootstrap >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "debootstrap is missing; install it (apt-get install debootstrap) or run as root"
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap debian-archive-keyring >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap debian-archive-keyring >&2; }
fi
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root"

work=$(mktemp -d "${TMPDIR:-/tmp}/sbx-offline-base.XXXXXX")
cleanup() {
  # Stop our background jobs first so nothing writes into the rootfs while it is deleted.
  local jobs_left
  jobs_left=$(jobs -p)
  if [[ -n $jobs_left ]]; then
    kill $jobs_left 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  # An interrupted debootstrap can leave /proc or /sys mounted inside the rootfs;
  # unmount them (deepest first) before deleting, or rm would walk into the host's /proc.
  local m
  for m in $(awk -v w="$work" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rootfs=$work/rootfs

# debootstrap fetches ~100 packages one by one; a warm .deb cache spares the next build that.
deb_cache=${SBX_OFFLINE_BASE_CACHE-${XDG_CACHE_HOME:-$HOME/.cache}/sbx-offline-base}
debootstrap_opts=(--variant=minbase --include=ca-certificates)
if [[ -n $deb_cache ]]; then
  mkdir -p "$deb_cache/debs"
  debootstrap_opts+=("--cache-dir=$(cd "$deb_cache/debs" && pwd)")
fi

started=$SECONDS
log "building $tag (mirror $mirror)"

# Fetch node and npm in parallel with debootstrap: they do not depend on each other.
(
  cd "$work"
  npm pack --silent "node-linux-$node_arch@$node_version" "npm@$npm_version" >/dev/null 2>"$work/npm-pack.log"
) &
pack_pid=$!

# In the background so a TERM sent to this script alone is handled at once (bash defers traps
# while a foreground child runs), and cleanup can stop it.
debootstrap "${debootstrap_opts[@]}" "$suite" "$rootfs" "$mirror" >&2 &
wait $!
log "debootstrap done after $((SECONDS - started))s"

wait "$pack_pid" || { cat "$work/npm-pack.log" >&2; die "npm pack failed"; }

log "installing node $node_version and npm $npm_version into /usr/local"
# Like the official image: the binary, man page and docs under /usr/local; headers are left out (not needed to run).
tar -xzf "$work/node-linux-$node_arch-$node_version.tgz" -C "$work"
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/share"
cp -a "$work/package/share/." "$rootfs/usr/local/share/"
rm -rf "$work/package"

mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# The official image has a `node` user at 1000:1000; the sandbox Dockerfile has to cope with it.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Fail here rather than in a caller if the binary cannot run against bookworm's glibc.
node_check=$(chroot "$rootfs" /usr/local/bin/node --version) || die "node does not run in the rootfs"
npm_check=$(chroot "$rootfs" /usr/local/bin/node /usr/local/bin/npm --version) || die "npm does not run in the rootfs"
log "node in rootfs: $node_check, npm: $npm_check"

# apt sources like the official image (deb822), pointing at the same mirror.
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" "$suite"
  if [[ -n $security_mirror ]]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$security_mirror" "$suite"
  fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"
rm -f "$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/tmp/*

log "importing into docker after $((SECONDS - started))s"
tar --numeric-owner -C "$rootfs" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    - "$tag" >/dev/null

log "built $tag in $((SECONDS - started))s"
echo "$tag" >&3
