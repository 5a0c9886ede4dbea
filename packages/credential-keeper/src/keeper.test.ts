import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostCredentialStores } from "@sbx/auth-probes";
import { describe, expect, it } from "vitest";
import { CredentialKeeper } from "./keeper.js";
import { LocalRuntime } from "./test-support/local-runtime.js";

const NOW = Date.now();
const HOUR = 3_600_000;
const login = (rt: string, expiresAt: number) => `${JSON.stringify({ claudeAiOauth: { accessToken: `sk-ant-oat01-CANARY-${rt}`, refreshToken: `sk-ant-ort01-CANARY-${rt}`, expiresAt, subscriptionType: "max" } })}\n`;
const read = (path: string) => JSON.parse(readFileSync(path, "utf8")).claudeAiOauth as { refreshToken: string; expiresAt: number };

function world() {
  const home = mkdtempSync(join(tmpdir(), "sbx-keeper-home-"));
  const hostFile = join(home, ".claude", ".credentials.json");
  mkdirSync(join(home, ".claude"));
  writeFileSync(hostFile, login("1", NOW + HOUR), { mode: 0o600 });
  const runtime = new LocalRuntime();
  const copies: string[] = [];
  // Two sandboxes sharing one state volume, a third on its own, and one of another login.
  for (const [name, volume, owner] of [
    ["sbx-a", "ada-llm", "ada"],
    ["sbx-b", "ada-llm", "ada"],
    ["sbx-c", undefined, "ada"],
    ["sbx-other", undefined, "bob"],
  ] as const) {
    const dir = volume && copies.length ? (copies[0] as string).replace(/\/claude\/\.credentials\.json$/, "") : mkdtempSync(join(tmpdir(), "sbx-keeper-state-"));
    mkdirSync(join(dir, "claude"), { recursive: true });
    const file = join(dir, "claude", ".credentials.json");
    writeFileSync(file, login("1", NOW + HOUR), { mode: 0o600 });
    if (owner === "ada") copies.push(file);
    runtime.addContainer(name, { "dev.sbx.login": owner }, dir, volume);
  }
  const log: string[] = [];
  const keeper = new CredentialKeeper({ login: "ada", runtime, stores: hostCredentialStores({ home, env: {}, platform: "linux" }), skewMs: 300_000, log: (line) => log.push(line) });
  return { home, hostFile, copies: [copies[0] as string, copies[2] as string], runtime, keeper, log };
}

describe("CredentialKeeper", () => {
  it("skews each state volume's copy by its own step, so the sandboxes and the host never come due together", async () => {
    const { hostFile, copies, keeper } = world();
    expect(await keeper.syncOnce()).toBe(2);
    expect(read(hostFile).expiresAt).toBe(NOW + HOUR);
    expect(copies.map((file) => read(file).expiresAt).sort()).toEqual([NOW + HOUR - 600_000, NOW + HOUR - 300_000]);
    expect(keeper.sandboxes).toEqual(["sbx-a", "sbx-b", "sbx-c"]);
  });

  it("carries a sandbox's refresh to the host (real expiry, mode kept) and to the other sandbox, and logs it without values", async () => {
    const { hostFile, copies, keeper, log, runtime } = world();
    await keeper.syncOnce();
    const [refreshing, other] = copies as [string, string];
    writeFileSync(refreshing, login("2", NOW + 8 * HOUR));
    await keeper.syncOnce();
    expect(read(hostFile)).toMatchObject({ refreshToken: "sk-ant-ort01-CANARY-2", expiresAt: NOW + 8 * HOUR });
    expect(statSync(hostFile).mode & 0o777).toBe(0o600);
    expect(read(other).refreshToken).toBe("sk-ant-ort01-CANARY-2");
    expect(read(other).expiresAt).toBeLessThan(NOW + 8 * HOUR);
    expect(log.join("\n")).toMatch(/claude: the sandbox sbx-\w(, sbx-b)? refreshed \(valid until .*\); carried to the host/);
    expect(keeper.status().providers.find((item) => item.provider === "claude")).toMatchObject({ lastRefresh: { side: expect.stringMatching(/^sandbox /) }, lastCarried: { to: "host, sbx-c" } });
    expect(log.join("\n")).not.toContain("CANARY");
    expect(JSON.stringify(runtime.execs)).not.toContain("CANARY");
    // The other login's sandbox was never touched.
    expect(runtime.execs.some((exec) => exec.container === "sbx-other")).toBe(false);
  });

  it("carries the host's refresh into every sandbox and says the host refreshed", async () => {
    const { hostFile, copies, keeper, log } = world();
    await keeper.syncOnce();
    writeFileSync(hostFile, login("3", NOW + 8 * HOUR), { mode: 0o600 });
    await keeper.syncOnce();
    for (const file of copies) expect(read(file).refreshToken).toBe("sk-ant-ort01-CANARY-3");
    expect(log.join("\n")).toContain("claude: the host refreshed its login");
  });

  it("does not take a sandbox's older login over the host's newer one, nor a malformed one", async () => {
    const { hostFile, copies, keeper, log } = world();
    writeFileSync(hostFile, login("5", NOW + 8 * HOUR), { mode: 0o600 });
    writeFileSync(copies[0] as string, login("4", NOW + 2 * HOUR));
    writeFileSync(copies[1] as string, '{"claudeAiOauth":{"accessToken":"x"}}');
    await keeper.syncOnce();
    expect(read(hostFile).refreshToken).toBe("sk-ant-ort01-CANARY-5");
    expect(read(copies[0] as string).refreshToken).toBe("sk-ant-ort01-CANARY-5");
    expect(readFileSync(copies[1] as string, "utf8")).toBe('{"claudeAiOauth":{"accessToken":"x"}}');
    expect(log.join("\n")).toContain("claude: ignored the copy in sbx-c: claudeAiOauth lacks a well-formed token pair");
  });

  it("reports no sandbox left once the login's sandboxes stop", async () => {
    const { keeper, runtime } = world();
    expect(await keeper.syncOnce()).toBe(2);
    for (const container of runtime.containers) container.state = "exited";
    await keeper.listSandboxes();
    expect(await keeper.syncOnce()).toBe(0);
  });
});

describe("CredentialKeeper with an engine that stops answering", () => {
  it("counts its sandboxes as gone after a few failed listings, so the keeper can stop", async () => {
    const { home, runtime } = world();
    const keeper = new CredentialKeeper({ login: "ada", runtime, stores: hostCredentialStores({ home, env: {}, platform: "linux" }), listEveryMs: 0 });
    expect(await keeper.syncOnce()).toBe(2);
    runtime.listContainers = () => Promise.reject(new Error("engine gone"));
    const counts: number[] = [];
    for (let round = 0; round < 6; round += 1) {
      counts.push(await keeper.syncOnce());
      // Let the background listing settle before the next round.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(counts[0]).toBe(2);
    expect(counts.at(-1)).toBe(0);
  });
});
