/**
 * A hostile sandbox against the real keeper, through the real engine: a container of the login
 * whose agent plants a symlink, a FIFO, an oversized file and a forged "refresh" of another plan in
 * its stores. The host's login must not change, nothing may hang, and every refusal is logged
 * without a value. (A plain container from the offline base image with the sandbox's layout.)
 */
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostCredentialStores } from "@sbx/auth-probes";
import { DockerRuntime } from "@sbx/container-runtime";
import { afterAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../container-runtime/src/test-support/docker-environment.js";
import { CredentialKeeper } from "./keeper.js";

const environment = await dockerTestEnvironment();
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

describe.skipIf(!environment.available)("the keeper and a hostile sandbox", () => {
  it("takes nothing from links, FIFOs, oversized files or a forged login of another plan", async () => {
    if (!environment.available) return;
    const marker = `CANARY${randomBytes(6).toString("hex")}`;
    const login = `sbx-hostile-${randomBytes(4).toString("hex")}`;
    const home = mkdtempSync(join(tmpdir(), "sbx-hostile-home-"));
    const state = mkdtempSync(join(tmpdir(), "sbx-hostile-state-"));
    cleanups.push(() => [home, state].forEach((dir) => rmSync(dir, { recursive: true, force: true })));
    const credentials = (plan: string, rt: string, expiresAt: number) => JSON.stringify({ claudeAiOauth: { accessToken: `at-${marker}-${rt}`, refreshToken: `rt-${marker}-${rt}`, expiresAt, subscriptionType: plan } });
    mkdirSync(join(home, ".claude"));
    const hostLogin = credentials("max", "host", Date.now() + 3_600_000);
    writeFileSync(join(home, ".claude", ".credentials.json"), hostLogin, { mode: 0o600 });
    mkdirSync(join(home, ".codex"));
    writeFileSync(join(home, ".codex", "auth.json"), JSON.stringify({ tokens: { access_token: `a-${marker}`, refresh_token: `r-${marker}`, account_id: "acct" }, last_refresh: new Date().toISOString() }), { mode: 0o600 });
    mkdirSync(join(home, ".gemini"));
    writeFileSync(join(home, ".gemini", "oauth_creds.json"), JSON.stringify({ access_token: `g-${marker}`, refresh_token: `gr-${marker}`, expiry_date: Date.now() + 3_600_000 }), { mode: 0o600 });
    mkdirSync(join(home, ".local", "share", "opencode"), { recursive: true });
    writeFileSync(join(home, ".local", "share", "opencode", "auth.json"), JSON.stringify({ anthropic: { type: "oauth", refresh: `o-${marker}`, access: `oa-${marker}`, expires: Date.now() + 3_600_000 } }), { mode: 0o600 });
    chownSync(state, 1000, 1000);

    const runtime = new DockerRuntime();
    cleanups.push(() => runtime.close());
    const name = `${login}-box`;
    cleanups.push(() => runtime.removeContainer(name));
    // The agent: the forged Claude login (another plan, later expiry), a symlinked Codex store, a
    // FIFO for Gemini and 1 MiB for opencode.
    const agent = [
      "set -e; cd /home/sandbox/.llm; mkdir -p claude gemini opencode",
      `printf '%s' '${credentials("pro", "forged", Date.now() + 7_200_000)}' > claude/.credentials.json`,
      "ln -s /etc codex",
      "mkfifo gemini/oauth_creds.json",
      "head -c 1048576 /dev/zero | tr '\\0' x > opencode/auth.json",
      "echo ready; exec sleep 600",
    ].join("\n");
    await runtime.createContainer({
      name,
      image: environment.image,
      user: "1000:1000",
      cmd: ["sh", "-c", agent],
      labels: { "dev.sbx.login": login },
      mounts: [{ type: "bind", source: state, target: "/home/sandbox/.llm" }],
    });
    await runtime.startContainer(name);
    for (let tries = 0; !(await runtime.logs(name)).includes("ready"); tries += 1) {
      if (tries > 100) throw new Error("the hostile agent did not start");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const log: string[] = [];
    const keeper = new CredentialKeeper({ login, runtime, stores: hostCredentialStores({ home, env: {}, platform: "linux" }), log: (line) => log.push(line) });
    for (let round = 0; round < 3; round += 1) expect(await keeper.syncOnce()).toBe(1);

    expect(readFileSync(join(home, ".claude", ".credentials.json"), "utf8")).toBe(hostLogin);
    const text = log.join("\n");
    expect(text).toContain("claude: refused the copy in");
    expect(text).toContain("its subscriptionType is not the host's");
    expect(text).toContain("codex: ignored the copy in");
    expect(text).toContain("a symlink");
    expect(text).toMatch(/gemini: ignored the copy in .*: not a regular file/);
    expect(text).toMatch(/opencode: ignored the copy in .*: larger than 64 KiB/);
    expect(text).not.toContain(marker);
    // The forged copy is another account's login: the keeper leaves it alone rather than overwrite it.
    expect(readFileSync(join(state, "claude", ".credentials.json"), "utf8")).toContain("forged");
  }, 120_000);
});
