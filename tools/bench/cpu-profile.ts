/**
 * Reads a V8 CPU profile (`.cpuprofile`, from `node --cpu-prof` or
 * cpu-profile.preload.js) and says where the time went: self time by
 * function, by package or source file, and inclusive time of this project's
 * own functions. A frame in a webpack bundle (dist/apps/<service>/main.js) is
 * mapped back to its source file and line through the bundle's source map.
 *
 * Standalone: `SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register tools/bench/cpu-profile.ts FILE [TOP]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based, in the generated file. */
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The `.cpuprofile` JSON: sampled stacks, and the time between samples in microseconds. */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One row: a label and its time, in milliseconds and as a share of the profile. */
export interface ProfileRow {
  label: string;
  ms: number;
  share: number;
}

/** What {@link summariseCpuProfile} found. */
export interface ProfileSummary {
  /** Sampled time, in milliseconds (idle included). */
  totalMs: number;
  /** Time not idle, in milliseconds: the denominator of every share. */
  busyMs: number;
  /** Self time by function (`name file:line`), largest first. */
  byFunction: ProfileRow[];
  /** Self time by npm package, project source file, or Node internal module, largest first. */
  byPlace: ProfileRow[];
  /** Inclusive time (self and callees) of each project function, largest first. */
  projectInclusive: ProfileRow[];
}

/** Frames that are not JavaScript work of the process. */
const IDLE_FRAMES = new Set(['(idle)']);

/**
 * @param file a `.cpuprofile`
 * @param top how many rows of each table to keep
 * @throws Error when the file is not a CPU profile
 */
export function summariseCpuProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples)) throw new Error(`${file} is not a CPU profile`);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const locate = locator();

  const self = new Map<string, number>();
  const place = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  let busyUs = 0;
  const add = (table: Map<string, number>, key: string, us: number) => table.set(key, (table.get(key) ?? 0) + us);
  for (let index = 0; index < profile.samples.length; index += 1) {
    // timeDeltas[i] is the time before sample i; the next one is the time it stood for.
    const us = profile.timeDeltas[index + 1] ?? 0;
    totalUs += us;
    const node = nodes.get(profile.samples[index]);
    if (!node || IDLE_FRAMES.has(node.callFrame.functionName)) continue;
    busyUs += us;
    const where = locate(node.callFrame);
    add(self, `${node.callFrame.functionName || '(anonymous)'} ${where.file}:${where.line}`, us);
    add(place, where.place, us);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id)?.callFrame;
      if (!frame) break;
      const at = locate(frame);
      if (!at.project) continue;
      const key = `${frame.functionName || '(anonymous)'} ${at.file}:${at.line}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, us);
    }
  }
  const rows = (table: Map<string, number>): ProfileRow[] =>
    [...table]
      .map(([label, us]) => ({ label, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    byFunction: rows(self),
    byPlace: rows(place),
    projectInclusive: rows(inclusive),
  };
}

/**
 * @param summary what {@link summariseCpuProfile} found
 * @param requests requests served while profiled, if known: each row then also says its microseconds per request
 * @returns the summary as printable lines
 */
export function formatProfileSummary(summary: ProfileSummary, requests?: number): string[] {
  const perRequest = (ms: number) => (requests ? `${((1000 * ms) / requests).toFixed(1).padStart(6)} µs/req  ` : '');
  const table = (title: string, rows: ProfileRow[]) => [
    title,
    ...rows.map(
      (row) =>
        `  ${(100 * row.share).toFixed(1).padStart(5)}%  ${row.ms.toFixed(0).padStart(6)} ms  ${perRequest(row.ms)}${row.label}`,
    ),
  ];
  return [
    `sampled ${summary.totalMs.toFixed(0)} ms, busy ${summary.busyMs.toFixed(0)} ms` +
      (requests ? ` for ${requests} requests: ${perRequest(summary.busyMs).trim()} busy` : '') +
      ' (shares are of busy time)',
    ...table('self time by package / source file:', summary.byPlace),
    ...table('self time by function:', summary.byFunction),
    ...table("inclusive time of this project's functions:", summary.projectInclusive),
  ];
}

interface Location {
  /** A short file name: a package-relative path, a project source path, or a Node module. */
  file: string;
  /** 1-based line in that file. */
  line: number;
  /** The npm package (`fastify`, `@nestjs/core`), project source file, Node module, or V8 pseudo-frame. */
  place: string;
  /** Whether the frame is this project's own code. */
  project: boolean;
}

/** Maps call frames to source places, reading each bundle's source map once. */
function locator(): (frame: CallFrame) => Location {
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (path: string): SourceMap | null => {
    if (!maps.has(path)) {
      const mapFile = `${path}.map`;
      maps.set(path, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
    }
    return maps.get(path) ?? null;
  };
  const cache = new Map<string, Location>();
  return (frame) => {
    const key = `${frame.url}:${frame.lineNumber}:${frame.columnNumber}:${frame.url ? '' : frame.functionName}`;
    const known = cache.get(key);
    if (known) return known;
    const found = locate(frame, mapOf);
    cache.set(key, found);
    return found;
  };
}

function locate(frame: CallFrame, mapOf: (path: string) => SourceMap | null): Location {
  const line = frame.lineNumber + 1;
  if (!frame.url) return { file: '', line, place: frame.functionName || '(native)', project: false };
  if (frame.url.startsWith('node:')) {
    const module = frame.url.replace(/^node:(internal\/)?/, '').split('/')[0];
    return { file: frame.url, line, place: `node:${module}`, project: false };
  }
  const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (inModules) return { file: `${inModules[1]}/${inModules[2]}`, line, place: inModules[1], project: false };
  if (/\/dist\/apps\/[^/]+\/main\.js$/.test(path)) {
    const entry = mapOf(path)?.findEntry(frame.lineNumber, frame.columnNumber) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    const source = entry?.originalSource?.replace(/^webpack:\/\/[^/]*\//, '').replace(/^(\.\.?\/)+/, '');
    if (source) {
      const inSourceModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
      if (inSourceModules) return { file: source, line, place: inSourceModules[1], project: false };
      return { file: source, line: (entry?.originalLine ?? 0) + 1, place: source, project: true };
    }
  }
  const repository = /\/((?:apps|libs|tools)\/.*)$/.exec(path);
  if (repository) return { file: repository[1], line, place: repository[1], project: true };
  return { file: path, line, place: path, project: false };
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: cpu-profile.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  for (const line of formatProfileSummary(summariseCpuProfile(file, Number(top ?? 25))))
    process.stdout.write(`${line}\n`);
}
