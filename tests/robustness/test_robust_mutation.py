"""Mutation suite, fixed seeds: damaged EVTX never crashes, hangs, blows up memory or loses records silently.

The variants come from ``tests/robustness/mutation/mutate.py`` (truncation at every boundary,
bit flips in every header and in BinXML, offsets pointing anywhere, oversized
lengths, zeroed chunks, a lying chunk count, chunks out of order, garbage
appended). Each runs through ``read_events`` in a worker subprocess under a hang
guard and an address-space limit; ``tests/robustness/mutation/check.py`` states the
accounting rule. The longer run is ``python tools/mutation_run.py --seeds N``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "mutation"))

import check
import driver
import mutate

from tlsdiag.model import Loss
from tlsdiag_devkit.evtxwrite import damage

# Real files: a truncated copy whose header counts 96 chunks, and a CAPI2 log (the channel we read most).
CORPUS_PICKS = ("log2timeline+plaso/test_data/evtx/System2.evtx",
                "omerbenamram+evtx/samples/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx")
CI_SEEDS = [1]
RSS_BOUND_KB = 400 * 1024  # a worker reading files of at most ~1 MB has no business above this


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return driver.write_samples(tmp_path_factory.mktemp("mutation-samples"))


def _assert_clean(result: driver.RunResult, at_least: int) -> None:
    print(driver.describe(result))  # shown with -s: the numbers docs/robustness.md quotes
    assert result.variants >= at_least, driver.describe(result)
    assert not result.failures, driver.describe(result)
    assert result.peak_rss_kb < RSS_BOUND_KB, driver.describe(result)


def test_generator_covers_every_damage_class(samples: list[Path]) -> None:
    names = [v.name for v in mutate.variants(samples[0].read_bytes(), 1, flips=1)]
    for needed in ("trunc:empty", "trunc:filehdr", "trunc:after-filehdr", "-magic@", "-strtab@", "-tpltab@",
                   "-first-rechdr", "-mid-binxml", "-sizecopy", "filehdr-flip", "filehdr-count=65535",
                   "-hdr-flip", "strtab[", "tpltab[", "-free=0xffffffff+crc", "-last_num=", "-rec@",
                   "-size=0xffffffff", "-binxml-flip", "-binxml-len32", "-zeroed", "swap-c", "reversed-chunks",
                   "append-tail", "append-chunk", "append-fakechunk"):
        assert any(needed in n for n in names), needed
    again = [v.name for v in mutate.variants(samples[0].read_bytes(), 1, flips=1)]
    assert names == again  # deterministic from the seed


def test_checker_catches_a_silent_loss(tmp_path: Path, samples: list[Path]) -> None:
    """The rule can fail: drop the Loss the reader reported and the checker must object."""
    original, _ = check.read(samples[0], "rust")
    path = tmp_path / "zeroed.evtx"
    path.write_bytes(damage(samples[0].read_bytes(), "zeroed_chunk", chunk=1))
    events, summary = check.read(path, "rust")
    slot_of = {c: c for c in check.by_chunk(original)}
    assert check.problems(check.by_chunk(original), slot_of, events, summary, path.read_bytes()) == []
    summary.files[0].lost.clear()
    assert check.problems(check.by_chunk(original), slot_of, events, summary, path.read_bytes())
    # an altered record without a loss naming its chunk is caught too
    raw = bytearray(samples[0].read_bytes())
    at = raw.index("fe01.contoso".encode("utf-16-le"), 4096)  # the computer name, inside chunk 0
    raw[at + 6] = ord("9")  # fe01 -> fe09: still parses, CRC no longer matches
    altered = tmp_path / "altered.evtx"
    altered.write_bytes(bytes(raw))
    events, summary = check.read(altered, "rust")
    assert [(loss.where, loss.records) for loss in summary.losses] == [("chunk 0", 0)]  # named, none missing
    assert any(e.computer == "fe09.contoso.local" for e in events)
    summary.files[0].lost[:] = [Loss("x", "chunk 9", "elsewhere", 0)]
    assert check.problems(check.by_chunk(original), slot_of, events, summary, altered.read_bytes())


def test_prefilter_never_hides_a_damaged_chunk(tmp_path: Path, samples: list[Path]) -> None:
    """Damage can erase the provider name the scan prefilter looks for; such a chunk is still named."""
    from tlsdiag.inputs import read_events
    from tlsdiag.model import ReadSummary

    raw = bytearray(samples[0].read_bytes())
    name = "Schannel".encode("utf-16-le")
    at = raw.find(name, 4096, 4096 + 65536)
    assert at > 0
    while 0 < at < 4096 + 65536:  # every copy of the provider name in chunk 0
        raw[at] ^= 0x01
        at = raw.find(name, at + 1, 4096 + 65536)
    path = tmp_path / "hidden.evtx"
    path.write_bytes(bytes(raw))
    summary = ReadSummary()
    list(read_events([path], summary=summary, prefilter=lambda chunk: b"S\x00c\x00h\x00a\x00n" in chunk))
    assert any(loss.where == "chunk 0" for loss in summary.losses), summary.losses


@pytest.mark.slow
def test_mutation_written_samples_rust(samples: list[Path]) -> None:
    result = driver.run(samples, CI_SEEDS, ("rust",), flips=2, jobs=2)
    _assert_clean(result, 600)


@pytest.mark.slow
def test_mutation_corpus_rust(corpus_dir: Path) -> None:
    picks = [corpus_dir / p for p in CORPUS_PICKS]
    result = driver.run(picks, CI_SEEDS, ("rust",), flips=2, every={"rust": 3}, jobs=2)
    _assert_clean(result, 150)


@pytest.mark.slow
def test_mutation_through_the_scan_prefilter(tmp_path: Path) -> None:
    """Read as 'tlsdiag scan' does: chunks the prefilter skips are not losses, damaged ones still are named.

    The sample has whole chunks of a provider the knowledge base does not want (5 of 7 chunks skipped);
    original and variant are read with the same prefilter, so the rule compares like with like.
    """
    sample = driver.mixed_sample(tmp_path)
    result = driver.run_sample(sample, CI_SEEDS[0], "rust", flips=2, every=2, prefilter=True)
    _assert_clean(result, 100)


@pytest.mark.slow
def test_mutation_parallel_reader_path(tmp_path: Path) -> None:
    """Files above the parallel threshold are read in worker processes; the same rule holds there.

    The threshold (16 MiB) is lowered to 1 MiB inside the mutation worker so a 2 MB file takes that path.
    """
    sample = driver.large_sample(tmp_path, megabytes=2)
    result = driver.run_sample(sample, CI_SEEDS[0], "rust", flips=2, every=12, parallel_min=1 << 20)
    _assert_clean(result, 20)


@pytest.mark.slow
def test_mutation_python_backend_subset(tmp_path: Path) -> None:
    sample = driver.python_sample(tmp_path)
    result = driver.run([sample], CI_SEEDS, ("python",), flips=2, every={"python": 3}, jobs=2)
    _assert_clean(result, 20)
