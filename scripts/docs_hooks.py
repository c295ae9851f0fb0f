"""MkDocs hooks of the documentation site (see mkdocs.yml).

* ``index.md`` and ``benchmarks.md`` are README.md and BENCHMARKS.md from the
  repository root, their links rewritten to the site's pages (``docs/x.md`` is
  ``x.md``);
* ``api.md`` is written from the OpenAPI description of the app itself
  (:func:`streamrec.serving.app.create_app`), so the API page cannot drift from the
  code, and ``openapi.json`` is published beside it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from streamrec.serving.app import create_app

ROOT = Path(__file__).resolve().parents[1]
#: Site pages made from files outside docs/: page -> repository file.
ROOT_PAGES = {"index.md": "README.md", "benchmarks.md": "BENCHMARKS.md"}
_LINK = re.compile(r"\]\((?!https?://|#)([^)\s]+)\)")
METHODS = ("get", "put", "post", "delete", "patch")


def _site_link(target: str) -> str:
    """A repository-relative link as the site's (from a page at the site's root)."""
    for page, source in ROOT_PAGES.items():
        if target == source or target.startswith(f"{source}#"):
            return page + target[len(source) :]
    return target.removeprefix("docs/")


def _rewritten(markdown: str) -> str:
    return _LINK.sub(lambda m: f"]({_site_link(m.group(1))})", markdown)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the pages made from README.md, BENCHMARKS.md and the OpenAPI description."""
    for page, source in ROOT_PAGES.items():
        text = (ROOT / source).read_text(encoding="utf-8")
        files.append(File.generated(config, page, content=_rewritten(text)))
    schema = create_app().openapi()
    files.append(File.generated(config, "api.md", content=api_page(schema)))
    files.append(File.generated(config, "openapi.json", content=json.dumps(schema, indent=2)))
    return files


def api_page(schema: dict[str, Any]) -> str:
    """The HTTP API reference in Markdown: every operation, then every schema."""
    lines = [
        "# HTTP API",
        "",
        f"Generated from the OpenAPI description of streamrec {schema['info']['version']} "
        "(the same document a running server serves at `/openapi.json`, with interactive "
        "docs at `/docs`); download it as [openapi.json](openapi.json). Errors answer "
        '`{"error": {"code", "message", "details"}}`.',
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((method, path, operation))
    for tag, operations in by_tag.items():
        lines += [f"## {tag.capitalize()}", ""]
        for method, path, operation in operations:
            lines += _operation(method, path, operation)
    lines += ["## Schemas", ""]
    for name, component in schema["components"]["schemas"].items():
        lines += _component(name, component)
    return "\n".join(lines) + "\n"


def _operation(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    elif operation.get("summary"):
        lines += [operation["summary"], ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required |", "|---|---|---|---|"]
        for p in parameters:
            required = "yes" if p.get("required") else "no"
            lines.append(
                f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | {required} |"
            )
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        lines += [f"Body: {_type(body.get('schema', {}))}", ""]
    lines += ["| status | answer |", "|---|---|"]
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {}).get("application/json", {})
        shape = _type(content["schema"]) if content.get("schema") else ""
        lines.append(f"| {status} | {response.get('description', '')} {shape} |")
    return [*lines, ""]


def _component(name: str, component: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if component.get("description"):
        lines += [component["description"].strip(), ""]
    properties = component.get("properties", {})
    if properties:
        required = set(component.get("required", []))
        lines += ["| field | type | required |", "|---|---|---|"]
        for field, spec in properties.items():
            lines.append(f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} |")
        lines.append("")
    return lines


def _type(spec: dict[str, Any]) -> str:
    """A schema as a short type name, with links to the schemas section."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for combinator in ("anyOf", "oneOf"):
        if combinator in spec:
            return " or ".join(_type(s) for s in spec[combinator])
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        values = spec["additionalProperties"]
        return f"object of {_type(values) if isinstance(values, dict) else 'any'}"
    if kind == "object" and "properties" in spec:
        return "object with " + ", ".join(f"`{k}`" for k in spec["properties"])
    return f"`{kind}`" if kind else "any"
