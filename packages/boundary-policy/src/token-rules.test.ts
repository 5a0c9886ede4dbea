import { describe, expect, it } from "vitest";

import { createRefusePolicy, TOKEN_RULES } from "./index.js";
import { matchRule } from "./scan-text.js";
import { OWNED_SHAPES, type TokenRule } from "./token-rules.js";
import { bashCalloutBefore, inNoteCallout } from "./test-support/note-layout.js";
import { loadSecretCorpus, loadVendorCorpus, type CorpusCase } from "./test-support/secret-corpus.js";

const policy = createRefusePolicy();
const corpus: CorpusCase[] = [...loadSecretCorpus(), ...loadVendorCorpus()];

const rule = (id: string): TokenRule => TOKEN_RULES.find((candidate) => candidate.id === id) as TokenRule;

const vendorCases = new Set(loadVendorCorpus().map((c) => c.text));

/**
 * Where each rule fires on its own family's positives, and whether its span holds the whole
 * secret. Only the vendor-format cases name the exact token (upstream cases' `secret` is often a
 * context string), so "whole" is judged on those.
 */
function positivesOf(ruleId: string): Array<{ testCase: CorpusCase; whole: boolean }> {
  const own = rule(ruleId);
  return corpus
    .filter((c) => c.expect === "match" && c.family === own.family)
    .flatMap((testCase) => {
      const [finding] = matchRule(own, testCase.text);
      if (finding === undefined) return [];
      const found = testCase.text.slice(finding.start, finding.end);
      const exact = vendorCases.has(testCase.text) && testCase.secret !== undefined;
      return [{ testCase, whole: !exact || found.includes(testCase.secret as string) }];
    });
}

/** Rules whose only corpus positives are in the other rule's family (shapes they share). */
const NO_POSITIVE_OF_THEIR_OWN: Record<string, string> = {};

describe("every built-in rule", () => {
  it.each(TOKEN_RULES.map((rule) => rule.id))("%s has a positive in the corpora and matches its whole token there", (id) => {
    if (NO_POSITIVE_OF_THEIR_OWN[id]) return;
    const positives = positivesOf(id);
    expect(positives.length, `no corpus positive for ${id}`).toBeGreaterThan(0);
    expect(positives.filter((p) => !p.whole).map((p) => `${p.testCase.text.slice(0, 160)} :: ${p.testCase.secret ?? ""}`)).toEqual([]);
  });

  it.each([...new Set(TOKEN_RULES.map((rule) => rule.family))])("family %s has negatives in the corpora, none refused", (family) => {
    const negatives = corpus.filter((c) => c.expect === "no-match" && c.family === family);
    expect(negatives.length, `no corpus negative for ${family}`).toBeGreaterThan(0);
    expect(negatives.filter((c) => policy.scanText(c.text).length > 0).map((c) => c.text)).toEqual([]);
  });
});

describe("rule fixes found on the held-out measurement", () => {
  it("npmrc-auth leaves an identifier ending in _auth alone (markdown-it's `re.src_auth = …`) and still finds .npmrc lines", () => {
    expect(matchRule(rule("npmrc-auth"), "re.src_auth = `(?:(?:(?!${re.src_ZCc}|[@/\\[\\]()]).){1,50}@)?`;")).toEqual([]);
    expect(matchRule(rule("npmrc-auth"), "//registry.npmjs.org/:_authToken=Zm9vYmFyYmF6cXV4MTIz\n")).toHaveLength(1);
    expect(matchRule(rule("npmrc-auth"), "_auth=dXNlcjpwYXNzd29yZA==\n")).toHaveLength(1);
  });

  it("azure-ad-client-secret takes a secret whose first characters include a dash (security-utilities SEC101/156)", () => {
    const secret = "-k3" + "8Q~" + "Vb7.Tq2_Lm9~Rz4-Wx6Yp1Hs5Nd8Kf3Jg0";
    const [finding] = matchRule(rule("azure-ad-client-secret"), `client_secret=${secret}&grant_type=client_credentials`);
    expect(finding && `client_secret=${secret}&`.slice(finding.start, finding.end)).toBe(secret);
  });
});

// Tokens built at run time, so no whole token sits in the source for other scanners to flag.
const repeat = (unit: string, length: number): string => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
const b62 = (length: number): string => repeat("q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTiKoPlMnQbVcXzWsEdRfTgYhUjIk", length);
const hex = (length: number): string => repeat("9f3a71c0e5b28d46", length);
const b64 = (length: number): string => repeat("q7Lm2+Xv9B/c4Nk8Rt1Wy5Hp3Sd6", length);
const w = (length: number): string => repeat("Zq7_Lm2-Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0Ja", length);
const uuid = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

/** The secret a rule's first finding covers in `text`, or undefined when it finds nothing. */
function found(id: string, text: string): string | undefined {
  const [finding] = matchRule(rule(id), text);
  return finding && text.slice(finding.start, finding.end);
}

/** That rule `id` takes exactly `secret` out of the line `before + secret + after`. */
function takesWholeSecret(id: string, before: string, secret: string, after: string): void {
  expect(found(id, `${before}${secret}${after}\n`)).toBe(secret);
}

/** The rules the policy names in `text`, by finding. */
const rules = (text: string): string[] => policy.scanText(text).map((finding) => finding.rule);

