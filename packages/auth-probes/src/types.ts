/** `cloud`: a cloud-provider login the user's config lets cross (never probed by default). */
export type ProviderId = "claude" | "codex" | "gemini" | "opencode" | "api-keys" | "cloud";

/** One file to pipe into the sandbox. `content` is secret: never log it, never put it in argv. */
export interface SecretFile {
  /** Name under /run/secrets while in flight. */
  name: string;
  /** Where it lands in the sandbox; `~/` is the sandbox user's home. */
  destination: string;
  content: Buffer;
  /** @default 0o600 */
  mode: number;
  /** Merge this JSON object into the file already there (the agent keeps its own state in it). */
  mergeJson?: boolean;
}

export type ProbeResult =
  | {
      status: "found";
      provider: ProviderId;
      /** Safe to print: e.g. "Claude Max (ada@example.com)". */
      description: string;
      /** Where it was found, e.g. a path or "macOS Keychain". */
      source: string;
      files: SecretFile[];
      /** Epoch milliseconds when the access token expires, if the login says. */
      expiresAt?: number;
      notes: string[];
    }
  | { status: "absent"; provider: ProviderId; looked: string[] }
  | { status: "error"; provider: ProviderId; code: "SBX_AUTH_UNREADABLE" | "SBX_AUTH_INVALID" | "SBX_AUTH_EXPIRED"; reason: string; source: string };
