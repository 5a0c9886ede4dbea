import { randomBytes } from "node:crypto";
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { mkdir, readFile, rename, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import { Writable } from "node:stream";
import type { ContainerRuntime } from "@sbx/container-runtime";
import type { AgentName, ExportResult } from "@sbx/transcript-export";
import { CliError } from "./cli-error.js";
import { STATE_DIR } from "./sandbox-identity.js";

/** Where each agent's sessions sit, relative to the state volume and to the host cache alike. */
const SESSION_TREES: { agent: AgentName; dir: string }[] = [
  { agent: "claude", dir: "claude/projects" },
  { agent: "codex", dir: "codex/sessions" },
  { agent: "gemini", dir: "gemini/tmp" },
];

/** Bytes before a cached file's end that are fetched again to prove the sandbox copy only grew. */
const OVERLAP_BYTES = 4096;
const MANIFEST_FILE = ".sbx-mirror.json";
const STAGING_DIR = ".sbx-staging";
const DEFAULT_AUTOSAVE_SECONDS = 180;
/** setTimeout fires at once for delays above 2^31-1 ms, so longer intervals are refused. */
const MAX_AUTOSAVE_SECONDS = Math.floor(0x7fffffff / 1000);

// Lists session files as `size<TAB>mtime<TAB>path<NUL>`, relative to the state volume.
// `tool-results` holds large tool outputs the exporter never reads; Gemini keeps chats in `chats/`.
// -H: each store is a symlink to this project's own directory (see the entrypoint).
const LIST_SCRIPT = `cd "$1" 2>/dev/null || exit 0
for d in claude/projects codex/sessions; do
  [ -d "$d" ] && find -H "$d" -name tool-results -prune -o -type f -name '*.jsonl' -printf '%s\\t%T@\\t%p\\0'
done
[ -d gemini/tmp ] && find -H gemini/tmp -type f -path '*/chats/*' \\( -name '*.json' -o -name '*.jsonl' \\) -printf '%s\\t%T@\\t%p\\0'
exit 0`;

// Reads `offset length path` lines and answers each with `F offset length\n`, exactly `length`
// bytes (zero-padded if the file shrank meanwhile), then `E <size now>\n` so the host can tell a
// padded read from a real one; `S\n` for a file it cannot read.
const FETCH_SCRIPT = `cd "$1" || exit 3
while IFS= read -r req; do
  off=\${req%% *}; req=\${req#* }; len=\${req%% *}; p=\${req#* }
  if [ ! -f "$p" ] || [ ! -r "$p" ]; then printf 'S\\n'; continue; fi
  printf 'F %s %s\\n' "$off" "$len"
  { tail -c +"$((off + 1))" -- "$p" | head -c "$len"; head -c "$len" /dev/zero; } | head -c "$len"
  printf 'E %s\\n' "$(stat -c %s -- "$p" 2>/dev/null || echo -1)"
done`;

export interface MirrorOptions {
  /** Host directory the session trees are mirrored into (`<cacheDir>/claude/projects/…`). */
  cacheDir: string;
  /**
   * The state volume's mount point in the sandbox.
   * @default "/home/sandbox/.llm"
   */
  root?: string;
  /**
   * Larger session files are left out (and reported), so a runaway file cannot fill the host disk.
   * @default 1 GiB
   */
  maxFileBytes?: number;
}

export interface MirrorResult {
  /** New bytes added to the cache (not counting the bytes re-read to prove a file only grew). */
  copiedBytes: number;
  /** Every content byte read out of the sandbox, overlap included. */
  transferredBytes: number;
  /** Session files in the sandbox that the cache now mirrors. */
  files: number;
  /** Paths (relative to the state volume) whose cached copy changed in this run. */
  changed: string[];
  /** Files left out: unsafe name, unreadable, too large. Paths are the sandbox's. */
  skipped: { file: string; reason: string }[];
  /** How many execs this run took: 1 when nothing changed, 2 when something did. */
  execs: number;
}

interface RemoteFile {
  rel: string;
  size: number;
  mtime: string;
}

interface FetchRequest {
  file: RemoteFile;
  target: string;
  offset: number;
  length: number;
  /** Bytes the cache holds at [offset, offset + expected.length); empty for a whole fetch. */
  expected: Buffer;
  /** The cache's size before this fetch; an append writes from here. */
  cachedSize: number;
}

interface Manifest {
  version: 1;
  files: Record<string, { mtime: string }>;
}

/**
 * Mirrors the agents' session trees out of a running sandbox into a host cache, incrementally:
 * one exec lists sizes and mtimes; a second (only if something changed) streams the new bytes of
 * every changed file, each with the last 4 KiB the cache already holds so a rewritten file is
 * caught and fetched whole. Cost grows with new bytes, not history.
 */
export async function mirrorSandboxSessions(runtime: ContainerRuntime, container: string, options: MirrorOptions): Promise<MirrorResult> {
  const cacheDir = resolve(options.cacheDir);
  const root = options.root ?? STATE_DIR;
  const maxFileBytes = options.maxFileBytes ?? 1024 ** 3;
  const result: MirrorResult = { copiedBytes: 0, transferredBytes: 0, files: 0, changed: [], skipped: [], execs: 0 };

  const listing = await runtime.exec(container, { cmd: ["sh", "-c", LIST_SCRIPT, "sh", root] });
  result.execs += 1;
  if (listing.exitCode !== 0) throw new Error(`listing sessions in ${container} failed (exit ${listing.exitCode}): ${firstLine(listing.stderr.toString("utf8"))}`);

  await mkdir(cacheDir, { recursive: true });
  const manifestPath = join(cacheDir, MANIFEST_FILE);
  const manifest = await loadManifest(manifestPath);
  const nextManifest: Manifest = { version: 1, files: {} };
  const requests: FetchRequest[] = [];
  for (const entry of parseListing(listing.stdout)) {
    const sandboxPath = `${root}/${entry.rel}`;
    const target = mirrorPathFor(cacheDir, entry.rel);
    if (!target) {
      result.skipped.push({ file: sandboxPath, reason: "unsafe file name; not mirrored" });
      continue;
    }
    if (entry.size > maxFileBytes) {
      result.skipped.push({ file: sandboxPath, reason: `larger than ${maxFileBytes} bytes; not mirrored` });
      continue;
    }
    const known = manifest.files[entry.rel];
    const cachedSize = await stat(target).then((info) => (info.isFile() ? info.size : -1), () => undefined);
    const plan = planFetch(entry, cachedSize, known?.mtime);
    if (plan === "unchanged") {
      nextManifest.files[entry.rel] = { mtime: entry.mtime };
      result.files += 1;
      continue;
    }
    if (plan === "empty") {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, "");
      nextManifest.files[entry.rel] = { mtime: entry.mtime };
      result.files += 1;
      result.changed.push(entry.rel);
      continue;
    }
    const expected = plan.append ? readRange(target, plan.offset, (cachedSize ?? 0) - plan.offset) : Buffer.alloc(0);
    requests.push({ file: entry, target, offset: plan.offset, length: entry.size - plan.offset, expected, cachedSize: Math.max(cachedSize ?? 0, 0) });
  }

  if (requests.length > 0) {
    // Per run, so a concurrent sync of the same cache (autosave and `sbx export`) never loses its temp files.
    const staging = join(cacheDir, STAGING_DIR, `${process.pid}-${randomBytes(4).toString("hex")}`);
    mkdirSync(staging, { recursive: true });
    let pending = requests;
    let complete = false;
    try {
      // A second round only for files whose cached prefix no longer matched: they are fetched whole.
      for (let round = 0; round < 2 && pending.length > 0; round += 1) {
        const outcome = await fetchRanges(runtime, container, root, pending, staging);
        result.execs += 1;
        result.copiedBytes += outcome.copiedBytes;
        result.transferredBytes += outcome.transferredBytes;
        for (const request of outcome.done) {
          nextManifest.files[request.file.rel] = { mtime: request.file.mtime };
          result.files += 1;
          result.changed.push(request.file.rel);
        }
        for (const request of outcome.unreadable) result.skipped.push({ file: `${root}/${request.file.rel}`, reason: "not readable in the sandbox; not mirrored" });
        pending = outcome.diverged.map((request) => ({ ...request, offset: 0, length: request.file.size, expected: Buffer.alloc(0) }));
        if (outcome.error) throw outcome.error;
      }
      // Anything still pending changed under us twice; the next run picks it up from a fresh listing.
      complete = true;
    } finally {
      rmSync(staging, { recursive: true, force: true });
      await rmdir(dirname(staging)).catch(() => undefined);
      // Saved after a failure too, so the files that did arrive are not re-verified next time.
      if (!complete) await saveManifest(manifestPath, { version: 1, files: { ...manifest.files, ...nextManifest.files } });
    }
  }

  if (JSON.stringify(nextManifest) !== JSON.stringify(manifest)) await saveManifest(manifestPath, nextManifest);
  return result;
}

