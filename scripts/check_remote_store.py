#!/usr/bin/env python
"""Does remote-store's own material run on storeroom after renaming the import?

Downloads remote-store's sdist (default 0.33.0) from PyPI into a temporary
folder, renames ``remote_store`` to ``storeroom`` in its examples and tests
there, and runs them against this checkout's ``src``:

* every example under ``examples/`` (S3 and Azure ones against the test servers
  named in ``STOREROOM_TEST_*``, see ``scripts/services``);
* every TOML/YAML/JSON config block in its README and docs, loaded by storeroom
  and by the installed remote-store, and compared;
* its public-API tests (``tests/test_*.py``, ``tests/ext``, ``tests/aio``,
  ``tests/e2e``), without its conftest. A test file importing a private name that
  storeroom does not export is skipped, with the name as the reason; so are
  ``tests/backends`` (backend-object internals) and ``tests/scripts`` (its tooling).
  Each failure is printed under its cause (``rs_causes.py``): private, deliberate
  or unexplained.

Prints the counts and the failures. Not part of the test suite (it downloads);
see CONTRIBUTING.md. Usage: ``python scripts/check_remote_store.py [--sdist FILE]
[--keep] [--only examples,configs,tests]``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from rs_causes import UNEXPLAINED, classify

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PUBLIC = [
    "storeroom",
    "storeroom.backends",
    "storeroom.aio",
    "storeroom.aio.backends",
    "storeroom.errors",
    "storeroom.capabilities",
    "storeroom.models",
    "storeroom.path",
    "storeroom.config",
]
#: Examples asserting a documented difference (docs/migrating-from-remote-store.md).
DELIBERATE_EXAMPLES = {
    "configuration.py": "asserts str(Secret) == '***' (storeroom: Secret('***'))",
}
NOT_FEASIBLE = {
    "graph_backend.py": "needs a Microsoft Graph tenant (no test server)",
    "sftp_backend.py": "logs in with a password; the SFTP test server takes keys only",
    "graph_client_tuning.py": "tunes an httpx client for Microsoft Graph (no tenant, no httpx)",
}


def fetch_sdist(version: str, into: Path) -> Path:
    """The sdist tarball, by ``pip download`` or else the PyPI JSON API."""
    spec = f"remote-store=={version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    done = subprocess.run([*cmd, spec, "-d", str(into)], capture_output=True, text=True)
    found = sorted(into.glob("remote_store-*.tar.gz"))
    if done.returncode == 0 and found:
        return found[0]
    with urllib.request.urlopen(f"https://pypi.org/pypi/remote-store/{version}/json") as resp:
        meta = json.load(resp)
    url: str = next(u["url"] for u in meta["urls"] if u["packagetype"] == "sdist")
    target = into / url.rsplit("/", 1)[1]
    urllib.request.urlretrieve(url, target)
    return target


def unpack(tarball: Path, into: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    found: Path = next(p for p in into.iterdir() if p.is_dir())
    return found


# -- renaming -------------------------------------------------------------------------


def _has(module: str, name: str) -> bool:
    """Whether ``from module import name`` works (lazy ``__getattr__`` exports count)."""
    if name.startswith("_"):
        return False
    try:
        return hasattr(importlib.import_module(module), name)
    except Exception:
        return False


def _public_home(module: str, names: list[str], exports: dict[str, set[str]]) -> str | None:
    """A public storeroom module exporting all ``names`` (nearest parent first)."""
    parts = module.split(".")
    parents = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    homes = [p for p in parents if "._" not in p and not p.split(".")[-1].startswith("_")]
    for home in homes + PUBLIC:
        seen = exports.setdefault(home, set())
        if all(n in seen or (_has(home, n) and not seen.add(n)) for n in names):
            return home
    return None


def _their_public_home(module: str, names: list[str]) -> str | None:
    """Where remote-store itself exports ``names`` publicly, as a storeroom module name.

    The import is pointed there even when storeroom lacks a name: the test then
    fails with an ImportError naming the missing export, instead of being skipped.
    """
    parts = module.replace("storeroom", "remote_store", 1).split(".")
    parents = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    homes = [p for p in parents if not p.split(".")[-1].startswith("_")]
    for home in homes + [m.replace("storeroom", "remote_store", 1) for m in PUBLIC[:4]]:
        if all(_has(home, n) for n in names):
            return home.replace("remote_store", "storeroom", 1)
    return None


def rename(text: str, exports: dict[str, set[str]]) -> tuple[str, list[str]]:
    """Rename the import; point private imports at public homes. Returns (text, unresolved)."""
    text = text.replace("remote_store", "storeroom")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text, []
    lines = text.splitlines(keepends=True)
    unresolved: list[str] = []
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("storeroom"):
            if "._" not in node.module:
                continue
            names = [a.name for a in node.names]
            home = _public_home(node.module, names, exports) or _their_public_home(
                node.module, names
            )
            if home is None:
                unresolved.append(f"{node.module}:{','.join(names)}")
                continue
            indent = lines[node.lineno - 1][: node.col_offset]
            alias = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            edits.append(
                (
                    node.lineno,
                    node.end_lineno or node.lineno,
                    f"{indent}from {home} import {alias}\n",
                )
            )
        elif isinstance(node, ast.Import):
            unresolved += [
                a.name for a in node.names if a.name.startswith("storeroom.") and "._" in a.name
            ]
    for start, end, new in sorted(edits, reverse=True):
        lines[start - 1 : end] = [new]
    return "".join(lines), unresolved


def rename_tree(tree: Path) -> dict[Path, list[str]]:
    """Rename every .py file under ``tree``; returns the files left with private imports."""
    exports: dict[str, set[str]] = {}
    private: dict[Path, list[str]] = {}
    for path in sorted(tree.rglob("*.py")):
        new, unresolved = rename(path.read_text(encoding="utf-8"), exports)
        path.write_text(new, encoding="utf-8")
        if unresolved:
            private[path] = unresolved
    return private


# -- environment for the servers ---------------------------------------------------------


def server_env(tag: str) -> dict[str, str]:
    """``RS_*`` variables remote-store's examples read, pointed at our test servers."""
    env: dict[str, str] = {}
    s3 = os.environ.get("STOREROOM_TEST_S3_ENDPOINT")
    if s3:
        bucket = f"rs-check-{tag}"
        try:
            import boto3

            boto3.client(
                "s3",
                endpoint_url=s3,
                aws_access_key_id=os.environ["STOREROOM_TEST_S3_KEY"],
                aws_secret_access_key=os.environ["STOREROOM_TEST_S3_SECRET"],
                region_name=os.environ.get("STOREROOM_TEST_S3_REGION", "us-east-1"),
            ).create_bucket(Bucket=bucket)
            env |= {
                "RS_S3_BUCKET": bucket,
                "RS_S3_ENDPOINT": s3,
                "RS_S3_KEY": os.environ["STOREROOM_TEST_S3_KEY"],
                "RS_S3_SECRET": os.environ["STOREROOM_TEST_S3_SECRET"],
                "RS_S3_REGION": os.environ.get("STOREROOM_TEST_S3_REGION", "us-east-1"),
            }
        except Exception as exc:
            print(f"(S3 test server not usable: {exc})")
    conn = os.environ.get("STOREROOM_TEST_AZURE_CONNECTION_STRING")
    if conn:
        try:
            from azure.storage.blob import BlobServiceClient

            BlobServiceClient.from_connection_string(conn).create_container(f"rs-check-{tag}")
            env |= {"RS_AZURE_CONTAINER": f"rs-check-{tag}", "RS_AZURE_CONN": conn}
        except Exception as exc:
            print(f"(Azure test server not usable: {exc})")
    return env


