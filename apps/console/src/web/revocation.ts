import type { ApiAnswer } from './api';

/**
 * Watching a revocation reach every replica. The page cannot address a
 * replica: the ingress balances each request, with no affinity. So it learns
 * the replicas by asking often enough (a sweep), then, after the logout, asks
 * again until each replica it knows has both refused the token on a
 * protected route (401) and reported, on `GET /<service>/revocation-status`,
 * when it applied the revocation and how long after the issuer announced it
 * (the delay each replica measures itself, in milliseconds).
 */

/** What `GET /users/revocation-status` and `GET /orders/revocation-status` answer. */
export interface RevocationStatus {
  service: string;
  instance: string;
  revoked: boolean;
  by?: 'token' | 'session' | 'subject';
  announcedAt?: string;
  appliedAt?: string;
  /** Applied minus announced, in milliseconds, as the replica measured; null when it read it at start-up. */
  delayMs?: number | null;
  source?: 'pubsub' | 'load';
}

/** One replica's row in the page. */
export interface ReplicaRow {
  service: string;
  instance: string;
  status?: RevocationStatus;
  /** The protected route's answer after the logout, once it was a 401. */
  refusal?: { status: number; afterMs: number };
}

/** The probes the watcher makes: the page's callApi bound to one service and the token. */
export interface ServiceProbes {
  service: string;
  /** GET …/revocation-status with the token. */
  status(): Promise<ApiAnswer>;
  /** A protected route with the token (e.g. GET /users/me). */
  protectedCall(): Promise<ApiAnswer>;
}

/**
 * Learns the replicas of a service: calls until no new `X-Instance-Id` has
 * appeared for `quiet` calls in a row, or `max` calls.
 *
 * @param probe one call that answers with an instance id
 * @param quiet calls in a row with no new replica that end the sweep (default 6)
 * @param max calls at most (default 24)
 * @returns the instance ids seen, in the order seen
 */
export async function sweepReplicas(probe: () => Promise<ApiAnswer>, quiet = 6, max = 24): Promise<string[]> {
  const seen: string[] = [];
  let sinceNew = 0;
  for (let call = 0; call < max && sinceNew < quiet; call += 1) {
    const { instance } = await probe();
    if (instance !== '?' && !seen.includes(instance)) {
      seen.push(instance);
      sinceNew = 0;
    } else sinceNew += 1;
  }
  return seen;
}

/**
 * After a logout: probes each service until every known replica has refused
 * the token and reported the revocation, or the deadline passes.
 *
 * Status and protected calls alternate in a pattern that changes with each
 * round (s p, p s, …), so that a round-robin balancer cannot send every
 * status call to one replica and every protected call to another.
 *
 * @param services the probes, per service
 * @param known the replicas from {@link sweepReplicas}, per service; a replica seen only now is added
 * @param startedAt when the logout answered, `performance.now()` milliseconds
 * @param onUpdate called with every row after each answer, for the page to redraw
 * @param deadlineMs how long to try, in milliseconds (default 15000)
 * @param now the clock, `performance.now()` by default (milliseconds)
 * @returns the rows; a row without `status.revoked` or `refusal` did not get there in time
 */
export async function watchRevocation(
  services: ServiceProbes[],
  known: Record<string, string[]>,
  startedAt: number,
  onUpdate: (rows: ReplicaRow[]) => void,
  deadlineMs = 15_000,
  now: () => number = () => performance.now(),
): Promise<ReplicaRow[]> {
  const rows = new Map<string, ReplicaRow>();
  const rowOf = (service: string, instance: string): ReplicaRow => {
    const key = `${service}/${instance}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { service, instance }));
    return row;
  };
  for (const { service } of services) for (const instance of known[service] ?? []) rowOf(service, instance);
  // Not done while a service has no replica at all: an empty sweep (no X-Instance-Id) proves nothing.
  const done = () =>
    services.every(({ service }) => [...rows.values()].some((row) => row.service === service)) &&
    [...rows.values()].every((row) => row.refusal && row.status?.revoked);
  let round = 0;
  while (!done() && now() - startedAt < deadlineMs) {
    round += 1;
    await Promise.all(
      services.map(async (probes) => {
        const order = round % 2 === 0 ? [probes.status, probes.protectedCall] : [probes.protectedCall, probes.status];
        for (const call of order) {
          const answer = await call.call(probes);
          if (answer.instance === '?') continue;
          const row = rowOf(probes.service, answer.instance);
          if (call === probes.status && answer.status === 200) {
            const status = answer.body as RevocationStatus;
            if (status.revoked) row.status = status;
          } else if (call === probes.protectedCall && answer.status === 401 && !row.refusal) {
            row.refusal = { status: answer.status, afterMs: Math.round(now() - startedAt) };
          }
        }
      }),
    );
    onUpdate([...rows.values()]);
  }
  return [...rows.values()];
}
