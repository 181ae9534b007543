"""File, temp-file, upload and response semantics for the LL5 rules.

One place answers "is this call `open()`?", "is this a temp file that outlives the call?", "is this
a Starlette/FastAPI response class, and which?", "is this expression an upload or a request?", so
the rules never compare bare identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Set, Tuple

import libcst as cst

from leaklint.traversal import children
from leaklint.semantics import fastapi as web
from leaklint.semantics import temp_paths
from leaklint.semantics.flow import FunctionIndex, assigned_name
from leaklint.semantics.names import matches
from leaklint.semantics.resources import DOCUMENT_PARSERS, IN_MEMORY_BUFFERS, THREAD_RUNNERS

OPEN_CALLS = frozenset({"builtins.open", "io.open", "codecs.open"})
ASYNC_OPEN_CALLS = frozenset({"aiofiles.open", "aiofiles.threadpool.open", "anyio.open_file"})
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath",
                          "anyio.Path"})
BYTES_IO = IN_MEMORY_BUFFERS
NAMED_TEMP = frozenset({"tempfile.NamedTemporaryFile"})
MKSTEMP = frozenset({"tempfile.mkstemp"})
MKDTEMP = frozenset({"tempfile.mkdtemp"})
BACKGROUND = frozenset({"starlette.background.BackgroundTask", "starlette.background.BackgroundTasks",
                        "fastapi.BackgroundTasks", "fastapi.background.BackgroundTasks"})
REMOVERS = frozenset({"os.remove", "os.unlink", "os.rmdir", "shutil.rmtree", "os.removedirs"})
#: functions that use a file handle without taking ownership of it
BORROWERS = frozenset({"shutil.copyfileobj", "json.dump", "json.load", "pickle.dump", "pickle.load",
                       "csv.reader", "csv.writer", "csv.DictReader", "csv.DictWriter", "builtins.print",
                       "builtins.next", "builtins.iter", "yaml.safe_load", "yaml.load", "yaml.dump",
                       "yaml.safe_dump", "tomllib.load", "hashlib.file_digest"})
HTTP_CLIENT_PACKAGES = ("httpx", "requests", "aiohttp", "urllib3")
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "request", "stream", "send", "head",
                          "options", "urlopen"})

_RESPONSE_MODULES = ("fastapi.responses", "starlette.responses", "fastapi")
_RESPONSE_KINDS = {
    "Response": "plain", "PlainTextResponse": "plain", "HTMLResponse": "plain",
    "StreamingResponse": "streaming", "FileResponse": "file",
}


def _response_names() -> Dict[str, str]:
    out = {}
    for module in _RESPONSE_MODULES:
        for cls, kind in _RESPONSE_KINDS.items():
            out[f"{module}.{cls}"] = kind
    return out


RESPONSE_CLASSES = _response_names()


def response_kind(ctx, call: cst.Call) -> Optional[str]:
    """'plain' / 'streaming' / 'file' for a FastAPI/Starlette response constructor, else None."""
    func = call.func
    if isinstance(func, cst.Attribute):
        if not func.attr.value.endswith("Response"):
            return None
    elif not isinstance(func, cst.Name) or not (func.value.endswith("Response") or func.value in ctx.summary.imports):
        return None  # only an import alias can name a response class without the suffix
    for name in ctx.qualify(func):
        kind = RESPONSE_CLASSES.get(name)
        if kind is not None:
            return kind
    return None


def content_arg(call: cst.Call) -> Optional[cst.Arg]:
    """The body/path argument of a response constructor (first positional or ``content=``/``path=``)."""
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg
        break
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("content", "path"):
            return arg
    return None


def keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def last_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


# -- open() ----------------------------------------------------------------------------------

def is_open_call(ctx, node: cst.CSTNode) -> bool:
    """``open(...)`` / ``io.open`` / ``codecs.open`` (sync), resolved through imports and shadowing."""
    if not isinstance(node, cst.Call) or last_name(node.func) != "open":
        return False
    return matches(ctx.qualify(node.func), OPEN_CALLS)


def is_async_open_call(ctx, node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Await):
        node = node.expression
    if not isinstance(node, cst.Call) or last_name(node.func) not in ("open", "open_file"):
        return False
    return matches(ctx.qualify(node.func), ASYNC_OPEN_CALLS)


def open_mode(call: cst.Call) -> Optional[str]:
    """The literal mode of an ``open()`` call ("r" when omitted), None when not a literal."""
    mode = keyword(call, "mode")
    if mode is None:
        positional = [a for a in call.args if a.keyword is None]
        mode = positional[1] if len(positional) > 1 else None
    if mode is None:
        return "r"
    if isinstance(mode.value, cst.SimpleString):
        return mode.value.evaluated_value if isinstance(mode.value.evaluated_value, str) else None
    return None


def is_whole_read(call: cst.Call) -> bool:
    """``x.read()`` / ``x.read(-1)`` / ``x.read(None)`` / ``x.read(size=-1)``: everything left."""
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value != "read":
        return False
    if not call.args:
        return True
    if len(call.args) != 1 or call.args[0].star:
        return False
    arg = call.args[0]
    if arg.keyword is not None and arg.keyword.value not in ("size", "n"):
        return False
    value = arg.value
    if isinstance(value, cst.Name) and value.value == "None":
        return True
    return isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus) and \
        isinstance(value.expression, cst.Integer)


#: readers that decompress the stream they are given: ``read()`` of one holds all of it, decompressed
DECOMPRESSORS = frozenset({"gzip.open", "gzip.GzipFile", "bz2.open", "bz2.BZ2File", "lzma.open", "lzma.LZMAFile"})


def wrapped_upload(ctx, index: FunctionIndex, receiver: cst.BaseExpression, uploads: FrozenSet[str]) -> Optional[str]:
    """``gzip.open(file.file)`` (also bound first: ``gz = gzip.open(file.file)``, ``with ... as gz``) around
    an upload of ``uploads``: that upload's name."""
    if isinstance(receiver, cst.Name):
        binders = index.assignments(receiver.value)
        if len(binders) != 1:
            return None
        binder = binders[0]
        holder = index.parent.get(binder) if isinstance(binder, cst.AsName) else None
        receiver = holder.item if isinstance(holder, cst.WithItem) else index.assigned_value(binder)
    if not isinstance(receiver, cst.Call) or not matches(ctx.qualify(receiver.func), DECOMPRESSORS):
        return None
    stream = keyword(receiver, "fileobj") or (receiver.args[0] if receiver.args and receiver.args[0].keyword is None
                                              else None)
    value = stream.value if stream is not None else None
    if isinstance(value, cst.Attribute) and value.attr.value == "file":
        value = value.value
    return value.value if isinstance(value, cst.Name) and value.value in uploads else None


