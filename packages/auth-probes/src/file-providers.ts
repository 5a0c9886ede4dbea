import { join } from "node:path";
import type { HostContext } from "./host.js";
import { isObject, parseJsonObject } from "./json-object.js";
import type { ProbeResult, ProviderId, SecretFile } from "./types.js";

/** A provider whose login is a JSON file (or a few) on the host: one table entry each. */
export interface FileProviderDefinition {
  provider: ProviderId;
  label: string;
  /** The login files: where each is on the host, and where it goes in the sandbox. */
  files: (host: HostContext) => Array<{ name: string; hostPath: string; destination: string; required: boolean; mergeJson?: boolean; transform?: (raw: Buffer) => Buffer }>;
}

const geminiDir = (host: HostContext) => join(host.env.GEMINI_CLI_HOME || host.home, ".gemini");

export const FILE_PROVIDERS: FileProviderDefinition[] = [
  {
    provider: "codex",
    label: "Codex login",
    files: (host) => [
      { name: "codex-auth", hostPath: join(host.env.CODEX_HOME || join(host.home, ".codex"), "auth.json"), destination: "~/.codex/auth.json", required: true },
    ],
  },
  {
    provider: "gemini",
    label: "Gemini login",
    files: (host) => [
      { name: "gemini-oauth", hostPath: join(geminiDir(host), "oauth_creds.json"), destination: "~/.gemini/oauth_creds.json", required: true },
      {
        // Only the auth choice crosses, not the user's whole settings (MCP servers live there too).
        name: "gemini-settings",
        hostPath: join(geminiDir(host), "settings.json"),
        destination: "~/.gemini/settings.json",
        required: false,
        // Merged into the sandbox's settings.json, which Gemini writes too.
        mergeJson: true,
        transform: (raw) => {
          // Called only once the file parsed as an object; its fields may still be anything.
          const settings = JSON.parse(raw.toString("utf8")) as { security?: unknown; selectedAuthType?: unknown };
          const auth = isObject(settings.security) && isObject(settings.security.auth) ? settings.security.auth : {};
          const selectedType = typeof auth.selectedType === "string" ? auth.selectedType : typeof settings.selectedAuthType === "string" ? settings.selectedAuthType : undefined;
          return Buffer.from(JSON.stringify(selectedType ? { security: { auth: { selectedType } } } : {}, null, 2));
        },
      },
    ],
  },
  {
    provider: "opencode",
    label: "opencode login",
    files: (host) => [
      {
        name: "opencode-auth",
        hostPath: join(host.env.XDG_DATA_HOME || join(host.home, ".local/share"), "opencode/auth.json"),
        destination: "~/.local/share/opencode/auth.json",
        required: true,
      },
    ],
  },
];

export async function probeFileProvider(definition: FileProviderDefinition, host: HostContext): Promise<ProbeResult> {
  const entries = definition.files(host);
  const files: SecretFile[] = [];
  for (const entry of entries) {
    let raw: Buffer | undefined;
    try {
      raw = await host.readFile(entry.hostPath);
    } catch (error) {
      return {
        status: "error",
        provider: definition.provider,
        code: "SBX_AUTH_UNREADABLE",
        reason: `${entry.hostPath} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
        source: entry.hostPath,
      };
    }
    if (!raw) {
      if (entry.required) return { status: "absent", provider: definition.provider, looked: [entry.hostPath] };
      continue;
    }
    const parsed = parseJsonObject(raw, entry.hostPath);
    if (!parsed.ok) return { status: "error", provider: definition.provider, code: "SBX_AUTH_INVALID", reason: parsed.reason, source: entry.hostPath };
    files.push({ name: entry.name, destination: entry.destination, content: entry.transform ? entry.transform(raw) : raw, mode: 0o600, ...(entry.mergeJson ? { mergeJson: true } : {}) });
  }
  const source = entries[0]?.hostPath ?? "";
  return { status: "found", provider: definition.provider, description: definition.label, source, files, notes: [] };
}
