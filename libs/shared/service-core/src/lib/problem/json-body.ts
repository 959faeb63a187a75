import { scanJson } from '../json/member-names';

/** Deepest nesting accepted in a JSON request body; every API here needs fewer than 5 levels. */
export const MAX_JSON_DEPTH = 16;

/**
 * Most values (the body itself, every member value and every array element,
 * at any depth) accepted in a request body. The largest body of any API here
 * (an order of 20 items) has 82. Validation costs per value (class-transformer
 * copies each, class-validator visits each and builds an error for each it
 * refuses), so without this bound a 64 KiB body of some 6,500 members costs
 * 20 times a normal request; with it, the worst accepted body costs a small
 * multiple (`npm run bench -- bodies`).
 */
export const MAX_JSON_VALUES = 256;

/**
 * Checks a JSON body's text before it is parsed, in one pass with no
 * allocation: more commas than {@link MAX_JSON_VALUES} means more values than
 * that, and nesting deeper than {@link MAX_JSON_DEPTH} is refused too, so
 * neither costs a `JSON.parse` (a 64 KiB object of 6,500 members takes longer
 * to parse than a whole normal request takes to serve). A text that is not
 * JSON at all may be refused here for its commas or brackets; it is a 400
 * either way.
 *
 * @param text the body as received
 * @returns `problem`: a description, or null; `memberNames`: the member names the text spells, for
 *   {@link jsonBodyProblem}'s duplicate check once it is parsed
 */
export function jsonTextProblem(text: string): { problem: string | null; memberNames: number } {
  const shape = scanJson(text, { commas: MAX_JSON_VALUES, depth: MAX_JSON_DEPTH });
  if (shape.maxDepth > MAX_JSON_DEPTH)
    return { problem: `the body is nested deeper than ${MAX_JSON_DEPTH} levels`, memberNames: shape.memberNames };
  if (shape.commas > MAX_JSON_VALUES)
    return { problem: `the body holds more than ${MAX_JSON_VALUES} values`, memberNames: shape.memberNames };
  return { problem: null, memberNames: shape.memberNames };
}

/**
 * Checks a parsed JSON (or form) body before any validation runs:
 * - nesting at most {@link MAX_JSON_DEPTH} levels (deeper input would exhaust
 *   the stack of recursive validators);
 * - at most {@link MAX_JSON_VALUES} values;
 * - no string (value or member name) holding a NUL character or a lone UTF-16
 *   surrogate (PostgreSQL cannot store the first, and the second is not text);
 * - with `memberNames`, no object that names a member twice (RFC 8259 §4
 *   leaves it to the parser; `JSON.parse` keeps the last, another parser may
 *   keep the first, so we refuse, as tokens do).
 *
 * Iterative, so a hostile body cannot blow the stack here either; it stops at
 * the first problem.
 *
 * @param value the parsed body
 * @param memberNames the member names its JSON text spells ({@link jsonTextProblem}), for the duplicate
 *   check: the parsed objects have fewer keys exactly when a name was repeated; omitted for a form body
 *   (whose parser refuses repeated parameters itself)
 * @returns a description of the first problem, or null when the body is acceptable
 */
export function jsonBodyProblem(value: unknown, memberNames?: number): string | null {
  const stack: Array<[unknown, number]> = [[value, 1]];
  // Counted as they are found, so a body of thousands of members stops after the first few hundred.
  let values = 1;
  let keys = 0;
  const tooMany = `the body holds more than ${MAX_JSON_VALUES} values`;
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem) return problem;
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth > MAX_JSON_DEPTH) return `the body is nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (Array.isArray(current)) {
      values += current.length;
      if (values > MAX_JSON_VALUES) return tooMany;
      for (const child of current) stack.push([child, depth + 1]);
      continue;
    }
    const names = Object.keys(current);
    values += names.length;
    if (values > MAX_JSON_VALUES) return tooMany;
    for (const name of names) {
      const problem = stringProblem(name);
      if (problem) return problem;
      keys += 1;
      stack.push([(current as Record<string, unknown>)[name], depth + 1]);
    }
  }
  if (memberNames !== undefined && memberNames !== keys) return 'an object names the same member more than once';
  return null;
}

function stringProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'strings must not contain NUL characters';
  if (!text.isWellFormed()) return 'strings must be well-formed Unicode';
  return null;
}
