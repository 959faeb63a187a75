import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';
import { ROOT } from '@jwt-ms/testing';

/**
 * The repository's own modules form no import cycle: a cycle makes a module
 * see another half-initialised (an `undefined` class at import time), and
 * says two files are one piece cut in two. Every import counts, type-only
 * ones too, since they state the same dependency; packages in node_modules
 * are not followed.
 */

/** The repository's TypeScript and JavaScript sources (tracked, or new and not ignored), relative to ROOT. */
function sourceFiles(): string[] {
  return execFileSync(
    'git',
    [
      'ls-files',
      '--cached',
      '--others',
      '--exclude-standard',
      '--',
      '*.ts',
      '*.cts',
      '*.mts',
      '*.js',
      '*.cjs',
      '*.mjs',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  )
    .split('\n')
    .filter((file) => file && existsSync(join(ROOT, file)));
}

/** Every module specifier a file names: import/export declarations, `import x = require()`, `import()`, `require()`. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The import graph among local files: file → the local files it imports (paths relative to ROOT). */
function importGraph(files: string[]): Map<string, Set<string>> {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  options.allowJs = true;
  const local = new Set(files);
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const edges = new Set<string>();
    for (const specifier of specifiers(file)) {
      const resolved = ts.resolveModuleName(specifier, join(ROOT, file), options, ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport) continue;
      const target = relative(ROOT, resolved.resolvedFileName);
      if (local.has(target)) edges.add(target);
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Strongly connected components of more than one file, or of one file importing itself (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  /** Visits `node`; returns its low-link: the smallest index reachable from it on the stack. */
  const connect = (node: string): number => {
    const own = counter;
    let lowest = own;
    counter += 1;
    index.set(node, own);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      const seen = index.get(next);
      if (seen === undefined) lowest = Math.min(lowest, connect(next));
      else if (onStack.has(next)) lowest = Math.min(lowest, seen);
    }
    if (lowest === own) {
      const component = stack.splice(stack.indexOf(node));
      for (const member of component) onStack.delete(member);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
    return lowest;
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return found;
}

describe('the import graph of the repository', () => {
  const graph = importGraph(sourceFiles());

  it('resolves relative imports and the @jwt-ms/* paths of tsconfig.base.json', () => {
    // Without these edges the graph would be empty and the next check would pass for the wrong reason.
    expect(graph.get('apps/auth-service/src/main.ts')).toContain('apps/auth-service/src/auth-service.config.ts');
    expect(graph.get('apps/users-service/src/main.ts')).toContain('libs/shared/service-core/src/index.ts');
  });

  it('has no cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no import from tools/ into an app: the apps are leaves, driven from outside', () => {
    const intoApps = [...graph].flatMap(([file, targets]) =>
      file.startsWith('tools/')
        ? [...targets].filter((target) => target.startsWith('apps/')).map((target) => `${file} → ${target}`)
        : [],
    );
    expect(intoApps).toEqual([]);
  });

  it('would report one (the check itself)', () => {
    const sample = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set(['a.ts', 'd.ts'])],
    ]);
    expect(cycles(sample)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
  });
});
