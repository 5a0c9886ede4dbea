import { readdirSync } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { AgentName } from "./session-stats.js";

export interface SessionFile {
  path: string;
  /** Known from the directory layout or `--agent`; otherwise sniffed from the first line. */
  agent?: AgentName;
}

const SKIPPED_DIRECTORIES = new Set(["subagents", "tool-results", "node_modules"]);

/** Session files under `source` (a file, a project directory, or an agent's whole store). */
export async function findSessionFiles(source: string, skip: string[]): Promise<SessionFile[]> {
  const root = resolve(source);
  const found: SessionFile[] = [];
  const skipped = new Set(skip.map((path) => resolve(path)));
  const rootStat = await stat(root);
  if (rootStat.isFile()) return [{ path: root }];
  const walk = async (directory: string, depth: number): Promise<void> => {
    if (depth > 6 || skipped.has(directory)) return;
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".") && !SKIPPED_DIRECTORIES.has(entry.name)) await walk(path, depth + 1);
      } else if (entry.isFile() && isSessionFileName(entry.name, directory)) found.push({ path });
    }
  };
  await walk(root, 0);
  return found;
}

function isSessionFileName(name: string, directory: string): boolean {
  if (name.startsWith("agent-")) return false; // Claude subagent transcripts belong to their session
  // A hidden name counts too (a session can be called just `.jsonl`); the exporter's own files
  // (state, lock, temp files) end otherwise.
  if (name.endsWith(".jsonl")) return true;
  return !name.startsWith(".") && name.endsWith(".json") && (basename(directory) === "chats" || name.startsWith("session-"));
}

/** Which agent wrote a session, from its first line (or the whole `.json` document's shape). */
export async function sniffAgent(path: string): Promise<AgentName | undefined> {
  const head = await readHead(path, 64 * 1024);
  if (path.endsWith(".json")) return /"messages"\s*:/.test(head) || /"sessionId"/.test(head) ? "gemini" : undefined;
  const firstLine = head.split("\n").find((line) => line.trim()) ?? "";
  if (/^\s*\{\s*"(timestamp|type)"[^\n]*"type"\s*:\s*"session_meta"/.test(firstLine) || /"type"\s*:\s*"session_meta"/.test(firstLine)) return "codex";
  if (/"projectHash"\s*:/.test(firstLine) || (/"sessionId"/.test(firstLine) && /"startTime"/.test(firstLine) && !/"type"\s*:\s*"(user|assistant|summary)"/.test(firstLine))) return "gemini";
  if (/"type"\s*:\s*"(response_item|event_msg|turn_context)"/.test(firstLine)) return "codex";
  // Codex before session_meta: a bare header `{"id":…,"timestamp":…,"instructions"?…}` with no type.
  if (/^rollout-/.test(basename(path)) || (/^\s*\{\s*"id"\s*:/.test(firstLine) && !/"type"\s*:/.test(firstLine) && /"timestamp"\s*:/.test(firstLine))) return "codex";
  if (firstLine.trim()) return "claude";
  return undefined;
}

export async function readHead(path: string, bytes: number): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * A Claude session's subagent transcripts, by agent id: `<session>/subagents/agent-<id>.jsonl`
 * and, in older layouts, `agent-<id>.jsonl` beside the session whose lines carry its sessionId.
 */
export async function findClaudeSubagents(sessionPath: string, siblingOwners: (directory: string) => Promise<Map<string, string[]>>): Promise<Map<string, string>> {
  const agents = new Map<string, string>();
  const sessionId = basename(sessionPath, ".jsonl");
  const directory = dirname(sessionPath);
  for (const path of (await siblingOwners(directory)).get(sessionId) ?? []) agents.set(agentIdOf(path), path);
  const nested = join(directory, sessionId, "subagents");
  // Synchronous: most sessions have no such folder, and a failed lookup through the thread pool
  // costs more than the lookup.
  let entries: string[] = [];
  try {
    entries = readdirSync(nested);
  } catch {
    // no subagents folder
  }
  for (const name of entries.sort()) if (name.startsWith("agent-") && name.endsWith(".jsonl")) agents.set(agentIdOf(name), join(nested, name));
  return agents;
}

/** Sibling `agent-*.jsonl` files of a directory, grouped by the sessionId in their first line. */
export async function siblingAgentFiles(directory: string): Promise<Map<string, string[]>> {
  const owners = new Map<string, string[]>();
  const entries = await readdir(directory).catch(() => [] as string[]);
  for (const name of entries.sort()) {
    if (!name.startsWith("agent-") || !name.endsWith(".jsonl")) continue;
    const path = join(directory, name);
    const sessionId = /"sessionId"\s*:\s*"([^"]+)"/.exec(await readHead(path, 16 * 1024).catch(() => ""))?.[1];
    if (!sessionId) continue;
    owners.set(sessionId, [...(owners.get(sessionId) ?? []), path]);
  }
  return owners;
}

function agentIdOf(path: string): string {
  return basename(path, ".jsonl").replace(/^agent-/, "");
}
