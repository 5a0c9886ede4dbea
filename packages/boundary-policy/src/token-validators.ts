/**
 * Structure checks run on a token after its rule's pattern matched: `false` means the value cannot
 * be one the vendor issued, so it is not refused. Each check follows a documented format and says
 * where it is documented; a check that rejected a real token would let it cross the boundary, so
 * each accepts every value its format allows and is linear in the token's length.
 */

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, the one zlib computes) of an ASCII string. */
export function crc32(text: string): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = (crcTable[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `value` in base62 (digits, upper case, lower case), left-padded with `0` to `width`. */
export function base62(value: number, width: number): string {
  let out = "";
  let rest = value;
  do {
    out = (BASE62[rest % 62] as string) + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out.padStart(width, "0");
}

/**
 * GitHub's `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens and npm's `npm_` tokens: a 4-character
 * prefix, 30 random base62 characters, then the CRC-32 of those 30 in 6 base62 characters.
 * GitHub: "Behind GitHub's new authentication token formats" (github.blog, 2021-04-05); npm:
 * "Announcing npm's new access token format" (github.blog, 2021-09-23). Only the 40-character
 * form is checked: longer bodies (the newer server-to-server tokens) follow no published checksum.
 */
export function hasValidCrc32Checksum(token: string): boolean {
  if (token.length !== 40 || !/^(?:gh[pousr]|npm)_[0-9A-Za-z]{36}$/.test(token)) return true;
  return base62(crc32(token.slice(4, 34)), 6) === token.slice(34);
}

function decodeBase64Url(segment: string): string | undefined {
  const standard = segment.replace(/-/g, "+").replace(/_/g, "/");
  try {
    return atob(standard + "=".repeat((4 - (standard.length % 4)) % 4));
  } catch {
    return undefined;
  }
}

/**
 * A JWS or JWE: its first segment is the base64url of a JSON object that names its algorithm
 * (RFC 7515 §4.1.1 and RFC 7516 §4.1.1: `alg` is required in both).
 */
export function hasJoseHeader(token: string): boolean {
  const dot = token.indexOf(".");
  const header = decodeBase64Url(dot === -1 ? token : token.slice(0, dot));
  if (header === undefined) return false;
  try {
    const parsed: unknown = JSON.parse(header);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && typeof (parsed as { alg?: unknown }).alg === "string";
  } catch {
    return false;
  }
}

/**
 * AWS access key ids: a 4-character type prefix and 16 characters of base32 (`A-Z`, `2-7`), which
 * encode the account (gitleaks' `aws-access-token` rule takes the same alphabet; AWS's own
 * examples, `AKIAIOSFODNN7EXAMPLE`, follow it). The fourth character of `A3T?` ids is free.
 */
export function hasAwsKeyIdAlphabet(keyId: string): boolean {
  return /^[A-Z0-9]{4}[A-Z2-7]{16}$/.test(keyId);
}

/**
 * A key that is base64 of 64 random bytes (Azure storage and Cosmos DB account keys, Azure's
 * SharedKey docs): 86 characters and `==`, and the 86th carries 2 bits of data and 4 zero bits,
 * so it is one of `A`, `Q`, `g`, `w`. Values of other lengths are not this shape and pass.
 */
export function hasCanonical64BytePadding(key: string): boolean {
  if (key.length !== 88 || !key.endsWith("==")) return true;
  return /[AQgw]/.test(key[85] as string);
}

/**
 * PyPI and TestPyPI API tokens: `pypi-` and a macaroon in libmacaroons' binary v2 format, base64url
 * without padding (PyPI's docs: "API tokens … are macaroons"; the `AgEIcHlwaS5vcmc` prefix is
 * version 2 and the location `pypi.org`). The format ends in the signature field: type 6, length
 * 32, then the 32-byte HMAC, so the 34th byte from the end is 6 and the 33rd is 32.
 */
export function isMacaroonV2Token(token: string): boolean {
  const body = token.slice(token.indexOf("-") + 1);
  // A token as long as the rules' bound was perhaps cut short by it: its end is not in view.
  if (body.length >= 1015) return true;
  const decoded = decodeBase64Url(body);
  if (decoded === undefined || decoded.length < 34 + 12) return false;
  return decoded.charCodeAt(0) === 2 && decoded.charCodeAt(decoded.length - 34) === 6 && decoded.charCodeAt(decoded.length - 33) === 32;
}
