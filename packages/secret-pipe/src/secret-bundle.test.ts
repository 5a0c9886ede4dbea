import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerRuntime, ExecOptions, ExecResult } from "@sbx/container-runtime";
import { beforeEach, describe, expect, it } from "vitest";
import { pipeSecretBundle, receiveSecretBundle } from "./secret-bundle.js";

/** A sandbox whose `install` exec runs the real receiving half in this process, on temp dirs. */
function sandboxDouble(dirs: { home: string; secretsDir: string; within: string[] }, tamper?: (stdin: Buffer) => Buffer) {
  const calls: ExecOptions[] = [];
  const runtime = {
    async exec(_container: string, options: ExecOptions): Promise<ExecResult> {
      calls.push(options);
      const stdin = tamper ? tamper(options.stdin as Buffer) : (options.stdin as Buffer);
      try {
        const report = receiveSecretBundle(stdin, dirs);
        return { exitCode: 0, stdout: Buffer.from(JSON.stringify(report)), stderr: Buffer.alloc(0) };
      } catch (error) {
        return { exitCode: 1, stdout: Buffer.alloc(0), stderr: Buffer.from(`sbx-entrypoint: ${(error as Error).message}\n`) };
      }
    },
  } as unknown as ContainerRuntime;
  return { runtime, calls };
}