/** `append`: fetch from `offset`, where the bytes up to the cached end are the proof. */
type FetchPlan = "unchanged" | "empty" | { offset: number; append: boolean };

/**
 * What to fetch for one file. JSONL sessions only grow, so a bigger file is fetched from just
 * before the cached end; Gemini's `.json` chats are rewritten whole, so any change fetches them whole.
 */
function planFetch(file: RemoteFile, cachedSize: number | undefined, knownMtime: string | undefined): FetchPlan {
  const cached = cachedSize !== undefined && cachedSize >= 0;
  if (cached && cachedSize === file.size && knownMtime === file.mtime) return "unchanged";
  if (file.size === 0) return "empty";
  if (!cached || cachedSize === 0 || file.rel.endsWith(".json") || cachedSize > file.size) return { offset: 0, append: false };
  return { offset: Math.max(0, cachedSize - OVERLAP_BYTES), append: true };
}

interface FetchOutcome {
  done: FetchRequest[];
  diverged: FetchRequest[];
  unreadable: FetchRequest[];
  copiedBytes: number;
  transferredBytes: number;
  error?: Error;
}

/** One exec for the whole batch, streamed straight to disk through a small framing parser. */
async function fetchRanges(runtime: ContainerRuntime, container: string, root: string, requests: FetchRequest[], staging: string): Promise<FetchOutcome> {
  const parser = new FetchStreamParser(requests, staging);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parser.push(chunk);
      callback();
    },
  });
  const stdin = requests.map((request) => `${request.offset} ${request.length} ${request.file.rel}\n`).join("");
  let run: { exitCode: number; stderr: Buffer };
  try {
    run = await runtime.exec(container, { cmd: ["sh", "-c", FETCH_SCRIPT, "sh", root], stdin, stdout: sink });
  } finally {
    await new Promise<void>((done) => sink.end(done));
  }
  const outcome = parser.finish();
  if (!outcome.error && run.exitCode !== 0) {
    outcome.error = new Error(`reading sessions in ${container} failed (exit ${run.exitCode}): ${firstLine(run.stderr.toString("utf8"))}`);
  }
  return outcome;
}

