#!/bin/sh
# build.sh assembles the lambdaotel Node.js layer.
#
#	layers/nodejs/build.sh DIR              # the layer's files in DIR (emptied first)
#	layers/nodejs/build.sh DIR ZIP          # and the layer zip ZIP made from them
#
# The layer is pure JavaScript (one zip for x86_64 and arm64):
#
#	otel-handler                        AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-handler
#	lambdaotel-nodejs/init.cjs          starts OpenTelemetry (--require): the layer's code
#	                                    and the pinned OpenTelemetry packages in one bundle
#	lambdaotel-nodejs/esm.mjs           the ES module hook, then init.cjs (--import)
#	lambdaotel-nodejs/lib/log.cjs       the layer's log lines (shared by both)
#	lambdaotel-nodejs/node_modules/     import-in-the-middle and its dependencies
#
# The packages are installed with npm ci from the committed lockfile
# (lambdaotel-nodejs/package-lock.json), without install scripts, in a
# temporary directory. esbuild (a pinned devDependency) bundles init.cjs:
# one file loads in about a third of the time of the ~330 files it replaces,
# which is most of the layer's cold start. import-in-the-middle stays a
# package on disk: Node loads its loader hook from a file, and the hook and
# the instrumentations must share one copy of it.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 DIR [ZIP]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$1
zipfile=${2:-}
command -v npm >/dev/null 2>&1 || {
	echo "build.sh: npm is not installed (the layer's packages are installed with npm ci)" >&2
	exit 1
}

src=$here/lambdaotel-nodejs
stage=$(mktemp -d "${TMPDIR:-/tmp}/lambdaotel-nodejs-build.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$src/init.cjs" "$src/esm.mjs" "$stage/"
cp -R "$src/lib" "$stage/lib"
(cd "$stage" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2) || {
	echo "build.sh: npm ci failed (it needs the npm registry, or the packages of $src/package-lock.json in the npm cache)" >&2
	exit 1
}

rm -rf "$out"
mkdir -p "$out/lambdaotel-nodejs/lib" "$out/lambdaotel-nodejs/node_modules"
out=$(cd "$out" && pwd)
dest=$out/lambdaotel-nodejs
cp "$here/otel-handler" "$out/otel-handler"
chmod 755 "$out/otel-handler"
cp "$stage/esm.mjs" "$stage/package.json" "$dest/"
cp "$stage/lib/log.cjs" "$dest/lib/"
"$stage/node_modules/.bin/esbuild" "$stage/init.cjs" --bundle --platform=node --target=node20 --format=cjs \
	--external:import-in-the-middle --external:./lib/log.cjs \
	--legal-comments=none --log-level=warning --outfile="$dest/init.cjs"

# import-in-the-middle and what it depends on, found in the lockfile the way
# Node resolves them (a nested node_modules first).
node - "$stage" "$dest/node_modules" <<'EOF'
const fs = require('fs');
const path = require('path');
const [stage, target] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(stage, 'package-lock.json'), 'utf8')).packages;
const todo = ['node_modules/import-in-the-middle'];
const done = new Set();
while (todo.length > 0) {
  const key = todo.pop();
  if (done.has(key)) continue;
  done.add(key);
  const entry = lock[key];
  if (!entry) throw new Error(`${key} is not in package-lock.json`);
  for (const dep of Object.keys(entry.dependencies || {})) {
    let dir = key;
    let found = null;
    for (;;) {
      const candidate = `${dir}/node_modules/${dep}`;
      if (lock[candidate]) { found = candidate; break; }
      const i = dir.lastIndexOf('/node_modules/');
      if (i < 0) { if (lock[`node_modules/${dep}`]) found = `node_modules/${dep}`; break; }
      dir = dir.slice(0, i);
    }
    if (!found) throw new Error(`${key} needs ${dep}, which is not in package-lock.json`);
    todo.push(found);
  }
}
for (const key of [...done].sort()) {
  fs.cpSync(path.join(stage, key), path.join(target, key.slice('node_modules/'.length)), { recursive: true });
}
EOF
find "$dest/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.ts' \) -delete

if [ -n "$zipfile" ]; then
	command -v zip >/dev/null 2>&1 || {
		echo "build.sh: zip is not installed (apt-get install zip)" >&2
		exit 1
	}
	mkdir -p "$(dirname "$zipfile")"
	zipfile=$(cd "$(dirname "$zipfile")" && pwd)/$(basename "$zipfile")
	rm -f "$zipfile"
	(cd "$out" && zip -q -r -X -9 "$zipfile" otel-handler lambdaotel-nodejs)
fi
