#!/bin/sh
# Every smoke script shipped beside this one must be executable.
set -eu
cd "$(dirname "$0")"
for f in *.sh; do
  [ -x "$f" ] || { echo "not executable: $f"; exit 1; }
done
echo "all $(ls *.sh | wc -l) scripts executable"
