/**
 * The redactor every exported note passes through: the boundary policy's `redact`, with the
 * user's own patterns from their sbx config and SANDBOX_REFUSE_PATTERNS, so a secret an agent
 * printed leaves `[REDACTED:<rule>]` in the inbox instead of itself.
 */
export async function exportRedactor(options: { home: string; env: NodeJS.ProcessEnv; cwd: string; profile?: string }): Promise<(text: string) => string> {
  // Loaded on use: `sbx export` without a sandbox needs nothing else of the policy engine.
  const [{ createRefusePolicy }, { loadPolicyConfig }] = await Promise.all([import("@sbx/boundary-policy"), import("@sbx/boundary-policy/config")]);
  const config = await loadPolicyConfig({ home: options.home, env: options.env, cwd: options.cwd, ...(options.profile ? { profile: options.profile } : {}) });
  const policy = createRefusePolicy(config);
  return (text) => policy.redact(text);
}
