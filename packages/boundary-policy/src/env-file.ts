import { PolicyError } from "./policy-error.js";

/**
 * Parses a dotenv-style file: `KEY=VALUE`, optional `export `, `#` comments, blank lines,
 * single quotes (literal), double quotes (`\n`, `\t`, `\"`, `\\` escapes; may span lines) and
 * unquoted values (trimmed; ` #` starts a comment). Errors name the file and line, never a value.
 */
export function parseEnvFile(content: string, fileName: string): Record<string, string> {
  const env: Record<string, string> = {};
  const lines = content.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = (lines[index] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    const assignment = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s?(.*)$/.exec(line);
    if (!assignment) {
      throw new PolicyError("SBX_POLICY_BAD_ENV_FILE", `Line ${lineNumber} of ${fileName} is not KEY=VALUE.`, {
        hint: "Each line must be KEY=VALUE, a # comment, or blank.",
      });
    }
    const name = assignment[1] as string;
    let rest = (assignment[2] as string).trim();
    if (rest.startsWith("'")) {
      const close = rest.indexOf("'", 1);
      if (close === -1) throw unterminated(fileName, lineNumber, name);
      env[name] = rest.slice(1, close);
    } else if (rest.startsWith('"')) {
      // A double-quoted value may continue on the following lines until its closing quote.
      let body = rest.slice(1);
      let close = findClosingQuote(body);
      while (close === -1 && index + 1 < lines.length) {
        index++;
        body += `\n${lines[index] as string}`;
        close = findClosingQuote(body);
      }
      if (close === -1) throw unterminated(fileName, lineNumber, name);
      env[name] = body.slice(0, close).replace(/\\([nrt"\\$])/g, (_, char: string) => ({ n: "\n", r: "\r", t: "\t" })[char] ?? char);
    } else {
      const comment = rest.search(/\s#/);
      if (comment !== -1) rest = rest.slice(0, comment);
      env[name] = rest.trim();
    }
  }
  return env;
}

function findClosingQuote(body: string): number {
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "\\") i++;
    else if (body[i] === '"') return i;
  }
  return -1;
}

function unterminated(fileName: string, lineNumber: number, name: string): PolicyError {
  return new PolicyError("SBX_POLICY_BAD_ENV_FILE", `The value of ${name} on line ${lineNumber} of ${fileName} has no closing quote.`);
}
