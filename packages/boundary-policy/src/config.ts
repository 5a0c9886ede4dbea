export { loadPolicyConfig, sbxConfigDir, splitRefusePatterns, NETWORK_TIERS, GLOBAL_ENV_FILE_NAME, PROJECT_ENV_FILE_NAME } from "./policy-config.js";
export type {
  LoadPolicyConfigOptions,
  MountSpec,
  NetworkTier,
  PolicyConfigFile,
  ProfileSettings,
  ResolvedPolicyConfig,
  ResourceLimits,
} from "./policy-config.js";
export { parseEnvFile } from "./env-file.js";
