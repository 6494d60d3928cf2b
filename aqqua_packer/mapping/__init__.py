"""Mapping: from the columns a contributor has to the fields AqQua needs."""

from .apply import Item, Mapped, apply_mapping
from .model import FieldSpec, Mapping, load_profile, parse_cli_mapping, save_profile

__all__ = [
    "FieldSpec",
    "Item",
    "Mapped",
    "Mapping",
    "apply_mapping",
    "load_profile",
    "parse_cli_mapping",
    "save_profile",
]
