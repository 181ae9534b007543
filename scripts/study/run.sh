#!/bin/bash
# Run leaklint (at git REF, default the work tree) on every study app: $STUDY/<label>/<app>.json
# usage: run.sh LABEL [REF]
set -u
STUDY=${STUDY:-/work/study}
label=$1; ref=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PY:-/tmp/venv/bin/python}
src=$ROOT/src
if [ -n "$ref" ]; then
  wt=/tmp/study-wt
  [ -d "$wt" ] || git -C "$ROOT" worktree add -q --detach "$wt" "$ref"
  git -C "$wt" checkout -q --detach "$ref"
  src=$wt/src
fi
mkdir -p "$STUDY/$label"
for app in "$STUDY"/apps/*/; do
  name=$(basename "$app")
  (cd "$app" && PYTHONPATH=$src "$PY" -m leaklint check --no-cache --output-format json --exit-zero . \
     > "$STUDY/$label/$name.json" 2> "$STUDY/$label/$name.err") &
  while [ "$(jobs -r | wc -l)" -ge 2 ]; do sleep 0.2; done
done
wait
"$PY" - "$STUDY/$label" <<'PY'
import json, sys, pathlib, collections
counts = collections.Counter()
total = 0
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    found = json.loads(f.read_text() or "[]")
    total += len(found)
    counts.update(x["code"] for x in found)
print(total, dict(sorted(counts.items())))
PY
