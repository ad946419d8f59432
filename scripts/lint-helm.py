#!/usr/bin/env python3
"""Renders the Helm chart under deploy/helm/tickler with Helm itself and checks the result.

Usage: lint-helm.py [--tickler BIN] [CHART_DIR]

Helm is the real one: Helm 4's Go SDK, compiled into the `helm-python-sdk` wheel from PyPI
(the package registries these machines reach carry no `helm` binary), installed with the other
Python test peers by scripts/test. For several sets of values (the defaults, everything
switched on, Dapr, a single SQLite node, values-minikube.yaml, values-cloud.yaml):

* `helm lint --strict` finds nothing above "info", and values.schema.json accepts the values;
* every template renders, every manifest parses, and kubernetes-validate (PyPI) accepts every
  object of a built-in kind, strictly (no unknown fields), for several Kubernetes versions;
  the custom resources (ServiceMonitor, PrometheusRule, Dapr) get structural checks here;
* the references between objects hold: Deployment selectors match their pods, Services, PDBs,
  HPAs, Ingresses and the ServiceMonitor reach existing objects and named ports, volumes,
  ConfigMaps, Secrets and claims exist, every pod has startup, liveness and readiness probes;
* with --tickler, every role the binary lists (`tickler roles`) runs in the default install and
  the chart names no role the binary does not know;
* the chart's copies of deploy/monitoring's alert rules and dashboard are identical to them.

Values that must be refused (schema violations, missing required values) are refused.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml

# Kubernetes versions every built-in object is validated against: the oldest still maintained
# by the big clouds, one in the middle, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ["1.29.0", "1.33.0", "1.37.0"]

# Roles the chart runs that the binary may not have yet (none today: `realtime` landed). Once
# `tickler roles` lists one, it is checked like every other; until then its absence from the
# binary is reported, not failed.
PENDING_ROLES: set[str] = set()

ROOT = Path(__file__).resolve().parent.parent

# Kinds kubernetes-validate has no schema for, and the fields checked here instead.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ["selector", "endpoints"],
    ("monitoring.coreos.com/v1", "PrometheusRule"): ["groups"],
    ("dapr.io/v1alpha1", "Component"): ["type", "version", "metadata"],
    ("dapr.io/v1alpha1", "Resiliency"): ["policies", "targets"],
}


def merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge(base.get(key), value)
        return merged
    return copy.deepcopy(overlay)


def values_file(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / name).read_text())


CHART = ROOT / "deploy/helm/tickler"

EVERYTHING = {
    "image": {"tag": "1.2.3"},
    "imagePullSecrets": [{"name": "ghcr"}],
    "secrets": {"create": True, "databaseUrl": "postgres://u:p@db/tickler", "jwtSecret": "s" * 32},
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True},
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "tls": {"enabled": True, "certManager": {"clusterIssuer": "letsencrypt"}},
    },
    "networkPolicy": {"enabled": True},
    "tracing": {"otlpEndpoint": "http://otel-collector.monitoring:4318", "samplingRatio": 0.25},
    "extraEnv": [{"name": "TICKLER_BUS__KAFKA_BROKERS", "value": "kafka:9092"}],
    "podAnnotations": {"example.com/team": "tasks"},
    "podLabels": {"tier": "backend"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Exists"}],
    "serviceAccount": {"annotations": {"example.com/role": "tickler"}},
    "componentDefaults": {
        "autoscaling": {"enabled": True, "targetConsumerLag": 500},
        "podDisruptionBudget": {"enabled": True},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
        ],
    },
    "components": {"relay": {"autoscaling": {"enabled": False}}},
}

SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything switched on": EVERYTHING,
    "dapr with its secret store": {
        "config": '[bus]\nkind = "dapr"\n',
        "dapr": {"enabled": True, "appTokenSecret": "dapr-app-token", "apiTokenSecret": "dapr-api-token", "secretStore": True},
        "networkPolicy": {"enabled": True},
        "components": {"audit": {"daprAppId": "tickler-audit-trail"}},
    },
    "single SQLite node": {
        "secrets": {"existingSecret": "tickler-secrets"},
        "persistence": {"enabled": True, "storageClass": "fast"},
        "serviceAccount": {"create": False},
        "tests": {"tokenSecret": "tickler-test-token"},
        "components": {
            "api": {"roles": ["all"], "replicas": 1, "podDisruptionBudget": {"enabled": False}},
            **{name: {"enabled": False} for name in ["realtime", "relay", "reminders", "notifier", "recurring", "audit"]},
        },
    },
    "values-minikube.yaml": values_file("values-minikube.yaml"),
    "values-cloud.yaml": values_file("values-cloud.yaml"),
    "explicit args": {
        "components": {"api": {"args": ["serve", "--roles", "api", "--listen", "0.0.0.0:8080"]}},
    },
}

# Values that must be refused, with a word the error must contain.
FAILING_SCENARIOS: dict[str, tuple[dict[str, Any], str]] = {
    "created Secret without values": ({"secrets": {"create": True}}, "secrets.databaseUrl"),
    "a volume for several pods": ({"persistence": {"enabled": True}}, "single pod"),
    "replicas as text": ({"components": {"api": {"replicas": "two"}}}, "replicas"),
    "an unknown value": ({"ingress": {"hostname": "x"}}, "hostname"),
    "an unknown role": ({"components": {"api": {"roles": ["web"]}}}, "roles"),
    "dapr without the app token": ({"dapr": {"enabled": True}}, "dapr.appTokenSecret"),
    "an ingress without the api": ({"ingress": {"enabled": True}, "components": {"api": {"enabled": False}}}, "components.api"),
}


def render(values: dict[str, Any]) -> dict[str, str]:
    chart = helm_python.Chart.load(str(CHART))
    chart.validate_schema(values)
    rendered = chart.render(values, name="tickler", namespace="tickler", is_install=True)
    return rendered


def documents(manifests: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, text in manifests.items():
        if name.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                found.append((name, document))
    return found


def check_objects(objects: list[tuple[str, dict[str, Any]]]) -> list[str]:
    problems: list[str] = []
    for source, document in objects:
        kind, api = document.get("kind"), document.get("apiVersion")
        where = f"{source}: {kind}/{(document.get('metadata') or {}).get('name')}"
        custom = CUSTOM_KINDS.get((api, kind))
        if custom is not None:
            spec = document.get("spec") or {}
            problems += [f"{where}: no spec.{field}" for field in custom if field not in spec]
            if kind == "Component" and not document.get("scopes"):
                problems.append(f"{where}: a Dapr component without scopes")
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{where}: invalid for Kubernetes {version}: {error.message} at {list(error.path)}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
                problems.append(f"{where}: no schema for Kubernetes {version}: {error}")
    return problems


def check_references(objects: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []

    def named(kind: str) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}

    deployments, services = named("Deployment"), named("Service")
    config_maps, secrets, claims = named("ConfigMap"), named("Secret"), named("PersistentVolumeClaim")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}

    def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    pods = [(f"Deployment/{n}", d["spec"]["template"]["spec"]) for n, d in deployments.items()]
    pods += [(f"Job/{n}", j["spec"]["template"]["spec"]) for n, j in named("Job").items()]
    for name, deployment in deployments.items():
        if not selects(deployment["spec"]["selector"]["matchLabels"], pod_labels[name]):
            problems.append(f"Deployment/{name}: selector does not match its pod labels")
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            ports = {p["name"] for p in container.get("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                port = (container.get(probe) or {}).get("httpGet", {}).get("port")
                if port is None:
                    problems.append(f"Deployment/{name}: no {probe}")
                elif isinstance(port, str) and port not in ports:
                    problems.append(f"Deployment/{name}: {probe} uses unknown port {port}")
            if "metrics" not in ports:
                problems.append(f"Deployment/{name}: no metrics port")
            if not any(v["name"] == "TICKLER_METRICS__LISTEN" for v in container.get("env", [])):
                problems.append(f"Deployment/{name}: metrics are not on a listener of their own")
    for where, pod in pods:
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for volume in volumes.values():
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                problems.append(f"{where}: no ConfigMap {volume['configMap']['name']}")
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and claim not in claims:
                problems.append(f"{where}: no PersistentVolumeClaim {claim}")
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"{where}: mount of unknown volume {mount['name']}")
            for variable in container.get("env", []):
                ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
                # An optional key (optional: true) may be absent: the variable is then unset.
                if (
                    ref
                    and not ref.get("optional", False)
                    and ref["name"] in secrets
                    and ref["key"] not in secrets[ref["name"]].get("data", {})
                ):
                    problems.append(f"{where}: Secret {ref['name']} has no key {ref['key']}")
    for name, service in services.items():
        targets = [d for d, labels in pod_labels.items() if selects(service["spec"].get("selector", {}), labels)]
        if not targets:
            problems.append(f"Service/{name}: selects no Deployment's pods")
        for port in service["spec"]["ports"]:
            for target in targets:
                container_ports = {
                    p["name"] for c in deployments[target]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
                }
                if port["targetPort"] not in container_ports:
                    problems.append(f"Service/{name}: Deployment/{target} has no port {port['targetPort']}")
    for name, budget in named("PodDisruptionBudget").items():
        if not any(selects(budget["spec"]["selector"]["matchLabels"], labels) for labels in pod_labels.values()):
            problems.append(f"PodDisruptionBudget/{name}: selects no Deployment's pods")
    for name, scaler in named("HorizontalPodAutoscaler").items():
        target = scaler["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            problems.append(f"HorizontalPodAutoscaler/{name}: no Deployment {target}")
        elif "replicas" in deployments[target]["spec"]:
            problems.append(f"Deployment/{target}: sets replicas although an autoscaler owns them")
    for name, ingress in named("Ingress").items():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services.get(backend["name"])
                if service is None:
                    problems.append(f"Ingress/{name}: no Service {backend['name']}")
                elif backend["port"]["name"] not in {p["name"] for p in service["spec"]["ports"]}:
                    problems.append(f"Ingress/{name}: Service {backend['name']} has no port {backend['port']['name']}")
    for name, monitor in named("ServiceMonitor").items():
        selector = monitor["spec"]["selector"]["matchLabels"]
        chosen = [s for s in services.values() if selects(selector, s["metadata"].get("labels", {}))]
        if not chosen:
            problems.append(f"ServiceMonitor/{name}: selects no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            for service in chosen:
                if endpoint["port"] not in {p["name"] for p in service["spec"]["ports"]}:
                    problems.append(f"ServiceMonitor/{name}: Service {service['metadata']['name']} has no port {endpoint['port']}")
    if not deployments:
        problems.append("no Deployment rendered")
    return problems


def chart_roles(objects: list[dict[str, Any]]) -> set[str]:
    roles: set[str] = set()
    for document in objects:
        if document.get("kind") != "Deployment":
            continue
        for container in document["spec"]["template"]["spec"]["containers"]:
            args = container.get("args", [])
            if "--roles" in args:
                roles.update(args[args.index("--roles") + 1].split(","))
    return roles


def check_roles(binary: str, objects: list[dict[str, Any]]) -> list[str]:
    listed = subprocess.run([binary, "roles"], check=True, capture_output=True, text=True).stdout.split()
    known = set(listed)
    running = chart_roles(objects)
    problems = [f"role {role} of `tickler roles` runs in no component of the default install" for role in sorted(known - running)]
    for role in sorted(running - known):
        if role in PENDING_ROLES:
            print(f"  note: the chart runs role {role}, which this build of tickler does not have yet")
        else:
            problems.append(f"the chart runs role {role}, which `tickler roles` does not list")
    for role in sorted(PENDING_ROLES & known):
        problems.append(f"`tickler roles` lists {role}: remove it from PENDING_ROLES in {Path(__file__).name}")
    print(f"helm chart, roles: {'ok' if not problems else 'FAILED'} (binary: {', '.join(listed)})")
    return problems


def check_copies() -> list[str]:
    pairs = [
        (ROOT / "deploy/monitoring/alerts.yaml", CHART / "files/alerts.yaml"),
        (ROOT / "deploy/monitoring/grafana/tickler-dashboard.json", CHART / "files/tickler-dashboard.json"),
    ]
    return [
        f"{copy_.relative_to(ROOT)} differs from {original.relative_to(ROOT)}: copy it again"
        for original, copy_ in pairs
        if original.read_bytes() != copy_.read_bytes()
    ]


def lint(values: dict[str, Any]) -> list[str]:
    report = helm_python.lint(str(CHART), values, strict=True, namespace="tickler")
    problems = [f"helm lint: {m['path']}: {m['error']}" for m in report.get("messages", []) if m["severity"] > 1]
    return problems + [f"helm lint: {error}" for error in report.get("errors", [])]


def main() -> int:
    arguments = sys.argv[1:]
    binary = None
    if arguments[:1] == ["--tickler"]:
        binary, arguments = arguments[1], arguments[2:]
    global CHART
    if arguments:
        CHART = Path(arguments[0]).resolve()
    failures = 0
    default_objects: list[dict[str, Any]] = []
    for scenario, overlay in SCENARIOS.items():
        kinds: list[str] = []
        try:
            manifests = render(overlay)
            objects = documents(manifests)
            problems = lint(overlay) + check_objects(objects) + check_references([o for _, o in objects])
            if not manifests.get("tickler/templates/NOTES.txt", "").strip():
                problems.append("NOTES.txt rendered empty")
            kinds = [f"{o['kind']}/{o['metadata']['name']}" for _, o in objects]
            if scenario == "defaults":
                default_objects = [o for _, o in objects]
        except (helm_python.HelmError, yaml.YAMLError) as error:
            problems = [f"rendering failed: {error}"]
        status = "ok" if not problems else "FAILED"
        print(f"helm chart, {scenario}: {status} ({len(kinds)} objects, Kubernetes {', '.join(KUBERNETES_VERSIONS)})")
        for problem in problems:
            print(f"  {problem}")
        failures += bool(problems)
    for scenario, (overlay, expected) in FAILING_SCENARIOS.items():
        try:
            render(merge({}, overlay))
            print(f"helm chart, {scenario}: FAILED (rendered, but should have refused)")
            failures += 1
        except helm_python.HelmError as error:
            message = " ".join(str(error).split())
            ok = expected in message
            print(f"helm chart, {scenario}: {'ok' if ok else 'FAILED'} (refused: {message[:200]})")
            failures += not ok
    problems = check_copies()
    if binary:
        problems += check_roles(binary, default_objects)
    for problem in problems:
        print(f"helm chart: {problem}")
    failures += bool(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
