import type { ApiAnswer } from './api';
import { sweepReplicas, watchRevocation, type ServiceProbes } from './revocation';

const answer = (instance: string, status: number, body: unknown = null): ApiAnswer => ({
  method: 'GET',
  url: '/x',
  status,
  instance,
  ms: 1,
  body,
  challenge: null,
});

/** A round-robin balancer over replicas: each call goes to the next, whatever the route. */
function roundRobin(replicas: string[]) {
  let next = 0;
  return () => replicas[next++ % replicas.length];
}

describe('sweepReplicas', () => {
  it('finds every replica behind a round-robin balancer, then stops once no new one appears', async () => {
    const pick = roundRobin(['users-1', 'users-2', 'users-3']);
    let calls = 0;
    const seen = await sweepReplicas(async () => {
      calls += 1;
      return answer(pick(), 200);
    });
    expect(seen).toEqual(['users-1', 'users-2', 'users-3']);
    expect(calls).toBe(3 + 6);
  });

  it('ignores answers with no instance id, and stops at max', async () => {
    expect(await sweepReplicas(async () => answer('?', 200), 100, 5)).toEqual([]);
  });
});

describe('watchRevocation', () => {
  it('does not let a balancer send every status call to one replica and every protected call to another', async () => {
    // Two replicas, round-robin shared by both routes: a fixed status-then-protected order would always
    // send status to users-1 and the protected call to users-2.
    const pick = roundRobin(['users-1', 'users-2']);
    let clock = 0;
    const probes: ServiceProbes = {
      service: 'users',
      status: async () => {
        const instance = pick();
        return answer(instance, 200, { service: 'users', instance, revoked: true, by: 'session', delayMs: 3 });
      },
      protectedCall: async () => answer(pick(), 401),
    };
    const rows = await watchRevocation(
      [probes],
      { users: ['users-1', 'users-2'] },
      0,
      () => undefined,
      10_000,
      () => (clock += 1),
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.refusal?.status).toBe(401);
      expect(row.status).toMatchObject({ revoked: true, by: 'session', delayMs: 3 });
    }
  });

  it('gives up at the deadline, leaving the replica that never refused without a refusal', async () => {
    let clock = 0;
    const probes: ServiceProbes = {
      service: 'orders',
      status: async () => answer('orders-1', 200, { service: 'orders', instance: 'orders-1', revoked: false }),
      protectedCall: async () => answer('orders-1', 200),
    };
    const rows = await watchRevocation(
      [probes],
      { orders: ['orders-1'] },
      0,
      () => undefined,
      50,
      () => (clock += 10),
    );
    expect(rows).toEqual([{ service: 'orders', instance: 'orders-1' }]);
  });

  it('adds a replica it had not found in the sweep', async () => {
    let clock = 0;
    const probes: ServiceProbes = {
      service: 'users',
      status: async () =>
        answer('users-9', 200, { service: 'users', instance: 'users-9', revoked: true, delayMs: null }),
      protectedCall: async () => answer('users-9', 401),
    };
    const rows = await watchRevocation(
      [probes],
      { users: [] },
      0,
      () => undefined,
      1000,
      () => (clock += 1),
    );
    expect(rows.map((row) => row.instance)).toEqual(['users-9']);
  });
});
