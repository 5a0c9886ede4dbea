#!/usr/bin/env python3
"""Writes held-out.jsonl: token cases from secret scanners' test suites the rules were NOT built from.

Sources (each case names repository, path and commit), split `tune` (the rules are tuned looking
at its misses):
- trufflesecurity/trufflehog: the `Test*_Pattern` cases of pkg/detectors/*/…_test.go
  (`input` → text, `want` non-empty → match, empty → no-match).
- mongodb/kingfisher: `examples` / `negative_examples` of data/rules/*.yml.
- Yelp/detect-secrets: `(payload, should_flag)` parametrize cases of tests/plugins/*_test.py, and
  the `(line, expected_secret)` tables of keyword_test.py.
  (kingfisher and detect-secrets were the held-out split until session 6.)
- adeptex/whispers: lines of tests/fixtures/* whose labels tests/unit/core/test_secrets.py ties
  to them (noncompliant values → match, compliant lines and files expected to give 0 → no-match).
- awslabs/git-secrets: test/git-secrets.bats' credentials-file lines, and the keys --register-aws allows.
- americanexpress/earlybird: the Go test tables of pkg/scan and pkg/postprocess.
  (these three were added in session 7, after the held-out split: their rows come after it.)
- praetorian-inc/titus: `examples` / `negative_examples` of pkg/rule/rules/*.yml, and
  thoughtworks/talisman: its pattern and file-content detector tests (session 8, last).

and split `held-out` (measured, never listed while tuning):
- semgrep/semgrep-rules: the lines annotated `ruleid:` / `ok:` in generic/secrets/security/'s tests.
- aquasecurity/trivy: the lines of pkg/fanal/secret/testdata/* that scanner_test.go expects a
  built-in rule to find, and the files it expects nothing in.
- sirwart/ripsecrets: test/one_per_line/*, test/one_per_file/* and test/none.

Only the families the policy is meant to cover (issue 12's list, with `generic` for keyword-context
secrets) are kept; every other detector is counted and dropped. Texts already in corpus.jsonl or
vendor-formats.jsonl are dropped, and a held-out text already in the tune split.
Run from this directory with the repositories' snapshots fetched (`/work/.mirror/<owner>+<name>/repo`
or MIRROR=…): `python3 build.py`. Only test strings are written, as data, never upstream code.
"""
import ast
import json
import os
import re
import subprocess
import sys

import gotests

MIRROR = os.environ.get("MIRROR", "/work/.mirror")

# detector, rule-file, rule-id or test-file name (lower case, without separators) -> family; first
# matching prefix wins.
FAMILY_PREFIXES = [
    ("stripepaymentintent", None), ("squarespace", None), ("gemini", None), ("azureopenai", "azure"),
    # Not secrets: an AWS account id, a Google OAuth client id (public in every web app that signs
    # in with Google), the `"type": "service_account"` line alone, a Stripe publishable key.
    ("awsaccountid", None), ("googleoauthurl", None), ("googlegcm", None), ("stripepublishable", None),
    # Keyword-context secrets ("keyword-context secrets with an entropy floor", issue 12).
    ("generic", "generic"), ("keyword", "generic"), ("mavensettings", "generic"),
    ("credentials", "basic-auth"), ("usernameandpasswordinuri", "basic-auth"),
    ("pgpprivatekey", "private-key"), ("outlookteam", "teams"),
    ("anthropic", "anthropic"), ("atlassian", "atlassian"), ("jira", "atlassian"), ("confluence", "atlassian"),
    ("awskey", "aws"), ("aws", "aws"), ("azure", "azure"), ("bitbucket", "bitbucket"), ("braintree", "paypal"), ("paypal", "paypal"),
    ("cloudflare", "cloudflare"), ("datadog", "datadog"), ("digitalocean", "digitalocean"), ("discord", "discord"),
    ("dockerhub", "docker"), ("docker", "docker"), ("flyio", "flyio"), ("gcp", "google"), ("googlegemini", "google"), ("googleoauth", "google"), ("google", "google"),
    ("githubtoken", "github"), ("github", "github"), ("gitlab", "gitlab"), ("groq", "groq"), ("heroku", "heroku"), ("hubspot", "hubspot"),
    ("huggingface", "huggingface"), ("jwt", "jwt"), ("linear", "linear"), ("mailgun", "mailgun"), ("microsoftteams", "teams"), ("microsoft_teams", "teams"),
    ("netlify", "netlify"), ("newrelic", "newrelic"), ("notion", "notion"), ("npm", "npm"), ("nuget", "nuget"), ("openai", "openai"),
    ("openrouter", "openrouter"), ("planetscale", "planetscale"), ("postmark", "postmark"), ("privatekey", "private-key"), ("privkey", "private-key"), ("pem", "private-key"),
    ("pypi", "pypi"), ("replicate", "replicate"), ("rubygems", "rubygems"), ("sendgrid", "sendgrid"), ("sentry", "sentry"), ("shopify", "shopify"),
    ("slack", "slack"), ("squareup", "square"), ("squareoauth", "square"), ("square", "square"), ("stripe", "stripe"), ("supabase", "supabase"), ("telegram", "telegram"),
    ("twilio", "twilio"), ("uri", "basic-auth"), ("basicauth", "basic-auth"), ("mongodb", "basic-auth"), ("postgres", "basic-auth"), ("redis", "basic-auth"), ("ftp", "basic-auth"),
    ("vercel", "vercel"), ("databricks", "databricks"), ("grafana", "grafana"), ("hashicorpvault", "vault"), ("terraformcloud", "hashicorp"),
    ("okta", "okta"), ("sourcegraph", "sourcegraph"), ("xai", "xai"), ("mistral", "mistral"), ("cohere", "cohere"), ("crates", "crates"),
]

# JSON keys of trufflehog's combined results that name, not hold, the secret.
NOT_SECRET_KEYS = {"registry", "accountname", "account", "username", "user", "url", "host", "hostname", "endpoint", "email", "tenant",
                   "tenantid", "clientid", "client_id", "domain", "server", "name", "region", "id", "port", "database", "org", "organization",
                   "type", "project_id", "private_key_id", "auth_uri", "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"}


# Parts of combined results that are not the secret: e-mail addresses, URLs, host names.
# A URL split at its scheme's colon leaves `//host/path`, which is a URL too.
NOT_A_SECRET = re.compile(r"^(?:[^@\s]+@[^@\s]+\.[a-z]{2,}|[a-z][a-z0-9+.-]*://\S+|(?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?::[0-9]+)?(?:/\S*)?)$", re.I)

# Test files whose cases are identifiers, not secrets (trufflehog's Entra tenant and client id
# finders: a tenant id is public), dropped.
NOT_SECRET_TESTS = {"pkg/detectors/azure_entra/common_test.go"}


def family_of(name):
    key = name.lower().replace("-", "").replace(".", "")
    for prefix, family in FAMILY_PREFIXES:
        if key.startswith(prefix.replace("-", "").replace(".", "")):
            return family
    return None


