import { join } from "node:path";
import type { AgentName } from "@sbx/transcript-export";

/**
 * Where each agent keeps its conversations: the one table the entrypoint (per-project stores),
 * the sandbox mirror (what it lists and fetches), `sbx export` (the host's own stores) and the
 * host cache all read, so adding an agent is one entry here.
 */
export interface SessionStore {
  agent: AgentName;
  /** The store relative to the agent's state directory on the login volume (`~/.llm`), and to the host cache. */
  dir: string;
  /** Which files in it are sessions: JSONL everywhere, plus Gemini's `.json` chats under `chats/`. */
  files: "jsonl" | "gemini-chats";
  /** The host's own store, where the agent writes when it runs outside sbx. */
  hostDir: (env: NodeJS.ProcessEnv, home: string) => string;
}

export const SESSION_STORES: readonly SessionStore[] = [
  { agent: "claude", dir: "claude/projects", files: "jsonl", hostDir: (_env, home) => join(home, ".claude", "projects") },
  { agent: "codex", dir: "codex/sessions", files: "jsonl", hostDir: (env, home) => join(env.CODEX_HOME || join(home, ".codex"), "sessions") },
  { agent: "gemini", dir: "gemini/tmp", files: "gemini-chats", hostDir: (env, home) => join(env.GEMINI_CLI_HOME || home, ".gemini", "tmp") },
];

/** The store directories, for the entrypoint's per-project links. */
export const PROJECT_STORES: readonly string[] = SESSION_STORES.map((store) => store.dir);

export const SESSION_AGENTS: readonly AgentName[] = SESSION_STORES.map((store) => store.agent);
