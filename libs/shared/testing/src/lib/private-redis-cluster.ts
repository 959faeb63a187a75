import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { PrivateRedis, portBelowEphemeralRange } from './private-redis';
import { waitUntil } from './wait-until';

/**
 * How long the cluster may take to form, or to agree after a failover, in milliseconds: six forks, the
 * gossip and the replicas' first sync on a loaded 2-core machine.
 */
const SETTLE_TIMEOUT_MS = 60_000;
/** How long Redis lets a manual failover run before it gives up (CLUSTER_MF_TIMEOUT), in milliseconds. */
const MANUAL_FAILOVER_TIMEOUT_MS = 5_000;
/** Every slot a Redis Cluster has. */
const SLOTS = 16_384;

/** One node as the cluster reports it. */
export interface PrivateRedisClusterNode {
  /** Client port (the one in {@link PrivateRedisCluster.rootNodes}). */
  port: number;
  /** Cluster bus port (node-to-node gossip) as the cluster reports it; drawn below the ephemeral range too. */
  busPort: number;
  role: 'master' | 'replica';
}

/** The cluster as one node sees it (CLUSTER NODES), keyed by client port. */
interface View {
  nodes: Map<number, { id: string; busPort: number; role: 'master' | 'replica'; masterId: string; slots: string[] }>;
  /** The view with node ids replaced by ports, one line a node, sorted: equal on every node once they agree. */
  canonical: string;
  /** Why this view is not settled, or '' (a node failing or in handshake, a link down). */
  problem: string;
}

/**
 * One redis-server of a cluster: a {@link PrivateRedis} with cluster mode on, which draws its bus port with
 * its client port (both below the ephemeral range, neither taken by another node of the same cluster) and
 * draws both again when redis-server reports either in use.
 */
class ClusterNode extends PrivateRedis {
  busPort = 0;

  constructor(
    private readonly dir: string,
    private readonly nodeTimeoutMs: number,
    /** Ports the nodes of this cluster drew: two nodes starting at once must not draw the same one. */
    private readonly claimed: Set<number>,
  ) {
    super();
  }

  /** Where redis-server keeps the cluster state for the current port. */
  private get configFile(): string {
    return join(this.dir, `nodes-${this.port}.conf`);
  }

  protected override drawPorts(): void {
    do {
      super.drawPorts();
    } while (this.claimed.has(this.port));
    this.claimed.add(this.port);
    do {
      this.busPort = portBelowEphemeralRange();
    } while (this.claimed.has(this.busPort));
    this.claimed.add(this.busPort);
    // redis-server writes its state file before it binds: an attempt that found its port taken left one.
    rmSync(this.configFile, { force: true });
  }

  protected override ports(): string {
    return `${this.port} or ${this.busPort}`;
  }

  protected override serverArgs(): string[] {
    return [
      ...super.serverArgs(),
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(this.busPort),
      '--cluster-config-file',
      this.configFile,
      '--cluster-node-timeout',
      String(this.nodeTimeoutMs),
      // A replica's first sync writes an RDB file into the working directory: not the repository's.
      '--dir',
      this.dir,
    ];
  }
}

/** A plain client to one node, for the cluster commands; it reconnects every 100 ms should its link drop. */
function adminClient(port: number) {
  const admin = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: () => 100 } });
  // Failures show as rejected commands, which the settling loop reports; the event itself would crash jest.
  admin.on('error', () => undefined);
  return admin;
}

type AdminClient = ReturnType<typeof adminClient>;

/**
 * A throw-away Redis Cluster of the test's own: `masters × (1 + replicasPerMaster)` redis-servers on
 * 127.0.0.1, no persistence, all 16,384 slots assigned, with a manual failover a test can trigger.
 *
 * Each node is a {@link PrivateRedis} (ports below the kernel's ephemeral range, drawn again when in use,
 * started when it logs that it is ready); `redis-cli --cluster create` joins them. A start or a failover
 * counts as done only when every node reports `cluster_state:ok` with every slot served, every node
 * describes the same nodes, roles and slots, and every replica's link to its master is up: a test that
 * follows never sees a node still catching up.
 *
 * ```ts
 * const cluster = new PrivateRedisCluster();
 * beforeAll(() => cluster.start(), 120_000);
 * afterAll(() => cluster.stop(), 60_000);
 * const client = createCluster({ rootNodes: cluster.rootNodes });
 * const { from, to } = await cluster.failover('{t}x');
 * ```
 */
