"""Markdown report of one bench/run.py run (tables only; docs/benchmarks.md adds the prose)."""

from __future__ import annotations

from typing import Any

__all__ = ["TARGETS", "render"]

# Throughput ratio targets at 32 connections (issue 3); p99 must be <= 1/5 of the reference's.
TARGETS = {"create": 10, "get": 5, "patch": 10, "append": 5, "lease": 10, "list": 10}
P99_FACTOR = 5
NAMES = {
    "create": "create intent",
    "get": "get intent",
    "patch": "state patch (own intent per connection)",
    "append": "append event",
    "lease": "lease acquire+release (cycles/s)",
    "list": "list 1,000 events",
}


def _ms(v: float) -> str:
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _mib(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def _run(results: dict[str, Any], scenario: str, target: str, conns: int) -> dict[str, Any] | None:
    data = results["http"].get(scenario, {}).get(target)
    if not data:
        return None
    return next((r for r in data["runs"] if r["connections"] == conns), None)


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _http_table(results: dict[str, Any], conns: int, headline: bool) -> list[str]:
    out = []
    if headline:
        out += [
            "| scenario | ours ops/s | ref ops/s | ratio | target | met | ours p99 ms | ref p99 ms | ref p99 / ours p99 | p99 <= ref/5 | errors ours/ref |",
            "|---|---:|---:|---:|---:|:-:|---:|---:|---:|:-:|---:|",
        ]
    else:
        out += [
            "| scenario | ours ops/s | ref ops/s | ratio | ours p50 ms | ref p50 ms | ours p99 ms | ref p99 ms | errors ours/ref |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for scenario, name in NAMES.items():
        ours, ref = _run(results, scenario, "ours", conns), _run(results, scenario, "ref", conns)
        if not ours and not ref:
            continue
        o_ops = f"{ours['ops_per_s']:.0f}" if ours else "-"
        r_ops = f"{ref['ops_per_s']:.0f}" if ref else "-"
        ratio = ours["ops_per_s"] / ref["ops_per_s"] if ours and ref and ref["ops_per_s"] else None
        o99 = ours["latency_ms"]["99"] if ours else None
        r99 = ref["latency_ms"]["99"] if ref else None
        errs = f"{ours['error_count'] if ours else '-'}/{ref['error_count'] if ref else '-'}"
        ratio_s = f"{ratio:.2f}x" if ratio else "-"
        if headline:
            target = TARGETS[scenario]
            p99_ratio = r99 / o99 if o99 and r99 else None  # 0 = no request finished
            out.append(
                f"| {name} | {o_ops} | {r_ops} | {ratio_s} | >= {target}x | "
                f"{_mark(ratio >= target) if ratio else '-'} | "
                f"{_ms(o99) if o99 is not None else '-'} | {_ms(r99) if r99 is not None else '-'} | "
                f"{f'{p99_ratio:.2f}x' if p99_ratio else '-'} | "
                f"{_mark(p99_ratio >= P99_FACTOR) if p99_ratio else '-'} | {errs} |"
            )
        else:
            o50 = _ms(ours["latency_ms"]["50"]) if ours else "-"
            r50 = _ms(ref["latency_ms"]["50"]) if ref else "-"
            out.append(
                f"| {name} | {o_ops} | {r_ops} | {ratio_s} | {o50} | {r50} | "
                f"{_ms(o99) if o99 is not None else '-'} | {_ms(r99) if r99 is not None else '-'} | {errs} |"
            )
    return out


def _cpu_table(results: dict[str, Any], conns_list: list[int]) -> list[str]:
    out = [
        "| scenario | server | connections | server CPU (cores) | wrk CPU (cores) | other processes (cores) | I/O stall | attempts |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, name in NAMES.items():
        for target in ("ours", "ref"):
            for conns in conns_list:
                run = _run(results, scenario, target, conns)
                if run:
                    out.append(
                        f"| {name} | {target} | {conns} | {run['server_cpu_cores']:.2f} | "
                        f"{run['generator_cpu_cores']:.3f} | {run.get('other_cpu_cores', 0):.2f} | "
                        f"{run.get('io_stall_fraction', 0):.0%} | {run.get('attempts', 1)} |"
                    )
    return out


def _sse_table(results: dict[str, Any]) -> list[str]:
    out = [
        "| server | writer connections | delivered / expected | lost | duplicates | p50 ms from ack | p99 ms from ack | max ms from ack | p99 ms from send | writes took s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for target, data in results["sse"].items():
        for r in data["runs"]:
            a, s = r["from_ack_ms"], r["from_send_ms"]
            out.append(
                f"| {target} | {r['writers']} | {r['delivered']} / {r['expected']} | {r['lost']} | "
                f"{r['duplicates']} | {_ms(a['50'])} | "
                f"{_ms(a['99'])} | {_ms(a['max'])} | "
                f"{_ms(s['99'])} | {r['write_seconds']:.2f} |"
            )
    return out


def _scale_table(results: dict[str, Any]) -> list[str]:
    out = [
        "| server | intents at start | scenario | connections | ops/s | p50 ms | p99 ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for target, data in results["scale"].items():
        for level in data["levels"]:
            for mode, runs in level["runs"].items():
                for r in runs:
                    lat = r["latency_ms"]
                    out.append(
                        f"| {target} | {r.get('intents_before', level['intents_before'])} | {NAMES[mode]} | "
                        f"{r['connections']} | {r['ops_per_s']:.0f} | {_ms(lat['50'])} | {_ms(lat['99'])} |"
                    )
    return out


def _memory_table(results: dict[str, Any]) -> list[str]:
    out = [
        "| scenario | server | peak RSS of process tree, sampled every 0.1 s (MiB) | VmHWM per process (MiB) |",
        "|---|---|---:|---|",
    ]
    groups = [(s, results["http"].get(s, {})) for s in NAMES]
    groups += [("sse", results["sse"]), ("scale", results["scale"])]
    for scenario, by_target in groups:
        for target, data in by_target.items():
            mem = data["memory"]
            per = ", ".join(f"{k}: {_mib(v)}" for k, v in mem["vm_hwm_kb"].items())
            out.append(
                f"| {NAMES.get(scenario, scenario)} | {target} | {_mib(mem['peak_total_rss_kb'])} | {per} |"
            )
    return out


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    conns = results["settings"]["connections"]
    lines = [
        f"Run `{results['command']}` from {results['started']} to {results['finished']} (UTC).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"load generator {m['wrk']}; runner Python {m['runner_python']}.",
        "",
    ]
    st = results["settings"]
    lines += [
        f"Settings: {st['duration']:g} s per measured run after a {st['warmup']:g} s warm-up; "
        f"runner, servers, wrk and SSE clients at nice {st.get('effective_nice', 0)} "
        f"(and so were their autogroups: `{st.get('autogroup', '?')}`); a run during which "
        f"other processes used more than {st['max_other']:g} cores was measured again "
        f"(at most {st['retries']} repeats; the least disturbed run is kept). SQLite files on "
        f"{results.get('database_filesystem', '?')}.",
        "",
    ]
    snap = results.get("source", {}).get("snapshot")
    if snap:
        lines += [
            f"Our server ran from a frozen copy of the working tree (git HEAD {snap['git_head']} plus "
            f"{snap['uncommitted_files_under_packages']} uncommitted files under packages/; "
            f"sources sha256 {snap['sources_sha256']}).",
            "",
        ]
    for name, s in m["servers"].items():
        pk = ", ".join(f"{k} {v}" for k, v in sorted(s["packages"].items()))
        lines.append(f"- {name}: `{s['command']}` (Python {s['python']}; {pk})")
    lines.append("")
    if results["http"]:
        top = max(conns)
        lines += [f"### HTTP scenarios at {top} connections (targets from issue 3)", ""]
        lines += _http_table(results, top, headline=True)
        for c in conns:
            if c != top:
                lines += ["", f"### HTTP scenarios at {c} connection{'s' if c > 1 else ''}", ""]
                lines += _http_table(results, c, headline=False)
        lines += ["", "### CPU used during the measured runs", ""]
        lines += _cpu_table(results, conns)
    if results["sse"]:
        lines += ["", "### SSE fan-out", ""]
        lines += _sse_table(results)
    if results["scale"]:
        lines += ["", "### Latency against table size", ""]
        lines += _scale_table(results)
    lines += ["", "### Memory", ""]
    lines += _memory_table(results)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python3 bench/report.py results.json
    import json
    import sys
    from pathlib import Path

    print(render(json.loads(Path(sys.argv[1]).read_text())), end="")
