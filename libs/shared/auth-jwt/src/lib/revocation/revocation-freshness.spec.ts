import { Logger } from '@nestjs/common';
import { RevocationUnavailableError } from './revocation';
import { RevocationFreshness } from './revocation-freshness';

const BOUND_MS = 2000;

describe('RevocationFreshness (the policy, on a frozen monotonic clock)', () => {
  let clock = 0;
  const warnings: string[] = [];
  const errors: string[] = [];
  const freshness = (policy: 'fail-closed' | 'fail-open') => new RevocationFreshness(BOUND_MS, policy, () => clock);

  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => void errors.push(String(message)));
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());
  beforeEach(() => {
    clock = 100_000;
    warnings.length = 0;
    errors.length = 0;
  });

  it.each(['fail-closed', 'fail-open'] as const)('refuses before the first full read, under %s too', (policy) => {
    const state = freshness(policy);
    expect(() => state.assertUsable()).toThrow(RevocationUnavailableError);
    expect(state.probe()).toEqual({
      up: false,
      details: {
        fresh: false,
        loaded: false,
        lost: false,
        full: false,
        stalenessMs: null,
        maxStalenessMs: BOUND_MS,
        policy,
      },
    });
  });

  it('is usable up to the bound after the instant it was known complete, then fails closed, once logged', () => {
    const state = freshness('fail-closed');
    state.markLoaded(clock);
    clock += BOUND_MS;
    expect(() => state.assertUsable()).not.toThrow();
    expect(state.probe()).toMatchObject({ up: true, details: { fresh: true, stalenessMs: BOUND_MS } });

    clock += 1;
    expect(() => state.assertUsable()).toThrow(RevocationUnavailableError);
    expect(() => state.assertUsable()).toThrow(RevocationUnavailableError);
    expect(state.probe()).toMatchObject({ up: false, details: { fresh: false, loaded: true } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('refusing every token (fail closed)');

    state.markFresh(clock); // a PONG
    expect(() => state.assertUsable()).not.toThrow();
  });

  it('answers from the last copy when stale under fail-open, and says so in readiness', () => {
    const state = freshness('fail-open');
    state.markLoaded(clock);
    clock += BOUND_MS + 1;
    expect(() => state.assertUsable()).not.toThrow();
    expect(state.probe()).toMatchObject({ up: true, details: { fresh: false, policy: 'fail-open' } });
    expect(warnings[0]).toContain('answering from the last copy (fail open)');
  });

  it('never moves freshness backwards (a late PONG of an older PING)', () => {
    const state = freshness('fail-closed');
    state.markLoaded(clock);
    state.markFresh(clock - 10_000);
    clock += BOUND_MS;
    expect(state.isFresh()).toBe(true);
  });

  it('counts a loss once until a generation is established, and refuses meanwhile only under fail-closed', () => {
    const closed = freshness('fail-closed');
    const open = freshness('fail-open');
    for (const state of [closed, open]) {
      state.markLoaded(clock);
      state.markLost('gone');
      state.markLost('gone'); // seen again by the next read: the same loss
      expect(state.losses()).toBe(1);
      expect(state.isLost()).toBe(true);
    }
    expect(() => closed.assertUsable()).toThrow(RevocationUnavailableError);
    expect(closed.probe()).toMatchObject({ up: false, details: { lost: true, fresh: true } });
    expect(() => open.assertUsable()).not.toThrow();
    expect(open.probe()).toMatchObject({ up: true, details: { lost: true } });
    expect(errors).toHaveLength(2);

    closed.markEstablished('g2');
    expect(() => closed.assertUsable()).not.toThrow();
    expect(closed.losses()).toBe(1);
    closed.markLost('replaced by generation g3');
    expect(closed.losses()).toBe(2);
  });
});
