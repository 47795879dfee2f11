"""Listings of the ``obstore`` engine (spec S3-085): the shared ``pages`` of both backends."""

from __future__ import annotations

from storeroom.backends._obstore_common import pages

__all__ = ["pages"]
