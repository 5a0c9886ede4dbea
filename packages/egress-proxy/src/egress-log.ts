import { appendFileSync, renameSync, statSync } from "node:fs";

/** One line of the proxy's log: which destination, what was decided, and the rule that decided. */
export interface EgressLogEntry {
  time: string;
  transport: "connect" | "http" | "dns";
  host: string;
  port: number;
  /** The address the proxy connected to (or would have), once resolved. */
  address?: string;
  decision: "allowed" | "refused" | "failed";
  rule: string;
  reason: string;
}

export interface EgressLogWriter {
  record(entry: Omit<EgressLogEntry, "time">): void;
}

/**
 * A bounded JSON-lines log: when the file passes `maxBytes` it becomes `<path>.1` (replacing the
 * previous one), so the proxy never holds more than about twice that on its small tmpfs. A log
 * that cannot be written never stops the proxy: visibility is not worth an outage.
 */
export function fileLog(path: string, maxBytes = 256 * 1024): EgressLogWriter {
  let size = (() => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  })();
  return {
    record(entry) {
      const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
      try {
        if (size + line.length > maxBytes) {
          renameSync(path, `${path}.1`);
          size = 0;
        }
        appendFileSync(path, line);
        size += Buffer.byteLength(line);
      } catch {
        // Full or read-only log directory: keep proxying (and refusing) without the record.
      }
    },
  };
}

/** Parses the log as the CLI reads it back (older file first); a line that is not an entry is skipped. */
export function parseEgressLog(text: string): EgressLogEntry[] {
  const entries: EgressLogEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as EgressLogEntry;
      if (typeof entry.host === "string" && typeof entry.decision === "string" && typeof entry.rule === "string") entries.push(entry);
    } catch {
      // A torn last line (the proxy was writing it): skip it.
    }
  }
  return entries;
}

export interface EgressLogSummary {
  destination: string;
  decision: EgressLogEntry["decision"];
  rule: string;
  reason: string;
  count: number;
  last: string;
}

/** Entries grouped per destination and decision, newest last: what `sbx network log` prints. */
export function summarizeEgressLog(entries: readonly EgressLogEntry[]): EgressLogSummary[] {
  const groups = new Map<string, EgressLogSummary>();
  for (const entry of entries) {
    const destination = entry.transport === "dns" ? `${entry.host} (dns)` : `${entry.host}:${entry.port}`;
    const key = `${destination}\0${entry.decision}\0${entry.rule}`;
    const group = groups.get(key);
    if (group) {
      group.count += 1;
      group.last = entry.time;
      group.reason = entry.reason;
      groups.delete(key);
      groups.set(key, group);
    } else groups.set(key, { destination, decision: entry.decision, rule: entry.rule, reason: entry.reason, count: 1, last: entry.time });
  }
  return [...groups.values()];
}
