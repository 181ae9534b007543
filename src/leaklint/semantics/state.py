"""Long-lived state: module containers, cache decorators, process-lifetime objects, gunicorn config.

The LL2/LL6 rules ask "is this a module-level container, and does anything ever shrink it?",
"is this decorator an unbounded cache?", "does this object live as long as the process?" and
"is this module a gunicorn configuration?". The answers live here so that every rule (and any
later family) gets the same, import-resolved answer.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, Iterator, Optional, Set, Tuple

import libcst as cst

from leaklint.semantics.flow import index_of, walk
from leaklint.semantics.names import matches
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import APP_CLASSES, GROW_METHODS, Definition, ModuleSummary, is_test_module_name

# -- containers ------------------------------------------------------------------------------

CONTAINER_CALLS = {
    "builtins.dict": "dict", "builtins.list": "list", "builtins.set": "set",
    "collections.defaultdict": "defaultdict", "collections.OrderedDict": "OrderedDict",
    "collections.Counter": "Counter", "collections.deque": "deque",
}
CONTAINER_LITERALS = frozenset({"dict", "list", "set"})
#: methods that remove entries: their presence anywhere means somebody bounds the container
EVICT_METHODS = frozenset({"pop", "popitem", "clear", "remove", "discard", "popleft", "difference_update",
                           "intersection_update", "symmetric_difference_update", "__delitem__"})
#: augmented assignments that grow (``X += [...]``, ``X |= {...}``) / shrink (``X -= {...}``)
GROW_OPERATORS = (cst.AddAssign, cst.BitOrAssign)
SHRINK_OPERATORS = (cst.SubtractAssign, cst.BitAndAssign)


def container_kind(definition: Definition) -> Optional[str]:
    """'dict' / 'list' / 'defaultdict' / ... for a module-level binding to a mutable container.

    A ``deque(maxlen=...)`` is bounded and not a container in this sense (the positional
    ``deque(items, n)`` spelling is checked on the node by :func:`bounded_deque`).
    """
    if definition.kind == "literal" and definition.literal in CONTAINER_LITERALS:
        return definition.literal
    if definition.kind == "call":
        for callee in definition.callee:
            kind = CONTAINER_CALLS.get(callee)
            if kind == "deque" and "maxlen" in definition.keywords:
                return None
            if kind is not None:
                return kind
    return None


def module_containers(summary: ModuleSummary) -> Dict[str, str]:
    """Module-level names bound (only) to a mutable container, with its kind."""
    out = {}
    for name, definition in summary.definitions.items():
        kind = container_kind(definition)
        if kind is not None:
            out[name] = kind
    return out


def bounded_deque(ctx, value: Optional[cst.BaseExpression]) -> bool:
    """``deque(items, 100)`` / ``deque(maxlen=100)``: bounded (``maxlen=None`` is not)."""
    if not isinstance(value, cst.Call) or not matches(ctx.qualify(value.func), {"collections.deque"}):
        return False
    for i, arg in enumerate(value.args):
        is_maxlen = (arg.keyword is not None and arg.keyword.value == "maxlen") or (arg.keyword is None and i == 1)
        if is_maxlen and not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
            return True
    return False


def is_container_value(ctx, value: Optional[cst.BaseExpression]) -> Optional[str]:
    """The container kind a libcst expression builds (``{}``, ``[]``, ``set()``, ``defaultdict(list)``)."""
    if isinstance(value, (cst.Dict, cst.DictComp)):
        return "dict"
    if isinstance(value, (cst.List, cst.ListComp)):
        return "list"
    if isinstance(value, (cst.Set, cst.SetComp)):
        return "set"
    if isinstance(value, cst.Call):
        for callee in ctx.qualify(value.func):
            kind = CONTAINER_CALLS.get(callee)
            if kind is not None:
                return None if kind == "deque" and bounded_deque(ctx, value) else kind
    return None


# -- reading a use of a container ------------------------------------------------------------

@dataclass(frozen=True)
class Use:
    """How one occurrence of a container expression is used."""

    kind: str  # "grow" | "evict" | "escape" | "read"
    node: cst.CSTNode  # the statement-ish node to report on (call, assignment, del)


SIZE_CALLS = frozenset({"builtins.len"})
#: calls that only read their argument: passing the container to them is not an escape
READING_CALLS = frozenset({"builtins." + n for n in (
    "isinstance", "list", "tuple", "sorted", "set", "frozenset", "dict", "iter", "enumerate", "reversed",
    "any", "all", "sum", "min", "max", "str", "repr", "print", "bool", "id", "type", "next", "map", "filter",
    "zip")})
LOGGING_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def classify_use(ctx, expr: cst.CSTNode, parent_of) -> Use:
    """Classify the container expression ``expr`` (``X`` or ``self.x``) by its surroundings.

    ``parent_of(node)`` returns a node's parent (the context stack or a ``FunctionIndex``).
    """
    parent = parent_of(expr)
    if isinstance(parent, cst.Attribute) and parent.value is expr:
        call = parent_of(parent)
        method = parent.attr.value
        if isinstance(call, cst.Call) and call.func is parent:
            if method in GROW_METHODS:
                return Use("grow", call)
        if method in EVICT_METHODS:
            return Use("evict", parent)  # called, or handed over as a callback (``atexit.register(X.clear)``)
        return Use("read", parent)
    if isinstance(parent, cst.Subscript) and parent.value is expr:
        slice_is_range = any(isinstance(e.slice, cst.Slice) for e in parent.slice)
        holder = parent_of(parent)
        if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AnnAssign) and holder.target is parent):
            return Use("evict" if slice_is_range else "grow", parent)
        if isinstance(holder, cst.AugAssign) and holder.target is parent:
            return Use("grow", holder)
        if isinstance(holder, (cst.Del, cst.Element)) and _deleted(holder, parent_of):
            return Use("evict", holder)
        if isinstance(holder, cst.Element) and _unpacked_into(holder, parent_of):  # ``X[k], Y[k] = a, b``
            return Use("evict" if slice_is_range else "grow", parent)
        if isinstance(holder, cst.Attribute) and holder.value is parent:  # X[k].append(v)
            call = parent_of(holder)
            if isinstance(call, cst.Call) and call.func is holder and holder.attr.value in GROW_METHODS:
                return Use("grow", call)
        return Use("read", parent)
    if isinstance(parent, cst.AugAssign) and parent.target is expr:
        if isinstance(parent.operator, SHRINK_OPERATORS):
            return Use("evict", parent)
        return Use("grow" if isinstance(parent.operator, GROW_OPERATORS) else "read", parent)
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)):
        target = parent.target
        if target is expr:
            assign = parent_of(parent) if isinstance(parent, cst.AssignTarget) else parent
            value = getattr(assign, "value", None)
            if value is not None and _extends_itself(value, expr):
                return Use("grow", assign)  # ``X = X + [item]`` / ``X = {**X, k: v}``
            return Use("evict", parent)  # rebinding replaces the contents
    if isinstance(parent, cst.Del) or (isinstance(parent, cst.Element) and _deleted(parent, parent_of)):
        return Use("evict", parent)
    if isinstance(parent, cst.Arg):
        call = parent_of(parent)
        if isinstance(call, cst.Call):
            callee = ctx.qualify(call.func)
            if matches(callee, SIZE_CALLS):
                return Use("evict", call)  # a size check: somebody watches its size
            if matches(callee, READING_CALLS):
                return Use("read", call)
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in LOGGING_METHODS | {"dumps", "dump"}:
                return Use("read", call)
        return Use("escape", parent)
    if isinstance(parent, (cst.Return, cst.Yield, cst.Element, cst.DictElement, cst.StarredElement, cst.Assign,
                           cst.AnnAssign, cst.NamedExpr, cst.Lambda, cst.Tuple, cst.StarredDictElement,
                           cst.AssignTarget, cst.With, cst.WithItem)):
        return Use("escape", parent)
    return Use("read", parent if parent is not None else expr)


def _extends_itself(value: cst.BaseExpression, container: cst.BaseExpression) -> bool:
    """``X + [item]``, ``X | {k: v}``, ``[*X, item]``, ``{**X, k: v}``: a new container holding all of
    the old one and more."""
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Add, cst.BitOr)):
        return any(side.deep_equals(container) for side in (value.left, value.right))
    if isinstance(value, (cst.List, cst.Set, cst.Tuple)) and len(value.elements) > 1:
        return any(isinstance(e, cst.StarredElement) and e.value.deep_equals(container) for e in value.elements)
    if isinstance(value, cst.Dict) and len(value.elements) > 1:
        return any(isinstance(e, cst.StarredDictElement) and e.value.deep_equals(container) for e in value.elements)
    return False


def lazily_initialised(node: cst.CSTNode, me: str, parents) -> bool:
    """Inside ``if self.<attr> is None:`` / ``if not self.<attr>:`` in the same function: one-time setup."""
    current = parents.get(node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        if isinstance(current, cst.If) and _checks_unset(current.test, me):
            return True
        current = parents.get(current)
    return False


def _checks_unset(test: cst.BaseExpression, me: str) -> bool:
    def is_self_attr(expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == me

    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return is_self_attr(test.expression)
    if isinstance(test, cst.Comparison) and is_self_attr(test.left) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        return isinstance(target.operator, cst.Is) and isinstance(target.comparator, cst.Name) and \
            target.comparator.value == "None"
    if isinstance(test, cst.BooleanOperation):
        return _checks_unset(test.left, me) or _checks_unset(test.right, me)
    return False


def constant_key(node: cst.CSTNode) -> bool:
    """``X["name"] = v`` / ``X["a", 1] += 1``: a store under literal keys adds a bounded set of entries."""
    if isinstance(node, cst.AugAssign):
        node = node.target
    if not isinstance(node, cst.Subscript):
        return False
    return all(isinstance(e.slice, cst.Index) and _literal(e.slice.value) for e in node.slice)


ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
LITERAL_TYPES = frozenset({"typing.Literal", "typing_extensions.Literal", "builtins.bool"})


def bounded_key(ctx, node: cst.CSTNode, fn: cst.FunctionDef, qualified: Optional[str] = None) -> bool:
    """The growth's key comes from a bounded domain: a literal, a parameter of ``fn`` typed
    ``Literal[...]``, ``bool`` or an ``Enum`` (``def per_color(color: Color): X.setdefault(color, [])``),
    or one every caller in the project passes a literal for (``qualified`` names ``fn``)."""
    key = _growth_key(node)
    if key is None:
        return False
    if _literal(key):
        return True
    if _tenant_key(key) and _replaces_entry(ctx, node, fn):
        return True
    if _pinned_by_branch(ctx, node, key, fn) and _replaces_entry(ctx, node, fn):
        return True  # one entry per literal; ``X[k].append(v)`` still grows the list under it
    parts = [e.value for e in key.elements] if isinstance(key, cst.Tuple) else [key]
    return all(_literal(part) or _bounded_parameter(ctx, part, fn, qualified) or _class_constant_of_parameter(ctx, part, fn)
               for part in parts)


def _class_constant_of_parameter(ctx, key: cst.BaseExpression, fn: cst.FunctionDef) -> bool:
    """``X[job.kind] = job`` with ``job: Job`` where ``kind`` is one value per class of ``Job``'s
    family (``call_arguments.class_constant``): as many keys as there are job classes."""
    if not (isinstance(key, cst.Attribute) and isinstance(key.value, cst.Name)):
        return False
    params = fn.params
    every = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    name = key.value.value
    record = ctx.project.functions.get(ctx.qualified_function_name(fn))
    if name not in every or record is None or record.ownership is None or index_of(ctx, fn).assignments(name):
        return False
    types = record.ownership.param_types.get(every.index(name), ())
    from leaklint.semantics.call_arguments import class_constant

    return bool(types) and all(class_constant(ctx.project, t, key.attr.value) for t in types)


def _pinned_by_branch(ctx, node: cst.CSTNode, key: cst.BaseExpression, fn: cst.FunctionDef) -> bool:
    """The growth runs only under ``if key == "name":`` / ``elif key in ("a", "b"):``: the key is
    one of those literals."""
    parents = index_of(ctx, fn).parent
    child, current = node, parents.get(node)
    while current is not None and current is not fn:
        if isinstance(current, cst.If) and child is current.body:
            test = current.test
            if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and test.left.deep_equals(key):
                comparison = test.comparisons[0]
                if isinstance(comparison.operator, (cst.Equal, cst.In)) and _literal(comparison.comparator):
                    return True
        child, current = current, parents.get(current)
    return False


def _bounded_parameter(ctx, key: cst.BaseExpression, fn: cst.FunctionDef, qualified: Optional[str]) -> bool:
    if not isinstance(key, cst.Name):
        return False
    params = fn.params
    every = (*params.posonly_params, *params.params, *params.kwonly_params)
    index = next((i for i, p in enumerate(every) if p.name.value == key.value), None)
    if index is None:
        return False
    from leaklint.semantics.call_arguments import literal_parameter

    if qualified is not None and literal_parameter(ctx.project, qualified, index):
        return True
    param = every[index]
    if param.annotation is None:
        return False
    annotation = param.annotation.annotation
    if isinstance(annotation, cst.Subscript):
        return bool(ctx.qualify(annotation.value) & LITERAL_TYPES)
    names = {ctx.project.canonical(q) for q in ctx.qualify(annotation)}
    if names & (LITERAL_TYPES | ENUM_BASES):
        return True
    for name in names:
        definition = ctx.project.definition(name)
        if definition is not None and definition.kind == "class" and \
                {ctx.project.canonical(b) for b in definition.bases} & ENUM_BASES:
            return True
    return False


#: identifiers that name a tenant-level entity: there are as many as the deployment has customers or
#: workspaces (tens to thousands), not as many as requests
TENANT_KEY = re.compile(r"(?:^|_)(?:org|orgs|organi[sz]ation|tenant|workspace|team|account|company|namespace)"
                        r"(?:_?(?:id|key|slug|name|uuid))?$", re.IGNORECASE)


def _tenant_key(key: cst.BaseExpression) -> bool:
    """``organization_id``, ``ctx.workspace_id``, ``user["tenant_id"]``: a key per tenant-level entity."""
    if isinstance(key, cst.Name):
        name = key.value
    elif isinstance(key, cst.Attribute):
        name = key.attr.value
    elif isinstance(key, cst.Subscript) and len(key.slice) == 1 and isinstance(key.slice[0].slice, cst.Index) \
            and isinstance(key.slice[0].slice.value, cst.SimpleString):
        name = str(key.slice[0].slice.value.evaluated_value)
    else:
        return False
    return bool(TENANT_KEY.search(name))


def _replaces_entry(ctx, node: cst.CSTNode, fn: cst.FunctionDef) -> bool:
    """``X[k] = v`` / ``X[k] += 1`` / a bare ``X.setdefault(k, v)``: one entry per key, replaced or
    updated in place - not ``X[k].append(v)`` or ``X.setdefault(k, []).append(v)``, which grow per call."""
    if isinstance(node, (cst.Subscript, cst.AugAssign)):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "setdefault":
        return not isinstance(index_of(ctx, fn).parent.get(node), cst.Attribute)
    return False


def only_overwrites(node: cst.CSTNode, parents) -> bool:
    """``X[k] = v`` (or ``X[k] += 1``) that runs only when ``k`` is already in ``X``: under
    ``if k in X:``, or after ``if k not in X: return`` in the same or an enclosing block. It
    replaces an entry and never adds one."""
    target = node.target if isinstance(node, cst.AugAssign) else node
    key = _growth_key(target)
    if key is None or not isinstance(target, cst.Subscript):
        return False
    container = target.value
    child, current = target, parents.get(target)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
        if isinstance(current, cst.If):
            present = _membership(current.test, key, container)
            if present is not None and (child is current.body) == present:
                return True
        if isinstance(current, (cst.IndentedBlock, cst.Module)):
            position = next(i for i, stmt in enumerate(current.body) if stmt is child)
            for earlier in current.body[:position]:
                if isinstance(earlier, cst.If) and earlier.orelse is None and \
                        _membership(earlier.test, key, container) is False and _always_leaves(earlier.body):
                    return True
        child, current = current, parents.get(current)
    return False


def lazily_set(store: cst.Subscript, parents) -> bool:
    """``X[k] = v`` under ``if k not in X:``: the entry is made once, then kept."""
    key = _growth_key(store)
    child, current = store, parents.get(store)
    while key is not None and current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
        if isinstance(current, cst.If) and child is current.body and \
                _membership(current.test, key, store.value) is False:
            return True
        child, current = current, parents.get(current)
    return False


def _membership(test: cst.BaseExpression, key: cst.BaseExpression, container: cst.BaseExpression
                ) -> Optional[bool]:
    """``k in X`` -> True, ``k not in X`` / ``not k in X`` -> False, anything else -> None."""
    negated = False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, negated = test.expression, True
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return None
    comparison = test.comparisons[0]
    if not (test.left.deep_equals(key) and comparison.comparator.deep_equals(container)):
        return None
    if isinstance(comparison.operator, cst.In):
        return not negated
    if isinstance(comparison.operator, cst.NotIn):
        return negated
    return None


def _always_leaves(block: cst.BaseSuite) -> bool:
    statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
    if not statements:
        return False
    last = statements[-1]
    small = last.body if isinstance(last, cst.SimpleStatementLine) else (
        list(last.body) if isinstance(last, cst.SimpleStatementSuite) else [])
    return bool(small) and isinstance(small[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))


def _growth_key(node: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """``X[k] = v`` / ``X[k] += 1`` / ``X.setdefault(k, d)`` / ``X[k].append(v)`` / ``X.add(k)`` -> ``k``."""
    if isinstance(node, cst.AugAssign):
        node = node.target
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if isinstance(node.func.value, cst.Subscript):
            node = node.func.value
        elif node.func.attr.value in ("setdefault", "add") and node.args:
            return node.args[0].value
        else:
            return None
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return node.slice[0].slice.value
    return None


def _literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
        return True
    if isinstance(expr, cst.Name):
        return expr.value in ("True", "False", "None")
    if isinstance(expr, cst.Tuple):
        return all(_literal(e.value) for e in expr.elements)
    return False


def _unpacked_into(node: cst.CSTNode, parent_of) -> bool:
    """Is this tuple element a target an assignment unpacks into?"""
    while isinstance(node, cst.Element):
        sequence = parent_of(node)
        if not isinstance(sequence, (cst.Tuple, cst.List)):
            return False
        node = parent_of(sequence)
        if isinstance(node, cst.AssignTarget):
            return node.target is sequence
    return False


def _deleted(node: cst.CSTNode, parent_of) -> bool:
    while isinstance(node, (cst.Element, cst.Tuple, cst.List)):
        node = parent_of(node)
    return isinstance(node, cst.Del)


# -- cache decorators ------------------------------------------------------------------------

LRU_CACHE = frozenset({"functools.lru_cache"})
CACHE = frozenset({"functools.cache"})
CACHED_PROPERTY = frozenset({"functools.cached_property"})
STATIC_OR_CLASS = frozenset({"builtins.staticmethod", "builtins.classmethod"})


@dataclass(frozen=True)
class CacheDecorator:
    decorator: cst.Decorator
    #: "cache" (``functools.cache``) or "lru_cache"
    kind: str
    #: no size limit: ``cache``, ``lru_cache(None)``, ``lru_cache(maxsize=None)``
    unbounded: bool
    #: the argument carrying ``None`` in ``lru_cache(None)`` / ``lru_cache(maxsize=None)``
    maxsize_arg: Optional[cst.Arg] = None


def cache_decorator(ctx, decorator: cst.Decorator, scope: Optional[cst.CSTNode] = None) -> Optional[CacheDecorator]:
    """``@cache`` / ``@lru_cache`` / ``@lru_cache(...)`` under any alias, else None.

    ``scope``: the node whose scope the decorator is evaluated in (the decorated function's parent).
    """
    expr = decorator.decorator
    call = expr if isinstance(expr, cst.Call) else None
    names = ctx.qualify(call.func if call is not None else expr, scope)
    if matches(names, CACHE):
        return CacheDecorator(decorator, "cache", call is None or not call.args)
    if not matches(names, LRU_CACHE):
        return None
    if call is None:
        return CacheDecorator(decorator, "lru_cache", False)  # bare @lru_cache: maxsize=128
    for i, arg in enumerate(call.args):
        if (arg.keyword is not None and arg.keyword.value == "maxsize") or (arg.keyword is None and i == 0):
            is_none = isinstance(arg.value, cst.Name) and arg.value.value == "None"
            return CacheDecorator(decorator, "lru_cache", is_none, arg if is_none else None)
    return CacheDecorator(decorator, "lru_cache", False)


def cache_decorators(ctx, fn: cst.FunctionDef) -> Iterator[CacheDecorator]:
    """Cache decorators of ``fn`` (resolved in the enclosing scope: ``fn``'s locals do not count)."""
    scope = ctx.parent(fn)
    for decorator in fn.decorators:
        found = cache_decorator(ctx, decorator, scope)
        if found is not None:
            yield found


def decorated_with(ctx, fn: cst.FunctionDef, names: FrozenSet[str]) -> bool:
    scope = ctx.parent(fn)
    for decorator in fn.decorators:
        expr = decorator.decorator
        expr = expr.func if isinstance(expr, cst.Call) else expr
        if matches(ctx.qualify(expr, scope), names):
            return True
    return False


def takes_arguments(fn: cst.FunctionDef, skip_first: bool) -> bool:
    """Does calling ``fn`` take any argument (``self``/``cls`` excluded when ``skip_first``)?"""
    params = fn.params
    positional = list(params.posonly_params) + list(params.params)
    if skip_first and positional:
        positional = positional[1:]
    star = params.star_arg if isinstance(params.star_arg, cst.Param) else None
    return bool(positional or params.kwonly_params or star or params.star_kwarg)


SMALL_DOMAIN_ANNOTATIONS = frozenset({"builtins.bool", "builtins.type", "typing.Type", "typing.Callable",
                                      "collections.abc.Callable", "typing.Literal", "typing_extensions.Literal"})
CLASS_PARAMS = frozenset({"cls", "klass", "mcs"})


def _small_domain_parameter(ctx, param: cst.Param, scope: Optional[cst.CSTNode]) -> bool:
    """A flag, a class, a callable or a ``Literal``: the key space is the code base's.

    (``@cache def fields(model: type[Model])`` holds one entry per model class, not per request.)
    """
    if param.name.value in CLASS_PARAMS:
        return True
    if param.annotation is None:
        return False
    expr = param.annotation.annotation
    if isinstance(expr, cst.Subscript):
        expr = expr.value
    if isinstance(expr, cst.Name) and expr.value in ("bool", "type"):
        return True
    return matches(ctx.qualify(expr, scope), SMALL_DOMAIN_ANNOTATIONS)


def bounded_by_callers(ctx, fn: cst.FunctionDef, scope: Optional[cst.CSTNode], skip_first: bool) -> bool:
    """Only module-level code calls ``fn``, or every parameter is a small domain by its annotation or
    gets only literals and configuration from every call in the project (``getfqdn()``,
    ``signer(settings.jwt_ttl)``)."""
    from leaklint.semantics.call_arguments import called_only_at_import, literal_parameter

    qualified = ctx.qualified_function_name(fn)
    if called_only_at_import(ctx.project, qualified):
        return True
    if isinstance(fn.params.star_arg, cst.Param) or fn.params.star_kwarg is not None:
        return False
    params = list(fn.params.posonly_params) + list(fn.params.params) + list(fn.params.kwonly_params)
    return all(_small_domain_parameter(ctx, param, scope) or literal_parameter(ctx.project, qualified, index)
               for index, param in enumerate(params) if not (skip_first and index == 0))


def is_enum_class(ctx, cls: cst.ClassDef) -> bool:
    """Enum members live for the whole process; caching on them holds nothing extra alive."""
    return any(matches(ctx.qualify(base.value), ENUM_BASES) for base in cls.bases)


def returns_own_parameter(fn: cst.FunctionDef) -> bool:
    """Decorator shape: ``def register(func): ...; return func`` (returns a parameter unchanged).

    Such functions run when the decorated code is imported; what they store is bounded by the
    code base, not by traffic.
    """
    params = {p.name.value for p in list(fn.params.posonly_params) + list(fn.params.params)}
    for node in walk(fn.body, own_scope=True):
        if isinstance(node, cst.Return) and isinstance(node.value, cst.Name) and node.value.value in params:
            return True
    return False


def returns_inner_function(fn: cst.FunctionDef) -> bool:
    """Decorator-factory shape: returns one of its own nested ``def``s (``return decorator``)."""
    inner = {s.name.value for s in walk(fn.body, own_scope=True) if isinstance(s, cst.FunctionDef)}
    return any(isinstance(n, cst.Return) and isinstance(n.value, cst.Name) and n.value.value in inner
               for n in walk(fn.body, own_scope=True))


#: what a warn-once function does: log, warn or print
MESSAGE_CALLS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print",
                           "echo", "secho"})


