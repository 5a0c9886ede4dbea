import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { createRefusePolicy, PolicyError, PROVIDER_LOGIN_ENV } from "@sbx/boundary-policy";
import { loadPolicyConfig, parseEnvFile } from "@sbx/boundary-policy/config";

export interface PolicyCheckOptions {
  /** Check this dotenv-style file instead of the environment. */
  envFile?: string;
  /** Check this host path as a mount. */
  path?: string;
  /** Check text read from stdin. */
  stdin?: boolean;
  /** Print the stable JSON shape instead of lines. */
  json?: boolean;
  /** Profile from the user's config (`--profile`). */
  profile?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  home: string;
  stdout: NodeJS.WritableStream;
  readStdin: () => Promise<string>;
}

export type RefusedItem =
  | { kind: "env"; name: string; rule: string; reason: string }
  | { kind: "mount"; path: string; rule: string; reason: string }
  | { kind: "text"; line: number; column: number; start: number; end: number; rule: string; reason: string };

/** The `--json` output; fields are only ever added. */
export interface PolicyCheckReport {
  ok: boolean;
  target: "env" | "env-file" | "path" | "stdin";
  /** The env file or path checked, when there is one. */
  source: string | null;
  profile: string | null;
  /** Variables, paths or findings looked at. */
  checked: number;
  refused: RefusedItem[];
}

export const EXIT_NOTHING_REFUSED = 0;
export const EXIT_SOMETHING_REFUSED = 3;

/** `sbx policy check [--env-file F] [--path P] [--stdin] [--json]`: returns the exit code. */
export async function policyCheck(options: PolicyCheckOptions): Promise<number> {
  const config = await loadPolicyConfig({ home: options.home, env: options.env, cwd: options.cwd, ...(options.profile ? { profile: options.profile } : {}) });
  const policy = createRefusePolicy(config);
  const report = await runCheck(options, policy);
  const finished: PolicyCheckReport = { ...report, profile: config.profile ?? null, ok: report.refused.length === 0 };
  options.stdout.write(options.json ? `${JSON.stringify(finished, null, 2)}\n` : renderHuman(finished));
  return finished.ok ? EXIT_NOTHING_REFUSED : EXIT_SOMETHING_REFUSED;
}

type Policy = ReturnType<typeof createRefusePolicy>;

async function runCheck(options: PolicyCheckOptions, policy: Policy): Promise<Omit<PolicyCheckReport, "ok" | "profile">> {
  if (options.path !== undefined) {
    const decision = policy.checkMount(options.path);
    const refused: RefusedItem[] =
      decision.action === "refuse" ? [{ kind: "mount", path: decision.path ?? options.path, rule: decision.rule, reason: decision.reason }] : [];
    return { target: "path", source: options.path, checked: 1, refused };
  }
  if (options.stdin) {
    const text = await options.readStdin();
    const refused = policy.scanText(text).map((finding): RefusedItem => {
      const { line, column } = position(text, finding.start);
      return { kind: "text", line, column, start: finding.start, end: finding.end, rule: finding.rule, reason: `Line ${line} holds ${finding.description}.` };
    });
    return { target: "stdin", source: null, checked: refused.length, refused };
  }
  if (options.envFile !== undefined) {
    const file = resolve(options.cwd, options.envFile);
    let content: string;
    try {
      content = await readFile(file, "utf8");
    } catch (error) {
      throw new PolicyError("SBX_POLICY_BAD_ENV_FILE", `Cannot read the env file ${file}.`, { cause: error, hint: "Check the --env-file path." });
    }
    return { target: "env-file", source: file, ...checkEnv(policy, parseEnvFile(content, file)) };
  }
  return { target: "env", source: null, ...checkEnv(policy, options.env) };
}

function checkEnv(policy: Policy, env: Readonly<Record<string, string | undefined>>): { checked: number; refused: RefusedItem[] } {
  // Provider logins found here are what `sbx up` pipes to their own agent, so judge them as such.
  const pipedLogins = Object.keys(env).filter((name) => PROVIDER_LOGIN_ENV[name] !== undefined);
  const result = policy.checkEnv(env, { pipedLogins });
  return {
    checked: result.decisions.length,
    refused: result.refused.map((d) => ({ kind: "env", name: d.name, rule: d.rule ?? "unknown", reason: d.reason ?? "" })),
  };
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function renderHuman(report: PolicyCheckReport): string {
  const what = { env: "environment variables", "env-file": "variables", path: "mount path", stdin: "text" }[report.target];
  if (report.ok) return `Nothing refused (${report.checked} ${what} checked${report.source ? ` in ${report.source}` : ""}).\n`;
  const lines = report.refused.map((item) => {
    const subject = item.kind === "env" ? item.name : item.kind === "mount" ? item.path : `stdin:${item.line}:${item.column}`;
    return `refused  ${subject}  ${item.reason}`;
  });
  return `${lines.join("\n")}\n${report.refused.length} refused.\n`;
}
