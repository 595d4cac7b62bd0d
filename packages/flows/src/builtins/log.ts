import { z } from 'zod';
import { defineStepAction, type BuiltinConnector, type StepAction } from '../step-action.js';

const logInput = z.strictObject({
  message: z.string({ error: 'message is required: give the text to log.' }).min(1, { error: 'message must not be empty.' }),
  fields: z.record(z.string(), z.unknown(), { error: 'fields must be a map of names to values.' }).optional(),
});

function logAction(level: 'debug' | 'info' | 'warn' | 'error'): StepAction<z.output<typeof logInput>> {
  return defineStepAction({
    id: level,
    title: `Log ${{ debug: 'a debug message', info: 'a message', warn: 'a warning', error: 'an error' }[level]}`,
    description: `Writes \`message\` with \`fields\` to the run's log at level ${level}, and returns \`{level, message, fields}\`.`,
    input: logInput,
    kind: 'read',
    idempotent: true,
    run: async (ctx, input) => {
      ctx.log(level, input.message, input.fields);
      return { level, message: input.message, fields: input.fields ?? {} };
    },
  });
}

export const logConnector: BuiltinConnector = {
  name: 'log',
  description: 'Write messages to the run\'s log (debug, info, warn, error).',
  actions: [logAction('debug'), logAction('info'), logAction('warn'), logAction('error')],
};
