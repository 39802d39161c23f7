#!/bin/sh
# setup-runtime.sh installs what the Node.js layer's end-to-end tests run in
# the sandbox: the real Node.js runtime interface client, aws-lambda-ric, at
# the version in runtime/package-lock.json (3.3.0, the last release that
# supports Node.js 20), built from source as npm installs it; and the
# packages the test functions use (function-deps/package-lock.json: the AWS
# SDK's DynamoDB client).
#
#	layers/nodejs/test/setup-runtime.sh          # install or check, then print where
#	LAMBDAOTEL_NODE_CACHE=DIR setup-runtime.sh   # cache somewhere else (default: layers/nodejs/.cache)
#
# It prints "ric=DIR" (the aws-lambda-ric package) and "function-deps=DIR"
# (a node_modules directory). It is idempotent: what is in the cache and was
# built from the same lockfile by the same Node.js is kept as it is. CI runs
# it before the tests.
#
# The runtime's preinstall script builds curl and aws-lambda-cpp (cmake,
# autoconf, automake, libtool, g++, make) and its postinstall builds the
# native addon with node-gyp (python3, g++, make, Node.js headers). Missing
# Debian packages are installed with apt-get (as root, or with sudo -n).
# npm 11 runs a dependency's install scripts only if the project allows
# them: runtime/package.json does, with "allowScripts": {"aws-lambda-ric": true}
# (older npm ignores the field and runs them anyway).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
layer_src=$(cd "$here/.." && pwd)
cache=${LAMBDAOTEL_NODE_CACHE:-$layer_src/.cache}

fail() {
	echo "setup-runtime: $*" >&2
	exit 1
}

command -v node >/dev/null 2>&1 || fail "node is not installed (the tests need Node.js 20 or later on PATH)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (it comes with Node.js)"

# One installation at a time (tests and benchmarks may start together).
mkdir -p "$cache"
if [ -z "${LAMBDAOTEL_SETUP_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	LAMBDAOTEL_SETUP_LOCKED=1 exec flock "$cache/.setup.lock" "$0" "$@"
fi

# install NAME: npm ci of NAME/package.json and NAME/package-lock.json into
# $cache/NAME, unless the stamp says it is there already. The stamp names
# what it was built from: the lockfile, the Node.js ABI (a native addon is
# built for it) and the machine.
install() {
	name=$1
	check=$2 # a file that exists when the installation is complete
	dest=$cache/$name
	lock_sum=$(cat "$here/$name/package-lock.json" "$here/$name/package.json" | sha256sum | cut -c1-16)
	stamp="lock=$lock_sum node-abi=$(node -p process.versions.modules) arch=$(uname -m)"
	if [ -f "$dest/$check" ] && [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$stamp" ]; then
		return 0
	fi
	[ "$name" != runtime ] || build_tools
	# Install in a fresh directory and move it into place when it works, so
	# that an interrupted build never leaves a half-built installation.
	work=$(mktemp -d "$cache/$name.tmp.XXXXXX")
	chmod 755 "$work"
	trap 'rm -rf "$work"' EXIT
	cp "$here/$name/package.json" "$here/$name/package-lock.json" "$work/"
	echo "setup-runtime: installing $name in $work" >&2
	(cd "$work" && npm ci --foreground-scripts --no-audit --no-fund >&2) ||
		fail "npm ci of $name failed (see above): it needs the npm registry$([ "$name" != runtime ] || echo ", and the build tools cmake, autoconf, automake, libtool, g++, make and python3")"
	[ -f "$work/$check" ] ||
		fail "$name was installed but $check is missing: npm did not run the install scripts (is \"allowScripts\" in $name/package.json honoured? try 'npm rebuild aws-lambda-ric --foreground-scripts' in $work)"
	echo "$stamp" >"$work/.stamp"
	rm -rf "$dest"
	mv "$work" "$dest"
	trap - EXIT
}

# build_tools installs the Debian packages that build aws-lambda-ric.
build_tools() {
	missing=
	for pair in cmake:cmake autoconf:autoconf automake:automake libtoolize:libtool g++:g++ make:make python3:python3; do
		cmd=${pair%%:*}
		pkg=${pair#*:}
		command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
	done
	if [ -n "$missing" ]; then
		if [ "$(id -u)" = 0 ]; then
			as_root=
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			as_root="sudo -n"
		else
			fail "missing build tools:$missing; install them as root (apt-get install$missing) and run this again"
		fi
		command -v apt-get >/dev/null 2>&1 || fail "missing build tools:$missing, and there is no apt-get to install them"
		echo "setup-runtime: installing$missing with apt-get" >&2
		export DEBIAN_FRONTEND=noninteractive
		$as_root apt-get update -q >&2 || fail "apt-get update failed (no network or no Debian mirror?); missing:$missing"
		# shellcheck disable=SC2086 # one word per package
		$as_root apt-get install -y -q --no-install-recommends $missing >&2 || fail "apt-get install$missing failed"
	fi

	# node-gyp builds the addon against the Node.js headers. Where the
	# machine has them (Debian's nodejs and NodeSource put them in
	# /usr/include/node), use them instead of downloading them from nodejs.org.
	if [ -z "${npm_config_nodedir:-}" ]; then
		for d in /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
			if [ -f "$d/include/node/node.h" ]; then
				npm_config_nodedir=$d
				export npm_config_nodedir
				break
			fi
		done
	fi
}

install runtime node_modules/aws-lambda-ric/dist/rapid-client.node
install function-deps node_modules/@aws-sdk/client-dynamodb/package.json
echo "ric=$cache/runtime/node_modules/aws-lambda-ric"
echo "function-deps=$cache/function-deps/node_modules"
