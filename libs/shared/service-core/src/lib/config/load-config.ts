import { isIP } from 'node:net';
import { z } from 'zod';
import { LOG_LEVELS } from '../logging/service-logger';

/**
 * Thrown when the environment does not satisfy a service's configuration
 * schema. Its message lists every bad variable and what was expected, so the
 * process can print it and exit without a stack trace.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates environment variables against a zod schema, once, at start.
 *
 * @param schema zod object schema over the variable names (e.g. `PORT`)
 * @param env the environment, `process.env` by default
 * @returns the parsed, typed configuration
 * @throws ConfigError naming each invalid variable and what it expected
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  // A variable set to the empty string (`PORT=`) counts as unset: its default applies.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(
    // Name the variable, not the position inside a parsed list (`AUTH_ALGORITHMS`, not `AUTH_ALGORITHMS.0`).
    result.error.issues.map((issue) => `${String(issue.path[0] ?? '(environment)')}: ${issue.message}`),
  );
}

/** An interface address or host name to listen on, e.g. `127.0.0.1`, `0.0.0.0`, `::`. */
function host() {
  return z
    .string()
    .regex(/^[A-Za-z0-9.:-]{1,253}$/, { message: 'expected an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0' })
    .default('127.0.0.1');
}

/** Reusable variable schemas with the messages a newcomer needs. */
export const env = {
  /** A TCP port, 0..65535 (0 asks the OS for a free one). */
  port: (fallback: number) =>
    z.coerce
      .number({ message: 'expected a port number' })
      .int('expected a whole number')
      .min(0, 'expected 0..65535')
      .max(65535, 'expected 0..65535')
      .default(fallback),
  /** A whole number of seconds, at least `min`. */
  seconds: (fallback: number, min = 1) =>
    z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected whole seconds')
      .min(min, `expected at least ${min} s`)
      .default(fallback),
  /** A URL with one of the given protocols, e.g. `['redis:', 'rediss:']`. */
  url: (protocols: string[]) =>
    z.string().refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
    ),
  /** A comma-separated list, trimmed, empty items dropped. */
  list: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1, 'expected at least one comma-separated value')),
  /**
   * A comma-separated list of IP addresses and CIDR blocks (`127.0.0.1, 10.244.0.0/16, ::1`), each
   * checked, as `trustProxy` (proxy-addr) takes them.
   */
  addressList: () =>
    env
      .list()
      .pipe(
        z.array(
          z
            .string()
            .refine(isAddressOrCidr, { message: 'expected IP addresses or CIDRs, e.g. 10.0.0.1 or 10.0.0.0/8' }),
        ),
      ),
  /** `development`, `test` or `production`. */
  nodeEnv: () => z.enum(['development', 'test', 'production']).default('development'),
};

/**
 * A `superRefine` check every service's schema applies: in production the
 * database is PostgreSQL (`DATABASE_URL`). The embedded SQLite default is for a
 * laptop run; the container images do not even ship its driver.
 *
 * @param config the parsed variables (`NODE_ENV`, `DATABASE_URL`)
 * @param context zod's refinement context: an issue on `DATABASE_URL` is added, nothing is thrown here
 *   (`loadConfig` then throws ConfigError listing it)
 */
export function requireProductionDatabase(
  config: { NODE_ENV: string; DATABASE_URL?: string },
  context: { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void },
): void {
  if (config.NODE_ENV === 'production' && !config.DATABASE_URL) {
    context.addIssue({
      code: 'custom',
      path: ['DATABASE_URL'],
      message: 'production needs PostgreSQL: set DATABASE_URL (postgres://user:password@host:5432/database)',
    });
  }
}

/**
 * Variables every service reads: where to listen, Redis, and its own database.
 *
 * @param defaults.port the service's default port
 * @param defaults.name the service name; the default SQLite file is `data/<name>/<name>.sqlite`
 */
export function serviceEnvSchema(defaults: { port: number; name: string }) {
  return z.object({
    NODE_ENV: env.nodeEnv(),
    HOST: host(),
    PORT: env.port(defaults.port),
    REDIS_URL: env.url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    /**
     * A Redis Cluster instead: a few of its nodes, comma-separated `redis://[user:password@]host:port` URLs (the
     * client discovers the rest); REDIS_URL is then not used.
     */
    REDIS_CLUSTER_NODES: env
      .list()
      .pipe(z.array(env.url(['redis:', 'rediss:'])))
      .optional(),
    DATABASE_URL: env.url(['postgres:', 'postgresql:']).optional(),
    SQLITE_PATH: z.string().min(1).default(`data/${defaults.name}/${defaults.name}.sqlite`),
    /** Browser origins allowed by CORS, comma-separated (`https://app.example.com`); none by default: CORS closed. */
    CORS_ORIGINS: env.list().optional(),
    /**
     * The proxies (ingress controller, load balancer) whose `X-Forwarded-For` is trusted for the client IP,
     * as IPs or CIDRs; none by default: the socket address is the client.
     */
    TRUSTED_PROXIES: env.addressList().optional(),
    /** `GET /metrics` (Prometheus) and the request histogram: `on` (default) or `off` (the bench's baseline). */
    METRICS: z.enum(['on', 'off'], { message: 'expected on or off' }).default('on'),
    /** The least severe log line written: `fatal`, `error`, `warn`, `info` (default: one line per request), `debug`, `trace`, `silent`. */
    LOG_LEVEL: z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    /** Gone: it trusted the last hop's header from any peer. Refused, so that a deployment still setting it is told. */
    TRUST_PROXY_HOPS: z
      .never({
        message:
          "replaced by TRUSTED_PROXIES: list the proxies' addresses (IPs or CIDRs, e.g. 10.244.0.0/16); " +
          'a hop count trusted any peer',
      })
      .optional(),
  });
}

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`: an address, or a network with a prefix length that fits its family. */
function isAddressOrCidr(value: string): boolean {
  const [address, prefix, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
