"""The developer kit of tlsdiag: writers of test data, never shipped in the tlsdiag wheel.

``evtxwrite`` writes real ``.evtx`` files (fixtures, samples, benchmark data, damaged variants),
``storegen`` writes certificate-store exports in every input form, and ``samplegen`` builds the
bundled ``samples/`` (run through ``tools/make_samples.py``). Users only read evidence, so none of
this is in ``pip install .``; ``python3 dev.py`` installs it into the development environment
(``pip install -e tools``). None of it is ever used on evidence: it only creates new files.
"""
