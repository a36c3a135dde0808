"""The fuzz targets: one module per family of public functions (see fuzz/registry.py)."""