/** The parser's view of the record it is inside. */
interface OpenRecord {
  request: FetchRequest;
  remaining: number;
  /** Overlap bytes still to check against the cache before anything is written. */
  verified: number;
  diverged: boolean;
  fd: number | undefined;
  tempPath: string | undefined;
  written: number;
}

/**
 * Parses `F off len\n<len bytes>E size\n` (or `S\n`) records, one per request in order. Writes
 * are synchronous and positional: memory stays flat however large the file, and two runs racing
 * on the same cache write the same bytes to the same places.
 */
class FetchStreamParser {
  readonly #requests: FetchRequest[];
  readonly #staging: string;
  #index = 0;
  #line: Buffer[] = [];
  #lineLength = 0;
  #record: OpenRecord | undefined;
  readonly #outcome: FetchOutcome = { done: [], diverged: [], unreadable: [], copiedBytes: 0, transferredBytes: 0 };

  constructor(requests: FetchRequest[], staging: string) {
    this.#requests = requests;
    this.#staging = staging;
  }

  push(chunk: Buffer): void {
    if (this.#outcome.error) return;
    try {
      this.#consume(chunk);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  finish(): FetchOutcome {
    if (!this.#outcome.error && (this.#record || this.#index < this.#requests.length || this.#lineLength > 0)) {
      this.#fail(new Error("the sandbox stopped answering in the middle of a session file"));
    }
    return this.#outcome;
  }

  #consume(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const record = this.#record;
      if (record && record.remaining > 0) {
        const take = Math.min(record.remaining, chunk.length - at);
        this.#body(record, chunk.subarray(at, at + take));
        record.remaining -= take;
        at += take;
        continue;
      }
      const newline = chunk.indexOf(0x0a, at);
      const end = newline === -1 ? chunk.length : newline;
      this.#lineLength += end - at;
      if (this.#lineLength > 64) throw new Error("the sandbox sent an unexpected answer while reading sessions");
      this.#line.push(chunk.subarray(at, end));
      at = end;
      if (newline === -1) break;
      at += 1;
      const line = Buffer.concat(this.#line).toString("latin1");
      this.#line = [];
      this.#lineLength = 0;
      this.#control(line);
    }
  }

  #control(line: string): void {
    const record = this.#record;
    if (record) {
      const trailer = /^E (-?\d+)$/.exec(line);
      if (!trailer) throw new Error("the sandbox sent an unexpected answer while reading sessions");
      this.#record = undefined;
      this.#close(record, Number(trailer[1]));
      return;
    }
    const request = this.#requests[this.#index];
    if (!request) throw new Error("the sandbox sent more than was asked while reading sessions");
    this.#index += 1;
    if (line === "S") {
      this.#outcome.unreadable.push(request);
      return;
    }
    if (line !== `F ${request.offset} ${request.length}`) throw new Error("the sandbox sent an unexpected answer while reading sessions");
    this.#record = { request, remaining: request.length, verified: 0, diverged: false, fd: undefined, tempPath: undefined, written: 0 };
  }

  #body(record: OpenRecord, bytes: Buffer): void {
    this.#outcome.transferredBytes += bytes.length;
    if (record.diverged) return;
    const { request } = record;
    let data = bytes;
    if (record.verified < request.expected.length) {
      const take = Math.min(request.expected.length - record.verified, data.length);
      if (!data.subarray(0, take).equals(request.expected.subarray(record.verified, record.verified + take))) {
        record.diverged = true;
        return;
      }
      record.verified += take;
      data = data.subarray(take);
      if (data.length === 0) return;
    }
    if (record.fd === undefined) {
      if (request.expected.length > 0) {
        record.fd = openSync(request.target, "r+");
      } else {
        record.tempPath = join(this.#staging, `${randomBytes(8).toString("hex")}.part`);
        record.fd = openSync(record.tempPath, "w", 0o600);
      }
    }
    const position = request.expected.length > 0 ? request.offset + request.expected.length + record.written : record.written;
    writeFully(record.fd, data, position);
    record.written += data.length;
  }

  #close(record: OpenRecord, sizeNow: number): void {
    const { request } = record;
    const end = request.offset + request.length;
    // A `.json` chat rewritten meanwhile may hold a mix of two versions; JSONL only ever grows.
    const intact = request.file.rel.endsWith(".json") ? sizeNow === request.file.size : sizeNow >= end;
    if (record.diverged) {
      if (intact) this.#outcome.diverged.push(request);
      return;
    }
    if (request.expected.length > 0) {
      if (record.fd !== undefined) {
        if (!intact) ftruncateSync(record.fd, request.cachedSize);
        closeSync(record.fd);
      }
      if (!intact) return;
      this.#outcome.copiedBytes += record.written;
      this.#outcome.done.push(request);
      return;
    }
    if (record.fd !== undefined) closeSync(record.fd);
    if (!intact || record.tempPath === undefined) {
      if (record.tempPath) rmSync(record.tempPath, { force: true });
      return;
    }
    mkdirSync(dirname(request.target), { recursive: true });
    renameSync(record.tempPath, request.target);
    this.#outcome.copiedBytes += record.written;
    this.#outcome.done.push(request);
  }