def is_path_expr(ctx, node: cst.BaseExpression) -> bool:
    """``Path(...)`` / ``Path(...) / "x"`` / ``pathlib.Path(...).resolve()``-style expressions."""
    while True:
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            node = node.left
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
                node.func.attr.value in ("resolve", "absolute", "expanduser", "with_suffix", "with_name",
                                         "joinpath"):
            node = node.func.value
        else:
            break
    return isinstance(node, cst.Call) and matches(ctx.qualify(node.func), PATH_CLASSES)


# -- temporary files ---------------------------------------------------------------------------

def _kw_is_false(call: cst.Call, name: str) -> bool:
    arg = keyword(call, name)
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "False"


def temp_kind(ctx, call: cst.CSTNode) -> Optional[str]:
    """'named' for ``NamedTemporaryFile(delete=False)``, 'mkstemp', 'mkdtemp', else None."""
    if not isinstance(call, cst.Call):
        return None
    last = last_name(call.func)
    if last not in ("NamedTemporaryFile", "mkstemp", "mkdtemp"):
        if not (isinstance(call.func, cst.Name) and last in ctx.summary.imports):
            return None  # only an import alias can be one of them under another name
        names = ctx.qualify(call.func)
        last = next((n.rpartition(".")[2] for n in names if n in NAMED_TEMP | MKSTEMP | MKDTEMP), "")
    names = ctx.qualify(call.func)
    if last == "NamedTemporaryFile" and matches(names, NAMED_TEMP):
        positional = [a for a in call.args if a.keyword is None]
        if _kw_is_false(call, "delete") or (len(positional) >= 6 and isinstance(positional[5].value, cst.Name)
                                            and positional[5].value.value == "False"):
            return "named"
        return None
    if last == "mkstemp" and matches(names, MKSTEMP):
        return "mkstemp"
    if last == "mkdtemp" and matches(names, MKDTEMP):
        return "mkdtemp"
    return None


#: calls that close an ``mkstemp`` descriptor or take it over (the file object closes it)
DESCRIPTOR_OWNERS = frozenset({"os.close", "os.closerange", "os.fdopen", "builtins.open", "io.open"})


