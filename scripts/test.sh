#!/usr/bin/env bash
# The project's test command (npm test): type checks, lint, then every test file.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
npx tsc -p tsconfig.core.json
npx biome lint --diagnostic-level=error
shopt -s globstar nullglob
files=(src/**/*.test.ts test/**/*.test.ts)
node --import tsx --test --test-reporter=spec "${files[@]}"
