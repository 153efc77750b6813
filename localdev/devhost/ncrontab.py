"""NCRONTAB schedules as the Azure Functions timer trigger reads them.

Six fields, seconds first: ``{second} {minute} {hour} {day} {month} {day-of-week}``. Each field takes
``*``, a value, ``a-b``, ``*/n``, ``a-b/n``, ``a/n`` (from ``a`` to the field's maximum every ``n``) and
comma-separated lists of these. Months and days of the week also take names or their prefixes
(``Jan``, ``mon``), days of the week run 0-6 with Sunday 0. As in NCrontab (the library the Functions
host uses), a reversed range such as ``5-1`` means ``1-5``, and the day and day-of-week fields must both
match (they are ANDed, unlike Vixie cron which ORs them).

Deliberate differences from NCrontab: a step of 0 and a day/month combination that can never occur
(``0 0 0 31 2 *``) are errors here rather than schedules that never or always fire.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CrontabError", "CrontabSchedule"]

_NUMBER = re.compile(r"[0-9]+")
_SEARCH_YEARS = 400  # the Gregorian calendar repeats every 400 years


class CrontabError(ValueError):
    """An NCRONTAB expression that cannot be parsed."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_MONTH_NAMES = tuple(calendar.month_name[1:])
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_FIELDS = (
    _FieldSpec("second", 0, 59),
    _FieldSpec("minute", 0, 59),
    _FieldSpec("hour", 0, 23),
    _FieldSpec("day", 1, 31),
    _FieldSpec("month", 1, 12, _MONTH_NAMES),
    _FieldSpec("day-of-week", 0, 6, _DAY_NAMES),
)


def _parse_value(token: str, spec: _FieldSpec) -> int:
    if _NUMBER.fullmatch(token):
        return int(token)
    lowered = token.lower()
    for offset, name in enumerate(spec.names):
        if token and name.lower().startswith(lowered):
            return spec.low + offset
    allowed = f"a number from {spec.low} to {spec.high}"
    if spec.names:
        allowed += " or one of " + ", ".join(spec.names)
    raise CrontabError(f"{token!r} is not a valid {spec.name} value: use {allowed}")


def _check_bounds(value: int, spec: _FieldSpec) -> None:
    if not spec.low <= value <= spec.high:
        raise CrontabError(f"{value} is out of range for the {spec.name} field ({spec.low}-{spec.high})")


def _parse_step(text: str, spec: _FieldSpec) -> int:
    if not _NUMBER.fullmatch(text) or int(text) == 0:
        raise CrontabError(f"{text!r} is not a valid step for the {spec.name} field: use a positive number")
    return int(text)


def _parse_part(part: str, spec: _FieldSpec) -> set[int]:
    """One list element: ``*``, ``v``, ``a-b``, each optionally followed by ``/step``."""
    if not part:
        raise CrontabError(f"empty value in the {spec.name} field")
    base, slash, step_text = part.partition("/")
    step = _parse_step(step_text, spec) if slash else None
    if base == "*":
        start, end = spec.low, spec.high
    elif "-" in base[1:]:
        first, _, last = base.partition("-")
        start, end = sorted((_parse_value(first, spec), _parse_value(last, spec)))
    else:
        start = _parse_value(base, spec)
        end = spec.high if step else start
    _check_bounds(start, spec)
    _check_bounds(end, spec)
    return set(range(start, end + 1, step or 1))


def _parse_field(text: str, spec: _FieldSpec) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        values |= _parse_part(part, spec)
    return frozenset(values)


def _check_day_can_occur(days: frozenset[int], months: frozenset[int], expression: str) -> None:
    longest = {month: calendar.monthrange(2000, month)[1] for month in months}  # 2000 is a leap year
    if not any(day <= longest[month] for month in months for day in days):
        raise CrontabError(f"{expression!r} never occurs: no month in it has any of its days")


@dataclass(frozen=True)
class CrontabSchedule:
    """A parsed six-field NCRONTAB schedule; ``next_after`` gives its occurrences."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> CrontabSchedule:
        """Parse ``expression``; raises :class:`CrontabError` naming the field at fault."""
        fields = expression.split()
        if len(fields) != len(_FIELDS):
            raise CrontabError(
                f"{expression!r} is not a valid NCRONTAB expression: it needs 6 fields "
                f"{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}, got {len(fields)}"
            )
        try:
            parsed = [_parse_field(text, spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        except CrontabError as error:
            raise CrontabError(f"{expression!r} is not a valid NCRONTAB expression: {error}") from None
        _check_day_can_occur(parsed[3], parsed[4], expression)
        return cls(expression, *parsed)

    def matches(self, moment: datetime) -> bool:
        """Whether ``moment`` (to the second) is an occurrence of this schedule."""
        return (
            moment.second in self.seconds
            and moment.minute in self.minutes
            and moment.hour in self.hours
            and self._matches_date(moment)
        )

    def _matches_date(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # Python counts from Monday, cron from Sunday
        return moment.month in self.months and moment.day in self.days and weekday in self.days_of_week

    def next_after(self, base: datetime) -> datetime:
        """The first occurrence strictly after ``base``, in ``base``'s time zone, to the second."""
        moment = base.replace(microsecond=0) + timedelta(seconds=1)
        last_year = moment.year + _SEARCH_YEARS
        while moment.year <= last_year:
            if moment.month not in self.months:
                moment = _start_of_next_month(moment)
            elif not self._matches_date(moment):
                moment = moment.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif moment.hour not in self.hours:
                moment = moment.replace(minute=0, second=0) + timedelta(hours=1)
            elif moment.minute not in self.minutes:
                moment = moment.replace(second=0) + timedelta(minutes=1)
            elif moment.second not in self.seconds:
                moment += timedelta(seconds=1)
            else:
                return moment
        raise CrontabError(f"{self.expression!r} has no occurrence in the {_SEARCH_YEARS} years after {base}")


def _start_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
