const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d;

/**
 * Counts the member names spelled in a valid JSON text: the strings followed
 * by a colon (RFC 8259 §4), either only those of the top-level object or
 * those of every object at any depth.
 *
 * Why: `JSON.parse` keeps one member per name (the last), so a text repeats a
 * name exactly when it spells more names than the parsed objects have keys.
 * Comparing the two counts finds a duplicate at any depth, also one name
 * spelled two ways (`"a"` and `"\u0061"`), in one pass over the characters
 * with no allocation: cheap enough for every request body and every token.
 *
 * @param json a text that `JSON.parse` accepted (the result is meaningless for any other)
 * @param scope `'top-level'`: names of the outermost object only; `'all'`: names of every object
 * @returns the number of member names
 */
export function countMemberNames(json: string, scope: 'top-level' | 'all'): number {
  const everyDepth = scope === 'all';
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
      // In valid JSON a string followed by a colon is always a member name, whatever the depth.
      if (!everyDepth && depth !== 1) continue;
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
