"""Conformance targets ``mount``, ``mount-local`` and ``tiers`` (spec MOUNT-050): no server needed.

``mount``: a memory backend at the root with a local folder and a second
memory backend mounted beside it; ``mount-local``: two local folders (so the
pickling and cross-process suites run too). Every suite runs through the
mount's routing, error rewriting and merged listings. ``tiers``: a local first tier
over a memory tier, so writes land on disk and reads fall through.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storeroom.testing.conformance.targets import Target, register_target


def _mount(tmp_path: Path) -> Mapping[str, Any]:
    # The root mount has every capability the others add, so each suite's
    # checks (which run under the root) see the mount's whole declared set.
    side = {"type": "local", "options": {"root": str(tmp_path / "side")}, "path": "data"}
    mounts = {"": {"type": "memory"}, "side/": side, "scratch/deep/": {"type": "memory"}}
    return {"type": "mount", "options": {"mounts": mounts}}


def _mount_local(tmp_path: Path) -> Mapping[str, Any]:
    root = {"type": "local", "options": {"root": str(tmp_path / "root")}}
    side = {"type": "local", "options": {"root": str(tmp_path / "side")}, "path": "data"}
    return {"type": "mount", "options": {"mounts": {"": root, "side/": side}}}


def _tiers(tmp_path: Path) -> Mapping[str, Any]:
    fast = {"type": "local", "options": {"root": str(tmp_path / "fast")}}
    return {"type": "tiers", "options": {"tiers": [fast, {"type": "memory"}]}}


register_target(Target("mount", _mount, persistent=False, cross_process=False))
register_target(Target("mount-local", _mount_local))
register_target(Target("tiers", _tiers))
