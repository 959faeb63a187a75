#!/usr/bin/env node
/**
 * start.mjs — build and run the whole system locally (`npm start`).
 *
 *   1. builds auth-service, users-service, orders-service and the console with Nx (skip with --no-build);
 *   2. makes sure Redis answers at REDIS_URL (starts a throw-away local redis-server if needed);
 *   3. starts the three services as child processes, each line of their output tagged
 *      [auth] / [users] / [orders];
 *   4. waits until every service answers GET /health/ready with 200, starts the console (the page that shows
 *      a token's journey, apps/console) and prints the URLs: open http://localhost:3003;
 *   5. with --demo, runs scripts/demo.mjs against the running system;
 *   6. Ctrl-C / SIGTERM / SIGHUP (the terminal closed) stops everything (SIGTERM, then SIGKILL after 10 s).
 *
 * Environment: AUTH_PORT (3000), USERS_PORT (3001), ORDERS_PORT (3002), CONSOLE_PORT (3003),
 * REDIS_URL (redis://127.0.0.1:6379), AUTH_ISSUER, AUTH_JWKS_URI, and AUTH_ALGORITHMS (default:
 * SIGNING_ALGORITHM, so switching the issuer's algorithm switches the verifiers too), CORS_ORIGINS (default: the
 * console's origins, http://localhost:3003 and http://127.0.0.1:3003: the page calls the three APIs from there).
 * Plain Node 20, no dependencies.
 */
import { spawn, spawnSync } from 'node:child_process';
import { serviceEnv } from './service-env.mjs';
import { accessSync, constants, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const runDemo = args.has('--demo');
const color = (code) => (s) => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const [cyan, magenta, yellow, grey, red, green, bold] = [36, 35, 33, 90, 31, 32, 1].map(color);
const fail = (msg) => console.error(red(`✘ ${msg}`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AUTH_PORT = Number(process.env.AUTH_PORT ?? 3000);
const AUTH_ISSUER = process.env.AUTH_ISSUER ?? `http://localhost:${AUTH_PORT}`;
const AUTH_JWKS_URI = process.env.AUTH_JWKS_URI ?? `http://localhost:${AUTH_PORT}/.well-known/jwks.json`;
const CONSOLE_PORT = Number(process.env.CONSOLE_PORT ?? 3003);
// The console's page calls the APIs from its own origin: the APIs open CORS to that origin, and no other.
const CORS_ORIGINS = process.env.CORS_ORIGINS ?? `http://localhost:${CONSOLE_PORT},http://127.0.0.1:${CONSOLE_PORT}`;
// Verifiers accept what the issuer signs with, unless told otherwise.
const AUTH_ALGORITHMS = process.env.AUTH_ALGORITHMS || process.env.SIGNING_ALGORITHM || 'ES256';
const services = [
  {
    name: 'auth',
    app: 'auth-service',
    port: AUTH_PORT,
    tag: cyan('[auth]  '),
    // A laptop's Redis keeps nothing on disk: after it restarts, the demo must not wait 16 minutes for the
    // revocation list to be re-established (docs/security.md). Never do this in production.
    env: { AUTH_ISSUER, CORS_ORIGINS, REVOCATION_LOSS_WAIT_SECONDS: process.env.REVOCATION_LOSS_WAIT_SECONDS ?? '0' },
  },
  {
    name: 'users',
    app: 'users-service',
    port: Number(process.env.USERS_PORT ?? 3001),
    tag: magenta('[users] '),
    env: { AUTH_ISSUER, AUTH_JWKS_URI, AUTH_ALGORITHMS, CORS_ORIGINS },
  },
  {
    name: 'orders',
    app: 'orders-service',
    port: Number(process.env.ORDERS_PORT ?? 3002),
    tag: yellow('[orders]'),
    env: {
      AUTH_ISSUER,
      AUTH_JWKS_URI,
      AUTH_ALGORITHMS,
      CORS_ORIGINS,
      // Placing an order reads the customer's name from users, on their behalf (RFC 8693 token exchange).
      USERS_SERVICE_URL: process.env.USERS_SERVICE_URL ?? `http://127.0.0.1:${Number(process.env.USERS_PORT ?? 3001)}`,
    },
  },
];

// ---- 1. build ---------------------------------------------------------------
if (!args.has('--no-build')) {
  console.log(bold('Building auth-service, users-service, orders-service, console…'));
  const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', ...services.map((s) => s.app), 'console'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
    env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' },
  });
  if (build.status !== 0) {
    fail(
      `build failed (${build.error?.message ?? `exit code ${build.status ?? build.signal}`}); fix the errors above and run \`npm start\` again`,
    );
    process.exit(1);
  }
}
for (const s of services) s.main = path.join(root, 'dist', 'apps', s.app, 'main.js');
const consoleApp = {
  name: 'console',
  app: 'console',
  port: CONSOLE_PORT,
  tag: green('[console]'),
  main: path.join(root, 'dist', 'apps', 'console', 'server', 'main.mjs'),
};
for (const s of [...services, consoleApp]) {
  if (!existsSync(s.main)) {
    fail(`${path.relative(root, s.main)} does not exist; run \`npm start\` without --no-build`);
    process.exit(1);
  }
}

// ---- process bookkeeping and shutdown --------------------------------------
const children = []; // { name, proc }
let stopping = false;
const alive = (p) => p.exitCode === null && p.signalCode === null;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const running = children.filter((c) => alive(c.proc));
  if (running.length) console.log(grey(`stopping ${running.map((c) => c.name).join(', ')}…`));
  for (const c of running) c.proc.kill('SIGTERM');
  const exited = Promise.all(running.map((c) => new Promise((r) => (alive(c.proc) ? c.proc.once('exit', r) : r()))));
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut)
    for (const c of running)
      if (alive(c.proc)) {
        console.log(grey(`${c.name} did not stop in 10 s, killing it`));
        c.proc.kill('SIGKILL');
      }
  process.exit(code);
}
// SIGHUP too: closing the terminal must not leave the services (in their own process groups) holding the ports.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (stopping) {
      for (const c of children) if (alive(c.proc)) c.proc.kill('SIGKILL');
      process.exit(0);
    } // second Ctrl-C
    shutdown(0);
  });
}
// Safety net if this script dies some other way: never leave orphans behind.
process.on('exit', () => {
  for (const c of children) if (alive(c.proc)) c.proc.kill('SIGKILL');
});

