/**
 * Hole 11, the window the 300 concurrent start-ups hit once in CI: a start-up sees a link, and a
 * racing one moves it away (its own fresh link, put back as a link is: removed) before the read.
 * The read's ENOENT is that race, not a broken layout: the start-up looks again.
 */
import { mkdirSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:fs", async (original) => {
  const real = await original<typeof import("node:fs")>();
  return { ...real, readlinkSync: vi.fn(real.readlinkSync) };
});

const { ensureStateLayout } = await import("./state-layout.js");

describe("ensureStateLayout under a racing start-up", () => {
  it("hole 11: a link that vanishes between the look and the read is made again, not reported", () => {
    const home = join(mkdtempSync(join(tmpdir(), "sbx-layout-race-")), "home");
    mkdirSync(home);
    ensureStateLayout({ home, log: () => undefined });
    const link = join(home, ".gemini");
    const readlink = vi.mocked(fs.readlinkSync);
    const real = readlink.getMockImplementation() as typeof fs.readlinkSync;
    // The next start-up reads .gemini just as the racing one removes it.
    let raced = 0;
    readlink.mockImplementation(((path: fs.PathLike) => {
      if (String(path) === link && raced++ === 0) rmSync(link);
      return real(path);
    }) as typeof fs.readlinkSync);
    expect(() => ensureStateLayout({ home, log: () => undefined })).not.toThrow();
    expect(raced).toBeGreaterThan(0);
    readlink.mockImplementation(real);
    expect(readlinkSync(link)).toBe(join(home, ".llm", "gemini"));
  });
});
