"""Test support shipped with storeroom.

``storeroom.testing.conformance`` is the backend conformance suite, a pytest
plugin that any backend (built-in or third-party) runs by declaring a
``storeroom.testing.conformance.targets.Target``. Importing this
package is cheap; pytest and hypothesis are needed only by the suite itself.
"""

from __future__ import annotations

__all__: list[str] = []
