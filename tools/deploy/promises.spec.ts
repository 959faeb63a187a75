import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '@jwt-ms/testing';
import { renderOverlay, type K8sObject } from './kustomize';

/**
 * What the docs and scripts promise a newcomer deploying to kind, checked
 * offline so that each kind of slip found once cannot come back: k6 scripts
 * that k6 can load and whose every URL the Ingress routes, kubectl commands
 * that name the namespace, and overlays whose requests fit the node size the
 * docs state.
 */

/** Files in the repository (tracked, or new and not ignored) matching git pathspecs. */
function repositoryFiles(...pathspecs: string[]): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...pathspecs], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((file) => file && existsSync(join(ROOT, file)));
}

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const render = renderOverlay;

describe('the k6 scripts (load/)', () => {
  const scripts = repositoryFiles('load/*.ts', 'load/**/*.ts');

  it('are there', () => {
    expect(scripts.filter((file) => file.startsWith('load/scenarios/')).length).toBeGreaterThanOrEqual(6);
  });

  it('name every local module with its extension, as k6 resolves it (grafana/k6#5501), and it exists', () => {
    const failures: string[] = [];
    for (const file of scripts) {
      for (const [, specifier] of read(file).matchAll(/\b(?:from|import)\s+'(\.{1,2}\/[^']*)'/g)) {
        if (!/\.(ts|js)$/.test(specifier)) failures.push(`${file}: '${specifier}' has no extension`);
        else if (!existsSync(join(ROOT, dirname(file), specifier))) failures.push(`${file}: '${specifier}' not found`);
      }
    }
    expect(failures).toEqual([]);
  });

  /** The base URL variables of load/lib/config.ts, and the service each must reach. */
  const SERVICE_OF: Record<string, string> = {
    AUTH_URL: 'auth-service',
    USERS_URL: 'users-service',
    ORDERS_URL: 'orders-service',
  };

  let kindObjects: K8sObject[] | undefined;
  /** The kind Ingress's paths: which service a request path reaches, by ingress-nginx's matching. */
  function ingressRoute(path: string): string | undefined {
    kindObjects ??= render('kind');
    const ingress = kindObjects.find((object) => object.kind === 'Ingress');
    const routes: Array<{ path: string; pathType: string; backend: { service: { name: string } } }> =
      ingress?.spec.rules.flatMap((rule: { http: { paths: unknown[] } }) => rule.http.paths) ?? [];
    const matches = routes.filter((route) => {
      if (route.pathType === 'Exact') return path === route.path;
      // Prefix matches whole path elements; ImplementationSpecific without use-regex is a plain prefix.
      if (route.pathType === 'Prefix')
        return path === route.path || path.startsWith(`${route.path.replace(/\/$/, '')}/`);
      return path.startsWith(route.path);
    });
    matches.sort((a, b) => b.path.length - a.path.length); // the longest match wins
    return matches[0]?.backend.service.name;
  }

  it('call only paths the Ingress routes, each to the service its URL variable names', () => {
    const calls: string[] = [];
    const failures: string[] = [];
    for (const file of scripts) {
      for (const [, variable, path] of read(file).matchAll(/\$\{(\w+)\}(\/[\w./-]*)/g)) {
        calls.push(`${variable}${path}`);
        const expected = SERVICE_OF[variable];
        if (!expected) {
          failures.push(`${file}: \${${variable}}${path}: call through AUTH_URL, USERS_URL or ORDERS_URL itself`);
          continue;
        }
        const routed = ingressRoute(path);
        if (routed !== expected)
          failures.push(`${file}: \${${variable}}${path} reaches ${routed ?? 'no service (404)'}, not ${expected}`);
      }
    }
    expect(failures).toEqual([]);
    expect(calls.length).toBeGreaterThan(10); // the pattern still finds the calls
  });
});

/**
 * One kubectl command line: its arguments as the shell would split them
 * (quotes kept off, `\` continuations joined), up to the end of the command.
 */
