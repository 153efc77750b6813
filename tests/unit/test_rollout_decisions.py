"""The pure decisions of verified rollouts: pinning, promotion, hand-back, holds and pauses."""

from deployer.domain import rollout
from deployer.domain.model import AgentState
from deployer.domain.platform import VersionInfo
from deployer.domain.rollout_state import Hold, traffic_of

KEY = "deployer_deployment_id"


def version(number, status="active", owner=None):
    return VersionInfo(version=str(number), status=status, metadata={KEY: owner} if owner else {})


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
