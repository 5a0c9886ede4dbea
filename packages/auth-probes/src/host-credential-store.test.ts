import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hostCredentialStores } from "./host-credential-store.js";

const ORIGINAL_PATH = process.env.PATH ?? "";
const FAKE_SECURITY = fileURLToPath(new URL("./test-support/fake-security.mjs", import.meta.url));
const LOGIN = JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-CANARY-a", refreshToken: "sk-ant-ort01-CANARY-r", expiresAt: 1 } });

function fakeKeychain(items: Record<string, { account: string; text: string }> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sbx-fake-security-"));
  const store = join(dir, "items.json");
  const log = join(dir, "calls.jsonl");
  writeFileSync(store, JSON.stringify(Object.fromEntries(Object.entries(items).map(([service, item]) => [service, { account: item.account, hex: Buffer.from(item.text).toString("hex") }]))));
  writeFileSync(log, "");
  // `security` on PATH is the fake, as the keeper on a Mac finds the real one.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(FAKE_SECURITY, join(bin, "security"));
  process.env.PATH = `${bin}:${ORIGINAL_PATH}`;
  process.env.FAKE_SECURITY_STORE = store;
  process.env.FAKE_SECURITY_LOG = log;
  const home = join(dir, "home");
  mkdirSync(home);
  return {
    home,
    calls: () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as { argv: string[]; stdin?: string }),
    item: (service: string) => {
      const entry = (JSON.parse(readFileSync(store, "utf8")) as Record<string, { account: string; hex: string }>)[service];
      return entry && { account: entry.account, text: Buffer.from(entry.hex, "hex").toString("utf8") };
    },
  };
}

const claudeStore = (home: string, platform: NodeJS.Platform = "darwin") => {
  const store = hostCredentialStores({ home, env: {}, platform }).find((item) => item.provider === "claude");
  if (!store) throw new Error("no claude store");
  return store;
};

describe("the macOS Keychain store (against a fake `security` on the test's PATH)", () => {
  it("reads the item, also when `security -w` prints it as hex", async () => {
    const keychain = fakeKeychain({ "Claude Code-credentials": { account: "ada", text: `${LOGIN}\n` } });
    // The trailing newline is not printable ASCII: the fake prints hex, as the real one does.
    expect((await claudeStore(keychain.home).read())?.toString()).toBe(`${LOGIN}\n`);
    expect(keychain.calls()).toEqual([{ argv: ["find-generic-password", "-s", "Claude Code-credentials", "-w"] }]);
  });

  it("replaces the item under its own account with the secret on stdin only: argv never holds it", async () => {
    const keychain = fakeKeychain({ "Claude Code-credentials": { account: "ada", text: LOGIN } });
    const store = claudeStore(keychain.home);
    const refreshed = LOGIN.replace("CANARY-r", "CANARY-r2");
    await store.write(Buffer.from(refreshed));
    expect(keychain.item("Claude Code-credentials")).toEqual({ account: "ada", text: refreshed });
    expect((await store.read())?.toString()).toBe(refreshed);
    const calls = keychain.calls();
    for (const call of calls) expect(call.argv.join(" ")).not.toContain("CANARY");
    for (const call of calls) expect(call.argv.join(" ")).not.toContain(Buffer.from(refreshed).toString("hex"));
    const interactive = calls.find((call) => call.argv[0] === "-i");
    expect(interactive?.argv).toEqual(["-i"]);
    expect(interactive?.stdin).toBe(`add-generic-password -U -a "ada" -s "Claude Code-credentials" -X "${Buffer.from(refreshed).toString("hex")}"\n`);
  });

  it("uses the file instead when Claude keeps one on this Mac", async () => {
    const keychain = fakeKeychain();
    mkdirSync(join(keychain.home, ".claude"));
    writeFileSync(join(keychain.home, ".claude", ".credentials.json"), LOGIN, { mode: 0o600 });
    const store = claudeStore(keychain.home);
    await store.write(Buffer.from("{}"));
    expect(readFileSync(join(keychain.home, ".claude", ".credentials.json"), "utf8")).toBe("{}");
    expect(keychain.calls()).toEqual([]);
  });

  it("says the Keychain refused, without the secret, when a locked keychain makes security fail", async () => {
    const keychain = fakeKeychain({ "Claude Code-credentials": { account: "ada", text: LOGIN } });
    process.env.FAKE_SECURITY_LOCKED = "1";
    try {
      const failure = await claudeStore(keychain.home).write(Buffer.from(LOGIN.replace("CANARY-r", "CANARY-r3"))).catch((error: Error) => error);
      expect(failure).toMatchObject({ code: "SBX_KEYCHAIN_FAILED", hint: expect.stringContaining("Unlock") });
      expect(String((failure as Error).message)).not.toContain("CANARY");
      expect(keychain.item("Claude Code-credentials")?.text).toBe(LOGIN);
    } finally {
      delete process.env.FAKE_SECURITY_LOCKED;
    }
  });
});

