"""storeroom."""
