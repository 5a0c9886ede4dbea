#!/usr/bin/env python3
"""Writes held-out.jsonl: token cases from secret scanners' test suites the rules were NOT built from.

Sources (each case names repository, path and commit):
- trufflesecurity/trufflehog: the `Test*_Pattern` cases of pkg/detectors/*/…_test.go
  (`input` → text, `want` non-empty → match, empty → no-match). Split `tune`.
- mongodb/kingfisher: `examples` / `negative_examples` of data/rules/*.yml. Split `held-out`.
- Yelp/detect-secrets: `(payload, should_flag)` parametrize cases of tests/plugins/*_test.py.
  Split `held-out`.

Only the families the policy is meant to cover (issue 12's list) are kept; every other detector
is counted and dropped. Texts already in corpus.jsonl or vendor-formats.jsonl are dropped.
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

# detector / rule-file name (lower case, without separators) -> family; first matching prefix wins.
FAMILY_PREFIXES = [
    ("stripepaymentintent", None), ("squarespace", None), ("gemini", None), ("azureopenai", "azure"),
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
NOT_A_SECRET = re.compile(r"^(?:[^@\s]+@[^@\s]+\.[a-z]{2,}|[a-z][a-z0-9+.-]*://\S+|(?:[a-z0-9-]+\.)+[a-z]{2,}(?::[0-9]+)?(?:/\S*)?)$", re.I)

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
            for key, expect in (("examples", "match"), ("negative_examples", "no-match")):
                for text in rule.get(key) or []:
                    if not isinstance(text, str) or not text.strip() or text in known:
                        continue
                    known.add(text)
                    out.append({"family": family, "text": text, "expect": expect, "source": f"{repo}:{path}", "commit": commit,
                                "split": "held-out", "case": rule.get("id", "")})
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
                            "split": "held-out", "case": ""})
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
    with open("held-out.jsonl", "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
