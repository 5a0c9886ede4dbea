/**
 * The detached keeper process: `node keeper-main.js --login <login> --state-dir <dir> [--period-ms N]
 * [--skew-ms N] [--list-every-ms N] [--grace-ms N]`. Its arguments are names and numbers only; the
 * logins it keeps are read from the host's stores and the sandboxes, never passed to it.
 */
import { homedir } from "node:os";
import { parseArgs } from "node:util";
import { hostCredentialStores } from "@sbx/auth-probes";
import { DockerRuntime } from "@sbx/container-runtime";
import { runKeeper } from "./keeper-process.js";

const { values } = parseArgs({
  options: {
    login: { type: "string" },
    "state-dir": { type: "string" },
    "period-ms": { type: "string" },
    "skew-ms": { type: "string" },
    "list-every-ms": { type: "string" },
    "grace-ms": { type: "string" },
  },
});
const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
if (!values.login || !values["state-dir"]) {
  process.stderr.write("sbx-keeper: --login and --state-dir are required\n");
  process.exit(64);
}

const runtime = new DockerRuntime();
const controller = new AbortController();
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => controller.abort());
const optional = <T>(key: string, value: T | undefined) => (value === undefined || Number.isNaN(value) ? {} : { [key]: value });
try {
  await runKeeper({
    login: values.login,
    stateDir: values["state-dir"],
    runtime,
    stores: hostCredentialStores({ home: homedir(), env: process.env }),
    signal: controller.signal,
    debug: Boolean(process.env.SBX_KEEPER_DEBUG),
    ...optional("periodMs", number(values["period-ms"] ?? process.env.SBX_KEEPER_PERIOD_MS)),
    ...optional("skewMs", number(values["skew-ms"] ?? process.env.SBX_KEEPER_SKEW_MS)),
    ...optional("listEveryMs", number(values["list-every-ms"])),
    ...optional("graceMs", number(values["grace-ms"])),
  });
} finally {
  runtime.close();
}
