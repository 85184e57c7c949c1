"""Read C# sources with tree-sitter: the records, classes, structs and enums they declare.

    sources = parse_sources(["../dotnet/Events"])       # files or directories of *.cs
    sources = parse_sources({"Events.cs": "public record Ping(Guid Id);"})
    [decl.name for decl in sources.decls]                # ['Ping']

Only what System.Text.Json binds is kept: positional record parameters, public settable
(``set``/``init``) instance properties, ``[JsonPropertyName]`` (on a record parameter only with
the ``property:`` target), ``[JsonIgnore]``, nullable annotations, enum values (explicit or
implicit), ``[OutputStream("X")]``, file-scoped and block namespaces, nested types.
Needs the ``[csharp]`` extra (``tree-sitter`` and ``tree-sitter-c-sharp``).
"""

from __future__ import annotations

import dataclasses
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from plumberd_logging.csharp._model import CsType

__all__ = ["CsDecl", "CsProperty", "CsSources", "MissingParser", "parse_sources"]

INSTALL_HINT = 'pip install "plumberd-logging[csharp]"'


class MissingParser(ImportError):
    """The ``[csharp]`` extra (tree-sitter with the C# grammar) is not installed."""

    def __init__(self) -> None:
        super().__init__(
            f"reading C# needs tree-sitter and tree-sitter-c-sharp: {INSTALL_HINT}",
            name="tree_sitter_c_sharp",
        )


@dataclasses.dataclass(frozen=True)
class CsProperty:
    """A property System.Text.Json binds: ``name`` is the JSON key it reads."""

    name: str
    type: CsType
    line: int
    required: bool = False
    option: bool = False  # MicroPlumberd Option<T>
    ignored_attribute: str | None = None  # [JsonPropertyName("x")] without property: target


@dataclasses.dataclass(frozen=True)
class CsDecl:
    """A type declaration: ``kind`` is record, class, struct or enum."""

    kind: str
    name: str
    namespace: str
    file: str
    line: int
    properties: tuple[CsProperty, ...] = ()
    members: tuple[tuple[str, int | None], ...] = ()
    output_stream: str | None = None
    bases: tuple[str, ...] = ()
    value_type: bool = False

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclasses.dataclass
class CsSources:
    decls: list[CsDecl]
    files: list[str]
    syntax_errors: list[tuple[str, int]]  # (file, line) of the first error in a file
    _index: dict[str, list[CsDecl]] = dataclasses.field(default_factory=dict, repr=False)
    _indexed: int = dataclasses.field(default=-1, repr=False)

    def find(self, name: str) -> list[CsDecl]:
        """The declarations with this simple name (in file order)."""
        if self._indexed != len(self.decls):
            self._index = {}
            for d in self.decls:
                self._index.setdefault(d.name, []).append(d)
            self._indexed = len(self.decls)
        return self._index.get(name, [])

    def properties(self, decl: CsDecl) -> list[CsProperty]:
        """``decl``'s properties, with those of its base types (found by simple name)."""
        out: dict[str, CsProperty] = {}
        seen: set[str] = set()
        stack = [decl]
        while stack:
            current = stack.pop()
            if current.name in seen:
                continue
            seen.add(current.name)
            for p in current.properties:
                out.setdefault(p.name, p)
            for base in current.bases:
                stack += [d for d in self.find(base) if d.kind != "enum"][:1]
        return list(out.values())


def _parser() -> Any:
    try:
        import tree_sitter
        import tree_sitter_c_sharp
    except ImportError:
        raise MissingParser() from None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))


def _files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, str]]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*.cs")
                if not {"bin", "obj"} & set(p.relative_to(path).parts[:-1])
            )
            for p in found:
                yield str(p), p.read_text(encoding="utf-8-sig")
        elif path.is_file():
            yield str(path), path.read_text(encoding="utf-8-sig")
        else:
            raise FileNotFoundError(f"--cs: no such file or directory: {given}")


