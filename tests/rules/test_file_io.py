"""LL5 (file handling in upload/download handlers) through the real CLI on the fixtures."""

import os
import shutil
import subprocess
import sys

from _cli import ROOT, findings, runner

FIXTURES = ROOT / "fixtures"


leaklint = runner()


BAD = {
    "LL501/uploads_bad.py": [
        (18, "LL501"),  # contents = await file.read(), then written to a file
        (27, "LL501"),  # out.write(document.file.read()), Annotated[UploadFile, File()]
        (35, "LL501"),  # loop over list[UploadFile]
        (42, "LL501"),  # await request.body()
        (49, "LL501"),  # data: bytes = File(): FastAPI reads it whole
    ],
    "LL502/downloads_bad.py": [
        (15, "LL502"),  # return Response(open(p, "rb").read()): open() inside return
        (21, "LL502"),  # Response(content=Path(p).read_bytes())
        (29, "LL502"),  # aiofiles: data = await f.read(); Response(data)
        (36, "LL502"),  # returned from a route straight out of `with open()`
    ],
    "LL503/handles_bad.py": [
        (15, "LL503"),  # handle given to requests.post, closed only on the happy path
        (24, "LL503"),  # open() inside files={...} of an httpx client call
        (29, "LL503"),  # StreamingResponse(open(...)) never closes it
        (33, "LL503"),  # aiofiles handle never closed, in a helper a route calls
        (45, "LL503"),  # closed only on the happy path
    ],
    "LL504/streaming_bad.py": [(19, "LL504"), (25, "LL504"), (30, "LL504"), (35, "LL504")],
    "LL505/exports_bad.py": [(22, "LL505"), (30, "LL505"), (42, "LL505")],
    "LL506/tempfiles_bad.py": [
        (15, "LL506"),  # NamedTemporaryFile(delete=False) in a with, never unlinked
        (22, "LL506"),  # mkstemp in a helper called by a route
        (35, "LL506"),  # mkdtemp never removed
    ],
}


def test_bad_fixture_findings():
    result = leaklint("--select", "LL5", *(FIXTURES / p for p in sorted(BAD)))
    assert result.returncode == 1, result.stderr
    expected = sorted((os.path.basename(p), line, code) for p, rows in BAD.items() for line, code in rows)
    assert findings(result.stdout) == expected, result.stdout


def test_ok_fixtures_are_clean():
    """Nothing on the ok files, except the temp file tempfiles_ok.py serves with FileResponse:
    LL505 reports it and LL506 (whose fixture it is) leaves it alone."""
    ok = sorted(FIXTURES.glob("LL5*/*_ok.py"))
    assert len(ok) == 6
    result = leaklint("--select", "LL5", *ok)
    assert findings(result.stdout) == [("tempfiles_ok.py", 52, "LL505")], result.stdout


FIXED = {
    "LL501/uploads_bad.py": [(35, "LL501"), (42, "LL501"), (49, "LL501")],  # the bytes are used: no fix
    "LL502/downloads_bad.py": [(29, "LL502"), (36, "LL502")],  # not the `return Response(open().read())` shape
    "LL505/exports_bad.py": [],
}


def _copies(tmp_path):
    targets = []
    for path in sorted(FIXED):
        target = tmp_path / os.path.basename(path)
        shutil.copy(FIXTURES / path, target)
        targets.append((path, target))
    return targets


def test_unsafe_fix_matches_expected_and_is_stable(tmp_path):
    targets = _copies(tmp_path)
    leaklint("--select", "LL5", "--fix", "--unsafe-fixes", *(t for _, t in targets))
    for path, target in targets:
        expected = (FIXTURES / path.replace(".py", ".fixed.py")).read_text()
        assert target.read_text() == expected, path
        compile(expected, str(target), "exec")
    second = leaklint("--select", "LL5", "--fix", "--unsafe-fixes", *(t for _, t in targets))
    for path, target in targets:
        assert target.read_text() == (FIXTURES / path.replace(".py", ".fixed.py")).read_text(), path
    expected = sorted((os.path.basename(p), line, code) for p, rows in FIXED.items() for line, code in rows)
    assert findings(second.stdout) == expected, second.stdout


def test_safe_fix_changes_nothing(tmp_path):
    targets = _copies(tmp_path)
    result = leaklint("--select", "LL5", "--fix", *(t for _, t in targets))
    for path, target in targets:
        assert target.read_text() == (FIXTURES / path).read_text(), path
    assert "7 fixable with --unsafe-fixes" in result.stdout, result.stdout


def test_fixed_apps_import():
    """The fixed upload and export apps still import and build their routes."""
    code = "; ".join(
        f"ns = runpy.run_path({str(FIXTURES / p)!r}); print(sorted(r.path for r in ns['app'].routes))"
        for p in ("LL501/uploads_bad.fixed.py", "LL505/exports_bad.fixed.py"))
    result = subprocess.run([sys.executable, "-c", "import runpy; " + code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "'/upload'" in result.stdout and "'/export'" in result.stdout, result.stdout


def test_no_fix_for_a_temp_path_a_helper_returned(tmp_path):
    """LL505 on `FileResponse(path)` where a project helper made `path`: it may be a file or a
    directory, so no remover is offered, and `--fix --unsafe-fixes` leaves the route as it was."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "exports.py").write_text(
        "import tempfile\n\n\ndef render(rows):\n    fd, path = tempfile.mkstemp(suffix='.csv')\n"
        "    with open(fd, 'w') as out:\n        out.write(str(rows))\n    return path\n")
    route = app / "routes.py"
    source = (
        "from fastapi import APIRouter\nfrom fastapi.responses import FileResponse\n"
        "from app.exports import render\n\nrouter = APIRouter()\n\n\n@router.get('/export')\n"
        "def export():\n    path = render([1, 2])\n    return FileResponse(path)\n")
    route.write_text(source)
    result = leaklint("--select", "LL505", "--fix", "--unsafe-fixes", "--no-cache", str(app), cwd=tmp_path)
    assert [f[1:] for f in findings(result.stdout)] == [(11, "LL505")], result.stdout
    assert route.read_text() == source
