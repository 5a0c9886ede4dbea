/**
 * What each agent's login file looks like, how to tell two generations of one login apart, and
 * which fields may come back from a sandbox. A sandbox's copy is untrusted input: it is parsed
 * here and nothing else of it is ever used, and only the token fields (never account facts, never
 * unknown keys) are copied onto the host's own file.
 */

export type KeptProvider = "claude" | "codex" | "gemini" | "opencode";

export const KEPT_PROVIDERS: readonly KeptProvider[] = ["claude", "codex", "gemini", "opencode"];

/** The largest login file the keeper reads or writes on either side. */
export const MAX_CREDENTIAL_BYTES = 64 * 1024;
const MAX_TOKEN_CHARS = 16 * 1024;

/** One refreshable login inside a store (a store holds one, opencode's holds one per provider). */
export interface TokenEntry {
  refreshToken: string;
  accessToken: string;
  /**
   * When the login is due for a refresh, in epoch ms, as the agent decides it: Claude's, Gemini's
   * and opencode's access-token expiry; for Codex the `last_refresh` time (it refreshes a fixed
   * age after it). Later means newer.
   */
  freshness: number;
  /** Other token fields that travel with the pair (Codex's and Gemini's `id_token`). */
  extra: Record<string, string>;
  /** Account facts that must be the same on both sides (account id, email, plan). Never logged. */
  account: Record<string, string>;
}

export type ParsedStore = { ok: true; json: Record<string, unknown>; entries: Map<string, TokenEntry> } | { ok: false; reason: string };

interface ShapeDefinition {
  provider: KeptProvider;
  /** How far in the future a sandbox's freshness may claim to be (a larger one is a forgery). */
  maxAheadMs: number;
  entries(json: Record<string, unknown>): Map<string, TokenEntry> | string;
  /** Writes an entry's token fields onto `json` (a copy the caller owns). */
  apply(json: Record<string, unknown>, key: string, entry: TokenEntry): void;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
// Tokens are printable ASCII without spaces in every provider's format; anything else is not one.
const isToken = (value: unknown): value is string => typeof value === "string" && value.length > 0 && value.length <= MAX_TOKEN_CHARS && /^[\x21-\x7e]+$/.test(value);
const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value > 0 && value < 8.64e15;
const DAY = 86_400_000;

/** The `email` claim of an unsigned-checked JWT payload, when there is one (account shape only). */
function jwtEmail(token: string | undefined): string | undefined {
  const payload = token?.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { email?: unknown };
    return typeof claims.email === "string" ? claims.email : undefined;
  } catch {
    return undefined;
  }
}

