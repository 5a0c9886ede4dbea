import { join } from "node:path";
import { CliError } from "./cli-error.js";
import { userCacheDir } from "./user-cache-dir.js";

// Where transcripts go and how often, from the user's environment.

const DEFAULT_AUTOSAVE_SECONDS = 180;
/** setTimeout fires at once for delays above 2^31-1 ms, so longer intervals are refused. */
const MAX_AUTOSAVE_SECONDS = Math.floor(0x7fffffff / 1000);

/** `SBX_AUTOSAVE_INTERVAL` (seconds, default 180) in milliseconds; 0 turns periodic saves off. */
export function autosaveIntervalMs(env: NodeJS.ProcessEnv): number {
  const raw = env.SBX_AUTOSAVE_INTERVAL?.trim();
  if (raw === undefined || raw === "") return DEFAULT_AUTOSAVE_SECONDS * 1000;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_AUTOSAVE_SECONDS) {
    throw new CliError("SBX_CONFIG_INVALID", `SBX_AUTOSAVE_INTERVAL must be a whole number of seconds, not "${raw}".`, {
      hint: `Set SBX_AUTOSAVE_INTERVAL to seconds between transcript saves (default ${DEFAULT_AUTOSAVE_SECONDS}, 0 for only the final save, at most ${MAX_AUTOSAVE_SECONDS}), or unset it.`,
    });
  }
  return Number(raw) * 1000;
}

/** The inbox notes go to: `$SANDBOX_INBOX_DIR`, or `~/sbx-inbox`. */
export function defaultInboxDir(env: NodeJS.ProcessEnv, home: string): string {
  return env.SANDBOX_INBOX_DIR || join(home, "sbx-inbox");
}

/**
 * The host's mirror of one project's sessions on one login's state volume:
 * `${XDG_CACHE_HOME:-~/.cache}/sbx/sessions/<volume>/<project id>`.
 */
export function transcriptCacheDir(env: NodeJS.ProcessEnv, home: string, volumeName: string, projectId: string): string {
  for (const key of [volumeName, projectId]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(key)) {
      throw new CliError("SBX_CONFIG_INVALID", `"${key}" cannot name a transcript cache directory.`, { hint: "Use a state volume and project id made of letters, digits, _ . -." });
    }
  }
  return join(userCacheDir(env, home), "sbx", "sessions", volumeName, projectId);
}

