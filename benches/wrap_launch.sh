#!/usr/bin/env bash
# How much `headroom wrap <agent>` adds to each agent's launch: a no-op agent
# (/bin/true) run directly and through headroom, medians compared. AGENTS
# names the agents to time (default: all of them).
# Needs hyperfine (Debian package) and a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."

headroom=target/release/headroom
[ -x "$headroom" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }

# An isolated home so the user's own agent configs are neither read nor timed.
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox XDG_CONFIG_HOME=$sandbox/config XDG_DATA_HOME=$sandbox/data \
  XDG_CACHE_HOME=$sandbox/cache XDG_STATE_HOME=$sandbox/state
export OPENAI_API_KEY=sk-bench ANTHROPIC_API_KEY=sk-bench GEMINI_API_KEY=bench
# Gemini CLI takes a base URL only with its API-key auth selected.
mkdir -p "$sandbox/.gemini"
echo '{"security":{"auth":{"selectedType":"gemini-api-key"}}}' >"$sandbox/.gemini/settings.json"
agents=${AGENTS:-opencode claude codex gemini qwen aider kilo}

commands=(-n direct '/bin/true run')
for agent in $agents; do
  export "HEADROOM_$(echo "$agent" | tr a-z A-Z)_BIN=/bin/true"
  case $agent in
    opencode | kilo) args="run" ;;
    qwen) args="--auth-type openai" ;;
    *) args="" ;;
  esac
  commands+=(-n "$agent" "$headroom wrap $agent --quiet -- $args")
done

hyperfine --shell=none --warmup 20 --runs "${RUNS:-300}" --export-json "$sandbox/times.json" \
  "${commands[@]}" >&2

python3 - "$sandbox/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
direct = next(r for r in results if r["command"] == "direct")["median"]
print(f"direct median   {direct * 1000:.2f} ms")
for result in results:
    if result["command"] == "direct":
        continue
    added = (result["median"] - direct) * 1000
    verdict = "met" if added <= 20 else "missed"
    print(f"{result['command']:<9} median {result['median'] * 1000:6.2f} ms, added {added:5.2f} ms (target <= 20 ms: {verdict})")
PY
