import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileLog, parseEgressLog, summarizeEgressLog } from "./egress-log.js";

describe("the egress log", () => {
  it("stays bounded: past maxBytes the file becomes .1 and a new one starts", () => {
    const path = join(mkdtempSync(join(tmpdir(), "sbx-egress-log-")), "egress.jsonl");
    const log = fileLog(path, 2048);
    for (let i = 0; i < 100; i += 1) log.record({ transport: "connect", host: `host${i}.example`, port: 443, decision: "refused", rule: "not-listed", reason: "not listed" });
    expect(statSync(path).size).toBeLessThanOrEqual(2048);
    expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(2048);
    const entries = parseEgressLog(readFileSync(`${path}.1`, "utf8") + readFileSync(path, "utf8"));
    expect(entries.at(-1)?.host).toBe("host99.example");
    expect(entries.length).toBeLessThan(100);
  });

  it("skips a torn last line and groups entries per destination, decision and rule, newest last", () => {
    const line = (host: string, decision: string, rule: string, time: string) => JSON.stringify({ time, transport: "connect", host, port: 443, decision, rule, reason: `${host} ${rule}` });
    const text = [line("a.example", "allowed", "allowlist:a.example", "t1"), line("b.example", "refused", "not-listed", "t2"), line("a.example", "allowed", "allowlist:a.example", "t3"), '{"time":"t4","host":"c.exa'].join("\n");
    const entries = parseEgressLog(text);
    expect(entries).toHaveLength(3);
    expect(summarizeEgressLog(entries)).toEqual([
      { destination: "b.example:443", decision: "refused", rule: "not-listed", reason: "b.example not-listed", count: 1, last: "t2" },
      { destination: "a.example:443", decision: "allowed", rule: "allowlist:a.example", reason: "a.example allowlist:a.example", count: 2, last: "t3" },
    ]);
  });
});
