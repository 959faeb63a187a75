import type { Options } from 'k6/options';

/**
 * Named load profiles: the same journey at increasing load. Thresholds are the
 * pass/fail contract of every scenario; a scenario may add its own.
 */
export const PROFILES: Record<string, Pick<Options, 'stages' | 'vus' | 'duration'>> = {
  /** A minute of a few users: does the journey work at all? */
  smoke: { vus: 2, duration: '30s' },
  /** Steady, realistic load. */
  average: {
    stages: [
      { duration: '30s', target: 20 },
      { duration: '2m', target: 20 },
      { duration: '30s', target: 0 },
    ],
  },
  /** Beyond the expected peak, to find where latency breaks. */
  stress: {
    stages: [
      { duration: '30s', target: 50 },
      { duration: '2m', target: 100 },
      { duration: '30s', target: 0 },
    ],
  },
};

/** Fails the run when errors or latency pass these bounds. */
export const BASE_THRESHOLDS: Options['thresholds'] = {
  http_req_failed: ['rate<0.01'],
  http_req_duration: ['p(95)<200', 'p(99)<500'],
  checks: ['rate>0.99'],
};

/** The options of a scenario: the chosen profile plus the shared thresholds and its own. */
export function optionsFor(profile: string, thresholds: Options['thresholds'] = {}): Options {
  const chosen = PROFILES[profile];
  if (!chosen) throw new Error(`unknown PROFILE "${profile}": use one of ${Object.keys(PROFILES).join(', ')}`);
  return { ...chosen, thresholds: { ...BASE_THRESHOLDS, ...thresholds } };
}
