/**
 * The machine's ceiling for one Node process (`npm run bench -- public`):
 * `node:http` alone, answering `GET /health/live` with `{"status":"ok"}` and
 * anything else with a 404. No framework at all.
 *
 * Environment: PORT (0: the kernel chooses). Prints `listening on http://…`.
 */
import { createServer } from 'node:http';

const body = JSON.stringify({ status: 'ok' });
const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/health/live') {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    response.end(body);
    return;
  }
  response.writeHead(404).end();
});
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`bare-http listening on http://127.0.0.1:${port}\n`);
});
