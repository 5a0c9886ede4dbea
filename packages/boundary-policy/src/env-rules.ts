import type { TokenFamily } from "./token-rules.js";

/** A provider whose agent login may cross into the sandbox by the secret pipe. */
export type ProviderId = "anthropic" | "openai" | "gemini" | "openrouter" | "groq" | "xai";

/**
 * Env names that hold a provider's own login. auth-probes pipes these; the policy allows their
 * value only when the caller says it is being piped to that provider's own destination.
 */
export const PROVIDER_LOGIN_ENV: Readonly<Record<string, ProviderId>> = {
  ANTHROPIC_API_KEY: "anthropic",
  ANTHROPIC_AUTH_TOKEN: "anthropic",
  CLAUDE_CODE_OAUTH_TOKEN: "anthropic",
  OPENAI_API_KEY: "openai",
  CODEX_API_KEY: "openai",
  GEMINI_API_KEY: "gemini",
  GOOGLE_API_KEY: "gemini",
  OPENROUTER_API_KEY: "openrouter",
  GROQ_API_KEY: "groq",
  XAI_API_KEY: "xai",
};

/** Which detected token families count as a provider's own login. */
export const PROVIDER_FAMILIES: Readonly<Record<ProviderId, readonly TokenFamily[]>> = {
  anthropic: ["anthropic"],
  openai: ["openai"],
  gemini: ["google"],
  openrouter: ["openrouter"],
  groq: ["groq"],
  xai: ["xai"],
};

export interface EnvNameRule {
  readonly id: string;
  /** False: refused even when the user lists the name in `allowEnv`. */
  readonly userMayAllow: boolean;
  readonly matches: (name: string) => boolean;
  readonly why: string;
}

// GITHUB_TOKEN, GH_TOKEN, GH_ENTERPRISE_TOKEN, GITHUB_ENTERPRISE_TOKEN and the same shape
// (GITHUB_PAT, GH_HOST_TOKEN, GITLAB_TOKEN, …): forge credentials give push access to the user's
// repositories, which is exactly what a sandboxed agent must not hold.
const FORGE_TOKEN_NAME =
  /^(?:GH|GITHUB|GITLAB|GL|GITEA|BITBUCKET|CI_JOB)(?:_[A-Z0-9]+)*_(?:TOKEN|PAT|ACCESS_TOKEN|OAUTH_TOKEN|API_TOKEN|PASSWORD|SECRET)$/;

const CLOUD_CREDENTIAL_NAMES = new Set([
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_ACCESS_KEY_ID",
  "AWS_BEARER_TOKEN_BEDROCK",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_OAUTH_ACCESS_TOKEN",
  "CLOUDSDK_AUTH_ACCESS_TOKEN",
  "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
  "AZURE_CLIENT_SECRET",
  "AZURE_CLIENT_CERTIFICATE_PASSWORD",
  "AZURE_PASSWORD",
  "ARM_CLIENT_SECRET",
  "ARM_ACCESS_KEY",
  "DIGITALOCEAN_ACCESS_TOKEN",
  "DIGITALOCEAN_TOKEN",
  "HCLOUD_TOKEN",
  "CLOUDFLARE_API_TOKEN",
  "CLOUDFLARE_API_KEY",
  "VAULT_TOKEN",
  "KUBECONFIG",
  "DOCKER_AUTH_CONFIG",
  "NPM_TOKEN",
  "NODE_AUTH_TOKEN",
  "SSH_AUTH_SOCK",
  "GPG_AGENT_INFO",
]);

export const ENV_NAME_RULES: readonly EnvNameRule[] = [
  {
    id: "forge-token-env",
    userMayAllow: false,
    matches: (name) => FORGE_TOKEN_NAME.test(name),
    why: "is a source-forge credential (push access to your repositories)",
  },
  {
    id: "cloud-credential-env",
    userMayAllow: true,
    matches: (name) => CLOUD_CREDENTIAL_NAMES.has(name),
    why: "is a cloud or host credential",
  },
];

/** Token families never exempted by `allowEnv`: forge tokens are refused always. */
export const ALWAYS_REFUSED_FAMILIES: ReadonlySet<TokenFamily> = new Set(["github", "gitlab"]);
