import { createRefusePolicy, type RefusePolicy } from "@sbx/boundary-policy";

export interface RefusedVariable {
  name: string;
  rule: string;
  reason: string;
}

export interface SandboxPolicyRules {
  userPatterns?: string[];
  allowEnv?: string[];
}

/** The same engine the host uses, with the user's own rules when the host piped them in. */
export function sandboxPolicy(rules: SandboxPolicyRules = {}): RefusePolicy {
  return createRefusePolicy({ userPatterns: rules.userPatterns ?? [], allowEnv: rules.allowEnv ?? [] });
}

export function checkSandboxEnv(policy: RefusePolicy, env: Record<string, string | undefined>, pipedLogins: readonly string[] = []): RefusedVariable[] {
  return policy.checkEnv(env, { pipedLogins }).refused.map((decision) => ({ name: decision.name, rule: decision.rule ?? "policy", reason: decision.reason ?? "refused" }));
}
