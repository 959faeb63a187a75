import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parse } from 'yaml';
import { ROOT } from '@jwt-ms/testing';

/**
 * The container files, checked offline: the Dockerfile parsed by
 * dockerfile-ast and held to the rules a reviewer would apply, the compose
 * file's structure, the gateway config by HAProxy itself, and every shell
 * script by shellcheck.
 */
/**
 * Each image's Dockerfile, and what its runtime stage must hold: the services' bundle, or the
 * console's server bundle and built page. Both are held to the same rules.
 */
const IMAGES = [
  {
    file: 'docker/Dockerfile',
    cmd: ['node', 'main.js'],
    copies: [
      'COPY --from=dependencies /app/node_modules ./node_modules',
      'COPY --from=build /workspace/dist/apps/${SERVICE}/main.js ./main.js',
    ],
  },
  {
    file: 'docker/console.Dockerfile',
    cmd: ['node', 'server/main.mjs'],
    copies: [
      'COPY --from=dependencies /app/node_modules ./node_modules',
      'COPY --from=build /workspace/dist/apps/console/server/main.mjs ./server/main.mjs',
      'COPY --from=build /workspace/dist/apps/console/web ./web',
    ],
  },
];

describe.each(IMAGES)('$file', ({ file, cmd, copies }) => {
  const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, file), 'utf8'));
  const instructions = dockerfile.getInstructions();
  const stages = dockerfile.getFROMs();
  const runtimeStart = stages[stages.length - 1].getRange().start.line;
  const runtime = instructions.filter((i) => i.getRange().start.line >= runtimeStart);
  const keyword = (list: Instruction[], name: string) => list.filter((i) => i.getKeyword() === name);

  it('builds in stages from one pinned base given as a build argument', () => {
    expect(stages.map((from) => from.getBuildStage())).toEqual(['build', 'dependencies', 'runtime']);
    for (const from of stages) expect(from.getImage()).toBe('${NODE_IMAGE}');
    const baseArg = instructions[0]; // the ARG before the first FROM
    expect(baseArg.getKeyword()).toBe('ARG');
    const [name, image] = (baseArg.getArgumentsContent() ?? '').split('=');
    expect(name).toBe('NODE_IMAGE');
    // A version-pinned slim Node 20 image: never `latest`, never a floating major.
    expect(image).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('runs as a non-root user, in exec form, with a HEALTHCHECK on the live probe', () => {
    const users = keyword(runtime, 'USER').map((i) => i.getArgumentsContent() ?? '');
    expect(users).toHaveLength(1);
    // A numeric uid (and gid), not 0 however it is spelt (`00` is root too): runAsNonRoot needs a number.
    const [uid, gid] = users[0].split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
    // The uid the Kubernetes pods run as (runAsUser in k8s/base).
    expect(users[0]).toBe('10001:10001');
    const [command] = keyword(runtime, 'CMD');
    expect(JSON.parse(command.getArgumentsContent() ?? '')).toEqual(cmd);
    const [healthcheck] = keyword(runtime, 'HEALTHCHECK');
    expect(healthcheck.getArgumentsContent()).toContain('/health/live');
  });

  it('installs only production dependencies into the runtime image, and fetches nothing by URL', () => {
    expect(keyword(instructions, 'ADD')).toEqual([]);
    expect(instructions.map((i) => i.getArgumentsContent() ?? '').join('\n')).not.toMatch(
      /curl|wget|https?:\/\/(?!127\.0\.0\.1|example\.invalid)/,
    );
    expect(keyword(runtime, 'RUN')).toEqual([]); // the runtime stage only copies
    // …and only the bundle and the production dependencies: no sources, no build context.
    expect(keyword(runtime, 'COPY').map((i) => i.getTextContent())).toEqual(copies);
    const install = keyword(instructions, 'RUN').map((i) => i.getArgumentsContent() ?? '');
    // From a lockfile, production packages only, and the npm cache removed from the layer.
    expect(install.filter((command) => /npm (ci|install)/.test(command))).toEqual([
      expect.stringMatching(/^npm ci --ignore-scripts /),
      expect.stringMatching(/^npm ci --omit=dev .*&& npm cache clean --force$/),
    ]);
    // No secret in the image: keys and passwords come from the environment at run time.
    expect(
      keyword(instructions, 'ENV')
        .map((i) => i.getArgumentsContent())
        .join(' '),
    ).not.toMatch(/SIGNING_JWKS|PASSWORD|SECRET|ISSUER/);
  });

  it("shares the services' first stage up to the workspace's npm ci, so that its cached layer serves both", () => {
    const upToInstall = (path: string) => {
      const list = DockerfileParser.parse(readFileSync(join(ROOT, path), 'utf8')).getInstructions();
      const install = list.findIndex((i) => i.getKeyword() === 'RUN');
      return list.slice(0, install + 1).map((i) => i.getTextContent());
    };
    expect(upToInstall(file)).toEqual(upToInstall('docker/Dockerfile'));
  });
});

