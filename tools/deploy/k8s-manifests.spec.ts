import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '@jwt-ms/testing';
import { renderOverlay, type K8sObject } from './kustomize';

/**
 * The Kubernetes manifests, checked offline: each overlay renders with
 * `kubectl kustomize`, every object validates against the Kubernetes schemas
 * (kubernetes-models), has no field the API does not know (a TypeScript
 * excess-property check against the same models' types), and the invariants
 * the README promises hold.
 */
const OVERLAYS = ['kind', 'minikube'];
const SERVICES = ['auth-service', 'users-service', 'orders-service'];
/** The browser console (apps/console), served by the ingress at `/`. */
const CONSOLE = 'console';
/** The Deployments of the project's own images. */
const OWN = [...SERVICES, CONSOLE];
/** What else runs pods: Prometheus, from components/monitoring. */
const MONITORING = ['prometheus'];
/** The pods that mount a service-account token: Prometheus's discovery of the pods (a read-only Role). */
const API_CLIENTS = ['Deployment prometheus'];

const render = renderOverlay;

/** The kubernetes-models module of an object, e.g. `kubernetes-models/apps/v1/Deployment` (core: `v1/ConfigMap`). */
function modelPath(object: K8sObject): string {
  return `kubernetes-models/${object.apiVersion}/${object.kind}`;
}