def descriptor_left_open(ctx, index: FunctionIndex, call: cst.Call) -> Optional[str]:
    """``_, path = mkstemp()`` / ``mkstemp()[1]`` drop the open descriptor ("is dropped"); ``fd, path =
    mkstemp()`` with ``fd`` only ever given to other ``os`` calls (``os.write(fd, data)``) leaves it
    open ("is never closed"). None when any use may close it: ``os.close``, ``os.fdopen``,
    ``open(fd)``, another callee, a return or a store."""
    parent = index.parent.get(call)
    if isinstance(parent, cst.Subscript) and parent.value is call:
        item = parent.slice[0].slice if len(parent.slice) == 1 else None
        dropped = isinstance(item, cst.Index) and isinstance(item.value, cst.Integer) and item.value.value == "1"
        return "is dropped" if dropped else None
    if not (isinstance(parent, cst.Assign) and parent.value is call and len(parent.targets) == 1):
        return None
    target = parent.targets[0].target
    if not isinstance(target, (cst.Tuple, cst.List)) or len(target.elements) != 2 or \
            not isinstance(target.elements[0].value, cst.Name):
        return None
    name = target.elements[0].value.value
    if name != "_" and len(index.assignments(name)) != 1:
        return None
    for load in index.loads(name):
        arg = index.parent.get(load)
        used_by = index.parent.get(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(used_by, cst.Call):
            return None
        names = ctx.qualify(used_by.func)
        if not names or names & DESCRIPTOR_OWNERS or not all(n.startswith("os.") for n in names):
            return None
    return "is dropped" if name == "_" else "is never closed"


@dataclass
class TempBinding:
    """A temp file/dir made in a function: the call, its kind, and the names it lives in."""

    call: cst.Call
    kind: str
    #: names holding the path as a string (``path`` of ``fd, path = mkstemp()``, ``d = mkdtemp()``)
    path_names: Set[str]
    #: names holding the file object (``tmp`` of ``NamedTemporaryFile``): its path is ``tmp.name``
    object_names: Set[str]
    #: the name holding a directory made by ``mkdtemp``
    dir_name: Optional[str] = None
    #: kind "returned": the project function that made it and returned its path (``save_upload``)
    helper: str = ""


def temp_bindings(ctx, index: FunctionIndex) -> list:
    """Every temp file/dir created in the function and the names it is bound to (incl. aliases)."""
    out = []
    helpers = temp_paths.temp_path_helpers(ctx.project)
    for call in index.all(cst.Call):
        kind = temp_kind(ctx, call)
        if kind is None:
            helper = _temp_helper(ctx, index.fn, call, helpers) if helpers else None
            target = assigned_name(index, call) if helper is not None else None
            if helper is None:
                helper, target = _unpacked_temp_item(ctx, index, call) or (None, None)
            if helper is not None and target is not None:
                binding = TempBinding(call, "returned", {target}, set(), helper=helper)
                _follow_aliases(index, binding)
                out.append(binding)
            continue
        binding = TempBinding(call, kind, set(), set())
        parent = index.parent.get(call)
        if isinstance(parent, cst.WithItem) and parent.asname is not None and \
                isinstance(parent.asname.name, cst.Name):
            binding.object_names.add(parent.asname.name.value)
        elif isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                (binding.object_names if kind == "named" else binding.path_names).add(target.value)
                if kind == "mkdtemp":
                    binding.dir_name = target.value
            elif isinstance(target, cst.Tuple) and kind == "mkstemp" and len(target.elements) == 2 and \
                    isinstance(target.elements[1].value, cst.Name):
                binding.path_names.add(target.elements[1].value.value)
        elif isinstance(parent, cst.Attribute) and parent.attr.value == "name":  # NamedTemporaryFile(...).name
            grand = index.parent.get(parent)
            if isinstance(grand, cst.Assign) and len(grand.targets) == 1 and \
                    isinstance(grand.targets[0].target, cst.Name):
                binding.path_names.add(grand.targets[0].target.value)
        _follow_aliases(index, binding)
        out.append(binding)
    return out


def _unpacked_temp_item(ctx, index: FunctionIndex, call: cst.Call) -> Optional[Tuple[str, str]]:
    """``path, name = download(url)`` where ``download`` returns a temp path as that item:
    (``download``, ``path``)."""
    items = temp_paths.tuple_temp_helpers(ctx.project)
    if not items:
        return None
    target, _ = temp_paths.project_callee(ctx, index.fn, call)
    if target not in items:
        return None
    node, parent = call, index.parent.get(call)
    if isinstance(parent, cst.Await):
        node, parent = parent, index.parent.get(parent)
    if not (isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1):
        return None
    unpacked = parent.targets[0].target
    if not isinstance(unpacked, (cst.Tuple, cst.List)) or items[target] >= len(unpacked.elements):
        return None
    item = unpacked.elements[items[target]].value
    return (target.rpartition(".")[2], item.value) if isinstance(item, cst.Name) else None


def _temp_helper(ctx, fn: cst.FunctionDef, call: cst.Call, helpers: FrozenSet[str]) -> Optional[str]:
    target, _ = temp_paths.project_callee(ctx, fn, call)
    return target.rpartition(".")[2] if target in helpers else None


def refers_to(node: cst.CSTNode, binding: TempBinding) -> bool:
    """Is ``node`` the temp path (``path``, ``tmp.name``, ``Path(path)``, ``dir / "f"``, f-string...)?"""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, cst.Name) and n.value in binding.path_names:
            return True
        if isinstance(n, cst.Attribute) and n.attr.value == "name" and isinstance(n.value, cst.Name) and \
                n.value.value in binding.object_names:
            return True
        if isinstance(n, (cst.Lambda, cst.FunctionDef)):
            continue
        stack.extend(children(n))
    return False


