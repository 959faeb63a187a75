/**
 * Finds a member name that appears twice in the top-level object of a JSON
 * text. RFC 7515 §4 and RFC 7519 §4 let a recipient either reject such a JOSE
 * header or claims set, or take the last value; we reject, so that no two
 * parsers (ours, a proxy's, a logger's) can read different claims from one token.
 *
 * The text must already be valid JSON (parse it first); this only scans it.
 *
 * @param json a JSON text whose top-level value is an object
 * @returns the first repeated member name, or null
 */
export function duplicateTopLevelMember(json: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let index = 0; index < json.length; index += 1) {
    const char = json[index];
    if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') depth -= 1;
    else if (char === '"') {
      const start = index;
      index += 1;
      while (index < json.length && json[index] !== '"') index += json[index] === '\\' ? 2 : 1;
      if (depth !== 1) continue;
      let next = index + 1;
      while (next < json.length && /\s/.test(json[next])) next += 1;
      if (json[next] !== ':') continue; // a value, not a member name
      const name = JSON.parse(json.slice(start, index + 1)) as string;
      if (seen.has(name)) return name;
      seen.add(name);
    }
  }
  return null;
}
