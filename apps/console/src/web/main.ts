/**
 * The console page: one journey in five sections (login, the token, calls,
 * revocation, key rotation). Vanilla TypeScript on the DOM, no framework:
 * the page is one screen of forms and tables, and a reader should see the
 * OAuth and JWT work, not a framework's. Protocol work is oauth4webapi's;
 * decoding for display is jose's.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { AuthorizationServer } from 'oauth4webapi';
import type { BrowserConfig } from '../shared/browser-config';
import { callApi, type ApiAnswer } from './api';
import { CLAIMS, HEADER_MEMBERS, explain, secondsLeft, type MemberExplanation } from './claims';
import { byId, fill, h, show } from './dom';
import { beginLogin, completeLogin, discover, type LoginStep } from './login';
import { sweepReplicas, watchRevocation, type ReplicaRow, type ServiceProbes } from './revocation';

/** The only place the access token lives: this module's memory. */
let accessToken: string | null = null;
let config: BrowserConfig;
let metadata: AuthorizationServer;
let countdown: number | undefined;

/** Only the previous token's `kid` crosses a navigation (to show the change after a rotation): never a token. */
const PREVIOUS_KID_KEY = 'console.previous-kid';
const SAMPLE_ORDER = { items: [{ sku: 'BOOK-42', quantity: 1, unitPriceCents: 1250 }] };

const url = (base: string, path: string) => `${base}${path}`;

async function start(): Promise<void> {
  // The code leaves the address bar and the history before anything else runs, even if what follows fails.
  const callback = location.pathname === '/callback' ? new URL(location.href) : undefined;
  if (callback) history.replaceState(null, '', '/');
  const response = await fetch('/console-config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/console-config.json answered ${response.status}`);
  config = (await response.json()) as BrowserConfig;
  byId('config-summary').textContent =
    `Issuer ${config.issuer} · client ${config.clientId} · users ${config.usersUrl || location.origin} · orders ${config.ordersUrl || location.origin}`;
  metadata = await discover(config);
  wireButtons();
  if (callback) {
    try {
      const result = await completeLogin(config, metadata, callback, sessionStorage);
      accessToken = result.accessToken;
      showSteps(result.steps);
      showToken(result.accessToken);
    } catch (error) {
      showError('login-error', `The login did not complete: ${(error as Error).message}`);
    }
  }
}

function wireButtons(): void {
  const login = async () => {
    try {
      const target = await beginLogin(config, metadata, location.origin, sessionStorage);
      // replace, not assign: Back from the console must not land on the authorize URL, where the issuer's
      // session would mint a fresh code at once and reload the page without its token.
      location.replace(target.toString());
    } catch (error) {
      showError('login-error', (error as Error).message);
    }
  };
  byId('login-button').addEventListener('click', () => void login());
  byId('register-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void register(event.currentTarget as HTMLFormElement);
  });
  byId('relogin-button').addEventListener('click', () => {
    if (accessToken) sessionStorage.setItem(PREVIOUS_KID_KEY, decodeProtectedHeader(accessToken).kid ?? '');
    void login();
  });
  byId('call-users-me').addEventListener('click', () => void logCall('GET', url(config.usersUrl, '/users/me')));
  byId('call-orders-list').addEventListener('click', () => void logCall('GET', url(config.ordersUrl, '/orders')));
  byId('call-orders-place').addEventListener('click', () => void placeOrder());
  byId('logout-button').addEventListener('click', () => void revoke('/auth/logout'));
  byId('logout-all-button').addEventListener('click', () => void revoke('/auth/logout-all'));
  byId('rotate-button').addEventListener('click', () => void rotateKeys());
  byId('jwks-button').addEventListener('click', () => void showJwks());
  byId('charts-button').addEventListener('click', () => void showCharts());
}

// ---- 1. login ---------------------------------------------------------------

function showSteps(steps: LoginStep[]): void {
  fill(
    byId('login-steps'),
    ...steps.map((step) =>
      h(
        'li',
        {},
        h('strong', {}, step.title),
        h('dl', {}, ...Object.entries(step.detail).flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, value)])),
      ),
    ),
  );
}

/** Creates an account (`POST /auth/register`); the password goes in the body only, and the form is cleared. */
async function register(form: HTMLFormElement): Promise<void> {
  const email = (form.elements.namedItem('email') as HTMLInputElement).value;
  const password = form.elements.namedItem('password') as HTMLInputElement;
  const result = byId('register-result');
  try {
    const answer = await callApi('POST', url(config.authUrl, '/auth/register'), undefined, {
      email,
      password: password.value,
    });
    const problem = answer.body as { detail?: string } | null;
    result.textContent =
      answer.status === 201
        ? `Account ${email} created: now log in through the issuer.`
        : `${answer.status}: ${problem?.detail ?? 'refused'}`;
    result.setAttribute('data-status', String(answer.status));
  } catch (error) {
    result.textContent = (error as Error).message;
  } finally {
    password.value = '';
  }
}

