import { availableParallelism, totalmem } from "node:os";
import { CliError } from "./cli-error.js";

/** The `resources` key of the user's sbx config (`ResolvedPolicyConfig.resources`). */
export interface ResourceConfig {
  /** Memory limit, docker-style: `4g`, `512m`. */
  memory?: string;
  /** CPUs the sandbox may use, e.g. `2` or `1.5`. */
  cpus?: number;
  /** Most processes (and threads) at once. */
  pids?: number;
  /** Size at which the container log rotates, docker-style (`10m`); 3 files are kept. */
  logMaxSize?: string;
  /** Not a bound: read by whoever owns the read-only root filesystem. */
  readOnlyRoot?: boolean;
}

/** The bounds the sandbox runs under, each with where it came from. */
export interface SandboxResources {
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
  logMaxSize: string;
  logMaxFiles: number;
  /** Which of them the user's config set (the rest are defaults). */
  fromConfig: Array<"memory" | "cpus" | "pids" | "logMaxSize">;
}

const GiB = 1024 ** 3;
/** Docker's own floor for a memory limit. */
const MIN_MEMORY = 6 * 1024 ** 2;
const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: GiB, t: 1024 ** 4 };

/**
 * The defaults, chosen to stop a runaway agent (a fork bomb, a leak, a log flood) from taking the
 * machine, not to pinch a working one: memory half the host's, at most 8 GiB; every CPU (the
 * limit matters on a bigger remote engine, which then gives a sandbox no more than this host
 * has); 1024 processes; the container log rotated at 10 MiB, 3 files kept (30 MiB at most).
 * "The host" is the machine sbx runs on, also when DOCKER_HOST points elsewhere.
 */
export function defaultResources(host: { totalMemoryBytes: number; cpus: number } = { totalMemoryBytes: totalmem(), cpus: availableParallelism() }): Omit<SandboxResources, "fromConfig"> {
  return {
    memoryBytes: Math.max(MIN_MEMORY, Math.min(8 * GiB, Math.floor(host.totalMemoryBytes / 2))),
    nanoCpus: Math.max(1, host.cpus) * 1e9,
    pids: 1024,
    logMaxSize: "10m",
    logMaxFiles: 3,
  };
}

/** The config's `resources` over the defaults; a value that is not a bound is an error naming it. */
export function resolveResources(config: ResourceConfig, configFile: string | undefined, defaults = defaultResources()): SandboxResources {
  const where = configFile ?? "your sbx config";
  const invalid = (key: string, value: unknown, want: string) =>
    new CliError("SBX_RESOURCES_INVALID", `resources.${key} = ${JSON.stringify(value)} in ${where} is not ${want}.`, {
      hint: `Use e.g. {"resources": {"memory": "4g", "cpus": 2, "pids": 1024, "logMaxSize": "10m"}}, or drop the key for the default.`,
      exitCode: 2,
    });
  const resources: SandboxResources = { ...defaults, fromConfig: [] };
  if (config.memory !== undefined) {
    const bytes = typeof config.memory === "string" ? parseSize(config.memory) : undefined;
    if (bytes === undefined || bytes < MIN_MEMORY) throw invalid("memory", config.memory, "a memory size of at least 6m (like 4g or 512m)");
    resources.memoryBytes = bytes;
    resources.fromConfig.push("memory");
  }
  if (config.cpus !== undefined) {
    if (typeof config.cpus !== "number" || !Number.isFinite(config.cpus) || config.cpus < 0.01) throw invalid("cpus", config.cpus, "a number of CPUs of at least 0.01");
    resources.nanoCpus = Math.round(config.cpus * 1e9);
    resources.fromConfig.push("cpus");
  }
  if (config.pids !== undefined) {
    if (typeof config.pids !== "number" || !Number.isInteger(config.pids) || config.pids < 16) throw invalid("pids", config.pids, "a whole number of processes of at least 16");
    resources.pids = config.pids;
    resources.fromConfig.push("pids");
  }
  if (config.logMaxSize !== undefined) {
    if (typeof config.logMaxSize !== "string" || !/^[1-9]\d*[kmg]$/.test(config.logMaxSize)) throw invalid("logMaxSize", config.logMaxSize, "a log size like 10m (k, m or g)");
    resources.logMaxSize = config.logMaxSize;
    resources.fromConfig.push("logMaxSize");
  }
  return resources;
}

function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * (UNITS[(match[2] ?? "").toLowerCase()] ?? 1));
}

/** The bounds as the audit prints them: `memory 8 GiB, 2 CPUs, 1024 processes, logs 10m × 3`. */
export function describeResources(resources: SandboxResources): string {
  const mark = (key: SandboxResources["fromConfig"][number]) => (resources.fromConfig.includes(key) ? " (your config)" : "");
  const memory = resources.memoryBytes >= GiB ? `${+(resources.memoryBytes / GiB).toFixed(2)} GiB` : `${Math.round(resources.memoryBytes / 1024 ** 2)} MiB`;
  const cpus = resources.nanoCpus / 1e9;
  return [
    `memory ${memory}${mark("memory")}`,
    `${cpus} CPU${cpus === 1 ? "" : "s"}${mark("cpus")}`,
    `${resources.pids} processes${mark("pids")}`,
    `logs ${resources.logMaxSize} × ${resources.logMaxFiles}${mark("logMaxSize")}`,
  ].join(", ");
}
