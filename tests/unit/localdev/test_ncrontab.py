"""NCRONTAB parsing and next occurrences, as the Functions timer trigger reads schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localdev.devhost.ncrontab import CrontabError, CrontabSchedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def occurrences(expression: str, start: str, count: int) -> list[str]:
    schedule = CrontabSchedule.parse(expression)
    moment, found = at(start), []
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment.strftime("%Y-%m-%d %H:%M:%S"))
    return found


def test_star_fields_take_every_value_of_their_range():
    schedule = CrontabSchedule.parse("* * * * * *")
    assert schedule.seconds == frozenset(range(60))
    assert schedule.hours == frozenset(range(24))
    assert schedule.days == frozenset(range(1, 32))
    assert schedule.months == frozenset(range(1, 13))
    assert schedule.days_of_week == frozenset(range(7))


def test_every_five_seconds_steps_from_zero():
    assert CrontabSchedule.parse("*/5 * * * * *").seconds == frozenset(range(0, 60, 5))


def test_ranges_steps_and_lists_combine_in_one_field():
    assert CrontabSchedule.parse("0 1-3,10-20/5,59 * * * *").minutes == frozenset({1, 2, 3, 10, 15, 20, 59})


def test_value_with_step_runs_to_the_end_of_the_range():
    assert CrontabSchedule.parse("0 0 20/2 * * *").hours == frozenset({20, 22})


def test_reversed_range_is_read_as_ncrontab_does():
    assert CrontabSchedule.parse("0 0 0 * * 5-1").days_of_week == frozenset({1, 2, 3, 4, 5})


def test_month_and_day_names_and_their_prefixes_are_accepted():
    schedule = CrontabSchedule.parse("0 0 0 * jan-Mar mon,FRIDAY")
    assert schedule.months == frozenset({1, 2, 3})
    assert schedule.days_of_week == frozenset({1, 5})


def test_next_occurrence_of_every_five_seconds_is_the_next_multiple_of_five():
    assert occurrences("*/5 * * * * *", "2024-05-01T10:00:03", 3) == [
        "2024-05-01 10:00:05",
        "2024-05-01 10:00:10",
        "2024-05-01 10:00:15",
    ]


def test_next_occurrence_is_strictly_after_the_base_time():
    assert occurrences("*/5 * * * * *", "2024-05-01T10:00:05", 1) == ["2024-05-01 10:00:10"]


def test_next_occurrence_ignores_fractions_of_a_second_in_the_base_time():
    schedule = CrontabSchedule.parse("* * * * * *")
    assert schedule.next_after(at("2024-05-01T10:00:05.900")) == at("2024-05-01T10:00:06")


def test_next_occurrence_rolls_over_minute_hour_day_month_and_year():
    assert occurrences("0 0 0 1 1 *", "2024-12-31T23:59:59", 1) == ["2025-01-01 00:00:00"]
    assert occurrences("30 59 23 * * *", "2024-02-28T23:59:30", 2) == [
        "2024-02-29 23:59:30",
        "2024-03-01 23:59:30",
    ]


def test_five_minute_schedule_fires_on_the_five_minute_marks():
    assert occurrences("0 */5 * * * *", "2024-05-01T10:07:00", 2) == [
        "2024-05-01 10:10:00",
        "2024-05-01 10:15:00",
    ]


def test_day_of_week_counts_sunday_as_zero():
    assert occurrences("0 30 9 * * 0", "2024-05-01T00:00:00", 2) == [
        "2024-05-05 09:30:00",
        "2024-05-12 09:30:00",
    ]


def test_weekday_range_skips_the_weekend():
    assert occurrences("0 0 9 * * 1-5", "2024-05-03T10:00:00", 2) == [
        "2024-05-06 09:00:00",
        "2024-05-07 09:00:00",
    ]


def test_day_and_day_of_week_must_both_match():
    # Friday the 13th, as NCrontab ANDs the two day fields.
    assert occurrences("0 0 0 13 * 5", "2024-01-01T00:00:00", 2) == [
        "2024-09-13 00:00:00",
        "2024-12-13 00:00:00",
    ]


def test_day_31_skips_the_months_without_one():
    assert occurrences("0 0 0 31 * *", "2024-01-31T00:00:00", 2) == [
        "2024-03-31 00:00:00",
        "2024-05-31 00:00:00",
    ]


def test_february_29_waits_for_a_leap_year():
    assert occurrences("0 0 12 29 2 *", "2024-03-01T00:00:00", 1) == ["2028-02-29 12:00:00"]


def test_next_occurrence_keeps_the_base_time_zone():
    moment = CrontabSchedule.parse("0 0 * * * *").next_after(at("2024-05-01T10:20:00"))
    assert moment.tzinfo is UTC


def test_matches_tells_whether_a_moment_is_on_the_schedule():
    schedule = CrontabSchedule.parse("0 0 9 * * 1-5")
    assert schedule.matches(at("2024-05-06T09:00:00"))
    assert not schedule.matches(at("2024-05-05T09:00:00"))
    assert not schedule.matches(at("2024-05-06T09:00:01"))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * * *", "needs 6 fields"),
        ("* * * * * * *", "needs 6 fields"),
        ("", "needs 6 fields"),
        ("60 * * * * *", "out of range for the second field"),
        ("* 60 * * * *", "out of range for the minute field"),
        ("* * 24 * * *", "out of range for the hour field"),
        ("* * * 0 * *", "out of range for the day field"),
        ("* * * * 13 *", "out of range for the month field"),
        ("* * * * * 7", "out of range for the day-of-week field"),
        ("*/0 * * * * *", "not a valid step"),
        ("*/x * * * * *", "not a valid step"),
        ("1-60 * * * * *", "out of range"),
        ("a * * * * *", "not a valid second value"),
        ("1, * * * * *", "empty value"),
        ("-1 * * * * *", "not a valid second value"),
        ("* * * * foo *", "not a valid month value"),
        ("0 0 0 31 2 *", "never occurs"),
    ],
)
def test_invalid_expressions_are_rejected_with_the_field_at_fault(expression, message):
    with pytest.raises(CrontabError, match=message):
        CrontabSchedule.parse(expression)


def test_a_day_found_in_only_some_of_the_months_is_valid():
    assert occurrences("0 0 0 30,31 2,4 *", "2024-01-01T00:00:00", 1) == ["2024-04-30 00:00:00"]


def test_errors_name_the_expression():
    with pytest.raises(CrontabError, match=r"'\*/0 \* \* \* \* \*'"):
        CrontabSchedule.parse("*/0 * * * * *")
