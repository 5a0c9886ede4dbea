import { closeSync, openSync, readSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Writable } from "node:stream";
import type { ContainerRuntime } from "@sbx/container-runtime";
import type { AgentName, ExportResult, NoteProject } from "@sbx/transcript-export";
import { STATE_DIR } from "./sandbox-identity.js";
import { FetchStreamParser, type FetchOutcome, type FetchRequest } from "./session-fetch-stream.js";
import { loadManifest, MANIFEST_FILE, mirrorPathFor, saveManifest, type Manifest } from "./session-mirror-manifest.js";
import { FETCH_SCRIPT, fetchRequestLines, LIST_SCRIPT, LISTING_MAX_BYTES, parseListing, type RemoteFile } from "./session-mirror-protocol.js";
import { SESSION_STORES } from "./session-stores.js";

// Mirroring a sandbox's sessions into the host cache and exporting them: the orchestration. The
// scripts it runs are in session-mirror-protocol, the stream it reads in session-fetch-stream.

/** Bytes before a cached file's end that are fetched again to prove the sandbox copy only grew. */
const OVERLAP_BYTES = 4096;

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
  /** The sandbox's listing (LIST_SCRIPT's output), when the caller took it in an exec of its own. @default one exec lists */
  listing?: Buffer;
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
  /** How many execs this run took: 1 when nothing changed, 2 when something did (one fewer when the caller gave the listing). */
  execs: number;
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

  let listed = options.listing;
  if (!listed) {
    const listing = await runtime.exec(container, { cmd: ["sh", "-c", LIST_SCRIPT, "sh", root], maxOutputBytes: LISTING_MAX_BYTES });
    result.execs += 1;
    if (listing.exitCode !== 0) throw new Error(`listing sessions in ${container} failed (exit ${listing.exitCode}): ${firstLine(listing.stderr.toString("utf8"))}`);
    listed = listing.stdout;
  }

  await mkdir(cacheDir, { recursive: true });
  const manifestPath = join(cacheDir, MANIFEST_FILE);
  const manifest = await loadManifest(manifestPath);
  const nextManifest: Manifest = { version: 1, files: {} };
  const requests: FetchRequest[] = [];
  for (const entry of parseListing(listed)) {
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
    let pending = requests;
    let complete = false;
    try {
      // A second round only for files whose cached prefix no longer matched: they are fetched whole.
      for (let round = 0; round < 2 && pending.length > 0; round += 1) {
        const outcome = await fetchRanges(runtime, container, root, pending, cacheDir);
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

async function fetchRanges(runtime: ContainerRuntime, container: string, root: string, requests: FetchRequest[], cacheDir: string): Promise<FetchOutcome> {
  const parser = new FetchStreamParser(requests, cacheDir);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parser.push(chunk);
      callback();
    },
  });
  const stdin = fetchRequestLines(requests.map((request) => ({ offset: request.offset, length: request.length, rel: request.file.rel })));
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

export interface SyncOptions {
  cacheDir: string;
  inbox: string;
  /**
   * Export only these agents' sessions (all are mirrored regardless).
   * @default every agent
   */
  agents?: AgentName[];
  /**
   * How long to wait for another export writing the same inbox (see exportSessions).
   * @default 30000
   */
  lockWaitMs?: number;
  /**
   * Applied to every note's text and name (see exportSessions).
   * @default undefined (no redaction)
   */
  redact?: (text: string) => string;
  /**
   * The host project these sessions belong to (they all ran in /workspace).
   * @default undefined
   */
  project?: NoteProject;
  /** The sandbox's session listing, taken by the caller (see MirrorOptions.listing). */
  listing?: Buffer;
}

export interface SyncResult extends ExportResult {
  /** New session bytes copied out of the sandbox by this run. */
  copiedBytes: number;
  /** Session files the cache mirrors. */
  files: number;
}

/** Mirrors the sandbox's sessions into the cache, then exports every agent the cache holds. */
export async function syncSandboxTranscripts(runtime: ContainerRuntime, container: string, options: SyncOptions): Promise<SyncResult> {
  const mirror = await mirrorSandboxSessions(runtime, container, { cacheDir: options.cacheDir, ...(options.listing ? { listing: options.listing } : {}) });
  const result: SyncResult = { written: 0, unchanged: 0, malformedLines: [], failed: [...mirror.skipped], skipped: [], notes: [], copiedBytes: mirror.copiedBytes, files: mirror.files };
  for (const store of SESSION_STORES) {
    if (options.agents && !options.agents.includes(store.agent)) continue;
    const source = join(options.cacheDir, store.dir);
    if (!(await stat(source).then((info) => info.isDirectory(), () => false))) continue;
    // Loaded on first use: the renderer and its YAML writer cost ~100 ms to import, which `sbx up`
    // would otherwise pay before its first engine call.
    const { exportSessions } = await import("@sbx/transcript-export");
    const exported = await exportSessions({
      source,
      inbox: options.inbox,
      agent: store.agent,
      ...(options.lockWaitMs !== undefined ? { lockWaitMs: options.lockWaitMs } : {}),
      ...(options.redact ? { redact: options.redact } : {}),
      ...(options.project ? { project: options.project } : {}),
    });
    result.written += exported.written;
    result.unchanged += exported.unchanged;
    result.malformedLines.push(...exported.malformedLines);
    result.failed.push(...exported.failed);
    result.skipped.push(...exported.skipped);
    result.notes.push(...exported.notes);
  }
  return result;
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() || "no details";
}
