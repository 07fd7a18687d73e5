"""The knowledge base: ``signatures/`` loaded, validated and typed."""

from tlsdiag.kb.load import Problem, check_kb, load_kb
from tlsdiag.kb.model import CatalogEvent, Cause, KnowledgeBase

__all__ = ["CatalogEvent", "Cause", "KnowledgeBase", "Problem", "check_kb", "load_kb"]
