import type { ContainerRuntime } from "@sbx/container-runtime";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startAutosave } from "./transcript-autosave.js";
import type { SyncResult } from "./transcript-sync.js";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const fakeResult = (written = 0): SyncResult => ({ written, unchanged: 0, malformedLines: [], failed: [], skipped: [], notes: [], copiedBytes: 0, files: 0 });
const noRuntime = {} as ContainerRuntime;
const base = { cacheDir: "/unused", inbox: "/unused" };

describe("startAutosave", () => {
  it("syncs every interval and once more when stopped", async () => {
    vi.useFakeTimers();
    const sync = vi.fn(async () => fakeResult());
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 1000, sync });
    expect(sync).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(3500);
    expect(sync).toHaveBeenCalledTimes(3);
    const final = await autosave.stop();
    expect(sync).toHaveBeenCalledTimes(4);
    expect(final).toEqual(fakeResult());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sync).toHaveBeenCalledTimes(4);
  });

  it("never overlaps runs: the next interval starts when a slow sync ends", async () => {
    vi.useFakeTimers();
    let running = 0;
    let most = 0;
    const sync = vi.fn(async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((done) => setTimeout(done, 2500));
      running -= 1;
      return fakeResult();
    });
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 1000, sync });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(most).toBe(1);
    // 1000 wait + 2500 run per cycle: runs start at 1000, 4500, 8000.
    expect(sync).toHaveBeenCalledTimes(3);
    const stopped = autosave.stop();
    await vi.advanceTimersByTimeAsync(5000);
    await stopped;
    expect(most).toBe(1);
    expect(sync).toHaveBeenCalledTimes(4);
  });

  it("waits for a sync in flight before the final one", async () => {
    vi.useFakeTimers();
    const order: string[] = [];
    let call = 0;
    const sync = vi.fn(async () => {
      const id = ++call;
      order.push(`start ${id}`);
      await new Promise((done) => setTimeout(done, 500));
      order.push(`end ${id}`);
      return fakeResult(id);
    });
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 1000, sync });
    await vi.advanceTimersByTimeAsync(1200);
    const stopped = autosave.stop();
    await vi.advanceTimersByTimeAsync(2000);
    expect(await stopped).toEqual(fakeResult(2));
    expect(order).toEqual(["start 1", "end 1", "start 2", "end 2"]);
    expect(autosave.stop()).toBe(stopped);
  });

  it("with interval 0 only runs the final sync", async () => {
    vi.useFakeTimers();
    const sync = vi.fn(async () => fakeResult());
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 0, sync });
    await vi.advanceTimersByTimeAsync(1_000_000);
    expect(sync).not.toHaveBeenCalled();
    await autosave.stop();
    expect(sync).toHaveBeenCalledTimes(1);
  });

  it("can catch up at once instead of waiting a whole interval", async () => {
    vi.useFakeTimers();
    const sync = vi.fn(async () => fakeResult());
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 60_000, runAtStart: true, sync });
    await vi.advanceTimersByTimeAsync(1);
    expect(sync).toHaveBeenCalledTimes(1);
    await autosave.stop();
  });

  it("reports failures in one line through onError and keeps going", async () => {
    vi.useFakeTimers();
    const errors: string[] = [];
    let call = 0;
    const sync = vi.fn(async () => {
      call += 1;
      if (call !== 2) throw new Error(`container gone\nstack-ish detail ${call}`);
      return fakeResult();
    });
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 1000, sync, onError: (message) => errors.push(message) });
    await vi.advanceTimersByTimeAsync(2500);
    expect(sync).toHaveBeenCalledTimes(2);
    await expect(autosave.stop()).resolves.toBeUndefined();
    expect(errors).toEqual(["transcript autosave failed: container gone", "transcript autosave failed: container gone"]);
  });

  it("never keeps the process alive: its timer is unref'd", async () => {
    const timers: NodeJS.Timeout[] = [];
    const original = globalThis.setTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((callback: () => void, delay?: number) => {
      const timer = original(callback, delay);
      timers.push(timer);
      return timer;
    }) as typeof setTimeout);
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 60_000, sync: async () => fakeResult() });
    expect(timers).toHaveLength(1);
    expect(timers[0]?.hasRef()).toBe(false);
    await autosave.stop();
  });
});

describe("startAutosave and a busy inbox", () => {
  it("skips a periodic save quietly while another export holds the inbox, and the final save waits for it", async () => {
    vi.useFakeTimers();
    const { ExportError } = await import("@sbx/transcript-export");
    const runs: { final: boolean }[] = [];
    const sync = vi.fn(async (run: { final: boolean }) => {
      runs.push(run);
      if (!run.final) throw new ExportError("SBX_EXPORT_INBOX_LOCKED", "Another export is writing /inbox/conversations (pid 1 on host).");
      return fakeResult(1);
    });
    const onError = vi.fn();
    const autosave = startAutosave(noRuntime, "box", { ...base, intervalMs: 1000, sync, onError });
    await vi.advanceTimersByTimeAsync(2500);
    const final = await autosave.stop();
    expect(onError).not.toHaveBeenCalled();
    expect(runs).toEqual([{ final: false }, { final: false }, { final: true }]);
    expect(final?.written).toBe(1);
  });

  it("asks a periodic save not to wait for the inbox lock, and the final one to wait", async () => {
    const { syncOptionsFor } = await import("./transcript-autosave.js");
    expect([syncOptionsFor(base, { final: false }).lockWaitMs, syncOptionsFor(base, { final: true }).lockWaitMs]).toEqual([0, undefined]);
  });
});
