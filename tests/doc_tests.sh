#!/usr/bin/env bash
# Runs every `@example` in the product's JSDoc (deno test --doc) and lints the docs of the
# exports (deno doc --lint). The files are those that hold an example, so a new one is never
# left out; runtime/worker.ts and other entry files hold none and are not loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
deno doc --lint mod.ts cli.ts repl.ts
mapfile -t files < <(grep -rl --include='*.ts' '@example' mod.ts cli.ts repl.ts runtime profile cluster | sort)
echo "doc tests: ${#files[@]} files"
deno test -A --doc --permit-no-files "${files[@]}" "$@"