export class PrivateRedisCluster {
  /** The nodes' ports and roles, as of the end of the last {@link start} or {@link failover}. */
  nodes: PrivateRedisClusterNode[] = [];

  private readonly masters: number;
  private readonly replicasPerMaster: number;
  private readonly nodeTimeoutMs: number;
  private servers: ClusterNode[] = [];
  private admins = new Map<number, AdminClient>();
  private dir?: string;
  /** Bumped by every {@link stop}: a start that sees it change was stopped under it, and cleans up. */
  private generation = 0;

  /**
   * @param options.masters how many masters share the slots (at least 3, as redis-cli requires; default 3)
   * @param options.replicasPerMaster replicas of each master (default 1; a failover needs at least 1)
   * @param options.nodeTimeoutMs `cluster-node-timeout`, in milliseconds (default 2000): how long a node may
   *   not answer before the others count it failing
   * @throws RangeError when masters < 3 or replicasPerMaster < 0
   */
  constructor(options: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {}) {
    this.masters = options.masters ?? 3;
    this.replicasPerMaster = options.replicasPerMaster ?? 1;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
    if (!Number.isInteger(this.masters) || this.masters < 3) throw new RangeError('a cluster needs at least 3 masters');
    if (!Number.isInteger(this.replicasPerMaster) || this.replicasPerMaster < 0) {
      throw new RangeError('replicasPerMaster must be a whole number ≥ 0');
    }
  }

  /** `[{ url: 'redis://127.0.0.1:<port>' }, …]`, one entry a node, for node-redis `createCluster({ rootNodes })`. */
  get rootNodes(): Array<{ url: string }> {
    return this.servers.map((server) => ({ url: server.url }));
  }

  /**
   * Starts the nodes, creates the cluster and resolves once it has settled (see the class).
   *
   * Time: each node gets 20 s to start (in parallel), then joining and settling get 60 s.
   *
   * @throws Error when a node does not start (see {@link PrivateRedis.start}), `redis-cli --cluster create`
   *   fails, the cluster has not settled within 60 s of its nodes starting (the message says what was still
   *   wrong), or {@link stop} was called meanwhile; the nodes started so far keep running until {@link stop}
   */
  async start(): Promise<void> {
    if (this.dir) throw new Error('this cluster was started already; stop it first');
    const generation = this.generation;
    const stopped = () => {
      if (this.generation !== generation) throw new Error('the cluster was stopped while it started');
    };
    const dir = mkdtempSync(join(tmpdir(), 'private-redis-cluster-'));
    this.dir = dir;
    const claimed = new Set<number>();
    const count = this.masters * (1 + this.replicasPerMaster);
    this.servers = Array.from({ length: count }, () => new ClusterNode(dir, this.nodeTimeoutMs, claimed));
    // allSettled: none may still be starting when this throws, or a stop() would miss it.
    const started = await Promise.allSettled(this.servers.map((server) => server.start()));
    stopped();
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (const server of this.servers) this.admins.set(server.port, adminClient(server.port));
    // A client that cannot connect retries for ever: bound it, in case a node died since it said it was ready.
    await beforeDeadline(
      Promise.all([...this.admins.values()].map((admin) => admin.connect())),
      deadline,
      'connecting to every node',
    );
    stopped();
    await redisCli(
      [
        '--cluster',
        'create',
        ...this.servers.map((server) => `127.0.0.1:${server.port}`),
        '--cluster-replicas',
        String(this.replicasPerMaster),
        '--cluster-yes',
      ],
      Math.max(1_000, deadline - Date.now()),
    );
    stopped();
    await this.settle('the cluster to form', () => '', Math.max(1_000, deadline - Date.now()));
    stopped();
  }

  /**
   * The client port of the master that serves `key`'s slot, once every node agrees on it.
   *
   * @throws Error when the cluster has not settled within 60 s
   */
  async masterOf(key: string): Promise<number> {
    const slot = await this.slotOf(key);
    const view = await this.settle(`the cluster to agree who serves ${key}`, () => '');
    return slotMaster(view, slot);
  }

