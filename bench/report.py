#!/usr/bin/env python3
"""Turns bench/compare.sh and bench/scale.sh results into tables, a chart and the
generated parts of docs/benchmarks.md.

  report.py compare RESULTS_DIR [--docs docs/benchmarks.md --chart docs/benchmarks.png]
  report.py scale RESULTS_DIR [--docs docs/benchmarks.md]
  report.py line RESULT.json      # one summary line of one compare.sh run (stdout)

Only the text between the <!-- compare:begin/end --> and <!-- scale:begin/end --> markers is
rewritten; the rest of the document (targets, findings) is kept as written.
"""
import glob
import json
import os
import re
import statistics
import sys

TARGETS = ["cinesis-durable", "cinesis-nosync", "cinesis-memory", "kinesalite", "kinesis-local"]
TARGET_NAMES = {
    "cinesis-durable": "cinesis (durable)",
    "cinesis-nosync": "cinesis (`--fsync never`)",
    "cinesis-memory": "cinesis (--in-memory)",
    "kinesalite": "kinesalite",
    "kinesis-local": "kinesis-local",
}
SCENARIOS = ["put-records", "put-record", "get-records", "mixed"]
SCENARIO_NAMES = {
    "put-records": "PutRecords (500 × 100 B)",
    "put-record": "PutRecord (100 B)",
    "get-records": "GetRecords (drain, Limit 10000)",
    "mixed": "mixed (4 put + 4 get; put+get records)",
}
BASELINE = "kinesalite"

SKELETON = """# Benchmarks

How cinesis compares with the other local Kinesis servers, how it behaves as data
accumulates, and where its time goes. Everything here is measured on the machine described
below by the scripts in `bench/`; the generated parts are rewritten by them.

## How to run

```sh
cmake --preset release && cmake --build build/release -j1 --target cinesis cinesis_microbench
bench/compare.sh     # side by side with kinesalite and kinesis-local (npm), ~6 min; rewrites the tables below
bench/scale.sh       # durable cinesis filled to 1M then 10M records, ~4 min
build/release/bench/cinesis_microbench   # hot-path microbenchmarks (Google Benchmark)
```

One scenario by hand (any Kinesis endpoint):

```sh
build/release/apps/cinesis/cinesis serve --port 0 --create-stream-ms 0 &   # prints its port
build/release/apps/cinesis/cinesis bench --endpoint http://127.0.0.1:PORT --scenario put-records \\
    --connections 8 --shards 4 --record-bytes 100 --batch 500 --duration 10s --server-pid $!
```

`cinesis bench --help` lists every option; scenarios are `put-records`, `put-record`,
`get-records` (prefill, then drain from TRIM_HORIZON pass after pass), `mixed` and
`startup` (exec → first answered request).

## Side by side

<!-- compare:begin -->
(run bench/compare.sh)
<!-- compare:end -->

## Scale

<!-- scale:begin -->
(run bench/scale.sh)
<!-- scale:end -->

## Targets and findings

(written by hand after a run)
"""


