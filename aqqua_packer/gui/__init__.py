"""The desktop wizard (PySide6).  The only place in aqqua_packer that imports Qt."""
