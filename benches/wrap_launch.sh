#!/usr/bin/env bash
# How much `headroom wrap opencode` adds to an agent's launch: a no-op agent
# (/bin/true) run directly and through headroom, medians compared.
# Needs hyperfine (Debian package) and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."

headroom=target/release/headroom
[ -x "$headroom" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }

# An isolated home so the user's opencode config is neither read nor timed.
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox XDG_CONFIG_HOME=$sandbox/config XDG_DATA_HOME=$sandbox/data \
  XDG_CACHE_HOME=$sandbox/cache XDG_STATE_HOME=$sandbox/state
export HEADROOM_OPENCODE_BIN=/bin/true OPENAI_API_KEY=sk-bench ANTHROPIC_API_KEY=sk-bench

hyperfine --shell=none --warmup 20 --runs "${RUNS:-300}" --export-json "$sandbox/times.json" \
  -n direct '/bin/true run' \
  -n wrapped "$headroom wrap opencode --quiet -- run" >&2

python3 - "$sandbox/times.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
direct, wrapped = results["direct"]["median"], results["wrapped"]["median"]
print(f"direct median   {direct * 1000:.2f} ms")
print(f"wrapped median  {wrapped * 1000:.2f} ms")
added = (wrapped - direct) * 1000
print(f"added by wrap   {added:.2f} ms (target <= 20 ms: {'met' if added <= 20 else 'missed'})")
PY
