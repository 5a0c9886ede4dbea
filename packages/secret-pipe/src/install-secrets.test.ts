import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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
    const installed = installPipedSecrets([{ secret: "claude-credentials", destination: "~/.claude/.credentials.json" }], { home, secretsDir });
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
    installPipedSecrets([{ secret: "s", destination: "~/.netrc" }], { home, secretsDir });
    expect(readFileSync(elsewhere, "utf8")).toBe("untouched");
    expect(readFileSync(join(home, ".netrc"), "utf8")).toBe("secret");
  });

  it("keeps a login the agent refreshed in the sandbox when the host's copy is older", () => {
    const destination = join(home, ".claude/.credentials.json");
    const login = (expiresAt: number, token: string) => JSON.stringify({ claudeAiOauth: { accessToken: token, expiresAt } });
    const manifest = [{ secret: "c", destination: "~/.claude/.credentials.json", preferNewer: "claudeAiOauth.expiresAt" }];
    writeFileSync(join(secretsDir, "c"), login(2000, "refreshed-inside"));
    installPipedSecrets(manifest, { home, secretsDir });
    writeFileSync(join(secretsDir, "c"), login(1000, "older-host-copy"));
    expect(installPipedSecrets(manifest, { home, secretsDir })[0]?.outcome).toBe("kept-newer");
    expect(readFileSync(destination, "utf8")).toContain("refreshed-inside");
    expect(existsSync(join(secretsDir, "c"))).toBe(false);
    writeFileSync(join(secretsDir, "c"), login(3000, "newer-host-copy"));
    expect(installPipedSecrets(manifest, { home, secretsDir })[0]?.outcome).toBe("installed");
    expect(readFileSync(destination, "utf8")).toContain("newer-host-copy");
  });

  it("merges a piped JSON object over the agent's own state instead of replacing it", () => {
    const destination = join(home, ".claude/.claude.json");
    mkdirSync(join(home, ".claude"), { recursive: true });
    writeFileSync(destination, JSON.stringify({ numStartups: 7, projects: { "/workspace": { history: ["kept"] } } }));
    writeFileSync(join(secretsDir, "cfg"), JSON.stringify({ hasCompletedOnboarding: true, projects: { "/workspace": { hasTrustDialogAccepted: true } } }));
    installPipedSecrets([{ secret: "cfg", destination: "~/.claude/.claude.json", mergeJson: true }], { home, secretsDir });
    expect(JSON.parse(readFileSync(destination, "utf8"))).toEqual({
      numStartups: 7,
      hasCompletedOnboarding: true,
      projects: { "/workspace": { history: ["kept"], hasTrustDialogAccepted: true } },
    });
  });

  it("says which secret is missing without failing silently", () => {
    expect(() => installPipedSecrets([{ secret: "absent", destination: "~/x" }], { home, secretsDir })).toThrow(
      expect.objectContaining({ code: "SBX_SECRET_INSTALL_FAILED", message: expect.stringContaining('"absent"') }),
    );
  });
});