function startChild(name, tag, command, argv, env) {
  // detached: own process group, so Ctrl-C reaches only us and we stop the children in order.
  const proc = spawn(command, argv, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  readline.createInterface({ input: proc.stdout }).on('line', (l) => process.stdout.write(`${tag} ${l}\n`));
  readline.createInterface({ input: proc.stderr }).on('line', (l) => process.stderr.write(`${tag} ${l}\n`));
  proc.on('error', (e) => {
    if (!stopping) {
      fail(`could not start ${name}: ${e.message}`);
      shutdown(1);
    }
  });
  proc.on('exit', (code, signal) => {
    if (stopping) return;
    fail(`${name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); stopping the others`);
    shutdown(1);
  });
  children.push({ name, proc });
  return proc;
}

// ---- 2. Redis -------------------------------------------------------------------
function redisAnswers(host, port) {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host, port });
    let reply = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    // -NOAUTH: a password-protected Redis is running; the services authenticate via REDIS_URL.
    sock.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    sock.on('error', () => done(false));
  });
}
const onPath = (cmd) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

const redisUrl = new URL(REDIS_URL);
const redisHost = redisUrl.hostname.replace(/^\[|\]$/g, '');
const redisPort = Number(redisUrl.port || 6379);
if (!(await redisAnswers(redisHost, redisPort))) {
  const local = ['localhost', '127.0.0.1', '::1'].includes(redisHost);
  if (!local || !onPath('redis-server')) {
    fail(
      `Redis is not running at ${REDIS_URL}; ` +
        (local
          ? 'install it with `apt-get install redis-server` or `brew install redis`, or set REDIS_URL'
          : 'start it or point REDIS_URL at a running Redis'),
    );
    process.exit(1);
  }
  console.log(
    grey(
      `Redis is not running at ${REDIS_URL}; starting a temporary redis-server on port ${redisPort} (no persistence)`,
    ),
  );
  startChild(
    'redis-server',
    grey('[redis] '),
    'redis-server',
    ['--port', String(redisPort), '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    process.env,
  );
  const deadline = Date.now() + 5000;
  while (!(await redisAnswers(redisHost, redisPort))) {
    if (stopping) await new Promise(() => {}); // redis-server died; shutdown() is exiting
    if (Date.now() > deadline) {
      fail(`redis-server did not answer on port ${redisPort} within 5 s`);
      await shutdown(1);
    }
    await sleep(100);
  }
}

// ---- 3. services -----------------------------------------------------------------
// A port already taken would make the readiness check below talk to someone else's server.
function portInUse(port) {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    sock.setTimeout(1000, () => (sock.destroy(), resolve(false)));
    sock.on('connect', () => (sock.destroy(), resolve(true)));
    sock.on('error', () => resolve(false));
  });
}
const envName = { auth: 'AUTH_PORT', users: 'USERS_PORT', orders: 'ORDERS_PORT', console: 'CONSOLE_PORT' };
for (const s of [...services, consoleApp]) {
  if (await portInUse(s.port)) {
    fail(
      `port ${s.port} (${s.app}) is already in use: stop what runs there, or choose another with ${envName[s.name]}=…`,
    );
    await shutdown(1);
  }
}
function startService(s) {
  startChild(`${s.app}`, s.tag, process.execPath, [s.main], {
    ...serviceEnv(s.app, process.env),
    PORT: String(s.port),
    REDIS_URL,
    ...s.env,
  });
}

