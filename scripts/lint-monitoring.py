#!/usr/bin/env python3
"""Checks deploy/monitoring: alert rules, their unit tests, the Grafana dashboard, the
provisioning files and the Prometheus configuration of the compose stack.

Usage: lint-monitoring.py [PROMTOOL]

* `promtool check rules alerts.yaml` and `promtool test rules alerts.test.yaml`;
* every query of the dashboard parses as PromQL (promtool checks them as recording rules,
  with Grafana's $__rate_interval read as 5m), panels have unique ids and fit the 24-column
  grid, and every query uses the `datasource` variable the dashboard declares;
* `promtool check config` accepts prometheus/prometheus.yml (its rule file pointed at
  alerts.yaml);
* every metric the alerts and the dashboard use is documented in docs/operations.md.
Needs PyYAML and promtool (Debian's `prometheus` package).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "deploy/monitoring"
METRIC = re.compile(r"\b((?:tickler|process)_[a-z0-9_]+)")
# Suffixes Prometheus adds to histogram series.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def promtool(tool: str, *arguments: str) -> list[str]:
    result = subprocess.run([tool, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        return [f"promtool {' '.join(arguments)}:\n{result.stdout}{result.stderr}"]
    return []


def dashboard_queries(dashboard: dict) -> tuple[list[str], list[str]]:
    problems, queries = [], []
    ids = set()
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    if "datasource" not in variables:
        problems.append("dashboard: no `datasource` variable")
    if not dashboard.get("uid") or not dashboard.get("title"):
        problems.append("dashboard: no uid or title")
    for panel in dashboard.get("panels", []):
        title = panel.get("title")
        if panel.get("id") in ids:
            problems.append(f"dashboard: panel id {panel.get('id')} repeated")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"dashboard: panel {title!r} is wider than the grid")
        if panel.get("type") == "row":
            continue
        if not panel.get("targets"):
            problems.append(f"dashboard: panel {title!r} has no query")
        for target in panel.get("targets", []):
            if (target.get("datasource") or {}).get("uid") != "${datasource}":
                problems.append(f"dashboard: a query of {title!r} does not use the datasource variable")
            queries.append(target["expr"])
    return problems, queries


def metric_names(text: str) -> set[str]:
    names = set()
    for name in METRIC.findall(text):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        names.add(name)
    return names


def main() -> int:
    tool = sys.argv[1] if len(sys.argv) > 1 else "promtool"
    problems: list[str] = []
    problems += promtool(tool, "check", "rules", str(MONITORING / "alerts.yaml"))
    problems += promtool(tool, "test", "rules", str(MONITORING / "alerts.test.yaml"))
    dashboard = json.loads((MONITORING / "grafana/tickler-dashboard.json").read_text())
    found, queries = dashboard_queries(dashboard)
    problems += found
    with tempfile.TemporaryDirectory() as scratch:
        rules = {
            "groups": [
                {
                    "name": "dashboard",
                    "rules": [
                        {"record": f"dashboard:query_{i}", "expr": q.replace("$__rate_interval", "5m")}
                        for i, q in enumerate(queries)
                    ],
                }
            ]
        }
        rules_file = Path(scratch, "dashboard-queries.yaml")
        rules_file.write_text(yaml.safe_dump(rules))
        problems += promtool(tool, "check", "rules", str(rules_file))
        config = yaml.safe_load((MONITORING / "prometheus/prometheus.yml").read_text())
        config["rule_files"] = [str(MONITORING / "alerts.yaml")]
        config_file = Path(scratch, "prometheus.yml")
        config_file.write_text(yaml.safe_dump(config))
        problems += promtool(tool, "check", "config", str(config_file))
    for provisioning in (MONITORING / "grafana/provisioning").rglob("*.yaml"):
        document = yaml.safe_load(provisioning.read_text())
        if document.get("apiVersion") != 1 or not (document.get("datasources") or document.get("providers")):
            problems.append(f"{provisioning.relative_to(ROOT)}: not a Grafana provisioning file")
    used = metric_names((MONITORING / "alerts.yaml").read_text()) | metric_names("\n".join(queries))
    documented = metric_names((ROOT / "docs/operations.md").read_text())
    problems += [f"metric {name} is used but not documented in docs/operations.md" for name in sorted(used - documented)]
    print(
        f"monitoring: {'ok' if not problems else 'FAILED'} "
        f"(alert rules and their tests, {len(queries)} dashboard queries, {len(used)} metrics)"
    )
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
