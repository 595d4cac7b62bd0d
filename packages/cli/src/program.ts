import { Command } from 'commander';
import { registerCatalogCommand } from './catalog.js';
import { registerConnectionCommands } from './connections.js';
import { registerCompletion } from './completion.js';
import { registerFind } from './dam/find.js';
import { registerInfo } from './dam/info.js';
import { registerKey } from './dam/key.js';
import { registerLs } from './dam/ls.js';
import { registerUpload } from './dam/upload.js';
import { registerDownload } from './dam/download.js';
import { registerManage } from './dam/manage.js';
import { registerMetaTags } from './dam/meta-tags.js';
import { registerOpen } from './dam/open.js';
import { registerSync } from './dam/sync.js';
import { registerUrl } from './dam/url.js';
import { CLI_VERSION } from './version.js';
import { registerFlowCommands } from './flows.js';
import { registerRunCommands } from './run.js';
import { registerServeCommand } from './serve.js';
import { registerServerCommands } from './server-command.js';

/** Every command: what `sfx --help`, docs/cli.md and shell completion describe. */
export function buildProgram(): Command {
  const program = new Command('sfx')
    .description('The Scaleflex (Filerobot) connector: local server, DAM operations and flows.')
    .version(CLI_VERSION, '-V, --version', 'print the sfx version')
    .addHelpText(
      'after',
      `
Examples:
  sfx demo                                                  # the main job on a local server (npm start)
  sfx connection add acme --endpoint https://api.filerobot.com/acme --api-key env:FILEROBOT_KEY
  sfx upload ./photos /catalogue --tag summer --meta season=2026
  sfx find /catalogue '#summer' -l
  sfx url /catalogue/photos/hero.jpg --w 800 --format webp
  sfx sync ./photos /catalogue/photos                       # uploads only what changed
  sfx flow run examples/flows/import-products.yaml

Each command's --help has its own examples; docs/cli.md has them all.`,
    );
  program.commandsGroup('Work with assets:');
  registerLs(program);
  registerFind(program);
  registerInfo(program);
  registerUpload(program);
  registerDownload(program);
  registerSync(program);
  registerManage(program);
  registerMetaTags(program);
  registerUrl(program);
  registerKey(program);
  registerOpen(program);
  program.commandsGroup('Flows:');
  registerFlowCommands(program);
  registerServeCommand(program);
  program.commandsGroup('Connector actions and connections:');
  registerRunCommands(program);
  registerCatalogCommand(program);
  registerConnectionCommands(program);
  program.commandsGroup('Local server:');
  registerServerCommands(program);
  program.commandsGroup('Shell:');
  registerCompletion(program);
  return program;
}
