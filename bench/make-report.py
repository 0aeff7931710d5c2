#!/usr/bin/env python3
"""Summarises the drill reports under bench/results/raw/<setup>/<scenario>/ and the agent usage
samples under bench/results/raw/usage/, and draws hand-written SVG bar charts into bench/results/.
Prints the Markdown tables used in BENCHMARKS.md. Standard library only."""
import glob, json, os, re, statistics, sys

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "results", "raw")
OUT = os.path.join(HERE, "results")
SETUPS = [("pgha", "pgha (ttl 6)", "#4a7ebb"),
          ("patroni-tuned", "Patroni 4.1.5 tuned (ttl 20, loop 1, retry 3)", "#e08a2c"),
          ("patroni-default", "Patroni 4.1.5 defaults (ttl 30, loop 10, retry 10)", "#8a8a8a"),
          ("pgha-2", "pgha, second block", "#2b5d99")]
FIGS = ["rto_s", "detect_s", "promote_s", "route_s"]

def trials(setup, scenario):
    out = []
    for f in glob.glob(os.path.join(RAW, setup, scenario, f"{scenario}-*.json")):
        if re.search(rf"{scenario}-\d+\.json$", f):
            out.append(json.load(open(f)))
    return sorted(out, key=lambda t: t["trial"])

def stats(values):
    v = [x for x in values if x is not None]
    if not v: return None
    return (statistics.median(v), min(v), max(v), len(v))

def fmt(s, digits=2):
    if s is None: return "–"
    return f"{s[0]:.{digits}f} ({s[1]:.{digits}f}–{s[2]:.{digits}f})"

def esc(s): return s.replace("&", "&amp;").replace("<", "&lt;")

def bar_chart(path, title, unit, groups, goal=None, goal_label=""):
    """groups: [(label, color, [values])]: a bar at the median, a min–max whisker, each trial a dot."""
    w, h, left, top, bottom = 900, 90 + 46 * len(groups), 330, 40, 40
    vmax = max([max(v) for _, _, v in groups if v] + [goal or 0]) * 1.1 or 1
    plot_w = w - left - 140
    x = lambda v: left + plot_w * v / vmax
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="10" y="20" font-size="13">{esc(title)}</text>']
    axis_y = h - bottom
    s.append(f'<line x1="{left}" y1="{axis_y}" x2="{left+plot_w:.0f}" y2="{axis_y}" stroke="black"/>')
    step = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100][0]
    for c in [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200]:
        if vmax / c <= 10: step = c; break
    t = 0.0
    while t <= vmax:
        s.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#eee"/>')
        s.append(f'<text x="{x(t):.1f}" y="{axis_y+14}" text-anchor="middle">{t:g}</text>')
        t += step
    s.append(f'<text x="{left + plot_w/2:.0f}" y="{axis_y+30}" text-anchor="middle">{esc(unit)}</text>')
    for i, (label, color, vals) in enumerate(groups):
        y = top + 10 + i * 46
        s.append(f'<text x="{left-8}" y="{y+16}" text-anchor="end">{esc(label)}</text>')
        if not vals:
            s.append(f'<text x="{left+4}" y="{y+16}">not measured</text>'); continue
        med, lo, hi = statistics.median(vals), min(vals), max(vals)
        s.append(f'<rect x="{left}" y="{y}" width="{x(med)-left:.1f}" height="24" fill="{color}"/>')
        s.append(f'<line x1="{x(lo):.1f}" y1="{y+12}" x2="{x(hi):.1f}" y2="{y+12}" stroke="black"/>')
        for e in (lo, hi):
            s.append(f'<line x1="{x(e):.1f}" y1="{y+6}" x2="{x(e):.1f}" y2="{y+18}" stroke="black"/>')
        for v in vals:
            s.append(f'<circle cx="{x(v):.1f}" cy="{y+12}" r="2.5" fill="white" stroke="black"/>')
        s.append(f'<text x="{x(hi)+6:.1f}" y="{y+16}">median {med:.2f} (n={len(vals)})</text>')
    if goal is not None:
        s.append(f'<line x1="{x(goal):.1f}" y1="{top}" x2="{x(goal):.1f}" y2="{axis_y}" stroke="#c00" stroke-dasharray="4,3"/>')
        s.append(f'<text x="{x(goal)+4:.1f}" y="{top-4}" fill="#c00">{esc(goal_label)}</text>')
    s.append("</svg>")
    open(path, "w").write("\n".join(s) + "\n")

