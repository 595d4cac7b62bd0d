import type { CatalogAction, CatalogJson, CatalogTrigger, JsonSchema } from './catalog.js';

/** Where the generated reference lives, from the repository root. */
export const ACTIONS_DOC_PATH = 'docs/actions.md';

/**
 * docs/actions.md: the catalogue as a reference for people. Deterministic (the same catalogue
 * always gives the same text), so a test can tell when the checked-in file is out of date.
 */
export function renderActionsMarkdown(catalog: CatalogJson): string {
  const out: string[] = [];
  const anchors = new Anchors();
  const { manifest } = catalog;
  out.push(
    `# ${manifest.title}: actions and triggers`,
    '',
    `<!-- Generated from the catalogue of ${manifest.id}@${manifest.version} by \`npm run docs:actions\`. Do not edit by hand. -->`,
    '',
    manifest.description,
    '',
    `Connector \`${manifest.id}\`, version ${manifest.version}: ${count(catalog.actions.length, 'action')} and ${count(catalog.triggers.length, 'trigger')}. ` +
      'The same catalogue, with every input and output as JSON Schema, is printed by `sfx catalog --json`; ' +
      '`sfx catalog` prints it as a table.',
    '',
    '## Reading this reference',
    '',
    '- **Endpoint** says what an action rests on:',
    "  - `documented`: endpoints of the Filerobot API with public evidence (Scaleflex's documentation, or the code of Scaleflex's or integrators' clients): they exist on the real service.",
    "  - `inferred`: no real endpoint was found for this operation, so it is designed in the API's style (or pieced together from " +
      'documented calls in a way the documentation does not describe); it may differ from the real service.',
    '  - `extension`: only the sfx local server serves it (for example API key and security template management, bulk commits); ' +
      'the real service is not known to serve it.',
    '- **Kind**: `read` changes nothing; `write` changes or adds something; `destructive` removes or replaces something.',
    '- **Idempotent**: running it twice with the same input leaves the same state as running it once, so a retried or resumed flow step is safe.',
    "- **Permissions**: what the connection's API key (or security template) must carry; a key missing one is refused with a " +
      'permission error naming it. "Also needs" lists permissions needed only in the cases given.',
    '- **Input**: fields marked required must be given; the others are optional or have the default shown. ' +
      'Examples use placeholder ids (`00000000-0000-4000-8000-…`): put your own.',
    '',
  );

  const groups = groupBy(catalog.actions);
  const triggerGroups = groupBy(catalog.triggers);
  // Headings are registered in document order so anchors match the ones GitHub derives.
  anchors.add(`${manifest.title}: actions and triggers`);
  anchors.add('Reading this reference');
  anchors.add('Contents');
  const connectionAnchor = anchors.add('Connection');
  const actionsAnchor = anchors.add('Actions');
  const groupAnchors = new Map<string, string>();
  const itemAnchors = new Map<string, string>();
  for (const [group, actions] of groups) {
    groupAnchors.set(`action:${group}`, anchors.add(group));
    for (const action of actions) itemAnchors.set(`action:${action.id}`, anchors.add(itemHeading(action)));
  }
  const triggersAnchor = anchors.add('Triggers');
  for (const [group, triggers] of triggerGroups) {
    groupAnchors.set(`trigger:${group}`, anchors.add(`${group} triggers`));
    for (const trigger of triggers)
      itemAnchors.set(`trigger:${trigger.id}`, anchors.add(itemHeading(trigger)));
  }

  out.push('## Contents', '', `- [Connection](#${connectionAnchor})`, `- [Actions](#${actionsAnchor})`);
  for (const [group, actions] of groups) {
    out.push(
      `  - [${group}](#${groupAnchors.get(`action:${group}`)}) (${actions.length}): ` +
        actions.map((a) => `[\`${a.id}\`](#${itemAnchors.get(`action:${a.id}`)})`).join(', '),
    );
  }
  out.push(`- [Triggers](#${triggersAnchor})`);
  for (const [group, triggers] of triggerGroups) {
    out.push(
      `  - [${group}](#${groupAnchors.get(`trigger:${group}`)}) (${triggers.length}): ` +
        triggers.map((t) => `[\`${t.id}\`](#${itemAnchors.get(`trigger:${t.id}`)})`).join(', '),
    );
  }
  out.push('');

  out.push(
    '## Connection',
    '',
    'What a connection holds (`sfx connection add` stores one; flows name it). Secrets may be `env:NAME` references, read from the environment when used, and are never printed.',
    '',
    ...fieldsTable(catalog.connection, 'settings'),
    '',
  );

  out.push('## Actions', '');
  for (const [group, actions] of groups) {
    out.push(`### ${group}`, '');
    for (const action of actions) out.push(...renderAction(action));
  }

  out.push('## Triggers', '');
  if (catalog.triggers.length === 0) out.push('This version of the connector declares no triggers.', '');
  for (const [group, triggers] of triggerGroups) {
    out.push(`### ${group} triggers`, '');
    for (const trigger of triggers) out.push(...renderTrigger(trigger));
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/\n*$/, '\n');
}

