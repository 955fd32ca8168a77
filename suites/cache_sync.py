"""Carry the tuning caches (results/cache/<backend>/) to a node and bring back what it wrote there.

A cell reads and writes its backend's cache (TVM's tuning databases, one folder per workload, case and hardware
tag). On a cluster the node may not share the driver's disk, so the driver packs the cache folders a case needs
into one tar archive, the node unpacks it into a folder of its own, and after the case it packs the files that
are new or changed; the driver unpacks those over its results/cache. Plain tar (no compression: tuning
databases are JSON that the object store moves faster than gzip squeezes it on 2 cores).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

# What a file looked like: size and modification time, enough to see that a tuner rewrote it.
Snapshot = dict[str, tuple[int, int]]


def pack(root: Path, names: list[str]) -> bytes:
    """The folders root/<name> that exist (each backend's cache), as one tar archive; b"" if there are none."""
    folders = [root / name for name in sorted(set(names)) if (root / name).is_dir()]
    if not folders:
        return b""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in folders:
            tar.add(folder, arcname=folder.name)
    return buffer.getvalue()


def unpack(archive: bytes, root: Path) -> list[str]:
    """Extract an archive from `pack` or `pack_changed` under root; returns the files written."""
    if not archive:
        return []
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
        tar.extractall(root, filter="data")  # "data": no absolute paths, links out of root or device files
    return names


def unpack_once(archive: bytes, root: Path) -> None:
    """Unpack into root unless this very archive was unpacked there before: the node's later cases keep what its
    earlier cases wrote, which unpacking the driver's older copy again would overwrite."""
    marker = root / f".unpacked-{hashlib.sha256(archive).hexdigest()[:16]}"
    root.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        unpack(archive, root)
        marker.touch()


def snapshot(root: Path) -> Snapshot:
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() and not p.name.startswith(".unpacked-")}


def pack_changed(root: Path, before: Snapshot) -> bytes:
    """The files under root that are new or changed since `before`, as a tar archive (b"" if none)."""
    changed = sorted(name for name, state in snapshot(root).items() if before.get(name) != state)
    if not changed:
        return b""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in changed:
            tar.add(root / name, arcname=name)
    return buffer.getvalue()
