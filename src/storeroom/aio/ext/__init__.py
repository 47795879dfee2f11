"""Async helpers (remote-store's ``aio.ext``): ``storeroom.aio.ext.write.write_with_hash``."""