function renderAction(action: CatalogAction): string[] {
  const out = [`#### ${itemHeading(action)}`, '', action.description, ''];
  out.push(
    `- Kind: ${action.kind}${action.idempotent ? ', idempotent' : ', not idempotent'}`,
    `- Endpoint: ${action.endpoint}`,
    `- Permissions: ${action.permissions.length ? action.permissions.map(code).join(', ') : 'none of its own (the call made needs whatever it needs)'}`,
  );
  for (const also of action.alsoNeeds) out.push(`- Also needs ${code(also.permission)} when ${also.when}`);
  out.push(
    '',
    '**Input**',
    '',
    ...fieldsTable(action.input, 'input'),
    '',
    '**Output**',
    '',
    ...outputSummary(action.output),
    '',
  );
  out.push(...exampleBlock(action.example));
  return out;
}

function renderTrigger(trigger: CatalogTrigger): string[] {
  const out = [`#### ${itemHeading(trigger)}`, ''];
  if (trigger.description) out.push(trigger.description, '');
  out.push(
    `- Kind: ${trigger.kind}`,
    `- Endpoint: ${trigger.endpoint}`,
    `- Permissions: ${trigger.permissions.length ? trigger.permissions.map(code).join(', ') : 'none'}`,
  );
  for (const also of trigger.alsoNeeds) out.push(`- Also needs ${code(also.permission)} when ${also.when}`);
  out.push(
    '',
    '**Configuration**',
    '',
    ...fieldsTable(trigger.input, 'configuration'),
    '',
    '**Each event**',
    '',
    ...outputSummary(trigger.output),
    '',
  );
  out.push(...exampleBlock(trigger.example, 'Example configuration'));
  return out;
}

function exampleBlock(example: unknown, label = 'Example input'): string[] {
  if (example === undefined) return [];
  return [`**${label}**`, '', '```json', JSON.stringify(example, null, 2), '```', ''];
}

function itemHeading(item: { id: string; title: string }): string {
  return item.title ? `${item.id}: ${item.title}` : item.id;
}

function groupBy<T extends { group: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = item.group || 'other';
    const list = groups.get(group);
    if (list) list.push(item);
    else groups.set(group, [item]);
  }
  return groups;
}

// ---- JSON Schema to tables ----

/** One field of a JSON Schema, as the reference (and `sfx describe`) lists it. */
export interface SchemaField {
  /** `name`, `parent.child` for nested object fields, `parent[].child` for fields of list items. */
  name: string;
  /** For people: `string`, `list of strings`, `whole number (1-4000)`; enum bars are Markdown-escaped (`"a" \| "b"`). */
  type: string;
  required: boolean;
  description: string;
}

type Row = SchemaField;

const MAX_DEPTH = 3;

/** One row per field, nested object fields as `parent.child` and list items as `parent[].child`. */
export function schemaFields(schema: JsonSchema): SchemaField[] {
  return fieldRows(schema);
}

function fieldRows(schema: JsonSchema, prefix = '', depth = 0): Row[] {
  const rows: Row[] = [];
  const object = objectPart(schema);
  if (!object?.properties) return rows;
  const required = new Set(object.required ?? []);
  for (const [name, raw] of Object.entries(object.properties)) {
    const field = asSchema(raw);
    const path = prefix ? `${prefix}.${name}` : name;
    rows.push({
      name: path,
      type: typeOf(field),
      required: required.has(name),
      description: describe(field),
    });
    if (depth + 1 >= MAX_DEPTH) continue;
    const inner = nestedObject(field);
    if (inner) rows.push(...fieldRows(inner.schema, `${path}${inner.suffix}`, depth + 1));
  }
  return rows;
}

function fieldsTable(schema: JsonSchema, what: string): string[] {
  const rows = fieldRows(schema);
  if (rows.length === 0) {
    const object = objectPart(schema);
    if (object && object.additionalProperties === false) return [`No ${what}: give \`{}\`.`];
    return [`Any JSON value (${typeOf(schema)}).`];
  }
  return [
    '| field | type | required | description |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| \`${r.name}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.description)} |`,
    ),
  ];
}

function outputSummary(schema: JsonSchema): string[] {
  const object = objectPart(schema);
  if (!object?.properties) {
    const description = describe(schema);
    return [`${typeOf(schema)}${description ? `: ${description}` : ''}`];
  }
  const required = new Set(object.required ?? []);
  const lines = Object.entries(object.properties).map(([name, raw]) => {
    const field = asSchema(raw);
    const description = describe(field);
    return `- \`${name}\`${required.has(name) ? '' : ' (optional)'}: ${typeOf(field)}${description ? `. ${description}` : ''}`;
  });
  if (object.additionalProperties !== false && object.additionalProperties !== undefined)
    lines.push('- …and any other fields the API returns.');
  const own = describe(schema);
  return own ? [own, '', ...lines] : lines;
}

