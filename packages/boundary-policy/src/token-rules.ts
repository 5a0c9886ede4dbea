import { shannonEntropy } from "./shannon-entropy.js";

/**
 * Built-in value detectors. The formats are facts taken from the public rule sets of gitleaks
 * (`cmd/generate/config/rules/*.go`), secretlint and noseyparker, rewritten for JavaScript:
 * no inline `(?i)`, every repeat bounded, and a lookbehind on long-bodied tokens so a run of
 * token characters offers one start position, not one per character (that keeps the scan linear).
 */

/** A group of rules the user thinks of as one kind of credential ("github", "slack", …). */
export type TokenFamily =
  | "1password"
  | "age"
  | "anthropic"
  | "aws"
  | "databricks"
  | "digitalocean"
  | "docker"
  | "flyio"
  | "github"
  | "gitlab"
  | "google"
  | "grafana"
  | "groq"
  | "hashicorp"
  | "heroku"
  | "huggingface"
  | "jwt"
  | "linear"
  | "notion"
  | "npm"
  | "okta"
  | "openai"
  | "openrouter"
  | "perplexity"
  | "private-key"
  | "pypi"
  | "sendgrid"
  | "sentry"
  | "shopify"
  | "slack"
  | "sourcegraph"
  | "stripe"
  | "vault"
  | "vercel"
  | "xai"
  | "atlassian"
  | "azure"
  | "bitbucket"
  | "cloudflare"
  | "cohere"
  | "crates"
  | "datadog"
  | "discord"
  | "generic"
  | "hubspot"
  | "mailgun"
  | "mistral"
  | "mongodb"
  | "netlify"
  | "newrelic"
  | "nuget"
  | "paypal"
  | "planetscale"
  | "postmark"
  | "replicate"
  | "rubygems"
  | "square"
  | "supabase"
  | "teams"
  | "telegram"
  | "twilio"
  | "basic-auth"
  | "adobe"
  | "alibaba"
  | "artifactory"
  | "brevo"
  | "clojars"
  | "doppler"
  | "dynatrace"
  | "easypost"
  | "facebook"
  | "flutterwave"
  | "frameio"
  | "harness"
  | "infracost"
  | "mailchimp"
  | "mapbox"
  | "octopus"
  | "openshift"
  | "postman"
  | "prefect"
  | "pulumi"
  | "readme"
  | "scalingo"
  | "shippo"
  | "typeform"
  | "airtable"
  | "clickhouse"
  | "duffel"
  | "intra42"
  | "maxmind"
  | "kaggle"
  | "settlemint"
  | "yandex"
  | "authress"
  | "elastic"
  | "ngrok"
  | "tailscale"
  | "sonarqube"
  | "buildkite"
  | "circleci"
  | "langsmith"
  | "pinecone"
  | "tavily"
  | "figma"
  | "firecrawl"
  | "e2b";

export interface TokenRule {
  /** Stable id shown in reasons and redaction markers, e.g. `github-pat`. */
  readonly id: string;
  readonly family: TokenFamily;
  /** What was found, for reasons: "a GitHub personal access token". */
  readonly description: string;
  /** Lower-case literals; the rule runs only when one occurs in the lower-cased text. */
  readonly keywords: readonly string[];
  /** Global, with indices; capture group 1 (when present) is the secret, else the whole match. */
  readonly pattern: RegExp;
  /** Shannon entropy the secret must exceed; placeholders (`xxxx`) fall below. */
  readonly minEntropy?: number;
  /**
   * Known public values (SDK examples, docs) that are not secrets. `before` is the text before the
   * secret, from 32 characters before the match on (the name and operator of a keyword rule),
   * given only to an `allow` that declares it.
   */
  readonly allow?: (secret: string, before: string) => boolean;
  /**
   * The keyword sits inside or after the token (`…T3BlbkFJ…`, `…:x-oauth-basic@`): the pattern
   * runs only on windows this many characters around each keyword occurrence, not from every
   * word-like run of the text.
   */
  readonly window?: { readonly before: number; readonly after: number };
  /**
   * Refuses a match whose preceding text (up to 32 characters) matches this: a lookbehind kept
   * out of the pattern, where it slowed every attempt (`AWS_SECRET_ACCESS_KEY=` belongs to the
   * AWS rules, not to the keyword rule).
   */
  readonly notAfter?: RegExp;
}

// Token characters, for "not preceded/followed by" guards.
const NOT_AFTER_WORD = "(?<![A-Za-z0-9_])";
const NOT_AFTER_TOKEN = "(?<![A-Za-z0-9_-])";
const NOT_BEFORE_TOKEN = "(?![A-Za-z0-9_-])";
const NOT_BEFORE_WORD = "(?![A-Za-z0-9_])";
const NOT_BEFORE_B64 = "(?![A-Za-z0-9+/=])";
const NOT_AFTER_B64 = "(?<![A-Za-z0-9+/=])";

