/**
 * The built-ins reference of docs/flows.md, generated from the built-in connectors themselves, so
 * it cannot drift from what `uses:` accepts. Deterministic: a test compares it with the checked-in
 * file.
 */
import { schemaFields, toJsonSchema, type SchemaField } from '@sfx/connector';
import type { ActionRegistry } from './registry.js';
import type { StepAction } from './step-action.js';

/** Where the guide lives, from the repository root. */
export const FLOWS_DOC_PATH = 'docs/flows.md';
export const BUILTINS_BEGIN = '<!-- built-ins: generated from the built-in connectors by `npm run docs:flows`; do not edit by hand -->';
export const BUILTINS_END = '<!-- end of built-ins -->';

/** The reference of every built-in action, and of the flows-only `<connection>.assets` source. */
export function renderBuiltinsMarkdown(registry: ActionRegistry): string {
  const out: string[] = [];
  const connectors = registry.builtinNames().map((name) => registry.builtin(name)!);
  const assets = registry.resolve('dam.assets', ['dam']);
  out.push(
    'Every flow can use these without declaring a connection. **Kind** `read` runs in a dry run too; `write` and `destructive` ' +
      'are only shown in a dry run. **Idempotent** actions are simply done again when their outcome is unknown after a crash. ' +
      'A **source** yields items: loop over it with `forEach: "{% $steps.<id> %}"`, or hand it whole to an input that takes a stream (`csv.write` `rows`).',
    '',
  );
  for (const connector of connectors) {
    out.push(`- \`${connector.name}\`: ${connector.actions.map((a) => `[\`${connector.name}.${a.id}\`](#${anchor(heading(connector.name, a))})`).join(', ')}`);
  }
  if (!('problem' in assets)) out.push(`- a connection's own source: [\`<connection>.assets\`](#${anchor(heading('<connection>', assets.action))})`);
  out.push('');
  for (const connector of connectors) {
    out.push(`### ${connector.name}`, '', connector.description, '');
    for (const action of connector.actions) out.push(...renderAction(connector.name, action));
  }
  if (!('problem' in assets)) {
    out.push(
      '### `<connection>.assets`',
      '',
      'Besides the Scaleflex connector\'s actions ([actions.md](actions.md), used as `<connection>.<action id>`), each connection has this source, for flows only.',
      '',
      ...renderAction('<connection>', assets.action),
    );
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n');
}

function renderAction(prefix: string, action: StepAction): string[] {
  const fields = schemaFields(toJsonSchema(action.input, 'input'));
  const traits = [
    `Kind: ${action.kind}`,
    action.idempotent ? 'idempotent' : 'not idempotent',
    ...(action.items ? ['a source (yields items)'] : []),
  ];
  return [
    `#### ${heading(prefix, action)}`,
    '',
    action.description,
    '',
    `${traits.join(', ')}.`,
    '',
    ...fieldsTable(fields),
    '',
  ];
}

function fieldsTable(fields: SchemaField[]): string[] {
  if (fields.length === 0) return ['No inputs.'];
  return [
    '| input | type | required | description |',
    '| --- | --- | --- | --- |',
    ...fields.map((f) => `| \`${f.name}\` | ${cell(typeText(f.type))} | ${f.required ? 'yes' : 'no'} | ${cell(f.description)} |`),
  ];
}

/** A stream input is a custom type JSON Schema cannot say: name it for people. */
function typeText(type: string): string {
  return type === 'list of any or any' ? 'list, or a stream (`{% $steps.<id> %}`)' : type;
}

function heading(prefix: string, action: Pick<StepAction, 'id' | 'title'>): string {
  // `<connection>` outside code would be read as an HTML tag.
  const id = `${prefix}.${action.id}`;
  return `${prefix.startsWith('<') ? `\`${id}\`` : id}: ${action.title}`;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
export function anchor(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/(?<!\\)\|/g, '\\|');
}

/** `doc` with the text between the built-ins markers replaced by `section`. */
export function withBuiltinsSection(doc: string, section: string): string {
  const begin = doc.indexOf(BUILTINS_BEGIN);
  const end = doc.indexOf(BUILTINS_END);
  if (begin < 0 || end < begin || doc.indexOf(BUILTINS_BEGIN, begin + 1) >= 0 || doc.indexOf(BUILTINS_END, end + 1) >= 0) {
    throw new Error(`${FLOWS_DOC_PATH} must hold the markers ${BUILTINS_BEGIN} and ${BUILTINS_END} once each, in that order.`);
  }
  return `${doc.slice(0, begin + BUILTINS_BEGIN.length)}\n\n${section}\n${doc.slice(end)}`;
}
