#!/bin/sh
# build.sh assembles the lambdaotel Node.js layer.
#
#	layers/nodejs/build.sh DIR              # the layer's files in DIR (emptied first)
#	layers/nodejs/build.sh DIR ZIP          # and the layer zip ZIP made from them
#
# The layer is pure JavaScript (one zip for x86_64 and arm64):
#
#	otel-handler                        AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-handler
#	lambdaotel-nodejs/preload.cjs       --require: loads init.cjs, never failing
#	lambdaotel-nodejs/init.cjs          starts OpenTelemetry (--require): the layer's code
#	                                    and the pinned OpenTelemetry packages in one bundle
#	lambdaotel-nodejs/handler.mjs       the handler the runtime loads: loads the function's
#	                                    and calls it inside the invocation span
#	lambdaotel-nodejs/lib/log.cjs       the layer's log lines (shared by both)
#	lambdaotel-nodejs/esbuild-plugin.cjs  for users who bundle: keeps the modules the
#	                                    instrumentations patch out of the bundle
#
# The packages are installed with npm ci from the committed lockfile
# (lambdaotel-nodejs/package-lock.json), without install scripts, in a
# temporary directory. esbuild (a pinned devDependency) bundles init.cjs:
# one file loads in about a third of the time of the ~330 files it replaces,
# which is most of the layer's cold start. The bundle's dynamic imports (the
# exporter's import("http")) become require(): an import() of a built-in
# module goes through the ES module loader, and on Node.js 24 the namespace
# of node:http reads its lazy fetch-related exports, which loads undici.
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
cp "$src/package.json" "$src/package-lock.json" "$src/init.cjs" "$src/handler.mjs" "$stage/"
cp -R "$src/lib" "$stage/lib"
(cd "$stage" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2) || {
	echo "build.sh: npm ci failed (it needs the npm registry, or the packages of $src/package-lock.json in the npm cache)" >&2
	exit 1
}

rm -rf "$out"
mkdir -p "$out/lambdaotel-nodejs/lib"
out=$(cd "$out" && pwd)
dest=$out/lambdaotel-nodejs
cp "$here/otel-handler" "$out/otel-handler"
chmod 755 "$out/otel-handler"
cp "$stage/handler.mjs" "$src/preload.cjs" "$stage/package.json" "$dest/"
[ ! -f "$src/esbuild-plugin.cjs" ] || cp "$src/esbuild-plugin.cjs" "$dest/"
cp "$stage/lib/log.cjs" "$dest/lib/"
"$stage/node_modules/.bin/esbuild" "$stage/init.cjs" --bundle --platform=node --target=node22 --format=cjs \
	--external:./lib/log.cjs --alias:debug="$stage/lib/debug-stub.cjs" --supported:dynamic-import=false \
	--legal-comments=none --log-level=warning --outfile="$dest/init.cjs"

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
