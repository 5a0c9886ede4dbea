export { createRefusePolicy } from "./refuse-policy.js";
export type {
  CheckEnvOptions,
  EnvCheck,
  EnvDecision,
  MountDecision,
  PolicyAction,
  PolicyConfig,
  RefusePolicy,
  SecretCheck,
} from "./refuse-policy.js";
export type { Finding } from "./scan-text.js";
export { PolicyError, isPolicyError } from "./policy-error.js";
export type { PolicyErrorCode } from "./policy-error.js";
export { PROVIDER_LOGIN_ENV, PROVIDER_FAMILIES } from "./env-rules.js";
export type { ProviderId } from "./env-rules.js";
export { BUILT_IN_DENY_PATHS } from "./mount-rules.js";
export type { DeniedPath } from "./mount-rules.js";
export { TOKEN_RULES } from "./token-rules.js";
export type { TokenFamily, TokenRule } from "./token-rules.js";