describe('the build context', () => {
  it('keeps data, keys and node_modules out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    // A pattern without **/ matches only at the root of the context: private files are excluded at any depth.
    const anyDepth = ['node_modules', 'data', 'signing-jwks*.json', 'keys.json', '*.pem', '*.key', '.env', '.env.*'];
    for (const entry of [...anyDepth.map((pattern) => `**/${pattern}`), '.git', 'dist'])
      expect(ignored).toContain(entry);
    // No exception re-admits anything (`!pattern` after an exclusion).
    expect(ignored.filter((line) => line.trim().startsWith('!'))).toEqual([]);
  });
});

describe('compose.yaml', () => {
  const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    services: Record<string, any>;
  };
  const services = compose.services;

  it('starts Redis, PostgreSQL, two replicas of each service and of the console, and a gateway, in health order', () => {
    expect(Object.keys(services).sort()).toEqual([
      'auth',
      'console',
      'gateway',
      'orders',
      'postgres',
      'redis',
      'users',
    ]);
    for (const name of ['auth', 'users', 'orders']) {
      expect(services[name].deploy.replicas).toBe(2);
      expect(services[name].build.args.SERVICE).toBe(`${name}-service`);
      expect(services[name].image).toBe(`jwt-ms/${name}-service:local`);
      expect(services[name].depends_on.redis.condition).toBe('service_healthy');
      expect(services[name].depends_on.postgres.condition).toBe('service_healthy');
      expect(services[name].ports).toBeUndefined(); // reached only through the gateway
    }
    for (const name of ['users', 'orders']) expect(services[name].depends_on.auth.condition).toBe('service_healthy');
    for (const name of ['auth', 'users', 'orders', 'console']) {
      expect({ name, read_only: services[name].read_only, cap_drop: services[name].cap_drop }).toEqual({
        name,
        read_only: true,
        cap_drop: ['ALL'],
      });
      expect(services[name].security_opt).toContain('no-new-privileges:true');
    }
    // Only the gateway publishes a port, and only on loopback.
    for (const [name, service] of Object.entries(services))
      if (name !== 'gateway') expect({ name, ports: service.ports }).toEqual({ name, ports: undefined });
    expect(services['redis'].healthcheck).toBeDefined();
    expect(services['redis'].healthcheck.test).toEqual(['CMD-SHELL', 'redis-cli ping | grep -qx PONG']);
    // Healthy over TCP, as the services connect: the first start's init runs on the socket only.
    expect(services['postgres'].healthcheck.test).toEqual(expect.arrayContaining(['pg_isready', '-h', '127.0.0.1']));
    expect(services['gateway'].ports).toEqual(['127.0.0.1:${GATEWAY_PORT:-8080}:8080']);
    for (const name of ['auth', 'users', 'orders', 'console'])
      expect({ name, gatewayWaits: services['gateway'].depends_on[name]?.condition }).toEqual({
        name,
        gatewayWaits: 'service_healthy',
      });
  });

  it("serves the console from its own image, naming the services' issuer, with the APIs on the gateway's origin", () => {
    const console = services['console'];
    expect(console.image).toBe('jwt-ms/console:local');
    expect(console.build.dockerfile).toBe('docker/console.Dockerfile');
    expect(console.deploy.replicas).toBe(2);
    expect(console.environment.CONSOLE_ISSUER).toBe(services['auth'].environment.AUTH_ISSUER);
    expect(console.environment.CONSOLE_ISSUER).toBe('http://localhost:${GATEWAY_PORT:-8080}');
    // Unset: the page calls the APIs on its own origin, the gateway's (no CORS to open).
    for (const name of ['CONSOLE_AUTH_URL', 'CONSOLE_USERS_URL', 'CONSOLE_ORDERS_URL'])
      expect(console.environment[name]).toBeUndefined();
    // The console client may come back to the gateway's /callback (docker/oauth-clients.json).
    const registry = JSON.parse(readFileSync(join(ROOT, 'docker/oauth-clients.json'), 'utf8')) as Array<{
      client_id: string;
      redirect_uris?: string[];
    }>;
    const client = registry.find((entry) => entry.client_id === (console.environment.CONSOLE_CLIENT_ID ?? 'console'));
    expect(client?.redirect_uris).toContain('http://localhost:8080/callback');
  });

  it("believes X-Forwarded-For from the gateway's fixed address only", () => {
    const gateway = services['gateway'].networks.default.ipv4_address;
    const network = (compose as unknown as { networks: { default: { ipam: { config: Array<{ subnet: string }> } } } })
      .networks.default.ipam.config[0].subnet;
    expect(gateway.startsWith(network.replace(/0\/24$/, ''))).toBe(true);
    for (const name of ['auth', 'users', 'orders'])
      expect({ name, trusted: services[name].environment.TRUSTED_PROXIES }).toEqual({ name, trusted: gateway });
  });

  it("is valid for Compose's own schema, as the file itself and with the stand-ins test:images lays over it", () => {
    // Debian's docker-compose 1.29 (what test:images runs here) rejects a top-level `name:`.
    expect(Object.keys(compose)).not.toContain('name');
    const cli = composeCli();
    const config = (...files: string[]) =>
      spawnSync(cli[0], [...cli.slice(1), ...files.flatMap((file) => ['-f', file]), 'config', '--quiet'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, STANDINS_SIGNING_JWKS_FILE: '/dev/null' },
      });
    for (const files of [['compose.yaml'], ['compose.yaml', 'docker/standins/compose.standins.yaml']]) {
      const result = config(...files);
      expect({ files, status: result.status, stderr: result.stderr.trim() }).toEqual({ files, status: 0, stderr: '' });
    }
    // The check can fail: a misspelt key is refused where the right one passes.
    const check = (input: string) =>
      spawnSync(cli[0], [...cli.slice(1), '-f', '-', 'config', '--quiet'], { cwd: ROOT, encoding: 'utf8', input })
        .status;
    expect(check('services: { a: { image: x, deploy: { replicas: 2 } } }\n')).toBe(0);
    expect(check('services: { a: { image: x, deploy: { replicaz: 2 } } }\n')).not.toBe(0);
  });

  it('balances round-robin with no stickiness, in a config HAProxy accepts', () => {
    const config = readFileSync(join(ROOT, 'docker/haproxy.cfg'), 'utf8');
    expect(config.match(/balance roundrobin/g)).toHaveLength(4);
    expect(config).not.toMatch(/^\s*(cookie|stick|balance source|hash-type)/m);
    const check = spawnSync('haproxy', ['-c', '-f', join(ROOT, 'docker/haproxy.cfg')], { encoding: 'utf8' });
    expect({ status: check.status, output: check.stderr.includes('ALERT') ? check.stderr : '' }).toEqual({
      status: 0,
      output: '',
    });
  });
});

