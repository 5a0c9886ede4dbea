/**
 * The filter a sandbox's home goes through on its way into a template image. The tar comes out of
 * the sandbox, which a prompt-injected agent controls: it is untrusted input. It is never
 * extracted on the host; it is parsed as a stream, bounded, checked entry by entry and written
 * again as a new tar holding only regular files, directories and links that stay in the home —
 * owned by the sandbox user, without set-id bits, extended attributes or device numbers — and
 * without anything sbx piped or manages.
 *
 * Structural tampering (an absolute or `..` path, a path through a link, a path twice, more bytes
 * than allowed) refuses the whole save: sbx's own tar never makes such an archive. What is merely
 * not wanted in a template (a login file, a device, a link out of the home) is stripped and
 * reported.
 */
import { posix } from "node:path";
import { Transform, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Header, Pack } from "tar-stream";
import { CliError } from "./cli-error.js";

export interface HomeArchiveRules {
  /** The home the archive was made in (absolute links are resolved against it). */
  home: string;
  /** Home-relative paths that never go into a template: the entry and everything below it. */
  strippedPaths: ReadonlyArray<{ path: string; why: string }>;
  /** File names stripped wherever they are (the agents' login files under their real names). */
  strippedNames: ReadonlyArray<{ name: string; why: string }>;
  /** The exact values sbx piped (tokens, API keys): a file holding one is stripped. */
  secretValues: readonly string[];
  /** The most bytes of tar read from the sandbox; more refuses the save. */
  maxBytes: number;
  /** @default 500 000 */
  maxEntries?: number;
  /** The owner every entry gets in the template. */
  uid: number;
  gid: number;
}

export interface HomeArchiveReport {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file content written into the template. */
  bytes: number;
  /** What was left out, and why (home-relative paths). */
  stripped: Array<{ path: string; why: string }>;
}

/** A file up to this size is held in memory and checked for piped secrets before it is written. */
const SCAN_IN_MEMORY_BYTES = 8 * 1024 * 1024;
const MAX_PATH = 4096;

function refused(message: string, hint = "Nothing was saved. The archive did not come from sbx's own tar: check what runs in that sandbox, or save another one."): CliError {
  return new CliError("SBX_TEMPLATE_ARCHIVE_REFUSED", message, { hint });
}

function tooLarge(maxBytes: number): CliError {
  return new CliError("SBX_TEMPLATE_TOO_LARGE", `The sandbox's home is larger than a template may be (${(maxBytes / 1024 / 1024).toFixed(0)} MiB).`, {
    hint: "Remove large files from the home (caches, downloads: `sbx exec -- du -sh ~/* ~/.[!.]*`), or raise SBX_TEMPLATE_MAX_BYTES; nothing was saved.",
  });
}

/** `./a/b/` → `a/b`; undefined for the archive's root (`.` / `./`). Throws on what is never a home path. */
export function normaliseEntryName(raw: string): string | undefined {
  if (raw.length === 0 || raw.length > MAX_PATH || raw.includes("\0")) throw refused(`The archive holds an entry with an empty, overlong or NUL-carrying name.`);
  if (raw.startsWith("/")) throw refused(`The archive holds an absolute path (${printable(raw)}).`);
  const parts = raw.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw refused(`The archive holds a path that climbs out of the home (${printable(raw)}).`);
  return parts.length ? parts.join("/") : undefined;
}

const printable = (text: string) => JSON.stringify(text.slice(0, 120));
const within = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Where a link points, home-relative, or undefined when it leaves the home. */
function linkTarget(home: string, path: string, target: string): string | undefined {
  if (target.length === 0 || target.length > MAX_PATH || target.includes("\0")) return undefined;
  const resolved = target.startsWith("/") ? posix.normalize(target) : posix.normalize(posix.join(home, posix.dirname(path), target));
  if (resolved === home) return "";
  return resolved.startsWith(`${home}/`) ? resolved.slice(home.length + 1) : undefined;
}

/** Finds any of `needles` in a stream of chunks (a needle may straddle two chunks). */
function secretFinder(values: readonly string[]): { push: (chunk: Buffer) => boolean; reset: () => void } {
  const needles = [...new Set(values.filter((value) => value.length >= 8))].map((value) => Buffer.from(value));
  const keep = Math.max(0, ...needles.map((needle) => needle.length)) - 1;
  let tail: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      if (needles.length === 0) return false;
      const window: Buffer = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      const hit = needles.some((needle) => window.includes(needle));
      tail = window.subarray(Math.max(0, window.length - keep));
      return hit;
    },
    reset() {
      tail = Buffer.alloc(0);
    },
  };
}

/**
 * Reads the sandbox's tar from `input` and writes the template's tar to `output`. Resolves with
 * what went in and what was stripped; rejects with an `SBX_TEMPLATE_…` error (nothing usable
 * written) when the archive is tampered with or too large.
 */
