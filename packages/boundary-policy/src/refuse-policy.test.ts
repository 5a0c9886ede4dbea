import { describe, expect, it } from "vitest";

import { createRefusePolicy, isPolicyError, PROVIDER_LOGIN_ENV } from "./index.js";

// Synthetic tokens, assembled so the source file holds no scanner-bait literal.
const GITHUB_PAT = "ghp_" + "R8q2Lx7mN4vB1cZ9kT3wY6pH0sD5fJ2gA8eU";
const ANTHROPIC_KEY = "sk-ant-api03-" + "Zq7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0Ja-Ue_Ti7Ko2Pl9Mn4Qb8Vc1Xz5Ws3Ed6Rf0Tg2Yh7Uj4Ik9Ol1Pa8Sd3Fg6Hj5Kl0Zx2Cv7Bn4".slice(0, 93) + "AA";
const CLAUDE_OAUTH = "sk-ant-oat01-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3Gh5Ij7Kl9Mn1Op3Qr5St7Uv9Wx1Yz3Ab5Cd7Ef9Gh1Ij3Kl5Mn7Op9Qr1St3Uv5";
const CLAUDE_REFRESH = "sk-ant-ort01-" + "Zy2Xw4Vu6Ts8Rq0Po2Nm4Lk6Ji8Hg0Fe2Dc4Ba6Zy8Xw0Vu2Ts4Rq6Po8Nm0Lk2Ji4Hg6Fe8Dc0Ba2Zy4Xw6Vu8Ts0Rq2Po4Nm6Lk8Ji0Hg2Fe4";
const OPENAI_KEY = "sk-proj-" + "Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7Qw9Er1Ty3Ui5Op7As9Df1Gh3Jk5Lz7Xc9Vb1Nm3Qw5Er7Ty9Ui1Op3As5T3BlbkFJ" + "Zx8Cv6Bn4Mq2Wr0Et8Yu6Io4Pa2Sd0Fg8Hj6Kl4Zx2Cv0Bn8Mq6Wr4Et2Yu0Io8Pa6Sd4Fg2Hj0Kl8Zx6Cv4Bn2Mq0";
const AWS_KEY_ID = "AKIA" + "Q7ZT3MX5LR2KP6WN";

const NORMAL_CONTAINER_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/home/sandbox",
  HOSTNAME: "3f2a9c1b7d4e",
  TERM: "xterm-256color",
  LANG: "C.UTF-8",
  NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
  NODE_VERSION: "20.19.0",
  YARN_VERSION: "1.22.22",
  SHLVL: "1",
  PWD: "/workspace",
  USER: "sandbox",
  SBX_PROJECT: "demo",
  SBX_NETWORK: "internet-only",
  SBX_LOGIN_VOLUME: "alice-llm",
  GITHUB_ACTIONS: "true",
  COLORTERM: "truecolor",
  EDITOR: "vim",
  http_proxy: "http://egress:3128",
  NO_PROXY: "localhost,127.0.0.1",
};

