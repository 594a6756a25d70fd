import { describe, expect, it } from 'vitest';
import { redactSecrets, SECRET_RULES, type SecretKind } from '../../src/core/redact.js';
import { body, secretCorpus } from '../fixtures/secrets/corpus.js';

const corpus = secretCorpus();

/** A plan-like artifact with the secrets planted in prose, code blocks and a config snippet. */
function planDoc(): string {
  const lines = corpus.map((s, i) => (i % 3 === 0 ? `- step ${i}: configure with \`${s.planted}\`` : i % 3 === 1 ? `Use ${s.planted} for the client.` : `\n\`\`\`\n${s.planted}\n\`\`\``));
  return ['**[SESSION-20251027-K9M2P7X4] PLAN: rate limiting**', '', '## Status', 'AWAITING_CODEX_REVIEW', '', '## Steps', ...lines, '', 'Done.'].join('\n');
}

/** A review-like artifact: the secrets quoted back in a table and a .env excerpt. */
function reviewDoc(): string {
  const rows = corpus.filter((s) => s.kind !== 'private-key' && s.kind !== 'env-secret').map((s) => `| ${s.kind} | ${s.planted} | leaked |`);
  const env = corpus.filter((s) => s.kind === 'env-secret').map((s) => s.planted);
  const pem = corpus.find((s) => s.kind === 'private-key')!.planted;
  return ['**[SESSION-20251027-K9M2P7X4] CODEX REVIEW: rate limiting**', '', '| kind | value | note |', '|---|---|---|', ...rows, '', '```env', ...env, '```', '', pem, '', '**Verdict:** CHANGES_REQUESTED'].join('\n');
}

function expectedCounts(items: typeof corpus): Partial<Record<SecretKind, number>> {
  const c: Partial<Record<SecretKind, number>> = {};
  for (const s of items) c[s.kind] = (c[s.kind] ?? 0) + 1;
  return c;
}

describe('redactSecrets', () => {
  it('has a corpus of at least 20 distinct formats covering every rule', () => {
    expect(new Set(corpus.map((s) => s.planted.slice(0, 8))).size).toBeGreaterThanOrEqual(20);
    expect(new Set(corpus.map((s) => s.kind))).toEqual(new Set(SECRET_RULES.map((r) => r.id)));
  });

  it.each(corpus.map((s) => [s.kind, s] as const))('redacts a lone %s', (kind, s) => {
    const r = redactSecrets(`before ${s.planted} after`);
    expect(r.text).not.toContain(s.secret);
    expect(r.text).toContain(`[REDACTED:${kind}]`);
    expect(r.counts).toEqual({ [kind]: 1 });
    expect(r.text.startsWith('before ') && r.text.endsWith(' after')).toBe(true);
  });

  it.each([
    ['plan', planDoc, corpus],
    ['review', reviewDoc, corpus],
  ] as const)('leaves no secret in a %s and counts each kind', (_name, doc, items) => {
    const text = doc();
    const r = redactSecrets(text);
    for (const s of items) expect(r.text, s.kind).not.toContain(s.secret);
    expect(r.counts).toEqual(expectedCounts(items));
    expect(r.total).toBe(items.length);
    expect(r.text).toContain('[SESSION-20251027-K9M2P7X4]');
    // Idempotent: a second pass finds nothing and changes nothing.
    const again = redactSecrets(r.text);
    expect(again.text).toBe(r.text);
    expect(again.total).toBe(0);
  });

  it('keeps the user and host of a URL and the name of an assignment', () => {
    const pw = `pw${body(12)}`;
    expect(redactSecrets(`redis://default:${pw}@cache.example.com:6379/0`).text).toBe('redis://default:[REDACTED:url-password]@cache.example.com:6379/0');
    expect(redactSecrets(`export API_KEY=${pw}`).text).toBe('export API_KEY=[REDACTED:env-secret]');
    expect(redactSecrets(`DB_PASSWORD='${pw}'`).text).toBe("DB_PASSWORD='[REDACTED:env-secret]'");
  });

  const nearMisses: [string, string][] = [
    ['sha256 hex digest', 'sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['git sha', 'commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39'],
    ['session id', '**[SESSION-20251027-K9M2P7X4] CODEX REVIEW: rate limiting**'],
    ['uuid', 'request 123e4567-e89b-12d3-a456-426614174000 failed'],
    ['ordinary words', 'Ask the skeptical task-ant reviewer; skip sk-learn; the token bucket refills.'],
    ['redis url without password', 'REDIS_URL=redis://localhost:6379'],
    ['url with port and path', 'see https://example.com:8080/docs@v2 and http://localhost:3000/api'],
    ['url with placeholder password', 'postgres://user:password@localhost:5432/db and mysql://root:${DB_PASS}@db/x'],
    ['env placeholders', 'API_KEY=changeme\nGITHUB_TOKEN=<your-token>\nJWT_SECRET=${JWT_SECRET}\nSTRIPE_API_KEY=process.env.STRIPE_API_KEY\nPASSWORD=\nAWS_SECRET_ACCESS_KEY=your-secret-key'],
    ['secret-looking names with numbers', 'MAX_TOKENS=4096\nTOKEN_TTL=3600\nPASSWORD_MIN_LENGTH=12'],
    ['lower-case code assignment', 'const token = getToken();\nlet apiKey = config.apiKey;'],
    ['short prefixes', 'ghp_ is a prefix, sk_live_ too, AKIA alone, xoxb- alone, AIza alone, glpat- alone'],
    ['base64 that is not a JWT', 'eyJub3QiOiJqd3QifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl'],
    ['public key block', '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----'],
    ['express-rate-limit code', "app.use(rateLimit({ windowMs: 15 * 60 * 1000, max: 100, standardHeaders: true, keyGenerator: (req) => req.user?.id ?? req.ip }));"],
    ['already redacted', 'API_KEY=[REDACTED:env-secret] and [REDACTED:github-pat]'],
  ];

  it.each(nearMisses)('leaves a near-miss alone: %s', (_name, text) => {
    const r = redactSecrets(text);
    expect(r.text).toBe(text);
    expect(r.total).toBe(0);
  });

  it('keeps allowlisted exact strings and whole kinds', () => {
    const [gh, aws] = [corpus.find((s) => s.kind === 'github-pat')!, corpus.find((s) => s.kind === 'aws-access-key-id')!];
    const text = `${gh.planted} ${aws.planted}`;
    expect(redactSecrets(text, { allow: [gh.secret] }).text).toBe(`${gh.planted} [REDACTED:aws-access-key-id]`);
    expect(redactSecrets(text, { allow: ['aws-access-key-id'] }).text).toBe(`[REDACTED:github-pat] ${aws.planted}`);
    expect(redactSecrets(text, { allow: ['github-pat', 'aws-access-key-id'] })).toEqual({ text, counts: {}, total: 0 });
  });
});
