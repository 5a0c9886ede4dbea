import { describe, expect, it } from "vitest";
import { dialectOfPing, reportedCapDrop, shortTag, tmpfsOptions } from "./engine-dialect.js";
import type { ContainerSpec } from "./types.js";

const spec: ContainerSpec = { name: "x", image: "i", user: "1000:1000", cmd: ["idle"] };
const secrets = { type: "tmpfs" as const, target: "/run/secrets", sizeBytes: 1024, mode: 0o700, uid: 1000, gid: 1000 };

describe("engine dialect", () => {
  it("tells Podman from Docker by the headers of GET /_ping", () => {
    // As each engine answered here (Podman 4.3.1's compatibility API, Docker 20.10.24).
    expect(dialectOfPing({ "api-version": "1.41", "libpod-api-version": "4.3.1", server: "Libpod/4.3.1 (linux)" })).toBe("podman");
    expect(dialectOfPing({ server: "Libpod/5.2.0 (linux)" })).toBe("podman");
    expect(dialectOfPing({ "api-version": "1.41", "docker-experimental": "false", ostype: "linux", server: "Docker/20.10.24+dfsg1 (linux)" })).toBe("docker");
    expect(dialectOfPing({})).toBe("docker");
  });

  it("owns a tmpfs with uid=/gid= on Docker and with U (the container's user) on Podman", () => {
    expect(tmpfsOptions(secrets, spec, "docker")).toBe("rw,nosuid,nodev,size=1024,noexec,mode=0700,uid=1000,gid=1000");
    expect(tmpfsOptions(secrets, spec, "podman")).toBe("rw,nosuid,nodev,size=1024,noexec,mode=0700,U");
  });

  it("refuses on Podman a tmpfs owner other than the container's user", () => {
    expect(() => tmpfsOptions({ ...secrets, uid: 0 }, spec, "podman")).toThrow(/other than the container's user/);
  });

  it("reports Podman's list of the dropped default capabilities as ALL, and a partial list as it is", () => {
    const podmanDefaults = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];
    expect(reportedCapDrop(podmanDefaults)).toContain("ALL");
    expect(reportedCapDrop(podmanDefaults.filter((cap) => cap !== "NET_RAW"))).not.toContain("ALL");
    expect(reportedCapDrop(["ALL"])).toEqual(["ALL"]);
  });

  it("gives back the short tag Podman files under docker.io/library/", () => {
    expect(shortTag("docker.io/library/sbx-sandbox:abc")).toBe("sbx-sandbox:abc");
    expect(shortTag("ghcr.io/org/img:1")).toBe("ghcr.io/org/img:1");
  });
});
