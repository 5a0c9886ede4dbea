import { describe, expect, it } from "vitest";
import { resolveDockerEndpoint } from "./docker-host.js";
import { sshArguments } from "./ssh-transport.js";

const argsFor = (host: string) => {
  const endpoint = resolveDockerEndpoint({ DOCKER_HOST: host });
  if (endpoint.kind !== "ssh") throw new Error("not ssh");
  return sshArguments(endpoint);
};

describe("sshArguments", () => {
  it("builds the docker CLI's dial-stdio command with user and port", () => {
    expect(argsFor("ssh://ada@build.example:2222")).toEqual(["-o", "ConnectTimeout=30", "-T", "-l", "ada", "-p", "2222", "--", "build.example", "docker", "system", "dial-stdio"]);
  });

  it("leaves user and port to ~/.ssh/config when the URL has none", () => {
    expect(argsFor("ssh://build")).toEqual(["-o", "ConnectTimeout=30", "-T", "--", "build", "docker", "system", "dial-stdio"]);
  });

  it("passes an IPv6 literal without its brackets", () => {
    expect(argsFor("ssh://ada@[::1]:22").slice(-4)).toEqual(["::1", "docker", "system", "dial-stdio"]);
  });

  it("never lets a host name be read as an ssh option", () => {
    const args = argsFor("ssh://-oProxyCommand=touch%20pwned");
    const host = args.indexOf("--") + 1;
    expect(args[host]).toMatch(/^-oproxycommand/i);
    expect(args.slice(0, host - 1).some((arg) => /proxycommand/i.test(arg))).toBe(false);
  });
});
