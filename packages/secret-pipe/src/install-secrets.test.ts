import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { installPipedSecrets } from "./install-secrets.js";

describe("installPipedSecrets", () => {
  let secretsDir: string;
  let home: string;
  beforeEach(() => {
    const root = mkdtempSync(join(tmpdir(), "sbx-install-"));
    secretsDir = join(root, "run-secrets");
    home = join(root, "home");
    mkdirSync(secretsDir);
    mkdirSync(home);
  });

  it("moves the secret to its destination with mode 0600 and removes the tmpfs copy", () => {
    writeFileSync(join(secretsDir, "claude-credentials"), '{"claudeAiOauth":{"accessToken":"CANARY"}}');
    const installed = installPipedSecrets([{ secret: "claude-credentials", destination: "~/.claude/.credentials.json" }], { home, secretsDir, within: [home] });
    const destination = join(home, ".claude/.credentials.json");
    expect(installed).toEqual([{ secret: "claude-credentials", destination, bytes: 42, mode: 0o600, outcome: "installed" }]);
    expect(readFileSync(destination, "utf8")).toContain("CANARY");
    expect(statSync(destination).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, ".claude")).mode & 0o777).toBe(0o700);
    expect(existsSync(join(secretsDir, "claude-credentials"))).toBe(false);
  });

  it("replaces a symlink at the destination instead of writing through it", () => {
    const elsewhere = join(home, "elsewhere.txt");
    writeFileSync(elsewhere, "untouched");
    symlinkSync(elsewhere, join(home, ".netrc"));
    writeFileSync(join(secretsDir, "s"), "secret");
    installPipedSecrets([{ secret: "s", destination: "~/.netrc" }], { home, secretsDir, within: [home] });
    expect(readFileSync(elsewhere, "utf8")).toBe("untouched");
    expect(readFileSync(join(home, ".netrc"), "utf8")).toBe("secret");
  });

  it("keeps a login the agent refreshed in the sandbox when the host's copy is older", () => {
    const destination = join(home, ".claude/.credentials.json");
    const login = (expiresAt: number, token: string) => JSON.stringify({ claudeAiOauth: { accessToken: token, expiresAt } });
    const manifest = [{ secret: "c", destination: "~/.claude/.credentials.json", preferNewer: "claudeAiOauth.expiresAt" }];
    writeFileSync(join(secretsDir, "c"), login(2000, "refreshed-inside"));
    installPipedSecrets(manifest, { home, secretsDir, within: [home] });
    writeFileSync(join(secretsDir, "c"), login(1000, "older-host-copy"));
    expect(installPipedSecrets(manifest, { home, secretsDir, within: [home] })[0]?.outcome).toBe("kept-newer");
    expect(readFileSync(destination, "utf8")).toContain("refreshed-inside");
    expect(existsSync(join(secretsDir, "c"))).toBe(false);
    writeFileSync(join(secretsDir, "c"), login(3000, "newer-host-copy"));
    expect(installPipedSecrets(manifest, { home, secretsDir, within: [home] })[0]?.outcome).toBe("installed");
    expect(readFileSync(destination, "utf8")).toContain("newer-host-copy");
  });

  it("merges a piped JSON object over the agent's own state instead of replacing it", () => {
    const destination = join(home, ".claude/.claude.json");
    mkdirSync(join(home, ".claude"), { recursive: true });
    writeFileSync(destination, JSON.stringify({ numStartups: 7, projects: { "/workspace": { history: ["kept"] } } }));
    writeFileSync(join(secretsDir, "cfg"), JSON.stringify({ hasCompletedOnboarding: true, projects: { "/workspace": { hasTrustDialogAccepted: true } } }));
    installPipedSecrets([{ secret: "cfg", destination: "~/.claude/.claude.json", mergeJson: true }], { home, secretsDir, within: [home] });
    expect(JSON.parse(readFileSync(destination, "utf8"))).toEqual({
      numStartups: 7,
      hasCompletedOnboarding: true,
      projects: { "/workspace": { history: ["kept"], hasTrustDialogAccepted: true } },
    });
  });

  it("says which secret is missing without failing silently", () => {
    expect(() => installPipedSecrets([{ secret: "absent", destination: "~/x" }], { home, secretsDir, within: [home] })).toThrow(
      expect.objectContaining({ code: "SBX_SECRET_INSTALL_FAILED", message: expect.stringContaining('"absent"') }),
    );
  });

  it("hole 8: refuses to install a login through a symlinked ~/.claude, writes nothing there and shreds every piped copy", () => {
    // The sandbox's own layout: ~/.claude → ~/.llm/claude. The agent re-points it at the workspace.
    const state = join(home, ".llm");
    const leak = join(home, "..", "workspace", "leak");
    mkdirSync(join(state, "claude"), { recursive: true });
    mkdirSync(leak, { recursive: true });
    symlinkSync(leak, join(home, ".claude"));
    writeFileSync(join(secretsDir, "codex-auth"), '{"tokens":"CANARY-codex"}');
    writeFileSync(join(secretsDir, "claude-credentials"), '{"claudeAiOauth":"CANARY-claude"}');
    const install = () =>
      installPipedSecrets(
        [
          { secret: "codex-auth", destination: "~/.llm/codex/auth.json" },
          { secret: "claude-credentials", destination: "~/.claude/.credentials.json" },
        ],
        { home, secretsDir, within: [state] },
      );
    expect(install).toThrow(expect.objectContaining({ code: "SBX_SECRET_DESTINATION_REFUSED", message: expect.stringContaining("~/.claude/.credentials.json") }));
    expect(readdirSync(leak)).toEqual([]);
    // All or nothing: the destination that was fine got nothing either, and the tmpfs is empty.
    expect(existsSync(join(state, "codex/auth.json"))).toBe(false);
    expect(readdirSync(secretsDir)).toEqual([]);
  });

  it("hole 8: refuses a destination whose deeper directory is a link out of the state directory", () => {
    const state = join(home, ".llm");
    const outside = join(home, "..", "outside");
    mkdirSync(join(state, "claude"), { recursive: true });
    mkdirSync(outside);
    symlinkSync(join(state, "claude"), join(home, ".claude"));
    symlinkSync(outside, join(state, "claude", "sub"));
    writeFileSync(join(secretsDir, "s"), "CANARY");
    expect(() => installPipedSecrets([{ secret: "s", destination: "~/.claude/sub/x.json" }], { home, secretsDir, within: [state] })).toThrow(
      expect.objectContaining({ code: "SBX_SECRET_DESTINATION_REFUSED" }),
    );
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(secretsDir)).toEqual([]);
  });

  it("hole 8: installs through the sandbox's own links into whichever allowed directory they resolve in", () => {
    const state = join(home, ".llm");
    const runtime = join(home, "..", "run-sbx");
    mkdirSync(join(state, "claude"), { recursive: true });
    mkdirSync(runtime);
    symlinkSync(join(state, "claude"), join(home, ".claude"));
    writeFileSync(join(secretsDir, "c"), "CANARY-c");
    writeFileSync(join(secretsDir, "e"), "{}");
    installPipedSecrets(
      [
        { secret: "c", destination: "~/.claude/.credentials.json" },
        { secret: "e", destination: join(runtime, "agent-env.json") },
      ],
      { home, secretsDir, within: [state, runtime] },
    );
    expect(readFileSync(join(state, "claude/.credentials.json"), "utf8")).toBe("CANARY-c");
    expect(readFileSync(join(runtime, "agent-env.json"), "utf8")).toBe("{}");
  });

  it("hole 12: a failure half-way leaves none of the remaining piped secrets on the tmpfs", () => {
    writeFileSync(join(secretsDir, "first"), "CANARY-1");
    writeFileSync(join(secretsDir, "second"), "CANARY-2");
    writeFileSync(join(secretsDir, "third"), "CANARY-3");
    // The second destination's parent is a file: its write fails after the first was installed.
    writeFileSync(join(home, "blocker"), "");
    expect(() =>
      installPipedSecrets(
        [
          { secret: "first", destination: "~/first" },
          { secret: "second", destination: "~/blocker/second" },
          { secret: "third", destination: "~/third" },
        ],
        { home, secretsDir, within: [home] },
      ),
    ).toThrow();
    expect(readdirSync(secretsDir)).toEqual([]);
    expect(existsSync(join(home, "third"))).toBe(false);
  });

  it("hole 6: a directory the agent made where a login file belongs is moved aside, and the login installed", () => {
    mkdirSync(join(home, ".claude/.credentials.json/inside"), { recursive: true });
    writeFileSync(join(secretsDir, "c"), "CANARY-c");
    installPipedSecrets([{ secret: "c", destination: "~/.claude/.credentials.json" }], { home, secretsDir, within: [home] });
    expect(readFileSync(join(home, ".claude/.credentials.json"), "utf8")).toBe("CANARY-c");
    expect(readdirSync(join(home, ".claude")).filter((name) => name.startsWith(".credentials.json.in-the-way-"))).toHaveLength(1);
  });
});
