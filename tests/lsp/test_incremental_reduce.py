"""The editor's incrementally updated project facts equal ``ProjectFacts.build`` over the same summaries.

Real inputs: every module under ``fixtures/`` (sessions, caches, tasks, files, the demo app), then the
kinds of edits typing makes, one file at a time; after each, every field of the facts is compared.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Dict

import pytest

from leaklint.discovery import discover
from leaklint.runner import summarise_path
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary, module_name_for, summarise

from leaklint.lsp.reduce import IncrementalProject

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def differing_fields(a: ProjectFacts, b: ProjectFacts) -> list:
    return [f.name for f in dataclasses.fields(ProjectFacts) if getattr(a, f.name) != getattr(b, f.name)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    return tmp_path / "fixtures"


def summaries_of(root: Path) -> Dict[str, ModuleSummary]:
    files = discover([str(root)], str(root), [], respect_gitignore=False).files
    out = {}
    for path in files:
        _, summary, _ = summarise_path(os.path.abspath(path), roots=(str(root),))
        if summary is not None:
            out[summary.path] = summary
    return out


def resummarise(root: Path, path: str, text: str) -> ModuleSummary:
    module, package = module_name_for(path, (str(root),))
    return summarise(text.encode(), path, module, package)


def project_of(root: Path, files: Dict[str, str]) -> IncrementalProject:
    for name, text in files.items():
        (root / name).write_text(text)
    return IncrementalProject(summaries_of(root), None)


def edit(incremental: IncrementalProject, root: Path, name: str, text: str) -> None:
    """Replace ``name`` with ``text`` in the editor's project, then compare with a full build."""
    path = next(p for p in incremental.summaries if p.endswith(name))
    incremental.replace(path, resummarise(root, path, text))
    check(incremental)


def check(incremental: IncrementalProject) -> None:
    expected = ProjectFacts.build(list(incremental.summaries.values()), incremental.table)
    assert differing_fields(incremental.project, expected) == []


def test_initial_build_equals_the_cli_reduce(tree: Path) -> None:
    incremental = IncrementalProject(summaries_of(tree), None)
    assert incremental.project.per_request and incremental.project.ownership.returns
    check(incremental)


def test_each_kind_of_edit_keeps_the_facts_equal(tree: Path) -> None:
    incremental = IncrementalProject(summaries_of(tree), None)
    demo = {Path(p).name: p for p in incremental.summaries if "demo_app" in p}
    db, deps, main = demo["db.py"], demo["deps.py"], demo["main.py"]
    texts = {p: Path(p).read_text() for p in (db, deps, main)}

    def edit(path: str, text: str) -> None:
        assert text != texts[path]
        texts[path] = text
        incremental.replace(path, resummarise(tree, path, text))
        check(incremental)

    # a statement inside a function body (no module-level name changes)
    edit(db, texts[db].replace("    db = SessionLocal()\n", "    db = SessionLocal()\n    db.info['x'] = 1\n"))
    # the dependency now yields from ``with``: ownership facts of it and of its callers change
    edit(deps, texts[deps].replace("    return SessionLocal()", "    with SessionLocal() as db:\n        yield db"))
    # a new module-level function, then an import added, then a function renamed
    edit(main, texts[main] + "\n\ndef helper_added():\n    return get_reporting_session()\n")
    edit(deps, "import os\n" + texts[deps])
    edit(db, texts[db].replace("def get_db(", "def get_database("))
    # a binding other modules resolve through changes kind (sessionmaker -> plain value)
    edit(db, texts[db].replace("SessionLocal = sessionmaker(", "SessionLocal = dict("))
    # a file with a syntax error, then fixed again
    edit(main, texts[main] + "\ndef broken(:\n")
    edit(main, texts[main].replace("\ndef broken(:\n", "\n"))
    # a file gone, then back; a new file
    incremental.replace(deps, None)
    check(incremental)
    incremental.replace(deps, resummarise(tree, deps, texts[deps]))
    check(incremental)
    added = str(Path(deps).with_name("reports.py"))
    Path(added).write_text("from demo_app.deps import get_reporting_session\n")
    incremental.replace(added, resummarise(tree, added, Path(added).read_text()))
    check(incremental)


