'use strict';
// esbuild-plugin.cjs: an esbuild plugin for functions that bundle the AWS
// SDK, so that the lambdaotel Node.js layer still records one span per AWS
// call. In a bundle, the SDK's modules are never require()d, so the
// instrumentation cannot patch them as they load; the plugin adds one line
// at the end of each module the instrumentation patches, which hands the
// module to the layer when the bundle loads it (and does nothing without
// the layer). Nothing else in the bundle changes.
//
//	const { lambdaotel } = require('./lambdaotel-esbuild-plugin.cjs');
//	await esbuild.build({ entryPoints: ['src/index.ts'], bundle: true, platform: 'node',
//	  outfile: 'dist/index.js', plugins: [lambdaotel()] });
//
// It handles both builds of the SDK's packages: the CommonJS one (dist-cjs)
// and the ES module one (dist-es, which esbuild picks where a package's
// "exports" has a "module" condition); an ES module is handed over as the
// CommonJS module of the same path, which is what the instrumentation
// knows.
const fs = require('node:fs');
const path = require('node:path');

/** The packages whose modules the AWS SDK instrumentation patches. */
const FILTER = /[\\/]node_modules[\\/]@(smithy|aws-sdk)[\\/](core|smithy-client|middleware-stack)[\\/](dist-?cjs|dist-es)[\\/].*\.[cm]?js$/;

/** The global function the layer defines to patch a bundled module. */
const HOOK = "Symbol.for('lambdaotel.bundled-module')";

/**
 * lambdaotel returns the plugin.
 * @returns {import('esbuild').Plugin}
 */
function lambdaotel() {
  return {
    name: 'lambdaotel',
    setup(build) {
      build.onLoad({ filter: FILTER }, async (args) => {
        const m = /^(.*[\\/]node_modules[\\/](@[^\\/]+[\\/][^\\/]+))[\\/](.*)$/.exec(args.path);
        if (!m) return undefined;
        const [, pkgDir, rawName, rawFile] = m;
        const name = rawName.replace(/\\/g, '/');
        const file = rawFile.replace(/\\/g, '/');
        let pkg;
        try {
          pkg = JSON.parse(await fs.promises.readFile(path.join(pkgDir, 'package.json'), 'utf8'));
        } catch (err) {
          return { warnings: [{ text: `lambdaotel: ${name} left as it is: its package.json cannot be read (${err.message})` }] };
        }
        const esm = file.startsWith('dist-es/');
        const cjsFile = esm ? `dist-cjs/${file.slice('dist-es/'.length)}` : file;
        const main = String(pkg.main || 'index.js').replace(/^\.\//, '');
        const isMain = cjsFile === main || cjsFile === `${main}.js`;
        const contents = await fs.promises.readFile(args.path, 'utf8');
        const call = `h(${JSON.stringify(name)},${JSON.stringify(String(pkg.version))},${JSON.stringify(isMain ? '' : cjsFile)},`;
        const hook = esm
          // The module's own namespace: its classes' prototypes can be patched, its bindings cannot.
          ? `\nimport * as __lambdaotelModule from ${JSON.stringify(`./${path.basename(args.path)}`)};\n;{const h=globalThis[${HOOK}];if(typeof h==='function'){${call}__lambdaotelModule);}}\n`
          : `\n;{const h=globalThis[${HOOK}];if(typeof h==='function'){const r=${call}module.exports);if(r!==undefined)module.exports=r;}}\n`;
        return { contents: contents + hook, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

module.exports = { lambdaotel };