describe("the file stores", () => {
  it("replaces a login atomically and keeps its mode, and never creates one", async () => {
    const home = mkdtempSync(join(tmpdir(), "sbx-host-store-"));
    const codex = hostCredentialStores({ home, env: { CODEX_HOME: join(home, "codex") }, platform: "linux" }).find((item) => item.provider === "codex");
    if (!codex) throw new Error("no codex store");
    expect(codex.where).toBe(join(home, "codex", "auth.json"));
    await expect(codex.write(Buffer.from("{}"))).rejects.toMatchObject({ code: "SBX_HOST_STORE_WRITE_FAILED" });
    mkdirSync(join(home, "codex"));
    writeFileSync(join(home, "codex", "auth.json"), "{}", { mode: 0o600 });
    const before = await codex.changeHint();
    await codex.write(Buffer.from('{"tokens":{}}'));
    expect(readFileSync(join(home, "codex", "auth.json"), "utf8")).toBe('{"tokens":{}}');
    expect(statSync(join(home, "codex", "auth.json")).mode & 0o777).toBe(0o600);
    expect(await codex.changeHint()).not.toBe(before);
  });

  it.runIf(process.platform === "linux")("waits for Codex's own auth.lock before replacing its login", async () => {
    const home = mkdtempSync(join(tmpdir(), "sbx-host-store-"));
    const auth = join(home, ".codex", "auth.json");
    mkdirSync(join(home, ".codex"));
    writeFileSync(auth, "{}", { mode: 0o600 });
    const codex = hostCredentialStores({ home, env: {}, platform: "linux" }).find((item) => item.provider === "codex");
    // "Codex" takes the lock, and at the end of its save looks at what the file holds.
    const seen = join(home, "seen-under-lock");
    const holder = spawn("flock", [join(home, ".codex", "auth.lock"), "sh", "-c", `sleep 1; cat "$0" > "$1"`, auth, seen], { stdio: "ignore" });
    const holderDone = new Promise((resolve) => holder.on("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await codex?.write(Buffer.from('{"tokens":{}}'));
    await holderDone;
    expect(readFileSync(seen, "utf8")).toBe("{}");
    expect(readFileSync(auth, "utf8")).toBe('{"tokens":{}}');
  });

  it("writes where the user's own link leads, leaving the link in place", async () => {
    const home = mkdtempSync(join(tmpdir(), "sbx-host-store-"));
    mkdirSync(join(home, ".claude"));
    mkdirSync(join(home, "dotfiles"));
    writeFileSync(join(home, "dotfiles", "credentials.json"), LOGIN, { mode: 0o600 });
    symlinkSync(join(home, "dotfiles", "credentials.json"), join(home, ".claude", ".credentials.json"));
    await claudeStore(home, "linux").write(Buffer.from("{}"));
    expect(readFileSync(join(home, "dotfiles", "credentials.json"), "utf8")).toBe("{}");
  });
});