def parse_sources(
    sources: Iterable[str | os.PathLike[str]] | Mapping[str, str],
) -> CsSources:
    """Parse C# files/directories (paths) or ``{file name: C# text}``."""
    parser = _parser()
    items = list(sources.items()) if isinstance(sources, Mapping) else list(_files(sources))
    result = CsSources([], [], [])
    for name, text in items:
        tree = parser.parse(text.encode("utf-8"))
        result.files.append(name)
        if tree.root_node.has_error:
            result.syntax_errors.append((name, _first_error_line(tree.root_node)))
        _Reader(name, result.decls).unit(tree.root_node)
    return result


def _first_error_line(node: Any) -> int:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return int(n.start_point[0]) + 1
        stack.extend(reversed(n.children))
    return 1


def _text(node: Any) -> str:
    return bytes(node.text).decode("utf-8")


_TYPE_DECLS = {
    "class_declaration": "class",
    "record_declaration": "record",
    "record_struct_declaration": "struct",
    "struct_declaration": "struct",
    "interface_declaration": "interface",
    "enum_declaration": "enum",
}
_ALIASES = {
    "String": "string",
    "Int32": "int",
    "Int64": "long",
    "Int16": "short",
    "Byte": "byte",
    "Double": "double",
    "Single": "float",
    "Decimal": "decimal",
    "Boolean": "bool",
    "Object": "object",
    "Char": "char",
    "UInt32": "uint",
    "UInt64": "ulong",
}
_LISTS = {
    "List",
    "IList",
    "IReadOnlyList",
    "ICollection",
    "IReadOnlyCollection",
    "IEnumerable",
    "Collection",
    "ReadOnlyCollection",
    "HashSet",
    "ISet",
    "IReadOnlySet",
    "SortedSet",
    "ImmutableList",
    "ImmutableArray",
    "ImmutableHashSet",
    "IImmutableList",
    "LinkedList",
    "Queue",
    "Stack",
}
_DICTS = {
    "Dictionary",
    "IDictionary",
    "IReadOnlyDictionary",
    "SortedDictionary",
    "ImmutableDictionary",
    "IImmutableDictionary",
    "ConcurrentDictionary",
}


def _simple_name(node: Any) -> str:
    """``System.Guid`` -> ``Guid``; ``global::X`` -> ``X``."""
    if node.type in ("qualified_name", "alias_qualified_name"):
        last = node.child_by_field_name("name") or node.named_children[-1]
        return _simple_name(last)
    if node.type == "generic_name":
        return _text(node.named_children[0])
    return _text(node)


def cs_type(node: Any) -> tuple[CsType, bool]:
    """The normalised type of a syntax node, and whether it was ``Option<T>``."""
    kind = node.type
    if kind == "nullable_type":
        inner, option = cs_type(node.child_by_field_name("type") or node.named_children[0])
        return inner.with_nullable(True), option
    if kind == "array_type":
        elem, _ = cs_type(node.child_by_field_name("type") or node.named_children[0])
        if elem == CsType("byte"):
            return CsType("byte[]"), False
        return CsType("Array", (elem,)), False
    if kind == "predefined_type":
        return CsType(_text(node)), False
    if kind == "qualified_name" and node.named_children[-1].type == "generic_name":
        return cs_type(node.named_children[-1])
    if kind == "generic_name":
        name = _text(node.named_children[0])
        arg_list = next(c for c in node.named_children if c.type == "type_argument_list")
        args = [cs_type(a)[0] for a in arg_list.named_children]
        if name == "Nullable" and len(args) == 1:
            return args[0].with_nullable(True), False
        if name == "Option" and len(args) == 1:
            return args[0], True
        if name in _LISTS and len(args) == 1:
            return CsType("List", (args[0],)), False
        if name in _DICTS and len(args) == 2:
            return CsType("Dictionary", (args[0], args[1])), False
        return CsType(name, tuple(args)), False
    if kind in ("identifier", "qualified_name", "alias_qualified_name"):
        name = _simple_name(node)
        return CsType(_ALIASES.get(name, name)), False
    return CsType(_text(node)), False