def test_every_caller_of_an_edited_factory_is_closed_again(tmp_path: Path) -> None:
    """Two modules return what ``make()`` returns; ``make`` stops returning a client. Both callers'
    facts must follow, not only the first one the closure asked about the name for."""
    files = {"lib.py": "import httpx\n\n\ndef make():\n    return httpx.Client()\n",
             "a.py": "from lib import make\n\n\ndef f1():\n    return make()\n",
             "c.py": "from lib import make\n\n\ndef f2():\n    return make()\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    incremental = IncrementalProject(summaries_of(tmp_path), None)
    assert {"a.f1", "c.f2"} <= set(incremental.project.ownership.returns)
    lib = next(p for p in incremental.summaries if p.endswith("lib.py"))
    incremental.replace(lib, resummarise(tmp_path, lib, "import httpx\n\n\ndef make():\n    return None\n"))
    check(incremental)
    assert not {"a.f1", "c.f2"} & set(incremental.project.ownership.returns)


def test_edges_that_read_other_functions_follow_their_edits(tmp_path: Path) -> None:
    """``engine.speak()`` on ``engine = load()`` reads what ``load`` returns, and ``self.voice.say()``
    reads what ``__init__`` assigns to ``self.voice``: editing either, in another module, moves the edge."""
    files = {"voices.py": "class Low:\n    def say(self):\n        pass\n\n\nclass High:\n    def say(self):\n        pass\n",
             "engines.py": "from voices import Low\n\n\nclass Engine:\n    def __init__(self):\n"
                           "        self.voice = Low()\n\n    def speak(self):\n        self.voice.say()\n\n\n"
                           "class Other:\n    def speak(self):\n        pass\n\n\ndef load():\n    return Engine()\n",
             "main.py": "from fastapi import FastAPI\nfrom engines import load\n\napp = FastAPI()\nengine = load()\n\n\n"
                        "@app.get('/')\ndef home():\n    engine.speak()\n"}
    incremental = project_of(tmp_path, files)
    assert "voices.Low.say" in incremental.project.per_request
    text = files["engines.py"].replace("self.voice = Low()", "self.voice = High()").replace(
        "from voices import Low", "from voices import High")
    edit(incremental, tmp_path, "engines.py", text)
    assert "voices.High.say" in incremental.project.per_request
    edit(incremental, tmp_path, "engines.py", text.replace("return Engine()", "return Other()"))
    assert "engines.Other.speak" in incremental.project.per_request


def test_edges_on_objects_follow_class_edits_in_other_modules(tmp_path: Path) -> None:
    """Where ``self.store.get()`` and ``cache.get()`` on ``cache = Cache()`` lead depends on classes
    in modules the caller never imports: a subclass that starts holding the attribute, a base that
    starts providing the method. Each edit there moves the edge as a full build would."""
    files = {"stores.py": "class Mixin:\n    def get(self):\n        pass\n\n\nclass Plain:\n    pass\n\n\n"
                          "class Cache(Plain):\n    pass\n\n\ncache = Cache()\n",
             "views.py": "class View:\n    def show(self):\n        self.store.get()\n\n\nview = View()\n",
             "holder.py": "from stores import Mixin\nfrom views import View\n\n\nclass Holder:\n"
                          "    def __init__(self):\n        self.store = Mixin()\n",
             "main.py": "from fastapi import FastAPI\nfrom stores import cache\nfrom views import view\n\n"
                        "app = FastAPI()\n\n\n@app.get('/')\ndef home():\n    view.show()\n    cache.get()\n"}
    incremental = project_of(tmp_path, files)
    assert "stores.Mixin.get" not in incremental.project.per_request
    edit(incremental, tmp_path, "holder.py", files["holder.py"].replace("class Holder:", "class Holder(View):"))
    assert "stores.Mixin.get" in incremental.project.per_request
    edit(incremental, tmp_path, "stores.py", files["stores.py"].replace("class Cache(Plain):", "class Cache(Mixin):"))
