#!/bin/bash
# Export every study application at its pinned commit into $STUDY/apps/<name>.
# The mirrors come from the search tool's `fetch` (/work/.mirror/<owner>+<name>/repo).
# usage: export.sh [LIST.tsv ...]   (default: every scripts/study/apps*.tsv)
set -u
STUDY=${STUDY:-/work/study}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$STUDY/apps"
while IFS=$'\t' read -r repo commit; do
  name=${repo#*/}
  git_dir=/work/.mirror/${repo/\//+}/repo
  out=$STUDY/apps/$name
  [ -d "$out" ] && continue
  full=$(git --git-dir="$git_dir" rev-parse --verify -q "$commit^{commit}") || { echo "missing $repo@$commit"; continue; }
  mkdir -p "$out"
  # git archive stops at files a partial mirror lacks; ls-tree + cat-file skips them.
  git --git-dir="$git_dir" ls-tree -r --name-only "$full" | grep -iE '\.py$|Dockerfile|Procfile|\.ya?ml$|\.sh$|\.toml$|\.cfg$|\.ini$|\.conf$|Makefile$|\.env$' |
  while read -r path; do
    mkdir -p "$out/$(dirname "$path")"
    git --git-dir="$git_dir" cat-file blob "$full:$path" > "$out/$path" 2>/dev/null || rm -f "$out/$path"
  done
  echo "$name $full"
done < <(if [ $# -gt 0 ]; then cat "$@"; else cat "$HERE"/apps*.tsv; fi)
