/**
 * The cluster's load balancer: HAProxy (Debian's `haproxy` package), run in
 * the foreground as a child process, with a config written per run.
 *
 * Why HAProxy: it is what a Kubernetes Service or Ingress does for this
 * system, done by a real, widely deployed balancer: round-robin with no
 * affinity (no cookies, no stick tables), active health checks on
 * `GET /health/ready` (a replica that is not ready, or killed, leaves the
 * rotation within about a second), a retry on another replica when a
 * connection to a dead one fails, and a runtime API to add replicas without a
 * restart. None of that is code of ours.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import type { ServiceName } from '@jwt-ms/testing';

/** Health checks of every replica, also those added at run time (which do not inherit `default-server`). */
const HEALTH_CHECK = 'check inter 500ms fall 2 rise 2';
const NO_REPLICA_PROBLEM =
  '{\\"type\\":\\"about:blank\\",\\"title\\":\\"Service Unavailable\\",\\"status\\":503,' +
  '\\"detail\\":\\"No replica of this service is ready.\\",\\"code\\":\\"dependency_unavailable\\"}';

/** One balanced service: the socket its clients reach, and its replicas' addresses. */
export interface Backend {
  service: ServiceName;
  /** The listening socket the balancer takes over for this service ({@link bindListener}). */
  listener: Server;
  servers: Array<{ id: string; port: number }>;
}

/** The console's server (apps/console), served by the ingress at every path no service takes. */
export interface ConsoleServer {
  id: string;
  port: number;
}

/** HAProxy `bind` addresses of one config: `fd@3` (an inherited socket) or `127.0.0.1:8080`. */
export interface Binds {
  stats: string;
  ingress?: string;
  services: Partial<Record<ServiceName, string>>;
}

/**
 * Binds a listening TCP socket for HAProxy to take over (`bind fd@N`), so the
 * port is never "chosen free" here and bound later by HAProxy, a gap in which
 * any outgoing connection may take it (ports in the kernel's ephemeral range).
 * Until HAProxy has it, a client that connects is disconnected at once.
 *
 * @param port the TCP port; 0 lets the kernel choose one (read it back with {@link portOf})
 * @param host the address to bind, default 127.0.0.1
 * @returns the listening server
 * @throws Error naming the address when it is already in use or cannot be bound
 */
export async function bindListener(port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer({ pauseOnConnect: true }, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `${host}:${port} is already in use`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen({ port, host, exclusive: true }, resolve);
  });
  return server;
}

/** @returns the port a server from {@link bindListener} listens on */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/**
 * The file descriptor of a listening socket, to hand to a child process.
 * Node has no public accessor: a TCP handle's `fd` is the libuv descriptor on
 * POSIX systems (absent on Windows, where HAProxy does not run either).
 */
function descriptorOf(server: Server): number {
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('cannot hand a listening socket to haproxy on this platform');
  return fd;
}

/** @returns the HAProxy version line, or null when `haproxy` is not installed */
export function haproxyVersion(): string | null {
  const result = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return result.stdout.split('\n')[0] ?? null;
}

/**
 * Writes the config: one frontend and backend per service, round-robin, no
 * affinity, readiness health checks every 500 ms, connection failures
 * retried on another replica (a failed connection never reached a replica,
 * so even a POST is safe to send elsewhere), a stats page, an admin socket
 * for adding replicas, and optionally an ingress: one port routing by path
 * (`/auth/`, `/oauth/`, `/.well-known/` → auth; `/users` → users; `/orders` → orders; anything else → the
 * console when there is one, otherwise a 404 problem).
 *
 * @param backends each service with its replicas (`{id, port}`)
 * @param socketPath the admin socket's path
 * @param binds where each frontend listens (an inherited `fd@N`, or `host:port`); no `ingress`, no ingress
 * @param consoleServer the console's server, for the ingress's other paths; absent: they are a 404
 * @returns the config text
 * @throws Error when a backend's service has no bind address
 */
