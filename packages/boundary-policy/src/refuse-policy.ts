import {
  ALWAYS_REFUSED_FAMILIES,
  ENV_NAME_RULES,
  PROVIDER_FAMILIES,
  PROVIDER_LOGIN_ENV,
  type ProviderId,
} from "./env-rules.js";
import { BUILT_IN_DENY_PATHS, checkMountTarget, isSameOrParent, normalizeHostPath, type DeniedPath } from "./mount-rules.js";
import { resolveRealPath } from "./real-path.js";
import { PolicyError } from "./policy-error.js";
import { redactFindings, redactText } from "./redact-text.js";
import { findSecrets, type Finding } from "./scan-text.js";

import { compileUserPatterns } from "./user-patterns.js";

export interface PolicyConfig {
  /**
   * The host user's home directory: expands `~` and anchors the home-relative deny list.
   * `checkMount` throws `SBX_POLICY_NO_HOME` without it; env and text checks do not need it.
   * @default undefined
   */
  home?: string;
  /**
   * Directory that relative mount paths are resolved against.
   * @default undefined (relative mount paths are refused)
   */
  cwd?: string;
  /**
   * User refuse patterns (globs, or `/regex/flags`; optional `name:`/`value:` prefix), applied to
   * env names, env values, provider logins and free text, on RE2 (linear time whatever the
   * pattern). Invalid patterns, and what RE2 cannot run (backreferences, lookarounds), throw
   * `SBX_POLICY_BAD_PATTERN` here, naming the pattern.
   * @default []
   */
  userPatterns?: readonly string[];
  /**
   * Env names (exact, or globs with `*`) the user allows despite the built-in rules, e.g.
   * `AWS_PROFILE` or `AWS_*`. Forge tokens (GitHub, GitLab) and user patterns still refuse.
   * @default []
   */
  allowEnv?: readonly string[];
  /**
   * Extra host paths never to mount (`~/…` or absolute), on top of the built-in deny list.
   * @default []
   */
  denyPaths?: readonly string[];
  /**
   * Extra env names holding a provider's own login, merged over {@link PROVIDER_LOGIN_ENV}.
   * @default {}
   */
  providerEnv?: Readonly<Record<string, ProviderId>>;
  /**
   * Resolves an absolute, normalised host path to its real path (symlinks followed; a missing
   * tail kept on its nearest existing ancestor). Mounts, `home` and deny-list entries are all
   * compared through it, so a symlinked home or a link to `~/.ssh` is still refused.
   * @default the local filesystem's realpath
   */
  resolveRealPath?: (path: string) => string;
}

export type PolicyAction = "allow" | "refuse" | "redact";

export interface EnvDecision {
  readonly name: string;
  readonly action: PolicyAction;
  /** The rule that fired (absent when allowed). */
  readonly rule?: string;
  /** Why, naming the variable and never its value (absent when allowed). */
  readonly reason?: string;
}

export interface EnvCheck {
  /** What may cross: allowed variables, and redacted values when `onSecretValue` is `redact`. */
  readonly allowed: Record<string, string>;
  readonly decisions: readonly EnvDecision[];
  readonly refused: readonly EnvDecision[];
}

export interface CheckEnvOptions {
  /**
   * Variables being piped to their own provider's destination (e.g. `ANTHROPIC_API_KEY` into the
   * file the entrypoint loads for Claude): their provider's own token is allowed in them; any
   * other secret still refuses. Names must be provider login names (see `PROVIDER_LOGIN_ENV`).
   * @default []
   */
  pipedLogins?: readonly string[];
  /**
   * What to do with a variable whose value contains a secret: refuse it, or let it cross with the
   * secret redacted. Name rules always refuse.
   * @default "refuse"
   */
  onSecretValue?: "refuse" | "redact";
}

export type MountDecision =
  | { readonly action: "allow"; readonly path: string }
  | { readonly action: "refuse"; readonly path: string | undefined; readonly rule: string; readonly reason: string };

export interface SecretCheck {
  readonly action: "allow" | "refuse";
  /** Everything found, including the provider's own tokens. */
  readonly findings: readonly Finding[];
  /** Findings that are not the provider's own login. */
  readonly refused: readonly Finding[];
  readonly reason?: string;
}

export interface RefusePolicy {
  checkEnv(env: Readonly<Record<string, string | undefined>>, options?: CheckEnvOptions): EnvCheck;
  /**
   * Checks one host path meant to be bind-mounted into the sandbox, by its real path (and as
   * written); an allowed decision carries the real path, which is what must be mounted.
   */
  checkMount(hostPath: string): MountDecision;
  /** Checks where a profile mount would land inside the container (not over sbx's own paths). */
  checkMountTarget(containerPath: string): MountDecision;
  /** Spans of every secret in `text`, sorted by start. */
  scanText(text: string): Finding[];
  /** `text` with every finding replaced by `[REDACTED:<rule>]`. */
  redact(text: string): string;
  /** Checks a provider's login content (e.g. `.credentials.json`): only its own tokens may be in it. */
  checkSecret(provider: ProviderId, text: string): SecretCheck;
}

