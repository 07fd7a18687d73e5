"""Events -> catalog matches -> per-computer diagnoses; message rendering; paste search.

This room never reads files and never prints: it gets Events and a
KnowledgeBase and returns plain objects that the reports and the TUI show.
Its parts are driven in one order by ``scan.Analysis`` (``CatalogIndex.match``,
then ``Correlator.add``, then ``Correlator.diagnose``): the pipeline, the
knowledge-base examples and the tests all diagnose through it.
"""

from tlsdiag.match.catalog import CatalogIndex, Match
from tlsdiag.match.diagnose import Correlator, Diagnosis, StoreFinding, StoreResult
from tlsdiag.match.explain import ExplainMatch, ExplainResult, explain, normalise
from tlsdiag.match.hostfacts import HOST_FACT_EVENT_IDS, HOST_FACT_PROVIDERS, HostFacts, HostFactsCollector
from tlsdiag.match.render import render_message

__all__ = [
    "HOST_FACT_EVENT_IDS", "HOST_FACT_PROVIDERS", "CatalogIndex", "Correlator", "Diagnosis", "ExplainMatch", "ExplainResult",
    "HostFacts", "HostFactsCollector", "Match", "StoreFinding", "StoreResult", "explain", "normalise",
    "render_message",
]