def git(repo, *args):
    return subprocess.run(["git", "-C", f"{MIRROR}/{repo.replace('/', '+')}/repo", *args], capture_output=True, text=True, check=True).stdout


def show(repo, path):
    """A file of the snapshot as text; a test file of invalid UTF-8 keeps U+FFFD in its place."""
    out = subprocess.run(["git", "-C", f"{MIRROR}/{repo.replace('/', '+')}/repo", "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
    return out.decode("utf-8", errors="replace")


def secrets_in(text, want_item):
    """The parts of a trufflehog result that occur in the text (the secret, not account names)."""
    if want_item in text:
        return [want_item]
    parts = []
    try:
        obj = json.loads(want_item)
        if isinstance(obj, dict):
            parts = [str(v) for k, v in obj.items() if k.lower() not in NOT_SECRET_KEYS and isinstance(v, str)]
    except ValueError:
        parts = want_item.split(":")
    found = []
    for part in parts:
        # A JSON value may sit in the text JSON-escaped, once or twice (`\\n` for a newline).
        for form in (part, json.dumps(part)[1:-1], json.dumps(json.dumps(part)[1:-1])[1:-1]):
            if len(form) >= 8 and form in text and not NOT_A_SECRET.match(form):
                found.append(form)
                break
    return found


def trufflehog(known):
    repo = "trufflesecurity/trufflehog"
    commit = git(repo, "rev-parse", "HEAD").strip()
    files = [f for f in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "pkg/detectors").splitlines()
             if f.endswith("_test.go") and "integration" not in f]
    out, dropped = [], {}
    for path in files:
        detector = path.split("/")[2]
        family = family_of(detector)
        if family is None or path in NOT_SECRET_TESTS:
            dropped[detector] = 1
            continue
        cases, _failed = gotests.cases(git(repo, "show", f"HEAD:{path}"))
        for case in cases:
            text = case["input"]
            if not text.strip() or text in known:
                continue
            known.add(text)
            row = {"family": family, "text": text, "expect": "match" if case["want"] else "no-match",
                   "source": f"{repo}:{path}", "commit": commit, "split": "tune", "case": case["name"] or ""}
            if case["want"]:
                secrets = sorted({s for item in case["want"] for s in secrets_in(text, item)}, key=text.index)
                if secrets:
                    row["secrets"] = secrets
            out.append(row)
    return out, len(dropped)


IDENTIFIER_RULE = re.compile(r"\b(?:ID|Domain|Host|Hostname|Account Name|Org Name|Username|Search URL)$", re.I)


def kingfisher(known):
    import yaml  # PyYAML

    repo = "mongodb/kingfisher"
    commit = git(repo, "rev-parse", "HEAD").strip()
    out, dropped = [], 0
    for path in git(repo, "ls-tree", "--name-only", "HEAD", "data/rules/").splitlines():
        stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        family = family_of(stem)
        if family is None:
            dropped += 1
            continue
        doc = yaml.safe_load(git(repo, "show", f"HEAD:{path}"))
        for rule in doc.get("rules", []):
            # generic.yml's weak-password rules find bare words (`password123`), not a keyword's value.
            if rule.get("id", "").startswith("kingfisher.weak_password."):
                continue
            # Rules that find what a secret is used with, not a secret: `visible: false` ones (kingfisher
            # reports them only as another rule's dependency) and ids, domains, hosts and names.
            if rule.get("visible") is False or IDENTIFIER_RULE.search(rule.get("name", "")):
                continue
            for key, expect in (("examples", "match"), ("negative_examples", "no-match")):
                for text in rule.get(key) or []:
                    if not isinstance(text, str) or not text.strip() or text in known:
                        continue
                    known.add(text)
                    out.append({"family": family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit,
                                "split": "tune", "case": rule.get("id", "")})
    return out, dropped


def detect_secrets(known):
    repo = "Yelp/detect-secrets"
    commit = git(repo, "rev-parse", "HEAD").strip()
    out, dropped = [], 0
    for path in git(repo, "ls-tree", "--name-only", "HEAD", "tests/plugins/").splitlines():
        stem = path.rsplit("/", 1)[-1].removesuffix("_test.py")
        family = family_of(stem)
        if family is None:
            dropped += 1
            continue
        tree = ast.parse(git(repo, "show", f"HEAD:{path}"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize" and len(node.args) >= 2):
                continue
            try:
                names = ast.literal_eval(node.args[0])
                values = ast.literal_eval(node.args[1])
            except ValueError:
                continue
            names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
            if "should_flag" not in names:
                continue
            text_at = names.index("payload") if "payload" in names else 0
            for value in values:
                text, flag = value[text_at], value[names.index("should_flag")]
                if not isinstance(text, str) or not text.strip() or text in known:
                    continue
                known.add(text)
                out.append({"family": family, "text": text, "expect": "match" if flag else "no-match", "source": f"{repo}:{path}", "commit": commit,
                            "split": "tune", "case": ""})
        if stem == "keyword":
            out.extend(keyword_cases(repo, path, commit, family, tree, known))
    return out, dropped


def keyword_cases(repo, path, commit, family, tree, known):
    """keyword_test.py's `(line, expected_secret)` tables, one per file type, built with str.format.

    A line is a match when any table expects a secret in it. A line no table flags is a no-match,
    unless it holds a value another case expects as the secret: those are negatives of one file
    type only (C's single-quoted chars, code's unquoted values), secrets anywhere else, and dropped.
    """
    env, tables = {}, {}

    def value(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(value(n) for n in node.elts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return value(node.func.value).format(*(value(a) for a in node.args))
        raise KeyError(type(node).__name__)

    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if name.endswith("_TEST_CASES"):
            rows = []
            for item in node.value.elts:
                try:
                    rows.append(value(item))
                except KeyError:
                    continue  # LONG_LINE: a random base64 image, built at import time
            tables[name] = rows
        else:
            try:
                env[name] = value(node.value)
            except KeyError:
                pass
    expected = {}
    for name, rows in tables.items():
        for line, secret in rows:
            expected.setdefault(line, (name, set()))[1].add(secret)
    secrets = {secret for _, found in expected.values() for secret in found if secret}
    out = []
    for line, (name, found) in expected.items():
        flagged = sorted(s for s in found if s)
        if not line.strip() or line in known or (not flagged and any(s in line for s in secrets)):
            continue
        known.add(line)
        row = {"family": family, "text": line, "expect": "match" if flagged else "no-match", "source": f"{repo}:{path}", "commit": commit,
               "split": "tune", "case": name}
        if flagged:
            row["secrets"] = flagged
        out.append(row)
    return out


# A test line `# ruleid: <id>` / `// ok: <id>` / `<!-- ruleid: <id> -->`: the next line must (not) be found.
SEMGREP_ANNOTATION = re.compile(r"^\s*(?:#|//|<!--)\s*(ruleid|ok):\s*([\w.,\s-]+?)\s*(?:-->)?\s*$")


def held_out_new(text, known, tune_stripped):
    """True for a held-out text seen nowhere yet; a tune text differing only in blanks counts as seen."""
    return text.strip() != "" and text not in known and text.strip() not in tune_stripped


def semgrep_rules(known, tune_stripped):
    repo = "semgrep/semgrep-rules"
    commit = git(repo, "rev-parse", "HEAD").strip()
    out, dropped = [], set()
    # Only generic/secrets/security: generic/secrets/gitleaks holds gitleaks' own cases, which the rules came from.
    for path in git(repo, "ls-tree", "--name-only", "HEAD", "generic/secrets/security/").splitlines():
        if path.endswith(".yaml"):
            continue
        lines = show(repo, path).split("\n")
        for i, line in enumerate(lines[:-1]):
            m = SEMGREP_ANNOTATION.match(line)
            if not m:
                continue
            for rule in (r.strip() for r in m.group(2).split(",")):
                family = family_of(rule.removeprefix("detected-"))
                if family is None:
                    dropped.add(rule)
                    continue
                # A key's block runs on past its BEGIN line, up to the blank line that ends the case.
                end = i + 2
                if family == "private-key":
                    while end < len(lines) and lines[end].strip() and not SEMGREP_ANNOTATION.match(lines[end]):
                        end += 1
                text = "\n".join(lines[i + 1:end])
                # Google and Square keys hold no backslash: such a `ruleid` line tests a rule regex
                # that admits one, not a key.
                if not held_out_new(text, known, tune_stripped) or (m.group(1) == "ruleid" and family in ("google", "square") and "\\" in text):
                    continue
                known.add(text)
                out.append({"family": family, "text": text, "expect": "match" if m.group(1) == "ruleid" else "no-match",
                            "source": f"{repo}:{path}", "commit": commit, "split": "held-out", "case": rule})
    return out, len(dropped)


def go_value(toks, i, names):
    """One value of a Go test table at toks[i]: string (with `+`), number, composite literal, call
    (filepath.Join, strings.Repeat; others as ("call", name, args)) or name (a known string, else
    ("name", name)). Returns (value, next index)."""
    val, i = go_operand(toks, i, names)
    while toks[i] == ("op", "+"):
        more, i = go_operand(toks, i + 1, names)
        val += more
    return val, i


def go_operand(toks, i, names):
    k, v = toks[i]
    if k in ("str", "raw"):
        return (gotests.unquote(v) if k == "str" else v[1:-1]), i + 1
    if k == "num":
        return (int(v) if v.isdigit() else v), i + 1
    if (k, v) == ("op", "&"):
        return go_operand(toks, i + 1, names)
    if (k, v) == ("op", "["):  # []T{…}: the type runs up to the brace
        while toks[i] != ("op", "{"):
            i += 1
    if toks[i] == ("op", "{"):
        return go_composite(toks, i, names)
    if k != "id":
        raise gotests.Fail(f"token {v!r}")
    name = v
    i += 1
    while toks[i] == ("op", ".") and toks[i + 1][0] == "id":
        name += "." + toks[i + 1][1]
        i += 2
    if toks[i] == ("op", "("):
        args = []
        i += 1
        while toks[i] != ("op", ")"):
            arg, i = go_value(toks, i, names)
            args.append(arg)
            if toks[i] == ("op", ","):
                i += 1
        if name == "strings.Repeat" and isinstance(args[1], int):
            return args[0] * args[1], i + 1
        if name == "filepath.Join":
            return "/".join(args), i + 1
        return ("call", name, args), i + 1
    if toks[i] == ("op", "{") and name.startswith("types."):
        return go_composite(toks, i, names)
    return names.get(name, ("name", name)), i


def go_composite(toks, i, names):
    i += 1
    keyed, items = {}, []
    while toks[i] != ("op", "}"):
        val, i = go_value(toks, i, names)
        if toks[i] == ("op", ":"):
            val2, i = go_value(toks, i + 1, names)
            keyed[val[1] if isinstance(val, tuple) else val] = val2
        else:
            items.append(val)
        if toks[i] == ("op", ","):
            i += 1
    return (keyed if keyed or not items else items), i + 1


def trivy_tests(src):
    """TestSecretScanner's table: [(test name, input file, findings or None)], each finding a dict
    with RuleID, StartLine, EndLine and the censored Match."""
    body = src[src.index("func TestSecretScanner(t"):]
    body = body[:body.index("\nfunc ", 1)]
    toks = gotests.tokenize(body)
    names, findings = {}, {}
    i = 0
    while i < len(toks):
        if toks[i][0] == "id" and toks[i + 1] == ("op", ":="):
            name, start = toks[i][1], i + 2
            if toks[start] == ("id", "tests"):
                pass
            elif toks[start:start + 3] == [("id", "types"), ("op", "."), ("id", "SecretFinding")]:
                findings[name], i = go_value(toks, start, names)
                continue
            elif toks[start] == ("id", "strings"):
                try:
                    names[name], i = go_value(toks, start, names)
                    continue
                except (TypeError, gotests.Fail):
                    pass
            elif toks[start] == ("id", "openAIFinding"):
                # openAIFinding(rule, title, severity, length): a one-line file that is all secret.
                (_, _, args), i = go_value(toks, start, names)
                findings[name] = {"RuleID": args[0], "StartLine": 1, "EndLine": 1, "Match": "*" * args[3]}
                continue
        if toks[i] == ("id", "tests") and toks[i + 1] == ("op", ":="):
            j = i + 2
            while toks[j] != ("op", "{"):
                j += 1
            table, _ = go_composite(toks, gotests.skip_balanced(toks, j), names)
            break
        i += 1
    out = []
    for test in table:
        wanted = test["want"].get("Findings")
        wanted = [findings[f[1]] if isinstance(f, tuple) else f for f in wanted] if isinstance(wanted, list) else None
        out.append((test["name"], test["inputFilePath"], test.get("configPath", ""), wanted))
    return out


def uncensor(text, match):
    """The raw text under the `*` runs of a censored Match, where Match sits at one place only."""
    pattern = re.compile("".join(f"(.{{{len(p)}}})" if p[0] == "*" else re.escape(p) for p in re.findall(r"\*+|[^*]+", match)), re.S)
    hits = [m for k in range(len(text)) if (m := pattern.match(text, k))]
    if len(hits) != 1:
        return []
    # The quotes around a value are censored with it, and in JSON the escaped line breaks of a key.
    return [re.sub(r"^(?:\\n)+|(?:\\n)+$", "", g.strip("\"'")) for g in hits[0].groups()]


# scanner_test.go's tests that expect no finding in a file, and whether it is kept. Those kept are
# tests of the built-in rules; the others test configuration (allow rules, custom rules, keywords,
# an examples path), where a file holds secrets the configuration hides.
TRIVY_NEGATIVE_FILES = {"invalid-aws-secrets.txt": "aws", "openai-invalid.txt": "openai", "wrapped-secrets.txt": None,
                        "settings-encrypted.xml": "generic"}


def trivy(known, tune_stripped):
    repo = "aquasecurity/trivy"
    commit = git(repo, "rev-parse", "HEAD").strip()
    base = "pkg/fanal/secret"
    out, dropped = [], set()
    rules_src = show(repo, f"{base}/builtin-rules.go")
    # Built-in rules in their order, with keywords: a wrapped-secrets line belongs to the rule whose keyword it holds.
    builtin = []
    for m in re.finditer(r'ID:\s*"([^"]+)"(.*?)(?=\bID:\s*"|\Z)', rules_src, re.S):
        kw = re.search(r"Keywords:\s*\[\]string\{([^}]*)\}", m.group(2))
        builtin.append((m.group(1), [gotests.unquote(k) for k in re.findall(r'"(?:\\.|[^"\\])*"', kw.group(1))] if kw else []))
    builtin_ids = {rule for rule, _ in builtin}

    def add(text, family, expect, path, case, secrets=()):
        if not held_out_new(text, known, tune_stripped):
            return
        known.add(text)
        row = {"family": family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit, "split": "held-out", "case": case}
        if secrets:
            row["secrets"] = list(secrets)
        out.append(row)

    for name, input_path, config, wanted in trivy_tests(show(repo, f"{base}/scanner_test.go")):
        path = f"{base}/{input_path}"
        lines = show(repo, path).replace("\r\n", "\n").split("\n")
        file = input_path.rsplit("/", 1)[-1]
        if not wanted:
            if file not in TRIVY_NEGATIVE_FILES or not config.endswith("skip-test.yaml"):
                continue
            for line in lines:
                # invalid-aws-secrets.txt says what each case is on the line above it ("base64:"); a bare
                # XML tag holds no value.
                if not line.strip() or re.fullmatch(r"[\w .-]+:|\s*</?[\w.-]+>\s*", line):
                    continue
                family = TRIVY_NEGATIVE_FILES[file]
                if family is None:
                    # The rule whose keyword the line wraps: the earliest keyword on it (`Sogho_…` wraps `gho_`).
                    at = [(line.lower().find(k.lower()), n, rule) for n, (rule, kws) in enumerate(builtin) for k in kws if k.lower() in line.lower()]
                    family = family_of(min(at)[2]) if at else None
                    if family is None:
                        dropped.add(min(at)[2] if at else file)
                        continue
                add(line, family, "no-match", path, name)
            continue
        for finding in wanted:
            rule = finding["RuleID"]
            family = family_of(rule) if rule in builtin_ids else None  # custom rules of the test configs: no family
            if family is None:
                dropped.add(rule)
                continue
            start, end = finding["StartLine"] - 1, finding["EndLine"]
            body = "\n".join(lines[start:end])
            secrets = uncensor(body, finding["Match"])
            if end - start > 1:
                # A key's body is found, its BEGIN and END lines around it belong to the case.
                secrets = [line for line in lines[start:end] if line.strip()]
                if start > 0 and "-----BEGIN" in lines[start - 1]:
                    start -= 1
                if end < len(lines) and "-----END" in lines[end]:
                    end += 1
            add("\n".join(lines[start:end]), family, "match", path, f"{name}: {rule}", [s for s in secrets if s])
    return out, len(dropped)


# ripsecrets' test file names that family_of does not read: its random-string detector finds
# keyword-context values, maven's are <password>/<master> values.
RIPSECRETS_FAMILIES = {"random": "generic", "maven": "generic", "url": "basic-auth", "pem_key": "private-key", "private_key": "private-key",
                       "aws_json": "aws"}

# A template, not a credential: a run of x for the secret (`SKxxxx…`), or USERNAME:PASSWORD.
PLACEHOLDER = re.compile(r"x{8,}|USERNAME:PASSWORD", re.I)


def ripsecrets(known, tune_stripped):
    repo = "sirwart/ripsecrets"
    commit = git(repo, "rev-parse", "HEAD").strip()
    out, dropped, placeholders = [], 0, 0
    # Lines of test/none are kept out of the findings by ripsecrets' own suppressions (a `pragma:
    # allowlist secret` comment, a secret listed in .secretsignore): secrets still, dropped here.
    ignored = [line.strip() for line in show(repo, ".secretsignore").split("[secrets]", 1)[-1].splitlines() if line.strip()]

    def add(text, family, expect, path, case):
        if not held_out_new(text, known, tune_stripped):
            return
        known.add(text)
        out.append({"family": family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit, "split": "held-out", "case": case})

    # src/lib.rs's tests: each line of test/one_per_line/<family> is one finding, each file of
    # test/one_per_file one finding, test/none none at all.
    for kind in ("one_per_line", "one_per_file"):
        for path in git(repo, "ls-tree", "--name-only", "HEAD", f"test/{kind}/").splitlines():
            name = path.rsplit("/", 1)[-1]
            family = RIPSECRETS_FAMILIES.get(name) or family_of(name)
            if family is None:
                dropped += 1
                continue
            text = show(repo, path)
            for case in (text.split("\n") if kind == "one_per_line" else [text.rstrip("\n")]):
                if PLACEHOLDER.search(case):
                    placeholders += 1
                    continue
                add(case, family, "match", path, name)
    for line in show(repo, "test/none").split("\n"):
        if "pragma: allowlist secret" in line or any(secret in line for secret in ignored):
            continue
        # The family a line would be mistaken for.
        family = ("basic-auth" if re.search(r"://[^\s/]*@", line) else "private-key" if "-----BEGIN" in line
                  else "jwt" if "eyJ" in line else "generic")
        add(line, family, "no-match", "test/none", "no_false_positives")
    print(f"ripsecrets: {placeholders} placeholder lines dropped", file=sys.stderr)
    return out, dropped


# ---- split `tune`, added in session 7: whispers, git-secrets, earlybird ------------------------

def tune_new(text, known, seen_stripped):
    """True for a new tune text seen nowhere yet; a text differing only in blanks from any row counts as seen."""
    return text.strip() != "" and text not in known and text.strip() not in seen_stripped


# whispers' fixtures (tests/fixtures/…) whose labels its tests tie to lines, with their family; None:
# the family each line's key names (apikeys-known.yml, webhooks.yml). test_secrets.py counts what each
# file gives (test_detect_secrets_by_value) and which keys (test_detect_secrets_by_key); each
# fixture marks its cases with `compliant` / `noncompliant` sections, and the noncompliant values
# carry `hardcoded` (the AWS ones `fake`). Left out: creditcards, arn (not secrets), page.html
# (comments), severity.yml and excluded.* (counted at one severity only, the latter with a test
# configuration's exclusions), connection.config (its test is commented out), putty.ppk and
# runtime.exs (no tie of count to line), invalid.* (not text), and the fixtures whose key sits on
# another line than its value: integration.{conf,xml,yml}, hardcoded.* list items, cloudformation.*,
# the multi-line keys of privatekeys.{yml,xml}.
WHISPERS_FIXTURES = {
    ".aws/credentials": "aws", ".dockercfg": "docker", ".htpasswd": "generic", ".npmrc": "npm", ".pypirc": "pypi",
    "apikeys-known.yml": None, "apikeys.json": "generic", "apikeys.xml": "generic", "apikeys.yml": "generic",
    "aws.json": "aws", "aws.xml": "aws", "aws.yml": "aws", "beans.xml": "generic", "build.gradle": "generic",
    "Dockerfile": "generic", "Groups.xml": "generic", "hardcoded.json": "generic", "hardcoded.xml": "generic", "hardcoded.yml": "generic",
    "integration.json": "generic", "java.properties": "generic", "jdbc.xml": "generic", "jenkins.xml": "generic", "nginx.conf": "generic",
    "passwords.json": "generic", "passwords.xml": "generic", "passwords.yml": "generic", "paths.yml": "generic", "pip.conf": "generic",
    "placeholders.json": "generic", "placeholders.xml": "generic", "placeholders.yml": "generic", "plaintext.txt": "generic",
    "private-pgp-block.txt": "private-key", "privatekey.pem": "private-key", "privatekeys.json": "private-key",
    "ruleslist.yml": "generic", "script.sh": "generic", "settings.cfg": "generic", "settings.conf": "generic", "settings.env": "generic",
    "settings01.ini": "generic", "settings02.ini": "generic", "sops.yml": "generic", "uri.yml": "generic", "webhooks.yml": None,
    "custom.json": "generic", "custom.yml": "generic",
    "falsepositive/values.yml": "generic", "falsepositive/semver.json": "generic", "falsepositive/keys.yml": "generic",
    "falsepositive/deps.txt": "private-key",
}
WHISPERS_SECTION = re.compile(r"(?i)(?<![a-z])(non-?|in)?compliant")
WHISPERS_MARK = re.compile(r"(?i)hardcoded|fake")
# A line without a value of its own: brackets, a lone tag, `key:` opening a block, a comment.
WHISPERS_STRUCTURE = re.compile(r"""^\s*(?:[{}\[\](),]*|</?[\w:.-]+/?>|<\?xml.*|["']?[\w. -]+["']?\s*:\s*[{\[]?|-|\#.*|//.*|<!--.*|\[[\w]+\])\s*$""")
# Lines of a file a whispers rule does not read as a key and value at all (nginx's process settings).
WHISPERS_KEY_ON_LINE = re.compile(r"""[\w"'-]\s*(?:[:=]|\s)\s*\S|>\s*[^<\s]""")
# A list item or a lone value: its key is on another line (`02_static_passwords:` above `- "Hardcoded1"`).
WHISPERS_LONE_VALUE = re.compile(r"""^\s*(?:-\s*)?["']?[^\s:=<>"']+["']?,?\s*$""")


def whispers_secret(line):
    """The value whispers reports on a noncompliant line: the token around the marker, after its key."""
    # A URL's query (`?user=…&password=…`) is split at its separators; elsewhere `?` and `&` may be the value's.
    for m in re.finditer(r"[^\s\"'<>,;?&{}()\[\]]+" if "://" in line else r"[^\s\"'<>,;{}()\[\]]+", line):
        token = m.group()
        if not WHISPERS_MARK.search(token):
            continue
        if "://" in token and "@" in token:  # scheme://user:password@host
            return token.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[-1]
        if "://" in token:  # a webhook URL is the secret whole
            return token
        at = WHISPERS_MARK.search(token).start()
        # After a key (`DB_PASSWORD=`, `admin:`), not inside a token (Telegram's `123456789:AA…`).
        cut = max(token.rfind("=", 0, at), token.rfind(":", 0, at))
        return token[cut + 1:].lstrip("-") if re.search(r"[A-Za-z]", token[:max(cut, 0)]) else token
    return None


def whispers_base64_mark(line):
    """A noncompliant value that carries its marker base64-encoded (.dockercfg's auth)."""
    import base64
    import binascii
    for token in re.findall(r"[A-Za-z0-9+/]{12,}={0,2}", line):
        try:
            if b"hardcoded" in base64.b64decode(token + "=" * (-len(token) % 4)).lower():
                return token
        except (binascii.Error, ValueError):
            continue
    return None


def whispers_cases(path, text, family):
    """[(text, expect, family, secrets)] of one fixture."""
    name = path.removeprefix("tests/fixtures/")
    lines = text.split("\n")
    out = []
    if family == "private-key" and name != "privatekeys.json":
        # The file is one case: a key block (match, its body lines the secret) or, in falsepositive/, none.
        if name.startswith("falsepositive/"):
            return [(text.strip("\n"), "no-match", family, [])]
        start = next(i for i, l in enumerate(lines) if "-----BEGIN" in l)
        end = next(i for i, l in enumerate(lines) if "-----END" in l)
        body = [l for l in lines[start + 1:end] if l.strip() and not l.startswith("Version:")]
        return [("\n".join(lines[start:end + 1]), "match", family, body)]
    if name == ".npmrc":
        # Placeholders above the blank line, the five tokens whispers counts below it.
        blank = lines.index("")
        for i, line in enumerate(lines):
            if line.strip():
                out.append((line, "match" if i > blank else "no-match", family, [line.split("_authToken=", 1)[1]] if i > blank else []))
        return out
    if name == ".htpasswd":
        # user:hash lines; the user names say which are (non)compliant; a user with no hash has no value.
        for line in lines:
            if ":" in line and line.split(":", 1)[1].strip():
                out.append((line, "match", family, [line.split(":", 1)[1]]))
        return out
    state = "noncompliant" if name in ("settings.conf", "apikeys-known.yml", "privatekeys.json") else "compliant" if name.startswith(("falsepositive/", "placeholders.", "paths.", "custom.")) else None
    for line in lines:
        m = WHISPERS_SECTION.search(line)
        if m:
            state = "noncompliant" if m.group(1) else "compliant"
            if re.search(r"</\s*(?:non-?|in)?compliant\s*>", line, re.I):
                state = None
            # A section's heading line holds no case, but for jenkins.xml, whose tags name it.
            if name != "jenkins.xml" or WHISPERS_STRUCTURE.match(line):
                continue
        # script.sh: whispers reads a commented-out command too (its 15 include one).
        comment = name == "script.sh" and line.startswith("#")
        if state is None or (WHISPERS_STRUCTURE.match(line) and not comment) or WHISPERS_LONE_VALUE.match(line) or not WHISPERS_KEY_ON_LINE.search(line):
            continue
        # Not secrets: ARNs and AWS account ids (whispers' Low findings); jdbc.xml's other attributes.
        if "arn:aws:" in line or "aws_account" in line or (name == "jdbc.xml" and "connectionURL" not in line):
            continue
        if name == "jenkins.xml" and not m:
            continue
        fam = family
        if family is None:
            key = line.strip().split(":", 1)[0]
            fam = "teams" if key.startswith("outlook") else family_of(key)
            if fam is None:
                continue
        elif family == "generic" and re.search(r"://[^/\s:@]*:[^@\s]*@", line):
            fam = "basic-auth"
        if state == "compliant":
            out.append((line, "no-match", fam, []))
            continue
        secret = whispers_secret(line) if WHISPERS_MARK.search(line) else whispers_base64_mark(line)
        if name == "privatekeys.json":
            secret = re.search(r"\\n([A-Za-z0-9+/=]+)\\n|KEY-----([A-Za-z0-9+/=]+)-----", line)
            secret = secret and (secret.group(1) or secret.group(2))
            if "PUBLIC KEY" in line:
                out.append((line, "no-match", fam, []))
                continue
        if secret:
            out.append((line, "match", fam, [secret]))
    return out


def whispers(known, seen_stripped):
    repo = "adeptex/whispers"
    commit = git(repo, "rev-parse", "HEAD").strip()
    # test_detect_secrets_by_value's (fixture, severity, count) rows, to print beside what is kept.
    counts = {}
    tree = ast.parse(show(repo, "tests/unit/core/test_secrets.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize" and ast.literal_eval(node.args[0]) == ("src", "severity", "expected"):
            for elt in node.args[1].elts:
                src, _severity, count = elt.elts
                counts.setdefault(src.value, []).append(count.value)
    out = []
    for name, family in WHISPERS_FIXTURES.items():
        path = f"tests/fixtures/{name}"
        kept = 0
        for text, expect, fam, secrets in whispers_cases(path, show(repo, path), family):
            kept += expect == "match"
            if not tune_new(text, known, seen_stripped):
                continue
            known.add(text)
            seen_stripped.add(text.strip())
            row = {"family": fam, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit, "split": "tune", "case": name}
            if secrets:
                row["secrets"] = secrets
            out.append(row)
        if os.environ.get("WHISPERS_COUNTS"):
            print(f"  whispers {name}: {kept} match lines, test counts {counts.get(name)}", file=sys.stderr)
    return out, sum(1 for src in counts if src not in WHISPERS_FIXTURES)


def git_secrets(known, seen_stripped):
    """git-secrets' AWS cases: the credentials-file lines whose values its `--aws-provider` test expects
    it to prohibit (match), and the two documentation keys `--register-aws` allows (no-match)."""
    repo = "awslabs/git-secrets"
    commit = git(repo, "rev-parse", "HEAD").strip()
    path = "test/git-secrets.bats"
    src = show(repo, path)
    out = []

    def add(text, expect, case, secrets=()):
        if not tune_new(text, known, seen_stripped):
            return
        known.add(text)
        seen_stripped.add(text.strip())
        row = {"family": "aws", "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit, "split": "tune", "case": case}
        if secrets:
            row["secrets"] = list(secrets)
        out.append(row)

    test = src[src.index('@test "Scans using keys from credentials file"'):]
    test = test[:test.index("\n}\n")]
    for line in re.findall(r"^\s*echo '([^']*)' >>? \$BATS_TMPDIR/test\.ini", test, re.M):
        # aws_provider: the value after `=`, blanks and quotes taken out.
        add(line, "match", "Scans using keys from credentials file", [line.split("=", 1)[1].strip().strip('"')])
    script = show(repo, "git-secrets")
    for allowed in re.findall(r"add_config 'secrets\.allowed' [\"']([^\"']+)[\"']", script):
        add(allowed, "no-match", "register_aws: secrets.allowed")
    return out, 0


# earlybird's Go test tables: file -> (text fields, flag field, flag value meaning a finding).
EARLYBIRD_TABLES = {
    "pkg/scan/scan_test.go": ("LineValue", "wantIsHit", True),
    "pkg/scan/falsePositives_test.go": ("MatchValue", "wantIsFP", False),
    "pkg/postprocess/validatePassword_test.go": ("testPD password", "wantIgnore", False),
    "pkg/postprocess/skipSameKeyValue_test.go": ("lineValue", "wantIgnore", False),
    "pkg/postprocess/basicAuthHeader_test.go": (None, None, True),
    "pkg/postprocess/jwt_test.go": (None, None, True),
    "pkg/postprocess/pem_test.go": (None, None, True),
}
EARLYBIRD_POSITIONAL_FAMILY = {"basicAuthHeader": "basic-auth", "jwt": "jwt", "pem": "private-key"}
# A password postprocess test's value alone (`VeryStrong857#`, `my.property=…`) was found on a line
# whose keyword is not in the case; only cases whose key names a secret are kept.
EARLYBIRD_KEYWORD = re.compile(r"(?i)^[^:=]*(?:pass|pwd|secret|credential|token|key|auth)[^:=]*[:=]")
# falsePositives_test.go cases that test the filter on a value holding no secret: "Skip the github
# Url" expects a github.com URL not to be skipped, which says nothing of a token in it.
EARLYBIRD_SKIP = {"Skip the github Url"}


def earlybird_go_tables(src):
    """The items of every `[]struct{…}{…}` table: dicts of the keyed fields (nested ones merged) or
    positional lists."""
    toks = gotests.tokenize(src)
    clean = []
    i = 0
    while i < len(toks):
        if toks[i:i + 4] == [("op", "["), ("op", "]"), ("id", "byte"), ("op", "(")] and toks[i + 4][0] in ("str", "raw") and toks[i + 5] == ("op", ")"):
            clean.append(toks[i + 4])
            i += 6
            continue
        # A composite literal's type name (`Hit{`, `args{`) is dropped: go_composite reads the braces.
        if toks[i][0] == "id" and toks[i][1] != "struct" and i + 1 < len(toks) and toks[i + 1] == ("op", "{") and clean and clean[-1] in (("op", ":"), ("op", ","), ("op", "{")):
            i += 1
            continue
        clean.append(toks[i])
        i += 1
    tables = []
    for j in range(len(clean) - 3):
        if clean[j:j + 4] == [("op", "["), ("op", "]"), ("id", "struct"), ("op", "{")]:
            body = gotests.skip_balanced(clean, j + 3)
            if body < len(clean) and clean[body] == ("op", "{"):
                try:
                    items, _ = go_composite(clean, body, {})
                except (gotests.Fail, IndexError, TypeError, KeyError):
                    continue
                tables.append(items)

    def flat(v, into):
        for k, x in v.items():
            if isinstance(x, dict):
                flat(x, into)
            else:
                into[k] = x
        return into
    return [[flat(item, {}) if isinstance(item, dict) else item for item in table] for table in tables]


def earlybird_families(repo):
    """Rule code -> family, from config/rules/*.yaml: password-secret rules are keyword-context
    secrets unless their caption names a covered vendor or format; private-key rules of `key`."""
    import yaml  # PyYAML
    families = {}
    for path in git(repo, "ls-tree", "--name-only", "HEAD", "config/rules/").splitlines():
        for rule in yaml.safe_load(show(repo, path)).get("rules", []):
            if "Code" not in rule:
                continue
            caption = rule.get("Caption", "")
            vendor = next((family_of(w) for w in re.findall(r"[A-Za-z]+", caption) if family_of(w) not in (None, "generic")), None)
            if re.search(r"(?i)private key", caption):
                families[rule["Code"]] = "private-key"
            elif re.search(r"(?i)basic auth|connection string", caption):
                families[rule["Code"]] = "basic-auth"
            elif rule.get("Category") == "password-secret":
                families[rule["Code"]] = vendor or "generic"
    return families


def earlybird(known, seen_stripped):
    repo = "americanexpress/earlybird"
    commit = git(repo, "rev-parse", "HEAD").strip()
    families = earlybird_families(repo)
    out, dropped = [], set()
    for path, (fields, flag, finding) in EARLYBIRD_TABLES.items():
        stem = path.rsplit("/", 1)[-1].removesuffix("_test.go")
        for table in earlybird_go_tables(show(repo, path)):
            for item in table:
                if isinstance(item, list):  # (name, text, isSecret)
                    if len(item) != 3 or not isinstance(item[2], tuple):
                        continue
                    name, text, want = item[0], item[1], item[2] == ("name", "true")
                    if isinstance(text, list):
                        text = bytes(text).decode("utf-8", errors="replace")
                    family = EARLYBIRD_POSITIONAL_FAMILY[stem]
                else:
                    text = next((item[f] for f in fields.split() if isinstance(item.get(f), str)), None)
                    if text is None or flag not in item:
                        continue
                    name, want = item.get("name", ""), item[flag] == ("name", "true")
                    family = families.get(item["Code"]) if "Code" in item else "generic"
                    if family is None:
                        dropped.add(item["Code"])
                        continue
                expect = "match" if want == finding else "no-match"
                if name in EARLYBIRD_SKIP or (stem in ("validatePassword", "skipSameKeyValue") and not EARLYBIRD_KEYWORD.search(text)):
                    continue
                if not isinstance(text, str) or not tune_new(text, known, seen_stripped):
                    continue
                known.add(text)
                seen_stripped.add(text.strip())
                out.append({"family": family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit, "split": "tune", "case": name if isinstance(name, str) else ""})
    return out, len(dropped)


# ---- split `tune`, added in session 8: titus -------------------------------------------------

# titus rule files family_of does not read, and the family of each: connection strings and
# command-line or keyword-context credentials of the covered families, and the providers the policy
# has token rules for, under their own lowercase name. Other providers are counted and dropped, as
# for the other sources. A rule id overrides its file's family (curl's and http.yml's basic-auth
# rules beside their bearer-token ones).
TITUS_FAMILIES = {
    "hashicorp": "vault", "mongo": "basic-auth", "mysql": "basic-auth", "jdbc": "basic-auth", "odbc": "basic-auth",
    "rabbitmq": "basic-auth", "kingfisher.curl.1": "basic-auth", "np.http.1": "basic-auth", "curl": "generic", "http": "generic",
    "netrc": "generic", "psexec": "generic", "vmware": "generic", "gradle": "generic", "phpmailer": "generic", "react": "generic",
    "hashes": "generic", "filezilla": "generic", "django": "generic", "jenkins": "generic", "wireguard": "generic",
    "onepassword": "1password", "sendinblue": "brevo", "frame.io": "frameio", "frameio": "frameio",
    **{name: name for name in ("adobe", "age", "alibaba", "artifactory", "clojars", "doppler", "dynatrace", "easypost", "facebook",
                               "harness", "infracost", "mailchimp", "mapbox", "perplexity", "postman", "prefect", "pulumi", "readme",
                               "scalingo", "shippo", "typeform")},
}
# titus rule names of what a secret is used with, beyond kingfisher's IDENTIFIER_RULE: an
# organization, a project's or service's URL, a public key.
TITUS_IDENTIFIER_RULE = re.compile(r"\b(?:Organization|Project URL|Base URL|API URI|Public Key)$", re.I)


def titus(known, seen_stripped):
    """titus' rule examples (`examples` match, `negative_examples` no-match), as kingfisher's. Most of
    its noseyparker rules' examples are in corpus.jsonl already, and its kingfisher rules' in the
    kingfisher rows; only texts seen nowhere are taken."""
    import yaml  # PyYAML

    repo = "praetorian-inc/titus"
    commit = git(repo, "rev-parse", "HEAD").strip()
    out, dropped = [], 0
    for path in git(repo, "ls-tree", "--name-only", "HEAD", "pkg/rule/rules/").splitlines():
        stem = path.rsplit("/", 1)[-1].removesuffix(".yml")
        family = TITUS_FAMILIES.get(stem) or family_of(stem)
        if family is None:
            dropped += 1
            continue
        for rule in yaml.safe_load(show(repo, path)).get("rules", []):
            # Rules that find what a secret is used with: titus' `identifier` category (account ids,
            # buckets, ARNs, client ids, hosts, an age recipient), `visible: false` ones (reported
            # only as another rule's dependency) and, by name, ids, domains, hosts, URLs and names.
            name = re.sub(r"\s*\([^)]*\)$", "", rule.get("name", ""))
            if "identifier" in (rule.get("categories") or []) or rule.get("visible") is False or IDENTIFIER_RULE.search(name) or TITUS_IDENTIFIER_RULE.search(name):
                continue
            rule_family = TITUS_FAMILIES.get(rule.get("id", ""), family)
            for key, expect in (("examples", "match"), ("negative_examples", "no-match")):
                for text in rule.get(key) or []:
                    if not isinstance(text, str) or not tune_new(text, known, seen_stripped):
                        continue
                    known.add(text)
                    seen_stripped.add(text.strip())
                    out.append({"family": rule_family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit,
                                "split": "tune", "case": rule.get("id", "")})
    return out, dropped


# ---- split `tune`, added in session 8: talisman ----------------------------------------------

# talisman's filecontent tests that set a configuration (a threshold, file ignores, aggressive
# mode) or test credit card numbers, which are not secrets: skipped, as trivy's configuration tests.
TALISMAN_SKIP_TEST = re.compile(r"Threshold|Ignore|CreditCard")
TALISMAN_SKIP_BODY = re.compile(r"Threshold|FileIgnoreConfig|AggressiveMode|CreditCard")
# A JSON Web Token whole (three base64url parts), talisman's only flagged text of that family.
JWT_WHOLE = re.compile(r"^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$")


def talisman_expr(toks, i, value, names=None):
    """A Go string expression of talisman's tests at toks[i]: literals, `+`, `values[i]` (value),
    names of strings (names), strings.ToTitle / ToUpper, []byte(…). Returns (text, next index)."""
    def operand(i):
        k, v = toks[i]
        if k in ("str", "raw"):
            return (gotests.unquote(v) if k == "str" else v[1:-1]), i + 1
        if toks[i:i + 4] == [("id", "values"), ("op", "["), ("id", "i"), ("op", "]")]:
            return value, i + 4
        if toks[i:i + 4] == [("op", "["), ("op", "]"), ("id", "byte"), ("op", "(")]:
            text, j = talisman_expr(toks, i + 4, value, names)
            return text, j + 1
        if toks[i:i + 2] == [("id", "strings"), ("op", ".")] and toks[i + 2][1] in ("ToTitle", "ToUpper") and toks[i + 3] == ("op", "("):
            text, j = talisman_expr(toks, i + 4, value, names)
            return text.upper(), j + 1
        if k == "id" and names and v in names:
            return names[v], i + 1
        raise gotests.Fail(f"token {v!r}")
    text, i = operand(i)
    while toks[i] == ("op", "+"):
        more, i = operand(i + 1)
        text += more
    return text, i


def talisman_pattern_cases(src):
    """TestShouldDetectPasswordPatterns: [(text, expect)]; shouldPass… expects one finding, shouldFail… none.
    The calls in its `for` loop are made once per keyword of `values`."""
    body = src[src.index("func TestShouldDetectPasswordPatterns("):]
    toks = gotests.tokenize(body[:body.index("\n}\n") + 3])
    at = toks.index(("id", "values"))
    values = [gotests.unquote(v) for k, v in toks[at:gotests.skip_balanced(toks, toks.index(("op", "{"), at))] if k == "str"]
    loop = toks.index(("id", "for"))
    loop_body = toks.index(("op", "{"), loop)
    loop_end = gotests.skip_balanced(toks, loop_body)
    out = []
    for i, (k, v) in enumerate(toks):
        if k == "id" and v in ("shouldPassDetectionOfSecretPattern", "shouldFailDetectionOfSecretPattern"):
            arg = toks.index(("op", ","), i) + 1  # after `filename,`
            for value in (values if loop_body < i < loop_end else [None]):
                text, _ = talisman_expr(toks, arg, value)
                out.append((text, "match" if v.startswith("shouldPass") else "no-match"))
    return out


def talisman_filecontent_cases(src):
    """Tests of one text (a `const` or `s :=` string): [(test, text, expect)], from
    `assert.True/False(t, results.HasFailures()…)` or a unit detector's `assert.Equal(t, s, res)` / `(t, "", res)`."""
    out = []
    for m in re.finditer(r"^func (Test\w+)\(t \*testing\.T\) \{\n(.*?)^\}", src, re.M | re.S):
        name, body = m.groups()
        if TALISMAN_SKIP_TEST.search(name) or TALISMAN_SKIP_BODY.search(body):
            continue
        toks = gotests.tokenize(body)
        # The strings the test defines (`const x [string] = …`, `s := …`), then the one it scans:
        # the argument of `NewAddition(filename, []byte(…))` or of a unit detector's Check…Encoding.
        names = {}
        for i in range(len(toks) - 3):
            const = i > 0 and toks[i - 1] == ("id", "const")
            start = (i + 3 if const and toks[i + 1:i + 3] == [("id", "string"), ("op", "=")] else i + 2 if const and toks[i + 1] == ("op", "=")
                     else i + 2 if toks[i + 1] == ("op", ":=") else None)
            if toks[i][0] == "id" and start is not None:
                try:
                    names[toks[i][1]] = talisman_expr(toks, start, None, names)[0]
                except gotests.Fail:
                    pass
        texts = []
        for i in range(len(toks) - 4):
            if toks[i:i + 4] == [("id", "NewAddition"), ("op", "("), ("id", "filename"), ("op", ",")]:
                texts.append(talisman_expr(toks, i + 4, None, names)[0])
            elif toks[i][0] == "id" and re.fullmatch(r"Check\w+Encoding", toks[i][1]) and toks[i + 1] == ("op", "("):
                texts.append(talisman_expr(toks, i + 2, None, names)[0])
        if re.search(r"assert\.True\(t, results\.HasFailures\(\)|assert\.Equal\(t, s, res\)", body):
            expect = "match"
        elif re.search(r"assert\.False\(t, results\.HasFailures\(\)|assert\.Equal\(t, \"\", res\)", body):
            expect = "no-match"
        else:
            continue
        if len(texts) == 1:
            out.append((name, texts[0], expect))
    return out


def talisman(known, seen_stripped):
    """thoughtworks/talisman's detector tests: the pattern detector's keyword cases, and the file
    content detectors' single-text tests."""
    repo = "thoughtworks/talisman"
    commit = git(repo, "rev-parse", "HEAD").strip()
    out, dropped = [], 0

    def add(text, family, expect, path, case):
        if not tune_new(text, known, seen_stripped):
            return
        known.add(text)
        seen_stripped.add(text.strip())
        out.append({"family": family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit, "split": "tune", "case": case})

    path = "detector/pattern/pattern_detector_test.go"
    for text, expect in talisman_pattern_cases(show(repo, path)):
        # `AWS key :` is a keyword with no value: talisman flags the keyword, there is no secret.
        if re.fullmatch(r"[\w ]*:\s*", text):
            dropped += 1
            continue
        add(text, "private-key" if "PRIVATE KEY" in text else "generic", expect, path, "TestShouldDetectPasswordPatterns")
    for name in ("filecontent_detector_test.go", "base64_detector_test.go", "hex_detector_test.go"):
        path = f"detector/filecontent/{name}"
        for test, text, expect in talisman_filecontent_cases(show(repo, path)):
            family = "aws" if "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" in text else "jwt" if JWT_WHOLE.match(text) else "generic"
            # A flagged text of no family is encoded text talisman finds by its entropy (hex of
            # `hello world!`, a JWT header with letters after it), not a secret.
            if expect == "match" and family == "generic":
                dropped += 1
                continue
            add(text, family, expect, path, test)
    return out, dropped


def main():
    known = set()
    for name in ("../corpus.jsonl", "../vendor-formats.jsonl"):
        with open(name) as f:
            known.update(json.loads(line)["text"] for line in f if line.strip())
    rows = []
    for build in (trufflehog, kingfisher, detect_secrets):
        cases, dropped = build(known)
        print(f"{build.__name__}: {len(cases)} cases, {dropped} detectors/rule files outside the covered families", file=sys.stderr)
        rows.extend(cases)
    tune_stripped = {row["text"].strip() for row in rows}
    for build in (semgrep_rules, trivy, ripsecrets):
        cases, dropped = build(known, tune_stripped)
        print(f"{build.__name__}: {len(cases)} cases, {dropped} rules/test files outside the covered families", file=sys.stderr)
        rows.extend(cases)
    # Tune cases added after the held-out split was written: appended, so every earlier row stays as
    # it was, and kept out of the held-out split's texts (a text differing only in blanks counts).
    seen_stripped = {row["text"].strip() for row in rows}
    for build in (whispers, git_secrets, earlybird):
        cases, dropped = build(known, seen_stripped)
        print(f"{build.__name__}: {len(cases)} cases, {dropped} fixtures/rules outside the covered families", file=sys.stderr)
        rows.extend(cases)
    # titus (session 8) after all of them, for the same reason.
    cases, dropped = titus(known, seen_stripped)
    print(f"titus: {len(cases)} cases, {dropped} rule files outside the covered families", file=sys.stderr)
    rows.extend(cases)
    cases, dropped = talisman(known, seen_stripped)
    print(f"talisman: {len(cases)} cases, {dropped} flagged texts holding no secret", file=sys.stderr)
    rows.extend(cases)
    counts = {}
    for row in rows:
        key = (row["split"], row["source"].split(":")[0], row["family"])
        counts.setdefault(key, [0, 0])[row["expect"] == "no-match"] += 1
    for (split, source, family), (match, no_match) in sorted(counts.items()):
        print(f"  {split:8} {source:28} {family:13} {match:4} match {no_match:4} no-match", file=sys.stderr)
    with open("held-out.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