// ---- 4. readiness ----------------------------------------------------------------
async function waitReady(s) {
  const url = `http://127.0.0.1:${s.port}/health/ready`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (stopping) return new Promise(() => {}); // another child failed; shutdown() is exiting
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(250);
  }
  fail(`${s.app} did not answer 200 at ${url} within 60 s; stopping everything`);
  await shutdown(1);
}
// The issuer first: users and orders fetch its JWKS at start, and would log that it is not there yet.
const [issuer, ...resourceServices] = services;
startService(issuer);
await waitReady(issuer);
for (const s of resourceServices) startService(s);
await Promise.all(resourceServices.map(waitReady));
const urls = Object.fromEntries(services.map((s) => [s.name, `http://localhost:${s.port}`]));
// The console: a page and its files, no secret and no token. It reaches the APIs from the browser.
startChild('console', consoleApp.tag, process.execPath, [consoleApp.main], {
  PATH: process.env.PATH,
  HOST: process.env.CONSOLE_HOST ?? '127.0.0.1',
  PORT: String(CONSOLE_PORT),
  CONSOLE_ISSUER: AUTH_ISSUER,
  CONSOLE_AUTH_URL: urls.auth,
  CONSOLE_USERS_URL: urls.users,
  CONSOLE_ORDERS_URL: urls.orders,
  // The charts: the console's server reads each verifier's /metrics (served on its own port).
  CONSOLE_METRICS_TARGETS: `users=${urls.users},orders=${urls.orders}`,
});
await waitReady(consoleApp);
if (stopping) await new Promise(() => {});

// The console's registered redirects: localhost on 3003 only, the loopback IP on any port (RFC 8252 §7.3).
const consoleUrl = CONSOLE_PORT === 3003 ? 'http://localhost:3003' : `http://127.0.0.1:${CONSOLE_PORT}`;
console.log(`
${green('✔ all services are ready')}
  ${bold(`Open ${consoleUrl}`)}: the console, to follow a token from the login to its revocation
  auth    ${urls.auth}   (public keys: ${urls.auth}/.well-known/jwks.json)
  users   ${urls.users}
  orders  ${urls.orders}
  redis   ${REDIS_URL}
${runDemo ? '' : `\nrun ${bold('`npm run demo`')} in another terminal; Ctrl-C here stops everything\n`}`);

// ---- 5. demo ---------------------------------------------------------------------
if (runDemo) {
  const demo = spawn(process.execPath, [path.join(root, 'scripts', 'demo.mjs')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, AUTH_URL: urls.auth, USERS_URL: urls.users, ORDERS_URL: urls.orders },
  });
  children.push({ name: 'demo', proc: demo }); // stopped with the rest if we shut down mid-demo
  demo.on('exit', (code) => {
    if (stopping) return;
    console.log(code === 0 ? green('\n✔ demo passed') : red(`\n✘ demo failed (exit code ${code})`));
    console.log(grey('services keep running; Ctrl-C stops everything'));
  });
}
