const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d;

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
 * Counting the names is one pass over the characters, with no allocation.
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
  return countTopLevelMembers(json) === Object.keys(object).length ? object : 'duplicate';
}

/**
 * Counts the member names of the top-level object of a valid JSON text: the
 * strings at depth 1 that are followed by a colon.
 *
 * @param json a valid JSON text whose top-level value is an object
 */
export function countTopLevelMembers(json: string): number {
  let count = 0;
  let depth = 0;
  const length = json.length;
  for (let index = 0; index < length; index += 1) {
    const code = json.charCodeAt(index);
    if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth += 1;
    else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth -= 1;
    else if (code === QUOTE) {
      index += 1;
      while (index < length && json.charCodeAt(index) !== QUOTE) {
        index += json.charCodeAt(index) === BACKSLASH ? 2 : 1;
      }
      if (depth !== 1) continue;
      let next = index + 1;
      while (next < length && isJsonWhitespace(json.charCodeAt(next))) next += 1;
      if (json.charCodeAt(next) === COLON) count += 1;
    }
  }
  return count;
}

/** RFC 8259 §2: space, tab, line feed, carriage return. */
function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
