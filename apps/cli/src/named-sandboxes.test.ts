/**
 * Named sandboxes (issue 14): several sandboxes of one project, whose names never collide with
 * another project's — not by a name chosen to match, not by a project directory named to match.
 * Against the in-memory engine; named-sandboxes.docker.test.ts runs the parallel cases for real.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryRuntime } from "@sbx/container-runtime";
import { describe, expect, it } from "vitest";
import { sandboxContainerName } from "./library.js";
import { ensureContainer } from "./sandbox.js";
import { LABELS, sandboxIdentity, type SandboxIdentity } from "./sandbox-identity.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "sbx-named-")));
const hash8 = (path: string) => createHash("sha256").update(path).digest("hex").slice(0, 8);
const IMAGE = "sbx-sandbox:test";
const quiet = () => {};

/** Two projects arranged so that A's sandbox named after B's hash is spelled as B's default. */
function collidingProjects(): { a: string; b: string; name: string } {
  const a = join(root, "one", "app");
  // B's directory is named "<A's slug>-<A's hash>": B's default name then starts as A's named ones.
  const b = join(root, "two", `app-${hash8(a)}`);
  for (const dir of [a, b]) mkdirSync(join(dir, ".git"), { recursive: true });
  return { a, b, name: hash8(b) };
}

function planFor(identity: SandboxIdentity) {
  return {
    identity,
    image: { inputsHash: "inputs-1" },
    network: { tier: "full" },
    spec: {
      name: identity.containerName,
      image: IMAGE,
      user: "1000:1000",
      cmd: ["idle"],
      labels: {
        [LABELS.managed]: "true",
        [LABELS.project]: identity.projectDir,
        [LABELS.login]: identity.login,
        [LABELS.owner]: identity.owner,
        [LABELS.imageInputs]: "inputs-1",
        [LABELS.bounds]: "b",
      },
      mounts: [],
    },
  } as unknown as Parameters<typeof ensureContainer>[1];
}

describe("named sandboxes never take another project's name", () => {
  it("a name chosen to match cannot spell another project's default sandbox", () => {
    const { a, b, name } = collidingProjects();
    expect(sandboxContainerName(sandboxIdentity(a, {}), name)).not.toBe(sandboxIdentity(b, {}).containerName);
  });

  it("nor another project's named sandbox, however the names and directories are split", () => {
    // A "x-<hash>" named "n" against A named "<hash>-n": the old `<project>-<name>` joined both the same.
    const a = join(root, "three", "x");
    const b = join(root, "four", `x-${hash8(a)}`);
    for (const dir of [a, b]) mkdirSync(join(dir, ".git"), { recursive: true });
    const names = new Set([sandboxContainerName(sandboxIdentity(a, {}), `${hash8(b)}-n`), sandboxContainerName(sandboxIdentity(b, {}), "n")]);
    expect(names.size).toBe(2);
  });

  it("refuses to reuse a container under this project's name that another project made (SBX_SANDBOX_OTHER_PROJECT)", async () => {
    const { a, b } = collidingProjects();
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const victim = sandboxIdentity(b, {});
    // What an older sbx made for project A under a name that is B's default (labels say A).
    const foreign = planFor({ ...sandboxIdentity(a, {}), containerName: victim.containerName });
    await ensureContainer(runtime, foreign, undefined, quiet);
    const plan = planFor(victim);
    await expect(ensureContainer(runtime, plan, await runtime.inspectContainer(victim.containerName), quiet)).rejects.toMatchObject({ code: "SBX_SANDBOX_OTHER_PROJECT" });
    expect((await runtime.inspectContainer(victim.containerName))?.labels[LABELS.project]).toBe(a);
  });
});
