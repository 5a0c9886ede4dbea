/**
 * Env names a project's own `.sbx.env` may not set. The file ships inside the repository, so it is
 * the attacker's: a name that chooses where an agent sends its piped login (endpoint, proxy, TLS
 * trust), what code runs with it (loader, interpreter start-up, shell hooks, helpers git or a
 * package manager runs) or where the sandbox keeps its state is refused from it. The user's own
 * env file and profiles may still set any of these.
 *
 * A denylist of names plus name patterns, matched case-insensitively (a lower-case `https_proxy`
 * works as well as the upper-case one for curl and most HTTP clients).
 */
export interface ProjectEnvVerdict {
  readonly rule: "project-env-redirect";
  /** Why, naming the class of redirect (never the value). */
  readonly why: string;
}

interface NameRule {
  readonly test: RegExp;
  readonly why: string;
}

const RULES: readonly NameRule[] = [
  // Endpoints and proxies: the login goes where these point.
  { test: /PROXY/, why: "chooses the proxy an agent's traffic (and its login) goes through" },
  { test: /(?:_BASE_?URL|_API_BASE|_API_URL|_API_HOST|_ENDPOINT(?:_URL)?|_INDEX_URL|_REGISTRY(?:_URL)?|_MIRROR)$/, why: "redirects an API endpoint or a package index" },
  // Every agent's and provider's own settings: a project has no business choosing where the
  // user's login is sent, which model account is billed, or how the agent runs.
  {
    test: /^(?:ANTHROPIC|CLAUDE|OPENAI|AZURE_OPENAI|CODEX|GEMINI|GOOGLE|VERTEX|CLOUDSDK|OPENCODE|OPENROUTER|GROQ|XAI|MISTRAL|COHERE|DEEPSEEK|OLLAMA|LITELLM|HF|HUGGINGFACE|AWS|BEDROCK|MCP)_/,
    why: "configures an agent or a model provider (endpoint, account, credentials helper)",
  },
  // TLS trust.
  { test: /^(?:NODE_TLS_|NODE_EXTRA_CA_CERTS$|NODE_USE_SYSTEM_CA$|SSL_|OPENSSL_|GNUTLS_|NSS_|REQUESTS_CA_BUNDLE$|CURL_CA_BUNDLE$|GRPC_DEFAULT_SSL_ROOTS)/, why: "changes which TLS certificates are trusted" },
  { test: /(?:^|_)(?:CA_?BUNDLE|CA_?CERTS?|CA_?FILE|CA_?PATH|CERT_FILE|CERT_DIR|INSECURE|SKIP_VERIFY|NO_VERIFY|VERIFY_SSL|SSL_VERIFY|TLS_VERIFY)(?:_|$)/, why: "changes which TLS certificates are trusted" },
  // Loaders and interpreter start-up hooks: code that runs inside the agent's own process.
  { test: /^(?:LD_|DYLD_|GLIBC_TUNABLES$|GCONV_PATH$|LOCPATH$|NLSPATH$|HOSTALIASES$|RESOLV_|LOCALDOMAIN$|RES_OPTIONS$)/, why: "changes how programs are loaded or how names resolve" },
  { test: /^(?:NODE_OPTIONS|NODE_PATH|NODE_ICU_DATA|NODE_REPL_EXTERNAL_MODULE|ELECTRON_RUN_AS_NODE|DENO_[A-Z0-9_]+|BUN_[A-Z0-9_]+)$/, why: "injects code or flags into Node-based agents" },
  { test: /(?:_OPTIONS|_OPTS|OPT)$/, why: "passes start-up flags to an interpreter or build tool" },
  { test: /^(?:PYTHON|PERL|RUBY|LUA_|TCL|JULIA_|DOTNET_|COMPLUS_|COREHOST_)/, why: "changes what an interpreter loads at start-up" },
  // Shells, helpers and tools that run commands.
  { test: /^(?:BASH_ENV|ENV|ZDOTDIR|PROMPT_COMMAND|PS[0-4]|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|IFS|CDPATH|INPUTRC|HISTFILE)$/, why: "runs commands when a shell starts or prompts" },
  { test: /^(?:EDITOR|VISUAL|PAGER|MANPAGER|BROWSER|LESSOPEN|LESSCLOSE|SSH_ASKPASS|SUDO_ASKPASS|SSH_AUTH_SOCK)$/, why: "names a program that other tools run" },
  { test: /^GIT_(?!(?:AUTHOR|COMMITTER)_(?:NAME|EMAIL|DATE)$)/, why: "changes what git runs or where it reads its configuration" },
  { test: /^(?:NPM_CONFIG_|YARN_|PNPM_|COREPACK_|PIP_|UV_|POETRY_|PDM_|CONDA_|CARGO_|RUSTUP_|RUSTC_|RUSTFLAGS$|BUNDLE_|GEM_|COMPOSER_|GO(?:FLAGS|PROXY|SUMDB|NOSUMDB|NOSUMCHECK|PRIVATE|NOPROXY|INSECURE|TOOLCHAIN|PATH|ROOT|ENV)$|MAVEN_|GRADLE_|DOCKER_|CONTAINER_HOST$|PODMAN_|KUBECONFIG$)/, why: "configures a package manager or tool that runs code or fetches it" },
  // Sandbox layout and identity: where the agents keep their state and logins.
  { test: /^(?:HOME|PATH|SHELL|USER|LOGNAME|TMPDIR|TMP|TEMP|PWD|OLDPWD|XDG_[A-Z0-9_]+)$/, why: "changes the sandbox's home, search path or layout" },
  { test: /(?:_HOME|_CONFIG_DIR|_CONFIG_HOME|_CONFIG_FILE|_CONFIG_PATH|_CONFIG|_DATA_DIR|_STATE_DIR|_CACHE_DIR|CONFIG)$/, why: "moves a tool's home or configuration (where agents keep their logins)" },
  { test: /^(?:SBX|SANDBOX)_/, why: "is sbx's own setting" },
];

export function projectEnvVerdict(name: string): ProjectEnvVerdict | undefined {
  const upper = name.toUpperCase();
  const rule = RULES.find((candidate) => candidate.test.test(upper));
  return rule ? { rule: "project-env-redirect", why: rule.why } : undefined;
}