function showError(id: string, message: string): void {
  const element = byId(id);
  element.textContent = message;
  show(element);
}

// ---- 2. the token -------------------------------------------------------------

/** The explanations' `backticked` names as <code>, the rest as text. */
function withCode(text: string): Array<Node | string> {
  return text.split('`').map((part, index) => (index % 2 === 1 ? h('code', {}, part) : part));
}

/**
 * A decoded header or claims set as a table: member, value, and (unless `compact`, for the side-by-side
 * comparison of the exchange) what it is, where it is defined and what the verifier checks.
 */
function memberTable(
  members: Record<string, unknown>,
  table: Readonly<Record<string, MemberExplanation>>,
  highlight: string[] = [],
  compact = false,
): Node[] {
  const columns = compact
    ? ['Member', 'Value']
    : ['Member', 'Value', 'What it is', 'Defined in', 'What the verifier checks'];
  const head = h('thead', {}, h('tr', {}, ...columns.map((column) => h('th', { scope: 'col' }, column))));
  const body = h(
    'tbody',
    {},
    ...explain(members, table).map((row) =>
      h(
        'tr',
        { class: highlight.includes(row.name) ? 'highlight' : undefined, 'data-member': row.name },
        h('th', { scope: 'row' }, h('code', {}, row.name)),
        h('td', {}, h('code', {}, row.value)),
        ...(compact
          ? []
          : [
              h('td', {}, ...withCode(row.explanation.meaning)),
              h('td', {}, row.explanation.rfc),
              h('td', {}, ...withCode(row.explanation.check)),
            ]),
      ),
    ),
  );
  return [head, body];
}

function showToken(token: string): void {
  const header = decodeProtectedHeader(token) as ProtectedHeaderParameters;
  const claims = decodeJwt(token);
  fill(byId('token-header'), ...memberTable(header as Record<string, unknown>, HEADER_MEMBERS));
  fill(byId('token-claims'), ...memberTable(claims as Record<string, unknown>, CLAIMS));
  const previousKid = sessionStorage.getItem(PREVIOUS_KID_KEY);
  sessionStorage.removeItem(PREVIOUS_KID_KEY);
  if (previousKid) {
    const note = h(
      'li',
      {},
      `Previous token’s kid: ${previousKid}; this token’s kid: ${header.kid ?? '?'}`,
      header.kid === previousKid
        ? ' (the new key does not sign yet: its lead time has not passed)'
        : ' (signed by the new key)',
    );
    note.setAttribute('data-kid-change', header.kid === previousKid ? 'same' : 'changed');
    byId('admin-log').append(note);
  }
  window.clearInterval(countdown);
  const tick = () => (byId('token-countdown').textContent = String(secondsLeft(claims.exp ?? 0, Date.now())));
  tick();
  countdown = window.setInterval(tick, 1000);
  for (const id of ['token', 'calls', 'revocation', 'charts']) show(byId(id));
  void showCharts();
  show(byId('relogin-button'));
  const roles = Array.isArray(claims['roles']) ? (claims['roles'] as unknown[]) : [];
  show(byId('admin'), roles.includes('admin'));
}

// ---- 3. calls -------------------------------------------------------------------

function answerItem(answer: ApiAnswer): HTMLLIElement {
  return h(
    'li',
    { 'data-status': String(answer.status), 'data-instance': answer.instance },
    h('strong', {}, `${answer.method} ${new URL(answer.url, location.origin).pathname}`),
    ` → ${answer.status} from replica `,
    h('code', {}, answer.instance),
    ` in ${answer.ms} ms`,
    h('pre', {}, JSON.stringify(answer.body, null, 2) ?? ''),
  );
}

async function logCall(method: string, target: string, body?: unknown): Promise<ApiAnswer | undefined> {
  try {
    const answer = await callApi(method, target, accessToken ?? undefined, body);
    byId('call-log').prepend(answerItem(answer));
    return answer;
  } catch (error) {
    byId('call-log').prepend(h('li', { class: 'error' }, `${method} ${target}: ${(error as Error).message}`));
    return undefined;
  }
}

