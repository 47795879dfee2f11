"""Why a remote-store public-API test fails on storeroom: used by check_remote_store.py.

Each cause is (kind, reason, pattern); the pattern is searched in
``"<test id> | <first line of the failure>"``. Kinds: ``private`` (the test reaches
remote-store's private modules, backend-object internals or repository tooling),
``deliberate`` (a difference listed in docs/migrating-from-remote-store.md).
A failure matching no cause is ``unexplained``: a bug to fix or a cause to add.
"""

from __future__ import annotations

import re

PRIVATE = "private"
DELIBERATE = "deliberate"
UNEXPLAINED = "unexplained"

_BACKEND_OBJ = r"(?:Async)?\w*(?:Backend|Layer|Adapter)"

CAUSES: list[tuple[str, str, str]] = [
    (
        PRIVATE,
        "imports a remote-store private module or name, or its test helpers",
        r"No module named '(?:storeroom\.[\w.]*\._|tests\.|_dafny)|cannot import name '_",
    ),
    (
        PRIVATE,
        "reads a private attribute, mocks a Backend, or patches a Store method on an instance",
        r"object has no attribute '_|Mock object has no attribute"
        r"|object attribute '\w+' is read-only|test_works_on_basic_write_backend",
    ),
    (
        PRIVATE,
        "calls backend-object methods storeroom backends do not have (storeroom backends "
        "implement a few primitives; read, write_atomic, list_files, ... are the Store's)",
        rf"'{_BACKEND_OBJ}' object has no attribute|type object '{_BACKEND_OBJ}' has no attribute"
        r"|unexpected keyword argument 'missing_ok'|Can't instantiate abstract class"
        r"|test_async_drift|TestStoreForwardsMaxDepth|test_ping\.TestStorePing|test_seekable"
        r"|test_async_cancellation.*timed out|test_read_large_content_chunked"
        r"|test_head_unknown_modified_time_is_none",
    ),
    (
        PRIVATE,
        "checks remote-store's own repository (docs pages, pyproject, examples folder: the "
        "examples are run above)",
        r"test_api_coverage|test_py314_unraisable_filter|tests\.test_examples",
    ),
    (
        PRIVATE,
        "checks that remote-store's wrapper classes override each Store member",
        r"DriftProtection|missing overrides for",
    ),
    (
        DELIBERATE,
        "storeroom's ext modules export more names than remote-store's (__all__ compared as a set)",
        r"(?:test_integrity|test_partition|test_streams)\.\w+::test_all\w* \|"
        r"|(?:test_batch|test_transfer)::test_module_exports",
    ),
    (
        DELIBERATE,
        "RemotePath is a str and the root is '' (remote-store: not a str, root '.', "
        "RemotePath('') refused, parent of 'a' None)",
        r"test_path\.|test_store_child\.|test_name_property_root|assert '' == '\.'"
        r"|test_child_invalid_subpath_rejected\[\w*-?empty\]",
    ),
    (
        DELIBERATE,
        "listing entries compare by value, not by path",
        r"TestModelEqualityHashing",
    ),
    (
        DELIBERATE,
        "observe/otel events are the layer's, one per backend primitive: operation names "
        "(read, write, stat, list), no event for calls running no primitive, no write_result in "
        "metadata, span and metric names storeroom.*",
        r"test_observe|test_otel|test_folder_info_depth\.\w+::test_observed"
        r"|TestObserveOpenAtomic",
    ),
    (
        DELIBERATE,
        "cache() is the cache layer: it caches per primitive (file contents too), MemoryCache "
        "is a handle on its table (no get/set/delete), CachedStore has no _ttl/_max_entries",
        r"test_cache\.",
    ),
    (
        DELIBERATE,
        "ext.parquet datasets use storeroom's layout (manifest fields, _SUCCESS marker content, "
        "parts under _parts/)",
        r"test_parquet\.",
    ),
    (
        DELIBERATE,
        "AsyncMemoryBackend's type is 'memory'; memory native paths are 'memory://<key>'; "
        "AsyncStore's repr names the adapter",
        r"async-memory|memory://|native path is outside|AsyncStore\(b",
    ),
    (
        PRIVATE,
        "uses remote-store's e2e fixtures (its Docker services)",
        r"tests\.e2e\.[\w.]+::\w+ \| failed on setup",
    ),
    (
        DELIBERATE,
        "Store.unwrap(type) with no such object is InvalidArgument, not CapabilityNotSupported",
        r"in this store's backend stack nor among its SDK objects"
        r"|test_\w*unwrap\w* \| Failed: DID NOT RAISE",
    ),
    (
        DELIBERATE,
        "the Store derives GLOB (from LIST) and ATOMIC_WRITE (from WRITE with an atomic MOVE), "
        "so a backend lacking them still globs and writes atomically",
        r"test_supports \| AssertionError: assert True is False|capability_gated\[(\w+-)?glob\]"
        r"|test_glob_raises\w*(\[\w+\])? \| Failed: DID NOT RAISE"
        r"|test_write_atomic_requires_atomic_write|test_gates_on_capability \| storeroom\.errors",
    ),
    (
        DELIBERATE,
        "upload/download/transfer return a TransferReport (remote-store: None)",
        r"test_transfer\.\w+::test_basic\w*(\[\w+\])? \| AssertionError: assert TransferReport",
    ),
    (
        DELIBERATE,
        "batches stop early with threads too: concurrent=True with stop_on_error is allowed",
        r"test_concurrent_stop_on_error_raises",
    ),
    (
        DELIBERATE,
        "errors are typed storeroom errors: a bad text encoding or bytes given to write_text is "
        "InvalidArgument (a ValueError), not UnicodeDecodeError/AttributeError",
        r"test_read_text_error_handling\[strict|test_write_text_bytes_rejected",
    ),
    (
        DELIBERATE,
        "unknown config keys are refused with ConfigError, not warned about",
        r"test_pydantic\.\w+::test_unknown_keys_warn",
    ),
    (
        DELIBERATE,
        "error messages are storeroom's wording (same error class, other text)",
        r"test_(immutable|empty_path_rejected|delete_folder_root_rejected|same_path_folder_raises"
        r"|validation_without_iteration)"
        r"\w*(\[[\w-]+\])? \| AssertionError: Regex pattern did not match",
    ),
    (
        DELIBERATE,
        "WriteResult.source is derived: 'native' when the backend answered with an etag or time",
        r"test_write_with_hash_preserves_basic_source",
    ),
]

_COMPILED = [(kind, reason, re.compile(pattern)) for kind, reason, pattern in CAUSES]


def classify(test_id: str, message: str) -> tuple[str, str]:
    """(kind, reason) of one failure; ``(UNEXPLAINED, message)`` when no cause matches."""
    text = f"{test_id} | {message}"
    for kind, reason, pattern in _COMPILED:
        if pattern.search(text):
            return kind, reason
    return UNEXPLAINED, message
