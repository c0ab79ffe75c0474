"""Benchmark: validate + compile + plan a 10,000-task blueprint, against parsing it with CSafeLoader.

Writes a blueprint of 10,000 tasks in 50 milestones (each task depends on 3-4
tasks of the milestone before, with FS/SS/FF/SF and lags, a payroll-system launch
window with prerequisites), then, in the same process and run:

- plan:  what `onboarding plan` does: safe YAML with positions, every check, compile, plan
- parse: yaml.load(text, Loader=yaml.CSafeLoader), with the garbage collector paused

Each is timed several times; the best of each is reported. The last line is
``ratio=<plan/parse>`` (goal: <= 1.5).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import SystemClock
from onboarding.services.planning import PlanningService

LAYERS = 50
PER_LAYER = 200


def write_blueprint(path: Path, *, seed: int = 7) -> int:
    rnd = random.Random(seed)
    lines = [
        "# yaml-language-server: $schema=../blueprints/blueprint.schema.json",
        "key: bench_large",
        "version: 1.0.0",
        "title: Large generated blueprint",
        "roles:",
        "  csm: {title: CSM, side: vendor}",
        "  engineer: {title: Engineer, side: vendor, escalation: csm}",
        "  admin: {title: Customer admin, side: customer}",
        "calendars:",
        "  vendor: {country: US, subdivision: CA}",
        "  customer: {country: US, subdivision: TX}",
        "  settlement: {country: US}",
        "pay_schedule: biweekly:2026-01-02",
        "milestones:",
    ]
    count = 0
    for layer in range(LAYERS):
        lines += [f"  - key: m{layer}", f"    title: Milestone {layer}", "    tasks:"]
        for i in range(PER_LAYER):
            key = f"t{layer}_{i}"
            owner = rnd.choice(["engineer", "admin", "csm"])
            lines += [
                f"      - key: {key}",
                f"        title: Task {layer}.{i}",
                f"        owner: {owner}",
                f"        duration_business_days: {rnd.randint(1, 4)}",
            ]
            if layer:
                lines.append("        depends_on:")
                for p in rnd.sample(range(PER_LAYER), rnd.randint(3, 4)):
                    kind = rnd.choices(["FS", "SS", "FF", "SF"], weights=[70, 12, 12, 6])[0]
                    lag = rnd.choice([0, 0, 0, 1, 2, -1])
                    if kind == "FS" and lag == 0:
                        lines.append(f"          - t{layer - 1}_{p}")
                    else:
                        lines.append(f"          - {{task: t{layer - 1}_{p}, type: {kind}, lag_business_days: {lag}}}")
            count += 1
    lines += [
        "  - key: launch",
        "    title: Launch",
        "    tasks:",
        "      - key: parallel_run_1",
        "        title: Parallel run 1",
        "        owner: engineer",
        "        duration_business_days: 2",
        f"        depends_on: [{{milestone: m{LAYERS - 1}}}]",
        "      - {key: parallel_run_2, title: Parallel run 2, owner: engineer, duration_business_days: 2,"
        " depends_on: [parallel_run_1]}",
        "      - {key: bank_verification, title: Bank verification, owner: admin, duration_business_days: 2,"
        f" depends_on: [t{LAYERS // 2}_0]}}",
        "      - {key: go_live, title: First live check date, owner: admin, kind: checkpoint, launch: true,"
        " first_value: true, depends_on: [parallel_run_2, bank_verification]}",
        "launch_window:",
        "  kind: payroll_system",
        "  accept: quarter_start",
        "  prerequisites:",
        "    - {task: bank_verification, banking_days_before: 10}",
        "    - {task: parallel_run_1, pay_cycles_before: 2}",
        "    - {task: parallel_run_2, pay_cycles_before: 1}",
        "  blackouts:",
        "    - {reason: year-end freeze, every_year_from: 12-15, every_year_to: 12-31}",
    ]
    count += 4
    path.write_text("\n".join(lines) + "\n")
    return count


def time_plan(path: Path) -> tuple[float, date]:
    service = PlanningService(blueprints=FileBlueprints(), clock=SystemClock())
    started = time.perf_counter()
    plan = service.plan(str(path), kickoff_on=date(2026, 12, 7), pay_schedule="biweekly:2026-01-02")
    elapsed = time.perf_counter() - started
    assert plan.go_live is not None
    return elapsed, plan.go_live.chosen_on


def time_parse(text: str) -> float:
    gc.disable()
    try:
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        return time.perf_counter() - started
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-large.yaml"
        tasks = write_blueprint(path)
        text = path.read_text()
        print(f"blueprint: {tasks:,} tasks, {len(text):,} bytes")
        plan_times, parse_times = [], []
        for _ in range(args.repeat):
            elapsed, chosen = time_plan(path)
            plan_times.append(elapsed)
            parse_times.append(time_parse(text))
        print(
            f"validate+compile+plan: best {min(plan_times):.3f} s, median {statistics.median(plan_times):.3f} s"
            f" (go-live {chosen.isoformat()})"
        )
        print(f"yaml.load CSafeLoader: best {min(parse_times):.3f} s, median {statistics.median(parse_times):.3f} s")
        print(f"ratio={min(plan_times) / min(parse_times):.2f}")


if __name__ == "__main__":
    main()
