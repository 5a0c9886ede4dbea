import { describe, expect, it } from "vitest";
import { parseStore, type KeptProvider } from "./credential-shapes.js";
import { decideSync, type CopyView } from "./sync-decision.js";

const NOW = Date.UTC(2026, 11, 1, 12);
const HOUR = 3_600_000;

const claude = (refreshToken: string, expiresAt: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ claudeAiOauth: { accessToken: `at-${refreshToken}`, refreshToken, expiresAt, scopes: ["user:inference"], subscriptionType: "max", ...extra } });

function parsed(provider: KeptProvider, text: string) {
  const store = parseStore(provider, Buffer.from(text));
  if (!store.ok) throw new Error(store.reason);
  return store;
}

const copy = (id: string, provider: KeptProvider, text: string, skewMs = 0): CopyView => ({ id, skewMs, ...parsed(provider, text) });
const json = (buffer: Buffer | undefined) => JSON.parse(buffer?.toString() ?? "null");

describe("decideSync", () => {
  it("carries a sandbox's refresh to the host with its real expiry, and the skewed copy back to every sandbox", () => {
    const host = parsed("claude", claude("rt-1", NOW + HOUR));
    const decision = decideSync("claude", host, [copy("a", "claude", claude("rt-2", NOW + 8 * HOUR), 300_000), copy("b", "claude", claude("rt-1", NOW + HOUR - 600_000), 600_000)], NOW);
    expect(json(decision.host?.content).claudeAiOauth).toEqual({ accessToken: "at-rt-2", refreshToken: "rt-2", expiresAt: NOW + 8 * HOUR, scopes: ["user:inference"], subscriptionType: "max" });
    expect(decision.host?.carried).toEqual([{ key: "claudeAiOauth", from: "a", freshness: NOW + 8 * HOUR }]);
    // The other sandbox gets the new login, skewed; the one that refreshed keeps its copy this round.
    expect(decision.copies.map((item) => [item.id, item.reason])).toEqual([["b", "newer"]]);
    expect(json(decision.copies[0]?.content).claudeAiOauth).toMatchObject({ refreshToken: "rt-2", expiresAt: NOW + 8 * HOUR - 600_000 });
    // The next round, the host holding it, the sandbox that refreshed gets its own login back, skewed.
    const landed = parsed("claude", decision.host?.content.toString() ?? "");
    const next = decideSync("claude", landed, [copy("a", "claude", claude("rt-2", NOW + 8 * HOUR), 300_000), copy("b", "claude", decision.copies[0]?.content.toString() ?? "", 600_000)], NOW);
    expect(next.host).toBeUndefined();
    expect(next.copies.map((item) => [item.id, item.reason])).toEqual([["a", "skew"]]);
    expect(json(next.copies[0]?.content).claudeAiOauth).toMatchObject({ refreshToken: "rt-2", expiresAt: NOW + 8 * HOUR - 300_000 });
  });

  it("keeps a refresh a keeper was killed in the middle of carrying: the refreshing copy is not skewed before the host holds it", () => {
    // As in the real-container simulation: tokens that live for less than two skew steps, so the
    // refreshing copy's login, skewed, looks older than the host's.
    const skew = 600_000;
    const host = parsed("claude", claude("rt-1", NOW + 10 * 60_000));
    let copies = [copy("a", "claude", claude("rt-2", NOW + 15 * 60_000), skew), copy("b", "claude", claude("rt-1", NOW + 10 * 60_000 - 2 * skew), 2 * skew)];
    const first = decideSync("claude", host, copies, NOW);
    expect(first.host?.carried).toEqual([{ key: "claudeAiOauth", from: "a", freshness: NOW + 15 * 60_000 }]);
    expect(first.copies.map((item) => item.id)).toEqual(["b"]);
    // Killed after the sandboxes' writes, before the host's: the next keeper still finds rt-2 newest.
    copies = copies.map((item) => {
      const written = first.copies.find((change) => change.id === item.id);
      return written ? copy(item.id, "claude", written.content.toString(), item.skewMs) : item;
    });
    const next = decideSync("claude", host, copies, NOW + 1000);
    expect(json(next.host?.content).claudeAiOauth).toMatchObject({ refreshToken: "rt-2", expiresAt: NOW + 15 * 60_000 });
    for (const change of next.copies) expect(json(change.content).claudeAiOauth.refreshToken).toBe("rt-2");
    // Once the host holds it, the copy that refreshed gets its skew.
    const landed = parsed("claude", claude("rt-2", NOW + 15 * 60_000));
    const after = decideSync("claude", landed, copies, NOW + 2000);
    expect(after.host).toBeUndefined();
    expect(after.copies.map((item) => [item.id, item.reason])).toEqual([["a", "skew"]]);
    expect(json(after.copies[0]?.content).claudeAiOauth).toMatchObject({ refreshToken: "rt-2", expiresAt: NOW + 15 * 60_000 - skew });
  });

  it("takes a copy holding the host's refresh token as the same generation, whatever its (skewed) expiry says", () => {
    const host = parsed("claude", claude("rt-1", NOW + HOUR));
    const decision = decideSync("claude", host, [copy("a", "claude", claude("rt-1", NOW + HOUR - 300_000), 300_000)], NOW);
    expect(decision).toEqual({ copies: [], refused: [] });
  });

  it("carries the host's own refresh into the sandboxes", () => {
    const host = parsed("claude", claude("rt-9", NOW + 8 * HOUR));
    const decision = decideSync("claude", host, [copy("a", "claude", claude("rt-1", NOW + HOUR - 300_000), 300_000)], NOW);
    expect(decision.host).toBeUndefined();
    expect(json(decision.copies[0]?.content).claudeAiOauth).toMatchObject({ refreshToken: "rt-9", expiresAt: NOW + 8 * HOUR - 300_000 });
  });

  it("never lets a sandbox replace a newer host login with an older one", () => {
    const host = parsed("claude", claude("rt-new", NOW + 8 * HOUR));
    const decision = decideSync("claude", host, [copy("a", "claude", claude("rt-old", NOW + HOUR))], NOW);
    expect(decision.host).toBeUndefined();
    expect(json(decision.copies[0]?.content).claudeAiOauth.refreshToken).toBe("rt-new");
  });

  it("refuses a login of another plan, and an expiry no refresh gives, keeping the host's", () => {
    const host = parsed("claude", claude("rt-1", NOW + HOUR));
    const otherPlan = copy("a", "claude", claude("rt-2", NOW + 8 * HOUR, { subscriptionType: "pro" }));
    const farFuture = copy("b", "claude", claude("rt-3", NOW + 400 * 24 * HOUR));
    const decision = decideSync("claude", host, [otherPlan, farFuture], NOW);
    expect(decision.host).toBeUndefined();
    expect(decision.refused).toEqual([
      { id: "a", key: "claudeAiOauth", reason: "its subscriptionType is not the host's" },
      { id: "b", key: "claudeAiOauth", reason: "its expiry lies further ahead than any real refresh gives" },
    ]);
    // The forged copy is brought back to the host's login; another account's login is left alone.
    expect(decision.copies.map((item) => item.id)).toEqual(["b"]);
  });

  it("copies only the token fields back: a sandbox's extra keys never reach the host's file", () => {
    const host = parsed("claude", claude("rt-1", NOW + HOUR));
    const hostile = JSON.stringify({ claudeAiOauth: { accessToken: "at-2", refreshToken: "rt-2", expiresAt: NOW + 2 * HOUR, subscriptionType: "max", scopes: ["everything"], injected: "x" }, mcpServers: { evil: {} } });
    const decision = decideSync("claude", host, [copy("a", "claude", hostile)], NOW);
    const written = json(decision.host?.content);
    expect(written).toEqual({ claudeAiOauth: { accessToken: "at-2", refreshToken: "rt-2", expiresAt: NOW + 2 * HOUR, scopes: ["user:inference"], subscriptionType: "max" } });
  });

  it("leaves alone a copy that refreshed without rotating (Gemini keeps its refresh token)", () => {
    const gemini = (access: string, expiry: number) => JSON.stringify({ access_token: access, refresh_token: "1//rt", expiry_date: expiry, token_type: "Bearer", scope: "x" });
    const host = parsed("gemini", gemini("ya29.host", NOW + HOUR));
    const decision = decideSync("gemini", host, [copy("a", "gemini", gemini("ya29.sandbox", NOW + 2 * HOUR))], NOW);
    expect(decision).toEqual({ copies: [], refused: [] });
  });

  it("keeps each opencode entry on its own, and never adds an entry the host lacks", () => {
    const opencode = (entries: Record<string, unknown>) => JSON.stringify(entries);
    const host = parsed(
      "opencode",
      opencode({ anthropic: { type: "oauth", refresh: "a-1", access: "x-1", expires: NOW + HOUR }, openai: { type: "oauth", refresh: "o-1", access: "y-1", expires: NOW + HOUR, accountId: "acct-1" }, groq: { type: "api", key: "k" } }),
    );
    const sandbox = copy(
      "a",
      "opencode",
      opencode({
        anthropic: { type: "oauth", refresh: "a-2", access: "x-2", expires: NOW + 2 * HOUR },
        openai: { type: "oauth", refresh: "o-2", access: "y-2", expires: NOW + 2 * HOUR, accountId: "acct-other" },
        extra: { type: "oauth", refresh: "e-1", access: "z-1", expires: NOW + 2 * HOUR },
      }),
    );
    const decision = decideSync("opencode", host, [sandbox], NOW);
    const written = json(decision.host?.content);
    expect(written.anthropic).toEqual({ type: "oauth", refresh: "a-2", access: "x-2", expires: NOW + 2 * HOUR });
    expect(written.openai.refresh).toBe("o-1");
    expect(written.groq).toEqual({ type: "api", key: "k" });
    expect(written.extra).toBeUndefined();
    expect(decision.refused).toEqual([{ id: "a", key: "openai", reason: "its accountId is not the host's" }]);
  });

  it("orders Codex logins by last_refresh and keeps the id_token with them", () => {
    const codex = (rt: string, lastRefresh: number, accountId = "acct-1") =>
      JSON.stringify({ OPENAI_API_KEY: null, tokens: { id_token: `h.${Buffer.from(JSON.stringify({ email: "ada@example.com" })).toString("base64url")}.s`, access_token: `at-${rt}`, refresh_token: rt, account_id: accountId }, last_refresh: new Date(lastRefresh).toISOString() });
    const host = parsed("codex", codex("rt-1", NOW - 2 * HOUR));
    const decision = decideSync("codex", host, [copy("a", "codex", codex("rt-2", NOW - 60_000), 300_000)], NOW);
    expect(json(decision.host?.content)).toMatchObject({ tokens: { refresh_token: "rt-2", account_id: "acct-1" }, last_refresh: new Date(NOW - 60_000).toISOString() });
    expect(decision.copies).toEqual([]);
    const next = decideSync("codex", parsed("codex", decision.host?.content.toString() ?? ""), [copy("a", "codex", codex("rt-2", NOW - 60_000), 300_000)], NOW);
    expect(json(next.copies[0]?.content).last_refresh).toBe(new Date(NOW - 60_000 - 300_000).toISOString());
    const otherAccount = decideSync("codex", host, [copy("a", "codex", codex("rt-3", NOW - 60_000, "acct-2"))], NOW);
    expect(otherAccount.host).toBeUndefined();
  });
});

describe("parseStore", () => {
  it("refuses what is not a well-formed login of the provider", () => {
    expect(parseStore("claude", Buffer.from("{not json"))).toEqual({ ok: false, reason: "not JSON" });
    expect(parseStore("claude", Buffer.from("[]"))).toEqual({ ok: false, reason: "not a JSON object" });
    expect(parseStore("claude", Buffer.from(JSON.stringify({ claudeAiOauth: { accessToken: "a", refreshToken: "has space", expiresAt: 1 } })))).toMatchObject({ ok: false });
    expect(parseStore("claude", Buffer.from(JSON.stringify({ claudeAiOauth: { accessToken: "a", refreshToken: "b", expiresAt: "soon" } })))).toMatchObject({ ok: false });
    expect(parseStore("codex", Buffer.from(JSON.stringify({ OPENAI_API_KEY: "sk-x" })))).toMatchObject({ ok: false, reason: expect.stringContaining("API-key") });
    expect(parseStore("claude", Buffer.alloc(64 * 1024 + 1, 32))).toEqual({ ok: false, reason: "larger than 64 KiB" });
  });
});
