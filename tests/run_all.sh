#!/usr/bin/env bash
# Runs the whole suite: every test under Deno, the runtime tests (and others that name
# themselves in BUN_TESTS) under Bun, then prints one "N passed, N failed" line for both.
set -uo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"

# "./" makes each a path: bun test takes a bare argument as a filter, which also matches copies of
# the tests elsewhere under the checkout.
BUN_TESTS=(./tests/runtime_test.ts ./tests/runtime_*_test.ts
  ./tests/timeline_test.ts ./tests/gantt_test.ts ./tests/diagnose_test.ts ./tests/diagnose_real_test.ts
  ./tests/html_test.ts ./tests/reports_test.ts ./tests/cli_reports_test.ts ./tests/func_profile_test.ts
  ./tests/repl_units_test.ts ./tests/profile_*_test.ts ./tests/args_test.ts ./tests/path_test.ts
  ./tests/layout_test.ts ./tests/cluster_codec_test.ts)
for f in ./tests/*_bun_test.ts; do [ -e "$f" ] && BUN_TESTS+=("$f"); done

deno_log=$(mktemp)
bun_log=$(mktemp)
# The profiler's cache of instrumented modules: one for this run, not the user's.
RAYPROF_CACHE_DIR=$(mktemp -d)
export RAYPROF_CACHE_DIR
trap 'rm -rf "$deno_log" "$bun_log" "$RAYPROF_CACHE_DIR"' EXIT

echo "== deno check"
deno check mod.ts cli.ts repl.ts runtime/worker.ts examples/ tests/ bench/ profile/ cluster/
check_rc=$?

echo "== doc: deno doc --lint, and every @example (deno test --doc)"
NO_COLOR=1 bash tests/doc_tests.sh 2>&1 | grep -E '^(doc tests|ok \||FAILED|error)|FAILED'
doc_rc=${PIPESTATUS[0]}

echo "== deno test"
NO_COLOR=1 deno test -A --no-check tests/ 2>&1 | tee "$deno_log"
deno_rc=${PIPESTATUS[0]}

echo "== bun test"
NO_COLOR=1 bun test "${BUN_TESTS[@]}" 2>&1 | tee "$bun_log"
bun_rc=${PIPESTATUS[0]}

# deno: "ok | 3 passed (30 steps) | 0 failed (2 steps)"; bun: " 30 pass" / " 0 fail".
summary=$(grep -E '^(ok|FAILED) \| ' "$deno_log" | tail -n 1)
dp=$(sed -nE 's/.* ([0-9]+) passed( \(([0-9]+) steps?\))?.*/\1 \3/p' <<<"$summary")
df=$(sed -nE 's/.* ([0-9]+) failed( \(([0-9]+) steps?\))?.*/\1 \3/p' <<<"$summary")
read -r dp1 dp2 <<<"$dp"
read -r df1 df2 <<<"$df"
bp=$(grep -E '^ *[0-9]+ pass$' "$bun_log" | tail -n 1 | tr -dc '0-9')
bf=$(grep -E '^ *[0-9]+ fail$' "$bun_log" | tail -n 1 | tr -dc '0-9')
passed=$(( ${dp1:-0} + ${dp2:-0} + ${bp:-0} ))
failed=$(( ${df1:-0} + ${df2:-0} + ${bf:-0} ))
if [ "$check_rc" -ne 0 ]; then failed=$((failed + 1)); echo "deno check failed"; fi
if [ "$doc_rc" -ne 0 ]; then failed=$((failed + 1)); echo "doc lint or doc tests failed"; fi
if [ "$deno_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "deno test exited with $deno_rc"; fi
if [ "$bun_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "bun test exited with $bun_rc"; fi
echo
echo "Deno: ${summary:-no summary}; Bun: ${bp:-0} pass, ${bf:-0} fail"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$deno_rc" -eq 0 ] && [ "$bun_rc" -eq 0 ] && [ "$check_rc" -eq 0 ] &&
  [ "$doc_rc" -eq 0 ]
