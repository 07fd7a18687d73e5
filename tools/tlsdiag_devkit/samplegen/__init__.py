"""Deterministic generator for the bundled samples (``python tools/make_samples.py``).

Modules: ``facts`` (the events of interest, each with its source key from
../shared/research/kb-and-events.md), ``noise`` (ordinary background events,
shaped after real logs in the corpus), ``forms`` (XML exports, Event Viewer
text, zip), ``scenarios`` (one function per scenario).

Hook for other generators: if a module ``tlsdiag_devkit.samplegen.extra`` exists and defines
``extra_files(scenario: str, scenario_dir: pathlib.Path) -> None``, it is called
after each scenario has been written, e.g. to add certificate-store exports.
Whatever it writes must be deterministic too (tests/devkit/test_samples.py compares
every file under samples/ with a fresh run).
"""