def only_reports(fn: cst.FunctionDef) -> bool:
    """``@cache def warn_once(msg): logger.warning(msg)``: it returns nothing and only logs, warns
    or prints. The cache stores no values, only the messages already shown: one per distinct
    message the code base writes, which is what the function is for."""
    said = False
    for node in walk(fn.body, own_scope=True):
        if isinstance(node, (cst.Yield, cst.Await)) or (isinstance(node, cst.Return) and node.value is not None):
            return False
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Del)):
            return False
        if isinstance(node, cst.Expr) and not (isinstance(node.value, cst.SimpleString)):
            call = node.value
            func = call.func if isinstance(call, cst.Call) else None
            name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
            if name not in MESSAGE_CALLS:
                return False
            said = True
    return said


IMPORT_TIME_HOOKS = frozenset({"__init_subclass__", "__set_name__", "__class_getitem__", "__init__", "__new__",
                               "__post_init__"})
REGISTRATION = re.compile(r"regist", re.IGNORECASE)


def is_registration_function(fn: cst.FunctionDef) -> bool:
    """Runs when code is imported or objects are defined, not per call (by shape or by name)."""
    name = fn.name.value
    return (name in IMPORT_TIME_HOOKS or bool(REGISTRATION.search(name)) or returns_own_parameter(fn)
            or returns_inner_function(fn))


