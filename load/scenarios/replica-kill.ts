/**
 * Replica kill: read-heavy load through the load balancer or ingress while
 * one replica of orders and one of users are killed mid-run. k6 cannot kill
 * a pod itself; against kind, start the run:
 *
 *   k6 run -e AUTH_URL=http://jwt.localtest.me -e USERS_URL=http://jwt.localtest.me \
 *     -e ORDERS_URL=http://jwt.localtest.me load/scenarios/replica-kill.ts
 *
 * and about 30 s in, from another terminal, delete one pod of each (the first the
 * label finds; `delete pod -l` would delete every replica at once):
 *
 *   kubectl -n jwt-ms delete pod --wait=false \
 *     "$(kubectl -n jwt-ms get pod -l app.kubernetes.io/name=orders-service -o jsonpath='{.items[0].metadata.name}')" \
 *     "$(kubectl -n jwt-ms get pod -l app.kubernetes.io/name=users-service -o jsonpath='{.items[0].metadata.name}')"
 *
 * (`npm run load -- replica-kill` does both against the local cluster.)
 * Only the requests in flight on the killed replica may fail: the threshold
 * allows 0.1 % failures, and not one revoked or wrong answer.
 */
import { check } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';
import { ORDERS_URL, USERS_URL } from '../lib/config.ts';
import { bearer, login, registerUser, requireHealthy } from '../lib/auth.ts';

export const options: Options = {
  scenarios: {
    readers: { executor: 'constant-vus', vus: 20, duration: '90s' },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
  },
};

export function setup(): { tokens: string[] } {
  requireHealthy();
  return { tokens: Array.from({ length: 10 }, (_, index) => login(registerUser(`kill${index}`)).access_token) };
}

export default function (data: { tokens: string[] }): void {
  const token = data.tokens[__VU % data.tokens.length];
  check(http.get(`${ORDERS_URL}/orders`, bearer(token)), {
    'orders 200 while a replica dies': (r) => r.status === 200,
  });
  check(http.get(`${USERS_URL}/users/me`, bearer(token)), {
    'profile 200 while a replica dies': (r) => r.status === 200,
  });
}
