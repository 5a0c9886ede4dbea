import { describe, expect, it } from "vitest";

import { createRefusePolicy } from "./index.js";
import { base62, crc32, hasAwsKeyIdAlphabet, hasCanonical64BytePadding, hasJoseHeader, hasValidCrc32Checksum, isMacaroonV2Token } from "./token-validators.js";

const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64 = `${B62}+/`;

/** A seeded stream (mulberry32), so every run tests the same tokens. */
function seeded(seed: number): (alphabet: string, n: number) => string {
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
}

/** A token as GitHub and npm make one: prefix, 30 random base62, CRC-32 of those 30 in 6 base62. */
function checksummed(prefix: string, random: string): string {
  return `${prefix}${random}${base62(crc32(random), 6)}`;
}

/** `token` with the character at `at` replaced by another of the same alphabet. */
function changeOne(token: string, at: number, alphabet = B62): string {
  const char = token[at] as string;
  const other = alphabet[(alphabet.indexOf(char) + 1) % alphabet.length] as string;
  return token.slice(0, at) + other + token.slice(at + 1);
}

const b64url = (text: string): string => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("crc32 and base62", () => {
  it("computes the IEEE CRC-32 zlib computes", () => {
    // The check value of the CRC-32 catalogue (reveng: CRC-32/ISO-HDLC) for "123456789".
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
  });

  it("writes base62 with digits, then upper case, then lower case, padded to the width", () => {
    expect(base62(0, 6)).toBe("000000");
    expect(base62(61, 6)).toBe("00000z");
    expect(base62(62, 6)).toBe("000010");
    expect(base62(0xffffffff, 6)).toBe("4gfFC3");
  });
});

describe("hasValidCrc32Checksum (GitHub ghp_/gho_/ghu_/ghs_/ghr_, npm npm_)", () => {
  const random = seeded(20261202);
  const tokens = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"].flatMap((prefix) => Array.from({ length: 40 }, () => checksummed(prefix, random(B62, 30))));

  it("accepts every token made by the documented algorithm", () => {
    expect(tokens.filter((token) => !hasValidCrc32Checksum(token))).toEqual([]);
  });

  it("accepts the tokens published as real-format examples (secretlint's test snapshots)", () => {
    expect(hasValidCrc32Checksum("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")).toBe(true);
    expect(hasValidCrc32Checksum("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")).toBe(true);
  });

  it("rejects a token with one character changed, in the random part or in the checksum", () => {
    for (const token of tokens) {
      for (const at of [4, 20, 33, 34, 39]) expect(hasValidCrc32Checksum(changeOne(token, at)), `${token} at ${at}`).toBe(false);
    }
  });

  it("rejects the 36-random-character fakes test fixtures use", () => {
    expect(hasValidCrc32Checksum("ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij")).toBe(false);
  });

  it("leaves other lengths and forms alone: no checksum is published for them", () => {
    expect(hasValidCrc32Checksum(`ghr_${random(B62, 76)}`)).toBe(true);
    expect(hasValidCrc32Checksum(`ghs_${random(B62, 20)}_${random(B62, 100)}`)).toBe(true);
    expect(hasValidCrc32Checksum(`ghp_${random(B62, 37)}`)).toBe(true);
  });
});

describe("hasJoseHeader (RFC 7515/7516: a JSON header with alg)", () => {
  const payload = b64url(JSON.stringify({ sub: "1234567890", iat: 1700000000 }));
  it("accepts JWS and JWE headers", () => {
    for (const header of [{ alg: "HS256", typ: "JWT" }, { alg: "RS256", kid: "abc" }, { alg: "none" }, { alg: "RSA-OAEP", enc: "A256GCM" }]) {
      expect(hasJoseHeader(`${b64url(JSON.stringify(header))}.${payload}.c2lnbmF0dXJl`)).toBe(true);
    }
  });

  it("rejects a header that is no JSON, has no alg, or is not an object", () => {
    const good = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    expect(hasJoseHeader(`${good.slice(0, 10)}E${good.slice(11)}.${payload}.sig`)).toBe(false);
    expect(hasJoseHeader(`${b64url(JSON.stringify({ typ: "JWT" }))}.${payload}.sig`)).toBe(false);
    expect(hasJoseHeader(`${b64url(JSON.stringify(["alg"]))}.${payload}.sig`)).toBe(false);
    expect(hasJoseHeader(`${b64url('{"alg":"HS256"')}.${payload}.sig`)).toBe(false);
  });
});

describe("hasAwsKeyIdAlphabet", () => {
  it("accepts AWS's documented example key id and base32 bodies", () => {
    const random = seeded(7);
    expect(hasAwsKeyIdAlphabet("AKIAIOSFODNN7EXAMPLE")).toBe(true);
    for (const prefix of ["AKIA", "ASIA", "ABIA", "ACCA", "A3T9"]) expect(hasAwsKeyIdAlphabet(prefix + random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))).toBe(true);
  });

  it("rejects a body with a character base32 lacks (0, 1, 8, 9)", () => {
    for (const digit of "0189") expect(hasAwsKeyIdAlphabet(`AKIAIOSFODNN7EXAMPL${digit}`)).toBe(false);
  });
});