def load(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def fmt_int(v):
    return f"{int(round(v)):,}"


def fmt_ms(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(v, base):
    if not base:
        return ""
    r = v / base
    if r >= 10:
        return f"{r:,.0f}×"
    if r >= 1:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def cpu_us(r, who, per="record"):
    """CPU microseconds of `who` ("server" or "client") per record (or per call) over the
    measured window; None when unknown. Results from before `cinesis bench` reported it
    directly are derived from the CPU % and the rate of the same window."""
    v = r.get(f"{who}_cpu_us_per_{per}")
    if v is not None:
        return v
    pct = r.get(f"{who}_cpu_pct")
    rate = r.get("records_per_s" if per == "record" else "calls_per_s")
    if pct is None or pct < 0 or not rate:
        return None
    return pct / 100 * 1e6 / rate


def fmt_us(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def summary_line(r):
    """The line compare.sh prints after each run: rate, latency, CPU per record, RSS."""
    per_call = "" if r["scenario"] == "put-record" else f", {fmt_us(cpu_us(r, 'server', 'call'))} µs/call"
    return (f"   {r['label']} {r['scenario']}: {fmt_int(r['records_per_s'])} records/s, "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"server cpu {r.get('server_cpu_pct', -1):.0f}% = {fmt_us(cpu_us(r, 'server'))} µs/record{per_call}, "
            f"client cpu {r.get('client_cpu_pct', -1):.0f}% = {fmt_us(cpu_us(r, 'client'))} µs/record, "
            f"other processes {r.get('others_cpu_pct', -1):.0f}%, "
            f"rss idle {r.get('idle_rss_mb', -1):.1f} MB -> {r.get('after_rss_mb', -1):.1f} MB")


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def replace_section(doc_path, name, text):
    doc = open(doc_path).read() if os.path.exists(doc_path) else SKELETON
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in doc:
        doc = doc.rstrip() + f"\n\n{begin}\n{end}\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    doc = pattern.sub(lambda _: f"{begin}\n{text.strip()}\n{end}", doc)
    with open(doc_path, "w") as f:
        f.write(doc)


def compare(results, docs=None, chart=None):
    res = {}
    for path in glob.glob(os.path.join(results, "*.json")):
        name = os.path.basename(path)[:-5]
        for t in TARGETS:
            if name.startswith(t + "-"):
                res[(t, name[len(t) + 1:])] = load(path)
    targets = [t for t in TARGETS if any(k[0] == t for k in res)]
    scenarios = [s for s in SCENARIOS if any(k[1] == s for k in res)]
    machine = open(os.path.join(results, "machine.txt")).read() if os.path.exists(os.path.join(results, "machine.txt")) else ""

    # Throughput with ratios.
    rows = []
    for s in scenarios:
        base = res.get((BASELINE, s), {}).get("records_per_s")
        row = [SCENARIO_NAMES[s]]
        for t in targets:
            r = res.get((t, s))
            if not r:
                row.append("–")
                continue
            cell = fmt_int(r["records_per_s"])
            if base:
                cell += f" ({ratio(r['records_per_s'], base)})"
            if not r.get("complete", True) or r.get("errors", 0) or r.get("missing_records", 0):
                cell += " ⚠"
            row.append(cell)
        rows.append(row)
    throughput = md_table(["records/s (ratio vs kinesalite)"] + [TARGET_NAMES[t] for t in targets], rows)

    # CPU per record, server and load generator, with the server's ratio to kinesalite.
    rows = []
    for s in scenarios:
        b = res.get((BASELINE, s))
        base = cpu_us(b, "server") if b else None
        name = SCENARIO_NAMES[s] + (" = per request" if s == "put-record" else "")
        row = [name]
        for t in targets:
            r = res.get((t, s))
            if not r:
                row.append("–")
                continue
            server = cpu_us(r, "server")
            cell = f"{fmt_us(server)} / {fmt_us(cpu_us(r, 'client'))}"
            if base and server:
                cell += f" ({ratio(server, base)})"
            row.append(cell)
        rows.append(row)
    cpu = md_table(["CPU µs per record: server / load generator (server ratio vs kinesalite)"]
                   + [TARGET_NAMES[t] for t in targets], rows)

    # Latency.
    rows = []
    for s in scenarios:
        row = [SCENARIO_NAMES[s].split(" (")[0]]
        for t in targets:
            r = res.get((t, s))
            if not r:
                row.append("–")
                continue
            if s == "mixed":
                ops = r.get("ops", {})
                p = ops.get("PutRecords", {})
                g = ops.get("GetRecords", {})
                row.append(f"put {fmt_ms(p.get('p50_ms'))} / {fmt_ms(p.get('p99_ms'))}; get {fmt_ms(g.get('p50_ms'))} / {fmt_ms(g.get('p99_ms'))}")
            else:
                row.append(f"{fmt_ms(r['p50_ms'])} / {fmt_ms(r['p99_ms'])} / {fmt_ms(r['max_ms'])}")
        rows.append(row)
    latency = md_table(["per call, ms: p50 / p99 / max"] + [TARGET_NAMES[t] for t in targets], rows)

    # Resources.
    rows = []
    startup = {t: load(os.path.join(results, f"{t}-startup.json")) for t in targets if os.path.exists(os.path.join(results, f"{t}-startup.json"))}
    def per_target(fn):
        row = []
        for t in targets:
            try:
                v = fn(t)
            except (KeyError, TypeError, statistics.StatisticsError):
                v = None
            row.append(v if v is not None else "–")
        return row
    rows.append(["start → first answered request, ms (median of runs)"] + per_target(lambda t: fmt_ms(startup[t]["ready_ms"]["median"])))
    rows.append(["RSS when first ready, MB"] + per_target(lambda t: f"{startup[t]['rss_mb']['median']:.1f}"))
    rows.append(["idle RSS 1 s after start, MB (median over scenarios)"] + per_target(
        lambda t: f"{statistics.median(res[(t, s)]['idle_rss_mb'] for s in scenarios if (t, s) in res):.1f}"))
    if "put-records" in scenarios:
        rows.append(["RSS after the put-records run, MB"] + per_target(lambda t: f"{res[(t, 'put-records')]['after_rss_mb']:.1f}"))
        rows.append(["records stored by the put-records run (warmup included)"] + per_target(lambda t: fmt_int(res[(t, 'put-records')]["total_put_records"])))
        rows.append(["RSS growth per stored record, KB (after − idle)"] + per_target(lambda t: f"{(res[(t, 'put-records')]['after_rss_mb'] - res[(t, 'put-records')]['idle_rss_mb']) * 1024 / max(1, res[(t, 'put-records')]['total_put_records']):.2f}"))
    for s in scenarios:
        rows.append([f"server CPU during {s}, % of one core"] + per_target(lambda t, s=s: f"{res[(t, s)]['server_cpu_pct']:.0f}"))
    for s in scenarios:
        rows.append([f"load generator CPU during {s}, % of one core"] + per_target(lambda t, s=s: f"{res[(t, s)]['client_cpu_pct']:.0f}"))
    for s in scenarios:
        rows.append([f"other processes (and unattributed kernel work) during {s}, % of one core"] + per_target(lambda t, s=s: f"{res[(t, s)]['others_cpu_pct']:.0f}"))
    resources = md_table(["resources"] + [TARGET_NAMES[t] for t in targets], rows)

    notes = []
    for (t, s), r in sorted(res.items()):
        if r.get("errors") or r.get("missing_records") or not r.get("complete", True) or r.get("failed_records"):
            notes.append(f"- ⚠ {TARGET_NAMES[t]} {s}: {r.get('errors', 0)} failed calls, {r.get('failed_records', 0)} failed records, "
                         f"{r.get('missing_records', 0)} missing records{'' if r.get('complete', True) else ', incomplete'}"
                         + (f"; first error: `{r['first_error'][:160]}`" if r.get("first_error") else ""))
    gr = [(t, res[(t, "get-records")]) for t in targets if (t, "get-records") in res]
    prefill_note = ", ".join(f"{TARGET_NAMES[t]} {fmt_int(r['prefill_records'])}" for t, r in gr)

    text = []
    text.append("Measured by `bench/compare.sh` (raw JSON lines in `bench/results/`, not committed).\n")
    text.append("Machine and settings:\n\n```\n" + machine.strip() + "\n```\n")
    text.append("Throughput: records per second acknowledged (puts) or returned (gets); the ratio is to kinesalite "
                "on the same scenario. Each server is started fresh for each scenario; every load runs "
                "with the same `cinesis bench` client (8 keep-alive connections, one thread each, prebuilt "
                "requests, random partition keys).\n")
    text.append(throughput + "\n")
    text.append("CPU per record: CPU time (user + system, from `/proc/PID/stat` for the server, "
                "`getrusage` for the load generator) over the measured window divided by the records "
                "moved in it (acknowledged puts plus records read; mixed counts both), in microseconds. "
                "It is what a change costs or saves, independent of how busy the machine was; for "
                "PutRecord one record is one request. Lower is better; the ratio is to kinesalite's "
                "server.\n")
    text.append(cpu + "\n")
    if chart:
        text.append(f"![records/s per scenario and server, log scale]({os.path.basename(chart)})\n")
    text.append(latency + "\n")
    text.append(resources + "\n")
    if prefill_note:
        text.append(f"get-records prefill (PutRecords, not timed): {prefill_note} records; every connection then reads "
                    "one shard (two connections per shard) from TRIM_HORIZON with GetRecords Limit 10000, pass after pass, "
                    "until the measured time is over and it finished at least one pass.\n")
    text.append("mixed: 4 connections put PutRecords of 500, 4 follow the shards with GetRecords from TRIM_HORIZON "
                "(pausing 5 ms after an empty read); records/s counts both.\n")
    if notes:
        text.append("\n".join(notes) + "\n")
    body = "\n".join(text)

    # Console table.
    print()
    print(throughput)
    print()
    print(cpu)
    print()
    print(latency)
    print()
    print(resources)
    if notes:
        print("\n".join(notes))

    if chart:
        draw_chart(res, targets, scenarios, chart)
    if docs:
        replace_section(docs, "compare", body)
        print(f"\nwrote {docs}" + (f" and {chart}" if chart else ""), file=sys.stderr)


def draw_chart(res, targets, scenarios, path):
    """Grouped bars, log scale, with gnuplot (Debian's gnuplot-nox, pngcairo terminal)."""
    import subprocess
    colors = {"cinesis-durable": "#1f6feb", "cinesis-nosync": "#388bfd", "cinesis-memory": "#6cb6ff", "kinesalite": "#d29922", "kinesis-local": "#8b949e"}
    n = len(targets)
    lines = ['"scenario" ' + " ".join(f'"{TARGET_NAMES[t]}"' for t in targets)]
    for s in scenarios:
        label = SCENARIO_NAMES[s].replace(" (", "\\n(")
        vals = []
        for t in targets:
            r = res.get((t, s))
            vals.append(f"{r['records_per_s']:.0f}" if r and r["records_per_s"] > 0 else "-")
        lines.append(f'"{label}" ' + " ".join(vals))
    data = "\n".join(lines)
    plots, labels = [], []
    for i, t in enumerate(targets):
        src = "$data" if i == 0 else "''"
        plots.append(f"{src} using {i + 2}:xtic(1) lc rgb '{colors.get(t, '#444444')}'")
        off = (i - (n - 1) / 2) / (n + 1)
        labels.append(f"$data using ($0+({off:.4f})):{i + 2}:(column({i + 2}) >= 1000 ? sprintf('%.0fk', column({i + 2})/1000.0) : sprintf('%.0f', column({i + 2}))) "
                      f"with labels offset 0,0.6 font ',7' notitle")
    script = f"""set terminal pngcairo size 1100,560 font "DejaVu Sans,9"
set output '{path}'
set datafile missing '-'
set key autotitle columnhead
set bmargin 4
set xrange [-0.6:{len(scenarios) - 0.4}]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set logscale y
set yrange [10:*]
set format y "%.0s%c"
set ylabel "records/s (log scale)"
set grid ytics mytics lc rgb '#dddddd'
set key top right
set title "Kinesis servers on 2 cores: 8 connections, 4 shards, 100-byte records"
$data << EOD
{data}
EOD
plot {", ".join(plots)}, \\
     {", ".join(labels)}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def scale(results, docs=None):
    rows = []
    steps = sorted(glob.glob(os.path.join(results, "step-*.json")), key=lambda p: int(re.findall(r"step-(\d+)", p)[0]))
    data = [load(p) for p in steps]
    header = ["stored records", "fill rate, records/s", "server RSS idle, MB", "data on disk, MB",
              "PutRecord p50 / p99 ms", "PutRecords p50 / p99 ms (during the fill)", "GetRecords p50 / p99 / max ms (Limit 10000, from TRIM_HORIZON)",
              "GetRecords records/s", "restart → first answer, ms (median)", "RSS after restart, MB"]
    for d in data:
        rows.append([
            fmt_int(d["stored"]),
            fmt_int(d["fill_rate"]) if d.get("fill_rate") else "–",
            f"{d['rss_mb']:.1f}",
            f"{d['disk_mb']:.0f}",
            f"{fmt_ms(d['put_record_p50'])} / {fmt_ms(d['put_record_p99'])}",
            f"{fmt_ms(d['put_records_p50'])} / {fmt_ms(d['put_records_p99'])}",
            f"{fmt_ms(d['get_p50'])} / {fmt_ms(d['get_p99'])} / {fmt_ms(d['get_max'])}",
            fmt_int(d["get_rate"]),
            fmt_ms(d["restart_ms"]),
            f"{d['restart_rss_mb']:.1f}",
        ])
    table = md_table(header, rows)
    machine = open(os.path.join(results, "machine.txt")).read() if os.path.exists(os.path.join(results, "machine.txt")) else ""
    text = ("Measured by `bench/scale.sh`: one durable cinesis server (fsync group commit) on a fresh data "
            "directory, a 4-shard stream filled with PutRecords of 500 × 100 B; PutRecords latency is that of the fill "
            "itself (8 connections); at each step the server is left idle for at least 1 s (and until the machine "
            "is quiet) and its RSS read, PutRecord is timed for 5 s (8 connections), 8 connections read the whole "
            "stream from TRIM_HORIZON with GetRecords (two per shard), and the server is restarted (SIGTERM, then "
            "`cinesis bench --scenario startup`, which times exec → first answered ListStreams).\n\n"
            "```\n" + machine.strip() + "\n```\n\n" + table + "\n")
    print()
    print(table)
    if docs:
        replace_section(docs, "scale", text)
        print(f"\nwrote {docs}", file=sys.stderr)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("compare", "scale", "line"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "line":
        print(summary_line(load(argv[2])))
        return 0
    args = argv[3:]
    opt = {}
    while args:
        k = args.pop(0)
        opt[k] = args.pop(0)
    if argv[1] == "compare":
        compare(argv[2], opt.get("--docs"), opt.get("--chart"))
    else:
        scale(argv[2], opt.get("--docs"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
