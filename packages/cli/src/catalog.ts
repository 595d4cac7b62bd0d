import type { Command } from 'commander';
import { exportCatalog, type CatalogAction, type CatalogJson, type CatalogTrigger } from '@sfx/connector';
import { columnWidths, formatRows, type Row } from './table.js';

const HEADER: Row = ['ID', 'KIND', 'ENDPOINT', 'PERMISSIONS', 'TITLE'];

/** The catalogue restricted to one group of actions and triggers; refuses a group that does not exist. */
export function selectGroup(catalog: CatalogJson, group: string | undefined): CatalogJson {
  if (group === undefined) return catalog;
  const groups = groupsOf(catalog);
  if (!groups.includes(group))
    throw new Error(`--group "${group}" is not a group of this catalogue: use one of ${groups.join(', ')}.`);
  return {
    ...catalog,
    actions: catalog.actions.filter((a) => a.group === group),
    triggers: catalog.triggers.filter((t) => t.group === group),
  };
}

export function groupsOf(catalog: CatalogJson): string[] {
  return [...new Set([...catalog.actions.map((a) => a.group), ...catalog.triggers.map((t) => t.group)])];
}

function permissionsCell(item: CatalogAction | CatalogTrigger): string {
  const always = item.permissions.length > 0 ? item.permissions.join(', ') : '-';
  const sometimes = 'alsoNeeds' in item ? item.alsoNeeds.map((c) => `(+${c.permission})`) : [];
  return [always, ...new Set(sometimes)].join(' ');
}

function actionRow(action: CatalogAction): Row {
  return [action.id, action.kind, action.endpoint, permissionsCell(action), action.title];
}

function triggerRow(trigger: CatalogTrigger): Row {
  return [trigger.id, trigger.kind, trigger.endpoint, permissionsCell(trigger), trigger.title];
}

/** The catalogue as people read it: one table, sectioned by group, then the triggers. */
export function renderCatalogTable(catalog: CatalogJson, whole: CatalogJson = catalog): string {
  const actionRows = catalog.actions.map(actionRow);
  const triggerRows = catalog.triggers.map(triggerRow);
  const widths = columnWidths([HEADER, ...actionRows, ...triggerRows]);
  const { manifest } = whole;
  const out = [
    `${manifest.title}, connector ${manifest.id}@${manifest.version}: ${count(catalog.actions.length, 'action')}, ${count(catalog.triggers.length, 'trigger')}` +
      (catalog === whole ? '' : ` (of ${whole.actions.length} and ${whole.triggers.length})`),
    '',
  ];
  const byGroup = new Map<string, CatalogAction[]>();
  for (const action of catalog.actions)
    byGroup.set(action.group, [...(byGroup.get(action.group) ?? []), action]);
  for (const [group, actions] of byGroup) {
    out.push(
      `${group} (${count(actions.length, 'action')})`,
      ...formatRows([HEADER, ...actions.map(actionRow)], widths, '  '),
      '',
    );
  }
  if (catalog.triggers.length > 0) {
    out.push(
      `Triggers (${catalog.triggers.length})`,
      ...formatRows([HEADER, ...triggerRows], widths, '  '),
      '',
    );
  } else if (catalog === whole) {
    out.push('Triggers: none in this version.', '');
  }
  out.push(
    "ENDPOINT: documented (seen in Scaleflex's docs or clients), inferred (designed in the API's style, may differ from the real",
    'service), extension (served by the sfx server only). (+PERMISSION): needed only in some cases.',
    'Inputs, outputs and examples: sfx catalog --json, or docs/actions.md.',
  );
  return out.join('\n') + '\n';
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

export function registerCatalogCommand(program: Command): void {
  program
    .command('catalog')
    .description(
      "Print the connector's actions and triggers (a table; --json for JSON Schemas of every input and output)",
    )
    .option('--group <group>', 'only this group (files, folders, tasks ...)')
    .option(
      '--json',
      'the whole catalogue as JSON: manifest, connection schema, actions and triggers with JSON Schemas and examples',
    )
    .action((flags: { group?: string; json?: boolean }) => {
      const whole = exportCatalog();
      const selected = selectGroup(whole, flags.group);
      process.stdout.write(
        flags.json ? `${JSON.stringify(selected, null, 2)}\n` : renderCatalogTable(selected, whole),
      );
    });
}
