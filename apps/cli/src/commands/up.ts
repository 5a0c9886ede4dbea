import { DockerRuntime } from "@sbx/container-runtime";
import { attach } from "../attach.js";
import { ensureSandbox, planSandbox, redactedPlan } from "../sandbox.js";
import { ENTRYPOINT } from "../sandbox-identity.js";

export interface UpOptions {
  baseImage?: string;
  profile?: string;
  rebuild?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  /** A command to run attached once the sandbox is up (`bash -l` for `up`, the agent for `run`). */
  attach?: string[] | undefined;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function up(options: UpOptions): Promise<number> {
  const sandboxOptions = {
    cwd: process.cwd(),
    env: process.env,
    log,
    ...(options.baseImage ? { baseImage: options.baseImage } : {}),
    ...(options.rebuild ? { rebuild: true } : {}),
  };
  const plan = await planSandbox(sandboxOptions);
  if (options.dryRun) {
    process.stdout.write(`${JSON.stringify({ dryRun: true, ...(redactedPlan(plan) as object), attach: options.attach ?? null }, null, 2)}\n`);
    return 0;
  }
  const runtime = new DockerRuntime();
  try {
    const state = await ensureSandbox(runtime, plan, sandboxOptions);
    const logins = state.installed.length
      ? state.installed.map((item) => `${item.provider} → ${item.destination}${item.outcome === "kept-newer" ? " (kept the sandbox's newer copy)" : ""}`).join(", ")
      : "none found on this host (run `sbx doctor`)";
    log(`sbx: sandbox ${plan.spec.name} ${state.container_action} · image ${plan.image.tag} (${state.image}) · state volume ${plan.identity.volumeName}`);
    log(`sbx: logins piped: ${logins}`);
    if (!options.attach) return 0;
    return await attach(runtime, plan.spec.name, { cmd: [...ENTRYPOINT, "agent", ...options.attach] });
  } finally {
    runtime.close();
  }
}
