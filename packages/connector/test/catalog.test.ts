/**
 * The catalogue export (`exportCatalog`, behind `sfx catalog --json` and docs/actions.md): every
 * action's and trigger's schemas export as JSON Schema, examples are valid inputs, and what zod
 * cannot express degrades instead of failing the whole export.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DOC_SEED, exportCatalog, manifest, toJsonSchema, type JsonSchema } from '../src/index.js';

describe('exportCatalog', () => {
  const catalog = exportCatalog();

  it('describes the connector and its connection settings', () => {
    expect(catalog.manifest).toEqual({
      id: manifest.id,
      version: manifest.version,
      title: manifest.title,
      description: manifest.description,
    });
    const connection = catalog.connection;
    expect(connection.type).toBe('object');
    expect(connection.required).toEqual(
      expect.arrayContaining(['name', 'connector', 'endpointUrl', 'authentication']),
    );
    const apiKey = connection.properties?.apiKey as JsonSchema;
    // Form renderers mask it and never echo it back.
    expect(apiKey).toMatchObject({ type: 'string', writeOnly: true, format: 'password' });
  });

  it('exports every action, in catalogue order, with the fields of its definition', () => {
    expect(catalog.actions.map((a) => a.id)).toEqual(manifest.actions.map((a) => a.id));
    for (const [i, action] of manifest.actions.entries()) {
      const exported = catalog.actions[i]!;
      expect(exported).toMatchObject({
        title: action.title,
        description: action.description,
        group: action.group,
        permissions: [...action.permissions],
        alsoNeeds: (action.alsoNeeds ?? []).map((c) => ({ ...c })),
        kind: action.kind,
        idempotent: action.idempotent,
        endpoint: action.endpoint,
      });
    }
  });

  it("exports every action's input and output schemas as JSON Schema without throwing, with zod's defaults", () => {
    // The same conversion with zod's own (throwing) handling of unrepresentable types: nothing in
    // today's actions needs the fallback, so a new action that does shows up here.
    for (const action of manifest.actions) {
      expect(() => z.toJSONSchema(action.input, { io: 'input' }), `${action.id} input`).not.toThrow();
      expect(() => z.toJSONSchema(action.output, { io: 'output' }), `${action.id} output`).not.toThrow();
    }
    for (const action of catalog.actions) {
      expect(action.input.$schema, action.id).toBe('https://json-schema.org/draft/2020-12/schema');
      // Every action takes an object (possibly empty), so forms and flow steps can render it.
      expect(action.input.type, `${action.id} input`).toBe('object');
      expect(action.output, `${action.id} output`).toBeTypeOf('object');
    }
  });

  it('renders every example with the documentation seed as a valid input for its action', () => {
    for (const action of manifest.actions) {
      const exported = catalog.actions.find((a) => a.id === action.id)!;
      expect(exported.example, action.id).toEqual(JSON.parse(JSON.stringify(action.example(DOC_SEED))));
      const parsed = action.input.safeParse(exported.example);
      expect(parsed.success, `${action.id}: ${parsed.success ? '' : parsed.error.message}`).toBe(true);
      // The JSON Schema agrees: the example gives every field it requires and no field it lacks.
      const schema = exported.input;
      const given = Object.keys(exported.example as object);
      for (const field of schema.required ?? [])
        expect(given, `${action.id} requires ${field}`).toContain(field);
      if (schema.additionalProperties === false)
        for (const field of given)
          expect(Object.keys(schema.properties ?? {}), `${action.id} has no field ${field}`).toContain(field);
    }
  });

  it('exports every trigger with its configuration and item schemas, and an example that is a valid configuration', () => {
    expect(catalog.triggers.map((t) => t.id)).toEqual(manifest.triggers.map((t) => t.id));
    for (const trigger of manifest.triggers) {
      const exported = catalog.triggers.find((t) => t.id === trigger.id)!;
      expect(exported).toMatchObject({
        title: trigger.title,
        description: trigger.description,
        group: trigger.group,
        permissions: [...trigger.permissions],
        kind: trigger.kind,
        endpoint: trigger.endpoint,
      });
      expect(() => z.toJSONSchema(trigger.input, { io: 'input' }), `${trigger.id} input`).not.toThrow();
      expect(() => z.toJSONSchema(trigger.output, { io: 'output' }), `${trigger.id} output`).not.toThrow();
      expect(exported.input.type, `${trigger.id} config`).toBe('object');
      expect(Object.keys(exported.output).length, `${trigger.id} output`).toBeGreaterThan(0);
      const parsed = trigger.input.safeParse(exported.example);
      expect(parsed.success, `${trigger.id}: ${parsed.success ? '' : parsed.error.message}`).toBe(true);
    }
  });

  it('is plain JSON and the same on every call', () => {
    const text = JSON.stringify(catalog);
    expect(JSON.parse(text)).toEqual(catalog);
    expect(JSON.stringify(exportCatalog())).toBe(text);
  });

  it('renders examples with the seed it is given', () => {
    const seed = { ...DOC_SEED, folder: { uuid: 'f-real', path: '/real/folder' } };
    const list = exportCatalog({ seed }).actions.find((a) => a.id === 'files.list')!;
    expect(list.example).toMatchObject({ folder: '/real/folder' });
  });
});

describe('toJsonSchema', () => {
  it('describes inputs as given: a field with a default is optional, a transform by what it accepts', () => {
    const schema = z.strictObject({
      limit: z.number().int().default(10),
      when: z.string().transform((s) => new Date(s)),
      name: z.string(),
    });
    const input = toJsonSchema(schema, 'input');
    expect(input.required).toEqual(['when', 'name']);
    expect(input.properties?.when).toMatchObject({ type: 'string' });
    expect(input.properties?.limit).toMatchObject({ type: 'integer', default: 10 });
    expect(input.additionalProperties).toBe(false);
  });

  it('leaves out refinements and turns what JSON Schema cannot express into "any" instead of throwing', () => {
    const schema = z.object({
      even: z.number().refine((n) => n % 2 === 0),
      when: z.date(),
      big: z.bigint(),
      later: z.string().transform((s) => s.length),
    });
    expect(() => z.toJSONSchema(schema)).toThrow();
    const output = toJsonSchema(schema, 'output');
    expect(output.properties?.even).toEqual({ type: 'number' });
    expect(output.properties?.when).toEqual({});
    expect(output.properties?.big).toEqual({});
    expect(output.properties?.later).toEqual({});
  });
});
