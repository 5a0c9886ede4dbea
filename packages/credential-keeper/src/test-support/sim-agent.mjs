// A stand-in for Claude Code's login handling, as read from the 2.1.330 package, run on the host
// and inside real containers by the keeper simulation:
//   - it keeps the login in memory and re-reads ~/.claude/.credentials.json whenever its mtime
//     (or inode) changes;
//   - it refreshes when the access token is within `margin` of its expiry, under a lock shared by
//     every process using the file (Claude uses proper-lockfile: a `<file>.lock` directory), and
//     re-reads the file first: if someone already saved a newer login, it takes that instead;
//   - it saves a refresh by temp file + rename, with a compare-and-swap on the refresh token it used;
//   - on invalid_grant it re-reads the file: a different refresh token there means someone else
//     refreshed (no harm done); if the file still holds the dead token, the login is gone and the
//     user must log in again (a forced re-login: here it asks the fake server for a new login).
// It checks at random intervals and uses its access token on every check, so the server can see
// how long each side held a token that was already spent.
//
// Usage: node sim-agent.mjs --side NAME --file PATH --server URL --margin-ms N --duration-ms N --start-at EPOCH_MS
import { mkdirSync, openSync, readFileSync, renameSync, rmdirSync, statSync, writeSync, closeSync, fsyncSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    side: { type: "string" },
    file: { type: "string" },
    server: { type: "string" },
    "margin-ms": { type: "string", default: "400" },
    "duration-ms": { type: "string", default: "60000" },
    "tick-min-ms": { type: "string", default: "40" },
    "tick-max-ms": { type: "string", default: "160" },
    "start-at": { type: "string", default: "0" },
  },
});
const side = values.side;
const file = values.file;
const margin = Number(values["margin-ms"]);
// Every agent starts at one moment, once the harness (and the keeper) are ready.
const startAt = Number(values["start-at"]);
const until = Math.max(Date.now(), startAt) + Number(values["duration-ms"]);
const tickMin = Number(values["tick-min-ms"]);
const tickMax = Number(values["tick-max-ms"]);
const lockDir = `${file}.lock`;
const stats = { reloads: 0, refreshes: 0, tookNewerFromFile: 0, recoveredFromFile: 0, relogins: 0, casLost: 0 };

async function call(path, body) {
  const response = await fetch(`${values.server}${path}`, { method: "POST", body: JSON.stringify({ side, ...body }) });
  return { status: response.status, body: await response.json() };
}

function readFile() {
  try {
    const info = statSync(file);
    const oauth = JSON.parse(readFileSync(file, "utf8")).claudeAiOauth;
    return { oauth, signature: `${info.ino}:${info.mtimeMs}:${info.size}` };
  } catch {
    return undefined;
  }
}

function save(oauth) {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify({ claudeAiOauth: oauth }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

async function withLock(work) {
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      try {
        // A lock older than 10 s belongs to a process that died holding it.
        if (Date.now() - statSync(lockDir).mtimeMs > 10_000) rmdirSync(lockDir);
      } catch {}
      await sleep(10);
    }
  }
  try {
    return await work();
  } finally {
    rmdirSync(lockDir);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

await sleep(Math.max(0, startAt - Date.now()));
let current = readFile();
let memory = current?.oauth;

async function refresh() {
  await withLock(async () => {
    const onDisk = readFile();
    if (onDisk?.oauth && onDisk.oauth.refreshToken !== memory.refreshToken && onDisk.oauth.expiresAt > memory.expiresAt) {
      memory = onDisk.oauth;
      current = onDisk;
      stats.tookNewerFromFile += 1;
      if (memory.expiresAt - Date.now() >= margin) return;
    }
    const used = memory.refreshToken;
    const answer = await call("/token", { refresh_token: used });
    if (answer.status === 200) {
      const fresh = { ...memory, ...answer.body };
      const now = readFile();
      if (!now || now.oauth?.refreshToken === used) {
        save(fresh);
        current = readFile();
      } else stats.casLost += 1;
      memory = fresh;
      stats.refreshes += 1;
      return;
    }
    const after = readFile();
    if (after?.oauth && after.oauth.refreshToken !== used) {
      memory = after.oauth;
      current = after;
      stats.recoveredFromFile += 1;
      return;
    }
    // The file still holds the dead token: logged out. The user logs in again.
    const login = await call("/login", {});
    memory = { ...memory, ...login.body };
    save(memory);
    current = readFile();
    stats.relogins += 1;
  });
}

while (Date.now() < until) {
  await sleep(tickMin + Math.random() * (tickMax - tickMin));
  const seen = readFile();
  if (seen && seen.signature !== current?.signature) {
    current = seen;
    if (seen.oauth) memory = seen.oauth;
    stats.reloads += 1;
  }
  if (!memory) continue;
  await call("/use", { access_token: memory.accessToken, refresh_token: memory.refreshToken }).catch(() => undefined);
  if (memory.expiresAt - Date.now() < margin) await refresh().catch((error) => process.stderr.write(`${side}: ${error.message}\n`));
}
process.stdout.write(`${JSON.stringify({ side, ...stats })}\n`);
