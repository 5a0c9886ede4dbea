import { createHash, randomBytes, type Hash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { openFileAtomicSync, writeFileAtomicSync } from "@sbx/atomic-file";
import { mkdir, open, readFile, readdir, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ClaudeSessionReader } from "./claude-session.js";
import { CodexSessionReader } from "./codex-session.js";
import { ExportError } from "./errors.js";
import { loadState, saveState, STATE_FILE, type FileStamp, type SessionState } from "./export-state.js";
import { GeminiSessionReader } from "./gemini-session.js";
import { lockInbox } from "./inbox-lock.js";
import { feedLine, readFileLines, type SourceLine } from "./jsonl-lines.js";
import { renderSection, type Section, type TurnState } from "./note-sections.js";
import { notePathFor } from "./note-path.js";
import { parseGeminiDocument } from "./render-session.js";
import type { RenderOptions, ResolvedRenderOptions } from "./render-options.js";
import { findClaudeSubagents, findSessionFiles, siblingAgentFiles, sniffAgent } from "./session-files.js";
import { redactStats, renderNoteHeader, type AgentName } from "./session-stats.js";
import type { MalformedLine, ReaderCheckpoint, TranscriptReader } from "./transcript-reader.js";

export interface ExportOptions {
  /** A session file, a project directory, or an agent's session store (e.g. `~/.claude/projects`). */
  source: string;
  /** Notes go to `<inbox>/conversations/<iso-ts>/<convo-slug>.md`. */
  inbox: string;
  /**
   * Read every session under `source` as this agent's. Without it, each file's agent is
   * recognised from its first line.
   * @default undefined
   */
  agent?: AgentName;
  /**
   * How notes are rendered.
   * @default {}
   */
  render?: Pick<RenderOptions, "includeThinking" | "foldResultsOver">;
  /**
   * One export writes an inbox at a time. How long to wait for another one to finish before
   * failing with SBX_EXPORT_INBOX_LOCKED (0: fail at once, e.g. for a periodic save that can skip).
   * @default 30000
   */
  lockWaitMs?: number;
  /**
   * Applied to every piece of text a note is made of — body, title, frontmatter values and the
   * file name — before it is written, so a secret an agent printed never reaches the inbox (which
   * is meant to be synced). Must be pure: same text in, same text out. `sbx` passes the boundary
   * policy's `redact`, which leaves `[REDACTED:<rule>]` markers.
   * @default undefined (text is written as recorded)
   */
  redact?: (text: string) => string;
  /**
   * The project the sessions belong to, as the host knows it: a sandbox's sessions all ran in
   * `/workspace`, which names nothing. Shown as `project` and `project_path` in the frontmatter.
   * @default undefined (the last segment of the session's own cwd)
   */
  project?: NoteProject;
}

export interface NoteProject {
  name: string;
  /** The project's directory on the host. */
  path: string;
}

/** What a note is rendered with besides its session; a change to any of it re-renders the note. */
interface NoteSettings {
  render: Pick<RenderOptions, "includeThinking" | "foldResultsOver">;
  redact: (text: string) => string;
  /** Whether `redact` is the caller's (else it returns text as it is). */
  redactsText: boolean;
  project: NoteProject | undefined;
  /** Recorded in the state: notes rendered with other settings are rendered again. */
  key: string;
  /**
   * Which source file each note path belongs to: two files of one session (a resumed Codex
   * rollout, a copy) would otherwise write the same note in turn, each run.
   */
  owners: Map<string, string>;
}

export interface ExportResult {
  /** Notes written (new or changed sessions). */
  written: number;
  /** Sessions whose note was already up to date. */
  unchanged: number;
  /**
   * Unreadable lines in the sessions written by this run (all of each such session's, not just
   * the new ones); sessions left unchanged were reported when they were written.
   */
  malformedLines: MalformedLine[];
  /** Sessions that could not be exported at all (unreadable file, I/O error); the rest go on. */
  failed: { file: string; reason: string }[];
  /**
   * Session files with no conversation in them (only bookkeeping records, e.g. a Claude file of
   * summaries): no note is written, and they are listed rather than passed over in silence.
   */
  skipped: { file: string; reason: string }[];
  /** Absolute paths of the notes written by this run. */
  notes: string[];
}

/**
 * The body writer's buffer. Rendered text is encoded into it at once, so nothing waits on the heap
 * (text held as strings until a flush outlived young-generation collections and was promoted).
 */
const BODY_FLUSH_BYTES = 1024 * 1024;

/** How often a long render lets the event loop run (see renderToNote). */
const YIELD_EVERY_BYTES = 4 * 1024 * 1024;

/** Notes are for people (an Obsidian vault, a synced folder): readable like any file they write. */
const NOTE_MODE = 0o644;

/**
 * Notes are written atomically but not fsync'd. Measured with the package bench: 1,000 sessions
 * 41.7 MB/s with fsync against 43.0 MB/s without (within noise on that run), and on a 200 MB
 * session the fsync waits for the whole note to reach the disk. A note is derived data: if a
 * crash leaves it short, the next run sees its size differ from the state and renders it again.
 * The state file, which is not derived, stays durable.
 */
const DURABLE_NOTES = false;

/**
 * What proves a session file was only appended to since the last run (so the note can be
 * continued, not redone): a SHA-256 of everything before the resume point when that is at most
 * WHOLE_PROOF_BYTES (a few ms), and above it of the last TAIL_PROOF_BYTES plus SAMPLE_BYTES at every
 * SAMPLE_STRIDE — cost stays flat as history grows, and an edit far before the end is still seen
 * in every session under 8 MiB and in most above (a 200 MB session: 200 samples, 0.9 MB read).
 */
const WHOLE_PROOF_BYTES = 8 * 1024 * 1024;
const TAIL_PROOF_BYTES = 64 * 1024;
const SAMPLE_BYTES = 4 * 1024;
const SAMPLE_STRIDE = 1024 * 1024;

/**
 * Export every new or changed session under `source` into the inbox. Cheap when nothing changed:
 * unchanged files are only stat'ed; appended files are parsed from where the last run stopped.
 */
export async function exportSessions(options: ExportOptions): Promise<ExportResult> {
  const source = resolve(options.source);
  const conversations = join(resolve(options.inbox), "conversations");
  await stat(source).catch((cause: unknown) => {
    throw new ExportError("SBX_EXPORT_SOURCE_MISSING", `The session source ${source} does not exist or cannot be read.`, {
      hint: "Pass --source with the directory that holds the agent's session files.",
      cause,
    });
  });
  await mkdir(conversations, { recursive: true }).catch((cause: unknown) => {
    throw new ExportError("SBX_EXPORT_INBOX_UNWRITABLE", `Cannot create ${conversations}.`, { hint: "Check that the inbox directory is writable, or pass --inbox.", cause });
  });
  const lock = await lockInbox(conversations, options.lockWaitMs ?? 30_000);
  try {
    return await exportUnderLock(source, conversations, options);
  } finally {
    await lock.release();
  }
}

async function exportUnderLock(source: string, conversations: string, options: ExportOptions): Promise<ExportResult> {
  // Read under the lock: the last writer's sessions are all in it.
  const statePath = join(conversations, STATE_FILE);
  const state = await loadState(statePath);
  const result: ExportResult = { written: 0, unchanged: 0, malformedLines: [], failed: [], skipped: [], notes: [] };
  const siblingCache = new Map<string, Promise<Map<string, string[]>>>();
  const siblingOwners = (directory: string): Promise<Map<string, string[]>> => {
    let owners = siblingCache.get(directory);
    if (!owners) siblingCache.set(directory, (owners = siblingAgentFiles(directory)));
    return owners;
  };
  const settings: NoteSettings = {
    render: options.render ?? {},
    redact: options.redact ?? ((text) => text),
    redactsText: options.redact !== undefined,
    project: options.project,
    key: JSON.stringify({ redacted: options.redact !== undefined, project: options.project ?? null, render: options.render ?? {} }),
    owners: new Map(Object.entries(state.sessions).map(([path, session]) => [session.notePath, path])),
  };
  let stateChanged = false;
  for (const file of await findSessionFiles(source, [conversations])) {
    try {
      const previous = state.sessions[file.path];
      const outcome = await exportOne(file.path, options.agent ?? previous?.agent, previous, conversations, settings, siblingOwners);
      if (outcome.kind === "skipped") continue;
      if (outcome.kind === "empty") {
        result.skipped.push({ file: file.path, reason: outcome.reason });
        continue;
      }
      if (outcome.kind === "unchanged") {
        result.unchanged += 1;
        if (outcome.state !== previous) {
          state.sessions[file.path] = outcome.state;
          stateChanged = true;
        }
        continue;
      }
      state.sessions[file.path] = outcome.state;
      stateChanged = true;
      result.written += 1;
      result.notes.push(join(conversations, outcome.state.notePath));
      result.malformedLines.push(...outcome.state.malformed);
    } catch (error) {
      result.failed.push({ file: file.path, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  if (stateChanged) await saveState(statePath, state);
  await rmdir(join(conversations, ".sbx-staging")).catch(() => {});
  return result;
}

type Outcome = { kind: "skipped" } | { kind: "empty"; reason: string } | { kind: "unchanged"; state: SessionState } | { kind: "written"; state: SessionState };

/** A session file with records of its agent but no conversation: nothing to write. */
interface EmptySession {
  empty: string;
}

async function exportOne(
  path: string,
  knownAgent: AgentName | undefined,
  previous: SessionState | undefined,
  conversations: string,
  settings: NoteSettings,
  siblingOwners: (directory: string) => Promise<Map<string, string[]>>,
): Promise<Outcome> {
  // Per-file metadata calls are synchronous: each is microseconds, a thread-pool round trip far
  // more on a loaded machine, and an export of many small sessions is mostly such calls.
  const sourceStamp = stampOf(statSync(path));
  const notePath = previous ? join(conversations, previous.notePath) : undefined;
  const noteStamp = notePath ? statOrUndefined(notePath) : undefined;
  const noteIntact = previous !== undefined && noteStamp !== undefined && noteStamp.size === previous.noteSize;
  // A note rendered with other settings (redaction turned on or off, another project) is redone
  // whole; the old one is still removed if its name changes.
  const subagentsIntact = previous !== undefined && previous.settingsKey === settings.key && (await stampsMatch(previous.subagents));

  if (previous && noteIntact && subagentsIntact && sameStamp(previous.source, sourceStamp)) return { kind: "unchanged", state: previous };

  const agent = knownAgent ?? (await sniffAgent(path));
  if (!agent) return { kind: "skipped" };

  let resume: SessionState["resume"];
  if (previous && noteIntact && subagentsIntact && agent === previous.agent && sourceStamp.size >= previous.consumed) {
    const sameSize = sourceStamp.size === previous.source.size;
    // A session file only grows: at equal size a changed stamp means it was rewritten in place,
    // which only the whole-file proof can clear.
    if ((!sameSize || sourceStamp.size <= WHOLE_PROOF_BYTES) && (await prefixMatches(path, previous.consumed, previous.prefixHash))) {
      // Same bytes up to where we stopped and nothing complete after: only the stamp moved.
      if (sameSize) return { kind: "unchanged", state: { ...previous, source: sourceStamp } };
      resume = previous.resume;
    }
  }

  const subagentPaths = agent === "claude" ? await findClaudeSubagents(path, siblingOwners) : new Map<string, string>();
  const attempt = await renderToNote(path, agent, sourceStamp, resume, previous, conversations, settings, subagentPaths);
  if (attempt && "empty" in attempt) return { kind: "empty", reason: attempt.empty };
  if (attempt) return { kind: "written", state: attempt };
  // The old note did not hold what the state said (edited by hand?): render from the start.
  const full = await renderToNote(path, agent, sourceStamp, undefined, previous, conversations, settings, subagentPaths);
  if (full && "empty" in full) return { kind: "empty", reason: full.empty };
  return { kind: "written", state: full as SessionState };
}

/** Writes the note; returns undefined only if resuming was impossible after all. */
async function renderToNote(
  path: string,
  agent: AgentName,
  sourceStamp: FileStamp,
  resume: SessionState["resume"],
  previous: SessionState | undefined,
  conversations: string,
  settings: NoteSettings,
  subagentPaths: Map<string, string>,
): Promise<SessionState | EmptySession | undefined> {
  // The staging directory and its files are made only when needed: most notes are under the body
  // buffer and go from memory into the note, and a file created and deleted per session was a
  // visible cost of exporting many small ones.
  const staging = join(conversations, ".sbx-staging");
  let token: string | undefined;
  const stagedPath = (suffix: string): string => {
    if (token === undefined) {
      mkdirSync(staging, { recursive: true });
      token = `${process.pid}-${randomBytes(6).toString("hex")}`;
    }
    return join(staging, `${token}${suffix}`);
  };
  const assets = new Map<string, string>();
  const body = new BodyWriter(() => stagedPath(".body"));
  try {
    if (resume && previous) {
      const copied = copyPrefix(join(conversations, previous.notePath), previous.headerBytes, resume.bodyBytes, body);
      if (copied !== resume.bodyHash) return undefined;
    }
    const options: ResolvedRenderOptions = {
      includeThinking: settings.render.includeThinking ?? true,
      foldResultsOver: settings.render.foldResultsOver ?? 1500,
      onAsset: (fileName, bytes) => {
        if (assets.has(fileName)) return;
        const assetPath = stagedPath(`-${fileName}`);
        writeWholeFileSync(assetPath, bytes);
        assets.set(fileName, assetPath);
      },
      subagent: (agentId) => {
        const subagentPath = subagentPaths.get(agentId);
        return subagentPath ? readFileSync(subagentPath, "utf8").split("\n") : undefined;
      },
      subagentIds: () => [...subagentPaths.keys()].sort(),
    };
    // A note has one `## assistant` heading per turn: whose turn it is carries over a resume.
    const turn: TurnState = { role: resume?.lastRole ?? null };
    let conversation = 0;
    const redact = settings.redactsText ? settings.redact : undefined;
    const write = (text: string): void => body.write(text);
    const sink = (section: Section): void => {
      if (section.kind !== "event") conversation += 1;
      // Redaction needs the section whole; without it the pieces go to the note as they are made.
      if (redact) body.write(redact(renderSection(section, { options, depth: 0, turn })));
      else renderSection(section, { options, depth: 0, turn }, write);
    };
    const checkpoint: ReaderCheckpoint | undefined = resume ? { offset: resume.offset, line: resume.line, stats: resume.stats } : undefined;
    const reader: TranscriptReader =
      agent === "claude" ? new ClaudeSessionReader(options, sink, false, checkpoint) : agent === "codex" ? new CodexSessionReader(sink, checkpoint) : new GeminiSessionReader(sink);

    let consumed = checkpoint?.offset ?? 0;
    let lastCheckpoint = reader.checkpoint();
    let resumeState: SessionState["resume"] = resume;
    let lines: Iterable<SourceLine> = [];
    let hashedWhole: { hash: Hash; bytes: () => number } | undefined;
    const geminiDocument = agent === "gemini" && path.endsWith(".json") ? parseGeminiDocument(await readFile(path, "utf8")) : undefined;
    if (geminiDocument !== undefined && reader instanceof GeminiSessionReader) {
      reader.pushDocument(geminiDocument);
      consumed = sourceStamp.size;
    } else {
      // The body hash at the resume point is taken when the body is copied into the note (it is
      // read back whole then anyway), not per checkpoint.
      let yieldAt = consumed + YIELD_EVERY_BYTES;
      // A whole file read from its start is hashed as it is read (the proof a later run checks),
      // instead of being read a second time afterwards; it holds if every line was consumed.
      if (!checkpoint && sourceStamp.size <= WHOLE_PROOF_BYTES) {
        const hash = createHash("sha256").update(`${sourceStamp.size}\n`);
        let hashed = 0;
        const onBytes = (chunk: Uint8Array): void => {
          hash.update(chunk);
          hashed += chunk.length;
        };
        hashedWhole = { hash, bytes: () => hashed };
        lines = readFileLines(path, { line: 1, offset: 0 }, sourceStamp.size, onBytes);
      } else lines = readFileLines(path, checkpoint ?? { line: 1, offset: 0 }, sourceStamp.size);
      for (const line of lines) {
        if (!feedLine(reader, line)) break;
        consumed = line.next.offset;
        const current = reader.checkpoint();
        if (current !== lastCheckpoint && current) {
          lastCheckpoint = current;
          resumeState = { offset: current.offset, line: current.line, stats: current.stats, bodyBytes: body.bytes, bodyHash: "", lastRole: turn.role };
        }
        // Reads are synchronous (a read through the thread pool per 64 KiB left the CPU idle much
        // of the time); the event loop still gets a turn every few MiB, so an autosave never
        // freezes the terminal of the agent it runs beside.
        if (consumed >= yieldAt) {
          yieldAt = consumed + YIELD_EVERY_BYTES;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    reader.finish();
    body.close();
    if (conversation === 0 && !resume) {
      // Never an empty note: a file this agent's reader found nothing in is reported.
      const stats = reader.stats;
      const recognised = stats.sessionId !== null || stats.started !== null || stats.title !== null;
      if (!recognised) {
        throw new ExportError("SBX_EXPORT_NOT_A_SESSION", `No conversation found in ${path}: none of its records is a ${agent} session record.`, {
          hint: agent === "claude" ? "If it is another agent's session, pass --agent." : "Check that it is a session file, or pass the right --agent.",
        });
      }
      return { empty: `no conversation in it, only ${agent} bookkeeping records` };
    }

    const stats = reader.stats;
    // The title, frontmatter and file name are made from redacted values (redacting the YAML text
    // afterwards could turn a plain scalar into a flow sequence: `title: [REDACTED:…] fix`).
    const shown = redactStats(stats, settings.redact);
    let relativeNote = notePathFor(shown, path);
    const owner = settings.owners.get(relativeNote);
    if (owner !== undefined && owner !== path) relativeNote = relativeNote.replace(/\.md$/, `-${createHash("sha256").update(path).digest("hex").slice(0, 6)}.md`);
    settings.owners.set(relativeNote, path);
    const noteFile = join(conversations, relativeNote);
    const header = renderNoteHeader(shown, settings.project ? { project: { name: settings.redact(settings.project.name), path: settings.redact(settings.project.path) } } : {});
    mkdirSync(dirname(noteFile), { recursive: true });
    for (const [fileName, stagedPath] of assets) {
      const target = join(dirname(noteFile), fileName);
      if (statOrUndefined(target) === undefined) writeFileAtomicSync(target, readFileSync(stagedPath), { within: conversations, mode: NOTE_MODE, durable: DURABLE_NOTES });
    }
    const bodyHash = writeHeaderAndBody(noteFile, header, body, conversations, resumeState?.bodyBytes ?? 0);
    if (resumeState) resumeState = { ...resumeState, bodyHash };
    if (previous && previous.notePath !== relativeNote) await removeOldNote(conversations, previous.notePath);

    const checkpointLine = resumeState?.line ?? 1;
    const earlier = resume && previous ? previous.malformed.filter((entry) => entry.line < checkpointLine) : [];
    const fresh = collectMalformed(reader, path);
    const malformed = [...earlier, ...fresh.filter((entry) => !earlier.some((old) => old.line === entry.line))].slice(0, 1000);
    return {
      agent,
      source: sourceStamp,
      consumed,
      prefixHash: hashedWhole && consumed === sourceStamp.size && hashedWhole.bytes() === consumed ? hashedWhole.hash.digest("hex") : await prefixHash(path, consumed),
      settingsKey: settings.key,
      notePath: relativeNote,
      noteSize: Buffer.byteLength(header) + body.bytes,
      headerBytes: Buffer.byteLength(header),
      // The state file sits in the inbox too: what it keeps of the session's text is redacted.
      ...(agent === "gemini" || !resumeState ? {} : { resume: { ...resumeState, stats: redactStats(resumeState.stats, settings.redact) } }),
      subagents: Object.fromEntries([...subagentPaths.values()].sort().map((subagent) => [subagent, stampOf(statSync(subagent))] as const)),
      malformed: malformed.map((entry) => ({ ...entry, reason: settings.redact(entry.reason) })),
    };
  } finally {
    body.close();
    if (body.path !== undefined) rmSync(body.path, { force: true });
    for (const assetPath of assets.values()) rmSync(assetPath, { force: true });
  }
}

function collectMalformed(reader: TranscriptReader, file: string): MalformedLine[] {
  return reader.malformedPositions.map((entry) => ({ file, line: entry.line, reason: entry.reason }));
}

/**
 * Collects the note body with synchronous writes, so the readers' sink can stay synchronous. Text
 * is encoded once, straight into one reused buffer (`Buffer.write` returns the byte count, so
 * there is no separate `byteLength` pass, no join and no per-flush buffer). The staging file is
 * created at the first flush: a body that never fills the buffer stays in memory.
 */
class BodyWriter {
  bytes = 0;
  /** The staging file, once there is one. */
  path: string | undefined;
  private fd: number | undefined;
  private closed = false;
  private readonly buffer = Buffer.allocUnsafe(BODY_FLUSH_BYTES);
  private buffered = 0;

  constructor(private readonly stagingPath: () => string) {}

  /** The whole body, when it never left the buffer (after `close`). */
  inMemory(): Uint8Array | undefined {
    return this.path === undefined ? this.buffer.subarray(0, this.buffered) : undefined;
  }

  write(chunk: string | Buffer): void {
    if (typeof chunk !== "string") {
      this.bytes += chunk.length;
      this.flush();
      this.writeAll(chunk);
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: a chunk that may not fit is flushed first.
    if (chunk.length * 3 > this.buffer.length - this.buffered) this.flush();
    if (chunk.length * 3 <= this.buffer.length) {
      const written = this.buffer.write(chunk, this.buffered, "utf8");
      this.buffered += written;
      this.bytes += written;
      return;
    }
    const encoded = Buffer.from(chunk, "utf8");
    this.bytes += encoded.length;
    this.writeAll(encoded);
  }

  close(): void {
    if (this.closed) return;
    if (this.path !== undefined) this.flush();
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private flush(): void {
    if (this.buffered === 0) return;
    this.writeAll(this.buffer.subarray(0, this.buffered));
    this.buffered = 0;
  }

  private writeAll(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.path === undefined) {
      this.path = this.stagingPath();
      this.fd = openSync(this.path, "w");
    }
    const fd = this.fd as number;
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
  }
}

/** Copies the committed body of the previous note into the new body; returns the hash of what it copied. */
function copyPrefix(notePath: string, start: number, length: number, body: BodyWriter): string | undefined {
  let fd: number;
  try {
    fd = openSync(notePath, "r");
  } catch {
    return undefined;
  }
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(1 << 20);
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, length - done), start + done);
      if (bytesRead === 0) return undefined;
      const piece = Buffer.from(buffer.subarray(0, bytesRead));
      hash.update(piece);
      body.write(piece);
      done += bytesRead;
    }
    return hash.digest("hex");
  } finally {
    closeSync(fd);
  }
}

/**
 * The note, whole or not at all: header and staged body in one atomic write. Returns the SHA-256
 * of the body's first `hashBytes` bytes, the proof a later run checks before reusing them.
 */
function writeHeaderAndBody(target: string, header: string, body: BodyWriter, conversations: string, hashBytes: number): string {
  const note = openFileAtomicSync(target, { within: conversations, mode: NOTE_MODE, durable: DURABLE_NOTES });
  const hash = createHash("sha256");
  try {
    writeSync(note.fd, header);
    const inMemory = body.inMemory();
    if (inMemory) {
      hash.update(inMemory.subarray(0, Math.min(inMemory.length, hashBytes)));
      for (let written = 0; written < inMemory.length; ) written += writeSync(note.fd, inMemory, written, inMemory.length - written);
      note.commit();
      return hash.digest("hex");
    }
    const bodyFd = openSync(body.path as string, "r");
    try {
      const buffer = Buffer.allocUnsafe(1 << 20);
      let copied = 0;
      for (;;) {
        const bytesRead = readSync(bodyFd, buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        if (copied < hashBytes) hash.update(buffer.subarray(0, Math.min(bytesRead, hashBytes - copied)));
        copied += bytesRead;
        let written = 0;
        while (written < bytesRead) written += writeSync(note.fd, buffer, written, bytesRead - written);
      }
    } finally {
      closeSync(bodyFd);
    }
    note.commit();
  } finally {
    note.abort();
  }
  return hash.digest("hex");
}

async function prefixHash(path: string, end: number): Promise<string> {
  const hash = createHash("sha256").update(`${end}\n`);
  const handle = await open(path, "r");
  try {
    const ranges: [number, number][] = [];
    if (end <= WHOLE_PROOF_BYTES) ranges.push([0, end]);
    else {
      for (let at = 0; at < end - TAIL_PROOF_BYTES; at += SAMPLE_STRIDE) ranges.push([at, SAMPLE_BYTES]);
      ranges.push([end - TAIL_PROOF_BYTES, TAIL_PROOF_BYTES]);
    }
    const buffer = Buffer.allocUnsafe(Math.min(Math.max(end, 1), 1 << 20));
    for (const [start, length] of ranges) {
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - done), start + done);
        if (bytesRead === 0) return "short";
        hash.update(buffer.subarray(0, bytesRead));
        done += bytesRead;
      }
    }
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

async function prefixMatches(path: string, end: number, expected: string | undefined): Promise<boolean> {
  return expected !== undefined && (await prefixHash(path, end).catch(() => "")) === expected;
}

function statOrUndefined(path: string): FileStamp | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats ? stampOf(stats) : undefined;
}

async function stampsMatch(stamps: Record<string, FileStamp>): Promise<boolean> {
  for (const [path, stamp] of Object.entries(stamps)) {
    const current = statOrUndefined(path);
    if (!current || !sameStamp(current, stamp)) return false;
  }
  return true;
}

async function removeOldNote(conversations: string, relative: string): Promise<void> {
  const old = join(conversations, relative);
  await rm(old, { force: true });
  const directory = dirname(old);
  if ((await readdir(directory).catch(() => ["?"])).length === 0) await rmdir(directory).catch(() => {});
}

function writeWholeFileSync(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

function stampOf(stats: { size: number; mtimeMs: number; ino: number }): FileStamp {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  // A file replaced by another (a new inode) is judged by its content, even at the same size and mtime.
  return a.size === b.size && a.mtimeMs === b.mtimeMs && (a.ino === undefined || b.ino === undefined || a.ino === b.ino);
}

