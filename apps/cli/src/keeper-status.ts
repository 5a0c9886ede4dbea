import { homedir } from "node:os";
import { describeKeeper, ensureKeeper, keeperDisabled, keeperHealth, keeperStateDir } from "@sbx/credential-keeper";

/**
 * The login keeper's state for `sbx status` and `sbx doctor`, restarting it when it died while a
 * sandbox of its login runs (every command that looks at a sandbox brings a dead keeper back).
 */
export function keeperReport(login: string, sandboxRunning: boolean) {
  if (keeperDisabled(process.env)) return { state: "off", summary: "switched off (SBX_KEEPER=off): sandbox refreshes are not carried to the host" };
  const stateDir = keeperStateDir(process.env, homedir());
  const health = keeperHealth(stateDir, login);
  const restarted = health.state === "dead" && sandboxRunning;
  if (restarted) ensureKeeper({ login, stateDir, env: process.env });
  const summary = `${describeKeeper(health)}${restarted ? " — it had died; restarted" : ""}`;
  return { state: restarted ? "restarted" : health.state, summary, ...(health.file ? { lastSyncAt: health.file.lastSyncAt ?? null, providers: health.file.providers } : {}) };
}

/** Brings a dead keeper back for a login whose sandbox is in use (`sbx shell`, `sbx ls`); cheap: one state-file read when it is alive. */
export function reviveKeeper(login: string): void {
  keeperReport(login, true);
}
