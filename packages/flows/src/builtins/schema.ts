import { z } from 'zod';
import { isItemStream } from '../step-action.js';

/** A path field; the message says what it is for, since zod's default does not. */
export function pathField(what: string) {
  return z
    .string({ error: `needs ${what}: a path, relative to the flow file's folder or absolute.` })
    .min(1, { error: `needs ${what}: a path, relative to the flow file's folder or absolute (it is empty).` });
}

export function maxBytesField(defaultBytes: number) {
  return z
    .number({ error: 'maxBytes must be a number of bytes.' })
    .int({ error: 'maxBytes must be a whole number of bytes.' })
    .positive({ error: 'maxBytes must be above 0.' })
    .default(defaultBytes);
}

/** Rows or items: a list, or a stream handed on from a source or an earlier loop. */
export function itemsField(what: string) {
  return z.union([z.array(z.unknown()), z.custom<AsyncIterable<unknown>>(isItemStream)], {
    error: `needs ${what}: a list, or a stream from a source step (for example "{% $steps.rows %}").`,
  });
}

export function expressionField(what: string) {
  return z
    .string({ error: `needs ${what}: a JSONata expression as text, without {% %} (the engine would evaluate it before the action sees it).` })
    .min(1, { error: `needs ${what}: a JSONata expression (it is empty).` });
}

export const MiB = 1024 * 1024;