def run_env(extra: dict[str, str], work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREROOM__")}
    env.pop("STOREROOM_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(work)])
    return env | extra


# -- the three checks ---------------------------------------------------------------------


def check_examples(work: Path, env: dict[str, str], private: dict[Path, list[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in sorted((work / "examples").rglob("*.py")):
        rel = path.relative_to(work)
        if path.name == "__init__.py" or "medallion_dagster" in rel.parts[:-1]:
            continue
        if path.name in NOT_FEASIBLE:
            counts["not run"] += 1
            print(f"  not run  {rel}: {NOT_FEASIBLE[path.name]}")
            continue
        with tempfile.TemporaryDirectory() as cwd:
            try:
                done = subprocess.run(
                    [sys.executable, str(path)],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                ok, out = done.returncode == 0, (done.stderr or done.stdout).strip()
            except subprocess.TimeoutExpired:
                ok, out = False, "timed out after 300 s"
        why = out.splitlines()[-1] if out else "no output"
        kind = "passed" if ok else example_cause(path.name, why, path in private)
        counts[kind] += 1
        if not ok:
            extra = f" (imports private {private[path]})" if path in private else ""
            if kind == "failed: deliberate":
                extra = f" ({DELIBERATE_EXAMPLES[path.name]})"
            print(f"  {kind:26} {rel}: {why}{extra}")
    return counts


def example_cause(name: str, why: str, imports_private: bool) -> str:
    """How a failed example counts: needs the internet, private, deliberate, or failed."""
    if "could not be resolved" in why or "Name or service not known" in why:
        return "not run: needs the internet"
    if imports_private or re.search(r"has no attribute '_|No module named 'storeroom\.\w*\._", why):
        return "failed: private"
    if name in DELIBERATE_EXAMPLES:
        return "failed: deliberate"
    return "FAILED"


_BLOCK = re.compile(r"^```(toml|yaml|json)\s*\n(.*?)^```", re.S | re.M)
_FILE_SPLIT = re.compile(r"^# ?\S+\.(?:toml|ya?ml|json)\s*$", re.M)


def _config_blocks(tree: Path) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for doc in [tree / "README.md", *sorted((tree / "docs-src").rglob("*.md"))]:
        for lang, body in _BLOCK.findall(doc.read_text(encoding="utf-8")):
            parts = [p for p in _FILE_SPLIT.split(body) if p.strip()]
            for i, part in enumerate(parts):
                if re.search(r"^\[?(backends|stores)[.:\]]", part, re.M) or '"backends"' in part:
                    out.append((f"{doc.relative_to(tree)}#{len(out) + 1}.{i}", lang, part))
    return out


def _parse(lang: str, text: str) -> Any:
    if lang == "toml":
        return tomllib.loads(text)
    if lang == "json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _meaning(cfg: Any, ours: bool) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if hasattr(v, "reveal"):
            return v.reveal()
        if hasattr(v, "items"):
            return {k: plain(x) for k, x in v.items()}
        return list(map(plain, v)) if isinstance(v, list | tuple) else v

    backends = {}
    for name, b in cfg.backends.items():
        r = b.retry
        if r is None:
            retry = None
        elif ours:
            retry = (r.attempts, r.base_delay_s, r.max_delay_s, r.jitter_s, r.deadline_s)
        else:
            retry = (r.max_attempts, r.backoff_base, r.backoff_max, r.jitter, r.timeout)
        backends[name] = (b.type, plain(b.options), retry)
    return {
        "backends": backends,
        "stores": {n: (s.backend, s.root_path) for n, s in cfg.stores.items()},
    }


def check_configs(tree: Path) -> Counter[str]:
    import remote_store

    from storeroom import RegistryConfig

    counts: Counter[str] = Counter()
    for where, lang, text in _config_blocks(tree):
        try:
            data = _parse(lang, text)
            theirs = remote_store.RegistryConfig.from_dict(json.loads(json.dumps(data)))
        except Exception as exc:
            counts["invalid for remote-store too"] += 1
            print(
                f"  invalid  {where}: remote-store cannot load it either "
                f"({type(exc).__name__}: {exc})"
            )
            continue
        ignored = sorted(
            f"backends.{n}.{k}"
            for n, b in (data.get("backends") or {}).items()
            for k in b
            if k not in ("type", "options", "retry")
        )
        try:
            ours = RegistryConfig.from_dict(data)
        except Exception as exc:
            kind = "refused: keys remote-store ignores" if ignored else "failed"
            counts[kind] += 1
            shown = f" (remote-store drops {', '.join(ignored)} silently)" if ignored else ""
            print(f"  {'refused' if ignored else 'FAILED':8} {where}: {exc}{shown}")
            continue
        try:
            ours.validate()
            valid = ""
        except Exception as exc:
            valid = f" (validate(): {exc})"
        if _meaning(ours, True) == _meaning(theirs, False):
            counts["loaded, same meaning"] += 1
            if valid:
                print(f"  note     {where}: loads the same{valid}")
        else:
            counts["loaded, other meaning"] += 1
            print(f"  DIFFERS  {where}: {_meaning(ours, True)} != {_meaning(theirs, False)}")
    return counts


_CONFTEST_HELPERS = re.compile(
    r"^\s*from (tests(\.e2e)?|\.+)\.?(conftest|_helpers) import\s*(\([^)]*\)|[^\n]*)", re.M
)
#: remote-store conftest helpers our stand-in conftest provides (built on public names).
_PROVIDED = {"RestrictedBackend", "make_restricted_store"}


def _needs_their_helpers(text: str) -> bool:
    """Whether ``text`` imports a conftest/_helpers name our stand-in conftest lacks."""
    for found in _CONFTEST_HELPERS.finditer(text):
        names = {n.strip() for n in found.group(4).strip("()").replace("\n", " ").split(",")}
        their = found.group(1) == "tests.e2e" or found.group(3) == "_helpers"
        if their or names - _PROVIDED - {""}:
            return True
    return False


def _test_files(work: Path, private: dict[Path, list[str]]) -> tuple[list[Path], Counter[str]]:
    tests = work / "tests"
    run: list[Path] = []
    skipped: Counter[str] = Counter()
    for path in sorted(tests.rglob("test_*.py")):
        rel = path.relative_to(work)
        n = len(re.findall(r"^\s*(?:async )?def test_", path.read_text(encoding="utf-8"), re.M))
        if rel.parts[1] == "backends":
            skipped["backend-object internals (tests/backends)"] += n
        elif rel.parts[1] == "scripts":
            skipped["remote-store's repository tooling (tests/scripts)"] += n
        elif _needs_their_helpers(path.read_text(encoding="utf-8")):
            skipped["remote-store's conftest helpers (built on its private modules)"] += n
            print(f"  private  {rel} ({n} tests): imports helpers from remote-store's conftest")
        elif path in private:
            skipped["private module or name"] += n
            print(f"  private  {rel} ({n} tests): {', '.join(private[path])}")
        else:
            run.append(path)
    return run, skipped


_CONFTEST = '''"""Public-API fixtures standing in for remote-store's own conftest."""
import asyncio
import inspect

import pytest
from storeroom import CapabilitySet, Forwarding, Store
from storeroom.backends import MemoryBackend


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests with asyncio.run (remote-store used pytest-asyncio's auto mode).

    A test waiting for an event that never comes fails after 30 s instead of hanging.
    """
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    coro = pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names})
    try:
        asyncio.run(asyncio.wait_for(coro, 30))
    except TimeoutError:
        pytest.fail("timed out after 30 s")
    return True


class RestrictedBackend(Forwarding):
    """The inner backend without the ``exclude`` capabilities (a public Forwarding layer)."""

    def __init__(self, backend, exclude):
        super().__init__(backend)
        self.capabilities = CapabilitySet(set(backend.capabilities) - set(exclude))


def make_restricted_store(exclude):
    """A Store on a seeded memory backend lacking the ``exclude`` capabilities."""
    backend = MemoryBackend()
    backend.write("test.txt", b"hello")
    backend.write("folder/a.txt", b"data")
    return Store(backend=RestrictedBackend(backend, exclude), root_path="")


@pytest.fixture
def mem_backend():
    return MemoryBackend()


@pytest.fixture
def mem_store(mem_backend):
    return Store(backend=mem_backend)


@pytest.fixture
def memory_store(mem_store):
    return mem_store
'''


def check_tests(work: Path, env: dict[str, str], private: dict[Path, list[str]]) -> Counter[str]:
    files, counts = _test_files(work, private)
    for conftest in (work / "tests").rglob("conftest.py"):
        # A sub-folder conftest made only of public fixtures (after renaming) is kept.
        top = conftest.parent == work / "tests"
        if top or conftest in private or "infra" in conftest.read_text():
            conftest.unlink()
    (work / "tests" / "conftest.py").write_text(_CONFTEST)
    meta = tomllib.loads((work / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    ini = ["[pytest]", "markers ="] + [f"    {m}" for m in meta.get("markers", [])]
    (work / "pytest.ini").write_text("\n".join(ini) + "\n")
    report = work / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "--tb=native", "-p", "no:cacheprovider"]
    cmd += ["-p", "no:randomly"]
    cmd += ["-m", "not live", f"--junitxml={report}", "-o", "addopts="]
    cmd += ["--continue-on-collection-errors", *map(str, files)]
    subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=3000)
    return counts + classify_report(report)


def classify_report(report: Path) -> Counter[str]:
    """Counts from a junit report, each failure under its cause (``rs_causes``); prints them."""
    counts: Counter[str] = Counter()
    causes: Counter[tuple[str, str]] = Counter()
    for case in ET.parse(report).getroot().iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is None:
            skipped = case.find("skipped") is not None
            counts["skipped by the test itself" if skipped else "passed"] += 1
            continue
        msg = (bad.get("message") or "?").splitlines()[0][:160]
        if msg.startswith("collection failure") or not msg.strip():
            lines = [ln.strip() for ln in (bad.text or "").splitlines() if ln.strip()]
            msg = "collection: " + (lines[-1][:150] if lines else "?")
        where = f"{case.get('classname') or '?'}::{case.get('name') or '?'}"
        kind, reason = classify(where, msg)
        counts[f"failed: {kind}"] += 1
        causes[(kind, reason if kind != UNEXPLAINED else f"{where}: {msg}")] += 1
    for (kind, reason), n in sorted(causes.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"  {kind.upper():11} x{n:<3} {reason}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="0.33.0")
    parser.add_argument("--sdist", type=Path, help="use this sdist instead of downloading")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--only", default="examples,configs,tests")
    args = parser.parse_args()
    sys.path.insert(0, str(SRC))
    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="rs-check-"))
    try:
        tarball = args.sdist or fetch_sdist(args.version, tmp)
        tree = unpack(tarball, tmp / "sdist")
        work = tmp / "work"
        work.mkdir()
        for name in ("examples", "tests", "infra", "pyproject.toml"):
            src = tree / name
            if src.is_dir():
                shutil.copytree(src, work / name)
            elif src.exists():
                shutil.copy(src, work / name)
        private = rename_tree(work)
        tag = re.sub(r"[^a-z0-9]", "", tmp.name.rsplit("-", 1)[-1].lower()) or "x"
        env = run_env(server_env(tag), work)  # bucket and container names: [a-z0-9-]
        results: dict[str, Counter[str]] = {}
        if "examples" in only:
            print("examples:")
            results["examples"] = check_examples(work, env, private)
        if "configs" in only:
            print("documented configs:")
            results["documented configs"] = check_configs(tree)
        if "tests" in only:
            print("public-API tests:")
            results["public-API tests"] = check_tests(work, env, private)
        print(f"\nremote-store {args.version} material on storeroom:")
        for what, counts in results.items():
            print(f"  {what}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return 0
    finally:
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
