import { createHash, randomBytes } from "node:crypto";
import { MemoryRuntime, type ContainerRuntime, type ExecOptions, type ExecResult } from "@sbx/container-runtime";
import { beforeEach, describe, expect, it } from "vitest";
import { pipeSecret } from "./pipe-secret.js";

async function runningSandbox(): Promise<MemoryRuntime> {
  const runtime = new MemoryRuntime({ images: ["sandbox:test"] });
  await runtime.createContainer({
    name: "sandbox",
    image: "sandbox:test",
    user: "1000:1000",
    cmd: ["sleep", "infinity"],
    mounts: [{ type: "tmpfs", target: "/run/secrets", mode: 0o700, uid: 1000, gid: 1000 }],
  });
  await runtime.startContainer("sandbox");
  return runtime;
}

describe("pipeSecret", () => {
  let runtime: MemoryRuntime;
  beforeEach(async () => {
    runtime = await runningSandbox();
  });

  it("delivers the bytes through exec stdin, with mode 0600, and reports their hash", async () => {
    const secret = randomBytes(4096);
    const piped = await pipeSecret(runtime, "sandbox", { name: "claude-credentials", content: secret });
    expect(piped).toEqual({ name: "claude-credentials", path: "/run/secrets/claude-credentials", bytes: 4096, sha256: createHash("sha256").update(secret).digest("hex") });
    const back = await runtime.exec("sandbox", { cmd: ["cat", "/run/secrets/claude-credentials"] });
    expect(Buffer.compare(back.stdout, secret)).toBe(0);
    expect((await runtime.exec("sandbox", { cmd: ["stat", "-c", "%a", "/run/secrets/claude-credentials"] })).stdout.toString().trim()).toBe("600");
  });

  it("never puts the secret in the exec's argv or environment", async () => {
    const seen: ExecOptions[] = [];
    const spy: ContainerRuntime = Object.assign(Object.create(runtime) as MemoryRuntime, {
      exec: (name: string, options: ExecOptions): Promise<ExecResult> => {
        seen.push(options);
        return runtime.exec(name, options);
      },
    });
    await pipeSecret(spy, "sandbox", { name: "token", content: "CANARY-pipe-secret-value" });
    for (const options of seen) {
      expect(JSON.stringify(options.cmd)).not.toContain("CANARY");
      expect(JSON.stringify(options.env ?? {})).not.toContain("CANARY");
    }
  });

  it("fails, removes the partial file, and never echoes the secret when bytes go missing", async () => {
    const lossy: ContainerRuntime = Object.assign(Object.create(runtime) as MemoryRuntime, {
      exec: (name: string, options: ExecOptions) =>
        runtime.exec(name, { ...options, ...(options.stdin instanceof Uint8Array ? { stdin: options.stdin.subarray(0, 5) } : {}) }),
    });
    const failure = await pipeSecret(lossy, "sandbox", { name: "token", content: "CANARY-0123456789" }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "SBX_SECRET_PIPE_FAILED", message: 'The secret "token" arrived incomplete (5 of 17 bytes).' });
    expect(JSON.stringify(failure)).not.toContain("CANARY");
    expect((await runtime.exec("sandbox", { cmd: ["cat", "/run/secrets/token"] })).exitCode).not.toBe(0);
  });

  it("refuses a secret name that could escape /run/secrets or inject shell", async () => {
    for (const name of ["../etc/passwd", "a; rm -rf /", "Upper", ""]) {
      await expect(pipeSecret(runtime, "sandbox", { name, content: "x" })).rejects.toMatchObject({ code: "SBX_SECRET_NAME_INVALID" });
    }
  });

  it("reports a stopped sandbox with a stable code", async () => {
    await runtime.removeContainer("sandbox");
    await expect(pipeSecret(runtime, "sandbox", { name: "token", content: "x" })).rejects.toMatchObject({ code: "SBX_SECRET_PIPE_FAILED" });
  });
});