function asSchema(value: unknown): JsonSchema {
  return typeof value === 'object' && value !== null ? (value as JsonSchema) : {};
}

/** The object schema a value is, or the single object branch of a nullable/optional union. */
function objectPart(schema: JsonSchema): JsonSchema | undefined {
  if (schema.properties) return schema;
  const branches = (schema.anyOf ?? schema.oneOf ?? []).filter((b) => b.type !== 'null');
  if (branches.length === 1 && branches[0]!.properties) return branches[0];
  return undefined;
}

function nestedObject(field: JsonSchema): { schema: JsonSchema; suffix: string } | undefined {
  const object = objectPart(field);
  if (object) return { schema: object, suffix: '' };
  if (field.type === 'array' && field.items && !Array.isArray(field.items)) {
    const items = objectPart(asSchema(field.items));
    if (items) return { schema: items, suffix: '[]' };
  }
  return undefined;
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return [...new Set(union.map((b) => (b.properties ? shape(b) : typeOf(b))))].join(' or ');
  if (schema.allOf?.length === 1) return typeOf(schema.allOf[0]!);
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type;
  switch (type) {
    case undefined:
      return schema.$ref ? 'object' : 'any';
    case 'array': {
      const items = schema.items && !Array.isArray(schema.items) ? asSchema(schema.items) : undefined;
      return `list of ${items ? plural(typeOf(items)) : 'values'}${bounds(schema.minItems, schema.maxItems, 'items')}`;
    }
    case 'object': {
      if (schema.properties) return 'object';
      const values = schema.additionalProperties;
      if (values && typeof values === 'object' && Object.keys(values).length > 0)
        return `map of ${plural(typeOf(asSchema(values)))}`;
      return 'object';
    }
    case 'string':
      return `string${schema.format ? ` (${String(schema.format)})` : ''}${bounds(schema.minLength, schema.maxLength, 'characters', 1)}`;
    case 'integer':
    case 'number':
      return `${type === 'integer' ? 'whole number' : 'number'}${range(schema)}`;
    default:
      return type;
  }
}

/** An object in a union, by its fields: `{path, name?}`. */
function shape(schema: JsonSchema): string {
  const required = new Set(schema.required ?? []);
  return `{${Object.keys(schema.properties ?? {})
    .map((key) => (required.has(key) ? key : `${key}?`))
    .join(', ')}}`;
}

function plural(type: string): string {
  if (/ or |\\\|/.test(type)) return `(${type})`;
  if (type === 'object' || type === 'string' || type === 'number' || type === 'boolean') return `${type}s`;
  if (type === 'whole number') return 'whole numbers';
  if (/^(list|map) of /.test(type)) return type.replace(/^(list|map)/, '$1s');
  return type;
}

function bounds(min: number | undefined, max: number | undefined, unit: string, ignoreMin = 0): string {
  const lo = min !== undefined && min > ignoreMin ? min : undefined;
  const hi = max !== undefined && max < Number.MAX_SAFE_INTEGER ? max : undefined;
  const of = (n: number): string => (n === 1 ? unit.replace(/s$/, '') : unit);
  if (lo !== undefined && hi !== undefined)
    return lo === hi ? ` (${lo} ${of(lo)})` : ` (${lo}-${hi} ${unit})`;
  if (lo !== undefined) return ` (at least ${lo} ${of(lo)})`;
  if (hi !== undefined) return ` (at most ${hi} ${of(hi)})`;
  return '';
}

function range(schema: JsonSchema): string {
  const min =
    typeof schema.minimum === 'number' && schema.minimum > Number.MIN_SAFE_INTEGER
      ? schema.minimum
      : undefined;
  const max =
    typeof schema.maximum === 'number' && schema.maximum < Number.MAX_SAFE_INTEGER
      ? schema.maximum
      : undefined;
  if (min !== undefined && max !== undefined) return ` (${min}-${max})`;
  if (min !== undefined) return ` (>= ${min})`;
  if (max !== undefined) return ` (<= ${max})`;
  return '';
}

function describe(schema: JsonSchema): string {
  let text = schema.description ?? '';
  if (!text) {
    const branch = (schema.anyOf ?? schema.oneOf ?? []).find((b) => b.description);
    text = branch?.description ?? '';
  }
  // A description that already gives the default ("(default true)") is not told it twice.
  if (schema.default !== undefined && !/\bdefault\b/i.test(text))
    text = `${text}${text && !/[.!?]$/.test(text) ? '.' : ''}${text ? ' ' : ''}Default: \`${JSON.stringify(schema.default)}\`.`;
  return text;
}

function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/(?<!\\)\|/g, '\\|');
}

function code(text: string): string {
  return `\`${text}\``;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** Heading anchors as GitHub derives them: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
class Anchors {
  private readonly seen = new Map<string, number>();

  add(heading: string): string {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  }
}
