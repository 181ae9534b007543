"""LL507 unbounded-query-response (preview): a route that returns every row a query matches."""

from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from leaklint.rule import Rule
from leaklint.rules.file_io.ll507_unbounded_query_response_examples import INVALID, VALID
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics.names import matches

#: a result method that materialises every row
ALL_ROWS = frozenset({"all", "fetchall"})
#: anything in the chain that bounds (or streams) the rows
BOUNDING = frozenset({"limit", "offset", "slice", "first", "one", "one_or_none", "scalar", "scalar_one",
                      "scalar_one_or_none", "get", "paginate", "fetchone", "fetchmany", "partitions", "count",
                      "exists", "group_by", "having", "fetch", "top", "distinct"})
#: the calls that run a statement: ``session.execute(stmt)``, ``session.scalars(stmt)``, SQLModel's ``exec``
EXECUTORS = frozenset({"execute", "scalars", "exec"})
SELECTS = frozenset({"sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select",
                     "sqlalchemy.sql.expression.select", "sqlmodel.select", "sqlmodel.sql.expression.select"})
#: parameters that say the route pages its results somewhere
PAGINATION = frozenset({"limit", "offset", "skip", "page", "page_size", "per_page", "size", "cursor",
                        "pagination", "paginator", "params", "page_number", "page_no", "take", "first", "last"})
UNIQUE_COLUMNS = frozenset({"id", "uuid", "pk"})
#: reading the rows only to count or test them builds no response from them
SUMMARISERS = frozenset({"len", "sum", "max", "min", "any", "all", "bool"})
ORM_PACKAGES = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy")

Chain = List[Tuple[str, Optional[cst.Call]]]


class UnboundedQueryResponse(Rule):
    """## What it does
    Finds a route handler that returns an unbounded query result: `.all()` (or `fetchall()`) of a
    `session.query(Model)` chain, of `session.execute(select(...))` / `session.scalars(...)` /
    SQLModel's `session.exec(...)`, with no `limit`/`offset`/`slice`, no `first()`/`one()`/`get()`,
    no `distinct()` (the values of a column), no filter on the primary key (`.filter(Model.id == x)`,
    `filter_by(id=x)`, `Model.id.in_(ids)`), and no pagination
    parameter (`limit`, `offset`, `skip`, `page`, `page_size`, `cursor`...) on the handler. The
    statement may be built in a variable (`stmt = select(Item)`, `stmt = stmt.limit(n)` counts), the
    result may be bound first (`rows = ...; return [Out.from_orm(r) for r in rows]`).

    This rule is in preview: its precision on real applications is still being measured.

    ## Why is this bad?
    The whole result is built in memory for one response - ORM objects, then the serialised copy
    of each, then the JSON body - so one request's memory grows with the table. A table that
    grows in production turns a list endpoint into the largest allocation of the service; many
    concurrent calls multiply it, and an allocator that keeps freed arenas makes the peak the
    process's new resident size.

    ## Example
    ```python
    @app.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.query(Order).all()
    ```

    Use instead:
    ```python
    @app.get("/orders")
    def list_orders(offset: int = 0, limit: int = Query(100, le=1000), db: Session = Depends(get_db)):
        return db.query(Order).order_by(Order.id).offset(offset).limit(limit).all()
    ```

    ## Fix safety
    No fix is offered: how to bound a list endpoint (page size, sort order, a cursor, a response
    model for pages) changes its API, so it is left to you.

    ## Known problems
    Small lookup tables (roles, countries, settings) are reported although they never grow: add
    a `limit` or a `# noqa: LL507`. A result returned through a helper function is not followed,
    a statement built by a helper is not judged, and a filter on any column other than `id`
    (a foreign key, a status) is treated as unbounded.
    """

    code = "LL507"
    name = "unbounded-query-response"
    family = "file-io"
    preview = True
    message = ("Route {route} returns an unbounded query result (`{what}` with no `limit`): every matching row "
               "is loaded into memory for one response; paginate with `limit`/`offset`")

    valid = VALID
    invalid = INVALID

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return bool(summary.called_methods & ALL_ROWS) and summary.imports_from(*ORM_PACKAGES) and \
            web.has_per_request_code(summary, project)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        roles = web.roles_of(self.ctx, node)
        if not roles.route or _pages(node):
            return
        index = flow.index_of(self.ctx, node)
        route = f"{roles.route_verb.upper()} {roles.route_path}" if roles.route_verb and roles.route_path \
            else f"`{node.name.value}`"
        reported = set()
        for ret in index.all(cst.Return):
            if ret.value is None:
                continue
            for call in self._unbounded_in(index, ret.value):
                if id(call) not in reported:
                    reported.add(id(call))
                    self.report(call, route=route, what=_short(self.ctx.code(call)))

    def _unbounded_in(self, index: flow.FunctionIndex, value: cst.BaseExpression) -> List[cst.Call]:
        """The unbounded ``.all()`` calls ``value`` returns, directly or through a local bound to one."""
        found: List[cst.Call] = []
        for node in flow.walk(value, own_scope=True):
            if _summarised(index, node, value):
                continue
            if isinstance(node, cst.Call) and self._unbounded(index, node):
                found.append(node)
            elif isinstance(node, cst.Name) and _is_load(index, node):
                calls = [_unwrap(b) for b in _values(index, node.value)]
                if calls and all(isinstance(c, cst.Call) and self._unbounded(index, c) for c in calls):
                    found.extend(c for c in calls if isinstance(c, cst.Call))
        return found

    def _unbounded(self, index, call: cst.Call) -> bool:
        """``call`` is ``<query>.all()`` whose query has nothing that bounds its rows."""
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in ALL_ROWS) or call.args:
            return False
        return self._query_unbounded(index, call.func.value, 0)

    def _query_unbounded(self, index, expr: cst.CSTNode, depth: int) -> bool:
        chain, root = _chain(expr)
        if depth > 3 or _bounded(chain):
            return False
        methods = [name for name, _ in chain]
        if "query" in methods:  # ``session.query(Model)...``, Flask-SQLAlchemy's ``Model.query``
            query = next(c for n, c in chain if n == "query")
            return query is None or (bool(query.args) and not _aggregates(query))
        executor = next((c for n, c in reversed(chain) if n in EXECUTORS and c is not None and c.args), None)
        if executor is not None:
            return self._statement_unbounded(index, executor.args[0].value, depth)
        if isinstance(root, cst.Name):
            # ``result = await db.execute(stmt)`` ... ``return result.scalars().all()``
            binders = [_unwrap(b) for b in _values(index, root.value)]
            return bool(binders) and all(self._query_unbounded(index, b, depth + 1) for b in binders)
        return False

    def _statement_unbounded(self, index, statement: cst.BaseExpression, depth: int) -> bool:
        """A ``select(...)`` chain, or a local bound to one (``stmt = stmt.where(...)`` rebinds count),
        with nothing that bounds it; a statement from elsewhere is not judged."""
        if depth > 3:
            return False
        if isinstance(statement, cst.Name):
            binders = [_unwrap(b) for b in _values(index, statement.value)]
            if not binders:
                return False  # a parameter or a global: built elsewhere
            selects = 0
            for binder in binders:
                chain, root = _chain(binder)
                if _bounded(chain):
                    return False
                if isinstance(root, cst.Name) and root.value == statement.value:
                    continue  # ``stmt = stmt.where(...)``
                if not self._statement_unbounded(index, binder, depth + 1):
                    return False
                selects += 1
            return selects > 0
        chain, root = _chain(statement)
        if _bounded(chain):
            return False
        if isinstance(root, cst.Name):
            return self._statement_unbounded(index, root, depth + 1)
        return isinstance(root, cst.Call) and matches(self.ctx.qualify(root.func), SELECTS) and not _aggregates(root)


