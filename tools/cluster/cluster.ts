/**
 * A local multi-replica deployment: N processes of each service on this
 * machine, sharing one Redis and one PostgreSQL server, behind HAProxy
 * (round-robin, no affinity). What a Kubernetes Deployment with N replicas
 * and a Service does, on one laptop, so that "any replica serves any request"
 * can be watched and tested.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { Haproxy, bindListener, portOf, type Backend } from './haproxy';
import {
  Databases,
  ROOT,
  launchScript,
  launchService,
  serviceEnv,
  stopProcess,
  type RunningService,
  type ServiceName,
} from '@jwt-ms/testing';

const SERVICES: ServiceName[] = ['auth-service', 'users-service', 'orders-service'];

/** How to start a cluster. */
export interface ClusterOptions {
  /** Replicas per service. Default 3. */
  replicas?: number;
  /** Balancer ports per service; 0 or absent: the kernel chooses one as the socket is bound. */
  ports?: Partial<Record<ServiceName, number>>;
  /** HAProxy's stats page port; 0 or absent: the kernel chooses. */
  statsPort?: number;
  /** The ingress port (one address, routed by path); 0 or absent: the kernel chooses. */
  ingressPort?: number;
  /** Folder for the shared signing key file and HAProxy's config and socket (created). */
  dataDir: string;
  /** The shared Redis. Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Admin URL of the shared PostgreSQL server. Default `postgres://postgres@127.0.0.1:5432/postgres`. */
  postgresAdminUrl?: string;
  /** Databases are `<prefix>_auth`, `<prefix>_users`, `<prefix>_orders`. Default `jwtms_cluster`. */
  databasePrefix?: string;
  /** Drop and recreate the databases first (only `jwtms_test_*` prefixes; for tests). Default false. */
  freshDatabases?: boolean;
  /** The issuer's `iss`; default the auth balancer's URL. */
  issuer?: string;
  /** Extra environment for every replica (e.g. the caller's own), then per service. */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Called with every line a replica prints, and the replica's id. */
  onLine?: (replicaId: string, line: string) => void;
  /**
   * Serve the console (dist/apps/console, built) at the ingress's `/`, and open the APIs' CORS to the
   * ingress's origin (`CORS_ORIGINS`, unless `env` sets it). Default true when the console is built.
   */
  console?: boolean;
}

/** One replica: a service process with its instance id (`users-2`). */
export interface Replica extends RunningService {
  id: string;
  port: number;
}

/** A running cluster. */
export interface Cluster {
  /** Balancer URLs: what clients use. */
  urls: Record<ServiceName, string>;
  /** HAProxy's stats page. */
  statsUrl: string;
  /** The ingress: every service's API on one address, routed by path, and the console at `/`. */
  ingressUrl: string;
  /** The console's server, when it runs (the ingress serves it at `/`). */
  console?: RunningService;
  /** Every replica started, including killed ones (check `process.exitCode`). */
  replicas: Replica[];
  /** The balancer itself (runtime API). */
  haproxy: Haproxy;
  /** The running replicas of one service. */
  running(service: ServiceName): Replica[];
  /** Stops one replica: SIGKILL (a crash) by default, SIGTERM for a graceful stop. */
  kill(replica: Replica, signal?: NodeJS.Signals): Promise<void>;
  /** Starts one more replica of a service and adds it to the balancer; resolves once it serves. */
  addReplica(service: ServiceName): Promise<Replica>;
  /** Stops every replica and the balancer; drops fresh test databases. */
  close(): Promise<void>;
}