# -- names imported by other linted modules --------------------------------------------------

class _ProjectMemo:
    """Project-wide answers, computed once per ``ProjectFacts`` (only the latest project is kept)."""

    def __init__(self) -> None:
        self.project: Optional[ProjectFacts] = None
        self.values: Dict[str, FrozenSet[str]] = {}

    def get(self, project: ProjectFacts, key: str, compute) -> FrozenSet[str]:
        if self.project is not project:
            self.project, self.values = project, {}
        if key not in self.values:
            self.values[key] = compute(project)
        return self.values[key]


_MEMO = _ProjectMemo()


def imported_elsewhere(project: ProjectFacts) -> FrozenSet[str]:
    """Canonical names any linted module but a test imports (``from app.cache import CACHE``). A test
    that imports a container to inspect it or to ``clear()`` it between tests does not manage it in
    the server."""
    return _MEMO.get(project, "imported", lambda p: frozenset(
        p.canonical(q) for name, m in p.modules.items() if not is_test_module_name(name)
        for qs in m.imports.values() for q in qs))


def made_by_cached_factories(project: ProjectFacts) -> FrozenSet[str]:
    """Classes an ``@lru_cache``/``@cache`` function of any module returns an instance of
    (``@lru_cache def get_service(): return Service()``, the FastAPI singleton dependency)."""
    return _MEMO.get(project, "cached-factories", lambda p: frozenset(
        p.canonical(c) for record in p.functions.values() if record.cached
        for kind, callees in record.ownership.returns if kind == "call" for c in callees))


