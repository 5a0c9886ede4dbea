import { spawn, spawnSync } from "node:child_process";

/** Runs the docker CLI and returns its output; the Docker tests compare sbx against it. */
export function docker(args: string[], options: { allowFailure?: boolean } = {}): { exitCode: number; stdout: string; stderr: string } {
  const result = spawnSync("docker", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0 && !options.allowFailure) throw new Error(`docker ${args.join(" ")} failed: ${result.stderr}`);
  return { exitCode: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Streams `docker save` and reports whether `needle` occurs in any byte of the image's layers. */
export function imageBytesContain(image: string, needle: string): Promise<boolean> {
  return dockerOutputContains(["save", image], needle);
}

/** Streams a docker command's output (`save`, `export`) and reports whether `needle` occurs in any byte. */
export function dockerOutputContains(args: string[], needle: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["ignore", "pipe", "inherit"] });
    const target = Buffer.from(needle);
    let tail = Buffer.alloc(0);
    let found = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (found) return;
      const window = Buffer.concat([tail, chunk]);
      if (window.includes(target)) found = true;
      tail = window.subarray(Math.max(0, window.length - target.length));
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 || found ? resolve(found) : reject(new Error(`docker ${args[0]} exited ${code}`))));
  });
}
