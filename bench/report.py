#!/usr/bin/python3
"""Turns ringstore-bench JSON results into a Markdown summary with plots.

    bench/report.py OUT.md RESULT.json [RESULT.json ...] [--baseline LABEL ...] [--title T]

Runs are grouped by workload and label; repeats of a label (rounds of bench/compare)
are summarised by their median throughput and latencies, and each row gets its ratio
against every baseline label measured in the same file set. Plots (PNG, matplotlib from
Debian's python3-matplotlib) go to a directory named after OUT.md: throughput over time
and the latency distribution for each workload. bench/compare imports `render`.
"""

import argparse
import json
import os
import statistics
import sys
from collections import defaultdict


def load(paths):
    results = []
    for path in paths:
        with open(path) as f:
            results.append(json.load(f))
    return results


def grouped(results):
    """{workload: {label: [result, ...]}} in first-seen order."""
    groups = defaultdict(lambda: defaultdict(list))
    for result in results:
        groups[result["workload"]][result["label"]].append(result)
    return groups


def median_run(runs):
    """The repeat whose throughput is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r["run"]["throughput"])
    return ordered[(len(ordered) - 1) // 2]


def summary(runs):
    latency = [r["run"]["latency"]["all"] for r in runs]
    errors = defaultdict(int)
    for r in runs:
        for kind, count in r["run"]["errors"].items():
            errors[kind] += count
    return {
        "throughput": statistics.median(r["run"]["throughput"] for r in runs),
        "spread": (min(r["run"]["throughput"] for r in runs), max(r["run"]["throughput"] for r in runs)),
        "p50": statistics.median(l["p50"] for l in latency) / 1000,
        "p99": statistics.median(l["p99"] for l in latency) / 1000,
        "p999": statistics.median(l["p999"] for l in latency) / 1000,
        "max": max(l["max"] for l in latency) / 1000,
        "errors": dict(errors),
        "not_found": sum(r["run"]["not_found"] for r in runs),
        "busy": statistics.median(r["machine"].get("busy_share") or 0 for r in runs),
        "runs": len(runs),
    }


def kind_rows(runs):
    """Per operation kind: median p50/p99 (ms) across repeats."""
    rows = {}
    kinds = sorted({k for r in runs for k in r["run"]["latency"] if k != "all"})
    for kind in kinds:
        values = [r["run"]["latency"][kind] for r in runs if kind in r["run"]["latency"]]
        rows[kind] = (
            statistics.median(v["p50"] for v in values) / 1000,
            statistics.median(v["p99"] for v in values) / 1000,
        )
    return rows


def fmt_errors(errors):
    return ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "0"


def table(workload, labels, baselines):
    present = [b for b in baselines if b in labels]
    head = ["target", "runs", "ops/s (median)", "min-max", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "CPU busy"]
    head += [f"x {b}" for b in present]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    sums = {label: summary(runs) for label, runs in labels.items()}
    for label, s in sums.items():
        row = [
            label,
            str(s["runs"]),
            f"{s['throughput']:,.0f}",
            f"{s['spread'][0]:,.0f}-{s['spread'][1]:,.0f}",
            f"{s['p50']:.2f}",
            f"{s['p99']:.2f}",
            f"{s['p999']:.2f}",
            f"{s['max']:.1f}",
            fmt_errors(s["errors"]),
            f"{s['busy'] * 100:.0f}%",
        ]
        for b in present:
            base = sums[b]["throughput"]
            row.append(f"{s['throughput'] / base:.2f}" if base else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines), sums


def plots(workload, labels, directory, stem):
    """Writes the two plots of a workload; returns their paths relative to the report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    made = []

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for i, (label, runs) in enumerate(labels.items()):
        for n, r in enumerate(runs):
            series = r["run"]["series"]
            ax.plot(
                [p["second"] for p in series],
                [p["operations"] for p in series],
                color=colors[i % len(colors)],
                alpha=1.0 if n == 0 else 0.45,
                linewidth=1.6 if n == 0 else 1.0,
                label=label if n == 0 else None,
            )
    ax.set_xlabel("second of the measured run (each repeat drawn; lighter lines are later rounds)")
    ax.set_ylabel("operations per second")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    made.append(save(fig, ax, f"workload {workload}: throughput over time", directory, f"{stem}-{workload}-throughput.png"))

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for i, (label, runs) in enumerate(labels.items()):
        cdf = median_run(runs)["run"]["cdf"]
        points = [(p, v / 1000) for p, v in cdf if p < 100]
        if not points:
            continue
        ax.plot(
            [1 / (1 - p / 100) for p, _ in points],
            [v for _, v in points],
            color=colors[i % len(colors)],
            label=label,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [1, 2, 10, 100, 1000, 10000]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["0%", "50%", "90%", "99%", "99.9%", "99.99%"])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.3, which="both")
    title = f"workload {workload}: latency by percentile (the median repeat)"
    made.append(save(fig, ax, title, directory, f"{stem}-{workload}-latency.png"))
    return made


def save(fig, ax, title, directory, name):
    """Titles the plot, adds its legend, writes it as PNG and returns its file name."""
    import matplotlib.pyplot as plt

    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, name), dpi=110)
    plt.close(fig)
    return name


def render(results, out_path, baselines=(), title=None, preamble="", extra_sections=()):
    """Writes the Markdown report (and its plots) for `results`; returns the summaries
    as {workload: {label: summary}}."""
    directory = os.path.splitext(out_path)[0]
    stem = os.path.basename(directory)
    lines = [f"# {title or 'ringstore-bench results'}", ""]
    if preamble:
        lines += [preamble.rstrip(), ""]
    everything = {}
    for workload, labels in grouped(results).items():
        sample = next(iter(labels.values()))[0]
        lines.append(f"## Workload {workload}")
        lines.append("")
        lines.append(
            f"{sample['distribution']} requests over {sample['records']:,} records of {sample['value_bytes']} B, "
            f"{sample['connections']} connections, {sample.get('duration_seconds') or '-'} s measured after "
            f"{sample['warmup_seconds']} s of warm-up. Latencies of successful operations; ratios are of median "
            f"throughputs; CPU busy is the median share of both cores in use during the runs (server and client "
            f"together), from /proc/stat."
        )
        lines.append("")
        text, sums = table(workload, labels, baselines)
        everything[workload] = sums
        lines += [text, ""]
        kinds = {label: kind_rows(runs) for label, runs in labels.items()}
        if any(len(k) > 1 for k in kinds.values()):
            lines.append("By operation (median p50 / p99, ms):")
            lines.append("")
            for label, rows in kinds.items():
                cells = "; ".join(f"{kind} {p50:.2f} / {p99:.2f}" for kind, (p50, p99) in rows.items())
                lines.append(f"- {label}: {cells}")
            lines.append("")
        for name in plots(workload, labels, directory, stem):
            lines.append(f"![{name}]({stem}/{name})")
        lines.append("")
    for section in extra_sections:
        lines += [section.rstrip(), ""]
    with open(out_path, "w") as f:
        f.write("\n".join(lines))
    return everything


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("results", nargs="+")
    parser.add_argument("--baseline", action="append", default=[])
    parser.add_argument("--title")
    args = parser.parse_args()
    render(load(args.results), args.out, args.baseline, args.title)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