describe.each(OVERLAYS)('k8s overlay %s', (overlay) => {
  const objects = render(overlay);
  const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
  const deployments = ofKind('Deployment');
  const named = (kind: string, name: string): K8sObject => {
    const found = ofKind(kind).find((object) => object.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  /** The Deployments and StatefulSets: everything that runs pods. */
  const workloads = () => [...deployments, ...ofKind('StatefulSet')];

  it('renders the whole system into one namespace', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...OWN, ...MONITORING].sort());
    expect(
      ofKind('StatefulSet')
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual(['postgres', 'redis']);
    for (const object of objects.filter((o) => o.kind !== 'Namespace'))
      expect(object.metadata.namespace).toBe('jwt-ms');
  });

  it('judges Redis by its reply (redis-cli exits 0 on BUSY and LOADING too)', () => {
    const [container] = named('StatefulSet', 'redis').spec.template.spec.containers;
    expect(container.readinessProbe.exec.command.join(' ')).toMatch(/redis-cli ping \| grep -qx PONG/);
    expect(container.livenessProbe.exec.command.join(' ')).toMatch(/redis-cli ping \| grep -qE '\^\(PONG\|LOADING\)'/);
  });

  it('calls PostgreSQL ready only when it answers over TCP, as the services connect to it', () => {
    const [container] = named('StatefulSet', 'postgres').spec.template.spec.containers;
    expect(container.readinessProbe.exec.command).toEqual(['pg_isready', '-h', '127.0.0.1', '-U', 'postgres']);
  });

  it('validates every object against the Kubernetes schemas', async () => {
    const failures: string[] = [];
    for (const object of objects) {
      const module = (await import(modelPath(object))) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = module[object.kind];
      try {
        new Model(object).validate();
      } catch (error) {
        failures.push(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('has no field the Kubernetes API does not know (TypeScript excess-property check on the same models)', () => {
    const dir = mkdtempSync(join(ROOT, 'tmp-k8s-check-'));
    try {
      const lines = objects.map((object, index) => {
        const type = `import('${modelPath(object)}').I${object.kind}`;
        return `export const object${index}: ${type} = ${JSON.stringify(object)};`;
      });
      writeFileSync(join(dir, 'rendered.ts'), `${lines.join('\n')}\n`);
      const tsc = join(ROOT, 'node_modules/.bin/tsc');
      try {
        execFileSync(
          tsc,
          [
            '--noEmit',
            '--strict',
            '--skipLibCheck',
            '--moduleResolution',
            'bundler',
            '--module',
            'esnext',
            '--target',
            'es2022',
            join(dir, 'rendered.ts'),
          ],
          {
            cwd: ROOT,
            encoding: 'utf8',
          },
        );
      } catch (error) {
        throw new Error(`unknown or mistyped fields:\n${(error as { stdout: string }).stdout}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(OWN)('%s: probes on the paths the service serves, requests and limits, non-root, ≥ 2 replicas', (name) => {
    const deployment = named('Deployment', name);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(container.ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: 3000 }));
    expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    // The startup window covers the database connection retries (6 × (5 s timeout + 2 s), service-core);
    // the console opens no connection, and starts in about a second.
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(
      name === CONSOLE ? 20 : 45,
    );
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.resources.requests).toEqual(
      expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
    );
    expect(container.resources.limits).toEqual(
      expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
    );
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    // The image's USER (docker/Dockerfile, docker/console.Dockerfile).
    expect(pod.securityContext).toEqual(expect.objectContaining({ runAsUser: 10001, runAsGroup: 10001 }));
    expect(container.securityContext).toEqual(
      expect.objectContaining({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      }),
    );
    expect(pod.topologySpreadConstraints?.length).toBeGreaterThan(0);
    expect(container.lifecycle.preStop).toBeDefined();
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(15);
    expect(container.image).toBe(`jwt-ms/${name}:local`);
    expect(container.imagePullPolicy).toBe('Never'); // local images, loaded into the cluster by the scripts
  });

  it("gives the auth service memory for argon2id at full concurrency (4 × 64 MiB above the process's own)", () => {
    // argon2id's memory cost (accounts.service.ts: the library default, 64 MiB) times libuv's 4 threads,
    // plus the ~100 MiB the process holds; the limit must cover it or a login storm is OOM-killed.
    const [container] = named('Deployment', 'auth-service').spec.template.spec.containers;
    const mebibytes = (quantity: string) => {
      const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
      if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
      return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
    };
    expect(mebibytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(4 * 64 + 128);
    expect(container.env.find((e: { name: string }) => e.name === 'UV_THREADPOOL_SIZE')).toBeUndefined();
  });

  it('sizes the verifiers and Redis for the revocation list the ConfigMap allows (REVOCATION_MAX_ENTRIES)', () => {
    // Measured by `npm run bench -- revocation` (docs/performance.md#revocation-list-size): an empty verifier holds
    // about 150 MB RSS, each entry about 50 bytes at most (25 in its table, twice that while the table doubles);
    // Redis about 300 bytes an entry (hash, expiry index, log), and an append-only rewrite forks.
    const mebibytes = (quantity: string) => {
      const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
      if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
      return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
    };
    const config = named('ConfigMap', 'jwt-ms-config') as unknown as { data: Record<string, string> };
    const maxEntries = Number(config.data['REVOCATION_MAX_ENTRIES']);
    expect(maxEntries).toBeGreaterThanOrEqual(1_000_000);
    const mib = 1024 * 1024;
    for (const name of ['users-service', 'orders-service']) {
      const [container] = named('Deployment', name).spec.template.spec.containers;
      expect(mebibytes(container.resources.limits.memory) * mib).toBeGreaterThanOrEqual(150e6 + maxEntries * 50);
    }
    const [redis] = named('StatefulSet', 'redis').spec.template.spec.containers;
    expect(mebibytes(redis.resources.limits.memory) * mib).toBeGreaterThanOrEqual(maxEntries * 300 * 1.5);
    // The startup probe waits for the first full read (about 3 s at a million entries, 30 s at most).
    const [users] = named('Deployment', 'users-service').spec.template.spec.containers;
    expect(users.startupProbe.periodSeconds * users.startupProbe.failureThreshold).toBeGreaterThanOrEqual(30 + 10);
  });

  it('runs the images the scripts build and load', () => {
    const lib = readFileSync(join(ROOT, 'scripts/k8s-lib.sh'), 'utf8');
    expect(lib).toContain(`SERVICES=(${SERVICES.join(' ')})`);
    expect(lib).toContain('-t "jwt-ms/${service}:local"');
    expect(lib).toContain('docker build -f docker/console.Dockerfile -t jwt-ms/console:local .');
    expect(lib).toContain('DEPLOYMENTS=("${SERVICES[@]}" console)'); // restarted and awaited by deploy
    expect(lib).toContain('IMAGES+=(jwt-ms/console:local)');
    const up = overlay === 'kind' ? 'kind-up.sh' : 'minikube-up.sh';
    expect(readFileSync(join(ROOT, 'scripts', up), 'utf8')).toMatch(
      /for image in "\$\{IMAGES\[@\]\}"; do\n\s+(kind|minikube image) load/,
    );
    for (const name of OWN)
      expect(named('Deployment', name).spec.template.spec.containers[0].image).toBe(`jwt-ms/${name}:local`);
  });

  it("gives the console the services' issuer, from the same ConfigMap key, and the APIs on the ingress's origin", () => {
    const [container] = named('Deployment', CONSOLE).spec.template.spec.containers;
    const env = container.env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
    expect(env.find((e) => e.name === 'CONSOLE_ISSUER')?.valueFrom).toEqual({
      configMapKeyRef: { name: 'jwt-ms-config', key: 'AUTH_ISSUER' },
    });
    for (const name of ['CONSOLE_AUTH_URL', 'CONSOLE_USERS_URL', 'CONSOLE_ORDERS_URL'])
      expect(env.find((e) => e.name === name)).toBeUndefined();
    expect(container.envFrom).toBeUndefined(); // the console needs none of the services' settings
    // Its redirect URI, <issuer>/callback, is registered for the console client.
    const config = named('ConfigMap', 'jwt-ms-config') as unknown as { data: Record<string, string> };
    const registry = JSON.parse(readFileSync(join(ROOT, 'docker/oauth-clients.json'), 'utf8')) as Array<{
      client_id: string;
      redirect_uris?: string[];
    }>;
    const clientId = env.find((e) => e.name === 'CONSOLE_CLIENT_ID')?.value ?? 'console';
    expect(registry.find((client) => client.client_id === clientId)?.redirect_uris).toContain(
      `${config.data['AUTH_ISSUER']}/callback`,
    );
  });

  it('gives no Service client affinity, and every Service selects pods that exist', () => {
    for (const service of ofKind('Service')) {
      expect(service.spec.sessionAffinity ?? 'None').toBe('None');
      const selector = service.spec.selector as Record<string, string>;
      const pods = [...deployments, ...ofKind('StatefulSet')].filter((workload) =>
        Object.entries(selector).every(([key, value]) => workload.spec.template.metadata.labels[key] === value),
      );
      expect({ service: service.metadata.name, pods: pods.length }).toEqual({
        service: service.metadata.name,
        pods: 1,
      });
      const ports = pods[0].spec.template.spec.containers.flatMap((c: { ports: Array<{ name: string }> }) =>
        c.ports.map((p) => p.name),
      );
      for (const port of service.spec.ports) expect(ports).toContain(port.targetPort);
    }
  });

  it('routes the ingress by path to existing Services, with no affinity annotations', () => {
    const [ingress] = ofKind('Ingress');
    const annotations = Object.keys((ingress.metadata as { annotations?: object }).annotations ?? {});
    expect(annotations.filter((a) => /affinity|session-cookie|upstream-hash-by/.test(a))).toEqual([]);
    const routes = ingress.spec.rules[0].http.paths.map(
      (p: { path: string; backend: { service: { name: string } } }) => [p.path, p.backend.service.name],
    );
    expect(routes).toEqual([
      ['/auth', 'auth-service'],
      ['/oauth', 'auth-service'],
      ['/.well-known', 'auth-service'],
      ['/users', 'users-service'],
      ['/orders', 'orders-service'],
      ['/', CONSOLE], // last, and ingress-nginx tries the longest path first: the API paths win
    ]);
    const catchAll = ingress.spec.rules[0].http.paths.at(-1);
    expect(catchAll.pathType).toBe('Prefix');
    for (const [, service] of routes) expect(() => named('Service', service)).not.toThrow();
  });

  it("passes ingress-nginx's admission check of paths (strict-validate-path-type, on by default since 1.12)", () => {
    // https://kubernetes.github.io/ingress-nginx/faq/#validation-of-path: Prefix and Exact paths may hold
    // only alphanumerics, "/", "_" and "-"; anything else must be ImplementationSpecific, which
    // ingress-nginx reads as a regex only under the use-regex annotation (absent here, so a prefix).
    const [ingress] = ofKind('Ingress');
    const annotations = (ingress.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    expect(annotations['nginx.ingress.kubernetes.io/use-regex']).toBeUndefined();
    const paths = ingress.spec.rules.flatMap((rule: { http: { paths: object[] } }) => rule.http.paths) as {
      path: string;
      pathType: string;
    }[];
    for (const { path, pathType } of paths) {
      if (pathType === 'Prefix' || pathType === 'Exact')
        expect({ path, valid: /^\/[A-Za-z0-9/_-]*$/.test(path) }).toEqual({ path, valid: true });
      else
        expect({ path, pathType, literal: /^\/[A-Za-z0-9/_.-]*$/.test(path) }).toEqual({
          path,
          pathType: 'ImplementationSpecific',
          literal: true,
        });
    }
  });

  it('targets an existing Deployment with every HPA and PDB', () => {
    for (const hpa of ofKind('HorizontalPodAutoscaler')) {
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(() => named('Deployment', hpa.spec.scaleTargetRef.name)).not.toThrow();
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
    for (const pdb of ofKind('PodDisruptionBudget')) {
      const labels = pdb.spec.selector.matchLabels as Record<string, string>;
      expect(
        deployments.some(
          (d) => d.spec.template.metadata.labels['app.kubernetes.io/name'] === labels['app.kubernetes.io/name'],
        ),
      ).toBe(true);
    }
    // The services scale; the console keeps its 2 replicas (a few static files), but a drain leaves one.
    expect(
      ofKind('HorizontalPodAutoscaler')
        .map((hpa) => hpa.metadata.name)
        .sort(),
    ).toEqual([...SERVICES].sort());
    expect(
      ofKind('PodDisruptionBudget')
        .map((pdb) => pdb.metadata.name)
        .sort(),
    ).toEqual([...OWN].sort());
  });

  it('keeps secrets out of the manifests: keys and passwords come from Secrets the scripts create', () => {
    expect(ofKind('Secret')).toEqual([]);
    const auth = named('Deployment', 'auth-service').spec.template.spec;
    expect(auth.volumes).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: 'jwt-ms-signing-keys' }) }),
    );
    for (const name of SERVICES) {
      const env = named('Deployment', name).spec.template.spec.containers[0].env as Array<{
        name: string;
        valueFrom?: unknown;
      }>;
      expect(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom).toEqual({
        secretKeyRef: { name: 'jwt-ms-database', key: `${name.replace('-service', '')}-url` },
      });
      // Redis users (scripts/redis-acl.sh): the issuer writes, the resource services only read.
      expect(env.find((e) => e.name === 'REDIS_URL')?.valueFrom).toEqual({
        secretKeyRef: { name: 'jwt-ms-redis', key: name === 'auth-service' ? 'auth-url' : 'verifier-url' },
      });
    }
    const config = named('ConfigMap', 'jwt-ms-config') as unknown as { data: Record<string, string> };
    expect(
      Object.keys(config.data).filter((key) => /URL|PASSWORD|SECRET/.test(key) && key !== 'AUTH_JWKS_URI'),
    ).toEqual([]);
    // Redis loads its users from the same Secret, mounted where --aclfile points.
    const redis = named('StatefulSet', 'redis').spec.template.spec;
    const args: string[] = redis.containers[0].args;
    const aclPath = args[args.indexOf('--aclfile') + 1];
    const aclVolume = redis.volumes.find(
      (v: { secret?: { secretName: string } }) => v.secret?.secretName === 'jwt-ms-redis',
    );
    const aclMount = redis.containers[0].volumeMounts.find((m: { name: string }) => m.name === aclVolume.name);
    expect(aclPath).toBe(`${aclMount.mountPath}/${aclVolume.secret.items[0].path}`);
    expect(aclVolume.secret.items[0].key).toBe('users.acl');
  });

  it('lets only the ingress reach the services and the console, the resource services the auth service, orders users, and only the services Redis and PostgreSQL', () => {
    // Every (source, destination) pair, evaluated with NetworkPolicy's own semantics: a rule that
    // allows too much (an empty peer, `namespaceSelector: {}`, a rule with no `from`) shows up here.
    const pods = workloads().map((w) => ({ name: w.metadata.name, labels: w.spec.template.metadata.labels }));
    const sources: Source[] = [
      ...pods.map((pod) => ({ ...pod, namespace: NAMESPACE_LABELS['jwt-ms'] })),
      {
        name: 'ingress-nginx',
        namespace: NAMESPACE_LABELS['ingress-nginx'],
        labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
      },
      { name: 'other-namespace', namespace: NAMESPACE_LABELS['default'], labels: { app: 'anything' } },
      { name: 'outside', namespace: null, labels: {} },
    ];
    const allowed: string[] = [];
    for (const destination of workloads()) {
      const container = destination.spec.template.spec.containers[0];
      for (const port of container.ports as { name: string; containerPort: number }[]) {
        for (const source of sources) {
          if (source.name === destination.metadata.name) continue;
          if (ingressAllowed(ofKind('NetworkPolicy'), source, destination.spec.template.metadata.labels, port))
            allowed.push(`${source.name} -> ${destination.metadata.name}:${port.name}`);
        }
      }
    }
    expect(allowed.sort()).toEqual(
      [
        'ingress-nginx -> auth-service:http',
        'ingress-nginx -> users-service:http',
        'ingress-nginx -> orders-service:http',
        'ingress-nginx -> console:http',
        'users-service -> auth-service:http',
        'orders-service -> auth-service:http',
        'orders-service -> users-service:http',
        ...SERVICES.map((service) => `prometheus -> ${service}:http`),
        ...SERVICES.map((service) => `${service} -> redis:redis`),
        ...SERVICES.map((service) => `${service} -> postgres:postgres`),
      ].sort(),
    );
    expect(named('NetworkPolicy', 'default-deny-ingress').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
  });

  it('lets Prometheus only read the pods of its own namespace, and scrape each service on its pod port', () => {
    expect(ofKind('ClusterRole').map((role) => role.metadata.name)).toEqual([]);
    const role = named('Role', 'prometheus-discovery') as unknown as { rules: unknown[] };
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    const binding = named('RoleBinding', 'prometheus-discovery') as unknown as { subjects: unknown[] };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'jwt-ms' }]);
    const config = ofKind('ConfigMap').find((map) => map.metadata.name.startsWith('prometheus-config'));
    const data = (config as unknown as { data: Record<string, string> }).data;
    expect(Object.keys(data).sort()).toEqual(['alerts.rules.yaml', 'prometheus.yml']);
    expect(data['alerts.rules.yaml']).toBe(
      readFileSync(join(ROOT, 'k8s/components/monitoring/alerts.rules.yaml'), 'utf8'),
    );
    const keep = data['prometheus.yml'];
    expect(keep).toContain('regex: auth-service|users-service|orders-service');
    expect(keep).toContain('own_namespace: true');
    // The ingress never routes /metrics to a service: the only path it falls under is the console's `/`,
    // and the console serves no /metrics (its 404).
    const paths = named('Ingress', 'jwt-ms').spec.rules.flatMap(
      (rule: { http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }) =>
        rule.http.paths.map((path) => ({ path: path.path, service: path.backend.service.name })),
    );
    const metricsRoutes = paths.filter(({ path }: { path: string }) => '/metrics'.startsWith(path));
    expect(metricsRoutes).toEqual([{ path: '/', service: CONSOLE }]);
  });

  it('rotates the signing keys with a CronJob that may only get and update that one Secret, and reach only the API server', () => {
    const cron = named('CronJob', 'signing-key-rotation');
    const pod = cron.spec.jobTemplate.spec.template.spec;
    const [container] = pod.containers;
    // The image's own rotation (the service's rules), against the Secret the replicas mount.
    const auth = named('Deployment', 'auth-service').spec.template.spec;
    const secretName = auth.volumes.find((volume: { name: string }) => volume.name === 'signing-keys').secret
      .secretName;
    expect(container.image).toBe(auth.containers[0].image);
    expect([...container.command, ...container.args].join(' ')).toBe(
      `node main.js keys:rotate --kube-secret jwt-ms/${secretName} --key signing-jwks.json --alg ES256 --lead 900 --access-ttl 900`,
    );
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    expect(pod.serviceAccountName).toBe('signing-key-rotation');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(
      (named('ServiceAccount', 'signing-key-rotation') as unknown as { automountServiceAccountToken: boolean })
        .automountServiceAccountToken,
    ).toBe(false);
    expect(pod.securityContext).toEqual(
      expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }),
    );
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const role = named('Role', 'signing-key-rotation') as unknown as { rules: unknown[] };
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get', 'update'] },
    ]);
    const binding = named('RoleBinding', 'signing-key-rotation') as unknown as {
      subjects: unknown[];
      roleRef: unknown;
    };
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'signing-key-rotation',
    });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'signing-key-rotation', namespace: 'jwt-ms' }]);
    // No other Role or binding grants anything on Secrets.
    for (const other of ofKind('Role').filter((r) => r.metadata.name !== 'signing-key-rotation'))
      expect(JSON.stringify(other)).not.toContain('secrets');
    const egress = named('NetworkPolicy', 'signing-key-rotation-egress').spec;
    expect(egress.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'signing-key-rotation' });
    expect(cron.spec.jobTemplate.spec.template.metadata.labels).toEqual(
      expect.objectContaining(egress.podSelector.matchLabels),
    );
    expect(egress.policyTypes).toEqual(['Egress']);
    expect(egress.egress).toEqual([
      {
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 6443, protocol: 'TCP' },
        ],
      },
    ]);
  });

  it('runs every pod to the "restricted" Pod Security Standard, and the namespace enforces it', () => {
    const namespace = named('Namespace', 'jwt-ms');
    expect((namespace.metadata as unknown as { labels: Record<string, string> }).labels).toEqual(
      expect.objectContaining({ 'pod-security.kubernetes.io/enforce': 'restricted' }),
    );
    for (const workload of workloads()) {
      const pod = workload.spec.template.spec;
      const where = `${workload.kind} ${workload.metadata.name}`;
      expect({ where, token: pod.automountServiceAccountToken }).toEqual({ where, token: API_CLIENTS.includes(where) });
      expect({ where, host: [pod.hostNetwork, pod.hostPID, pod.hostIPC].filter(Boolean) }).toEqual({ where, host: [] });
      expect({ where, pod: pod.securityContext }).toEqual({
        where,
        pod: expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }),
      });
      expect({ where, uid: pod.securityContext.runAsUser }).not.toEqual({ where, uid: 0 });
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const context = container.securityContext ?? {};
        expect({ where, container: container.name, context }).toEqual({
          where,
          container: container.name,
          context: expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          }),
        });
        expect({ where, privileged: context.privileged ?? false }).toEqual({ where, privileged: false });
        expect(context.runAsUser).not.toBe(0);
        expect(context.runAsNonRoot).not.toBe(false);
        expect(context.seccompProfile?.type ?? 'RuntimeDefault').toBe('RuntimeDefault');
      }
    }
  });

  it('mounts the signing key Secret where SIGNING_JWKS_FILE points, read-only, readable by the service user', () => {
    const config = named('ConfigMap', 'jwt-ms-config') as unknown as { data: Record<string, string> };
    const pod = named('Deployment', 'auth-service').spec.template.spec;
    const volume = pod.volumes.find(
      (v: { secret?: { secretName: string } }) => v.secret?.secretName === 'jwt-ms-signing-keys',
    );
    const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
    expect(mount.readOnly).toBe(true);
    expect(config.data['SIGNING_JWKS_FILE']).toBe(`${mount.mountPath}/signing-jwks.json`); // the key create_secrets uses
    // Owner and group may read; nobody else (0440), the group being the pod's fsGroup.
    expect(volume.secret.defaultMode).toBe(0o440);
    expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup);
  });

  it('keeps the security settings that matter at their safe values', () => {
    const config = named('ConfigMap', 'jwt-ms-config') as unknown as { data: Record<string, string> };
    expect(config.data['REVOCATION_FAILURE_POLICY']).toBe('fail-closed');
    // The ingress controller's pod network (kind and minikube), and nothing before it or wider.
    expect(config.data['TRUSTED_PROXIES']).toBe('10.244.0.0/16');
    expect(config.data['TRUST_PROXY_HOPS']).toBeUndefined();
    expect(Number(config.data['REVOCATION_MAX_STALENESS_MS'])).toBeLessThanOrEqual(5000);
  });

  it('leaves every PodDisruptionBudget room for a voluntary eviction (a node drain is never blocked)', () => {
    for (const pdb of ofKind('PodDisruptionBudget')) {
      const deployment = named('Deployment', pdb.metadata.name);
      const hpa = ofKind('HorizontalPodAutoscaler').find((h) => h.metadata.name === pdb.metadata.name);
      const fewest = Math.min(deployment.spec.replicas, hpa?.spec.minReplicas ?? deployment.spec.replicas);
      if (pdb.spec.maxUnavailable !== undefined) expect(Number(pdb.spec.maxUnavailable)).toBeGreaterThanOrEqual(1);
      else expect(Number(pdb.spec.minAvailable)).toBeLessThan(fewest);
    }
  });
});

const NAMESPACE_LABELS: Record<string, Record<string, string>> = {
  'jwt-ms': { 'kubernetes.io/metadata.name': 'jwt-ms' },
  'ingress-nginx': { 'kubernetes.io/metadata.name': 'ingress-nginx' },
  default: { 'kubernetes.io/metadata.name': 'default' },
};

/** A pod that may open a connection: its labels and its namespace's labels (null: outside the cluster). */
interface Source {
  name: string;
  namespace: Record<string, string> | null;
  labels: Record<string, string>;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector selects everything. */
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key]);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]);
    if (operator === 'Exists') return key in labels;
    return !(key in labels);
  });
  return byLabel && byExpression;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}

/**
 * Whether the NetworkPolicies (all in the jwt-ms namespace) let `source` open a connection to a pod
 * with `labels` on `port`: a pod no Ingress policy selects takes anything; otherwise some rule of a
 * selecting policy must match both the peer and the port (a rule without `from` or `ports` matches all).
 */
function ingressAllowed(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  policies: { spec?: any }[],
  source: Source,
  labels: Record<string, string>,
  port: { name: string; containerPort: number },
): boolean {
  const selecting = policies.filter(
    (policy) =>
      (policy.spec.policyTypes ?? ['Ingress']).includes('Ingress') && selects(policy.spec.podSelector, labels),
  );
  if (selecting.length === 0) return true;
  const peerMatches = (peer: PolicyPeer) => {
    if (peer.ipBlock) return source.namespace === null; // only addresses outside the pod network are in question here
    if (source.namespace === null) return false;
    const namespaceOk = peer.namespaceSelector
      ? selects(peer.namespaceSelector, source.namespace)
      : source.namespace === NAMESPACE_LABELS['jwt-ms'];
    return namespaceOk && selects(peer.podSelector ?? {}, source.labels);
  };
  return selecting.some((policy) =>
    ((policy.spec.ingress ?? []) as { from?: PolicyPeer[]; ports?: { port?: string | number }[] }[]).some(
      (rule) =>
        (rule.from === undefined || rule.from.length === 0 || rule.from.some(peerMatches)) &&
        (rule.ports === undefined ||
          rule.ports.length === 0 ||
          rule.ports.some((p) => p.port === undefined || p.port === port.name || p.port === port.containerPort)),
    ),
  );
}
