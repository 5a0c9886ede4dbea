import { stat } from "node:fs/promises";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { ExportError, exportSessions, type AgentName, type ExportResult, type NoteProject } from "@sbx/transcript-export";
import { SESSION_AGENTS, SESSION_STORES, type SessionStore } from "../session-stores.js";
import { defaultInboxDir, transcriptCacheDir } from "../transcript-settings.js";
import { syncSandboxTranscripts } from "../transcript-sync.js";

export interface ExportCommandOptions {
  source?: string;
  inbox?: string;
  agent?: "claude" | "codex" | "gemini";
  json?: boolean;
  env: NodeJS.ProcessEnv;
  home: string;
  stdout: NodeJS.WritableStream;
  /**
   * The project's running sandbox: its sessions are mirrored out (into the cache of its state
   * volume) and exported first, then the host's own directories as usual.
   * @default undefined
   */
  sandbox?: { runtime: ContainerRuntime; container: string; volumeName: string; projectId: string; project?: NoteProject };
  /**
   * Every note's text and name pass through this (the boundary policy's redact by default in the CLI).
   * @default undefined (no redaction: --no-redact)
   */
  redact?: (text: string) => string;
}

/** Where each agent keeps its sessions when nothing says otherwise. */
export function defaultSessionSource(agent: AgentName, env: NodeJS.ProcessEnv, home: string): string {
  const store = SESSION_STORES.find((candidate) => candidate.agent === agent) as SessionStore;
  return store.hostDir(env, home);
}

/** `sbx export`: render new and changed agent sessions into the inbox. Returns the exit code. */
export async function exportCommand(options: ExportCommandOptions): Promise<number> {
  const { stdout } = options;
  const inbox = options.inbox ?? defaultInboxDir(options.env, options.home);
  try {
    const total: ExportResult = { written: 0, unchanged: 0, malformedLines: [], failed: [], skipped: [], notes: [] };
    const sandbox = options.sandbox ? await exportSandbox(options, options.sandbox, inbox, total) : undefined;
    const runs = await plannedRuns(options, sandbox !== undefined);
    for (const run of runs) {
      const result = await exportSessions({ source: run.source, inbox, ...(run.agent ? { agent: run.agent } : {}), ...(options.redact ? { redact: options.redact } : {}) });
      total.written += result.written;
      total.unchanged += result.unchanged;
      total.malformedLines.push(...result.malformedLines);
      total.failed.push(...result.failed);
      total.skipped.push(...result.skipped);
      total.notes.push(...result.notes);
    }
    if (options.json) {
      stdout.write(`${JSON.stringify({ inbox, ...(sandbox ? { sandbox } : {}), sources: runs, ...total }, null, 2)}\n`);
    } else {
      if (sandbox) stdout.write(`sandbox ${sandbox.container}: ${sandbox.error ? `sync failed: ${sandbox.error}` : `copied ${sandbox.copiedBytes} new bytes of ${sandbox.files} session files`}\n`);
      if (runs.length === 0 && !sandbox) stdout.write("No agent session directories found; nothing to export.\n");
      stdout.write(`written ${total.written}, unchanged ${total.unchanged}, malformed ${total.malformedLines.length} lines\n`);
      for (const entry of total.malformedLines) stdout.write(`  ${entry.file}:${entry.line}: ${entry.reason}\n`);
      for (const entry of total.failed) stdout.write(`  failed ${entry.file}: ${entry.reason}\n`);
      for (const entry of total.skipped) stdout.write(`  skipped ${entry.file}: ${entry.reason}\n`);
    }
    return total.failed.length > 0 || sandbox?.error ? 1 : 0;
  } catch (error) {
    if (error instanceof ExportError) {
      if (options.json) stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint } })}\n`);
      else stdout.write(`${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}\n`);
      return 1;
    }
    throw error;
  }
}

interface SandboxSummary {
  container: string;
  cacheDir: string;
  copiedBytes: number;
  files: number;
  error?: string;
}

/**
 * Mirrors and exports the sandbox's sessions into `total`. A sandbox that cannot be read is
 * reported, not fatal: the host's own sessions are still exported.
 */
async function exportSandbox(options: ExportCommandOptions, sandbox: NonNullable<ExportCommandOptions["sandbox"]>, inbox: string, total: ExportResult): Promise<SandboxSummary> {
  checkAgent(options.agent);
  const cacheDir = transcriptCacheDir(options.env, options.home, sandbox.volumeName, sandbox.projectId);
  const summary: SandboxSummary = { container: sandbox.container, cacheDir, copiedBytes: 0, files: 0 };
  try {
    const result = await syncSandboxTranscripts(sandbox.runtime, sandbox.container, {
      cacheDir,
      inbox,
      ...(options.agent ? { agents: [options.agent] } : {}),
      ...(options.redact ? { redact: options.redact } : {}),
      ...(sandbox.project ? { project: sandbox.project } : {}),
    });
    summary.copiedBytes = result.copiedBytes;
    summary.files = result.files;
    total.written += result.written;
    total.unchanged += result.unchanged;
    total.malformedLines.push(...result.malformedLines);
    total.failed.push(...result.failed);
    total.skipped.push(...result.skipped);
    total.notes.push(...result.notes);
  } catch (error) {
    if (error instanceof ExportError) throw error;
    summary.error = error instanceof Error ? error.message : String(error);
  }
  return summary;
}

function checkAgent(agent: string | undefined): void {
  if (agent !== undefined && !SESSION_AGENTS.includes(agent as AgentName)) {
    throw new ExportError("SBX_EXPORT_BAD_AGENT", `Unknown agent "${agent}".`, { hint: `Use one of: ${SESSION_AGENTS.join(", ")}.` });
  }
}

async function plannedRuns(options: ExportCommandOptions, sandboxExported: boolean): Promise<{ source: string; agent?: AgentName }[]> {
  checkAgent(options.agent);
  if (options.source !== undefined) return [{ source: options.source, ...(options.agent ? { agent: options.agent } : {}) }];
  if (options.agent !== undefined) {
    const source = defaultSessionSource(options.agent, options.env, options.home);
    if (!(await isDirectory(source))) {
      // The sandbox was a source already; a host without this agent is not an error then.
      if (sandboxExported) return [];
      throw new ExportError("SBX_EXPORT_SOURCE_MISSING", `No ${options.agent} sessions at ${source}.`, { hint: "Pass --source with the directory that holds the sessions." });
    }
    return [{ source, agent: options.agent }];
  }
  const runs: { source: string; agent: AgentName }[] = [];
  for (const agent of SESSION_AGENTS) {
    const source = defaultSessionSource(agent, options.env, options.home);
    if (await isDirectory(source)) runs.push({ source, agent });
  }
  return runs;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((entry) => entry.isDirectory(), () => false);
}
