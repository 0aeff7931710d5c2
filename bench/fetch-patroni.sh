#!/bin/sh
# Builds the wheel set for Patroni 4.1.5 (+ etcd3 extra, psycopg2-binary) on the control machine
# (CPython 3.11, like the lab hosts' Debian 12 python3) and packs it for bench/patroni.yml.
# The lab hosts have no network: the tarball is copied to them by the playbook.
set -eu
OUT=${1:-/tmp/ptlab}
mkdir -p "$OUT/wheels"
python3 -m pip wheel 'patroni[etcd3]==4.1.5' psycopg2-binary -w "$OUT/wheels"
tar -C "$OUT/wheels" -cf "$OUT/patroni-wheels.tar" .
ls -l "$OUT/patroni-wheels.tar"
