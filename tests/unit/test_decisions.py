"""The pure decisions on their own, without a store or a platform: which agents a push goes to and
whether each deploys it (rules), what an observed version means and when to look again
(transitions), and the steps of a canary (canary plan)."""

from dataclasses import replace

import pytest

from deployer.domain import canary_plan, rules, transitions
from deployer.domain.agents import AgentConfig, CanarySettings, DeployerConfig
from deployer.domain.model import AgentState, Deployment
from deployer.domain.platform import VersionInfo
from deployer.domain.pushes import ImagePush
from deployer.domain.rollout import all_to
from deployer.domain.rollout_state import CanaryState, traffic_of
from deployer.domain.tag_policy import TagPolicy

REGISTRY = "myregistry.azurecr.io"
DIGEST = "sha256:" + "b" * 64


def agent(name="bot", repository="agents/bot", tags="semver:>=1.0.0", **fields) -> AgentConfig:
    return AgentConfig(name=name, repository=repository, tags=TagPolicy.parse(tags), **fields)


def push(tag="1.2.0", repository="agents/bot", digest=DIGEST) -> ImagePush:
    return ImagePush(registry=REGISTRY, repository=repository, tag=tag, digest=digest)


def deployment(deployment_id="0000000000500aaaaaa", version="3") -> Deployment:
    return Deployment.begin(
        deployment_id,
        agent="bot",
        image="x",
        status="creating",
        source="event",
        at="t",
        of=None,
        version=version,
    )


def test_a_push_goes_to_every_agent_whose_rule_names_its_repository():
    bots = (
        agent("a"),
        agent("b", registry=REGISTRY),
        agent("c", registry="other.azurecr.io"),
        agent("d", "x/y"),
    )
    config = DeployerConfig(registries=(REGISTRY,), agents=bots)
    assert [a.name for a in rules.agents_for(push(), config)] == ["a", "b"]


def test_the_tag_policy_and_the_order_decide_whether_a_push_deploys():
    bot = agent()
    assert rules.tag_verdict(push("1.2.0"), bot).deploy
    assert rules.tag_verdict(push("latest"), bot).reason == "tag_policy"
    state = AgentState(name="bot", high_tag="1.3.0")
    assert rules.order_verdict(push("1.2.0"), bot, state).reason == "older_than_active"
    assert rules.order_verdict(push("1.4.0"), bot, state).deploy
    assert rules.order_verdict(push("1.4.0"), bot, replace(state, active_digest=DIGEST)).reason == "unchanged"
    assert rules.raised_high_tag(push("1.4.0"), bot, state) == "1.4.0"
    assert rules.raised_high_tag(push("1.2.0"), bot, state) == "1.3.0"


def test_a_digest_pinned_agent_deploys_the_image_by_digest():
    assert rules.image_to_deploy(push(), agent()) == f"{REGISTRY}/agents/bot:1.2.0"
    assert rules.image_to_deploy(push(), agent(pin="digest")) == f"{REGISTRY}/agents/bot@{DIGEST}"


@pytest.mark.parametrize(
    ("status", "now", "seen"),
    [
        ("active", 10.0, "active"),
        ("failed", 10.0, "failed"),
        ("creating", 10.0, "creating"),
        ("creating", 901.0, "timed_out"),
    ],
)
def test_what_an_observed_version_means(status, now, seen):
    info = VersionInfo(
        version="3", status=status, error_code="image_pull_failed" if status == "failed" else None
    )
    observed = transitions.observe(deployment(), info, now=now, started=0.0, timeout_s=900.0)
    assert observed.status == seen
    assert (observed.error is None) == (seen in ("active", "creating"))


def test_a_creating_version_is_looked_at_often_at_first_then_less():
    assert transitions.next_look(0, 0.0) == transitions.FIRST_DELAY_S
    assert transitions.next_look(3, 60.0) == transitions.FAST_DELAY_S
    later = [transitions.next_look(9, age) for age in (130.0, 160.0, 400.0)]
    assert later == sorted(later) and later[-1] == transitions.MAX_DELAY_S
    assert [transitions.backoff(n) for n in range(6)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_the_expected_time_to_active_is_the_median_of_the_last_five_and_moves_the_dense_looks():
    took = transitions.learned((50.0, 70.0, 60.0, 300.0, 55.0), 62.0)
    assert took == (62.0, 50.0, 70.0, 60.0, 300.0)
    assert transitions.expected_active_s(took) == 62.0 and transitions.expected_active_s(()) is None
    assert transitions.next_look(1, 5.0, 60.0) == 40.0  # to the window's start, 45 s
    assert transitions.next_look(2, 45.0, 60.0) == transitions.FAST_DELAY_S
    assert transitions.next_look(1, 5.0, 10.0) == transitions.next_look(1, 5.0) == transitions.FAST_DELAY_S
    assert transitions.next_look(0, 0.0, 60.0) == transitions.FIRST_DELAY_S  # an early failure shows


def test_a_deployment_settles_superseded_only_under_a_newer_active_one():
    d = deployment("0000000000500aaaaaa")
    assert transitions.settles_as(d, AgentState(name="bot")) == "active"
    assert transitions.settles_as(d, AgentState(name="bot", active_id="0000000000400aaaaaa")) == "superseded"
    assert transitions.settles_as(d, AgentState(name="bot", active_id="0000000000600aaaaaa")) == "active"


def test_retention_never_deletes_the_active_or_a_creating_version():
    versions = [
        VersionInfo(version=str(n), status="creating" if n == 2 else "active", created_at=float(n))
        for n in range(1, 6)
    ]
    deleted = transitions.versions_to_delete(versions, keep=2, active_version="1")
    assert [v.version for v in deleted] == ["3"]


def test_a_canary_steps_up_waits_between_steps_and_settles_at_100():
    settings = CanarySettings(steps=(10, 50, 100), step_interval_s=30.0)
    state = canary_plan.after_step(CanaryState(stable="1"), settings, now=100.0)
    assert (state.step, state.percentage, state.next_at) == (0, 10, 130.0)
    assert canary_plan.next_move(state, now=120.0) == "wait"
    assert canary_plan.next_move(state, now=130.0) == "smoke"
    assert canary_plan.next_move(replace(state, promote=True), now=120.0) == "finish"
    last = canary_plan.after_step(canary_plan.after_step(state, settings, now=130.0), settings, now=160.0)
    assert last.percentage == 100 and canary_plan.next_move(last, now=0.0) == "settle"
    assert canary_plan.after_step(last, settings, now=200.0).percentage == 100  # the last step holds


def test_a_canary_splits_the_traffic_and_aborts_after_enough_failed_smoke_runs():
    assert canary_plan.split("2", "1", 10) == traffic_of([("2", 10), ("1", 90)])
    assert canary_plan.split("2", "1", 100) == all_to("2")
    settings = CanarySettings(smoke_failures=2)
    once = canary_plan.after_smoke(CanaryState(stable="1"), passed=False)
    assert not canary_plan.must_abort(once, settings)
    assert canary_plan.must_abort(canary_plan.after_smoke(once, passed=False), settings)
    assert canary_plan.abort_traffic(traffic_of([("2", 10), ("1", 90)]), version="2", stable="1") == all_to(
        "1"
    )
    assert canary_plan.abort_traffic(all_to("3"), version="2", stable="1") is None  # routed since: left alone
    assert canary_plan.describe("2", "1", 10) == "10% to version 2, 90% on version 1"
