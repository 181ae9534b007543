"""LL105 unclosed-http-client: an HTTP (or Redis) client made for one request and not closed on every path."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Rule
from leaklint.rules.sessions import ll105_kept_client_examples as kept_examples
from leaklint.rules.sessions import ll105_rebound_client_examples as rebound_examples
from leaklint.rules.sessions import ll105_sdk_client_examples as sdk
from leaklint.rules.sessions import ll105_yielded_client_examples as yielded_examples
from leaklint.rules.sessions.ll105_unclosed_http_client_examples import INVALID, VALID
from leaklint.semantics import clients, flow, obligations, state
from leaklint.semantics import fastapi as web
from leaklint.semantics.flow import FunctionIndex


CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})


class UnclosedHttpClient(Rule):
    """## What it does
    Finds an HTTP client (`httpx.Client`/`AsyncClient`, `aiohttp.ClientSession`, `requests.Session`,
    `urllib3.PoolManager`, an OpenAI or Anthropic SDK client that is not handed a pool with
    `http_client=`, a Redis client (`redis.Redis`, `redis.asyncio.from_url`, ...) not given a
    `connection_pool=`, or a project helper that returns a new one) created in code that runs per
    request - a route, a dependency, a middleware or anything they call, in any module - and not
    closed on every path: no `with`/`async with`, no `close()`/`aclose()` in a `finally`, and not
    handed to an owner. A client used inline (`await httpx.AsyncClient().get(url)`, or made only to
    keep a part of it: `AsyncOpenAI().chat.completions`) is never closed,
    and neither is one a dependency *returns* (FastAPI runs cleanup only for what a generator yields)
    nor one a generator dependency or a `@contextmanager` yields without closing it after the
    `yield` (neither FastAPI nor the `with` statement closes what it is given). Nor is one whose
    name is later rebound to another object in the same run of statements (`client = Redis(...)`,
    then `client = Llama(...)`) with no close or hand-over in the function.

    ## Why is this bad?
    Every client owns a connection pool with open sockets, TLS state and buffers. Dropped without a
    close, each request leaves one behind until the garbage collector gets to it (aiohttp warns
    `Unclosed client session`); under load memory and file descriptors grow with traffic (httpx
    issue 978 measured the growth). A new client per request also loses connection reuse.

    ## Example
    ```python
    @app.get("/weather")
    async def weather(city: str):
        client = httpx.AsyncClient()
        response = await client.get(URL, params={"q": city})
        return response.json()
    ```

    Use instead:
    ```python
    @app.get("/weather")
    async def weather(city: str):
        async with httpx.AsyncClient() as client:
            response = await client.get(URL, params={"q": city})
        return response.json()
    ```
    or better, one client for the application, created in the lifespan and closed at shutdown.

    ## Fix safety
    When the client is assigned by a statement of the function's own body, the fix moves that
    statement and the rest of the body into `async with` (`with` for a sync client) and drops a
    trailing `close()`. It is **unsafe**: the client is now closed when the block ends, which breaks
    code that keeps using it afterwards (a streaming response reading from it, for example).

    ## Known problems
    A client made in an `@lru_cache` / `@cache` function without arguments is made once and lives in
    the cache: not reported. A client handed to any call or stored on an object made in the function is
    assumed to be owned there, even when that object never closes it.
    """

    code = "LL105"
    name = "unclosed-http-client"
    message = "{label} `{var}` is created per request and {problem} ({path}): use `{keyword}` or one shared client"
    fix_title = "Use the client in a `with` block"
    fix_availability = FixAvailability.SOMETIMES
    family = "sessions"
    valid = VALID + sdk.VALID + yielded_examples.VALID + rebound_examples.VALID + kept_examples.VALID + \
        kept_examples.PART_VALID
    invalid = INVALID + sdk.INVALID + yielded_examples.INVALID + rebound_examples.INVALID + kept_examples.INVALID

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        # per function: one that runs per request and makes a client other than as a `with` item
        # (``async with httpx.AsyncClient() as c:`` is closed by the block, and is never reported)
        prefix = summary.module + "."
        return clients.may_create_clients(summary, project) and any(
            prefix + path in project.per_request and clients.may_create_clients(facts, project, outside_with=True)
            for path, facts in summary.functions.items())

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or not clients.may_create_clients(facts, self.ctx.project) or \
                not web.runs_per_request(self.ctx, node) or self._made_once(node):
            return  # no client made here, or made once by a cached factory (it lives in the cache)
        index = flow.index_of(self.ctx, node)
        dependency = web.roles_of(self.ctx, node).dependency  # FastAPI closes only what a generator yields
        keeper = self._yield_keeper(node, dependency)
        for call in index.all(cst.Call):
            made = clients.client_created_by(self.ctx, call)
            if made is None:
                continue
            name = flow.assigned_name(index, call)
            if name is None:
                owner = obligations.kept_on_per_request_instance(self.ctx, node, index, call, clients.RELEASE_METHODS)
                if owner is not None:
                    self._report(node, call, made, owner[0],
                                 f"kept on the instance, and no method of `{owner[1]}` closes it", None)
                elif self._used_inline(index, call):
                    self._report(node, call, made, self.ctx.code(call.func) + "()", "never closed", None)
                elif dependency and isinstance(index.parent.get(call), cst.Return):
                    self._report(node, call, made, self.ctx.code(call.func) + "()",
                                 f"returned by the dependency `{node.name.value}`: nobody closes it", None)
                elif keeper and isinstance(index.parent.get(call), cst.Yield):
                    self._report(node, call, made, self.ctx.code(call.func) + "()",
                                 f"yielded by {keeper}, which never closes it", None)
                continue
            binders = index.assignments(name)
            rebound = len(binders) == 2 and obligations.rebound_later(index, index.parent.get(call), name)
            if (len(binders) != 1 and not rebound) or obligations.managed_by_with(self.ctx, index, call, name):
                continue
            if dependency and any(isinstance(index.parent.get(load), cst.Return) for load in index.loads(name)):
                self._report(node, call, made, name,
                             f"returned by the dependency `{node.name.value}`: nobody closes it", None)
                continue
            yielded = keeper is not None and any(isinstance(index.parent.get(n), cst.Yield) for n in index.loads(name))
            if obligations.hands_over(self.ctx, index, name, yield_keeps=keeper is not None):
                continue
            closes = obligations.release_calls(self.ctx, index, name, clients.RELEASE_METHODS)
            if obligations.covers_every_path(index, closes):
                continue
            problem = "closed only on the happy path" if closes else \
                f"yielded by {keeper}, which never closes it" if yielded else \
                "rebound to another object before it is closed" if rebound else "never closed"
            fix = None if made.flavour == clients.EITHER or rebound else \
                self._fix(node, index, call, name, made.flavour == clients.ASYNC)
            self._report(node, call, made, name, problem, fix)

    def _made_once(self, fn: cst.FunctionDef) -> bool:
        """A cached factory with no arguments runs once per process. One with arguments runs per
        new key, and a client it does not return leaks on every miss."""
        return any(state.cache_decorators(self.ctx, fn)) and \
            not state.takes_arguments(fn, skip_first=self.ctx.enclosing_class(fn) is not None)

    def _yield_keeper(self, fn: cst.FunctionDef, dependency: bool) -> Optional[str]:
        """A generator whose caller takes what it yields and never closes it: a FastAPI dependency
        or a ``@contextmanager``; how messages name it."""
        facts = self.ctx.function_facts(fn)
        if facts is None or not facts.is_generator:
            return None
        if dependency:
            return f"the dependency `{fn.name.value}`"
        if state.decorated_with(self.ctx, fn, CONTEXT_MANAGERS):
            return f"the context manager `{fn.name.value}`"
        return None

    @staticmethod
    def _used_inline(index: FunctionIndex, call: cst.Call) -> bool:
        """``httpx.AsyncClient().get(url)``: the client is the receiver of a method call, then dropped;
        or ``AsyncOpenAI().chat.completions``: only a part of it is kept, and nothing can close it."""
        parent = index.parent.get(call)
        return isinstance(parent, cst.Attribute) and parent.value is call and \
            parent.attr.value not in clients.RELEASE_METHODS

    def _report(self, fn, call, made: clients.Made, var: str, problem: str, fix: Optional[Fix]) -> None:
        keyword = {clients.ASYNC: "async with", clients.SYNC: "with"}.get(made.flavour, "with` / `async with")
        self.report(call, label=made.label, var=var, problem=problem, keyword=keyword,
                    path=web.request_path(self.ctx, fn), fix=fix)

    def _fix(self, fn: cst.FunctionDef, index: FunctionIndex, call: cst.Call, name: str,
             is_async: bool) -> Optional[Fix]:
        if is_async and fn.asynchronous is None:
            return None
        statement = index.statement_of(call)
        position = flow.top_level_index(fn, statement) if statement is not None else None
        if position is None or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1 \
                or not isinstance(statement.body[0], cst.Assign) or statement.body[0].value is not call:
            return None
        body = list(fn.body.body)
        rest: List[cst.BaseStatement] = [s for s in body[position + 1:] if not self._is_close(s, name)]
        if not rest:
            return None
        config = self.ctx.module.config_for_parsing
        keyword = "async with" if is_async else "with"
        with_node = cst.parse_statement(f"{keyword} {self.ctx.code(call)} as {name}:\n{config.default_indent}pass\n",
                                        config=config)
        with_node = with_node.with_changes(body=with_node.body.with_changes(body=rest),
                                           leading_lines=statement.leading_lines)
        new_body = fn.body.with_changes(body=body[:position] + [with_node])
        return Fix(self.fix_title or "", Applicability.UNSAFE, {fn.body: new_body})

    @staticmethod
    def _is_close(statement: cst.CSTNode, name: str) -> bool:
        return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and \
            isinstance(statement.body[0], cst.Expr) and flow.method_call(statement.body[0].value, name,
                                                                          clients.RELEASE_METHODS)
