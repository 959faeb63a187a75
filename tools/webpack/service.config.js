const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');
const { PrunedLockfilePlugin } = require('./pruned-lockfile');

/**
 * The webpack build of one NestJS service: a single `dist/apps/<name>/main.js`
 * for Node, with a generated package.json of its production dependencies and their lockfile
 * (cut from the workspace's, see ./pruned-lockfile.js).
 *
 * @param {string} name the Nx project name, e.g. `users-service`
 */
module.exports = function serviceWebpackConfig(name) {
  return {
    output: {
      path: join(__dirname, '../../dist/apps', name),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
    },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig: './tsconfig.app.json',
        assets: [],
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
      }),
      new PrunedLockfilePlugin(join(__dirname, '../..')),
    ],
  };
};
