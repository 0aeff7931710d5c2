#!/bin/bash
# A private copy of inventories/lab: lab `ptlab` on 10.92.0.0/24, state under
# /var/lib/provision/labs/ptlab/, python3 + venv + psycopg2 offered by the offline repo.
set -eu
SRC=${SRC:-/work/main/inventories/lab}
DST=${1:-/tmp/ptlab/lab}
rm -rf "$DST"; mkdir -p "$(dirname "$DST")"; cp -r "$SRC" "$DST"
sed -i 's/10\.77\.0\./10.92.0./g' "$DST/hosts.yml"
sed -i 's|network: 10.77.0.0/24 .*|network: 10.92.0.0/24\n  name: ptlab|; s|/labs/lab/|/labs/ptlab/|g; s|    - haproxy|    - haproxy\n    - python3\n    - python3-venv\n    - python3-psycopg2|' "$DST/group_vars/all.yml"
! grep -rn "10\.77\.\|/labs/lab/" "$DST"
echo "$DST"
