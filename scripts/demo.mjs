#!/usr/bin/env node
/**
 * demo.mjs — walk through the system end to end against a running stack (`npm run demo`).
 *
 * Registers Alice and Bob, logs them in, looks inside an access token, uses it on
 * users-service and orders-service (which verify it locally with the issuer's JWKS),
 * shows that order ids don't leak between users, rotates a refresh token, detects its
 * reuse, shows the token exchange orders-service makes to call users-service on Alice's behalf
 * (RFC 8693), logs out and shows that the revoked access token, and the exchanged one, are rejected
 * everywhere.
 *
 * Environment: AUTH_URL, USERS_URL, ORDERS_URL; by default http://localhost on AUTH_PORT (3000),
 * USERS_PORT (3001) and ORDERS_PORT (3002), as `npm start` uses them. ORDERS_CLIENT_SECRET:
 * orders-service's client secret, to make the exchange it makes (default: the development one). Exits non-zero on the first
 * unexpected answer.
 * Plain Node 20, no dependencies. Tokens are never printed in full.
 */
const strip = (u) => u.replace(/\/+$/, '');
const local = (port, fallback) => `http://localhost:${process.env[port] || fallback}`;
const AUTH = strip(process.env.AUTH_URL ?? local('AUTH_PORT', 3000));
const USERS = strip(process.env.USERS_URL ?? local('USERS_PORT', 3001));
const ORDERS = strip(process.env.ORDERS_URL ?? local('ORDERS_PORT', 3002));
const ORDERS_CLIENT = {
  id: 'orders-service',
  secret: process.env.ORDERS_CLIENT_SECRET || 'orders-service-dev-secret-not-for-production',
};

const color = (code) => (s) => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const [green, red, grey, bold] = [32, 31, 90, 1].map(color);
const short = (token) => (typeof token === 'string' ? `${token.slice(0, 12)}…` : String(token));
const info = (line) => console.log(`     ${grey(line)}`);

/** Replace every token in a response body by its first characters before printing it. */
function redact(value) {
  if (typeof value === 'string') return value.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, (jwt) => short(jwt));
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /token$/i.test(k) ? short(v) : redact(v)]));
  }
  return value;
}

class Unexpected extends Error {
  constructor(message, res) {
    super(message);
    this.res = res;
  }
}

/** One HTTP call; throws Unexpected unless the status is `expect`. */
/**
 * A revocation reaches each service's in-memory copy of the list through its blocking read of the
 * revocation log in Redis, in about a
 * millisecond: a request sent right after the logout answer may overtake it. Ask again, for at most
 * a second, until the token is refused; `propagatedMs` says how long that took (usually 0).
 */
