"""Property: any sequence of Full and Differential SendLocalList updates leaves the stored list, its version and every
answer exactly as a plain reference model of the 1.6 rules has them (real SQLite, no charge point around it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import example, given, settings, target
from hypothesis import strategies as st

from module.core.profiles.local_auth_list.local_list import LocalAuthList
from module.core.profiles.local_auth_list.send_local_list import Limits, apply
from module.queue.database import Database

TAGS = ("A", "B", "C", "D", "E", "F")
LIMITS = Limits(list_max=3, request_max=4)

infos = st.fixed_dictionaries(
    {"status": st.sampled_from(["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"])},
    optional={"parentIdTag": st.sampled_from(["P", "Q"]), "expiryDate": st.just("2342-06-19T09:10:00Z")})
entries = st.builds(lambda tag, info: {"idTag": tag, "idTagInfo": info}, st.sampled_from(TAGS), infos)
removals = st.builds(lambda tag: {"idTag": tag}, st.sampled_from(TAGS))


def by_tag(strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists naming each idTag once."""
    return st.lists(strategy, unique_by=lambda item: item["idTag"], max_size=6)


# Versions drift upwards with a step back now and then; lists are mostly well formed (Full: entries, Differential:
# mostly entries, some removals), and now and then anything: duplicates, removals in a Full list.
updates = st.lists(st.one_of(
    st.tuples(st.integers(-1, 3), st.just("Full"), by_tag(entries)),
    st.tuples(st.integers(-1, 3), st.just("Differential"), by_tag(entries | entries | removals)),
    st.tuples(st.integers(-1, 3), st.sampled_from(["Full", "Differential"]), st.lists(entries | removals, max_size=6)),
), min_size=1, max_size=12)


def as_requests(steps: list[tuple[int, str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    requests, version = [], 0
    for step, update_type, changes in steps:
        version += step
        request: dict[str, Any] = {"listVersion": version, "updateType": update_type}
        if changes:
            request["localAuthorizationList"] = changes
        requests.append(request)
    return requests


@dataclass
class ReferenceList:
    """The local list as 1.6 describes it, in a dict."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = 0

    def send(self, request: dict[str, Any], limits: Limits) -> str:
        version, full = request["listVersion"], request["updateType"] == "Full"
        changes = request.get("localAuthorizationList") or []
        tags = [item["idTag"] for item in changes]
        if not full and version <= self.version:
            return "VersionMismatch"
        empty_list_at_0 = version == 0 and not changes  # the empty list's own version
        if ((full and ((version < 1 and not empty_list_at_0) or any("idTagInfo" not in item for item in changes)))
                or len(changes) > limits.request_max or len(set(tags)) != len(tags)):
            return "Failed"
        entries = {} if full else dict(self.entries)
        for item in changes:
            if "idTagInfo" in item:
                entries[item["idTag"]] = item["idTagInfo"]
            else:
                entries.pop(item["idTag"], None)
        if len(entries) > limits.list_max:
            return "Failed"
        self.entries, self.version = entries, version
        return "Accepted"


def accepted(*tags: str) -> list[dict[str, Any]]:
    return [{"idTag": tag, "idTagInfo": {"status": "Accepted"}} for tag in tags]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAuthList]:
    """One database for every example (opening one costs more than an example); each starts from an empty list."""
    db = Database.open(tmp_path_factory.mktemp("local-list"), "CP1")
    yield LocalAuthList(db)
    db.close()


@settings(max_examples=100, deadline=None)
@given(steps=updates)
@example(steps=[(1, "Full", accepted("A", "B", "C")), (1, "Differential", accepted("D"))])  # one over the bound
@example(steps=[(1, "Full", accepted("A", "B", "C")), (1, "Differential", [{"idTag": "A"}, *accepted("D")])])
def test_any_sequence_of_updates_leaves_the_list_of_the_reference_model(
        stored: LocalAuthList, steps: list[tuple[int, str, list[dict[str, Any]]]]) -> None:
    stored.replace(0, {}, LIMITS.list_max)  # as new: empty, version 0
    reference, largest = ReferenceList(), 0
    for request in as_requests(steps):
        assert apply(stored, request, LIMITS) == reference.send(request, LIMITS)
        assert (stored.version(), stored.size()) == (reference.version, len(reference.entries))
        assert {tag: stored.get(tag) for tag in TAGS} == {tag: reference.entries.get(tag) for tag in TAGS}
        largest = max(largest, len(reference.entries))
    target(float(largest), label="largest list")  # steer towards lists at their bound