describe("family coverage from the vendors' documented formats", () => {
  it.each([
    ["openai-prefixed-api-key", "OPENAI_API_KEY=", "sk-proj-" + b62(120)],
    ["openai-prefixed-api-key", "key: ", "sk-svcacct-" + b62(60) + "_" + b62(30)],
    ["anthropic-api-key", "ANTHROPIC_API_KEY=", "sk-ant-api03-" + b62(100) + "AA"],
    ["replicate-legacy-api-token", "REPLICATE_API_TOKEN=", hex(40)],
    ["slack-session-token", "token=", `xoxc-${"1234567890".slice(0, 10)}12-223344556677-3344556677889-${hex(64)}`],
    ["slack-session-token", "Cookie: d=", "xoxd-" + b62(60) + "%2F" + b62(40)],
    ["teams-legacy-webhook-url", "url: https://", `outlook.office.com/webhook/${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}@${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}/IncomingWebhook/${hex(32)}/${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`],
    ["discord-bot-token-context", 'discord_secret: "', `o${b62(25)}.${b62(6)}.${b62(38)}`],
    ["braintree-private-key", 'braintreeKey := "', hex(32)],
    ["square-token", "SQUARE_APPLICATION_SECRET=", "sandbox-sq0csb-" + b62(43)],
    ["okta-api-token-context", "Authorization: SSWS ", "00" + b62(40)],
    ["okta-api-token-context", "okta token - '", "00" + b62(40)],
    ["cloudflare-global-api-key", "cloudflare: ", hex(37)],
    ["vercel-legacy-token", "VERCEL_TOKEN=", b62(24)],
    ["datadog-application-key", "DD_APP_KEY=", "ddapp_" + b62(34)],
    ["mailgun-key", "MAILGUN_API_KEY=", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"],
    ["supabase-token", "SUPABASE_ACCESS_TOKEN=", "sbp_oauth_" + hex(40)],
    ["supabase-token", "SUPABASE_ACCESS_TOKEN=", "sbp_" + b62(40).toLowerCase()],
    ["rubygems-api-token", "GEM_HOST_API_KEY=", "rubygems_" + b62(48).toLowerCase()],
    ["newrelic-key", "NEW_RELIC_INSIGHTS_QUERY_KEY=", "NRIQ-" + b62(32)],
    ["atlassian-api-token", "JIRA_API_TOKEN=", "ATATT" + b62(50) + "=" + hex(8).toUpperCase()],
    ["keyword-secret", 'const (\n\tclientSecret                = "', "U6DtAX5r6RPZxd~l12Ri3X8J9urt5Q-xs"],
  ])("%s takes the whole token after %j", (id, before, token) => {
    expect(found(id, `${before}${token}"\n`)).toBe(token);
  });

  it.each([
    ["openai-prefixed-api-key", "OPENAI_API_KEY=sk-proj-your-key-here-and-some-more-characters-to-be-long"],
    // A key with the T3BlbkFJ marker is openai-api-key's; its length checks decide.
    ["openai-prefixed-api-key", "BAD_KEY=sk-admin-short" + "T3BlbkFJ" + b62(60)],
    ["anthropic-api-key", "ANTHROPIC_API_KEY=sk-ant-api03-" + "x".repeat(100) + "AA"],
    ["replicate-legacy-api-token", "replicate model version: " + hex(64)],
    ["slack-session-token", "SLACK_COOKIE=xoxd-..."],
    ["teams-legacy-webhook-url", "https://outlook.office.com/webhook/"],
    ["discord-bot-token-context", "DISCORD_BOT_TOKEN=${DISCORD_BOT_TOKEN}"],
    ["braintree-private-key", "braintree_private_key: <your-private-key>"],
    ["square-token", "SQUARE_APPLICATION_SECRET=sandbox-sq0csb-..."],
    ["okta-api-token-context", "rookTable = 0023452Lllk2KqjLBvaxANWEgTd7bqjsxjo8aZj0wd"],
    ["okta-api-token-context", "Authorization: SSWS ${OKTA_API_TOKEN}"],
    ["cloudflare-global-api-key", "cloudflare: " + "0".repeat(37)],
    ["vercel-legacy-token", "VERCEL_TOKEN=your-vercel-token"],
    ["datadog-application-key", "DD_APP_KEY=ddapp_..."],
    ["mailgun-key", "const key = 'key-abcdefabcdefabcdefabcdefabcdefab'"],
    ["supabase-token", "SUPABASE_ACCESS_TOKEN=sbp_oauth_..."],
    ["powershell-plaintext-secure-string", "$p = ConvertTo-SecureString -String $env:PASSWORD -AsPlainText -Force"],
    ["powershell-plaintext-secure-string", 'ConvertTo-SecureString -String "<password>" -AsPlainText -Force'],
    ["npmrc-auth", "//registry.npmjs.org/:_authToken=$NPM_TOKEN\n"],
    ["keyword-secret", 'const (\n\tclientSecret                = os.Getenv("CLIENT_SECRET")\n)'],
  ])("%s leaves %j alone", (id, text) => {
    expect(matchRule(rule(id), text)).toEqual([]);
  });

  it("powershell-plaintext-secure-string takes the password, not the command around it", () => {
    expect(found("powershell-plaintext-secure-string", "ConvertTo-SecureString 'Winter2026!x' -AsPlainText -Force")).toBe("Winter2026!x");
    const password = "gHduiL_j6t4b6DG?Qr-G6M@IOS?mX3B9";
    expect(found("powershell-plaintext-secure-string", `$p = ConvertTo-SecureString -String "${password}" -AsPlainText -Force`)).toBe(password);
  });
});

describe("prefixed tokens of gitleaks' default rule set", () => {
  it.each([
    ["adobe-client-secret", "p8e-" + b62(32)],
    ["alibaba-access-key-id", "LTAI" + b62(20)],
    ["artifactory-api-key", "AKCp" + b62(69)],
    ["brevo-api-key", `xkeysib-${hex(64)}-${b62(16)}`],
    ["clojars-api-token", "CLOJARS_" + b62(60).toLowerCase()],
    ["doppler-api-token", "dp.pt." + b62(43)],
    ["dynatrace-api-token", `dt0c01.${b62(24).toUpperCase()}.${b62(64).toUpperCase()}`],
    ["easypost-api-token", "EZAK" + b62(54)],
    ["facebook-access-token", "EAAC" + b62(160)],
    ["flutterwave-key", `FLWSECK_TEST-${repeat("a1b2c3d4e5f6g7h8", 32)}-X`],
    ["frameio-api-token", "fio-u-" + b62(64)],
    ["harness-api-key", `pat.${b62(22)}.${b62(24)}.${b62(20)}`],
    ["infracost-api-token", "ico-" + b62(32)],
    ["mailchimp-api-key", hex(32) + "-us12"],
    ["mapbox-secret-token", `sk.eyJ1Ijoi${b62(40)}.${b62(22)}`],
    ["octopus-deploy-api-key", "API-" + "QWERTYUIOPASDFGHJKLZXC" + "2468"],
    ["openshift-user-token", "sha256~" + b62(43)],
    ["postman-api-token", `PMAK-${hex(24)}-${hex(34)}`],
    ["prefect-api-token", "pnu_" + b62(36)],
    ["pulumi-api-token", "pul-" + hex(40)],
    ["readme-api-token", "rdme_" + b62(70).toLowerCase()],
    ["scalingo-api-token", "tk-us-" + b62(48)],
    ["shippo-api-token", "shippo_live_" + hex(40)],
    ["typeform-api-token", "tfp_" + b62(59)],
    ["pypi-test-upload-token", "pypi-AgENdGVzdC5weXBpLm9yZw" + b62(120)],
  ])("%s takes the whole token", (id, token) => {
    expect(found(id, `export TOKEN=${token}\n`)).toBe(token);
  });

  it("bitbucket-client-secret takes a 64-character secret under a Bitbucket name", () => {
    const secret = b62(64);
    expect(found("bitbucket-client-secret", `BITBUCKET_CLIENT_SECRET=${secret}\n`)).toBe(secret);
    expect(matchRule(rule("bitbucket-client-secret"), "BITBUCKET_CLIENT_SECRET=${BITBUCKET_CLIENT_SECRET}\n")).toEqual([]);
  });

  it.each([
    ["infracost-api-token", '<i class="ico-arrow"></i>'],
    ["mailchimp-api-key", "Accept-Language: en-us"],
    ["octopus-deploy-api-key", "API-REFERENCE-FOR-DEPLOYMENTS"],
    ["octopus-deploy-api-key", "API-" + "QWERTYUIOPASDFGHJKLZXCVBNM"],
    ["alibaba-access-key-id", "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIxxxxxxxxxxxxxxxxxxxx"],
    ["flutterwave-key", "FLW_PUBLIC_KEY=FLWPUBK_TEST-xxxxxxxxxxxxxxxx-X"],
    ["dynatrace-api-token", "DT_API_TOKEN=dt0c01.xxxx.yyyy"],
  ])("%s leaves %j alone", (id, text) => {
    expect(matchRule(rule(id), text)).toEqual([]);
  });

  it("mailchimp-api-key, not the keyword rule, names a Mailchimp key under an API-key name", () => {
    expect(policy.scanText(`MAILCHIMP_API_KEY=${hex(32)}-us5\n`).map((finding) => finding.rule)).toEqual(["mailchimp-api-key"]);
  });
});

describe("hex values under a credential name", () => {
  it("a 32-character or longer hex value under a credential name is a secret; shorter hex (ids, colours) is not", () => {
    expect(policy.scanText('api_key = "9f3a71c0e5b28d469f3a71c0e5b28d46"\n').map((finding) => finding.rule)).toEqual(["keyword-secret"]);
    expect(policy.scanText('auth_color = "9f3a71c0e5b2"\n')).toEqual([]);
  });
});

describe("keyword-context secrets kingfisher and detect-secrets showed (session 6)", () => {

  it.each([
    'password = "super$ecret"',
    '"password": "super$ecret",',
    'my_password := "super$ecret"',
    'password   =>   "super$ecret"',
    'if (api_key == "q7Lm2Xv9Bc4Nk8Rt1Wy5") {',
    'if (db_pass !== "q7Lm2Xv9Bc4Nk8Rt1Wy5") {',
    'if (db_secret === "m{{h}o)p${e]nob(ody[finds>-_$#thisone}}") {',
    "api_key: `q7Lm2Xv9Bc4Nk8Rt1Wy5`",
    'password = @"q7Lm2Xv9Bc4Nk8Rt1Wy5";',
    'char secret[25] = "q7Lm2Xv9Bc4Nk8Rt1Wy5";',
    'api_key: str = "q7Lm2Xv9Bc4Nk8Rt1Wy5"',
    'const apiKey: string = "q7Lm2Xv9Bc4Nk8Rt1Wy5";',
    'password: Optional[str] = "q7Lm2Xv9Bc4Nk8Rt1Wy5"',
    'headers.put("X-Api-Key", "q7Lm2Xv9Bc4Nk8Rt1Wy5");',
    'map.put("password", "s3cr3tV4lue99");',
    'password "q7Lm2Xv9Bc4Nk8Rt1Wy5";',
    'std::string secret("q7Lm2Xv9Bc4Nk8Rt1Wy5");',
    'client.setApiKey("q7Lm2Xv9Bc4Nk8Rt1Wy5")',
  ])("finds the secret in %s", (text) => {
    expect(rules(text)).toEqual(["keyword-secret"]);
  });

  it.each([
    'type: "password"',
    'password: "#{password}"',
    'name = "newPassword"',
    "if (password == confirmPassword) {",
    "if (token === undefined) {",
    'secret = "my-secret-key"',
    '"creds": "DB_PASSWORD=set=it=here",',
    '"tokenUrl": "https://oauth2.googleapis.com/token"',
    'secret_path = "/etc/secrets/db2.json"',
    "<passwordFile>/run/secrets/db_password2</passwordFile>",
    'token_file: "C:\\secrets\\token2.txt"',
    "password = getPassword(user)",
    "api_key: str = Field(default=None)",
    'fields = ["password", "password_confirmation"]',
    'log.info("token", token_id2)',
    "password: ${DB_PASSWORD}",
    'getSecret("prod-database-password")',
    'echo "reset your password" "now"',
  ])("leaves %s alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("values cut short in docs", () => {
  it("the keyword rule leaves a value ending in ... or … alone and still takes the whole value otherwise", () => {
    expect(policy.scanText("MAPBOX_TOKEN=pk.eyJ1Ijoi...")).toEqual([]);
    expect(policy.scanText("api_key: 'Zq7Lm2Xv9Bc4…'")).toEqual([]);
    expect(policy.scanText("api_key: 'Zq7Lm2Xv9Bc4Nk8Rt1Wy5'").map((finding) => finding.rule)).toEqual(["keyword-secret"]);
  });
});

describe("shapes the kingfisher and detect-secrets cases showed (session 6)", () => {
  const base64url = (json: string): string => Buffer.from(json).toString("base64url");

  it.each([
    ["anthropic-api-key", "key = ", `sk-ant-api668-${b62(93)}AA`, ""],
    ["aws-secret-access-key", "foo.backup.archive.aws.secretkey=", b64(40), ""],
    ["aws-secret-access-key", '"\\"awsSecretKey\\":\\"', b64(40), '\\","'],
    ["azure-app-config-connection-string", `Endpoint=https://appcs-1.azconfig.io;Id=pi5x-l9-s0:${b62(20)};Secret=`, b64(43) + "=", '";'],
    ["azure-devops-pat", "azure devops pat = ", b62(52) + "JQQJ77BAACAAAAAAAAAAAAAS" + "AZDO" + "BucT", ""],
    ["azure-storage-key", "AccountKey=", b64(106) + "==", ""],
    ["cloudflare-origin-ca-key", 'cloudflare_service_key: "', `v1.0-${hex(64)}-${hex(128)}-${hex(64)}`, '"'],
    ["datadog-api-key", "dd-apikey-", hex(32), ""],
    ["datadog-api-key", "datadog-secrettoken-", hex(32), ""],
    ["datadog-api-key", "dd_secret_key-", hex(40), ""],
    ["discord-bot-token", "", `MZ${b62(22)}.${b62(6)}.${b62(27)}`, ""],
    ["mongodb-atlas-service-account-secret", "MONGODB_ATLAS_CLIENT_SECRET=", "mdb_sa_sk_" + b62(40), ""],
    ["mongodb-atlas-private-key", "ATLAS_PRIVATE_KEY=", uuid, ""],
    ["nuget-keyword-key", "nuget key = ", b62(46).toLowerCase(), ""],
    ["okta-api-token-context", 'variable "corp_okta_api_token" {\n  default = "', "00" + b62(40), '"\n}'],
    ["replicate-api-token", "", "r8_" + b62(45), ""],
    ["slack-bot-token", "", `xoxb-853BAAEE-1B2eDb6A4c75-${b62(32)}`, ""],
    ["slack-config-access-token", "", `xoxe.xoxp-1-${b62(162)}`, ""],
    ["slack-config-refresh-token", "", `xoxe-1-${b62(143)}`, ""],
    ["sourcegraph-access-token", "", `sgp_${hex(16)}_local_${hex(40)}`, ""],
    ["square-token", "square ", "EAAA" + b62(61), ""],
    ["stripe-access-token", "", "sk_live_" + b62(15), ""],
    ["xai-api-key", "", `xai-${b62(36)}_${b62(43)}`, ""],
    ["grafana-api-key", 'GrafanaClient("', Buffer.from(`{"k":"${b62(32)}","n":"deploy-bot","id":1}`).toString("base64"), '", host=h)'],
    ["npmrc-auth", '"_authToken": "', uuid, '"'],
    ["basic-auth-url", 'CONNECTION_URI="postgres://postgres:', "s2Tf2k@rLMy", '@db.internal:5434/elephant"'],
    ["basic-auth-url", "mongodb://mongoadmin:", "contoso", "@something.foo.mongodb.net/myFirstDatabase"],
    ["jwt", "", `${base64url('{"typ":"JWT",\r\n "alg":"HS256"}')}.${base64url('{"sub":"1234567890","name":"Jo Doe"}')}`, ""],
  ])("%s takes the whole secret in %j…", takesWholeSecret);

  it("a terminated private key block with a short body is still a private key", () => {
    const text = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64(40)}\n-----END ENCRYPTED PRIVATE KEY-----`;
    expect(policy.scanText(text).map((finding) => finding.rule)).toEqual(["private-key"]);
    expect(policy.scanText("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----")).toEqual([]);
  });

  it.each([
    // detect-secrets' negatives: a header that is not base64 of a JSON object is not a JWT.
    ["jwt", `eyJhbasdGciOiJIUaddasdasfsasdasdzI1NiIasdsInR5cCI6IkpXVCasdJasd9.${base64url('{"sub":"1234567890","name":"Jo Doe"}')}.${b62(43)}`],
    ["jwt", `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ.${base64url('{"sub":"1234567890","name":"Jo Doe"}')}.${b62(43)}`],
    // a Discord id's base64 is 24 to 26 characters.
    ["discord-bot-token", `MTAyOTQ4MTN5OTU5MTDwMEcxNg0.${b62(6)}.${b62(38)}`],
    ["mongodb-atlas-private-key", "ATLAS_PRIVATE_KEY=${ATLAS_PRIVATE_KEY}"],
    ["nuget-keyword-key", "nuget restore packages.config -PackagesDirectory packages"],
    ["grafana-api-key", "eyJrIjoi..."],
    ["azure-app-config-connection-string", "Endpoint=https://x.azconfig.io;Id=<id>;Secret=<secret>"],
    ["basic-auth-url", "https://username:password@example.com/path"],
  ])("%s leaves %j alone", (id, text) => {
    expect(matchRule(rule(id), text)).toEqual([]);
  });
});

describe("GitLab token lengths as GitLab documents them, and more named shapes (session 6)", () => {
  it.each([
    ["gitlab-ptt", "glptt-" + w(40)],
    ["gitlab-token", "glimt-" + w(25)],
    ["gitlab-token", "gloas-" + w(64)],
    ["gitlab-token", "glsoat-" + w(30)],
    ["gitlab-rrt", "GR1348941" + w(30)],
    ["sourcegraph-cody-key", "slk_" + hex(64)],
  ])("%s takes the whole %s", (id, token) => {
    expect(found(id, `token: ${token}\n`)).toBe(token);
  });

  it("bitbucket-client-secret takes a 44-character secret under a Bitbucket name", () => {
    const secret = "HedmnK9h6KD_eh9KK8FlI9ahUc8WfaNZ4gulbrtN2ou" + "V";
    expect(found("bitbucket-client-secret", `bitbucket_key=${secret}\n`)).toBe(secret);
  });

  it.each([
    // detect-secrets' negatives: longer than the format, so a partial match would leave a tail.
    ["gitlab-token", "glimt-" + w(31)],
    ["gitlab-token", "gloas-" + w(38)],
    ["gitlab-token", "gloas-" + w(66)],
    ["gitlab-token", "glsoat-" + w(51)],
    ["gitlab-rrt", "GR1348941" + w(51)],
  ])("%s leaves %s alone", (id, text) => {
    expect(matchRule(rule(id), `token: ${text}\n`)).toEqual([]);
  });
});

describe("shapes trufflehog's detector tests showed (session 6)", () => {
  it.each([
    ["square-token", "square token = '", "EAAA" + repeat("Ym=Tg+YL4kQ-65xyZ4", 60), "'"],
    ["twilio-auth-token", "twilio token - '", hex(32), "'"],
    ["twilio-auth-token", "twilio token - '", b62(32), "'"],
    ["newrelic-key", "new relic insights insert key = '", "NRII-" + w(25), "'"],
    ["hubspot-api-key", "const hs = new HubSpotAPI(\"", uuid, '");'],
    ["jira-api-token-context", "jira ", b62(24), "\njira example.atlassian.net"],
    ["jenkins-credential-secret", "<secret>{", "AQAAABAAAAAQ" + b64(60) + "=", "}</secret>"],
    ["azure-keyword-secret", "azureFunctionkey: ", w(32) + "=", "\n"],
    ["azure-keyword-secret", "AZURE_API_MANAGEMENT_SUBSCRIPTION_KEY=", "2c69j0dc327c4929b74d3a832a04266b", ""],
    ["bitbucket-app-password", "Key=myuser:", "ATBB123abcDEF456ghiJKL789mnoPQR", ""],
    ["mailgun-keyword-key", "mailgun_password = '", `${hex(32)}-${hex(8)}-${hex(8)}`, "'"],
    ["mailgun-keyword-key", "mailgun '", b62(72), "'"],
    ["paypal-client-secret", "paypaloauth token - '", "Dddpt-5MySAKlcPX07LKjhzbHTbf9m2Xv9OFSw0bTdrZ", "'"],
    ["paypal-client-secret", "PAYPAL_CLIENT_SECRET=", "E" + b62(79), ""],
    ["slack-user-token", "slack token - '", "xoxp-24232636415-0285024315463c", "'"],
    ["slack-legacy-workspace-token", "slack token - '", "xoxa-08532509747-07570405353c", "'"],
    ["aws-session-token-near-key-id", "aws credentials{\n  id: ASIABBKK02W42Q3IPSPG\n  secret: " + b64(40) + "\n  session: ", b64(180), "\n}"],
    ["docker-config-json-base64", "  .dockerconfigjson: ", Buffer.from(`{"auths":{"registry.example.com":{"auth":"${Buffer.from("deploy:" + b62(24)).toString("base64")}"}}}`).toString("base64"), "\n"],
    ["docker-config-json-base64", "  .dockercfg: ", Buffer.from(`{"https://index.docker.io/v1/":{"auth":"${Buffer.from("deploy:" + b62(24)).toString("base64")}"}}`).toString("base64"), "\n"],
    ["docker-config-json-base64", '  ".dockerconfigjson": "', Buffer.from(`{\n\t"auths": {\n\t\t"ghcr.io": {"auth": "${Buffer.from("bot:" + b62(24)).toString("base64")}"}}}`).toString("base64"), '"\n'],
    ["docker-config-json-base64", "  .dockerconfigjson: ", Buffer.from(`{\n  "auths": {\n    "ghcr.io": {\n      "username": "bot",\n      "password": "${b62(30)}"\n    }\n  }\n}`).toString("base64"), "\n"],
    ["jenkins-credential-secret", "<secret>{azure ", "AQAAABAAA " + b62(32), "}</secret>"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    ["twilio-auth-token", "twilio token - 'AC" + hex(32) + "'"],
    ["paypal-client-secret", "PAYPAL_CLIENT_SECRET=${PAYPAL_CLIENT_SECRET_FROM_THE_VAULT_AT_DEPLOY_TIME}"],
    ["mailgun-keyword-key", `mailgun build ${hex(32)}-${hex(8)}-${hex(8)}-${hex(4)}`],
    ["jira-api-token-context", "jira PROJECTKEYSPRINTBOARDS"],
    ["jira-api-token-context", "jira issue ABCDEFGHIJKLMNOPQRSTUVWX"],
    ["jenkins-credential-secret", "<secret>{AQAAABAAA}</secret>"],
    ["azure-keyword-secret", "azure_key: ${AZURE_KEY_FROM_THE_ENVIRONMENT}"],
    ["docker-config-json-base64", Buffer.from('{"auths":{"registry.example.com":{}},"credsStore":"desktop"}').toString("base64")],
    ["azure-keyword-secret", "azure_storage_key: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
  ])("%s leaves %j alone", (id, text) => {
    expect(matchRule(rule(id), `${text}\n`)).toEqual([]);
  });
});

describe("shapes whispers' and earlybird's fixtures showed (session 6)", () => {
  const basic = (login: string): string => Buffer.from(login).toString("base64");

  it.each([
    ["keyword-secret-xml", "<apikey>", b62(24), "</apikey>"],
    ["keyword-secret-xml", "  <o1_static_password>", "Zx81" + b62(12), "</o1_static_password>"],
    ["keyword-secret-xml", "<aws_secret_key>", b62(40), "</aws_secret_key>"],
    ["basic-auth-header", "Authorization: Basic ", basic("deploy:" + b62(20)), ""],
    ["basic-auth-header", "curl -H 'Authorization: basic ", basic("ci@example.com:" + b62(16)), "' https://x"],
    ["cli-password-flag", "curl -u admin:", b62(16), " https://example.com"],
    ["cli-password-flag", "curl --user deploy:", b62(16), " https://example.com"],
    ["cli-password-flag", "docker login --password ", b62(16), " registry.example.com"],
    ["htpasswd-hash", "noncompliant1:", "$apr1$l0cpzs5a$vQK3lmgMGvcXcRP8b" + b62(5), "\n"],
    ["htpasswd-hash", "admin:", "$2y$10$" + b62(53), "\n"],
    ["api-key-uuid", "set $apikey ", uuid, ";"],
    ["api-key-uuid", "proxy_set_header x-api-key ", uuid, ";"],
    ["slack-legacy-token", "Slack05: '", "xoxo-16352724033-100437729-1004377291-ce5451feff" + b62(9), "'"],
    ["newrelic-prefixed-key", "NEW_RELIC_KEY=", "NRRA-" + b62(42), ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    ["keyword-secret-xml", "<password>${DB_PASSWORD}</password>"],
    ["keyword-secret-xml", "<passwordPolicy>strictPolicy</passwordPolicy>"],
    ["basic-auth-header", "Authorization: Basic realm=\"Restricted\""],
    ["basic-auth-header", `Authorization: Basic ${basic("username:password")}`],
    ["basic-auth-header", "Basic authentication is described in RFC 7617"],
    ["cli-password-flag", "curl -u $USER:$PASSWORD https://example.com"],
    ["cli-password-flag", "curl -u user:password https://example.com"],
    ["cli-password-flag", "docker login --password-stdin registry.example.com"],
    ["cli-password-flag", "curl --tlspassword https://localhost"],
    ["cli-password-flag", "the curl -u/--password flags, and --user options"],
    ["newrelic-prefixed-key", "NRII-d-2Vf-L1w-8B9Y_--6x8-_Qj"],
    ["htpasswd-hash", "see $apr1$ hashes in the docs"],
    ["api-key-uuid", `request_id: ${uuid}`],
    ["api-key-uuid", `idempotency_key = "${uuid}"`],
  ])("%s leaves %j alone", (id, text) => {
    expect(matchRule(rule(id), `${text}\n`)).toEqual([]);
  });
});

describe("keyword-context shapes the tune split still missed (session 7)", () => {
  // Letters only, case changing every one or two characters: base64 of text, not a word.
  const mixed = "hGcTqLpWzRvNmKbYxF_QWErty";

  it.each([
    ["keyword-secret", '"TRAVEL_API_KEY": "', mixed, '",'],
    ["keyword-secret", "SKYSCANNER_API_SECRET: ", mixed, ""],
    ["keyword-secret", '<ss:user name="admin" password="', mixed, '" />'],
    ["keyword-secret", "api.key=", "dGhpc2lzYWhhcmRjb2RlZHN0cmluZzpECghardcoded03", ""],
    ["keyword-secret", '"invar": "DB_PASSWORD=', "hardcoded3", '",'],
    ["keyword-secret", "<item>DB_PASSWORD=", "hardcoded4", "</item>"],
    ["keyword-secret", 'connectionURL="jdbc:mysql://localhost/authority?user=dbuser&amp;password=', "hardcoded1", '"'],
    ["keyword-secret", "https://api.example.com/v1?api_key=", "Zq7Lm2Xv9Bc4Nk8R", "&format=json"],
    ["keyword-secret-name-value", '{"key": "pro_password", "value": "', "hardcoded1", '", "info": "metadata"},'],
    ["keyword-secret-name-value", '"bearer": [{"key": "token", "value": "', "hardcoded-bearer-v41u3", '"}]'],
    ["keyword-secret-name-value", "env:\n  - name: GITHUB_TOKEN\n    value: ", b62(40), "\n"],
    ["keyword-secret-name-value", '  - name: "DB_PASSWORD"\n    value: "', "s3cr3tV4lue99", '"\n'],
    ["keyword-secret-name-value", '<add key="StripeSecretKey" value="', "Zq7Lm2Xv9Bc4Nk8Rt1", '" />'],
    ["keyword-secret-name-value", '<bearer key="token" value="', "hardcoded-bearer-v41u3-02", '" />'],
    ["dockerfile-env-secret", "ENV DRONE_TOKEN ", mixed, "\n"],
    ["dockerfile-env-secret", 'ENV NPM_AUTH_TOKEN "', b62(36), '"\n'],
    ["shell-default-secret", "API_TOKEN=${API_TOKEN:-", mixed, "}"],
    ["shell-default-secret", 'password="${DB_PASSWORD-', "s3cr3tV4lue99", '}"'],
    ["keyword-secret-xml", "<PRIVATE_API_TOKEN>", mixed, "</PRIVATE_API_TOKEN>"],
    ["keyword-secret", '"slackKey": "', mixed, '",'],
    ["keyword-secret", "GITLAB_KEY: ", b62(20), ""],
    ["keyword-secret", "- GITHUBKEY=", mixed, ""],
    ["keyword-secret", '{"license_key": "', mixed, '"}'],
    ["keyword-secret", "APP_KEY=", "base64:" + b62(43) + "=", ""],
    ["keyword-secret", "MASTER_KEY=", hex(32), ""],
    ["keyword-secret-xml", "<slackKey>", mixed, "</slackKey>"],
    ["keyword-secret", "newrelic_key = ", "abcd-1234567890abcdef1234567890abcdef1234dd5678", ""],
    ["keyword-secret-compared", 'if ("', "m{{h}o)p${e]nob(ody[finds>-_$#thisone}}", '" == my_super_password) {'],
    ["keyword-secret-compared", "if ('", "q7Lm2Xv9Bc4Nk8Rt1Wy5", "' !== secret) {"],
    ["keyword-secret-compared", 'if ("', "q7Lm2Xv9Bc4Nk8Rt1Wy5", '".equals(user.getPassword())) {'],
    ["keyword-secret-default", 'SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "', "q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6", '")'],
    ["keyword-secret-default", "api_key = os.environ.get('OPENWEATHER_API_KEY', '", hex(32), "')"],
    ["keyword-secret-default", "const token = process.env.SLACK_TOKEN || '", b62(24), "';"],
    ["keyword-secret-default", 'const secret = process.env["JWT_SECRET"] ?? "', b62(24), '";'],
    ["keyword-secret-default", 'config.secret_key_base = ENV.fetch("SECRET_KEY_BASE") { "', hex(64), '" }'],
    ["keyword-secret-default", 'password = settings.get("db_password", "', "s3cr3tV4lue99", '")'],
    // The same fallback in other languages: Kotlin's and PHP's `?:`, C#'s `??`, Python's `or`, a
    // config reader's `||`, Vite's `import.meta.env`, Rust's `unwrap_or`, pydantic's `Field(default=…)`.
    ["keyword-secret-default", 'val token = System.getenv("API_TOKEN") ?: "', b62(24), '"'],
    ["keyword-secret-default", '$key = getenv("STRIPE_API_KEY") ?: \'', b62(24), "';"],
    ["keyword-secret-default", 'var key = Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "', b62(24), '";'],
    ["keyword-secret-default", 'secret = os.environ.get("APP_SECRET") or "', hex(32), '"'],
    ["keyword-secret-default", "token = os.getenv('GITHUB_TOKEN') or '", b62(36), "'"],
    ["keyword-secret-default", 'password = config.get("db_password") || "', "s3cr3tV4lue99", '";'],
    ["keyword-secret-default", "const apiKey = import.meta.env.VITE_API_KEY || '", b62(24), "';"],
    ["keyword-secret-default", 'let api_key = env::var("API_KEY").unwrap_or("', b62(24), '".into());'],
    ["keyword-secret-default", 'let key = std::env::var("SECRET_KEY").unwrap_or_else(|_| "', hex(32), '".to_string());'],
    ["keyword-secret-default", 'DB_PASSWORD: str = Field(default="', "s3cr3tV4lue99", '")'],
    ["keyword-secret-default", '    api_key: SecretStr = Field("', b62(32), '", env="API_KEY")'],
    ["aws-secret-access-key", "<aws_secret_access_key>", "PA3XsxZ8d8cPQLmnZzV7EdzC6ND2a8vhbyXU/Dw1", "</aws_secret_access_key>"],
    ["grafana-service-account-token", '"grafana_secret": "', "glsa_HU0WvVk_sl4PunHK8JtC7U6fywRm3FJuEFJwct3qi", '",'],
    ["grafana-service-account-token", "GRAFANA_TOKEN=", "glsa_" + b62(32) + "_" + hex(8), ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    'secret = "getAuthTokenFromHeader"',
    'password: "currentPassword"',
    "F.Minipass=F.isWritable=F.isReadable=F.isStream=void 0",
    "e[r-1].marker===n.marker&&e[r-1].token===n.token-1&&n.open",
    '{"key": "password", "value": ""}',
    '{"key": "token", "value": "{{token}}"}',
    '{"key": "tokenType", "value": "Bearer"}',
    '{"key": "sort_key", "value": "created_at2"}',
    'primary_key = "user_id2"',
    'const cacheKey = "profile-v2:" + id;',
    'sort_key: "created_at2"',
    '"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb2"',
    "<publicKey>MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE</publicKey>",
    "<cacheKey>profileViewV2</cacheKey>",
    "//registry.npmjs.org/:_authToken={NPM_TOKEN}",
    'password = "{db_password}"',
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    'if ("password" == fieldType) {',
    'if ("newPassword2" === name) {',
    'if ("Bearer" === tokenType) {',
    'if ("string" == typeof password) {',
    'fields = ["password", "password_confirmation2"]',
    'SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "")',
    'token = os.environ.get("GITHUB_TOKEN", None)',
    'const token = process.env.SLACK_TOKEN || "";',
    'api_key = config.get("api_key", "YOUR_API_KEY")',
    'const secretPath = process.env.SECRET_FILE ?? "/run/secrets/app2.json";',
    'val token = System.getenv("API_TOKEN") ?: ""',
    'secret = os.environ.get("APP_SECRET") or "change-me-in-production"',
    'token = os.getenv("GITHUB_TOKEN") or default_token',
    'const apiKey = import.meta.env.VITE_API_KEY || "YOUR_API_KEY_HERE";',
    'let api_key = env::var("API_KEY").unwrap_or_default();',
    'let key = env::var("SECRET_KEY").unwrap_or_else(|_| String::new());',
    'DB_PASSWORD: str = Field(default="")',
    'api_key: SecretStr = Field(default=None, env="API_KEY")',
    'token_url: str = Field(default="https://auth.example.com/oauth/token")',
    'password: str = Field(..., min_length=12)',
    '<input type="hidden" name="csrf_token" value="7SWa-Fo1_hsC6oovfBsJFLGPUl2EhkSWPbJhWANwgaJWBDl1vxd9VNqX" />',
    "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password\n",
    "- name: API_TOKEN\n  value: $(API_TOKEN)\n",
    '"invar": "DB_PASSWORD=${DB_PASSWORD}",',
    "ENV PASSWORD_FILE /run/secrets/db_password2",
    "ENV GITHUB_TOKEN=${GITHUB_TOKEN}",
    "API_TOKEN=${API_TOKEN:-}",
    'TOKEN="${TOKEN:-$DEFAULT_TOKEN}"',
    "KEY_FILE=${KEY_FILE:-/etc/ssl/private/key2.pem}",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("credentials agents type into commands and headers (session 7)", () => {

  it("finds HubSpot private app tokens of every region the pattern takes, not only the regions listed as keywords", () => {
    expect(rules("HUBSPOT_TOKEN=pat-na2-3b124f92-f4cb-4d1d-8d1c-7fc3f3512dba\n")).toEqual(["hubspot-token"]);
  });
  const opaque = "8fJ2kLq9ZxV3mN7pR4tW1yB6cD0eH5gA";

  it.each([
    ["bearer-token", `curl -H "Authorization: Bearer `, opaque, `" https://api.example.com/v1/me`],
    ["bearer-token", "Authorization: Bearer ", opaque, "\n"],
    ["bearer-token", `headers = {"Authorization": "Bearer `, opaque + "~._-", `"}`],
    ["bearer-token", "Authorization: Token ", hex(40), "\n"],
    ["bearer-token", `fetch(url, { headers: { authorization: "bearer `, opaque, `" } })`],
    ["cli-login-password", "docker login -u deploy -p ", b62(16), " registry.example.com"],
    ["cli-login-password", "echo ok && podman login --username ci --password ", b62(16), " quay.io"],
    ["cli-login-password", "helm registry login ghcr.io -u me -p '", b62(16), "'"],
    ["cli-login-password", "mysql -h db -u root -p", b62(12), " shop"],
    ["cli-login-password", "mysqldump -uroot -p'", b62(12), "' shop > dump.sql"],
    ["cli-login-password", "sshpass -p ", b62(12), " ssh deploy@10.0.0.5"],
    ["cli-login-password", "az login --service-principal -u http://sp -p ", b62(16), " --tenant contoso"],
    ["cli-login-password", "oc login https://api.cluster:6443 -u admin -p ", b62(16), ""],
    ["cli-login-password", "mongosh --host db -u admin -p ", b62(16), " --authenticationDatabase admin"],
    ["cli-login-password", "redis-cli -h cache -p 6380 -a ", b62(16), " PING"],
    ["cli-keystore-password", "openssl pkcs12 -export -in cert.pem -passout pass:", b62(12), " -out cert.p12"],
    ["cli-keystore-password", "keytool -importkeystore -srckeystore a.p12 -srcstorepass ", b62(12), " -destkeystore b.jks"],
    ["netrc-password", "machine api.heroku.com\n  login me@example.com\n  password ", opaque, "\n"],
    ["netrc-password", "machine github.com login octocat password ", b62(20), "\n"],
    ["password-hash", "admin:", "$1$OKgLCmVl$d02jECa4DXn/oXX0R.MoQ/", ":19000:0:99999:7:::"],
    ["password-hash", "enable secret 8 ", "$8$TnGX/fE4KGHOVU$pEhnEvxrvaynpi8j4f.EMHr6M.FzU8xnZnBr/tJdFWk", "\n"],
    ["password-hash", "", "$krb5asrep$23$user@domain.com:3e156ada591263b8aab0965f5aebd837$007497cb51b6c8116d6407a782ea0e1c5402b17db7afa6b05a6d30ed164a9933c754d720e279c6c573679bd27128fe77e5fea1f72334c1193c8ff", "\n"],
    ["vault-legacy-token", 'VAULT_CLIENT_TOKEN="', "s.Z4bTMtngfLeQ18AqVoBBkUAOD1", '"'],
    ["vault-legacy-token", 'VAULT_TOKEN="', "b.Z4bTMtngfLeQ18AqVoBBkUAOD1", '"'],
    ["vault-legacy-token", "-vaultToken ", "s.CAESIP2jTxc9S3K7Z6CtcFWQv7-044m_oSsxnPE0H3nF89l3GiYKHGh3cy5sQmlIZVNyTWJNcDRsYWJpQjlhYjVlb2cQh6PL8wEYAg", '"'],
    ["vault-unseal-key", "Unseal Key 2: ", "0tZn+7QQCxphpHwTm7/dC3LpP5JGIbYl3PK8Sy81R+P2", "\n"],
    ["vault-unseal-key", "vault operator unseal ", "98m+o2ylRhVbOi+3o5ub6PbP343ocFUVORgSYeypMDjh", "\n"],
    ["keyword-secret-xml", '<Server><Pass encoding="base64">', "NjllNWU5ZWMwZDU0MmU5Y2QwOTY4MWM5YzZhMDdkYWVmNjg3OWE3MDMzM2Q4MWJmCg==", "</Pass></Server>"],
    ["azure-apim-subscription-key", "Ocp-Apim-Subscription-Key: ", hex(32), "\n"],
    ["azure-apim-subscription-key", 'headers = {"Ocp-Apim-Subscription-Key": "', hex(32), '"}'],
    ["azure-apim-subscription-key", "subscription_key = '", hex(32), "'"],
    ["keyword-secret", "     fbApiKey:            \"", hex(32), '",'],
    ["keyword-secret", '   # config.facebook.key = "', hex(32), '"'],
    ["adobe-client-secret", '"client_secret": "', "p8e-ibndcvsmAp9ZgPBZ606FSlYIZVlsZ-g5", '"'],
    ["mapbox-secret-token", "export MAPBOX_TOKEN=", "tk.eyJ1IjoiY2FwcGVsYWVyZSIsImEiOiJjbGFtYjNwc2UwMDFkM29xcSJ9.P4lD1eHeSEx7AsBq1zbJ4g", ""],
    ["1password-secret-key", "Secret Key: ", "A3-R69SQK-TZ9KPW-8MXYD-6W373-V7GHJ-EDJQW", "\n"],
    ["powershell-password-parameter", "Connect-VIServer -Server 192.168.1.51 -User administrator@vSphere.local -Password ", "VMware1!x", "\n"],
    ["powershell-password-parameter", "New-LocalUser -Name deploy -Password '", "Zq7Lm2Xv9Bc4", "'"],
    ["passed-password", '$webClient.Credentials = new-object System.Net.NetworkCredential("cidownload", "', "AP7JaG9ToerxBc6gWP5LcU2CNpb", '");'],
    ["password-hash", 'password_hash = "', "$2b$10$" + repeat("N9qo8uLOickgx2ZMRZoMye./", 53), '"'],
    ["password-hash", "root:", "$6$rounds=5000$saltsalt$" + repeat("Zq7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTi./", 86), ":19000:0:99999:7:::"],
    ["password-hash", "deploy:", "$y$j9T$" + repeat("Zq7Lm2Xv9Bc4Nk8R./", 22) + "$" + repeat("Hp3Sd6Fg0JaUeTiKoPl./", 43), ":19000::::::"],
    ["password-hash", "ADMIN_HASH=", "$argon2id$v=19$m=65536,t=3,p=4$" + repeat("c29tZXNhbHQ", 22) + "$" + repeat("RdescudvJCsgt3ub+b+dWRWJTmaaJObG", 43), "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    `headers["Authorization"] = "Bearer " + token`,
    "Authorization: Bearer ${API_TOKEN}",
    "Authorization: Bearer $TOKEN",
    "Authorization: Bearer <your-access-token>",
    "Authorization: Bearer YOUR_ACCESS_TOKEN_HERE",
    'WWW-Authenticate: Bearer realm="example", error="invalid_token"',
    "Bearer authentication (also called token authentication) is an HTTP scheme",
    `f"Bearer {access_token}"`,
    "docker run -p 8080:80 -p 8443:443 nginx",
    "docker login -u deploy -p $REGISTRY_PASSWORD registry.example.com",
    "docker login --password-stdin -u deploy registry.example.com",
    "mysql -u root -p shop",
    "ssh -p 2222 deploy@example.com",
    "sshpass -p $SSHPASS ssh deploy@host",
    "redis-cli -h cache -p 6380 PING",
    "openssl pkcs12 -export -passout env:P12_PASSWORD -out cert.p12",
    "openssl rsa -in key.pem -passin file:/run/secrets/pass",
    "boundary-policy: openssl pass: and keytool -storepass passwords; provider key owners",
    "machine api.heroku.com login me@example.com password <token>",
    'machine HOSTNAME login USERID password "PASSWORD"',
    "f'machine {hostname}{path} login {self.username} password {self.password}'",
    'machine {full machine name} login {user-id} password "{password}"',
    "The machine learning model needs a login and password field",
    "bcrypt output looks like $2b$10$ followed by 53 characters",
    "root:*:19000:0:99999:7:::",
    "price: $6$ per unit",
    "s.toString(); s.aaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "new NetworkCredential(user, password)",
    "Unseal Key 1: <key>",
    "Ocp-Apim-Subscription-Key: {{subscriptionKey}}",
    "View results [here](https://app.powerbi.com/view?r=eyJrIjoiYTZjMTk3YjEtMzQ4Yi00NTI5LTg6ZDItNmUyMGRlOTkwMGRlIiwidCI5IjcyZjk4OGJmLTg3ZjEtNDFhZi02MWFiLTJkN2NkMDExZGI0NyIsImMiOjV9).",
    "eyJrIjoiRVhBTVBMRVRFU1RURVNURW5uaGFaamwzWHo5WjQiLCJuIjoiZXhhbXBsZSIsImlkIjoxfQ==",
    "Connect-VIServer -Server vc01 -User admin -Password $Password",
    "$cred = Get-Credential; New-LocalUser -Name deploy -Password (ConvertTo-SecureString $pw -AsPlainText -Force)",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("vendor shapes the tune split still missed (session 8)", () => {
  it.each([
    ["doppler-api-token", "DOPPLER_TOKEN=", `dp.st.dev.${b62(43)}`, ""],
    ["doppler-api-token", "export DOPPLER_TOKEN='", `dp.st.dev_personal.${b62(44)}`, "'"],
    ["cohere-api-key", "cohere secret key = ", b62(40), ""],
    ["cohere-api-key", "Cohere API key: ", b62(40), "\n"],
    ["postmark-server-token", 'postmark: "', uuid, '",'],
    ["postmark-server-token", "POSTMARK_SERVER_API_TOKEN=", uuid, ""],
    ["azure-entra-refresh-token", "&refresh_token=", `1.A${w(60)}.1.Ag${w(300)}.A${w(270)}`, "&scope=openid"],
    ["azure-entra-refresh-token", '"refresh_token": "', `0.A${w(60)}.Ag${w(300)}`, '"'],
    ["mailgun-key-near-name", `mailgun 'api' pass '`, `${hex(32)}-${hex(8)}-${hex(8)}`, "'"],
    ["mailgun-key-near-name", `# Mailgun sending domain mg.example.com\nsmtp_login = "postmaster@mg.example.com"\nsigning = "`, `${hex(32)}-${hex(8)}-${hex(8)}`, '"'],
    ["azure-keyword-secret", "azure devops pat = ", `${b62(52)}JQQJ99${b62(26)}`, "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    `SG.${w(21)}.${w(49)}`,
    `SG.${w(24)}.${w(50)}`,
    `dp.st.${b62(10)}`,
    "dp.st.dev.short",
    "cohere is a library; see docs for the 40-character keys",
    "cohere: rerank-english-v3.0",
    'postmark: "server"',
    `release ${hex(32)}-${hex(8)}-${hex(8)} of the build cache`,
    `mailgun webhook id ${hex(32)}-${hex(8)}`,
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("letters-only passwords under a password name (session 9)", () => {
  it.each([
    ["password-word-value", '"AdminPassword" : "', "thisismypassword", '"'],
    ["password-word-value", "private const string PfxPassword = \"", "opensesamestreet", '";'],
    ["password-word-value", "SSHpassword=", "hardcoded", ""],
    ["password-word-value", "spring:\n  datasource:\n    password: ", "correct_horse_battery", ""],
    ["password-word-value", "new Pool({ user: 'app', passphrase: '", "vzihlaquknriqlht", "' })"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    '"password": "Passwort"',
    '"password": "Wachtwoord",',
    "password: currentPassword,",
    'const PASSWORD = "PASSWORD_FIELD";',
    '"password": "password_confirmation"',
    "rules: { password: 'required' }",
    "index_url, _, index_url_user_password = index_info",
    "passphrase: 'foobarbaz'",
    'password = "somefakekey"',
    'password = "your_password_here"',
    "passwordLabel: 'kennwort'",
    // Ansible's user module: when to set the password, not the password (KICS' negative57.yml).
    "    password_expire: \"never\"\n    update_password: \"on_create\"",
    "    update_password: on_create",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("values written as HTML and Rails routes (session 9)", () => {
  it.each([
    '"password": "&lt;YOURPASSWORD&gt;"',
    '"password": "L&#246;senord"',
    "<add key=\"SmtpPassword\" value=\"&lt;your-password&gt;\" />",
    "  put '/forgot-password' => \"cms/sites/passwords#update\", as: 'update_password'",
    "  get '/passwords/:id/edit' => \"cms/sites/passwords#edit\", as: 'edit_password'",
    "  patch 'password' => \"passwords#update\"",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });

  it.each([
    ["keyword-secret", '"password": "', "S3cr&amp;tP4ss", '"'],
    ["keyword-secret", "password = '", "ab#9Kq2mX7zLw", "'"],
    ["keyword-secret", 'JWT:\n  secret: "', "development#product", '"'],
  ])("%s still takes an escaped or #-holding password after %j", takesWholeSecret);
});

describe("secrets hard-coded where code passes them, not names them (session 9)", () => {
  it.each([
    ["keyword-secret", "app.config['SECRET_KEY'] = '", b62(16), "'"],
    ["keyword-secret", 'os.environ["API_TOKEN"] = "', b62(16), '"'],
    ["keyword-secret", "$config['db_password'] = '", b62(12), "';"],
    ["keyword-secret", "settings[:api_key] = '", b62(16), "'"],
    ["basic-auth-url", "REDIS_URL=redis://:", b62(16), "@cache:6379/0"],
    ["hardcoded-signing-key", "const token = jwt.sign({ sub: user.id }, '", b62(16), "', { expiresIn: '1h' });"],
    ["hardcoded-signing-key", "encoded = jwt.encode(payload, \"", b62(16), '", algorithm="HS256")'],
    ["hardcoded-signing-key", "Algorithm algorithm = Algorithm.HMAC256(\"", b62(16), '");'],
    ["hardcoded-signing-key", "signed, err := token.SignedString([]byte(\"", b62(16), '"))'],
    ["hardcoded-signing-key", "const mac = crypto.createHmac('sha256', '", b62(16), "').update(body).digest('hex');"],
    ["hardcoded-signing-key", "token = JWT.encode payload, '", b62(16), "', 'HS256'"],
    ["passed-password", "r = requests.get(url, auth=('admin', '", b62(12), "'))"],
    ["passed-password", 'session.auth = HTTPBasicAuth("deploy", "', b62(12), '")'],
    ["passed-password", "conn.simple_bind_s('cn=admin,dc=example,dc=org', '", b62(12), "')"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "jwt.sign(payload, process.env.JWT_SECRET)",
    "jwt.sign(payload, 'shhhhh')",
    "jwt.verify(token, 'your-256-bit-secret')",
    "jwt.decode(token, options={'verify_signature': False})",
    "Algorithm.HMAC256(secret)",
    "crypto.createHmac('sha256', key)",
    "requests.get(url, auth=(user, password))",
    "requests.get(url, auth=('admin', os.environ['PASSWORD']))",
    "conn.simple_bind_s(dn, password)",
    "app.config['SECRET_KEY'] = os.environ['SECRET_KEY']",
    "params[:password] = params[:password_confirmation]",
    "[node-core-utils-credentials]: https://github.com/nodejs/node-core-utils#setting-up-credentials",
    "redis://:@cache:6379/0",
    "http://:8080@localhost",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("passwords passed to the call that logs in or connects (session 10)", () => {
  it.each([
    ["passed-password", 'client.Credentials = new NetworkCredential("deploy@example.com", "', b62(14), '");'],
    ["passed-password", 'var cred = new NetworkCredential("svc", "', b62(14), '", "CORP");'],
    ["passed-password", 'return new PasswordAuthentication("mailer", "', b62(14), '".toCharArray());'],
    ["passed-password", 'provider.setCredentials(AuthScope.ANY, new UsernamePasswordCredentials("admin", "', b62(14), '"));'],
    ["passed-password", 'req.SetBasicAuth("api", "', b62(14), '")'],
    ["passed-password", "conn.basic_auth 'deploy', '", b62(14), "'"],
    ["login-call-password", 'server.login("me@example.com", "', b62(14), '")'],
    ["login-call-password", "ftp.login(user, '", b62(14), "')"],
    ["login-call-password", 'Connection conn = DriverManager.getConnection(url, "sa", "', b62(14), '");'],
    ["login-call-password", '$link = mysqli_connect("localhost", "root", "', b62(14), '", "shop");'],
    ["login-call-password", '$db = new mysqli($host, $user, "', b62(14), '", $name);'],
    ["login-call-password", '$pdo = new PDO($dsn, "app", "', b62(14), '");'],
    ["login-call-password", 'new DirectoryEntry("LDAP://dc.example.com",\n    "EXAMPLE\\\\svc",\n    "', b62(14), '");'],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "server.login(user, password)",
    "server.login(os.environ['SMTP_USER'], os.environ['SMTP_PASSWORD'])",
    'client.login("admin", "password")',
    'auth.login("user@example.com", "${PASSWORD}")',
    "DriverManager.getConnection(url, user, pass)",
    'DriverManager.getConnection("jdbc:h2:mem:test", "sa", "")',
    "new NetworkCredential(userName, secureString)",
    '$link = mysqli_connect("localhost", "root", "", "shop");',
    'await page.login("#username", "#password")',
    'print("login(", "user", "not the password")',
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("hex keys below 3.5 bits (session 10)", () => {
  // Hex has 16 symbols: one random 32-digit hex key in five spreads under 3.5 bits, one 40-digit
  // key in twenty. These four are such keys (3.29–3.48 bits), samples of gitleaks' own rules.
  it.each([
    ["keyword-secret", 'linear_client_secret = "', "c10d8be84413323d7e4f3b8ed738c7b0", '"'],
    ["keyword-secret", '"facebookSecret": "', "fdf5258c9cff490f9f8add3d5f20578d", '",'],
    ["keyword-secret", "export FINICITY_API_TOKEN=", "13247083d718cc87631026e4e8c65383", "\n"],
    ["keyword-secret", 'sendbird_access_token = "', "24114b471dd79d1b99b415524ce4527e3697566c", '"'],
    ["cloudflare-global-api-key", "cloudflare_global_api_key: ", "a454c9b48e159a3cdd2f4dfb4d5d88ab945af", "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each(['api_key = "deadbeefdeadbeefdeadbeefdeadbeef"', 'secret: "00000000000000000000000000000000"', 'token = "abababababababababababababababab12"'])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("gitleaks' default rules that had no rule here (session 10)", () => {
  it.each([
    ["airtable-personal-access-token", "AIRTABLE_TOKEN=", `pat${b62(14)}.${hex(64)}`, ""],
    ["clickhouse-cloud-api-secret", 'CLICKHOUSE_KEY_SECRET="', `4b1d${b62(38)}`, '"'],
    ["duffel-api-token", "DUFFEL_ACCESS_TOKEN=", `duffel_test_${w(43)}`, ""],
    ["intra42-client-secret", 'clientSecret := "', `s-s4t2ud-${hex(64)}`, '"'],
    ["maxmind-license-key", "MAXMIND_LICENSE_KEY=", `${b62(6)}_${b62(29)}_mmk`, ""],
    // Read only in a window before its `_mmk`, not over the whole text: far into a file too.
    ["maxmind-license-key", `${"GeoIP databases, updated weekly. ".repeat(20)}\nlicense_key: `, `${b62(6)}_${b62(29)}_mmk`, "\n"],
    ["settlemint-access-token", "SETTLEMINT_ACCESS_TOKEN=", `sm_aat_${b62(16)}`, ""],
    ["artifactory-reference-token", 'artifactoryRefToken := "', `cmVmd${b62(59)}`, '"'],
    ["yandex-api-key", "YC_API_KEY=", `AQVN${w(36)}`, ""],
    ["yandex-cloud-secret", 'yandex_secret_key = "', `YC${w(38)}`, '"'],
    ["yandex-cloud-secret", "YC_IAM_TOKEN=", `t1.${w(40)}.${w(86)}`, ""],
    ["facebook-app-access-token", "# facebook app token\nFB_APP_TOKEN=", "1234567890123456|" + w(32), ""],
    ["1password-secret-key", "Secret Key: ", "A3-EKWLIL-28VBVBK8HUO-6BEEE-H6VS3-KNHCO", "\n"],
    ["slack-legacy-token", "SLACK_TOKEN=", "xoxs-56-37883787-653869-5a5da9", ""],
    ["square-token", "SQUARE_ACCESS_TOKEN=", `sq0atp-${w(25)}`, ""],
    ["nuget-config-password", '<add key="ClearTextPassword" value="', "33f!!lloppa", '" />'],
    ["nuget-config-password", '<add key="Password" value="', b64(40), '"/>'],
    ["authress-service-client-access-key", "AUTHRESS_KEY=", `sc_${b62(12)}.${b62(5)}.acc_${b62(16)}.${b64(60)}`, ""],
    ["keyword-secret", "SNYK_TOKEN=", uuid, ""],
    ["keyword-secret", 'kucoin_secret_key = "', uuid, '"'],
    ["keyword-secret", 'squarespace_access_token: "', uuid, '"'],
    ["keyword-secret", 'jenkinsToken = "', uuid, '"'],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    `nextPageToken: "${uuid}"`,
    `csrf_token=${uuid}`,
    `CancellationToken: ${uuid}`,
    `password_reset_token: ${uuid}`,
    `request_id=${uuid}`,
    `"token": "${uuid}"`,
    `const pattern = "patternMatching.${hex(64)}"`,
    `wrongLength := "cmVmd${b62(49)}"`,
    `partOfAlongUnrelatedBlob gYnkgcmVmd${b62(59)}VyZSB2`,
    `nonMatchingToken := "sm_pat_${b62(10)}"`,
    "DUFFEL_ACCESS_TOKEN=duffel_test_...",
    "MAXMIND_LICENSE_KEY=YOUR_LICENSE_KEY_mmk",
    `glued${b62(6)}_${b62(29)}_mmk`,
    "order 1234567890123456|" + w(32) + " shipped",
    '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />',
    '<add key="Username" value="deploy@example.com" />',
    "xoxo-see-you-soon",

  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("credentials agents pipe into a login or set by a CLI (session 9)", () => {
  it.each([
    ["piped-login-password", "echo '", b62(14), "' | docker login -u deploy --password-stdin registry.example.com"],
    ["piped-login-password", 'echo "', b62(14), '" | sudo podman login quay.io -u me --password-stdin'],
    ["piped-login-password", "printf ", b62(14), " | helm registry login ghcr.io -u me --password-stdin"],
    ["piped-login-password", "echo ", b62(40), " | gh auth login --with-token"],
    ["aws-secret-access-key", "aws configure set aws_secret_access_key ", w(40).replace(/[_-]/g, "A"), ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    'echo "$CR_PAT" | docker login ghcr.io -u me --password-stdin',
    "echo ${{ secrets.GITHUB_TOKEN }} | docker login ghcr.io -u me --password-stdin",
    "cat ~/token.txt | docker login -u me --password-stdin",
    "echo '<your-token>' | gh auth login --with-token",
    "echo done | tee log.txt  # then run docker login --password-stdin",
    "aws configure set region eu-west-1",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("private keys as env files and PuTTY keep them (session 9)", () => {
  // Short enough that header, body and footer fit the 100 characters a header's label may take.
  const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
  it("finds a PEM block written on one line, its newlines stripped", () => {
    const key = `-----BEGIN PRIVATE KEY-----${body}-----END PRIVATE KEY-----`;
    const text = `PRIVATE_KEY="${key}"\n`;
    expect(policy.scanText(text).map((f) => text.slice(f.start, f.end))).toEqual([key]);
    expect(policy.redact(text)).toBe('PRIVATE_KEY="[REDACTED:private-key]"\n');
  });

  it("takes a PuTTY key file's private lines", () => {
    const privateLines = `${b62(64)}\n${b62(64)}\n${b62(20)}=\n`;
    const text = `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIOBm\nPrivate-Lines: 3\n${privateLines}Private-MAC: ${hex(64)}\n`;
    const [finding] = policy.scanText(text);
    expect(finding?.rule).toBe("putty-private-key");
    expect(policy.redact(text)).not.toContain(b62(64));
  });

  it.each(["-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", "Private-Lines: 3\n(see the file)"])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("WordPress salts and token flags (session 9)", () => {
  it.each([
    ["keyword-secret", "define( 'AUTH_KEY',         '", "Zq7(Lm2Xv9Bc4$%^&*_+Nk8R>t1Wy5", "' );"],
    ["keyword-secret", "define('SECURE_AUTH_KEY',  '", "q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0Ja", "');"],
    ["cli-password-flag", "gh secret set --token ", b62(20), " NAME"],
    ["cli-password-flag", "vercel deploy --token ", b62(24), ""],
    ["cli-password-flag", "stripe listen --api-key ", b62(24), ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "define( 'AUTH_KEY',         'put your unique phrase here' );",
    "npm publish --token $NPM_TOKEN",
    "vercel deploy --token <token>",
    "kubectl --token=$(cat token.txt) get pods",
    "gh auth login --with-token --token-file tokens",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("keyword secrets inside an escaped string (session 9)", () => {
  // JSON inside a JSON string (a request body in a log line, a tool call an agent printed), and an
  // env file inside one (`"DB_PASSWORD=…\nNEXT=…"`): the quotes and newlines come escaped.
  it.each([
    ["keyword-secret", '{\\"password\\":\\"', b62(12), '\\"}'],
    ["keyword-secret", '"body": "{\\"api_key\\": \\"', b62(16), '\\"}"'],
    ["keyword-secret", '{\\\\\\"token\\\\\\":\\\\\\"', b62(16), '\\\\\\"}'],
    ["keyword-secret", '"stdout": "DB_USER=app\\nDB_PASSWORD=', b62(12), '\\nDB_HOST=db\\n"'],
    ["keyword-secret", 'env: [\\"DB_PASSWORD=', b62(12), '\\"]'],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    '{\\"password\\":\\"\\"}',
    '{\\"token\\":\\"${TOKEN}\\"}',
    '"stdout": "password=\\n"',
    '{\\"passwordField\\":\\"userPassword\\"}',
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("long opaque tokens under a credential name (session 9)", () => {
  it.each([
    ["long-token-value", '{"access_token":"', b62(300), '","token_type":"Bearer","expires_in":3599}'],
    ["long-token-value", "refresh_token: '", b62(900), "'"],
    ["long-token-value", '{\\"id_token\\":\\"', b62(400), '\\"}'],
  ])("%s takes the whole secret after %j", takesWholeSecret);
});

/** The shortest match of a pattern made of classes, escapes, literals, `(?:…|…)` groups and `{n}` / `{n,m}` counts. */
function shortestMatch(source: string): number {
  let at = 0;
  const sequence = (): number => {
    let total = 0;
    while (at < source.length && source[at] !== "|" && source[at] !== ")") {
      let atom: number;
      const char = source[at] as string;
      if (char === "^" || char === "$") {
        at++;
        continue;
      } else if (char === "[") {
        at = source.indexOf("]", at + 2) + 1;
        atom = 1;
      } else if (char === "\\") {
        at += 2;
        atom = 1;
      } else if (source.startsWith("(?:", at)) {
        at += 3;
        atom = sequence();
        while (source[at] === "|") {
          at++;
          atom = Math.min(atom, sequence());
        }
        at++;
      } else {
        at++;
        atom = 1;
      }
      const count = /^\{([0-9]+)(?:,[0-9]*)?\}/.exec(source.slice(at));
      if (count !== null) at += count[0].length;
      total += atom * (count === null ? 1 : Number(count[1]));
    }
    return total;
  };
  return sequence();
}

describe("the shapes other rules own, which the keyword rules leave to them", () => {
  it.each(OWNED_SHAPES.map(({ shortest, shape }) => [shape.source, shortest, shape] as const))("%s is tried only on values of %i characters or more, its shortest match", (_source, shortest, shape) => {
    expect(shortestMatch(shape.source)).toBe(shortest);
  });
});

describe("passwords on the command lines agents run (session 12)", () => {
  // Archivers, SQL Server and LDAP clients, PsExec, htpasswd, Samba, Windows `net`, chpasswd and
  // RabbitMQ take a password as an argument of their own; an agent's transcript holds the command.
  const pw = "Tr0ub4dor3x";
  it.each([
    ["cli-tool-password", "zip -r -P ", pw, " backup.zip src/"],
    ["cli-tool-password", "unzip -o -P '", pw, "' backup.zip"],
    ["cli-tool-password", "7z a -p", pw, " -mhe=on secret.7z notes/"],
    ["cli-tool-password", 'sqlcmd -S db.local -U sa -P "', pw, '" -Q "SELECT 1"'],
    ["cli-tool-password", "bcp dbo.users out users.dat -S db -U sa -P ", pw, " -c"],
    ["cli-tool-password", "ldapsearch -x -H ldap://dc -D cn=admin,dc=corp -w ", pw, " -b dc=corp"],
    ["cli-tool-password", "ldapadd -x -D cn=admin,dc=corp -w '", pw, "' -f users.ldif"],
    ["windows-cli-password", "PsExec.exe \\\\10.0.0.5 -u CORP\\admin -p ", pw, " cmd /c whoami"],
    ["windows-cli-password", "psexec \\\\host -u Administrator -p ", "braksha", " shutdown -r"],
    ["cli-tool-password", "htpasswd -bc /etc/nginx/.htpasswd admin ", pw, ""],
    ["cli-tool-password", "htpasswd -nbB deploy ", pw, " > auth"],
    ["cli-tool-password", "smbclient //fs/share -U 'CORP\\bob%", pw, "' -c ls"],
    ["windows-cli-password", "net user deploy ", pw, " /add"],
    ["windows-cli-password", "net use Z: \\\\fs\\share ", pw, " /user:CORP\\bob"],
    ["cli-tool-password", 'echo "deploy:', pw, '" | sudo chpasswd'],
    ["cli-tool-password", "rabbitmqctl add_user admin ", pw, ""],
    ["cli-tool-password", "sudo rabbitmqctl change_password guest ", pw, " && echo ok"],
    ["cli-password-flag", "gpg --batch --passphrase ", pw, " -d notes.gpg"],
    ["cli-login-password", "redis-cli -a ", pw, " PING"],
    ["cli-login-password", "mysql -p", pw, " shop"],
    ["cli-login-password", "mongodump --uri mongodb://db -u admin -p ", pw, " --out dump/"],
    ["cli-login-password", "mysql --defaults-file=mysql.cnf -u root -p", pw, " shop"],
    ["cli-login-password", "az login --service-principal -u http://login.example.com/app -p ", pw, ""],
    ["cli-tool-password", "ldapsearch -x -H ldaps://dc.corp:636 -D cn=admin,dc=corp -w ", pw, " -b dc=corp"],
    ["cli-tool-password", "7z x -o/tmp/7z -p", pw, " notes.7z"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "zip -r -P $ZIP_PASSWORD backup.zip src/",
    'unzip -P "${ARCHIVE_PW}" a.zip',
    "7z a -p archive.7z notes/",
    "sqlcmd -S db -U sa -P $(cat /run/secrets/sa) -Q 'SELECT 1'",
    "ldapsearch -x -D cn=admin -W -b dc=corp",
    "ldapsearch -x -D cn=admin -w %LDAP_PW% -b dc=corp",
    "psexec \\\\host -u Administrator -p $Password -i calc.exe",
    "psexec \\\\host -u DOMAIN\\ADMINISTRATOR -p PASSWORD cmd",
    "htpasswd -c /etc/nginx/.htpasswd admin",
    "htpasswd -bc .htpasswd admin password",
    "smbclient //fs/share -U bob -c ls",
    "net user deploy * /add",
    "net use Z: \\\\fs\\share /user:CORP\\bob",
    'echo "deploy:$NEW_PASSWORD" | chpasswd',
    "rabbitmqctl list_users",
    "rabbitmqctl add_user admin <password>",
    "redis-cli -h cache PING",
    "mysql -p shop",
    "mysql -u root -p",
    "unzip -p backup.zip notes/todo.txt | less",
    "sqlcmd -S db -U sa -p -Q 'SELECT 1'",
    "gpg --passphrase-fd 0 -d notes.gpg",
    "run `zip -P` with the archive's password, or `7z -p` for 7-Zip",
    "7z sqlcmd bcp osql ldap psexec paexec htpasswd smbclient net chpasswd rabbitmqctl -password",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("WireGuard keys (session 12)", () => {
  // wg(8): a private or preshared key is 32 bytes in base64, 44 characters ending in `=`.
  const key = "uRsfsZ2Ts1rach4Zv3hhwcx6wa5fuIo2u3w7sa+7j8E=";
  it.each([
    ["wireguard-key", "[Interface]\nPrivateKey = ", key, "\nAddress = 10.0.0.2/32"],
    ["wireguard-key", "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nPresharedKey = ", key, "\nAllowedIPs = 0.0.0.0/0"],
    ["wireguard-key", "PresharedKey=", key, ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nEndpoint = vpn.example.com:51820",
    "PresharedKey = [Server's preshared key]",
    "PrivateKey = <contents of privatekey>",
    "PresharedKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("a password told in prose (session 12)", () => {
  // A conversation with an agent tells passwords in sentences, quoted as prose and Markdown quote them.
  it.each([
    ["prose-password", "The password is '", "Secret123", "'"],
    ["prose-password", "The default Password is '", "blooberry", "'"],
    ["prose-password", 'so just ensure the password is "', "centipede", '" and press On'],
    ["prose-password", "2. Ensure the password for user 'postgres' is '", "admin", "' or change .env file."],
    ["prose-password", 'The default password for the user "pyne-user" is "', "pyne", '".'],
    ["prose-password", "I set the admin password to `", "Zx9vQ2mLk", "` and restarted the service."],
    ["prose-password", "The database passphrase is now “", "tangerine-rocket-42", "”."],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "The password is 'required' when SSO is off.",
    "it('fails when the password is \"wrong\"', () => {",
    "If the password is '' the prompt appears.",
    "The password is `${PASSWORD}` from the environment.",
    "Set the password to '<your password>' first.",
    "the password is 'password' in the demo",
    "the password was 'incorrect' for three attempts",
    "The password field is 'hidden' by default",
    "Passwords are 'hashed' with bcrypt",
    "The password is stored in 'keychain'",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("letters-only passwords after a comment or a Groovy call (session 12)", () => {
  it.each([
    ["password-word-value", "REACT_APP_AUTH_PASSWORD=", "whiteduke", "    # some comment"],
    ["password-word-value", "maven {\n  credentials {\n    username 'deploy'\n    password \"", "hardcoded_maven", "\"\n  }\n}"],
    ["password-word-value", "credentials {\n  password '", "bluefinchtrail", "'\n}"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "REACT_APP_MAILER_PASSWORD=smtp_password # Enter your SMTP email password",
    "credentials {\n  username 'user'\n  password 'password'\n}",
    'credentials {\n  username "SOME_USERNAME"\n  password "SOME_PASSWORD"\n}',
    "password 'required'",
    "DB_PASSWORD=changeme # set me",
    'Solution:   Pass "line_to_free" to the function.',
    '* - Rewrite prepareStackTrace to bypass "support-stack-trace"',
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("secrets stored from a command line (session 12)", () => {
  // Secret stores' CLIs take the value as an argument; every value they store is a secret.
  const pw = "Tr0ub4dor3x";
  it.each([
    ["cli-secret-store-value", "az keyvault secret set --vault-name kv --name db --value ", pw, ""],
    ["cli-secret-store-value", "gh secret set DB_PASSWORD --body ", pw, " --repo o/r"],
    ["cli-secret-store-value", "gh secret set NPM -b'", pw, "'"],
    ["cli-secret-store-value", "aws ssm put-parameter --name /db/pw --type SecureString --value ", pw, ""],
    ["cli-secret-store-value", "aws secretsmanager create-secret --name db --secret-string '", pw, "'"],
    ["cli-secret-store-pair", "kubectl create secret generic db --from-literal=api=", pw, " -n prod"],
    ["cli-secret-store-pair", "fly secrets set API=", pw, ""],
    ["cli-secret-store-pair", "doppler secrets set STRIPE_KEY=", pw, ""],
    ["cli-secret-store-pair", "vault kv put secret/app api=", pw, ""],
    ["cli-secret-store-value", "echo ", pw, " | sudo -S apt-get update"],
    ["cli-tool-password", "openssl enc -aes-256-cbc -k ", pw, " -in notes.txt -out notes.enc"],
    ["cli-tool-password", 'ssh-keygen -t ed25519 -N "', pw, '" -f deploy_key'],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    'az keyvault secret set --vault-name kv --name db --value "$DB_PASSWORD"',
    "gh secret set DB_PASSWORD < password.txt",
    "gh secret set NPM --body-file token.txt",
    "aws ssm put-parameter --name /app/instance --type String --value t3micro01",
    "aws secretsmanager create-secret --name db --secret-string file://secret.json",
    "kubectl create secret generic db --from-file=password=./pw.txt",
    "kubectl create configmap app --from-literal=mode=production01",
    "fly secrets set API=$API_KEY",
    "vault kv get secret/app",
    "echo $PASSWORD | sudo -S apt-get update",
    "sudo -S apt-get update < /dev/null",
    'ssh-keygen -t ed25519 -N "" -f deploy_key',
    "openssl enc -d -aes-256-cbc -kfile key.txt -in notes.enc",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("what services print when they start, reset a password or join a machine (session 13)", () => {
  // Built at run time from the helpers above: the shapes of each tool's own output.
  const enrollment = Buffer.from(`{"ver":"8.14.0","adr":["172.18.0.2:9200"],"fgr":"${hex(64)}","key":"${b62(20)}:${b62(22)}"}`).toString("base64");
  const swarm = `SWMTKN-1-${b62(50).toLowerCase()}-${b62(25).toLowerCase()}`;
  it.each([
    ["service-generated-password", "Please use the following password to proceed to installation:\n\n", hex(32), "\n\nThis may also be found at: /var/jenkins_home/secrets/initialAdminPassword"],
    ["service-generated-password", "$ docker exec jenkins cat /var/jenkins_home/secrets/initialAdminPassword\n", hex(32), ""],
    ["service-generated-password", "cat /var/jenkins_home/secrets/initialAdminPassword\n```\n", hex(32), "\n```"],
    ["service-generated-password", '$ kubectl -n argocd get secret argocd-initial-admin-secret -o jsonpath="{.data.password}" | base64 -d && echo\n', b62(16), ""],
    ["service-generated-password", "$ argocd admin initial-password -n argocd\n", w(16), "\n\n This password must be only used for first time login."],
    ["service-generated-password", "$ docker exec nexus cat /nexus-data/admin.password\n", uuid, ""],
    ["service-generated-password", "ℹ️  Password for the elastic user (reset with `bin/elasticsearch-reset-password -u elastic`):\n  ", w(20), "\n\nℹ️  HTTP CA certificate SHA-256 fingerprint:"],
    ["service-generated-password", "The generated password for the elastic built-in superuser is : ", w(20), ""],
    ["service-generated-password", "Password for the [elastic] user successfully reset.\nNew value: ", w(20), ""],
    ["elastic-enrollment-token", "Copy the following enrollment token and paste it into Kibana in your browser (valid for the next 30 minutes):\n  ", enrollment, ""],
    ["docker-swarm-join-token", "    docker swarm join --token ", swarm, " 192.168.99.100:2377"],
    ["docker-swarm-join-token", "$ docker swarm join-token -q worker\n", swarm, ""],
    ["hashicorp-acl-secret-id", "AccessorID:       " + uuid.replace(/^.{8}/, "aaaaaaaa") + "\nSecretID:         ", uuid, "\nDescription:      Bootstrap Token (Global Management)"],
    ["hashicorp-acl-secret-id", "Accessor ID  = " + uuid.replace(/^.{8}/, "aaaaaaaa") + "\nSecret ID    = ", uuid, "\nName         = Bootstrap Token"],
    ["tailscale-key", "sudo tailscale up --authkey ", `tskey-auth-${b62(12)}CNTRL-${b62(32)}`, ""],
    ["tailscale-key", "TS_API_KEY=", `tskey-api-${b62(12)}CNTRL-${b62(32)}`, ""],
    ["ngrok-authtoken", "ngrok config add-authtoken ", `${b62(27)}_5${b62(20)}`, ""],
    ["ngrok-authtoken", 'version: "2"\nauthtoken: ', `${b62(27)}_5${b62(20)}`, ""],
    ["cli-named-password-flag", "bin/kc.sh start --db-username keycloak --db-password ", "Tr0ub4dor3x", " --hostname kc.local"],
    ["cli-named-password-flag", "php occ maintenance:install --admin-user admin --admin-pass ", "Tr0ub4dor3x", ""],
    ["cli-named-password-flag", "gitlab-runner register --url https://gitlab.com --registration-token ", "GR1348941" + b62(20), ""],
    ["cli-named-password-flag", "helm upgrade app ./chart --root_password='", "Tr0ub4dor3x", "'"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "This may also be found at: /var/jenkins_home/secrets/initialAdminPassword\n\n*************************************************************",
    "cat /var/jenkins_home/secrets/initialAdminPassword\ncat: /var/jenkins_home/secrets/initialAdminPassword: No such file or directory",
    "The initialAdminPassword file\nholds the password you need.",
    "Password for the elastic user (reset with `bin/elasticsearch-reset-password -u elastic`):\n  <password>",
    "The generated password for the elastic built-in superuser is : XXXX",
    "Copy the following enrollment token: eyJ2ZXIiOiI4...",
    Buffer.from(`{"ver":"8.14.0","note":"${"x".repeat(80)}"}`).toString("base64"),
    "docker swarm join --token SWMTKN-1-<token> 192.168.99.100:2377",
    "AccessorID:       " + uuid,
    "TAILSCALE_AUTH_KEY=tskey-auth-XXXXXX",
    "ngrok http 8080 --domain=example.ngrok.app",
    "ansible-playbook --ask-vault-pass site2.yml",
    "ansible-playbook site.yml --vault-password-file ~/.vault_pass2",
    "llm prompt --max-tokens 4096",
    "aws s3api list-objects-v2 --bucket b --starting-token abc123def",
    "gcloud logging read --page-token 1a2b3c4d",
    "deploy --db-password=$DB_PASSWORD",
    "deploy --github-token ${{ secrets.GH_TOKEN }}",
    "deploy --db-password <password1>",
    "kubectl get secret --secret-name db-pass-2",
    "mysqladmin --no-password host2",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("tokens of CI and code-quality services and of AI tools (session 13)", () => {
  it.each([
    ["sonarqube-token", "mvn sonar:sonar -Dsonar.login=", "squ_" + hex(40), ""],
    ["sonarqube-token", "SONAR_TOKEN=", "sqp_" + hex(40), ""],
    ["buildkite-api-token", "BUILDKITE_API_TOKEN=", "bkua_" + hex(40), ""],
    ["circleci-personal-token", "export CIRCLECI_TOKEN=", `CCIPAT_${b62(22)}_${hex(40)}`, ""],
    ["circleci-personal-token", 'CircleCI_PAT = "', `CCIPAT_${b62(24)}_${hex(40)}`, '"'],
    ["langsmith-api-key", "LANGSMITH_API_KEY=", `lsv2_pt_${hex(32)}_${hex(10)}`, ""],
    ["langsmith-api-key", 'os.environ["LANGCHAIN_API_KEY"] = "', `lsv2_sk_${hex(32)}_${hex(10)}`, '"'],
    ["pinecone-api-key", 'PINECONE_API_KEY="', `pcsk_${b62(6)}_${b62(63)}`, '"'],
    ["tavily-api-key", "TAVILY_API_KEY=", "tvly-dev-" + b62(32), ""],
    ["tavily-api-key", 'TavilyClient(api_key="', "tvly-" + b62(32), '")'],
    ["figma-personal-token", "token = '", "figd_" + w(40), "'"],
    ["firecrawl-api-key", 'app = FirecrawlApp(api_key="', "fc-" + hex(32), '")'],
    ["e2b-api-key", "E2B_API_KEY=", "e2b_" + hex(40), ""],
    ["openai-compatible-api-key", "DEEPSEEK_API_KEY=", "sk-" + hex(32), ""],
    ["openai-compatible-api-key", "client = OpenAI(api_key='", "sk-" + hex(32), "', base_url='https://api.deepseek.com')"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "sonar.login=$SONAR_TOKEN",
    "SONAR_TOKEN=squ_<your token>",
    "BUILDKITE_API_TOKEN=bkua_xxxxxxxx",
    "LANGSMITH_API_KEY=lsv2_pt_...",
    "PINECONE_API_KEY=pcsk_your_api_key",
    "TAVILY_API_KEY=tvly-xxxxxxxxxxxxx",
    "FIRECRAWL_API_KEY=fc-YOUR-API-KEY",
    "E2B_API_KEY=e2b_***",
    "DEEPSEEK_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    '<div class="fc-daygrid-day-frame fc-scrollgrid-sync-inner">',
    `FIRECRAWL_API_KEY=fc-${hex(31)}`,
    `sk-${hex(32)}abc`,
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("a PostgreSQL password file read back (session 13)", () => {
  it.each([
    ["pgpass-password", "$ cat ~/.pgpass\nlocalhost:5432:app:postgres:", "Tr0ub4dor3x", "\n"],
    ["pgpass-password", "db.internal:*:*:report:", "Tr0ub4dor\\:3x", ""],
    ["pgpass-password", "*:*:*:postgres:", "Zx9vQ2mLk7", ""],
    ["pgpass-password", "pooler.supabase.com:6543:postgres:postgres.abcd:", "Zx9vQ2mLk7", ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "root:x:0:0:root:/root:/bin/bash",
    "localhost:5432:*:app:<password>",
    "listening on 127.0.0.1:5432: ready",
    "postgres:5432:app:user",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("every pair of a secret store's multi-pair command line (session 13)", () => {
  const pw = "Tr0ub4dor3x";
  it.each([
    ["cli-secret-store-pair", "fly secrets set API=", pw, " DATABASE_KEY=Zx9vQ2mLk7q"],
    ["cli-secret-store-pair", "fly secrets set A=Zx9vQ2mLk7q B=Hq8wE3rT5yU C=", pw, ""],
    ["cli-secret-store-pair", "doppler secrets set A=Zx9vQ2mLk7q B=", pw, " --project web"],
    ["cli-secret-store-pair", "vault kv put secret/app api=Zx9vQ2mLk7q db=", pw, ""],
    ["cli-secret-store-pair", "kubectl create secret generic db --from-literal=user=admin --from-literal=pw=", pw, " -n prod"],
  ])("%s takes the whole secret after %j", (id, before, secret, after) => {
    const text = `${before}${secret}${after}\n`;
    const start = text.indexOf(secret);
    expect(matchRule(rule(id), text).some((finding) => finding.start === start && finding.end === start + secret.length)).toBe(true);
  });

  it.each([
    "fly secrets set --app web A=$SECRET B=<value>",
    "fly secrets set A=${API_KEY} B=%TOKEN%",
    "fly secrets list; B=Zx9vQ2mLk7q ./run",
    "echo x; B=Zx9vQ2mLk7q ./run",
    "vault kv get secret/app api=Zx9vQ2mLk7q",
    "kubectl create configmap app --from-literal=mode=production01",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("Vault tokens of 24 base62 characters: root, recovery and legacy-shaped service tokens (session 14)", () => {
  // vault/token_store.go: TokenLength = 24, base62 behind `hvs.`/`hvr.`; a root token (`vault
  // server -dev` prints one) has that shape whatever the server-side-consistent-token setting, and
  // a token of a namespace other than root carries `.` and the namespace id.
  const id = "6j4cuewowBGit65rheNoceI7";
  it.each([
    ["vault-service-token", "Root Token: ", `hvs.${id}`, "\n"],
    ["vault-service-token", "export VAULT_TOKEN=", `hvs.${id}`, ""],
    ["vault-service-token", "token               ", `hvs.${id}`, "\ntoken_accessor      x"],
    ["vault-service-token", "X-Vault-Token: ", `hvr.${id}`, "\n"],
    ["vault-service-token", 'VAULT_TOKEN="', `hvs.${id}.Zx9vQ`, '"'],
    ["vault-service-token", "VAULT_TOKEN=", `hvs.CAES${b62(87)}`, "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "tokens start with hvs. and batch tokens with hvb.",
    "VAULT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX",
    `VAULT_TOKEN=hvs.${id}x`,
    `VAULT_TOKEN=hvs.${id.slice(1)}`,
    "see hvs.documentationAndOtherWordsHere for how",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("secrets a command printed alone on the next line, in a terminal and in a note's tool callout (session 14)", () => {
  const pw = "Tr0ub4dor3xQz";
  /** How an exported note shows a Bash call and its result. */
  const callout = bashCalloutBefore;
  it.each([
    ["command-printed-secret", "$ kubectl get secret db -o jsonpath='{.data.password}' | base64 -d\n", pw, "\n$ "],
    ["command-printed-secret", callout("kubectl get secret db -o jsonpath='{.data.password}' | base64 --decode"), pw, "\n> ```\n"],
    ["generated-secret-printed", "$ openssl rand -base64 32\n", "q8Zr3vLk2Wm9x7Yt5Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUe=", "\n"],
    ["generated-secret-printed", callout("openssl rand -hex 16"), "9f3a71c0e5b28d469f3a71c0e5b28d46", "\n> ```\n"],
    ["generated-secret-printed", `$ python3 -c "import secrets; print(secrets.token_urlsafe(32))"\n`, "q8Zr3vLk2Wm9x7Yt5Bc4Nk8Rt1Wy5Hp3Sd6Fg0J-_", "\n"],
    ["secret-store-printed", "$ vault kv get -field=password secret/app\n", pw, "\n"],
    ["secret-store-printed", callout("aws secretsmanager get-secret-value --secret-id prod/api --query SecretString --output text"), pw, "\n> ```\n"],
    ["secret-store-printed", "$ op read op://Private/db/password\n", pw, "\n"],
    ["secret-store-printed", "$ security find-generic-password -s deploy -w\n", pw, "\n"],
    ["command-printed-secret", "$ heroku auth:token\n ›   Warning: token will expire 12/31/2026\n", "3b1f8a2c-4d5e-4f6a-9b8c-7d6e5f4a3b2c", "\n"],
    ["command-printed-secret", callout("terraform output -raw db_password"), pw, "\n> ```\n"],
    ["generated-secret-printed", "$ wg genkey\n", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "\n"],
    ["command-printed-secret", "$ echo $DB_PASSWORD\n", pw, "\n"],
    ["command-printed-secret", callout('echo "${STRIPE_SECRET_KEY}"'), pw, "\n> ```\n"],
    ["command-printed-secret", "$ printenv API_TOKEN\n", pw, "\n"],
    ["command-printed-secret", "$ docker exec app cat /run/secrets/db_password\n", pw, "\n"],
    ["generated-secret-printed", "$ pwgen -s 24 1\n", "q8Zr3vLk2Wm9x7Yt5Bc4Nk8R", "\n"],
    ["secret-store-printed", "$ aws configure get aws_secret_access_key\n", "q8Zr3vLk2Wm9x7Yt5Bc4Nk8Rt1Wy5Hp3Sd6Fg0Ja", "\n"],
    ["command-printed-secret", "$ jq -r .access_token ~/.config/app/creds.json\n", pw, "\n"],
    ["command-printed-secret", `${callout("jq '.installed.client_secret' client_secret.json")}"`, pw, '"\n> ```\n'],
    ["service-generated-password", callout("docker exec jenkins cat /var/jenkins_home/secrets/initialAdminPassword"), "3f9a2b7c4d1e8f6a5b0c9d2e7f4a1b8c", "\n> ```\n"],
    ["service-generated-password", "> ```\n> Please use the following password to proceed to installation:\n>\n> ", "3f9a2b7c4d1e8f6a5b0c9d2e7f4a1b8c", "\n>\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    // The callout's label is no output, and a line of other text stops the reach.
    `${callout("openssl rand -hex 32 > key.txt")}\`\`\`\n`,
    "$ openssl rand -hex 32 > .key\n$ ./scripts/deploy.sh --prod\n",
    "$ kubectl get secrets -n prod\nNAME                  TYPE     DATA   AGE\ndb-creds              Opaque   2      3d\n",
    "$ vault kv get secret/app\n====== Data ======\nKey         Value\n",
    "$ terraform output -raw instance_ip\n203.0.113.10\n",
    "$ openssl rand -hex 32\nThen paste it into .env as SESSION_SECRET.\n",
    "$ heroku auth:token\n ›   Error: not logged in\nNotLoggedIn\n",
    "$ op read op://Private/db/password\n[ERROR] 2026/12/03 could not read secret\n",
    // Not a credential's name, or the value went to a file.
    "$ echo $KEY_ID\nAbc123def456\n",
    "$ echo $SSH_AUTH_SOCK\n/tmp/ssh-XXXXabc/agent.1\n",
    "$ echo $DB_PASSWORD > .pw\nTr0ub4dor3xQz\n",
    "$ printenv PATH\n/usr/local/bin:/usr/bin\n",
    "$ aws configure get region\neu-west-1a\n",
    "$ jq -r .token_type creds.json\nBearerTokenX\n",
    "$ jq .expires_in creds.json\n3599\n",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("secrets over several lines, inside a note's tool callout (session 14)", () => {
  /** A command's output as an exported note shows it: in a fence, each line behind `> `. */
  it.each([
    ["netrc-password", "machine api.example.com\n  login deploy\n  password Tr0ub4dor3xQz8"],
    ["keyword-secret-name-value", 'env:\n  - name: DB_PASSWORD\n    value: "Tr0ub4dor3xQz8"'],
    ["putty-private-key", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAAIGkLxRKkQyq2kSChXoU3dDMLnNGd0x2AbfTeS6Q1Qq0Y\nPrivate-MAC: 5b1f1b2f7d8e9a0b"],
    ["pgpass-password", "db.internal:5432:app:app:Tr0ub4dor3xQz8"],
  ])("%s finds it as in a terminal", (id, text) => {
    expect(rules(text)).toContain(id);
    expect(rules(inNoteCallout(text))).toContain(id);
    // An edit's diff in the note: each line of the file behind `> +`.
    if (id !== "putty-private-key") expect(rules(inNoteCallout(text.split("\n").map((line) => `+${line}`).join("\n")))).toContain(id);
  });
});

describe("a credential-named XML key followed by its value element: plists and Hadoop-style configs (session 14)", () => {
  it.each([
    ["xml-name-value-secret", "<dict>\n\t<key>Password</key>\n\t<string>", "Tr0ub4dor3xQz8", "</string>\n</dict>"],
    ["xml-name-value-secret", "<key>api_token</key><string>", "q7Lm2Xv9Bc4Nk8Rt1Wy5", "</string>"],
    ["xml-name-value-secret", "<property>\n  <name>javax.jdo.option.ConnectionPassword</name>\n  <value>", "Tr0ub4dor3xQz8", "</value>\n</property>"],
    ["xml-name-value-secret", "> <property>\n>   <name>fs.s3a.secret.key</name>\n>   <value>", "q8Zr3vLk2Wm9x7Yt5Bc4Nk8Rt1Wy5Hp3Sd6Fg0Ja", "</value>\n> </property>"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "<key>PasswordPolicy</key>\n<string>RequireUppercase</string>",
    "<name>dfs.namenode.name.dir</name>\n<value>/data/hadoop/namenode</value>",
    "<name>hadoop.security.credential.provider.path</name>\n<value>jceks://hdfs/user/creds.jceks</value>",
    "<key>SecretStoreEnabled</key>\n<true/>",
    "<name>javax.jdo.option.ConnectionPassword</name>\n<value>${env.HIVE_PASSWORD}</value>",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("base64 that starts with / is no path (session 14)", () => {
  it.each([
    ["keyword-secret", "s3_secret_key: ", "/UI/U0RdB5PhmWVAEH5pIRjKhDlDepaF6wsE0Avy", "\n"],
    ["generated-secret-printed", "$ wg genkey\n", "/YLb9TxMVrU9dLF2MdWPU8oiNJDAEBOPK82dwZ1FIEV=", "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each(["password_file: /run/secrets/db/password.txt", "secret_path: ~/.config/app/secrets.json", "$ echo $API_TOKEN\n/usr/local/bin\n"])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("a sensitive value terraform output -json prints (session 14)", () => {
  const pw = "Tr0ub4dor3xQz8";
  it.each([
    ["terraform-sensitive-output", '{\n  "db_password": {\n    "sensitive": true,\n    "type": "string",\n    "value": "', pw, '"\n  }\n}'],
    ["terraform-sensitive-output", '{"api_key":{"sensitive":true,"type":"string","value":"', "q7Lm2Xv9Bc4Nk8Rt1Wy5", '"}}'],
    ["terraform-sensitive-output", '> {\n>   "conn": {\n>     "sensitive": true,\n>     "type": "string",\n>     "value": "', pw, '"\n>   }\n> }'],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    '{\n  "instance_ip": {\n    "sensitive": false,\n    "type": "string",\n    "value": "203.0.113.10"\n  }\n}',
    '{"region":{"sensitive":false,"type":"string","value":"eu-west-1-zone-a"}}',
    '{\n  "db_password": {\n    "sensitive": true,\n    "type": "string",\n    "value": "${var.db_password}"\n  }\n}',
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("a secret piped or here-string'd into a secret store's command (session 14)", () => {
  const pw = "Tr0ub4dor3xQz8";
  it.each([
    ["piped-login-password", "echo ", pw, " | npx wrangler secret put STRIPE_KEY"],
    ["piped-login-password", "printf '", pw, "' | gh secret set DEPLOY_TOKEN --repo acme/app"],
    ["piped-login-password", 'echo -n "', pw, '" | vercel env add API_SECRET production'],
    ["piped-login-password", "printf ", pw, " | docker secret create db_password -"],
    ["piped-login-password", "echo -n ", pw, " | gcloud secrets versions add api-key --data-file=-"],
    ["piped-login-password", "echo ", pw, " | firebase functions:secrets:set STRIPE_SECRET"],
    ["cli-secret-store-value", "vercel env add API_SECRET production <<< ", pw, ""],
    ["cli-secret-store-value", 'gh secret set DEPLOY_TOKEN <<< "', pw, '"'],
    ["cli-secret-store-value", "npx wrangler secret put STRIPE_KEY <<< '", pw, "'"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    'echo "$STRIPE_KEY" | npx wrangler secret put STRIPE_KEY',
    "cat .env | docker secret create app_env -",
    "vercel env add API_SECRET production <<< $API_SECRET",
    "echo done | gh secret list",
    "echo hello-world | docker secret ls",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("a credential a tool's config-setting command is given as a positional value (session 14)", () => {
  const pw = "Tr0ub4dor3xQz8";
  it.each([
    ["cli-config-set-secret", "netlify env:set API_SECRET ", pw, ""],
    ["cli-config-set-secret", "yarn config set npmAuthToken ", pw, ""],
    ["cli-config-set-secret", "npm config set //npm.pkg.github.com/:_authToken ", pw, "\n"],
    ["cli-config-set-secret", "git config --global github.token ", pw, ""],
    ["cli-config-set-secret", "poetry config http-basic.private deploy ", pw, ""],
    ["cli-config-set-secret", "poetry config pypi-token.testpypi ", pw, ""],
    ["cli-config-set-secret", "composer config --global http-basic.repo.example.com deploy ", pw, ""],
    ["cli-config-set-secret", "mc alias set local http://localhost:9000 minioadmin ", pw, ""],
    ["cli-config-set-secret", "bundle config set --global rubygems.pkg.github.com octo:", pw, ""],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "git config --global credential.helper store",
    "git config --global user.name octo-cat-2024",
    "npm config set registry https://registry.npmjs.org/",
    "netlify env:set NODE_ENV production",
    "yarn config set npmAuthToken $NPM_TOKEN",
    "poetry config virtualenvs.in-project true",
    "mc alias set local http://localhost:9000 $MINIO_USER $MINIO_PASSWORD",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("a credential-named row of a table a command printed (session 14)", () => {
  const pw = "Tr0ub4dor3xQz8";
  it.each([
    ["table-credential-value", "====== Data ======\nKey         Value\n---         -----\nusername    deploy\npassword    ", pw, "\n"],
    ["table-credential-value", "| Name | Value |\n|---|---|\n| DB_PASSWORD | ", pw, " |"],
    ["table-credential-value", "║ API_TOKEN         │ ", pw, " ║"],
    ["table-credential-value", "> | STRIPE_WEBHOOK_SECRET | `", pw, "` |"],
    ["table-credential-value", "> api_key        ", pw, "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "Password    string `json:\"password\"`",
    "  --password    Password for the registry user",
    "| password | string | The user's password |",
    "| Token | Type | Expires |",
    "token_duration      768h",
    "password_min_length    12",
    "| SECRET_KEY | ${SECRET_KEY} |",
    "Token    oauth2.Token",
    // A regex alternation is no table (pygments' lexer word lists).
    "setScript|MessageLinked|PushObject|PassCollisions|AxisAngle2Rot|",
  ])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});

describe("the signature and session token of a pre-signed URL (session 14)", () => {
  const token = `IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQDq${b62(120)}%3D`;
  const s3 = (query: string): string => `https://bucket.s3.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQ7LM2XV9BC4NK8RT%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261203T120000Z&X-Amz-Expires=3600${query}`;
  it.each([
    ["aws-presigned-url-signature", s3("&X-Amz-Security-Token="), token, "&X-Amz-SignedHeaders=host&X-Amz-Signature=9f3a71c0e5b28d469f3a71c0e5b28d469f3a71c0e5b28d469f3a71c0e5b28d46"],
    ["aws-presigned-url-signature", s3("&X-Amz-SignedHeaders=host&X-Amz-Signature="), "9f3a71c0e5b28d469f3a71c0e5b28d469f3a71c0e5b28d469f3a71c0e5b28d46", '"'],
    ["gcs-signed-url-signature", "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date=20261203T120000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=", `${hex(256)}`, " "],
    ["aws-presigned-url-signature", "https://d111111abcdef8.cloudfront.net/video.mp4?Expires=1767225600&Signature=", `${b62(40)}~${b62(60)}__`, "&Key-Pair-Id=K2JCJMDEHXQW5F"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each([
    "the X-Amz-Signature= parameter signs the request",
    "https://example.com/docs?Signature=required&page=2",
    `${s3("&X-Amz-SignedHeaders=host&X-Amz-Signature=")}\${SIGNATURE}`,
  ])("leaves %j alone", (text) => {
    expect(rules(text).filter((id) => /signature/.test(id))).toEqual([]);
  });
});

describe("a --secret flag that names a secret, not its value (session 14)", () => {
  it.each(["gcloud secrets versions access latest --secret=db-password", "gcloud secrets versions access 3 --secret my-api-key --project acme", "(gcloud secrets … --secret=db-password), it is not one"])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });

  it.each([
    ["cli-password-flag", "tool --secret ", "Tr0ub4dor3xQz8", ""],
    ["cli-password-flag", "tool --secret=", "Tr0ub-4dor3xQz8", " --x"],
    ["cli-password-flag", "tool --client-secret=", "correct-horse-battery", ""],
  ])("%s still takes the whole secret after %j", takesWholeSecret);
});

describe("Terraform Cloud tokens and Kaggle's kaggle.json (session 14)", () => {
  it.each([
    ["hashicorp-tf-api-token", "TF_TOKEN_app_terraform_io=", `${b62(14)}.atlasv1.${b62(67)}`, "\n"],
    // A body past gitleaks' 70 is taken whole: no tail left behind by redaction.
    ["hashicorp-tf-api-token", '"token": "', `${b62(14)}.atlasv1.${b62(72)}`, '"'],
    ["kaggle-api-key", '{"username":"octocat","key":"', "9f3a71c0e5b28d469f3a71c0e5b28d47", '"}'],
    ["kaggle-api-key", 'export KAGGLE_USERNAME=octocat\nexport KAGGLE_KEY=', "9f3a71c0e5b28d469f3a71c0e5b28d47", "\n"],
  ])("%s takes the whole secret after %j", takesWholeSecret);

  it.each(['{"username":"octocat","key":"value"}', '{"id": 7, "key": "9f3a71c0e5b28d469f3a71c0e5b28d47"}', "KAGGLE_KEY=$KAGGLE_KEY"])("leaves %j alone", (text) => {
    expect(rules(text)).toEqual([]);
  });
});
