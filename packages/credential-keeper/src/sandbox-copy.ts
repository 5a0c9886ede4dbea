import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { KEPT_PROVIDERS, MAX_CREDENTIAL_BYTES, type KeptProvider } from "./credential-shapes.js";

/**
 * How the keeper reads and writes a sandbox's copy of a login: through the runtime's exec, with
 * fixed program text (the same bytes every time, holding no path or value from anywhere) and the
 * login's bytes only on stdin or stdout — never argv, env, a label or a log. Everything the
 * sandbox answers is untrusted: bounded here, parsed and validated by the caller.
 *
 * The stores sit under the sandbox's login-state directory (the per-login volume), at fixed
 * relative paths. Each path component is checked to be a real directory and the file is opened
 * with O_NOFOLLOW|O_NONBLOCK and must be a regular file: a hostile agent's link or FIFO makes the
 * store "refused", never followed. (A link swapped in between the check and the open can at worst
 * make the keeper read another file the sandbox user can read inside the sandbox — bytes the agent
 * could have copied into the store anyway, and they still have to pass validation.)
 */
export const SANDBOX_STORE_PATHS: Readonly<Record<KeptProvider, string>> = {
  claude: "claude/.credentials.json",
  codex: "codex/auth.json",
  gemini: "gemini/oauth_creds.json",
  opencode: "opencode/auth.json",
};

/** The sandbox user's login-state directory (the per-login volume's mount point). */
export const DEFAULT_SANDBOX_STATE_DIR = "/home/sandbox/.llm";

const STORE_TABLE = JSON.stringify(SANDBOX_STORE_PATHS);

// One exec per round, and a cheap one: `sh` + `stat` print the stores' signature (inode, type,
// size, mtime to the nanosecond, of each store and its directory); only when it differs from the
// one the keeper saw last ($2) does Node start to read the stores (a batch: all of them at once).
const POLL_SCRIPT = `cd -P -- "$1" || exit 3
sig=$(for f in ${KEPT_PROVIDERS.map((provider) => `${provider} ${SANDBOX_STORE_PATHS[provider]}`).join(" ")}; do
  stat -c '%n|%F|%i|%s|%y' -- "$f" 2>/dev/null || echo "$f|absent"
done)
printf '%s\\n' "$sig"
[ "$sig" = "$2" ] && exit 0
printf -- '--\\n'
exec node -e "$3" "$1"`;

// Shared by the read and the write program: open a store without following anything.
const OPEN_STORE = `const fs=require("fs"),path=require("path"),crypto=require("crypto");
const FILES=${STORE_TABLE},MAX=${MAX_CREDENTIAL_BYTES},C=fs.constants;
function refused(reason){return Object.assign(new Error(reason),{refused:reason});}
function storeDir(root,rel){let dir=root;for(const part of rel.split("/").slice(0,-1)){dir=path.join(dir,part);const st=fs.lstatSync(dir);if(!st.isDirectory())throw refused(st.isSymbolicLink()?"a symlink":"not a directory");}return dir;}
function readStore(file){let fd;try{fd=fs.openSync(file,C.O_RDONLY|C.O_NOFOLLOW|C.O_NONBLOCK);}catch(e){if(e.code==="ENOENT")return undefined;if(e.code==="ELOOP")throw refused("a symlink");throw refused(e.code||"unreadable");}
try{const st=fs.fstatSync(fd);if(!st.isFile())throw refused("not a regular file");if(st.size>MAX)throw refused("larger than 64 KiB");
const buf=Buffer.alloc(MAX+1);let n=0,r;while(n<=MAX&&(r=fs.readSync(fd,buf,n,MAX+1-n,null))>0)n+=r;if(n>MAX)throw refused("larger than 64 KiB");return buf.subarray(0,n);}finally{fs.closeSync(fd);}}`;

