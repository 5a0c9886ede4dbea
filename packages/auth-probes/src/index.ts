export { probeProviders, probeApiKeys, type ProbeOptions } from "./probe-providers.js";
export { probeClaude, minimalClaudeConfig, claudeWorkspaceTrust, withClaudeWorkspaceTrust, decodeKeychainSecret } from "./claude.js";
export { FILE_PROVIDERS, probeFileProvider, type FileProviderDefinition } from "./file-providers.js";
export { realHostContext, type HostContext } from "./host.js";
export type { ProbeResult, ProviderId, SecretFile } from "./types.js";
export { hostCredentialStores, HostStoreError, CLAUDE_KEYCHAIN_SERVICE, type HostCredentialStore, type HostStoreOptions, type StoredProvider } from "./host-credential-store.js";
