export { loadPolicyConfig, sbxConfigDir, splitRefusePatterns, NETWORK_TIERS, CLOUD_LOGINS, GLOBAL_ENV_FILE_NAME, PROJECT_ENV_FILE_NAME } from "./policy-config.js";
export type {
  CloudLogin,
  LoadPolicyConfigOptions,
  MountSpec,
  NetworkTier,
  PolicyConfigFile,
  ProfileSettings,
  ResolvedPolicyConfig,
} from "./policy-config.js";
export { parseEnvFile } from "./env-file.js";
