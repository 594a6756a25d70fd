/**
 * Secret redaction applied before anything leaves the machine (a store to a non-local memory server, a
 * prompt to the other vendor's agent). Pure: a table of rules and one function.
 *
 * Provenance: rule ids follow the names of gitleaks' default rule set (github.com/gitleaks/gitleaks,
 * MIT) so that a finding reads the same in both tools; the patterns themselves are written here from
 * each provider's published token format (cited per rule) — no code or regex is copied.
 */

/** Every kind of secret redactSecrets knows; also the `<kind>` in `[REDACTED:<kind>]`. */
export type SecretKind =
  | 'private-key'
  | 'jwt'
  | 'url-password'
  | 'anthropic-api-key'
  | 'openai-api-key'
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'github-pat'
  | 'github-oauth'
  | 'github-app-token'
  | 'github-refresh-token'
  | 'github-fine-grained-pat'
  | 'gitlab-pat'
  | 'slack-bot-token'
  | 'slack-user-token'
  | 'slack-workspace-token'
  | 'slack-refresh-token'
  | 'slack-webhook-url'
  | 'stripe-secret-key'
  | 'stripe-test-key'
  | 'stripe-restricted-key'
  | 'gcp-api-key'
  | 'google-oauth-client-secret'
  | 'env-secret';

/** One detection rule: `pattern` must be global + hasIndices and name the secret part `(?<s>...)`. */
interface SecretRule {
  id: SecretKind;
  description: string;
  pattern: RegExp;
  /** Extra check on the secret text (e.g. decode a JWT header); false keeps the text. */
  validate?: (secret: string, match: RegExpMatchArray) => boolean;
}

/** Options of redactSecrets. */
export interface RedactOptions {
  /** Exact secret strings, or rule ids (SecretKind), to leave as they are. */
  allow?: readonly string[];
}

/** What redactSecrets returns: the redacted text and how many secrets of each kind it replaced. */
export interface RedactResult {
  text: string;
  counts: Partial<Record<SecretKind, number>>;
  total: number;
}

const MARKER = /^\[REDACTED:[a-z0-9-]+\]$/;

