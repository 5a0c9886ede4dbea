export { CredentialKeeper, LOGIN_LABEL, type KeeperOptions, type KeeperStatus, type ProviderStatus } from "./keeper.js";
export {
  describeKeeper,
  ensureKeeper,
  keeperDisabled,
  keeperHealth,
  keeperPaths,
  keeperStateDir,
  runKeeper,
  KEEPER_ENTRY,
  type EnsureKeeperOptions,
  type KeeperHealth,
  type KeeperPaths,
  type KeeperStateFile,
  type RunKeeperOptions,
} from "./keeper-process.js";
export { decideSync, type CopyView, type HostView, type SyncDecision } from "./sync-decision.js";
export { parseStore, withEntries, entryMismatch, KEPT_PROVIDERS, MAX_CREDENTIAL_BYTES, type KeptProvider, type ParsedStore, type TokenEntry } from "./credential-shapes.js";
export {
  DEFAULT_SANDBOX_STATE_DIR,
  SANDBOX_PROGRAMS,
  SANDBOX_STORE_PATHS,
  pollSandboxStores,
  writeSandboxStore,
  type SandboxPoll,
  type SandboxRuntime,
  type SandboxStoreRead,
  type SandboxWriteResult,
} from "./sandbox-copy.js";
