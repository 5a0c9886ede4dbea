import { RuntimeError } from "./errors.js";
import type { ContainerSpec, MountSpec } from "./types.js";

/**
 * Which engine answers the Docker API. Podman's compatibility API differs in a few places the
 * hardened spec touches; each difference is handled here, in one place, and listed in the README.
 */
export type EngineDialect = "docker" | "podman";

/**
 * Reads the dialect from the headers of GET /_ping: Podman's compatibility API sends
 * `Libpod-Api-Version` (and `Server: Libpod/…`); Docker sends neither. /_ping answers in well
 * under a millisecond where GET /version, which asks the engine's components, takes ~8 ms, and a
 * create waits for the answer.
 */
export function dialectOfPing(headers: Record<string, string | string[] | undefined>): EngineDialect {
  const server = headers["server"];
  return headers["libpod-api-version"] !== undefined || /libpod/i.test(Array.isArray(server) ? server.join(" ") : (server ?? "")) ? "podman" : "docker";
}

/** The tmpfs mount options for the engine, with the same meaning on each. */
export function tmpfsOptions(mount: Extract<MountSpec, { type: "tmpfs" }>, spec: ContainerSpec, dialect: EngineDialect): string {
  const options = ["rw", "nosuid", "nodev", `size=${mount.sizeBytes ?? 1024 * 1024}`];
  // The engine adds noexec to a tmpfs by default: an executable one must say so.
  options.push((mount.noexec ?? true) ? "noexec" : "exec");
  if (mount.mode !== undefined) options.push(`mode=${mount.mode.toString(8).padStart(4, "0")}`);
  if (mount.uid === undefined && mount.gid === undefined) return options.join(",");
  if (dialect === "docker") {
    if (mount.uid !== undefined) options.push(`uid=${mount.uid}`);
    if (mount.gid !== undefined) options.push(`gid=${mount.gid}`);
    return options.join(",");
  }
  // Podman (4.x) refuses tmpfs `uid=`/`gid=`; its `U` option chowns the tmpfs to the container's
  // user instead. That is the same thing only when the owner asked for is that user.
  const [uid, gid] = spec.user.split(":").map(Number);
  if ((mount.uid !== undefined && mount.uid !== uid) || (mount.gid !== undefined && mount.gid !== gid)) {
    throw new RuntimeError("SBX_DOCKER_API", `Podman cannot give the tmpfs ${mount.target} an owner other than the container's user ${spec.user}.`, {
      hint: "Own the tmpfs by the container's user, or use Docker Engine.",
    });
  }
  options.push("U");
  return options.join(",");
}

/** The capabilities a non-privileged container holds unless told otherwise (Docker's and Podman's default set). */
const DEFAULT_CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

/**
 * The dropped capabilities as the spec asked for them. Podman's inspect answers `CapDrop: ["ALL"]`
 * with the list of default capabilities it dropped; dropping every one of them leaves a
 * non-privileged container none on any engine (its bounding set is empty, which the contract
 * suite checks from inside), so that list is reported as ALL.
 */
export function reportedCapDrop(capDrop: string[]): string[] {
  if (capDrop.includes("ALL")) return capDrop;
  const dropped = new Set(capDrop.map((cap) => cap.replace(/^CAP_/, "")));
  return DEFAULT_CAPABILITIES.every((cap) => dropped.has(cap)) ? ["ALL", ...capDrop] : capDrop;
}

/** Image tags as the user wrote them: Podman files a short name under `docker.io/library/`. */
export function shortTag(tag: string): string {
  return tag.startsWith("docker.io/library/") ? tag.slice("docker.io/library/".length) : tag;
}