  #fail(error: Error): void {
    this.#outcome.error = error;
    const record = this.#record;
    this.#record = undefined;
    if (!record) return;
    try {
      if (record.fd !== undefined) {
        if (record.request.expected.length > 0) ftruncateSync(record.fd, record.request.cachedSize);
        closeSync(record.fd);
      }
      if (record.tempPath) rmSync(record.tempPath, { force: true });
    } catch {
      // The first error is the one worth reporting.
    }
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
}

function readRange(path: string, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, "r");
  try {
    let read = 0;
    while (read < length) {
      const count = readSync(fd, buffer, read, length - read, offset + read);
      if (count === 0) break;
      read += count;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function parseListing(stdout: Buffer): RemoteFile[] {
  const files: RemoteFile[] = [];
  for (const record of stdout.toString("utf8").split("\0")) {
    const match = /^(\d+)\t([\d.]+)\t([\s\S]+)$/.exec(record);
    if (match) files.push({ size: Number(match[1]), mtime: match[2] as string, rel: match[3] as string });
  }
  return files;
}

/**
 * Where a sandbox session file goes in the cache, or undefined when its name is unsafe: it must
 * sit under one of the mirrored trees, end in `.jsonl`/`.json`, and have no `..`, empty or
 * hidden-control segments, so nothing the sandbox names can land outside the cache.
 */
export function mirrorPathFor(cacheDir: string, rel: string): string | undefined {
  if (rel.length === 0 || rel.length > 1024 || isAbsolute(rel)) return undefined;
  // Control characters (a newline would also break the fetch protocol), backslashes, and bytes
  // that were not UTF-8 (decoded to U+FFFD, so the name could not be asked for again).
  if (/[\u0000-\u001f\u007f\\\ufffd]/.test(rel)) return undefined;
  if (!rel.endsWith(".jsonl") && !rel.endsWith(".json")) return undefined;
  if (!SESSION_TREES.some((tree) => rel.startsWith(`${tree.dir}/`))) return undefined;
  if (rel.split("/").some((segment) => segment === "" || segment === "." || segment === ".." || segment.length > 255)) return undefined;
  const base = resolve(cacheDir);
  const target = resolve(base, rel);
  return target.startsWith(`${base}${sep}`) ? target : undefined;
}

async function loadManifest(path: string): Promise<Manifest> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Manifest;
    if (parsed.version === 1 && parsed.files && typeof parsed.files === "object") return parsed;
  } catch {
    // Missing or damaged: every file is re-verified against its cached tail, nothing is lost.
  }
  return { version: 1, files: {} };
}

