/**
 * The other Docker-API engines the engine tests run against, each started by the test on this
 * machine: Podman's API socket (started by scripts/ensure-podman.sh), a remote engine over
 * `ssh://` (an sshd of the test's own on 127.0.0.1) and one over `tcp://` with TLS (a proxy of
 * the test's own that requires a client certificate). Without what an engine needs they are
 * skipped with the reason — except in CI (SBX_REQUIRE_DOCKER=1 or CI=true), where they must run.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { DockerRuntime } from "../docker-driver.js";

export type EngineEnvironment =
  | { available: true; env: Record<string, string>; image: string; stop: () => Promise<void> }
  | { available: false; reason: string };

export type EngineName = "podman" | "ssh" | "tls";

const DEFAULT_PODMAN_HOST = "unix:///run/sbx-podman/podman.sock";

/** Starts (or finds) the engine; a missing prerequisite is a skip with a reason, in CI a failure. */
export async function engineEnvironment(name: EngineName, image: string | undefined): Promise<EngineEnvironment> {
  let environment: EngineEnvironment;
  if (!image) environment = { available: false, reason: "no test base image (SBX_TEST_BASE_IMAGE)" };
  else if (name === "podman") environment = await podmanEngine(image);
  else if (name === "ssh") environment = await sshEngine(image);
  else environment = await tlsEngine(image);
  if (!environment.available && (process.env.SBX_REQUIRE_DOCKER === "1" || process.env.CI === "true")) {
    throw new Error(`the ${name} engine tests must run in CI but cannot: ${environment.reason}`);
  }
  return environment;
}

async function answers(env: Record<string, string>): Promise<string | undefined> {
  const runtime = new DockerRuntime({ env });
  try {
    await runtime.ping();
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    return `${(error as Error).message}${cause ? ` (${cause.message})` : ""}`;
  } finally {
    runtime.close();
  }
}

