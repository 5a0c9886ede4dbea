import type { Duplex, Writable } from "node:stream";

/**
 * Splits Docker's multiplexed attach stream (8-byte header: stream id, 3 zero bytes, big-endian
 * length) into stdout and stderr. Frames may straddle chunk boundaries, so bytes are buffered
 * until a whole frame is there.
 */
export function createDemuxer(onStdout: (chunk: Buffer) => void, onStderr: (chunk: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const payload = pending.subarray(8, 8 + size);
      if (pending[0] === 2) onStderr(payload);
      else onStdout(payload);
      pending = pending.subarray(8 + size);
    }
  };
}

/** Demultiplexes a whole buffered log body into text. */
export function demuxToText(body: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  createDemuxer((chunk) => out.push(chunk), (chunk) => err.push(chunk))(body);
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

/**
 * Pumps a hijacked exec connection: output to the sinks (raw when a TTY is attached, else
 * demultiplexed), stdin in and then half-closed so the process sees EOF. Resolves when the
 * engine closes the stream.
 */
export function pumpExecStream(
  socket: Duplex,
  options: { tty: boolean; stdin?: Uint8Array | string | NodeJS.ReadableStream; stdout: (chunk: Buffer) => void; stderr: (chunk: Buffer) => void },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = options.tty ? options.stdout : createDemuxer(options.stdout, options.stderr);
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (input && typeof input !== "string" && !(input instanceof Uint8Array)) input.unpipe(socket as unknown as Writable);
      if (error) reject(error);
      else resolve();
    };
    socket.on("data", onData);
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    socket.on("error", (error) => finish(error));
    const input = options.stdin;
    if (input === undefined) {
      // Nothing to send: the exec was created without stdin, so the engine waits for none.
    } else if (typeof input === "string" || input instanceof Uint8Array) {
      socket.end(input);
    } else {
      input.pipe(socket as unknown as Writable, { end: !options.tty });
    }
  });
}