def _attributes(node: Any) -> Iterator[tuple[str, str | None, str | None]]:
    """(attribute simple name, first string argument, target) of a declaration."""
    for child in node.children:
        if child.type != "attribute_list":
            continue
        target = None
        for part in child.named_children:
            if part.type == "attribute_target_specifier":
                target = _text(part).rstrip(":").strip()
            elif part.type == "attribute":
                name = _simple_name(part.child_by_field_name("name") or part.named_children[0])
                name = name.removesuffix("Attribute")
                yield name, _string_argument(part), target


def _string_argument(attribute: Any) -> str | None:
    for args in attribute.named_children:
        if args.type != "attribute_argument_list":
            continue
        for arg in args.named_children:
            for lit in arg.named_children:
                if lit.type in ("string_literal", "verbatim_string_literal"):
                    content = [c for c in lit.named_children if c.type == "string_literal_content"]
                    if content:
                        return "".join(_text(c) for c in content)
                    raw = _text(lit)
                    return raw.lstrip("@")[1:-1]
            return None
    return None


def _modifiers(node: Any) -> set[str]:
    return {_text(c) for c in node.children if c.type == "modifier"}


_OPERATORS: dict[str, Callable[[int, int], int]] = {
    "<<": operator.lshift,
    "|": operator.or_,
    "&": operator.and_,
    "+": operator.add,
    "-": operator.sub,
}


def _int_value(node: Any, known: dict[str, int | None]) -> int | None:
    if node.type == "integer_literal":
        text = _text(node).replace("_", "").rstrip("uUlL")
        try:
            return int(text, 0)
        except ValueError:
            return None
    if node.type == "prefix_unary_expression" and _text(node).startswith("-"):
        inner = _int_value(node.named_children[-1], known)
        return None if inner is None else -inner
    if node.type == "parenthesized_expression" and node.named_children:
        return _int_value(node.named_children[0], known)
    if node.type == "identifier":
        return known.get(_text(node))
    if node.type == "binary_expression" and len(node.named_children) == 2:
        left, right = (_int_value(n, known) for n in node.named_children)
        op = _text(node.child_by_field_name("operator") or node.children[1])
        if left is None or right is None or op not in _OPERATORS:
            return None
        return _OPERATORS[op](left, right)
    return None