export async function filterHomeArchive(input: Readable, output: Writable, rules: HomeArchiveRules): Promise<HomeArchiveReport> {
  const report: HomeArchiveReport = { files: 0, directories: 0, symlinks: 0, bytes: 0, stripped: [] };
  const maxEntries = rules.maxEntries ?? 500_000;
  let read = 0;
  // Counted before the parser sees a byte, so a stream that never ends is cut off at the bound.
  const bound = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      if (read > rules.maxBytes) done(tooLarge(rules.maxBytes));
      else done(null, chunk);
    },
  });
  // Loaded here, not with the module: `sbx up` bundles this file and never parses a tar (~26 ms).
  const { default: tar } = await import("tar-stream");
  const extract = tar.extract();
  const pack = tar.pack();
  const seen = new Map<string, "file" | "directory" | "symlink">();
  const finder = secretFinder(rules.secretValues);
  const strip = (path: string, why: string) => report.stripped.push({ path, why });
  let entries = 0;

  const consume = async () => {
    for await (const entry of extract) {
      const { header } = entry;
      entries += 1;
      if (entries > maxEntries) throw refused(`The archive holds more than ${maxEntries} entries.`, "Remove what the home does not need (caches, node_modules of experiments) and save again; nothing was saved.");
      const path = normaliseEntryName(header.name);
      if (path === undefined) {
        entry.resume();
        continue;
      }
      if (seen.has(path)) throw refused(`The archive holds ${printable(path)} twice.`);
      const parts = path.split("/");
      for (let depth = 1; depth < parts.length; depth += 1) {
        const ancestor = parts.slice(0, depth).join("/");
        const kind = seen.get(ancestor);
        // An entry below a link would be written wherever the link points when the image is built.
        if (kind === "symlink") throw refused(`The archive writes ${printable(path)} through the link ${printable(ancestor)}.`);
        if (kind === "file") throw refused(`The archive writes ${printable(path)} below the file ${printable(ancestor)}.`);
      }
      const type = header.type ?? "file";
      if (type !== "file" && type !== "directory" && type !== "symlink" && type !== "contiguous-file") {
        seen.set(path, "file");
        strip(path, type === "link" ? "a hard link" : `a ${type.replace(/-/g, " ")}`);
        entry.resume();
        continue;
      }
      const kind = type === "directory" ? "directory" : type === "symlink" ? "symlink" : "file";
      seen.set(path, kind);
      const why =
        rules.strippedPaths.find((rule) => within(path, rule.path))?.why ??
        (kind !== "directory" ? rules.strippedNames.find((rule) => rule.name === parts[parts.length - 1])?.why : undefined);
      if (why) {
        strip(path, why);
        entry.resume();
        continue;
      }
      const base = { name: kind === "directory" ? `${path}/` : path, mode: (header.mode ?? 0o644) & 0o777, uid: rules.uid, gid: rules.gid, mtime: header.mtime ?? new Date(0) };
      if (kind === "directory") {
        report.directories += 1;
        await packEntry(pack, { ...base, type: "directory" });
        entry.resume();
        continue;
      }
      if (kind === "symlink") {
        entry.resume();
        const target = linkTarget(rules.home, path, header.linkname ?? "");
        const into = target === undefined ? undefined : rules.strippedPaths.find((rule) => within(target, rule.path));
        if (target === undefined || into) {
          strip(path, target === undefined ? `a link out of the home (to ${printable(header.linkname ?? "")})` : `a link into what sbx manages (${into?.why})`);
          continue;
        }
        report.symlinks += 1;
        await packEntry(pack, { ...base, type: "symlink", linkname: header.linkname ?? "" });
        continue;
      }
      const size = header.size ?? 0;
      if (size > rules.maxBytes - report.bytes) {
        entry.resume();
        throw tooLarge(rules.maxBytes);
      }
      finder.reset();
      if (size <= SCAN_IN_MEMORY_BYTES) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        const content = Buffer.concat(chunks);
        if (finder.push(content)) {
          strip(path, "it holds a login or key sbx piped");
          continue;
        }
        report.files += 1;
        report.bytes += content.length;
        await packEntry(pack, { ...base, type: "file", size: content.length }, content);
        continue;
      }
      // Too large to hold: streamed through, and a piped secret found on the way refuses the save.
      const sink = pack.entry({ ...base, type: "file", size });
      const written = new Promise<void>((resolve, reject) => {
        sink.on("finish", () => resolve());
        sink.on("error", (error: Error) => reject(error));
      });
      for await (const chunk of entry) {
        if (finder.push(chunk as Buffer)) {
          throw new CliError("SBX_TEMPLATE_HOLDS_SECRET", `${printable(path)} in the sandbox's home holds a login or key sbx piped.`, {
            hint: "Delete that file in the sandbox (a copy of a login does not belong in a template) and save again; nothing was saved.",
          });
        }
        if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
      }
      sink.end(undefined as never);
      await written;
      report.files += 1;
      report.bytes += size;
    }
    pack.finalize();
  };

  // Whichever part fails first decides; the others are torn down and never awaited (a stream that
  // was cut off may never settle).
  const parsing = pipeline(input, bound, extract);
  const writing = pipeline(pack, output);
  const failed = new Promise<never>((_resolve, reject) => {
    parsing.catch(reject);
    writing.catch(reject);
  });
  failed.catch(() => undefined);
  try {
    await Promise.race([consume(), failed]);
    await Promise.race([Promise.all([parsing, writing]), failed]);
  } catch (error) {
    for (const stream of [input, bound, extract, pack] as Array<{ destroy: (error?: Error) => void }>) stream.destroy();
    if (error instanceof CliError) throw error;
    // The bound's own error, surfacing as the parser's "premature close".
    if (read > rules.maxBytes) throw tooLarge(rules.maxBytes);
    throw refused(`The sandbox's home archive could not be read (${(error as Error).message}).`);
  }
  return report;
}

function packEntry(pack: Pack, header: Header | (Partial<Header> & { name: string }), content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const callback = (error?: Error | null) => (error ? reject(error) : resolve());
    if (content) pack.entry(header, content, callback);
    else pack.entry(header, callback);
  });
}
