/**
 * The few verifier figures the console charts, read from each resource
 * service's `GET /metrics` (Prometheus text format 0.0.4) by the console's
 * server: the page cannot reach `/metrics` itself, which is served on the
 * pods' port for Prometheus and not routed by the ingress
 * ([metrics.md](../../../../docs/metrics.md)).
 *
 * Only two families are read, both written by libs/shared/auth-jwt's
 * VerifierMetrics: `jwt_verifications_total{result,reason}` (counter) and
 * `revocation_propagation_delay_seconds` (histogram). Everything else in the
 * text is skipped.
 */

/** One service's figures, as one of its replicas reported them. */
export interface VerifierFigures {
  service: string;
  /** The replica that answered (`X-Instance-Id`): behind a balancer, one replica per read. */
  instance: string;
  /** Decisions since that replica started, by result and reason. */
  verifications: Array<{ result: string; reason: string; count: number }>;
  /** Revocations applied by that replica, and their delay from the issuer's announcement. */
  propagation: { count: number; sumSeconds: number; buckets: Array<{ le: string; count: number }> };
}

/** A target whose figures could not be read. */
export interface UnreadFigures {
  service: string;
  error: string;
}

/** One `name{labels} value` sample. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Label values may hold escaped quotes, backslashes and newlines (the text format's three escapes). */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Reads the samples of the named families from an exposition.
 *
 * @param text the body of `GET /metrics`
 * @param names the metric names wanted (for a histogram: its `_bucket`, `_sum` and `_count` names)
 * @returns the samples of those names, in order; lines that are comments, other names or malformed are skipped
 */
export function readSamples(text: string, names: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line.trim());
    if (!match || !names.has(match[1])) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const [, label, raw] of (match[2] ?? '').matchAll(LABEL))
      labels[label] = raw.replace(/\\(["\\n])/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** The most of a `/metrics` body read, in characters. */
const MAX_METRICS_CHARS = 1_000_000;
const VERIFICATIONS = 'jwt_verifications_total';
const DELAY = 'revocation_propagation_delay_seconds';

/**
 * @param service the service's name, as the page shows it
 * @param instance the replica that answered
 * @param text its `/metrics` body
 * @returns the figures; zeroes when a family is absent (no request verified yet)
 */
export function verifierFigures(service: string, instance: string, text: string): VerifierFigures {
  const samples = readSamples(text, new Set([VERIFICATIONS, `${DELAY}_bucket`, `${DELAY}_sum`, `${DELAY}_count`]));
  const of = (name: string) => samples.filter((sample) => sample.name === name);
  return {
    service,
    instance,
    verifications: of(VERIFICATIONS).map(({ labels, value }) => ({
      result: labels['result'] ?? '',
      reason: labels['reason'] ?? '',
      count: value,
    })),
    propagation: {
      count: of(`${DELAY}_count`)[0]?.value ?? 0,
      sumSeconds: of(`${DELAY}_sum`)[0]?.value ?? 0,
      buckets: of(`${DELAY}_bucket`).map(({ labels, value }) => ({ le: labels['le'] ?? '', count: value })),
    },
  };
}

/**
 * Reads each target's `/metrics`, at most 2 s each, all at once.
 *
 * @param targets service name → base URL (a replica, or a balancer in front of several)
 * @param fetchImpl the fetch to use (tests give their own)
 * @returns one entry per target: its figures, or why they could not be read
 */
export async function readVerifierFigures(
  targets: Record<string, string>,
  fetchImpl: typeof fetch = fetch,
): Promise<Array<VerifierFigures | UnreadFigures>> {
  return Promise.all(
    Object.entries(targets).map(async ([service, base]) => {
      try {
        const response = await fetchImpl(`${base}/metrics`, { signal: AbortSignal.timeout(2000) });
        if (!response.ok) {
          await response.body?.cancel();
          return { service, error: `GET /metrics answered ${response.status}` };
        }
        const text = await response.text();
        // Ours are about 15 KB; a target that answers megabytes is not a verifier's /metrics.
        if (text.length > MAX_METRICS_CHARS) return { service, error: 'GET /metrics answered too much' };
        return verifierFigures(service, response.headers.get('x-instance-id') ?? '?', text);
      } catch (error) {
        return { service, error: (error as Error).name === 'TimeoutError' ? 'no answer within 2 s' : 'unreachable' };
      }
    }),
  );
}