/**
 * Starts the cluster: the balancer's listening sockets first (so every URL,
 * the issuer's included, is known and no port can be taken meanwhile), the
 * databases, then one auth replica (it runs the migrations and, outside
 * production, writes the shared signing key file), then the other auth
 * replicas, then HAProxy on those sockets, then users and orders replicas
 * (they fetch the JWKS through the balancer). Every replica listens on a port
 * the kernel chose (`PORT=0`) and reports it.
 *
 * @throws Error when a port is in use, or a replica or HAProxy fails to start (everything started is stopped first)
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const replicasPerService = options.replicas ?? 3;
  const prefix = options.databasePrefix ?? 'jwtms_cluster';
  const databases = new Databases(options.postgresAdminUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  mkdirSync(options.dataDir, { recursive: true });

  const listeners: Server[] = [];
  const listen = async (port: number | undefined): Promise<Server> => {
    try {
      const server = await bindListener(port ?? 0);
      listeners.push(server);
      return server;
    } catch (error) {
      for (const server of listeners) server.close();
      throw error;
    }
  };
  const serviceListeners = {} as Record<ServiceName, Server>;
  for (const service of SERVICES) serviceListeners[service] = await listen(options.ports?.[service]);
  const statsListener = await listen(options.statsPort);
  const ingressListener = await listen(options.ingressPort);
  const urls = Object.fromEntries(
    SERVICES.map((service) => [service, `http://127.0.0.1:${portOf(serviceListeners[service])}`]),
  ) as Record<ServiceName, string>;
  const issuer = options.issuer ?? urls['auth-service'];
  const consoleMain = join(ROOT, 'dist/apps/console/server/main.mjs');
  const withConsole = options.console ?? existsSync(consoleMain);
  const ingressPort = portOf(ingressListener);
  // The console's page calls the APIs from the ingress's origin (the issuer's token endpoint is another one).
  const consoleOrigins = `http://127.0.0.1:${ingressPort},http://localhost:${ingressPort}`;

  const databaseOf = (service: ServiceName) => `${prefix}_${service.replace('-service', '')}`;

  const replicas: Replica[] = [];
  const counters: Record<ServiceName, number> = { 'auth-service': 0, 'users-service': 0, 'orders-service': 0 };
  let haproxy: Haproxy | undefined;

  const envOf = (service: ServiceName, id: string): Record<string, string> => ({
    NODE_ENV: 'development',
    // Behind HAProxy (on 127.0.0.1), which appends the client's address to X-Forwarded-For: the per-IP
    // limits see clients. Only HAProxy's address is trusted; on one machine a client reaching a replica
    // directly comes from 127.0.0.1 too, so on a real network the replicas listen where only the proxy reaches.
    TRUSTED_PROXIES: '127.0.0.1',
    ...(withConsole ? { CORS_ORIGINS: consoleOrigins } : {}),
    ...serviceEnv(service, options.env),
    HOST: '127.0.0.1',
    PORT: '0', // the replica binds a port the kernel chooses and logs it
    INSTANCE_ID: id,
    REDIS_URL: options.redisUrl ?? 'redis://127.0.0.1:6379',
    DATABASE_URL: databases.urlOf(databaseOf(service)),
    AUTH_ISSUER: issuer,
    // One key set for every auth replica: the first writes it, the others read it (a Secret, in Kubernetes).
    DATA_DIR: join(options.dataDir, 'auth'),
    ...(service === 'auth-service' ? {} : { AUTH_JWKS_URI: `${urls['auth-service']}/.well-known/jwks.json` }),
    // orders calls users through the users balancer, as through its Kubernetes Service in a cluster.
    ...(service === 'orders-service' ? { USERS_SERVICE_URL: urls['users-service'] } : {}),
    ...options.serviceEnv?.[service],
  });

  const startReplica = async (service: ServiceName): Promise<Replica> => {
    counters[service] += 1;
    const id = `${service.replace('-service', '')}-${counters[service]}`;
    const running = await launchService(service, envOf(service, id), (line) => options.onLine?.(id, line));
    const replica: Replica = { ...running, id, port: Number(new URL(running.url).port) };
    replicas.push(replica);
    return replica;
  };

  const cluster: Cluster = {
    urls,
    statsUrl: `http://127.0.0.1:${portOf(statsListener)}/`,
    ingressUrl: `http://127.0.0.1:${ingressPort}`,
    replicas,
    get haproxy(): Haproxy {
      if (!haproxy) throw new Error('HAProxy is not running');
      return haproxy;
    },
    running: (service) =>
      replicas.filter((r) => r.name === service && r.process.exitCode === null && r.process.signalCode === null),
    kill: (replica, signal = 'SIGKILL') => stopProcess(replica.process, signal),
    addReplica: async (service) => {
      const replica = await startReplica(service);
      await cluster.haproxy.addServer(service, replica.id, replica.port);
      return replica;
    },
    close: async () => {
      for (const server of listeners) if (server.listening) server.close(); // HAProxy never took them
      await haproxy?.stop();
      await Promise.all(replicas.map((replica) => stopProcess(replica.process)));
      await stopProcess(cluster.console?.process);
      if (options.freshDatabases) for (const service of SERVICES) await databases.drop(databaseOf(service));
    },
  };

  try {
    for (const service of SERVICES) {
      if (options.freshDatabases) await databases.recreate(databaseOf(service));
      else await databases.ensure(databaseOf(service));
    }
    await startReplica('auth-service'); // alone: migrations, signing key file
    await Promise.all(Array.from({ length: replicasPerService - 1 }, () => startReplica('auth-service')));
    if (withConsole) {
      // The page's own calls go through the ingress (same origin); OAuth goes to the issuer.
      cluster.console = await launchScript(
        'console',
        [consoleMain],
        {
          HOST: '127.0.0.1',
          PORT: '0',
          CONSOLE_ISSUER: issuer,
          // Its charts read /metrics through the balancers (one replica per read), as Prometheus does not.
          CONSOLE_METRICS_TARGETS: `users=${urls['users-service']},orders=${urls['orders-service']}`,
        },
        (line) => options.onLine?.('console', line),
      );
    }
    const consoleServer = cluster.console && { id: 'console-1', port: Number(new URL(cluster.console.url).port) };
    // The verifiers load the JWKS at start-up, through the balancer: it must be up before them.
    haproxy = await Haproxy.start(options.dataDir, backends(), statsListener, ingressListener, consoleServer);
    for (const service of ['users-service', 'orders-service'] as const) {
      const first = await startReplica(service); // alone: migrations
      const rest = await Promise.all(Array.from({ length: replicasPerService - 1 }, () => startReplica(service)));
      for (const replica of [first, ...rest]) {
        await haproxy.addServer(service, replica.id, replica.port);
      }
    }
    return cluster;
  } catch (error) {
    // Everything started is stopped, the listening sockets included; the first error is the one to report.
    await cluster.close().catch(() => undefined);
    throw error;
  }

  function backends(): Backend[] {
    return SERVICES.map((service) => ({
      service,
      listener: serviceListeners[service],
      servers: replicas.filter((r) => r.name === service).map((r) => ({ id: r.id, port: r.port })),
    }));
  }
}
