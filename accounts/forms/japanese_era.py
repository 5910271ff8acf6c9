"""和暦 beside a Western year, for the birth-year list: 1980（昭和55年）.

A year in which the era changed belongs to both eras, so it shows both, the older first:
1989（昭和64年／平成元年）, 2019（平成31年／令和元年）, likewise 1912 and 1926. The first year of
an era is 元年, as people say it. A birth year is chosen without a date, so either name may
be the one on the resident's papers; showing both lets everybody find their year.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# (era, first Western year); each era runs until the next one's first year (which it shares).
ERAS = [
    (gettext_lazy("明治"), 1868),
    (gettext_lazy("大正"), 1912),
    (gettext_lazy("昭和"), 1926),
    (gettext_lazy("平成"), 1989),
    (gettext_lazy("令和"), 2019),
]


def _era_year(era: object, number: int) -> str:
    if number == 1:
        return _("%(era)s元年") % {"era": era}
    return _("%(era)s%(number)s年") % {"era": era, "number": number}


def japanese_era_names(year: int) -> list[str]:
    """The era year(s) of `year`, the older first (two in a year the era changed; none before 明治)."""
    names = []
    for index, (era, first) in enumerate(ERAS):
        last = ERAS[index + 1][1] if index + 1 < len(ERAS) else None
        if first <= year and (last is None or year <= last):
            names.append(_era_year(era, year - first + 1))
    return names


def birth_year_label(year: int) -> str:
    """「1980（昭和55年）」; the bare year when no era is known."""
    names = japanese_era_names(year)
    if not names:
        return str(year)
    return _("%(year)s（%(era)s）") % {"year": year, "era": _("／").join(names)}
