import { countMemberNames, scanJson } from './member-names';

describe('scanJson', () => {
  it.each<[string, number, number]>([
    ['{"a":1,"b":2}', 2, 2],
    ['{"a":{"a":1,"a":2}}', 3, 1], // nested names count in `all` only
    ['[{"a":1},{"a":1}]', 2, 0], // the top level is an array: no top-level names
    ['{"a":"x:y","b":["p","q"]}', 2, 2], // colons and strings inside values are not names
    ['{"a\\"b" :1,"c":{"d"\n:2}}', 3, 2], // escaped quotes, whitespace before the colon
    ['"a":', 1, 0], // not JSON: counted all the same (meaningless, never trusted)
    ['{}', 0, 0],
  ])('%s: %i names, %i at the top level', (json, all, top) => {
    expect(countMemberNames(json, 'all')).toBe(all);
    expect(countMemberNames(json, 'top-level')).toBe(top);
  });

  it('counts commas and depth outside strings, and stops at the bounds it is given', () => {
    expect(scanJson('{"a":[1,2,[3]],"b":",[{"}')).toMatchObject({ commas: 3, maxDepth: 3, stopped: false });
    expect(scanJson('[' + '1,'.repeat(1000) + '1]', { commas: 10, depth: 16 })).toMatchObject({
      commas: 11,
      stopped: true,
    });
    expect(scanJson('['.repeat(10_000), { commas: 10, depth: 16 })).toMatchObject({ maxDepth: 17, stopped: true });
  });
});