async function saveManifest(path: string, manifest: Manifest): Promise<void> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, JSON.stringify(manifest));
  await rename(temp, path);
}

export interface SyncOptions {
  cacheDir: string;
  inbox: string;
  /**
   * Export only these agents' sessions (all are mirrored regardless).
   * @default every agent
   */
  agents?: AgentName[];
}

export interface SyncResult extends ExportResult {
  /** New session bytes copied out of the sandbox by this run. */
  copiedBytes: number;
  /** Session files the cache mirrors. */
  files: number;
}

/** Mirrors the sandbox's sessions into the cache, then exports every agent the cache holds. */
export async function syncSandboxTranscripts(runtime: ContainerRuntime, container: string, options: SyncOptions): Promise<SyncResult> {
  const mirror = await mirrorSandboxSessions(runtime, container, { cacheDir: options.cacheDir });
  const result: SyncResult = { written: 0, unchanged: 0, malformedLines: [], failed: [...mirror.skipped], notes: [], copiedBytes: mirror.copiedBytes, files: mirror.files };
  for (const tree of SESSION_TREES) {
    if (options.agents && !options.agents.includes(tree.agent)) continue;
    const source = join(options.cacheDir, tree.dir);
    if (!(await stat(source).then((info) => info.isDirectory(), () => false))) continue;
    // Loaded on first use: the renderer and its YAML writer cost ~100 ms to import, which `sbx up`
    // would otherwise pay before its first engine call.
    const { exportSessions } = await import("@sbx/transcript-export");
    const exported = await exportSessions({ source, inbox: options.inbox, agent: tree.agent });
    result.written += exported.written;
    result.unchanged += exported.unchanged;
    result.malformedLines.push(...exported.malformedLines);
    result.failed.push(...exported.failed);
    result.notes.push(...exported.notes);
  }
  return result;
}

