import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll } from "vitest";

/**
 * An "engine" that accepts every connection on a unix socket and never says a word: a hung dockerd.
 * Registers its own start and stop with the surrounding describe block.
 */
export function muteEngine(socketPath: string): { socketPath: string } {
  const held: Socket[] = [];
  let server: Server;
  beforeAll(async () => {
    server = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { socketPath };
}