const SHAPES: Record<KeptProvider, ShapeDefinition> = {
  // Claude Code 2.1.330: {"claudeAiOauth":{"accessToken","refreshToken","expiresAt"(ms),"scopes",
  // "subscriptionType","rateLimitTier"}}.
  claude: {
    provider: "claude",
    maxAheadMs: 2 * DAY,
    entries(json) {
      const oauth = json.claudeAiOauth;
      if (!isRecord(oauth)) return "no claudeAiOauth object";
      if (!isToken(oauth.accessToken) || !isToken(oauth.refreshToken)) return "claudeAiOauth lacks a well-formed token pair";
      if (!isTime(oauth.expiresAt)) return "claudeAiOauth.expiresAt is not a time";
      const account: Record<string, string> = {};
      if (typeof oauth.subscriptionType === "string") account.subscriptionType = oauth.subscriptionType;
      return new Map([["claudeAiOauth", { refreshToken: oauth.refreshToken, accessToken: oauth.accessToken, freshness: oauth.expiresAt, extra: {}, account }]]);
    },
    apply(json, _key, entry) {
      const oauth = { ...(json.claudeAiOauth as Record<string, unknown>) };
      Object.assign(oauth, { accessToken: entry.accessToken, refreshToken: entry.refreshToken, expiresAt: entry.freshness });
      json.claudeAiOauth = oauth;
    },
  },
  // Codex 0.171.0 in ChatGPT mode: {"OPENAI_API_KEY":null,"tokens":{"id_token","access_token",
  // "refresh_token","account_id"},"last_refresh":"<RFC 3339>"}. An API-key-only file has no tokens
  // and nothing to keep in step.
  codex: {
    provider: "codex",
    maxAheadMs: 10 * 60_000,
    entries(json) {
      const tokens = json.tokens;
      if (!isRecord(tokens)) return "no ChatGPT tokens (an API-key login needs no keeping)";
      if (!isToken(tokens.access_token) || !isToken(tokens.refresh_token)) return "tokens lacks a well-formed token pair";
      const lastRefresh = typeof json.last_refresh === "string" ? Date.parse(json.last_refresh) : Number.NaN;
      if (!isTime(lastRefresh)) return "last_refresh is not a time";
      const extra: Record<string, string> = {};
      if (tokens.id_token !== undefined) {
        if (!isToken(tokens.id_token)) return "tokens.id_token is not a token";
        extra.id_token = tokens.id_token;
      }
      const account: Record<string, string> = {};
      if (typeof tokens.account_id === "string") account.account_id = tokens.account_id;
      const email = jwtEmail(extra.id_token);
      if (email) account.email = email;
      return new Map([["tokens", { refreshToken: tokens.refresh_token, accessToken: tokens.access_token, freshness: lastRefresh, extra, account }]]);
    },
    apply(json, _key, entry) {
      const tokens: Record<string, unknown> = { ...(json.tokens as Record<string, unknown>), access_token: entry.accessToken, refresh_token: entry.refreshToken };
      if (entry.extra.id_token) tokens.id_token = entry.extra.id_token;
      json.tokens = tokens;
      json.last_refresh = new Date(entry.freshness).toISOString();
    },
  },
  // Gemini CLI 0.61.0 (google-auth-library): {"access_token","refresh_token","expiry_date"(ms),
  // "id_token","scope","token_type"}.
  gemini: {
    provider: "gemini",
    maxAheadMs: 2 * DAY,
    entries(json) {
      if (!isToken(json.access_token) || !isToken(json.refresh_token)) return "no well-formed access_token/refresh_token pair";
      if (!isTime(json.expiry_date)) return "expiry_date is not a time";
      const extra: Record<string, string> = {};
      if (json.id_token !== undefined) {
        if (!isToken(json.id_token)) return "id_token is not a token";
        extra.id_token = json.id_token;
      }
      const account: Record<string, string> = {};
      const email = jwtEmail(extra.id_token);
      if (email) account.email = email;
      return new Map([["oauth", { refreshToken: json.refresh_token, accessToken: json.access_token, freshness: json.expiry_date, extra, account }]]);
    },
    apply(json, _key, entry) {
      Object.assign(json, { access_token: entry.accessToken, refresh_token: entry.refreshToken, expiry_date: entry.freshness });
      if (entry.extra.id_token) json.id_token = entry.extra.id_token;
    },
  },
  // opencode 1.18.33: {"<provider>":{"type":"oauth","refresh","access","expires"(ms),"accountId"?}
  // | {"type":"api","key"} | …}. Each OAuth entry is its own login, kept on its own.
  opencode: {
    provider: "opencode",
    maxAheadMs: 2 * DAY,
    entries(json) {
      const entries = new Map<string, TokenEntry>();
      for (const [key, value] of Object.entries(json)) {
        if (!isRecord(value) || value.type !== "oauth") continue;
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) return "an entry name is not a provider id";
        if (!isToken(value.refresh) || !isToken(value.access)) return "an OAuth entry lacks a well-formed token pair";
        if (!isTime(value.expires)) return "an OAuth entry has no expiry time";
        const account: Record<string, string> = {};
        if (typeof value.accountId === "string") account.accountId = value.accountId;
        entries.set(key, { refreshToken: value.refresh, accessToken: value.access, freshness: value.expires, extra: {}, account });
      }
      return entries.size ? entries : "no OAuth entry";
    },
    apply(json, key, entry) {
      json[key] = { ...(json[key] as Record<string, unknown>), access: entry.accessToken, refresh: entry.refreshToken, expires: entry.freshness };
    },
  },
};

/** Parses a login file of `provider`; a malformed one is a reason (safe to log), never a throw. */
export function parseStore(provider: KeptProvider, bytes: Uint8Array): ParsedStore {
  if (bytes.length > MAX_CREDENTIAL_BYTES) return { ok: false, reason: "larger than 64 KiB" };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (!isRecord(json)) return { ok: false, reason: "not a JSON object" };
  const entries = SHAPES[provider].entries(json);
  return typeof entries === "string" ? { ok: false, reason: entries } : { ok: true, json, entries };
}

/** The bytes of `base` with each entry's token fields replaced; everything else of `base` kept. */
export function withEntries(provider: KeptProvider, base: Record<string, unknown>, entries: ReadonlyMap<string, TokenEntry>): Buffer {
  const json = structuredClone(base);
  for (const [key, entry] of entries) SHAPES[provider].apply(json, key, entry);
  return Buffer.from(`${JSON.stringify(json, null, 2)}\n`);
}

/** Why a sandbox's entry may not stand for the host's (undefined when it may). */
export function entryMismatch(provider: KeptProvider, host: TokenEntry, candidate: TokenEntry, now: number): string | undefined {
  for (const [fact, value] of Object.entries(host.account)) {
    if (candidate.account[fact] !== value) return `its ${fact} is not the host's`;
  }
  if (candidate.freshness > now + SHAPES[provider].maxAheadMs) return "its expiry lies further ahead than any real refresh gives";
  return undefined;
}
