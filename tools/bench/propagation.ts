/**
 * Revocation propagation across a cluster: the time from a logout's response
 * to the moment every replica of users and orders refuses the token, and every
 * users replica the token orders-service got for it by exchange (RFC 8693).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../cluster/cluster';

/** Propagation delays over all rounds, in milliseconds. */
export interface PropagationFigures {
  rounds: number;
  replicas: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of (round, replica) pairs whose very first request after the logout answer was already refused. */
  refusedAtFirstRequest: number;
  /** The same delays for the token orders-service got by exchanging the user's (RFC 8693), on every users replica. */
  exchanged: { p50Ms: number; p99Ms: number; maxMs: number };
}

/** orders-service in the development registry (the cluster runs outside production). */
const ORDERS_CLIENT = 'orders-service:orders-service-dev-secret-not-for-production';

interface Options {
  rounds: number;
  replicas: number;
  redisUrl: string;
  postgresAdminUrl: string;
  log: (line: string) => void;
}

/**
 * Starts a cluster (fresh `jwtms_test_bench_*` databases), then, `rounds`
 * times: logs in through the balancer, logs out through one auth replica, and
 * polls every users and orders replica directly, all at once, each in a tight
 * loop, until it answers 401. A round's figure is its slowest replica, timed
 * to the arrival of the refusal: an upper bound, since the replica knew of the
 * revocation before it answered (the resolution is one request round trip).
 */
export async function benchPropagation(options: Options): Promise<PropagationFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-cluster-'));
  const cluster = await startCluster({
    replicas: options.replicas,
    dataDir,
    redisUrl: options.redisUrl,
    postgresAdminUrl: options.postgresAdminUrl,
    databasePrefix: `jwtms_test_bench_${process.pid}`,
    freshDatabases: true,
    env: {
      NODE_ENV: 'test',
      AUTH_RATE_LIMIT_PER_IP: '1000000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '1000000',
      AUTH_TOKEN_RATE_LIMIT_PER_IP: '1000000',
    },
  });
  try {
    const auth = cluster.urls['auth-service'];
    const credentials = { email: `bench.${process.pid}@example.test`, password: 'correct horse battery staple' };
    await post(`${auth}/auth/register`, credentials);
    const verifiers = [...cluster.running('users-service'), ...cluster.running('orders-service')];
    const issuers = cluster.running('auth-service');
    const usersReplicas = cluster.running('users-service');
    const delays: number[] = [];
    const exchangedDelays: number[] = [];
    let firstRequestRefusals = 0;
    for (let round = 0; round < options.rounds; round += 1) {
      const { access_token: token } = (await post(`${auth}/auth/login`, credentials)) as { access_token: string };
      const delegated = await exchange(auth, token);
      for (const replica of verifiers) {
        if ((await get(`${replica.url}/whoami`, token)) !== 200) throw new Error(`${replica.id} refused a fresh token`);
      }
      for (const replica of usersReplicas) {
        if ((await get(`${replica.url}/whoami`, delegated)) !== 200)
          throw new Error(`${replica.id} refused a fresh exchanged token`);
      }
      const logout = await fetch(`${issuers[round % issuers.length].url}/auth/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      if (logout.status !== 204) throw new Error(`logout answered ${logout.status}`);
      const loggedOutAt = performance.now();
      const refusal = (replica: { id: string; url: string }, presented: string) => async () => {
        for (;;) {
          if ((await get(`${replica.url}/whoami`, presented)) === 401) return performance.now() - loggedOutAt;
          if (performance.now() - loggedOutAt > 5000)
            throw new Error(`${replica.id} accepted a revoked exchanged token for 5 s`);
        }
      };
      const exchangedRefusals = Promise.all(usersReplicas.map((replica) => refusal(replica, delegated)()));
      const refusedAfter = await Promise.all(
        verifiers.map(async (replica) => {
          for (let request = 1; ; request += 1) {
            const status = await get(`${replica.url}/whoami`, token);
            if (status === 401) {
              if (request === 1) firstRequestRefusals += 1;
              return performance.now() - loggedOutAt;
            }
            if (performance.now() - loggedOutAt > 5000)
              throw new Error(`${replica.id} accepted a revoked token for 5 s`);
          }
        }),
      );
      delays.push(Math.max(...refusedAfter));
      exchangedDelays.push(Math.max(...(await exchangedRefusals)));
    }
    delays.sort((a, b) => a - b);
    exchangedDelays.sort((a, b) => a - b);
    const quantile = (sorted: number[], q: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    const at = (q: number) => quantile(delays, q);
    const figures = {
      rounds: delays.length,
      replicas: verifiers.length,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: delays[delays.length - 1],
      refusedAtFirstRequest: firstRequestRefusals / (delays.length * verifiers.length),
      exchanged: {
        p50Ms: quantile(exchangedDelays, 0.5),
        p99Ms: quantile(exchangedDelays, 0.99),
        maxMs: exchangedDelays[exchangedDelays.length - 1],
      },
    };
    options.log(
      `  ${figures.rounds} logouts × ${figures.replicas} replicas: p50 ${figures.p50Ms.toFixed(1)} ms, p99 ${figures.p99Ms.toFixed(1)} ms, max ${figures.maxMs.toFixed(1)} ms ` +
        `(time until the refusal arrived: an upper bound)`,
    );
    options.log(
      `  ${(100 * figures.refusedAtFirstRequest).toFixed(1)}% of replicas refused the very first request sent after the logout answer: ` +
        `there, propagation took less than one request's round trip`,
    );
    options.log(
      `  the exchanged token (orders → users, RFC 8693) on ${usersReplicas.length} users replicas: ` +
        `p50 ${figures.exchanged.p50Ms.toFixed(1)} ms, p99 ${figures.exchanged.p99Ms.toFixed(1)} ms, ` +
        `max ${figures.exchanged.maxMs.toFixed(1)} ms (the same session, the same revocation entry)`,
    );
    return figures;
  } finally {
    await cluster.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}`);
  return response.json();
}

/** orders-service's exchange of a user's token for one meant for users-service (RFC 8693 §2.1). */
async function exchange(auth: string, subjectToken: string): Promise<string> {
  const response = await fetch(`${auth}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(ORDERS_CLIENT).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'users-service',
      scope: 'profile:read',
    }),
  });
  if (response.status !== 200) throw new Error(`the token exchange answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function get(url: string, token: string): Promise<number> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}