export function haproxyConfig(
  backends: Array<Omit<Backend, 'listener'>>,
  socketPath: string,
  binds: Binds,
  consoleServer?: ConsoleServer,
): string {
  const lines = [
    'global',
    `  stats socket ${socketPath} mode 600 level admin`,
    '',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 10s',
    '  # a failed connection is retried, on another replica (redispatch)',
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '  # the client address, for the per-IP login limits (the replicas trust it from HAProxy: TRUSTED_PROXIES=127.0.0.1)',
    '  option forwardfor',
    `  default-server ${HEALTH_CHECK}`,
    '  # no replica ready: an RFC 9457 problem, like every other error of the system',
    `  http-error status 503 content-type application/problem+json string "${NO_REPLICA_PROBLEM}"`,
    '',
    'listen stats',
    `  bind ${binds.stats}`,
    '  stats enable',
    '  stats uri /',
    '  stats refresh 2s',
  ];
  if (binds.ingress) {
    // One address for the whole system, routed by path: what the Kubernetes Ingress does.
    lines.push(
      '',
      'frontend ingress_in',
      `  bind ${binds.ingress}`,
      '  acl to_auth path /auth /oauth /.well-known',
      '  acl to_auth path_beg /auth/ /oauth/ /.well-known/',
      '  acl to_users path /users',
      '  acl to_users path_beg /users/',
      '  acl to_orders path /orders',
      '  acl to_orders path_beg /orders/',
      ...(consoleServer
        ? []
        : [
            '  http-request return status 404 content-type application/problem+json string "{\\"type\\":\\"about:blank\\",\\"title\\":\\"Not Found\\",\\"status\\":404,\\"detail\\":\\"No service serves this path.\\",\\"code\\":\\"not_found\\"}" unless to_auth || to_users || to_orders',
          ]),
      '  use_backend auth if to_auth',
      '  use_backend users if to_users',
      '  use_backend orders if to_orders',
      ...(consoleServer ? ['  default_backend console'] : []),
    );
    if (consoleServer)
      lines.push(
        '',
        '# the console: its page and files, at every path no service takes',
        'backend console',
        '  option httpchk GET /health/ready',
        '  http-check expect status 200',
        `  server ${consoleServer.id} 127.0.0.1:${consoleServer.port}`,
      );
  }
  for (const backend of backends) {
    const name = backend.service.replace('-service', '');
    const bind = binds.services[backend.service];
    if (!bind) throw new Error(`no bind address for ${backend.service}`);
    lines.push(
      '',
      `frontend ${name}_in`,
      `  bind ${bind}`,
      `  default_backend ${name}`,
      '',
      `backend ${name}`,
      '  balance roundrobin',
      '  # a request a replica may have begun to process is replayed only if it is a GET',
      '  http-request disable-l7-retry if !METH_GET',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      ...backend.servers.map((server) => `  server ${server.id} 127.0.0.1:${server.port}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A running HAProxy. */
export class Haproxy {
  private constructor(
    private readonly child: ChildProcess,
    private readonly socketPath: string,
    readonly output: string[],
  ) {}

  /**
   * Writes the config into `dir` and starts `haproxy -db` (foreground) on the
   * listening sockets given (from {@link bindListener}): HAProxy inherits them
   * as file descriptors 3, 4, … (`bind fd@N`) and this process closes its own
   * copies, so no port is ever free between choosing it and serving on it.
   *
   * @param dir folder for the config and the admin socket
   * @param backends the services, each with its listening socket and replicas
   * @param stats the socket for the stats page
   * @param ingress the socket for the path-routed ingress, if any
   * @param consoleServer the console's server, behind the ingress, if any
   * @throws Error when haproxy is not installed, exits at once (bad config), or does not answer within 10 s
   */
  static async start(
    dir: string,
    backends: Backend[],
    stats: Server,
    ingress?: Server,
    consoleServer?: ConsoleServer,
  ): Promise<Haproxy> {
    const inherited: Server[] = [stats, ...(ingress ? [ingress] : []), ...backends.map((backend) => backend.listener)];
    const socketPath = join(dir, 'haproxy.sock');
    const configPath = join(dir, 'haproxy.cfg');
    let child: ChildProcess;
    try {
      rmSync(socketPath, { force: true }); // a stale socket from an earlier run must not pass for this one
      const fdIn = (server: Server) => `fd@${3 + inherited.indexOf(server)}`;
      const binds: Binds = {
        stats: fdIn(stats),
        ingress: ingress && fdIn(ingress),
        services: Object.fromEntries(backends.map((backend) => [backend.service, fdIn(backend.listener)])),
      };
      writeFileSync(configPath, haproxyConfig(backends, socketPath, binds, consoleServer));
      child = spawn('haproxy', ['-db', '-f', configPath], {
        stdio: ['ignore', 'pipe', 'pipe', ...inherited.map(descriptorOf)],
      });
    } finally {
      // The child holds its own copies from here on; ours would compete with it for connections. On a
      // failure before the spawn, nobody will serve them: closed all the same.
      for (const server of inherited) server.close();
    }
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    let exited: Error | undefined;
    child.once('error', (error) => (exited = new Error(`could not run haproxy: ${error.message}`)));
    child.once('close', (code) => (exited ??= new Error(`haproxy exited (code ${code}):\n${output.join('')}`)));
    const haproxy = new Haproxy(child, socketPath, output);
    // Up when its admin socket answers; at most 10 s. On any failure it is stopped, never left behind.
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (exited) throw exited;
      try {
        if (existsSync(socketPath)) {
          await haproxy.command('show info');
          return haproxy;
        }
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await haproxy.stop();
        throw new Error(`haproxy did not answer on ${socketPath} within 10 s:\n${output.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Adds a replica to a backend, with health checks, and puts it in rotation (runtime API). */
  async addServer(service: ServiceName, id: string, port: number): Promise<void> {
    const backend = service.replace('-service', '');
    const added = await this.command(`add server ${backend}/${id} 127.0.0.1:${port} ${HEALTH_CHECK}`);
    if (!/New server registered/.test(added)) throw new Error(`haproxy refused the new server: ${added}`);
    await this.command(`enable health ${backend}/${id}`);
    await this.command(`enable server ${backend}/${id}`);
  }

  /** @returns each server of the backend with its operational state (`UP`/`DOWN`…), from the runtime API */
  async serverStates(service: ServiceName): Promise<Record<string, string>> {
    const backend = service.replace('-service', '');
    const reply = await this.command(`show stat`);
    const states: Record<string, string> = {};
    for (const line of reply.split('\n')) {
      const fields = line.split(',');
      if (fields[0] === backend && fields[1] !== 'BACKEND') states[fields[1]] = fields[17] ?? '';
    }
    return states;
  }

  /** Stops HAProxy (SIGTERM) and waits for it; removes its admin socket. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.socketPath, { force: true });
  }

  /** Sends one command to the admin socket; resolves with the whole answer. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.socketPath);
      let reply = '';
      socket.setTimeout(3000, () => socket.destroy(new Error(`haproxy did not answer "${line}"`)));
      socket.on('connect', () => socket.write(`${line}\n`));
      socket.on('data', (chunk) => (reply += chunk.toString()));
      socket.on('end', () => resolve(reply));
      socket.on('error', reject);
    });
  }
}
