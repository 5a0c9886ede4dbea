import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withHostLock } from "./host-lock.js";

describe("withHostLock", () => {
  it("lets concurrent holders take turns, never two at once, and releases the lock", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sbx-lock-")), "locks", "x.lock");
    let inside = 0;
    let most = 0;
    const work = async () => {
      inside += 1;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inside -= 1;
    };
    await Promise.all(Array.from({ length: 5 }, () => withHostLock(path, work)));
    expect(most).toBe(1);
    expect(existsSync(path)).toBe(false);
  });

  it("takes over a lock whose holder died", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sbx-lock-"));
    const path = join(dir, "x.lock");
    // No process has pid 2^22 + 1 (above Linux's pid_max default of 2^22).
    writeFileSync(path, String(2 ** 22 + 1));
    expect(await withHostLock(path, async () => "ran", { waitMs: 1000 })).toBe("ran");
  });

  it("runs the work unlocked when the lock cannot be made at all (a read-only home)", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "sbx-lock-")), "not-a-dir");
    writeFileSync(file, "");
    expect(await withHostLock(join(file, "x.lock"), async () => "ran")).toBe("ran");
  });

  it("releases the lock when the work fails", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sbx-lock-")), "x.lock");
    await expect(withHostLock(path, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(existsSync(path)).toBe(false);
  });
});
