import { parseJsonObject } from './duplicate-members';

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
  ])('%s → %s', (json, expected) => {
    const result = parseJsonObject(json);
    expect(typeof result === 'object' ? 'object' : result).toBe(expected);
  });
});