def carries_path(node: cst.CSTNode, binding: TempBinding) -> bool:
    """Is ``node`` the temp path itself, or a container/str/Path holding it (not ``len(path)``)?"""
    if isinstance(node, (cst.Dict, cst.List, cst.Tuple, cst.Set)):
        return any(carries_path(e.value, binding) for e in node.elements
                   if isinstance(e, (cst.Element, cst.DictElement, cst.StarredElement)))
    return _is_path_of(node, binding)  # type: ignore[arg-type]


def _follow_aliases(index: FunctionIndex, binding: TempBinding) -> None:
    """``path = tmp.name`` / ``out = os.path.join(d, "x")`` / ``p = Path(path)`` also hold the path."""
    changed = True
    while changed:
        changed = False
        for assign in index.all(cst.Assign):
            if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
                continue
            name = assign.targets[0].target.value
            if name in binding.path_names or name in binding.object_names:
                continue
            if _is_path_of(assign.value, binding):
                binding.path_names.add(name)
                changed = True


def _is_path_of(value: cst.BaseExpression, binding: TempBinding) -> bool:
    """A string/Path built from the temp path (not e.g. ``len(path)`` or ``open(path).read()``)."""
    if isinstance(value, cst.Await):
        return False
    if isinstance(value, cst.Call):
        name = last_name(value.func)
        if name not in ("join", "Path", "str", "fspath", "abspath", "realpath", "joinpath", "resolve",
                        "with_suffix", "PurePath", "normpath"):
            return False
        return refers_to(value, binding)
    if isinstance(value, (cst.Name, cst.Attribute, cst.BinaryOperation, cst.FormattedString)):
        return refers_to(value, binding)
    return False


# -- uploads and requests -----------------------------------------------------------------------

def upload_and_request_names(ctx, fn: cst.FunctionDef, index: FunctionIndex) -> "tuple[FrozenSet[str], FrozenSet[str]]":
    """Local names holding an ``UploadFile`` (params, loop variables over a list of them, items of
    ``await request.form()``) and names holding a ``Request``."""
    key = ("ll5-uploads", id(fn))
    cached = ctx.cache.get(key)
    if cached is not None and cached[0] is fn:
        return cached[1], cached[2]
    uploads: Set[str] = set()
    requests: Set[str] = set()
    for param in web.handler_params(fn):
        name = param.name.value
        if web.is_upload_param(ctx, param):
            uploads.add(name)
        elif web.is_request_param(ctx, param):
            requests.add(name)
    if requests:
        forms = set()
        for assign in index.all(cst.Assign):
            value = assign.value
            value = value.expression if isinstance(value, cst.Await) else value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and \
                    value.func.attr.value == "form" and isinstance(value.func.value, cst.Name) and \
                    value.func.value.value in requests and len(assign.targets) == 1 and \
                    isinstance(assign.targets[0].target, cst.Name):
                forms.add(assign.targets[0].target.value)
        for assign in index.all(cst.Assign):
            value = assign.value
            if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name) and \
                    _form_item(value, forms):
                uploads.add(assign.targets[0].target.value)
    if uploads:
        for loop in index.all(cst.For):
            item = _loop_item(ctx, loop)
            if item is not None and item[1] in uploads:
                uploads.add(item[0])
    # a parameter rebound in the body (``file = io.BytesIO(...)``) is no longer the upload
    params = {p.name.value for p in web.handler_params(fn)}
    uploads = {n for n in uploads if n not in params or not index.assignments(n)}
    result = (frozenset(uploads), frozenset(requests))
    ctx.cache[key] = (fn, *result)
    return result