async function placeOrder(): Promise<void> {
  const answer = await logCall('POST', url(config.ordersUrl, '/orders?explain=exchange'), SAMPLE_ORDER);
  const exchange = (answer?.body as { exchange?: { header: Record<string, unknown>; claims: JWTPayload } } | null)
    ?.exchange;
  if (!answer || answer.status !== 201 || !exchange || !accessToken) return;
  const differ = ['act', 'aud', 'scope', 'client_id', 'roles'];
  fill(
    byId('exchange-original'),
    ...memberTable(decodeJwt(accessToken) as Record<string, unknown>, CLAIMS, differ, true),
  );
  fill(byId('exchange-delegated'), ...memberTable(exchange.claims as Record<string, unknown>, CLAIMS, differ, true));
  show(byId('exchange'));
}

// ---- 4. revocation ----------------------------------------------------------------

function replicaTable(rows: ReplicaRow[]): Node[] {
  return [
    h('caption', {}, 'Each replica after the logout'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Service'),
        h('th', { scope: 'col' }, 'Replica'),
        h('th', { scope: 'col' }, 'Refuses the token'),
        h('th', { scope: 'col' }, 'Revoked by'),
        h('th', { scope: 'col' }, 'Delay measured by the replica'),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map((row) =>
        h(
          'tr',
          {
            'data-service': row.service,
            'data-instance': row.instance,
            'data-refused': row.refusal ? 'yes' : 'no',
            'data-delay-ms':
              row.status?.delayMs === undefined || row.status.delayMs === null ? undefined : String(row.status.delayMs),
          },
          h('td', {}, row.service),
          h('th', { scope: 'row' }, h('code', {}, row.instance)),
          h(
            'td',
            {},
            row.refusal ? `yes: ${row.refusal.status}, seen ${row.refusal.afterMs} ms after the logout` : 'not yet',
          ),
          h('td', {}, row.status?.revoked ? (row.status.by ?? '?') : '–'),
          h(
            'td',
            {},
            row.status?.revoked
              ? row.status.delayMs === null || row.status.delayMs === undefined
                ? 'read at start-up'
                : `${row.status.delayMs} ms`
              : '–',
          ),
        ),
      ),
    ),
  ];
}

async function revoke(path: '/auth/logout' | '/auth/logout-all'): Promise<void> {
  const token = accessToken;
  if (!token) return;
  const note = byId('revocation-note');
  const probesOf = (service: string, base: string, protectedPath: string): ServiceProbes => ({
    service,
    status: () => callApi('GET', url(base, `/${service}/revocation-status`), token),
    protectedCall: () => callApi('GET', url(base, protectedPath), token),
  });
  const services = [probesOf('users', config.usersUrl, '/users/me'), probesOf('orders', config.ordersUrl, '/orders')];
  note.textContent = 'Finding every replica…';
  const known: Record<string, string[]> = {};
  for (const probes of services) known[probes.service] = await sweepReplicas(() => probes.status());
  note.textContent = `Replicas found: ${services.map((s) => `${s.service} ${known[s.service].join(', ')}`).join('; ')}. Logging out…`;
  const answer = await callApi('POST', url(config.authUrl, path), token);
  if (answer.status !== 204) {
    note.textContent = `${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`;
    return;
  }
  const startedAt = performance.now();
  const table = byId('replica-table');
  const rows = await watchRevocation(services, known, startedAt, (current) => fill(table, ...replicaTable(current)));
  fill(table, ...replicaTable(rows));
  const missing = rows.filter((row) => !row.refusal || !row.status?.revoked);
  const delays = rows.map((row) => row.status?.delayMs).filter((delay): delay is number => typeof delay === 'number');
  note.textContent = missing.length
    ? `Not every replica refused the token in time: ${missing.map((row) => `${row.service}/${row.instance}`).join(', ')}.`
    : `Every replica refuses the token. Largest delay measured by a replica: ${delays.length ? Math.max(...delays) : '?'} ms.`;
  note.setAttribute('data-done', missing.length ? 'incomplete' : 'complete');
  void showCharts();
  accessToken = null;
  window.clearInterval(countdown);
}

// ---- 5. key rotation ----------------------------------------------------------------

async function rotateKeys(): Promise<void> {
  const log = byId('admin-log');
  const answer = await callApi('POST', url(config.authUrl, '/auth/admin/keys/rotate'), accessToken ?? undefined);
  log.append(answerItem(answer));
  if (answer.status !== 200) return;
  const { kid, signsFrom } = answer.body as { kid: string; signsFrom: string };
  const item = h(
    'li',
    { 'data-new-kid': kid, 'data-signs-from': signsFrom },
    `New key ${kid}: published now, signs from ${new Date(signsFrom).toLocaleTimeString()}. `,
  );
  log.append(item);
  // The token in hand, signed by the old key, must still be accepted by both services.
  for (const target of [url(config.usersUrl, '/users/me'), url(config.ordersUrl, '/orders')]) {
    const check = await callApi('GET', target, accessToken ?? undefined);
    log.append(
      h(
        'li',
        { 'data-old-token': String(check.status) },
        `Your current token at ${new URL(target, location.origin).pathname}: ${check.status} from ${check.instance}`,
      ),
    );
  }
}

