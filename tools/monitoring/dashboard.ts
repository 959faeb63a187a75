/**
 * The Grafana dashboard of the three services, typed by Grafana's own
 * dashboard schema (`@grafana/schema`, generated from its CUE kinds), so that
 * `tsc` refuses a field Grafana does not know. `npm run dashboard` writes it to
 * k8s/components/monitoring/grafana-dashboard.json, which the monitoring
 * component ships as a ConfigMap to import; `tools/deploy/monitoring.spec.ts`
 * checks the file is this object and that every query reads served families.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard, Panel } from '@grafana/schema';

const PROMETHEUS = { type: 'prometheus', uid: '${datasource}' };

/** A time-series panel of PromQL queries, each `[expr, legend]`, on a 12 × 8 grid cell. */
function timeseries(
  id: number,
  title: string,
  unit: string,
  queries: Array<[string, string]>,
  description: string,
): Panel {
  return {
    id,
    type: 'timeseries',
    title,
    description,
    datasource: PROMETHEUS,
    gridPos: { x: ((id - 1) % 2) * 12, y: Math.floor((id - 1) / 2) * 8, w: 12, h: 8 },
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull'] } },
    targets: queries.map(([expr, legendFormat], index) => ({
      refId: String.fromCharCode(65 + index),
      datasource: PROMETHEUS,
      expr,
      legendFormat,
    })),
  };
}

export const dashboard: Dashboard = {
  uid: 'jwt-ms-overview',
  title: 'jwt-ms: requests, verification, revocation',
  description:
    'RED per service, the verifier’s decisions by reason, revocation propagation and staleness (docs/metrics.md).',
  tags: ['jwt-ms'],
  editable: true,
  schemaVersion: 39,
  refresh: '10s',
  time: { from: 'now-30m', to: 'now' },
  timepicker: {},
  timezone: 'browser',
  graphTooltip: 1,
  templating: {
    list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }],
  },
  annotations: { list: [] },
  panels: [
    timeseries(
      1,
      'Requests per second, by service',
      'reqps',
      [['sum by (job) (rate(http_server_request_duration_seconds_count{route!="/metrics"}[1m]))', '{{job}}']],
      'Rate: every answer, by service.',
    ),
    timeseries(
      2,
      'Errors: share of 5xx answers, by service',
      'percentunit',
      [
        [
          'sum by (job) (rate(http_server_request_duration_seconds_count{status_code=~"5.."}[1m])) / sum by (job) (rate(http_server_request_duration_seconds_count[1m]))',
          '{{job}}',
        ],
      ],
      'Errors: 503s come from a dependency (Redis, the keys, users-service for orders).',
    ),
    timeseries(
      3,
      'Duration: p50 and p99, by service',
      's',
      [
        [
          'histogram_quantile(0.5, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{route!="/metrics"}[1m])))',
          'p50 {{job}}',
        ],
        [
          'histogram_quantile(0.99, sum by (job, le) (rate(http_server_request_duration_seconds_bucket{route!="/metrics"}[1m])))',
          'p99 {{job}}',
        ],
      ],
      'Duration from the request to the last byte of the answer.',
    ),
    timeseries(
      4,
      'Token checks by result and reason',
      'reqps',
      [['sum by (job, result, reason) (rate(jwt_verifications_total[1m]))', '{{job}} {{result}} {{reason}}']],
      'accepted, rejected (401, by the stable reason), missing (no token), unavailable (503).',
    ),
    timeseries(
      5,
      'Revocation propagation delay: p50 and p99',
      's',
      [
        [
          'histogram_quantile(0.5, sum by (job, le) (rate(revocation_propagation_delay_seconds_bucket[5m])))',
          'p50 {{job}}',
        ],
        [
          'histogram_quantile(0.99, sum by (job, le) (rate(revocation_propagation_delay_seconds_bucket[5m])))',
          'p99 {{job}}',
        ],
      ],
      'From the issuer’s write in Redis’s log to each replica applying it.',
    ),
    timeseries(
      6,
      'Revocation list staleness, by replica',
      's',
      [['revocation_list_staleness_seconds', '{{job}} {{instance}}']],
      'Age of the newest proof the copy is complete; above the bound (2 s) the policy applies; -1: never loaded.',
    ),
    timeseries(
      7,
      'Logins and token grants, by outcome',
      'reqps',
      [
        ['sum by (outcome) (rate(auth_logins_total[1m]))', 'login {{outcome}}'],
        ['sum by (grant_type, outcome) (rate(oauth_token_grants_total[1m]))', '{{grant_type}} {{outcome}}'],
      ],
      'The issuer: /auth/login and /oauth/token.',
    ),
    timeseries(
      8,
      'Refresh rotations, reuse and rate-limit refusals',
      'reqps',
      [
        ['sum(rate(auth_refresh_rotations_total[1m]))', 'rotations'],
        ['sum(rate(auth_refresh_reuse_detected_total[1m]))', 'reuse detected'],
        ['sum by (limiter) (rate(auth_rate_limit_refusals_total[1m]))', 'refused by {{limiter}}'],
      ],
      'Reuse revokes a session; refusals are 429s.',
    ),
  ],
};

/** Where the dashboard is written, beside the rules it goes with. */
export const DASHBOARD_FILE = join(__dirname, '../../k8s/components/monitoring/grafana-dashboard.json');

/** The file's text: the dashboard, two-space JSON and a final newline. */
export function dashboardJson(): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

if (require.main === module) writeFileSync(DASHBOARD_FILE, dashboardJson());
