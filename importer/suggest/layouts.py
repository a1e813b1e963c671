"""Known export and import layouts, and which one a header row looks like."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from importer.suggest.targets import ALIAS_KEYS, NUMBERED_HEADER, header_key, names


@dataclass(frozen=True, slots=True)
class Layout:
    """A known export or import template: its vendor, its shipped mapping and its headers."""

    name: str
    mapping: str
    """The name of the shipped mapping written for it (``--mapping NAME``)."""
    headers: tuple[str, ...]


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "Greenhouse",
        "greenhouse",
        names(
            "First Name | Last Name | Company | Title | Notes | Email | Phone | Social Media | "
            "Website | Address | Source | Who gets credit | Job | Department | Office | "
            "Prospect Pool | Prospect Stage | Milestone"
        ),
    ),
    Layout(
        "Lever",
        "lever",
        names(
            "Lever Profile ID | Full name | Email | Date Added | Stage | Archive Reason | "
            "Archive Date | Sources | Origin | Tags | Phone | Location | Links | Referrer | "
            "Resume Filename | Company | Owner | Lever Posting URL | Posting Owner | "
            "Posting Hiring Manager | IsSecretNote"
        ),
    ),
    Layout(
        "Recruitee",
        "recruitee",
        names(
            "Name | Jobs | Emails | Phones | Tags | Sources | Links | Social Links | Cover Letter"
        ),
    ),
    Layout(
        "SmartRecruiters",
        "smartrecruiters",
        names(
            "applicationCreationDate | applicationID | applicationLastUpdate | "
            "applicationReasonOfRejection | applicationReasonOfWithdrawal | "
            "applicationRejectedAfter | applicationStage | applicationStep | "
            "applicationWithdrawalAfter | appliedVia | candidateEmail | candidateEthnicity | "
            "candidateFirstName | candidateLastName | candidatePhoneNumber | candidateLocation"
        ),
    ),
    Layout(
        "Workable",
        "workable",
        names(
            "First name | Last name | Name | Email | Phone | Headline | Cover Letter | "
            "Skills | Address | Experience | Education | Social Profiles | Resume | Job ID"
        ),
    ),
    Layout(
        "Personio",
        "personio",
        names(
            "Candidate ID | Candidate name | Gender | Email address | Birthday | "
            "Available from | Expected salary | Candidate location | Final phase | Final status"
        ),
    ),
    Layout(
        "PeopleForce",
        "peopleforce",
        names(
            "full_name | email | gender | skills | phone_numbers | skype_id | source | "
            "linkedin_url | position | location | facebook_url | added_on | date_of_birth | "
            "desired_salary | currency_code | notes | created_by_id"
        ),
    ),
)
"""Export and import layouts as each vendor documents them, with the shipped mapping for each."""


def _signatures() -> dict[str, frozenset[str]]:
    """Per layout, the header keys that point to it: in no other layout and no alias."""
    keys = {layout.name: {header_key(h) for h in layout.headers} for layout in LAYOUTS}
    signatures = {}
    for name, own in keys.items():
        others = set().union(*(k for other, k in keys.items() if other != name))
        signatures[name] = frozenset(own - others - ALIAS_KEYS.keys())
    return signatures


_SIGNATURES = _signatures()


@dataclass(frozen=True, slots=True)
class LayoutMatch:
    """The known layout a header row looks like, and the evidence."""

    layout: Layout
    matched: tuple[str, ...]
    """The file's headers that are headers of the layout."""
    columns: int
    """How many named columns the file has."""

    def describe(self) -> str:
        name = self.layout.name
        return (
            f"looks like a {name} export ({len(self.matched)} of the file's {self.columns} "
            f"headers are {name} headers); importer ships a mapping for it: "
            f"--mapping {self.layout.mapping}"
        )


def detect_layout(headers: Sequence[str]) -> LayoutMatch | None:
    """The known layout the headers look like: the one with most of its own headers present.

    A layout needs at least three of its headers in the file, one of them a header no other
    layout has and that is not a common alias (so a plain "First Name, Email" list is no one's).
    """
    keys = {header_key(h): h for h in headers if header_key(h)}
    best: tuple[int, int] = (0, 0)
    found = None
    for layout in LAYOUTS:
        own = {header_key(h) for h in layout.headers}
        matched = [header for key, header in keys.items() if _layout_key(key, own) in own]
        telling = sum(1 for key in keys if _layout_key(key, own) in _SIGNATURES[layout.name])
        score = (telling, len(matched))
        if telling and len(matched) >= 3 and score > best:
            best, found = score, LayoutMatch(layout, tuple(matched), len(keys))
    return found


def _layout_key(key: str, own: set[str]) -> str:
    # Repeating columns (Lever's "IsSecretNote-2") count as their unnumbered header.
    if key in own:
        return key
    numbered = NUMBERED_HEADER.fullmatch(key)
    return numbered[1] if numbered else key
