"""How the runner splits files between workers: chunks of about equal bytes, largest files first."""

from __future__ import annotations

from leaklint.runner import _chunks, _largest_first


def test_a_large_file_goes_alone_and_small_ones_share_a_chunk(tmp_path):
    sizes = {"big.py": 40_000, "mid.py": 9_000, **{f"small{i}.py": 100 for i in range(40)}}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"#" * size)
    paths = [str(tmp_path / name) for name in sorted(sizes)]
    ordered, byte_sizes = _largest_first(paths, lambda path: path)
    assert ordered[0].endswith("big.py") and ordered[1].endswith("mid.py")
    chunks = _chunks(ordered, 2, byte_sizes)
    assert [p for chunk in chunks for p in chunk] == ordered  # every file once, in that order
    assert chunks[0] == [ordered[0]]
    assert all(len(chunk) <= 32 for chunk in chunks)
    assert len(chunks) < len(ordered)  # the small files are batched, not sent one by one


def test_files_that_cannot_be_sized_still_get_checked(tmp_path):
    missing = [str(tmp_path / f"gone{i}.py") for i in range(5)]
    ordered, byte_sizes = _largest_first(missing, lambda path: path)
    assert byte_sizes == [0] * 5
    assert [p for chunk in _chunks(ordered, 2, byte_sizes) for p in chunk] == ordered