async function showJwks(): Promise<void> {
  if (!metadata.jwks_uri) return;
  const answer = await callApi('GET', metadata.jwks_uri);
  const keys = ((answer.body as { keys?: Array<{ kid?: string; alg?: string; kty?: string }> } | null)?.keys ?? []).map(
    (key) => `${key.kid} (${key.kty} ${key.alg})`,
  );
  // Each auth replica reads the key set file again every SIGNING_KEYS_RELOAD_SECONDS: the one that did not
  // rotate publishes the new key a few seconds later. The replica that answered is named.
  byId('admin-log').append(
    h(
      'li',
      { 'data-jwks': String(keys.length), 'data-instance': answer.instance },
      `The JWKS (from ${answer.instance}) publishes ${keys.length} key(s): ${keys.join(', ')}`,
    ),
  );
}

// ---- 6. charts ---------------------------------------------------------------------

interface Figures {
  service: string;
  instance?: string;
  error?: string;
  verifications?: Array<{ result: string; reason: string; count: number }>;
  propagation?: { count: number; sumSeconds: number; buckets: Array<{ le: string; count: number }> };
}

/** A labelled bar: `<progress>` needs no style attribute (the CSP allows none) and is announced with its label. */
function bar(label: string, value: number, max: number, attributes: Record<string, string> = {}): HTMLElement {
  const id = `bar-${Math.random().toString(36).slice(2)}`;
  return h(
    'div',
    { class: 'bar', ...attributes },
    h('label', { for: id }, label),
    h('progress', { id, max: String(Math.max(max, 1)), value: String(value) }),
    h('span', {}, String(value)),
  );
}

async function showCharts(): Promise<void> {
  const body = byId('charts-body');
  let targets: Figures[];
  try {
    const response = await fetch('/verifier-metrics.json', { cache: 'no-store' });
    targets = ((await response.json()) as { targets: Figures[] }).targets;
  } catch (error) {
    fill(body, h('p', { class: 'error' }, `The metrics could not be read: ${(error as Error).message}`));
    return;
  }
  if (targets.length === 0) {
    fill(body, h('p', { class: 'muted' }, 'No metrics source is configured (CONSOLE_METRICS_TARGETS).'));
    return;
  }
  fill(
    body,
    ...targets.map((target) => {
      if (target.error || !target.verifications || !target.propagation)
        return h(
          'div',
          { class: 'chart' },
          h('h3', {}, target.service),
          h('p', { class: 'error' }, target.error ?? '?'),
        );
      const total = target.verifications.reduce((sum, row) => sum + row.count, 0);
      const decisions = target.verifications
        .filter((row) => row.count > 0)
        .sort((a, b) => b.count - a.count)
        .map((row) =>
          bar(`${row.result}${row.reason ? ` · ${row.reason}` : ''}`, row.count, total, {
            'data-result': row.result,
            'data-reason': row.reason,
          }),
        );
      // Prometheus buckets are cumulative: each bar shows the revocations that fell between two bounds.
      let below = 0;
      let lower = 0;
      const delays = target.propagation.buckets.map((bucket) => {
        const inBucket = bucket.count - below;
        below = bucket.count;
        const upper = Number(bucket.le) * 1000;
        const bound = bucket.le === '+Inf' ? `over ${lower} ms` : `${lower}–${upper} ms`;
        lower = upper;
        return bar(bound, inBucket, target.propagation?.count ?? 0, { 'data-le': bucket.le });
      });
      const mean = target.propagation.count ? (target.propagation.sumSeconds / target.propagation.count) * 1000 : 0;
      return h(
        'div',
        { class: 'chart', 'data-service': target.service },
        h('h3', {}, `${target.service} (replica ${target.instance ?? '?'})`),
        h('h4', {}, `Verifications: ${total}`),
        ...(decisions.length ? decisions : [h('p', { class: 'muted' }, 'None yet.')]),
        h('h4', {}, `Revocations applied: ${target.propagation.count}, mean delay ${mean.toFixed(1)} ms`),
        ...(target.propagation.count
          ? delays.filter((item) => item.querySelector('span')?.textContent !== '0')
          : [h('p', { class: 'muted' }, 'None yet.')]),
      );
    }),
  );
}

start().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  byId('config-summary').textContent = `The console could not start: ${message}`;
});
