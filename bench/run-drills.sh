#!/bin/bash
# One block of drills for one agent setup. From the project directory (/work/main):
#   bench/run-drills.sh LABEL DURATION SCENARIO...      (LABEL: pgha, patroni-tuned, patroni-default)
# Writes bench/results/raw/LABEL/SCENARIO/ (per-trial JSON + SVG, the table) and a log with the
# machine's load before and after each block.
set -u
label=$1 duration=$2; shift 2
INV=${INV:-/tmp/ptlab/lab}
P=${P:-.build/debug/provision}
OUT=${OUT:-/work/wt-bench/bench/results/raw}
REPEAT=${REPEAT:-5}
for s in "$@"; do
  dir=$OUT/$label/$s; mkdir -p "$dir"
  { echo "== $label $s $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "\$ $P drill $INV --scenario $s --duration $duration --clients 3 --repeat $REPEAT --report $dir"; } | tee -a "$OUT/$label/log.txt"
  "$P" drill "$INV" --scenario "$s" --duration "$duration" --clients 3 --repeat "$REPEAT" --report "$dir" 2>&1 | tee -a "$OUT/$label/log.txt"
  echo "== exit ${PIPESTATUS[0]} $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/$label/log.txt"
done
