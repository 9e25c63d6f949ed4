"""Parse the Terraform configuration with python-hcl2 (no terraform binary or provider needed)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
TF_ROOT = REPO_ROOT / "terraform"
MODULES = TF_ROOT / "modules"
ENVIRONMENTS = TF_ROOT / "environments"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals quoted ('"x"') and block labels too; strip that."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@dataclass
class TfDir:
    """Every block of the .tf files of one directory (a root or a module)."""

    path: Path
    files: dict[str, dict] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def blocks(self, kind: str) -> list[tuple[str, dict]]:
        """(file name, block) for every top-level block of a kind (resource, data, module...)."""
        return [(name, unquote(b)) for name, doc in self.files.items() for b in doc.get(kind, [])]

    def labelled(self, kind: str) -> dict[str, dict]:
        """{label: body} of single-label blocks (variable, output, module)."""
        out: dict[str, dict] = {}
        for _, block in self.blocks(kind):
            out.update(block)
        return out

    def typed(self, kind: str) -> dict[tuple[str, str], dict]:
        """{(type, name): body} of two-label blocks (resource, data)."""
        out: dict[tuple[str, str], dict] = {}
        for _, block in self.blocks(kind):
            for type_name, named in block.items():
                for name, body in named.items():
                    out[(type_name, name)] = body
        return out

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for _, block in self.blocks("locals"):
            merged.update(block)
        return merged


@functools.cache
def load_dir(path: Path) -> TfDir:
    """Parsed once per test session (the files do not change while tests run)."""
    tf = TfDir(path)
    for file in sorted(path.glob("*.tf")):
        text = file.read_text(encoding="utf-8")
        tf.texts[file.name] = text
        tf.files[file.name] = hcl2.loads(text)
    return tf


def all_tf_dirs() -> list[Path]:
    return sorted({p.parent for p in TF_ROOT.rglob("*.tf") if ".terraform" not in p.parts})


@pytest.fixture(scope="session")
def root() -> TfDir:
    return load_dir(TF_ROOT)


@pytest.fixture(scope="session")
def modules() -> dict[str, TfDir]:
    return {p.name: load_dir(p) for p in sorted(MODULES.iterdir()) if p.is_dir()}


# --- Terraform type expressions -----------------------------------------------------------

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[(){}\[\]=,])")


@dataclass(frozen=True)
class TfType:
    kind: str  # string, number, bool, any, list, set, map, object, tuple
    element: TfType | None = None
    attributes: dict[str, TfType] | None = None
    optional: bool = False


def parse_type(expression: str) -> TfType:
    """Parse a variable's `type` as python-hcl2 gives it ('${object({a = string})}')."""
    text = expression.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"cannot tokenise type expression {expression!r}")
    position = 0

    def take(expected: str | None = None) -> str:
        nonlocal position
        token = tokens[position]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r} at {token!r} in {expression!r}")
        position += 1
        return token

    def parse() -> TfType:
        name = take()
        if name in ("string", "number", "bool", "any"):
            return TfType(name)
        if name in ("list", "set", "map"):
            take("(")
            element = parse()
            take(")")
            return TfType(name, element=element)
        if name == "optional":
            take("(")
            inner = parse()
            while tokens[position] != ")":  # optional(type, default): default not modelled
                take()
            take(")")
            return TfType(inner.kind, inner.element, inner.attributes, optional=True)
        if name == "object":
            take("(")
            take("{")
            attributes: dict[str, TfType] = {}
            while tokens[position] != "}":
                key = take()
                take("=")
                attributes[key] = parse()
                if tokens[position] == ",":
                    take(",")
            take("}")
            take(")")
            return TfType("object", attributes=attributes)
        raise ValueError(f"unsupported type {name!r} in {expression!r}")

    parsed = parse()
    if position != len(tokens):
        raise ValueError(f"trailing tokens in type expression {expression!r}")
    return parsed


def mismatches(value: Any, tf_type: TfType, where: str) -> list[str]:
    """Every place where a JSON value does not have the Terraform type's shape."""
    kind = tf_type.kind
    if kind == "any":
        return []
    if kind == "string":
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{where}: expected a bool, got {value!r}"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {value!r}"]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        assert tf_type.element is not None
        return [
            m for i, v in enumerate(value) for m in mismatches(v, tf_type.element, f"{where}[{i}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {value!r}"]
        assert tf_type.element is not None
        return [m for k, v in value.items() for m in mismatches(v, tf_type.element, f"{where}.{k}")]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        assert tf_type.attributes is not None
        problems = [
            f"{where}.{k}: in the file but not an attribute of the Terraform type"
            for k in value
            if k not in tf_type.attributes
        ]
        for name, attribute in tf_type.attributes.items():
            if name in value:
                problems += mismatches(value[name], attribute, f"{where}.{name}")
            elif not attribute.optional:
                problems.append(f"{where}.{name}: Terraform attribute missing from the file")
        return problems
    raise ValueError(f"unsupported kind {kind}")