/** Values the docs and examples use where a secret would go (a value cut short with `...` too): never refused. */
const PLACEHOLDER = /^(?:\$\{?|#\{|<|\{\{|%|\*{3}|x{4}|\.\.\.)|^\{[A-Za-z_][A-Za-z0-9_]*\}$|^(?:pass(?:word)?|secret|changeme|example|redacted|placeholder|your[_-]?\w*|test(?:ing)?|dummy|sample|(?:foo|bar|baz|qux|quux)+|null|none|true|false|undefined)$|(?:example|placeholder|changeme|your[_-]|xxxx|\*\*\*|<[A-Za-z][A-Za-z0-9_ -]{1,40}>)|(?:\.{3}|…)$/i;

/** Test fixtures mark fake tokens: `hf_FakeFake…`, `…abcdefgh…test`. */
function looksFake(value: string): boolean {
  return /fake|example|dummy|abcdefgh|test$/i.test(value);
}

function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

function decodeBase64Prefix(value: string, chars: number): string {
  try {
    return atob(value.slice(0, chars - (chars % 4)));
  } catch {
    return "";
  }
}

function decodesTo(value: string, shape: RegExp): boolean {
  return shape.test(decodeBase64Prefix(value, 200));
}

/**
 * A JWT's first part is base64url of a JSON object (`{"alg":…}`): a cut or garbled header is
 * not a token. Nearly, not wholly, printable: corpora keep tokens with a byte flipped so other
 * scanners pass them (noseyparker's `…IsEnR5…` header), and those are still tokens.
 */
function headerLooksLikeJson(token: string): boolean {
  const header = token.slice(0, token.indexOf("."));
  let decoded: string;
  try {
    decoded = atob(header.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(header.length / 4) * 4, "=")).trimEnd();
  } catch {
    return false;
  }
  const printable = decoded.replace(/[^\x20-\x7e\t\r\n]/g, "").length;
  return decoded.startsWith('{"') && decoded.endsWith("}") && printable >= 0.9 * decoded.length;
}

/** Printable `user:password`. */
const LOGIN = /^[\x20-\x7e]{1,200}:[\x20-\x7e]{1,500}$/;

/** A decoded `user:password` whose password is not a placeholder. */
function isLogin(decoded: string): boolean {
  const colon = decoded.indexOf(":");
  return colon > 0 && LOGIN.test(decoded) && !isPlaceholder(decoded.slice(colon + 1));
}

/** What the keyword rules refuse to call a secret: words, identifiers, ids, hashes, other rules' shapes, low entropy. */
/**
 * {@link keywordValueIsNotSecret}, but a UUID under a name that ends in a credential word is one
 * (Snyk, KuCoin, Squarespace and Sendbird issue their secrets as UUIDs: `SNYK_TOKEN=…`,
 * `kucoin_api_secret = "…"`, `jenkinsToken = "…"`); a token named for what it pages, syncs or
 * guards (`nextPageToken`, `csrf_token`, `CancellationToken`, reset and invite tokens) is none,
 * nor is an id (`secret_id` has a rule of its own, `token_id` none).
 */
function keywordValueUnderNameIsNotSecret(value: string, before: string): boolean {
  if (UUID.test(value) && UUID_CREDENTIAL_NAME.test(before)) return shannonEntropy(value) <= 3;
  return keywordValueIsNotSecret(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_CREDENTIAL_NAME =
  /(?:api[_-]?(?:key|token|secret)|secret(?:[_-]?key)?|passw(?:or)?d|(?<![A-Za-z])(?:access|auth|bearer|refresh|session|service|personal|bot)[_-]?token|(?<=[A-Za-z0-9])(?<!page|next|csrf|xsrf|sync|continuation|cancellation|request|resume|idempotency|change|client|state|verification|deletion|notification|registration|device|push|fcm|apns|invite|invitation|reset|confirmation|unsubscribe|upload|form|anti[_-]?forgery)[_-]?token)["'`]?[ \t]*(?::=|=>|=|:)[ \t]*["'`]?$/i;

function keywordValueIsNotSecret(value: string): boolean {
  return isNotGenericSecret(decodeHtmlEntities(value)) || shannonEntropy(value) <= entropyFloor(value);
}

/**
 * The entropy a value under a credential name must pass. Hex has 16 symbols: one random 32-digit
 * hex key in five spreads under 3.5 bits (one 40-digit key in twenty), and under 3 bits one in six
 * thousand, while `deadbeef…` and `abab…` stay under it.
 */
function entropyFloor(value: string): number {
  return HEX_ONLY.test(value) ? HEX_ENTROPY_FLOOR : Math.min(3.5, Math.log2(value.length) - 0.7);
}

const HEX_ONLY = /^[0-9a-f]+$/i;
const HEX_ENTROPY_FLOOR = 3;

const HTML_ENTITY = /&(?:#([0-9]{1,7})|#x([0-9a-f]{1,6})|(lt|gt|amp|quot|apos));/gi;
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/**
 * A value as HTML and XML configs escape it (`&lt;YOUR_PASSWORD&gt;`, `L&#246;senord`), read as
 * the text it stands for: a placeholder or a word escaped is still one.
 */
function decodeHtmlEntities(value: string): string {
  if (!value.includes("&")) return value;
  return value.replace(HTML_ENTITY, (entity, decimal: string | undefined, hex: string | undefined, named: string | undefined) => {
    if (named !== undefined) return NAMED_ENTITIES[named.toLowerCase()] ?? entity;
    const code = decimal !== undefined ? Number(decimal) : parseInt(hex as string, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}

/**
 * A value the call takes as its password: letters only is a password too (`"sunshine"`, a mail
 * provider's app password of 16 letters), unless a word no password is (see {@link passwordWordIsNotSecret}).
 */
function passedPasswordIsNotSecret(value: string): boolean {
  return /^[A-Za-z]+$/.test(value) ? passwordWordIsNotSecret(value) : keywordValueIsNotSecret(value);
}

/** What a password-named variable holds when its value is letters only and no password: a label, a name, a setting. */
function passwordWordIsNotSecret(value: string): boolean {
  return (
    isPlaceholder(value) ||
    looksFake(value) ||
    /^[A-Z][a-z]+$|^[A-Z_-]+$|^[a-z]+(?:[A-Z][a-z]*)+$|^[A-Z][a-z]+(?:[A-Z][a-z]+)+$/.test(value) ||
    (/[_-]/.test(value) && /pass|pwd|secret|token|key|auth|cred|hash|salt|field|input|name|user|login|confirm|reset|change|create|hidden|text|type|form|label|hint|value|string|required/i.test(value)) ||
    PASSWORD_SETTING_WORDS.has(value.toLowerCase())
  );
}

const PROSE_NOT_PASSWORD = /^(?:wrong|invalid|incorrect|correct|valid|empty|blank|missing|weak|strong|short|long|expired|changed|reset|masked|hashed|salted|stored|encrypted|plain|unknown|nil|same|different|unset|okay|good|fine|secure|random|temporary|mismatched|locked|sent|saved|updated|accepted|rejected|used|wrongly|incorrectly)$/i;

const PASSWORD_SETTING_WORDS = new Set(["required", "optional", "disabled", "enabled", "hidden", "visible", "readonly", "sensitive", "encrypted", "plaintext", "anonymous", "inherit", "automatic", "internal", "external", "standard", "advanced", "default", "nullable", "keyring", "keychain", "interactive", "environment", "variable", "insecure", "mandatory", "password", "passwords", "passphrase", "protected", "confidential", "unchanged", "generated", "autocomplete", "nopassword", "prompted"]);

/** A Docker `auth` value is base64 of `user:password`. */
function decodesToLogin(value: string): boolean {
  return LOGIN.test(decodeBase64Prefix(value, value.length));
}

/**
 * The arguments between a command and its password flag: up to `reach` characters of the line,
 * but never over another run of the same command (`command` a regex source). A flood of the
 * command's name (`zip a zip a …`) then reads each character about once, not `reach` times.
 */
function argumentsBefore(command: string, reach: number, characters = "[^\\n|;&]"): string {
  return `(?:(?!(?<![A-Za-z0-9_.-])${command})${characters}){0,${reach}}?`;
}

/** Commands that store the secret they read on stdin (Cloudflare's `wrangler secret put`, `gh secret set` without `--body`, `vercel env add`). */
const STDIN_SECRET_STORE = "(?:npx[ \\t]{1,3})?wrangler[ \\t]{1,3}secret[ \\t]{1,3}put|gh[ \\t]{1,3}secret[ \\t]{1,3}set|vercel[ \\t]{1,3}env[ \\t]{1,3}add";

/** The value a secret store's command line stores: quoted, or bare up to a pipe, `;` or `&`, and no variable or placeholder. */
const STORED_VALUE = `(?:"([^"\\s]{4,200})"|'([^'\\s]{4,200})'|([^\\s'"$%<*(-][^\\s'"|;&]{3,200}))`;

/**
 * The start of a line inside an exported note's callout (`> `, nested up to four deep): a rule that
 * reads over a line break reads over these too (and over an edit diff's `+`/`-` where it reads a
 * file's lines).
 */
const QUOTE = `[ \\t]{0,3}(?:>[ \\t]?){0,4}`;
/**
 * What may sit between a command (or a banner) and the value it printed alone on the next line: in a
 * terminal, nothing or a fence; in an exported note, the tool callout's quote marks (`> `), its
 * fences, blank quoted lines and its **Result** label; an oclif or CLI warning line. Never a line of
 * other text, so a lone word further down is not taken for the output.
 */
const OUTPUT_FOLLOWS = `[ \\t]{0,40}\\r?\\n(?:${QUOTE}[ \\t]{0,3}(?:\\x60{3,8}[A-Za-z]{0,12}|~{3,8}[A-Za-z]{0,12}|\\*\\*Result\\*\\*(?:[ \\t]\\([0-9,]{1,12} chars\\))?|(?:›|WARN(?:ING)?:|[Ww]arning:)[^\\n]{0,160})?[ \\t]{0,40}\\r?\\n){0,7}${QUOTE}[ \\t]{0,4}`;
/** The value, alone on its line (a terminal's or a note's), quoted as `jq` prints a string or not; not starting with `*`, which the note's **Result** label does. */
const PRINTED_VALUE = `"?([A-Za-z0-9_+\\/=!@#%^.~:-][A-Za-z0-9_+\\/=!@#%^*.~:-]{7,511})"?[ \\t]{0,3}(?=\\r?\\n|$)`;

/** Where the commands that print a secret start: the rest of a command line never reads over another. */
const PRINTING_COMMANDS = "kubectl|openssl|secrets\\.|randomBytes|\\/dev\\/urandom|vault|aws|op read|security|gcloud|az|heroku|doppler|terraform|pass show|bw get|wg|pwgen|cat|echo|printenv|jq";
/** The end of an environment variable's name that holds a credential (`$DB_PASSWORD`, `${API_TOKEN}`), for `echo` and `printenv`. */
const CREDENTIAL_ENV_NAME_END = "(?:TOKEN|SECRET|PASSWORD|PASSWD|PASS|PWD|API_?KEY|PRIVATE_KEY|SECRET_KEY|ACCESS_KEY|AUTH_KEY|CREDENTIALS?)";

/**
 * The rest of a command's line, up to 120 characters, never over the start of another of
 * `commands` (a word of its own, after white space or `|;&(`): a flood of one (`op read op read …`)
 * then reads each character about once instead of the whole reach at each.
 */
function restOfLine(commands: string): string {
  return `(?:(?!(?<![^\\s|;&(])(?:${commands}))[^\\n[]){0,120}`;
}

/**
 * A rule for secrets commands print alone on the next line: each of `commands` (a regex source
 * starting with its literal command name, so the rule runs only where one is), the rest of its
 * line, then the output as {@link OUTPUT_FOLLOWS} and {@link PRINTED_VALUE} read it. Kept to a few
 * commands each: a rule with more than 16 start literals would run over every text holding one of
 * its keywords instead of at the commands.
 */
function printedSecretRule(id: string, description: string, keywords: readonly string[], commands: readonly string[]): TokenRule {
  return { id, family: "generic", description, keywords, pattern: rx(`(?:${commands.join("|")})${restOfLine(PRINTING_COMMANDS)}${OUTPUT_FOLLOWS}${PRINTED_VALUE}`), minEntropy: 2.5, allow: printedValueIsNotSecret };
}

/** A line a secret-printing command printed that is no secret: a placeholder, a path or URL, a word (the rules' minEntropy refuses those under 2.5 bits a character). */
function printedValueIsNotSecret(value: string): boolean {
  return isPlaceholder(value) || /^[.~$]|^[a-z][a-z0-9+.-]*:\/\//i.test(value) || looksLikePath(value) || /^\/[\w.-]*$/.test(value) || (/^[A-Za-z]+$/.test(value) && passwordWordIsNotSecret(value));
}

/** A password or token flag's value that is no secret: a placeholder, a URL, or one under 2 bits of entropy per character. */
function flagValueIsNotSecret(value: string): boolean {
  return isPlaceholder(value) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || shannonEntropy(value) < 2;
}

/** A command's argument after its password flag: quoted, or bare and no variable, expansion or placeholder. */
const FLAG_ARGUMENT = `(?:"([^"\\s]{4,200})"|'([^'\\s]{4,200})'|([^\\s'"$%<*(-][^\\s'"]{3,200}))`;

function rx(source: string, caseInsensitive = false): RegExp {
  return new RegExp(source, caseInsensitive ? "gdi" : "gd");
}

// gitleaks gcp.go allowlist: example keys published in firebase-android-sdk.
const PUBLIC_GOOGLE_EXAMPLE_KEYS = new Set([
  "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
  "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
  "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
  "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
  "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
  "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
  "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
  "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
  "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
  "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
  "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
  "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
  "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
  "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
  "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
  "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
]);

/**
 * Owners whose `<owner>_key` names a secret (`SLACK_KEY`, `licenseKey`, Laravel's `APP_KEY`), where a
 * bare `key` (`sort_key`, `cacheKey`, `public_key`) mostly does not. Not after a letter:
 * `butterflyKey` is no Fly.io key. The owner is looked behind `key` once `key` has matched: so
 * the scanner's start literal is `key`, not sixty owner names (more than it searches for: it would
 * scan whole windows), and no other position pays for the look back.
 */
const SECRET_KEY_OWNERS = "key(?<=(?<![a-z])(?:slack|git(?:hub|lab)|bitbucket|licen[cs]e|app|master|signing|encryption|hmac|jwt|consumer|stripe|sendgrid|mailgun|twilio|openai|anthropic|google|gcp|azure|mapbox|algolia|pusher|firebase|datadog|sentry|heroku|npm|pypi|docker|vault|cloudflare|digitalocean|linear|notion|shopify|hubspot|square|paypal|braintree|mistral|cohere|groq|replicate|openrouter|huggingface|segment|mixpanel|okta|auth0|supabase|vercel|netlify|planetscale|new[_-]?relic|facebook|fb)[_.-]?key)";

/** A credential-named field, for the rules that read a name apart from its value (`author` is no `auth`). */
/** An argument before a passed password: a string literal (the user name, a URL) or a variable (`$dsn`, `self.user`). */
const PASSED_ARGUMENT = `(?:"[^"\\n]{0,200}"|'[^'\\n]{0,200}'|\\$?[A-Za-z_][A-Za-z0-9_.]{0,60})`;
/** A user name (or a variable), then the password passed after it, as a string literal. */
const PASSED_CREDENTIALS = `\\s{0,12}${PASSED_ARGUMENT}\\s{0,12},\\s{0,12}(?:"([^"\\s]{6,200})"|'([^'\\s]{6,200})')[ \\t]*(?:[),]|\\.toCharArray\\(\\)|(?=\\r?\\n|$))`;
const CREDENTIAL_NAME = "(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|auth(?!or)|credentials?|creds)";

/** A table row's credential name: one word (a table's first column), `DB_PASSWORD`, `api_key`, `--token`. */
const TABLE_NAME = `[A-Za-z0-9_.-]{0,40}?${CREDENTIAL_NAME}[A-Za-z0-9_.-]{0,20}`;

export const TOKEN_RULES: readonly TokenRule[] = [
  // GitHub. gitleaks anchors only on the prefix; the body may run past 36 (noseyparker's ghr_
  // example is 76), so the span takes the whole body and redaction leaves no tail.
  { id: "github-pat", family: "github", description: "a GitHub personal access token", keywords: ["ghp_"], pattern: rx("ghp_[0-9A-Za-z]{36,255}"), minEntropy: 3 },
  { id: "github-oauth", family: "github", description: "a GitHub OAuth access token", keywords: ["gho_"], pattern: rx("gho_[0-9A-Za-z]{36,255}"), minEntropy: 3 },
  { id: "github-app-token", family: "github", description: "a GitHub App token", keywords: ["ghu_", "ghs_"], pattern: rx("gh[us]_[0-9A-Za-z]{36,255}"), minEntropy: 3 },
  { id: "github-app-installation-token", family: "github", description: "a GitHub App installation token", keywords: ["ghs_"], pattern: rx(`${NOT_AFTER_WORD}ghs_[0-9]{1,20}_ey[A-Za-z0-9_.-]{20,1000}`) },
  { id: "github-refresh-token", family: "github", description: "a GitHub refresh token", keywords: ["ghr_"], pattern: rx("ghr_[0-9A-Za-z]{36,255}"), minEntropy: 3 },
  { id: "github-fine-grained-pat", family: "github", description: "a GitHub fine-grained personal access token", keywords: ["github_pat_"], pattern: rx("github_pat_[0-9A-Za-z_]{82,255}"), minEntropy: 3 },
  // Found by its keyword, then read back to the token: read forward, every run of token characters
  // in a window was tried 80 ways (a regex that opens with a lookbehind tries it at every position).
  { id: "github-basic-auth-url", family: "github", description: "a token in a git URL (x-oauth-basic)", keywords: ["x-oauth-basic"], pattern: rx(`:x-oauth-basic@(?<=${NOT_AFTER_WORD}([A-Za-z0-9_]{20,100}):x-oauth-basic@)`), window: { before: 102, after: 20 } },

  // GitLab (docs.gitlab.com token prefixes).
  { id: "gitlab-pat", family: "gitlab", description: "a GitLab personal access token", keywords: ["glpat-"], pattern: rx("glpat-[0-9A-Za-z_-]{20,300}(?:\\.[0-9a-z]{2}\\.[0-9a-z]{9}|\\.[0-9a-z]{9})?"), minEntropy: 3 },
  { id: "gitlab-ptt", family: "gitlab", description: "a GitLab pipeline trigger token", keywords: ["glptt-"], pattern: rx(`glptt-[0-9A-Za-z_-]{40}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "gitlab-rrt", family: "gitlab", description: "a GitLab runner registration token", keywords: ["gr1348941"], pattern: rx(`GR1348941[0-9A-Za-z_-]{20,50}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "gitlab-runner-token", family: "gitlab", description: "a GitLab runner authentication token", keywords: ["glrt-"], pattern: rx("glrt-[0-9A-Za-z_-]{20,300}(?:\\.[0-9a-z]{2}\\.[0-9a-z]{9}|\\.[0-9a-z]{9})?"), minEntropy: 3 },
  { id: "gitlab-token", family: "gitlab", description: "a GitLab token", keywords: ["glcbt-", "gldt-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glffct-"], pattern: rx(`(?:gl(?:cbt|dt|ft|soat|ffct)-[0-9A-Za-z_-]{20,50}|glimt-[0-9A-Za-z_-]{25}|gloas-[0-9A-Za-z_-]{64}|glagent-[0-9A-Za-z_-]{50,1024})${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "gitlab-session-cookie", family: "gitlab", description: "a GitLab session cookie", keywords: ["_gitlab_session="], pattern: rx("_gitlab_session=([0-9a-z]{32})"), minEntropy: 3 },

  // Slack. The bot-token shape (two digit groups) is already specific, and noseyparker's examples
  // include low-entropy real-shaped tokens, so that one carries no entropy floor.
  { id: "slack-bot-token", family: "slack", description: "a Slack bot token", keywords: ["xoxb-"], pattern: rx("xoxb-[0-9A-Fa-f]{8,14}-(?:[0-9]{10,14}[A-Za-z0-9-]{0,64}|[A-Za-z0-9]{18,26}|[0-9A-Za-z]{10,14}-[0-9A-Za-z]{20,48})") },
  { id: "slack-user-token", family: "slack", description: "a Slack user token", keywords: ["xoxp-", "xoxe-"], pattern: rx(`xox[pe](?:(?:-[0-9]{10,13}){3}-[A-Za-z0-9-]{28,34}|-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9]{0,100})${NOT_BEFORE_TOKEN}`), minEntropy: 2 },
  { id: "slack-legacy-token", family: "slack", description: "a Slack legacy token", keywords: ["xoxo-", "xoxs-"], pattern: rx(`xox[os]-(?:[0-9]{6,13}-[0-9]{6,13}(?:-[0-9]{6,13}-[0-9A-Za-z]{8,64})?|[0-9]{1,13}-[0-9]{1,13}-[0-9]{1,13}-[0-9a-fA-F]{4,64})${NOT_BEFORE_TOKEN}`), minEntropy: 2 },
  { id: "slack-legacy-workspace-token", family: "slack", description: "a Slack workspace token", keywords: ["xoxa-", "xoxr-"], pattern: rx(`xox[ar]-(?:[0-9]-)?[0-9A-Za-z]{8,48}(?:-[0-9A-Za-z]{8,48}){0,3}${NOT_BEFORE_TOKEN}`), minEntropy: 2 },
  { id: "slack-app-token", family: "slack", description: "a Slack app-level token", keywords: ["xapp-"], pattern: rx("xapp-(?:[0-9]-[A-Za-z0-9]{1,20}-[0-9]{1,20}-[A-Za-z0-9]{1,128}|[0-9]{12}-[A-Za-z0-9/+]{24})"), minEntropy: 2 },
  { id: "slack-config-access-token", family: "slack", description: "a Slack configuration access token", keywords: ["xoxe.xox"], pattern: rx("xoxe\\.xox[bp]-[0-9]-[A-Za-z0-9]{100,200}"), minEntropy: 2 },
  { id: "slack-config-refresh-token", family: "slack", description: "a Slack configuration refresh token", keywords: ["xoxe-"], pattern: rx("xoxe-[0-9]-[A-Za-z0-9]{100,200}"), minEntropy: 2 },
  // Browser-session tokens (the web client's xoxc- token and its xoxd- cookie) act as the user.
  { id: "slack-session-token", family: "slack", description: "a Slack browser session token or cookie", keywords: ["xoxc-", "xoxd-"], pattern: rx(`${NOT_AFTER_WORD}(?:xoxc-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{32,128}|xoxd-[A-Za-z0-9%/+=_-]{40,600})`), minEntropy: 3 },
  { id: "slack-webhook-url", family: "slack", description: "a Slack webhook URL", keywords: ["hooks.slack.com"], pattern: rx("hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,200}", true) },

  // AWS. gitleaks' entropy floor of 3 drops noseyparker's `AKIADEADBEEF…` example (2.55), so the
  // floor here is 2: `AKIAXXXX…` placeholders (1.0) still fall below it.
  { id: "aws-access-token", family: "aws", description: "an AWS access key id", keywords: ["a3t", "akia", "asia", "abia", "acca"], pattern: rx(`(?<![A-Za-z0-9])((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Za-z0-9])`), minEntropy: 2, allow: (key) => key.endsWith("EXAMPLE") },
  // AWS's documentation uses wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY for its example secret key.
  // A pre-signed URL grants what its signer may until it expires: its signature, and the session
  // token a temporary key signs with, are its secret (S3's SigV4 query parameters; CloudFront's
  // signed URL `Expires=…&Signature=…&Key-Pair-Id=…`). URL-encoded, so `%2F` is part of it.
  { id: "aws-presigned-url-signature", family: "aws", description: "the signature or session token of a pre-signed AWS URL", keywords: ["x-amz-signature=", "x-amz-security-token=", "&signature="], pattern: rx(`[?&](?:X-Amz-Signature=([0-9a-f]{64})|X-Amz-Security-Token=([A-Za-z0-9%/+=_-]{16,4000})|(?<=[?&](?:Expires|Policy)=[^&\\s]{1,500}&)Signature=([A-Za-z0-9_~-]{16,500}))(?![A-Za-z0-9%_.~+/=-])`), minEntropy: 3, allow: isPlaceholder },
  { id: "aws-secret-access-key", family: "aws", description: "an AWS secret access key", keywords: ["aws"], pattern: rx(`(?:\\baws[._-]?(?:secret)?[._-]?(?:access)?[._-]?(?:key)?\\\\?["']?\\s{0,30}(?::|=>|=|>)\\s{0,30}\\\\?["']?|\\baws configure set (?:[A-Za-z0-9_-]{1,40}\\.)?aws_secret_access_key[ \\t]{1,5}["']?)([A-Za-z0-9/+=]{40})${NOT_BEFORE_B64}`, true), allow: (key) => key.endsWith("EXAMPLEKEY") },
  { id: "aws-session-token", family: "aws", description: "an AWS session token", keywords: ["aws"], pattern: rx(`aws.?(?:session.?token|session|token)["'\`]?\\s{0,30}(?::|=>|=)\\s{0,30}["'\`]?([A-Za-z0-9/+=]{16,2000})${NOT_BEFORE_B64}`, true), minEntropy: 3 },
  { id: "aws-bedrock-api-key", family: "aws", description: "an Amazon Bedrock API key", keywords: ["absk"], pattern: rx(`(?<![A-Za-z0-9+/])ABSK[A-Za-z0-9+/]{109,269}={0,2}${NOT_BEFORE_B64}`) },
  { id: "aws-bedrock-short-lived-key", family: "aws", description: "an Amazon Bedrock short-lived API key", keywords: ["bedrock-api-key-"], pattern: rx("bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%&-]{0,4000}") },

  // Google.
  // A Cloud Storage signed URL's signature (V4: hex of an RSA signature), its secret until it expires.
  { id: "gcs-signed-url-signature", family: "google", description: "the signature of a signed Cloud Storage URL", keywords: ["x-goog-signature="], pattern: rx(`[?&]X-Goog-Signature=([0-9a-f]{64,1024})(?![A-Za-z0-9%_.~+/=-])`), minEntropy: 3, allow: isPlaceholder },
  { id: "gcp-api-key", family: "google", description: "a Google API key", keywords: ["aiza"], pattern: rx(`${NOT_AFTER_TOKEN}(AIza[0-9A-Za-z_-]{35})${NOT_BEFORE_TOKEN}`), minEntropy: 4, allow: (key) => PUBLIC_GOOGLE_EXAMPLE_KEYS.has(key) },

  // AI providers: the agents' own logins.
  { id: "anthropic-api-key", family: "anthropic", description: "an Anthropic API key", keywords: ["sk-ant-api"], pattern: rx(`${NOT_AFTER_TOKEN}sk-ant-api[0-9]{2,3}-[A-Za-z0-9_-]{80,120}AA${NOT_BEFORE_TOKEN}`), minEntropy: 4 },
  { id: "anthropic-admin-api-key", family: "anthropic", description: "an Anthropic admin API key", keywords: ["sk-ant-admin"], pattern: rx(`${NOT_AFTER_TOKEN}sk-ant-admin[0-9]{2}-[A-Za-z0-9_-]{80,120}AA${NOT_BEFORE_TOKEN}`), minEntropy: 4 },
  { id: "anthropic-oauth-token", family: "anthropic", description: "an Anthropic (Claude Code) OAuth token", keywords: ["sk-ant-oat", "sk-ant-ort"], pattern: rx(`${NOT_AFTER_TOKEN}sk-ant-o[ar]t[0-9]{2}-[A-Za-z0-9_-]{80,160}`) },
  { id: "openai-api-key", family: "openai", description: "an OpenAI API key", keywords: ["t3blbkfj"], pattern: rx(`${NOT_AFTER_TOKEN}sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,400}T3BlbkFJ[A-Za-z0-9_-]{20,400}${NOT_BEFORE_TOKEN}`), window: { before: 420, after: 420 } },
  { id: "openai-legacy-api-key", family: "openai", description: "an OpenAI API key", keywords: ["sk-"], pattern: rx(`${NOT_AFTER_TOKEN}sk-[A-Za-z0-9]{48}${NOT_BEFORE_TOKEN}`), minEntropy: 3, allow: looksFake },
  // OpenAI's project, service-account and admin keys by their documented prefix alone: keys
  // without the T3BlbkFJ marker are still refused; a key with the marker is openai-api-key's to
  // judge (its length checks decide).
  { id: "openai-prefixed-api-key", family: "openai", description: "an OpenAI API key", keywords: ["sk-proj-", "sk-svcacct-", "sk-admin-"], pattern: rx(`${NOT_AFTER_TOKEN}sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,400}${NOT_BEFORE_TOKEN}`), minEntropy: 4, allow: (key) => key.includes("T3BlbkFJ") || isPlaceholder(key) || looksFake(key) },
  { id: "openrouter-api-key", family: "openrouter", description: "an OpenRouter API key", keywords: ["sk-or-v1-"], pattern: rx(`sk-or-v1-[0-9a-f]{64}`) },
  { id: "groq-api-key", family: "groq", description: "a Groq API key", keywords: ["gsk_"], pattern: rx(`${NOT_AFTER_WORD}gsk_[A-Za-z0-9]{52}${NOT_BEFORE_TOKEN}`) },
  { id: "xai-api-key", family: "xai", description: "an xAI API key", keywords: ["xai-"], pattern: rx(`${NOT_AFTER_WORD}xai-[A-Za-z0-9_]{80}${NOT_BEFORE_TOKEN}`) },
  { id: "huggingface-access-token", family: "huggingface", description: "a Hugging Face access token", keywords: ["hf_"], pattern: rx(`${NOT_AFTER_WORD}(hf_[A-Za-z0-9]{34,40})${NOT_BEFORE_TOKEN}`), minEntropy: 2, allow: looksFake },
  { id: "huggingface-organization-api-token", family: "huggingface", description: "a Hugging Face organization token", keywords: ["api_org_"], pattern: rx(`${NOT_AFTER_WORD}(api_org_[A-Za-z]{34})${NOT_BEFORE_TOKEN}`), minEntropy: 2 },
  { id: "perplexity-api-key", family: "perplexity", description: "a Perplexity API key", keywords: ["pplx-"], pattern: rx(`${NOT_AFTER_WORD}pplx-[A-Za-z0-9]{48}${NOT_BEFORE_TOKEN}`), minEntropy: 4 },

  // Package registries.
  { id: "npm-access-token", family: "npm", description: "an npm access token", keywords: ["npm_"], pattern: rx(`${NOT_AFTER_WORD}npm_[A-Za-z0-9]{36}${NOT_BEFORE_TOKEN}`), minEntropy: 2 },
  { id: "npmrc-auth", family: "npm", description: "an .npmrc credential", keywords: ["_auth", "_password"], pattern: rx(`(?<![A-Za-z0-9_$.])_(?:authToken|auth|password)(?:[ \\t]{0,5}=|"[ \\t]{0,5}:)[ \\t]{0,5}["']?(?!\\$\\{)([^\\s"'\\x60]{8,500})`), allow: isPlaceholder },
  // TestPyPI's tokens carry test.pypi.org in the macaroon (AgENdGVzdC5weXBpLm9yZw).
  { id: "pypi-test-upload-token", family: "pypi", description: "a TestPyPI upload token", keywords: ["pypi-agendgvzdc5wexbplm9yzw"], pattern: rx("pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50,1000}") },
  { id: "pypi-upload-token", family: "pypi", description: "a PyPI upload token", keywords: ["pypi-ageichlwas5vcmc"], pattern: rx("pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}") },
  { id: "docker-hub-pat", family: "docker", description: "a Docker Hub access token", keywords: ["dckr_pat_", "dckr_oat_"], pattern: rx("dckr_[po]at_[A-Za-z0-9_-]{27,64}") },

  // Payments, SaaS, infrastructure.
  { id: "stripe-access-token", family: "stripe", description: "a Stripe secret key", keywords: ["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"], pattern: rx(`${NOT_AFTER_WORD}[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}${NOT_BEFORE_WORD}`), allow: (key) => isPlaceholder(key) || (key.length < 32 && shannonEntropy(key.slice(8)) < 3) },
  { id: "sendgrid-api-token", family: "sendgrid", description: "a SendGrid API key", keywords: ["sg."], pattern: rx(`${NOT_AFTER_WORD}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}${NOT_BEFORE_TOKEN}`) },
  { id: "shopify-token", family: "shopify", description: "a Shopify token", keywords: ["shpss_", "shpat_", "shpca_", "shppa_"], pattern: rx(`shp(?:ss|at|ca|pa)_[A-Za-z0-9]{32,40}${NOT_BEFORE_WORD}`) },
  { id: "linear-api-key", family: "linear", description: "a Linear API key", keywords: ["lin_api_"], pattern: rx("lin_api_[A-Za-z0-9]{40}") },
  { id: "notion-api-token", family: "notion", description: "a Notion API token", keywords: ["ntn_"], pattern: rx(`${NOT_AFTER_WORD}ntn_[0-9]{11}[A-Za-z0-9]{35}${NOT_BEFORE_TOKEN}`) },
  { id: "vercel-token", family: "vercel", description: "a Vercel token", keywords: ["vcp_", "vci_", "vca_", "vcr_", "vck_"], pattern: rx(`${NOT_AFTER_WORD}vc[pikar]_[A-Za-z0-9]{24,64}${NOT_BEFORE_TOKEN}`) },
  // Vercel tokens from before the vcp_ prefixes: 24 alphanumerics under a Vercel name.
  { id: "vercel-legacy-token", family: "vercel", description: "a Vercel access token (legacy form)", keywords: ["vercel"], pattern: rx(`vercel[A-Za-z0-9_.-]{0,30}?(?:token|key|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([A-Za-z0-9]{24})(?![A-Za-z0-9_-])`, true), minEntropy: 3.5 },
  { id: "databricks-api-token", family: "databricks", description: "a Databricks token", keywords: ["dapi"], pattern: rx(`${NOT_AFTER_WORD}dapi[0-9a-fA-F]{32}(?:-[0-9])?${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "digitalocean-token", family: "digitalocean", description: "a DigitalOcean token", keywords: ["doo_v1_", "dop_v1_", "dor_v1_"], pattern: rx("do[opr]_v1_[a-f0-9]{64}") },
  // From its keyword, the token read back whole into group 1: read forward, every run of 14 letters in a window was a start.
  { id: "hashicorp-tf-api-token", family: "hashicorp", description: "a Terraform Cloud API token", keywords: ["atlasv1"], pattern: rx("\\.atlasv1\\.[A-Za-z0-9_=-]{60,128}(?<=(?<![A-Za-z0-9])([A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,128}))"), minEntropy: 3.5, window: { before: 16, after: 150 } },
  // Kaggle's ~/.kaggle/kaggle.json ({"username":…,"key":…}) and its KAGGLE_KEY: 32 hex.
  { id: "kaggle-api-key", family: "kaggle", description: "a Kaggle API key", keywords: ['"username"', "kaggle_key"], pattern: rx(`(?:"username"[ \\t]{0,3}:[ \\t]{0,3}"[^"\\s]{1,64}"[ \\t]{0,3},[ \\t]{0,3}"key"[ \\t]{0,3}:[ \\t]{0,3}"|KAGGLE_KEY["']?[ \\t]{0,3}[=:][ \\t]{0,3}["']?)([0-9a-f]{32})(?![0-9A-Za-z])`, true), minEntropy: 3 },
  // Vault's tokens (vault/token_store.go): 24 base62 characters behind `hvs.` or `hvr.` (a root token,
  // a recovery token, a service token where server-side consistent tokens are off), with `.` and the
  // namespace id for a namespace other than root; or, server-side consistent, that wrapped with its
  // storage index and HMAC in base64url (91-122 characters).
  { id: "vault-service-token", family: "vault", description: "a HashiCorp Vault token", keywords: ["hvs.", "hvr."], pattern: rx(`${NOT_AFTER_WORD}hv[sr]\\.(?:[A-Za-z0-9_-]{90,122}|[A-Za-z0-9]{24}(?:\\.[A-Za-z0-9]{4,5})?${NOT_BEFORE_TOKEN})`), minEntropy: 3.5 },
  { id: "vault-batch-token", family: "vault", description: "a HashiCorp Vault batch token", keywords: ["hvb."], pattern: rx(`${NOT_AFTER_WORD}hvb\\.[A-Za-z0-9_-]{138,300}`), minEntropy: 4 },
  // gitleaks allowlists the all-letter form: it is a camel-cased identifier (`s.AcceptanceTimeout…`).
  { id: "vault-legacy-token", family: "vault", description: "a HashiCorp Vault token (service, batch or recovery, legacy prefixes)", keywords: ["s.", "b.", "r."], pattern: rx(`(?<![A-Za-z0-9_.$])[sbr]\\.[A-Za-z0-9_-]{24,200}${NOT_BEFORE_WORD}`), minEntropy: 3.5, allow: (token) => /^[sbr]\.[A-Za-z_-]+$/.test(token) },
  { id: "vault-unseal-key", family: "vault", description: "a HashiCorp Vault unseal key", keywords: ["unseal"], pattern: rx(`(?:Unseal Key(?: [0-9]{1,2})?:|vault operator unseal)[ \\t]{1,3}([A-Za-z0-9+/]{43,44}={0,1})(?![A-Za-z0-9+/=])`), minEntropy: 3.5 },
  { id: "heroku-api-key-v2", family: "heroku", description: "a Heroku API key", keywords: ["hrku-aa"], pattern: rx(`${NOT_AFTER_WORD}HRKU-AA[0-9A-Za-z_-]{58}`), minEntropy: 4 },
  { id: "grafana-cloud-api-token", family: "grafana", description: "a Grafana Cloud token", keywords: ["glc_"], pattern: rx(`${NOT_AFTER_WORD}glc_[A-Za-z0-9+/]{32,400}={0,3}`), minEntropy: 3 },
  { id: "grafana-service-account-token", family: "grafana", description: "a Grafana service account token", keywords: ["glsa_"], pattern: rx(`${NOT_AFTER_WORD}glsa_[A-Za-z0-9_]{41}(?![A-Za-z0-9_])`), minEntropy: 3 },
  { id: "sentry-org-token", family: "sentry", description: "a Sentry organization token", keywords: ["sntrys_"], pattern: rx(`${NOT_AFTER_WORD}sntrys_eyJ[A-Za-z0-9+/]{20,800}={0,2}_[A-Za-z0-9+/]{43}`) },
  { id: "sourcegraph-access-token", family: "sourcegraph", description: "a Sourcegraph access token", keywords: ["sgp_"], pattern: rx(`${NOT_AFTER_WORD}sgp_(?:[a-fA-F0-9]{16}_)?(?:local_)?[a-fA-F0-9]{40}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "sourcegraph-keyword-token", family: "sourcegraph", description: "a Sourcegraph access token", keywords: ["sourcegraph"], pattern: rx(`sourcegraph[A-Za-z0-9_ .:"'=-]{0,20}?([a-fA-F0-9]{40})${NOT_BEFORE_WORD}`, true), minEntropy: 3 },
  { id: "sourcegraph-cody-key", family: "sourcegraph", description: "a Sourcegraph Cody Gateway key", keywords: ["slk_"], pattern: rx(`${NOT_AFTER_WORD}slk_[a-f0-9]{64}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "okta-access-token", family: "okta", description: "an Okta access token", keywords: ["okta"], pattern: rx(`(?:Okta|okta|OKTA)[A-Za-z0-9_.-]{0,20}["']{0,3}\\s{0,5}(?:=>|=|:)\\s{0,5}["']{0,2}(00[A-Za-z0-9_=-]{40})(?![A-Za-z0-9_=-])`), minEntropy: 4 },
  // Okta API tokens (00 + 40) in the SSWS authorization scheme, or on a line naming Okta (as a
  // word: `rookTable` is not Okta).
  { id: "okta-api-token-context", family: "okta", description: "an Okta API token", keywords: ["okta", "ssws"], pattern: rx(`00[A-Za-z0-9_-]{40}(?<=(?:SSWS[ \\t]{1,5}|(?:(?<![A-Za-z])okta|Okta|OKTA)[^]{0,60}?)(?<![A-Za-z0-9_-])00[A-Za-z0-9_-]{40})(?![A-Za-z0-9_=-])`), minEntropy: 4 },
  { id: "flyio-access-token", family: "flyio", description: "a Fly.io token", keywords: ["fo1_", "fm1", "fm2_"], pattern: rx(`${NOT_AFTER_WORD}(?:fo1_[A-Za-z0-9_-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,2000}={0,3}|fm2_[A-Za-z0-9+/]{100,2000}={0,3})`), minEntropy: 4 },
  { id: "1password-service-account-token", family: "1password", description: "a 1Password service account token", keywords: ["ops_ey"], pattern: rx(`${NOT_AFTER_WORD}ops_eyJ[A-Za-z0-9+/]{250,4096}={0,3}`), minEntropy: 4 },
  // 1Password's account Secret Key (support.1password.com: A3- and six groups).
  { id: "1password-secret-key", family: "1password", description: "a 1Password account Secret Key", keywords: ["a3-"], pattern: rx(`${NOT_AFTER_WORD}A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "age-secret-key", family: "age", description: "an age secret key", keywords: ["age-secret-key-1"], pattern: rx("AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}") },

  // Cloud: AWS beyond the key id, Azure, Google OAuth.
  { id: "aws-session-token-value", family: "aws", description: "an AWS session token", keywords: ["iqojb3jpz2lu", "fwogzxivyxdz", "fqogzxivyxdz", "aqodyxdz"], pattern: rx(`${NOT_AFTER_B64}(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz)[A-Za-z0-9/+]{100,4000}={0,2}`) },
  { id: "aws-secret-near-key-id", family: "aws", description: "an AWS secret access key next to its key id", keywords: ["akia", "asia"], window: { before: 0, after: 240 }, pattern: rx(`${NOT_AFTER_B64}([A-Za-z0-9/+]{40})${NOT_BEFORE_B64}`), minEntropy: 4.2, allow: (key) => !(/[0-9]/.test(key) && /[a-z]/.test(key) && /[A-Z]/.test(key)) },
  { id: "aws-appsync-api-key", family: "aws", description: "an AWS AppSync API key", keywords: ["da2-"], pattern: rx(`${NOT_AFTER_WORD}da2-[a-z0-9]{26}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "aws-mws-key", family: "aws", description: "an Amazon MWS auth token", keywords: ["amzn.mws."], pattern: rx("amzn\\.mws\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") },
  { id: "azure-storage-key", family: "azure", description: "an Azure storage or Cosmos DB account key", keywords: ["accountkey", "sharedaccesskey", "primarykey", "primary_key", "masterkey"], pattern: rx(`(?:AccountKey|SharedAccessKey|PrimaryKey|primary_key|MasterKey)["']?\\s{0,5}[=:]\\s{0,5}["']?([A-Za-z0-9+/]{40,128}={0,2})${NOT_BEFORE_B64}`, true), minEntropy: 4 },
  { id: "azure-sas-token", family: "azure", description: "an Azure shared access signature", keywords: ["sig="], pattern: rx(`[?&;]sig=([A-Za-z0-9%+/]{30,120}(?:%3D|=){0,2})`, true), minEntropy: 3.5 },
  { id: "azure-ad-client-secret", family: "azure", description: "an Azure AD (Entra) client secret", keywords: ["q~"], pattern: rx(`(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}\\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])`), minEntropy: 3 },
  { id: "azure-devops-pat", family: "azure", description: "an Azure DevOps personal access token", keywords: ["azdo"], pattern: rx(`${NOT_AFTER_WORD}(?:[A-Za-z0-9]{76}|[A-Za-z0-9]{52})AZDO[A-Za-z0-9]{4}${NOT_BEFORE_WORD}`), minEntropy: 3, window: { before: 78, after: 6 } },
  // Azure API Management's subscription key header (learn.microsoft.com: Ocp-Apim-Subscription-Key), 32 hex.
  { id: "azure-apim-subscription-key", family: "azure", description: "an Azure API Management subscription key", keywords: ["subscription-key", "subscription_key", "subscriptionkey"], pattern: rx(`(?:ocp-apim-)?subscription[_-]?key["']?[ \\t]{0,3}[:=][ \\t]{0,3}["']?([a-f0-9]{32})(?![A-Za-z0-9])`, true), minEntropy: 3 },
  { id: "azure-keyword-secret", family: "azure", description: "an Azure key", keywords: ["azure", "devops", "cosmos", "ado_pat"], pattern: rx(`(?:azure|devops|cosmos|ado)[A-Za-z0-9_. -]{0,30}?(?:key|pat|token|secret|password)["']?\\s{0,5}(?::|=|=>)\\s{0,5}["']?([a-z2-7]{52}|[A-Za-z0-9+/]{86}==|[a-f0-9]{32}|[A-Za-z0-9]{84}|[A-Za-z0-9]{52}|[A-Za-z0-9_+/-]{30,120}={0,2})(?![A-Za-z0-9+/=_-])`, true), minEntropy: 3, window: { before: 2, after: 160 } },
  { id: "gcp-oauth-access-token", family: "google", description: "a Google OAuth access token", keywords: ["ya29."], pattern: rx(`${NOT_AFTER_WORD}ya29\\.[0-9A-Za-z_-]{30,2048}`), minEntropy: 3.5 },
  { id: "gcp-oauth-client-secret", family: "google", description: "a Google OAuth client secret", keywords: ["gocspx-"], pattern: rx(`${NOT_AFTER_WORD}GOCSPX-[0-9A-Za-z_-]{28}${NOT_BEFORE_TOKEN}`) },
  { id: "gcp-oauth-refresh-token", family: "google", description: "a Google OAuth refresh token", keywords: ["1//0"], pattern: rx(`(?<![A-Za-z0-9_/])1//0[0-9A-Za-z_-]{40,512}`), minEntropy: 3.5 },

  // Forges and chat beyond the prefixed tokens.
  { id: "github-legacy-token", family: "github", description: "a GitHub token (legacy 40-hex form)", keywords: ["github", "gh_token", "gh_pat", "ghe_token"], pattern: rx(`(?<![A-Za-z0-9])[0-9a-f]{40}(?![A-Za-z0-9])(?<=(?:github|gh|ghe)[A-Za-z0-9_.-]{0,30}?(?:token|pat|secret|key|password|auth)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?(?:token\\s)?[0-9a-f]{40})`, true), minEntropy: 3, window: { before: 2, after: 110 } },
  { id: "github-oauth-client-secret", family: "github", description: "a GitHub OAuth app client secret", keywords: ["client_secret", "clientsecret", "client-secret"], pattern: rx(`client[_-]?secret["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{40})(?![A-Za-z0-9])`, true), minEntropy: 3, window: { before: 2, after: 70 } },
  // OAuth consumer secrets (gitleaks bitbucket-client-secret: 64 characters under a Bitbucket name).
  { id: "bitbucket-client-secret", family: "bitbucket", description: "a Bitbucket OAuth consumer secret", keywords: ["bitbucket"], pattern: rx(`bitbucket[A-Za-z0-9_.-]{0,30}?(?:secret|key|token)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([A-Za-z0-9=_+-]{44}|[A-Za-z0-9=_-]{64})(?![A-Za-z0-9=_+-])`, true), minEntropy: 4 },
  { id: "bitbucket-app-password", family: "bitbucket", description: "a Bitbucket app password", keywords: ["atbb"], pattern: rx(`${NOT_AFTER_WORD}ATBB[A-Za-z0-9_=.-]{24,60}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "atlassian-api-token", family: "atlassian", description: "an Atlassian API token", keywords: ["atatt", "atctt", "atcatt"], pattern: rx(`${NOT_AFTER_WORD}AT(?:ATT|CTT|CATT)[A-Za-z0-9_=-]{40,400}`), minEntropy: 3.5 },
  // Jira Cloud's legacy API tokens: 24 alphanumerics, mixed case and digits, after a Jira name.
  { id: "jira-api-token-context", family: "atlassian", description: "a Jira API token", keywords: ["jira"], pattern: rx(`jira[A-Za-z0-9_.-]{0,20}?(?:token|key|secret|pat)?["'\`]?(?:[ \\t]{0,5}(?::|=|=>|:=)[ \\t]{0,5}|[ \\t]{1,5})["'\`]?([A-Za-z0-9]{24})(?![A-Za-z0-9._-])`, true), minEntropy: 3.5, allow: (token) => !(/[0-9]/.test(token) && /[a-z]/.test(token) && /[A-Z]/.test(token)) },
  { id: "atlassian-legacy-token", family: "atlassian", description: "an Atlassian API token", keywords: ["atlassian", "confluence", "jira"], pattern: rx(`(?<![A-Za-z0-9])[A-Za-z0-9]{24}(?![A-Za-z0-9])(?<=(?:atlassian|confluence|jira)[A-Za-z0-9_.-]{0,30}?(?:token|key|secret|password|pat)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?[A-Za-z0-9]{24})`, true), minEntropy: 3.5, window: { before: 2, after: 100 } },
  { id: "discord-bot-token", family: "discord", description: "a Discord bot token", keywords: ["mt", "mj", "mz", "mq", "nd", "nt", "nj", "nz", "od", "ot"], pattern: rx(`${NOT_AFTER_TOKEN}[MNO][A-Za-z0-9_-]{23,25}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,40}${NOT_BEFORE_TOKEN}`), minEntropy: 4 },
  { id: "discord-webhook-url", family: "discord", description: "a Discord webhook URL", keywords: ["/api/webhooks/"], pattern: rx("discord(?:app)?\\.com/api/webhooks/[0-9]{5,30}/[A-Za-z0-9_-]{60,80}", true) },
  { id: "discord-client-secret", family: "discord", description: "a Discord client secret", keywords: ["discord"], pattern: rx(`discord[A-Za-z0-9_.-]{0,30}?(?:secret|token|key)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([A-Za-z0-9_-]{32})(?![A-Za-z0-9_-])`, true), minEntropy: 3.5 },
  // Office 365 connector URLs from before webhook.office.com (outlook.office.com/webhook/…),
  // still found in old configs and scripts.
  { id: "teams-legacy-webhook-url", family: "teams", description: "a Microsoft Teams webhook URL", keywords: ["outlook.office.com/webhook/", "outlook.office365.com/webhook/"], pattern: rx("outlook\\.office(?:365)?\\.com/webhook/[A-Za-z0-9@/-]{40,300}", true) },
  // A bot token under a Discord name whose id part does not start with M/N/O (trufflehog's
  // discordbottoken takes any 24-28 characters before the first dot next to its keyword).
  { id: "discord-bot-token-context", family: "discord", description: "a Discord bot token", keywords: ["discord"], pattern: rx(`discord[A-Za-z0-9_.-]{0,30}?["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([A-Za-z0-9_-]{23,28}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,40})(?![A-Za-z0-9_-])`, true), minEntropy: 4 },
  { id: "telegram-bot-token", family: "telegram", description: "a Telegram bot token", keywords: [":aa"], pattern: rx(`(?<![A-Za-z0-9_:-])[0-9]{5,16}:AA[A-Za-z0-9_-]{32,34}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "teams-webhook-url", family: "teams", description: "a Microsoft Teams webhook URL", keywords: ["webhook.office.com", "logic.azure.com"], pattern: rx("(?:(?<![a-z0-9-])[a-z0-9-]{1,63}\\.webhook\\.office\\.com/webhookb2/[A-Za-z0-9@/-]{40,300}|prod-[0-9]+\\.[a-z0-9]+\\.logic\\.azure\\.com(?::443)?/workflows/[A-Za-z0-9]+/triggers/[^\\s\"'<>]{10,400}?sig=[A-Za-z0-9_%-]{20,100}(?:&[^\\s\"'<>]{0,400})?)", true), window: { before: 66, after: 920 } },

  // Payments, SaaS, infrastructure beyond the prefixed tokens above.
  { id: "stripe-webhook-secret", family: "stripe", description: "a Stripe webhook signing secret", keywords: ["whsec_"], pattern: rx(`${NOT_AFTER_WORD}whsec_[A-Za-z0-9]{32,64}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "square-token", family: "square", description: "a Square access token or secret", keywords: ["sq0atp-", "sq0csp-", "sq0csb-", "eaaa"], pattern: rx(`${NOT_AFTER_TOKEN}(?:sq0atp-[0-9A-Za-z_-]{22,60}|(?:sandbox-)?sq0cs[pb]-[0-9A-Za-z_-]{43}|EAAA[A-Za-z0-9_=+-]{60,72})${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "braintree-access-token", family: "paypal", description: "a PayPal Braintree access token", keywords: ["access_token$production$", "access_token$sandbox$"], pattern: rx("access_token\\$(?:production|sandbox)\\$[0-9a-z]{16}\\$[0-9a-f]{32}") },
  // Braintree API private keys (32 hex) under a Braintree name; the public key and merchant id
  // beside them are identifiers.
  { id: "braintree-private-key", family: "paypal", description: "a Braintree API private key", keywords: ["braintree"], pattern: rx(`braintree[A-Za-z0-9_.-]{0,30}?(?:private[_-]?key|key|secret|token)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{32})(?![A-Za-z0-9])`, true), minEntropy: 3 },
  { id: "paypal-client-secret", family: "paypal", description: "a PayPal client secret", keywords: ["paypal"], pattern: rx(`paypal[A-Za-z0-9_. -]{0,30}?(?:secret|key|token)["'\`]?[ \\t]{0,5}(?::|=|=>|:=|-)[ \\t]{0,5}["'\`]?([A-Za-z0-9_-]{80}|[A-Za-z0-9_.-]{40,79})(?![A-Za-z0-9_.-])`, true), minEntropy: 4 },
  { id: "twilio-api-key", family: "twilio", description: "a Twilio API key", keywords: ["sk"], pattern: rx(`${NOT_AFTER_WORD}SK[0-9a-fA-F]{32}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "twilio-auth-token", family: "twilio", description: "a Twilio auth token", keywords: ["twilio"], pattern: rx(`twilio[A-Za-z0-9_. -]{0,30}?(?:token|secret|key)["'\`]?\\s{0,5}(?::|=|=>|:=|-)\\s{0,5}["'\`]?([0-9a-z]{32})(?![A-Za-z0-9])`, true), minEntropy: 3 },
  { id: "datadog-api-key", family: "datadog", description: "a Datadog API or application key", keywords: ["datadog", "dd_api", "dd_app", "dd-api", "dd-app", "dd_client", "dd_secret", "dd-secret"], pattern: rx(`(?<![A-Za-z0-9])(?:[0-9a-f]{32}|[0-9a-f]{40})(?![A-Za-z0-9])(?<=(?:datadog|dd)[A-Za-z0-9_.-]{0,30}?(?:api|app|application|client|secret)[_-]?(?:key|token)["'\`]?(?:\\s{0,5}(?::|=|=>|:=)\\s{0,5}|-)["'\`]?(?:[0-9a-f]{32}|[0-9a-f]{40}))`, true), minEntropy: 3, window: { before: 2, after: 120 } },
  // Datadog's prefixed application keys (ddapp_ + 34 alphanumerics, AWS Secrets Manager's
  // DatadogApplicationKey docs).
  { id: "datadog-application-key", family: "datadog", description: "a Datadog application key", keywords: ["ddapp_"], pattern: rx(`${NOT_AFTER_WORD}ddapp_[A-Za-z0-9]{34}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "sentry-user-token", family: "sentry", description: "a Sentry user auth token", keywords: ["sntryu_"], pattern: rx(`${NOT_AFTER_WORD}sntryu_[a-f0-9]{64}${NOT_BEFORE_WORD}`) },
  { id: "sentry-auth-token", family: "sentry", description: "a Sentry auth token", keywords: ["sentry"], pattern: rx(`sentry[A-Za-z0-9_.-]{0,30}?(?:token|key|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([a-f0-9]{64})(?![A-Za-z0-9])`, true), minEntropy: 3 },
  { id: "newrelic-key", family: "newrelic", description: "a New Relic key", keywords: ["nrak-", "nrjs-", "nrii-", "nriq-", "nraa-", "nrbr-"], pattern: rx(`${NOT_AFTER_WORD}(?:NRAK-[A-Z0-9]{27}|NRJS-[a-f0-9]{19}|NRI[IQ]-[A-Za-z0-9_-]{25,32}|NRAA-[a-f0-9]{27}|NRBR-[a-f0-9]{19})${NOT_BEFORE_TOKEN}`) },
  { id: "newrelic-license-key", family: "newrelic", description: "a New Relic license key", keywords: ["nral"], pattern: rx(`${NOT_AFTER_WORD}[a-f0-9]{36}NRAL${NOT_BEFORE_WORD}`), window: { before: 38, after: 6 } },
  // New Relic REST API keys (NRRA-) and Synthetics keys (NRSP-).
  { id: "newrelic-prefixed-key", family: "newrelic", description: "a New Relic key", keywords: ["nrra-", "nrsp-"], pattern: rx(`${NOT_AFTER_WORD}NR(?:RA|SP)-[A-Za-z0-9_-]{19,64}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "mailgun-key", family: "mailgun", description: "a Mailgun API or signing key", keywords: ["key-", "mailgun"], pattern: rx(`(?:${NOT_AFTER_TOKEN}key-(?=[a-z]{0,31}[0-9])[0-9a-z]{32}${NOT_BEFORE_WORD}|mailgun[A-Za-z0-9_.-]{0,30}?(?:key|secret|token)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?(?:[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}|[0-9a-f]{32}))(?![A-Za-z0-9])`, true), minEntropy: 3, window: { before: 2, after: 140 } },
  // Mailgun's private API keys (32-8-8 hex) and its 72-character keys, after a Mailgun name.
  { id: "mailgun-keyword-key", family: "mailgun", description: "a Mailgun API key", keywords: ["mailgun"], pattern: rx(`(?<![A-Za-z0-9-])(?:[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}|[A-Za-z0-9]{72})(?![A-Za-z0-9-])(?<=mailgun[A-Za-z0-9_. -]{0,30}?(?:key|secret|token|password)?(?:["'\`][ \\t]{0,5}(?:(?::|=|=>|:=)[ \\t]{0,5}["'\`]?)?|[ \\t]{0,5}(?::|=|=>|:=)[ \\t]{0,5}["'\`]?)(?:[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}|[A-Za-z0-9]{72}))`, true), minEntropy: HEX_ENTROPY_FLOOR, window: { before: 2, after: 160 } },
  { id: "mailgun-key-near-name", family: "mailgun", description: "a Mailgun API or signing key near a Mailgun name", keywords: ["mailgun"], window: { before: 120, after: 240 }, pattern: rx(`${NOT_AFTER_TOKEN}[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}(?![A-Za-z0-9-])`, true), minEntropy: 3 },
  { id: "postmark-server-token", family: "postmark", description: "a Postmark server token", keywords: ["postmark"], pattern: rx(`postmark[A-Za-z0-9_.-]{0,30}?(?:token|key|secret)?["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9])`, true), minEntropy: 3 },
  { id: "hubspot-token", family: "hubspot", description: "a HubSpot private app token", keywords: ["pat-na", "pat-eu", "pat-ap"], pattern: rx("pat-(?:na|eu|ap)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") },
  { id: "hubspot-api-key", family: "hubspot", description: "a HubSpot API key", keywords: ["hubspot", "hapikey"], pattern: rx(`(?:hubspot|hapikey)[A-Za-z0-9_.-]{0,30}?["'\`]?\\s{0,5}(?::|=|=>|:=|\\()\\s{0,5}["'\`]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9])`, true) },
  { id: "cloudflare-api-token", family: "cloudflare", description: "a Cloudflare API token or key", keywords: ["cloudflare", "cf_api", "cf-api", "cf_token"], pattern: rx(`(?:cloudflare|cf)[A-Za-z0-9_.-]{0,30}?(?:token|key|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([A-Za-z0-9_-]{40}|[0-9a-f]{37})(?![A-Za-z0-9_-])`, true), minEntropy: HEX_ENTROPY_FLOOR, window: { before: 2, after: 120 } },
  // The global API key (37 hex) right after a Cloudflare name, with or without "key" in it.
  { id: "cloudflare-global-api-key", family: "cloudflare", description: "a Cloudflare global API key", keywords: ["cloudflare"], pattern: rx(`cloudflare[A-Za-z0-9_.-]{0,30}?["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{37})(?![A-Za-z0-9])`, true), minEntropy: HEX_ENTROPY_FLOOR },
  { id: "cloudflare-origin-ca-key", family: "cloudflare", description: "a Cloudflare origin CA key", keywords: ["v1.0-"], pattern: rx(`${NOT_AFTER_WORD}v1\\.0-(?:[a-f0-9]{24}-[a-f0-9]{146}|[a-f0-9]{64}-[a-f0-9]{100,200}-[a-f0-9]{64})`) },
  // Shapes kingfisher's rule examples showed (session 6): Azure App Configuration connection strings,
  // MongoDB Atlas service-account secrets and API private keys, NuGet keys under a NuGet name,
  // Grafana API keys (base64 of {"k":…}).
  { id: "azure-app-config-connection-string", family: "azure", description: "an Azure App Configuration connection string", keywords: ["azconfig.io"], pattern: rx(`azconfig\\.io;Id=[^;\\s"'<>]{1,100};Secret=([A-Za-z0-9+/]{40,88}={0,2})${NOT_BEFORE_B64}`, true), minEntropy: 3.5 },
  { id: "mongodb-atlas-service-account-secret", family: "mongodb", description: "a MongoDB Atlas service account secret", keywords: ["mdb_sa_sk_"], pattern: rx(`${NOT_AFTER_WORD}mdb_sa_sk_[A-Za-z0-9_-]{40}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "mongodb-atlas-private-key", family: "mongodb", description: "a MongoDB Atlas API private key", keywords: ["atlas"], pattern: rx(`atlas[A-Za-z0-9_.-]{0,20}?priv(?:ate)?[_-]?(?:api[_-]?)?key["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9-])`, true), minEntropy: 3 },
  { id: "nuget-keyword-key", family: "nuget", description: "a NuGet API key", keywords: ["nuget"], pattern: rx(`nuget[A-Za-z0-9_.-]{0,20}?[ _-]?(?:api[ _-]?)?(?:key|secret|token)["'\`]?[ \\t]{0,5}(?::|=|=>|:=)?[ \\t]{0,5}["'\`]?([a-z0-9]{46})(?![A-Za-z0-9])`, true), minEntropy: 3.5 },
  // A Grafana API key is base64 of {"k":…,"n":<key name>,"id":…}; a Power BI report link's `r=` is
  // base64 of {"k":<GUID>,"t":<tenant>,…}, and Grafana's own EXAMPLE keys are no keys.
  { id: "grafana-api-key", family: "grafana", description: "a Grafana API key", keywords: ["eyjrijoi"], pattern: rx(`(?<![A-Za-z0-9+/])eyJrIjoi[A-Za-z0-9+/]{70,400}={0,3}${NOT_BEFORE_B64}`), minEntropy: 3, allow: (key) => /^\{"k":"[^"]{36}","t"|EXAMPLE/.test(decodeBase64Prefix(key, key.length)) },
  { id: "heroku-api-key", family: "heroku", description: "a Heroku API key", keywords: ["heroku"], pattern: rx(`heroku[A-Za-z0-9_.-]{0,30}?(?:key|token|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9])`, true) },
  { id: "netlify-token", family: "netlify", description: "a Netlify access token", keywords: ["nfp_", "netlify"], pattern: rx(`(?:${NOT_AFTER_WORD}nfp_[A-Za-z0-9]{36}${NOT_BEFORE_WORD}|netlify[A-Za-z0-9_.-]{0,30}?(?:token|key|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?[A-Za-z0-9_-]{40,64}(?![A-Za-z0-9_-]))`, true), minEntropy: 3.5 },
  { id: "supabase-token", family: "supabase", description: "a Supabase access token or secret key", keywords: ["sbp_", "sb_secret_"], pattern: rx(`${NOT_AFTER_WORD}(?:sbp_(?:oauth_)?[a-z0-9]{40}|sb_secret_[A-Za-z0-9_-]{31,64})${NOT_BEFORE_TOKEN}`) },
  { id: "planetscale-token", family: "planetscale", description: "a PlanetScale token or password", keywords: ["pscale_"], pattern: rx(`${NOT_AFTER_WORD}pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}`), minEntropy: 3 },
  { id: "linear-oauth-token", family: "linear", description: "a Linear OAuth token", keywords: ["lin_oauth_"], pattern: rx("lin_oauth_[a-f0-9]{64}") },
  { id: "notion-integration-secret", family: "notion", description: "a Notion integration secret", keywords: ["secret_"], pattern: rx(`${NOT_AFTER_WORD}secret_[A-Za-z0-9]{43}${NOT_BEFORE_WORD}`), minEntropy: 4 },

  // Registries and AI providers beyond the prefixed tokens above.
  { id: "rubygems-api-token", family: "rubygems", description: "a RubyGems API key", keywords: ["rubygems_"], pattern: rx(`${NOT_AFTER_WORD}rubygems_[a-z0-9]{48}${NOT_BEFORE_WORD}`) },
  { id: "nuget-api-key", family: "nuget", description: "a NuGet API key", keywords: ["oy2"], pattern: rx(`${NOT_AFTER_WORD}oy2[a-z0-9]{43}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "crates-api-token", family: "crates", description: "a crates.io API token", keywords: ["cio"], pattern: rx(`${NOT_AFTER_WORD}cio[A-Za-z0-9]{32}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "docker-config-auth", family: "docker", description: "a Docker registry login in config.json", keywords: ['"auth"'], pattern: rx(`"auth"\\s{0,5}:\\s{0,5}"([A-Za-z0-9+/]{12,1000}={0,2})"`), minEntropy: 3, allow: (value) => !decodesToLogin(value) },
  { id: "replicate-api-token", family: "replicate", description: "a Replicate API token", keywords: ["r8_"], pattern: rx(`${NOT_AFTER_WORD}r8_[A-Za-z0-9]{37,60}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  // Replicate tokens from before the r8_ prefix: 40 hex under a Replicate name.
  { id: "replicate-legacy-api-token", family: "replicate", description: "a Replicate API token (legacy form)", keywords: ["replicate"], pattern: rx(`replicate[A-Za-z0-9_.-]{0,30}?(?:token|key|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{40})(?![A-Za-z0-9])`, true), minEntropy: 3 },
  { id: "mistral-api-key", family: "mistral", description: "a Mistral API key", keywords: ["mistral"], pattern: rx(`mistral[A-Za-z0-9_.-]{0,30}?(?:key|token|secret)["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([A-Za-z0-9]{32})(?![A-Za-z0-9])`, true), minEntropy: 3.5 },
  { id: "cohere-api-key", family: "cohere", description: "a Cohere API key", keywords: ["cohere", "co_api_key"], pattern: rx(`(?<![A-Za-z0-9])[A-Za-z0-9]{40}(?![A-Za-z0-9])(?<=(?:cohere|co_api)[A-Za-z0-9_. -]{0,30}?(?:key|token|secret)?["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?[A-Za-z0-9]{40})`, true), minEntropy: 3.5, window: { before: 2, after: 120 } },

  // Session 13: what a service prints when it starts, resets a password or joins a machine, as an
  // agent reads it back from `docker logs` or a command's output.
  // Jenkins' first start ("Please use the following password to proceed to installation:") and the
  // file it names, read back (`cat …/secrets/initialAdminPassword`); Argo CD's initial admin secret
  // decoded or `argocd admin initial-password`; Nexus' `admin.password`: the value is the next line,
  // alone on it (the command line holds no marker: a token redacted on it must not bring the next line
  // into reach). Elasticsearch 8's first start, its package installer, and
  // `elasticsearch-reset-password` ("New value: …") print the elastic user's password.
  { id: "service-generated-password", family: "generic", description: "a password a service generated and printed", keywords: ["following password to proceed", "initialadminpassword", "argocd-initial-admin-secret", "initial-password", "admin.password", "password for the elastic user", "elastic built-in superuser", "successfully reset"], pattern: rx(`(?:(?:Please use the following password to proceed to installation:[ \\t]{0,3}(?:\\r?\\n${QUOTE}[ \\t]{0,3}){1,3}|(?:initialAdminPassword|argocd-initial-admin-secret[^\\n[]{0,160}?base64[ \\t]{1,3}(?:-d|--decode)|argocd[ \\t]{1,3}admin[ \\t]{1,3}initial-password|nexus-data\\/admin\\.password)[^\\n[]{0,80}${OUTPUT_FOLLOWS})([A-Za-z0-9_+\\/=!@#%^.-][A-Za-z0-9_+\\/=!@#%^*.-]{7,127})[ \\t]{0,3}(?=\\r?\\n|$)|(?:Password for the elastic user \\(reset with [^\\n[]{1,100}\\):[ \\t]{0,3}\\r?\\n${QUOTE}[ \\t]{0,8}|generated password for the elastic built-in superuser is ?: ?|Password for the \\[[^\\]\\n[]{1,64}\\] user successfully reset\\.[ \\t]{0,3}\\r?\\n${QUOTE}[ \\t]{0,3}New value: ?)([^\\s]{6,128}))`), minEntropy: 2.5, allow: isPlaceholder },
  // Session 14: what a command prints when its output is a secret (a Kubernetes secret decoded, a
  // random key made, a secret store's field read, a login's token printed, a credential variable
  // echoed, a Docker secret read), alone on the next line as a terminal shows it or as the note's
  // tool callout shows the result.
  printedSecretRule("secret-store-printed", "a secret a secret store's command printed", ["vault kv get ", "vault read ", "get-secret-value", "configure get ", "op read ", "find-generic-password", "find-internet-password", "secrets versions access", "keyvault secret show", "doppler secrets get", "pass show ", "bw get password"], [
    "vault (?:kv get|read) [^\\n[|]{0,80}?-field[= ]",
    "aws secretsmanager get-secret-value [^\\n[|]{0,200}?--output[ =]text",
    "aws configure get (?:[A-Za-z0-9_-]{1,40}\\.)?aws_(?:secret_access_key|session_token)",
    "op read ",
    "security find-(?:generic|internet)-password [^\\n[|]{0,200}?-w(?![A-Za-z0-9_-])",
    "gcloud secrets versions access ",
    "az keyvault secret show [^\\n[|]{0,200}?(?:-o|--output) tsv",
    "doppler secrets get [^\\n[|]{0,120}?--plain",
    "pass show ",
    "bw get password ",
  ]),
  printedSecretRule("command-printed-secret", "a secret a command printed", ["kubectl", "auth:token", "terraform output -raw ", "jq ", "/run/secrets/", "echo", "printenv"], [
    `kubectl[ \\t]${argumentsBefore("kubectl", 160, "[^\\n[|]")}get[ \\t]{1,3}secrets?[ \\t]${argumentsBefore("kubectl", 200, "[^\\n[|]")}\\|[ \\t]{0,3}base64[ \\t]{1,3}(?:-d|--decode|-D)`,
    "heroku auth:token",
    "terraform output -raw [A-Za-z0-9_]{0,40}(?:pass|secret|token|key)",
    `jq [^\\n[|]{0,40}?\\.[A-Za-z0-9_]{0,30}(?:[Tt]oken|TOKEN|[Ss]ecret|SECRET|[Pp]assword|PASSWORD|[Pp]asswd|api_?key|apiKey|API_?KEY|private_key|privateKey)["']?(?![A-Za-z0-9_])`,
    "cat[ \\t]{1,3}(?:\\/var)?\\/run\\/secrets\\/[A-Za-z0-9_.-]{1,80}",
    `(?:echo[ \\t]{1,3}["']?\\$\\{?|printenv[ \\t]{1,3})[A-Za-z0-9_]{0,40}${CREDENTIAL_ENV_NAME_END}\\}?["']?(?=[ \\t]*(?:\\r?\\n|$))`,
  ]),
  printedSecretRule("generated-secret-printed", "a secret a generator printed", ["openssl rand ", "secrets.token_", "randombytes(", "/dev/urandom", "wg gen", "pwgen"], [
    "openssl rand (?:-base64|-hex)[ \\t]{1,3}[0-9]{1,4}",
    "(?:secrets\\.token_(?:hex|urlsafe)|randomBytes)\\([0-9]{0,4}\\)",
    "\\/dev\\/urandom[^\\n[]{0,80}?\\|[ \\t]{0,3}(?:base64|xxd|od|hexdump|head -c)",
    "wg gen(?:key|psk)",
    "pwgen[ \\t]",
  ]),
  // Elasticsearch enrollment tokens: base64 of {"ver":"8.…","adr":[…],"fgr":"…","key":"id:secret"}.
  { id: "elastic-enrollment-token", family: "elastic", description: "an Elasticsearch enrollment token", keywords: ["eyj2zxiioii"], pattern: rx(`(?<![A-Za-z0-9+/])eyJ2ZXIiOiI[A-Za-z0-9+/]{80,1200}={0,2}${NOT_BEFORE_B64}`), minEntropy: 4, allow: (token) => !/^\{"ver":"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}","adr":\[/.test(decodeBase64Prefix(token, 60)) },
  // Docker Swarm join tokens: SWMTKN-1-<the CA's digest, 50 base-36>-<the secret, 25 base-36>.
  { id: "docker-swarm-join-token", family: "docker", description: "a Docker Swarm join token", keywords: ["swmtkn-1-"], pattern: rx(`${NOT_AFTER_TOKEN}SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  // Consul's `acl bootstrap`/`acl token create` and Nomad's print the token's secret as a UUID.
  { id: "hashicorp-acl-secret-id", family: "hashicorp", description: "a Consul or Nomad ACL token secret", keywords: ["secretid:", "secret id"], pattern: rx(`(?<![A-Za-z0-9_])(?:SecretID:[ \\t]{1,24}|Secret ID[ \\t]{1,12}=[ \\t]{1,3})([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9A-Za-z-])`), minEntropy: 3 },
  // Tailscale keys: tskey-<kind>-<key id>-<secret> (auth keys, API access tokens, OAuth client secrets).
  { id: "tailscale-key", family: "tailscale", description: "a Tailscale auth key or API token", keywords: ["tskey-"], pattern: rx(`${NOT_AFTER_TOKEN}tskey-(?:auth|api|client|scim|webhook)-[0-9A-Za-z]{6,40}-[0-9A-Za-z]{16,80}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  // ngrok authtokens (`ngrok config add-authtoken …`, `authtoken:` in ngrok.yml, NGROK_AUTHTOKEN=…).
  { id: "ngrok-authtoken", family: "ngrok", description: "an ngrok authtoken", keywords: ["ngrok", "authtoken"], pattern: rx(`(?<![A-Za-z0-9_])[0-9A-Za-z]{25,30}_[0-9][0-9A-Za-z]{20}(?![A-Za-z0-9_])`), minEntropy: 3.5, window: { before: 0, after: 120 } },
  // Session 13 too: the tokens of CI and code-quality services and of the AI tools a coding agent's
  // project calls (each from the vendor's docs, and kingfisher's, noseyparker's and SonarSource's rules).
  { id: "sonarqube-token", family: "sonarqube", description: "a SonarQube token", keywords: ["squ_", "sqp_", "sqa_"], pattern: rx(`${NOT_AFTER_TOKEN}sq[pua]_[0-9a-f]{40}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "buildkite-api-token", family: "buildkite", description: "a Buildkite API access token", keywords: ["bkua_"], pattern: rx(`${NOT_AFTER_TOKEN}bkua_[a-z0-9]{40}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "circleci-personal-token", family: "circleci", description: "a CircleCI personal API token", keywords: ["ccipat_"], pattern: rx(`${NOT_AFTER_TOKEN}CCIPAT_[A-Za-z0-9]{20,30}_[a-z0-9]{40}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "langsmith-api-key", family: "langsmith", description: "a LangSmith API key", keywords: ["lsv2_pt_", "lsv2_sk_"], pattern: rx(`${NOT_AFTER_TOKEN}lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "pinecone-api-key", family: "pinecone", description: "a Pinecone API key", keywords: ["pcsk_"], pattern: rx(`${NOT_AFTER_TOKEN}pcsk_[A-Za-z0-9]{4,10}_[A-Za-z0-9]{50,90}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "tavily-api-key", family: "tavily", description: "a Tavily API key", keywords: ["tvly-"], pattern: rx(`${NOT_AFTER_TOKEN}tvly-(?:dev-|prod-)?[A-Za-z0-9]{24,64}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "figma-personal-token", family: "figma", description: "a Figma personal access token", keywords: ["figd_"], pattern: rx(`${NOT_AFTER_TOKEN}figd_[A-Za-z0-9_-]{40}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "firecrawl-api-key", family: "firecrawl", description: "a Firecrawl API key", keywords: ["fc-"], pattern: rx(`${NOT_AFTER_TOKEN}fc-[0-9a-f]{32}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "e2b-api-key", family: "e2b", description: "an E2B API key", keywords: ["e2b_"], pattern: rx(`${NOT_AFTER_TOKEN}e2b_[0-9a-f]{32,48}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  // DeepSeek and Alibaba's DashScope issue `sk-` and 32 hex digits: no OpenAI key has that shape.
  { id: "openai-compatible-api-key", family: "generic", description: "an API key of an OpenAI-compatible provider (DeepSeek, DashScope)", keywords: ["sk-"], pattern: rx(`${NOT_AFTER_TOKEN}sk-[0-9a-f]{32}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  // Generic: base64 PEM, credentials in URLs, and secrets known only by their variable name.
  // PuTTY's .ppk key files: the lines after `Private-Lines: N` are the private key (encrypted or not).
  // wg(8) and wg-quick(8) configs: a private or preshared key is 32 bytes in base64 (44 characters, `=` last).
  { id: "wireguard-key", family: "private-key", description: "a WireGuard private or preshared key", keywords: ["privatekey", "presharedkey"], pattern: rx(`(?<![A-Za-z0-9_])(?:PrivateKey|PresharedKey)[ \\t]{0,10}=[ \\t]{0,10}([A-Za-z0-9+/]{43}=)(?![A-Za-z0-9+/=])`), minEntropy: 3 },
  { id: "putty-private-key", family: "private-key", description: "a PuTTY private key", keywords: ["private-lines:"], pattern: rx(`Private-Lines:[ \\t]{0,3}[0-9]{1,4}\\r?\\n${QUOTE}((?:[A-Za-z0-9+/]{1,64}={0,2}\\r?\\n${QUOTE}){0,400}[A-Za-z0-9+/]{1,64}={0,2})(?![A-Za-z0-9+/=])`), minEntropy: 3.5 },
  { id: "private-key-base64", family: "private-key", description: "a base64-encoded private key", keywords: ["ls0tls1crudjt"], pattern: rx(`LS0tLS1CRUdJTi[A-Za-z0-9+/]{40,40000}={0,2}`), allow: (value) => !decodesTo(value, /PRIVATE KEY/) },
  { id: "basic-auth-url", family: "basic-auth", description: "a password in a URL", keywords: ["://"], pattern: rx(`${NOT_AFTER_WORD}[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\\s:@/"'<>]{0,100}:([^\\s:@/"'<>]{4,200}(?:@[^\\s:@/"'<>]{1,200}){0,3})@[A-Za-z0-9.-]{2,}`), minEntropy: 2, allow: (password) => isPlaceholder(password), window: { before: 24, after: 330 } },
  { id: "keyword-secret", family: "generic", description: "a secret assigned to a credential-named variable", keywords: ["pass", "pwd", "secret", "token", "key", "auth", "cred"], notAfter: /aws[A-Za-z0-9_.-]{0,24}$/i, pattern: rx(`(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|${SECRET_KEY_OWNERS}|auth(?!or)|credential|creds)[A-Za-z0-9_.-]{0,20}(?:\\[[0-9]{0,4}\\]|["'\`]?\\](?<=\\[["'\`:][A-Za-z0-9_.-]{1,60}["'\`]?\\]))?(?:["'\`](?<=[(,][ \\t]{0,3}["'\`][^"'\`]{0,60}["'\`])[ \\t]{0,3},(?=[ \\t]{0,12}["'\`])|\\((?=["'])|[ \\t]{1,3}(?=")|(?:\\\\{1,3}"|["'\`])?(?:[ \\t]{0,3}:[ \\t]{0,3}[A-Za-z_][A-Za-z0-9_.|[\\]]{0,30})?[ \\t]{0,30}(?::=|=>|(?:!==?|={2,3})(?=[ \\t]{0,5}@?["'\`])|=(?!=)|:))[ \\t]{0,30}@?(?:\\\\{1,3}"([^"\\s\\\\]{8,200})\\\\{1,3}"|"([^"\\s]{8,200})"|'([^'\\s]{8,200})'|\`([^\`\\s]{8,200})\`|((?:base64:)?[A-Za-z0-9+/=_.~!@#%^*-]{8,200})(?=[\\s,;)}\\]"'<&]|\\\\[nrt"'\\\\]|$))`, true), allow: keywordValueUnderNameIsNotSecret, window: { before: 34, after: 250 } },
  // A password-named variable set to a literal of letters only (`AdminPassword: "thisismy…"`,
  // `SSHpassword=hardco…` in an env file, `password: open_ses…` in YAML). The keyword rule
  // wants a digit or a symbol, for `token: "access_token"` is a name; a password's name says what
  // its value is. Unquoted only after `name=` or `name: `: `password = index_info` is Python, a
  // variable; a shell comment may follow (`PASSWORD=whiteduke  # …`). Quoted after a space too, as
  // Groovy and Gradle call `password "…"` (a whole word: `Pass "…"` and `bypass "…"` are prose). Labels, identifiers, field names and setting words stay out.
  { id: "password-word-value", family: "generic", description: "a password assigned to a password-named variable", keywords: ["pass", "pwd"], pattern: rx(`(?:pass(?:word|wd|phrase)?|pwd)(?:(?:["'\`]?[ \\t]{0,30}(?::=|=>|=(?!=)|:)[ \\t]{0,30}|(?<=(?<![A-Za-z])pass(?:word|wd|phrase))[ \\t]{1,3})(?:"([a-z][a-z_-]{6,62}[a-z])"|'([a-z][a-z_-]{6,62}[a-z])')|(?::[ \\t]{1,30}|=)([a-z][a-z_]{6,62}[a-z])(?:[ \\t]*(?=\\r?\\n|$)|[ \\t]+(?=#)))`, true), allow: passwordWordIsNotSecret, window: { before: 20, after: 110 } },
  // An opaque OAuth or session token too long for the keyword rule's 200-character value
  // (`{"access_token":"<300 characters>"}`), quoted, under a token name.
  { id: "long-token-value", family: "generic", description: "a long token assigned to a token-named field", keywords: ["token"], pattern: rx(`(?<![A-Za-z0-9])(?:(?:access|refresh|id|session|auth|bearer|oauth)[_.-]?)?token(?:\\\\{1,3}"|["'])?[ \\t]{0,30}(?::|=|=>)[ \\t]{0,30}(?:\\\\{1,3}"([^"\\s\\\\]{201,4000})\\\\{1,3}"|"([^"\\s]{201,4000})"|'([^'\\s]{201,4000})')`, true), allow: keywordValueIsNotSecret },
  // The same names as XML elements (`<apikey>…</apikey>`, `<o1_static_password>…`: whispers' fixtures);
  // element text is often a word or a setting, so a value needs a digit here.
  { id: "keyword-secret-xml", family: "generic", description: "a secret in a credential-named XML element", keywords: ["pass", "pwd", "secret", "token", "key", "cred"], pattern: rx(`<[A-Za-z0-9_.:-]{0,30}?(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|${SECRET_KEY_OWNERS}|credential|creds)[A-Za-z0-9_.:-]{0,20}(?:[ \\t]{1,3}[A-Za-z_:-]{1,30}="[^"<>]{0,40}"){0,3}>([^<>\\s]{8,200})</`, true), allow: (value) => keywordValueIsNotSecret(value) || !(/[0-9]/.test(value) || mixesCaseLikeNoWord(value)), window: { before: 34, after: 260 } },
  // Name and value as separate fields: Postman and .NET `key`/`value`, Kubernetes `name`/`value`
  // env entries. A form's CSRF token (`name="authenticity_token" value=…`) is no credential.
  // A literal compared with a credential (`"s3cr3t".equals(password)`, `if ("…" == passwd)`): the value comes first.
  // A hard-coded fallback for a credential the environment should give: `os.getenv("API_KEY", "…")`,
  // `process.env.TOKEN || "…"`, `ENV.fetch("SECRET_KEY_BASE") { "…" }`, `settings.get("db_password", "…")`;
  // Kotlin's and PHP's `getenv("…") ?: "…"`, C#'s `GetEnvironmentVariable("…") ?? "…"`, Python's
  // `os.getenv("…") or "…"`, Vite's `import.meta.env.VITE_API_KEY || "…"`, Rust's
  // `env::var("…").unwrap_or("…")` / `unwrap_or_else(|_| "…")`, pydantic's `api_key: str = Field(default="…")`.
  { id: "keyword-secret-default", family: "generic", description: "a secret hard-coded as a credential's default", keywords: ["pass", "pwd", "secret", "token", "key", "cred"], pattern: rx(`(?:(?:getenv|get|fetch|env|environ|GetEnvironmentVariable|env::var)[ \\t]{0,3}[([][ \\t]{0,3}["'][A-Za-z0-9_.-]{0,30}?(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|credentials?)[A-Za-z0-9_.-]{0,20}["'][ \\t]{0,3}(?:,|\\)[ \\t]{0,3}\\{|[)\\]][ \\t]{0,3}(?:\\|\\||\\?\\?|\\?:|or\\b)|\\)[ \\t]{0,3}\\.unwrap_or(?:_else)?\\([ \\t]{0,3}(?:\\|[^|\\n]{0,10}\\|)?)|(?:process|import\\.meta)\\.env(?:\\.|\\[["'])[A-Za-z0-9_]{0,30}?(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|credentials?)[A-Za-z0-9_]{0,20}(?:["']\\])?[ \\t]{0,3}(?:\\|\\||\\?\\?)|(?<=(?<![A-Za-z0-9_])[A-Za-z0-9_]{0,30}?(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|credentials?)[A-Za-z0-9_]{0,20}[ \\t]{0,3}:[ \\t]{0,3}[A-Za-z_.\\[\\], ]{1,40}?=[ \\t]{0,3})Field\\([ \\t]{0,3}(?:default[ \\t]{0,3}=[ \\t]{0,3})?)[ \\t]{0,3}(?:"([^"\\s]{8,200})"|'([^'\\s]{8,200})'|\`([^\`\\s]{8,200})\`)`, true), allow: keywordValueIsNotSecret },
  // A signing key passed to the call that signs, not named: `jwt.sign(payload, '…')`, PyJWT's
  // `jwt.encode(payload, "…")`, java-jwt's `Algorithm.HMAC256("…")`, golang-jwt's
  // `SignedString([]byte("…"))`, Node's `createHmac('sha256', '…')`.
  { id: "hardcoded-signing-key", family: "generic", description: "a signing key hard-coded in the call that signs", keywords: ["jwt.", "jsonwebtoken.", "jose.", "algorithm.hmac", "signedstring", "createhmac"], pattern: rx(`(?<![A-Za-z0-9_])(?:(?:jwt|jsonwebtoken|jose)\\.(?:sign|encode|verify|decode)[ \\t]*\\(?[ \\t]*(?:\\{[^{}\\n]{0,200}\\}|[^,(){}\\n]{1,200}?)[ \\t]*,[ \\t]*|Algorithm\\.HMAC(?:256|384|512)\\([ \\t]*|SignedString\\([ \\t]*\\[\\]byte\\([ \\t]*|createHmac\\([ \\t]*["'][A-Za-z0-9-]{3,12}["'][ \\t]*,[ \\t]*)(?:"([^"\\s]{8,200})"|'([^'\\s]{8,200})'|\`([^\`\\s]{8,200})\`)`, true), allow: keywordValueIsNotSecret },
  // A password passed after a user name, unnamed: Requests' `auth=('user', '…')` and
  // `HTTPBasicAuth("user", "…")`, python-ldap's `simple_bind_s(dn, '…')`, .NET's
  // `NetworkCredential("user", "…")`, Java's `PasswordAuthentication("user", "…".toCharArray())`
  // and Apache HttpClient's `UsernamePasswordCredentials`, Go's `SetBasicAuth`, Ruby's `basic_auth`.
  { id: "passed-password", family: "generic", description: "a password passed after a user name", keywords: ["auth", "simple_bind", "credential"], pattern: rx(`(?<![A-Za-z0-9_])(?:auth[ \\t]*=[ \\t]*\\(|HTTP(?:Basic|Digest|Proxy)Auth[ \\t]*\\(|simple_bind(?:_s)?[ \\t]*\\(|NetworkCredential[ \\t]*\\(|PasswordAuthentication[ \\t]*\\(|UsernamePasswordCredentials[ \\t]*\\(|SetBasicAuth[ \\t]*\\(|basic_auth[ \\t]*\\(?)${PASSED_CREDENTIALS}`, true), allow: passedPasswordIsNotSecret },
  // The same passed to the call that logs in or connects: smtplib's, ftplib's and imaplib's
  // `server.login(user, "…")`; after a place: JDBC's `DriverManager.getConnection(url, "user", "…")`,
  // `DirectoryEntry("LDAP://…", "user", "…")`, PHP's `mysqli_connect("host", "user", "…")`,
  // `new mysqli(…)` and `new PDO($dsn, "user", "…")`. A rule of its own: one with every call's
  // name would start at their first four letters only (`http`, `pass`, `user`), found everywhere.
  { id: "login-call-password", family: "generic", description: "a password passed to a login or connect call", keywords: ["login", "getconnection", "directoryentry", "mysql", "pdo"], pattern: rx(`(?:\\.login[ \\t]*\\(|(?<![A-Za-z0-9_])(?:getConnection|DirectoryEntry|mysqli?_connect|new (?:mysqli|PDO))[ \\t]*\\(\\s{0,12}${PASSED_ARGUMENT}\\s{0,12},)${PASSED_CREDENTIALS}`, true), allow: passedPasswordIsNotSecret },
  { id: "keyword-secret-compared", family: "generic", description: "a secret compared with a credential-named variable", keywords: ["pass", "pwd", "secret", "token", "key", "cred"], pattern: rx(`(?:"([^"\\s]{8,200})"|'([^'\\s]{8,200})')[ \\t]{0,3}(?:[!=]==?[ \\t]{0,3}|\\.equals(?:IgnoreCase)?\\()(?:[A-Za-z_$][A-Za-z0-9_.$]{0,30}?)?(?:pass(?:word|wd)?|pwd|secret|token|api[_.-]?key|apikey|private[_.-]?key|credentials?)`, true), allow: keywordValueIsNotSecret, window: { before: 250, after: 30 } },
  // A credential-named row of a table a command printed: a Markdown or box-drawing table's cells
  // (`| DB_PASSWORD | … |`, `║ API_TOKEN │ … ║`, white space inside each: `|a|b|` is an
  // alternation), or a line's two columns (`vault kv get`'s `password    …`), the value alone in its
  // cell or at the line's end. The row's first cell or column is the name; the pattern starts at
  // the line's `\n`, which the regex engine finds fast (a window's cut start is no line start a name
  // could follow: the window reaches 80 back).
  { id: "table-credential-value", family: "generic", description: "a secret in a credential-named row of a table", keywords: ["pass", "pwd", "secret", "token", "key", "auth", "cred"], pattern: rx(`(?:^|\\n)${QUOTE}(?:[|│║┃][ \\t]{1,3}\\x60?${TABLE_NAME}\\x60?[ \\t]{1,40}[|│║┃][ \\t]{1,3}[\\x60"]?([^\\s|│║┃\\x60"]{8,200})[\\x60"]?[ \\t]{1,40}[|│║┃]|${TABLE_NAME}[ \\t]{2,40}([^\\s|│║┃\\x60"]{8,200})[ \\t]{0,3}(?=\\r?\\n|$))`, true), allow: keywordValueIsNotSecret, window: { before: 80, after: 260 } },
  // `terraform output -json` (and a state file's outputs): a value marked sensitive, whatever its
  // name, printed in full (`terraform output` alone prints `<sensitive>`).
  { id: "terraform-sensitive-output", family: "generic", description: "a sensitive Terraform output value", keywords: ['"sensitive"'], pattern: rx(`"sensitive"[ \\t]{0,3}:[ \\t]{0,3}true[ \\t]{0,3},(?:[\\s>]{0,40}"type"[ \\t]{0,3}:[ \\t]{0,3}(?:"[a-z]{1,20}"|\\[[^\\]\\n]{0,80}\\])[ \\t]{0,3},)?[\\s>]{0,40}"value"[ \\t]{0,3}:[ \\t]{0,3}"((?:[^"\\\\\\s]|\\\\.){8,250})"`), minEntropy: 2.5, allow: keywordValueIsNotSecret },
  // A credential-named key element and the value element after it: a macOS plist's
  // `<key>Password</key><string>…</string>`, a Hadoop, Hive or Spark config's `<name>…password</name>
  // <value>…</value>` (on the next line, behind a note's `> ` too).
  { id: "xml-name-value-secret", family: "generic", description: "a secret given as the value of a credential-named XML key", keywords: ["</key>", "</name>"], pattern: rx(`<(?:key|name)>[ \\t]{0,3}[A-Za-z0-9_.:-]{0,60}?${CREDENTIAL_NAME}[A-Za-z0-9_.:-]{0,30}[ \\t]{0,3}<\\/(?:key|name)>[ \\t]{0,40}(?:\\r?\\n${QUOTE}[ \\t]{0,40})?<(?:string|value)>([^<>\\s]{8,200})<\\/(?:string|value)>`, true), allow: keywordValueIsNotSecret },
  { id: "keyword-secret-name-value", family: "generic", description: "a secret given as the value of a credential-named entry", keywords: ["pass", "pwd", "secret", "token", "key", "auth", "cred"], pattern: rx(`(?<![A-Za-z0-9_-])["']?(?:key|name)["']?[ \\t]{0,3}[:=][ \\t]{0,3}["']?(?![A-Za-z0-9_.-]{0,30}(?:csrf|xsrf|authenticity))[A-Za-z0-9_.-]{0,30}?${CREDENTIAL_NAME}[A-Za-z0-9_.-]{0,20}["']?(?:[ \\t]{0,3},[ \\t]{0,3}|[ \\t]*\\r?\\n${QUOTE}[+-]?[ \\t]{0,12}(?:-[ \\t]{1,3})?|[ \\t]{1,3})["']?value["']?[ \\t]{0,3}[:=][ \\t]{0,3}(?:"([^"\\s]{8,200})"|'([^'\\s]{8,200})'|([^\\s"'\`,}<>]{8,200})(?=[\\s,}]|$))`, true), allow: keywordValueIsNotSecret },
  { id: "dockerfile-env-secret", family: "generic", description: "a secret set by a Dockerfile ENV line", keywords: ["pass", "pwd", "secret", "token", "key", "auth", "cred"], pattern: rx(`(?<![A-Za-z0-9_-])ENV[ \\t]+[A-Za-z0-9_]{0,30}?(?:PASS(?:WORD|WD)?|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|AUTH(?!OR)|CREDENTIALS?|CREDS)[A-Za-z0-9_]{0,20}[ \\t]+(?:"([^"\\s]{8,200})"|([^\\s"'=]{8,200}))[ \\t]*(?=\\r?\\n|$)`), allow: keywordValueIsNotSecret },
  { id: "shell-default-secret", family: "generic", description: "a secret given as a shell variable's default", keywords: ["pass", "pwd", "secret", "token", "key", "auth", "cred"], pattern: rx(`\\$\\{[A-Za-z0-9_]{0,30}?${CREDENTIAL_NAME}[A-Za-z0-9_]{0,20}:?[-=]([^\\s}$'"\`]{8,200})\\}`, true), allow: keywordValueIsNotSecret },
  // RFC 7617 Basic credentials: base64 of `user:password` after `Basic` (a pasted curl -H or a log line).
  { id: "basic-auth-header", family: "basic-auth", description: "a Basic authorization header", keywords: ["basic "], pattern: rx(`(?<![A-Za-z0-9_-])basic[ \\t]{1,5}([A-Za-z0-9+/]{8,400}={0,2})${NOT_BEFORE_B64}`, true), allow: (value) => !isLogin(decodeBase64Prefix(value, value.length)) },
  // A password or token on a command line: curl/wget `-u user:password`, `--user`, `--password=value`,
  // `--tlspassword`, `--token …`, `--api-key …`;
  // `--password value` only with a digit in it (docs say `--password flag`); `--secret` followed by
  // lower-case words joined by `-` or `_` names a secret (`gcloud secrets versions access
  // --secret=db-password`), it is not one.
  { id: "cli-password-flag", family: "generic", description: "a password on a command line", keywords: ["-u", "--user", "--proxy-user", "password", "passwd", "--pass", "--token", "--api-key", "--apikey", "--secret", "--client-secret", "--access-token", "--auth-token"], pattern: rx(`(?:(?<![A-Za-z0-9_-])(?:-u|--user|--proxy-user)(?:[ \\t]{1,3}|=)[^\\s:'"$-][^\\s:'"$]{0,63}:([^\\s'"]{4,200})|(?<![A-Za-z0-9_-])--(?:password|passwd|passphrase|pass|tlspassword|proxy-tlspassword|http-password|proxy-password|ftp-password|token|api-?key|secret(?!(?:=|[ \\t]{1,3})[a-z]{1,40}(?:[-_][a-z0-9]{1,40}){1,8}(?=[\\s'",;)\\]]|$))|client-secret|access-token|auth-token)(?:=|[ \\t]{1,3}(?=[^\\s'"]{0,200}[0-9]))([^\\s'"-][^\\s'"]{3,200}))`), allow: flagValueIsNotSecret },
  // A flag whose name ends in a password word after a prefix of its own (`--db-password`, `--admin-pass`,
  // `--registration-token`, `--client_secret`): the same value, the same digit rule for `--flag value`.
  // Flags that ask, page or count (`--ask-vault-pass`, `--page-token`, `--max-token`) take no secret.
  { id: "cli-named-password-flag", family: "generic", description: "a password on a command line", keywords: ["-pass", "_pass", "-token", "_token", "-secret", "_secret", "-api", "_api"], pattern: rx(`[-_](?:pass(?:word|wd|phrase)?|token|secret(?:[-_]key)?|api[-_]?key)(?<=(?<![A-Za-z0-9_-])--(?!(?:no|ask|max|min|num|next|page|starting|continuation|sync|prompt|skip|use|with|show|print|read|from|reset|forgot|expire)[-_])[a-z0-9]{1,20}(?:[-_][a-z0-9]{1,20}){0,2}[-_](?:pass(?:word|wd|phrase)?|token|secret(?:[-_]key)?|api[-_]?key))(?:=|[ \\t]{1,3}(?=["']?[^\\s'"]{0,200}[0-9]))${FLAG_ARGUMENT}`), allow: flagValueIsNotSecret },
  // gitleaks' curl-auth-header, for any client: an opaque token after `Authorization: Bearer` or `Token`.
  { id: "bearer-token", family: "generic", description: "a bearer token in an Authorization header", keywords: ["bearer", "authorization"], pattern: rx(`(?:authorization["']?[ \\t]{0,3}[:=][ \\t]{0,3}["']?[ \\t]{0,3}(?:bearer|token)|(?<![A-Za-z0-9_])bearer)[ \\t]{1,3}([A-Za-z0-9_~+/.-]{16,1000}={0,3})(?![A-Za-z0-9_~+/.=-])`, true), allow: keywordValueIsNotSecret },
  // Registry and cloud logins, sshpass, the MySQL, MongoDB and Redis clients take a password on the
  // command line (`-pSECRET`, glued, for MySQL); so do openssl (`pass:`) and keytool (`-storepass`).
  { id: "cli-login-password", family: "generic", description: "a password on a login command line", keywords: ["login", "sshpass", "mysql", "mongo", "redis-cli"], pattern: rx(`(?:(?<![A-Za-z0-9_-])(?:(?:docker|podman|nerdctl|buildah|skopeo|oras|helm(?:\\s{1,3}registry)?|argocd)\\s{1,3}|(?:az|oc|cf) )login\\b${argumentsBefore("login[ \\t]", 200, "[^\\n]")}[ \\t](?:-p|--password)(?:=|[ \\t]{1,3})|(?<![A-Za-z0-9_-])mongo[a-z]{0,8}(?:\\s${argumentsBefore("mongo[a-z]{0,8}\\s", 200, "[^\\n]")})?[ \\t](?:-p|--password)(?:=|[ \\t]{1,3})|(?<![A-Za-z0-9_-])redis-cli(?:\\s${argumentsBefore("redis-cli\\s", 200, "[^\\n]")})?[ \\t](?:-a|--pass)(?:=|[ \\t]{1,3})|(?<![A-Za-z0-9_-])sshpass\\s{1,3}-p[ \\t]{0,3}|(?<![A-Za-z0-9_-])mysql[a-z]{0,6}(?:\\s${argumentsBefore("mysql[a-z]{0,6}\\s", 200, "[^\\n]")})?[ \\t]-p)(?:"([^"\\s]{4,200})"|'([^'\\s]{4,200})'|([^\\s'"-][^\\s'"]{3,200}))`), allow: isNotGenericSecret },
  // A password or token piped into a login (`echo '…' | docker login -u me --password-stdin`,
  // `echo … | gh auth login --with-token`): the value comes before the command that names it.
  { id: "piped-login-password", family: "generic", description: "a password piped into a login command or a secret store", keywords: ["--password-stdin", "--with-token", "--token-stdin", "secret put", "secret set", "env add", "secret create", "--data-file", "functions:secrets:set"], pattern: rx(`(?<![A-Za-z0-9_-])(?:echo|printf)[ \\t]+(?:-[neE]{1,2}[ \\t]+)?(?:"([^"\\s$]{4,200})"|'([^'\\s]{4,200})'|([^\\s'"$|;&<>-][^\\s'"|;&<>]{3,200}))[ \\t]*\\|[ \\t]*(?:sudo[ \\t]+)?(?:(?:docker|podman|nerdctl|buildah|skopeo|oras|helm|crane|cf|gh)[ \\t][^\\n|;&]{0,200}?--(?:password-stdin|with-token|token-stdin)|${STDIN_SECRET_STORE}|docker[ \\t]{1,3}secret[ \\t]{1,3}create[ \\t]{1,3}[^\\s|;&]{1,100}[ \\t]{1,3}-(?![^\\s|;&])|gcloud[ \\t]{1,3}secrets[ \\t]{1,3}(?:create|versions[ \\t]{1,3}add)[ \\t][^\\n|;&]{0,200}?--data-file[= ]-(?![^\\s|;&])|firebase[ \\t]{1,3}functions:secrets:set)`), allow: isNotGenericSecret, window: { before: 460, after: 20 } },
  { id: "cli-keystore-password", family: "generic", description: "a key store password on a command line", keywords: ["pass"], pattern: rx(`(?:(?<=[ \\t])-pass(?:in|out)?[ \\t]{1,3}pass:|(?<=[ \\t])-(?:src|dest)?(?:store|key)pass[ \\t]{1,3})(?:"([^"\\s]{4,200})"|'([^'\\s]{4,200})'|([^\\s'"-][^\\s'"]{3,200}))`), allow: isNotGenericSecret },
  // Tools whose password is an argument of their own: zip and unzip `-P` (`unzip -p` pipes), 7-Zip
  // `-p…` (glued), SQL Server's sqlcmd, bcp and osql `-P`, the OpenLDAP clients' `-w`, `htpasswd -b`
  // (file, user, password; with `-n`: user, password), smbclient's `-U user%password`,
  // `echo user:password | chpasswd`, `rabbitmqctl add_user` or `change_password`, `openssl enc -k`,
  // `ssh-keygen -N` (new passphrase) or `-P` (old). Their flags
  // tell case apart, so the rule does too. A letters-only value is a password here as well.
  { id: "cli-tool-password", family: "generic", description: "a password given to a command-line tool", keywords: ["zip", "7z", "sqlcmd", "bcp", "osql", "ldap", "htpasswd", "smbclient", "chpasswd", "rabbitmqctl", "openssl", "ssh-keygen"], pattern: rx(`(?:(?<![A-Za-z0-9_.-])(?:(?:un)?zip[ \\t](?:${argumentsBefore("(?:un)?zip[ \\t]", 120)}[ \\t])?-P[ \\t]{1,3}|7z[az]?(?:\\.exe)?[ \\t](?:${argumentsBefore("7z[az]?(?:\\.exe)?[ \\t]", 120)}[ \\t])?-p(?!ass)(?=[^\\s-])|(?:sqlcmd|bcp|osql)(?:\\.exe)?[ \\t](?:${argumentsBefore("(?:sqlcmd|bcp|osql)(?:\\.exe)?[ \\t]", 120)}[ \\t])?-P[ \\t]{0,3}|ldap[a-z]{3,8}[ \\t](?:${argumentsBefore("ldap[a-z]{3,8}[ \\t]", 160)}[ \\t])?-w[ \\t]{1,3}|htpasswd[ \\t]{1,3}(?:-(?=[A-Za-z]*b)(?=[A-Za-z]*n)[A-Za-z]{2,6}[ \\t]{1,3}[^\\s-][^\\s]{0,100}[ \\t]{1,3}|-(?=[A-Za-z]*b)(?![A-Za-z]*n)[A-Za-z]{1,6}[ \\t]{1,3}[^\\s-][^\\s]{0,300}[ \\t]{1,3}[^\\s-][^\\s]{0,100}[ \\t]{1,3})|smbclient[ \\t](?:${argumentsBefore("smbclient[ \\t]", 120)}[ \\t])?(?:-U|--user)(?:=|[ \\t]{1,3})["']?[^\\s%"']{1,100}%|openssl[ \\t](?:${argumentsBefore("openssl[ \\t]", 200)}[ \\t])?-k[ \\t]{1,3}|ssh-keygen[ \\t](?:${argumentsBefore("ssh-keygen[ \\t]", 160)}[ \\t])?-[NP][ \\t]{1,3}|rabbitmqctl[ \\t](?:${argumentsBefore("rabbitmqctl[ \\t]", 100)}[ \\t])?(?:add_user|change_password)[ \\t]{1,3}[^\\s-][^\\s]{0,100}[ \\t]{1,3})${FLAG_ARGUMENT}|(?<![A-Za-z0-9_-])(?:echo|printf)[ \\t]{1,3}["']?[^\\s:"'$]{1,64}:([^\\s:"'$|]{4,200})["']?[ \\t]*\\|[ \\t]*(?:sudo[ \\t]{1,3})?chpasswd\\b)`), allow: passedPasswordIsNotSecret },
  // Secret stores' command lines: every value they store is a secret. Azure Key Vault `secret set
  // --value`, `gh secret set --body`/`-b`, an SSM SecureString `--value`, Secrets Manager
  // `--secret-string`, and a password piped into `sudo -S` (the stores that take pairs: below).
  // One space after the command's name, so that its start literal is `gh secret`, not `gh`.
  // A tool's config-setting command given a credential as a positional value: a credential-named
  // setting (npm/pnpm/yarn config set, git config, netlify env:set), Poetry's and Composer's
  // http-basic user and password or token settings, MinIO's `mc alias set` (URL, access key, secret
  // key), Bundler's `host user:password`.
  { id: "cli-config-set-secret", family: "generic", description: "a credential given to a tool's config-setting command", keywords: ["config set", "git config", "env:set", "poetry config", "composer config", "mc alias set", "bundle config"], pattern: rx(`(?<![A-Za-z0-9_.-])(?:(?:(?:npm|pnpm|yarn)[ \\t]{1,3}config[ \\t]{1,3}set|git[ \\t]{1,3}config(?:[ \\t]{1,3}--(?:global|local|system))?|netlify[ \\t]{1,3}env:set)[ \\t]{1,3}["']?[^\\s'"=]{0,80}?(?:[Tt]oken|TOKEN|[Ss]ecret|SECRET|[Pp]assword|PASSWORD|_auth|[Aa]pi[_-]?[Kk]ey|API_KEY)["']?|poetry[ \\t]{1,3}config[ \\t]{1,3}(?:http-basic\\.[^\\s]{1,80}[ \\t]{1,3}[^\\s$]{1,80}|pypi-token\\.[^\\s]{1,80})|composer[ \\t]{1,3}config[ \\t]{1,3}(?:(?:--global|-g)[ \\t]{1,3})?(?:http-basic\\.[^\\s]{1,80}[ \\t]{1,3}[^\\s$]{1,80}|(?:github-oauth|gitlab-token|bitbucket-oauth)\\.[^\\s]{1,80})|mc[ \\t]{1,3}alias[ \\t]{1,3}set[ \\t]{1,3}[^\\s]{1,64}[ \\t]{1,3}[^\\s]{1,200}[ \\t]{1,3}[^\\s$]{1,128})[ \\t]{1,3}${STORED_VALUE}|(?<![A-Za-z0-9_.-])bundle[ \\t]{1,3}config[ \\t]{1,3}(?:set[ \\t]{1,3})?(?:--(?:global|local)[ \\t]{1,3})?[A-Za-z0-9.-]{1,100}\\.[a-z]{2,24}[ \\t]{1,3}["']?[^\\s:'"$]{1,100}:([^\\s'"$]{4,200})`), allow: flagValueIsNotSecret, window: { before: 16, after: 700 } },
  { id: "cli-secret-store-value", family: "generic", description: "a secret stored from a command line", keywords: ["keyvault", "gh secret", "put-parameter", "secretsmanager", "sudo -s", "sudo --stdin", "secret put", "env add"], pattern: rx(`(?:(?<![A-Za-z0-9_.-])(?:az keyvault[ \\t]{1,3}secret[ \\t]{1,3}set[ \\t](?:${argumentsBefore("az[ \\t]", 160)}[ \\t])?--value(?:=|[ \\t]{1,3})|gh secret[ \\t]{1,3}set[ \\t](?:${argumentsBefore("gh[ \\t]", 160)}[ \\t])?(?:--body(?:=|[ \\t]{1,3})|-b[ \\t]{0,3})|aws ssm[ \\t]{1,3}put-parameter(?=[^\n]{0,300}SecureString)[ \\t](?:${argumentsBefore("aws[ \\t]", 160)}[ \\t])?--value(?:=|[ \\t]{1,3})|aws secretsmanager[ \\t]{1,3}(?:create-secret|put-secret-value|update-secret)[ \\t](?:${argumentsBefore("aws[ \\t]", 160)}[ \\t])?--secret-string(?:=|[ \\t]{1,3})|(?:${STDIN_SECRET_STORE})[ \\t](?:${argumentsBefore("(?:wrangler|gh|vercel)[ \\t]", 160, "[^\\n|;&<]")})?<<<[ \\t]{0,3})${STORED_VALUE}|(?<![A-Za-z0-9_-])(?:echo|printf)[ \\t]{1,3}(?:"([^"\\s$]{4,200})"|'([^'\\s]{4,200})'|([^\\s'"$|;&<>-][^\\s'"|;&<>]{3,200}))[ \\t]*\\|[ \\t]*sudo[ \\t]{1,3}(?:-[A-Za-z]{0,3}S|--stdin)\\b)`), allow: passedPasswordIsNotSecret },
  // Every pair of a store's multi-pair command line (`fly secrets set A=… B=…`, `vault kv put PATH
  // a=… b=…`, each `--from-literal=K=…` of `kubectl create secret`): each pair is read back to its
  // command on the same line, within 200 characters, and only near a command (a flood of pairs
  // alone opens no window).
  { id: "cli-secret-store-pair", family: "generic", description: "a secret stored from a command line", keywords: ["fly secrets set", "flyctl secrets set", "doppler secrets set", "vault kv put", "vault kv patch", "kubectl create secret"], pattern: rx(`(?<=[ \\t])(?:--from-literal=[A-Za-z0-9_.-]{1,100}=(?<=(?<![A-Za-z0-9_.-])kubectl create[ \\t]{1,3}secret[ \\t](?:[^\\n|;&]{0,200}?[ \\t])?--from-literal=[A-Za-z0-9_.-]{1,100}=)|[A-Za-z_][A-Za-z0-9_.-]{0,100}=(?<=(?<![A-Za-z0-9_.-])(?:(?:fly|flyctl|doppler) secrets[ \\t]{1,3}set|vault kv[ \\t]{1,3}(?:put|patch))(?:[ \\t][^\\n|;&]{0,200}?)?[ \\t][A-Za-z_][A-Za-z0-9_.-]{0,100}=))${STORED_VALUE}`), allow: passedPasswordIsNotSecret, window: { before: 0, after: 320 } },
  // Windows commands, whose names and flags ignore case: PsExec's `-p`, `net user NAME PASSWORD /add`
  // and `net use SHARE PASSWORD /user:…`.
  { id: "windows-cli-password", family: "generic", description: "a password on a Windows command line", keywords: ["psexec", "paexec", "net"], pattern: rx(`(?:(?<![A-Za-z0-9_.-])(?:(?:ps|pa)exec(?:64)?(?:\\.exe)?[ \\t](?:${argumentsBefore("(?:ps|pa)exec(?:64)?(?:\\.exe)?[ \\t]", 160)}[ \\t])?-p[ \\t]{1,3}|net[ \\t]{1,3}user[ \\t]{1,3}[^\\s/"'-][^\\s/"']{0,100}[ \\t]{1,3}(?=[^\\s]{4,200}[ \\t]{1,3}/(?:add|domain)\\b))${FLAG_ARGUMENT}|(?<![A-Za-z0-9_.-])net[ \\t]{1,3}use[ \\t](?:${argumentsBefore("net[ \\t]", 120)}[ \\t])?\\\\\\\\[^\\s]{1,200}[ \\t]{1,3}(?:"([^"\\s]{4,200})"|([^\\s"'$%<*/-][^\\s"']{3,200}))(?=[ \\t]{1,3}/user:))`, true), allow: passedPasswordIsNotSecret },
  // A password told in a sentence, as conversations with an agent tell them: `the password is 'X'`,
  // `the password for user 'postgres' is 'admin'`, `set the admin password to \`X\``, the value
  // quoted (ASCII or typographic quotes, Markdown backticks). Words a sentence says of a password
  // (`is 'required'`, `was 'wrong'`) are no password. Between the word and its verb no `=`, `:` or
  // bracket: that is code (`password = "…"`, the keyword rules' own), and a flood of it costs nothing here.
  { id: "prose-password", family: "generic", description: "a password told in prose", keywords: ["password", "passphrase"], pattern: rx(`(?<![A-Za-z0-9_])pass(?:word|phrase)(?![A-Za-z0-9_])${argumentsBefore("pass(?:word|phrase)", 60, "[^\\n=:;(){}<>[\\]]")}[ \\t](?:is|was|be|to|now|are):?[ \\t]{1,3}(?:now[ \\t]{1,3}|set[ \\t]{1,3}to[ \\t]{1,3})?(?:"([^"\\s]{4,64})"|'([^'\\s]{4,64})'|\`([^\`\\s]{4,64})\`|\u201c([^\u201d\\s]{4,64})\u201d|\u2018([^\u2019\\s]{4,64})\u2019)`, true), allow: (value) => PROSE_NOT_PASSWORD.test(value) || passedPasswordIsNotSecret(value), window: { before: 0, after: 160 } },
  // PowerShell's single-dash -Password (Connect-VIServer, New-LocalUser, …); a variable or an expression is left alone.
  { id: "powershell-password-parameter", family: "generic", description: "a password given as a PowerShell -Password argument", keywords: ["-password"], pattern: rx(`(?<![A-Za-z0-9_-])-Password[ \\t]{1,3}(?:"([^"\\s]{6,200})"|'([^'\\s]{6,200})'|([^\\s'"$(-][^\\s'"]{5,200}))`, true), allow: isNotGenericSecret },
  // PostgreSQL's password file (`~/.pgpass`, `cat`'s output): hostname:port:database:username:password
  // a line, `*` for any field but the password, `\:` and `\\` escaped in it.
  { id: "pgpass-password", family: "generic", description: "a password in a .pgpass entry", keywords: [":5432:", ":5433:", ":6432:", ":6543:", ":*:"], pattern: rx(`(?<![^\\n])${QUOTE}[+-]?(?:[A-Za-z0-9_.*-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):(?:[0-9]{1,5}|\\*):[^\\s:]{1,63}:[^\\s:]{1,63}:((?:[^\\s:\\\\]|\\\\[:\\\\]){4,200})(?=\\r?\\n|$)`), minEntropy: 2, allow: isPlaceholder, window: { before: 300, after: 400 } },
  { id: "netrc-password", family: "generic", description: "a password in a .netrc entry", keywords: ["machine"], pattern: rx(`(?<![A-Za-z0-9_])machine[ \\t]+[^\\s]{1,253}[\\s>+-]{1,20}login[ \\t]+[^\\s]{1,200}[\\s>+-]{1,20}password[ \\t]+(?:"([^"\\s]{6,200})"|'([^'\\s]{6,200})'|([^\\s"'{}<>$][^\\s"']{5,200}))`), allow: (value) => isPlaceholder(value) || /[{}]/.test(value) || /^[A-Z_]+$/.test(value) },
  // Password hashes in an htpasswd line (`user:$apr1$…`, bcrypt, `{SHA}`): crackable offline.
  { id: "htpasswd-hash", family: "generic", description: "a password hash in an htpasswd line", keywords: ["$apr1$", "$2y$", "$2a$", "$2b$", "{sha}"], pattern: rx(`(?<![^\\s'"])[A-Za-z0-9_.@-]{1,64}:(\\$apr1\\$[./0-9A-Za-z]{1,8}\\$[./0-9A-Za-z]{22,40}|\\$2[aby]\\$[0-9]{2}\\$[./0-9A-Za-z]{53}|\\{SHA\\}[A-Za-z0-9+/]{27}=)(?![./0-9A-Za-z])`), window: { before: 66, after: 80 } },
  // crypt(3) and PHC password hashes (MD5-crypt, bcrypt, SHA-crypt, yescrypt, Argon2, Cisco type 8/9) and Kerberos
  // AS-REP/TGS hashes as hashcat takes them, wherever they are: /etc/shadow lines, seeds, env files, router configs.
  { id: "password-hash", family: "generic", description: "a password hash", keywords: ["$1$", "$2a$", "$2b$", "$2y$", "$5$", "$6$", "$8$", "$9$", "$y$", "$argon2", "$krb5"], pattern: rx(`(?<![A-Za-z0-9./$])(?:\\$1\\$[./0-9A-Za-z]{1,8}\\$[./0-9A-Za-z]{22}|\\$[89]\\$[./0-9A-Za-z]{14}\\$[./0-9A-Za-z]{43}|\\$krb5(?:asrep|tgs)\\$[0-9]{2}\\$[^\\s$]{0,200}\\$?[0-9a-f]{32}\\$[0-9a-f]{64,8000}|\\$2[aby]\\$[0-9]{2}\\$[./0-9A-Za-z]{53}|\\$[56]\\$(?:rounds=[0-9]{1,9}\\$)?[./0-9A-Za-z]{1,16}\\$[./0-9A-Za-z]{43,86}|\\$y\\$[./0-9A-Za-z]{1,16}\\$[./0-9A-Za-z]{1,86}\\$[./0-9A-Za-z]{43}|\\$argon2(?:id|i|d)\\$v=[0-9]{1,3}\\$m=[0-9]{1,9},t=[0-9]{1,9},p=[0-9]{1,3}\\$[A-Za-z0-9+/]{8,128}\\$[A-Za-z0-9+/]{16,256})(?![./0-9A-Za-z+])`), minEntropy: 3 },
  // An API key issued as a UUID (many SaaS do), under an api_key or api_token name (and, through
  // keyword-secret, see keywordValueUnderNameIsNotSecret, under a secret, password or token name).
  { id: "api-key-uuid", family: "generic", description: "an API key (UUID form)", keywords: ["apikey", "api_key", "api-key", "api_token", "api-token", "apitoken"], pattern: rx(`api[_-]?(?:key|token)["'\`]?[ \\t]{0,5}(?::|=|=>|:=|[ \\t])[ \\t]{0,5}["'\`]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9-])`, true), minEntropy: 3 },

  // PowerShell's plain-text secure string: the literal is a password whatever its name.
  { id: "powershell-plaintext-secure-string", family: "generic", description: "a password in ConvertTo-SecureString -AsPlainText", keywords: ["convertto-securestring"], pattern: rx(`ConvertTo-SecureString[ \\t]{1,5}(?:-String[ \\t]{1,5})?(?:"([^"\\s$]{6,200})"|'([^'\\s]{6,200})')[ \\t]{1,5}-AsPlainText`, true), allow: isPlaceholder },
  // Jenkins credentials.xml: a secret Jenkins encrypted with its master key, `{AQAAABAAAA…}`
  // (trufflehog's tests write the plain value after the marker).
  { id: "jenkins-credential-secret", family: "generic", description: "a Jenkins credential secret", keywords: ["aqaaabaaa"], pattern: rx(`\\{(?:[A-Za-z0-9_.-]{1,40} )?(AQAAABAAA(?: [^\\s{}<>]{8,400}|[A-Za-z0-9+/]{20,4000}={0,2}))\\}`) },

  // Prefixed tokens of gitleaks' default rule set (cmd/generate/config/rules/*.go) beyond the
  // families above: each prefix is the vendor's own, so the body's length and alphabet suffice.
  { id: "adobe-client-secret", family: "adobe", description: "an Adobe client secret", keywords: ["p8e-"], pattern: rx(`${NOT_AFTER_WORD}p8e-[A-Za-z0-9_-]{32}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "alibaba-access-key-id", family: "alibaba", description: "an Alibaba Cloud access key id", keywords: ["ltai"], pattern: rx(`${NOT_AFTER_WORD}LTAI[A-Za-z0-9]{20}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "artifactory-api-key", family: "artifactory", description: "a JFrog Artifactory API key", keywords: ["akcp"], pattern: rx(`${NOT_AFTER_WORD}AKCp[A-Za-z0-9]{69}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "brevo-api-key", family: "brevo", description: "a Brevo (Sendinblue) API key", keywords: ["xkeysib-", "xsmtpsib-"], pattern: rx(`${NOT_AFTER_WORD}x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}${NOT_BEFORE_TOKEN}`) },
  { id: "clojars-api-token", family: "clojars", description: "a Clojars deploy token", keywords: ["clojars_"], pattern: rx(`${NOT_AFTER_WORD}CLOJARS_[A-Za-z0-9]{60}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "doppler-api-token", family: "doppler", description: "a Doppler token", keywords: ["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."], pattern: rx(`${NOT_AFTER_WORD}dp\\.(?:pt|st|sa|ct|scim|audit)\\.(?:[a-z0-9_-]{1,40}\\.)?[A-Za-z0-9]{40,44}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "dynatrace-api-token", family: "dynatrace", description: "a Dynatrace API token", keywords: ["dt0c01."], pattern: rx(`${NOT_AFTER_WORD}dt0c01\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{64}${NOT_BEFORE_WORD}`) },
  { id: "easypost-api-token", family: "easypost", description: "an EasyPost API key", keywords: ["ezak", "ezt"], pattern: rx(`${NOT_AFTER_WORD}EZ[AT]K[A-Za-z0-9]{54}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "facebook-access-token", family: "facebook", description: "a Facebook access token", keywords: ["eaam", "eaac"], pattern: rx(`${NOT_AFTER_WORD}EAA[MC][A-Za-z0-9]{100,400}${NOT_BEFORE_WORD}`), minEntropy: 4 },
  { id: "flutterwave-key", family: "flutterwave", description: "a Flutterwave secret or encryption key", keywords: ["flwseck_", "flwseck-"], pattern: rx(`${NOT_AFTER_WORD}FLWSECK(?:_TEST-[a-h0-9]{12}|-[a-f0-9]{32}-X|_TEST-[a-h0-9]{32}-X)${NOT_BEFORE_TOKEN}`) },
  { id: "frameio-api-token", family: "frameio", description: "a Frame.io token", keywords: ["fio-u-"], pattern: rx(`${NOT_AFTER_WORD}fio-u-[A-Za-z0-9_=-]{64}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "harness-api-key", family: "harness", description: "a Harness access token", keywords: ["pat.", "sat."], pattern: rx(`${NOT_AFTER_WORD}(?:pat|sat)\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{20}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "infracost-api-token", family: "infracost", description: "an Infracost API key", keywords: ["ico-"], pattern: rx(`${NOT_AFTER_WORD}ico-[A-Za-z0-9]{32}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "mailchimp-api-key", family: "mailchimp", description: "a Mailchimp API key", keywords: ["-us"], pattern: rx(`-us[0-9]{1,2}(?<=(?<![A-Za-z0-9])([a-f0-9]{32}-us[0-9]{1,2}))(?![A-Za-z0-9])`), minEntropy: 3, window: { before: 34, after: 4 } },
  { id: "mapbox-secret-token", family: "mapbox", description: "a Mapbox secret or temporary token", keywords: ["sk.eyj1ijoi", "tk.eyj1ijoi"], pattern: rx(`${NOT_AFTER_WORD}[st]k\\.eyJ1Ijoi[A-Za-z0-9_-]{10,300}\\.[A-Za-z0-9_-]{20,100}`) },
  { id: "octopus-deploy-api-key", family: "octopus", description: "an Octopus Deploy API key", keywords: ["api-"], pattern: rx(`${NOT_AFTER_WORD}API-[A-Z0-9]{26}${NOT_BEFORE_WORD}`), minEntropy: 3.5, allow: (key) => !/[0-9]/.test(key.slice(4)) },
  { id: "openshift-user-token", family: "openshift", description: "an OpenShift user token", keywords: ["sha256~"], pattern: rx(`${NOT_AFTER_WORD}sha256~[A-Za-z0-9_-]{43}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "postman-api-token", family: "postman", description: "a Postman API key", keywords: ["pmak-"], pattern: rx(`${NOT_AFTER_WORD}PMAK-[a-f0-9]{24}-[a-f0-9]{34}${NOT_BEFORE_WORD}`) },
  { id: "prefect-api-token", family: "prefect", description: "a Prefect API key", keywords: ["pnu_"], pattern: rx(`${NOT_AFTER_WORD}pnu_[A-Za-z0-9]{36}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "pulumi-api-token", family: "pulumi", description: "a Pulumi access token", keywords: ["pul-"], pattern: rx(`${NOT_AFTER_WORD}pul-[a-f0-9]{40}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "readme-api-token", family: "readme", description: "a ReadMe API key", keywords: ["rdme_"], pattern: rx(`${NOT_AFTER_WORD}rdme_[a-z0-9]{70}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "scalingo-api-token", family: "scalingo", description: "a Scalingo API token", keywords: ["tk-us-"], pattern: rx(`${NOT_AFTER_WORD}tk-us-[A-Za-z0-9_-]{48}${NOT_BEFORE_TOKEN}`), minEntropy: 3 },
  { id: "shippo-api-token", family: "shippo", description: "a Shippo API token", keywords: ["shippo_live_", "shippo_test_"], pattern: rx(`${NOT_AFTER_WORD}shippo_(?:live|test)_[a-f0-9]{40}${NOT_BEFORE_WORD}`) },
  { id: "typeform-api-token", family: "typeform", description: "a Typeform personal access token", keywords: ["tfp_"], pattern: rx(`${NOT_AFTER_WORD}tfp_[A-Za-z0-9_.=-]{59}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  // gitleaks' default rules that no rule above took yet (its own samples, generated from each
  // rule's regex, found them missing): Airtable PATs, ClickHouse Cloud keys, Duffel tokens, 42's
  // client secrets, MaxMind license keys, SettleMint tokens, Artifactory reference tokens, Yandex
  // Cloud keys (the static key's secret and IAM tokens only next to their name: neither has a prefix of its own).
  { id: "authress-service-client-access-key", family: "authress", description: "an Authress service client access key", keywords: [".acc_", ".acc-"], pattern: rx(`${NOT_AFTER_WORD}(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\\.[A-Za-z0-9]{4,6}\\.acc[_-][A-Za-z0-9-]{10,32}\\.[A-Za-z0-9+/_=-]{30,120}(?![A-Za-z0-9+/_=-])`), minEntropy: 3.5 },
  // A Facebook app access token is the app id, a bar (or its URL escape) and the app secret; in a text that names Facebook.
  { id: "facebook-app-access-token", family: "facebook", description: "a Facebook app access token", keywords: ["facebook", "fb_"], pattern: rx(`(?<![0-9A-Za-z_])[0-9]{15,16}(?:\\||%7[Cc])[0-9A-Za-z_-]{27,40}(?![0-9A-Za-z_-])`), minEntropy: 3.5 },
  // NuGet.config's packageSourceCredentials: `<add key="ClearTextPassword" value="…" />` (the
  // docs' own example is `33f!!lloppa`), or `key="Password"`, DPAPI-encrypted; `%VAR%` names a variable.
  { id: "nuget-config-password", family: "nuget", description: "a password in a NuGet.config package source credential", keywords: ["<add key"], pattern: rx(`<add[ \\t]+key="(?:ClearText)?Password"\\s{0,20}value="([^"\\n]{4,500})"\\s{0,20}/>`, true), allow: (value) => isPlaceholder(value) || /^%[A-Za-z0-9_]+%$|^\\$[({]/.test(value) },
  { id: "airtable-personal-access-token", family: "airtable", description: "an Airtable personal access token", keywords: ["pat"], pattern: rx(`${NOT_AFTER_WORD}pat[A-Za-z0-9]{14}\\.[a-f0-9]{64}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  { id: "clickhouse-cloud-api-secret", family: "clickhouse", description: "a ClickHouse Cloud API key secret", keywords: ["4b1d"], pattern: rx(`${NOT_AFTER_WORD}4b1d[A-Za-z0-9]{38}${NOT_BEFORE_WORD}`), minEntropy: 4 },
  { id: "duffel-api-token", family: "duffel", description: "a Duffel API token", keywords: ["duffel_test_", "duffel_live_"], pattern: rx(`${NOT_AFTER_WORD}duffel_(?:test|live)_[A-Za-z0-9_=-]{43}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "intra42-client-secret", family: "intra42", description: "a 42 (intra) OAuth client secret", keywords: ["s-s4t2ud-", "s-s4t2af-"], pattern: rx(`${NOT_AFTER_TOKEN}s-s4t2(?:ud|af)-[a-fA-F0-9]{64}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "maxmind-license-key", family: "maxmind", description: "a MaxMind license key", keywords: ["_mmk"], pattern: rx(`${NOT_AFTER_WORD}[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk${NOT_BEFORE_WORD}`), minEntropy: 3.5, window: { before: 40, after: 2 } },
  { id: "settlemint-access-token", family: "settlemint", description: "a SettleMint access token", keywords: ["sm_pat_", "sm_aat_", "sm_sat_"], pattern: rx(`${NOT_AFTER_WORD}sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}${NOT_BEFORE_WORD}`), minEntropy: 3 },
  { id: "artifactory-reference-token", family: "artifactory", description: "a JFrog Artifactory reference token", keywords: ["cmvmd"], pattern: rx(`${NOT_AFTER_WORD}cmVmd[A-Za-z0-9]{59}${NOT_BEFORE_WORD}`), minEntropy: 4 },
  { id: "yandex-api-key", family: "yandex", description: "a Yandex Cloud API key", keywords: ["aqvn"], pattern: rx(`${NOT_AFTER_TOKEN}AQVN[A-Za-z0-9_-]{35,38}${NOT_BEFORE_TOKEN}`), minEntropy: 3.5 },
  { id: "yandex-cloud-secret", family: "yandex", description: "a Yandex Cloud static key secret or IAM token", keywords: ["yandex", "yc_"], pattern: rx(`(?:yandex|yc)[A-Za-z0-9_.-]{0,30}?(?:secret|key|token)[A-Za-z0-9_.-]{0,20}["'\`]?[ \\t]{0,5}(?::|=|=>|:=)[ \\t]{0,5}["'\`]?(YC[A-Za-z0-9_-]{38}|t1\\.[A-Za-z0-9_-]{8,200}={0,2}\\.[A-Za-z0-9_-]{86}={0,2})${NOT_BEFORE_TOKEN}`, true), minEntropy: 3.5 },

  // Structured secrets.
  { id: "jwt", family: "jwt", description: "a JSON Web Token", keywords: ["ey"], pattern: rx(`${NOT_AFTER_TOKEN}ey[A-Za-z0-9_-]{17,4096}\\.ey[A-Za-z0-9_/\\\\-]{17,8192}(?:\\.(?:[A-Za-z0-9_/\\\\-]{10,2048}={0,2})?)?`), minEntropy: 3, allow: (token) => !headerLooksLikeJson(token) },

  // Formats measured on the scanner corpus (test-fixtures/secrets/held-out): trufflehog's detector
  // tests, kingfisher's rule examples and detect-secrets' plugin tests, tuned on (the last two held
  // out until session 6); semgrep's, trivy's and ripsecrets' cases, held out, never listed.
  // Microsoft's identifiable keys (microsoft/security-utilities, HighConfidenceSecurityModels):
  // a fixed signature at a fixed offset, so no context is needed.
  { id: "azure-identifiable-key", family: "azure", description: "an Azure identifiable key (storage, Cosmos DB, Batch, API Management)", keywords: ["+ast", "acdb", "+aba", "+amc", "apim"], pattern: rx(`(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/]{76}(?:\\+ASt|ACDb|\\+ABa|\\+AMC|APIM)[A-Za-z0-9+/]{5}[AQgw]==(?![A-Za-z0-9+/_=-])`), window: { before: 78, after: 14 } },
  { id: "azure-identifiable-key-32", family: "azure", description: "an Azure identifiable key (Service Bus, Event Hubs, Relay, IoT, Redis, Event Grid)", keywords: ["+asb", "+aeh", "+arm", "aiot", "azca", "azeg"], pattern: rx(`(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/]{33}(?:\\+ASb|\\+AEh|\\+ARm|AIoT|AzCa|AZEG)[A-P][A-Za-z0-9+/]{5}=(?![A-Za-z0-9+/_=-])`), window: { before: 35, after: 13 } },
  { id: "azure-function-key", family: "azure", description: "an Azure Functions key", keywords: ["azfu"], pattern: rx(`(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{44}AzFu[A-Za-z0-9_-]{5}[AQgw]==(?![A-Za-z0-9_=-])`), window: { before: 46, after: 14 } },
  { id: "azure-search-key", family: "azure", description: "an Azure AI Search key", keywords: ["azse"], pattern: rx(`(?<![A-Za-z0-9+/_-])[A-Za-z0-9]{42}AzSe[A-D][A-Za-z0-9]{5}(?![A-Za-z0-9+/_=-])`), window: { before: 44, after: 12 } },
  { id: "azure-container-registry-key", family: "azure", description: "an Azure Container Registry password", keywords: ["+acr"], pattern: rx(`(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/]{42}\\+ACR[A-D][A-Za-z0-9+/]{5}(?![A-Za-z0-9+/_=-])`), window: { before: 44, after: 12 } },
  { id: "azure-annotated-key", family: "azure", description: "an Azure key (common annotated format: AI services, OpenAI, Maps, Communication Services, …)", keywords: ["jqqj9"], pattern: rx(`(?<![A-Za-z0-9])[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{24}(?:[A-Za-z0-9]{2}==)?(?![A-Za-z0-9+/=])`), window: { before: 54, after: 36 } },
  // Storage and Cosmos DB keys from before the signature: 64 bytes of base64 after a name that
  // says so, in any of the shapes SDK configs use (`"AccountKey", "…"`, `account_key: '…'`,
  // `<account_key>…`, `-storagekey …`, `ACCOUNT_KEY ||⏎ "…"`).
  { id: "azure-storage-key-context", family: "azure", description: "an Azure storage account key", keywords: ["accountkey", "account_key", "account-key", "storagekey", "storage_key", "storage-key"], pattern: rx(`(?:account|storage)[_-]?key[\\s"'\`:=>,{}()\\[\\]|]{1,40}([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])`, true), minEntropy: 4.5, window: { before: 2, after: 150 } },
  // Microsoft identity platform refresh tokens: `0.A…`/`1.A…` client info, then `.Ag…`.
  { id: "azure-entra-refresh-token", family: "azure", description: "a Microsoft Entra refresh token", keywords: ["refresh"], pattern: rx(`(?<![A-Za-z0-9_.-])[01]\\.A[A-Za-z0-9_-]{50,400}(?:\\.[0-9])?\\.Ag[A-Za-z0-9_*-]{250,2000}(?:\\.A[A-Za-z0-9_-]{100,2000})?`), minEntropy: 4, window: { before: 0, after: 4500 } },
  // Cloudflare's self-identifying tokens (user cfut_, account cfat_, global API key cfk_): 40
  // base62 and an 8-hex checksum.
  { id: "cloudflare-prefixed-token", family: "cloudflare", description: "a Cloudflare API token or key", keywords: ["cfut_", "cfat_", "cfk_"], pattern: rx(`${NOT_AFTER_WORD}cf(?:ut|at|k)_[A-Za-z0-9]{40}[a-f0-9]{8}${NOT_BEFORE_WORD}`), minEntropy: 3.5 },
  // GitHub App installation tokens in the newer, longer form (body may hold underscores).
  { id: "github-app-token-long", family: "github", description: "a GitHub App token", keywords: ["ghs_", "ghu_"], pattern: rx(`${NOT_AFTER_WORD}gh[su]_[0-9A-Za-z_]{36,520}${NOT_BEFORE_WORD}`), minEntropy: 3.5, allow: (token) => !(/[0-9]/.test(token) && /[a-z]/.test(token.slice(4)) && /[A-Z]/.test(token)) },
  // Docker config.json inside a string (DOCKER_AUTH_CONFIG, escaped JSON), and long logins
  // (GCR's `_json_key:` + a whole service-account key).
  { id: "docker-config-auth-escaped", family: "docker", description: "a Docker registry login in config.json", keywords: ["auth\\", '"auth"'], pattern: rx(`(?:\\\\{1,3}"auth\\\\{1,3}"|"auth")\\s{0,5}:\\s{0,5}\\\\{0,3}"([A-Za-z0-9+/]{12,4000}={0,2})\\\\{0,3}"`), minEntropy: 3, allow: (value) => !/^[\x20-\x7e]{1,200}:/.test(decodeBase64Prefix(value, 400)), window: { before: 8, after: 4040 } },
  // A Kubernetes `kubernetes.io/dockerconfigjson` or `dockercfg` secret: config.json in base64
  // (`{"auths":`, `{\n  "auths":`, or any value under `.dockerconfigjson:`/`.dockercfg:`), a login
  // only when it holds an auth, password or identity token.
  { id: "docker-config-json-base64", family: "docker", description: "a Docker registry login in a base64 config.json", keywords: ["eyjhdxrocyi6", "ewogicjhdxrocyi6", ".dockercfg", ".dockerconfigjson"], pattern: rx(`(?:(?<![A-Za-z0-9+/])(?:eyJhdXRocyI6|ewogICJhdXRocyI6)[A-Za-z0-9+/]{20,16000}={0,2}|\\.docker(?:cfg|configjson)["']?[ \\t]{0,5}:[ \\t]{0,5}["']?([A-Za-z0-9+/]{20,16000}={0,2}))${NOT_BEFORE_B64}`), allow: (value) => !/"(?:auth|password|identitytoken|registrytoken)"\s*:\s*"[^"]/.test(decodeBase64Prefix(value, value.length)) },
  // Atlassian Data Center / Server personal access tokens: base64 of `<12-digit id>:<random>`
  // (44 characters), Bitbucket's with a BBDC- prefix.
  { id: "atlassian-datacenter-pat", family: "atlassian", description: "an Atlassian Data Center access token", keywords: ["bbdc-", "jira", "confluence", "bitbucket", "atlassian"], pattern: rx(`(?:${NOT_AFTER_WORD}(BBDC-[MNO][A-Za-z0-9+/]{43})|(?<![A-Za-z0-9+/])([MNO][A-Za-z0-9+/]{43})(?![A-Za-z0-9+/=])(?<=(?:jira|confluence|bitbucket|atlassian)[A-Za-z0-9_ .-]{0,40}?(?:token|pat|key|secret|password|bearer)?["'\`]?[ \\t]{0,5}(?::|=|=>|:=)?[ \\t]{0,5}["'\`]?(?<![A-Za-z0-9+/])[MNO][A-Za-z0-9+/]{43}))(?![A-Za-z0-9+/=])`, true), allow: (token) => !/^[0-9]{6,16}:/.test(decodeBase64Prefix(token.replace(/^BBDC-/i, ""), 24)), window: { before: 2, after: 140 } },
  // Telegram bot tokens whose secret part does not start with AA (older bots), next to the name.
  { id: "telegram-bot-token-context", family: "telegram", description: "a Telegram bot token", keywords: ["telegram", "tgram"], pattern: rx(`(?:telegram|tgram)[A-Za-z0-9_ .:/-]{0,30}?["'\`]?[ \\t]{0,5}(?::|=|=>|:=)?[ \\t]{0,5}["'\`]?([0-9]{8,10}:[A-Za-z0-9_-]{35})(?![A-Za-z0-9_-])`, true), minEntropy: 3.5, window: { before: 2, after: 100 } },
  // AWS STS session token after its ASIA key id (the token in any base64 form, not only IQoJ…).
  { id: "aws-session-token-near-key-id", family: "aws", description: "an AWS session token next to its key id", keywords: ["asia"], pattern: rx(`ASIA[A-Z0-9]{16}(?![A-Za-z0-9])[^]{1,300}?${NOT_AFTER_B64}([A-Za-z0-9/+]{100,2000}={0,2})${NOT_BEFORE_B64}`), minEntropy: 4.5, window: { before: 0, after: 2400 } },
  // New Relic license keys in the EU region form (eu01xx…) and mobile app tokens (…-NRMA).
  { id: "newrelic-license-key-eu", family: "newrelic", description: "a New Relic license key", keywords: ["nral", "nrma"], pattern: rx(`${NOT_AFTER_WORD}(?:eu01xx[a-fA-F0-9]{30}NRAL|[a-fA-F0-9]{36}NRAL|AA[a-f0-9]{40}-NRMA|eu01xx[a-f0-9]{36}-NRMA)${NOT_BEFORE_WORD}`), minEntropy: 3, window: { before: 44, after: 6 } },
  // Azure API Management Git credentials: `git&<expiry yyyyMMddHHmm>&<64-byte key>`.
  { id: "azure-apim-git-password", family: "azure", description: "an Azure API Management Git password", keywords: ["git&"], pattern: rx(`git&[0-9]{12}&[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])`) },
  // Teams webhooks since the Office 365 connectors' retirement: Power Automate workflow URLs,
  // whose `sig` is the secret.
  { id: "teams-workflow-webhook-url", family: "teams", description: "a Microsoft Teams workflow webhook URL", keywords: ["environment.api.powerplatform.com"], pattern: rx(`(?<![a-z0-9-])[a-z0-9]{1,64}\\.[0-9]{2}\\.environment\\.api\\.powerplatform\\.com(?::443)?/powerautomate/automations/direct/workflows/[0-9a-f]{32}/triggers/manual/paths/invoke\\?[^\\s"'<>]{0,400}?sig=[A-Za-z0-9_%-]{20,100}(?:&[^\\s"'<>]{0,400})?`, true), window: { before: 70, after: 1100 } },
  // npm tokens from before the npm_ prefix (2021) were UUIDs: next to an npm token name, read from
  // the UUID back (in a flood of npm token names, whose lazy repeats tried hundreds of splits from
  // each, few UUIDs stand; in its windows only, so ordinary text pays nothing).
  { id: "npm-legacy-token", family: "npm", description: "an npm access token (legacy UUID form)", keywords: ["npm_token", "npmtoken", "npm-token", "npm_auth", "npmauth", "npm_registry_token", "npm_publish_token"], pattern: rx(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?<=npm[A-Za-z0-9_.-]{0,30}?(?:token|auth)[A-Za-z0-9_ .-]{0,20}?["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9A-Za-z-])`, true), minEntropy: 3, window: { before: 2, after: 110 } },
  // HashiCorp Vault AppRole secret ids (UUIDs) under their own name.
  { id: "vault-approle-secret-id", family: "vault", description: "a HashiCorp Vault AppRole secret id", keywords: ["secret_id", "secret-id", "secretid"], pattern: rx(`secret[_-]?id[0-9]{0,2}["'\`]?\\s{0,5}(?::|=|=>|:=)\\s{0,5}["'\`]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9A-Za-z-])`, true), minEntropy: 3, window: { before: 2, after: 80 } },
  // Azure OpenAI keys (32 hex) next to an Azure OpenAI endpoint.
  { id: "azure-openai-key", family: "azure", description: "an Azure OpenAI key", keywords: ["openai.azure.com", "azure_openai", "azure-openai", "azureopenai"], pattern: rx(`(?:api[_-]?key|subscription[_-]?key|openai[_-]?key)["'\\]]{0,2}\\s{0,5}(?:=|:|=>)\\s{0,5}["']?([0-9a-f]{32})(?![0-9A-Za-z])`, true), minEntropy: 3, window: { before: 400, after: 400 } },
];

/**
 * What the keyword rule leaves alone: placeholders, values without both letters and digits,
 * property paths (`config.api.key`), UUIDs and hex digests (ids and hashes far more often than
 * secrets; the vendors whose keys look so have their own keyword rules), and values in the
 * shape of a token another rule owns (that rule's length and entropy checks decide).
 */
function isNotGenericSecret(value: string): boolean {
  // A digit, a symbol between letters (`super$ecret`) or a case pattern no words make
  // (`YXNkZmZm…`) tells a value from a word or an identifier.
  if (isPlaceholder(value) || !/[A-Za-z]/.test(value) || !(/[0-9]/.test(value) || /[A-Za-z0-9][!@#$%^&*+~?(){}[\]<>|][A-Za-z0-9{]/.test(value) || mixesCaseLikeNoWord(value))) return true;
  if (/^[A-Za-z0-9_$]+(?:\.[A-Za-z0-9_$]+)+(?:\(\))?$/.test(value)) return true;
  // Where a secret is, not a secret: a URL without a login in it, a file path.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^@\s]*$/i.test(value) || looksLikePath(value) || /^[A-Za-z]:\\[\w.\\ -]+$/.test(value)) return true;
  // A Rails route's controller and action (`"cms/sites/passwords#edit"`, `"passwords#update"`) under a
  // path naming passwords; a word pair a `#` joins is a secret (`"development#product"`).
  if (/^[a-z_]+(?:\/[a-z_]+)+#[a-z_]+$|^[a-z_]+#(?:index|show|new|create|edit|update|destroy)$/.test(value)) return true;
  // Regular expressions and character classes in source code (`"(?<![A-Za-z0-9_-])"`).
  if (/\(\?|\[\^?[A-Za-z0-9]-[A-Za-z0-9]/.test(value)) return true;
  // Many APIs issue hex keys: 32 hex digits or more under a credential name are one; shorter hex is an id or a colour.
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value) || (/^[0-9a-f]+$/i.test(value) && value.length < 32)) return true;
  if (OWNED_SHAPES.some(({ shortest, shape }) => value.length >= shortest && shape.test(value))) return true;
  const lower = value.toLowerCase();
  if (lower.startsWith("eyj")) return true;
  // Keyed by their first three characters: a list of hundreds, tried per value, was most of a
  // flood of distinct keyword secrets.
  const candidates = specificPrefixes().get(lower.slice(0, 3));
  return candidates !== undefined && candidates.some((prefix) => lower.startsWith(prefix));
}

/**
 * A Unix path (`/data/hadoop`, `~/.ssh/config`): its pieces are names, so one of 16 base64
 * characters or more, random (upper and lower case, two digits, over 3.5 bits each) makes it base64
 * that starts with `/` (an S3 secret key `/UI/U0Rd…`, one in 64 of them), not a path.
 */
function looksLikePath(value: string): boolean {
  return /^(?:~|\.{1,2})?\/[\w.@-]+\/[\w.@/-]*$/.test(value) && !value.split("/").some((piece) => /^[A-Za-z0-9+=]{16,}$/.test(piece) && /[A-Z]/.test(piece) && /[a-z]/.test(piece) && /[0-9].*[0-9]/.test(piece) && shannonEntropy(piece) > 3.5);
}

/**
 * Letters whose case changes every one or two characters (`YXNkZmZmZmZm`, base64 of text): split
 * into words at case changes (`getAuthToken` → get, Auth, Token; `XMLHttp` → XML, Http), an
 * identifier's pieces are words, and at least half of these are one or two letters long. Only
 * for token characters: `P.isWritable=P.isReadable` is code.
 */
function mixesCaseLikeNoWord(value: string): boolean {
  if (value.length < 10 || !/^[A-Za-z0-9_+/-]+=*$/.test(value)) return false;
  const pieces = value.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+/g) ?? [];
  const short = pieces.filter((piece) => piece.length <= 2).length;
  return pieces.length >= 4 && short >= 3 && 2 * short >= pieces.length;
}

/**
 * Tokens whose signature is not a prefix (Azure identifiable keys, Telegram bot tokens), each with
 * the length of its shortest match: most values are shorter than most shapes, and a shape's
 * leading run costs its length to fail (a flood of distinct keyword secrets spent an eighth here).
 */
export const OWNED_SHAPES: ReadonlyArray<{ readonly shortest: number; readonly shape: RegExp }> = [
  { shortest: 80, shape: /^[A-Za-z0-9+/]{76}(?:\+ASt|ACDb|\+ABa|\+AMC|APIM)/ },
  { shortest: 38, shape: /^[A-Za-z0-9+/]{33}(?:\+ASb|\+AEh|\+ARm|AIoT|AzCa|AZEG)[A-P]/ },
  { shortest: 48, shape: /^[A-Za-z0-9_-]{44}AzFu/ },
  { shortest: 47, shape: /^[A-Za-z0-9]{42}AzSe[A-D]/ },
  { shortest: 47, shape: /^[A-Za-z0-9+/]{42}\+ACR[A-D]/ },
  { shortest: 56, shape: /^[A-Za-z0-9]{52}(?:JQQJ9|AZDO)/ },
  { shortest: 38, shape: /^[0-9]{5,16}:[A-Za-z0-9_-]{32,35}$/ },
  { shortest: 36, shape: /^[a-f0-9]{32}-us[0-9]{1,2}$/ },
];

let prefixes: Map<string, string[]> | undefined;

/** The other families' keywords a generic value may not start with, by their first three characters. */
function specificPrefixes(): Map<string, string[]> {
  if (prefixes === undefined) {
    prefixes = new Map();
    const keywords = TOKEN_RULES.filter((rule) => rule.family !== "generic")
      .flatMap((rule) => rule.keywords)
      .filter((keyword) => keyword.length >= 3 && /^[a-z0-9]/.test(keyword) && !/^(?:aws|key|sig|cio)/.test(keyword));
    for (const keyword of keywords) {
      const start = keyword.slice(0, 3);
      const list = prefixes.get(start);
      if (list === undefined) prefixes.set(start, [keyword]);
      else list.push(keyword);
    }
  }
  return prefixes;
}

/** Finds PEM/PGP private-key blocks in linear time (a lazy regex would rescan to the end per header). */
export const PRIVATE_KEY_RULE = {
  id: "private-key",
  family: "private-key",
  description: "a private key",
} as const satisfies Pick<TokenRule, "id" | "family" | "description">;

// The label takes no run of dashes: on a block written on one line (an env file strips the
// newlines), `[ A-Z0-9_-]` ran on through the body to the footer's PRIVATE KEY-----.
const PRIVATE_KEY_HEADER = /-----BEGIN(?:[ A-Z0-9_]|-(?!-)){0,100}PRIVATE KEY(?: BLOCK)?-----/gi;
const PRIVATE_KEY_FOOTER = /^-----END[ A-Z0-9_-]{0,100}-----/i;
const KEY_BODY_CHAR = /[A-Za-z0-9+/=]/;
const MIN_KEY_BODY = 64;
/** Between a header and its footer a shorter body is still key material (an encrypted key's example is 40). */
const MIN_TERMINATED_KEY_BODY = 32;
const MAX_UNTERMINATED_BODY = 16_384;

const FOOTER_START = /-----END/gi;

function indexOfFooter(text: string, from: number): number {
  FOOTER_START.lastIndex = from;
  return FOOTER_START.exec(text)?.index ?? -1;
}

export function findPrivateKeys(text: string): Array<{ start: number; end: number }> {
  const spans: Array<{ start: number; end: number }> = [];
  let nextFooter = -2; // -2: not looked up yet
  PRIVATE_KEY_HEADER.lastIndex = 0;
  for (let header = PRIVATE_KEY_HEADER.exec(text); header !== null; header = PRIVATE_KEY_HEADER.exec(text)) {
    const bodyStart = header.index + header[0].length;
    if (nextFooter !== -1 && nextFooter < bodyStart) nextFooter = indexOfFooter(text, bodyStart);
    if (nextFooter !== -1) {
      if (nextFooter - bodyStart < MIN_TERMINATED_KEY_BODY) continue;
      const footer = PRIVATE_KEY_FOOTER.exec(text.slice(nextFooter, nextFooter + 120));
      const end = nextFooter + (footer ? footer[0].length : "-----END".length);
      spans.push({ start: header.index, end });
      PRIVATE_KEY_HEADER.lastIndex = end;
      continue;
    }
    // A truncated block (no footer anywhere after it) still leaks the key material it carries.
    let end = bodyStart;
    let bodyChars = 0;
    const limit = Math.min(text.length, bodyStart + MAX_UNTERMINATED_BODY);
    while (end < limit) {
      const char = text[end] as string;
      if (KEY_BODY_CHAR.test(char)) bodyChars++;
      else if (!/\s|\\/.test(char)) break;
      end++;
    }
    if (bodyChars >= MIN_KEY_BODY) spans.push({ start: header.index, end });
    PRIVATE_KEY_HEADER.lastIndex = Math.max(end, bodyStart);
  }
  return spans;
}