def _form_item(value: cst.BaseExpression, forms: Set[str]) -> bool:
    if isinstance(value, cst.Subscript):
        return isinstance(value.value, cst.Name) and value.value.value in forms
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "get":
        return isinstance(value.func.value, cst.Name) and value.func.value.value in forms
    return False


def _from_http_package(ctx, expr: cst.BaseExpression) -> bool:
    return any(n.split(".")[0] in HTTP_CLIENT_PACKAGES for n in ctx.qualify(expr))


def http_client_names(ctx, index: FunctionIndex) -> FrozenSet[str]:
    """Local names bound to an HTTP client: ``with httpx.Client() as c`` / ``s = requests.Session()``."""
    key = ("ll5-http-clients", id(index.fn))
    if key in ctx.cache:
        return ctx.cache[key]
    names: Set[str] = set()
    for item in index.all(cst.WithItem):
        if isinstance(item.item, cst.Call) and item.asname is not None and \
                isinstance(item.asname.name, cst.Name) and _from_http_package(ctx, item.item.func):
            names.add(item.asname.name.value)
    for assign in index.all(cst.Assign):
        value = assign.value
        if isinstance(value, cst.Call) and len(assign.targets) == 1 and \
                isinstance(assign.targets[0].target, cst.Name) and _from_http_package(ctx, value.func):
            names.add(assign.targets[0].target.value)
    ctx.cache[key] = frozenset(names)
    return ctx.cache[key]


def is_http_client_call(ctx, index: FunctionIndex, call: cst.Call) -> bool:
    """``requests.post(...)``, ``httpx.AsyncClient().post(...)``, ``client.post(...)`` on a local client."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in HTTP_METHODS:
        return False
    if _from_http_package(ctx, func):
        return True
    receiver = func.value
    if isinstance(receiver, cst.Call):
        return _from_http_package(ctx, receiver.func)
    return isinstance(receiver, cst.Name) and receiver.value in http_client_names(ctx, index)


def _imported(summary) -> Set[str]:
    imported = set(summary.imported)
    for facts in summary.functions.values():
        imported.update(facts.imports.values())
    return imported


def has_handlers(summary, project) -> bool:
    """Does the module define a route, dependency or middleware (the per-request roots)?"""
    return web.has_per_request_code(summary, project)


def may_read_whole(summary, project) -> bool:
    """Cheap look for LL501: per-request code that calls ``.read()``/``.body()``, declares a
    ``File(...)`` parameter, or calls a project helper that reads a parameter whole."""
    if not has_handlers(summary, project):
        return False
    if summary.called_methods & {"read", "body"} or summary.calls_any(project, web.FILE_PARAM):
        return True
    return any(whole_read_parameters(project, project.canonical(name)) for name in summary.called)


def whole_read_parameters(project, function: str) -> FrozenSet[int]:
    """Parameters the project function reads whole (``await upload.read()``, not for a parser)."""
    record = project.functions.get(function)
    if record is None:
        return frozenset()
    return frozenset(i for i, uses in record.ownership.param_uses.items()
                     if any(use[:3] == ("method", "read", "whole") for use in uses))


def may_read_file(summary, project) -> bool:
    """Cheap look for LL502: a ``read``/``read_bytes``/``read_text`` call in the module."""
    return bool(summary.called_methods & {"read", "read_bytes", "read_text"})


def may_open_files(summary, project) -> bool:
    """Cheap look for LL503: per-request code that opens a file or calls a helper returning one."""
    if not has_handlers(summary, project):
        return False
    returns = project.ownership.returns if project.ownership is not None else {}
    return summary.calls_any(project, OPEN_CALLS | ASYNC_OPEN_CALLS | MKSTEMP) or any(
        returns.get(project.canonical(n), ("",))[0] == "file" for n in summary.called)


def calls_response(summary, project, *kinds: str) -> bool:
    """Does the module call a response class of one of ``kinds`` ('plain', 'streaming', 'file')?
    Exact for ``response_kind``, which only recognises calls of ``RESPONSE_CLASSES``."""
    return summary.calls_any(project, {name for name, kind in RESPONSE_CLASSES.items() if kind in kinds})


def may_use_tempfile(summary, project) -> bool:
    """``temp_kind`` only matches names that resolve to ``tempfile.*``: a module (or function)
    import of tempfile, or a linted module's re-export of it."""
    return any(project.canonical(q).split(".")[0] == "tempfile" for q in _imported(summary)) or \
        _calls_temp_helper(summary, project)