export interface AutosaveOptions extends SyncOptions {
  /** Milliseconds between syncs; 0 keeps only the final sync at `stop()`. */
  intervalMs: number;
  /**
   * Told of a failed sync in one line; the session goes on.
   * @default ignore
   */
  onError?: (message: string, error: unknown) => void;
  /**
   * Also sync right away (catching up after a crash) instead of first waiting an interval.
   * @default false
   */
  runAtStart?: boolean;
  /**
   * The sync to run; injectable for tests.
   * @default syncSandboxTranscripts(runtime, container, options)
   */
  sync?: () => Promise<SyncResult>;
}

export interface Autosave {
  /** Stops the timer, waits for a sync in flight, then runs the final one. Never rejects. */
  stop(): Promise<SyncResult | undefined>;
}

/**
 * Syncs the sandbox's transcripts every `intervalMs` while a session is attached. Runs never
 * overlap (the next is scheduled when one ends), and the timer is unref'd so it never keeps the
 * process alive.
 */
export function startAutosave(runtime: ContainerRuntime, container: string, options: AutosaveOptions): Autosave {
  const sync = options.sync ?? (() => syncSandboxTranscripts(runtime, container, options));
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<SyncResult | undefined> | undefined;
  let stopping: Promise<SyncResult | undefined> | undefined;

  const runOnce = (): Promise<SyncResult | undefined> => {
    const run = sync().then(
      (result) => result,
      (error: unknown) => {
        options.onError?.(`transcript autosave failed: ${firstLine(error instanceof Error ? error.message : String(error))}`, error);
        return undefined;
      },
    );
    inFlight = run;
    return run.finally(() => {
      if (inFlight === run) inFlight = undefined;
    });
  };

  const schedule = (delay: number): void => {
    timer = setTimeout(() => {
      timer = undefined;
      void runOnce().then(() => {
        if (!stopping) schedule(options.intervalMs);
      });
    }, delay);
    timer.unref?.();
  };

  if (options.intervalMs > 0) schedule(options.runAtStart ? 0 : options.intervalMs);
  else if (options.runAtStart) void runOnce();

  return {
    stop() {
      stopping ??= (async () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        await inFlight;
        return runOnce();
      })();
      return stopping;
    },
  };
}

/** `SBX_AUTOSAVE_INTERVAL` (seconds, default 180) in milliseconds; 0 turns periodic saves off. */
export function autosaveIntervalMs(env: NodeJS.ProcessEnv): number {
  const raw = env.SBX_AUTOSAVE_INTERVAL?.trim();
  if (raw === undefined || raw === "") return DEFAULT_AUTOSAVE_SECONDS * 1000;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_AUTOSAVE_SECONDS) {
    throw new CliError("SBX_CONFIG_INVALID", `SBX_AUTOSAVE_INTERVAL must be a whole number of seconds, not "${raw}".`, {
      hint: `Set SBX_AUTOSAVE_INTERVAL to seconds between transcript saves (default ${DEFAULT_AUTOSAVE_SECONDS}, 0 for only the final save, at most ${MAX_AUTOSAVE_SECONDS}), or unset it.`,
    });
  }
  return Number(raw) * 1000;
}

/** The inbox notes go to: `$SANDBOX_INBOX_DIR`, or `~/sbx-inbox`. */
export function defaultInboxDir(env: NodeJS.ProcessEnv, home: string): string {
  return env.SANDBOX_INBOX_DIR || join(home, "sbx-inbox");
}

/**
 * The host cache of one state volume's sessions: `${XDG_CACHE_HOME:-~/.cache}/sbx/sessions/<key>`.
 * Keyed by the volume, so every sandbox on one login's volume shares one cache.
 */
/** The host's mirror of one project's sessions on one login's state volume. */
export function transcriptCacheDir(env: NodeJS.ProcessEnv, home: string, volumeName: string, projectId: string): string {
  for (const key of [volumeName, projectId]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(key)) {
      throw new CliError("SBX_CONFIG_INVALID", `"${key}" cannot name a transcript cache directory.`, { hint: "Use a state volume and project id made of letters, digits, _ . -." });
    }
  }
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  const cacheHome = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(home, ".cache");
  return join(cacheHome, "sbx", "sessions", volumeName, projectId);
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() || "no details";
}
