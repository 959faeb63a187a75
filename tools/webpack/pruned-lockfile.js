const { readFileSync } = require('fs');
const { join } = require('path');

/**
 * Where Node would find package `name` when required from the package installed at
 * `fromPath` in a lockfile v3 tree: `<fromPath>/node_modules/<name>`, then each enclosing
 * `node_modules` up to the root's (Node's module resolution, as npm lays the tree out).
 *
 * @param {Record<string, object>} packages a lockfile's `packages` map, keyed by install path
 * @param {string} fromPath an install path, `''` for the root, e.g. `node_modules/typeorm/node_modules/yargs`
 * @param {string} name a package name, e.g. `string-width` or `@nestjs/core`
 * @returns {string | undefined} the install path found, or undefined when none is in the tree
 */
function resolveInTree(packages, fromPath, name) {
  let dir = fromPath;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut === -1 ? '' : dir.slice(0, cut);
  }
}

/**
 * The workspace lockfile cut down to what one service's generated package.json needs, with
 * every package kept at the install path it has in the workspace.
 *
 * Why not Nx's own pruned lockfile: it re-nests packages (string-width@7 under typeorm's yargs
 * instead of beside cliui and wrap-ansi, which need it), and `npm ci` then refuses it as out of
 * sync. A subset of a valid tree, closed under resolution, is itself valid: every package kept
 * finds the same copy it found in the workspace, because nothing nearer was added.
 *
 * @param {{ packages: Record<string, any> }} rootLock the workspace's package-lock.json (v3), parsed
 * @param {{ name: string, version?: string, dependencies?: Record<string, string>,
 *           optionalDependencies?: Record<string, string> }} packageJson the service's generated package.json
 * @returns {object} a lockfile v3 object for that package.json
 * @throws {Error} when a required dependency is not in the workspace's tree (the lockfile is stale)
 */
function prunedLockfile(rootLock, packageJson) {
  const packages = rootLock.packages;
  const kept = new Map();
  const queue = [];
  const want = (fromPath, deps, optional) => {
    for (const name of Object.keys(deps ?? {})) {
      const found = resolveInTree(packages, fromPath, name);
      if (found === undefined) {
        if (optional) continue;
        throw new Error(`${name} (needed by ${fromPath || packageJson.name}) is not in package-lock.json`);
      }
      if (!kept.has(found)) {
        kept.set(found, packages[found]);
        queue.push(found);
      }
    }
  };
  want('', packageJson.dependencies, false);
  want('', packageJson.optionalDependencies, true);
  while (queue.length > 0) {
    const path = queue.shift();
    const entry = packages[path];
    want(path, entry.dependencies, false);
    want(path, entry.optionalDependencies, true);
    // npm installs required peers too (v7 and later), but an optional peer only when something
    // else needs it: the workspace has some only because a build tool asked for them.
    const peersMeta = entry.peerDependenciesMeta ?? {};
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((name) => !peersMeta[name]?.optional);
    want(path, Object.fromEntries(peers.map((name) => [name, entry.peerDependencies[name]])), false);
  }
  const out = {
    '': {
      name: packageJson.name,
      version: packageJson.version,
      ...(packageJson.dependencies && { dependencies: packageJson.dependencies }),
      ...(packageJson.optionalDependencies && { optionalDependencies: packageJson.optionalDependencies }),
    },
  };
  for (const path of [...kept.keys()].sort()) {
    // The workspace marks build-only packages `dev`; here each kept one is a production need.
    const entry = { ...kept.get(path) };
    delete entry.dev;
    if (entry.devOptional) {
      delete entry.devOptional;
      entry.optional = true;
    }
    out[path] = entry;
  }
  return { name: packageJson.name, version: packageJson.version, lockfileVersion: 3, requires: true, packages: out };
}

/**
 * A webpack plugin that replaces the `package-lock.json` asset emitted beside the generated
 * package.json with {@link prunedLockfile} of the workspace's lockfile.
 */
class PrunedLockfilePlugin {
  /** @param {string} workspaceRoot the directory holding the workspace's package-lock.json */
  constructor(workspaceRoot) {
    this.workspaceRoot = workspaceRoot;
  }

  apply(compiler) {
    const { sources, Compilation } = compiler.webpack;
    compiler.hooks.thisCompilation.tap('PrunedLockfilePlugin', (compilation) => {
      compilation.hooks.processAssets.tap(
        // After Nx's GeneratePackageJsonPlugin (stage ADDITIONAL) has emitted both files.
        { name: 'PrunedLockfilePlugin', stage: Compilation.PROCESS_ASSETS_STAGE_REPORT },
        () => {
          const packageJsonAsset = compilation.getAsset('package.json');
          if (!packageJsonAsset) return;
          const packageJson = JSON.parse(packageJsonAsset.source.source().toString());
          const rootLock = JSON.parse(readFileSync(join(this.workspaceRoot, 'package-lock.json'), 'utf8'));
          const content = `${JSON.stringify(prunedLockfile(rootLock, packageJson), null, 2)}\n`;
          const lockAsset = compilation.getAsset('package-lock.json');
          if (lockAsset) compilation.updateAsset('package-lock.json', new sources.RawSource(content));
          else compilation.emitAsset('package-lock.json', new sources.RawSource(content));
        },
      );
    });
  }
}

module.exports = { resolveInTree, prunedLockfile, PrunedLockfilePlugin };
