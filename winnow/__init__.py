"""Winnow's engine: pure curation logic with no Dagster imports.

Polars LazyFrame in, LazyFrame out; files are read and written only at the edges.
"""

__version__ = "0.1.0"