def made_in_app_factories(project: ProjectFacts) -> FrozenSet[str]:
    """Classes constructed in a function that also makes the application (``app = FastAPI()`` then
    ``api = Api(app)`` in ``create_app()``): the app is made once per process, and so are they,
    unless another function builds them too. Test modules make apps per test and do not count."""
    def compute(p: ProjectFacts) -> FrozenSet[str]:
        found: Set[str] = set()
        elsewhere: Set[str] = set()  # also built by a function that makes no app: maybe per request
        for record in p.functions.values():
            if record.ownership is None or is_test_module_name(record.module):
                continue
            calls = {p.canonical(c) for c in record.ownership.direct | record.ownership.run_once}
            classes = {c for c in calls - APP_CLASSES if (d := p.definition(c)) is not None and d.kind == "class"}
            (found if calls & APP_CLASSES else elsewhere).update(classes)
        return frozenset(found - elsewhere)
    return _MEMO.get(project, "app-factories", compute)


def instantiated_at_module_level(project: ProjectFacts) -> FrozenSet[str]:
    """Canonical callees of module-level ``name = Callee(...)`` in every linted module (for a project
    factory function, the classes it returns an instance of).

    One bound only under ``if __name__ == "__main__":`` in a module that other modules import is that
    module's demo or self-test: when the server imports the module, the instance does not exist."""
    def compute(p: ProjectFacts) -> FrozenSet[str]:
        def imported_elsewhere(module: str) -> bool:
            # ``backend/pkg/mod.py`` is importable as ``pkg.mod`` and as ``backend.pkg.mod``
            names = {module, *(alias for alias, target in p.module_aliases.items() if target == module)}
            return any(q == n or q.startswith(n + ".") for other, facts in p.modules.items()
                       if facts is not p.modules[module] for qs in facts.imports.values() for q in qs
                       for n in names)
        return frozenset(
            made for name, m in p.modules.items() if name not in p.module_aliases
            for d in m.definitions.values() if d.kind == "call"
            and not (d.main_only and imported_elsewhere(name)) for c in d.callee for made in p.classes_made_by(c))
    return _MEMO.get(project, "instantiated", compute)