function kubectlCommands(text: string): string[][] {
  const joined = text.replace(/\\\n[ \t*#]*/g, ' ');
  const commands: string[][] = [];
  for (const match of joined.matchAll(/(?<![\w./-])kubectl[ \t]+/g)) {
    const args: string[] = [];
    let current = '';
    let quote = '';
    let index = (match.index ?? 0) + match[0].length;
    for (; index < joined.length; index += 1) {
      const char = joined[index];
      if (quote) {
        if (char === quote) quote = '';
        else current += char;
        continue;
      }
      if (char === '"' || char === "'") quote = char;
      else if ('|;&)`\n'.includes(char)) break;
      else if (char === ' ' || char === '\t') {
        if (current) args.push(current);
        current = '';
      } else current += char;
    }
    if (current) args.push(current);
    commands.push(args);
  }
  return commands;
}

const SUBCOMMANDS = new Set(
  (
    'get describe delete apply create patch rollout logs exec port-forward set scale top wait label annotate ' +
    'edit run cp debug kustomize config version cluster-info autoscale expose replace attach events'
  ).split(' '),
);
/** Commands that act on no namespaced object of ours. */
const CLUSTER_WIDE = new Set(['kustomize', 'config', 'version', 'cluster-info']);

/** @returns why a kubectl command that acts on our namespace does not name it, or null when it is fine */
function namespaceProblem(args: string[]): string | null {
  const subcommand = args.find(
    (arg, index) => SUBCOMMANDS.has(arg) && !['-n', '--namespace'].includes(args[index - 1]),
  );
  if (!subcommand) return null; // prose ("kubectl is not installed"), not a command
  const named = args.some(
    (arg) =>
      arg === '-n' ||
      arg.startsWith('-n=') ||
      arg.startsWith('--namespace') ||
      arg === '-A' ||
      arg === '--all-namespaces',
  );
  if (named || CLUSTER_WIDE.has(subcommand)) return null;
  const rest = args.slice(args.indexOf(subcommand) + 1);
  if (rest.length === 0) return null; // a command named in prose ("`kubectl apply` sets 3 again")
  if (['get', 'top', 'describe', 'wait'].includes(subcommand) && /^nodes?\b/.test(rest[0] ?? '')) return null;
  // A namespace is itself cluster-scoped.
  if (subcommand === 'create' && /^(namespace|ns)$/.test(rest[0] ?? '')) return null;
  if (subcommand === 'apply' || subcommand === 'delete') {
    const file = rest[rest.indexOf('-f') + 1];
    // A kustomization sets the namespace of everything it renders (checked by k8s-manifests.spec.ts);
    // a third-party manifest by URL names its own; the namespace object has none.
    if (rest.includes('-k')) return null;
    if (rest.includes('-f') && (/^https:\/\//.test(file) || file === 'k8s/base/namespace.yaml')) return null;
  }
  return `kubectl ${args.join(' ')}: no -n`;
}

describe('kubectl commands in the scripts and docs', () => {
  const sources = repositoryFiles('*.sh', '*.md', '*.ts', '*.yaml', '.ci/run').filter(
    (file) => !file.startsWith('tools/deploy/'), // this file's own examples
  );

  it('tell commands from prose', () => {
    expect(kubectlCommands('run kubectl -n jwt-ms get pods | wc -l')).toEqual([['-n', 'jwt-ms', 'get', 'pods']]);
    expect(namespaceProblem(['delete', 'pod', '-l', 'app.kubernetes.io/name=orders-service'])).toMatch(/no -n/);
    expect(namespaceProblem(['-n', 'jwt-ms', 'delete', 'pod', 'x'])).toBeNull();
    expect(namespaceProblem(['is', 'not', 'installed:'])).toBeNull();
    expect(namespaceProblem(['apply', '-f', '-'])).toMatch(/no -n/);
    expect(namespaceProblem(['create', 'namespace', 'observability'])).toBeNull();
    expect(namespaceProblem(['create', 'deployment', 'jaeger', '--image=x'])).toMatch(/no -n/);
  });

  it('name the namespace of every object they act on', () => {
    const commands = sources.flatMap((file) => kubectlCommands(read(file)).map((args) => ({ file, args })));
    const failures = commands.flatMap(({ file, args }) => {
      const problem = namespaceProblem(args);
      return problem ? [`${file}: ${problem}`] : [];
    });
    expect(failures).toEqual([]);
    expect(commands.length).toBeGreaterThan(20); // the scan still finds them
  });
});

describe('the node size the docs state', () => {
  /** `**Node size: 2 CPUs and 4 GiB of memory**` in docs/kind.md. */
  const stated = /\*\*Node size: (\d+) CPUs and (\d+) GiB of memory\*\*/.exec(read('docs/kind.md'));
  const cpus = Number(stated?.[1]);
  const memoryMiB = Number(stated?.[2]) * 1024;

  /**
   * Requests of the pods that run beside ours, in millicores and MiB: the control plane (kube-apiserver
   * 250m, controller-manager 200m, scheduler 100m, etcd 100m / 100Mi), CoreDNS (2 × 100m / 70Mi), the
   * ingress-nginx controller (100m / 90Mi) and metrics-server (100m / 200Mi); kind adds kindnet
   * (100m / 50Mi), minikube Calico's calico-node (250m) and its storage provisioner.
   */
  const SYSTEM_PODS: Record<string, { cpu: number; memory: number }> = {
    kind: { cpu: 1150, memory: 580 },
    minikube: { cpu: 1300, memory: 600 },
  };

  const millicores = (value: string | number | undefined) =>
    value === undefined ? 0 : String(value).endsWith('m') ? Number.parseFloat(String(value)) : Number(value) * 1000;
  const mebibytes = (value: string | undefined) => {
    if (!value) return 0;
    const unit = /([KMG]i)$/.exec(value)?.[1];
    const number = Number.parseFloat(value);
    return unit === 'Gi' ? number * 1024 : unit === 'Ki' ? number / 1024 : unit === 'Mi' ? number : number / 1048576;
  };

  it('is stated, and is what the up scripts require', () => {
    expect(stated).not.toBeNull();
    const lib = read('scripts/k8s-lib.sh');
    expect(Number(/^MIN_NODE_CPUS=(\d+)$/m.exec(lib)?.[1])).toBe(cpus);
    expect(Number(/^MIN_NODE_MEMORY_MIB=(\d+)$/m.exec(lib)?.[1])).toBe(memoryMiB);
    expect(read('scripts/kind-up.sh')).toMatch(/require_node_size /);
    expect(read('scripts/minikube-up.sh')).toMatch(/require_node_size /);
    expect(
      Number(/MINIKUBE_CPUS=\$\{MINIKUBE_CPUS:-(\d+)\}/.exec(read('scripts/minikube-up.sh'))?.[1]),
    ).toBeGreaterThanOrEqual(cpus);
  });

  it.each(Object.keys(SYSTEM_PODS))(
    '%s: the summed requests of every pod fit it, beside the system pods',
    (overlay) => {
      const objects = render(overlay);
      const minReplicas = (name: string) =>
        objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === name)?.spec
          .minReplicas ?? 0;
      let cpu = 0;
      let memory = 0;
      for (const workload of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
        const replicas = Math.max(workload.spec.replicas ?? 1, minReplicas(workload.metadata.name));
        const pod = workload.spec.template.spec;
        for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
          cpu += replicas * millicores(container.resources?.requests?.cpu);
          memory += replicas * mebibytes(container.resources?.requests?.memory);
        }
      }
      expect(cpu).toBeGreaterThan(0);
      expect(cpu + SYSTEM_PODS[overlay].cpu).toBeLessThanOrEqual(cpus * 1000);
      expect(memory + SYSTEM_PODS[overlay].memory).toBeLessThanOrEqual(memoryMiB);
    },
  );
});