class _Reader:
    def __init__(self, file: str, out: list[CsDecl]) -> None:
        self.file = file
        self.out = out

    def unit(self, root: Any) -> None:
        namespace = ""
        for child in root.named_children:
            if child.type == "file_scoped_namespace_declaration":
                namespace = _text(child.child_by_field_name("name"))
            self.member(child, namespace)

    def member(self, node: Any, namespace: str) -> None:
        if node.type == "namespace_declaration":
            name = _text(node.child_by_field_name("name"))
            inner = f"{namespace}.{name}" if namespace else name
            body = node.child_by_field_name("body")
            for child in body.named_children if body is not None else ():
                self.member(child, inner)
        elif node.type == "file_scoped_namespace_declaration":
            for child in node.named_children:  # older grammars nest the members
                self.member(child, namespace)
        elif node.type in _TYPE_DECLS:
            self.declaration(node, namespace)

    def declaration(self, node: Any, namespace: str) -> None:
        kind = _TYPE_DECLS[node.type]
        if kind == "record" and any(c.type == "struct" for c in node.children):
            kind = "struct"
        name = _text(node.child_by_field_name("name"))
        stream = next((arg for a, arg, _ in _attributes(node) if a == "OutputStream"), None)
        line = int(node.start_point[0]) + 1
        body = node.child_by_field_name("body")
        if kind == "enum":
            self.out.append(
                CsDecl(
                    kind,
                    name,
                    namespace,
                    self.file,
                    line,
                    members=self.enum_members(body),
                    value_type=True,
                )
            )
            return
        props: list[CsProperty] = []
        if node.type in ("record_declaration", "record_struct_declaration"):
            params = next((c for c in node.named_children if c.type == "parameter_list"), None)
            props += self.parameters(params)
        ctor_params = self.constructor_parameters(body)
        props += self.properties(body, ctor_params)
        bases = []
        for child in node.named_children:
            if child.type == "base_list":
                for b in child.named_children:
                    target = b.named_children[0] if b.type == "primary_constructor_base_type" else b
                    bases.append(_simple_name(target))
        self.out.append(
            CsDecl(
                kind,
                name,
                namespace,
                self.file,
                line,
                tuple(props),
                (),
                stream,
                tuple(bases),
                value_type=kind == "struct",
            )
        )
        for child in body.named_children if body is not None else ():
            if child.type in _TYPE_DECLS:
                self.declaration(child, namespace)

    def parameters(self, params: Any) -> list[CsProperty]:
        out = []
        for p in params.named_children if params is not None else ():
            if p.type != "parameter":
                continue
            name = _text(p.child_by_field_name("name"))
            type_node = p.child_by_field_name("type")
            if type_node is None:
                continue
            cs, option = cs_type(type_node)
            json_name, ignored, skip = name, None, False
            for attr, arg, target in _attributes(p):
                if attr == "JsonPropertyName" and arg is not None:
                    if target == "property":
                        json_name = arg
                    else:
                        ignored = arg
                elif attr == "JsonIgnore" and target == "property":
                    skip = True
            if not skip:
                out.append(
                    CsProperty(
                        json_name,
                        cs,
                        int(p.start_point[0]) + 1,
                        option=option,
                        ignored_attribute=ignored,
                    )
                )
        return out

    def constructor_parameters(self, body: Any) -> set[str]:
        names: set[str] = set()
        for child in body.named_children if body is not None else ():
            if child.type == "constructor_declaration":
                params = child.child_by_field_name("parameters")
                for p in params.named_children if params is not None else ():
                    if p.type == "parameter" and p.child_by_field_name("name") is not None:
                        names.add(_text(p.child_by_field_name("name")).lower())
        return names

    def properties(self, body: Any, ctor_params: set[str]) -> list[CsProperty]:
        out = []
        for child in body.named_children if body is not None else ():
            if child.type != "property_declaration":
                continue
            mods = _modifiers(child)
            if "public" not in mods or "static" in mods or "abstract" in mods:
                continue
            name = _text(child.child_by_field_name("name"))
            accessors = child.child_by_field_name("accessors")
            settable = False
            for acc in accessors.named_children if accessors is not None else ():
                if acc.type != "accessor_declaration":
                    continue
                words = _text(acc).replace(";", " ").replace("{", " ").split()
                if ("set" in words or "init" in words) and not {"private", "protected"} & set(
                    words
                ):
                    settable = True
            if not settable and name.lower() not in ctor_params:
                continue
            json_name, skip = name, False
            for attr, arg, _ in _attributes(child):
                if attr == "JsonPropertyName" and arg is not None:
                    json_name = arg
                elif attr == "JsonIgnore":
                    skip = True
            if skip:
                continue
            cs, option = cs_type(child.child_by_field_name("type"))
            out.append(
                CsProperty(json_name, cs, int(child.start_point[0]) + 1, "required" in mods, option)
            )
        return out

    def enum_members(self, body: Any) -> tuple[tuple[str, int | None], ...]:
        members: list[tuple[str, int | None]] = []
        known: dict[str, int | None] = {}
        previous: int | None = -1
        for m in body.named_children if body is not None else ():
            if m.type != "enum_member_declaration":
                continue
            name = _text(m.child_by_field_name("name"))
            value_node = m.child_by_field_name("value")
            if value_node is not None:
                value = _int_value(value_node, known)
            else:
                value = None if previous is None else previous + 1
            known[name] = value
            members.append((name, value))
            previous = value
        return tuple(members)