# -- gunicorn --------------------------------------------------------------------------------

GUNICORN_CONFIG_FILE = re.compile(r"^gunicorn[._-]?(conf|config|cfg|settings)\.py$")
#: settings that only gunicorn-style servers use at module top level
GUNICORN_SETTINGS = frozenset({
    "bind", "workers", "worker_class", "worker_connections", "threads", "preload_app", "graceful_timeout",
    "keepalive", "proc_name", "accesslog", "errorlog", "access_log_format", "worker_tmp_dir",
    "forwarded_allow_ips", "limit_request_line", "limit_request_fields", "backlog", "daemon", "pidfile",
    "raw_env", "secure_scheme_headers", "wsgi_app", "reload", "chdir", "timeout", "loglevel", "capture_output",
    "max_requests", "max_requests_jitter", "certfile", "keyfile", "proxy_protocol", "proxy_allow_ips",
})
#: at least one of these must be set for a module to count as gunicorn config by its contents
CORE_SETTINGS = frozenset({"bind", "workers", "worker_class"})
GENERIC_SETTINGS = frozenset({"timeout", "loglevel", "reload", "daemon", "backlog", "chdir", "threads"})
SERVER_HOOKS = frozenset({
    "on_starting", "on_reload", "when_ready", "pre_fork", "post_fork", "post_worker_init", "worker_int",
    "worker_abort", "pre_exec", "pre_request", "post_request", "child_exit", "worker_exit", "nworkers_changed",
    "on_exit", "ssl_context",
})
NOT_CONFIG_IMPORTS = ("fastapi", "starlette", "flask", "django", "sqlalchemy", "pydantic", "celery")
RECYCLING = ("max_requests", "max_requests_jitter")
BASE_APPLICATIONS = frozenset({"gunicorn.app.base.BaseApplication", "gunicorn.app.base.Application",
                               "gunicorn.app.wsgiapp.WSGIApplication"})


