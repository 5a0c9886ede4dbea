export { pipeSecret, assertSecretName, SECRETS_DIR, type PipeSecretOptions, type PipedSecret } from "./pipe-secret.js";
export { installPipedSecrets, type SecretInstallation, type InstallOptions, type InstalledSecret } from "./install-secrets.js";
export { SecretPipeError, type SecretPipeErrorCode } from "./errors.js";
export { pipeSecretBundle, receiveSecretBundle, REPORT_MAX_BYTES, type BundledSecret, type VerifiedInstall } from "./secret-bundle.js";
