import { PROVIDER_LOGIN_ENV } from "@sbx/boundary-policy";
import { probeClaude } from "./claude.js";
import { FILE_PROVIDERS, probeFileProvider } from "./file-providers.js";
import type { HostContext } from "./host.js";
import type { ProbeResult, ProviderId } from "./types.js";

export interface ProbeOptions {
  /**
   * Env names that hold a provider's own API key (e.g. ANTHROPIC_API_KEY); the values found on the
   * host are piped as one env file the agent loads. @default the policy's provider login names
   */
  apiKeyEnvNames?: readonly string[];
  /** Only these providers. @default all */
  only?: readonly ProviderId[];
}

/**
 * Probes every known provider on the host. An absent provider is skipped (status "absent"); an
 * unreadable or broken one is reported with its reason; nothing throws for an expected outcome.
 */
export async function probeProviders(host: HostContext, options: ProbeOptions = {}): Promise<ProbeResult[]> {
  const wanted = (provider: ProviderId) => !options.only || options.only.includes(provider);
  const probes: Array<Promise<ProbeResult>> = [];
  if (wanted("claude")) probes.push(probeClaude(host));
  for (const definition of FILE_PROVIDERS) if (wanted(definition.provider)) probes.push(probeFileProvider(definition, host));
  if (wanted("api-keys")) probes.push(Promise.resolve(probeApiKeys(host, options.apiKeyEnvNames ?? Object.keys(PROVIDER_LOGIN_ENV))));
  return Promise.all(probes);
}

/**
 * Which provider API keys are set on the host. The CLI decides (with the boundary policy) what
 * crosses, and pipes the allowed ones as the agent's environment; this probe only reports them.
 */
export function probeApiKeys(host: HostContext, names: readonly string[]): ProbeResult {
  const present = names.filter((name) => host.env[name]);
  if (present.length === 0) return { status: "absent", provider: "api-keys", looked: names.map((name) => `$${name}`) };
  return { status: "found", provider: "api-keys", description: present.join(", "), source: "environment", files: [], notes: [] };
}
