#!/usr/bin/env bash
# The install path of a user (README "Install"), from this checkout (`pnpm test:install`): every public
# package packed and checked as the registry would take it, then installed with npm into empty directories
# outside the repository, with no compiler, cmake or zig on PATH:
#   (a) a streamed local chat on the tiny fixture model, through the prebuilt linux-x64 binary;
#   (b) ChatWenxin in remote mode against `wenxin serve` started from that install;
#   (c) the same remote chat from an install of @wenxin/langchain alone with --omit=optional;
#   (d) @wenxin/native without a prebuilt binary: the source fallback finds no toolchain and says so.
# Needs `pnpm build` and the prebuilt binary (`pnpm --filter @wenxin/native build:prebuilt linux-x64-gnu`);
# third-party dependencies come from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
model=$repo/test/fixtures/ernie45/tiny-ernie45-dense
prebuilt=native/npm/linux-x64-gnu/wenxin_native.node
[ -f "$prebuilt" ] || { echo "install test: no $prebuilt; build it: pnpm --filter @wenxin/native build:prebuilt" >&2; exit 1; }

work=$(mktemp -d /tmp/wenxin-install.XXXXXX)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s)
step() { echo "install test [$(($(date +%s) - started)) s]: $*"; }

step "pnpm pack every public package (a platform package once its binary is built)"
mkdir "$work/tarballs"
pnpm ls -r --depth -1 --json | node -e '
  for (const p of JSON.parse(require("fs").readFileSync(0, "utf8")))
    if (!p.private && (!p.path.includes("/native/npm/") || require("fs").existsSync(p.path + "/wenxin_native.node")))
      console.log(p.path);' | while read -r dir; do
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
node test/install/check_tarballs.mjs "$work/tarballs"
node native/scripts/glibc_floor.mjs "$prebuilt"

# The installs and everything they run see a PATH of node, npm and sh (npm runs install steps with it)
# alone: no cmake, compiler or zig.
mkdir "$work/bin"
for tool in node npm sh; do ln -s "$(command -v $tool)" "$work/bin/$tool"; done
clean() { env PATH="$work/bin" "$@"; }
for tool in cmake cc c++ gcc g++ clang clang++ make ninja zig; do
  if clean /bin/sh -c "command -v $tool" >/dev/null; then echo "install test: $tool is on PATH" >&2 && exit 1; fi
done
install() { clean npm install --no-audit --no-fund --loglevel=error "$@"; }
new_app() {
  mkdir "$work/$1"
  cp test/install/local_chat.mjs test/install/remote_chat.mjs "$work/$1/"
  echo '{ "name": "wenxin-install-test", "private": true, "type": "module" }' >"$work/$1/package.json"
}

step "(a) npm install every tarball into $work/app"
new_app app
# Every tarball but the other platforms' binary packages (npm refuses a tarball whose os/cpu do not match);
# the platform list is native/platforms.cjs's.
others=$(node -p 'const p = require("./native/platforms.cjs"), host = p.hostPlatform()?.name;
  p.PLATFORMS.filter((x) => x.name !== host).map((x) => `wenxin-native-${x.name}-`).join(" ")')
app_tarballs=()
for t in "$work"/tarballs/*.tgz; do
  keep=1
  for prefix in $others; do [[ $(basename "$t") == "$prefix"* ]] && keep=0; done
  [ $keep = 1 ] && app_tarballs+=("$t")
done
(cd "$work/app" && install "${app_tarballs[@]}")
addon=$work/app/node_modules/@wenxin/native-linux-x64-gnu/wenxin_native.node
[ ! -e "$work/app/node_modules/@wenxin/native/build" ] || { echo "install test: the addon was built from source" >&2 && exit 1; }
cmp "$addon" "$repo/$prebuilt" # the binary whose glibc floor was checked above
(cd "$work/app" && clean node local_chat.mjs "$model" "$addon")

step "(b) wenxin serve from that install, ChatWenxin in remote mode against it"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
(cd "$work/app" && exec env PATH="$work/bin" node_modules/.bin/wenxin serve --model "$model" --model-name tiny --port "$port" --threads 2 --log-level warn) &
server=$!
node -e '
  const url = process.argv[1], until = Date.now() + 60_000;
  (async function poll() {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} did not answer within 60 s`);
    setTimeout(poll, 200);
  })();' "http://127.0.0.1:$port/health"
(cd "$work/app" && clean node remote_chat.mjs "http://127.0.0.1:$port/v1" tiny)

step "(c) npm install @wenxin/langchain (and @wenxin/engine, its dependency) --omit=optional into $work/remote"
new_app remote
(cd "$work/remote" && install --omit=optional "$work"/tarballs/wenxin-langchain-*.tgz "$work"/tarballs/wenxin-engine-*.tgz)
[ ! -e "$work/remote/node_modules/@wenxin/native" ] || { echo "install test: @wenxin/native was installed" >&2 && exit 1; }
(cd "$work/remote" && clean node remote_chat.mjs "http://127.0.0.1:$port/v1" tiny)

kill "$server" && wait "$server" || true
server=

step "(d) npm install @wenxin/native without its platform package: no toolchain, so it must fail and say why"
new_app source
if (cd "$work/source" && install --omit=optional "$work"/tarballs/wenxin-native-[0-9]*.tgz) >"$work/source.log" 2>&1; then
  echo "install test: the install without a prebuilt binary or a toolchain succeeded" >&2 && exit 1
fi
for missing in "missing" "cmake >= 3.18" "a C++20 compiler"; do
  grep -qF "$missing" "$work/source.log" || { cat "$work/source.log" >&2 && echo "install test: no '$missing'" >&2 && exit 1; }
done
grep -F "@wenxin/native:" "$work/source.log"
step "passed"
