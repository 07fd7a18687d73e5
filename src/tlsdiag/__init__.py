"""tlsdiag: diagnose Windows Schannel/TLS failures caused by certificate-store mistakes.

Data flows one way: inputs -> events -> matches -> diagnoses -> views.
  inputs/   read collections and files into immutable ``model.Event`` objects
  kb/       load and validate the knowledge base in ``signatures/``
  match/    match events to the catalog, correlate per computer, rank causes, paste search
  stores/   read exported certificate stores and check them
  report/   CLI views (text, JSON, Markdown, HTML, ...)
  tui/      the Textual app
"""

__version__ = "0.1.0"
