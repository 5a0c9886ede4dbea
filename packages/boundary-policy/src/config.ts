export { loadPolicyConfig, sbxConfigDir, splitRefusePatterns, NETWORK_TIERS, CLOUD_LOGINS, GLOBAL_ENV_FILE_NAME, PROJECT_ENV_FILE_NAME } from "./policy-config.js";
export type {
  EnvOrigin,
  CloudLogin,
  LoadPolicyConfigOptions,
  RefusedFileEnv,
  MountSpec,
  NetworkTier,
  PolicyConfigFile,
  ProfileSettings,
  ResolvedPolicyConfig,
  ResourceLimits,
} from "./policy-config.js";
export { parseEnvFile } from "./env-file.js";
export { projectEnvVerdict } from "./project-env-rules.js";
export type { ProjectEnvVerdict } from "./project-env-rules.js";
