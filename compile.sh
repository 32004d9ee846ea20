#!/usr/bin/env bash
# Builds the single self-contained binary ./eft-footprint (linux-x64) with version and commit stamped in.
# chdb and embedded-postgres are dev-only (the local stack) and are never part of the binary.
set -euo pipefail
cd "$(dirname "$0")"
command -v bun >/dev/null || npm i -g bun@1.4.4
[ -d node_modules ] || bun install --frozen-lockfile

version=$(bun -e 'console.log(require("./package.json").version)')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit-dirty"; fi
out=${1:-./eft-footprint}

# --no-compile-autoload-dotenv: the binary reads .env itself (src/commands/context.ts), so that
# --env-file and the documented precedence hold; Bun's own loader would apply first otherwise.
bun build src/main.ts --compile --minify --sourcemap \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --define "EFT_VERSION=\"$version\"" --define "EFT_COMMIT=\"$commit\"" \
  --outfile "$out" >/dev/null
size=$(du -h "$out" | cut -f1)
echo "built $out  eft-footprint $version ($commit)  $size"
