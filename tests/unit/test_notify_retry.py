import pytest

from deployer.domain.notifications import Attempt, parse_retry_after
from deployer.notify.retry import STANDARD_OFFSETS_S, RetrySchedule, classify

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    ("attempt", "verdict"),
    [
        (Attempt(status=200), "delivered"),
        (Attempt(status=204), "delivered"),
        (Attempt(status=301), "retry"),  # redirects are failures, never followed
        (Attempt(status=302), "retry"),
        (Attempt(status=408), "retry"),
        (Attempt(status=429), "retry"),
        (Attempt(status=500), "retry"),
        (Attempt(status=503), "retry"),
        (Attempt(status=410), "dead"),
        (Attempt(status=400), "dead"),
        (Attempt(status=401), "dead"),
        (Attempt(status=404), "dead"),
        (Attempt(error="timeout"), "retry"),
        (Attempt(error="connection_error"), "retry"),
        (Attempt(error="dns_error"), "retry"),
        (Attempt(error="address_refused"), "dead"),
        (Attempt(error="subscriber_removed"), "dead"),
    ],
)
def test_outcomes(attempt, verdict):
    assert classify(attempt) == verdict


def no_jitter():
    return 0.5  # rand 0.5 -> jitter factor 0


def test_the_standard_schedule_counts_from_the_first_attempt_and_ends_after_a_day():
    schedule = RetrySchedule()
    failed = Attempt(status=503)
    dues = []
    for n in range(1, len(STANDARD_OFFSETS_S)):
        decision = schedule.decide(failed, attempts_made=n, first=T0, now=T0, rand=no_jitter)
        dues.append(decision.due - T0)
    assert dues == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    last = schedule.decide(
        failed, attempts_made=len(STANDARD_OFFSETS_S), first=T0, now=T0 + 86400, rand=no_jitter
    )
    assert last.verdict == "dead"


def test_jitter_stays_within_a_fraction_of_the_gap_and_never_before_now():
    schedule = RetrySchedule(jitter=0.2)
    low = schedule.decide(Attempt(status=500), attempts_made=2, first=T0, now=T0 + 5, rand=lambda: 0.0)
    high = schedule.decide(Attempt(status=500), attempts_made=2, first=T0, now=T0 + 5, rand=lambda: 0.999999)
    assert T0 + 300 - 0.2 * 295 <= low.due < T0 + 300 < high.due <= T0 + 300 + 0.2 * 295
    early = schedule.decide(Attempt(status=500), attempts_made=1, first=T0, now=T0 + 3, rand=lambda: 0.0)
    assert early.due >= T0 + 3


def test_retry_after_moves_the_next_attempt_later_never_earlier():
    schedule = RetrySchedule()
    later = schedule.decide(
        Attempt(status=429, retry_after_s=120), attempts_made=1, first=T0, now=T0, rand=no_jitter
    )
    assert later.due == T0 + 120
    sooner = schedule.decide(
        Attempt(status=429, retry_after_s=1), attempts_made=2, first=T0, now=T0 + 5, rand=no_jitter
    )
    assert sooner.due == T0 + 300


def test_a_retry_after_beyond_the_window_ends_the_entry():
    schedule = RetrySchedule(offsets_s=(0, 1, 2))
    decision = schedule.decide(
        Attempt(status=503, retry_after_s=3600), attempts_made=1, first=T0, now=T0, rand=no_jitter
    )
    assert decision.verdict == "dead"


def test_retry_after_as_seconds_or_an_http_date():
    assert parse_retry_after("120", now=T0) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 60) == 60
    assert parse_retry_after("soon", now=T0) is None
    assert parse_retry_after(None, now=T0) is None
