import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The documentation is a set of pages that point at each other and at the code: README.md, docs/**, and each
 * lib's README. A page moved or a heading renamed must not leave a link behind that leads nowhere, so every
 * relative link is resolved here, offline: its file (or folder) must exist inside the repository, and an anchor
 * into a Markdown page must name one of that page's headings (GitHub's heading ids).
 */

const ROOT = resolve(__dirname, '../..');

/** The documentation pages, tracked or new and not ignored, as paths relative to the repository root. */
function documentationPages(): string[] {
  return execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'README.md', 'docs/*.md', 'libs/*/README.md'],
    { cwd: ROOT, encoding: 'utf8' },
  )
    .split('\n')
    .filter((file) => file && existsSync(join(ROOT, file)));
}

/** The page without fenced code blocks (their lines become empty, so line numbers still count). */
function withoutCodeBlocks(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence === null && opening) {
      fence = opening[1];
      return '';
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence)) fence = null;
      return '';
    }
    return line;
  });
}

/**
 * The id GitHub gives a heading: lower case, punctuation dropped (letters, digits, `-`, `_` and spaces kept),
 * each space a `-`.
 *
 * @param heading the heading's text, Markdown included (links keep their text, code spans their content)
 */
function headingId(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The ids of a page's headings, a repeated one numbered as GitHub does (`x`, `x-1`, `x-2`). */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCodeBlocks(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const id = headingId(heading[1]);
    const count = seen.get(id) ?? 0;
    seen.set(id, count + 1);
    ids.add(count === 0 ? id : `${id}-${count}`);
  }
  return ids;
}

/** One link of a page: its line (1-based) and its target as written. */
interface Link {
  line: number;
  target: string;
}

/** The links of a page outside code: inline `[text](target)`, images, and reference definitions `[id]: target`. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  withoutCodeBlocks(markdown).forEach((raw, index) => {
    const line = raw.replace(/`[^`]*`/g, ''); // code spans show paths, they do not link them
    for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line: index + 1, target: match[1] });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
    if (definition) links.push({ line: index + 1, target: definition[1] });
  });
  return links;
}

/**
 * Why a relative link of `page` leads nowhere, or null when it resolves. Links with a scheme (`https:`,
 * `mailto:`) are not this check's business.
 *
 * @param page the linking page, relative to the repository root
 * @param target the link target as written, e.g. `../docs/verification.md#the-checks`
 */
function brokenBecause(page: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null;
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const file = pathPart === '' ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURIComponent(pathPart));
  if (relative(ROOT, file).startsWith('..')) return 'points outside the repository';
  if (!existsSync(file)) return `${relative(ROOT, file)} does not exist`;
  if (anchor === undefined || anchor === '') return null;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return null;
  return headingIds(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor).toLowerCase())
    ? null
    : `${relative(ROOT, file)} has no heading #${anchor}`;
}

describe('links in the documentation', () => {
  it('are found outside code and heading ids are computed as GitHub does', () => {
    const page = [
      'See [the checks](docs/verification.md#the-checks) and `[not](a-link.md)`.',
      '```sh',
      '[also not](inside-a-fence.md)',
      '```',
      '[ref]: ./docs/api.md',
    ].join('\n');
    expect(linksOf(page)).toEqual([
      { line: 1, target: 'docs/verification.md#the-checks' },
      { line: 5, target: './docs/api.md' },
    ]);
    expect(headingId("Losing Redis's data")).toBe('losing-rediss-data');
    expect(headingId('`AUTH_ISSUER`, `AUTH_AUDIENCE`: who signs, who listens')).toBe(
      'auth_issuer-auth_audience-who-signs-who-listens',
    );
    expect(brokenBecause('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/);
    expect(brokenBecause('README.md', 'docs/verification.md#no-such-heading')).toMatch(/no heading/);
  });

  it('resolve: every relative link names a file that exists, and an anchor a heading of it', () => {
    const pages = documentationPages();
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/verification.md', 'docs/architecture.md']));
    const links = pages.flatMap((page) => linksOf(readFileSync(join(ROOT, page), 'utf8')).map((l) => ({ page, ...l })));
    const broken = links.flatMap(({ page, line, target }) => {
      const reason = brokenBecause(page, target);
      return reason ? [`${page}:${line}: (${target}) ${reason}`] : [];
    });
    expect(broken).toEqual([]);
    expect(links.length).toBeGreaterThan(50); // the scan still finds them
  });
});

describe('the documentation', () => {
  it('says what the system is, not how it came to be (no issue numbers, no "so far")', () => {
    const history = /\bissues? #\d+|\b(?:resolved|issues|fixed) so far\b/i;
    const found = documentationPages().flatMap((page) =>
      readFileSync(join(ROOT, page), 'utf8')
        .split('\n')
        .flatMap((line, index) => (history.test(line) ? [`${page}:${index + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });
});
