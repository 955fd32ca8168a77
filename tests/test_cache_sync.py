"""Caches travel to a Ray node and back (suites/cache_sync.py): only new or changed files come back."""

from __future__ import annotations

from pathlib import Path

from suites import cache_sync


def test_a_node_gets_the_cache_and_sends_back_only_what_it_wrote(tmp_path: Path) -> None:
    driver, node = tmp_path / "driver", tmp_path / "node"
    (driver / "tvm" / "matmul-znver4").mkdir(parents=True)
    (driver / "tvm" / "matmul-znver4" / "db.json").write_text("old")
    (driver / "other").mkdir()
    (driver / "other" / "x").write_text("not shipped")
    archive = cache_sync.pack(driver, ["tvm", "missing"])
    cache_sync.unpack_once(archive, node)
    assert (node / "tvm" / "matmul-znver4" / "db.json").read_text() == "old" and not (node / "other").exists()
    before = cache_sync.snapshot(node)
    (node / "tvm" / "conv-znver4").mkdir()
    (node / "tvm" / "conv-znver4" / "db.json").write_text("tuned on the node")
    cache_sync.unpack_once(archive, node)  # a later case on the node: its own writes are kept
    assert cache_sync.unpack(cache_sync.pack_changed(node, before), driver) == ["tvm/conv-znver4/db.json"]
    assert (driver / "tvm" / "conv-znver4" / "db.json").read_text() == "tuned on the node"
    assert cache_sync.pack(driver, ["nothing"]) == b""
    assert cache_sync.pack_changed(node, cache_sync.snapshot(node)) == b""
