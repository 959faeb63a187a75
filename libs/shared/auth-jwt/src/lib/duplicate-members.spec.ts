import { duplicateTopLevelMember } from './duplicate-members';

describe('duplicateTopLevelMember', () => {
  it.each<[string, string | null]>([
    ['{"a":1,"b":2}', null],
    ['{"a":1,"a":2}', 'a'],
    ['{"sub":"x", "sub" : "y"}', 'sub'],
    ['{"a":{"b":1,"b":2}}', null], // nested objects are the claim's own business
    ['{"a":"b","c":"b"}', null], // equal values are not names
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'], // escaped quotes inside names
    ['{"\\u0061":1,"a":2}', 'a'], // the same name spelled with an escape
    ['{"roles":["a","a"]}', null],
    ['{}', null],
  ])('%s → %s', (json, expected) => {
    expect(duplicateTopLevelMember(json)).toBe(expected);
  });
});
