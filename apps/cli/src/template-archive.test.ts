import { Readable, Writable } from "node:stream";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { archive } from "./test-support/tar-archive.js";
import { filterHomeArchive, type HomeArchiveRules } from "./template-archive.js";
import { templateArchiveRules } from "./templates.js";

async function entriesOf(bytes: Buffer): Promise<Array<tar.Header & { content: string }>> {
  const extract = tar.extract();
  const found: Array<tar.Header & { content: string }> = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      found.push({ ...entry.header, content: Buffer.concat(chunks).toString("utf8") });
    }
  })();
  extract.end(bytes);
  await reading;
  return found;
}

const RULES: HomeArchiveRules = { ...templateArchiveRules({ secretValues: ["sk-ant-oat01-CANARYpipedvalue"] }), maxBytes: 1024 * 1024, uid: 1234, gid: 1235 };

async function filter(input: Buffer | Readable, rules: Partial<HomeArchiveRules> = {}) {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk);
      done();
    },
  });
  const report = await filterHomeArchive(Buffer.isBuffer(input) ? Readable.from([input]) : input, sink, { ...RULES, ...rules });
  return { report, entries: await entriesOf(Buffer.concat(out)) };
}

const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: { code?: string }) => error.code);

describe("the template archive filter: what a hostile sandbox's tar cannot get into a template", () => {
  it("keeps a tool: files, directories and relative links, owned by the sandbox user, without set-id bits", async () => {
    const { report, entries } = await filter(
      await archive([
        { name: "./", type: "directory", mode: 0o700 },
        { name: "./.local/", type: "directory", mode: 0o755 },
        { name: "./.local/lib/node_modules/tool/bin.js", type: "file", mode: 0o6755, uid: 0, gid: 0, content: "#!/usr/bin/env node\n" },
        { name: "./.local/bin/tool", type: "symlink", linkname: "../lib/node_modules/tool/bin.js" },
        { name: "./.local/bin/abs", type: "symlink", linkname: "/home/sandbox/.local/lib/node_modules/tool/bin.js" },
      ]),
    );
    expect(entries.map((entry) => [entry.name, entry.type])).toEqual([
      [".local/", "directory"],
      [".local/lib/node_modules/tool/bin.js", "file"],
      [".local/bin/tool", "symlink"],
      [".local/bin/abs", "symlink"],
    ]);
    const file = entries[1];
    expect(file).toMatchObject({ uid: 1234, gid: 1235, content: "#!/usr/bin/env node\n" });
    expect((file?.mode ?? 0) & 0o7777).toBe(0o755);
    expect(report).toMatchObject({ files: 1, directories: 1, symlinks: 2, stripped: [] });
  });

  it("refuses an absolute path", async () => {
    expect(await refusal(filter(await archive([{ name: "/etc/passwd", type: "file", content: "root::0:0::/:/bin/sh\n" }])))).toBe("SBX_TEMPLATE_ARCHIVE_REFUSED");
  });

  it("refuses a path that climbs out with ..", async () => {
    expect(await refusal(filter(await archive([{ name: "./.local/../../../opt/sbx/entrypoint.mjs", type: "file", content: "evil" }])))).toBe("SBX_TEMPLATE_ARCHIVE_REFUSED");
  });

  it("refuses an entry written through a link (a link to /etc, then etc-link/passwd)", async () => {
    const bytes = await archive([
      { name: "./dir", type: "symlink", linkname: "/home/sandbox/.local" },
      { name: "./dir/passwd", type: "file", content: "x" },
    ]);
    expect(await refusal(filter(bytes))).toBe("SBX_TEMPLATE_ARCHIVE_REFUSED");
  });

  it("refuses a path that appears twice (a directory later replaced by a link)", async () => {
    const bytes = await archive([
      { name: "./a/", type: "directory" },
      { name: "./a", type: "symlink", linkname: "/etc" },
    ]);
    expect(await refusal(filter(bytes))).toBe("SBX_TEMPLATE_ARCHIVE_REFUSED");
  });

  it("strips a link to /etc/shadow and a link that climbs out of the home", async () => {
    const { report, entries } = await filter(
      await archive([
        { name: "./shadow", type: "symlink", linkname: "/etc/shadow" },
        { name: "./up", type: "symlink", linkname: "../../run/secrets/claude-credentials" },
        { name: "./into-state", type: "symlink", linkname: ".llm/claude/.credentials.json" },
      ]),
    );
    expect(entries).toEqual([]);
    expect(report.stripped.map((item) => item.path)).toEqual(["shadow", "up", "into-state"]);
  });

  it("strips devices, FIFOs and hard links", async () => {
    const { report, entries } = await filter(
      await archive([
        { name: "./null", type: "character-device", devmajor: 1, devminor: 3 },
        { name: "./disk", type: "block-device", devmajor: 8, devminor: 0 },
        { name: "./pipe", type: "fifo" },
        { name: "./hard", type: "link", linkname: "etc/shadow" },
      ]),
    );
    expect(entries).toEqual([]);
    expect(report.stripped.map((item) => item.why)).toEqual(["a character device", "a block device", "a fifo", "a hard link"]);
  });

  it("strips every login file and link sbx manages, the state volume, credential files, shell history and npm's cache", async () => {
    const names = [
      ".llm/claude/.credentials.json",
      ".sbx/project/claude/projects/x.jsonl",
      ".claude",
      ".claude.json",
      ".codex",
      ".gemini",
      ".local/share/opencode",
      ".config/opencode",
      ".config/gcloud",
      ".ssh/id_ed25519",
      ".npmrc",
      ".git-credentials",
      ".config/gh/hosts.yml",
      ".bash_history",
      ".npm/_logs/debug.log",
      "work/copy-of/.credentials.json",
      "work/auth.json",
      "work/oauth_creds.json",
      "work/application_default_credentials.json",
    ];
    const { report, entries } = await filter(await archive(names.map((name) => ({ name: `./${name}`, type: "file", content: "x" }))));
    expect(entries).toEqual([]);
    expect(report.stripped.map((item) => item.path)).toEqual(names);
  });

  it("strips a file holding a value sbx piped, wherever it is and under any name", async () => {
    const { report, entries } = await filter(
      await archive([
        { name: "./notes.txt", type: "file", content: "token: sk-ant-oat01-CANARYpipedvalue\n" },
        { name: "./ok.txt", type: "file", content: "nothing here" },
      ]),
    );
    expect(entries.map((entry) => entry.name)).toEqual(["ok.txt"]);
    expect(report.stripped).toEqual([{ path: "notes.txt", why: "it holds a login or key sbx piped" }]);
  });

  it("refuses a file too large to stream through whole when it holds a piped value past its first 8 MiB", async () => {
    const big = Buffer.concat([Buffer.alloc(9 * 1024 * 1024, "a"), Buffer.from("sk-ant-oat01-CANARYpipedvalue")]);
    expect(await refusal(filter(await archive([{ name: "./big.bin", type: "file", content: big }]), { maxBytes: 64 * 1024 * 1024 }))).toBe("SBX_TEMPLATE_HOLDS_SECRET");
  });

  it("refuses an archive larger than the bound, and one whose header claims a huge file", async () => {
    const bytes = await archive([{ name: "./huge", type: "file", content: Buffer.alloc(200 * 1024) }]);
    expect(await refusal(filter(bytes, { maxBytes: 100 * 1024 }))).toBe("SBX_TEMPLATE_TOO_LARGE");
    // A header alone, claiming 7 GiB, and then the stream stops.
    const header = Buffer.from((await archive([{ name: "./claims", type: "file", content: "x" }])).subarray(0, 512));
    header.write(`${(7 * 1024 ** 3).toString(8).padStart(11, "0")}\0`, 124, "latin1");
    header.fill(" ", 148, 156);
    header.write(`${header.reduce((sum, byte) => sum + byte, 0).toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    expect(await refusal(filter(header, { maxBytes: 100 * 1024 }))).toBe("SBX_TEMPLATE_TOO_LARGE");
  });

  it("cuts off a stream that never ends", async () => {
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    expect(await refusal(filter(endless, { maxBytes: 1024 * 1024 }))).toMatch(/^SBX_TEMPLATE_/);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it("refuses an archive with too many entries", async () => {
    const many = await archive(Array.from({ length: 20 }, (_, index) => ({ name: `./f${index}`, type: "file" as const, content: "x" })));
    expect(await refusal(filter(many, { maxEntries: 10 }))).toBe("SBX_TEMPLATE_ARCHIVE_REFUSED");
  });

  it("refuses a truncated archive", async () => {
    const bytes = await archive([{ name: "./file", type: "file", content: Buffer.alloc(4096, "x") }]);
    expect(await refusal(filter(bytes.subarray(0, 1024)))).toBe("SBX_TEMPLATE_ARCHIVE_REFUSED");
  });
});
