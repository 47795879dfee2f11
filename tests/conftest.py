"""Root conftest of storeroom's own tests: enables the shipped conformance plugin."""

pytest_plugins = ["storeroom.testing.conformance.plugin"]
