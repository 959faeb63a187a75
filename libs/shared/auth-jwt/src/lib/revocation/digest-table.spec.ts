import { DigestTable, MAX_EXPIRY_SECONDS, digestString, type DigestFunction } from './digest-table';

/** A digest chosen per id, so that a test decides which ids share a home slot (the low lane) or a whole digest. */
function forcedDigest(digests: Record<string, readonly [number, number]>): DigestFunction {
  return (id, out) => {
    const digest = digests[id];
    if (digest === undefined) throw new Error(`no digest for ${id}`);
    out[0] = digest[0];
    out[1] = digest[1];
  };
}

/** Mulberry32: a seeded PRNG, so that a failing random run can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('digestString', () => {
  const digest = (id: string, seedHi: number, seedLo: number) => {
    const out = new Int32Array(2);
    digestString(id, seedHi, seedLo, out);
    return [out[0], out[1]];
  };

  it('is a function of the id and both seeds, each lane of its own seed', () => {
    expect(digest('jti-1', 1, 2)).toEqual(digest('jti-1', 1, 2));
    expect(digest('jti-1', 1, 2)).not.toEqual(digest('jti-2', 1, 2));
    const [hi, lo] = digest('jti-1', 1, 2);
    const [otherHi, otherLo] = digest('jti-1', 1, 3);
    const [thirdHi, thirdLo] = digest('jti-1', 4, 2);
    expect([otherHi === hi, otherLo === lo]).toEqual([false, false]); // the lanes are cross-mixed
    expect([thirdHi === hi, thirdLo === lo]).toEqual([false, false]);
  });

  it('hashes UTF-16 code units: ids differing in one surrogate or beyond Latin-1 differ', () => {
    const ids = ['a\uD800', 'a\uD801', 'a\u0100', 'a\u0000', 'a', '😀', '😁', 'é', 'e\u0301'];
    const digests = new Set(ids.map((id) => digest(id, 7, 9).join(':')));
    expect(digests.size).toBe(ids.length);
  });

  it('spreads 100k uuid-like ids over distinct 64-bit digests and even home slots', () => {
    const random = prng(1);
    const seen = new Set<string>();
    const buckets = new Array<number>(1024).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const id = `${Math.floor(random() * 2 ** 32).toString(16)}-${i.toString(36)}`;
      const [hi, lo] = digest(id, 0x1234, 0x5678);
      seen.add(`${hi}:${lo}`);
      buckets[lo & 1023]++;
    }
    expect(seen.size).toBe(100_000);
    // Expected 97.7 per bucket; a badly mixed low lane would leave buckets near empty or doubled.
    expect(Math.min(...buckets)).toBeGreaterThan(50);
    expect(Math.max(...buckets)).toBeLessThan(150);
  });
});

describe('DigestTable', () => {
  it('adds, finds and merges: the later expiry and the higher value win, in any order', () => {
    const table = new DigestTable({ maxEntries: 10, withValues: true });
    expect(table.upsert('sub-1', 50, 1_700_000_000.5)).toBe('added');
    expect(table.upsert('sub-1', 20, 1_600_000_000)).toBe('updated'); // older and shorter: nothing changes
    expect(table.get('sub-1')).toBe(1_700_000_000.5);
    expect(table.upsert('sub-1', 10, 1_800_000_000)).toBe('updated');
    expect(table.get('sub-1')).toBe(1_800_000_000);
    expect(table.get('sub-2')).toBeUndefined();
    expect(table.has('sub-1')).toBe(true);
    expect(table.size).toBe(1);
    expect(table.prune(49)).toBe(0); // the expiry stayed at 50
    expect(table.prune(50)).toBe(1);
    expect(table.has('sub-1')).toBe(false);
  });

  it('refuses values where they do not belong, and numbers that are not expiries or values', () => {
    const plain = new DigestTable({ maxEntries: 4 });
    const valued = new DigestTable({ maxEntries: 4, withValues: true });
    expect(() => plain.get('x')).toThrow(TypeError);
    expect(() => plain.upsert('x', 1, 5)).toThrow(TypeError);
    expect(() => valued.upsert('x', 1)).toThrow(TypeError);
    expect(() => valued.upsert('x', 1, Number.NaN)).toThrow(RangeError);
    expect(() => valued.upsert('x', 1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => plain.upsert('x', -1)).toThrow(RangeError);
    expect(() => plain.upsert('x', 1.5)).toThrow(RangeError);
    expect(() => plain.upsert('x', MAX_EXPIRY_SECONDS + 1)).toThrow(RangeError);
    expect(plain.upsert('x', MAX_EXPIRY_SECONDS)).toBe('added');
    expect(plain.size + valued.size).toBe(1);
    for (const maxEntries of [0, -1, 1.5, Number.NaN, 2 ** 29 + 1]) {
      expect(() => new DigestTable({ maxEntries })).toThrow(RangeError);
    }
  });

  it('treats ids with one digest as one entry (a collision refuses, never accepts) and stores a 0:0 digest', () => {
    const table = new DigestTable({
      maxEntries: 8,
      withValues: true,
      digest: forcedDigest({ a: [5, 9], b: [5, 9], zero: [0, 0], one: [0, 1], other: [6, 9] }),
    });
    table.upsert('a', 10, 100);
    expect(table.has('b')).toBe(true);
    expect(table.upsert('b', 20, 50)).toBe('updated');
    expect(table.get('a')).toBe(100); // the higher watermark kept for both
    expect(table.has('other')).toBe(false); // same home slot, other digest

    expect(table.has('zero')).toBe(false);
    expect(table.upsert('zero', 10, 1)).toBe('added');
    expect(table.has('zero')).toBe(true);
    expect(table.has('one')).toBe(true); // where 0:0 is remapped
    expect(table.size).toBe(2);
    expect(table.prune(10)).toBe(1);
    expect([table.has('zero'), table.has('a')]).toEqual([false, true]);
  });

  it('draws its seed per table: tables with other seeds place the same ids in other slots', () => {
    const ids = Array.from({ length: 8 }, (_, i) => `jti-${i}`);
    /** At which step a round of one-slot steps drops each id: where the ids sit. */
    const layout = (table: DigestTable) => {
      ids.forEach((id) => table.upsert(id, 0));
      const droppedAt = new Map<string, number>();
      for (let step = 0; table.size > 0; step++) {
        table.prune(0, 1);
        for (const id of ids) if (!droppedAt.has(id) && !table.has(id)) droppedAt.set(id, step);
      }
      return ids.map((id) => droppedAt.get(id)).join(' ');
    };
    const seeded = (seeds: [number, number]) => new DigestTable({ maxEntries: 8, seeds });
    expect(layout(seeded([1, 2]))).toBe(layout(seeded([1, 2])));
    expect(layout(seeded([1, 2]))).not.toBe(layout(seeded([1, 3])));
    // Four tables with random seeds all alike would take four equal layouts of 8 ids in 16 slots.
    const layouts = new Set(Array.from({ length: 4 }, () => layout(new DigestTable({ maxEntries: 8 }))));
    expect(layouts.size).toBeGreaterThan(1);
  });

  it('deletes across the wrap-around: entries after the hole shift back and stay findable', () => {
    // 8 entries at most: 16 slots, never grown. Homes 14, 14, 15, 0, 1 fill slots 14, 15, 0, 1, 2.
    const homes = { a: 14, b: 14, c: 15, d: 0, e: 1 } as const;
    const table = new DigestTable({
      maxEntries: 8,
      digest: forcedDigest(
        Object.fromEntries(Object.entries(homes).map(([id, home], i) => [id, [i + 1, home] as const])),
      ),
    });
    table.upsert('a', 1); // the only one to expire
    for (const id of ['b', 'c', 'd', 'e']) table.upsert(id, 100);
    expect(table.capacity).toBe(16);
    expect(table.prune(1)).toBe(1);
    // Each of b, c, d, e moved back one slot (c from 0 to 15, across the end); left in place, b would be lost.
    expect(['a', 'b', 'c', 'd', 'e'].map((id) => table.has(id))).toEqual([false, true, true, true, true]);
    expect(table.size).toBe(4);
  });

  it('keeps an entry in place when the hole is not on its probe path, across the wrap-around', () => {
    // x: home 15 in slot 15 (expires); y: home 0 in slot 0 (must stay); z: home 15 in slot 1 (must move to 15).
    const table = new DigestTable({
      maxEntries: 8,
      digest: forcedDigest({ x: [1, 15], y: [2, 0], z: [3, 15], w: [4, 1] }),
    });
    table.upsert('x', 1);
    table.upsert('y', 100);
    table.upsert('z', 100);
    table.upsert('w', 100); // home 1, pushed to slot 2
    expect(table.prune(1)).toBe(1);
    expect(['x', 'y', 'z', 'w'].map((id) => table.has(id))).toEqual([false, true, true, true]);
    // Now z sits in 15, y in 0, w in 1; dropping z and w must leave y findable.
    expect(table.upsert('y', 200)).toBe('updated');
    expect(table.prune(100)).toBe(2);
    expect(['y', 'z', 'w'].map((id) => table.has(id))).toEqual([true, false, false]);
  });

  it('drops consecutive expired entries of one run in one pass (the slot is examined again after a drop)', () => {
    const table = new DigestTable({
      maxEntries: 8,
      digest: forcedDigest({ a: [1, 3], b: [2, 3], c: [3, 3], d: [4, 15], e: [5, 15], f: [6, 15] }),
    });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) table.upsert(id, 1); // slots 3, 4, 5 and 15, 0, 1
    expect(table.prune(1)).toBe(6);
    expect(table.size).toBe(0);
  });

  it('prunes in slices that continue where they stopped, through the wrap-around', () => {
    const ids = ['p', 'q', 'r', 's', 't', 'u'];
    const table = new DigestTable({
      maxEntries: 8,
      // Homes 13, 13, 15, 15, 1, 1.
      digest: forcedDigest(Object.fromEntries(ids.map((id, i) => [id, [i + 1, [13, 13, 15, 15, 1, 1][i]] as const]))),
    });
    ids.forEach((id, i) => table.upsert(id, i % 2 === 0 ? 1 : 100)); // p, r, t expire; slots p 13, q 14, r 15,
    // s 0 (home 15, across the end), t 1, u 2
    const held = () => ids.map((id) => table.has(id));
    expect(table.prune(1, 10)).toBe(1); // slots 0 to 8: t dropped (u shifts into 1 and is examined again)
    expect(held()).toEqual([true, true, true, true, false, true]);
    expect(table.prune(1, 5)).toBe(1); // slots 9 to 13: p dropped at 13, q shifted there; the slice ends
    expect(held()).toEqual([false, true, true, true, false, true]);
    // At most once round (16 slots) from 13, across the end: r dropped at 15, s shifted back there from 0.
    expect(table.prune(1, 100)).toBe(1);
    expect(held()).toEqual([false, true, false, true, false, true]);
    expect(table.prune(1, 100)).toBe(0);
    expect(table.size).toBe(3);
  });

  it('grows by doubling at a load factor of 0.5, keeps every entry, and stops at what maxEntries needs', () => {
    const table = new DigestTable({ maxEntries: 1000, withValues: true });
    expect(table.capacity).toBe(16);
    expect(table.bytes()).toBe(16 * 20);
    const capacities = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      expect(table.upsert(`id-${i}`, i, i / 2)).toBe('added');
      capacities.add(table.capacity);
      expect(table.size * 2).toBeLessThanOrEqual(table.capacity);
    }
    expect([...capacities]).toEqual([16, 32, 64, 128, 256, 512, 1024, 2048]);
    expect(table.bytes()).toBe(2048 * 20);
    for (let i = 0; i < 1000; i++) expect(table.get(`id-${i}`)).toBe(i / 2);
    expect(table.prune(499)).toBe(500); // expiries survived the moves
    expect(table.has('id-499')).toBe(false);
    expect(table.has('id-500')).toBe(true);
  });

  it('refuses a new id when full, still merges into held ones, and takes new ones after a prune', () => {
    const table = new DigestTable({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) expect(table.upsert(id, 5)).toBe('added');
    expect(table.upsert('d', 5)).toBe('full');
    expect(table.has('d')).toBe(false);
    expect(table.upsert('a', 9)).toBe('updated');
    expect(table.capacity).toBe(16); // never more than 2 x 3 rounded up, and at least the initial 16
    table.prune(5);
    expect(table.size).toBe(1);
    expect(table.upsert('d', 5)).toBe('added');
  });

  describe.each([
    ['the default digest', undefined],
    [
      // Every home slot among the last 8 of the table, so runs are long and always wrap around.
      'a digest piling every id into the last slots',
      ((id, out) => {
        const n = Number(id.slice(3));
        out[0] = n + 1;
        out[1] = 0xfffffff8 | (Math.imul(n, 0x9e3779b9) >>> 29);
      }) as DigestFunction,
    ],
  ])('against a Map model, %s', (_, digest) => {
    it('agrees over 120k random adds, merges, lookups, clock advances and pruning slices', () => {
      const random = prng(0x13);
      const maxEntries = digest === undefined ? 1500 : 200;
      const pool = 2 * maxEntries + 500;
      // Lifetimes long enough for the table to fill up and refuse, short enough for many to expire.
      const lifetime = digest === undefined ? 1000 : 60;
      const table = new DigestTable({ maxEntries, withValues: true, seeds: [11, 13], digest });
      const model = new Map<string, { expiry: number; value: number }>();
      const seen = { added: 0, updated: 0, full: 0, wholePasses: 0, slices: 0, dropped: 0, largest: 0 };
      /** expect() costs microseconds; call it only on a mismatch, for its message. */
      const same = (actual: unknown, expected: unknown, what: string) => {
        if (actual !== expected) expect({ what, actual }).toEqual({ what, actual: expected });
      };
      let now = 0;
      for (let op = 0; op < 120_000; op++) {
        const roll = random();
        const id = `id-${Math.floor(random() * pool)}`;
        if (roll < 0.5) {
          const expiry = now + Math.floor(random() * lifetime);
          const value = Math.floor(random() * 1000) / 8;
          const held = model.get(id);
          const result = table.upsert(id, expiry, value);
          seen[result]++;
          if (held !== undefined) {
            same(result, 'updated', `upsert ${id} at op ${op}`);
            model.set(id, { expiry: Math.max(expiry, held.expiry), value: Math.max(value, held.value) });
          } else if (model.size >= maxEntries) {
            same(result, 'full', `upsert ${id} at op ${op}`);
          } else {
            same(result, 'added', `upsert ${id} at op ${op}`);
            model.set(id, { expiry, value });
          }
          seen.largest = Math.max(seen.largest, model.size);
        } else if (roll < 0.9) {
          same(table.get(id), model.get(id)?.value, `get ${id} at op ${op}`);
        } else if (roll < 0.97) {
          now += Math.floor(random() * 4);
        } else {
          const whole = random() < 0.3;
          const dropped = whole ? table.prune(now) : table.prune(now, 1 + Math.floor(random() * 64));
          seen[whole ? 'wholePasses' : 'slices']++;
          let gone = 0;
          for (const [heldId, entry] of model) {
            if (table.has(heldId)) continue;
            // Only an expired entry may go ...
            same(entry.expiry <= now, true, `${heldId} dropped early at op ${op}`);
            model.delete(heldId);
            gone++;
          }
          same(gone, dropped, `entries dropped at op ${op}`);
          seen.dropped += dropped;
          // ... and after a whole pass every expired one has.
          if (whole) for (const [heldId, entry] of model) same(entry.expiry > now, true, `${heldId} kept at op ${op}`);
        }
        same(table.size, model.size, `size at op ${op}`);
      }
      for (const [heldId, entry] of model) same(table.get(heldId), entry.value, `${heldId} at the end`);
      for (let i = 0; i < pool; i++) same(table.has(`id-${i}`), model.has(`id-${i}`), `id-${i} at the end`);
      // The run went through every case, at a real load.
      expect(seen.largest).toBe(maxEntries);
      for (const count of [seen.added, seen.updated, seen.full, seen.wholePasses, seen.slices, seen.dropped]) {
        expect(count).toBeGreaterThan(100);
      }
    });
  });
});
