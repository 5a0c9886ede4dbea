import type { ContainerRuntime } from "@sbx/container-runtime";

export interface AttachOptions {
  cmd: string[];
  /** @default stdin and stdout are both terminals */
  tty?: boolean;
  workdir?: string;
  env?: Record<string, string>;
}

/**
 * Runs a command in the sandbox wired to this terminal: raw mode and resizes when a TTY is
 * attached, piped stdin otherwise. Returns the command's exit code.
 */
export async function attach(runtime: ContainerRuntime, container: string, options: AttachOptions): Promise<number> {
  const stdin = process.stdin;
  const tty = options.tty ?? Boolean(stdin.isTTY && process.stdout.isTTY);
  // A terminal stdin is only attached with a TTY; a pipe or file is always passed through.
  const attachStdin = tty || !stdin.isTTY;
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (tty && stdin.isTTY) stdin.setRawMode(true);
  try {
    const result = await runtime.exec(container, {
      cmd: options.cmd,
      tty,
      workdir: options.workdir ?? "/workspace",
      ...(options.env ? { env: options.env } : {}),
      ...(attachStdin ? { stdin } : {}),
      stdout: process.stdout,
      stderr: process.stderr,
      ...(tty
        ? {
            terminal: {
              columns: process.stdout.columns || 80,
              rows: process.stdout.rows || 24,
              onResize: (listener: (columns: number, rows: number) => void) => {
                const onResize = () => listener(process.stdout.columns, process.stdout.rows);
                process.stdout.on("resize", onResize);
                return () => process.stdout.off("resize", onResize);
              },
            },
          }
        : {}),
    });
    return result.exitCode;
  } finally {
    if (tty && stdin.isTTY) stdin.setRawMode(wasRaw);
    // Let the process exit: a stdin that was being read keeps the event loop alive.
    if (attachStdin) stdin.destroy();
  }
}