// Values that are obviously not a secret: templates, env references, well-known dummies, our own marker
// (which is what makes redaction idempotent for the value-capturing rules).
const PLACEHOLDER =
  /^(?:\[REDACTED:[a-z0-9-]+\]|<[^>]*>|\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%[A-Za-z_][A-Za-z0-9_]*%|(?:process\.env|import\.meta\.env|os\.environ)[.[][\w$'"\]]*|(?:changeme|change[-_]me|placeholder|example|dummy|test|secret|password|passwd|pass|pwd|your[-_a-z0-9]*|my[-_]?(?:secret|token|key|password)|x{3,}|\*{3,}|\.{3}|null|none|nil|undefined|true|false|todo|tbd|redacted)$)/i;

/** True when a captured value is a placeholder or too plain to be a credential. */
function isPlaceholder(v: string): boolean {
  const s = v.replace(/^["'`]|["'`]$/g, '');
  return s.length === 0 || PLACEHOLDER.test(s) || /^\d{1,7}$/.test(s);
}

/** Decodes base64url to a binary string, or undefined (atob is a JS global, not a Node API). */
function b64urlDecode(s: string): string | undefined {
  try {
    const b = s.replace(/-/g, '+').replace(/_/g, '/');
    return atob(b + '='.repeat((4 - (b.length % 4)) % 4));
  } catch {
    return undefined;
  }
}

/** A JWT's first part must decode to a JSON object with a string "alg" (RFC 7515 §4.1.1). */
function isJwt(token: string): boolean {
  const header = b64urlDecode(token.split('.')[0] ?? '');
  if (!header) return false;
  try {
    const h: unknown = JSON.parse(header);
    return typeof h === 'object' && h !== null && typeof (h as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

// Words of a dotenv name that mark it as a credential: DB_PASSWORD, JWT_SECRET, GITHUB_TOKEN, API_KEY, …
const SECRET_NAME = /^(?:[A-Z0-9_]*_)?(?:SECRET|SECRETS|TOKEN|PASSWORD|PASSWD|PASS|PWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|AUTH_KEY|CLIENT_SECRET|CREDENTIALS?)(?:_[A-Z0-9_]*)?$/;

const re = (src: string, flags = '') => new RegExp(src, `gd${flags}`);
// Token bodies end at a non-token character; `(?![\w-])` stands in for \b where `-` is part of the token.
const END = '(?![A-Za-z0-9_-])';
const START = '(?<![A-Za-z0-9_-])';

// Order matters: whole blocks and structured tokens first, so a later, looser rule (env-secret) sees the
// marker instead of the value and leaves it alone; sk-ant- before sk-.
const RULES: readonly SecretRule[] = [
  {
    // RFC 7468 textual encoding labels ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
    // and OpenPGP armor (RFC 4880 §6.2 "PGP PRIVATE KEY BLOCK"); a block cut off before END is still redacted.
    id: 'private-key',
    description: 'PEM / OpenSSH / PGP private key block',
    pattern: re(
      String.raw`(?<s>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?:\r?\n[A-Za-z0-9+/=: -]*)*))`,
    ),
  },
  {
    // RFC 7519 compact serialisation: base64url(header).base64url(payload).base64url(signature); headers
    // are JSON objects so they start with "eyJ" ('{"'). Checked by decoding the header.
    id: 'jwt',
    description: 'JSON Web Token',
    pattern: re(String.raw`${START}(?<s>eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)${END}`),
    validate: isJwt,
  },
  {
    // RFC 3986 §3.2.1 userinfo "user:password@"; user and host are kept, only the password goes.
    id: 'url-password',
    description: 'password inside a URL (scheme://user:pass@host)',
    pattern: re(String.raw`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@?#]*:(?<s>[^\s/@?#]+)@`),
    validate: (s) => !isPlaceholder(s),
  },
  {
    // Anthropic Console keys: "sk-ant-api03-" / "sk-ant-admin01-" + base64url body.
    id: 'anthropic-api-key',
    description: 'Anthropic API key (sk-ant-…)',
    pattern: re(String.raw`${START}(?<s>sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{20,})${END}`),
  },
  {
    // OpenAI keys: legacy "sk-" + 48 alphanumerics, project / service-account / admin keys
    // "sk-proj-", "sk-svcacct-", "sk-admin-" + base64url body.
    id: 'openai-api-key',
    description: 'OpenAI API key (sk-…, sk-proj-…)',
    pattern: re(String.raw`${START}(?<s>sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9][A-Za-z0-9_-]{30,})${END}`),
  },
  {
    // AWS IAM unique-identifier prefixes (IAM user guide, "Understanding unique ID prefixes"): AKIA
    // long-term and ASIA temporary access key ids, 20 characters in all.
    id: 'aws-access-key-id',
    description: 'AWS access key id (AKIA…/ASIA…)',
    pattern: re(String.raw`\b(?<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b`),
  },
  {
    // The secret key has no prefix (40 base64 chars), so it is only recognised where it is assigned to
    // the names the AWS CLI / SDK config files and environment use.
    id: 'aws-secret-access-key',
    description: 'AWS secret access key in an assignment',
    pattern: re(
      String.raw`\b(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|aws_secret_key|secretAccessKey|SecretAccessKey)["']?\s*[:=]\s*["']?(?<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
    ),
  },
  // GitHub token formats (GitHub docs, "About authentication to GitHub" → token prefixes): prefix + 36
  // base62 characters (the last 6 are a CRC32 checksum); fine-grained PATs are "github_pat_" + 82.
  { id: 'github-pat', description: 'GitHub personal access token (ghp_)', pattern: re(String.raw`\b(?<s>ghp_[A-Za-z0-9]{36,251})\b`) },
  { id: 'github-oauth', description: 'GitHub OAuth access token (gho_)', pattern: re(String.raw`\b(?<s>gho_[A-Za-z0-9]{36,251})\b`) },
  { id: 'github-app-token', description: 'GitHub App user-to-server / installation token (ghu_, ghs_)', pattern: re(String.raw`\b(?<s>gh[us]_[A-Za-z0-9]{36,251})\b`) },
  { id: 'github-refresh-token', description: 'GitHub refresh token (ghr_)', pattern: re(String.raw`\b(?<s>ghr_[A-Za-z0-9]{36,251})\b`) },
  { id: 'github-fine-grained-pat', description: 'GitHub fine-grained PAT (github_pat_)', pattern: re(String.raw`\b(?<s>github_pat_[A-Za-z0-9_]{22,255})\b`) },
  {
    // GitLab docs, "Token prefixes": personal access tokens are "glpat-" + 20+ characters.
    id: 'gitlab-pat',
    description: 'GitLab personal access token (glpat-)',
    pattern: re(String.raw`${START}(?<s>glpat-[A-Za-z0-9_-]{20,})${END}`),
  },
  // Slack API docs, "Token types": xoxb bot, xoxp user, xoxa (legacy workspace app), xoxr refresh;
  // bodies are dash-separated numeric ids followed by an alphanumeric secret.
  { id: 'slack-bot-token', description: 'Slack bot token (xoxb-)', pattern: re(String.raw`${START}(?<s>xoxb-[0-9]{6,}-[A-Za-z0-9-]{10,})${END}`) },
  { id: 'slack-user-token', description: 'Slack user token (xoxp-)', pattern: re(String.raw`${START}(?<s>xoxp-[0-9]{6,}-[A-Za-z0-9-]{10,})${END}`) },
  { id: 'slack-workspace-token', description: 'Slack workspace app token (xoxa-)', pattern: re(String.raw`${START}(?<s>xoxa-(?:2-)?[A-Za-z0-9-]{10,})${END}`) },
  { id: 'slack-refresh-token', description: 'Slack refresh token (xoxr-)', pattern: re(String.raw`${START}(?<s>xoxr-[A-Za-z0-9-]{10,})${END}`) },
  {
    // Slack incoming webhooks: https://hooks.slack.com/services/T…/B…/<secret> (also workflows/triggers).
    id: 'slack-webhook-url',
    description: 'Slack incoming-webhook URL',
    pattern: re(String.raw`(?<s>https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,})`),
  },
  // Stripe docs, "API keys": secret sk_live_/sk_test_, restricted rk_live_/rk_test_ + base62 body.
  { id: 'stripe-secret-key', description: 'Stripe live secret key (sk_live_)', pattern: re(String.raw`\b(?<s>sk_live_[A-Za-z0-9]{16,})\b`) },
  { id: 'stripe-test-key', description: 'Stripe test secret key (sk_test_)', pattern: re(String.raw`\b(?<s>sk_test_[A-Za-z0-9]{16,})\b`) },
  { id: 'stripe-restricted-key', description: 'Stripe restricted key (rk_live_/rk_test_)', pattern: re(String.raw`\b(?<s>rk_(?:live|test)_[A-Za-z0-9]{16,})\b`) },
  {
    // Google Cloud API keys: "AIza" + 35 base64url characters (39 in all).
    id: 'gcp-api-key',
    description: 'Google API key (AIza…)',
    pattern: re(String.raw`${START}(?<s>AIza[A-Za-z0-9_-]{35})${END}`),
  },
  {
    // Google OAuth 2.0 client secrets issued since 2021 start with "GOCSPX-".
    id: 'google-oauth-client-secret',
    description: 'Google OAuth client secret (GOCSPX-)',
    pattern: re(String.raw`${START}(?<s>GOCSPX-[A-Za-z0-9_-]{20,})${END}`),
  },
  {
    // dotenv / shell assignment (`NAME=value`, optionally quoted; also inline in prose or code), to an
    // upper-case name whose words include SECRET, TOKEN, PASSWORD, API_KEY, … Names in
    // dotenv are conventionally upper-case, which keeps code like `tokenCount = 3` out.
    id: 'env-secret',
    description: '.env-style assignment to a secret-looking name',
    pattern: re(
      String.raw`(?<![A-Za-z0-9_.$-])(?<n>[A-Z_][A-Z0-9_]{0,63})[ \t]*=[ \t]*(?<s>"[^"\n]*"|'[^'\n]*'|[^\s#\x60]+)`,
    ),
    // The name is checked separately (not inside the pattern) so that long identifiers cost linear time.
    validate: (s, m) => SECRET_NAME.test(m.groups?.n ?? '') && !isPlaceholder(s),
  },
];

/** The rule table (id + description), for docs and for validating an allowlist in config. */
export const SECRET_RULES: readonly { id: SecretKind; description: string }[] = RULES.map(({ id, description }) => ({ id, description }));

/** Replaces every secret in `text` by `[REDACTED:<kind>]`; idempotent; `allow` keeps exact strings or whole kinds. */
export function redactSecrets(text: string, opts: RedactOptions = {}): RedactResult {
  const allow = new Set(opts.allow ?? []);
  const counts: Partial<Record<SecretKind, number>> = {};
  let total = 0;
  let out = text;
  for (const rule of RULES) {
    if (allow.has(rule.id)) continue;
    rule.pattern.lastIndex = 0;
    let result = '';
    let last = 0;
    for (const m of out.matchAll(rule.pattern)) {
      const span = m.indices?.groups?.s;
      const raw = m.groups?.s;
      if (!span || raw === undefined) continue;
      // A quoted env value keeps its quotes so the line still parses the same way.
      const quoted = /^(["']).*\1$/s.test(raw) && raw.length >= 2;
      const secret = quoted ? raw.slice(1, -1) : raw;
      if (MARKER.test(secret) || allow.has(secret) || allow.has(raw)) continue;
      if (rule.validate && !rule.validate(raw, m)) continue;
      const [start, end] = quoted ? [span[0] + 1, span[1] - 1] : span;
      result += out.slice(last, start) + `[REDACTED:${rule.id}]`;
      last = end;
      counts[rule.id] = (counts[rule.id] ?? 0) + 1;
      total++;
    }
    if (last > 0) out = result + out.slice(last);
  }
  return { text: out, counts, total };
}
