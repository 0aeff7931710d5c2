#!/bin/bash
# kill-primary-host with the etcd leader placed on purpose: before each single-trial drill the
# etcd leadership is moved (etcdctl move-leader) onto the primary's host (PLACE=primary) or onto
# another database host (PLACE=other). Shows what losing the etcd leader together with the
# primary adds to the failover. From the project directory:
#   bench/etcd-placement-drill.sh LABEL PLACE TRIALS DURATION
set -u
label=$1 place=$2 n=$3 duration=$4
INV=${INV:-/tmp/ptlab/lab}; P=${P:-.build/debug/provision}
OUT=${OUT:-bench/results/raw}
# TLS on every link: etcdctl runs on pg1 as etcd's root (etcd-admin, passwords never in argv); the
# REST API is asked over https with the operator's client certificate from the lab's CA directory.
TLS=${TLS:-/var/lib/provision/labs/lab/secrets/tls}
EP=https://10.92.0.11:2379,https://10.92.0.12:2379,https://10.92.0.13:2379
etcdctl() { "$P" lab ssh "$INV" pg1 -- etcd-admin etcdctl "$@"; }
declare -A ADDR=([pg1]=10.92.0.11 [pg2]=10.92.0.12 [pg3]=10.92.0.13)
for k in $(seq "$n"); do
  for i in $(seq 60); do
    primary=""; for h in pg1 pg2 pg3; do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 --cacert "$TLS/ca.crt" --cert "$TLS/operator-client.crt" --key "$TLS/operator-client.key" https://${ADDR[$h]}:8008/primary)" = 200 ] && primary=$h; done
    [ -n "$primary" ] && break; sleep 2; done
  if [ "$place" = primary ]; then want=$primary; else want=$(for h in pg1 pg2 pg3; do [ $h != "$primary" ] && echo $h; done | sed -n 1p); fi
  st=$(etcdctl --endpoints $EP endpoint status -w json)
  leader_ep=$(echo "$st" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([e["Endpoint"] for e in d if e["Status"]["header"]["member_id"]==e["Status"]["leader"]][0])')
  want_id=$(echo "$st" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([format(e["Status"]["header"]["member_id"],"x") for e in d if "'${ADDR[$want]}'" in e["Endpoint"]][0])')
  etcdctl --endpoints "$leader_ep" move-leader "$want_id" >/dev/null 2>&1 || true
  sleep 2
  now=$(etcdctl --endpoints $EP endpoint status -w json | python3 -c 'import json,sys; d=json.load(sys.stdin); print([e["Endpoint"] for e in d if e["Status"]["header"]["member_id"]==e["Status"]["leader"]][0])')
  dir=$OUT/$label/kill-primary-host-$k; mkdir -p "$dir"
  echo "== $label trial $k: primary $primary, etcd leader wanted on $want (place=$place), is $now; $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/$label/log.txt"
  "$P" drill "$INV" --scenario kill-primary-host --duration "$duration" --clients 3 --repeat 1 --report "$dir" 2>&1 | grep -E "^1 |LOST|passed|FAILED" | tee -a "$OUT/$label/log.txt"
done
