import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readSamples, readVerifierFigures, verifierFigures } from './verifier-metrics';

const EXPOSITION = `# HELP jwt_verifications_total Access-token verifications.
# TYPE jwt_verifications_total counter
jwt_verifications_total{result="accepted",reason=""} 12
jwt_verifications_total{result="invalid_token",reason="revoked_session"} 4
jwt_verifications_total{result="invalid_token",reason="odd \\"quoted\\" \\\\ reason"} 1
jwt_verified_token_cache_lookups_total{result="hit"} 99
# TYPE revocation_propagation_delay_seconds histogram
revocation_propagation_delay_seconds_bucket{le="0.005"} 2
revocation_propagation_delay_seconds_bucket{le="0.05"} 3
revocation_propagation_delay_seconds_bucket{le="+Inf"} 3
revocation_propagation_delay_seconds_sum 0.021
revocation_propagation_delay_seconds_count 3
malformed line here
jwt_verifications_total{result="accepted"} not-a-number
`;

describe('verifier figures from /metrics', () => {
  it('reads the two families, unescaping label values, and skips everything else', () => {
    const figures = verifierFigures('users', 'users-1', EXPOSITION);
    expect(figures.verifications).toEqual([
      { result: 'accepted', reason: '', count: 12 },
      { result: 'invalid_token', reason: 'revoked_session', count: 4 },
      { result: 'invalid_token', reason: 'odd "quoted" \\ reason', count: 1 },
    ]);
    expect(figures.propagation).toEqual({
      count: 3,
      sumSeconds: 0.021,
      buckets: [
        { le: '0.005', count: 2 },
        { le: '0.05', count: 3 },
        { le: '+Inf', count: 3 },
      ],
    });
  });

  it('gives zeroes for a service that has verified nothing yet', () => {
    expect(verifierFigures('orders', 'orders-1', '# nothing\n').propagation).toEqual({
      count: 0,
      sumSeconds: 0,
      buckets: [],
    });
    expect(readSamples('', new Set(['x']))).toEqual([]);
  });

  describe('over HTTP', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url === '/metrics') {
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'x-instance-id': 'users-2' });
          response.end(EXPOSITION);
        } else {
          response.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('names the replica that answered, and says which target could not be read, without its address', async () => {
      // Port 1 (tcpmux): nothing listens there on a test machine, so the connection is refused at once.
      const unreachable = 'http://127.0.0.1:1';
      const read = await readVerifierFigures({ users: base, orders: `${base}/nothing-here`, gone: unreachable });
      expect(read[0]).toMatchObject({ service: 'users', instance: 'users-2' });
      expect(read[1]).toEqual({ service: 'orders', error: 'GET /metrics answered 404' });
      expect(read[2]).toEqual({ service: 'gone', error: 'unreachable' });
    });
  });
});
