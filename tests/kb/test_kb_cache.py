"""The validated-KB cache: a hit equals a full load, any change misses, any damage falls back, problems win.

All tests use a copy of the real signatures in a temporary folder and a cache folder under tmp_path
(TLSDIAG_CACHE_DIR), so nothing here depends on or touches the user's cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tlsdiag.cli import main
from tlsdiag.errors import KnowledgeBaseError
from tlsdiag.kb import cache, check_kb, load, load_kb
from tlsdiag.kb.model import KnowledgeBase

REPO = Path(__file__).resolve().parents[2]
EVENT_FILE = "capi2-4097.yaml"  # a catalog event; its title is free text the schema accepts as any string


@pytest.fixture
def kbdir(tmp_path: Path) -> Path:
    """A copy of the real signatures; samples/ beside it links to the real sample folders (one link each)."""
    root = tmp_path / "kb" / "signatures"
    shutil.copytree(REPO / "signatures", root)
    samples = root.parent / "samples"
    samples.mkdir()
    for folder in (REPO / "samples").iterdir():
        if folder.is_dir():
            (samples / folder.name).symlink_to(folder, target_is_directory=True)
    return root


@pytest.fixture
def cachedir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(where))
    return where


@pytest.fixture
def full_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every full read-and-check (the real function still runs), so a test can tell a hit from a miss."""
    calls: list[Path] = []
    real = load._read_and_check

    def spy(directory: Path) -> Any:
        calls.append(directory)
        return real(directory)

    monkeypatch.setattr(load, "_read_and_check", spy)
    return calls


def deep(value: Any) -> Any:
    """Every field of every entry, recursively, as plain data with type names (so no field can hide)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, {f.name: deep(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return ("dict", [(deep(k), deep(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [deep(v) for v in value])
    return (type(value).__name__, repr(value))


def full_load(directory: Path, monkeypatch: pytest.MonkeyPatch) -> KnowledgeBase:
    with monkeypatch.context() as mp:
        mp.setenv("TLSDIAG_CACHE_DIR", "off")
        return load_kb(directory)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("kb-*.pickle")) if folder.is_dir() else []


def set_title(path: Path, title: str) -> None:
    text = path.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("title:"))
    path.write_text(text.replace(old, f"title: {json.dumps(title)}", 1), encoding="utf-8")


# ------------------------------------------------------------------------------------------- hit and miss


@pytest.mark.slow
def test_a_hit_equals_a_full_load_field_by_field(kbdir: Path, cachedir: Path, full_loads: list[Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_kb(kbdir)
    assert len(full_loads) == 1 and len(entries(cachedir)) == 1
    second = load_kb(kbdir)
    assert len(full_loads) == 1, "the second load must come from the cache"
    reference = full_load(kbdir, monkeypatch)
    assert deep(second) == deep(reference) == deep(first)
    assert second == reference
    assert len(second.events) == len(list((kbdir / "events").glob("*.yaml")))
    assert second.directory == kbdir and all(e.path.parent == kbdir / "events" for e in second.events.values())


def test_cache_files_are_private_and_written_atomically(kbdir: Path, cachedir: Path) -> None:
    load_kb(kbdir)
    (entry,) = entries(cachedir)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(cachedir.stat().st_mode) == 0o700
    assert [p.name for p in cachedir.iterdir()] == [entry.name]  # no temp file left behind


@pytest.mark.slow
def test_editing_a_signature_file_misses(kbdir: Path, cachedir: Path, full_loads: list[Path]) -> None:
    before = load_kb(kbdir)
    set_title(kbdir / "events" / EVENT_FILE, "Edited after caching")
    after = load_kb(kbdir)
    assert len(full_loads) == 2
    assert after.events["capi2-4097"].title == "Edited after caching"
    assert before.events["capi2-4097"].title != "Edited after caching"
    assert load_kb(kbdir).events["capi2-4097"].title == "Edited after caching"  # and that is now cached
    assert len(full_loads) == 2


@pytest.mark.slow
def test_adding_and_removing_a_file_misses(kbdir: Path, cachedir: Path, full_loads: list[Path]) -> None:
    base = load_kb(kbdir)
    extra = kbdir / "events" / "capi2-4097-copy.yaml"
    extra.write_text((kbdir / "events" / EVENT_FILE).read_text().replace("id: capi2-4097", "id: capi2-4097-copy"))
    grown = load_kb(kbdir)
    assert set(grown.events) == set(base.events) | {"capi2-4097-copy"}
    assert load_kb(kbdir) == grown and len(full_loads) == 2  # cached with the extra file
    extra.unlink()
    shrunk = load_kb(kbdir)
    assert "capi2-4097-copy" not in shrunk.events and shrunk == base


@pytest.mark.slow
def test_a_stray_or_renamed_file_misses_and_is_reported(kbdir: Path, cachedir: Path) -> None:
    load_kb(kbdir)
    (kbdir / "events" / EVENT_FILE).rename(kbdir / "events" / "capi2-4097.yml.bak")
    with pytest.raises(KnowledgeBaseError, match=r"not a \.yaml file"):
        load_kb(kbdir)


@pytest.mark.slow
def test_editing_a_schema_file_misses(kbdir: Path, cachedir: Path) -> None:
    load_kb(kbdir)
    schema = kbdir / "schema" / "event.schema.json"
    doc = json.loads(schema.read_text())
    doc["required"] = [*doc["required"], "no_such_field"]
    schema.write_text(json.dumps(doc))
    with pytest.raises(KnowledgeBaseError, match="no_such_field"):
        load_kb(kbdir)


@pytest.mark.slow
def test_another_version_misses(kbdir: Path, cachedir: Path, full_loads: list[Path],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    load_kb(kbdir)
    old_key = cache.key_for(kbdir)
    monkeypatch.setattr(cache, "__version__", "999.0")
    assert cache.key_for(kbdir) != old_key
    load_kb(kbdir)
    assert len(full_loads) == 2 and len(entries(cachedir)) == 2


@pytest.mark.slow
def test_the_same_content_in_another_folder_misses(kbdir: Path, cachedir: Path, full_loads: list[Path]) -> None:
    """Entries carry their file paths, so a copy elsewhere must not get the first folder's paths."""
    load_kb(kbdir)
    other = kbdir.parent.parent / "other" / "signatures"
    shutil.copytree(kbdir.parent, other.parent, symlinks=True)
    kb = load_kb(other)
    assert len(full_loads) == 2
    assert all(e.path.is_relative_to(other) for e in kb.events.values())