describe('docker/haproxy.cfg', () => {
  const config = readFileSync(join(ROOT, 'docker/haproxy.cfg'), 'utf8');

  it('routes the API prefixes to the services and every other path to the console, readiness-checked', () => {
    const backends = [...config.matchAll(/^backend (\S+)\n((?:[ \t]+.*\n?)*)/gm)].map(([, name, body]) => ({
      name,
      check: /option httpchk GET \/health\/ready/.test(body),
      servers: /server-template (\S+) \d+ (\S+)/.exec(body)?.slice(1),
    }));
    expect(backends).toEqual([
      { name: 'auth', check: true, servers: ['auth', 'auth:3000'] },
      { name: 'users', check: true, servers: ['users', 'users:3000'] },
      { name: 'orders', check: true, servers: ['orders', 'orders:3000'] },
      { name: 'console', check: true, servers: ['console', 'console:3000'] },
    ]);
    expect(config).toMatch(/^\s*default_backend console$/m);
    for (const name of ['auth', 'users', 'orders'])
      expect(config).toMatch(new RegExp(`^\\s*use_backend ${name} if to_${name}$`, 'm'));
    // The console answers a path nobody serves (its own 404 problem): the gateway returns none itself.
    expect(config).not.toMatch(/http-request return status 404/);
  });
});

/** `docker compose` (v2) where it is installed, else Debian's `docker-compose` (1.29). */
function composeCli(): string[] {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version']).status === 0) return ['docker-compose'];
  throw new Error('no compose: apt-get install docker-compose (.ci/run does)');
}

describe('shell scripts', () => {
  it('pass shellcheck', () => {
    const scripts = execFileSync('git', ['ls-files', '*.sh', '.ci/run'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(scripts.length).toBeGreaterThan(0);
    const result = spawnSync('shellcheck', ['--severity=style', '--external-sources', ...scripts], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (result.error) throw new Error('shellcheck is not installed: apt-get install shellcheck (.ci/run does)');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
