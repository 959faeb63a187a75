const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d;

/** What {@link scanJson} counts in a JSON text. */
export interface JsonTextShape {
  /** Member names of the top-level object. */
  topLevelMemberNames: number;
  /** Member names of every object, at any depth. */
  memberNames: number;
  /** Commas outside strings: a text holds more values than it has commas. */
  commas: number;
  /** Deepest nesting of objects and arrays (a scalar text is 0, `{}` is 1). */
  maxDepth: number;
  /** Whether the scan stopped early, at one of the `stopAt` bounds (the counts are then partial). */
  stopped: boolean;
}

/**
 * Counts, in one pass over the characters and with no allocation, what a JSON
 * text spells: member names (the strings followed by a colon, RFC 8259 §4),
 * commas and nesting depth. For a text `JSON.parse` accepts the counts are
 * exact; for any other they mean nothing (parse it to find out).
 *
 * Why: `JSON.parse` keeps one member per name (the last), so a text repeats a
 * name exactly when it spells more names than the parsed objects have keys
 * (one name spelled two ways, `"a"` and `"\u0061"`, included); and the commas
 * and the depth bound what parsing and validating the text will cost before
 * it is parsed at all.
 *
 * @param json the text
 * @param stopAt stop scanning once the commas or the depth pass these bounds (`stopped` says so)
 * @returns the counts
 */
export function scanJson(json: string, stopAt?: { commas: number; depth: number }): JsonTextShape {
  let topLevelMemberNames = 0;
  let memberNames = 0;
  let commas = 0;
  let depth = 0;
  let maxDepth = 0;
  const maxCommas = stopAt?.commas ?? Infinity;
  const deepest = stopAt?.depth ?? Infinity;
  const length = json.length;
  for (let index = 0; index < length; index += 1) {
    const code = json.charCodeAt(index);
    if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth += 1;
      if (depth > maxDepth) {
        maxDepth = depth;
        if (depth > deepest) return { topLevelMemberNames, memberNames, commas, maxDepth, stopped: true };
      }
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth -= 1;
    else if (code === COMMA) {
      commas += 1;
      if (commas > maxCommas) return { topLevelMemberNames, memberNames, commas, maxDepth, stopped: true };
    } else if (code === QUOTE) {
      index += 1;
      while (index < length && json.charCodeAt(index) !== QUOTE) {
        index += json.charCodeAt(index) === BACKSLASH ? 2 : 1;
      }
      let next = index + 1;
      while (next < length && isJsonWhitespace(json.charCodeAt(next))) next += 1;
      // In valid JSON a string followed by a colon is always a member name, whatever the depth.
      if (json.charCodeAt(next) === COLON) {
        memberNames += 1;
        if (depth === 1) topLevelMemberNames += 1;
      }
    }
  }
  return { topLevelMemberNames, memberNames, commas, maxDepth, stopped: false };
}

/**
 * Counts the member names spelled in a valid JSON text (see {@link scanJson}),
 * either only those of the top-level object or those of every object.
 *
 * @param json a text that `JSON.parse` accepted (the result is meaningless for any other)
 * @param scope `'top-level'`: names of the outermost object only; `'all'`: names of every object
 * @returns the number of member names
 */
export function countMemberNames(json: string, scope: 'top-level' | 'all'): number {
  const shape = scanJson(json);
  return scope === 'all' ? shape.memberNames : shape.topLevelMemberNames;
}

/** RFC 8259 §2: space, tab, line feed, carriage return. */
function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