const READ_SCRIPT = `${OPEN_STORE}
const root=process.argv[1],out={};
for(const [name,rel] of Object.entries(FILES)){try{const dir=storeDir(root,rel);const data=readStore(path.join(dir,path.basename(rel)));out[name]=data===undefined?{status:"absent"}:{status:"ok",data:data.toString("base64")};}
catch(e){out[name]=e.code==="ENOENT"?{status:"absent"}:{status:"refused",reason:e.refused||e.code||"unreadable"};}}
process.stdout.write(JSON.stringify(out));`;

// Compare-and-swap: the store must still hold exactly the bytes the keeper last read (the agent
// may have refreshed meanwhile); then a fresh temp file beside it (created 0600, never through a
// link), fsync, rename — the same steps as @sbx/atomic-file, which cannot be loaded in here.
const WRITE_SCRIPT = `${OPEN_STORE}
const root=process.argv[1],name=process.argv[2],rel=FILES[name];
const input=JSON.parse(fs.readFileSync(0,"utf8")),data=Buffer.from(input.data,"base64");
const say=(o)=>process.stdout.write(JSON.stringify(o));
try{if(!rel)throw refused("unknown store");if(data.length>MAX)throw refused("larger than 64 KiB");
const dir=storeDir(root,rel),file=path.join(dir,path.basename(rel));const current=readStore(file);
const seen=current===undefined?"absent":crypto.createHash("sha256").update(current).digest("hex");
if(seen!==input.expect){say({result:"conflict"});}else{
const tmp=path.join(dir,"."+path.basename(rel)+".sbx-keeper-"+process.pid+"-"+crypto.randomBytes(6).toString("hex")+".tmp");
const fd=fs.openSync(tmp,C.O_WRONLY|C.O_CREAT|C.O_EXCL|C.O_NOFOLLOW,0o600);
try{fs.writeSync(fd,data);fs.fsyncSync(fd);}finally{fs.closeSync(fd);}
try{fs.renameSync(tmp,file);}catch(e){fs.rmSync(tmp,{force:true});throw e;}say({result:"written"});}}
catch(e){say({result:"refused",reason:e.refused||e.code||"failed"});}`;

// Codex saves its login under an exclusive flock(2) on auth.lock beside it; the keeper takes the same
// lock (util-linux flock, when the sandbox has it, and never through a planted link) so the two
// never interleave. The other agents keep no lock; the compare-and-swap covers them.
const WRITE_LAUNCHER = `if [ "$2" = codex ] && command -v flock >/dev/null 2>&1 && [ -d "$1/codex" ] && [ ! -L "$1/codex" ] && [ ! -L "$1/codex/auth.lock" ]; then
  exec flock -w 5 "$1/codex/auth.lock" node -e "$3" "$1" "$2"
fi
exec node -e "$3" "$1" "$2"`;

/** The fixed commands, exported so a test can prove no secret ever reaches an argv. */
export const SANDBOX_PROGRAMS = { poll: POLL_SCRIPT, read: READ_SCRIPT, write: WRITE_SCRIPT, writeLauncher: WRITE_LAUNCHER } as const;

export type SandboxStoreRead = { status: "ok"; data: Buffer } | { status: "absent" } | { status: "refused"; reason: string };

export type SandboxRuntime = Pick<ContainerRuntime, "exec" | "listContainers">;

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Collects at most `limit` bytes; a sandbox that answers more is cut off and treated as refusing. */
class BoundedSink extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  overflow = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    if (this.size + chunk.length > this.limit) this.overflow = true;
    else this.chunks.push(chunk);
    this.size += chunk.length;
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

const EXEC_TIMEOUT_MS = 30_000;

