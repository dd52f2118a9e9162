"""Tabular import and export of the registry (CSV folder or XLSX workbook) and its column dictionary."""

from blinareg.exchange.dictionary import dictionary_markdown, write_dictionary
from blinareg.exchange.tabular import FORMATS, read_registry, write_registry
from blinareg.exchange.templates import write_templates

__all__ = ["FORMATS", "dictionary_markdown", "read_registry", "write_dictionary", "write_registry", "write_templates"]
