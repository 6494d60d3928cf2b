"""Instrument readers: each recognises its folders and lists images and metadata rows."""

from .base import ROW_COL, TABLE_COL, Detection, ImageRef, Scan, SetAside

__all__ = ["ROW_COL", "TABLE_COL", "Detection", "ImageRef", "Scan", "SetAside"]
