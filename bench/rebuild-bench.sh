#!/bin/bash
# Replica rebuild (`provision rebuild`) vs a bare pg_basebackup of the same database, on the pgha
# cluster of the lab. From the project directory: bench/rebuild-bench.sh [INV] [SCALE]
#  1. pgbench -i -s SCALE through HAProxy :5000 from lb1 (scale 70 ≈ 1 GB), unless already loaded
#  2. `provision rebuild INV REPLICA` timed (agent stop, wipe, re-clone by pgha, streaming again)
#  3. a bare `pg_basebackup -X stream -c fast` of the primary into a scratch dir on the same replica
#     host, timed, then removed
# Passwords are read from the lab's secrets directory and passed in the environment, never printed.
set -eu
INV=${1:-/tmp/ptlab/lab} SCALE=${2:-70}
P=${P:-.build/debug/provision}
SECRETS=/var/lib/provision/labs/ptlab/secrets
su_pw=$(cat $SECRETS/postgres_superuser_password) repl_pw=$(cat $SECRETS/postgres_replication_password)
primary=""; for h in pg1 pg2 pg3; do
  if "$P" lab ssh "$INV" $h -- "pgha-api GET /primary" >/dev/null 2>&1; then primary=$h; fi; done
replica=$(for h in pg1 pg2 pg3; do [ $h != "$primary" ] && echo $h; done | tail -1)
paddr=$(awk -v h=$primary '$1==h":"{gsub(/[{},]/,"");print $3}' "$INV/hosts.yml")
echo "primary $primary ($paddr), rebuilding $replica; load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
"$P" lab ssh "$INV" lb1 -- "export PGPASSWORD='$su_pw'; psql -h 127.0.0.1 -p 5000 -U postgres -d postgres -XAtqc \"select count(*) from pgbench_branches\" 2>/dev/null | grep -qx $SCALE || pgbench -i -q -s $SCALE -h 127.0.0.1 -p 5000 -U postgres postgres 2>&1 | tail -2"
t1=$(date +%s.%N)
"$P" lab ssh "$INV" lb1 -- "export PGPASSWORD='$su_pw'; psql -h 127.0.0.1 -p 5000 -U postgres -d postgres -XAtqc \"select 'database postgres: '||pg_size_pretty(pg_database_size('postgres'))||' ('||pg_database_size('postgres')||' bytes)'\""
echo "pgbench -i -s $SCALE through :5000: $(echo "$t1 - $t0" | bc) s"
sleep 5
t0=$(date +%s.%N)
"$P" rebuild "$INV" "$replica" 2>&1 | tail -3
t1=$(date +%s.%N)
echo "provision rebuild $replica: $(echo "$t1 - $t0" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
sleep 5
"$P" lab ssh "$INV" "$replica" -- "rm -rf /var/lib/postgresql/bb-bench; export PGPASSWORD='$repl_pw'; s=\$(date +%s.%N); setpriv --reuid=postgres --regid=postgres --init-groups /usr/lib/postgresql/15/bin/pg_basebackup -h $paddr -U replicator -D /var/lib/postgresql/bb-bench -X stream -c fast; e=\$(date +%s.%N); echo \"bare pg_basebackup on $replica from $primary: \$(awk -v s=\$s -v e=\$e 'BEGIN{printf \"%.1f\", e-s}') s, \$(du -sh /var/lib/postgresql/bb-bench | cut -f1)\"; rm -rf /var/lib/postgresql/bb-bench"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