def _calls_temp_helper(summary, project) -> bool:
    helpers = temp_paths.temp_path_helpers(project)
    return bool(helpers) and (summary.calls_any(project, helpers) or any(
        h.rpartition(".")[2] in summary.called_methods for h in helpers))


def only_parsed(ctx, index: FunctionIndex, read: cst.Call) -> bool:
    """The bytes of ``read`` go only to a document parser (``yaml.safe_load(await f.read())``, also
    through ``.decode()``, an ``io.StringIO`` and locals): the parser needs all of them, so streaming
    would not lower the peak. The map phase's ``ownership_map`` asks the same on ``ast``."""
    parent = index.parent.get(read)
    return _to_parser(ctx, index, parent if isinstance(parent, cst.Await) else read, 0)


def _to_parser(ctx, index: FunctionIndex, value: cst.CSTNode, depth: int) -> bool:
    if depth > 4:
        return False
    parent = index.parent.get(value)
    if isinstance(parent, cst.Attribute) and parent.attr.value == "decode":
        value = index.parent.get(parent)
        parent = index.parent.get(value)
    if isinstance(parent, cst.Arg):
        call = index.parent.get(parent)
        if not isinstance(call, cst.Call):
            return False
        names = ctx.qualify(call.func)
        if names & DOCUMENT_PARSERS or names & ctx.project.ownership.parsers:
            return True
        if names & THREAD_RUNNERS and call.args and call.args[0] is not parent and call.args[0].keyword is None:
            parser = ctx.qualify(call.args[0].value)  # ``asyncio.to_thread(json.loads, data)``
            return bool(parser & DOCUMENT_PARSERS or parser & ctx.project.ownership.parsers)
        return bool(names & IN_MEMORY_BUFFERS) and _to_parser(ctx, index, call, depth + 1)
    name = assigned_name(index, value)
    if name is None:
        return False
    loads = list(index.loads(name))
    return bool(loads) and all(_to_parser(ctx, index, load, depth + 1) for load in loads)


def _loop_item(ctx, loop: cst.For) -> Optional[Tuple[str, str]]:
    """``for f in files`` / ``for i, f in enumerate(files)`` -> ``("f", "files")``."""
    target, source = loop.target, loop.iter
    if isinstance(source, cst.Call) and source.args and isinstance(target, cst.Tuple) and \
            len(target.elements) == 2 and "builtins.enumerate" in ctx.qualify(source.func):
        target, source = target.elements[1].value, source.args[0].value
    if isinstance(target, cst.Name) and isinstance(source, cst.Name):
        return target.value, source.value
    return None


def route_body_limited(project, qualified: str) -> bool:
    """The route this function runs for is one a path-scoped body-size middleware bounds (the
    route's own path, maybe without its router's prefix, ends the middleware's path)."""
    if not project.body_size_paths:
        return False
    from leaklint.semantics.callgraph import root_route_path

    route = root_route_path(project, qualified)
    if route is None or not route.strip("/"):
        return False  # ``/`` ends every path: it says nothing about which route this is
    return any(path.rstrip("/").endswith(route.rstrip("/")) for path in project.body_size_paths)


def same_list_loop_names(scopes, upload: str) -> set:
    """``for f in files: if f.size > LIMIT: return ...`` then ``for file in files: file.read()``:
    the names every loop over the list that ``upload`` iterates binds (the check covers them all)."""
    loops = [n for scope in scopes for n in scope.all(cst.For) + scope.all(cst.CompFor)
             if isinstance(n.target, cst.Name) and isinstance(n.iter, cst.Name)]
    lists = {n.iter.value for n in loops if n.target.value == upload}
    return {n.target.value for n in loops if n.iter.value in lists}
