import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ProbeResult } from "@sbx/auth-probes";
import type { CloudLogin } from "@sbx/boundary-policy/config";

/**
 * What one `"cloudLogins": [...]` entry in the user's own sbx config lets cross. These are cloud
 * credentials, refused by default; the line in the config is the user's explicit choice, and the
 * audit shows each name and file it lets through.
 */
interface CloudLoginDefinition {
  /** Settings the agents read (project, region, "use this cloud"): passed when set on the host. */
  env: readonly string[];
  /** Of those, the ones the policy refuses as cloud credentials unless allowed. */
  credentials: readonly string[];
  /** A credential file piped to the same path under the sandbox home (never a mount). */
  file?: { name: string; hostPath: (home: string, env: Readonly<Record<string, string | undefined>>) => string; destination: string; label: string };
}

export const CLOUD_LOGIN_DEFINITIONS: Readonly<Record<CloudLogin, CloudLoginDefinition>> = {
  // Claude Code (CLAUDE_CODE_USE_VERTEX, ANTHROPIC_VERTEX_PROJECT_ID, CLOUD_ML_REGION), Gemini CLI
  // (GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION) and opencode
  // (GOOGLE_CLOUD_PROJECT, VERTEX_LOCATION) all authenticate with the gcloud ADC file.
  vertex: {
    env: ["CLAUDE_CODE_USE_VERTEX", "ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "VERTEX_LOCATION"],
    credentials: [],
    file: {
      name: "gcloud-adc",
      hostPath: (home, env) => join(env.CLOUDSDK_CONFIG || join(home, ".config/gcloud"), "application_default_credentials.json"),
      destination: "~/.config/gcloud/application_default_credentials.json",
      label: "Google Application Default Credentials",
    },
  },
  // Claude Code on Bedrock: the region and either the AWS key triple or a Bedrock API key.
  bedrock: {
    env: ["CLAUDE_CODE_USE_BEDROCK", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"],
    credentials: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"],
  },
};

export interface CloudLoginCrossing {
  /** Env names to pass, each with the cloud login that lets it through (for the audit). */
  env: Record<string, CloudLogin>;
  /** Cloud-credential names the policy must allow for them. */
  allowEnv: string[];
  /** Credential files found on the host, as logins to pipe. */
  logins: ProbeResult[];
}

export async function planCloudLogins(enabled: readonly CloudLogin[], home: string, env: Readonly<Record<string, string | undefined>>): Promise<CloudLoginCrossing> {
  const crossing: CloudLoginCrossing = { env: {}, allowEnv: [], logins: [] };
  for (const cloud of enabled) {
    const definition = CLOUD_LOGIN_DEFINITIONS[cloud];
    for (const name of definition.env) crossing.env[name] ??= cloud;
    crossing.allowEnv.push(...definition.credentials);
    if (!definition.file) continue;
    const hostPath = definition.file.hostPath(home, env);
    const content = await readFile(hostPath).catch(() => undefined);
    if (!content) continue;
    crossing.logins.push({
      status: "found",
      provider: "cloud",
      description: `${definition.file.label} (cloud login ${cloud})`,
      source: hostPath,
      files: [{ name: definition.file.name, destination: definition.file.destination, content, mode: 0o600 }],
      notes: [],
    });
  }
  return crossing;
}