async function refused(method, url, token) {
  const started = Date.now();
  for (;;) {
    const res = await call(method, url, { token });
    if (res.status === 401 || Date.now() - started > 1000) {
      if (res.status !== 401) throw new Unexpected(`expected 401 within a second, got ${res.status}`, res);
      return { ...res, propagatedMs: Date.now() - started };
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function call(method, url, { body, token, expect } = {}) {
  const headers = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    throw new Unexpected(`${method} ${url} failed: ${e.cause?.message ?? e.message}`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const out = { method, url, status: res.status, headers: res.headers, body: json ?? text };
  if (expect !== undefined && res.status !== expect) throw new Unexpected(`expected ${expect}, got ${res.status}`, out);
  return out;
}

/** Fail with the response that proved the check wrong. */
function check(condition, message, res) {
  if (!condition) throw new Unexpected(message, res);
}

let stepNo = 0;
async function step(title, fn) {
  stepNo += 1;
  try {
    const lines = (await fn()) ?? [];
    console.log(`${green('✔')} ${bold(`${stepNo}.`)} ${title}`);
    for (const line of lines) info(line);
  } catch (e) {
    console.log(`${red('✘')} ${bold(`${stepNo}.`)} ${title}`);
    console.log(`     ${red(e.message)}`);
    if (e.res) {
      console.log(`     ${e.res.method} ${e.res.url} → ${e.res.status}`);
      const www = e.res.headers.get('www-authenticate');
      if (www) console.log(`     WWW-Authenticate: ${www}`);
      const body = typeof e.res.body === 'string' ? redact(e.res.body) : JSON.stringify(redact(e.res.body), null, 2);
      console.log(`     body: ${(body || '(empty)').replace(/\n/g, '\n     ')}`);
    }
    if (!(e instanceof Unexpected)) console.log(e.stack);
    console.log(red(`\ndemo failed at step ${stepNo}`));
    process.exit(1);
  }
}

const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

// ---- is the system running? -------------------------------------------------
// Each service's /health/ready; through one address that routes by path (an ingress, a gateway), where
// /health belongs to no service, a path each service owns: the JWKS (200), and a protected route (401).
const oneAddress = AUTH === USERS && USERS === ORDERS;
for (const [name, base, path, expected] of [
  ['auth-service', AUTH, oneAddress ? '/.well-known/jwks.json' : '/health/ready', 200],
  ['users-service', USERS, oneAddress ? '/users/me' : '/health/ready', oneAddress ? 401 : 200],
  ['orders-service', ORDERS, oneAddress ? '/orders' : '/health/ready', oneAddress ? 401 : 200],
]) {
  let status;
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(3000) });
    status = res.status;
    await res.body?.cancel();
  } catch {
    status = 'no answer';
  }
  if (status !== expected) {
    console.error(
      red(`✘ ${name} is not ready at ${base}${path} (${status}); start the system first with \`npm start\``),
    );
    process.exit(1);
  }
}

const stamp = Date.now();
const password = 'correct horse battery staple';
const alice = { email: `alice+${stamp}@example.com`, password };
const bob = { email: `bob+${stamp}@example.com`, password };
let order;

console.log(bold(`JWT microservices demo — auth ${AUTH}, users ${USERS}, orders ${ORDERS}\n`));

await step('register Alice and Bob on auth-service', async () => {
  const lines = [];
  for (const u of [alice, bob]) {
    const res = await call('POST', `${AUTH}/auth/register`, { body: { email: u.email, password }, expect: 201 });
    check(res.body?.id && res.body.email === u.email, 'the answer should be {id, email} of the new account', res);
    check(
      !('password' in res.body) && !('passwordHash' in res.body),
      'the answer must not contain the password or its hash',
      res,
    );
    u.id = res.body.id;
    lines.push(`201 ${u.email} → id ${u.id}`);
  }
  return lines;
});

await step(
  'log in Alice and Bob: each gets a short-lived access token (a signed JWT) and a refresh token',
  async () => {
    for (const u of [alice, bob]) {
      const res = await call('POST', `${AUTH}/auth/login`, { body: { email: u.email, password }, expect: 200 });
      check(
        typeof res.body?.access_token === 'string' && typeof res.body.refresh_token === 'string',
        'the answer should contain access_token and refresh_token',
        res,
      );
      check(res.body.token_type === 'Bearer', 'token_type should be "Bearer"', res);
      u.tokens = res.body;
    }
    const t = alice.tokens;
    const [h, p] = t.access_token.split('.');
    const header = decode(h);
    const claims = decode(p);
    return [
      `Alice: token_type ${t.token_type}, expires_in ${t.expires_in} s, scope "${t.scope}"`,
      `       access_token ${short(t.access_token)}  refresh_token ${short(t.refresh_token)}`,
      `inside Alice's access token (base64url-decoded, anyone can read it — the signature only stops changes):`,
      `  header  alg=${header.alg} kid=${header.kid} typ=${header.typ}`,
      `  claims  iss=${claims.iss} sub=${claims.sub} aud=${JSON.stringify(claims.aud)}`,
      `          exp=${claims.exp} (${new Date(claims.exp * 1000).toISOString()}) scope="${claims.scope}"`,
      `Bob:   access_token ${short(bob.tokens.access_token)}`,
    ];
  },
);

await step('Alice reads her profile on users-service, and names herself', async () => {
  const res = await call('GET', `${USERS}/users/me`, { token: alice.tokens.access_token, expect: 200 });
  const named = await call('PATCH', `${USERS}/users/me`, {
    token: alice.tokens.access_token,
    body: { displayName: 'Alice Liddell' },
    expect: 200,
  });
  check(named.body.displayName === 'Alice Liddell', 'the profile should now carry her display name', named);
  check(res.body?.id, 'the profile should have an id', res);
  if (res.body.email !== undefined)
    check(res.body.email === alice.email, `the profile should be Alice's (${alice.email})`, res);
  return [
    `200 id ${res.body.id}, email ${res.body.email}, displayName ${JSON.stringify(res.body.displayName)}`,
    'verified by users-service with the JWKS, no call to auth',
    `200 PATCH displayName ${JSON.stringify(named.body.displayName)}`,
  ];
});

await step('Alice places an order with 2 items on orders-service', async () => {
  const items = [
    { sku: 'BOOK-0001', quantity: 2, unitPriceCents: 1250 },
    { sku: 'MUG-0042', quantity: 1, unitPriceCents: 899 },
  ];
  const expected = items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
  const res = await call('POST', `${ORDERS}/orders`, {
    token: alice.tokens.access_token,
    body: { items },
    expect: 201,
  });
  check(res.body?.id, 'the order should have an id', res);
  check(res.body.status === 'placed', `status should be "placed", got ${JSON.stringify(res.body.status)}`, res);
  check(
    res.body.totalCents === expected,
    `totalCents should be ${expected} (2 × 1250 + 1 × 899), got ${res.body.totalCents}`,
    res,
  );
  check(
    res.body.customerName === 'Alice Liddell',
    `customerName should be Alice's display name, got ${JSON.stringify(res.body.customerName)}`,
    res,
  );
  order = res.body;
  return [
    `201 order ${order.id}, owner ${order.ownerId}, status ${order.status}, totalCents ${order.totalCents} = 2 × 1250 + 1 × 899`,
    `    customerName ${JSON.stringify(order.customerName)}: orders-service read it from users-service on Alice's behalf,`,
    `    with her token exchanged at the issuer for one meant for users-service alone (next steps show it)`,
  ];
});

await step('Alice lists her orders', async () => {
  const res = await call('GET', `${ORDERS}/orders`, { token: alice.tokens.access_token, expect: 200 });
  check(Array.isArray(res.body?.items), 'the answer should be {items: [...]}', res);
  check(
    res.body.items.some((o) => o.id === order.id),
    `the list should contain order ${order.id}`,
    res,
  );
  return [`200 ${res.body.items.length} order(s), including ${order.id}`];
});

await step("Bob tries to read Alice's order", async () => {
  const res = await call('GET', `${ORDERS}/orders/${order.id}`, { token: bob.tokens.access_token, expect: 404 });
  return [`404 ${res.body?.code ?? ''} — not 403: ids don't leak, Bob cannot even tell the order exists`];
});

await step('Alice refreshes twice, then the first refresh token is replayed (theft detection)', async () => {
  const old = alice.tokens.refresh_token;
  const res = await call('POST', `${AUTH}/auth/refresh`, { body: { refresh_token: old }, expect: 200 });
  check(
    typeof res.body?.access_token === 'string' && typeof res.body.refresh_token === 'string',
    'the answer should be a new token pair',
    res,
  );
  check(res.body.refresh_token !== old, 'the refresh token should be rotated (a new one each time)', res);
  // A second tab sending the same token within the grace window gets the same pair, and nothing is revoked.
  const tab = await call('POST', `${AUTH}/auth/refresh`, { body: { refresh_token: old }, expect: 200 });
  check(tab.body?.refresh_token === res.body.refresh_token, 'a second tab should get the same new pair', tab);
  const next = await call('POST', `${AUTH}/auth/refresh`, {
    body: { refresh_token: res.body.refresh_token },
    expect: 200,
  });
  const replay = await call('POST', `${AUTH}/auth/refresh`, { body: { refresh_token: old }, expect: 400 });
  check(
    (replay.body?.code ?? replay.body?.error) === 'invalid_grant',
    'the replay should be refused with code "invalid_grant"',
    replay,
  );
  // A replayed refresh token means a copy is in someone else's hands (RFC 9700 §4.14.2): the whole session ends.
  const after = await refused('GET', `${USERS}/users/me`, next.body.access_token);
  const again = await call('POST', `${AUTH}/auth/login`, {
    body: { email: alice.email, password: alice.password },
    expect: 200,
  });
  alice.tokens = again.body;
  return [
    `200 new pair: access_token ${short(res.body.access_token)} refresh_token ${short(res.body.refresh_token)}`,
    '200 the same pair for a second tab sending the same token within a few seconds (the grace window)',
    `200 the next rotation: refresh_token ${short(next.body.refresh_token)}`,
    `400 invalid_grant for the first refresh token ${short(old)}, now two rotations old`,
    `401 for the newest access token too (${after.headers.get('www-authenticate')?.match(/error_description="([^"]*)"/)?.[1] ?? 'revoked'}):`,
    '    a replayed refresh token is treated as theft, and the whole session is revoked',
    `200 Alice logs in again: a new session, access_token ${short(again.body.access_token)}`,
  ];
});

let exchanged;
await step("the exchange orders-service makes to call users-service on Alice's behalf (RFC 8693)", async () => {
  const res = await fetch(`${AUTH}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${ORDERS_CLIENT.id}:${ORDERS_CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: alice.tokens.access_token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'users-service',
      scope: 'profile:read',
    }),
  });
  const body = await res.json().catch(() => null);
  const answer = { method: 'POST', url: `${AUTH}/oauth/token`, status: res.status, headers: res.headers, body };
  check(res.status === 200, `expected 200 from the token endpoint, got ${res.status}`, answer);
  exchanged = body.access_token;
  const original = decode(alice.tokens.access_token.split('.')[1]);
  const delegated = decode(exchanged.split('.')[1]);
  check(delegated.act?.sub === ORDERS_CLIENT.id, 'the exchanged token should name orders-service in act', answer);
  check(delegated.aud === 'users-service', 'the exchanged token should be for users-service alone', answer);
  const users = await call('GET', `${USERS}/users/me`, { token: exchanged, expect: 200 });
  const row = (name, a, b) => `  ${name.padEnd(10)} ${String(a).padEnd(44)} ${b}`;
  const show = (value) => (value === undefined ? '—' : JSON.stringify(value));
  return [
    `200 issued_token_type ${body.issued_token_type}, expires_in ${body.expires_in} s`,
    row('claim', "Alice's token (to orders)", 'exchanged (orders → users)'),
    ...['sub', 'sid', 'aud', 'scope', 'act', 'client_id'].map((name) =>
      row(name, show(original[name]), show(delegated[name])),
    ),
    row('lifetime', `${original.exp - original.iat} s`, `${delegated.exp - delegated.iat} s (never past the original)`),
    `users-service accepts it for Alice: GET /users/me 200, displayName ${JSON.stringify(users.body.displayName)} (its principal's actor: orders-service)`,
    "same sub and sid: it dies with Alice's session (step after next)",
  ];
});

await step('Alice logs out with her newest access token', async () => {
  await call('POST', `${AUTH}/auth/logout`, { token: alice.tokens.access_token, expect: 204 });
  return [`204 access token ${short(alice.tokens.access_token)} is now on the revocation list in Redis`];
});

await step('the logged-out access token is rejected by users-service and orders-service', async () => {
  const lines = [];
  for (const [method, url] of [
    ['GET', `${USERS}/users/me`],
    ['GET', `${ORDERS}/orders`],
  ]) {
    const res = await refused(method, url, alice.tokens.access_token);
    const www = res.headers.get('www-authenticate') ?? '';
    check(
      /^Bearer\b/i.test(www) && www.includes('error="invalid_token"'),
      `WWW-Authenticate should be Bearer with error="invalid_token", got ${JSON.stringify(www)}`,
      res,
    );
    lines.push(`401 ${method} ${url}  WWW-Authenticate: ${www}`);
    if (res.propagatedMs > 0)
      lines.push(`    (refused ${res.propagatedMs} ms after the logout answer: one read of the revocation log)`);
  }
  const delegated = await refused('GET', `${USERS}/users/me`, exchanged);
  lines.push(`401 the exchanged token at users-service too: ${JSON.stringify(delegated.body?.detail ?? '')}`);
  lines.push('revoked on every service, although its signature and exp are still valid');
  return lines;
});

console.log(green(bold(`\ndemo passed: ${stepNo} steps`)));