describe("pipeSecretBundle", () => {
  let dirs: { home: string; secretsDir: string; within: string[] };
  beforeEach(() => {
    const root = mkdtempSync(join(tmpdir(), "sbx-bundle-"));
    dirs = { home: join(root, "home"), secretsDir: join(root, "run-secrets"), within: [join(root, "home")] };
    mkdirSync(dirs.home);
    mkdirSync(dirs.secretsDir);
  });

  it("installs every secret in one exec, mode 0600, and leaves the tmpfs empty", async () => {
    const { runtime, calls } = sandboxDouble(dirs);
    const report = await pipeSecretBundle(
      runtime,
      "sandbox",
      [
        { secret: "claude-credentials", destination: "~/.claude/.credentials.json", content: '{"token":"CANARY-1"}' },
        { secret: "agent-env", destination: "~/.sbx/agent-env.json", content: "{}" },
      ],
      { installCommand: ["install"] },
    );
    expect(calls).toHaveLength(1);
    expect(report.map((entry) => [entry.secret, entry.bytes, entry.outcome])).toEqual([
      ["claude-credentials", 20, "installed"],
      ["agent-env", 2, "installed"],
    ]);
    expect(readFileSync(join(dirs.home, ".claude/.credentials.json"), "utf8")).toBe('{"token":"CANARY-1"}');
    expect(statSync(join(dirs.home, ".claude/.credentials.json")).mode & 0o777).toBe(0o600);
    expect(readdirSync(dirs.secretsDir)).toEqual([]);
  });

  it("hands what the install command prints after its report's line to onTrailer, byte for byte", async () => {
    const trailer = Buffer.from("12\t1700000000.5\tclaude/projects/a b.jsonl\0\n7\t1.0\tx\0");
    const { runtime } = sandboxDouble(dirs);
    const withTrailer = {
      async exec(container: string, options: ExecOptions): Promise<ExecResult> {
        const result = await runtime.exec(container, options);
        return { ...result, stdout: Buffer.concat([result.stdout, Buffer.from("\n"), trailer]) };
      },
    } as unknown as ContainerRuntime;
    let received: Buffer | undefined;
    const report = await pipeSecretBundle(withTrailer, "sandbox", [{ secret: "s", destination: "~/s", content: "x" }], {
      installCommand: ["install"],
      onTrailer: (rest) => (received = rest),
    });
    expect(report.map((entry) => entry.secret)).toEqual(["s"]);
    expect(received?.equals(trailer)).toBe(true);
  });

  it("reads no more of the sandbox's answer than an install report needs (SBX_EXEC_OUTPUT_TOO_LARGE)", async () => {
    // An engine that keeps to maxOutputBytes as the contract suite checks, and a sandbox that floods.
    const flooding = {
      async exec(_container: string, options: ExecOptions): Promise<ExecResult> {
        const printed = 2 * 1024 * 1024;
        if (options.maxOutputBytes !== undefined && printed > options.maxOutputBytes) {
          throw Object.assign(new Error(`printed more than ${options.maxOutputBytes} bytes`), { code: "SBX_EXEC_OUTPUT_TOO_LARGE" });
        }
        return { exitCode: 0, stdout: Buffer.alloc(printed, 0x5b), stderr: Buffer.alloc(0) };
      },
    } as unknown as ContainerRuntime;
    const error = await pipeSecretBundle(flooding, "sandbox", [{ secret: "s", destination: "~/s", content: "x" }], { installCommand: ["install"] }).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe("SBX_EXEC_OUTPUT_TOO_LARGE");
  });

  it("refuses a report the sandbox garbled with SBX_SECRET_PIPE_FAILED, not a parse error", async () => {
    for (const stdout of ["not json", '{"secret":"s"}', ""]) {
      const garbling = {
        async exec(): Promise<ExecResult> {
          return { exitCode: 0, stdout: Buffer.from(stdout), stderr: Buffer.alloc(0) };
        },
      } as unknown as ContainerRuntime;
      const error = await pipeSecretBundle(garbling, "sandbox", [{ secret: "s", destination: "~/s", content: "CANARY-garble" }], { installCommand: ["install"] }).catch((caught: unknown) => caught);
      expect((error as { code?: string }).code).toBe("SBX_SECRET_PIPE_FAILED");
      expect(String((error as Error).message)).not.toContain("CANARY");
    }
  });

  it("keeps secrets out of the exec's argv and environment", async () => {
    const { runtime, calls } = sandboxDouble(dirs);
    await pipeSecretBundle(runtime, "sandbox", [{ secret: "s", destination: "~/s", content: "CANARY-argv" }], { installCommand: ["install"] });
    expect(JSON.stringify(calls[0]?.cmd)).not.toContain("CANARY");
    expect(JSON.stringify(calls[0]?.env ?? {})).not.toContain("CANARY");
  });

  it("installs nothing when a secret arrives truncated, and says which", async () => {
    const { runtime } = sandboxDouble(dirs, (stdin) => stdin.subarray(0, stdin.length - 3));
    const failure = await pipeSecretBundle(runtime, "sandbox", [{ secret: "token", destination: "~/token", content: "CANARY-0123456789" }], {
      installCommand: ["install"],
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "SBX_SECRET_INSTALL_FAILED" });
    expect((failure as { hint: string }).hint).toContain('The secret "token" arrived incomplete (14 of 17 bytes)');
    expect(existsSync(join(dirs.home, "token"))).toBe(false);
    expect(readdirSync(dirs.secretsDir)).toEqual([]);
  });

  it("installs nothing when a secret's bytes were altered in flight", async () => {
    const { runtime } = sandboxDouble(dirs, (stdin) => Buffer.from(stdin.toString("latin1").replace("CANARY-a", "CANARY-b"), "latin1"));
    await expect(
      pipeSecretBundle(runtime, "sandbox", [{ secret: "token", destination: "~/token", content: "CANARY-abc" }], { installCommand: ["install"] }),
    ).rejects.toMatchObject({ code: "SBX_SECRET_INSTALL_FAILED" });
    expect(existsSync(join(dirs.home, "token"))).toBe(false);
  });

  it("refuses a secret name that could leave /run/secrets before sending anything", async () => {
    const { runtime, calls } = sandboxDouble(dirs);
    await expect(pipeSecretBundle(runtime, "sandbox", [{ secret: "../x", destination: "~/x", content: "x" }], { installCommand: ["install"] })).rejects.toMatchObject({
      code: "SBX_SECRET_NAME_INVALID",
    });
    expect(calls).toHaveLength(0);
  });

  it("hole 8: never writes a secret through a link the agent planted in /run/secrets", async () => {
    const outside = join(dirs.home, "..", "outside.json");
    writeFileSync(outside, "untouched");
    symlinkSync(outside, join(dirs.secretsDir, "token"));
    const { runtime } = sandboxDouble(dirs);
    await pipeSecretBundle(runtime, "sandbox", [{ secret: "token", destination: "~/token", content: "CANARY-link" }], { installCommand: ["install"] });
    expect(readFileSync(outside, "utf8")).toBe("untouched");
    expect(readFileSync(join(dirs.home, "token"), "utf8")).toBe("CANARY-link");
  });
});
