import tar from "tar-stream";

export type ArchiveEntry = Partial<tar.Header> & { name: string; content?: string | Buffer };

/** A tar as a hostile sandbox could stream it: any name, type, mode or link. */
export async function archive(entries: ArchiveEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const body = content === undefined ? undefined : Buffer.from(content);
      const full = { ...header, ...(body ? { size: body.length } : {}) };
      if (body) pack.entry(full, body, (error) => (error ? reject(error) : resolve()));
      else pack.entry(full, (error) => (error ? reject(error) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
