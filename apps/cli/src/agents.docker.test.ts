/**
 * Every agent the image carries, started the way a user starts it — `sbx run <agent>` under a
 * pseudo-terminal (tmux) — with fake but well-formed host logins in a temporary HOME. No test here
 * reaches anything but the sandboxes it started (the agents are offline; their prompts show anyway).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { docker } from "./test-support/docker-cli.js";
import { runSbx, SBX_BIN, sbxTestEnv } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;
const STAND_IN = fileURLToPath(new URL("./test-support/agent-backend-standin.mjs", import.meta.url));
const CANARY = `CANARY${randomBytes(8).toString("hex")}`;

interface Sandbox {
  home: string;
  project: string;
  env: Record<string, string | undefined>;
  container: string;
  login: string;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** A ChatGPT id_token as Codex expects it: three parts, the account in its auth claim. */
const fakeIdToken = (accountId: string) =>
  `${base64url({ alg: "RS256", typ: "JWT" })}.${base64url({
    email: `${CANARY}@example.com`,
    exp: Math.floor(Date.now() / 1000) + 30 * 86_400,
    "https://api.openai.com/auth": { chatgpt_account_id: accountId, chatgpt_plan_type: "pro", chatgpt_user_id: "user-test" },
  })}.${randomBytes(32).toString("base64url")}`;

/** A HOME as a user with all four CLIs logged in has it (fake tokens, real shapes). */
function loggedInHome(root: string): string {
  const home = join(root, "home");
  const write = (path: string, content: unknown) => {
    mkdirSync(join(home, path, ".."), { recursive: true });
    writeFileSync(join(home, path), JSON.stringify(content), { mode: 0o600 });
  };
  write(".claude/.credentials.json", {
    claudeAiOauth: { accessToken: `sk-ant-oat01-${CANARY}-a`, refreshToken: `sk-ant-ort01-${CANARY}-r`, expiresAt: Date.now() + 30 * 86_400_000, scopes: ["user:inference", "user:profile"], subscriptionType: "max" },
  });
  write(".claude.json", { hasCompletedOnboarding: true, mcpServers: { host: { command: "x", env: { T: `${CANARY}-mcp` } } } });
  const accountId = "11111111-2222-4333-8444-555555555555";
  write(".codex/auth.json", {
    OPENAI_API_KEY: null,
    tokens: { id_token: fakeIdToken(accountId), access_token: `${CANARY}-codex-access`, refresh_token: `${CANARY}-codex-refresh`, account_id: accountId },
    last_refresh: new Date().toISOString(),
  });
  write(".gemini/oauth_creds.json", { access_token: `ya29.${CANARY}-gemini`, refresh_token: `1//${CANARY}-gemini-r`, token_type: "Bearer", expiry_date: Date.now() + 3_600_000, scope: "https://www.googleapis.com/auth/cloud-platform" });
  // The host's own Gemini settings: only the auth choice may cross, never its MCP servers.
  write(".gemini/settings.json", { security: { auth: { selectedType: "oauth-personal" } }, mcpServers: { host: { command: "x", env: { T: `${CANARY}-gemini-mcp` } } } });
  write(".local/share/opencode/auth.json", { anthropic: { type: "oauth", access: `sk-ant-oat01-${CANARY}-opencode`, refresh: `sk-ant-ort01-${CANARY}-opencode-r`, expires: Date.now() + 3_600_000 } });
  // What the user's own sbx config says crosses: the settings a corporate network needs, here
  // pointing the agents at the test's stand-in backend (values are set per run, on the host).
  // The cloud login crosses only because this config names it (one line).
  write(".config/sbx/config.json", { passthroughEnv: ["HTTPS_PROXY", "NODE_EXTRA_CA_CERTS", "CODEX_CA_CERTIFICATE"], cloudLogins: ["vertex"] });
  write(".config/gcloud/application_default_credentials.json", { type: "authorized_user", client_id: "test.apps.googleusercontent.com", client_secret: "test", refresh_token: `1//${CANARY}-adc` });
  return home;
}

async function startSandbox(root: string, home: string, extraEnv: Record<string, string>): Promise<Sandbox> {
  const project = join(root, "project");
  mkdirSync(join(project, ".git"), { recursive: true });
  const login = `sbxagents${randomBytes(3).toString("hex")}`;
  const env = { ...sbxTestEnv(home, login, environment), ...extraEnv };
  const up = await runSbx(["up", "--detach", "--yes"], { cwd: project, env, timeoutMs: 15 * 60_000 });
  expect(up.exitCode, up.stderr).toBe(0);
  const container = JSON.parse((await runSbx(["status", "--json"], { cwd: project, env })).stdout).container.name as string;
  return { home, project, env, container, login };
}

