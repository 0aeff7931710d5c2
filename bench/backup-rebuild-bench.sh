#!/bin/bash
# Replica rebuild from the pgBackRest repository vs from the primary, same database, same replica
# (issue 12). From the project directory:  bench/backup-rebuild-bench.sh [INV] [SCALE]
#  0. without INV: a copy of inventories/lab as lab `bkbench` (10.93.0.0/24), `provision up`
#     (with PGHA_HOST_BINARY=$(scripts/static-pgha) it builds no release pgha; remove the lab
#     afterwards: provision lab destroy /tmp/bkbench/lab)
#  1. pgbench -i -s SCALE on the primary as postgres over its socket (scale 70 ≈ 1 GB), unless already loaded
#  2. `provision backup INV --type full` timed (so the backup holds the whole database)
#  3. `provision rebuild INV REPLICA --from backup` timed (wipe, restore from bk1, stream)
#  4. `provision rebuild INV REPLICA --from primary` timed (wipe, pg_basebackup, stream)
# Prints figures; asserts nothing. No password is used (peer authentication on the primary's socket).
set -eu
INV=${1:-/tmp/bkbench/lab} SCALE=${2:-70}
P=${P:-.build/debug/provision}
# No inventory yet: a copy of inventories/lab as lab `bkbench` on 10.93.0.0/24 (VIP included), brought up.
if [ ! -d "$INV" ]; then
  mkdir -p "$(dirname "$INV")"; cp -r inventories/lab "$INV"
  sed -i 's/10\.77\.0\./10.93.0./g' "$INV/hosts.yml" "$INV/group_vars/all/cluster.yml"
  sed -i 's|network: 10.77.0.0/24 .*|network: 10.93.0.0/24\n  name: bkbench|; s|/labs/lab/|/labs/bkbench/|g' "$INV/group_vars/all.yml"
  if grep -rn "10\.77\.\|/labs/lab/" "$INV"; then echo "bench: the copy still names the default lab" >&2; exit 1; fi
  t0=$(date +%s.%N); "$P" up "$INV" | tail -5; echo "provision up (new lab): $(echo "$(date +%s.%N) - $t0" | bc) s"
fi
primary=""; for h in pg1 pg2 pg3; do
  if "$P" lab ssh "$INV" $h -- "pgha-api GET /primary" >/dev/null 2>&1; then primary=$h; fi; done
replica=$(for h in pg1 pg2 pg3; do [ $h != "$primary" ] && echo $h; done | tail -1)
timed() { local label=$1; shift; local t0 t1; t0=$(date +%s.%N); "$@" 2>&1 | tail -2; t1=$(date +%s.%N)
  echo "$label: $(echo "$t1 - $t0" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"; }
echo "primary $primary, rebuilding $replica; load $(cut -d' ' -f1-3 /proc/loadavg)"
psql_p() { "$P" lab ssh "$INV" "$primary" -- "cd /tmp && runuser -u postgres -- psql -XAtqc \"$1\""; }
timed "pgbench -i -s $SCALE on $primary" "$P" lab ssh "$INV" "$primary" -- \
  "cd /tmp && { runuser -u postgres -- psql -XAtqc 'select count(*) from pgbench_branches' 2>/dev/null | grep -qx $SCALE || runuser -u postgres -- pgbench -i -q -s $SCALE postgres; }"
psql_p "select 'database postgres: '||pg_size_pretty(pg_database_size('postgres'))"
timed "provision backup --type full" "$P" backup "$INV" --type full
sleep 5
timed "provision rebuild $replica --from backup" "$P" rebuild "$INV" "$replica" --from backup
sleep 5
timed "provision rebuild $replica --from primary" "$P" rebuild "$INV" "$replica" --from primary
"$P" backups "$INV"
