"""The resource table: what acquires a resource, what releases it, who may own it.

Every acquired resource carries an obligation to call one of its release methods (the model of
the Java Resource Leak Checker: Kellogg et al., FSE 2021). The obligation is met by a release on
every path, or it moves to a new owner. This table is data: the ownership analysis
(``semantics.ownership``) and the rules read it, and users add their own kinds in
``[tool.leaklint.resources]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, Mapping, Optional, Sequence, Tuple

from leaklint.semantics import sqlalchemy as sa


@dataclass(frozen=True)
class ResourceKind:
    name: str  # "session", "connection", "engine", "file", "temp-path", "http-client", "redis-client", or a user's
    label: str  # how messages name it: "Session", "HTTP client"
    acquire: FrozenSet[str]  # qualified names of the calls that create one
    release: FrozenSet[str]  # method names that release it (``close``); for temp paths, remover functions
    #: the async flavour of ``acquire``, released with ``await x.aclose()``/``await x.close()``
    async_acquire: FrozenSet[str] = frozenset()
    user: bool = False
    #: the release method messages suggest (the first one the user declared)
    primary_release: str = ""


#: API SDK clients: each builds its own httpx connection pool unless handed one (``http_client=``);
#: one per request grows memory and sockets (openai-python issue 874), ``close()`` releases it
SDK_CLIENTS = frozenset({"openai.OpenAI", "openai.Client", "openai.AzureOpenAI", "anthropic.Anthropic",
                         "anthropic.Client", "anthropic.AnthropicBedrock", "anthropic.AnthropicVertex"})
ASYNC_SDK_CLIENTS = frozenset({"openai.AsyncOpenAI", "openai.AsyncClient", "openai.AsyncAzureOpenAI",
                               "anthropic.AsyncAnthropic", "anthropic.AsyncClient",
                               "anthropic.AsyncAnthropicBedrock", "anthropic.AsyncAnthropicVertex"})
HTTP_CLIENTS = frozenset({"httpx.Client", "requests.Session", "requests.sessions.Session", "requests.session",
                          "urllib3.PoolManager", "urllib3.poolmanager.PoolManager"}) | SDK_CLIENTS
ASYNC_HTTP_CLIENTS = frozenset({"httpx.AsyncClient", "aiohttp.ClientSession",
                                "aiohttp.client.ClientSession"}) | ASYNC_SDK_CLIENTS
#: Redis clients: each builds its own connection pool unless handed one (``connection_pool=``)
REDIS_CLIENTS = frozenset({"redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
                           "redis.from_url", "redis.Redis.from_url", "redis.StrictRedis.from_url",
                           "redis.client.Redis.from_url"})
ASYNC_REDIS_CLIENTS = frozenset({"redis.asyncio.Redis", "redis.asyncio.StrictRedis", "redis.asyncio.client.Redis",
                                 "redis.asyncio.from_url", "redis.asyncio.Redis.from_url",
                                 "redis.asyncio.client.Redis.from_url", "aioredis.Redis", "aioredis.StrictRedis",
                                 "aioredis.from_url", "aioredis.Redis.from_url"})
#: per constructor family, the keyword that hands it a pool it does not own
SHARED_POOL_KEYWORDS = {"http_client": SDK_CLIENTS | ASYNC_SDK_CLIENTS,
                        "connection_pool": REDIS_CLIENTS | ASYNC_REDIS_CLIENTS}
FILE_OPENERS = frozenset({"builtins.open", "io.open", "codecs.open", "os.fdopen", "gzip.open", "bz2.open",
                          "lzma.open", "tarfile.open", "zipfile.ZipFile", "tempfile.TemporaryFile",
                          "tempfile.SpooledTemporaryFile"})
TEMP_PATHS = frozenset({"tempfile.mkstemp", "tempfile.mkdtemp"})
PATH_REMOVERS = frozenset({"os.remove", "os.unlink", "os.rmdir", "shutil.rmtree", "os.removedirs"})

BUILTIN_KINDS: Tuple[ResourceKind, ...] = (
    ResourceKind("session", "Session", sa.SESSION_CLASSES - sa.ASYNC_SESSION_CLASSES, frozenset({"close"}),
                 sa.ASYNC_SESSION_CLASSES),
    # ``engine.connect()``: recognised from the engine it is called on, not from a qualified name
    ResourceKind("connection", "Connection", frozenset(), frozenset({"close"})),
    ResourceKind("engine", "Engine", sa.ENGINE_FACTORIES - sa.ASYNC_ENGINE_FACTORIES, frozenset({"dispose"}),
                 sa.ASYNC_ENGINE_FACTORIES),
    ResourceKind("file", "File", FILE_OPENERS, frozenset({"close"})),
    ResourceKind("temp-path", "Temporary path", TEMP_PATHS, PATH_REMOVERS),
    ResourceKind("http-client", "HTTP client", HTTP_CLIENTS, frozenset({"close"}), ASYNC_HTTP_CLIENTS),
    ResourceKind("redis-client", "Redis client", REDIS_CLIENTS, frozenset({"close"}), ASYNC_REDIS_CLIENTS),
    # not a leak by itself: tracked so that a helper returning a whole body in memory is known (LL504)
    ResourceKind("buffer", "In-memory buffer", frozenset({"io.BytesIO", "io.StringIO"}), frozenset({"close"})),
)

#: calls that take ownership of the resource passed to them (its release is theirs from then on)
OWNING_CALLS = frozenset({"contextlib.closing", "contextlib.aclosing"})
OWNING_METHODS = frozenset({"enter_context", "enter_async_context", "push", "callback", "push_async_callback",
                            "push_async_exit"})
#: calls that only use a resource: after them the caller still holds the obligation
BORROWING_CALLS = frozenset({
    "shutil.copyfileobj", "json.dump", "json.load", "pickle.dump", "pickle.load", "csv.reader", "csv.writer",
    "csv.DictReader", "csv.DictWriter", "builtins.print", "builtins.next", "builtins.iter", "builtins.len",
    "builtins.isinstance", "yaml.safe_load", "yaml.load", "yaml.dump", "yaml.safe_dump", "tomllib.load",
    "hashlib.file_digest", "logging.info", "logging.debug", "logging.warning", "logging.error",
    "PIL.Image.open",  # reads lazily from a file object it is given, and leaves closing it to the caller
})


#: parsers that need a whole document anyway: reading an upload whole to feed one costs nothing more
#: in-memory file objects: a parser reading one (``csv.DictReader(StringIO(text))``) reads the text
#: run a function in a worker thread: ``asyncio.to_thread(fn, *args)`` calls ``fn(*args)``
THREAD_RUNNERS = frozenset({"asyncio.to_thread", "asyncio.threads.to_thread", "anyio.to_thread.run_sync",
                            "starlette.concurrency.run_in_threadpool", "fastapi.concurrency.run_in_threadpool"})

#: wrap bytes already in memory (``numpy.frombuffer`` is a view over them, no copy)
IN_MEMORY_BUFFERS = frozenset({"io.BytesIO", "io.StringIO", "_io.BytesIO", "_io.StringIO", "numpy.frombuffer"})

DOCUMENT_PARSERS = frozenset({
    "json.loads", "yaml.safe_load", "yaml.load", "yaml.full_load", "tomllib.loads", "tomli.loads", "orjson.loads",
    "ujson.loads", "ast.literal_eval", "xml.etree.ElementTree.fromstring", "defusedxml.ElementTree.fromstring",
    "toml.loads", "msgpack.unpackb", "msgspec.json.decode", "csv.reader", "csv.DictReader", "pandas.read_csv",
    "pandas.read_json", "pandas.read_excel", "pandas.read_parquet",
    # image decoders with no streaming input: the pixels need every byte, and more memory than they
    # (``PIL.Image.open`` is not one: it reads a file object, ``file.file``, lazily)
    "cv2.imdecode", "imageio.imread", "imageio.v3.imread",
})


class ResourceTable:
    """Built-in kinds plus the user's; looked up by qualified acquire name."""

    def __init__(self, kinds: Sequence[ResourceKind] = BUILTIN_KINDS) -> None:
        self.kinds: Tuple[ResourceKind, ...] = tuple(kinds)
        self._by_acquire: Dict[str, Tuple[ResourceKind, bool]] = {}
        for kind in self.kinds:
            for name in kind.acquire:
                self._by_acquire.setdefault(name, (kind, False))
            for name in kind.async_acquire:
                self._by_acquire.setdefault(name, (kind, True))

    def kind(self, name: str) -> Optional[ResourceKind]:
        return next((k for k in self.kinds if k.name == name), None)

    def acquired_by(self, qualified: Iterable[str]) -> Optional[Tuple[ResourceKind, bool]]:
        """``(kind, is_async)`` when one of the qualified callee names acquires a resource."""
        for name in qualified:
            found = self._by_acquire.get(name)
            if found is not None:
                return found
        return None

    @property
    def acquire_names(self) -> FrozenSet[str]:
        return frozenset(self._by_acquire)

    def with_user_kinds(self, declared: Mapping[str, Mapping[str, Sequence[str]]]) -> "ResourceTable":
        user = [ResourceKind(name, spec.get("label") or name, frozenset(spec["acquire"]), frozenset(spec["release"]),
                             user=True, primary_release=spec["release"][0])
                for name, spec in sorted(declared.items())]
        return ResourceTable(self.kinds + tuple(user))


DEFAULT_TABLE = ResourceTable()


def validate_user_kinds(value: object) -> Optional[str]:
    """None when ``[tool.leaklint.resources]`` is well formed, else what is wrong (one line)."""
    if not isinstance(value, dict):
        return "must be a table of resource kinds: name = { acquire = [...], release = [...] }"
    builtin = {k.name for k in BUILTIN_KINDS}
    for name, spec in value.items():
        if name in builtin:
            return f"`{name}` is a built-in resource kind"
        if not isinstance(spec, dict):
            return f"`{name}` must be a table with `acquire` and `release`"
        unknown = set(spec) - {"acquire", "release", "label"}
        if unknown:
            return f"`{name}` has an unknown key `{sorted(unknown)[0]}` (expected acquire, release, label)"
        for key in ("acquire", "release"):
            items = spec.get(key)
            if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
                return f"`{name}.{key}` must be a non-empty list of strings"
        if not all("." in q for q in spec["acquire"]):
            return f"`{name}.acquire` must hold qualified names such as `mypkg.pool.open_pool`"
        if "label" in spec and not isinstance(spec["label"], str):
            return f"`{name}.label` must be a string"
    return None
