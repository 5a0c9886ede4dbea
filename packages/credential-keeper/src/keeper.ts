import type { HostCredentialStore } from "@sbx/auth-probes";
import type { ContainerInfo } from "@sbx/container-runtime";
import { KEPT_PROVIDERS, parseStore, type KeptProvider, type ParsedStore } from "./credential-shapes.js";
import {
  DEFAULT_SANDBOX_STATE_DIR,
  pollSandboxStores,
  sha256,
  writeSandboxStore,
  type SandboxRuntime,
  type SandboxStoreRead,
} from "./sandbox-copy.js";
import { decideSync, type CopyView } from "./sync-decision.js";

/** The label that names a sandbox's login (sbx's own, see apps/cli sandbox-identity). */
export const LOGIN_LABEL = "dev.sbx.login";

export interface KeeperOptions {
  login: string;
  runtime: SandboxRuntime;
  /** The host's stores (`hostCredentialStores` from @sbx/auth-probes). */
  stores: readonly HostCredentialStore[];
  /**
   * The skew step: the n-th sandbox copy (by name order) is told its login expires n × this much
   * earlier than it really does, so the copies and the host never come due at once.
   * @default 5 minutes
   */
  skewMs?: number;
  /** How often the list of running sandboxes is refreshed. @default 5000 */
  listEveryMs?: number;
  /** The sandbox user's login-state directory. @default /home/sandbox/.llm */
  sandboxStateDir?: string;
  /** One line per change carried or refused; never a value. */
  log?: (line: string) => void;
  /** @default Date.now */
  now?: () => number;
  /** Log how long each slow round (over 500 ms) took. @default false */
  debug?: boolean;
}

export interface ProviderStatus {
  provider: KeptProvider;
  where: string;
  /** The host's login expiry (or Codex's last refresh), epoch ms. */
  hostFreshness?: number;
  lastRefresh?: { side: string; at: number };
  lastCarried?: { to: string; at: number };
  note?: string;
}

export interface KeeperStatus {
  login: string;
  sandboxes: string[];
  lastSyncAt?: number;
  providers: ProviderStatus[];
}

interface CachedStore {
  sha: string;
  bytes: Buffer;
  parsed: ParsedStore;
}

interface Group {
  /** The state volume the sandboxes share, or the container's own name. */
  id: string;
  container: string;
  names: string[];
}

interface GroupCache {
  signature?: string;
  stores: Partial<Record<KeptProvider, CachedStore | { absent: true } | { refused: string }>>;
}

/**
 * One round at a time, the keeper of one login: keeps the host's store of each provider and every
 * running sandbox's copy on the newest generation of the login. A round costs one `stat` exec per
 * sandbox (a state volume shared by several sandboxes is one copy, read through one of them), and
 * a read only when something changed; the host is polled by inode/size/mtime.
 */
export class CredentialKeeper {
  readonly #options: Required<Omit<KeeperOptions, "log" | "now" | "debug">> & Pick<KeeperOptions, "log" | "debug">;
  readonly #now: () => number;
  #groups: Group[] = [];
  #listedAt = Number.NEGATIVE_INFINITY;
  #listing: Promise<unknown> | undefined;
  #listFailures = 0;
  readonly #host = new Map<KeptProvider, { hint: string | undefined; cached?: CachedStore | undefined; store: HostCredentialStore }>();
  readonly #copies = new Map<string, GroupCache>();
  readonly #status = new Map<KeptProvider, ProviderStatus>();
  #lastSyncAt: number | undefined;