@pytest.mark.slow
def test_a_missing_example_sample_folder_is_reported_despite_a_warm_cache(
        kbdir: Path, cachedir: Path, full_loads: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Sample folders lie outside the hashed files; a hit re-checks them."""
    load_kb(kbdir)
    (kbdir.parent / "samples" / "other-forms").unlink()
    with pytest.raises(KnowledgeBaseError, match="other-forms"):
        load_kb(kbdir)
    assert len(full_loads) == 2


# --------------------------------------------------------------------------------- damage falls back


def _entry_for(kbdir: Path, cachedir: Path) -> Path:
    load_kb(kbdir)
    (entry,) = entries(cachedir)
    return entry


def _framed(payload: bytes) -> bytes:
    return cache.FORMAT + hashlib.sha256(payload).digest() + payload


def _damage_cases(entry: Path, key: str, kb: KnowledgeBase) -> dict[str, bytes]:
    good = entry.read_bytes()
    header = len(cache.FORMAT) + 32
    flipped = bytearray(good)
    flipped[header + 100] ^= 0x55
    bad_events = dict(kb.events)
    bad_events[next(iter(bad_events))] = "not an event"  # type: ignore[assignment]
    wrong_type = dataclasses.replace(kb, events=bad_events)
    return {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "header only": good[:header],
        "flipped byte": bytes(flipped),
        "foreign file": b"PK\x03\x04 this is a zip, not a cache entry" * 10,
        "other key": _framed(pickle.dumps({"key": "0" * 64, "kb": kb, "required_dirs": ()})),
        "not a dict": _framed(pickle.dumps(["key", key])),
        "kb is a string": _framed(pickle.dumps({"key": key, "kb": "kb", "required_dirs": ()})),
        "wrong entry type": _framed(pickle.dumps({"key": key, "kb": wrong_type, "required_dirs": ()})),
        "empty catalog": _framed(pickle.dumps({"key": key, "kb": dataclasses.replace(kb, events={}),
                                               "required_dirs": ()})),
        "unknown class": _framed(b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x0bno_such_mod\x94\x8c"
                                 b"\x05Thing\x94\x93\x94."),
        "not a pickle": _framed(b"\x00\x01\x02garbage"),
    }


@pytest.mark.slow
def test_every_kind_of_damaged_entry_falls_back_to_a_correct_load(kbdir: Path, cachedir: Path,
                                                                   full_loads: list[Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _entry_for(kbdir, cachedir)
    key = cache.key_for(kbdir)
    assert key is not None and entry.name == f"kb-{key}.pickle"
    reference = full_load(kbdir, monkeypatch)
    cases = _damage_cases(entry, key, reference)
    for name, blob in cases.items():
        entry.write_bytes(blob)
        os.chmod(entry, 0o600)
        assert cache.load(key, kbdir) is None, name
        before = len(full_loads)
        kb = load_kb(kbdir)
        assert len(full_loads) == before + 1, name
        assert deep(kb) == deep(reference), name
        assert cache.load(key, kbdir) == reference, f"{name}: the full load rewrites a good entry"


@pytest.mark.slow
def test_an_entry_writable_by_others_is_not_trusted(kbdir: Path, cachedir: Path, full_loads: list[Path]) -> None:
    entry = _entry_for(kbdir, cachedir)
    os.chmod(entry, 0o666)  # noqa: S103 - the point of the test
    load_kb(kbdir)
    assert len(full_loads) == 2
    os.chmod(entry, 0o600)
    os.chmod(cachedir, 0o777)  # noqa: S103 - the point of the test
    load_kb(kbdir)
    assert len(full_loads) == 3


@pytest.mark.slow
@pytest.mark.parametrize("below", ["", "cache"])
def test_an_unwritable_cache_location_still_loads(kbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  full_loads: list[Path], below: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(blocker / below if below else blocker))  # a file, or below one
    assert load_kb(kbdir) == load_kb(kbdir) == full_load(kbdir, monkeypatch)
    assert len(full_loads) == 3 and blocker.read_text() == "not a folder"


@pytest.mark.slow
def test_a_dangling_link_among_the_signatures_is_reported_not_hashed(kbdir: Path, cachedir: Path) -> None:
    load_kb(kbdir)
    (kbdir / "events" / "gone.yaml").symlink_to(kbdir / "events" / "no-such-file.yaml")
    assert cache.key_for(kbdir) is None
    with pytest.raises(KnowledgeBaseError, match=r"gone\.yaml:1: cannot read the file"):
        load_kb(kbdir)
    assert len(entries(cachedir)) == 1


@pytest.mark.slow
def test_off_writes_nothing_anywhere(kbdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     full_loads: list[Path]) -> None:
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    xdg.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", "off")
    assert cache.cache_dir() is None
    load_kb(kbdir)
    load_kb(kbdir)
    assert len(full_loads) == 2
    assert list(home.iterdir()) == [] and list(xdg.iterdir()) == []
    assert not any(p.name.startswith("kb-") for p in kbdir.rglob("*"))


def test_default_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TLSDIAG_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "tlsdiag"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "tlsdiag"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "tlsdiag"


@pytest.mark.slow
def test_never_written_into_the_signatures_folder_or_the_package(kbdir: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 full_loads: list[Path]) -> None:
    package = Path(cache.__file__).resolve().parent.parent
    for where in (kbdir, kbdir / "cache", package / "kbcache-test"):
        monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(where))
        load_kb(kbdir)
        assert not where.exists() or entries(where) == [], where
    assert not (package / "kbcache-test").exists()
    assert len(full_loads) == 3


@pytest.mark.slow
def test_only_the_newest_entries_are_kept(kbdir: Path, cachedir: Path) -> None:
    for n in range(cache.KEEP + 3):
        set_title(kbdir / "events" / EVENT_FILE, f"Version {n}")
        assert load_kb(kbdir).events["capi2-4097"].title == f"Version {n}"
    kept = entries(cachedir)
    assert len(kept) == cache.KEEP
    assert f"kb-{cache.key_for(kbdir)}.pickle" in {p.name for p in kept}
    assert not list(cachedir.glob(".kb-*"))


# ------------------------------------------------------------------------------------ problems win


@pytest.mark.slow
def test_a_knowledge_base_with_problems_is_never_cached(kbdir: Path, cachedir: Path) -> None:
    path = kbdir / "events" / EVENT_FILE
    path.write_text(path.read_text().replace("event_id: 4097", "event_id: four-thousand"))
    with pytest.raises(KnowledgeBaseError, match="event_id"):
        load_kb(kbdir)
    with pytest.raises(KnowledgeBaseError, match="event_id"):
        load_kb(kbdir)
    assert entries(cachedir) == []


@pytest.mark.slow
def test_kb_check_reports_problems_when_the_old_content_is_cached(kbdir: Path, cachedir: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "--signatures", str(kbdir), "check"]) == 0
    load_kb(kbdir)
    assert len(entries(cachedir)) == 1
    good = (kbdir / "events" / EVENT_FILE).read_text()
    (kbdir / "events" / EVENT_FILE).write_text(good.replace("level: information", "level: chatty"))
    assert check_kb(kbdir), "check_kb must validate the files, not trust the cache"
    capsys.readouterr()
    assert main(["kb", "--signatures", str(kbdir), "check"]) == 1
    out = capsys.readouterr().out
    assert EVENT_FILE in out and "chatty" in out
    # the sample-folder cross check, which the content key does not cover
    (kbdir / "events" / EVENT_FILE).write_text(good)
    load_kb(kbdir)  # warm again for the good content
    (kbdir.parent / "samples" / "healthy-server").unlink()
    assert main(["kb", "--signatures", str(kbdir), "check"]) == 1
    assert "healthy-server" in capsys.readouterr().out


# ------------------------------------------------------------------------- end to end and imports


@pytest.mark.slow
def test_scan_output_is_identical_cold_warm_and_off(cachedir: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sample = str(REPO / "samples" / "healthy-server")
    outputs = []
    for setting in (str(cachedir), str(cachedir), "off"):
        monkeypatch.setenv("TLSDIAG_CACHE_DIR", setting)
        main(["scan", sample, "--format", "json", "--quiet"])
        outputs.append(capsys.readouterr().out)
        if setting != "off":
            assert len(entries(cachedir)) == 1
    assert outputs[0] == outputs[1] == outputs[2]
    assert json.loads(outputs[0])  # a real report, not an empty string


HEAVY = ("jsonschema", "referencing", "yaml", "tlsdiag.stores", "cryptography", "textual", "rapidfuzz", "lxml")


def _modules_after(code: str, cachedir: Path) -> list[str]:
    env = dict(os.environ, TLSDIAG_CACHE_DIR=str(cachedir))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, env=env, cwd=REPO, check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_building_the_parser_imports_no_heavy_package(tmp_path: Path) -> None:
    loaded = _modules_after("import tlsdiag.cli.scan\nfrom tlsdiag.cli import build_parser\nbuild_parser()",
                            tmp_path)
    assert "tlsdiag.cli.stores" in loaded and "tlsdiag.cli.events" in loaded  # every subcommand registered
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []
    # nor the pipeline itself: the readers, the matcher and the scan are loaded by the command that runs them
    assert [m for m in loaded if m.startswith(("tlsdiag.inputs", "tlsdiag.match", "tlsdiag.scan", "evtx"))] == []


def test_a_warm_load_imports_neither_yaml_nor_jsonschema(tmp_path: Path) -> None:
    code = "from tlsdiag.kb import load_kb\nload_kb()"
    cold = _modules_after(code, tmp_path)
    assert "yaml" in cold and "jsonschema" in cold  # the full load validated
    warm = _modules_after(code, tmp_path)
    assert [m for m in warm if m.split(".")[0] in ("yaml", "jsonschema", "referencing")] == []


def test_events_backend_choices_match_the_readers() -> None:
    from tlsdiag.cli import events
    from tlsdiag.inputs import BACKENDS

    assert events.BACKENDS == BACKENDS