def _is_load(index: flow.FunctionIndex, name: cst.Name) -> bool:
    parent = index.parent.get(name)
    return not (isinstance(parent, cst.Attribute) and parent.attr is name) and not \
        (isinstance(parent, cst.Call) and parent.func is name) and not (isinstance(parent, cst.Arg) and parent.keyword is name)


def _bounded(chain: Chain) -> bool:
    return any(name in BOUNDING for name, _ in chain) or any(_by_unique(c) for _, c in chain)


def _values(index: flow.FunctionIndex, name: str) -> List[cst.BaseExpression]:
    out = []
    for binder in index.assignments(name):
        value = index.assigned_value(binder)
        if value is not None:
            out.append(value)
        else:
            return []  # bound by a loop, a with, a parameter...: not one query
    return out


def _unwrap(node: cst.CSTNode) -> cst.CSTNode:
    return node.expression if isinstance(node, cst.Await) else node


def _chain(expr: cst.CSTNode) -> Tuple[Chain, cst.CSTNode]:
    """``db.query(A).filter(x).order_by(y)`` -> ([("order_by", call), ("filter", call), ("query", call)], db)."""
    chain: Chain = []
    node = expr
    while True:
        node = _unwrap(node)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            chain.append((node.func.attr.value, node))
            node = node.func.value
        elif isinstance(node, cst.Attribute):
            chain.append((node.attr.value, None))
            node = node.value
        else:
            return chain, node


def _by_unique(call: Optional[cst.Call]) -> bool:
    """``.filter(Model.id == x)`` / ``.where(...)`` / ``.filter_by(id=x)``: at most one row."""
    if call is None or not isinstance(call.func, cst.Attribute) or \
            call.func.attr.value not in ("filter", "where", "filter_by"):
        return False
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in UNIQUE_COLUMNS:
            return True
        for node in flow.walk(arg.value):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "in_" \
                    and isinstance(node.func.value, cst.Attribute) and node.func.value.attr.value in UNIQUE_COLUMNS:
                return True  # ``Model.id.in_(ids)``: as many rows as the request names
            if isinstance(node, cst.Comparison) and any(isinstance(t.operator, cst.Equal) for t in node.comparisons):
                sides = [node.left] + [t.comparator for t in node.comparisons]
                if any(isinstance(s, cst.Attribute) and s.attr.value in UNIQUE_COLUMNS for s in sides):
                    return True
    return False


def _aggregates(call: cst.Call) -> bool:
    """``select(func.count(...))``, ``query(func.max(...))``: one row per group, not the table."""
    return any(isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == "func"
               for arg in call.args for n in flow.walk(arg.value))


def _summarised(index: flow.FunctionIndex, node: cst.CSTNode, top: cst.CSTNode) -> bool:
    """``len(rows)``, ``bool(rows)``: the rows are counted, not returned."""
    current = node
    while current is not top and current in index.parent:
        parent = index.parent[current]
        if isinstance(parent, cst.Call) and isinstance(parent.func, cst.Name) and parent.func.value in SUMMARISERS \
                and current is not parent.func:
            return True
        current = parent
    return False


def _pages(fn: cst.FunctionDef) -> bool:
    for param in web.handler_params(fn):
        if param.name.value.lower() in PAGINATION:
            return True
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None and any(isinstance(n, cst.Name) and ("Page" in n.value or "Pagination" in n.value)
                                          for n in flow.walk(annotation)):
            return True
    return False


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:28] + "..." + code[-28:]
