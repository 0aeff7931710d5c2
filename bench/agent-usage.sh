#!/bin/bash
# Agent RSS and CPU on lab hosts: for each HOST, samples the agent unit's main process
# (systemctl show -p MainPID) once a second for SECONDS: VmRSS from /proc/PID/status (first, max,
# mean) and utime+stime from /proc/PID/stat (delta over the window, in CPU seconds and as a
# percentage of one core). Runs on the hosts (through `provision lab ssh`), all hosts at once.
# Usage (from the project directory): bench/agent-usage.sh INV UNIT SECONDS HOST...
set -eu
inv=$1 unit=$2 secs=$3; shift 3
P=${P:-.build/debug/provision}
remote='u='"$unit"' n='"$secs"'
pid=$(systemctl show -p MainPID --value $u); [ "$pid" != 0 ] || { echo "$(hostname) $u not running"; exit 0; }
hz=$(getconf CLK_TCK)
cpu() { sed "s/^.*) //" /proc/$pid/stat | awk "{print \$12+\$13}"; }
rss() { awk "/^VmRSS/{print \$2}" /proc/$pid/status; }
c0=$(cpu); t0=$(date +%s.%N); first=$(rss); max=$first; sum=0; k=0
for i in $(seq $n); do r=$(rss 2>/dev/null) || break; [ -n "$r" ] || break; sum=$((sum+r)); k=$((k+1)); [ $r -gt $max ] && max=$r; sleep 1; done
c1=$(cpu 2>/dev/null || echo $c0); t1=$(date +%s.%N)
awk -v h=$(hostname) -v u=$u -v p=$pid -v f=$first -v m=$max -v s=$sum -v k=$k -v c=$((c1-c0)) -v hz=$hz -v t0=$t0 -v t1=$t1 \
  "BEGIN{w=t1-t0; printf \"%s %s pid=%s window=%.1fs rss_first_kb=%d rss_max_kb=%d rss_mean_kb=%d cpu_s=%.2f cpu_pct=%.2f\n\", h,u,p,w,f,m,(k?s/k:0),c/hz,100*c/hz/w}"'
for h in "$@"; do
  "$P" lab ssh "$inv" "$h" -- "$remote" &
done
wait
