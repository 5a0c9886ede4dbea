import { entryMismatch, withEntries, type KeptProvider, type TokenEntry } from "./credential-shapes.js";

/** A sandbox's copy of one store, already parsed and found well-formed. */
export interface CopyView {
  /** The sandbox (or shared state volume) it belongs to. */
  id: string;
  json: Record<string, unknown>;
  entries: ReadonlyMap<string, TokenEntry>;
  /**
   * How much earlier than the real expiry this copy is told the login expires, so this side
   * refreshes first and the keeper carries the result before anyone else's refresh comes due.
   */
  skewMs: number;
}

export interface HostView {
  json: Record<string, unknown>;
  entries: ReadonlyMap<string, TokenEntry>;
}

export interface SyncDecision {
  /** The host's new bytes, when a sandbox holds a newer generation of one of its logins. */
  host?: { content: Buffer; carried: Array<{ key: string; from: string; freshness: number }> };
  /** New bytes for copies that hold an older generation, or the right one with the wrong skew. */
  copies: Array<{ id: string; content: Buffer; keys: string[]; reason: "newer" | "skew" }>;
  /** Copies that claimed to be newer and were not accepted. Reasons are fixed text, never values. */
  refused: Array<{ id: string; key: string; reason: string }>;
}

/**
 * The whole policy of the keeper, pure: which side holds the newest generation of each login, and
 * what to write where. Newer means a different refresh token AND a later freshness (expiry): two
 * copies with one refresh token are one generation, whatever their expiry says — which is how the
 * skew the keeper gives each copy is told apart from a real refresh, with no memory needed across
 * restarts: a copy that refreshed keeps its real expiry until the host holds its generation. What
 * comes back to the host is the sandbox's real value (a sandbox's own refresh carries the server's
 * expiry); the skew is only ever applied on the way into a sandbox.
 *
 * A sandbox is untrusted: its entry must have the host entry's account facts, may not claim a
 * freshness no refresh gives, and only replaces the host's when it is strictly newer; only the
 * logins the host already has are considered (a sandbox cannot add one).
 */
export function decideSync(provider: KeptProvider, host: HostView, copies: readonly CopyView[], now: number): SyncDecision {
  const decision: SyncDecision = { copies: [], refused: [] };
  const hostChanges = new Map<string, TokenEntry>();
  const carried: NonNullable<SyncDecision["host"]>["carried"] = [];
  const copyChanges = new Map<string, { entries: Map<string, TokenEntry>; reason: "newer" | "skew" }>();

  for (const [key, hostEntry] of host.entries) {
    let best = hostEntry;
    let from = "host";
    for (const copy of copies) {
      const entry = copy.entries.get(key);
      if (!entry || entry.refreshToken === hostEntry.refreshToken || entry.refreshToken === best.refreshToken) continue;
      if (entry.freshness <= best.freshness) continue;
      const mismatch = entryMismatch(provider, hostEntry, entry, now);
      if (mismatch) {
        decision.refused.push({ id: copy.id, key, reason: mismatch });
        continue;
      }
      best = entry;
      from = copy.id;
    }
    if (from !== "host") {
      hostChanges.set(key, best);
      carried.push({ key, from, freshness: best.freshness });
    }

    for (const copy of copies) {
      const entry = copy.entries.get(key);
      // Never create a login in a sandbox, and leave alone one of another account (the user
      // logged in to something else in there on purpose).
      if (!entry || Object.entries(hostEntry.account).some(([fact, value]) => entry.account[fact] !== value)) continue;
      const target: TokenEntry = { ...best, freshness: best.freshness - copy.skewMs };
      let reason: "newer" | "skew" | undefined;
      if (entry.refreshToken !== best.refreshToken) {
        // An older generation, or a claim that was refused: either way the copy is brought back.
        reason = "newer";
      } else if (entry.accessToken === best.accessToken && entry.freshness !== target.freshness && from !== copy.id) {
        // The same generation, not yet (or no longer) skewed right. A copy with this refresh token
        // and another access token refreshed without rotation (Gemini): its own, left alone.
        // Nor the copy whose refresh goes to the host this round: until the host holds it, that
        // copy's real expiry is the only record that it is the newest — skewed, it can look older
        // than the host's, and a keeper killed before the host's write would carry the spent login
        // back to everyone (the simulation's revocation, with tokens living under two skew steps).
        // The next round, the host holding it, skews it.
        reason = "skew";
      }
      if (!reason) continue;
      const change = copyChanges.get(copy.id) ?? { entries: new Map<string, TokenEntry>(), reason };
      if (reason === "newer") change.reason = "newer";
      change.entries.set(key, target);
      copyChanges.set(copy.id, change);
    }
  }

  if (hostChanges.size) decision.host = { content: withEntries(provider, host.json, hostChanges), carried };
  for (const copy of copies) {
    const change = copyChanges.get(copy.id);
    if (change) decision.copies.push({ id: copy.id, content: withEntries(provider, copy.json, change.entries), keys: [...change.entries.keys()], reason: change.reason });
  }
  return decision;
}