def is_gunicorn_config_module(summary: ModuleSummary) -> bool:
    """A module gunicorn loads with ``-c``: named like one, or made only of gunicorn settings/hooks."""
    settings = set(summary.definitions) & GUNICORN_SETTINGS
    if GUNICORN_CONFIG_FILE.match(os.path.basename(summary.path)):
        return bool(settings)  # hooks only: the settings live elsewhere (CLI, options dict)
    if not settings & CORE_SETTINGS or len(settings - GENERIC_SETTINGS) < 2:
        return False
    for name, definition in summary.definitions.items():
        if definition.kind == "class" or (definition.kind == "function" and name not in SERVER_HOOKS):
            return False
    return not summary.imports_from(*NOT_CONFIG_IMPORTS)


def gunicorn_application_classes(project: ProjectFacts) -> FrozenSet[str]:
    """Linted classes that subclass gunicorn's ``BaseApplication`` (directly or through each other)."""
    return _MEMO.get(project, "gunicorn-applications", _application_classes)


def _application_classes(project: ProjectFacts) -> FrozenSet[str]:
    classes: Dict[str, Tuple[str, ...]] = {}
    for module, facts in project.modules.items():
        for name, definition in facts.definitions.items():
            if definition.kind == "class" and definition.bases:
                classes[f"{module}.{name}"] = tuple(project.canonical(b) for b in definition.bases)
    result: Set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, bases in classes.items():
            if name not in result and any(b in BASE_APPLICATIONS or b in result for b in bases):
                result.add(name)
                changed = True
    return frozenset(result)


