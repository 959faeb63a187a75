/**
 * Starting and stopping the built services (dist/apps/<service>/main.js) as
 * separate processes, and the PostgreSQL databases they use: shared by the
 * local cluster (`npm run cluster`), the benchmark and the end-to-end suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

/** The repository root (this file is libs/shared/testing/src/lib/service-processes.ts). */
export const ROOT = resolve(__dirname, '../../../../..');

/** The three deployable services. */
export type ServiceName = 'auth-service' | 'users-service' | 'orders-service';

/** Variables only auth-service receives: the admin password, client secrets, signing keys (shared with `npm start`). */
export const ISSUER_ONLY_ENV: readonly string[] = JSON.parse(
  readFileSync(join(ROOT, 'scripts/issuer-only-env.json'), 'utf8'),
);

/**
 * @param service the service the environment is for
 * @param env the caller's environment
 * @returns `env` without {@link ISSUER_ONLY_ENV} unless `service` is auth-service: a resource service never needs them
 */
export function serviceEnv(service: ServiceName, env: Record<string, string> = {}): Record<string, string> {
  if (service === 'auth-service') return { ...env };
  return Object.fromEntries(Object.entries(env).filter(([name]) => !ISSUER_ONLY_ENV.includes(name)));
}

/** One running service process. */
export interface RunningService {
  name: string;
  /** Base URL it listens on, e.g. `http://127.0.0.1:41234`. */
  url: string;
  process: ChildProcess;
  /** Everything it printed so far (stdout and stderr, as received). */
  output: string[];
}

/**
 * Starts one built service and resolves with its URL once it listens (its
 * log line `listening on http://…`), i.e. once its keys and revocation list
 * are loaded.
 *
 * @param name the service
 * @param env its whole environment (PATH is added)
 * @param onLine called with each line it prints, if given
 * @param prefix a command to run it under, e.g. `['taskset', '-c', '0']` to pin it to core 0
 * @throws Error when it exits before listening or does not listen within 30 s (with its output)
 */
export function launchService(
  name: ServiceName,
  env: Record<string, string>,
  onLine?: (line: string) => void,
  prefix: string[] = [],
): Promise<RunningService> {
  return launchScript(name, [join(ROOT, 'dist/apps', name, 'main.js')], env, onLine, prefix);
}

/**
 * {@link launchService} for any Node entry point that logs `listening on http://…`.
 *
 * @param name what to call it in errors
 * @param nodeArgs arguments to `node` (the script and its flags)
 */
export function launchScript<Name extends string>(
  name: Name,
  nodeArgs: string[],
  env: Record<string, string>,
  onLine?: (line: string) => void,
  prefix: string[] = [],
): Promise<RunningService & { name: Name }> {
  const [command, ...args] = [...prefix, process.execPath, ...nodeArgs];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let pending = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 30 s:\n${output.join('')}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      if (onLine) {
        const lines = (pending + text).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ name, url: match[1], process: child, output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before listening:\n${output.join('')}`));
    });
  });
}

/**
 * Stops a process: `signal` (SIGTERM: graceful), then SIGKILL after 10 s.
 * Resolves once it has exited; at once if it already had.
 */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** PostgreSQL databases on one server, reached through an admin URL (`postgres://postgres@127.0.0.1:5432/postgres`). */
export class Databases {
  constructor(private readonly adminUrl: string) {}

  /** The URL of database `name` on the same server, with the same credentials. */
  urlOf(name: string): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** Creates `name` unless it exists. */
  async ensure(name: string): Promise<void> {
    assertSafeName(name);
    await this.withAdmin(async (client) => {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
    });
  }

  /** Drops and creates a test database (`jwtms_test_*` only). */
  async recreate(name: string): Promise<void> {
    assertTestDatabase(name);
    await this.withAdmin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.query(`CREATE DATABASE "${name}"`);
    });
  }

  /** Drops a test database (`jwtms_test_*` only). */
  async drop(name: string): Promise<void> {
    assertTestDatabase(name);
    await this.withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  }

  private async withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
}

function assertSafeName(name: string): void {
  if (!/^jwtms_[a-z0-9_]+$/.test(name)) throw new Error(`refusing database name "${name}": expected jwtms_[a-z0-9_]+`);
}

/** Refuses to drop any database whose name does not say it is for tests. */
function assertTestDatabase(name: string): void {
  if (!/^jwtms_test_[a-z0-9_]+$/.test(name))
    throw new Error(`refusing to touch database "${name}": not a test database`);
}