describe("checkEnv", () => {
  it("refuses GITHUB_TOKEN by name and never puts the value in the reason", () => {
    const result = createRefusePolicy().checkEnv({ GITHUB_TOKEN: GITHUB_PAT });
    expect(result.refused).toHaveLength(1);
    expect(result.refused[0]).toMatchObject({ name: "GITHUB_TOKEN", action: "refuse", rule: "forge-token-env" });
    expect(result.refused[0]?.reason).toContain("GITHUB_TOKEN");
    expect(JSON.stringify(result)).not.toContain(GITHUB_PAT);
    expect(JSON.stringify(result)).not.toContain(GITHUB_PAT.slice(4, 20));
    expect(result.allowed).toEqual({});
  });

  it.each(["GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GITHUB_PAT", "GITLAB_TOKEN", "GH_HOST_ACCESS_TOKEN"])(
    "refuses %s whatever it holds",
    (name) => {
      expect(createRefusePolicy().checkEnv({ [name]: "anything" }).refused.map((d) => d.name)).toEqual([name]);
    },
  );

  it("refuses forge tokens even when the user allows the name", () => {
    const policy = createRefusePolicy({ allowEnv: ["GITHUB_TOKEN", "GH_*"] });
    expect(policy.checkEnv({ GITHUB_TOKEN: "x", GH_TOKEN: "y" }).refused).toHaveLength(2);
  });

  it("allows a normal container environment unchanged", () => {
    const result = createRefusePolicy().checkEnv(NORMAL_CONTAINER_ENV);
    expect(result.refused).toEqual([]);
    expect(result.allowed).toEqual(NORMAL_CONTAINER_ENV);
  });

  it("refuses cloud credentials unless the user allows them", () => {
    const env = { AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCY0000000000", AWS_SESSION_TOKEN: "FwoGZXIvYXdzE", AWS_REGION: "eu-west-1" };
    expect(createRefusePolicy().checkEnv(env).refused.map((d) => d.name)).toEqual(["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]);
    const allowing = createRefusePolicy({ allowEnv: ["AWS_*"] }).checkEnv({ ...env, AWS_ACCESS_KEY_ID: AWS_KEY_ID });
    expect(allowing.refused).toEqual([]);
    expect(allowing.allowed.AWS_ACCESS_KEY_ID).toBe(AWS_KEY_ID);
  });

  it("refuses a token value hidden in an innocent-looking variable", () => {
    const result = createRefusePolicy().checkEnv({ BUILD_FLAGS: `--verbose --auth=${GITHUB_PAT}` });
    expect(result.refused[0]).toMatchObject({ name: "BUILD_FLAGS", rule: "github-pat" });
    expect(result.refused[0]?.reason).not.toContain(GITHUB_PAT);
  });

  it("passes a secret-bearing value redacted when asked to", () => {
    const result = createRefusePolicy().checkEnv({ BUILD_FLAGS: `--auth=${GITHUB_PAT} -v` }, { onSecretValue: "redact" });
    expect(result.decisions[0]).toMatchObject({ action: "redact", rule: "github-pat" });
    expect(result.allowed.BUILD_FLAGS).toBe("--auth=[REDACTED:github-pat] -v");
  });

  it("allows a provider's own key piped to its own destination, and refuses it anywhere else", () => {
    const policy = createRefusePolicy();
    const piped = policy.checkEnv({ ANTHROPIC_API_KEY: ANTHROPIC_KEY }, { pipedLogins: ["ANTHROPIC_API_KEY"] });
    expect(piped.refused).toEqual([]);
    expect(piped.allowed.ANTHROPIC_API_KEY).toBe(ANTHROPIC_KEY);

    const elsewhere = policy.checkEnv({ FOO: ANTHROPIC_KEY }, { pipedLogins: ["ANTHROPIC_API_KEY"] });
    expect(elsewhere.refused[0]).toMatchObject({ name: "FOO", rule: "anthropic-api-key" });

    const notPiped = policy.checkEnv({ ANTHROPIC_API_KEY: ANTHROPIC_KEY });
    expect(notPiped.refused[0]?.reason).toContain("secret pipe");
  });

  it("refuses another provider's key in a piped login variable", () => {
    const result = createRefusePolicy().checkEnv({ ANTHROPIC_API_KEY: OPENAI_KEY }, { pipedLogins: ["ANTHROPIC_API_KEY"] });
    expect(result.refused[0]).toMatchObject({ name: "ANTHROPIC_API_KEY", rule: "openai-api-key" });
  });

  it("rejects piping a variable that is no provider login", () => {
    expect(() => createRefusePolicy().checkEnv({ FOO: "x" }, { pipedLogins: ["FOO"] })).toThrowError(/FOO is not a provider login/);
  });

  it("applies user patterns to names and values", () => {
    const policy = createRefusePolicy({ userPatterns: ["ACME_*", "value:*.acme.corp", "/acmetok_[a-z0-9]{8}/"] });
    const result = policy.checkEnv({ ACME_DEPLOY: "1", REGISTRY: "https://npm.acme.corp/", NOTE: "acmetok_1234abcd", OK: "fine" });
    expect(result.refused.map((d) => d.name)).toEqual(["ACME_DEPLOY", "REGISTRY", "NOTE"]);
    expect(result.refused[1]?.reason).toContain('"value:*.acme.corp"');
    expect(Object.keys(result.allowed)).toEqual(["OK"]);
  });

  it("keeps the employer filter over a piped provider login", () => {
    const policy = createRefusePolicy({ userPatterns: ["value:sk-ant-api03-Zq7*"] });
    const result = policy.checkEnv({ ANTHROPIC_API_KEY: ANTHROPIC_KEY }, { pipedLogins: ["ANTHROPIC_API_KEY"] });
    expect(result.refused[0]?.rule).toBe("user-pattern-1");
  });

  it("exports the provider login table auth-probes pipes from", () => {
    expect(PROVIDER_LOGIN_ENV).toMatchObject({ ANTHROPIC_API_KEY: "anthropic", CLAUDE_CODE_OAUTH_TOKEN: "anthropic", OPENAI_API_KEY: "openai", GEMINI_API_KEY: "gemini", OPENROUTER_API_KEY: "openrouter" });
  });
});

describe("checkSecret", () => {
  const credentials = JSON.stringify({ claudeAiOauth: { accessToken: CLAUDE_OAUTH, refreshToken: CLAUDE_REFRESH, expiresAt: 1767225600000 } });

  it("allows Claude's own OAuth login file for the anthropic provider", () => {
    const result = createRefusePolicy().checkSecret("anthropic", credentials);
    expect(result.action).toBe("allow");
    expect(result.findings.map((f) => f.rule)).toEqual(["anthropic-oauth-token", "anthropic-oauth-token"]);
  });

  it("refuses the same file for another provider, and other secrets inside an anthropic login", () => {
    const policy = createRefusePolicy();
    expect(policy.checkSecret("openai", credentials).action).toBe("refuse");
    const smuggled = JSON.stringify({ claudeAiOauth: { accessToken: CLAUDE_OAUTH }, note: GITHUB_PAT });
    const result = policy.checkSecret("anthropic", smuggled);
    expect(result.action).toBe("refuse");
    expect(result.refused.map((f) => f.rule)).toEqual(["github-pat"]);
    expect(result.reason).not.toContain(GITHUB_PAT);
  });
});

describe("checkMount", () => {
  const policy = createRefusePolicy({ home: "/home/u", cwd: "/home/u/src/app", denyPaths: ["~/work/secrets"] });

  it.each([
    "~/.ssh",
    "~/.ssh/id_ed25519",
    "/home/u/.gnupg/",
    "~/.aws",
    "~/.config/gcloud",
    "~/.kube/config",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.claude/projects",
    "~/.claude/settings.json",
    "~/.claude.json",
    "/var/run/docker.sock",
    "~/work/secrets/db.env",
  ])("refuses %s", (path) => {
    expect(policy.checkMount(path).action).toBe("refuse");
  });

  it.each(["~", "/", "/home", "~/.config", "~/.claude", "~/.docker", "~/work"])("refuses the parent %s with the path it would expose", (path) => {
    const decision = policy.checkMount(path);
    expect(decision.action).toBe("refuse");
    expect(decision.action === "refuse" && decision.reason).toMatch(/would carry ~\//);
  });

  it("normalises ~, trailing slashes and .. before judging", () => {
    expect(policy.checkMount("/home/u/src/../.ssh/").action).toBe("refuse");
    expect(policy.checkMount("../../.aws")).toMatchObject({ action: "refuse", path: "/home/u/.aws" });
    expect(policy.checkMount("~/src/app/")).toEqual({ action: "allow", path: "/home/u/src/app" });
    expect(policy.checkMount("./data")).toEqual({ action: "allow", path: "/home/u/src/app/data" });
  });

  it("says why mounting home is refused", () => {
    const decision = policy.checkMount("~");
    expect(decision).toMatchObject({ action: "refuse", rule: "mount-deny-list" });
    expect(decision.action === "refuse" && decision.reason).toBe("Mounting ~ would carry ~/.ssh (SSH keys) into the sandbox.");
  });

  it("needs the home directory to judge mounts", () => {
    try {
      createRefusePolicy().checkMount("/data");
      expect.unreachable();
    } catch (error) {
      expect(isPolicyError(error, "SBX_POLICY_NO_HOME")).toBe(true);
    }
  });
});

describe("scanText and redact", () => {
  it("returns the span of each secret and redacts it with the rule name", () => {
    const policy = createRefusePolicy();
    const text = `token: ${GITHUB_PAT}\nkey=${AWS_KEY_ID}\n`;
    const findings = policy.scanText(text);
    expect(findings.map((f) => [f.rule, text.slice(f.start, f.end)])).toEqual([
      ["github-pat", GITHUB_PAT],
      ["aws-access-token", AWS_KEY_ID],
    ]);
    expect(policy.redact(text)).toBe("token: [REDACTED:github-pat]\nkey=[REDACTED:aws-access-token]\n");
  });

  it("redacts a private key block whole, and a truncated one too", () => {
    const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDAC4AWkdwKYSd8\nKs14IReLcYgADhoXk56ZzXI=\n";
    const policy = createRefusePolicy();
    expect(policy.redact(`a\n-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----\nb`)).toBe("a\n[REDACTED:private-key]\nb");
    expect(policy.redact(`-----BEGIN RSA PRIVATE KEY-----\n${body}`)).toBe("[REDACTED:private-key]");
  });
});