def may_configure_gunicorn(summary: ModuleSummary, project: ProjectFacts) -> bool:
    if is_gunicorn_config_module(summary) or summary.imports_from("gunicorn"):
        return True
    apps = gunicorn_application_classes(project)
    if not apps:
        return False
    imported = {project.canonical(q) for q in summary.imported}
    return bool(imported & apps) or any(a.startswith(summary.module + ".") for a in apps)


def config_module_settings(project: ProjectFacts, reference: str) -> Optional[Set[str]]:
    """For ``"config": "python:app.gunicorn_conf"``: the names that linted module sets, else None."""
    if not reference.startswith("python:"):
        return None
    module = project.modules.get(reference[len("python:"):])
    return None if module is None else set(module.definitions)


def iter_names(items: Iterable[str]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def may_hold_process_lifetime_instance(summary, project: ProjectFacts) -> bool:
    """Cheap look for LL204: a class of this module with ``__init__`` that can live for the process.

    Exact for what LL204 checks (``instances.process_lifetime``).
    """
    classes = {path.split(".")[0] for path, facts in summary.functions.items()
               if facts.in_class and path.count(".") == 1 and path.endswith(".__init__")}
    if not classes:
        return False
    from leaklint.semantics.instances import process_lifetime

    return any(process_lifetime(project, f"{summary.module}.{name}") is not None for name in classes)


def decorates_with_cache(summary, project: ProjectFacts) -> bool:
    """Cheap look for the cache rules: is any function of this module decorated with
    ``functools.cache`` / ``lru_cache`` (any alias, or a module-level ``memo = lru_cache(...)``)?
    Uses the decorators the map phase recorded, so it is exact for ``cache_decorator``."""
    caches = CACHE | LRU_CACHE
    for facts in summary.functions.values():
        for candidates, _ in facts.decorators:
            for qualified in candidates:
                name = project.canonical(qualified)
                if name in caches:
                    return True
                definition = project.definition(name)
                if definition is not None and definition.kind == "call" and any(
                        project.canonical(c) in caches for c in definition.callee):
                    return True
    return False
