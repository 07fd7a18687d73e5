"""Events -> catalog matches -> per-computer diagnoses; message rendering; paste search.

This room never reads files and never prints: it gets Events and a
KnowledgeBase and returns plain objects that the reports and the TUI show.
"""

from tlsdiag.match.catalog import CatalogIndex, Match, match_events
from tlsdiag.match.diagnose import Correlator, Diagnosis, StoreResult, diagnose
from tlsdiag.match.explain import ExplainMatch, ExplainResult, explain, normalise
from tlsdiag.match.hostfacts import HOST_FACT_EVENT_IDS, HOST_FACT_PROVIDERS, HostFacts, HostFactsCollector
from tlsdiag.match.render import render_message

__all__ = [
    "HOST_FACT_EVENT_IDS", "HOST_FACT_PROVIDERS", "CatalogIndex", "Correlator", "Diagnosis", "ExplainMatch", "ExplainResult",
    "HostFacts", "HostFactsCollector", "Match", "StoreResult", "diagnose", "explain", "match_events",
    "normalise", "render_message",
]
