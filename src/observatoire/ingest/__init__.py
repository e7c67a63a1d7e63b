"""Importers: files as producers publish them, read and checked, written atomically."""