  /**
   * A manual failover (CLUSTER FAILOVER, no FORCE: the master hands over once its replica has caught up, so
   * no acknowledged write is lost) of the shard that serves `key`: resolves once every node sees the
   * replica as the master of that slot and the old master as its replica, and the cluster has settled.
   * It takes well under a second, but up to 4 node timeouts more (8 s by default) when that replica was
   * elected 2 to 4 node timeouts before, as when one pair fails over back and forth (see the code).
   *
   * @returns the client ports of the master before (`from`) and after (`to`)
   * @throws Error when that master has no replica, or the failover has not settled within 60 s
   */
  async failover(key: string): Promise<{ from: number; to: number }> {
    const slot = await this.slotOf(key);
    const before = await this.settle('the cluster to agree before a failover', () => '');
    const from = slotMaster(before, slot);
    const fromId = before.nodes.get(from)?.id;
    const to = [...before.nodes].find(([, node]) => node.role === 'replica' && node.masterId === fromId)?.[0];
    if (to === undefined) throw new Error(`the master on port ${from} has no replica to fail over to`);
    let askedAt = 0;
    // Redis 7.0 (clusterHandleSlaveFailover) counts a replica's last election, manual or not, as timed out
    // from 2 node timeouts after it began and lets it start the next only from 4 node timeouts after: asked
    // in between, as when one pair fails over back and forth, the replica waits, the manual failover times
    // out, and only a request after that window gets through. Asking again within 5 s would only restart it.
    const retryMs = Math.max(MANUAL_FAILOVER_TIMEOUT_MS + 500, 4 * this.nodeTimeoutMs);
    await this.settle(
      `port ${to} to take over slot ${slot} from port ${from}`,
      async (view) => {
        const toId = view.nodes.get(to)?.id;
        if (slotMaster(view, slot) === to && view.nodes.get(from)?.masterId === toId) return '';
        const role = await this.admin(to).sendCommand(['ROLE']);
        if (Array.isArray(role) && String(role[0]) !== 'master' && Date.now() - askedAt > retryMs) {
          askedAt = Date.now();
          await this.admin(to).sendCommand(['CLUSTER', 'FAILOVER']);
        }
        return `port ${to} is not yet master of slot ${slot} with port ${from} its replica`;
      },
      SETTLE_TIMEOUT_MS,
    );
    return { from, to };
  }

  /**
   * Stops every node (SIGTERM, and waits for it to exit) and removes the temporary directory. Idempotent,
   * and safe after a {@link start} that failed or is still running (that start then fails).
   */
  async stop(): Promise<void> {
    this.generation += 1;
    const admins = [...this.admins.values()];
    this.admins.clear();
    for (const admin of admins) admin.destroy();
    await Promise.allSettled(this.servers.map((server) => server.stop()));
    this.servers = [];
    this.nodes = [];
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private admin(port: number): AdminClient {
    const admin = this.admins.get(port);
    if (!admin) throw new Error(`no node on port ${port} (is the cluster started?)`);
    return admin;
  }

  private async slotOf(key: string): Promise<number> {
    const [first] = this.admins.values();
    if (!first) throw new Error('the cluster is not started');
    return Number(await first.sendCommand(['CLUSTER', 'KEYSLOT', key]));
  }

  /**
   * Waits until every node agrees on a healthy cluster and `more` (given the agreed view) returns '', then
   * records {@link nodes} and returns the view.
   *
   * @param more '' when satisfied, else what is still missing (for the timeout's message)
   * @param timeoutMs in milliseconds
   * @throws Error `timed out after N ms waiting for <what>: <the last thing still wrong>`
   */
  private async settle(
    what: string,
    more: (view: View) => string | Promise<string>,
    timeoutMs = SETTLE_TIMEOUT_MS,
  ): Promise<View> {
    let last = 'not checked yet';
    let settled: View | undefined;
    try {
      await waitUntil(
        async () => {
          if (this.admins.size === 0) throw new Error('the cluster was stopped');
          try {
            const views = await Promise.all([...this.admins].map(([port, admin]) => this.check(port, admin)));
            const [first] = views;
            const differing = views.find((view) => view.canonical !== first.canonical);
            last = differing
              ? `the nodes disagree:\n${first.canonical}\nversus\n${differing.canonical}`
              : await more(first);
            if (last === '') settled = first;
          } catch (error) {
            last = (error as Error).message;
          }
          return settled !== undefined;
        },
        what,
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}: ${last}`);
    }
    const view = settled as View;
    this.nodes = [...view.nodes]
      .map(([port, node]) => ({ port, busPort: node.busPort, role: node.role }))
      .sort((a, b) => a.port - b.port);
    return view;
  }

  /**
   * One node's view, after checking that node alone: cluster_state ok with every slot served, all nodes
   * known, the expected count of masters each with its replicas, and (on a replica) its master link up.
   *
   * @throws Error saying what is wrong
   */
  private async check(port: number, admin: AdminClient): Promise<View> {
    const [info, nodes] = await Promise.all([
      admin.sendCommand(['CLUSTER', 'INFO']),
      admin.sendCommand(['CLUSTER', 'NODES']),
    ]);
    const fields = parseInfo(String(info));
    const expected = this.servers.length;
    for (const [field, value] of [
      ['cluster_state', 'ok'],
      ['cluster_slots_assigned', String(SLOTS)],
      ['cluster_slots_ok', String(SLOTS)],
      ['cluster_known_nodes', String(expected)],
    ]) {
      if (fields.get(field) !== value) throw new Error(`port ${port}: ${field} is ${fields.get(field)}, not ${value}`);
    }
    const view = parseNodes(String(nodes));
    if (view.problem) throw new Error(`port ${port}: ${view.problem}`);
    const masters = [...view.nodes.values()].filter((node) => node.role === 'master');
    if (masters.length !== this.masters) throw new Error(`port ${port} sees ${masters.length} masters`);
    for (const master of masters) {
      const replicas = [...view.nodes.values()].filter((node) => node.masterId === master.id).length;
      if (replicas !== this.replicasPerMaster) throw new Error(`port ${port} sees a master with ${replicas} replicas`);
    }
    if (view.nodes.get(port)?.role === 'replica') {
      const replication = parseInfo(String(await admin.sendCommand(['INFO', 'replication'])));
      if (replication.get('master_link_status') !== 'up' || replication.get('master_sync_in_progress') !== '0') {
        throw new Error(`port ${port}: the replica's link to its master is not up and synced yet`);
      }
    }
    return view;
  }
}

