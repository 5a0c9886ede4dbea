import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRuntimeError } from "../errors.js";
import type { ContainerRuntime, ContainerSpec } from "../types.js";

export interface ContractSubject {
  runtime: ContainerRuntime;
  /** An image with a POSIX shell and coreutils. */
  image: string;
}

const SANDBOX_USER = "1000:1000";

/**
 * The behaviour every driver must have. Run against the in-memory fake in fast tests and against
 * the real engine in the Docker tests; a new driver (Kubernetes, …) is one more call of this.
 */
export function describeRuntimeContract(name: string, setup: () => Promise<ContractSubject>, options: { timeout?: number } = {}): void {
  const timeout = options.timeout ?? 30_000;
  describe(`ContainerRuntime contract: ${name}`, { timeout }, () => {
    const suffix = randomBytes(4).toString("hex");
    const containerName = `sbx-contract-${suffix}`;
    const volumeName = `sbx-contract-${suffix}-llm`;
    let runtime: ContainerRuntime;
    let spec: ContainerSpec;
    let baseImage: string;

    beforeAll(async () => {
      const subject = await setup();
      runtime = subject.runtime;
      baseImage = subject.image;
      spec = {
        name: containerName,
        image: subject.image,
        user: SANDBOX_USER,
        cmd: ["sh", "-c", "echo main-process-started; exec sleep 3600"],
        env: { SBX_CONTRACT: "yes" },
        workdir: "/",
        labels: { "dev.sbx.contract": suffix },
        mounts: [
          { type: "volume", source: volumeName, target: "/state" },
          { type: "tmpfs", target: "/run/secrets", sizeBytes: 1024 * 1024, mode: 0o700, uid: 1000, gid: 1000 },
        ],
        pidsLimit: 256,
      };
    }, timeout);

    afterAll(async () => {
      await runtime?.removeContainer(containerName);
      await runtime?.removeContainer(`${containerName}-again`);
      await runtime?.removeContainer(`${containerName}-image`);
      await runtime?.removeContainer(`${containerName}-stopped`);
      await runtime?.removeContainer(`${containerName}-race`);
      await runtime?.removeContainer(`${containerName}-bounded`);
      await runtime?.removeVolume(`${volumeName}-race`);
      await runtime?.removeImage(`sbx-contract-${suffix}:image`);
      await runtime?.removeVolume(volumeName);
      await runtime?.removeContainer(`${containerName}-net`);
      await runtime?.removeNetwork(`sbx-contract-${suffix}-net`);
    }, timeout);

    it("answers a ping", async () => {
      await expect(runtime.ping()).resolves.toBeUndefined();
    });

    it("reports a missing image, container and volume as undefined", async () => {
      expect(await runtime.inspectImage(`sbx-missing-${suffix}:latest`)).toBeUndefined();
      expect(await runtime.inspectContainer(`sbx-missing-${suffix}`)).toBeUndefined();
      expect(await runtime.inspectVolume(`sbx-missing-${suffix}`)).toBeUndefined();
    });

    it("creates a hardened container: non-root, all capabilities dropped, no-new-privileges, pids limit", async () => {
      const info = await runtime.createContainer(spec);
      expect(info.name).toBe(containerName);
      expect(info.user).toBe(SANDBOX_USER);
      expect(info.security.capDrop).toContain("ALL");
      expect(info.security.capAdd).toEqual([]);
      expect(info.security.noNewPrivileges).toBe(true);
      expect(info.security.pidsLimit).toBe(256);
      expect(info.labels["dev.sbx.contract"]).toBe(suffix);
      expect(info.mounts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: "volume", source: volumeName, target: "/state" }),
          expect.objectContaining({ type: "tmpfs", target: "/run/secrets" }),
        ]),
      );
      expect(await runtime.inspectVolume(volumeName)).toBeDefined();
    });

    it("starts the container and lists it by label", async () => {
      await runtime.startContainer(containerName);
      expect((await runtime.inspectContainer(containerName))?.state).toBe("running");
      const listed = await runtime.listContainers({ labels: { "dev.sbx.contract": suffix } });
      expect(listed.map((container) => container.name)).toEqual([containerName]);
      expect(await runtime.listContainers({ labels: { "dev.sbx.contract": "someone-else" } })).toEqual([]);
    });

    it("refuses a taken name with SBX_CONTAINER_EXISTS: of five concurrent creates exactly one wins", async () => {
      const racing = { ...spec, name: `${containerName}-race`, mounts: [] };
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => runtime.createContainer(racing)));
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expect(isRuntimeError(outcome.reason, "SBX_CONTAINER_EXISTS"), String(outcome.reason)).toBe(true);
      }
      const again = await runtime.createContainer(racing).catch((error: unknown) => error);
      expect(isRuntimeError(again, "SBX_CONTAINER_EXISTS")).toBe(true);
    });

    it("starts a container any number of times, concurrently too, and it is running once", async () => {
      const name = `${containerName}-race`;
      await Promise.all(Array.from({ length: 3 }, () => runtime.startContainer(name)));
      await runtime.startContainer(name);
      expect((await runtime.inspectContainer(name))?.state).toBe("running");
      await runtime.removeContainer(name);
    });

    it("creates a volume once however many commands ensure it at the same time", async () => {
      const name = `${volumeName}-race`;
      const volumes = await Promise.all(Array.from({ length: 5 }, () => runtime.ensureVolume(name, { "dev.sbx.contract": suffix })));
      expect(new Set(volumes.map((volume) => volume.name))).toEqual(new Set([name]));
      expect((await runtime.listVolumes({ labels: { "dev.sbx.contract": suffix } })).map((volume) => volume.name)).toContain(name);
      await runtime.removeVolume(name);
    });

    it("bounds memory (swap included), CPU and the container log as asked", async () => {
      const bounded = { ...spec, name: `${containerName}-bounded`, mounts: [], memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, logMaxSize: "1m", logMaxFiles: 2 };
      const info = await runtime.createContainer(bounded);
      expect(info.resources).toMatchObject({ memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000 });
      // Podman's compat API takes the log options but does not report them back (its own k8s-file
      // logs are bounded by containers.conf): there only the memory and CPU bounds can be checked.
      const dialect = "dialect" in runtime && typeof runtime.dialect === "function" ? await (runtime.dialect as () => Promise<string>)() : "docker";
      if (dialect !== "podman") expect(info.resources).toMatchObject({ logDriver: "json-file", logMaxSize: "1m", logMaxFiles: 2 });
      await runtime.removeContainer(bounded.name);
    });

    it("keeps the main process's output in the logs", async () => {
      await expect.poll(() => runtime.logs(containerName), { timeout: 5000 }).toContain("main-process-started");
    });

    it("holds no capability inside: every set of the container's processes is empty", async () => {
      const status = (await runtime.exec(containerName, { cmd: ["cat", "/proc/self/status"] })).stdout.toString();
      for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) expect(status).toMatch(new RegExp(`^${set}:\\s+0{16}$`, "m"));
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    });

    it("returns the exit code of an exec", async () => {
      expect((await runtime.exec(containerName, { cmd: ["sh", "-c", "exit 3"] })).exitCode).toBe(3);
      expect((await runtime.exec(containerName, { cmd: ["true"] })).exitCode).toBe(0);
    });

    it("separates stdout from stderr", async () => {
      const result = await runtime.exec(containerName, { cmd: ["sh", "-c", "echo to-out; echo to-err >&2"] });
      expect(result.stdout.toString()).toBe("to-out\n");
      expect(result.stderr.toString()).toBe("to-err\n");
    });

    it("passes exec environment and runs as the container's user", async () => {
      expect((await runtime.exec(containerName, { cmd: ["printenv", "SBX_EXEC"], env: { SBX_EXEC: "given" } })).stdout.toString()).toBe("given\n");
      expect((await runtime.exec(containerName, { cmd: ["printenv", "SBX_CONTRACT"] })).stdout.toString()).toBe("yes\n");
      expect((await runtime.exec(containerName, { cmd: ["id", "-u"] })).stdout.toString()).toBe("1000\n");
    });

    it("delivers stdin bytes whole and closes it, so `cat > file` finishes", async () => {
      const payload = Buffer.concat([randomBytes(200_000), Buffer.from("\nend-of-payload\n")]);
      const write = await runtime.exec(containerName, {
        cmd: ["sh", "-c", "umask 077; cat > /run/secrets/contract && wc -c < /run/secrets/contract"],
        stdin: payload,
      });
      expect(write.exitCode).toBe(0);
      expect(write.stdout.toString().trim()).toBe(String(payload.length));
      const mode = await runtime.exec(containerName, { cmd: ["stat", "-c", "%a", "/run/secrets/contract"] });
      expect(mode.stdout.toString().trim()).toBe("600");
      const back = await runtime.exec(containerName, { cmd: ["cat", "/run/secrets/contract"] });
      expect(Buffer.compare(back.stdout, payload)).toBe(0);
    });

    it("stops collecting an exec's output past maxOutputBytes with SBX_EXEC_OUTPUT_TOO_LARGE (a sandbox's output is untrusted)", async () => {
      const payload = randomBytes(300_000);
      expect((await runtime.exec(containerName, { cmd: ["sh", "-c", "cat > /run/secrets/bounded"], stdin: payload })).exitCode).toBe(0);
      const failure = await runtime.exec(containerName, { cmd: ["cat", "/run/secrets/bounded"], maxOutputBytes: 100_000 }).catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_EXEC_OUTPUT_TOO_LARGE"), String(failure)).toBe(true);
      expect((failure as Error).message).toContain("100000 bytes");
      const whole = await runtime.exec(containerName, { cmd: ["cat", "/run/secrets/bounded"], maxOutputBytes: 300_000 });
      expect(Buffer.compare(whole.stdout, payload)).toBe(0);
      // The container is still there for the next exec.
      expect((await runtime.exec(containerName, { cmd: ["true"] })).exitCode).toBe(0);
    });

    it("keeps files on a named volume across container removal", async () => {
      const marker = `survives-${suffix}`;
      // A fresh volume's root belongs to root on Docker unless the image pre-creates the mount
      // point (the sandbox image does; this one does not); Podman chowns it to the container's
      // user. The write is done as its owner, whichever that is.
      const owner = (await runtime.exec(containerName, { cmd: ["stat", "-c", "%u:%g", "/state"] })).stdout.toString().trim();
      expect((await runtime.exec(containerName, { cmd: ["sh", "-c", `echo ${marker} > /state/marker`], user: owner })).exitCode).toBe(0);
      await runtime.removeContainer(containerName);
      expect(await runtime.inspectContainer(containerName)).toBeUndefined();
      expect(await runtime.inspectVolume(volumeName)).toBeDefined();
      await runtime.createContainer({ ...spec, name: `${containerName}-again` });
      await runtime.startContainer(`${containerName}-again`);
      const read = await runtime.exec(`${containerName}-again`, { cmd: ["cat", "/state/marker"] });
      expect(read.stdout.toString()).toBe(`${marker}\n`);
    });

    it("reports an exec into a container that is not running with a stable code", async () => {
      // Docker answers 409 "is not running", Podman 500 "container state improper": one code.
      await runtime.createContainer({ ...spec, name: `${containerName}-stopped`, mounts: [] });
      const failure = await runtime.exec(`${containerName}-stopped`, { cmd: ["true"] }).catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_CONTAINER_NOT_RUNNING")).toBe(true);
      await runtime.removeContainer(`${containerName}-stopped`);
    });

    it("reports an exec into a missing container with a stable code", async () => {
      const failure = await runtime.exec(`sbx-missing-${suffix}`, { cmd: ["true"] }).catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_CONTAINER_NOT_FOUND")).toBe(true);
    });

    it("lists images by label and removes one only once no container uses it", async () => {
      const tag = `sbx-contract-${suffix}:image`;
      const context = mkdtempSync(join(tmpdir(), "sbx-contract-"));
      try {
        writeFileSync(join(context, "Dockerfile"), `FROM ${baseImage}\n`);
        await runtime.buildImage({ contextDir: context, tag, labels: { "dev.sbx.contract": suffix } });
      } finally {
        rmSync(context, { recursive: true, force: true });
      }
      const listed = await runtime.listImages({ labels: { "dev.sbx.contract": suffix } });
      expect(listed.map((image) => image.tags)).toEqual([[tag]]);
      expect(Number.isNaN(Date.parse(listed[0]?.createdAt ?? ""))).toBe(false);
      expect(await runtime.listImages({ labels: { "dev.sbx.contract": `${suffix}-other` } })).toEqual([]);

      await runtime.createContainer({ ...spec, name: `${containerName}-image`, image: tag, mounts: [] });
      const refused = await runtime.removeImage(tag).catch((error: unknown) => error);
      expect(isRuntimeError(refused, "SBX_IMAGE_IN_USE")).toBe(true);
      expect(await runtime.inspectImage(tag)).toBeDefined();

      await runtime.removeContainer(`${containerName}-image`);
      await runtime.removeImage(tag);
      expect(await runtime.inspectImage(tag)).toBeUndefined();
      await runtime.removeImage(tag);
    });

    it("creates an internal network, attaches a container under an alias, and removes the network only once it is empty", async () => {
      const network = `sbx-contract-${suffix}-net`;
      const created = await runtime.createNetwork({ name: network, internal: true, hostUnreachable: true, labels: { "dev.sbx.contract": suffix } });
      expect(created).toMatchObject({ name: network, internal: true, labels: { "dev.sbx.contract": suffix }, containers: [] });
      expect(created.subnets.length).toBeGreaterThan(0);
      const taken = await runtime.createNetwork({ name: network }).catch((error: unknown) => error);
      expect(isRuntimeError(taken)).toBe(true);
      expect((await runtime.listNetworks({ labels: { "dev.sbx.contract": suffix } })).map((info) => info.name)).toEqual([network]);
      expect(await runtime.listNetworks({ labels: { "dev.sbx.contract": `${suffix}-other` } })).toEqual([]);

      const name = `${containerName}-net`;
      await runtime.createContainer({ ...spec, name, mounts: [], network, dns: ["192.0.2.53"] });
      await runtime.startContainer(name);
      const attached = await runtime.inspectContainer(name);
      expect(attached?.networks?.[network]?.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect((await runtime.inspectNetwork(network))?.containers).toEqual([name]);

      const refused = await runtime.removeNetwork(network).catch((error: unknown) => error);
      expect(isRuntimeError(refused, "SBX_NETWORK_IN_USE")).toBe(true);
      await runtime.disconnectNetwork(network, name);
      await runtime.disconnectNetwork(network, name);
      expect((await runtime.inspectNetwork(network))?.containers).toEqual([]);
      await runtime.connectNetwork(network, name, { aliases: ["contract-alias"] });
      expect((await runtime.inspectNetwork(network))?.containers).toEqual([name]);
      await runtime.removeContainer(name);
      await runtime.removeNetwork(network);
      expect(await runtime.inspectNetwork(network)).toBeUndefined();
      await runtime.removeNetwork(network);
    });

    it("removes a container idempotently and never its volume", async () => {
      await runtime.removeContainer(`${containerName}-again`);
      await runtime.removeContainer(`${containerName}-again`);
      expect(await runtime.inspectVolume(volumeName)).toBeDefined();
      await runtime.removeVolume(volumeName);
      expect(await runtime.inspectVolume(volumeName)).toBeUndefined();
    });
  });
}
