/**
 * The console's server (`node dist/apps/console/server/main.mjs`): reads its
 * configuration from the environment (see loadConsoleConfig), serves the
 * built page beside it (../web), logs `listening on http://…` once ready,
 * and stops on SIGTERM or SIGINT.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsoleConfigError, loadConsoleConfig } from './console-config';
import { buildConsoleServer } from './console-server';

async function main(): Promise<void> {
  const config = loadConsoleConfig();
  const webRoot = process.env['CONSOLE_WEB_ROOT'] ?? join(dirname(fileURLToPath(import.meta.url)), '../web');
  const app = await buildConsoleServer(config.browser, webRoot, config.metricsTargets);
  const address = await app.listen({ host: config.host, port: config.port });
  console.log(JSON.stringify({ level: 'info', msg: `listening on ${address}`, service: 'console' }));
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  // A configuration error is the operator's to fix: its message, no stack trace.
  console.error(error instanceof ConsoleConfigError ? error.message : `console: ${(error as Error).message}`);
  process.exit(1);
});
