import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { openFileAtomicSync, type AtomicFileHandle } from "@sbx/atomic-file";
import type { RemoteFile } from "./session-mirror-protocol.js";

/** One range of one session file asked of the fetch script. */
export interface FetchRequest {
  file: RemoteFile;
  target: string;
  offset: number;
  length: number;
  /** Bytes the cache holds at [offset, offset + expected.length); empty for a whole fetch. */
  expected: Buffer;
  /** The cache's size before this fetch; an append writes from here. */
  cachedSize: number;
}

export interface FetchOutcome {
  done: FetchRequest[];
  diverged: FetchRequest[];
  unreadable: FetchRequest[];
  copiedBytes: number;
  transferredBytes: number;
  error?: Error;
}

/** The parser's view of the record it is inside. */
interface OpenRecord {
  request: FetchRequest;
  remaining: number;
  /** Overlap bytes still to check against the cache before anything is written. */
  verified: number;
  diverged: boolean;
  /** The cached file, opened to append to (a range fetch). */
  fd: number | undefined;
  /** The new copy replacing the cached file (a whole fetch): a reader of the cache never sees half of it. */
  whole: AtomicFileHandle | undefined;
  written: number;
}

/**
 * Parses `F off len\n<len bytes>E size\n` (or `S\n`) records, one per request in order. Writes
 * are synchronous and positional: memory stays flat however large the file, and two runs racing
 * on the same cache write the same bytes to the same places.
 */
export class FetchStreamParser {
  readonly #requests: FetchRequest[];
  readonly #cacheDir: string;
  #index = 0;
  #line: Buffer[] = [];
  #lineLength = 0;
  #record: OpenRecord | undefined;
  readonly #outcome: FetchOutcome = { done: [], diverged: [], unreadable: [], copiedBytes: 0, transferredBytes: 0 };

  constructor(requests: FetchRequest[], cacheDir: string) {
    this.#requests = requests;
    this.#cacheDir = cacheDir;
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
    this.#record = { request, remaining: request.length, verified: 0, diverged: false, fd: undefined, whole: undefined, written: 0 };
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
        // Not durable: the cache is re-verified against the sandbox on every run.
        record.whole = openFileAtomicSync(request.target, { within: this.#cacheDir, durable: false, mode: 0o600 });
        record.fd = record.whole.fd;
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
    if (!intact || record.whole === undefined) {
      record.whole?.abort();
      return;
    }
    record.whole.commit();
    this.#outcome.copiedBytes += record.written;
    this.#outcome.done.push(request);
  }

  #fail(error: Error): void {
    this.#outcome.error = error;
    const record = this.#record;
    this.#record = undefined;
    if (!record) return;
    try {
      if (record.whole) record.whole.abort();
      else if (record.fd !== undefined) {
        ftruncateSync(record.fd, record.request.cachedSize);
        closeSync(record.fd);
      }
    } catch {
      // The first error is the one worth reporting.
    }
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
}