describe("hasCanonical64BytePadding", () => {
  const random = seeded(11);
  const keys = Array.from({ length: 50 }, () => btoa(String.fromCharCode(...Array.from({ length: 64 }, () => B64.indexOf(random(B64, 1)) * 4))));

  it("accepts base64 of any 64 bytes", () => {
    expect(keys.every((key) => key.length === 88 && hasCanonical64BytePadding(key))).toBe(true);
  });

  it("rejects an 88-character value whose last data character carries pad bits", () => {
    for (const key of keys) expect(hasCanonical64BytePadding(`${key.slice(0, 85)}${changeOne(key, 85, B64)[85]}==`)).toBe(false);
  });

  it("leaves other lengths alone", () => {
    expect(hasCanonical64BytePadding(random(B64, 40))).toBe(true);
  });
});

/** A PyPI token as warehouse makes one: libmacaroons binary v2, base64url without padding. */
function pypiToken(location: string, identifier: string, caveat: string, signature: readonly number[]): string {
  const field = (type: number, data: string): string => String.fromCharCode(type, data.length) + data;
  const raw = `\x02${field(1, location)}${field(2, identifier)}\x00${field(2, caveat)}\x00\x00${field(6, String.fromCharCode(...signature))}`;
  return `pypi-${b64url(raw)}`;
}

describe("isMacaroonV2Token (PyPI and TestPyPI API tokens)", () => {
  const random = seeded(5);
  const tokens = Array.from({ length: 40 }, (_, i) =>
    pypiToken(i % 2 === 0 ? "pypi.org" : "test.pypi.org", random("0123456789abcdef-", 36), JSON.stringify({ version: 1, permissions: i % 3 === 0 ? "user" : { projects: [random("abcdefghij", 8)] } }), Array.from({ length: 32 }, () => B64.indexOf(random(B64, 1)) * 4)),
  );

  it("accepts macaroons made in the documented format, and the examples noseyparker publishes", () => {
    expect(tokens.filter((token) => !isMacaroonV2Token(token))).toEqual([]);
    expect(tokens.every((token) => token.startsWith("pypi-AgEIcHlwaS5vcmc") || token.startsWith("pypi-AgENdGVzdC5weXBpLm9yZw"))).toBe(true);
    expect(isMacaroonV2Token("pypi-AgEIcHlwaS5vcmcCJDkwNzYwNzU1LWMwOTUtNGNkOC1iYjQzLTU3OWNhZjI1NDQ1MwACJXsicGVybWCf99lvbnMiOiAidXNlciIsICJ2ZXJzaW9uIjogMX0AAAYgSpW5PAywXvchMUQnkF5H6-SolJysfUvIWopMsxE4hCM")).toBe(true);
  });

  it("rejects the documented prefix followed by random characters, a changed signature field, or a cut-short token", () => {
    expect(isMacaroonV2Token(`pypi-AgEIcHlwaS5vcmc${random(`${B62}-_`, 120)}`)).toBe(false);
    for (const token of tokens) {
      const body = token.slice(5);
      // The signature field's type byte (34th from the end) sits in this base64 character.
      const typeChar = Math.floor(((body.length * 6) / 8 - 34) * (8 / 6));
      expect(isMacaroonV2Token(`pypi-${changeOne(body, typeChar, `${B62}-_`)}`), token).toBe(false);
      expect(isMacaroonV2Token(token.slice(0, -4)), token).toBe(false);
    }
  });
});

describe("validators in the scan", () => {
  const policy = createRefusePolicy();
  const random = seeded(99);

  it("refuses a GitHub token with a valid checksum and lets one with a broken checksum cross", () => {
    const token = checksummed("ghp_", random(B62, 30));
    expect(policy.scanText(`GITHUB_TOKEN=${token}`).map((f) => f.rule)).toEqual(["github-pat"]);
    expect(policy.scanText(`GITHUB_TOKEN=${changeOne(token, 39)}`)).toEqual([]);
  });

  it("refuses an npm token with a valid checksum and lets one with a broken checksum cross", () => {
    const token = checksummed("npm_", random(B62, 30));
    expect(policy.scanText(`//registry.npmjs.org/:_authToken=${token}`).length).toBeGreaterThan(0);
    expect(policy.scanText(`publish with ${token} now`).map((f) => f.rule)).toEqual(["npm-access-token"]);
    expect(policy.scanText(`publish with ${changeOne(token, 10)} now`)).toEqual([]);
  });

  it("refuses a JWT and not a JWT-shaped string whose header has no alg", () => {
    const payload = b64url(JSON.stringify({ sub: "1234567890", name: "Jo Doe", iat: 1516239022 }));
    const sig = random(`${B62}-_`, 43);
    expect(policy.scanText(`${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${payload}.${sig}`).map((f) => f.rule)).toEqual(["jwt"]);
    expect(policy.scanText(`${b64url(JSON.stringify({ typ: "JWT", kind: "x" }))}.${payload}.${sig}`)).toEqual([]);
  });

  it("refuses a PyPI macaroon and not the PyPI prefix before random characters", () => {
    const token = pypiToken("pypi.org", random("0123456789abcdef-", 36), '{"version": 1, "permissions": "user"}', Array.from({ length: 32 }, (_, i) => (i * 37) % 256));
    expect(policy.scanText(`password = ${token}`).map((f) => f.rule)).toEqual(["pypi-upload-token"]);
    expect(policy.scanText(`password = pypi-AgEIcHlwaS5vcmc${random(`${B62}-_`, 120)}`)).toEqual([]);
  });

  it("refuses an AWS key id of base32 and not one with a 0 in its body", () => {
    expect(policy.scanText("id: AKIAQYLPMN5HHHFPZAM2").map((f) => f.rule)).toEqual(["aws-access-token"]);
    expect(policy.scanText("id: AKIAQYLPMN5HHHFPZAM0")).toEqual([]);
  });
});
