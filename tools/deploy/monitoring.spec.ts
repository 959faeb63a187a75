import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '@jwt-ms/testing';
import { DASHBOARD_FILE, dashboard, dashboardJson } from '../monitoring/dashboard';

/**
 * The alerting rules (k8s/components/monitoring), checked by Debian's
 * promtool: they parse, each alert fires on the sample series of
 * alerts.test.yaml and stays quiet where it should, each names a runbook
 * section that exists, and each family it reads is one the services serve.
 */
const MONITORING = join(ROOT, 'k8s/components/monitoring');

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: MONITORING, encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

type Rule = { alert: string; expr: string; annotations?: Record<string, string> };
const rules = (): Rule[] =>
  (
    parse(readFileSync(join(MONITORING, 'alerts.rules.yaml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }
  ).groups.flatMap((group) => group.rules);

describe('alerting rules', () => {
  it('pass promtool check rules', () => {
    const check = promtool('check', 'rules', 'alerts.rules.yaml');
    expect(check).toEqual({ status: 0, output: expect.stringContaining('SUCCESS: 7 rules found') });
  });

  it('pass promtool test rules on sample series', () => {
    const test = promtool('test', 'rules', 'alerts.test.yaml');
    expect(test).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('are each tested on series that raise them', () => {
    const tests = readFileSync(join(MONITORING, 'alerts.test.yaml'), 'utf8');
    for (const { alert } of rules())
      expect({ alert, tested: tests.includes(`alertname: ${alert}`) }).toEqual({ alert, tested: true });
  });

  it('each link to a runbook section that exists', () => {
    const runbook = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^#{2,4} (.+)$/gm)].map((heading) =>
        heading[1]
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const { alert, annotations } of rules()) {
      const anchor = annotations?.['runbook']?.split('#')[1];
      expect({ alert, anchor, exists: anchor !== undefined && anchors.has(anchor) }).toEqual({
        alert,
        anchor,
        exists: true,
      });
    }
  });

  it('read only families the services serve', () => {
    const sources = spawnSync('grep', ['-rhoE', '--include=*.ts', "name: '[a-z_]+'", 'apps', 'libs'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).stdout;
    const served = new Set([...sources.matchAll(/name: '([a-z_]+)'/g)].map((match) => match[1]));
    expect(served.size).toBeGreaterThan(10);
    for (const { alert, expr } of rules()) {
      const families = [...expr.matchAll(/\b((?:jwt|jwks|revocation|auth|http_server|oauth)_[a-z_]+)\b/g)].map(
        (match) => match[1].replace(/_(bucket|count|sum)$/, ''),
      );
      expect(families.length).toBeGreaterThan(0);
      for (const family of families)
        expect({ alert, family, served: served.has(family) }).toEqual({ alert, family, served: true });
    }
  });
});

describe('the Grafana dashboard', () => {
  it('is the file the monitoring component ships (npm run dashboard writes it)', () => {
    expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(dashboardJson());
  });

  it('covers RED per service, the verification outcomes, propagation and staleness, from served families', () => {
    const exprs = (dashboard.panels ?? []).flatMap((panel) =>
      ('targets' in panel ? (panel.targets ?? []) : []).map((target) => String(target['expr'])),
    );
    const all = exprs.join('\n');
    for (const family of [
      'http_server_request_duration_seconds_count',
      'http_server_request_duration_seconds_bucket',
      'jwt_verifications_total',
      'revocation_propagation_delay_seconds_bucket',
      'revocation_list_staleness_seconds',
    ])
      expect({ family, shown: all.includes(family) }).toEqual({ family, shown: true });
    expect(all).toContain('status_code=~"5.."');
    const sources = spawnSync('grep', ['-rhoE', '--include=*.ts', "name: '[a-z_]+'", 'apps', 'libs'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).stdout;
    const served = new Set([...sources.matchAll(/name: '([a-z_]+)'/g)].map((match) => match[1]));
    for (const family of new Set(
      [...all.matchAll(/\b((?:jwt|jwks|revocation|auth|http_server|oauth)_[a-z_]+)\b/g)].map((m) =>
        m[1].replace(/_(bucket|count|sum)$/, ''),
      ),
    ))
      expect({ family, served: served.has(family) }).toEqual({ family, served: true });
    const ids = (dashboard.panels ?? []).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
