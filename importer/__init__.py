"""Bulk-import candidates from CSV/XLSX into any ATS through StackOne's Unified API."""

__version__ = "0.1.0"