/** Runs `sbx run <args>` in a tmux pane and waits until `ready` is on screen (or 60 s pass). */
async function promptScreen(sandbox: Sandbox, args: string[], ready: (screen: string) => boolean, extraEnv: Record<string, string> = {}): Promise<string> {
  const socket = `sbx-agents-${randomBytes(3).toString("hex")}`;
  const envArgs = Object.entries({ ...sandbox.env, ...extraEnv })
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}='${value}'`);
  const command = `cd '${sandbox.project}' && env -i ${envArgs.join(" ")} TERM=xterm-256color '${process.execPath}' '${SBX_BIN}' run --yes ${args.join(" ")}; sleep 120`;
  spawnSync("tmux", ["-L", socket, "new-session", "-d", "-x", "160", "-y", "45", "-s", "prompt", command]);
  const capture = () => spawnSync("tmux", ["-L", socket, "capture-pane", "-p", "-t", "prompt"], { encoding: "utf8" }).stdout ?? "";
  try {
    const started = Date.now();
    let screen = "";
    while (Date.now() - started < 60_000) {
      screen = capture();
      if (ready(screen)) {
        // Give the agent a moment to save its start-up state before the session is killed.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return screen;
  } finally {
    spawnSync("tmux", ["-L", socket, "kill-server"]);
  }
}

/** What each agent shows in the way of its prompt on a first start that went wrong. */
const FIRST_RUN_SCREENS = [
  "Sign in with ChatGPT",
  "Choose how you want to use Codex",
  "Do you trust the contents of this directory",
  "Update available",
  "Get started",
  "How would you like to authenticate",
  "Login with Google",
  "Do you trust this folder",
  "Gemini CLI update available",
  "Automatic update",
  "no login for",
];

const PROMPT_TEXT = { codex: "Ask Codex to do anything", gemini: "Type your message", opencode: "Ask anything" } as const;
const AGENT_PROMPTS = {
  codex: (screen: string) => screen.includes(PROMPT_TEXT.codex),
  gemini: (screen: string) => screen.includes(PROMPT_TEXT.gemini),
  opencode: (screen: string) => screen.includes(PROMPT_TEXT.opencode),
} as const;

/**
 * Starts the stand-in backend inside the sandbox (a host the test itself starts, on its loopback):
 * an https server for Codex's ChatGPT backend and a TLS-terminating proxy for Google's hosts,
 * with a certificate from a CA made for this test.
 */
function startStandIn(sandbox: Sandbox): { dir: string; codexUrl: string; proxyUrl: string; caPath: string; requests: () => string } {
  const dir = join(sandbox.project, "standin");
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]) => {
    const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=sbx test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(join(dir, "leaf.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.googleapis.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "leaf.cnf"]);
  copyFileSync(STAND_IN, join(dir, "standin.mjs"));
  // The sandbox user is the host user, or uid 1000 when the tests run as root.
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
  chmodSync(dir, 0o777);
  const [codexPort, proxyPort] = [18_000 + Math.floor(Math.random() * 1000), 19_000 + Math.floor(Math.random() * 1000)];
  docker(["exec", "-d", sandbox.container, "node", "/workspace/standin/standin.mjs", "/workspace/standin", String(codexPort), String(proxyPort)]);
  const requests = () => (existsSync(join(dir, "requests.log")) ? readFileSync(join(dir, "requests.log"), "utf8") : "");
  return { dir, codexUrl: `https://127.0.0.1:${codexPort}/backend-api/`, proxyUrl: `http://127.0.0.1:${proxyPort}`, caPath: "/workspace/standin/ca.pem", requests };
}

const inSandbox = (sandbox: Sandbox, script: string) => docker(["exec", sandbox.container, "sh", "-c", script], { allowFailure: true });

