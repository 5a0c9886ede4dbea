import type { ContainerRuntime } from "@sbx/container-runtime";
import { isSbxError } from "@sbx/errors";
import { syncSandboxTranscripts, type SyncOptions, type SyncResult } from "./transcript-sync.js";

export interface AutosaveOptions extends SyncOptions {
  /** Milliseconds between syncs; 0 keeps only the final sync at `stop()`. */
  intervalMs: number;
  /**
   * Told of a failed sync in one line; the session goes on.
   * @default ignore
   */
  onError?: (message: string, error: unknown) => void;
  /**
   * Also sync right away (catching up after a crash) instead of first waiting an interval.
   * @default false
   */
  runAtStart?: boolean;
  /**
   * The sync to run; injectable for tests.
   * @default syncSandboxTranscripts(runtime, container, options)
   */
  sync?: (run: AutosaveRun) => Promise<SyncResult>;
}

/** Which save this is: periodic ones may be skipped, the final one must happen. */
export interface AutosaveRun {
  final: boolean;
}

/**
 * A periodic save does not wait for an inbox another export is writing (it skips; the next one
 * catches up); the final save waits, as `sbx export` does.
 */
export function syncOptionsFor(options: SyncOptions, run: AutosaveRun): SyncOptions {
  return run.final ? options : { ...options, lockWaitMs: 0 };
}

export interface Autosave {
  /** Stops the timer, waits for a sync in flight, then runs the final one. Never rejects. */
  stop(): Promise<SyncResult | undefined>;
}

/**
 * Syncs the sandbox's transcripts every `intervalMs` while a session is attached. Runs never
 * overlap (the next is scheduled when one ends), and the timer is unref'd so it never keeps the
 * process alive.
 */
export function startAutosave(runtime: ContainerRuntime, container: string, options: AutosaveOptions): Autosave {
  const sync = options.sync ?? ((run: AutosaveRun) => syncSandboxTranscripts(runtime, container, syncOptionsFor(options, run)));
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<SyncResult | undefined> | undefined;
  let stopping: Promise<SyncResult | undefined> | undefined;

  const runOnce = (final: boolean): Promise<SyncResult | undefined> => {
    const run = sync({ final }).then(
      (result) => result,
      (error: unknown) => {
        if (!final && isSbxError(error) && error.code === "SBX_EXPORT_INBOX_LOCKED") return undefined;
        options.onError?.(`transcript autosave failed: ${firstLine(error instanceof Error ? error.message : String(error))}`, error);
        return undefined;
      },
    );
    inFlight = run;
    return run.finally(() => {
      if (inFlight === run) inFlight = undefined;
    });
  };

  const schedule = (delay: number): void => {
    timer = setTimeout(() => {
      timer = undefined;
      void runOnce(false).then(() => {
        if (!stopping) schedule(options.intervalMs);
      });
    }, delay);
    timer.unref?.();
  };

  if (options.intervalMs > 0) schedule(options.runAtStart ? 0 : options.intervalMs);
  else if (options.runAtStart) void runOnce(false);

  return {
    stop() {
      stopping ??= (async () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        await inFlight;
        return runOnce(true);
      })();
      return stopping;
    },
  };
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() || "no details";
}
