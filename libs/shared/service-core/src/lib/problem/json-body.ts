/** Deepest nesting accepted in a JSON request body; every API here needs fewer than 5 levels. */
export const MAX_JSON_DEPTH = 16;

/**
 * Checks a parsed JSON body before any validation runs: nesting at most
 * {@link MAX_JSON_DEPTH} levels (deeper input would exhaust the stack of
 * recursive validators), and no string holding a NUL character or a lone
 * UTF-16 surrogate (PostgreSQL cannot store the first, and the second is not
 * text). Iterative, so a hostile body cannot blow the stack here either.
 *
 * @param value the parsed body
 * @returns a description of the first problem, or null when the body is acceptable
 */
export function jsonBodyProblem(value: unknown): string | null {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return 'strings must not contain NUL characters';
      if (!current.isWellFormed()) return 'strings must be well-formed Unicode';
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth > MAX_JSON_DEPTH) return `the body is nested deeper than ${MAX_JSON_DEPTH} levels`;
    const children = Array.isArray(current) ? current : [...Object.keys(current), ...Object.values(current)];
    for (const child of children) stack.push([child, depth + 1]);
  }
  return null;
}
