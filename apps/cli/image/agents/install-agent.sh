#!/bin/sh
# install-agent.sh <command> <package@version>: installs one agent CLI from npm, globally, and
# proves it runs (`<command> --version` prints the pinned version). npm skips an optional
# dependency whose download fails without an error — Codex's native binary and opencode's come
# that way — so the check is what catches a half-installed agent, and the install is retried.
set -eu
# Claude Code needs Node >= 22 (on Node 20 npm quietly settles for an old release), the others >= 20.
node -e 'const [major] = process.versions.node.split("."); if (Number(major) < 22) { console.error(`the sandbox image needs Node >= 22, the base has ${process.version}`); process.exit(1); }'
command="$1"
package="$2"
version="${package##*@}"
for attempt in 1 2 3; do
    if npm install -g --no-fund --no-audit --no-update-notifier "${package}" \
        && "${command}" --version | tee /dev/stderr | grep -qF "${version}"; then
        break
    fi
    if [ "${attempt}" = 3 ]; then echo "${package} did not install" >&2; exit 1; fi
    npm uninstall -g "${package%@*}" || true
done
npm cache clean --force
rm -rf /root/.npm /root/.cache /tmp/* 2>/dev/null || true
