import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { createClient, createCluster } from 'redis';

/**
 * Where Redis is: one server (`url`), or a Redis Cluster (`clusterNodes`, a few
 * of its nodes' URLs: the client discovers the rest). Credentials and TLS come
 * from the URLs (the first cluster node's apply to every node).
 */
export interface RedisTarget {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`: a standalone server (or a proxy/managed endpoint). */
  url: string;
  /** Seed nodes of a Redis Cluster, each `redis://[user:password@]host:port`; when given, `url` is not used. */
  clusterNodes?: readonly string[];
}

/**
 * The Redis connection this system uses: a standalone client or a cluster
 * client (node-redis). Both take the same commands; a cluster client routes
 * each by its key's slot, so a command or script that names several keys
 * must name keys of one slot (one hash tag, e.g. the revocation list's).
 */
export type RedisClient = ReturnType<typeof connectStandalone> | ReturnType<typeof connectCluster>;

/** Injection token of the process's single Redis connection. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Reconnection back-off, in milliseconds: 100, 200, 400 … up to 2000. */
const reconnectStrategy = (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000);

function connectStandalone(url: string) {
  return createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: 2000, reconnectStrategy } });
}

/**
 * @param closed whether the client was destroyed: node-redis can leave a node connection of a destroyed cluster
 *   client reconnecting forever (one replaced during a failover), which would keep the process alive; the
 *   strategy then stops it.
 */
function connectCluster(nodes: readonly string[], closed: () => boolean = () => false) {
  const first = new URL(nodes[0]);
  return createCluster({
    rootNodes: nodes.map((url) => ({ url })),
    defaults: {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries: number) => (closed() ? false : reconnectStrategy(retries)),
        ...(first.protocol === 'rediss:' ? { tls: true } : {}),
      },
    },
  });
}

/**
 * Creates a Redis client that fails fast rather than queueing: while the
 * connection is down every command rejects at once (no offline queue), so a
 * request that needs Redis fails closed in milliseconds instead of hanging.
 * It reconnects in the background, backing off up to 2000 ms. A cluster client
 * follows MOVED/ASK redirections and refreshes its slot map after a failover.
 *
 * @param target a standalone URL, or a cluster's seed nodes (see {@link RedisTarget}); a bare string is a URL
 * @returns a client whose `connect()` has been started (not awaited)
 */
export function createRedisClient(target: string | RedisTarget): RedisClient {
  const { url, clusterNodes } = typeof target === 'string' ? { url: target, clusterNodes: undefined } : target;
  const logger = new Logger('Redis');
  let closing = false;
  const client: RedisClient =
    clusterNodes && clusterNodes.length > 0 ? connectCluster(clusterNodes, () => closing) : connectStandalone(url);
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn(`connection error: ${error.message}`);
    down = true;
  });
  const restored = () => {
    if (down) logger.log('connection restored');
    down = false;
  };
  client.on(readyEvent(client), restored);
  const connect = (attempt: number): void => {
    client.connect().catch((error: Error) => {
      // A standalone client reconnects on its own; a cluster client whose first discovery failed does not.
      if (!('masters' in client) || closing) return;
      if (!down) logger.warn(`cannot reach the cluster: ${error.message}`);
      down = true;
      setTimeout(() => !closing && !client.isOpen && connect(attempt + 1), reconnectStrategy(attempt)).unref();
    });
  };
  connect(0);
  const destroy = client.destroy.bind(client);
  client.destroy = () => {
    closing = true;
    destroy();
  };
  return client;
}

/** A standalone client says 'ready' once it may send commands; a cluster client 'connect', once it knows the slot map. */
function readyEvent(client: RedisClient): 'ready' | 'connect' {
  return 'masters' in client ? 'connect' : 'ready';
}

/** How long start-up waits for the first Redis connection, in milliseconds. */
const FIRST_CONNECT_WAIT_MS = 3000;

/** Resolves when the client is ready or after `ms` milliseconds, whichever comes first. */
function waitUntilReady(client: RedisClient, ms: number): Promise<void> {
  if (client.isReady) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off(readyEvent(client), done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.on(readyEvent(client), done);
  });
}

@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly client: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.client.isOpen) this.client.destroy();
  }
}

/**
 * One Redis connection per process, available everywhere as {@link REDIS_CLIENT}
 * and closed on shutdown.
 */
@Global()
@Module({})
export class RedisModule {
  /** @param options where Redis is: `url` (`redis://` or `rediss://`), or a cluster's `clusterNodes` */
  static forRoot(options: RedisTarget): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS_CLIENT,
          // Give the first connection a moment so the first requests don't fail closed
          // needlessly; start anyway if Redis is down (readiness reports it).
          useFactory: async () => {
            const client = createRedisClient(options);
            await waitUntilReady(client, FIRST_CONNECT_WAIT_MS);
            return client;
          },
        },
        RedisLifecycle,
      ],
      exports: [REDIS_CLIENT],
    };
  }
}