/** The master's port for `slot` in `view`. @throws Error when no master claims it */
function slotMaster(view: View, slot: number): number {
  for (const [port, node] of view.nodes) {
    if (node.role !== 'master') continue;
    for (const range of node.slots) {
      const [low, high = low] = range.split('-').map(Number);
      if (slot >= low && slot <= high) return port;
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

/** `field:value` lines (INFO, CLUSTER INFO) as a map. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/**
 * CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master id|-> <ping-sent> <pong-recv> <epoch>
 * <link-state> <slot ranges…>` a line.
 */
function parseNodes(text: string): View {
  const nodes: View['nodes'] = new Map();
  const problems: string[] = [];
  const portById = new Map<string, number>();
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  for (const line of lines) {
    const [id, address, flags, masterId, , , , link, ...slots] = line.trim().split(/\s+/);
    const [hostPort, busPort] = address.split(',')[0].split('@');
    const port = Number(hostPort.split(':').pop());
    portById.set(id, port);
    const flagList = flags.split(',');
    const bad = flagList.filter((flag) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(flag));
    if (bad.length > 0) problems.push(`port ${port} is ${bad.join(',')}`);
    if (link !== 'connected') problems.push(`the link to port ${port} is ${link}`);
    if (slots.some((slot) => slot.startsWith('['))) problems.push(`port ${port} is migrating slots`);
    const role = flagList.includes('master') ? 'master' : 'replica';
    nodes.set(port, { id, busPort: Number(busPort), role, masterId, slots });
  }
  const canonical = [...nodes]
    .sort(([a], [b]) => a - b)
    .map(([port, node]) =>
      node.role === 'master'
        ? `${port} master ${node.slots.join(' ')}`
        : `${port} replica of ${portById.get(node.masterId) ?? node.masterId}`,
    )
    .join('\n');
  return { nodes, canonical, problem: problems.join('; ') };
}

/**
 * `promise`, or a rejection once `deadline` (epoch milliseconds) has passed.
 *
 * @throws Error `timed out <what>` at the deadline
 */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out ${what}`)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs redis-cli with `args`. @param timeoutMs in milliseconds
 * @throws Error with its output when it exits non-zero or runs longer than `timeoutMs`
 */
function redisCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`redis-cli ${args.slice(0, 2).join(' ')} failed (${error.message}):\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}
