#!/usr/bin/env python3
"""Checks the structure of deploy/compose/compose.yaml (no container engine runs here).

Usage: lint-compose.py [--tickler BIN] [COMPOSE_FILE]

What a `docker compose config` and a first `up` would catch, checked by reading the file:
every service has an image; every role of `tickler roles` (with --tickler) runs as its own
service and the services name no unknown role; the one-shot `migrate` service runs before every
role; `depends_on` names existing services, waits for health only on services with a health
check, and has no cycle; every long-running service has a health check; the files mounted
exist; host ports are unique and bound to loopback; the tickler services reach the database,
the broker and the trace collector by the names of the services that run them; Prometheus
scrapes every role's metrics port. Needs PyYAML.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Roles the stack runs that the binary may not have yet (see lint-helm.py).
PENDING_ROLES = {"realtime"}
TICKLER_IMAGE = "${TICKLER_IMAGE:-tickler:dev}"


def roles_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    if command[:1] == ["serve"] and "--roles" in command:
        return command[command.index("--roles") + 1].split(",")
    return []


def check(compose_file: Path, binary: str | None) -> list[str]:
    problems: list[str] = []
    spec = yaml.safe_load(compose_file.read_text())
    services: dict[str, dict[str, Any]] = spec.get("services") or {}
    volumes = set((spec.get("volumes") or {}).keys())
    base = compose_file.parent

    def healthy(name: str) -> bool:
        check_ = services[name].get("healthcheck") or {}
        return bool(check_.get("test")) and not check_.get("disable")

    tickler = {name for name, s in services.items() if s.get("image") == TICKLER_IMAGE}
    if "migrate" not in tickler or services["migrate"].get("command") != ["migrate"]:
        problems.append("no `migrate` service running `tickler migrate`")
    elif services["migrate"].get("restart") != "no":
        problems.append("migrate: a one-shot service must not restart")
    ports: dict[str, str] = {}
    for name, service in services.items():
        where = f"service {name}"
        if not service.get("image"):
            problems.append(f"{where}: no image")
        if name != "migrate" and not healthy(name):
            problems.append(f"{where}: no health check")
        for target, condition in (service.get("depends_on") or {}).items():
            if target not in services:
                problems.append(f"{where}: depends on unknown service {target}")
                continue
            condition = condition.get("condition") if isinstance(condition, dict) else "service_started"
            if condition == "service_healthy" and not healthy(target):
                problems.append(f"{where}: waits for {target} to be healthy, which has no health check")
            if condition == "service_completed_successfully" and services[target].get("restart") not in ("no", None):
                problems.append(f"{where}: waits for {target} to complete, which restarts")
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if source.startswith((".", "/")):
                if not (base / source).exists():
                    problems.append(f"{where}: mounts {source}, which does not exist")
            elif source not in volumes:
                problems.append(f"{where}: volume {source} is not declared")
        for published in service.get("ports") or []:
            host = published.rsplit(":", 1)[0]
            if not host.startswith("127.0.0.1:"):
                problems.append(f"{where}: port {published} is published beyond loopback")
            if host in ports:
                problems.append(f"{where}: host port {host} is also published by {ports[host]}")
            ports[host] = name
        if name in tickler and name != "migrate":
            depends = service.get("depends_on") or {}
            if (depends.get("migrate") or {}).get("condition") != "service_completed_successfully":
                problems.append(f"{where}: does not wait for the migrations")
            environment = service.get("environment") or {}
            if environment.get("TICKLER_DATABASE__MIGRATE_ON_START") != "false":
                problems.append(f"{where}: migrates at start instead of waiting for `migrate`")
            for variable, pattern in [
                ("TICKLER_DATABASE_URL", r"@([a-z0-9-]+):"),
                ("TICKLER_BUS__KAFKA_BROKERS", r"^([a-z0-9-]+):"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", r"//([a-z0-9-]+):"),
            ]:
                match = re.search(pattern, str(environment.get(variable, "")))
                if not match or match.group(1) not in services:
                    problems.append(f"{where}: {variable} names no service of this file")
            if not roles_of(service):
                problems.append(f"{where}: does not run `tickler serve --roles ...`")
    # Cycles in depends_on.
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 1:
            problems.append(f"depends_on cycle: {' -> '.join(path + [name])}")
            return
        if state.get(name) == 2 or name not in services:
            return
        state[name] = 1
        for target in services[name].get("depends_on") or {}:
            visit(target, path + [name])
        state[name] = 2

    for name in services:
        visit(name, [])
    running = {role for name in tickler for role in roles_of(services[name])}
    if binary:
        known = set(subprocess.run([binary, "roles"], check=True, capture_output=True, text=True).stdout.split())
        problems += [f"role {role} runs in no service" for role in sorted(known - running)]
        problems += [f"a service runs role {role}, unknown to `tickler roles`" for role in sorted(running - known - PENDING_ROLES)]
    # Prometheus scrapes every role's metrics listener.
    prometheus = services.get("prometheus") or {}
    config_mount = next((m for m in prometheus.get("volumes") or [] if m.split(":")[1] == "/etc/prometheus/prometheus.yml"), None)
    if not config_mount:
        problems.append("prometheus: no configuration mounted")
    else:
        config = yaml.safe_load((base / config_mount.split(":")[0]).read_text())
        targets = {t for job in config["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
        for name in sorted(tickler - {"migrate"}):
            port = str((services[name].get("environment") or {}).get("TICKLER_METRICS__LISTEN", "")).rsplit(":", 1)[-1]
            if f"{name}:{port}" not in targets:
                problems.append(f"prometheus: does not scrape {name}:{port}")
    return problems


def main() -> int:
    arguments = sys.argv[1:]
    binary = None
    if arguments[:1] == ["--tickler"]:
        binary, arguments = arguments[1], arguments[2:]
    compose_file = Path(arguments[0]) if arguments else ROOT / "deploy/compose/compose.yaml"
    problems = check(compose_file, binary)
    services = len((yaml.safe_load(compose_file.read_text()).get("services") or {}))
    print(f"compose file: {'ok' if not problems else 'FAILED'} ({services} services)")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
