// Writes samples.jsonl: for each of gitleaks' default rules (config/gitleaks.toml), secrets
// generated from the rule's own regex, set in lines the way gitleaks' generator writes its true
// positives (`utils.GenerateSampleSecrets`: the rule's name, an operator, the secret). It measures
// whether sbx covers every family gitleaks' default rule set does (issue 12, point 1): a rule's
// regex is its format's loosest statement, so a sample it generates is a secret of that format.
//
// Run from this directory with gitleaks' config and two libraries (the npm registry only):
//   npm install --prefix /tmp/gitleaks-gen randexp@0.6.1 smol-toml@1.9.1
//   git -C <gitleaks snapshot> show <commit>:config/gitleaks.toml > /tmp/gitleaks.toml
//   GEN_DEPS=/tmp/gitleaks-gen GITLEAKS_TOML=/tmp/gitleaks.toml GITLEAKS_COMMIT=<commit> node generate.mjs
// Seeded: the same config gives the same file.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const load = createRequire(join(process.env.GEN_DEPS ?? "/tmp/gitleaks-gen", "package.json"));
const RandExp = load("randexp");
const { parse } = load("smol-toml");
const commit = process.env.GITLEAKS_COMMIT ?? "b58d3f10";
const config = parse(readFileSync(process.env.GITLEAKS_TOML ?? "/tmp/gitleaks.toml", "utf8"));
const PER_RULE = 4;

let seed = 20261210;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

// gitleaks' keyword-context rules share one operator part: the name comes before it, the secret after.
const CONTEXT = String.raw`(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}`;
const TAIL = String.raw`(?:[\x60'"\s;]|\\[nr]|$)`;

/** Go RE2 syntax as JavaScript reads it: a leading `(?i)` becomes the flag, a later one widens the classes after it. */
function javascriptRegex(source) {
  let flags = "";
  if (source.startsWith("(?i)")) {
    source = source.slice(4);
    flags = "i";
  }
  for (let at = source.indexOf("(?i)"); at >= 0; at = source.indexOf("(?i)")) {
    source = source.slice(0, at) + source.slice(at + 4).replace(/a-z/g, "a-zA-Z").replace(/a-f/g, "a-fA-F").replace(/a-h/g, "a-hA-H").replace(/abcdef/g, "abcdefABCDEF");
  }
  source = source.replace(/\(\?-i:/g, "(?:").replace(/\(\?i:/g, "(?:").replace(/\(\?s:/g, "(?:").replace(/\\z/g, "$").replace(/\\A/g, "^").replace(/\[\[:alnum:\]\]/g, "[A-Za-z0-9]").replace(/\(\?P</g, "(?<");
  return { source, flags };
}

/** A string the regex matches, its literals in the case they are written, printable ASCII only. */
function generate(source) {
  const generator = new RandExp(new RegExp(source));
  generator.randInt = (low, high) => low + Math.floor(random() * (high - low + 1));
  generator.max = 8;
  generator.defaultRange.subtract(0, 32);
  generator.defaultRange.subtract(127, 65535);
  return generator.gen();
}

function entropy(text) {
  const counts = new Map();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits -= (count / text.length) * Math.log2(count / text.length);
  return bits;
}

const rows = [];
const skipped = [];
for (const rule of config.rules) {
  if (!rule.regex) {
    skipped.push(`${rule.id}: a path rule`);
    continue;
  }
  const { source, flags } = javascriptRegex(rule.regex);
  try {
    new RegExp(source, flags);
  } catch (error) {
    skipped.push(`${rule.id}: ${error.message}`);
    continue;
  }
  const context = source.indexOf(CONTEXT);
  let tries = 0;
  for (let n = 0; n < PER_RULE && tries < 50; tries++) {
    let text;
    let secret;
    if (context >= 0) {
      let body = source.slice(context + CONTEXT.length);
      if (body.endsWith(TAIL)) body = body.slice(0, -TAIL.length);
      secret = generate(body);
      const name = rule.id.replace(/-/g, "_");
      const camel = name.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase());
      text = [`${name} = "${secret}"`, `${name}: ${secret}`, `export ${name.toUpperCase()}=${secret}`, `"${camel}": "${secret}",`][n];
    } else {
      text = generate(source);
      const match = new RegExp(source, flags).exec(text);
      if (match === null) continue;
      const group = rule.secretGroup ?? (match[1] !== undefined ? 1 : 0);
      secret = match[group] ?? match[0];
    }
    // gitleaks reports a match only above the rule's entropy, and only where its own regex matches.
    if ((rule.entropy && entropy(secret) < rule.entropy) || !new RegExp(source, flags).test(text)) continue;
    rows.push({ family: "gitleaks", rule: `gitleaks:${rule.id}`, text: `${text}\n`, secret, expect: "match", source: `generated from gitleaks/gitleaks@${commit}:config/gitleaks.toml` });
    n++;
  }
  if (!rows.some((row) => row.rule === `gitleaks:${rule.id}`)) skipped.push(`${rule.id}: no sample its own regex matches`);
}
writeFileSync("samples.jsonl", rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
console.log(`${rows.length} samples of ${config.rules.length} rules; skipped: ${skipped.join("; ")}`);