async function podmanEngine(image: string): Promise<EngineEnvironment> {
  const env = { DOCKER_HOST: process.env.SBX_TEST_PODMAN_HOST ?? DEFAULT_PODMAN_HOST };
  const failure = await answers(env);
  if (failure) return { available: false, reason: `Podman's API does not answer: run scripts/ensure-podman.sh (${failure})` };
  const runtime = new DockerRuntime({ env });
  try {
    if (!(await runtime.inspectImage(image))) {
      return { available: false, reason: `${image} is not in Podman's storage: run scripts/ensure-podman.sh ${image}` };
    }
  } finally {
    runtime.close();
  }
  return { available: true, env, image, stop: async () => {} };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`sshd exited ${child.exitCode}: ${log()}`));
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd never listened on ${port}: ${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * An sshd of the test's own: a temp sshd_config on 127.0.0.1 and a free port, key auth only with
 * a key made here, host key made here and pinned in a temp known_hosts. The machine's own sshd
 * and ~/.ssh are never touched: a `ssh` wrapper first on PATH adds `-F <temp ssh_config>`, the
 * way a user's ~/.ssh/config would name the key and the known_hosts.
 */
async function sshEngine(image: string): Promise<EngineEnvironment> {
  const sshd = "/usr/sbin/sshd";
  if (!existsSync(sshd)) return { available: false, reason: "no sshd: install Debian's openssh-server (scripts/test.sh does)" };
  if (process.getuid?.() !== 0) return { available: false, reason: "the test sshd logs in the user running the tests and needs root to do so" };
  const dockerFailure = await answers({ DOCKER_HOST: "unix:///var/run/docker.sock" });
  if (dockerFailure) return { available: false, reason: `no local Docker engine for the sshd's user: ${dockerFailure}` };

  const dir = mkdtempSync(join(tmpdir(), "sbx-ssh-engine-"));
  const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sbx-engine-test", "-f", join(dir, file)]);
  keygen("host_key");
  keygen("client_key");
  keygen("other_host_key");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
  const port = await freePort();
  const user = userInfo().username;
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "AuthenticationMethods publickey",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      `AllowUsers ${user}`,
      "UsePAM no",
      // The temp dir sits under the world-writable /tmp, which StrictModes rejects.
      "StrictModes no",
      "",
    ].join("\n"),
  );
  const hostKey = readFileSync(join(dir, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
  const otherKey = readFileSync(join(dir, "other_host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  writeFileSync(join(dir, "impostor_known_hosts"), `[127.0.0.1]:${port} ${otherKey}\n`);
  const clientConfig = (knownHosts: string) =>
    [
      "Host 127.0.0.1",
      `  IdentityFile ${join(dir, "client_key")}`,
      "  IdentitiesOnly yes",
      "  IdentityAgent none",
      `  UserKnownHostsFile ${join(dir, knownHosts)}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "",
    ].join("\n");
  writeFileSync(join(dir, "ssh_config"), clientConfig("known_hosts"));
  writeFileSync(join(dir, "impostor_ssh_config"), clientConfig("impostor_known_hosts"));
  const realSsh = execFileSync("sh", ["-c", "command -v ssh"], { encoding: "utf8" }).trim();
  for (const [bin, config] of [["bin", "ssh_config"], ["impostor-bin", "impostor_ssh_config"]] as const) {
    mkdirSync(join(dir, bin));
    writeFileSync(join(dir, bin, "ssh"), `#!/bin/sh\nexec ${realSsh} -F ${join(dir, config)} "$@"\n`, { mode: 0o755 });
  }

  // sshd's privilege-separation directory; systemd's tmpfiles makes it on a normal boot.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  let log = "";
  const child = spawn(sshd, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  // A test run that dies before its afterAll must not leave the sshd listening.
  const killOnExit = () => child.kill();
  process.once("exit", killOnExit);
  try {
    await waitForPort(port, child, () => log);
  } catch (error) {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
    return { available: false, reason: (error as Error).message };
  }
  const env = { DOCKER_HOST: `ssh://${user}@127.0.0.1:${port}`, PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}`, SBX_TEST_IMPOSTOR_PATH: `${join(dir, "impostor-bin")}:${process.env.PATH ?? ""}` };
  return {
    available: true,
    env,
    image,
    stop: async () => {
      process.off("exit", killOnExit);
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TLS endpoint in front of the local Docker socket: certificates from a CA made here, and the
 * proxy REQUIRES a client certificate that CA signed (requestCert + rejectUnauthorized), so the
 * driver's CA/cert/key path is exercised for real. DOCKER_CERT_PATH holds ca.pem, cert.pem and
 * key.pem, as the docker CLI expects; `no-client-cert/` holds only ca.pem.
 */
async function tlsEngine(image: string): Promise<EngineEnvironment> {
  const socketPath = "/var/run/docker.sock";
  const dockerFailure = await answers({ DOCKER_HOST: `unix://${socketPath}` });
  if (dockerFailure) return { available: false, reason: `no local Docker engine behind the TLS proxy: ${dockerFailure}` };
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
  } catch {
    return { available: false, reason: "no openssl to make the test certificates" };
  }
  const dir = mkdtempSync(join(tmpdir(), "sbx-tls-engine-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=sbx-test-ca");
  const issue = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl("req", ...ec, "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", subject);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`);
  };
  issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  issue("client", "/CN=sbx-test-client", "extendedKeyUsage=clientAuth\n");
  const certs = join(dir, "certs");
  mkdirSync(certs);
  writeFileSync(join(certs, "ca.pem"), readFileSync(join(dir, "ca.pem")));
  writeFileSync(join(certs, "cert.pem"), readFileSync(join(dir, "client.pem")));
  writeFileSync(join(certs, "key.pem"), readFileSync(join(dir, "client-key.pem")), { mode: 0o600 });
  mkdirSync(join(dir, "no-client-cert"));
  writeFileSync(join(dir, "no-client-cert", "ca.pem"), readFileSync(join(dir, "ca.pem")));

  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(join(dir, "server-key.pem")),
      cert: readFileSync(join(dir, "server.pem")),
      ca: readFileSync(join(dir, "ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
      // An exec's stdin EOF is a half-close; the engine's answer still flows back after it.
      allowHalfOpen: true,
    },
    (client) => {
      const upstream = net.connect({ path: socketPath, allowHalfOpen: true });
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      // The engine closing its side must not destroy the client's: what it wrote last (an exec's
      // final output) may still sit in the TLS stream's buffer. End it, so it flushes first.
      upstream.on("error", () => client.end()).on("close", () => client.end());
      client.on("error", () => client.destroy()).on("close", () => {
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      });
    },
  );
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    available: true,
    env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: certs, SBX_TEST_NO_CLIENT_CERT_PATH: join(dir, "no-client-cert") },
    image,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
