"""The pure decisions of verified rollouts: pinning, promotion, hand-back, holds and pauses."""

from deployer.domain import rollout
from deployer.domain.model import AgentState
from deployer.domain.platform import VersionInfo
from deployer.domain.rollout_state import Hold, traffic_of

KEY = "deployer_deployment_id"


LATEST = traffic_of([(rollout.LATEST, 100)])


def version(number, status="active", owner=None, draft=False):
    return VersionInfo(
        version=str(number), status=status, metadata={KEY: owner} if owner else {}, draft=draft
    )


def test_without_a_selector_the_newest_active_version_is_pinned_never_our_own():
    versions = [version(1), version(2), version(3, "creating"), version(4, owner="me")]
    plan = rollout.pin((), versions, exclude_owner="me", owner_key=KEY)
    assert plan.write and plan.traffic == traffic_of([("2", 100)])


def test_a_selector_in_place_is_kept_and_nothing_serving_pins_nothing():
    split = traffic_of([("1", 70), ("2", 30)])
    assert rollout.pin(split, [], exclude_owner="me", owner_key=KEY) == rollout.Pin(
        traffic=split, write=False
    )
    nothing = rollout.pin((), [version(1, "failed")], exclude_owner="me", owner_key=KEY)
    assert nothing == rollout.Pin(traffic=(), write=False)


def test_versions_are_ordered_by_number_not_by_text():
    assert rollout.newest_active([version(9), version(10)]).version == "10"


def test_promotion_moves_from_the_pin_from_nothing_and_from_an_older_version():
    pinned = traffic_of([("1", 100)])
    assert rollout.promotion(pinned, version="3", before=pinned) == "move"
    assert rollout.promotion((), version="3", before=pinned) == "move"
    assert rollout.promotion(traffic_of([("2", 100)]), version="3", before=pinned) == "move"


def test_promotion_is_done_when_the_version_has_it_and_leaves_what_others_routed():
    pinned = traffic_of([("1", 100)])
    assert rollout.promotion(traffic_of([("3", 100)]), version="3", before=pinned) == "done"
    assert rollout.promotion(traffic_of([("4", 100)]), version="3", before=pinned) == "leave"
    assert rollout.promotion(traffic_of([("1", 90), ("3", 10)]), version="3", before=pinned) == "leave"


def test_a_split_as_pinned_is_replaced_by_the_verified_version():
    split = traffic_of([("1", 50), ("2", 50)])
    assert rollout.promotion(split, version="3", before=split) == "move"


def test_sole_version_ignores_rules_at_zero_percent():
    assert rollout.sole_version(traffic_of([("1", 0), ("2", 100)])) == "2"
    assert rollout.sole_version(traffic_of([("1", 50), ("2", 50)])) is None
    assert rollout.sole_version(()) is None


def test_immediate_moves_only_a_selector_that_keeps_the_new_version_dark():
    assert not rollout.immediate_needs_move((), version="2")
    assert not rollout.immediate_needs_move(traffic_of([("2", 100)]), version="2")
    assert rollout.immediate_needs_move(traffic_of([("1", 100)]), version="2")


def test_immediate_keeps_the_platforms_latest_at_100_percent_but_not_a_split_with_it():
    assert not rollout.immediate_needs_move(LATEST, version="2")
    assert rollout.immediate_needs_move(traffic_of([(rollout.LATEST, 50), ("1", 50)]), version="2")


def test_latest_names_the_newest_version_that_is_not_a_draft_nor_being_deleted():
    versions = [version(1), version(2), version(3, "deleting"), version(4, draft=True)]
    assert rollout.latest(versions).version == "2"
    assert rollout.latest([version(9), version(10, "creating")]).version == "10"
    assert rollout.latest([version(1, draft=True)]) is None


def test_resolving_replaces_latest_by_the_version_it_names_and_merges_its_rules():
    versions = [version(1), version(2), version(3, draft=True)]
    assert rollout.resolve(LATEST, versions) == traffic_of([("2", 100)])
    split = traffic_of([(rollout.LATEST, 30), ("1", 50), ("2", 20)])
    assert rollout.resolve(split, versions) == traffic_of([("2", 50), ("1", 50)])
    numbers = traffic_of([("1", 100)])
    assert rollout.resolve(numbers, []) is numbers
    assert rollout.resolve(LATEST, [version(1, draft=True)]) is None


def test_pinning_latest_writes_the_version_serving_now_never_one_this_deployment_made():
    versions = [version(1), version(2), version(3, owner="me")]
    plan = rollout.pin(LATEST, versions, exclude_owner="me", owner_key=KEY)
    assert plan == rollout.Pin(traffic=traffic_of([("2", 100)]), write=True)
    by_hand = traffic_of([("1", 40), (rollout.LATEST, 60)])
    plan = rollout.pin(by_hand, versions, exclude_owner="me", owner_key=KEY)
    assert plan == rollout.Pin(traffic=traffic_of([("1", 40), ("2", 60)]), write=True)


def test_pinning_latest_with_no_version_but_drafts_pins_nothing():
    plan = rollout.pin(LATEST, [version(1, draft=True)], exclude_owner="me", owner_key=KEY)
    assert plan == rollout.Pin(traffic=(), write=False)


def test_protocols_are_written_only_when_a_declared_one_is_not_served():
    assert rollout.protocols_to_serve(None, ["responses"]) is None
    assert rollout.protocols_to_serve(None, ["invocations"]) == frozenset({"responses", "invocations"})
    assert rollout.protocols_to_serve(frozenset({"invocations"}), ["invocations"]) is None
    assert rollout.protocols_to_serve(frozenset({"a2a"}), ["responses"]) == frozenset({"a2a", "responses"})


def test_a_superseded_version_hands_back_only_the_traffic_it_took():
    ours = traffic_of([("2", 100)])
    assert rollout.hand_back(ours, ours="2", active_version="3") == traffic_of([("3", 100)])
    assert rollout.hand_back(traffic_of([("3", 100)]), ours="2", active_version="3") is None
    assert rollout.hand_back(ours, ours="2", active_version=None) is None


def test_pushes_are_blocked_by_a_pause_before_a_hold():
    hold = Hold(digest="sha256:" + "b" * 64, reason="rollback", at="t")
    state = AgentState(name="a", holds=(hold,))
    assert rollout.push_blocked(state, hold.digest) == "held"
    assert rollout.push_blocked(state, "sha256:" + "c" * 64) is None
    assert rollout.push_blocked(AgentState(name="a", paused=True, holds=(hold,)), hold.digest) == "paused"
    assert rollout.push_blocked(state, None) is None


def test_holds_are_added_and_released_once():
    hold = Hold(digest="sha256:" + "b" * 64, reason="rollback", at="t")
    held = rollout.with_hold(AgentState(name="a"), hold)
    assert held.holds == (hold,) and rollout.with_hold(held, hold) is None
    assert rollout.without_hold(held, hold.digest).holds == ()
    assert rollout.without_hold(AgentState(name="a"), hold.digest) is None
