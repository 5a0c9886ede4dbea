import { SESSION_STORES } from "./session-stores.js";

// The two shell scripts the host runs in the sandbox to mirror its sessions, and how their
// answers are read. They run under the sandbox's own `sh`, so they use only POSIX tools and GNU
// find's -printf (Debian's findutils).

/** One session file as the sandbox lists it, relative to the state volume. */
export interface RemoteFile {
  rel: string;
  size: number;
  mtime: string;
}

/**
 * Lists session files as `size<TAB>mtime<TAB>path<NUL>`, relative to the state volume, for every
 * store in SESSION_STORES. `tool-results` holds large tool outputs the exporter never reads;
 * Gemini keeps chats in `chats/`. -H: each store is a symlink to this project's own directory
 * (see the entrypoint).
 */
export const LIST_SCRIPT = [
  `cd "$1" 2>/dev/null || exit 0`,
  ...SESSION_STORES.map((store) =>
    store.files === "jsonl"
      ? `[ -d ${store.dir} ] && find -H ${store.dir} -name tool-results -prune -o -type f -name '*.jsonl' -printf '%s\\t%T@\\t%p\\0'`
      : `[ -d ${store.dir} ] && find -H ${store.dir} -type f -path '*/chats/*' \\( -name '*.json' -o -name '*.jsonl' \\) -printf '%s\\t%T@\\t%p\\0'`,
  ),
  "exit 0",
].join("\n");

/**
 * The most a listing may hold: ~1.4 million session files at 48-byte records. A sandbox answers
 * with what it likes, so the host reads no more than this (SBX_EXEC_OUTPUT_TOO_LARGE past it).
 */
export const LISTING_MAX_BYTES = 64 * 1024 * 1024;

/**
 * `command` (the login install, whose report is one line), then a newline and the session listing
 * of `root`, in one exec: `sbx up` needs both once the container runs, and each exec is a round
 * trip through the engine plus a process start in a container that is still booting. The exit code
 * is the command's; the listing never fails the exec.
 */
export function followedBySessionListing(command: string[], root: string): string[] {
  // The listing runs in this shell (eval, with its $1 set to the root): no second shell to start.
  return ["sh", "-c", `list=$1 root=$2; shift 2; "$@" || exit; printf '\\n'; set -- "$root"; eval "$list"; exit 0`, "sh", LIST_SCRIPT, root, ...command];
}

/**
 * Reads `offset length path` lines and answers each with `F offset length\n`, exactly `length`
 * bytes (zero-padded if the file shrank meanwhile), then `E <size now>\n` so the host can tell a
 * padded read from a real one; `S\n` for a file it cannot read.
 */
export const FETCH_SCRIPT = `cd "$1" || exit 3
while IFS= read -r req; do
  off=\${req%% *}; req=\${req#* }; len=\${req%% *}; p=\${req#* }
  if [ ! -f "$p" ] || [ ! -r "$p" ]; then printf 'S\\n'; continue; fi
  printf 'F %s %s\\n' "$off" "$len"
  { tail -c +"$((off + 1))" -- "$p" | head -c "$len"; head -c "$len" /dev/zero; } | head -c "$len"
  printf 'E %s\\n' "$(stat -c %s -- "$p" 2>/dev/null || echo -1)"
done`;

/** The fetch script's stdin: one `offset length path` line per range. */
export function fetchRequestLines(ranges: { offset: number; length: number; rel: string }[]): string {
  return ranges.map((range) => `${range.offset} ${range.length} ${range.rel}\n`).join("");
}

export function parseListing(stdout: Buffer): RemoteFile[] {
  const files: RemoteFile[] = [];
  for (const record of stdout.toString("utf8").split("\0")) {
    const match = /^(\d+)\t([\d.]+)\t([\s\S]+)$/.exec(record);
    if (match) files.push({ size: Number(match[1]), mtime: match[2] as string, rel: match[3] as string });
  }
  return files;
}
