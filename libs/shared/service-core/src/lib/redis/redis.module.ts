import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { createClient } from 'redis';

/** The node-redis client type this system uses (no modules, no scripts). */
export type RedisClient = ReturnType<typeof createRedisClient>;

/** Injection token of the process's single Redis connection. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * Creates a Redis client that fails fast rather than queueing: while the
 * connection is down every command rejects at once (no offline queue), so a
 * request that needs Redis fails closed in milliseconds instead of hanging.
 * It reconnects in the background, backing off up to 2000 ms.
 *
 * @param url `redis://[user:password@]host:port[/db]`
 * @returns a client whose `connect()` has been started (not awaited)
 */
export function createRedisClient(url: string) {
  const logger = new Logger('Redis');
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
    },
  });
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) logger.warn(`connection error: ${error.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.log('connection restored');
    down = false;
  });
  client.connect().catch(() => {
    /* reported through the 'error' event; reconnects on its own */
  });
  return client;
}

/** How long start-up waits for the first Redis connection, in milliseconds. */
const FIRST_CONNECT_WAIT_MS = 3000;

/** Resolves when the client is ready or after `ms` milliseconds, whichever comes first. */
function waitUntilReady(client: RedisClient, ms: number): Promise<void> {
  if (client.isReady) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.on('ready', done);
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
  /** @param options.url the Redis URL (`redis://` or `rediss://`) */
  static forRoot(options: { url: string }): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS_CLIENT,
          // Give the first connection a moment so the first requests don't fail closed
          // needlessly; start anyway if Redis is down (readiness reports it).
          useFactory: async () => {
            const client = createRedisClient(options.url);
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
