/**
 * A small JSON Schema checker for agents' structured answers. It covers the keywords of the
 * strict form OpenAI structured output accepts (type, enum, const, properties, required,
 * additionalProperties, items, minimum/maximum, minLength/maxLength, minItems/maxItems, anyOf) —
 * enough for collab's schemas, without pulling a validator into the adapters. Unknown keywords are
 * ignored, so a richer schema is checked less strictly, never wrongly rejected. Pure.
 */

/** Problems found (empty when `value` satisfies `schema`), each naming the JSON path. */
export function checkJsonSchema(value: unknown, schema: Record<string, unknown>): string[] {
  const problems: string[] = [];
  check(value, schema, '$', problems);
  return problems;
}

function check(value: unknown, schema: unknown, path: string, out: string[]): void {
  if (schema === true || schema === undefined) return;
  if (schema === false) {
    out.push(`${path}: not allowed`);
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Record<string, unknown>;

  if (Array.isArray(s.anyOf)) {
    const ok = s.anyOf.some((sub) => {
      const p: string[] = [];
      check(value, sub, path, p);
      return p.length === 0;
    });
    if (!ok) out.push(`${path}: matches none of the allowed shapes`);
    return;
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as unknown[]) : [s.type];
    if (!types.some((t) => typeof t === 'string' && hasType(value, t))) {
      out.push(`${path}: expected ${types.join(' | ')}, got ${typeName(value)}`);
      return;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, value))) out.push(`${path}: ${short(value)} is not one of ${s.enum.map(short).join(', ')}`);
  if ('const' in s && !deepEqual(s.const, value)) out.push(`${path}: must be ${short(s.const)}`);

  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${path}: ${value} is below the minimum ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${path}: ${value} is above the maximum ${s.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) out.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) out.push(`${path}: longer than ${s.maxLength}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) out.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) out.push(`${path}: more than ${s.maxItems} items`);
    if (s.items !== undefined && !Array.isArray(s.items)) value.forEach((v, i) => check(v, s.items, `${path}[${i}]`, out));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const props = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Record<string, unknown>;
    if (Array.isArray(s.required)) for (const k of s.required) if (typeof k === 'string' && !(k in o)) out.push(`${path}: missing required key "${k}"`);
    for (const [k, v] of Object.entries(o)) {
      if (k in props) check(v, props[k], `${path}.${k}`, out);
      else if (s.additionalProperties === false) out.push(`${path}: unexpected key "${k}"`);
      else if (typeof s.additionalProperties === 'object') check(v, s.additionalProperties, `${path}.${k}`, out);
    }
  }
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      return true;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
