"""After a chunk of wanted records only, the next chunk is parsed without the record-level test (DenseRun).

On logs where every record is relevant the test only ever answers "may match"; skipping it must change
no event and must not stop it from skipping chunks again once they hold no wanted record.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from support.evtxspecs import T0, schannel
from tlsdiag.inputs import chunk_prefilter, evtxfile
from tlsdiag.inputs.options import ReadOptions
from tlsdiag_devkit.evtxwrite import EvtxWriter


def _log(path: Path) -> Path:
    """Wanted Schannel 36887 records, then Schannel 36888 ones (the name in every chunk, no wanted record), then
    wanted ones again."""
    with EvtxWriter(path, dirty=True) as w:
        for part, (event_id, count) in enumerate(((36887, 3000), (36888, 3000), (36887, 3000))):
            for i in range(count):
                w.add(replace(schannel(i), event_id=event_id, time=T0.replace(minute=i % 60, second=part)))
    return path


def _outcomes(path: Path, prefilter, read) -> tuple[list[dict], list[int], int]:
    asked: list[int] = []
    real = prefilter.records_may_match

    def spy(raw: bytes) -> bool:
        asked.append(1)
        return real(raw)

    prefilter.records_may_match = spy
    events, counts = [], [0, 0, 0, 0]
    header = evtxfile.parse_file_header(path.read_bytes()[:evtxfile.FILE_HEADER_SIZE])
    with path.open("rb") as fh:
        fh.seek(evtxfile.FILE_HEADER_SIZE)
        for _meta, out in read(fh, header.chunk_count):
            events += [e.to_dict() for e in out.events]
            for i, n in enumerate((out.chunks_parsed, out.chunks_skipped, out.chunks_skipped_by_records,
                                   out.records_parsed)):
                counts[i] += n
    return events, counts, len(asked)


@pytest.mark.slow
def test_dense_chunks_skip_the_record_test_and_change_no_event(tmp_path: Path) -> None:
    path = _log(tmp_path / "System.evtx")

    def asking_always(fh, count):  # the reading before DenseRun: every passing chunk is tested
        parse = evtxfile.PARSERS["rust"]
        for chunk in evtxfile.iter_chunks(fh):
            yield evtxfile.handle_chunk(chunk, "f", count, parse, pf_always, evtxfile.prefilter_verdict(chunk,
                                                                                                      pf_always))

    pf_always = chunk_prefilter(["Schannel"], {"Schannel": [36887]})
    want, want_counts, want_asked = _outcomes(path, pf_always, asking_always)

    pf_chunks = chunk_prefilter(["Schannel"], {"Schannel": [36887]})
    plain, plain_counts, plain_asked = _outcomes(
        path, pf_chunks, lambda fh, count: evtxfile.scan_chunks(evtxfile.iter_chunks(fh), "f", count, "rust", pf_chunks))
    pf_file = chunk_prefilter(["Schannel"], {"Schannel": [36887]})
    fast, fast_counts, fast_asked = _outcomes(
        path, pf_file, lambda fh, count: evtxfile.scan_file(fh, "f", count, "rust", pf_file, threads=2,
                                                            options=ReadOptions(workers=2, block_chunks=5)))

    assert len(want) == 6000 and plain == fast == want  # the same events, in the same order
    assert plain_counts == fast_counts  # both readings ask for the same chunks
    assert want_counts[2] > 5  # the middle part's chunks are skipped after the test ...
    assert plain_counts[2] >= want_counts[2] - 1  # ... and still are (at most the first one is parsed)
    assert plain_asked == fast_asked < want_asked / 2  # the wanted parts' chunks were mostly not tested