async function boundedExec(runtime: SandboxRuntime, container: string, cmd: string[], limit: number, stdin?: string): Promise<string | undefined> {
  const stdout = new BoundedSink(limit);
  const stderr = new BoundedSink(4096);
  // A sandbox that never answers (frozen, an engine that hangs) must not stall every later round:
  // the keeper moves on, and the heartbeat stays fresh.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), EXEC_TIMEOUT_MS)));
  const result = await Promise.race([runtime.exec(container, { cmd, stdout, stderr, ...(stdin === undefined ? {} : { stdin }) }), timeout]).finally(() => clearTimeout(timer));
  if (!result || result.exitCode !== 0 || stdout.overflow) return undefined;
  return stdout.text();
}

export interface SandboxPoll {
  /** The stores' change signature (no value in it: inodes, sizes, times). */
  signature: string;
  /** Every store's bytes, when the signature differs from the one passed in. */
  reads?: Record<KeptProvider, SandboxStoreRead>;
}

/**
 * One round's look at a sandbox: one exec, which reads the stores only if they changed since
 * `previous`. `undefined` when the sandbox did not answer or answered nonsense.
 */
export async function pollSandboxStores(
  runtime: SandboxRuntime,
  container: string,
  previous: string | undefined,
  stateDir = DEFAULT_SANDBOX_STATE_DIR,
): Promise<SandboxPoll | undefined> {
  // base64 of four files of at most 64 KiB each, plus the JSON around them and the signature.
  const limit = (KEPT_PROVIDERS.length * MAX_CREDENTIAL_BYTES * 4) / 3 + 16_384;
  const text = await boundedExec(runtime, container, ["sh", "-c", POLL_SCRIPT, "sbx-keeper-poll", stateDir, previous ?? "", READ_SCRIPT], limit);
  if (text === undefined) return undefined;
  const split = text.indexOf("\n--\n");
  if (split < 0) return { signature: text.replace(/\n$/, "") };
  const signature = text.slice(0, split);
  const reads = parseReads(text.slice(split + 4));
  return reads ? { signature, reads } : undefined;
}

function parseReads(text: string): Record<KeptProvider, SandboxStoreRead> | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof answer !== "object" || answer === null) return undefined;
  const reads = {} as Record<KeptProvider, SandboxStoreRead>;
  for (const provider of KEPT_PROVIDERS) {
    const item = (answer as Record<string, { status?: unknown; data?: unknown; reason?: unknown }>)[provider];
    if (item?.status === "ok" && typeof item.data === "string") {
      const data = Buffer.from(item.data, "base64");
      reads[provider] = data.length > MAX_CREDENTIAL_BYTES ? { status: "refused", reason: "larger than 64 KiB" } : { status: "ok", data };
    } else if (item?.status === "refused") {
      // The reason is the sandbox's text: keep it to a short word list, never echo it freely.
      const reason = typeof item.reason === "string" && /^[A-Za-z0-9 ]{1,40}$/.test(item.reason) ? item.reason : "refused";
      reads[provider] = { status: "refused", reason };
    } else reads[provider] = { status: "absent" };
  }
  return reads;
}

export type SandboxWriteResult = "written" | "conflict" | "refused" | "failed";

/** Compare-and-swap inside the sandbox: replaces the store only if it still holds `expectSha256`. */
export async function writeSandboxStore(
  runtime: SandboxRuntime,
  container: string,
  provider: KeptProvider,
  content: Uint8Array,
  expectSha256: string,
  stateDir = DEFAULT_SANDBOX_STATE_DIR,
): Promise<SandboxWriteResult> {
  const stdin = JSON.stringify({ expect: expectSha256, data: Buffer.from(content).toString("base64") });
  const text = await boundedExec(runtime, container, ["sh", "-c", WRITE_LAUNCHER, "sbx-keeper-write", stateDir, provider, WRITE_SCRIPT], 1024, stdin).catch(() => undefined);
  if (text === undefined) return "failed";
  try {
    const result = (JSON.parse(text) as { result?: unknown }).result;
    return result === "written" || result === "conflict" || result === "refused" ? result : "failed";
  } catch {
    return "failed";
  }
}
