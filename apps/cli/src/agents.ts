import type { ProbeResult, ProviderId } from "@sbx/auth-probes";
import { CliError } from "./cli-error.js";

/** An agent the sandbox image carries: how `sbx run` names it and which logins reach it. */
export interface AgentDefinition {
  name: "claude" | "codex" | "gemini" | "opencode";
  /** Other names users type for it (package or product names). */
  aliases: readonly string[];
  /** The command in the sandbox. */
  command: string;
  /** The npm package the image installs, pinned in image/Dockerfile by `versionArg`. */
  npmPackage: string;
  versionArg: string;
  /** The host login (auth-probes provider) that starts it logged in. */
  provider: ProviderId;
  /** How the user logs in on the host. */
  loginCommand: string;
  /** Host API keys that start it logged in instead. */
  apiKeyEnv: readonly string[];
}

export const AGENTS: readonly AgentDefinition[] = [
  {
    name: "claude",
    aliases: ["claude-code"],
    command: "claude",
    npmPackage: "@anthropic-ai/claude-code",
    versionArg: "CLAUDE_CODE_VERSION",
    provider: "claude",
    loginCommand: "claude /login",
    apiKeyEnv: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"],
  },
  {
    name: "codex",
    aliases: ["codex-cli", "openai-codex"],
    command: "codex",
    npmPackage: "@openai/codex",
    versionArg: "CODEX_VERSION",
    provider: "codex",
    loginCommand: "codex login",
    apiKeyEnv: ["OPENAI_API_KEY", "CODEX_API_KEY"],
  },
  {
    name: "gemini",
    aliases: ["gemini-cli"],
    command: "gemini",
    npmPackage: "@google/gemini-cli",
    versionArg: "GEMINI_CLI_VERSION",
    provider: "gemini",
    loginCommand: "gemini",
    apiKeyEnv: ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
  },
  {
    name: "opencode",
    aliases: ["opencode-ai"],
    command: "opencode",
    npmPackage: "opencode-ai",
    versionArg: "OPENCODE_VERSION",
    provider: "opencode",
    loginCommand: "opencode auth login",
    // opencode talks to any of these providers with the key in its environment.
    apiKeyEnv: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "GROQ_API_KEY", "XAI_API_KEY"],
  },
];

export function findAgent(name: string): AgentDefinition | undefined {
  const wanted = name.toLowerCase();
  return AGENTS.find((agent) => agent.name === wanted || agent.aliases.includes(wanted));
}

/**
 * The command `sbx run <agent> [-- args]` runs: a known agent's name or alias becomes its command,
 * and the `--` that separates sbx's options from the agent's is dropped (commander keeps it).
 */
export function agentCommandLine(agent: string, args: readonly string[]): string[] {
  const rest = args[0] === "--" ? args.slice(1) : [...args];
  return [findAgent(agent)?.command ?? agent, ...rest];
}

/** Which logins will reach the agent: its own host login, or one of its API keys. */
export function agentLogins(agent: AgentDefinition, logins: readonly ProbeResult[], agentEnv: Readonly<Record<string, string>>): string[] {
  const found = logins.filter((login) => login.status === "found" && login.provider === agent.provider).map((login) => `${login.provider} login`);
  return [...found, ...agent.apiKeyEnv.filter((name) => agentEnv[name])];
}

/** Stops `sbx run <agent>` before anything starts when no login would reach the agent. */
export function requireAgentLogin(agentName: string, logins: readonly ProbeResult[], agentEnv: Readonly<Record<string, string>>): void {
  const agent = findAgent(agentName);
  if (!agent || agentLogins(agent, logins, agentEnv).length > 0) return;
  throw new CliError("SBX_AGENT_NO_LOGIN", `no login for ${agent.name} was found on the host; run \`${agent.loginCommand}\` there first or pass an API key`, {
    hint: `Log in on the host (\`${agent.loginCommand}\`), or set ${agent.apiKeyEnv.slice(0, 2).join(" or ")}; \`sbx doctor\` shows what sbx found.`,
  });
}

/** The version of each agent an image plan installs: its build arg, else the Dockerfile's pin. */
export function pinnedVersion(agent: AgentDefinition, dockerfile: string, buildArgs: Readonly<Record<string, string>>): string {
  return buildArgs[agent.versionArg] ?? new RegExp(`^ARG ${agent.versionArg}=(\\S+)`, "m").exec(dockerfile)?.[1] ?? "unpinned";
}