def main():
    summary = {}
    lines = []
    for scenario, goal, goal_label in [("kill-primary-host", 5.0, "goal ≤ 5 s"),
                                       ("switchover", 0.3, "goal ≤ 0.3 s"),
                                       ("partition-primary", 5.0, "goal ≤ 5 s (host loss)")]:
        groups = []
        rows = []
        for setup, label, color in SETUPS:
            ts = trials(setup, scenario)
            if not ts: continue
            st = {f: stats([t.get(f) for t in ts]) for f in FIGS}
            lost = sum(t["lost_rows"] for t in ts)
            sb = sum(t["split_brain_samples"] for t in ts)
            acked = sum(t["writes_acknowledged"] for t in ts)
            ttl = sorted({t.get("ttl_s") for t in ts})
            summary.setdefault(scenario, {})[setup] = {
                "trials": len(ts), "ttl_s": ttl, "lost_rows": lost, "split_brain_samples": sb, "acked": acked,
                "passed": sum(1 for t in ts if t["passed"]),
                **{f: st[f] and {"median": st[f][0], "min": st[f][1], "max": st[f][2], "n": st[f][3]} for f in FIGS},
                "rto_each": [round(t["rto_s"], 3) for t in ts]}
            rows.append(f"| {label} | {len(ts)} | {'/'.join(f'{x:g}' for x in ttl)} | **{fmt(st['rto_s'])}** | {fmt(st['detect_s'])} | "
                        f"{fmt(st['promote_s'])} | {fmt(st['route_s'])} | {acked} | {lost} | {sb} |")
            groups.append((label, color, [t["rto_s"] for t in ts]))
        if not rows: continue
        lines.append(f"\n#### {scenario}: median (min–max), seconds\n")
        lines.append("| agent | trials | ttl (as served by /config) | RTO | detect | promote | route | acked rows | lost | split-brain samples |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        lines += rows
        bar_chart(os.path.join(OUT, f"rto-{scenario}.svg"),
                  f"{scenario}: RTO through HAProxy :5000 (bar = median, whisker = min–max, dots = trials)",
                  "seconds without an acknowledged write", groups, goal, goal_label)
    # kill-primary-host with the etcd leader placed on purpose (etcd-placement-drill.sh)
    place_groups = []
    for setup, label in [("pgha-etcd-leader-elsewhere", "pgha, etcd leader on another host"),
                         ("pgha-etcd-leader-on-primary", "pgha, etcd leader on the primary's host")]:
        ts = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(RAW, setup, "kill-primary-host-*", "kill-primary-host-1.json")))]
        if not ts: continue
        st = {f: stats([t.get(f) for t in ts]) for f in FIGS}
        if not place_groups:
            lines.append("\n#### kill-primary-host, etcd leader placed before each trial: median (min–max), seconds\n")
            lines.append("| setup | trials | RTO | detect | promote | route | lost | split-brain samples |")
            lines.append("|---|---|---|---|---|---|---|---|")
        lines.append(f"| {label} | {len(ts)} | **{fmt(st['rto_s'])}** | {fmt(st['detect_s'])} | {fmt(st['promote_s'])} | {fmt(st['route_s'])} | "
                     f"{sum(t['lost_rows'] for t in ts)} | {sum(t['split_brain_samples'] for t in ts)} |")
        summary.setdefault("etcd-placement", {})[setup] = {"rto_each": [round(t["rto_s"], 3) for t in ts],
                                                          "detect_each": [round(t["detect_s"], 3) for t in ts]}
        place_groups.append((label, "#4a7ebb" if "elsewhere" in setup else "#2b5d99", [t["rto_s"] for t in ts]))
    if place_groups:
        bar_chart(os.path.join(OUT, "rto-etcd-placement.svg"), "pgha kill-primary-host: RTO by where the etcd leader was",
                  "seconds without an acknowledged write", place_groups, 5.0, "goal ≤ 5 s")
    # agent usage
    usage = {}
    for f in sorted(glob.glob(os.path.join(RAW, "usage", "*.txt"))):
        name = os.path.basename(f)[:-4]
        for line in open(f):
            m = re.match(r"(\S+) (\S+) pid=\d+ window=([\d.]+)s rss_first_kb=(\d+) rss_max_kb=(\d+) rss_mean_kb=(\d+) cpu_s=([\d.]+) cpu_pct=([\d.]+)", line)
            if m:
                usage.setdefault(name, []).append({"host": m[1], "unit": m[2], "window_s": float(m[3]), "rss_max_kb": int(m[5]),
                                                   "rss_mean_kb": int(m[6]), "cpu_s": float(m[7]), "cpu_pct": float(m[8])})
    if usage:
        lines.append("\n#### agent process: VmRSS and CPU (utime+stime of the agent's main process)\n")
        lines.append("| run | host | window | RSS mean / max (MB) | CPU seconds | CPU % of one core |")
        lines.append("|---|---|---|---|---|---|")
        order = ["pgha-idle", "pgha-failover", "patroni-tuned-idle", "patroni-tuned-failover", "patroni-default-idle", "patroni-default-failover"]
        usage = dict(sorted(usage.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
        for name, rs in usage.items():
            for r in sorted(rs, key=lambda r: r["host"]):
                lines.append(f"| {name} | {r['host']} | {r['window_s']:.0f} s | {r['rss_mean_kb']/1024:.1f} / {r['rss_max_kb']/1024:.1f} | {r['cpu_s']:.2f} | {r['cpu_pct']:.2f} |")
        rss_groups, cpu_groups = [], []
        for name, rs in usage.items():
            rss_groups.append((name, "#4a7ebb" if name.startswith("pgha") else "#e08a2c", [r["rss_max_kb"] / 1024 for r in rs]))
            cpu_groups.append((name, "#4a7ebb" if name.startswith("pgha") else "#e08a2c", [r["cpu_pct"] for r in rs]))
        bar_chart(os.path.join(OUT, "agent-rss.svg"), "Agent VmRSS (max over the window), each host a dot", "MB", rss_groups, 20, "goal ≤ 20 MB idle")
        bar_chart(os.path.join(OUT, "agent-cpu.svg"), "Agent CPU (utime+stime over the window / wall time), each host a dot", "% of one core", cpu_groups)
    summary["usage"] = usage
    # replica rebuild vs bare pg_basebackup (rebuild-bench.sh logs)
    reb, bb = [], []
    for f in sorted(glob.glob(os.path.join(RAW, "rebuild", "log*.txt"))):
        for line in open(f):
            m = re.match(r"provision rebuild \S+: ([\d.]+) s", line)
            if m: reb.append(float(m[1]))
            m = re.match(r"bare pg_basebackup .*: ([\d.]+) s", line)
            if m: bb.append(float(m[1]))
    if reb or bb:
        bar_chart(os.path.join(OUT, "rebuild.svg"), "Replica rebuild of a 1057 MB database: provision rebuild vs bare pg_basebackup",
                  "seconds", [("provision rebuild (stop, wipe, re-clone, streaming)", "#4a7ebb", reb),
                              ("bare pg_basebackup -X stream -c fast", "#8a8a8a", bb)])
        summary["rebuild"] = {"provision_rebuild_s": reb, "pg_basebackup_s": bb}
    json.dump(summary, open(os.path.join(OUT, "summary.json"), "w"), indent=1)
    print("\n".join(lines))

main()
