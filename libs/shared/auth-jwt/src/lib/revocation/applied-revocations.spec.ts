import type { RevocationEntry } from '@jwt-ms/contracts';
import { APPLIED_REVOCATIONS_CAPACITY, AppliedRevocations } from './applied-revocations';

const T0 = Date.UTC(2026, 11, 3, 18, 30);
const session = (id: string, expiresAtMs = T0 + 960_000): RevocationEntry => ({ kind: 'session', id, expiresAtMs });
const subject = (id: string, notBefore: number): RevocationEntry => ({
  kind: 'subject',
  id,
  notBefore,
  expiresAtMs: T0 + 960_000,
});
const pushed = (announcedAtMs: number, appliedAtMs: number) =>
  ({ source: 'pubsub', announcedAtMs, appliedAtMs }) as const;
const loaded = (appliedAtMs: number, announcedAtMs: number | null = null, readId = 1) =>
  ({ source: 'load', announcedAtMs, appliedAtMs, readId }) as const;

describe('AppliedRevocations', () => {
  it('records an entry pushed by the log with its announcement, its application and the delay between', () => {
    const record = new AppliedRevocations();
    record.record(session('s-1'), pushed(T0, T0 + 7));
    expect(record.find('session', 's-1')).toEqual({
      kind: 'session',
      id: 's-1',
      expiresAtMs: T0 + 960_000,
      announcedAtMs: T0,
      appliedAtMs: T0 + 7,
      delayMs: 7,
      source: 'pubsub',
    });
  });

  it('measures nothing for an entry found by a full read: delay null, source load', () => {
    const record = new AppliedRevocations();
    record.record(session('from-hash'), loaded(T0 + 50));
    record.record(session('from-log-after-scan'), loaded(T0 + 60, T0 + 10));
    expect(record.find('session', 'from-hash')).toMatchObject({
      announcedAtMs: null,
      appliedAtMs: T0 + 50,
      delayMs: null,
      source: 'load',
    });
    // The log read that ends a full read knows when the entry was written, but its lateness is the read's.
    expect(record.find('session', 'from-log-after-scan')).toMatchObject({
      announcedAtMs: T0 + 10,
      delayMs: null,
      source: 'load',
    });
  });

  it("counts a negative delay (Redis's clock ahead of this host's) as 0, as the propagation metric does", () => {
    const record = new AppliedRevocations();
    record.record(session('skewed'), pushed(T0 + 5, T0));
    expect(record.find('session', 'skewed')?.delayMs).toBe(0);
  });

  it('keeps the kinds apart: a jti, a sid and a sub with the same text are three records', () => {
    const record = new AppliedRevocations();
    record.record({ kind: 'token', id: 'same', expiresAtMs: T0 + 1000 }, pushed(T0, T0 + 1));
    record.record(session('same'), pushed(T0, T0 + 2));
    record.record(subject('same', T0 / 1000), pushed(T0, T0 + 3));
    expect(record.find('token', 'same')?.delayMs).toBe(1);
    expect(record.find('session', 'same')?.delayMs).toBe(2);
    expect(record.find('subject', 'same')).toMatchObject({ delayMs: 3, notBefore: T0 / 1000 });
    expect(record.find('token', 'other')).toBeUndefined();
  });

  it('holds at most its capacity per source, whatever the rate, and drops the oldest first', () => {
    const record = new AppliedRevocations({ capacity: 100 });
    for (let i = 0; i < 10_000; i += 1) record.record(session(`p-${i}`), pushed(T0 + i, T0 + i + 1));
    // One full read per 50 entries: each may record up to the capacity, so only the ring bounds them.
    for (let i = 0; i < 10_000; i += 1) record.record(session(`l-${i}`), loaded(T0 + i, null, Math.floor(i / 50)));
    expect(record.size()).toBe(200);
    expect(record.find('session', 'p-9899')).toBeUndefined();
    expect(record.find('session', 'p-9900')?.source).toBe('pubsub');
    expect(record.find('session', 'p-9999')?.source).toBe('pubsub');
    expect(record.find('session', 'l-9899')).toBeUndefined();
    expect(record.find('session', 'l-9900')?.source).toBe('load');
  });

  it('records at most its capacity of one full read (the first it finds), and again from the next one', () => {
    const record = new AppliedRevocations({ capacity: 10 });
    for (let i = 0; i < 1000; i += 1) record.record(session(`first-${i}`), loaded(T0, null, 1));
    expect(record.find('session', 'first-9')?.source).toBe('load');
    expect(record.find('session', 'first-10')).toBeUndefined();
    expect(record.find('session', 'first-999')).toBeUndefined();
    for (let i = 0; i < 1000; i += 1) record.record(session(`second-${i}`), loaded(T0 + 1, null, 2));
    expect(record.find('session', 'second-9')?.source).toBe('load');
    expect(record.find('session', 'second-10')).toBeUndefined();
    expect(record.find('session', 'first-9')).toBeUndefined(); // pushed out by the second read's
    expect(record.size()).toBe(10);
  });

  it('evicts the least recently recorded: recording a key again makes it the newest', () => {
    const record = new AppliedRevocations({ capacity: 3 });
    record.record(subject('a', 1), pushed(T0, T0 + 1));
    record.record(session('b'), pushed(T0, T0 + 1));
    record.record(session('c'), pushed(T0, T0 + 1));
    record.record(subject('a', 2), pushed(T0 + 10, T0 + 12)); // a's watermark rose: newest now
    record.record(session('d'), pushed(T0, T0 + 1));
    expect(record.find('session', 'b')).toBeUndefined();
    expect(record.find('subject', 'a')).toMatchObject({ notBefore: 2, delayMs: 2 });
    expect(record.find('session', 'c')).toBeDefined();
    expect(record.find('session', 'd')).toBeDefined();
    expect(record.size()).toBe(3);
  });

  it('a full read of a large list does not push out the delays measured from the log', () => {
    const record = new AppliedRevocations({ capacity: 10 });
    record.record(session('measured'), pushed(T0, T0 + 3));
    for (let i = 0; i < 1000; i += 1) record.record(session(`bulk-${i}`), loaded(T0 + 100));
    expect(record.find('session', 'measured')).toMatchObject({ source: 'pubsub', delayMs: 3 });
  });

  it('a full read finding the same entry again keeps the measured record', () => {
    const record = new AppliedRevocations();
    record.record(session('s'), pushed(T0, T0 + 4));
    record.record(session('s'), loaded(T0 + 5000));
    expect(record.find('session', 's')).toMatchObject({ source: 'pubsub', delayMs: 4, appliedAtMs: T0 + 4 });
    expect(record.size()).toBe(1);
  });

  it('a full read finding a different entry (written while the log was not followed) supersedes the measured one', () => {
    const record = new AppliedRevocations();
    record.record(subject('u', 100), pushed(T0, T0 + 4));
    record.record(subject('u', 200), loaded(T0 + 5000));
    expect(record.find('subject', 'u')).toMatchObject({ source: 'load', notBefore: 200, delayMs: null });
    // …and the log's next announcement for the key supersedes the loaded one.
    record.record(subject('u', 300), pushed(T0 + 6000, T0 + 6002));
    expect(record.find('subject', 'u')).toMatchObject({ source: 'pubsub', notBefore: 300, delayMs: 2 });
    expect(record.size()).toBe(1);
  });

  it('defaults to 4096 per source and refuses a capacity that is not a positive integer', () => {
    expect(new AppliedRevocations().capacity).toBe(APPLIED_REVOCATIONS_CAPACITY);
    expect(APPLIED_REVOCATIONS_CAPACITY).toBe(4096);
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => new AppliedRevocations({ capacity })).toThrow('capacity is a positive integer');
    }
  });
});
