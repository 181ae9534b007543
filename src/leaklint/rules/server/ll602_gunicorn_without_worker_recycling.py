"""LL602 gunicorn-without-worker-recycling: a gunicorn configuration that never recycles its workers."""

from __future__ import annotations

from typing import Dict, List, Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Rule
from leaklint.rules.server.ll602_gunicorn_without_worker_recycling_examples import INVALID, VALID
from leaklint.semantics import state

RECYCLING_DEFAULTS = {"max_requests": "1000", "max_requests_jitter": "50"}


class GunicornWithoutWorkerRecycling(Rule):
    """## What it does
    Finds a gunicorn configuration that never recycles workers: a config module (`gunicorn.conf.py`,
    `gunicorn_conf.py`, `gunicorn_config.py`, or a module made only of gunicorn settings such as
    `bind`/`workers`/`worker_class` and server hooks) or an options dict passed to a
    `gunicorn.app.base.BaseApplication` subclass, without `max_requests` or without
    `max_requests_jitter`.

    It also reads the files where the command line really lives, found next to the Python code
    (and excluded like any path): Dockerfile `CMD`/`ENTRYPOINT` (shell and exec form, an exec
    `ENTRYPOINT` joined with its `CMD`), `Procfile`, docker-compose `command:`/`entrypoint:`
    (string, list or block), Kubernetes/Helm `command:` + `args:`, the `command=` of a supervisord
    `[program:x]` (`supervisord.conf`, a `.conf` in a `supervisor/` folder) and shell scripts (`*.sh`). A
    `gunicorn` command there (also through `exec`, `python -m`, `poetry run`, `conda run -n env`,
    `sh -c "..."`) without `--max-requests` (or with `--max-requests 0`) or without
    `--max-requests-jitter` is reported at its line, unless `GUNICORN_CMD_ARGS` (set in a
    Dockerfile, compose or Kubernetes env, or by the platform) may supply the flags, its `-c`
    config (or `./gunicorn.conf.py`) is a linted module (judged in its own file), or an expansion
    such as `$GUNICORN_OPTS`/`"$@"` stands where arguments go. A deployment that runs `uvicorn`
    alone (no gunicorn anywhere) is reported without `--limit-max-requests`, unless it runs with
    `--reload`. Development, test, CI and example files (`Dockerfile.dev`,
    `docker-compose.test.yml`, `tests/`, `.github/`, `examples/`) are not production and are skipped,
    and so is a Dockerfile that only compose services running with `--reload` build (the dev image
    beside the production one), and a shell script that also starts a front-end dev server
    (`npm run dev`, `yarn dev`, `next dev`, `vite dev`): a recipe for a developer's machine.
    `# noqa: LL602` goes at the end of the line, or for a Dockerfile on the comment line just above
    the instruction; `# leaklint: noqa` on a line of its own silences the whole file.

    ## Why is this bad?
    Every leak in the application (and in its C extensions) accumulates in long-lived workers until
    the container is OOM-killed. `max_requests` restarts a worker gracefully after that many
    requests, capping any leak; the jitter staggers the restarts so that all workers do not
    restart at once.

    ## Example
    ```python
    # gunicorn.conf.py
    bind = "0.0.0.0:8000"
    workers = 4
    worker_class = "uvicorn.workers.UvicornWorker"
    ```

    Use instead:
    ```python
    bind = "0.0.0.0:8000"
    workers = 4
    worker_class = "uvicorn.workers.UvicornWorker"
    max_requests = 1000
    max_requests_jitter = 50
    ```

    ## Fix safety
    The fix adds the missing settings (`max_requests = 1000`, `max_requests_jitter = 50`) after the
    last gunicorn setting, or as entries of the options dict. It is **unsafe**: workers now restart
    periodically, which drops their in-memory state and briefly reduces capacity, and the right
    numbers depend on the service.

    Command lines carry no fix: add `--max-requests 1000 --max-requests-jitter 50` by hand (and
    for uvicorn alone `--limit-max-requests`, or run it under gunicorn's `UvicornWorker`);
    `--fix` never writes a deployment file.

    ## Known problems
    An options dict that is built incrementally, spread from elsewhere, or that names a config
    file leaklint does not lint, is not reported; neither is a command whose `-c` config is not
    among the linted files, nor a `GUNICORN_CMD_ARGS` set only in an `.env` file or in a
    deployment system leaklint does not read (systemd units, supervisord, Makefiles,
    `pyproject.toml` scripts). The YAML reader is line-based: anchors, aliases and values
    built by templates are not followed. Any `GUNICORN_CMD_ARGS` that may carry the flag clears
    every gunicorn command of the run, and a single uvicorn process restarted after
    `--limit-max-requests` needs an orchestrator that restarts it (a restart policy, Kubernetes,
    or `--workers`). A command that serves `pkg.module:app` when no linted Python file is that
    module is a stale deployment file and is not judged (lint the code with the files).
    """

    code = "LL602"
    name = "gunicorn-without-worker-recycling"
    message = "gunicorn configuration without {missing}: leaking workers are never recycled"
    fix_title = "Add `max_requests` and `max_requests_jitter`"
    fix_availability = FixAvailability.SOMETIMES
    family = "server"

    valid = VALID
    invalid = INVALID

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return state.may_configure_gunicorn(summary, project)

    def visit_Module(self, node: cst.Module) -> None:
        if not state.is_gunicorn_config_module(self.ctx.summary):
            return
        settings: Dict[str, cst.SimpleStatementLine] = {}
        for stmt in node.body:
            name = _assigned_name(stmt)
            if name in state.GUNICORN_SETTINGS:
                settings[name] = stmt  # type: ignore[assignment]
        missing = [n for n in state.RECYCLING if n not in settings]
        if not settings or not missing:
            return
        anchor = settings.get("max_requests") or list(settings.values())[-1]
        statements = [cst.parse_statement(f"{n} = {RECYCLING_DEFAULTS[n]}\n", config=node.config_for_parsing)
                      for n in missing]
        fix = Fix(self.fix_title or "", Applicability.UNSAFE,
                  {anchor: cst.FlattenSentinel([anchor, *statements])})
        report_on = settings.get("max_requests") or settings.get("workers") or settings.get("bind") or anchor
        self.report(report_on, missing=state.iter_names(missing), fix=fix)

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        callee = self.ctx.qualify(node.func)
        apps = state.gunicorn_application_classes(self.ctx.project)
        if not callee or not {self.ctx.project.canonical(c) for c in callee} & apps:
            return
        for arg in node.args:
            options = self._options_dict(arg.value)
            if options is not None:
                self._check_options(options)
                return

    def _options_dict(self, value: cst.BaseExpression) -> Optional[cst.Dict]:
        if isinstance(value, cst.Dict):
            return value
        if not isinstance(value, cst.Name):
            return None
        fn = self.ctx.current_function()
        if fn is None:
            return None
        from leaklint.semantics import flow

        index = flow.index_of(self.ctx, fn)
        binders = index.assignments(value.value)
        if len(binders) != 1 or not isinstance(binders[0], cst.AssignTarget):
            return None
        assign = index.parent.get(binders[0])
        if not isinstance(assign, cst.Assign) or not isinstance(assign.value, cst.Dict):
            return None
        # options["max_requests"] = ..., options.update(...): built incrementally, not judged
        for load in index.loads(value.value):
            parent = index.parent.get(load)
            if isinstance(parent, (cst.Subscript, cst.Attribute)) and parent.value is load:
                grand = index.parent.get(parent)
                if isinstance(parent, cst.Subscript) and isinstance(grand, cst.AssignTarget):
                    return None
                if isinstance(parent, cst.Attribute) and parent.attr.value in state.GROW_METHODS:
                    return None
        return assign.value

    def _check_options(self, options: cst.Dict) -> None:
        keys: Dict[str, cst.BaseExpression] = {}
        for element in options.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                return  # ** spread or computed keys: cannot tell
            keys[element.key.evaluated_value] = element.value  # type: ignore[index]
        present = set(keys)
        config = keys.get("config")
        if config is not None:
            if not isinstance(config, cst.SimpleString):
                return
            settings = state.config_module_settings(self.ctx.project, str(config.evaluated_value))
            if settings is None:
                return
            present |= settings
        missing = [n for n in state.RECYCLING if n not in present]
        if missing:
            self.report(options, missing=state.iter_names(missing), fix=self._fix(options, missing))

    def _fix(self, options: cst.Dict, missing: List[str]) -> Fix:
        elements = list(options.elements)
        new = [cst.DictElement(key=cst.SimpleString(f'"{n}"'), value=cst.Integer(RECYCLING_DEFAULTS[n]))
               for n in missing]
        if elements:
            last = elements[-1]
            if len(elements) >= 2 and isinstance(elements[-2].comma, cst.Comma):
                sep = elements[-2].comma
            elif isinstance(options.lbrace.whitespace_after, cst.ParenthesizedWhitespace):
                sep = cst.Comma(whitespace_after=options.lbrace.whitespace_after)
            else:
                sep = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            trailing = last.comma
            chain = [last.with_changes(comma=sep)]
            for i, element in enumerate(new):
                chain.append(element.with_changes(comma=sep if i < len(new) - 1 else trailing))
            elements = elements[:-1] + chain
        else:
            sep = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            elements = [e.with_changes(comma=sep if i < len(new) - 1 else cst.MaybeSentinel.DEFAULT)
                        for i, e in enumerate(new)]
        return Fix(self.fix_title or "", Applicability.UNSAFE, {options: options.with_changes(elements=elements)})


def _assigned_name(stmt: cst.CSTNode) -> Optional[str]:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            return small.targets[0].target.value
        if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
            return small.target.value
    return None
