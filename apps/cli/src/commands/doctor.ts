import { homedir } from "node:os";
import { probeProviders, realHostContext } from "@sbx/auth-probes";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { keeperReport } from "../keeper-status.js";
import { planImage, type ImagePlan } from "../sandbox-image.js";
import { sandboxIdentity, sandboxMismatch } from "../sandbox-identity.js";
import { runtimeEndpoint } from "./status.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export async function doctor(runtime: ContainerRuntime, options: { json?: boolean; baseImage?: string }): Promise<number> {
  const checks: Check[] = [];
  let dockerUp = false;
  try {
    await runtime.ping();
    dockerUp = true;
    checks.push({ name: "docker", ok: true, detail: `engine answers at ${runtimeEndpoint(runtime)}` });
  } catch (error) {
    checks.push({ name: "docker", ok: false, detail: (error as Error).message, fix: (error as { hint?: string }).hint ?? "Start Docker." });
  }

  const plan = planImage({ env: process.env, ...(options.baseImage ? { baseImage: options.baseImage } : {}) });
  if (dockerUp) {
    const image = await runtime.inspectImage(plan.tag);
    const base = image ? undefined : await runtime.inspectImage(plan.baseImage);
    checks.push(
      image
        ? { name: "image", ok: true, detail: `${plan.tag} is built and up to date` }
        : {
            name: "image",
            ok: true,
            detail: `${plan.tag} will be built by the next \`sbx up\` from ${plan.baseImage}${base ? " (present locally)" : " (to be pulled)"}`,
          },
    );
  }
  checks.push({
    name: "ca-certificates",
    ok: true,
    detail: plan.caCertificates.length ? `host CAs trusted inside: ${plan.caCertificates.join(", ")}` : "no extra host CAs found (none needed unless a proxy intercepts TLS)",
  });

  for (const login of await probeProviders(realHostContext({ home: homedir(), env: process.env }))) {
    if (login.status === "found") {
      const expiry = login.expiresAt ? ` · token expires ${new Date(login.expiresAt).toISOString()}` : "";
      checks.push({ name: `login:${login.provider}`, ok: true, detail: `${login.description} from ${login.source}${expiry}${login.notes.length ? ` (${login.notes.join("; ")})` : ""}` });
    } else if (login.status === "absent") {
      checks.push({ name: `login:${login.provider}`, ok: true, detail: `absent (looked in ${login.looked.join(", ")}); skipped` });
    } else {
      checks.push({
        name: `login:${login.provider}`,
        ok: false,
        detail: login.reason,
        fix: login.code === "SBX_AUTH_EXPIRED" ? `Log in again with the ${login.provider} CLI on the host.` : `Fix or remove ${login.source}, then log in again on the host.`,
      });
    }
  }

  checks.push(...(await agentChecks(plan, process.env)));

  if (dockerUp) {
    const identity = sandboxIdentity(process.cwd());
    const container = await runtime.inspectContainer(identity.containerName);
    const foreign = container && sandboxMismatch(container.name, container.labels, identity);
    checks.push(
      foreign
        ? { name: "sandbox", ok: false, detail: foreign.message, ...(foreign.hint ? { fix: foreign.hint } : {}) }
        : { name: "sandbox", ok: true, detail: container ? `${container.name} is ${container.state}` : `no sandbox for this project yet (\`sbx up\` starts one)` },
    );
    // The login keeper: its state, and restarted if it died while the sandbox runs.
    checks.push({ name: "login-keeper", ok: true, detail: keeperReport(identity.login, container?.state === "running").summary });
  }

  const healthy = checks.every((check) => check.ok);
  if (options.json) process.stdout.write(`${JSON.stringify({ healthy, checks }, null, 2)}\n`);
  else {
    for (const check of checks) {
      process.stdout.write(`${check.ok ? "ok  " : "FAIL"}  ${check.name.padEnd(16)} ${check.detail}\n`);
      if (check.fix) process.stdout.write(`      ${"".padEnd(16)} fix: ${check.fix}\n`);
    }
  }
  return healthy ? 0 : 1;
}

/** One row per agent the image carries: its pinned version and the host logins that reach it. */
async function agentChecks(plan: ImagePlan, env: Record<string, string | undefined>): Promise<Check[]> {
  const { AGENTS, agentLogins, pinnedVersion } = await import("../agents.js");
  const logins = await probeProviders(realHostContext({ home: homedir(), env }));
  const keys = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
  const dockerfile = plan.files.dockerfile.toString("utf8");
  return AGENTS.map((agent) => {
    const reaching = agentLogins(agent, logins, keys);
    const version = `${agent.npmPackage}@${pinnedVersion(agent, dockerfile, plan.buildArgs)} in the image`;
    return {
      name: `agent:${agent.name}`,
      ok: true,
      detail: reaching.length ? `${version} · reached by ${reaching.join(", ")}` : `${version} · no login on this host: \`sbx run ${agent.name}\` needs \`${agent.loginCommand}\` or ${agent.apiKeyEnv[0]}`,
    };
  });
}
