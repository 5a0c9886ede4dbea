import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OAuth server shaped like the ones Claude Code and Codex talk to: every refresh token is
 * single use and rotates; access tokens live `accessTtlMs`. In `strict` mode, presenting a spent
 * refresh token revokes the whole family (every token of that login dies), as several reports say
 * the real servers do. It also keeps the score: forced re-logins, revocations, and for each side
 * how long it went on holding a refresh token after that token was spent by someone else.
 *
 * Tokens carry a CANARY marker so a test can search argv, logs and state files for them.
 */
export interface FakeOAuthOptions {
  accessTtlMs: number;
  strict: boolean;
  /** Put in every token issued, so a search for it finds only this run's tokens. */
  marker: string;
}

interface Family {
  id: number;
  current: string;
  access: string;
  accessExpiresAt: number;
  revoked: boolean;
}

export interface OAuthScore {
  refreshes: number;
  refreshesBySide: Record<string, number>;
  rejectedRefreshes: number;
  forcedRelogins: number;
  reloginsBySide: Record<string, number>;
  familyRevocations: number;
  /** The longest a side kept reporting a refresh token after it was spent, ms. */
  longestStaleMs: number;
  longestStaleBySide: Record<string, number>;
  /** Requests made with an access token that no longer worked (expired, or its family revoked). */
  rejectedUses: number;
  /** What happened when, for reading a failure: refreshes, rejections, revocations, logins. */
  timeline: string[];
}

export class FakeOAuthServer {
  readonly #options: FakeOAuthOptions;
  readonly #server: Server;
  readonly #families: Family[] = [];
  /** refresh token → its family and when it was spent (undefined: still current). */
  readonly #tokens = new Map<string, { family: Family; spentAt?: number }>();
  /** Access tokens stay good until they expire, as the real ones do, unless the family is revoked. */
  readonly #accessTokens = new Map<string, { family: Family; expiresAt: number }>();
  #score: OAuthScore = blankScore();
  #counting = false;
  url = "";

  constructor(options: FakeOAuthOptions) {
    this.#options = options;
    this.#server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk));
      request.on("end", () => {
        const input = (body ? JSON.parse(body) : {}) as Record<string, string>;
        const [status, answer] = this.#handle(request.url ?? "", input);
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(answer));
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  set strict(value: boolean) {
    this.#options.strict = value;
  }

  /** A first login, as the user's `claude /login` on the host would make (not counted). */
  login(accessTtlMs = this.#options.accessTtlMs): { accessToken: string; refreshToken: string; expiresAt: number } {
    return this.#newFamily(accessTtlMs);
  }

  /** Starts counting from zero (the login the harness made is not a forced one). */
  startScoring(): void {
    this.#score = blankScore();
    this.#counting = true;
  }

  stopScoring(): OAuthScore {
    this.#counting = false;
    return structuredClone(this.#score);
  }

  #newFamily(accessTtlMs = this.#options.accessTtlMs) {
    const family: Family = { id: this.#families.length + 1, current: this.#token("rt"), access: this.#token("at"), accessExpiresAt: Date.now() + accessTtlMs, revoked: false };
    this.#families.push(family);
    this.#tokens.set(family.current, { family });
    this.#accessTokens.set(family.access, { family, expiresAt: family.accessExpiresAt });
    return { accessToken: family.access, refreshToken: family.current, expiresAt: family.accessExpiresAt };
  }

  #handle(path: string, input: Record<string, string>): [number, unknown] {
    const side = input.side ?? "?";
    const now = Date.now();
    if (path === "/login") {
      this.#note(side, "login");
      if (this.#counting) {
        this.#score.forcedRelogins += 1;
        this.#score.reloginsBySide[side] = (this.#score.reloginsBySide[side] ?? 0) + 1;
      }
      return [200, this.#newFamily()];
    }
    if (path === "/token") {
      const known = this.#tokens.get(input.refresh_token ?? "");
      if (!known || known.family.revoked) return this.#rejectRefresh("invalid_grant");
      if (known.spentAt !== undefined) {
        this.#note(side, `reused a spent token (spent ${now - known.spentAt} ms ago)`);
        if (this.#options.strict) {
          known.family.revoked = true;
          this.#note(side, `family ${known.family.id} revoked`);
          if (this.#counting) this.#score.familyRevocations += 1;
        }
        return this.#rejectRefresh("invalid_grant");
      }
      const family = known.family;
      known.spentAt = now;
      family.current = this.#token("rt");
      family.access = this.#token("at");
      family.accessExpiresAt = now + this.#options.accessTtlMs;
      this.#tokens.set(family.current, { family });
      this.#accessTokens.set(family.access, { family, expiresAt: family.accessExpiresAt });
      this.#note(side, `refreshed family ${family.id}`);
      if (this.#counting) {
        this.#score.refreshes += 1;
        this.#score.refreshesBySide[side] = (this.#score.refreshesBySide[side] ?? 0) + 1;
      }
      return [200, { accessToken: family.access, refreshToken: family.current, expiresAt: family.accessExpiresAt }];
    }
    if (path === "/use") {
      const held = this.#tokens.get(input.refresh_token ?? "");
      if (this.#counting && held?.spentAt !== undefined && !held.family.revoked) {
        const stale = now - held.spentAt;
        this.#score.longestStaleMs = Math.max(this.#score.longestStaleMs, stale);
        this.#score.longestStaleBySide[side] = Math.max(this.#score.longestStaleBySide[side] ?? 0, stale);
      }
      const access = this.#accessTokens.get(input.access_token ?? "");
      const works = access !== undefined && !access.family.revoked && access.expiresAt > now;
      if (!works && this.#counting) this.#score.rejectedUses += 1;
      return works ? [200, { ok: true }] : [401, { error: "invalid_token" }];
    }
    return [404, { error: "not_found" }];
  }

  #note(side: string, what: string): void {
    if (this.#counting) this.#score.timeline.push(`${new Date().toISOString().slice(11, 23)} ${side.replace(/^sbx-sim-[0-9a-f]+-/, "")}: ${what}`);
  }

  #token(kind: string): string {
    return `sk-${this.#options.marker}-${kind}-${randomBytes(12).toString("hex")}`;
  }

  #rejectRefresh(error: string): [number, unknown] {
    if (this.#counting) this.#score.rejectedRefreshes += 1;
    return [400, { error }];
  }
}


function blankScore(): OAuthScore {
  return { refreshes: 0, refreshesBySide: {}, rejectedRefreshes: 0, forcedRelogins: 0, reloginsBySide: {}, familyRevocations: 0, longestStaleMs: 0, longestStaleBySide: {}, rejectedUses: 0, timeline: [] };
}
