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
 * The names are counted by {@link countTopLevelMemberNames}, without allocation.
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
  return countTopLevelMemberNames(json) === Object.keys(object).length ? object : 'duplicate';
}

/**
 * Counts the member names (strings followed by a colon, RFC 8259 §4) of the
 * top-level object of a JSON text that `JSON.parse` accepted; for any other
 * text the count means nothing.
 *
 * It is the verifier's hot path (two segments per token), so it jumps from
 * quote to quote with `indexOf` instead of visiting every character of every
 * string: only the few characters between strings (structure, numbers,
 * literals) are looked at one by one, to follow the nesting depth. A quote
 * preceded by an odd run of backslashes is inside a string.
 *
 * @param json a text that `JSON.parse` accepted
 * @returns the number of member names of the outermost object
 */
export function countTopLevelMemberNames(json: string): number {
  const length = json.length;
  let names = 0;
  let depth = 0;
  let index = 0;
  while (index < length) {
    const open = json.indexOf('"', index);
    const structureEnd = open < 0 ? length : open;
    for (let at = index; at < structureEnd; at += 1) {
      const code = json.charCodeAt(at);
      if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth += 1;
      else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth -= 1;
    }
    if (open < 0) break;
    let close = json.indexOf('"', open + 1);
    while (close > 0 && isEscaped(json, close)) close = json.indexOf('"', close + 1);
    if (close < 0) break; // an unterminated string: not a text JSON.parse accepts
    let next = close + 1;
    while (next < length && isJsonWhitespace(json.charCodeAt(next))) next += 1;
    // In valid JSON a string followed by a colon is always a member name.
    if (depth === 1 && json.charCodeAt(next) === COLON) names += 1;
    index = close + 1;
  }
  return names;
}

/** Whether the quote at `at` is escaped: preceded by an odd number of backslashes. */
function isEscaped(json: string, at: number): boolean {
  let backslashes = 0;
  for (let before = at - 1; json.charCodeAt(before) === BACKSLASH; before -= 1) backslashes += 1;
  return backslashes % 2 === 1;
}

/** RFC 8259 §2: space, tab, line feed, carriage return. */
function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
