/**
 * The entry point. `exec` and `status` are the hot paths: they skip commander and never load
 * dockerode, so `sbx exec -- true` costs little more than `docker exec`. Every module here is
 * loaded on demand, the error formatter included: each module a run loads costs it a few ms.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === "exec") {
      // The bundled hot path (scripts/bundle.mjs), addressed by URL so TypeScript leaves it alone.
      const { execFast } = (await import(new URL("./hot/exec.mjs", import.meta.url).href)) as typeof import("./commands/exec.js");
      return await execFast(argv.slice(1));
    }
    if (argv[0] === "exec-check" && argv[1]) {
      const { execCheck } = await import("./commands/exec.js");
      return await execCheck(argv[1]);
    }
    const { runProgram } = await import("./program.js");
    return await runProgram(argv);
  } catch (error) {
    const { formatError } = await import("./cli-error.js");
    const { text, exitCode } = formatError(error);
    process.stderr.write(text);
    return exitCode;
  }
}
