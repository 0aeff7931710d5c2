#!/bin/bash
# Logs, once a second, which lab host leads etcd (by member name) and which one holds the
# cluster's leader key, so each drill trial can be told apart by whether the killed primary
# also led etcd. Usage: bench/etcd-leader-log.sh OUTFILE  (stop it by its PID)
out=$1
INV=${INV:-/tmp/ptlab/lab}; P=${P:-.build/debug/provision}
EP=${EP:-https://10.92.0.11:2379,https://10.92.0.12:2379,https://10.92.0.13:2379}
# etcd is TLS + RBAC: etcdctl runs on pg1 as etcd's root through etcd-admin (passwords never in argv).
etcdctl() { "$P" lab ssh "$INV" pg1 -- etcd-admin etcdctl "$@"; }
while :; do
  l=$(etcdctl --endpoints "$EP" --command-timeout=1s endpoint status -w json 2>/dev/null |
      python3 -c 'import json,sys
d=json.load(sys.stdin); lead={e["Status"]["leader"] for e in d}
print(",".join(e["Endpoint"] for e in d if e["Status"]["header"]["member_id"] in lead) or "-")' 2>/dev/null)
  k=$(etcdctl --endpoints "$EP" --command-timeout=1s get --print-value-only /service/demo/leader 2>/dev/null)
  echo "$(date -u +%FT%T.%3NZ) etcd_leader=${l:--} leader_key=${k:--}" >> "$out"
  sleep 1
done
