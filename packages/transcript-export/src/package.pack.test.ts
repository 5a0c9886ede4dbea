import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { installPackedAlone } from "../../../test-support/install-packed.js";
import { FIXTURE_DIR } from "./test-support/fixtures.js";

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "sbx-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the published package", () => {
  it("installs alone from its tarball and exports a directory of sessions", () => {
    const app = installPackedAlone(PACKAGE_DIR, work, { requiredFiles: ["dist/index.js"] });
    const installed = readdirSync(join(app, "node_modules", "@sbx"));
    // Only the shared error shape and the atomic write come along: no CLI, runtime or policy package.
    expect(installed).toEqual(["atomic-file", "errors", "transcript-export"]);

    const inbox = join(work, "inbox");
    writeFileSync(
      join(app, "run.mjs"),
      `import { exportSessions } from "@sbx/transcript-export";
const result = await exportSessions({ source: ${JSON.stringify(FIXTURE_DIR)}, inbox: ${JSON.stringify(inbox)} });
console.log(JSON.stringify({ written: result.written, malformed: result.malformedLines.length, notes: result.notes }));`,
    );
    const output = JSON.parse(execFileSync("node", ["run.mjs"], { cwd: app, encoding: "utf8" })) as { written: number; malformed: number; notes: string[] };
    const sessions = readdirSync(FIXTURE_DIR).filter((name) => name.endsWith(".jsonl")).length;
    expect(output.written).toBe(sessions);
    expect(output.malformed).toBeGreaterThan(0);
    for (const note of output.notes) expect(readFileSync(note, "utf8")).toMatch(/^---\nsession_id|^---\ntitle/);
    expect(existsSync(join(inbox, "conversations", ".sbx-export-state.json"))).toBe(true);
  }, 180_000);
});
