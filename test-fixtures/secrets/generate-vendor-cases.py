#!/usr/bin/env python3
"""Writes vendor-formats.jsonl: token cases built from each vendor's documented token format.

Every positive is a random token of the documented shape (seeded, so the file is reproducible),
set in the contexts a developer's text has (dotenv, JSON, YAML, shell, URL, prose). Every
negative is what the docs and READMEs put in that place instead: placeholders, truncated or
wrong-alphabet tokens, variable names, ordinary identifiers and hashes. Run from this directory:
`python3 generate-vendor-cases.py`.
"""
import base64
import json
import random

rng = random.Random(20261201)
AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
az = AZ.lower()
D = "0123456789"
HEX = "0123456789abcdef"
B62 = AZ + az + D
B64 = B62 + "+/"
URL = B62 + "_-"


def r(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def uuid():
    return f"{r(HEX, 8)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 12)}"


def pem_key():
    body = base64.b64encode(bytes(rng.randrange(256) for _ in range(300))).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"


def jwt():
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": r(D, 10), "name": r(az, 8), "iat": 1700000000 + rng.randrange(10**6)}).encode()).decode().rstrip("=")
    return f"{header}.{payload}.{r(URL, 43)}"


CONTEXTS = [
    lambda name, token: f"export {name}={token}\n",
    lambda name, token: f'{{"{name.lower()}": "{token}"}}',
    lambda name, token: f"{name.lower()}: '{token}'\n",
    lambda name, token: f"curl -H 'Authorization: Bearer {token}' https://api.example.com/v1/me",
    lambda name, token: f"I pasted my token {token} into the chat, is that bad?",
]

# family -> (documentation the format comes from, env name, generator of tokens)
FORMATS = {
    "aws": [
        ("AWS IAM user guide: access key ids (AKIA/ASIA + 16 base32)", "AWS_ACCESS_KEY_ID", lambda: "AKIA" + r("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        ("AWS STS docs: session tokens (base64, IQoJb3JpZ2lu… prefix)", "AWS_SESSION_TOKEN", lambda: "IQoJb3JpZ2luX2VjE" + r(B64, 300)),
        ("AWS AppSync docs: API keys da2-", "APPSYNC_API_KEY", lambda: "da2-" + r(az + D, 26)),
    ],
    "azure": [
        ("Azure Storage docs: connection string AccountKey (88 base64)", "AZURE_STORAGE_CONNECTION_STRING", lambda: (lambda key: (f"DefaultEndpointsProtocol=https;AccountName={r(az, 10)};AccountKey={key};EndpointSuffix=core.windows.net", key))(r(B64, 86) + "==")),
        ("Microsoft Entra docs: client secret values (3 chars, digit, Q~, 31-34)", "AZURE_CLIENT_SECRET", lambda: r(B62, 3) + r(D, 1) + "Q~" + r(B62 + "_~.-", 34)),
        ("Azure Storage docs: SAS token sig= parameter", "AZURE_SAS_URL", lambda: (lambda sig: (f"https://{r(az, 8)}.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig={sig}", sig))(r(B62, 40) + "%3D")),
        ("Azure DevOps docs: personal access tokens (84 chars, AZDO signature)", "AZURE_DEVOPS_PAT", lambda: r(B62, 52) + "AZDO" + r(B62, 4)),
    ],
    "google": [
        ("Google Cloud docs: API keys AIza + 35", "GOOGLE_API_KEY", lambda: "AIza" + r(URL, 35)),
        ("Google OAuth docs: access tokens ya29.", "GOOGLE_OAUTH_ACCESS_TOKEN", lambda: "ya29." + r(URL, 150)),
        ("Google OAuth docs: client secrets GOCSPX-", "GOOGLE_CLIENT_SECRET", lambda: "GOCSPX-" + r(URL, 28)),
        ("Google OAuth docs: refresh tokens 1//0…", "GOOGLE_REFRESH_TOKEN", lambda: "1//0" + r(URL, 100)),
    ],
    "github": [
        ("GitHub docs: token prefixes ghp_/gho_/ghu_/ghs_/ghr_", "GH_PAT", lambda: rng.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + r(B62, 36)),
        ("GitHub docs: fine-grained PATs github_pat_", "GITHUB_PAT", lambda: "github_pat_" + r(B62, 22) + "_" + r(B62, 59)),
    ],
    "gitlab": [
        ("GitLab docs: token prefixes glpat- (with the .01. routable suffix)", "GITLAB_PAT", lambda: "glpat-" + r(URL, 27) + ".01." + r(az + D, 9)),
        ("GitLab docs: runner tokens glrt-", "GITLAB_RUNNER_TOKEN", lambda: "glrt-" + r(URL, 20)),
    ],
    "bitbucket": [("Bitbucket docs: app passwords ATBB", "BITBUCKET_APP_PASSWORD", lambda: "ATBB" + r(B62, 32))],
    "slack": [
        ("Slack docs: bot tokens xoxb-", "SLACK_BOT_TOKEN", lambda: f"xoxb-{r(D, 12)}-{r(D, 13)}-{r(B62, 24)}"),
        ("Slack docs: incoming webhooks", "SLACK_WEBHOOK_URL", lambda: (lambda url: ("https://" + url, url))(f"hooks.slack.com/services/T{r(AZ + D, 10)}/B{r(AZ + D, 10)}/{r(B62, 24)}")),
    ],
    "discord": [
        ("Discord developer docs: bot tokens (base64 id . timestamp . hmac)", "DISCORD_BOT_TOKEN", lambda: base64.b64encode(r(D, 18).replace("0", "1", 1).encode()).decode().rstrip("=") + "." + r(URL, 6) + "." + r(URL, 38)),
        ("Discord developer docs: webhook URLs", "DISCORD_WEBHOOK", lambda: (lambda url: ("https://" + url, url))(f"discord.com/api/webhooks/{r(D, 18)}/{r(URL, 68)}")),
    ],
    "telegram": [("Telegram Bot API docs: bot tokens <id>:AA…", "TELEGRAM_BOT_TOKEN", lambda: f"{r(D, 10)}:AA{r(URL, 33)}")],
    "teams": [("Microsoft Teams docs: incoming webhook URLs", "TEAMS_WEBHOOK_URL", lambda: (lambda url: ("https://" + url, url))(f"{r(az, 8)}.webhook.office.com/webhookb2/{uuid()}@{uuid()}/IncomingWebhook/{r(HEX, 32)}/{uuid()}"))],
    "stripe": [
        ("Stripe docs: secret and restricted keys", "STRIPE_SECRET_KEY", lambda: rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + r(B62, 99)),
        ("Stripe docs: webhook signing secrets whsec_", "STRIPE_WEBHOOK_SECRET", lambda: "whsec_" + r(B62, 32)),
    ],
    "square": [("Square docs: access tokens EAAA", "SQUARE_ACCESS_TOKEN", lambda: "EAAA" + r(URL, 60))],
    "paypal": [("Braintree docs: access tokens", "BRAINTREE_ACCESS_TOKEN", lambda: f"access_token$production${r(az + D, 16)}${r(HEX, 32)}")],
    "atlassian": [("Atlassian docs: API tokens ATATT3", "JIRA_API_TOKEN", lambda: "ATATT3xFfGF0" + r(URL, 170) + "=" + r(HEX.upper(), 8))],
    "linear": [("Linear docs: personal API keys lin_api_", "LINEAR_API_KEY", lambda: "lin_api_" + r(B62, 40))],
    "notion": [
        ("Notion docs: integration tokens ntn_", "NOTION_TOKEN", lambda: "ntn_" + r(D, 11) + r(B62, 35)),
        ("Notion docs: legacy integration secrets secret_", "NOTION_SECRET", lambda: "secret_" + r(B62, 43)),
    ],
    "datadog": [("Datadog docs: API keys (32 hex)", "DD_API_KEY", lambda: r(HEX, 32))],
    "sentry": [("Sentry docs: user auth tokens sntryu_", "SENTRY_AUTH_TOKEN", lambda: "sntryu_" + r(HEX, 64))],
    "newrelic": [("New Relic docs: user API keys NRAK-", "NEW_RELIC_API_KEY", lambda: "NRAK-" + r(AZ + D, 27))],
    "twilio": [
        ("Twilio docs: API key SIDs SK + 32 hex", "TWILIO_API_KEY", lambda: "SK" + r(HEX, 32)),
        ("Twilio docs: auth tokens (32 hex)", "TWILIO_AUTH_TOKEN", lambda: r(HEX, 32)),
    ],
    "sendgrid": [("SendGrid docs: API keys SG.", "SENDGRID_API_KEY", lambda: f"SG.{r(URL, 22)}.{r(URL, 43)}")],
    "mailgun": [("Mailgun docs: API keys key-", "MAILGUN_API_KEY", lambda: "key-" + r(HEX, 32))],
    "postmark": [("Postmark docs: server tokens (UUID)", "POSTMARK_SERVER_TOKEN", uuid)],
    "shopify": [("Shopify docs: access tokens shpat_", "SHOPIFY_ACCESS_TOKEN", lambda: rng.choice(["shpat_", "shpca_", "shppa_", "shpss_"]) + r(HEX, 32))],
    "hubspot": [("HubSpot docs: private app tokens pat-na1-", "HUBSPOT_ACCESS_TOKEN", lambda: "pat-na1-" + uuid())],
    "cloudflare": [
        ("Cloudflare docs: API tokens (40 chars)", "CLOUDFLARE_API_TOKEN", lambda: r(URL, 40)),
        ("Cloudflare docs: global API key (37 hex)", "CLOUDFLARE_API_KEY", lambda: r(HEX, 37)),
    ],
    "digitalocean": [("DigitalOcean docs: tokens dop_v1_", "DIGITALOCEAN_TOKEN", lambda: "dop_v1_" + r(HEX, 64))],
    "heroku": [
        ("Heroku docs: API keys HRKU-AA", "HEROKU_API_KEY", lambda: "HRKU-AA" + r(URL, 58)),
        ("Heroku docs: legacy API keys (UUID)", "HEROKU_API_KEY", uuid),
    ],
    "vercel": [("Vercel docs: access tokens vcp_", "VERCEL_TOKEN", lambda: "vcp_" + r(B62, 56))],
    "netlify": [("Netlify docs: personal access tokens nfp_", "NETLIFY_AUTH_TOKEN", lambda: "nfp_" + r(B62, 36))],
    "flyio": [("Fly.io docs: tokens fo1_", "FLY_API_TOKEN", lambda: "fo1_" + r(URL, 43))],
    "supabase": [("Supabase docs: access tokens sbp_ and secret keys sb_secret_", "SUPABASE_ACCESS_TOKEN", lambda: rng.choice(["sbp_" + r(HEX, 40), "sb_secret_" + r(URL, 31)]))],
    "planetscale": [("PlanetScale docs: service tokens and passwords", "PLANETSCALE_TOKEN", lambda: rng.choice(["pscale_tkn_", "pscale_pw_"]) + r(URL, 43))],
    "npm": [("npm docs: access tokens npm_", "NPM_TOKEN", lambda: "npm_" + r(B62, 36))],
    "pypi": [("PyPI docs: API tokens pypi-AgEIcHlwaS5vcmc", "PYPI_TOKEN", lambda: "pypi-AgEIcHlwaS5vcmc" + r(URL, 120))],
    "docker": [
        ("Docker docs: personal and organization access tokens", "DOCKER_TOKEN", lambda: rng.choice(["dckr_pat_", "dckr_oat_"]) + r(URL, 27)),
        ("Docker docs: config.json auths entries (base64 user:password)", "DOCKER_AUTH", lambda: (lambda auth: ('{"auths": {"https://index.docker.io/v1/": {"auth": "' + auth + '"}}}', auth))(base64.b64encode(f"{r(az, 8)}:{r(B62, 16)}".encode()).decode())),
    ],
    "rubygems": [("RubyGems guides: API keys rubygems_", "GEM_HOST_API_KEY", lambda: "rubygems_" + r(HEX, 48))],
    "nuget": [("NuGet docs: API keys oy2", "NUGET_API_KEY", lambda: "oy2" + r(az + D, 43))],
    "crates": [("crates.io docs: API tokens cio", "CARGO_REGISTRY_TOKEN", lambda: "cio" + r(B62, 32))],
    "anthropic": [("Anthropic docs: API keys sk-ant-api03-", "ANTHROPIC_API_KEY", lambda: "sk-ant-api03-" + r(URL, 93) + "AA")],
    "openai": [("OpenAI docs: project API keys sk-proj-…T3BlbkFJ…", "OPENAI_API_KEY", lambda: "sk-proj-" + r(URL, 74) + "T3BlbkFJ" + r(URL, 74))],
    "huggingface": [("Hugging Face docs: user access tokens hf_", "HF_TOKEN", lambda: "hf_" + r(B62, 34))],
    "replicate": [("Replicate docs: API tokens r8_", "REPLICATE_API_TOKEN", lambda: "r8_" + r(B62, 37))],
    "groq": [("Groq docs: API keys gsk_", "GROQ_API_KEY", lambda: "gsk_" + r(B62, 52))],
    "mistral": [("Mistral docs: API keys (32 alphanumerics)", "MISTRAL_API_KEY", lambda: r(B62, 32))],
    "cohere": [("Cohere docs: API keys (40 alphanumerics)", "COHERE_API_KEY", lambda: r(B62, 40))],
    "openrouter": [("OpenRouter docs: API keys sk-or-v1-", "OPENROUTER_API_KEY", lambda: "sk-or-v1-" + r(HEX, 64))],
    "private-key": [
        ("RFC 7468: PEM private keys", "PRIVATE_KEY", pem_key),
        ("RFC 7468 in base64 (Kubernetes secrets, CI variables)", "PRIVATE_KEY_B64", lambda: base64.b64encode(pem_key().encode()).decode()),
    ],
    "jwt": [("RFC 7519: JSON Web Tokens", "ID_TOKEN", jwt)],
    "basic-auth": [("RFC 3986 userinfo: credentials in URLs", "DATABASE_URL", lambda: (lambda password: (f"postgres://{r(az, 6)}:{password}@db.{r(az, 6)}.internal:5432/app", password))(r(B62, 18)))],
    "generic": [
        ("keyword context: a secret assigned to a credential-named variable", "DB_PASSWORD", lambda: r(B62, 10) + r(D, 3) + r("!@#%^*", 1) + r(B62, 6)),
        ("keyword context: a short human password", "SMTP_PASSWORD", lambda: r(AZ, 1) + r(az, 4) + r(D, 2) + r("!@#%", 1) + r(az, 2)),
        ("keyword context: an API key of an unlisted vendor", "ACME_API_KEY", lambda: r(B62, 32)),
    ],
}

# Names that carry the context a keyword-context rule needs (the env name is part of the text).
NEEDS_NAME = {"datadog", "twilio", "cloudflare", "heroku", "postmark", "mistral", "cohere", "generic"}

NEGATIVES = {
    "aws": ["AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX", "da2-example"],
    "azure": ["AccountKey=<your-account-key>", "AZURE_CLIENT_SECRET=${AZURE_CLIENT_SECRET}", "sig=REDACTED"],
    "google": ["GOOGLE_API_KEY=AIza...", "GOCSPX-xxxx", "refresh_token: 1//0abc"],
    "github": ["GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "see ghp_ prefix in docs", "commit 3f786850e387550fdab836ed7e6dc881de23001b"],
    "gitlab": ["GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx", "glpat- tokens expire"],
    "slack": ["SLACK_BOT_TOKEN=xoxb-your-token", "https://hooks.slack.com/services/T000/B000/XXXX"],
    "discord": ["DISCORD_TOKEN=your-bot-token-here", "https://discord.com/api/webhooks/123/abc"],
    "telegram": ["TELEGRAM_BOT_TOKEN=123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "time 12:34:56"],
    "stripe": ["STRIPE_SECRET_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX", "pk_live_ publishable keys are public", "whsec_..."],
    "atlassian": ["JIRA_API_TOKEN=<token>", "ATATT3xFfGF0"],
    "notion": ["NOTION_TOKEN=secret_xxx", "const secret_key = getSecretKey();"],
    "twilio": ["TWILIO_ACCOUNT_SID=ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "SKU-1234"],
    "private-key": ["-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----"],
    "jwt": ["header.payload.signature", "eyJhbGciOi..."],
    "basic-auth": ["postgres://user:password@localhost:5432/db", "https://user:${PASSWORD}@example.com", "redis://:changeme@cache:6379", "mongodb://admin:<password>@host/db"],
    "generic": ["password = getenv('DB_PASSWORD')", "token: ${{ secrets.NPM_TOKEN }}", "api_key = config.api_key", "PASSWORD=changeme", "secret: your_secret_here", "const token = await getToken();", "auth: this.authService.currentUser", "key=value"],
    "docker": ['"auth": ""', '"credsStore": "desktop"'],
    "npm": ["//registry.npmjs.org/:_authToken=${NPM_TOKEN}"],
    "openai": ["OPENAI_API_KEY=sk-...", "sk-proj-your-key-here"],
    "anthropic": ["ANTHROPIC_API_KEY=sk-ant-api03-...", "sk-ant- prefix"],
    "huggingface": ["HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
}

# Ordinary developer text that must cross untouched.
DEVELOPER_TEXT = [
    "import { readFile } from 'node:fs/promises';",
    "const hash = 'sha256-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';",
    "git checkout 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "uuid: 123e4567-e89b-12d3-a456-426614174000",
    "background: url(data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)",
    "The deploy key is stored in the vault; ask ops for access.",
    "export NODE_ENV=production",
    "integrity sha512-VQFoGzXOaTyB3Kd1xqbZdWYpGrAuBcm2QNVJxrKfC6e6vCEKBoTmgPMAdt1ljMG+xYkY1gfnkGyGwIvfh1vRog==",
    "https://github.com/sbx/sbx/blob/main/README.md",
    "docker run --rm -it node:22-bookworm",
    "password_min_length = 12",
    "tokenizer = AutoTokenizer.from_pretrained('bert-base-uncased')",
    "secret_santa_assignments.json",
    "api_key_header_name = 'X-Api-Key'",
    "auth: { type: 'oauth', scopes: ['repo', 'read:org'] }",
    "color: #1a2b3c; margin: 0 auto;",
    "SELECT id, name FROM users WHERE token_expires_at < NOW();",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
    "npm install --save-dev vitest@4.1.12 typescript@5.9.3",
    "version: 2.10.0  # re2js",
]

EXTRA_FORMATS = {
    "github": [
        ("GitHub docs: tokens in git URLs (x-oauth-basic)", "GIT_REMOTE", lambda: (lambda token: (f"https://{token}:x-oauth-basic@github.com/acme/app.git", token))(r(B62, 40))),
        ("GitHub docs: classic tokens before prefixes (40 hex)", "GITHUB_TOKEN", lambda: r(HEX, 40)),
        ("GitHub docs: OAuth app client secrets (40 hex)", "GITHUB_CLIENT_SECRET", lambda: r(HEX, 40)),
    ],
    "gitlab": [
        ("GitLab docs: pipeline trigger tokens glptt-", "GITLAB_TRIGGER_TOKEN", lambda: "glptt-" + r(HEX, 40)),
        ("GitLab docs: runner registration tokens GR1348941", "RUNNER_TOKEN", lambda: "GR1348941" + r(URL, 20)),
        ("GitLab docs: deploy tokens gldt-", "GITLAB_DEPLOY_TOKEN", lambda: "gldt-" + r(URL, 20)),
        ("GitLab docs: session cookies", "GITLAB_COOKIE", lambda: (lambda value: ("_gitlab_session=" + value, value))(r(HEX, 32))),
    ],
    "slack": [("Slack docs: legacy workspace tokens xoxa-", "SLACK_TOKEN", lambda: "xoxa-2-" + r(B62, 40))],
    "aws": [
        ("AWS docs: secret access keys (40 base64)", "AWS_SECRET_ACCESS_KEY", lambda: r(B64, 40)),
        ("Amazon MWS docs: auth tokens amzn.mws.", "MWS_AUTH_TOKEN", lambda: "amzn.mws." + uuid()),
        ("AWS IAM console: the access key CSV (key id, then its secret)", "AWS_KEYS_CSV", lambda: (lambda secret: ("{" + f'"csv": "Access key ID,Secret access key\\nAKIA{r("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)},{secret}"' + "}", secret))(r(AZ, 4) + r(az, 4) + r(D, 4) + r(B64, 28))),
    ],
    "anthropic": [("Claude Code: OAuth tokens sk-ant-oat01-", "CLAUDE_CODE_OAUTH_TOKEN", lambda: "sk-ant-oat01-" + r(URL, 95) + "AA")],
    "xai": [("xAI docs: API keys xai-", "XAI_API_KEY", lambda: "xai-" + r(B62, 80))],
    "npm": [("npm docs: .npmrc _auth (base64 user:password)", "NPMRC", lambda: (lambda auth: ("_auth=" + auth, auth))(base64.b64encode(f"{r(az, 6)}:{r(B62, 14)}".encode()).decode()))],
    "azure": [("Azure DevOps docs: classic PATs (52 base32)", "AZURE_DEVOPS_PAT", lambda: r("abcdefghijklmnopqrstuvwxyz234567", 52))],
    "atlassian": [("Atlassian docs: legacy API tokens (24 alphanumerics)", "JIRA_API_TOKEN", lambda: r(B62, 24))],
    "discord": [("Discord developer docs: OAuth2 client secrets (32)", "DISCORD_CLIENT_SECRET", lambda: r(URL, 32))],
    "paypal": [("PayPal docs: REST client secrets (80)", "PAYPAL_CLIENT_SECRET", lambda: r(URL, 80))],
    "sentry": [("Sentry docs: auth tokens (64 hex)", "SENTRY_AUTH_TOKEN", lambda: r(HEX, 64))],
    "newrelic": [("New Relic docs: license keys …NRAL", "NEW_RELIC_LICENSE_KEY", lambda: r(HEX, 36) + "NRAL")],
    "hubspot": [("HubSpot docs: legacy API keys (UUID)", "HUBSPOT_API_KEY", uuid)],
    "cloudflare": [("Cloudflare docs: origin CA keys v1.0-", "CLOUDFLARE_ORIGIN_CA_KEY", lambda: f"v1.0-{r(HEX, 24)}-{r(HEX, 146)}")],
    "linear": [("Linear docs: OAuth access tokens lin_oauth_", "LINEAR_OAUTH_TOKEN", lambda: "lin_oauth_" + r(HEX, 64))],
}
for family, formats in EXTRA_FORMATS.items():
    FORMATS.setdefault(family, []).extend(formats)
NEEDS_NAME_FORMATS = {"SMTP_PASSWORD", "ACME_API_KEY", "GITHUB_TOKEN", "GITHUB_CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY", "AZURE_DEVOPS_PAT", "JIRA_API_TOKEN", "DISCORD_CLIENT_SECRET", "PAYPAL_CLIENT_SECRET", "SENTRY_AUTH_TOKEN", "HUBSPOT_API_KEY"}

EXTRA_NEGATIVES = {
    "openrouter": ["OPENROUTER_API_KEY=sk-or-v1-..."],
    "xai": ["XAI_API_KEY=xai-your-key"],
    "pypi": ["password = pypi-AgEIcHlwaS5vcmc..."],
    "aws": ["AKIAIOSFODNN7EXAMPLE deployed at commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904"],
    "digitalocean": ["DIGITALOCEAN_TOKEN=dop_v1_xxxxxxxx"],
    "heroku": ["HEROKU_API_KEY=$(heroku auth:token)"],
    "sentry": ["SENTRY_DSN=${SENTRY_DSN}", "sntryu_ tokens are user tokens"],
    "age": ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p (a public key)"],
    "bitbucket": ["BITBUCKET_APP_PASSWORD=ATBB-your-app-password"],
    "teams": ["https://outlook.office.com/mail/inbox"],
    "square": ["SQUARE_ACCESS_TOKEN=EAAA..."],
    "paypal": ["PAYPAL_CLIENT_SECRET=${PAYPAL_SECRET}"],
    "datadog": ["DD_API_KEY=<DATADOG_API_KEY>"],
    "newrelic": ["NEW_RELIC_LICENSE_KEY=your_license_key"],
    "mailgun": ["MAILGUN_API_KEY=key-xxxxxxxx"],
    "postmark": ["POSTMARK_SERVER_TOKEN=POSTMARK_API_TEST"],
    "hubspot": ["HUBSPOT_ACCESS_TOKEN=pat-na1-..."],
    "cloudflare": ["CLOUDFLARE_API_TOKEN=${{ secrets.CLOUDFLARE_API_TOKEN }}"],
    "netlify": ["NETLIFY_AUTH_TOKEN=nfp_..."],
    "supabase": ["SUPABASE_ANON_KEY=sb_publishable_abc"],
    "planetscale": ["PLANETSCALE_TOKEN=pscale_tkn_..."],
    "rubygems": ["GEM_HOST_API_KEY=rubygems_..."],
    "nuget": ["NUGET_API_KEY=oy2..."],
    "crates": ["CARGO_REGISTRY_TOKEN=cio..."],
    "replicate": ["REPLICATE_API_TOKEN=r8_..."],
    "mistral": ["MISTRAL_API_KEY=your-api-key"],
    "cohere": ["COHERE_API_KEY=<your key>"],
}
for family, texts in EXTRA_NEGATIVES.items():
    NEGATIVES.setdefault(family, []).extend(texts)


rows = []
for family, formats in FORMATS.items():
    for source, name, make in formats:
        for context in CONTEXTS if family not in NEEDS_NAME and name not in NEEDS_NAME_FORMATS else CONTEXTS[:3]:
            made = make()
            token, secret = made if isinstance(made, tuple) else (made, made)
            text = context(name, token) if not token.startswith("{") else token
            rows.append({"family": family, "text": text, "secret": secret, "expect": "match", "source": source})
for family, texts in NEGATIVES.items():
    for text in texts:
        rows.append({"family": family, "text": text, "expect": "no-match", "source": f"placeholder or near miss in the shape the {family} docs show"})
for text in DEVELOPER_TEXT:
    rows.append({"family": "developer-text", "text": text, "expect": "no-match", "source": "ordinary developer text (hashes, ids, config) that must cross untouched"})

# Formats added after measuring on the held-out corpus (held-out/): generated with their own seed
# and appended, so every case above stays as it was.
rng = random.Random(20261202)
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def dc_pat():
    return base64.b64encode(r(D, 12).encode() + b":" + bytes(rng.randrange(256) for _ in range(20))).decode()


LATER_FORMATS = {
    "azure": [
        ("microsoft/security-utilities SEC101/152,160,163,181: 64-byte identifiable keys (+ASt, ACDb, +ABa, APIM at 76)", "AZURE_STORAGE_KEY", lambda: r(B64, 76) + rng.choice(["+ASt", "ACDb", "+ABa", "APIM"]) + r(B64, 5) + rng.choice("AQgw") + "=="),
        ("microsoft/security-utilities SEC101/171-173,154,178,199: 32-byte identifiable keys (+ASb, +AEh, +ARm, AzCa, AIoT, AZEG at 33)", "AZURE_SERVICEBUS_KEY", lambda: r(B64, 33) + rng.choice(["+ASb", "+AEh", "+ARm", "AzCa", "AIoT", "AZEG"]) + r("ABCDEFGHIJKLMNOP", 1) + r(B64, 5) + "="),
        ("microsoft/security-utilities SEC101/158: Azure Functions keys (AzFu at 44)", "AZURE_FUNCTION_KEY", lambda: r(URL, 44) + "AzFu" + r(URL, 5) + rng.choice("AQgw") + "=="),
        ("microsoft/security-utilities SEC101/166-167: Azure AI Search keys (AzSe at 42)", "AZURE_SEARCH_KEY", lambda: r(B62, 42) + "AzSe" + r("ABCD", 1) + r(B62, 5)),
        ("microsoft/security-utilities SEC101/176: Azure Container Registry keys (+ACR at 42)", "ACR_PASSWORD", lambda: r(B64, 42) + "+ACR" + r("ABCD", 1) + r(B64, 5)),
        ("microsoft/security-utilities SEC101/200-232: common annotated security keys (JQQJ99 at 52)", "AZURE_OPENAI_KEY", lambda: r(B62, 52) + "JQQJ99" + r(B62, 1) + r("ABCDEFGHIJKL", 1) + r(B62, 12) + "AAAAACOG" + r(B62, 4)),
        ("Azure Storage docs: account keys (64 bytes base64) under an account-key name", "AZURE_STORAGE_ACCOUNT_KEY", lambda: r(B64, 86) + "=="),
        ("Microsoft identity platform docs: refresh tokens (0.A…/1.A… client info, .Ag… body)", "AZURE_REFRESH_TOKEN", lambda: rng.choice("01") + ".A" + r(URL, 60) + ".Ag" + r(URL, 320)),
        ("Azure API Management docs: Git credentials git&<expiry>&<key>", "APIM_GIT_PASSWORD", lambda: "git&" + r(D, 12) + "&" + r(B64, 86) + "=="),
        ("Azure OpenAI docs: keys (32 hex) beside the resource endpoint", "AZURE_OPENAI", lambda: (lambda key: (f"AZURE_OPENAI_ENDPOINT=https://{r(az, 8)}.openai.azure.com/\nAZURE_OPENAI_API_KEY={key}\n", key))(r(HEX, 32))),
    ],
    "cloudflare": [("Cloudflare docs: API token formats cfut_/cfat_/cfk_ (40 base62 + 8-hex checksum)", "CLOUDFLARE_API_TOKEN", lambda: rng.choice(["cfut_", "cfat_", "cfk_"]) + r(B62, 40) + r(HEX, 8))],
    "github": [("GitHub docs: App installation tokens ghs_ (longer form)", "GITHUB_APP_TOKEN", lambda: "ghs_" + r(B62, 20) + "_" + r(B62, 100))],
    "docker": [("Docker / GitLab CI docs: DOCKER_AUTH_CONFIG holding config.json, escaped", "DOCKER_AUTH_CONFIG", lambda: (lambda auth: ('environment = ["DOCKER_AUTH_CONFIG={\\"auths\\":{\\"registry.example.com\\":{\\"auth\\":\\"' + auth + '\\"}}}"]', auth))(base64.b64encode(f"{r(az, 8)}:{r(B62, 16)}".encode()).decode()))],
    "atlassian": [
        ("Atlassian Data Center docs: personal access tokens (base64 of id:secret)", "JIRA_PAT", dc_pat),
        ("Bitbucket Data Center docs: HTTP access tokens BBDC-", "BITBUCKET_TOKEN", lambda: "BBDC-" + dc_pat()),
    ],
    "telegram": [("Telegram Bot API docs: bot tokens <id>:<35>", "TELEGRAM_BOT_TOKEN", lambda: f"{r(D, 10)}:{r(URL, 35)}")],
    "aws": [("AWS STS docs: GetSessionToken output (key id, secret, session token)", "STS", lambda: (lambda token: ('{"Credentials": {"AccessKeyId": "ASIA' + r(B32, 9) + 'EXAMPLE", "SessionToken": "' + token + '"}}', token))(r(B64, 356)))],
    "newrelic": [("New Relic docs: license keys in the EU region (eu01xx…NRAL)", "NEW_RELIC_LICENSE_KEY", lambda: "eu01xx" + r(HEX, 30) + "NRAL")],
    "teams": [("Microsoft Teams docs: workflow (Power Automate) webhook URLs", "TEAMS_WEBHOOK_URL", lambda: (lambda url: ("https://" + url, url))(f"default{r(HEX, 32)}.{r(D, 2)}.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/{r(HEX, 32)}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={r(URL, 43)}"))],
    "npm": [("npm docs: access tokens before the npm_ prefix (UUID)", "NPM_TOKEN", uuid)],
    "vault": [("Vault docs: AppRole secret_id (UUID)", "VAULT_SECRET_ID", uuid)],
}
LATER_NEEDS_NAME = {"AZURE_STORAGE_ACCOUNT_KEY", "AZURE_REFRESH_TOKEN", "JIRA_PAT", "TELEGRAM_BOT_TOKEN", "NPM_TOKEN", "VAULT_SECRET_ID"}
LATER_NEGATIVES = {
    "azure": ["AccountKey=" + "A" * 86 + "==", "Azure APIM gateway at https://contoso.azure-api.net", "git&clone the repository", "AZURE_OPENAI_ENDPOINT=https://contoso.openai.azure.com/\nAZURE_OPENAI_API_KEY=<your-key>"],
    "cloudflare": ["cfut_ tokens are user tokens, cfat_ account tokens"],
    "telegram": ["telegram: meeting at 12:34:56"],
    "npm": ["npm token list", "NPM_TOKEN=00000000-0000-0000-0000-000000000000"],
    "vault": ["secret_id = ${VAULT_SECRET_ID}"],
    "teams": ["https://make.powerautomate.com/environments/default/flows"],
    "atlassian": ["jira_token: <your-token>", "BBDC-<token>"],
    "docker": ['DOCKER_AUTH_CONFIG={\\"auths\\":{}}'],
    "newrelic": ["the NRAL suffix marks ingest keys"],
}
def add_cases(formats, needs_name, negatives):
    """Rows for a batch of formats added later: a token (or a (text, secret) pair) per context, then the near misses."""
    for family, batch in formats.items():
        for source, name, make in batch:
            for context in CONTEXTS[:3] if name in needs_name else CONTEXTS:
                made = make()
                token, secret = made if isinstance(made, tuple) else (made, made)
                text = token if isinstance(made, tuple) and token != secret and not token.startswith("https://") else context(name, token)
                rows.append({"family": family, "text": text, "secret": secret, "expect": "match", "source": source})
    for family, texts in negatives.items():
        for text in texts:
            rows.append({"family": family, "text": text, "expect": "no-match", "source": f"placeholder or near miss in the shape the {family} docs show"})


add_cases(LATER_FORMATS, LATER_NEEDS_NAME, LATER_NEGATIVES)

# Family coverage (wt/rules): formats from vendor docs the rules above did not take yet, with their
# own seed and appended, so every case above stays as it was.
rng = random.Random(20261203)
LOWER_ALNUM = az + D


def mailgun_key():
    body = r(LOWER_ALNUM, 31)
    return "key-" + body[:10] + r(D, 1) + body[10:]


COVERAGE_FORMATS = {
    "openai": [("OpenAI docs: project, service-account and admin keys by prefix (sk-proj-/sk-svcacct-/sk-admin-)", "OPENAI_API_KEY", lambda: rng.choice(["sk-proj-", "sk-svcacct-", "sk-admin-"]) + r(URL, 120))],
    "replicate": [("Replicate docs: API tokens before the r8_ prefix (40 hex)", "REPLICATE_API_TOKEN", lambda: r(HEX, 40))],
    "anthropic": [("Anthropic console: API keys sk-ant-api03- (body length varies)", "ANTHROPIC_API_KEY", lambda: "sk-ant-api03-" + r(URL, rng.choice([86, 100, 108])) + "AA")],
    "slack": [("Slack web client: session tokens xoxc- and d cookies xoxd-", "SLACK_TOKEN", lambda: rng.choice([f"xoxc-{r(D, 12)}-{r(D, 12)}-{r(D, 13)}-{r(HEX, 64)}", "xoxd-" + r(B62 + "%", 120)]))],
    "teams": [("Microsoft Teams docs: Office 365 connector URLs (outlook.office.com/webhook/)", "TEAMS_WEBHOOK_URL", lambda: (lambda url: ("https://" + url, url))(f"outlook.office.com/webhook/{uuid()}@{uuid()}/IncomingWebhook/{r(HEX, 32)}/{uuid()}"))],
    "discord": [("Discord developer docs: bot tokens (id . timestamp . hmac) under a Discord name", "DISCORD_BOT_TOKEN", lambda: r(URL, 26) + "." + r(URL, 6) + "." + r(URL, 38))],
    "paypal": [("Braintree docs: API private keys (32 hex)", "BRAINTREE_PRIVATE_KEY", lambda: r(HEX, 32))],
    "square": [("Square docs: sandbox application secrets sandbox-sq0csb-", "SQUARE_APPLICATION_SECRET", lambda: "sandbox-sq0csb-" + r(URL, 43))],
    "okta": [("Okta docs: API tokens (00 + 40) in the SSWS scheme", "OKTA_API_TOKEN", lambda: (lambda token: (f"curl -H 'Authorization: SSWS {token}' https://acme.okta.com/api/v1/users", token))("00" + r(URL, 40)))],
    "cloudflare": [("Cloudflare docs: global API key (37 hex) under a Cloudflare name", "CLOUDFLARE", lambda: r(HEX, 37))],
    "vercel": [("Vercel docs: access tokens before the vcp_ prefix (24 alphanumerics)", "VERCEL_TOKEN", lambda: r(B62, 24))],
    "datadog": [("AWS Secrets Manager docs (DatadogApplicationKey): application keys ddapp_ + 34", "DD_APP_KEY", lambda: "ddapp_" + r(B62, 34))],
    "mailgun": [("Mailgun docs: API keys key- + 32 lower-case alphanumerics", "MAILGUN_API_KEY", mailgun_key)],
    "supabase": [("Supabase docs: OAuth access tokens sbp_oauth_", "SUPABASE_ACCESS_TOKEN", lambda: "sbp_oauth_" + r(HEX, 40))],
    "newrelic": [("New Relic docs: Insights insert and query keys NRII-/NRIQ-", "NEW_RELIC_INSIGHTS_KEY", lambda: rng.choice(["NRII-", "NRIQ-"]) + r(URL, 32))],
    "generic": [
        ("PowerShell docs: ConvertTo-SecureString -AsPlainText", "PS", lambda: (lambda password: (f'$password = ConvertTo-SecureString -String "{password}" -AsPlainText -Force', password))(r(B62, 12) + r("!@#%", 1) + r(D, 2))),
        ("keyword context: a secret in an aligned constant block", "ALIGNED", lambda: (lambda secret: (f'const (\n\ttenantID     = "{uuid()}"\n\tclientSecret           = "{secret}"\n)', secret))(r(B62, 20) + r(D, 4) + "~" + r(B62, 6))),
    ],
}
COVERAGE_NEEDS_NAME = {"REPLICATE_API_TOKEN", "DISCORD_BOT_TOKEN", "BRAINTREE_PRIVATE_KEY", "CLOUDFLARE", "VERCEL_TOKEN"}
COVERAGE_NEGATIVES = {
    "openai": ["OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk-admin- keys manage the organization"],
    "replicate": ["REPLICATE_API_TOKEN=<paste-your-token>", "replicate model version: 5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"],
    "slack": ["xoxc- tokens come from the web client", "SLACK_COOKIE=xoxd-..."],
    "teams": ["https://outlook.office.com/webhook/"],
    "discord": ["discord_invite: https://discord.gg/abc123", "DISCORD_BOT_TOKEN=${DISCORD_BOT_TOKEN}"],
    "paypal": ["BRAINTREE_MERCHANT_ID=abc123", "braintree_private_key: <your-private-key>"],
    "square": ["SQUARE_APPLICATION_SECRET=sandbox-sq0csb-..."],
    "okta": ["Authorization: SSWS ${OKTA_API_TOKEN}", "OKTA_ORG_URL=https://acme.okta.com"],
    "cloudflare": ["cloudflare: 00000000000000000000000000000000000000"],
    "vercel": ["VERCEL_TOKEN=your-vercel-token", "vercel_project_id: prj_abc"],
    "datadog": ["DD_APP_KEY=ddapp_..."],
    "mailgun": ["const key = 'key-value-pairs-are-stored-here-ok'", "key-abcdefabcdefabcdefabcdefabcdefab"],
    "supabase": ["SUPABASE_ACCESS_TOKEN=sbp_oauth_..."],
    "newrelic": ["NRIQ- keys are query keys"],
    "generic": ["$password = ConvertTo-SecureString -String $env:PASSWORD -AsPlainText -Force", 'ConvertTo-SecureString -String "<password>" -AsPlainText -Force', "const (\n\tclientSecret           = os.Getenv(\"CLIENT_SECRET\")\n)"],
    "npm": ["//registry.npmjs.org/:_authToken=$NPM_TOKEN"],
    "anthropic": ["ANTHROPIC_API_KEY=sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxAA"],
}
add_cases(COVERAGE_FORMATS, COVERAGE_NEEDS_NAME, COVERAGE_NEGATIVES)

# Prefixed tokens of gitleaks' default rule set (cmd/generate/config/rules/*.go, commit
# b58d3f10) for the vendors the families above lack: the vendor's prefix and body shape only.
GITLEAKS_SOURCE = "gitleaks/gitleaks:cmd/generate/config/rules/"
PREFIXED_FORMATS = {
    "adobe": ("adobe.go: client secrets p8e-", "ADOBE_CLIENT_SECRET", lambda: "p8e-" + r(B62, 32)),
    "alibaba": ("alibaba.go: access key ids LTAI", "ALIBABA_CLOUD_ACCESS_KEY_ID", lambda: "LTAI" + r(B62, 20)),
    "artifactory": ("artifactory.go: API keys AKCp", "ARTIFACTORY_API_KEY", lambda: "AKCp" + r(B62, 69)),
    "brevo": ("sendinblue.go: API keys xkeysib-", "BREVO_API_KEY", lambda: "xkeysib-" + r(HEX, 64) + "-" + r(B62, 16)),
    "clojars": ("clojars.go: deploy tokens CLOJARS_", "CLOJARS_TOKEN", lambda: "CLOJARS_" + r(az + D, 60)),
    "doppler": ("doppler.go: personal and service tokens dp.pt./dp.st.", "DOPPLER_TOKEN", lambda: rng.choice(["dp.pt.", "dp.st."]) + r(B62, 43)),
    "dynatrace": ("dynatrace.go: API tokens dt0c01.", "DT_API_TOKEN", lambda: "dt0c01." + r(AZ + D, 24) + "." + r(AZ + D, 64)),
    "easypost": ("easypost.go: API keys EZAK", "EASYPOST_API_KEY", lambda: "EZAK" + r(B62, 54)),
    "facebook": ("facebook.go: page access tokens EAAM/EAAC", "FACEBOOK_ACCESS_TOKEN", lambda: rng.choice(["EAAM", "EAAC"]) + r(B62, 160)),
    "flutterwave": ("flutterwave.go: secret keys FLWSECK_TEST-…-X", "FLW_SECRET_KEY", lambda: "FLWSECK_TEST-" + r("abcdefgh" + D, 32) + "-X"),
    "frameio": ("frameio.go: API tokens fio-u-", "FRAMEIO_TOKEN", lambda: "fio-u-" + r(URL, 64)),
    "harness": ("harness.go: personal and service account tokens pat./sat.", "HARNESS_API_KEY", lambda: rng.choice(["pat.", "sat."]) + r(URL, 22) + "." + r(B62, 24) + "." + r(B62, 20)),
    "infracost": ("infracost.go: API keys ico-", "INFRACOST_API_KEY", lambda: "ico-" + r(B62, 32)),
    "mailchimp": ("mailchimp.go: API keys (32 hex, -us<dc>)", "MAILCHIMP_API_KEY", lambda: r(HEX, 32) + "-us" + str(rng.randrange(1, 21))),
    "mapbox": ("Mapbox docs: secret tokens sk.eyJ1Ijoi…", "MAPBOX_SECRET_TOKEN", lambda: "sk.eyJ1Ijoi" + r(URL, 40) + "." + r(URL, 22)),
    "octopus": ("octopusdeploy.go: API keys API-", "OCTOPUS_API_KEY", lambda: "API-" + r(AZ, 20) + r(D, 6)),
    "openshift": ("openshift.go: user tokens sha256~", "OPENSHIFT_TOKEN", lambda: "sha256~" + r(URL, 43)),
    "postman": ("postman.go: API keys PMAK-", "POSTMAN_API_KEY", lambda: "PMAK-" + r(HEX, 24) + "-" + r(HEX, 34)),
    "prefect": ("prefect.go: API keys pnu_", "PREFECT_API_KEY", lambda: "pnu_" + r(B62, 36)),
    "pulumi": ("pulumi.go: access tokens pul-", "PULUMI_ACCESS_TOKEN", lambda: "pul-" + r(HEX, 40)),
    "readme": ("readme.go: API keys rdme_", "README_API_KEY", lambda: "rdme_" + r(az + D, 70)),
    "scalingo": ("scalingo.go: API tokens tk-us-", "SCALINGO_API_TOKEN", lambda: "tk-us-" + r(URL, 48)),
    "shippo": ("shippo.go: API tokens shippo_live_", "SHIPPO_API_TOKEN", lambda: rng.choice(["shippo_live_", "shippo_test_"]) + r(HEX, 40)),
    "typeform": ("typeform.go: personal access tokens tfp_", "TYPEFORM_TOKEN", lambda: "tfp_" + r(B62, 59)),
    "pypi": ("PyPI docs: TestPyPI tokens pypi-AgENdGVzdC5weXBpLm9yZw", "TEST_PYPI_TOKEN", lambda: "pypi-AgENdGVzdC5weXBpLm9yZw" + r(URL, 120)),
    "bitbucket": ("bitbucket.go: OAuth consumer secrets (64) under a Bitbucket name", "BITBUCKET_CLIENT_SECRET", lambda: r(URL, 64)),
}
PREFIXED_NEEDS_NAME = {"BITBUCKET_CLIENT_SECRET"}
PREFIXED_NEGATIVES = {
    "adobe": "ADOBE_CLIENT_SECRET=p8e-...", "alibaba": "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIxxxxxxxxxxxxxxxxxxxx", "artifactory": "ARTIFACTORY_API_KEY=AKCp...",
    "brevo": "BREVO_API_KEY=xkeysib-your-key", "clojars": "CLOJARS_TOKEN=CLOJARS_...", "doppler": "dp.pt. tokens are personal tokens",
    "dynatrace": "DT_API_TOKEN=dt0c01.xxxx.yyyy", "easypost": "EASYPOST_API_KEY=EZAK...", "facebook": "EAAC is the prefix of page tokens",
    "flutterwave": "FLW_PUBLIC_KEY=FLWPUBK_TEST-xxxxxxxxxxxxxxxx-X", "frameio": "FRAMEIO_TOKEN=fio-u-...", "harness": "see pat.md and sat.md",
    "infracost": "<i class=\"ico-arrow\"></i>", "mailchimp": "Accept-Language: en-us", "mapbox": "MAPBOX_TOKEN=pk.eyJ1Ijoi...",
    "octopus": "API-REFERENCE-FOR-DEPLOYMENTS", "openshift": "sha256~ marks OpenShift tokens", "postman": "POSTMAN_API_KEY=PMAK-...",
    "prefect": "PREFECT_API_KEY=pnu_...", "pulumi": "PULUMI_ACCESS_TOKEN=pul-...", "readme": "README_API_KEY=rdme_...",
    "scalingo": "tk-us- tokens belong to the us region", "shippo": "SHIPPO_API_TOKEN=shippo_test_...", "typeform": "TYPEFORM_TOKEN=tfp_...",
}
for family, (source, name, make) in PREFIXED_FORMATS.items():
    for context in CONTEXTS[:3] if name in PREFIXED_NEEDS_NAME else CONTEXTS:
        token = make()
        rows.append({"family": family, "text": context(name, token), "secret": token, "expect": "match", "source": GITLEAKS_SOURCE + source if source[0].islower() else source})
for family, text in PREFIXED_NEGATIVES.items():
    rows.append({"family": family, "text": text, "expect": "no-match", "source": f"placeholder or near miss in the shape the {family} docs show"})

# Session 6: formats the kingfisher rule examples showed, with their own seed and appended.
rng = random.Random(20261206)


def grafana_api_key():
    body = json.dumps({"k": r(B62, 32), "n": r(az, 8), "id": int(r("123456789", 1))}, separators=(",", ":"))
    return base64.b64encode(body.encode()).decode()


SESSION6_FORMATS = {
    "azure": [("Azure App Configuration docs: connection strings Endpoint=https://<name>.azconfig.io;Id=<id>;Secret=<secret>", "AZURE_APPCONFIG_CONNECTION_STRING",
               lambda: (lambda secret: (f"AZURE_APPCONFIG_CONNECTION_STRING=Endpoint=https://{r(az, 8)}.azconfig.io;Id={r(B62, 4)}-{r(B62, 2)}-{r(B62, 2)}:{r(B62, 20)};Secret={secret}", secret))(r(B64, 43) + "="))],
    "mongodb": [
        ("MongoDB Atlas docs: service account client secrets mdb_sa_sk_", "MONGODB_ATLAS_CLIENT_SECRET", lambda: "mdb_sa_sk_" + r(URL, 40)),
        ("MongoDB Atlas docs: programmatic API keys (the private key is a UUID) under an Atlas name", "MONGODB_ATLAS_PRIVATE_KEY", uuid),
    ],
    "nuget": [("NuGet docs: API keys (46 lower-case alphanumerics) under a NuGet name", "NUGET_API_KEY", lambda: r(az + D, 46))],
    "sourcegraph": [("Sourcegraph Cody Gateway keys slk_ + 64 hex (the format of kingfisher's rule sourcegraph.3)", "SRC_CODY_GATEWAY_KEY", lambda: "slk_" + r(HEX, 64))],
    "atlassian": [("Atlassian docs: Jira Cloud API tokens before the ATATT prefix (24 alphanumerics) after a Jira name", "JIRA_API_TOKEN",
                   lambda: r(az, 6) + r(AZ, 6) + r(D, 4) + r(B62, 8))],
    "generic": [("Jenkins docs: credentials.xml keeps secrets encrypted with the master key as {AQAAABAAAA…}", "JENKINS",
                 lambda: (lambda secret: (f"<com.cloudbees.plugins.credentials.impl.StringCredentialsImpl>\n  <id>deploy</id>\n  <secret>{{{secret}}}</secret>\n</com.cloudbees.plugins.credentials.impl.StringCredentialsImpl>", secret))("AQAAABAAAA" + r(B64, 86) + "=="))],
    "docker": [("Kubernetes docs: kubernetes.io/dockerconfigjson secrets hold config.json in base64 under .dockerconfigjson", "K8S",
                lambda: (lambda value: (f"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {value}\n", value))(
                    base64.b64encode(json.dumps({"auths": {"registry.example.com": {"auth": base64.b64encode(("ci:" + r(B62, 24)).encode()).decode()}}}, separators=(",", ":")).encode()).decode()))],
    "mailgun": [("Mailgun docs: private API keys <32 hex>-<8 hex>-<8 hex> under a Mailgun name", "MAILGUN_API_KEY", lambda: f"{r(HEX, 32)}-{r(HEX, 8)}-{r(HEX, 8)}")],
    "grafana": [("Grafana docs: API keys (base64 of {\"k\":…,\"n\":…,\"id\":…})", "GRAFANA_API_KEY", grafana_api_key)],
}
SESSION6_NEEDS_NAME = {"MAILGUN_API_KEY", "JIRA_API_TOKEN", "MONGODB_ATLAS_PRIVATE_KEY", "NUGET_API_KEY", "AZURE_APPCONFIG_CONNECTION_STRING"}
SESSION6_NEGATIVES = {
    "azure": ["Endpoint=https://x.azconfig.io;Id=<id>;Secret=<secret>"],
    "mongodb": ["MONGODB_ATLAS_PRIVATE_KEY=${ATLAS_PRIVATE_KEY}", "mdb_sa_sk_ is the prefix of service account secrets", "ATLAS_PUBLIC_KEY=abcdefgh"],
    "nuget": ["nuget restore packages.config -PackagesDirectory packages"],
    "grafana": ["GRAFANA_API_KEY=eyJrIjoi..."],
    "sourcegraph": ["slk_ keys are Cody Gateway keys"],
    "atlassian": ["jira PROJECTKEYSPRINTBOARDS", "JIRA_API_TOKEN=${JIRA_API_TOKEN}"],
    "generic": ["<secret>{AQAAABAAA}</secret>"],
    "docker": [".dockerconfigjson: " + base64.b64encode(b'{"auths":{"registry.example.com":{}},"credsStore":"desktop"}').decode()],
}
add_cases(SESSION6_FORMATS, SESSION6_NEEDS_NAME, SESSION6_NEGATIVES)

# Session 6, second batch: shapes whispers' and earlybird's fixtures showed.
SESSION6B_FORMATS = {
    "basic-auth": [
        ("RFC 7617: Basic credentials, base64 of user:password, in an Authorization header", "BASIC",
         lambda: (lambda value: (f"curl -H 'Authorization: Basic {value}' https://api.example.com/v1/me", value))(base64.b64encode(("deploy:" + r(B62, 20)).encode()).decode())),
    ],
    "generic": [
        ("curl docs: -u/--user user:password on the command line", "CURL",
         lambda: (lambda password: (f"curl -u admin:{password} https://ci.example.com/api/json", password))(r(B62, 14) + r(D, 2))),
        ("Apache docs: htpasswd lines (user:$apr1$salt$hash)", "HTPASSWD",
         lambda: (lambda value: (f"admin:{value}\n", value))("$apr1$" + r(B62, 8) + "$" + r(B62 + "./", 22))),
        ("XML configuration: a secret in a credential-named element", "XML",
         lambda: (lambda value: (f"<datasource>\n  <password>{value}</password>\n</datasource>", value))(r(B62, 14) + r(D, 2))),
        ("API keys issued as UUIDs under an api_key name (x-api-key headers)", "UUIDKEY",
         lambda: (lambda value: (f"curl -H 'x-api-key: {value}' https://api.example.com", value))(uuid())),
    ],
    "newrelic": [("New Relic docs: REST API keys NRRA- (42)", "NEW_RELIC_REST_API_KEY", lambda: "NRRA-" + r(HEX, 42))],
}
SESSION6B_NEGATIVES = {
    "basic-auth": ["Authorization: Basic realm=\"Restricted\"", "Basic authentication is described in RFC 7617"],
    "newrelic": ["NRRA- keys are REST API keys"],
}
add_cases(SESSION6B_FORMATS, set(), SESSION6B_NEGATIVES)

# Session 7: credentials given as a separate value field, a Dockerfile ENV line, a shell default.
SESSION7_FORMATS = {
    "generic": [
        ("Postman environment export: a credential-named key with its value", "POSTMAN",
         lambda: (lambda value: (f'{{"key": "api_token", "value": "{value}", "enabled": true}}', value))(r(B62, 22) + r(D, 2))),
        ("Kubernetes docs: an env entry's name and value", "K8SENV",
         lambda: (lambda value: (f"env:\n  - name: DATABASE_PASSWORD\n    value: \"{value}\"\n", value))(r(B62, 18) + r(D, 2))),
        (".NET docs: appSettings add key/value", "APPSETTINGS",
         lambda: (lambda value: (f'<appSettings>\n  <add key="PaymentApiSecret" value="{value}" />\n</appSettings>', value))(r(B62, 24) + r(D, 2))),
        ("Dockerfile reference: ENV <key> <value>", "DOCKERFILE_ENV",
         lambda: (lambda value: (f"FROM node:22\nENV REGISTRY_AUTH_TOKEN {value}\n", value))(r(B62, 30) + r(D, 2))),
        ("bash manual: ${parameter:-word} default values", "SHELL_DEFAULT",
         lambda: (lambda value: (f'export API_SECRET="${{API_SECRET:-{value}}}"\n', value))(r(B62, 26) + r(D, 2))),
        ("RFC 6750: a bearer token in an Authorization header (gitleaks curl-auth-header)", "BEARER",
         lambda: (lambda value: (f'curl -H "Authorization: Bearer {value}" https://api.example.com/v1/me', value))(r(B62, 30) + r(D, 2))),
        ("Docker docs: docker login -p, and the MySQL client's -p<password>", "CLI_LOGIN",
         lambda: (lambda value: (f"docker login -u deploy -p {value} registry.example.com", value))(r(B62, 18) + r(D, 2))),
        ("crypt(5): a SHA-512 password hash in an /etc/shadow line", "SHADOW",
         lambda: (lambda value: (f"deploy:{value}:19700:0:99999:7:::\n", value))("$6$" + r(B62, 16) + "$" + r(B62 + "./", 86))),
        ("bcrypt (OpenBSD): a password hash in a seed file", "BCRYPT",
         lambda: (lambda value: (f'  password_digest: "{value}"\n', value))("$2b$12$" + r(B62 + "./", 53))),
        ("Python docs: os.getenv(key, default) with a hard-coded secret default", "GETENV_DEFAULT",
         lambda: (lambda value: (f'SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "{value}")\n', value))(r(B62, 40) + r(D, 2))),
        ("PowerShell/PowerCLI docs: Connect-VIServer -Password", "POWERSHELL_PASSWORD",
         lambda: (lambda value: (f"Connect-VIServer -Server vc01.example.com -User admin@vsphere.local -Password {value}\n", value))(r(B62, 14) + r(D, 2))),
        (".NET docs: new NetworkCredential(userName, password)", "NETWORKCREDENTIAL",
         lambda: (lambda value: (f'client.Credentials = new NetworkCredential("deploy", "{value}");', value))(r(B62, 18) + r(D, 2))),
        ("Java: a literal compared with the password (Yoda condition)", "COMPARED",
         lambda: (lambda value: (f'if ("{value}".equals(request.getPassword())) {{', value))(r(B62, 16) + r(D, 2))),
        ("OpenSSL docs: -passout pass:<password>; keytool docs: -storepass", "KEYSTORE",
         lambda: (lambda value: (f"openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:{value} -out cert.p12", value))(r(B62, 14) + r(D, 2))),
        ("GNU inetutils docs: a .netrc machine entry", "NETRC",
         lambda: (lambda value: (f"machine api.example.com\n  login deploy@example.com\n  password {value}\n", value))(r(B62, 24) + r(D, 2))),
    ],
    "azure": [
        ("Azure API Management docs: the Ocp-Apim-Subscription-Key header (32 hex)", "APIM",
         lambda: (lambda value: (f"curl -H 'Ocp-Apim-Subscription-Key: {value}' https://contoso.azure-api.net/echo", value))(r(HEX, 32))),
    ],
    "1password": [
        ("1Password support: the account Secret Key (A3- and six groups)", "OP_SECRET_KEY",
         lambda: "A3-" + "-".join(r("ABCDEFGHJKLMNPQRSTVWXYZ23456789", n) for n in (6, 6, 5, 5, 5, 5))),
    ],
    "vault": [
        ("Vault docs: vault operator init prints the unseal keys (base64, 44)", "UNSEAL",
         lambda: (lambda value: (f"Unseal Key 1: {value}\n", value))(r(B62 + "+/", 42) + r(D, 2))),
    ],
}
SESSION7_NEGATIVES = {
    "generic": [
        '{"key": "api_token", "value": "{{api_token}}", "enabled": true}',
        "env:\n  - name: DATABASE_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n        key: password\n",
        '<input type="hidden" name="authenticity_token" value="7SWa-Fo1_hsC6oovfBsJFLGPUl2EhkSWPbJhWANwgaJWBDl1vxd9VNqX" />',
        "ENV PASSWORD_FILE /run/secrets/db_password",
        'export API_SECRET="${API_SECRET:-}"',
        "Authorization: Bearer ${API_TOKEN}",
        "docker login --password-stdin -u deploy registry.example.com",
        "machine api.example.com login deploy password <token>",
        "root:*:19700:0:99999:7:::",
        'SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "")',
    ],
}
add_cases(SESSION7_FORMATS, set(), SESSION7_NEGATIVES)

SESSION8_FORMATS = {
    "doppler": [
        ("Doppler docs: a service token names its environment (dp.st.<env>.)", "DOPPLER_TOKEN",
         lambda: "dp.st.dev." + r(B62, 43)),
    ],
    "cohere": [
        ("Cohere dashboard: the API key (40 characters) under a spaced name", "COHERE",
         lambda: (lambda value: (f"Cohere API key: {value}\n", value))(r(B62, 38) + r(D, 2))),
    ],
    "postmark": [
        ("Postmark docs: the server token (a UUID) under the bare product name", "POSTMARK",
         lambda: (lambda value: (f'postmark: "{value}",', value))("-".join(r(HEX, n) for n in (8, 4, 4, 4, 12)))),
    ],
    "mailgun": [
        ("Mailgun docs: a 32-8-8 API key a few lines below the Mailgun name", "MAILGUN",
         lambda: (lambda value: (f'# Mailgun (mg.example.com)\nsmtp_login = "postmaster@mg.example.com"\napi = "{value}"\n', value))("-".join(r(HEX, n) for n in (32, 8, 8)))),
    ],
}
SESSION8_NEGATIVES = {
    "doppler": ["dp.st.dev.short", "DOPPLER_TOKEN=dp.st.${DOPPLER_ENV}.${TOKEN}"],
    "cohere": ["cohere: rerank-english-v3.0", "Cohere API key: <your key>"],
    "postmark": ['postmark: "server"', 'postmark: "00000000-0000-0000-0000-000000000000"'],
    "mailgun": ["release " + "-".join(r(HEX, n) for n in (32, 8, 8)) + " of the build cache", "mailgun webhook id " + r(HEX, 32) + "-" + r(HEX, 8)],
}
add_cases(SESSION8_FORMATS, set(), SESSION8_NEGATIVES)

# Session 9: passwords of letters only, under a password name (the keyword rule wants a digit).
SESSION9_FORMATS = {
    "generic": [
        ("Spring Boot docs: spring.datasource.password in application.yml, a passphrase of words", "SPRING_PASSWORD",
         lambda: (lambda value: (f"spring:\n  datasource:\n    username: app\n    password: {value}\n", value))("_".join(r(az, 6) for _ in range(3)))),
        ("dotenv docs: an SMTP password in a .env file", "SMTP_PASSWORD",
         lambda: (lambda value: (f"SMTP_USER=mailer\nSMTP_PASSWORD={value}\n", value))(r(az, 16))),
        ("node-postgres docs: the password of a Pool's options", "PG_PASSWORD",
         lambda: (lambda value: (f"const pool = new Pool({{ user: 'app', password: '{value}' }})", value))(r(az, 14))),
    ],
}
SESSION9_NEGATIVES = {
    "generic": [
        '"password": "Passwort"',
        "password: currentPassword,",
        '"password": "password_confirmation"',
        "rules: { password: 'required' }",
        "index_url, _, index_url_user_password = index_info",
        "passphrase: 'foobarbaz'",
    ],
}
add_cases(SESSION9_FORMATS, set(), SESSION9_NEGATIVES)

# Session 9: secrets passed to the call that uses them, and names closed by a subscript.
SESSION9_CALLS = {
    "generic": [
        ("jsonwebtoken README: jwt.sign(payload, secretOrPrivateKey)", "JWT_SIGN",
         lambda: (lambda value: (f"const token = jwt.sign({{ foo: 'bar' }}, '{value}');", value))(r(B62, 22) + r(D, 2))),
        ("PyJWT docs: jwt.encode(payload, key, algorithm)", "PYJWT",
         lambda: (lambda value: (f'encoded = jwt.encode({{"some": "payload"}}, "{value}", algorithm="HS256")', value))(r(B62, 22) + r(D, 2))),
        ("java-jwt README: Algorithm.HMAC256(secret)", "JAVA_JWT",
         lambda: (lambda value: (f'Algorithm algorithm = Algorithm.HMAC256("{value}");', value))(r(B62, 22) + r(D, 2))),
        ("Requests docs: auth=('user', 'pass')", "REQUESTS_AUTH",
         lambda: (lambda value: (f"requests.get('https://api.github.com/user', auth=('user', '{value}'))", value))(r(B62, 14) + r(D, 2))),
        ("python-ldap docs: simple_bind_s(who, cred)", "LDAP_BIND",
         lambda: (lambda value: (f"l.simple_bind_s('cn=manager,dc=example,dc=com', '{value}')", value))(r(B62, 14) + r(D, 2))),
        ("Docker docs: docker login --password-stdin, the password piped in by echo", "DOCKER_STDIN",
         lambda: (lambda value: (f"echo '{value}' | docker login -u deploy --password-stdin registry.example.com", value))(r(B62, 18) + r(D, 2))),
        ("RFC 6749 section 5.1: an access token response (an opaque token of 300 characters)", "OAUTH_RESPONSE",
         lambda: (lambda value: (f'{{"access_token":"{value}","token_type":"Bearer","expires_in":3600}}', value))(r(B62, 298) + r(D, 2))),
        ("Flask docs: app.config['SECRET_KEY'] = ...", "FLASK_SECRET",
         lambda: (lambda value: (f"app.config['SECRET_KEY'] = '{value}'", value))(r(B62, 30) + r(D, 2))),
    ],
    "private-key": [
        ("PuTTY manual (appendix C, PPK format): the Private-Lines of a .ppk key file", "PUTTY_PPK",
         lambda: (lambda lines: (f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@example\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAI{r(B62, 39)}\n{r(B62, 8)}\nPrivate-Lines: 1\n{lines}\nPrivate-MAC: {r(HEX, 64)}\n", lines))("AAAAI" + r(B62, 38) + "=")),
        ("OpenSSL PEM, written on one line (an env file without its newlines)", "PEM_ONE_LINE",
         lambda: (lambda key: (f'PRIVATE_KEY="{key}"\n', key))("-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBK" + r(B62, 20) + "-----END PRIVATE KEY-----")),
    ],
    "basic-auth": [
        ("redis-py docs: a redis:// URL with a password and no user", "REDIS_URL",
         lambda: (lambda value: (f"REDIS_URL=redis://:{value}@localhost:6379/0", value))(r(B62, 18) + r(D, 2))),
    ],
}
SESSION9_CALL_NEGATIVES = {
    "generic": [
        'echo "$CR_PAT" | docker login ghcr.io -u deploy --password-stdin',
        "jwt.sign(payload, process.env.JWT_SECRET)",
        "jwt.verify(token, 'your-256-bit-secret')",
        "requests.get(url, auth=(user, password))",
        "app.config['SECRET_KEY'] = os.environ['SECRET_KEY']",
    ],
    "basic-auth": ["redis://:@localhost:6379/0"],
}
add_cases(SESSION9_CALLS, set(), SESSION9_CALL_NEGATIVES)

# Session 10: gitleaks' default rules no family above took yet (samples generated from each rule's
# own regex found them missing), UUID secrets under a secret or token name, and passwords passed
# to the call that logs in. Their own seed, appended.
rng = random.Random(20261210)
SESSION10_PREFIXED = {
    "airtable": ("airtable.go: personal access tokens pat<14>.<64 hex>", "AIRTABLE_TOKEN", lambda: "pat" + r(B62, 14) + "." + r(HEX, 64)),
    "clickhouse": ("clickhouse.go: Cloud API key secrets 4b1d", "CLICKHOUSE_KEY_SECRET", lambda: "4b1d" + r(B62, 38)),
    "duffel": ("duffel.go: API tokens duffel_test_/duffel_live_", "DUFFEL_ACCESS_TOKEN", lambda: rng.choice(["duffel_test_", "duffel_live_"]) + r(URL, 43)),
    "intra42": ("intra42.go: client secrets s-s4t2ud-/s-s4t2af-", "FT_CLIENT_SECRET", lambda: rng.choice(["s-s4t2ud-", "s-s4t2af-"]) + r(HEX, 64)),
    "maxmind": ("maxmind.go: license keys <6>_<29>_mmk", "MAXMIND_LICENSE_KEY", lambda: r(B62, 6) + "_" + r(B62, 29) + "_mmk"),
    "settlemint": ("settlemint.go: access tokens sm_pat_/sm_aat_/sm_sat_", "SETTLEMINT_ACCESS_TOKEN", lambda: rng.choice(["sm_pat_", "sm_aat_", "sm_sat_"]) + r(B62, 16)),
    "artifactory": ("artifactory.go: reference tokens cmVmd", "ARTIFACTORY_ACCESS_TOKEN", lambda: "cmVmd" + r(B62, 59)),
    "yandex": ("yandex.go: API keys AQVN", "YC_API_KEY", lambda: "AQVN" + r(URL, 36)),
}
for family, (source, name, make) in SESSION10_PREFIXED.items():
    for context in CONTEXTS:
        token = make()
        rows.append({"family": family, "text": context(name, token), "secret": token, "expect": "match", "source": GITLEAKS_SOURCE + source})
SESSION10_FORMATS = {
    "yandex": [
        ("Yandex Cloud docs: a static access key's secret (YC + 38) under its name", "YANDEX_SECRET_KEY",
         lambda: (lambda value: (f'yandex_secret_key = "{value}"', value))("YC" + r(URL, 38))),
        ("Yandex Cloud docs: an IAM token t1.<payload>.<signature of 86>", "YC_IAM_TOKEN",
         lambda: (lambda value: (f"export YC_IAM_TOKEN={value}\n", value))("t1." + r(URL, 60) + "." + r(URL, 86))),
    ],
    "generic": [
        ("Snyk docs: SNYK_TOKEN is a UUID", "SNYK_TOKEN", lambda: (lambda value: (f"export SNYK_TOKEN={value}\n", value))(uuid())),
        ("KuCoin API docs: the API secret is a UUID", "KUCOIN_API_SECRET", lambda: (lambda value: (f'kucoin_api_secret = "{value}"', value))(uuid())),
        ("System.Net.NetworkCredential(userName, password)", "NETWORK_CREDENTIAL",
         lambda: (lambda value: (f'client.Credentials = new NetworkCredential("deploy@example.com", "{value}");', value))(r(B62, 14) + r(D, 2))),
        ("smtplib docs: SMTP.login(user, password)", "SMTP_LOGIN",
         lambda: (lambda value: (f"server.login(sender_email, '{value}')", value))(r(B62, 14) + r(D, 2))),
        ("JDBC DriverManager.getConnection(url, user, password)", "JDBC_CONNECT",
         lambda: (lambda value: (f'Connection conn = DriverManager.getConnection(url, "app", "{value}");', value))(r(B62, 14) + r(D, 2))),
        ("PHP docs: mysqli_connect(hostname, username, password, database)", "MYSQLI_CONNECT",
         lambda: (lambda value: (f'$link = mysqli_connect("127.0.0.1", "my_user", "{value}", "my_db");', value))(r(B62, 14) + r(D, 2))),
        ("java.net.PasswordAuthentication(userName, password)", "PASSWORD_AUTHENTICATION",
         lambda: (lambda value: (f'return new PasswordAuthentication("mailer", "{value}".toCharArray());', value))(r(B62, 14) + r(D, 2))),
    ],
}
SESSION10_NEGATIVES = {
    "airtable": ["AIRTABLE_TOKEN=patXXXXXXXXXXXXXX.XXXXXXXX"],
    "clickhouse": ["CLICKHOUSE_KEY_SECRET=4b1d..."],
    "duffel": ["DUFFEL_ACCESS_TOKEN=duffel_test_..."],
    "intra42": ["FT_CLIENT_SECRET=s-s4t2ud-your-secret"],
    "maxmind": ["MAXMIND_LICENSE_KEY=YOUR_LICENSE_KEY_mmk"],
    "settlemint": ["SETTLEMINT_ACCESS_TOKEN=sm_pat_..."],
    "yandex": ["YC_API_KEY=AQVN...", "yandex_secret_key = \"<secret>\""],
    "generic": [
        "server.login(user, password)",
        "DriverManager.getConnection(url, user, pass)",
        f"nextPageToken: \"{uuid()}\"",
        f"csrf_token={uuid()}",
    ],
}
add_cases(SESSION10_FORMATS, set(), SESSION10_NEGATIVES)
SESSION10_MORE = {
    "authress": [("authress.go: service client access keys sc_<id>.<kid>.acc_<account>.<secret>", "AUTHRESS_SERVICE_CLIENT_ACCESS_KEY",
                  lambda: "sc_" + r(B62, 12) + "." + r(B62, 5) + ".acc_" + r(az + D, 16) + "." + r(B64, 60))],
    "facebook": [("Facebook docs: app access tokens {app-id}|{app-secret}", "FACEBOOK_APP_ACCESS_TOKEN",
                  lambda: (lambda value: (f"# facebook\nFB_APP_ACCESS_TOKEN={value}\n", value))(r("123456789", 1) + r(D, 15) + "|" + r(URL, 32)))],
    "nuget": [("NuGet docs: nuget.config packageSourceCredentials, ClearTextPassword", "NUGET_CLEAR_TEXT_PASSWORD",
               lambda: (lambda value: (f'<packageSourceCredentials>\n  <Contoso>\n    <add key="Username" value="user@contoso.com" />\n    <add key="ClearTextPassword" value="{value}" />\n  </Contoso>\n</packageSourceCredentials>', value))(r(B62, 10) + "!" + r(D, 2)))],
}
SESSION10_MORE_NEGATIVES = {
    "authress": ["AUTHRESS_KEY=sc_your-service-client-id.xxxx.acc_account.secret"],
    "nuget": ['<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />'],
}
add_cases(SESSION10_MORE, set(), SESSION10_MORE_NEGATIVES)

# Session 12: passwords that command-line tools take as an argument of their own, as each tool's
# manual shows them; own seed, appended.
rng = random.Random(20261212)


def password():
    return r(B62, 12) + r(D, 2)


def tool_case(template):
    return lambda: (lambda value: (template.format(value), value))(password())


SESSION12_FORMATS = {
    "generic": [
        ("zip(1): -P password; unzip(1): -P password", "ZIP", tool_case("zip -r -P {} backup.zip src/")),
        ("7-Zip docs: -p{{password}} switch", "SEVEN_ZIP", tool_case("7z a -p{} -mhe=on notes.7z notes/")),
        ("sqlcmd docs: -P password", "SQLCMD", tool_case('sqlcmd -S db.example.com -U sa -P "{}" -Q "SELECT 1"')),
        ("ldapsearch(1): -w passwd", "LDAPSEARCH", tool_case("ldapsearch -x -H ldap://dc.example.com -D cn=admin,dc=example,dc=com -w {} -b dc=example,dc=com")),
        ("PsExec docs: -p password", "PSEXEC", tool_case("PsExec.exe \\\\10.0.0.5 -u EXAMPLE\\admin -p {} cmd /c whoami")),
        ("htpasswd(1): -b passwordfile username password", "HTPASSWD", tool_case("htpasswd -bc /etc/nginx/.htpasswd admin {}")),
        ("smbclient(1): -U username%password", "SMBCLIENT", tool_case("smbclient //fs.example.com/share -U 'EXAMPLE\\bob%{}' -c ls")),
        ("Windows net user: net user name password /add", "NET_USER", tool_case("net user deploy {} /add")),
        ("chpasswd(8): user_name:password on stdin", "CHPASSWD", tool_case('echo "deploy:{}" | sudo chpasswd')),
        ("rabbitmqctl(8): add_user username password", "RABBITMQCTL", tool_case("rabbitmqctl add_user admin {}")),
        ("redis-cli docs: -a password", "REDIS_CLI", tool_case("redis-cli -a {} PING")),
        ("gpg(1): --passphrase string", "GPG", tool_case("gpg --batch --passphrase {} -d notes.gpg")),
    ],
}
SESSION12_NEGATIVES = {
    "generic": [
        "zip -r -P $ZIP_PASSWORD backup.zip src/",
        "7z a -p notes.7z notes/",
        "ldapsearch -x -D cn=admin,dc=example,dc=com -W -b dc=example,dc=com",
        "psexec \\\\host -u Administrator -p $Password -i calc.exe",
        "htpasswd -c /etc/nginx/.htpasswd admin",
        "net user deploy * /add",
        'echo "deploy:$NEW_PASSWORD" | chpasswd',
        "rabbitmqctl add_user admin <password>",
        "redis-cli -h cache.example.com PING",
    ],
}
add_cases(SESSION12_FORMATS, set(), SESSION12_NEGATIVES)

# Session 12 too: WireGuard keys as wg(8) and wg-quick(8) write them; own seed, appended.
rng = random.Random(20261213)


def wg_key():
    return r(B64, 43) + "="


SESSION12_WIREGUARD = {
    "private-key": [
        ("wg(8): [Interface] PrivateKey, 32 bytes base64", "WG_PRIVATE_KEY",
         lambda: (lambda value: (f"[Interface]\nPrivateKey = {value}\nAddress = 10.8.0.2/24\nListenPort = 51820\n", value))(wg_key())),
        ("wg(8): [Peer] PresharedKey, 32 bytes base64", "WG_PRESHARED_KEY",
         lambda: (lambda value: (f"[Peer]\nPublicKey = {wg_key()}\nPresharedKey = {value}\nAllowedIPs = 0.0.0.0/0\n", value))(wg_key())),
    ],
}
SESSION12_WIREGUARD_NEGATIVES = {
    "private-key": [
        "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nEndpoint = vpn.example.com:51820\n",
        "PresharedKey = [Server's preshared key]",
    ],
}
add_cases(SESSION12_WIREGUARD, set(), SESSION12_WIREGUARD_NEGATIVES)

# Session 12 too: passwords told in prose, as a conversation with an agent tells them (the shapes
# of the setup guides and READMEs titus' generic examples quote); own seed, appended.
rng = random.Random(20261214)

SESSION12_PROSE = {
    "generic": [
        ("prose: the password is '<password>'", "PROSE_IS", tool_case("The password is '{}'.")),
        ("prose: the password for user <name> is '<password>'", "PROSE_FOR_USER", tool_case("Ensure the password for user 'postgres' is '{}' or change the .env file.")),
        ("prose, Markdown: set the password to `<password>`", "PROSE_SET_TO", tool_case("I set the admin password to `{}` and restarted the service.")),
    ],
}
SESSION12_PROSE_NEGATIVES = {
    "generic": [
        "The password is 'required' when SSO is off.",
        "it('fails when the password is \"wrong\"', () => {",
        "Set the password to '<your password>' first.",
    ],
}
add_cases(SESSION12_PROSE, set(), SESSION12_PROSE_NEGATIVES)

# Session 12 too: secrets stored from a command line, as each secret store's CLI docs show the
# value argument; own seed, appended.
rng = random.Random(20261215)

SESSION12_STORES = {
    "generic": [
        ("az keyvault secret set docs: --value", "AZ_KEYVAULT", tool_case("az keyvault secret set --vault-name contoso-kv --name db-password --value {}")),
        ("gh secret set docs: --body", "GH_SECRET", tool_case("gh secret set NPM_TOKEN --body {} --repo octo/app")),
        ("aws ssm put-parameter docs: --type SecureString --value", "AWS_SSM", tool_case("aws ssm put-parameter --name /app/db --type SecureString --value {}")),
        ("aws secretsmanager create-secret docs: --secret-string", "AWS_SECRETSMANAGER", tool_case("aws secretsmanager create-secret --name app/db --secret-string '{}'")),
        ("kubectl create secret generic docs: --from-literal=key=value", "KUBECTL_SECRET", tool_case("kubectl create secret generic db-user --from-literal=password={}")),
        ("fly secrets set docs: NAME=VALUE", "FLY_SECRETS", tool_case("fly secrets set DATABASE_KEY={}")),
        ("vault kv put docs: PATH KEY=VALUE", "VAULT_KV", tool_case("vault kv put secret/app api={}")),
        ("sudo(8): -S reads the password from standard input", "SUDO_STDIN", tool_case("echo {} | sudo -S systemctl restart app")),
        ("openssl enc(1): -k password", "OPENSSL_K", tool_case("openssl enc -aes-256-cbc -k {} -in notes.txt -out notes.enc")),
        ("ssh-keygen(1): -N new_passphrase", "SSH_KEYGEN", tool_case('ssh-keygen -t ed25519 -N "{}" -f deploy_key')),
    ],
}
SESSION12_STORES_NEGATIVES = {
    "generic": [
        'az keyvault secret set --vault-name contoso-kv --name db --value "$DB_PASSWORD"',
        "gh secret set NPM_TOKEN < token.txt",
        "aws ssm put-parameter --name /app/instance --type String --value t3micro01",
        "kubectl create configmap app --from-literal=mode=production01",
        "echo $PASSWORD | sudo -S systemctl restart app",
        'ssh-keygen -t ed25519 -N "" -f deploy_key',
    ],
}
add_cases(SESSION12_STORES, set(), SESSION12_STORES_NEGATIVES)

# Session 13: what services print when they start, reset a password or join a machine, and the
# tokens of the tools that join machines to networks; each from the tool's own docs or output; own
# seed, appended.
rng = random.Random(20261216)


def printed(template, value):
    return lambda: (lambda v: (template.format(v), v))(value())


def enrollment_token():
    body = {"ver": "8.14.0", "adr": [f"172.18.0.{rng.randrange(2, 250)}:9200"], "fgr": r(HEX, 64), "key": f"{r(URL, 20)}:{r(URL, 22)}"}
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


LOWER36 = az + D
SESSION13_FORMATS = {
    "generic": [
        ("Jenkins first start: the generated admin password (32 hex)", "JENKINS_BANNER",
         printed("Jenkins initial setup is required. An admin user has been created and a password generated.\nPlease use the following password to proceed to installation:\n\n{}\n\nThis may also be found at: /var/jenkins_home/secrets/initialAdminPassword\n", lambda: r(HEX, 32))),
        ("Jenkins docs: cat secrets/initialAdminPassword", "JENKINS_FILE",
         printed("$ docker exec jenkins cat /var/jenkins_home/secrets/initialAdminPassword\n{}\n", lambda: r(HEX, 32))),
        ("Argo CD docs: the initial admin secret, decoded", "ARGOCD_INITIAL",
         printed('$ kubectl -n argocd get secret argocd-initial-admin-secret -o jsonpath="{{.data.password}}" | base64 -d\n{}\n', lambda: r(URL, 16))),
        ("Elasticsearch 8 first start: the elastic user's password", "ELASTIC_BANNER",
         printed("Password for the elastic user (reset with `bin/elasticsearch-reset-password -u elastic`):\n  {}\n", lambda: r(URL + "*=+", 20))),
        ("elasticsearch-reset-password docs: New value", "ELASTIC_RESET",
         printed("Password for the [elastic] user successfully reset.\nNew value: {}\n", lambda: r(URL + "*=+", 20))),
        ("Keycloak docs: --db-password", "KEYCLOAK_DB",
         printed("bin/kc.sh start --db postgres --db-username keycloak --db-password {} --hostname kc.example.com", password)),
        ("Nextcloud occ docs: maintenance:install --admin-pass", "NEXTCLOUD_OCC",
         printed("php occ maintenance:install --database pgsql --admin-user admin --admin-pass {}", password)),
    ],
    "elastic": [("Elasticsearch docs: enrollment tokens (base64 of ver, adr, fgr, key)", "ES_ENROLLMENT_TOKEN", enrollment_token)],
    "docker": [("docker swarm join-token docs: SWMTKN-1-<50>-<25>", "SWARM_TOKEN", lambda: f"SWMTKN-1-{r(LOWER36, 50)}-{r(LOWER36, 25)}")],
    "hashicorp": [
        ("consul acl bootstrap docs: SecretID", "CONSUL_BOOTSTRAP",
         printed("AccessorID:       0c5e7b1a-2f3d-4e5f-8a9b-1c2d3e4f5a6b\nSecretID:         {}\nDescription:      Bootstrap Token (Global Management)\n", uuid)),
        ("nomad acl bootstrap docs: Secret ID", "NOMAD_BOOTSTRAP",
         printed("Accessor ID  = 5b7fd453-d3f7-6814-81dc-fcfe6daedea5\nSecret ID    = {}\nName         = Bootstrap Token\n", uuid)),
    ],
    "tailscale": [("Tailscale docs: auth keys and API access tokens (tskey-<kind>-<id>-<secret>)", "TS_AUTHKEY",
                   lambda: f"tskey-{rng.choice(['auth', 'api', 'client'])}-{r(B62, 10)}CNTRL-{r(B62, 32)}")],
    "ngrok": [("ngrok docs: authtokens (config add-authtoken, NGROK_AUTHTOKEN)", "NGROK_AUTHTOKEN",
               lambda: f"{r(B62, 27)}_{r(D, 1)}{r(B62, 20)}")],
}
SESSION13_NEEDS_NAME = {"NGROK_AUTHTOKEN"}
SESSION13_NEGATIVES = {
    "generic": [
        "This may also be found at: /var/jenkins_home/secrets/initialAdminPassword\n\n*************************************************************\n",
        "Password for the elastic user (reset with `bin/elasticsearch-reset-password -u elastic`):\n  <password>\n",
        "ansible-playbook site.yml --vault-password-file ~/.vault_pass2",
        "llm prompt --max-tokens 4096",
    ],
    "elastic": ["Copy the following enrollment token and paste it into Kibana: eyJ2ZXIiOiI4..."],
    "docker": ["docker swarm join --token SWMTKN-1-<token> 192.168.99.100:2377"],
    "hashicorp": ["AccessorID:       0c5e7b1a-2f3d-4e5f-8a9b-1c2d3e4f5a6b"],
    "tailscale": ["TAILSCALE_AUTH_KEY=tskey-auth-XXXXXX", "export TS_API_KEY=tskey-api-xxxxx"],
    "ngrok": ["ngrok http 8080 --domain=example.ngrok.app", "ngrok config add-authtoken <token>"],
}
add_cases(SESSION13_FORMATS, SESSION13_NEEDS_NAME, SESSION13_NEGATIVES)

# Session 13 too: the tokens of CI and code-quality services and of the AI tools a coding agent's
# project calls, from each vendor's docs; own seed, appended.
rng = random.Random(20261217)
SESSION13_TOOLS = {
    "sonarqube": [("SonarQube docs: user, project and global analysis tokens (squ_/sqp_/sqa_ + 40 hex)", "SONAR_TOKEN", lambda: rng.choice(["squ_", "sqp_", "sqa_"]) + r(HEX, 40))],
    "buildkite": [("Buildkite docs: API access tokens (bkua_ + 40)", "BUILDKITE_API_TOKEN", lambda: "bkua_" + r(LOWER36, 40))],
    "circleci": [("CircleCI docs: personal API tokens (CCIPAT_<24>_<40>)", "CIRCLECI_TOKEN", lambda: f"CCIPAT_{r(B62, 24)}_{r(LOWER36, 40)}")],
    "langsmith": [("LangSmith docs: personal and service keys (lsv2_pt_/lsv2_sk_)", "LANGSMITH_API_KEY", lambda: f"lsv2_{rng.choice(['pt', 'sk'])}_{r(HEX, 32)}_{r(HEX, 10)}")],
    "pinecone": [("Pinecone docs: API keys (pcsk_<id>_<secret>)", "PINECONE_API_KEY", lambda: f"pcsk_{r(B62, 6)}_{r(B62, 63)}")],
    "tavily": [("Tavily docs: API keys (tvly-, tvly-dev-)", "TAVILY_API_KEY", lambda: "tvly-" + rng.choice(["", "dev-"]) + r(B62, 32))],
    "figma": [("Figma docs: personal access tokens (figd_ + 40)", "FIGMA_TOKEN", lambda: "figd_" + r(URL, 40))],
    "firecrawl": [("Firecrawl docs: API keys (fc- + 32 hex)", "FIRECRAWL_API_KEY", lambda: "fc-" + r(HEX, 32))],
    "e2b": [("E2B docs: API keys (e2b_ + 40 hex)", "E2B_API_KEY", lambda: "e2b_" + r(HEX, 40))],
    "generic": [("DeepSeek and DashScope docs: API keys (sk- + 32 hex)", "DEEPSEEK_API_KEY", lambda: "sk-" + r(HEX, 32))],
}
SESSION13_TOOLS_NEGATIVES = {
    "sonarqube": ["sonar.login=$SONAR_TOKEN", "SONAR_TOKEN=squ_<your token>"],
    "buildkite": ["BUILDKITE_API_TOKEN=bkua_xxxxxxxx"],
    "circleci": ["CIRCLECI_TOKEN=CCIPAT_..."],
    "langsmith": ["LANGSMITH_API_KEY=lsv2_pt_..."],
    "pinecone": ["PINECONE_API_KEY=pcsk_your_api_key"],
    "tavily": ["TAVILY_API_KEY=tvly-xxxxxxxxxxxxx", "TAVILY_API_KEY=tvly-YOUR_API_KEY"],
    "figma": ["FIGMA_TOKEN=figd_xxxxx"],
    "firecrawl": ["FIRECRAWL_API_KEY=fc-YOUR-API-KEY", "FIRECRAWL_API_KEY=fc-xxxxxxxxxxxx"],
    "e2b": ["E2B_API_KEY=e2b_***"],
    "generic": ["DEEPSEEK_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
}
add_cases(SESSION13_TOOLS, set(), SESSION13_TOOLS_NEGATIVES)

# Session 13 too: PostgreSQL's password file as `cat ~/.pgpass` prints it (libpq docs); own seed, appended.
rng = random.Random(20261218)
SESSION13_PGPASS = {
    "generic": [
        ("libpq docs: ~/.pgpass hostname:port:database:username:password", "PGPASS",
         lambda: (lambda v: (f"$ cat ~/.pgpass\ndb.example.com:5432:app:app_user:{v}\n", v))(password())),
        ("libpq docs: ~/.pgpass with * wildcards", "PGPASS_WILDCARD",
         lambda: (lambda v: (f"*:*:*:postgres:{v}\n", v))(password())),
    ],
}
SESSION13_PGPASS_NEGATIVES = {"generic": ["localhost:5432:*:app:<password>\n", "root:x:0:0:root:/root:/bin/bash\n"]}
add_cases(SESSION13_PGPASS, set(), SESSION13_PGPASS_NEGATIVES)

# Session 13 too: every pair of a multi-pair secret store command line (fly, doppler, vault kv
# put, kubectl --from-literal docs); own seed, appended.
rng = random.Random(20261219)
SESSION13_PAIRS = {
    "generic": [
        ("fly secrets set docs: NAME=VALUE pairs", "FLY_PAIRS", lambda: (lambda v: (f"fly secrets set API_KEY=$API_KEY DATABASE_KEY={v}", v))(password())),
        ("vault kv put docs: PATH key=value pairs", "VAULT_PAIRS", lambda: (lambda v: (f"vault kv put secret/app user=$DB_USER db={v}", v))(password())),
        ("kubectl create secret docs: --from-literal pairs", "KUBECTL_PAIRS", lambda: (lambda v: (f"kubectl create secret generic db --from-literal=user=$DB_USER --from-literal=pw={v}", v))(password())),
    ],
}
SESSION13_PAIRS_NEGATIVES = {"generic": ["fly secrets set --app web A=$SECRET B=<value>", "vault kv get secret/app api=Zx9vQ2mLk7q"]}
add_cases(SESSION13_PAIRS, set(), SESSION13_PAIRS_NEGATIVES)

# Session 14: Vault tokens of 24 base62 characters (vault/token_store.go: TokenLength = 24 behind
# hvs./hvr.; a root token has that shape, `vault server -dev` prints one), with a namespace id for a
# namespace other than root; own seed, appended.
rng = random.Random(20261220)
SESSION14_VAULT = {
    "vault": [
        ("Vault source (token_store.go TokenLength = 24): the dev server's root token", "VAULT_TOKEN",
         lambda: (lambda v: (f"$ vault server -dev\n==> Vault server started! Log data will stream in below:\n...\nRoot Token: {v}\n", v))("hvs." + r(B62, 24))),
        ("Vault source (token_store.go TokenLength = 24): service and recovery tokens hvs./hvr. + 24 base62", "VAULT_TOKEN",
         lambda: rng.choice(["hvs.", "hvr."]) + r(B62, 24)),
        ("Vault source (token_store.go MaxNsIdLength): a namespace's token, . and its id after the 24", "VAULT_TOKEN",
         lambda: "hvs." + r(B62, 24) + "." + r(B62, 5)),
    ],
}
SESSION14_VAULT_NEGATIVES = {"vault": ["VAULT_TOKEN=hvs.XXXXXXXXXXXXXXXXXXXXXXXX", "Service tokens start with hvs. and batch tokens with hvb.; see `vault token lookup`."]}
add_cases(SESSION14_VAULT, set(), SESSION14_VAULT_NEGATIVES)

# Session 14 too: what a command prints when its output is a secret, alone on the next line, in a
# terminal and as an exported note's tool callout shows the result (the tools' docs: kubectl get
# secret | base64 -d, openssl rand, vault kv get -field, aws secretsmanager --output text, op read,
# security find-generic-password -w, gcloud secrets versions access, heroku auth:token); own seed.
rng = random.Random(20261221)


def callout(command):
    return f"> [!example]- Tool: Bash `{command[:40]}`\n> ```sh\n> {command}\n> ```\n>\n> **Result**\n>\n> ```\n> "


def printed(command, make, note=False):
    def case():
        value = make()
        head = callout(command) if note else f"$ {command}\n"
        return (head + value + ("\n> ```\n" if note else "\n"), value)
    return case


SESSION14_PRINTED = {
    "generic": [
        ("kubectl docs: decoding a secret (get secret -o jsonpath | base64 --decode)", "K8S", printed("kubectl get secret db-user-pass -o jsonpath='{.data.password}' | base64 --decode", password)),
        ("kubectl docs: decoding a secret, as a note's tool callout shows it", "K8S_NOTE", printed("kubectl get secret db-user-pass -o jsonpath='{.data.password}' | base64 -d", password, True)),
        ("openssl rand docs: -base64 / -hex output", "OPENSSL", printed("openssl rand -base64 32", lambda: r(B64, 43) + "=")),
        ("openssl rand docs: -hex output, as a note's tool callout shows it", "OPENSSL_NOTE", printed("openssl rand -hex 32", lambda: r(HEX, 64), True)),
        ("vault kv get docs: -field prints the field's value", "VAULT_FIELD", printed("vault kv get -field=password secret/app", password)),
        ("aws secretsmanager get-secret-value docs: --query SecretString --output text", "AWS_SM", printed("aws secretsmanager get-secret-value --secret-id prod/api --query SecretString --output text", password, True)),
        ("1Password CLI docs: op read prints the field", "OP_READ", printed("op read op://Private/github/token", password)),
        ("macOS security docs: find-generic-password -w prints the password", "KEYCHAIN", printed("security find-generic-password -s deploy -a ci -w", password)),
        ("gcloud docs: secrets versions access prints the payload", "GCLOUD_SM", printed("gcloud secrets versions access latest --secret=$SECRET_ID", password, True)),
        ("Heroku CLI docs: auth:token prints the API token", "HEROKU_TOKEN", printed("heroku auth:token", uuid)),
        ("Jenkins docs: initialAdminPassword read back, as a note's tool callout shows it", "JENKINS_NOTE", printed("docker exec jenkins cat /var/jenkins_home/secrets/initialAdminPassword", lambda: r(HEX, 32), True)),
    ],
}
SESSION14_PRINTED_NEGATIVES = {
    "generic": [
        "$ openssl rand -hex 32 > .session-key\n$ ./scripts/deploy.sh --prod\n",
        "$ kubectl get secrets -n prod\nNAME       TYPE     DATA   AGE\ndb-creds   Opaque   2      3d\n",
        callout("openssl rand -hex 32 > key.txt") + "```\n",
        "$ terraform output -raw instance_ip\n203.0.113.10\n",
    ],
}
add_cases(SESSION14_PRINTED, set(), SESSION14_PRINTED_NEGATIVES)

# Session 14 too: the same for a WireGuard key made (wg genkey), a password made (pwgen), a
# Docker secret read back (/run/secrets), a credential variable echoed or printed; own seed.
rng = random.Random(20261222)
SESSION14_PRINTED_MORE = {
    "generic": [
        ("WireGuard docs: wg genkey prints a private key (base64 of 32 bytes)", "WG", printed("wg genkey", lambda: r(B64, 43) + "=")),
        ("pwgen docs: pwgen -s prints secure passwords", "PWGEN", printed("pwgen -s 24 1", lambda: r(B62, 24))),
        ("Docker docs: a service reads its secret from /run/secrets/<name>", "DOCKER_SECRET", printed("docker exec app cat /run/secrets/db_password", password, True)),
        ("bash: echo of a credential variable prints its value", "ECHO", printed("echo $DB_PASSWORD", password)),
        ("coreutils docs: printenv NAME prints the variable's value", "PRINTENV", printed("printenv API_TOKEN", password, True)),
    ],
}
SESSION14_PRINTED_MORE_NEGATIVES = {"generic": ["$ echo $KEY_ID\nAbc123def456\n", "$ printenv PATH\n/usr/local/bin:/usr/bin\n", "$ echo $DB_PASSWORD > .pw\nTr0ub4dor3xQz\n"]}
add_cases(SESSION14_PRINTED_MORE, set(), SESSION14_PRINTED_MORE_NEGATIVES)

# Session 14 too: a credential-named XML key and its value element (Apple's property list format;
# Hadoop's and Hive's *-site.xml properties); own seed.
rng = random.Random(20261223)
SESSION14_XML = {
    "generic": [
        ("Apple property list docs: <key>…</key> then <string>…</string>", "PLIST",
         lambda: (lambda v: (f"<dict>\n\t<key>Password</key>\n\t<string>{v}</string>\n</dict>\n", v))(password())),
        ("Hive docs: hive-site.xml javax.jdo.option.ConnectionPassword", "HIVE_SITE",
         lambda: (lambda v: (f"<property>\n  <name>javax.jdo.option.ConnectionPassword</name>\n  <value>{v}</value>\n</property>\n", v))(password())),
        ("Hadoop S3A docs: core-site.xml fs.s3a.secret.key", "CORE_SITE",
         lambda: (lambda v: (f"<property>\n  <name>fs.s3a.secret.key</name>\n  <value>{v}</value>\n</property>\n", v))(r(B64, 40))),
    ],
}
SESSION14_XML_NEGATIVES = {"generic": ["<name>dfs.namenode.name.dir</name>\n<value>/data/hadoop/namenode</value>\n", "<key>PasswordPolicy</key>\n<string>RequireUppercase</string>\n", "<name>javax.jdo.option.ConnectionPassword</name>\n<value>${env.HIVE_PASSWORD}</value>\n"]}
add_cases(SESSION14_XML, set(), SESSION14_XML_NEGATIVES)

# Session 14 too: an AWS secret read back from the CLI's config, and a credential field jq prints
# (raw or as a JSON string); own seed.
rng = random.Random(20261224)
SESSION14_PRINTED_FIELDS = {
    "generic": [
        ("AWS CLI docs: aws configure get prints the setting's value", "AWS_CONFIGURE_GET", printed("aws configure get aws_secret_access_key", lambda: r(B64, 40))),
        ("jq manual: -r prints a string field raw", "JQ_RAW", printed("jq -r .access_token ~/.config/app/creds.json", password)),
        ("jq manual: a string field printed as JSON", "JQ_JSON", lambda: (lambda v: (callout("jq .installed.client_secret client_secret.json") + '"' + v + '"\n> ```\n', v))(password())),
    ],
}
SESSION14_PRINTED_FIELDS_NEGATIVES = {"generic": ["$ aws configure get region\neu-west-1a\n", "$ jq -r .token_type creds.json\nBearerTokenX\n"]}
add_cases(SESSION14_PRINTED_FIELDS, set(), SESSION14_PRINTED_FIELDS_NEGATIVES)

# Session 14 too: a sensitive value `terraform output -json` prints in full (Terraform docs:
# output command, -json); own seed.
rng = random.Random(20261225)
SESSION14_TERRAFORM = {
    "generic": [
        ("Terraform docs: terraform output -json prints sensitive values in full", "TF_OUTPUT_JSON",
         lambda: (lambda v: (f'$ terraform output -json\n{{\n  "db_password": {{\n    "sensitive": true,\n    "type": "string",\n    "value": "{v}"\n  }}\n}}\n', v))(password())),
    ],
}
SESSION14_TERRAFORM_NEGATIVES = {"generic": ['{\n  "instance_ip": {\n    "sensitive": false,\n    "type": "string",\n    "value": "203.0.113.10"\n  }\n}\n']}
add_cases(SESSION14_TERRAFORM, set(), SESSION14_TERRAFORM_NEGATIVES)

# Session 14 too: a secret piped or here-string'd into a store that reads it on stdin (the docs of
# wrangler secret put, gh secret set, vercel env add, docker secret create -, gcloud secrets
# versions add --data-file=-, firebase functions:secrets:set); own seed.
rng = random.Random(20261226)
SESSION14_STDIN_STORES = {
    "generic": [
        ("Cloudflare wrangler docs: secret put reads the value on stdin", "WRANGLER", tool_case("echo {} | npx wrangler secret put STRIPE_KEY")),
        ("GitHub CLI docs: gh secret set reads the value on stdin without --body", "GH_SECRET_STDIN", tool_case("printf '{}' | gh secret set DEPLOY_TOKEN --repo acme/app")),
        ("Vercel CLI docs: vercel env add reads the value on stdin", "VERCEL_ENV", tool_case("vercel env add API_SECRET production <<< {}")),
        ("Docker docs: docker secret create NAME - reads stdin", "DOCKER_SECRET", tool_case("printf {} | docker secret create db_password -")),
        ("gcloud docs: secrets versions add --data-file=- reads stdin", "GCLOUD_SECRET", tool_case("echo -n {} | gcloud secrets versions add api-key --data-file=-")),
    ],
}
SESSION14_STDIN_STORES_NEGATIVES = {"generic": ['echo "$STRIPE_KEY" | npx wrangler secret put STRIPE_KEY', "cat .env | docker secret create app_env -", "vercel env add API_SECRET production <<< $API_SECRET"]}
add_cases(SESSION14_STDIN_STORES, set(), SESSION14_STDIN_STORES_NEGATIVES)

# Session 14 too: a credential a tool's config-setting command takes as a positional value (the
# docs of netlify env:set, yarn config set npmAuthToken, poetry config http-basic, composer config
# http-basic, mc alias set, bundle config); own seed.
rng = random.Random(20261227)
SESSION14_CONFIG_SET = {
    "generic": [
        ("Netlify CLI docs: env:set KEY VALUE", "NETLIFY_ENV_SET", tool_case("netlify env:set STRIPE_SECRET {}")),
        ("Yarn docs: yarn config set npmAuthToken", "YARN_TOKEN", tool_case("yarn config set npmAuthToken {}")),
        ("Poetry docs: poetry config http-basic.<repo> <user> <password>", "POETRY_BASIC", tool_case("poetry config http-basic.private deploy {}")),
        ("Composer docs: composer config http-basic.<host> <user> <password>", "COMPOSER_BASIC", tool_case("composer config --global http-basic.repo.example.com deploy {}")),
        ("MinIO client docs: mc alias set ALIAS URL ACCESSKEY SECRETKEY", "MC_ALIAS", tool_case("mc alias set myminio https://minio.example.com minioadmin {}")),
    ],
}
SESSION14_CONFIG_SET_NEGATIVES = {"generic": ["netlify env:set NODE_ENV production", "yarn config set npmAuthToken $NPM_TOKEN", "git config --global credential.helper store"]}
add_cases(SESSION14_CONFIG_SET, set(), SESSION14_CONFIG_SET_NEGATIVES)

# Session 14 too: a credential-named row of a table a command printed (Vault's `vault kv get` Key /
# Value table, a Markdown table, a box-drawing one as `railway variables` and `doppler secrets`
# print); own seed.
rng = random.Random(20261228)
SESSION14_TABLES = {
    "generic": [
        ("Vault docs: vault kv get prints a Key / Value table", "VAULT_KV_TABLE",
         lambda: (lambda v: (f"$ vault kv get secret/app\n====== Data ======\nKey         Value\n---         -----\nusername    deploy\npassword    {v}\n", v))(password())),
        ("Markdown table of environment variables", "MD_TABLE",
         lambda: (lambda v: (f"| Name | Value |\n|---|---|\n| NODE_ENV | production |\n| DB_PASSWORD | {v} |\n", v))(password())),
        ("box-drawing table (railway variables, doppler secrets)", "BOX_TABLE",
         lambda: (lambda v: (f"║ NODE_ENV          │ production     ║\n║ API_TOKEN         │ {v} ║\n", v))(password())),
    ],
}
SESSION14_TABLES_NEGATIVES = {"generic": ["| password | string | The user's password |\n", "Password    string `json:\"password\"`\n", "token_duration      768h\n"]}
add_cases(SESSION14_TABLES, set(), SESSION14_TABLES_NEGATIVES)

# Session 14 too: pre-signed URLs' signatures and session tokens (AWS SigV4 query parameters and
# CloudFront signed URLs; Cloud Storage V4 signed URLs); own seed.
rng = random.Random(20261229)


def s3_presigned(param, value):
    url = ("https://bucket.s3.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=$AWS_KEY_ID%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
           f"&X-Amz-Date=20261203T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&{param}={value}")
    return (f"curl -o report.pdf '{url}'", value)


SESSION14_PRESIGNED = {
    "aws": [
        ("AWS docs: SigV4 query parameters, X-Amz-Signature (64 hex)", "S3_PRESIGNED_SIG", lambda: s3_presigned("X-Amz-Signature", r(HEX, 64))),
        ("AWS docs: a temporary key's pre-signed URL carries X-Amz-Security-Token (URL-encoded)", "S3_PRESIGNED_TOKEN", lambda: s3_presigned("X-Amz-Security-Token", "IQoJb3JpZ2luX2VjE" + r(B62, 20) + "%2F%2F%2F" + r(B62, 200) + "%3D")),
        ("CloudFront docs: signed URL Expires, Signature, Key-Pair-Id", "CLOUDFRONT_SIGNED",
         lambda: (lambda v: (f"https://d111111abcdef8.cloudfront.net/video.mp4?Expires=1767225600&Signature={v}&Key-Pair-Id=K2JCJMDEHXQW5F", v))(r(B62 + "-_~", 172))),
    ],
    "google": [
        ("Cloud Storage docs: V4 signed URL X-Goog-Signature (hex)", "GCS_SIGNED",
         lambda: (lambda v: (f"https://storage.googleapis.com/bucket/obj?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date=20261203T120000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature={v}", v))(r(HEX, 512))),
    ],
}
SESSION14_PRESIGNED_NEGATIVES = {
    "aws": ["The X-Amz-Signature= parameter signs the request; see the SigV4 docs.", "https://example.com/docs?Signature=required&page=2"],
    "google": ["X-Goog-Signature=${SIGNATURE}"],
}
add_cases(SESSION14_PRESIGNED, set(), SESSION14_PRESIGNED_NEGATIVES)

# Session 14 too: Kaggle's API credentials (Kaggle API docs: ~/.kaggle/kaggle.json
# {"username":…,"key":…}, or KAGGLE_USERNAME / KAGGLE_KEY); own seed.
rng = random.Random(20261230)
SESSION14_KAGGLE = {
    "kaggle": [
        ("Kaggle API docs: ~/.kaggle/kaggle.json", "KAGGLE_JSON", lambda: (lambda v: (f'$ cat ~/.kaggle/kaggle.json\n{{"username":"octocat","key":"{v}"}}\n', v))(r(HEX, 32))),
        ("Kaggle API docs: KAGGLE_KEY environment variable", "KAGGLE_KEY", lambda: r(HEX, 32)),
    ],
}
SESSION14_KAGGLE_NEGATIVES = {"kaggle": ['{"username":"octocat","key":"<your-api-key>"}', "export KAGGLE_KEY=$KAGGLE_KEY"]}
add_cases(SESSION14_KAGGLE, {"KAGGLE_KEY"}, SESSION14_KAGGLE_NEGATIVES)

with open("vendor-formats.jsonl", "w") as out:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
print(len(rows), "cases")
