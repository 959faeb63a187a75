import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder a test can cut: clients connect to it (it listens on port 0
 * of 127.0.0.1 and reports the port it got), and it pipes each connection to
 * the target. {@link cut} drops every connection and refuses new ones until
 * {@link restore}: a network partition for the clients behind it, while the
 * server and every other client carry on (a writer keeps writing meanwhile).
 *
 * The target may be named after the proxy listens (a function, read per
 * connection): a service whose public URL must be in its own environment
 * can be given the proxy's address before it starts and chooses its port.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private open = true;
  /** The port it listens on, 0 until {@link start}. */
  port = 0;

  /**
   * @param targetPort the port on 127.0.0.1 to forward to, or a function returning it when a client connects
   */
  constructor(private readonly targetPort: number | (() => number)) {}

  /** `redis://127.0.0.1:<port>` of the proxy (valid once started). */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Listens on an ephemeral port chosen by the kernel; resolves with it. */
  async start(): Promise<number> {
    const server = createServer((client) => {
      if (!this.open) {
        client.destroy();
        return;
      }
      const upstream = connect(typeof this.targetPort === 'number' ? this.targetPort : this.targetPort(), '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Drops every connection through the proxy, and refuses new ones until {@link restore}. */
  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Accepts connections again. */
  restore(): void {
    this.open = true;
  }

  /** Drops every connection and stops listening. */
  async stop(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
