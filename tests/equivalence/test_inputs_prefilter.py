"""The chunk prefilter is sound, and parallel reading gives exactly the sequential result."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.evtxspecs import T0, capi, lync, schannel
from tlsdiag.inputs import ReadStats, chunk_prefilter, discover, read_events
from tlsdiag.inputs.options import ReadOptions
from tlsdiag.kb import load_kb
from tlsdiag.match.hostfacts import HOST_FACT_PROVIDERS
from tlsdiag.model import ReadSummary
from tlsdiag.scan import prefilter_event_ids, prefilter_names
from tlsdiag_devkit.evtxwrite import EventSpec, EvtxWriter

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

NAMES = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x24F), min_size=1, max_size=40)


ENGINES = ["hyperscan", "fold"]  # hyperscan is a dependency on this platform: its absence must fail here


def test_hyperscan_is_the_default_engine_here() -> None:
    import hyperscan  # noqa: F401  (a missing wheel fails this test, it is not skipped)

    assert chunk_prefilter(["Schannel"]).engine == "hyperscan"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=300, deadline=None)
@given(name=NAMES, before=st.binary(max_size=300), after=st.binary(max_size=300), flips=st.integers(0, 2**40))
def test_a_chunk_holding_the_name_in_any_ascii_case_always_passes(engine: str, name: str, before: bytes,
                                                                   after: bytes, flips: int) -> None:
    # only ASCII letters are folded (catalog names are ASCII); others stay as given
    cased = "".join((c.upper() if (flips >> (i % 40)) & 1 else c.lower()) if c.isascii() else c
                    for i, c in enumerate(name))
    raw = before + cased.encode("utf-16-le") + after
    assert chunk_prefilter([name], engine=engine)(raw)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(names=st.lists(NAMES, min_size=1, max_size=4), hay=st.binary(max_size=400),
       inserts=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 400), st.booleans()), max_size=3))
def test_hyperscan_passes_only_what_the_fold_passes(names: list[str], hay: bytes,
                                                     inserts: list[tuple[int, int, bool]]) -> None:
    # both are sound; hyperscan is the stricter of the two (no NUL-interrupted names), never looser
    for which, at, wide in inserts:
        name = names[which % len(names)]
        piece = name.encode("utf-16-le") if wide or not name.isascii() else name.encode("ascii")
        hay = hay[:at] + piece + hay[at:]
    fast, fold_engine = chunk_prefilter(names, engine="hyperscan"), chunk_prefilter(names, engine="fold")
    if fast(hay):
        assert fold_engine(hay)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=200, deadline=None)
@given(slots=st.lists(st.binary(min_size=0, max_size=64), min_size=1, max_size=6),
       places=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 60), st.sampled_from(["Schannel", "LS Server"])),
                       max_size=4))
def test_select_finds_every_slot_holding_a_name(engine: str, slots: list[bytes],
                                                places: list[tuple[int, int, str]]) -> None:
    size = 96
    cells = [bytearray(s.ljust(size, b"\x01")) for s in slots]
    for slot, at, name in places:
        if slot < len(cells):
            wide = name.encode("utf-16-le")
            at = min(at, size - len(wide))
            cells[slot][at:at + len(wide)] = wide
    block = b"".join(bytes(c) for c in cells)
    f = chunk_prefilter(["Schannel", "LS Server"], engine=engine)
    chosen = f.select(block, size)
    assert {k for k, c in enumerate(cells) if f(bytes(c))} <= chosen  # a name inside a slot selects it
    assert chosen <= set(range(len(cells)))


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=100, deadline=None)
@given(counts=st.lists(st.integers(0, 30), min_size=1, max_size=12), seed=st.integers(0, 2**32 - 1))
def test_select_on_dense_blocks_finds_exactly_the_slots_holding_names(engine: str, counts: list[int],
                                                                       seed: int) -> None:
    # slots with many names make the hyperscan engine stop the block scan and go on slot by slot
    rng = random.Random(seed)
    size = 2048
    wide = "Schannel".encode("utf-16-le")
    cells = []
    for count in counts:
        cell = bytearray(b"\x01" * size)
        for _ in range(count):
            at = rng.randrange(0, size - len(wide))
            cell[at:at + len(wide)] = wide
        cells.append(cell)
    f = chunk_prefilter(["Schannel"], engine=engine)
    truth = {k for k, cell in enumerate(cells) if f(bytes(cell))}
    assert truth == {k for k, count in enumerate(counts) if count}
    assert f.select(b"".join(bytes(c) for c in cells), size) == truth


@pytest.mark.parametrize("engine", ENGINES)
def test_chunk_without_the_names_is_rejected(engine: str) -> None:
    f = chunk_prefilter(["Schannel", "LS User Services"], engine=engine)
    assert not f("Service Control Manager".encode("utf-16-le") + b"\x00" * 100)
    assert not f("Schanne".encode("utf-16-le") + b"-\x00l\x00")  # interrupted by something other than NULs
    assert f("LS USER services".encode("utf-16-le"))
    nul_interrupted = "S\x00C\x00H\x00\x00\x00annel".encode("latin-1")
    # the fold drops every NUL, so a name interrupted by extra NULs passes there: a harmless false positive
    assert f(nul_interrupted) is (engine == "fold")


@pytest.mark.parametrize("engine", ENGINES)
def test_ascii_text_also_passes(engine: str) -> None:
    assert chunk_prefilter(["Schannel"], engine=engine)(b"xx SCHANNEL xx")


def test_the_engine_survives_pickling_and_threads() -> None:
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    f = pickle.loads(pickle.dumps(chunk_prefilter(["Schannel"], engine="hyperscan")))  # noqa: S301
    hay = b"\x00" * 5000 + "schannel".encode("utf-16-le")
    with ThreadPoolExecutor(4) as pool:  # one scratch space per thread
        assert all(pool.map(f, [hay] * 64))


def _record(provider: str, event_id: str) -> str:
    return ('{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"' + provider +
            '","Guid":"1F678132"}},"EventID":' + event_id + ',"Version":0,"Level":2},"EventData":{"EventID":36888}}}')


@pytest.mark.parametrize(("event_id", "wanted"), [
    ("36887", True), ("36888", False), ('{"#attributes":{"Qualifiers":49152},"#text":36887}', True),
    ('{"#attributes":{"Qualifiers":49152},"#text":36888}', False), (str((49152 << 16) | 36887), True),
    ('"36888"', True),  # not a number: cannot decide here, so the record is decoded
    ("null", True), ("3688x", True),
])
def test_records_are_kept_by_provider_and_event_id(event_id: str, wanted: bool) -> None:
    f = chunk_prefilter(["Schannel", "EventLog"], {"Schannel": [36887], "EventLog": None})
    assert f.record_wanted(_record("Schannel", event_id)) is wanted
    assert f.record_wanted(_record("EventLog", event_id))  # every id of a provider with None
    assert not f.record_wanted(_record("Service Control Manager", "36887"))
    assert f.record_wanted(_record("SCHANNEL", "36887"))


def catalog_providers() -> list[str]:
    kb = load_kb()
    return sorted({p for entry in kb.events.values() for p in entry.providers} | set(HOST_FACT_PROVIDERS))


def _wanted_ids(events, kb) -> list[dict]:
    ids = prefilter_event_ids(kb)
    lowered = {name.lower(): found for name, found in ids.items()}
    return [e.to_dict() for e in events if e.event_id in lowered.get(e.provider.lower(), ())]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_filtering_by_provider_and_event_id_keeps_every_wanted_event(engine: str, corpus_dir: Path) -> None:
    """What the scan passes (catalog providers and their event ids): samples and corpus, full vs filtered."""
    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb), engine=engine)
    inputs = [i for i in discover([SAMPLES, corpus_dir]) if i.kind in ("evtx", "xml", "text")]
    full, full_summary, _ = _read(inputs)
    filtered, summary, stats = _read(inputs, prefilter=prefilter)
    assert _wanted_ids(filtered, kb) == _wanted_ids(full, kb)
    assert len(_wanted_ids(full, kb)) > 50
    assert stats.records_skipped > 0 and stats.chunks_skipped > 100
    # what else got through had no provider name to decide on (damaged records): kept, never dropped
    kept = {(e.provider.lower(), e.event_id) for e in filtered if e.form == "evtx" and e.provider}
    assert {(p.lower(), i) for p, ids in prefilter_event_ids(kb).items() for i in ids} >= kept
    assert {(x.source, x.where) for x in summary.losses} <= {(x.source, x.where) for x in full_summary.losses}


def _read(paths, **kw) -> tuple[list, ReadSummary, ReadStats]:
    summary, stats = ReadSummary(), ReadStats()
    events = list(read_events(paths, summary=summary, stats=stats, **kw))
    return events, summary, stats


def _wanted(events, names) -> list[dict]:
    lowered = {n.lower() for n in names}
    return [e.to_dict() for e in events if e.provider.lower() in lowered]


@pytest.mark.slow
@pytest.mark.parametrize("with_channels", [False, True])
def test_full_and_filtered_reads_agree_on_every_sample(with_channels: bool) -> None:
    names = catalog_providers()
    if with_channels:  # what a caller passing provider and channel names gets: still sound
        kb = load_kb()
        names = sorted(set(names) | {e.channel for e in kb.events.values()})
    inputs = [i for i in discover([SAMPLES]) if i.kind in ("evtx", "xml", "text")]
    full, _, _ = _read(inputs)
    filtered, summary, _stats = _read(inputs, prefilter=chunk_prefilter(names))
    assert _wanted(filtered, names) == _wanted(full, names)
    assert len(_wanted(full, names)) > 20
    assert summary.records_lost == 0


@pytest.mark.slow
def test_full_and_filtered_reads_agree_on_the_corpus(corpus_dir: Path) -> None:
    # providers present in the corpus, plus the near miss: "Schannel" occurs inside Security 4611/4622
    # event data, so those chunks pass the byte test but their records are not Schannel's
    names = ["Microsoft-Windows-CAPI2", "Service Control Manager", "EventLog", "Schannel",
             "Microsoft-Windows-Kernel-General"]
    inputs = [i for i in discover([corpus_dir]) if i.kind == "evtx"]
    full, full_summary, _ = _read(inputs)
    filtered, summary, stats = _read(inputs, prefilter=chunk_prefilter(names))
    assert _wanted(filtered, names) == _wanted(full, names)
    assert len(_wanted(full, names)) > 500
    assert stats.chunks_skipped > 100 and stats.records_skipped > 1000  # the filter does cut work
    assert not any(e.provider == "Schannel" for e in full)  # the corpus has no real Schannel events
    # skipping never invents damage, and damaged chunk slots are reported whether parsed or not
    assert {(x.source, x.where) for x in summary.losses} <= {(x.source, x.where) for x in full_summary.losses}
    assert sum(1 for x in summary.losses if "chunk magic" in x.reason) == sum(
        1 for x in full_summary.losses if "chunk magic" in x.reason) > 0


def _mixed_log(path: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    noise = EventSpec(channel="System", provider="Service Control Manager",
                      provider_guid="{555908D1-A6D7-4695-8E1E-26931D2012F4}", event_id=7036, time=T0,
                      computer="fe01.contoso.local", data={"param1": "Windows Update", "param2": "running"})
    with EvtxWriter(path, dirty=True) as w:
        for i in range(n):
            r = rng.random()
            spec = schannel(i) if r < 0.002 else lync(i) if r < 0.003 else capi(i) if r < 0.01 else noise
            w.add(replace(spec, time=T0.replace(minute=i % 60)))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["rust"])
def test_threaded_triage_equals_sequential_reading(tmp_path: Path, backend: str) -> None:
    path = _mixed_log(tmp_path / "System.evtx", 12000)
    names = ["Schannel", "LS User Services"]
    for prefilter in (None, chunk_prefilter(names)):  # block_chunks: several blocks, odd boundaries
        seq, seq_summary, seq_stats = _read([path], options=ReadOptions(workers=1, block_chunks=7),
                                            prefilter=prefilter, backend=backend)
        par, par_summary, par_stats = _read([path], options=ReadOptions(workers=2, block_chunks=7),
                                            prefilter=prefilter, backend=backend)
        assert [e.to_dict() for e in par] == [e.to_dict() for e in seq]
        assert par_summary.losses == seq_summary.losses
        assert vars(par_stats) == vars(seq_stats)
    assert seq_stats.chunks_skipped > 0 and len(seq) > 0


def test_threaded_triage_of_a_damaged_file_reports_the_same_losses(tmp_path: Path) -> None:
    from tlsdiag_devkit.evtxwrite import damage

    clean = _mixed_log(tmp_path / "clean.evtx", 6000).read_bytes()
    path = tmp_path / "System.evtx"
    path.write_bytes(damage(damage(clean, "bad_record_size", chunk=3), "zeroed_chunk", chunk=5))
    seq, seq_summary, _ = _read([path], options=ReadOptions(workers=1, block_chunks=4))
    par, par_summary, _ = _read([path], options=ReadOptions(workers=2, block_chunks=4))
    assert [e.to_dict() for e in par] == [e.to_dict() for e in seq]
    assert par_summary.losses == seq_summary.losses and len(seq_summary.losses) >= 2


def test_any_callable_prefilter_works(tmp_path: Path) -> None:
    path = _mixed_log(tmp_path / "System.evtx", 3000)
    events, _, stats = _read([path], workers=2, prefilter=lambda raw: False)
    assert events == [] and stats.chunks_skipped == stats.chunks_total > 0


@pytest.mark.slow
@pytest.mark.parametrize("reading", ["stream", "mapped", "preadv"])
@pytest.mark.parametrize("damage_kind", [None, "bad_record_size", "zeroed_chunk", "bad_chunk_magic", "bad_chunk_data_crc",
                                         "garbage_chunk", "truncated"])
def test_block_triage_gives_what_chunk_by_chunk_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      reading: str, damage_kind: str | None) -> None:
    """``scan_file`` (blocks, runs of skips, triage threads) against ``scan_chunks`` (one slot at a time).

    One thread reads the stream; with two, the file is mapped, or read with preadv (mapping not offered).
    """
    from tlsdiag.inputs import evtxfile
    from tlsdiag.inputs.options import detect_platform
    from tlsdiag_devkit.evtxwrite import damage

    threads = 1 if reading == "stream" else 2
    # many blocks, odd boundaries
    options = ReadOptions(platform=replace(detect_platform(), mmap=reading != "preadv"), block_chunks=3,
                          triage_ahead=2)
    used = []
    for name in ("_streamed_blocks", "_mapped_blocks"):
        real = getattr(evtxfile, name)
        monkeypatch.setattr(evtxfile, name, lambda *a, _real=real, _name=name: used.append(_name) or _real(*a))
    raw = _mixed_log(tmp_path / "clean.evtx", 9000, seed=11).read_bytes()
    if damage_kind:
        raw = damage(raw, damage_kind, chunk=4)
    path = tmp_path / "System.evtx"
    path.write_bytes(raw + b"\x00" * 1000)  # and a cut slot at the end
    header = evtxfile.parse_file_header(raw[:evtxfile.FILE_HEADER_SIZE])
    prefilter = chunk_prefilter(["Schannel", "LS User Services"], {"Schannel": [36887, 36888]})

    def totals(outcomes) -> tuple:
        events, losses, counts = [], [], [0] * 5
        for _meta, out in outcomes:
            events += [e.to_dict() for e in out.events]
            losses += out.losses
            for i, n in enumerate((out.chunks_total, out.chunks_skipped, out.chunks_parsed, out.bytes_read,
                                   out.records_parsed)):
                counts[i] += n
        return events, losses, counts

    with path.open("rb") as fh:
        fh.seek(evtxfile.FILE_HEADER_SIZE)
        want = totals(evtxfile.scan_chunks(evtxfile.iter_chunks(fh), "f", header.chunk_count, "rust", prefilter))
    with path.open("rb") as fh:
        fh.seek(evtxfile.FILE_HEADER_SIZE)
        got = totals(evtxfile.scan_file(fh, "f", header.chunk_count, "rust", prefilter, threads=threads,
                                        options=options))
    assert got == want
    assert used == {"stream": ["_streamed_blocks"], "mapped": ["_mapped_blocks"], "preadv": []}[reading]
    assert want[2][1] > 0 and want[0]  # chunks were skipped, events were found
    if damage_kind:
        assert want[1]


def test_a_mapped_file_cut_short_during_the_scan_is_read_as_far_as_it_goes(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages past the new end of a mapped file must not be touched (that would end the process with SIGBUS)."""
    from tlsdiag.inputs import evtxfile

    # one chunk per block, none triaged ahead: block 1 is looked at only after block 0 is handed out
    options = ReadOptions(block_chunks=1, triage_ahead=0)
    path = _mixed_log(tmp_path / "System.evtx", 9000, seed=5)
    raw = path.read_bytes()
    header = evtxfile.parse_file_header(raw[:evtxfile.FILE_HEADER_SIZE])
    assert header.chunk_count > 4
    keep = evtxfile.FILE_HEADER_SIZE + 3 * evtxfile.CHUNK_SIZE + 1000  # three chunks and a bit of the fourth
    used = []
    real = evtxfile._mapped_blocks
    monkeypatch.setattr(evtxfile, "_mapped_blocks", lambda *a: used.append(1) or real(*a))
    with path.open("rb") as fh:
        fh.seek(evtxfile.FILE_HEADER_SIZE)
        outcomes = evtxfile.scan_file(fh, "f", header.chunk_count, "rust", chunk_prefilter(["Schannel"]), threads=2,
                                      options=options)
        results = [next(outcomes)[1]]  # the file is mapped whole by now
        with path.open("r+b") as cut:
            cut.truncate(keep)
        results += [out for _meta, out in outcomes]
    assert used
    assert sum(out.chunks_total for out in results) == 4  # three whole chunks and the cut fourth
    assert any("file ends inside chunk" in loss.reason for out in results for loss in out.losses)