  constructor(options: KeeperOptions) {
    this.#options = {
      skewMs: 5 * 60_000,
      listEveryMs: 5000,
      sandboxStateDir: DEFAULT_SANDBOX_STATE_DIR,
      ...options,
    };
    this.#now = options.now ?? Date.now;
    for (const store of options.stores) {
      if (!KEPT_PROVIDERS.includes(store.provider)) continue;
      this.#host.set(store.provider, { hint: "", store });
      this.#status.set(store.provider, { provider: store.provider, where: store.where });
    }
  }

  /** The running sandboxes of the login, as of the last listing. */
  get sandboxes(): string[] {
    return this.#groups.flatMap((group) => group.names).sort();
  }

  status(): KeeperStatus {
    return { login: this.#options.login, sandboxes: this.sandboxes, ...(this.#lastSyncAt ? { lastSyncAt: this.#lastSyncAt } : {}), providers: [...this.#status.values()] };
  }

  /** Lists the login's running sandboxes now (the round does it every `listEveryMs`). */
  async listSandboxes(): Promise<string[]> {
    const containers = await this.#options.runtime.listContainers({ labels: { [LOGIN_LABEL]: this.#options.login } });
    this.#groups = groupByStateVolume(
      containers.filter((container) => container.state === "running" && container.labels[LOGIN_LABEL] === this.#options.login),
      this.#options.sandboxStateDir,
    );
    this.#listedAt = this.#now();
    for (const id of this.#copies.keys()) if (!this.#groups.some((group) => group.id === id)) this.#copies.delete(id);
    return this.sandboxes;
  }

  /** One round. Returns the number of running sandboxes (0: nothing left to keep). */
  async syncOnce(): Promise<number> {
    // The listing (one engine call per container) runs in the background, never holding up a round,
    // unless there is nothing to keep yet.
    if (!this.#listing && this.#now() - this.#listedAt >= this.#options.listEveryMs) {
      this.#listing = this.listSandboxes()
        .then(() => (this.#listFailures = 0))
        .catch(() => {
          // An engine that stopped answering (Docker quit, the machine's VM gone) runs no sandbox
          // the keeper can reach: after a few tries it counts as none, so the keeper stops.
          this.#listFailures += 1;
          if (this.#listFailures >= 3) this.#groups = [];
        })
        .finally(() => (this.#listing = undefined));
      if (this.#groups.length === 0) await this.#listing;
    }
    if (this.#groups.length === 0) return 0;
    const t0 = Date.now();
    const listing = this.#listing !== undefined;
    await Promise.all([this.#refreshHost(), ...this.#groups.map((group) => this.#refreshCopy(group))]);
    const t1 = Date.now();
    for (const provider of this.#host.keys()) await this.#syncProvider(provider);
    if (this.#options.debug && Date.now() - t0 > 500) this.#log(`debug: round took ${t1 - t0} ms to look + ${Date.now() - t1} ms to write${listing ? " (listing)" : ""}`);
    this.#lastSyncAt = this.#now();
    return this.#groups.length;
  }

  async #refreshHost(): Promise<void> {
    await Promise.all(
      [...this.#host.entries()].map(async ([provider, side]) => {
        const hint = await side.store.changeHint().catch(() => undefined);
        if (hint !== undefined && hint === side.hint) return;
        const bytes = await side.store.read().catch(() => undefined);
        const previous = side.cached;
        side.hint = hint;
        side.cached = bytes ? { bytes, sha: sha256(bytes), parsed: parseStore(provider, bytes) } : undefined;
        if (side.cached && previous && side.cached.sha !== previous.sha) this.#noteHostChange(provider, previous, side.cached);
      }),
    );
  }

  #noteHostChange(provider: KeptProvider, before: CachedStore, after: CachedStore): void {
    if (!before.parsed.ok || !after.parsed.ok) return;
    for (const [key, entry] of after.parsed.entries) {
      const old = before.parsed.entries.get(key);
      if (old && old.refreshToken !== entry.refreshToken && entry.freshness > old.freshness) {
        this.#update(provider, { lastRefresh: { side: "host", at: this.#now() }, hostFreshness: entry.freshness });
        this.#log(`${provider}: the host refreshed its login${key === defaultKey(provider) ? "" : ` (${key})`}`);
      }
    }
  }

  async #refreshCopy(group: Group): Promise<void> {
    const cache = this.#copies.get(group.id) ?? { stores: {} };
    this.#copies.set(group.id, cache);
    const poll = await pollSandboxStores(this.#options.runtime, group.container, cache.signature, this.#options.sandboxStateDir).catch(() => undefined);
    if (!poll) {
      cache.signature = undefined;
      cache.stores = {};
      return;
    }
    cache.signature = poll.signature;
    if (!poll.reads) return;
    for (const provider of KEPT_PROVIDERS) cache.stores[provider] = toCached(provider, poll.reads[provider]);
  }

  async #syncProvider(provider: KeptProvider): Promise<void> {
    const side = this.#host.get(provider);
    const host = side?.cached;
    if (!side || !host?.parsed.ok) return;
    const copies: Array<CopyView & { sha: string; group: Group }> = [];
    this.#groups.forEach((group, index) => {
      const cached = this.#copies.get(group.id)?.stores[provider];
      if (!cached) return;
      if ("refused" in cached) return this.#refusedOnce(provider, group, cached.refused);
      if ("absent" in cached) return;
      if (!cached.parsed.ok) return this.#refusedOnce(provider, group, cached.parsed.reason);
      copies.push({ id: group.id, json: cached.parsed.json, entries: cached.parsed.entries, skewMs: this.#options.skewMs * (index + 1), sha: cached.sha, group });
    });
    if (copies.length === 0) return;
    const now = this.#now();
    const decision = decideSync(provider, host.parsed, copies, now);
    for (const item of decision.refused) {
      this.#log(`${provider}: refused the copy in ${this.#groupName(item.id)}: ${item.reason}; the host's login stays`);
    }

    const writes: Array<Promise<void>> = [];
    const carriedTo: string[] = [];
    let carriedToHost = false;
    if (decision.host) {
      const hostWrite = decision.host;
      writes.push(
        (async () => {
          // Compare-and-swap on the host: the login must still be the one this round read.
          const current = await side.store.read().catch(() => undefined);
          if (!current || sha256(current) !== host.sha) {
            side.hint = "";
            return;
          }
          try {
            await side.store.write(hostWrite.content);
          } catch (error) {
            this.#update(provider, { note: (error as Error).message });
            this.#log(`${provider}: could not write the host's login: ${(error as Error).message}`);
            return;
          }
          side.cached = { bytes: hostWrite.content, sha: sha256(hostWrite.content), parsed: parseStore(provider, hostWrite.content) };
          side.hint = await side.store.changeHint().catch(() => undefined);
          carriedToHost = true;
          for (const item of hostWrite.carried) {
            const from = this.#groupName(item.from);
            this.#update(provider, { lastRefresh: { side: `sandbox ${from}`, at: now }, lastCarried: { to: "host", at: now }, hostFreshness: item.freshness, note: undefined });
            this.#log(`${provider}: the sandbox ${from} refreshed${item.key === defaultKey(provider) ? "" : ` ${item.key}`} (valid until ${new Date(item.freshness).toISOString()}); carried to the host`);
          }
        })(),
      );
    }
    // Every copy at once: the carry is done when the slowest exec returns, not the sum of them.
    for (const change of decision.copies) {
      const copy = copies.find((item) => item.id === change.id);
      if (!copy) continue;
      writes.push(
        (async () => {
          const result = await writeSandboxStore(this.#options.runtime, copy.group.container, provider, change.content, copy.sha, this.#options.sandboxStateDir);
          const cache = this.#copies.get(copy.id);
          if (!cache) return;
          // Our own write changes the stat signature: the next round reads the copy once more and
          // finds these bytes (off the path of the carry itself).
          cache.signature = undefined;
          if (result === "written") {
            cache.stores[provider] = { bytes: change.content, sha: sha256(change.content), parsed: parseStore(provider, change.content) };
            if (change.reason === "newer") carriedTo.push(this.#groupName(copy.id));
          } else if (result === "conflict") {
            this.#log(`${provider}: the copy in ${this.#groupName(copy.id)} changed while the keeper wrote it; next round decides again`);
          } else {
            this.#log(`${provider}: could not update the copy in ${this.#groupName(copy.id)} (${result})`);
          }
        })(),
      );
    }
    await Promise.all(writes);
    if (carriedTo.length || carriedToHost) this.#update(provider, { lastCarried: { to: [...(carriedToHost ? ["host"] : []), ...carriedTo].join(", "), at: now } });
    if (carriedTo.length) {
      this.#log(`${provider}: carried the newest login to ${carriedTo.join(", ")}`);
    }
    if (!this.#status.get(provider)?.hostFreshness) {
      const entry = [...host.parsed.entries.values()][0];
      if (entry) this.#update(provider, { hostFreshness: entry.freshness });
    }
  }

  readonly #refusedSeen = new Set<string>();
  #refusedOnce(provider: KeptProvider, group: Group, reason: string): void {
    const key = `${provider}|${group.id}|${reason}`;
    if (this.#refusedSeen.has(key)) return;
    this.#refusedSeen.add(key);
    this.#log(`${provider}: ignored the copy in ${group.names.join(", ")}: ${reason}`);
  }

  #groupName(id: string): string {
    return this.#groups.find((group) => group.id === id)?.names.join(", ") ?? id;
  }

  #update(provider: KeptProvider, patch: Partial<ProviderStatus>): void {
    const current = this.#status.get(provider);
    if (!current) return;
    const next = { ...current, ...patch };
    if (patch.note === undefined && "note" in patch) delete next.note;
    this.#status.set(provider, next);
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}

const defaultKey = (provider: KeptProvider) => ({ claude: "claudeAiOauth", codex: "tokens", gemini: "oauth", opencode: "" })[provider];

function toCached(provider: KeptProvider, read: SandboxStoreRead): CachedStore | { absent: true } | { refused: string } {
  if (read.status === "absent") return { absent: true };
  if (read.status === "refused") return { refused: read.reason };
  return { bytes: read.data, sha: sha256(read.data), parsed: parseStore(provider, read.data) };
}

/** Sandboxes that mount one state volume share one copy: it is read and written through one of them. */
function groupByStateVolume(containers: ContainerInfo[], stateDir: string): Group[] {
  const groups = new Map<string, Group>();
  for (const container of [...containers].sort((a, b) => a.name.localeCompare(b.name))) {
    const mount = container.mounts.find((item) => item.target === stateDir && item.source);
    const id = mount?.source ? `${mount.type}:${mount.source}` : `container:${container.name}`;
    const group = groups.get(id);
    if (group) group.names.push(container.name);
    else groups.set(id, { id, container: container.name, names: [container.name] });
  }
  return [...groups.values()].sort((a, b) => a.id.localeCompare(b.id));
}
