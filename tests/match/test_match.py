"""The match room on a small knowledge base (tests/support/smallkb.py): conditions, catalog matching, field recovery
from text exports, message rendering, host facts, scoring rules and store integration.

The shipped knowledge base is tested in test_kb_examples.py / test_diagnose.py; this file pins the
mechanics with numbers that can be checked by hand.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.smallkb import T0, boot, ev, write_kb
from tlsdiag.kb import load_kb
from tlsdiag.kb.model import Condition
from tlsdiag.match import (
    CatalogIndex,
    HostFactsCollector,
    StoreResult,
    render_message,
)
from tlsdiag.match.conditions import evaluate
from tlsdiag.scan import diagnose_events
from tlsdiag.stores.checks import Finding


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory):
    return load_kb(write_kb(tmp_path_factory.mktemp("kb") / "signatures"))


def run(kb, events, stores=()):
    return diagnose_events(events, kb, stores)


def by_cause(diagnoses, computer="FE01"):
    return {d.cause.id: d for d in diagnoses if d.computer == computer}


# ---------------------------------------------------------------- conditions

@pytest.mark.parametrize(("cond", "expected"), [
    (Condition("AlertDesc", "equals", "40"), True),
    (Condition("alertdesc", "equals", "40"), True),  # field names are case-insensitive
    (Condition("AlertDesc", "equals", 40), True),  # integers in YAML compare as text
    (Condition("AlertDesc", "equals", "4"), False),
    (Condition("AlertDesc", "in", ["48", "40"]), True),
    (Condition("TargetName", "contains", "CONTOSO"), True),
    (Condition("TargetName", "regex", r"^fe\d+\."), True),
    (Condition("TargetName", "regex", r"^edge"), False),
    (Condition("Missing", "exists", True), False),
    (Condition("Missing", "exists", False), True),
    (Condition("AlertDesc", "equals", "40", negate=True), False),
    (Condition("computer", "equals", "fe01"), True),
    (Condition("level", "equals", "error"), True),
    (Condition("level", "in", ["2"]), True),
])
def test_condition_operators(cond: Condition, expected: bool) -> None:
    event = ev(36888, data={"AlertDesc": "40", "TargetName": "fe01.contoso.com"})
    assert evaluate(cond, event) is expected


def test_conditions_on_text_export_without_fields_are_unknown_not_false() -> None:
    event = ev(36888, form="text", message="something")
    assert evaluate(Condition("AlertDesc", "equals", "40"), event, event.data, complete=False) is None
    assert evaluate(Condition("AlertDesc", "equals", "40", negate=True), event, event.data, complete=False) is None
    # the attributes stay known
    assert evaluate(Condition("computer", "equals", "FE01"), event, event.data, complete=False) is True


# ---------------------------------------------------------------- catalog matching

def test_matches_on_channel_provider_alias_and_id(kb) -> None:
    index = CatalogIndex(kb)
    assert [m.entry.id for m in index.match(ev(36885))] == ["schannel-36885"]
    assert [m.entry.id for m in index.match(ev(36885, "microsoft-windows-schannel", "SYSTEM"))] == ["schannel-36885"]
    assert index.match(ev(36885, "Schannel", "Application")) == []  # other channel
    assert index.match(ev(36885, "Schannelx")) == []  # other provider
    assert index.match(ev(36884)) == []  # other id


def test_never_matches_on_message_text(kb) -> None:
    index = CatalogIndex(kb)
    text = "When asking for client authentication, this server sends a list of trusted certificate authorities"
    assert index.match(ev(1, "Other", message=text, form="text")) == []


def test_entry_match_conditions(kb) -> None:
    index = CatalogIndex(kb)
    assert index.match(ev(32174, "LS User Services", "Lync Server", data={"1": "{63BB8586-A9D8-5AF2}"}))
    assert not index.match(ev(32174, "LS User Services", "Lync Server", data={"1": "not a guid"}))


def test_text_export_fields_recovered_through_template(kb) -> None:
    index = CatalogIndex(kb)
    msg = "The following fatal alert was generated:  40.\r\n The internal error state is 1205."
    [m] = index.match(ev(36888, form="text", message=msg))
    assert m.recovered and m.complete and not m.uncertain
    assert dict(m.fields) == {"AlertDesc": "40", "ErrorState": "1205"}


def test_text_export_unrecoverable_fields_match_uncertain(kb) -> None:
    index = CatalogIndex(kb)
    # a German message does not fit the English template: the 32174 condition cannot be checked
    [m] = index.match(ev(32174, "LS User Services", "Lync Server", form="text",
                         message="Der Serverstart wird verzögert."))
    assert m.uncertain and not m.complete
    # an EVTX event with the same data missing is definitely not a match
    assert index.match(ev(32174, "LS User Services", "Lync Server", data={})) == []


# ---------------------------------------------------------------- rendering

def test_render_fills_fields_by_name_and_keeps_missing_placeholders(kb) -> None:
    entry = kb.events["schannel-36888"]
    assert render_message(ev(36888, data={"AlertDesc": "40", "ErrorState": "1205"}), entry) == (
        "The following fatal alert was generated: 40. The internal error state is 1205.")
    assert render_message(ev(36888, data={"AlertDesc": "40"}), entry) == (
        "The following fatal alert was generated: 40. The internal error state is %2.")


def test_render_classic_numbered_fields_and_newline_escape(kb) -> None:
    entry = kb.events["lync-32042"]
    event = ev(32042, "LS User Services", "Lync Server", data={"1": "LyncFE01.contoso.local", "2": "Contoso-CA"})
    assert render_message(event, entry) == (
        "Invalid incoming HTTPS certificate.\nSubject Name: LyncFE01.contoso.local Issuer: Contoso-CA")


def test_render_prefers_the_message_the_input_carried(kb) -> None:
    entry = kb.events["schannel-36888"]
    assert render_message(ev(36888, data={"AlertDesc": "40"}, message="Localised text 40"), entry) == "Localised text 40"


# ---------------------------------------------------------------- host facts

def test_host_facts_from_eventlog_6009_data_and_text() -> None:
    facts = HostFactsCollector()
    facts.observe(boot("9600"))
    facts.observe(ev(32042, "LS User Services", "Lync Server"))
    facts.observe(ev(6009, "EventLog", computer="EDGE01", form="text",
                     message="Microsoft (R) Windows (R) 6.02. 9200  Multiprocessor Free."))
    fe = facts.get("fe01")
    assert (fe.version, fe.build) == ("6.3", 9600)
    assert "2012 R2" in fe.windows_name
    assert any("Lync" in p for p in fe.products)
    assert facts.get("EDGE01").build == 9200


def test_latest_boot_wins() -> None:
    facts = HostFactsCollector()
    facts.observe(ev(6009, "EventLog", minutes=10, data={"1": "6.03.", "2": "9600"}))
    facts.observe(ev(6009, "EventLog", minutes=0, data={"1": "6.02.", "2": "9200"}))
    assert facts.get("FE01").build == 9600


# ---------------------------------------------------------------- scoring

def test_noisy_or_counts_each_evidence_once(kb) -> None:
    events = [ev(36874, data={"Protocol": "TLS 1.2"}, minutes=i * 60) for i in range(5)]
    events.append(ev(36888, data={"AlertDesc": "40"}, minutes=30))  # 30 min from the nearest 36874: no combo
    d = by_cause(run(kb, events))["cipher-mismatch"]
    assert d.score == pytest.approx(1 - 0.4 * 0.7)
    assert d.combinations == []
    item = next(i for i in d.evidence if i.evidence.id == "no-cipher")
    assert item.hit.count == 5 and item.hit.first == T0 and item.hit.last == T0 + timedelta(hours=4)


def test_combination_within_window(kb) -> None:
    events = [ev(36874, data={"Protocol": "TLS 1.2"}), ev(36888, data={"AlertDesc": "40"}, minutes=3)]
    d = by_cause(run(kb, events))["cipher-mismatch"]
    assert d.score == pytest.approx(1 - 0.4 * 0.7 * 0.5)
    assert len(d.combinations) == 1


def test_combination_needs_same_computer(kb) -> None:
    events = [ev(36874, data={"Protocol": "TLS 1.2"}), ev(36888, data={"AlertDesc": "40"}, computer="FE02")]
    diagnoses = run(kb, events)
    assert by_cause(diagnoses)["cipher-mismatch"].score == pytest.approx(0.6)
    assert by_cause(diagnoses, "FE02")["cipher-mismatch"].score == pytest.approx(0.3)


def test_where_condition_filters_evidence(kb) -> None:
    d = by_cause(run(kb, [ev(36888, data={"AlertDesc": "48"})]))
    assert "cipher-mismatch" not in d  # alert 48 is not evidence for a cipher mismatch
    assert d["root-store"].weak  # only generic evidence
    assert d["root-store"].confidence == "weak" and not d["root-store"].made


def test_against_multiplies(kb) -> None:
    events = [boot("9200"), ev(32042, "LS User Services", "Lync Server"), ev(36874, data={"Protocol": "TLS 1.2"})]
    d = by_cause(run(kb, events))["root-store"]
    assert d.score == pytest.approx(0.4 * 0.5)
    assert [a.note for a, _ in d.against] == ["a cipher mismatch explains alerts better"]


def test_windows_range_excludes_with_note(kb) -> None:
    events = [boot("9200", "6.02."), ev(32042, "LS User Services", "Lync Server")]
    d = by_cause(run(kb, events))
    assert d["session-tickets"].excluded and "9600" in d["session-tickets"].excluded
    assert not d["session-tickets"].made
    assert d["root-store"].made and d["root-store"].excluded is None
    # ranked: the applicable cause comes first
    ranked = [x.cause.id for x in run(kb, events)]
    assert ranked.index("root-store") < ranked.index("session-tickets")
    events = [boot("9600"), ev(32042, "LS User Services", "Lync Server")]
    d = by_cause(run(kb, events))
    assert d["session-tickets"].made and d["session-tickets"].excluded is None


def test_unknown_fields_count_half_and_say_so(kb) -> None:
    # German text: the English template cannot recover AlertDesc, so "alert-40" is unknown
    events = [ev(36888, form="text", message="Es wurde eine schwerwiegende Warnung generiert: 40.")]
    d = by_cause(run(kb, events))["cipher-mismatch"]
    assert d.score == pytest.approx(0.3 * 0.5)
    assert any("half weight" in n for n in d.notes)


def test_ranking_is_by_score_and_deterministic(kb) -> None:
    events = [boot("9600"), ev(32042, "LS User Services", "Lync Server"), ev(36874, data={"Protocol": "TLS 1.2"})]
    ranked = [d.cause.id for d in run(kb, events)]
    assert ranked == ["cipher-mismatch", "session-tickets", "root-store"]
    assert ranked == [d.cause.id for d in run(kb, list(reversed(events)))]


# ---------------------------------------------------------------- store findings

def store_problem(check: str, cause: str) -> Finding:
    """A real store finding of ``check``, as the store checks report it."""
    return Finding(check, "problem", "error", "found by the test", computer="FE01", cause=cause)


def test_store_proof_raises_and_store_only_cause_is_diagnosed(kb) -> None:
    events = [boot("9200"), ev(36888, data={"AlertDesc": "48"})]
    store = StoreResult("FE01", "reg", (store_problem("root-not-self-signed", "root-store"),), frozenset())
    d = by_cause(run(kb, events, [store]))["root-store"]
    assert d.store == "proven" and d.score >= 0.9 and d.made and not d.weak
    only = by_cause(run(kb, [boot("9200")], [store]))["root-store"]
    assert only.store == "proven" and only.made and only.evidence == []
    assert "found in the stores" in only.notes[0]


def test_clean_store_rules_out(kb) -> None:
    events = [boot("9200"), ev(32042, "LS User Services", "Lync Server")]
    store = StoreResult("fe01.contoso.com", "reg", (), frozenset({"root-not-self-signed"}))
    d = by_cause(run(kb, events, [store]))["root-store"]
    assert d.store == "ruled_out" and not d.made
    assert d.score == pytest.approx(0.4 * 0.2)
    assert "ruled out by store" in d.notes[0]


# ---------------------------------------------------------------- paste search mechanics

@pytest.mark.parametrize(("text", "expected"), [
    ("routing group: {63BB8586-A9D8-5AF2-83FF-B5CE680594C0}.", "routing group: # ."),
    ("from server: fe01.contoso.com, IP Address: 10.198.40.152:60873", "from server: # , ip address: #"),
    ("thumbprint 3B1EFD3A66EA28B16697394703A72CA340A05BD5 in Root", "thumbprint # in root"),
    ("targeted at https://Pool1.contoso.com:444/LiveServer/UserPinService now", "targeted at # now"),
    (r"Access denied. (\\server02.contoso.com\xds-replica\from-master\data.zip)", "access denied. ( # )"),
    ("Subject Name: %1 Issuer: %2%nCause", "subject name: # issuer: # cause"),
    ("In the past 30.0093507983333 minutes", "in the past # minutes"),
])
def test_normalise_replaces_what_varies(text: str, expected: str) -> None:
    from tlsdiag.match import normalise

    assert normalise(text) == expected


def test_explain_mechanics_on_the_small_kb(kb) -> None:
    from tlsdiag.match import explain

    r = explain("Invalid incoming HTTPS certificate. Subject Name: SFB-FE-07.fabrikam.local Issuer: Fabrikam-CA", kb)
    assert r.matches[0].id == "lync-32042"
    r = explain("Log Name: System Source: Schannel Event ID: 36888 Level: Error", kb)
    assert r.matches[0].id == "schannel-36888" and r.matches[0].score > 0.9
    for form in ("0x800B0109", "2148204809", "-2146762487", "cert_e_untrustedroot"):
        r = explain(form, kb)
        assert r.matches[0].id == "root-store" and r.best_cause.id == "root-store" and r.fix
    assert explain("KB2901554", kb).matches[0].id == "session-tickets"
    assert explain("has no primäries", kb).matches[0].id == "root-store"  # typo'd quote from the seed
    assert explain("36885", kb).matches[0].id == "schannel-36885"
    assert not explain("0x800B0108", kb).found  # a neighbouring code is not the same code
    assert not explain("The quick brown fox jumps over the lazy dog", kb).found


# ---------------------------------------------------------------- combination windows stay exact with bounded memory

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 20_000), min_size=1, max_size=12), min_size=2, max_size=3),
       st.integers(1, 3_000))
def test_bucketed_times_find_exactly_the_windows_brute_force_finds(offsets: list[list[int]], window: int) -> None:
    import itertools

    from tlsdiag.match import Match
    from tlsdiag.match.diagnose import Hit, _min_window

    hits = []
    for times in offsets:
        hit = Hit(bucket_seconds=window, spans={})
        for s in times:
            hit.add(Match(ev(1, minutes=s / 60), None), True)  # type: ignore[arg-type]
        hits.append(hit)
    brute = min(max(c) - min(c) for c in itertools.product(*offsets))
    found = _min_window([h.times for h in hits])
    assert found is not None
    assert (brute <= window) == ((found[1] - found[0]).total_seconds() <= window)
