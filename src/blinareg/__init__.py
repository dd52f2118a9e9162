"""blinareg: registry and outcomes analysis for B-ALL treated with blinatumomab."""

__version__ = "0.1.0"