export function createRefusePolicy(config: PolicyConfig = {}): RefusePolicy {
  const userPatterns = compileUserPatterns(config.userPatterns ?? []);
  const allowEnv = (config.allowEnv ?? []).map(envNameGlob);
  const userAllows = (name: string): boolean => allowEnv.some((glob) => glob.test(name));
  const providerEnv = { ...PROVIDER_LOGIN_ENV, ...config.providerEnv };
  const realPath = config.resolveRealPath ?? resolveRealPath;
  const denied: DeniedPath[] = [
    ...BUILT_IN_DENY_PATHS,
    ...(config.denyPaths ?? []).map((path) => ({ path, why: "on your deny list" })),
  ];

  function checkEnvVariable(name: string, value: string, piped: boolean, options: CheckEnvOptions): EnvDecision & { value?: string } {
    const nameRule = ENV_NAME_RULES.find((rule) => rule.matches(name));
    if (nameRule && !(nameRule.userMayAllow && userAllows(name))) {
      return { name, action: "refuse", rule: nameRule.id, reason: `${name} ${nameRule.why}.` };
    }
    const namePattern = userPatterns.find((p) => p.scope !== "value" && p.matchesName(name));
    if (namePattern) {
      return { name, action: "refuse", rule: namePattern.rule, reason: `${name} matches the refuse pattern ${JSON.stringify(namePattern.source)}.` };
    }

    const provider = piped ? providerEnv[name] : undefined;
    const ownFamilies: readonly string[] = provider ? PROVIDER_FAMILIES[provider] : [];
    const allowedByUser = userAllows(name);
    const findings = findSecrets(value, userPatterns).filter((finding) => {
      if (ownFamilies.includes(finding.family)) return false;
      if (allowedByUser && finding.family !== "user" && !ALWAYS_REFUSED_FAMILIES.has(finding.family)) return false;
      return true;
    });
    const first = findings[0];
    if (first === undefined) return { name, action: "allow", value };
    if ((options.onSecretValue ?? "refuse") === "redact") {
      return { name, action: "redact", rule: first.rule, reason: `${name} holds ${first.description}; it crosses redacted.`, value: redactFindings(value, findings) };
    }
    const loginHint =
      providerEnv[name] && !piped && ownFamiliesOf(providerEnv[name]).includes(first.family)
        ? " Provider logins cross by the secret pipe, not the environment."
        : "";
    return { name, action: "refuse", rule: first.rule, reason: `${name} holds ${first.description} (rule ${first.rule}).${loginHint}` };
  }

  return {
    checkEnv(env, options = {}) {
      for (const name of options.pipedLogins ?? []) {
        if (providerEnv[name] === undefined) {
          throw new PolicyError("SBX_POLICY_BAD_CONFIG", `${name} is not a provider login variable, so it cannot be piped as one.`, {
            hint: "Add it to providerEnv in the policy config, or pass it like any other variable.",
          });
        }
      }
      const piped = new Set(options.pipedLogins ?? []);
      const allowed: Record<string, string> = {};
      const decisions: EnvDecision[] = [];
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) continue;
        const { value: passed, ...decision } = checkEnvVariable(name, value, piped.has(name), options);
        decisions.push(decision);
        if (passed !== undefined && decision.action !== "refuse") allowed[name] = passed;
      }
      return { allowed, decisions, refused: decisions.filter((d) => d.action === "refuse") };
    },

    checkMount(hostPath) {
      if (config.home === undefined) {
        throw new PolicyError("SBX_POLICY_NO_HOME", "The refuse policy needs the host home directory to check mounts.", {
          hint: "Pass { home } to createRefusePolicy.",
        });
      }
      const written = normalizeHostPath(hostPath, config.home, config.cwd);
      if (written === undefined) {
        return { action: "refuse", path: written, rule: "mount-relative-path", reason: `Mount path ${JSON.stringify(hostPath)} is relative and no working directory was given.` };
      }
      // Both sides by real path as well as as written: a home reached through a link, a link to
      // ~/.ssh, or a deny entry whose directory is a link must not slip past a string compare.
      const path = realPath(written);
      const home = realPath(normalizeHostPath(config.home, config.home, undefined) as string);
      for (const entry of denied) {
        const deniedWritten = normalizeHostPath(entry.path, config.home, config.cwd);
        if (deniedWritten === undefined) continue;
        const deniedReal = realPath(deniedWritten);
        const rule = BUILT_IN_DENY_PATHS.includes(entry) ? "mount-deny-list" : "mount-user-deny-list";
        const pairs: Array<[string, string]> = [[path, deniedReal], [written, deniedWritten], [path, deniedWritten]];
        if (pairs.some(([p, d]) => isSameOrParent(d, p))) {
          const what = pairs.some(([p, d]) => p === d) ? "is" : "is inside";
          return { action: "refuse", path, rule, reason: `${displayPath(path, home)} ${what} ${entry.path} (${entry.why}).` };
        }
        if (pairs.some(([p, d]) => isSameOrParent(p, d))) {
          return { action: "refuse", path, rule, reason: `Mounting ${displayPath(path, home)} would carry ${entry.path} (${entry.why}) into the sandbox.` };
        }
      }
      return { action: "allow", path };
    },

    checkMountTarget(containerPath) {
      return checkMountTarget(containerPath);
    },

    scanText(text) {
      return findSecrets(text, userPatterns);
    },

    redact(text) {
      return redactText(text, userPatterns);
    },

    checkSecret(provider, text) {
      const own = ownFamiliesOf(provider);
      const findings = findSecrets(text, userPatterns);
      const refused = findings.filter((finding) => !own.includes(finding.family));
      const first = refused[0];
      if (first === undefined) return { action: "allow", findings, refused };
      return {
        action: "refuse",
        findings,
        refused,
        reason: `The ${provider} login holds ${first.description} (rule ${first.rule}), which is not a ${provider} credential.`,
      };
    },
  };
}

function ownFamiliesOf(provider: ProviderId | undefined): readonly string[] {
  return provider ? PROVIDER_FAMILIES[provider] : [];
}

function displayPath(path: string, home: string): string {
  return path === home ? "~" : path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

function envNameGlob(glob: string): RegExp {
  const body = glob.replace(/[\\^$.+?()[\]{}|]/g, "\\$&").replace(/\*/g, "[A-Za-z0-9_]*");
  return new RegExp(`^${body}$`);
}

