import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { installPackedAlone } from "../../../test-support/install-packed.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "sbx-policy-pack-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed package", () => {
  it("installs alone from its tarball and scans text", () => {
    const app = installPackedAlone(packageDir, work, { requiredFiles: ["dist/index.js", "dist/config.js"] });
    writeFileSync(
      join(app, "scan.mjs"),
      [
        'import { createRefusePolicy } from "@sbx/boundary-policy";',
        'import { parseEnvFile } from "@sbx/boundary-policy/config";',
        'const token = "ghp_" + "R8q2Lx7mN4vB1cZ9kT3wY6pH0sD5fJ2gA8eU";',
        "const policy = createRefusePolicy();",
        "console.log(JSON.stringify({",
        '  redacted: policy.redact(`push with ${token} now`),',
        '  refused: policy.checkEnv(parseEnvFile(`GH_TOKEN=${token}\\nLANG=C`, "f")).refused.map((d) => d.name),',
        "}));",
      ].join("\n"),
    );
    const output = execFileSync("node", ["scan.mjs"], { cwd: app, encoding: "utf8" });
    expect(JSON.parse(output)).toEqual({ redacted: "push with [REDACTED:github-pat] now", refused: ["GH_TOKEN"] });
  }, 120_000);
});
