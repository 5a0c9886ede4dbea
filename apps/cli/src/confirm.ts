import { CliError } from "./cli-error.js";

/** Whether a person is at the terminal to answer a question. */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** Asks on the terminal; anything starting with "n" stops with `stopped` (exit 130), Enter goes on. */
export async function confirm(question: string, stopped: string): Promise<void> {
  process.stderr.write(`${question} `);
  const answer = await new Promise<string>((resolve) => {
    process.stdin.setEncoding("utf8");
    process.stdin.once("data", (data) => resolve(String(data).trim().toLowerCase()));
    process.stdin.resume();
  });
  process.stdin.pause();
  if (answer.startsWith("n")) throw new CliError("SBX_ABORTED", stopped, { exitCode: 130 });
}
