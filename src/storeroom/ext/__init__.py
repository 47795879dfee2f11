"""Store-level helpers that work with any backend (spec EXT-*).

Import the module you need; nothing here is loaded by ``import storeroom``:
``storeroom.ext.batch`` (parallel delete/copy/exists/read with per-item
results), ``storeroom.ext.transfer`` (upload, download, store-to-store),
``storeroom.ext.integrity`` (checksums), ``storeroom.ext.streams`` (progress
and checksum stream wrappers), ``storeroom.ext.partition`` (Hive-style
``key=value/`` paths), ``storeroom.ext.glob`` (portable glob matching),
``storeroom.ext.cache`` / ``storeroom.ext.observe`` (remote-store's ``cache()`` and
``observe()`` store wrappers over the layers), ``storeroom.ext.write`` (writes that
return their digest), ``storeroom.ext.yaml`` (``from_yaml``).
"""
