import { countMemberNames } from '@jwt-ms/service-core';
import { countTopLevelMemberNames, parseJsonObject } from './duplicate-members';

describe('parseJsonObject', () => {
  it.each<[string, 'object' | 'not-object' | 'duplicate']>([
    ['{"a":1,"b":2}', 'object'],
    ['{"a":1,"a":2}', 'duplicate'],
    ['{"sub":"x", "sub" : "y"}', 'duplicate'],
    ['{"a":1,\n\t"a"\r\n:2}', 'duplicate'], // every JSON whitespace between a name and its colon
    ['{"a":{"b":1,"b":2}}', 'object'], // nested objects are the claim's own business
    ['{"a":"b","c":"b"}', 'object'], // equal values are not names
    ['{"a":"x:y","b":["p","q"]}', 'object'], // colons and strings inside values are not names
    ['{"a\\"b":1,"a\\"b":2}', 'duplicate'], // escaped quotes inside names
    ['{"a\\\\":1,"b":2}', 'object'], // an escaped backslash ends the name
    ['{"\\u0061":1,"a":2}', 'duplicate'], // the same name spelled with an escape
    ['{"__proto__":1,"__proto__":2}', 'duplicate'],
    ['{"roles":["a","a"]}', 'object'],
    ['{}', 'object'],
    ['[]', 'not-object'],
    ['null', 'not-object'],
    ['"x"', 'not-object'],
    ['{"a":1', 'not-object'],
    ['{"a":"}","a":1}', 'duplicate'], // braces inside strings do not nest
    ['{"{":1,"}":2,"[":3}', 'object'],
    ['{"a":"\\\\","a":1}', 'duplicate'], // a value ending in an escaped backslash
    ['{"a":"x\\"y","b":{"c":1,"c":2}}', 'object'],
    ['{"a":"\\\\\\"","a":2}', 'duplicate'], // an escaped backslash, then an escaped quote
    [' \n{ "a" : [ {"a":1} , "a" ] , "b" : 2 } ', 'object'],
    ['{"a":[{"b":1}],"a":[]}', 'duplicate'],
  ])('%s → %s', (json, expected) => {
    const result = parseJsonObject(json);
    expect(typeof result === 'object' ? 'object' : result).toBe(expected);
  });
});

describe('countTopLevelMemberNames', () => {
  // A generator of JSON texts full of what trips a scanner: escapes, quotes and brackets in strings, nesting.
  const pieces = ['a', '"', '\\', '{', '}', '[', ']', ':', ',', ' ', 'é', '\u0000'];
  let seed = 12345;
  const random = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  const text = () => Array.from({ length: random(6) }, () => pieces[random(pieces.length)]).join('');
  const value = (depth: number): unknown => {
    const kind = random(depth > 2 ? 3 : 5);
    if (kind === 0) return text();
    if (kind === 1) return random(1000) - 500;
    if (kind === 2) return [true, false, null][random(3)];
    if (kind === 3) return Array.from({ length: random(4) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: random(6) }, () => [text(), value(depth)]));

  it('counts what the reference scanner of service-core counts, on 2000 generated texts', () => {
    for (let sample = 0; sample < 2000; sample += 1) {
      const json = JSON.stringify(object(0), null, sample % 3 === 0 ? 1 : undefined);
      expect([json, countTopLevelMemberNames(json)]).toEqual([json, countMemberNames(json, 'top-level')]);
    }
  });
});
