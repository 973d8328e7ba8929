#!/usr/bin/env bash
# Rebuild the example repositories from their patch series.
#
#   bash examples/build.sh [outdir]
#
# For every examples/<name>/patches directory this creates <outdir>/<name>/repo
# (default outdir: the examples/ directory itself) by `git init` + `git am`.
# Committer identity and dates are fixed and the user's git configuration is
# ignored, so the commit hashes are the same on every machine; the expected
# final hash is stored in examples/<name>/HEAD and checked after each build.
# A repo whose HEAD already matches and has no local changes is left alone.
# Needs only bash and git (>= 2.28).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Keep the environment from changing what git am produces.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
  GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT \
  GIT_TEMPLATE_DIR
empty_home="$(mktemp -d)"
trap 'rm -rf "$empty_home"' EXIT
export HOME="$empty_home" XDG_CONFIG_HOME="$empty_home"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_COMMITTER_NAME="ssr examples"
export GIT_COMMITTER_EMAIL="examples@ssr.invalid"
export GIT_COMMITTER_DATE="2024-01-01T00:00:00+00:00" # replaced per commit by --committer-date-is-author-date
export TZ=UTC LC_ALL=C

found=0
for patches in "$here"/*/patches; do
  [ -d "$patches" ] || continue
  found=1
  name="$(basename "$(dirname "$patches")")"
  head_file="$here/$name/HEAD"
  repo="$out/$name/repo"
  expected=""
  if [ -f "$head_file" ]; then
    expected="$(tr -d '[:space:]' <"$head_file")"
  fi

  if [ -n "$expected" ] && [ -d "$repo/.git" ] &&
    [ "$(git -C "$repo" rev-parse -q --verify HEAD 2>/dev/null || true)" = "$expected" ] &&
    git -C "$repo" diff --quiet HEAD 2>/dev/null; then
    echo "$name: up to date at $expected"
    continue
  fi

  shopt -s nullglob
  series=("$patches"/*.patch)
  shopt -u nullglob
  if [ "${#series[@]}" -eq 0 ]; then
    echo "error: $name: no patches in $patches" >&2
    exit 1
  fi

  rm -rf "$repo"
  mkdir -p "$repo"
  git -C "$repo" init -q -b main
  if ! git -C "$repo" am -q --committer-date-is-author-date --whitespace=nowarn "${series[@]}"; then
    echo "error: $name: git am failed; see $repo" >&2
    exit 1
  fi

  actual="$(git -C "$repo" rev-parse HEAD)"
  if [ -z "$expected" ]; then
    echo "error: $name: $head_file is missing; the series builds $actual" >&2
    exit 1
  fi
  if [ "$actual" != "$expected" ]; then
    echo "error: $name: built HEAD $actual but $head_file expects $expected" >&2
    exit 1
  fi
  echo "$name: built $actual ($(git -C "$repo" rev-list --count HEAD) commits) in $repo"
done

if [ "$found" -eq 0 ]; then
  echo "error: no */patches directories under $here" >&2
  exit 1
fi
