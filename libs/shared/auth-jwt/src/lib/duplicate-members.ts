import { countMemberNames } from '@jwt-ms/service-core';

/**
 * Parses a JSON text whose top-level value must be an object with no member
 * name repeated. RFC 7515 §4 and RFC 7519 §4 let a recipient either reject
 * such a JOSE header or claims set, or take the last value; we reject, so that
 * no two parsers (ours, a proxy's, a logger's) can read different claims from
 * one token.
 *
 * How: `JSON.parse` keeps one member per name, so the text has a duplicate
 * exactly when it spells more top-level member names than the parsed object
 * has keys (this also catches one name spelled two ways, `"a"` and `"\u0061"`).
 * Counting the names is one pass over the characters, with no allocation
 * (`countMemberNames`, shared with the request-body parser).
 *
 * @param json the decoded text of a header or payload segment
 * @returns the object, `'not-object'` (not JSON, or not an object), or `'duplicate'`
 */
export function parseJsonObject(json: string): Record<string, unknown> | 'not-object' | 'duplicate' {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return 'not-object';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not-object';
  const object = value as Record<string, unknown>;
  return countMemberNames(json, 'top-level') === Object.keys(object).length ? object : 'duplicate';
}
