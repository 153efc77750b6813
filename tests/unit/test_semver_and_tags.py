import pytest

from deployer.domain.semver import Range, SemverError, Version
from deployer.domain.tag_policy import TagPolicy, TagPolicyError


@pytest.mark.parametrize(
    ("range_text", "version", "inside"),
    [
        (">=1.0.0 <2.0.0", "1.3.0", True),
        (">=1.0.0 <2.0.0", "2.0.0", False),
        (">= 1.0.0 < 2.0.0", "1.0.0", True),
        (">=1.0.0 <2.0.0", "1.5.0-rc.1", False),
        ("^1.2", "1.9.9", True),
        ("^0.2.3", "0.3.0", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        ("<1.0.0 || >=3.0.0", "3.1.0", True),
    ],
)
def test_range_contains_versions_by_semver_rules(range_text, version, inside):
    assert Range.parse(range_text).contains(Version.parse(version)) is inside


def test_versions_order_by_precedence_including_prereleases():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.10", "1.2.0"]
    assert sorted(ordered[::-1], key=Version.parse) == ordered


def test_a_range_that_does_not_parse_is_an_error():
    with pytest.raises(SemverError):
        Range.parse(">=one")


def test_glob_policy_refuses_latest_unless_allowed():
    assert not TagPolicy.parse("*").accepts("latest")
    assert TagPolicy.parse("*", allow_latest=True).accepts("latest")
    assert TagPolicy.parse("v*").accepts("v1") and not TagPolicy.parse("v*").accepts("1")


def test_regex_policy_matches_the_whole_tag():
    policy = TagPolicy.parse(r"regex:release-\d+")
    assert policy.accepts("release-12") and not policy.accepts("release-12-hotfix")


def test_regex_that_does_not_compile_is_refused():
    with pytest.raises(TagPolicyError, match="does not compile"):
        TagPolicy.parse("regex:([")
