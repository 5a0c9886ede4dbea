import { createRefusePolicy } from "@sbx/boundary-policy";

export interface RefusedVariable {
  name: string;
  rule: string;
  reason: string;
}

const policy = createRefusePolicy();

/** The same engine the host uses, applied to the sandbox's own environment. */
export function checkSandboxEnv(env: Record<string, string | undefined>, pipedLogins: readonly string[] = []): RefusedVariable[] {
  return policy.checkEnv(env, { pipedLogins }).refused.map((decision) => ({ name: decision.name, rule: decision.rule ?? "policy", reason: decision.reason ?? "refused" }));
}
