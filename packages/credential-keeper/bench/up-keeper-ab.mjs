// `node packages/credential-keeper/bench/up-keeper-ab.mjs [runs]` (after `pnpm build`; SBX_BASE_IMAGE set).
// A/B: `sbx up --detach` (container absent, image cached) with the keeper on — killed before each
// run so every run pays the spawn — against SBX_KEEPER=off. Interleaved, same machine, same moment.
import { spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
const SBX = fileURLToPath(new URL("../../../apps/cli/bin/sbx", import.meta.url));
const project = mkdtempSync(join(tmpdir(), "sbx-kab-")); const home = mkdtempSync(join(tmpdir(), "sbx-kab-home-"));
execFileSync("git", ["init", "-q", project]);
mkdirSync(join(home, ".claude"));
writeFileSync(join(home, ".claude", ".credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-bench", refreshToken: "sk-ant-ort01-bench", expiresAt: Date.now() + 3600e3, subscriptionType: "pro" } }), { mode: 0o600 });
writeFileSync(join(home, ".claude.json"), "{}");
const login = `kab${process.pid}`;
const env = { ...process.env, HOME: home, SBX_LOGIN: login, SBX_BASE_IMAGE: process.env.SBX_BASE_IMAGE };
const run = (extra) => { const t = performance.now(); const r = spawnSync(SBX, ["up", "--detach", "--yes"], { cwd: project, env: { ...env, ...extra }, stdio: "ignore" }); if (r.status) throw new Error("up failed"); return performance.now() - t; };
const down = () => spawnSync(SBX, ["down"], { cwd: project, env, stdio: "ignore" });
const killKeeper = () => { try { process.kill(JSON.parse(readFileSync(join(home, ".local/state/sbx", `keeper-${login}.json`), "utf8")).pid, "SIGKILL"); } catch {} };
const on = [], off = [];
run({}); down();
for (let i = 0; i < Number(process.argv[2] ?? 8); i++) {
  killKeeper(); down(); on.push(run({}));
  down(); off.push(run({ SBX_KEEPER: "off" }));
}
down(); killKeeper();
spawnSync("docker", ["volume", "rm", "-f", `${login}-llm`], { stdio: "ignore" });
rmSync(project, { recursive: true, force: true }); rmSync(home, { recursive: true, force: true });
const med = (a) => { const s = [...a].sort((x, y) => x - y); return Math.round(s[Math.floor(s.length / 2)]); };
console.log(`up --detach, keeper on (spawned every run): median ${med(on)} ms  [${on.map(Math.round).join(" ")}]`);
console.log(`up --detach, SBX_KEEPER=off:                median ${med(off)} ms  [${off.map(Math.round).join(" ")}]`);
