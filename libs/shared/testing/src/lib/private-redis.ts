import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a redis-server may take to say it is ready, in milliseconds: a loaded 2-core machine is slow to fork. */
const START_TIMEOUT_MS = 20_000;
/** Fresh ports tried when the drawn one is in use, before giving up. */
const PORT_ATTEMPTS = 10;

/**
 * A throw-away redis-server of the test's own, that a test may stop, pause
 * (SIGSTOP: it hangs without refusing) and start again, without touching the
 * shared Redis every other test uses.
 *
 * Its port: redis-server cannot bind port 0 and report what it got, and a port
 * found free here and bound later by redis-server can be taken in between by
 * any outgoing connection if it lies in the kernel's ephemeral range. So the
 * port is drawn below that range, where only another listener can hold it, and
 * another is drawn when redis-server reports it in use. A restart keeps the
 * port (clients hold the URL). The server counts as started when it logs that
 * it is ready, never because something answers on the port.
 */
export class PrivateRedis {
  private process?: ChildProcess;
  /** The TCP port, 0 until the first {@link start}. */
  port = 0;

  private readonly persistence: string[];

  /**
   * @param extraArgs more redis-server options, e.g. `['--aclfile', path]`
   * @param options.persist keep the data across a stop and start (an append-only file, fsync on every
   *   write, in a temporary directory), as a production Redis does; by default a restart starts empty
   */
  constructor(
    private readonly extraArgs: string[] = [],
    options: { persist?: boolean } = {},
  ) {
    this.persistence = options.persist
      ? ['--dir', mkdtempSync(join(tmpdir(), 'private-redis-')), '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--save', '', '--appendonly', 'no'];
  }

  /** `redis://127.0.0.1:<port>` (valid once started). */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts redis-server and resolves once it accepts connections.
   *
   * @throws Error when it does not start within 20 s, or exits (with its log); when
   *   {@link PORT_ATTEMPTS} drawn ports were all in use; on a restart, when its port stays taken
   */
  async start(): Promise<void> {
    const restart = this.port !== 0;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let attempt = 1; ; attempt += 1) {
      if (!restart) this.drawPorts();
      const outcome = await this.launch(deadline);
      if (outcome === 'ready') return;
      const retry = restart ? Date.now() < deadline : attempt < PORT_ATTEMPTS;
      if (!retry) throw new Error(`redis-server could not bind 127.0.0.1:${this.ports()}: address in use`);
      if (restart) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops it (SIGTERM, after SIGCONT in case it is paused) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Freezes it (SIGSTOP): connections stay open and nothing answers. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a paused server go on (SIGCONT). */
  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /**
   * Draws the port(s) the next first start binds; called again whenever redis-server reports one in use, never
   * on a restart. A subclass that binds more than one port (a cluster node's bus port) draws them all here.
   */
  protected drawPorts(): void {
    this.port = portBelowEphemeralRange();
  }

  /** The port(s) for the "in use" error, e.g. `7000` or `7000 or 17000`. */
  protected ports(): string {
    return String(this.port);
  }

  /** redis-server's command line, after the program name; a subclass adds its own options (later ones win). */
  protected serverArgs(): string[] {
    return ['--port', String(this.port), '--bind', '127.0.0.1', ...this.persistence, ...this.extraArgs];
  }

  /** One redis-server on {@link port}: 'ready' when it says so, 'in-use' when its port was taken. */
  private launch(deadline: number): Promise<'ready' | 'in-use'> {
    const child = spawn('redis-server', this.serverArgs(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let log = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          child.kill('SIGKILL');
          reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS / 1000} s:\n${log}`));
        },
        Math.max(0, deadline - Date.now()),
      );
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          // Keep reading, so a chatty server never blocks on a full pipe.
          resolve('ready');
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`could not run redis-server: ${error.message}`));
      });
      // 'close', not 'exit': only then has all it printed been read (the "in use" line may come last).
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (/Address already in use/.test(log)) resolve('in-use');
        else reject(new Error(`redis-server exited (${signal ?? `code ${code}`}) before it was ready:\n${log}`));
      });
    });
  }
}

/**
 * A random TCP port below the kernel's ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default), from
 * the 16,384 ports under it but never below 1025.
 */
export function portBelowEphemeralRange(): number {
  let low = 32768;
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 2048) low = first;
  } catch {
    /* not Linux: keep the common default */
  }
  return randomInt(Math.max(1025, low - 16_384), low);
}