describe.skipIf(!environment.available)(`every agent in the sandbox${skipReason}`, { timeout: 120_000 }, () => {
  const withLogins = {} as Sandbox;
  const withKeys = {} as Sandbox;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "sbx-agents-"));
    Object.assign(withLogins, await startSandbox(join(root, "logins"), loggedInHome(join(root, "logins")), {}));
    const keysHome = join(root, "keys", "home");
    mkdirSync(keysHome, { recursive: true });
    Object.assign(
      withKeys,
      await startSandbox(join(root, "keys"), keysHome, {
        OPENAI_API_KEY: `sk-proj-${CANARY}openaikey`,
        GEMINI_API_KEY: `AIzaSy${CANARY}geminikey`,
        ANTHROPIC_API_KEY: `sk-ant-api03-${CANARY}-anthropickey`,
      }),
    );
  }, 20 * 60_000);

  afterAll(() => {
    for (const sandbox of [withLogins, withKeys]) {
      if (sandbox.container) docker(["rm", "-f", sandbox.container], { allowFailure: true });
      if (sandbox.login) docker(["volume", "rm", `${sandbox.login}-llm`], { allowFailure: true });
    }
  });

  it("has every agent installed at its pinned version", () => {
    const versions = inSandbox(withLogins, "claude --version; codex --version; gemini --version; opencode --version");
    expect(versions.exitCode, versions.stderr).toBe(0);
    expect(versions.stdout).toMatch(/^2\.1\.\d+ \(Claude Code\)\ncodex-cli 0\.171\.0\n0\.61\.0\n1\.18\.33\n$/);
  });

  for (const agent of ["codex", "gemini", "opencode"] as const) {
    it(`the API-key prompt test: \`sbx run ${agent}\` reaches its prompt within 60 s with no first-run screen`, async () => {
      const screen = await promptScreen(withKeys, [agent], AGENT_PROMPTS[agent]);
      // On a miss, what the agent logged says why (opencode logs its start-up steps).
      const log = AGENT_PROMPTS[agent](screen) ? "" : inSandbox(withKeys, "tail -n 15 ~/.local/share/opencode/log/*.log 2>/dev/null; ps -eo pid,pcpu,rss,args | tail -n 12").stdout;
      expect(screen + log).toContain(PROMPT_TEXT[agent]);
      for (const firstRun of FIRST_RUN_SCREENS) expect(screen, screen).not.toContain(firstRun);
    }, 90_000);
  }

  it("the login prompt test: `sbx run codex` with the host's ChatGPT login reaches its prompt against a stand-in backend", async () => {
    const standIn = startStandIn(withLogins);
    const screen = await promptScreen(withLogins, ["codex", "--", "-c", `chatgpt_base_url=${standIn.codexUrl}`], AGENT_PROMPTS.codex, { CODEX_CA_CERTIFICATE: standIn.caPath });
    expect(screen).toContain(PROMPT_TEXT.codex);
    for (const firstRun of FIRST_RUN_SCREENS) expect(screen, screen).not.toContain(firstRun);
    expect(screen).not.toContain("routing discovery failed");
    // It reached the prompt because its backend answered, not by skipping it.
    expect(standIn.requests()).toMatch(/GET 127\.0\.0\.1 \/backend-api\/wham\/accounts\/check/);
  }, 90_000);

  it("the login prompt test: `sbx run gemini` with the host's Google login is signed in, against a stand-in backend", async () => {
    const standIn = startStandIn(withLogins);
    const signedIn = (screen: string) => AGENT_PROMPTS.gemini(screen) && screen.includes("Signed in with Google");
    const screen = await promptScreen(withLogins, ["gemini"], signedIn, { HTTPS_PROXY: standIn.proxyUrl, NODE_EXTRA_CA_CERTS: standIn.caPath });
    expect(screen).toContain(PROMPT_TEXT.gemini);
    expect(screen).toContain("Signed in with Google");
    for (const firstRun of FIRST_RUN_SCREENS) expect(screen, screen).not.toContain(firstRun);
    expect(standIn.requests()).toMatch(/POST oauth2\.googleapis\.com \/tokeninfo/);
    expect(standIn.requests()).toMatch(/loadCodeAssist/);
    // The piped login is still there (choosing in Gemini's auth picker would have deleted it).
    expect(inSandbox(withLogins, "test -s ~/.gemini/oauth_creds.json").exitCode).toBe(0);
  }, 90_000);

  it("the login prompt test: `sbx run opencode` with the host's opencode login reaches its prompt", async () => {
    const screen = await promptScreen(withLogins, ["opencode"], AGENT_PROMPTS.opencode);
    expect(screen).toContain(PROMPT_TEXT.opencode);
    for (const firstRun of FIRST_RUN_SCREENS) expect(screen, screen).not.toContain(firstRun);
  }, 90_000);

  it("writes the first-run state merged, host settings left home, and no Codex self-copy or daemon", () => {
    const config = inSandbox(withKeys, "cat ~/.codex/config.toml").stdout;
    expect(config).toContain("check_for_update_on_startup = false");
    expect(config).toMatch(/\[features\]\ndaemon_auto_start = false/);
    expect(config).toMatch(/\[projects\."\/workspace"\]\ntrust_level = "trusted"/);
    expect(inSandbox(withKeys, "test ! -e ~/.codex/packages").exitCode).toBe(0);
    expect(inSandbox(withKeys, "ps -eo args").stdout).not.toContain("--managed-daemon");
    const gemini = JSON.parse(inSandbox(withLogins, "cat ~/.gemini/settings.json").stdout);
    expect(gemini.security.auth.selectedType).toBe("oauth-personal");
    expect(gemini.general).toEqual({ enableAutoUpdate: false, enableAutoUpdateNotification: false });
    expect(gemini.mcpServers).toBeUndefined();
    expect(JSON.parse(inSandbox(withKeys, "cat ~/.gemini/settings.json").stdout).security.auth.selectedType).toBe("gemini-api-key");
    expect(JSON.parse(inSandbox(withKeys, "cat ~/.config/opencode/opencode.json").stdout).autoupdate).toBe(false);
    // The canary audit for the new files: first-run files carry no secret; the logins are 0600.
    for (const sandbox of [withLogins, withKeys]) {
      const firstRun = inSandbox(sandbox, "cat ~/.codex/config.toml ~/.gemini/settings.json ~/.gemini/trustedFolders.json ~/.config/opencode/opencode.json");
      expect(firstRun.stdout).not.toContain(CANARY);
      for (const args of [["inspect", sandbox.container], ["logs", sandbox.container]]) expect(docker(args).stdout + docker(args).stderr).not.toContain(CANARY);
    }
    expect(inSandbox(withKeys, "stat -L -c '%a %U' ~/.codex/auth.json").stdout.trim()).toBe("600 sandbox");
    // The Vertex login the config let cross: a file, 0600, never a mount of ~/.config/gcloud.
    const adc = "~/.config/gcloud/application_default_credentials.json";
    expect(inSandbox(withLogins, `stat -c '%a %U' ${adc} && cat ${adc}`).stdout).toMatch(new RegExp(`^600 sandbox\\n.*${CANARY}-adc`));
    expect(inSandbox(withKeys, `test -e ${adc}`).exitCode).not.toBe(0);
    const [info] = JSON.parse(docker(["inspect", withLogins.container]).stdout);
    expect(info.Mounts.filter((mount: { Type: string }) => mount.Type === "bind")).toHaveLength(1);
  });

  it("kills the agent when the host's sbx process is SIGKILLed (docker exec alone leaves it running)", async () => {
    const marker = `agent-${randomBytes(4).toString("hex")}`;
    const child = spawn(process.execPath, [SBX_BIN, "run", "--yes", "sh", "--", "-c", `echo $$ > /tmp/${marker}.pid; exec sleep 1000`], {
      cwd: withKeys.project,
      env: withKeys.env as NodeJS.ProcessEnv,
      stdio: ["pipe", "ignore", "ignore"],
    });
    try {
      let pid = "";
      for (let waited = 0; !pid && waited < 60_000; waited += 250) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        pid = inSandbox(withKeys, `cat /tmp/${marker}.pid 2>/dev/null`).stdout.trim();
      }
      expect(pid).toMatch(/^\d+$/);
      expect(inSandbox(withKeys, `kill -0 ${pid}`).exitCode).toBe(0);
      child.kill("SIGKILL");
      let alive = true;
      for (let waited = 0; alive && waited < 15_000; waited += 250) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        alive = inSandbox(withKeys, `kill -0 ${pid} 2>/dev/null`).exitCode === 0;
      }
      expect(alive).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  }, 90_000);

  it("keeps what each agent wrote across `sbx down` and `sbx up`", async () => {
    const listing = "cd ~/.llm && find codex gemini opencode opencode-config -type f ! -name '*.lock' ! -name '*-shm' ! -name '*-wal' ! -path '*/log/*' | sort";
    const before = inSandbox(withKeys, listing).stdout.trim().split("\n");
    // Each agent saved state of its own on the volume (not only what sbx piped).
    expect(before).toEqual(expect.arrayContaining(["codex/auth.json", "gemini/projects.json", "opencode/opencode.db", "opencode-config/opencode.json"]));
    expect(before.some((file) => file.startsWith("codex/") && file.endsWith(".sqlite"))).toBe(true);
    expect((await runSbx(["down"], { cwd: withKeys.project, env: withKeys.env })).exitCode).toBe(0);
    expect((await runSbx(["up", "--detach", "--yes"], { cwd: withKeys.project, env: withKeys.env, timeoutMs: 120_000 })).exitCode).toBe(0);
    const after = inSandbox(withKeys, listing).stdout.trim().split("\n");
    expect(after).toEqual(expect.arrayContaining(before));
  });

  it("`sbx doctor` lists the image's agents and the logins that reach each", async () => {
    const doctor = await runSbx(["doctor", "--json"], { cwd: withLogins.project, env: withLogins.env });
    const checks = JSON.parse(doctor.stdout).checks as Array<{ name: string; ok: boolean; detail: string }>;
    const agent = (name: string) => checks.find((check) => check.name === `agent:${name}`)?.detail ?? "";
    expect(agent("codex")).toContain("codex login");
    expect(agent("gemini")).toContain("gemini login");
    expect(agent("opencode")).toContain("opencode login");
    expect(agent("claude")).toContain("claude login");
    const keys = JSON.parse((await runSbx(["doctor", "--json"], { cwd: withKeys.project, env: withKeys.env })).stdout).checks as typeof checks;
    expect(keys.find((check) => check.name === "agent:codex")?.detail).toContain("OPENAI_API_KEY");
  });
});
