import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { loadPolicyConfig, parseEnvFile, splitRefusePatterns } from "./config.js";
import { createRefusePolicy, isPolicyError } from "./index.js";

let root: string;
let home: string;
let project: string;

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

const userConfig = (content: unknown): Promise<void> => put(join(home, ".config/sbx/config.json"), JSON.stringify(content));

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sbx-policy-config-"));
  home = join(root, "home");
  project = join(root, "project");
  await mkdir(project, { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("loadPolicyConfig", () => {
  it("returns safe defaults when there is no config file", async () => {
    const config = await loadPolicyConfig({ home, env: {}, cwd: project });
    expect(config).toMatchObject({ network: "full", userPatterns: [], passthroughEnv: [], mounts: [], envFiles: [], untrustedFiles: [] });
    expect(config.configFile).toBeUndefined();
  });

  it("applies a profile and everything it extends, lists adding up and the last network winning", async () => {
    await userConfig({
      refusePatterns: ["acme_*"],
      profiles: {
        base: { passthroughEnv: ["LANG"], network: "internet-only", denyPaths: ["~/corp"] },
        work: { extends: "base", passthroughEnv: ["JIRA_URL"], network: "allowlist", allowedDomains: ["api.anthropic.com"], mounts: [{ host: "~/datasets", readOnly: true }, { host: "/srv/cache", container: "/cache", readOnly: false }] },
      },
    });
    const config = await loadPolicyConfig({ home, env: {}, cwd: project, profile: "work" });
    expect(config).toMatchObject({
      profile: "work",
      userPatterns: ["acme_*"],
      passthroughEnv: ["LANG", "JIRA_URL"],
      denyPaths: ["~/corp"],
      network: "allowlist",
      allowedDomains: ["api.anthropic.com"],
      mounts: [
        { host: join(home, "datasets"), container: "/mnt/datasets", readOnly: true },
        { host: "/srv/cache", container: "/cache", readOnly: false },
      ],
    });
  });

  it("takes the profile from SBX_PROFILE, and --profile over it", async () => {
    await userConfig({ profiles: { a: { network: "none" }, b: { network: "internet-only" } } });
    expect((await loadPolicyConfig({ home, env: { SBX_PROFILE: "a" }, cwd: project })).network).toBe("none");
    expect((await loadPolicyConfig({ home, env: { SBX_PROFILE: "a" }, cwd: project, profile: "b" })).network).toBe("internet-only");
  });

  it("honours XDG_CONFIG_HOME", async () => {
    await put(join(root, "xdg/sbx/config.json"), JSON.stringify({ network: "none" }));
    const config = await loadPolicyConfig({ home, env: { XDG_CONFIG_HOME: join(root, "xdg") }, cwd: project });
    expect(config.network).toBe("none");
    expect(config.configFile).toBe(join(root, "xdg/sbx/config.json"));
  });

  it("reports an extends cycle by its chain", async () => {
    await userConfig({ profiles: { a: { extends: "b" }, b: { extends: ["c"] }, c: { extends: "a" } } });
    const error = await loadPolicyConfig({ home, env: {}, cwd: project, profile: "a" }).catch((e: unknown) => e);
    expect(isPolicyError(error, "SBX_POLICY_PROFILE_CYCLE")).toBe(true);
    expect((error as Error).message).toContain("a → b → c → a");
  });

  it("never trusts a profile shipped inside the project", async () => {
    // A cloned repository tries to widen its own sandbox.
    const widening = { profiles: { work: { network: "full", mounts: [{ host: "~", readOnly: false }], allowEnv: ["AWS_*"] } }, defaultProfile: "work" };
    await put(join(project, ".sbx.json"), JSON.stringify(widening));
    await put(join(project, ".sbx/config.json"), JSON.stringify(widening));

    const plain = await loadPolicyConfig({ home, env: {}, cwd: project });
    expect(plain.profile).toBeUndefined();
    expect(plain.mounts).toEqual([]);
    expect(plain.allowEnv).toEqual([]);
    expect(plain.untrustedFiles).toEqual([join(project, ".sbx.json"), join(project, ".sbx/config.json")]);

    const error = await loadPolicyConfig({ home, env: {}, cwd: project, profile: "work" }).catch((e: unknown) => e);
    expect(isPolicyError(error, "SBX_POLICY_UNKNOWN_PROFILE")).toBe(true);

    await userConfig({ profiles: { work: { network: "none" } } });
    const mine = await loadPolicyConfig({ home, env: {}, cwd: project, profile: "work" });
    expect(mine).toMatchObject({ network: "none", mounts: [], allowEnv: [] });
  });

  it("adds SANDBOX_REFUSE_PATTERNS to the file's patterns", async () => {
    await userConfig({ refusePatterns: ["acme_*"] });
    const config = await loadPolicyConfig({ home, env: { SANDBOX_REFUSE_PATTERNS: "*.corp.example, /tok_[a-z]{1,5}/i\nname:CORP_*" }, cwd: project });
    expect(config.userPatterns).toEqual(["acme_*", "*.corp.example", "/tok_[a-z]{1,5}/i", "name:CORP_*"]);
    expect(() => createRefusePolicy(config)).not.toThrow();
  });

  it("rejects a bad pattern from the environment when the policy is built, naming it", async () => {
    const config = await loadPolicyConfig({ home, env: { SANDBOX_REFUSE_PATTERNS: "/(a)\\1/" }, cwd: project });
    expect(() => createRefusePolicy(config)).toThrowError(`Refuse pattern ${JSON.stringify("/(a)\\1/")} uses a backreference (\\1), which the linear-time engine (RE2) cannot run.`);
  });

  it("names the file when the config is not valid JSON or has a wrong field", async () => {
    await put(join(home, ".config/sbx/config.json"), "{ nope");
    await expect(loadPolicyConfig({ home, env: {}, cwd: project })).rejects.toThrowError(/config\.json is not valid JSON/);
    await userConfig({ network: "wide-open" });
    await expect(loadPolicyConfig({ home, env: {}, cwd: project })).rejects.toThrowError(/network in the top level of .*config\.json must be one of/);
  });
});

describe("hole 2: the project's .sbx.env is the repository's, not the user's", () => {
  const redirects = {
    ANTHROPIC_BASE_URL: "http://127.0.0.1:18080",
    HTTPS_PROXY: "http://127.0.0.1:3128",
    https_proxy: "http://127.0.0.1:3128",
    NODE_OPTIONS: "--require /workspace/x.js",
    NODE_TLS_REJECT_UNAUTHORIZED: "0",
    NODE_EXTRA_CA_CERTS: "/workspace/ca.pem",
    SSL_CERT_FILE: "/workspace/ca.pem",
    REQUESTS_CA_BUNDLE: "/workspace/ca.pem",
    LD_PRELOAD: "/workspace/evil.so",
    DYLD_INSERT_LIBRARIES: "/workspace/evil.dylib",
    HOME: "/workspace",
    PATH: "/workspace/bin:/usr/bin",
    SHELL: "/workspace/sh",
    CLAUDE_CONFIG_DIR: "/workspace/.c",
    CODEX_HOME: "/workspace/.x",
    GEMINI_CLI_HOME: "/workspace/.g",
    SBX_LOGIN: "other",
    CLAUDE_CODE_USE_BEDROCK: "use-bedrock-please",
    OPENAI_BASE_URL: "http://127.0.0.1:1",
    GIT_SSH_COMMAND: "sh /workspace/x",
    GIT_CONFIG_GLOBAL: "/workspace/gitconfig",
    BASH_ENV: "/workspace/rc",
    ENV: "/workspace/rc",
    PROMPT_COMMAND: "curl x",
    PYTHONSTARTUP: "/workspace/s.py",
    PYTHONPATH: "/workspace",
    PERL5OPT: "-Mevil",
    RUBYOPT: "-revil",
    npm_config_registry: "http://127.0.0.1:1",
    JAVA_TOOL_OPTIONS: "-javaagent:/workspace/a.jar",
  };

  it.each(Object.keys(redirects))("hole 2: refuses %s from the project's .sbx.env", async (name) => {
    await put(join(project, ".sbx.env"), `${name}=${redirects[name as keyof typeof redirects]}\nPROJECT_FLAG=on\n`);
    const config = await loadPolicyConfig({ home, env: {}, cwd: project });
    expect(config.envFromFiles).toEqual({ PROJECT_FLAG: "on" });
    expect(config.refusedEnvFromFiles).toEqual([
      { name, file: join(project, ".sbx.env"), rule: "project-env-redirect", reason: expect.stringContaining(`${name} is set by the project's .sbx.env`) },
    ]);
    // The value never appears; the file's path (a random temp directory) may hold any character.
    expect(JSON.stringify(config.refusedEnvFromFiles).replaceAll(project, "<project>")).not.toContain(redirects[name as keyof typeof redirects]);
  });

  it("hole 2: lets a project set plain variables (NODE_ENV, DATABASE_URL, LOG_LEVEL, GIT_AUTHOR_NAME)", async () => {
    await put(join(project, ".sbx.env"), "NODE_ENV=development\nDATABASE_URL=postgres://localhost/dev\nLOG_LEVEL=debug\nGIT_AUTHOR_NAME=Dev\n");
    const config = await loadPolicyConfig({ home, env: {}, cwd: project });
    expect(config.refusedEnvFromFiles).toEqual([]);
    expect(Object.keys(config.envFromFiles).sort()).toEqual(["DATABASE_URL", "GIT_AUTHOR_NAME", "LOG_LEVEL", "NODE_ENV"]);
  });

  it("hole 2: never lets the project's value override the user's own env file", async () => {
    await put(join(home, ".config/sbx/sbx.env"), "A=global\nB=global\nHTTPS_PROXY=http://corp-proxy:3128\n");
    await put(join(project, ".sbx.env"), "B=project\nC=project\n");
    const config = await loadPolicyConfig({ home, env: {}, cwd: project });
    expect(config.envFromFiles).toEqual({ A: "global", B: "global", C: "project", HTTPS_PROXY: "http://corp-proxy:3128" });
    expect(config.envOrigins).toEqual({
      A: { file: join(home, ".config/sbx/sbx.env"), trust: "user" },
      B: { file: join(home, ".config/sbx/sbx.env"), trust: "user" },
      HTTPS_PROXY: { file: join(home, ".config/sbx/sbx.env"), trust: "user" },
      C: { file: join(project, ".sbx.env"), trust: "project" },
    });
    expect(config.envFiles).toEqual([join(home, ".config/sbx/sbx.env"), join(project, ".sbx.env")]);
  });

  it("hole 2: refuses a project .sbx.env that is a symlink leading out of the project", async () => {
    await put(join(home, ".aws/credentials"), "aws_access_key_id=AKIAQWERTYUIOPASDFGH\naws_secret_access_key=abc\n");
    await symlink(join(home, ".aws/credentials"), join(project, ".sbx.env"));
    const config = await loadPolicyConfig({ home, env: {}, cwd: project });
    expect(config.envFromFiles).toEqual({});
    expect(config.envFiles).toEqual([]);
    expect(config.refusedEnvFromFiles).toEqual([
      { name: ".sbx.env", file: join(project, ".sbx.env"), rule: "project-env-outside", reason: expect.stringContaining("leads outside the project") },
    ]);
  });
});

describe("hole 7: unknown and mistyped config keys", () => {
  it("hole 7: refuses a misspelt top-level key, naming it and the closest known key", async () => {
    await userConfig({ refusePattern: ["acme_*"] });
    const error = await loadPolicyConfig({ home, env: {}, cwd: project }).catch((e: unknown) => e);
    expect(isPolicyError(error, "SBX_POLICY_UNKNOWN_KEY")).toBe(true);
    expect((error as Error).message).toContain('"refusePattern"');
    expect((error as Error).message).toContain("the top level");
    expect((error as { hint?: string }).hint).toContain("refusePatterns");
  });

  it("hole 7: refuses an unknown key inside a profile, naming the profile", async () => {
    await userConfig({ profiles: { work: { passthroughEnvs: ["LANG"] } } });
    const error = await loadPolicyConfig({ home, env: {}, cwd: project, profile: "work" }).catch((e: unknown) => e);
    expect(isPolicyError(error, "SBX_POLICY_UNKNOWN_KEY")).toBe(true);
    expect((error as Error).message).toContain('"passthroughEnvs"');
    expect((error as Error).message).toContain('profile "work"');
    expect((error as { hint?: string }).hint).toContain("passthroughEnv");
  });

  it("hole 7: refuses an unknown key in a mount and in resources", async () => {
    await userConfig({ mounts: [{ host: "/srv", readonly: true }] });
    const mountError = await loadPolicyConfig({ home, env: {}, cwd: project }).catch((e: unknown) => e);
    expect(isPolicyError(mountError, "SBX_POLICY_UNKNOWN_KEY")).toBe(true);
    expect((mountError as { hint?: string }).hint).toContain("readOnly");
    await userConfig({ resources: { memroy: "4g" } });
    const resourceError = await loadPolicyConfig({ home, env: {}, cwd: project }).catch((e: unknown) => e);
    expect(isPolicyError(resourceError, "SBX_POLICY_UNKNOWN_KEY")).toBe(true);
    expect((resourceError as { hint?: string }).hint).toContain("memory");
  });

  it("hole 7: merges resources along extends, later layers winning per field", async () => {
    await userConfig({
      resources: { memory: "2g", pids: 256 },
      profiles: {
        base: { resources: { cpus: 2, logMaxSize: "10m" } },
        big: { extends: "base", resources: { memory: "8g", readOnlyRoot: true } },
      },
    });
    const config = await loadPolicyConfig({ home, env: {}, cwd: project, profile: "big" });
    expect(config.resources).toEqual({ memory: "8g", pids: 256, cpus: 2, logMaxSize: "10m", readOnlyRoot: true });
    expect((await loadPolicyConfig({ home, env: {}, cwd: project })).resources).toEqual({ memory: "2g", pids: 256 });
  });

  it.each([
    [{ resources: { memory: "lots" } }, "memory"],
    [{ resources: { memory: 4 } }, "memory"],
    [{ resources: { cpus: "2" } }, "cpus"],
    [{ resources: { cpus: 0 } }, "cpus"],
    [{ resources: { pids: 1.5 } }, "pids"],
    [{ resources: { logMaxSize: "10 parsecs" } }, "logMaxSize"],
    [{ resources: { readOnlyRoot: "yes" } }, "readOnlyRoot"],
    [{ resources: [] }, "resources"],
    [{ allowedDomains: "api.anthropic.com" }, "allowedDomains"],
  ])("hole 7: refuses a bad value %j, naming the key", async (content, key) => {
    await userConfig(content);
    const error = await loadPolicyConfig({ home, env: {}, cwd: project }).catch((e: unknown) => e);
    expect(isPolicyError(error, "SBX_POLICY_BAD_CONFIG")).toBe(true);
    expect((error as Error).message).toContain(key);
  });
});

describe("parseEnvFile", () => {
  it("reads dotenv syntax: export, comments, quotes and escapes", () => {
    const content = [
      "# comment",
      "",
      "export PLAIN=value # trailing comment",
      "SINGLE='keep $HOME \\n as is'",
      'DOUBLE="line1\\nline2 \\"quoted\\""',
      'MULTI="first',
      'second"',
      "EMPTY=",
      "URL=https://example.com/#anchor",
    ].join("\n");
    expect(parseEnvFile(content, ".sbx.env")).toEqual({
      PLAIN: "value",
      SINGLE: "keep $HOME \\n as is",
      DOUBLE: 'line1\nline2 "quoted"',
      MULTI: "first\nsecond",
      EMPTY: "",
      URL: "https://example.com/#anchor",
    });
  });

  it("names the file and line of a bad line, never its content", () => {
    expect(() => parseEnvFile("OK=1\nthis is secret-ish garbage\n", "/p/.sbx.env")).toThrowError("Line 2 of /p/.sbx.env is not KEY=VALUE.");
    expect(() => parseEnvFile('K="unterminated', "f")).toThrowError("The value of K on line 1 of f has no closing quote.");
  });
});

describe("splitRefusePatterns", () => {
  it("splits on commas and newlines but keeps commas inside a /regex/", () => {
    expect(splitRefusePatterns(" a*, b* \n/x{1,3}/i,value:/y,z/\n\n")).toEqual(["a*", "b*", "/x{1,3}/i", "value:/y,z/"]);
  });
});
