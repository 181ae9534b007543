"""Per-file context shared by every rule: the ancestor stack and scope-aware name resolution."""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple, Type, TypeVar, Union

import libcst as cst

from leaklint.semantics.names import EMPTY, Names, qualify_parts
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import FunctionFacts, ModuleSummary

T = TypeVar("T", bound=cst.CSTNode)
FunctionNode = cst.FunctionDef


def dotted_parts(node: cst.BaseExpression) -> Optional[List[str]]:
    """``a.b.c`` -> ``["a", "b", "c"]``; anything that is not a plain dotted name -> None."""
    parts: List[str] = []
    while isinstance(node, cst.Attribute):
        parts.insert(0, node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.insert(0, node.value)
        return parts
    return None


class FileContext:
    def __init__(self, path: str, source: bytes, module: cst.Module, summary: ModuleSummary,
                 project: ProjectFacts) -> None:
        self.path = path
        self.source = source
        self.module = module
        self.summary = summary
        self.project = project
        #: ancestors of the node being visited, the node itself last (maintained by the engine)
        self.stack: List[cst.CSTNode] = []
        #: memo for semantic helpers (e.g. the per-request call graph), per file
        self.cache: dict = {}

    # -- tree position ------------------------------------------------------------------
    def parent(self, node: Optional[cst.CSTNode] = None) -> Optional[cst.CSTNode]:
        """Parent of ``node`` (default: of the node being visited); ``node`` must be on the stack."""
        stack = self.stack
        index = len(stack) - 1 if node is None else _index(stack, node)
        return stack[index - 1] if index is not None and index > 0 else None

    def ancestors(self, node: Optional[cst.CSTNode] = None) -> Iterator[cst.CSTNode]:
        """Innermost first, excluding ``node`` itself."""
        stack = self.stack
        index = len(stack) - 1 if node is None else _index(stack, node)
        if index is None:
            return iter(())
        return reversed(stack[:index])

    def enclosing(self, kinds: Union[Type[T], Tuple[type, ...]], node: Optional[cst.CSTNode] = None,
                  stop_at_function: bool = True) -> Optional[T]:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, kinds):
                return ancestor  # type: ignore[return-value]
            if stop_at_function and isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return None
        return None

    def current_function(self) -> Optional[cst.FunctionDef]:
        for node in reversed(self.stack):
            if isinstance(node, cst.FunctionDef):
                return node
        return None

    def enclosing_class(self, fn: cst.FunctionDef) -> Optional[cst.ClassDef]:
        """The class whose body directly defines ``fn`` (a method), else None."""
        index = _index(self.stack, fn)
        if index is None:
            return None
        for node in reversed(self.stack[:index]):
            if isinstance(node, cst.ClassDef):
                return node
            if isinstance(node, cst.FunctionDef):
                return None
        return None

    def enclosing_statement(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The innermost statement around ``node`` when ``node`` is on the traversal stack; None for a
        node a rule found deeper in the tree (the engine then works it out from positions)."""
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return node
        if _index(self.stack, node) is None:
            return None
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return ancestor
        return None

    def in_module_scope(self) -> bool:
        return not any(isinstance(n, (cst.FunctionDef, cst.Lambda)) for n in self.stack[:-1])

    # -- functions ----------------------------------------------------------------------
    def function_path(self, fn: cst.FunctionDef) -> str:
        """Dotted path of ``fn`` (``Class.method``, ``outer.inner``); ``fn`` must be on the stack."""
        index = _index(self.stack, fn)
        scope = self.stack[: index + 1] if index is not None else [fn]
        return ".".join(n.name.value for n in scope if isinstance(n, (cst.FunctionDef, cst.ClassDef)))

    def function_facts(self, fn: cst.FunctionDef) -> Optional[FunctionFacts]:
        return self.summary.functions.get(self.function_path(fn))

    def qualified_function_name(self, fn: cst.FunctionDef) -> str:
        return f"{self.summary.module}.{self.function_path(fn)}"

    def _function_chain(self, upto: Optional[cst.CSTNode] = None) -> List[dict]:
        chain = []
        path: List[str] = []
        nodes = self.stack
        if upto is not None:
            index = _index(nodes, upto)
            if index is not None:
                nodes = nodes[: index + 1]
        for node in nodes:
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                path.append(node.name.value)
                if isinstance(node, cst.FunctionDef):
                    facts = self.summary.functions.get(".".join(path))
                    if facts is not None:
                        chain.append({"shadowed": facts.shadowed, "imports": facts.imports})
        return chain

    # -- names --------------------------------------------------------------------------
    def qualify(self, node: cst.BaseExpression, scope: Optional[cst.CSTNode] = None) -> Names:
        """Qualified-name candidates of a dotted expression, as seen from the current scope.

        Aliases and relative imports resolve; a local binding that shadows an import resolves to
        nothing; names imported from other linted modules follow re-exports to their definition.
        """
        parts = dotted_parts(node)
        if parts is None:
            return EMPTY
        names = qualify_parts(parts, self._function_chain(scope), self.summary.imports,
                              self.summary.definitions, self.summary.module)
        return self.project.canonical_all(names) if names else EMPTY

    def qualify_callee(self, call: cst.Call) -> Names:
        return self.qualify(call.func)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


def _index(stack: Sequence[cst.CSTNode], node: cst.CSTNode) -> Optional[int]:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is node:
            return i
    return None
