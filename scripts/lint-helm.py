#!/usr/bin/env python3
"""Renders the Helm chart under deploy/helm/tickler and checks the result, without Helm.

Usage: lint-helm.py [CHART_DIR]

Helm cannot be installed on the project's machines (it is in none of the package registries they
reach), so this script carries a small renderer for the subset of Go templates and Sprig functions
the chart uses: if/else/range/with/define/include, variables, pipelines and about twenty functions.
An action outside that subset is an error, so a template that grows past it fails loudly here
rather than rendering wrongly. Where Helm is available, run `helm lint` and `helm template` too.

For several sets of values (the defaults, everything switched on, a single SQLite node), every
template must render, every manifest must parse as YAML and carry apiVersion, kind and a valid
name, and the references between objects must hold: Deployment selectors match their pods,
Services, PodDisruptionBudgets and the ServiceMonitor select existing pods or Services, named
ports, volumes, ConfigMaps, Secrets and claims exist. Needs PyYAML.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

import yaml


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Parsing: text and actions into a tree of nodes.

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


def tokenize(source: str, name: str) -> list[tuple[str, str]]:
    """Splits a template into ("text", s) and ("action", s) tokens, applying trim markers."""
    tokens: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in ACTION.finditer(source):
        text = source[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        tokens.append(("text", text))
        body = match.group(2).strip()
        if not (body.startswith("/*") and body.endswith("*/")):
            tokens.append(("action", body))
        trim_next = bool(match.group(3))
        position = match.end()
    if "{{" in source[position:]:
        raise TemplateError(f"{name}: unterminated action")
    text = source[position:]
    tokens.append(("text", text.lstrip() if trim_next else text))
    return tokens


class Node:
    pass


class Text(Node):
    def __init__(self, text: str) -> None:
        self.text = text


class Output(Node):
    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline


class Block(Node):
    """if / range / with: a head, a body and an optional else body (which may hold an else-if)."""

    def __init__(self, kind: str, head: str) -> None:
        self.kind = kind
        self.head = head
        self.body: list[Node] = []
        self.otherwise: list[Node] = []


def parse(tokens: list[tuple[str, str]], name: str, defines: dict[str, list[Node]]) -> list[Node]:
    root: list[Node] = []
    # Each frame: (block, or None for the file or a define; the node list being filled; a marker,
    # "else-if" for an if that closes together with the frame below it).
    stack: list[tuple[Block | None, list[Node], str | None]] = [(None, root, None)]
    for kind, value in tokens:
        _, current, _ = stack[-1]
        if kind == "text":
            if value:
                current.append(Text(value))
            continue
        word = value.split(None, 1)[0] if value else ""
        rest = value[len(word) :].strip()
        if word in ("if", "range", "with"):
            block = Block(word, rest)
            current.append(block)
            stack.append((block, block.body, None))
        elif word == "define":
            define_name = json.loads(rest)
            defines[define_name] = []
            stack.append((None, defines[define_name], define_name))
        elif word == "else":
            block, _, marker = stack[-1]
            if block is None:
                raise TemplateError(f"{name}: else outside a block")
            stack[-1] = (block, block.otherwise, marker)
            if rest.startswith("if "):
                # `else if X` is an if nested in the else branch that shares the outer `end`.
                nested = Block("if", rest[3:].strip())
                block.otherwise.append(nested)
                stack.append((nested, nested.body, "else-if"))
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError(f"{name}: end without a block")
            _, _, marker = stack.pop()
            while marker == "else-if":
                _, _, marker = stack.pop()
        elif word in ("template", "block", "break", "continue"):
            raise TemplateError(f"{name}: '{word}' is outside the subset this renderer knows")
        else:
            current.append(Output(value))
    if len(stack) != 1:
        raise TemplateError(f"{name}: missing end")
    return root


# ---------------------------------------------------------------------------------------------
# Evaluation of pipelines.

TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<open>\()|(?P<close>\))|(?P<pipe>\|)|(?P<assign>:=)|(?P<comma>,)"
    r"|(?P<word>[$.A-Za-z_][$.\w]*))"
)


def lex(expression: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    expression = expression.strip()
    while position < len(expression):
        match = TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise TemplateError(f"cannot read {expression[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
        while position < len(expression) and expression[position].isspace():
            position += 1
    return tokens


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, (list, dict)) and not value)


def go_string(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_yaml(value: Any) -> str:
    if value is None:
        return "null"
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def indent(width: int, text: str) -> str:
    pad = " " * int(width)
    return pad + go_string(text).replace("\n", "\n" + pad)


def go_printf(form: str, *args: Any) -> str:
    converted = re.sub(r"%[vsdq]", "%s", form)
    return converted % tuple(go_string(a) if not isinstance(a, str) else a for a in args)


def go_print(*args: Any) -> str:
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_string(arg)
    return out


def required(message: str, value: Any) -> Any:
    if not truthy(value):
        raise TemplateError(f"required: {message}")
    return value


def fail(message: str) -> Any:
    raise TemplateError(f"fail: {message}")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1]),
    "not": lambda a: not truthy(a),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "default": lambda fallback, value=None: value if truthy(value) else fallback,
    "quote": lambda *a: " ".join(json.dumps(go_string(x)) for x in a),
    "squote": lambda *a: " ".join(f"'{go_string(x)}'" for x in a),
    "join": lambda sep, items: sep.join(go_string(x) for x in (items or [])),
    "trunc": lambda n, s: go_string(s)[: int(n)],
    "trimSuffix": lambda suffix, s: s[: -len(suffix)] if suffix and s.endswith(suffix) else s,
    "replace": lambda old, new, s: go_string(s).replace(old, new),
    "contains": lambda sub, s: sub in go_string(s),
    "printf": go_printf,
    "print": go_print,
    "toYaml": to_yaml,
    "indent": indent,
    "nindent": lambda n, s: "\n" + indent(n, s),
    "sha256sum": lambda s: hashlib.sha256(go_string(s).encode()).hexdigest(),
    "b64enc": lambda s: base64.b64encode(go_string(s).encode()).decode(),
    "required": required,
    "fail": fail,
    "lower": lambda s: go_string(s).lower(),
    "repeat": lambda n, s: go_string(s) * int(n),
    "int": lambda v: int(v or 0),
    "len": lambda v: len(v or ""),
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "upper": lambda s: go_string(s).upper(),
}


class Renderer:
    def __init__(self, files: dict[str, str]) -> None:
        self.defines: dict[str, list[Node]] = {}
        self.trees: dict[str, list[Node]] = {}
        for name, source in files.items():
            self.trees[name] = parse(tokenize(source, name), name, self.defines)

    def render_file(self, name: str, top: dict[str, Any]) -> str:
        return self.render_nodes(self.trees[name], top, {"$": top})

    def render_nodes(self, nodes: list[Node], dot: Any, variables: dict[str, Any]) -> str:
        out = []
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Output):
                value = self.pipeline(node.pipeline, dot, variables)
                if value is not _ASSIGNED:
                    out.append(go_string(value))
            elif isinstance(node, Block):
                out.append(self.render_block(node, dot, variables))
        return "".join(out)

    def render_block(self, block: Block, dot: Any, variables: dict[str, Any]) -> str:
        scope = dict(variables)
        if block.kind == "range":
            names, expression = self.split_declaration(block.head)
            items = self.pipeline(expression, dot, scope)
            pairs = (
                sorted(items.items())
                if isinstance(items, dict)
                else list(enumerate(items or []))
            )
            if not pairs:
                return self.render_nodes(block.otherwise, dot, scope)
            out = []
            for key, value in pairs:
                if len(names) == 2:
                    scope[names[0]], scope[names[1]] = key, value
                elif len(names) == 1:
                    scope[names[0]] = value
                out.append(self.render_nodes(block.body, value, scope))
            return "".join(out)
        value = self.pipeline(block.head, dot, scope)
        if not truthy(value):
            return self.render_nodes(block.otherwise, dot, scope)
        return self.render_nodes(block.body, value if block.kind == "with" else dot, scope)

    @staticmethod
    def split_declaration(head: str) -> tuple[list[str], str]:
        if ":=" not in head:
            return [], head
        left, right = head.split(":=", 1)
        return [n.strip() for n in left.split(",")], right

    def pipeline(self, expression: str, dot: Any, variables: dict[str, Any]) -> Any:
        tokens = lex(expression)
        if len(tokens) > 2 and tokens[0][0] == "word" and tokens[1][0] == "assign":
            variables[tokens[0][1]] = self.run_pipeline(tokens[2:], dot, variables)
            return _ASSIGNED
        return self.run_pipeline(tokens, dot, variables)

    def run_pipeline(self, tokens: list[tuple[str, str]], dot: Any, variables: dict[str, Any]) -> Any:
        commands: list[list[tuple[str, str]]] = [[]]
        depth = 0
        for token in tokens:
            if token[0] == "pipe" and depth == 0:
                commands.append([])
                continue
            depth += token[0] == "open"
            depth -= token[0] == "close"
            commands[-1].append(token)
        result: Any = _NOTHING
        for command in commands:
            result = self.command(command, dot, variables, result)
        return result

    def command(self, tokens, dot, variables, piped) -> Any:
        args = self.operands(tokens, dot, variables)
        head = tokens[0]
        if head[0] == "word" and (head[1] in FUNCTIONS or head[1] == "include"):
            arguments = args[1:] + ([] if piped is _NOTHING else [piped])
            if head[1] == "include":
                name, data = arguments
                if name not in self.defines and name not in self.trees:
                    raise TemplateError(f"include of unknown template {name!r}")
                nodes = self.defines.get(name) or self.trees[name]
                return self.render_nodes(nodes, data, {"$": data})
            return FUNCTIONS[head[1]](*arguments)
        if head[0] == "word" and re.fullmatch(r"[a-z]\w*", head[1]):
            raise TemplateError(f"function {head[1]!r} is outside the subset this renderer knows")
        if len(args) != 1 or piped is not _NOTHING:
            raise TemplateError(f"cannot call a value: {tokens}")
        return args[0]

    def operands(self, tokens, dot, variables) -> list[Any]:
        values: list[Any] = []
        i = 0
        while i < len(tokens):
            kind, text = tokens[i]
            if kind == "open":
                depth, j = 1, i + 1
                while depth:
                    depth += tokens[j][0] == "open"
                    depth -= tokens[j][0] == "close"
                    j += 1
                values.append(self.run_pipeline(tokens[i + 1 : j - 1], dot, variables))
                i = j
                continue
            if kind == "string":
                values.append(json.loads(text))
            elif kind == "raw":
                values.append(text[1:-1])
            elif kind == "number":
                values.append(float(text) if "." in text else int(text))
            elif text in ("true", "false"):
                values.append(text == "true")
            elif text == "nil":
                values.append(None)
            elif text.startswith("$"):
                name, _, path = text.partition(".")
                if name not in variables:
                    raise TemplateError(f"undefined variable {name}")
                values.append(lookup(variables[name], path))
            elif text.startswith("."):
                values.append(lookup(dot, text[1:]))
            else:
                values.append(text)  # a function name, resolved by command()
            i += 1
        return values


_ASSIGNED = object()
_NOTHING = object()


def lookup(value: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# ---------------------------------------------------------------------------------------------
# Values, rendering and checks.


def merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge(base.get(key), value)
        return merged
    return copy.deepcopy(overlay)


SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything switched on": {
        "image": {"tag": "1.2.3"},
        "imagePullSecrets": [{"name": "ghcr"}],
        "secrets": {"create": True, "databaseUrl": "postgres://u:p@db/tickler", "jwtSecret": "s"},
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
        "extraEnv": [{"name": "TICKLER_KAFKA__BROKERS", "value": "kafka:9092"}],
        "podAnnotations": {"example.com/team": "tasks"},
        "podLabels": {"tier": "backend"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {"podAntiAffinity": {}},
        "serviceAccount": {"annotations": {"example.com/role": "tickler"}},
        "components": {"relay": {"podDisruptionBudget": {"enabled": True}}},
    },
    "single SQLite node": {
        "secrets": {"existingSecret": "tickler-secrets"},
        "persistence": {"enabled": True, "storageClass": "fast"},
        "serviceAccount": {"create": False},
        "components": {
            "api": {"roles": ["all"], "replicas": 1, "podDisruptionBudget": {"enabled": False}},
            "relay": {"enabled": False},
            "consumers": {"enabled": False},
        },
    },
    "explicit args": {
        "components": {"api": {"args": ["serve", "--listen", "0.0.0.0:8080", "--roles", "serve"]}},
    },
}

# Values that must make rendering fail, with a word the error must contain.
FAILING_SCENARIOS: dict[str, tuple[dict[str, Any], str]] = {
    "created Secret without values": ({"secrets": {"create": True}}, "secrets.databaseUrl"),
    "a volume for several pods": ({"persistence": {"enabled": True}}, "single pod"),
}

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def render_chart(chart: Path, values: dict[str, Any]) -> tuple[dict[str, str], str]:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    files = {
        f"{meta['name']}/templates/{path.name}": path.read_text()
        for path in sorted((chart / "templates").iterdir())
        if path.suffix in (".yaml", ".yml", ".tpl", ".txt")
    }
    renderer = Renderer(files)
    top = {
        "Values": values,
        "Chart": {
            "Name": meta["name"],
            "Version": meta["version"],
            "AppVersion": meta.get("appVersion", ""),
        },
        "Release": {"Name": "tickler", "Namespace": "default", "Service": "Helm"},
        "Template": {"BasePath": f"{meta['name']}/templates"},
        "Capabilities": {"KubeVersion": {"Version": "v1.30.0"}},
    }
    manifests: dict[str, str] = {}
    notes = ""
    for name in files:
        base = name.rsplit("/", 1)[1]
        if base.startswith("_"):
            continue
        top["Template"]["Name"] = name
        rendered = renderer.render_file(name, top)
        if base == "NOTES.txt":
            notes = rendered
        else:
            manifests[name] = rendered
    return manifests, notes


def check_manifests(manifests: dict[str, str]) -> list[str]:
    problems: list[str] = []
    objects: list[dict[str, Any]] = []
    for name, text in manifests.items():
        try:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as error:
            numbered = "\n".join(f"{i + 1:4} {line}" for i, line in enumerate(text.splitlines()))
            problems.append(f"{name}: not YAML: {error}\n{numbered}")
            continue
        for document in documents:
            where = f"{name}: {document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
            for key in ("apiVersion", "kind", "metadata"):
                if key not in document:
                    problems.append(f"{where}: no {key}")
            metadata = document.get("metadata") or {}
            if not DNS_SUBDOMAIN.match(str(metadata.get("name", ""))):
                problems.append(f"{where}: invalid name")
            for key, value in (metadata.get("labels") or {}).items():
                if len(str(value)) > 63:
                    problems.append(f"{where}: label {key} longer than 63 characters")
            objects.append(document)

    def named(kind: str) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}

    deployments, services = named("Deployment"), named("Service")
    config_maps, secrets, claims = named("ConfigMap"), named("Secret"), named("PersistentVolumeClaim")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}

    def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    for name, deployment in deployments.items():
        spec = deployment["spec"]
        if not selects(spec["selector"]["matchLabels"], pod_labels[name]):
            problems.append(f"Deployment/{name}: selector does not match its pod labels")
        pod = spec["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for volume in volumes.values():
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                problems.append(f"Deployment/{name}: no ConfigMap {volume['configMap']['name']}")
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and claim not in claims:
                problems.append(f"Deployment/{name}: no PersistentVolumeClaim {claim}")
        for container in pod["containers"]:
            ports = {p["name"] for p in container.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe"):
                port = (container.get(probe) or {}).get("httpGet", {}).get("port")
                if port is None:
                    problems.append(f"Deployment/{name}: no {probe}")
                elif isinstance(port, str) and port not in ports:
                    problems.append(f"Deployment/{name}: {probe} uses unknown port {port}")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problems.append(f"Deployment/{name}: mount of unknown volume {mount['name']}")
            if not container.get("args"):
                problems.append(f"Deployment/{name}: container has no args")
            for variable in container.get("env", []):
                ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
                if ref and secrets and ref["name"] in secrets:
                    if ref["key"] not in secrets[ref["name"]].get("data", {}):
                        problems.append(f"Deployment/{name}: Secret {ref['name']} has no key {ref['key']}")
        for env_name in ("TICKLER_DATABASE_URL", "TICKLER_AUTH__JWT_SECRET"):
            if not any(v["name"] == env_name for c in pod["containers"] for v in c.get("env", [])):
                problems.append(f"Deployment/{name}: no {env_name}")

    for name, service in services.items():
        selector = service["spec"].get("selector", {})
        targets = [d for d, labels in pod_labels.items() if selects(selector, labels)]
        if not targets:
            problems.append(f"Service/{name}: selects no Deployment's pods")
    for name, budget in named("PodDisruptionBudget").items():
        if not any(selects(budget["spec"]["selector"]["matchLabels"], l) for l in pod_labels.values()):
            problems.append(f"PodDisruptionBudget/{name}: selects no Deployment's pods")
    for name, monitor in named("ServiceMonitor").items():
        selector = monitor["spec"]["selector"]["matchLabels"]
        chosen = [s for s in services.values() if selects(selector, s["metadata"].get("labels", {}))]
        if not chosen:
            problems.append(f"ServiceMonitor/{name}: selects no Service")
        for endpoint in monitor["spec"]["endpoints"]:
            for service in chosen:
                if endpoint["port"] not in {p["name"] for p in service["spec"]["ports"]}:
                    problems.append(f"ServiceMonitor/{name}: Service has no port {endpoint['port']}")
    if not deployments:
        problems.append("no Deployment rendered")
    return problems


def main() -> int:
    chart = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "deploy/helm/tickler")
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    failures = 0
    for scenario, overlay in SCENARIOS.items():
        try:
            manifests, notes = render_chart(chart, merge(defaults, overlay))
            problems = check_manifests(manifests)
            if not notes.strip():
                problems.append("NOTES.txt rendered empty")
        except TemplateError as error:
            problems = [f"rendering failed: {error}"]
        kinds = sorted(
            f"{d['kind']}/{d['metadata']['name']}"
            for text in (manifests.values() if not problems else [])
            for d in yaml.safe_load_all(text)
            if d
        )
        status = "ok" if not problems else "FAILED"
        print(f"helm chart, {scenario}: {status} ({len(kinds)} objects)")
        for problem in problems:
            print(f"  {problem}")
        failures += bool(problems)
    for scenario, (overlay, expected) in FAILING_SCENARIOS.items():
        try:
            render_chart(chart, merge(defaults, overlay))
            print(f"helm chart, {scenario}: FAILED (rendered, but should have refused)")
            failures += 1
        except TemplateError as error:
            ok = expected in str(error)
            print(f"helm chart, {scenario}: {'ok' if ok else 'FAILED'} (refused: {error})")
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
