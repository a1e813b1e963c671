"""Web addresses and the social network a link belongs to."""

from __future__ import annotations

import re
from collections.abc import Mapping

from importer.errors import Code, WarningCode
from importer.rules.text import INVISIBLE_IN_ADDRESS, Flagged, RuleError, without_invisible

_URL = re.compile(
    r"(https?://)?"  # scheme, added when missing
    r"(?:[^\s/?#@]+@)?"  # user
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?"  # host; TLD starts with a letter
    r"(?::\d{1,5})?"  # port
    r"(?:[/?#]\S*)?",  # path, query, fragment
    re.IGNORECASE,
)


# The usual shape, "https://host.tld/path" in lower-case ASCII: every text it matches, _URL
# matches with its scheme (the tests check), and this simpler pattern is twice as fast.
_USUAL_URL = re.compile(r"https?://(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]+(?:/\S*)?")


def web_address(text: str) -> str | Flagged:
    """Check a web address; one typed without a scheme ("linkedin.com/in/jane") gets https://.
    Invisible characters (a zero-width space copied with it) are taken out, with a warning."""
    found = without_invisible(text, INVISIBLE_IN_ADDRESS)
    if found is not None:
        cleaned, said = found
        address = _checked_address(cleaned)
        return Flagged(address, WarningCode.INVISIBLE_REMOVED, f"{said}: read as {address}")
    return _checked_address(text)


def _checked_address(text: str) -> str:
    if _USUAL_URL.fullmatch(text):
        return text
    match = _URL.fullmatch(text)
    if match is None:
        if "://" in text and not text[:8].lower().startswith(("http://", "https://")):
            problem = "only http and https addresses are accepted"
        else:
            problem = "write a full address such as https://www.linkedin.com/in/name"
        raise RuleError(
            Code.INVALID_URL, f'"{text}" is not a web address; {problem}', keepable=True
        )
    return text if match.group(1) else "https://" + text


_HOST_OF = re.compile(r"[^:/]*://(?:[^/?#@]*@)?([^/?#:]*)")


def host_of(url: str) -> str:
    """The lower-case host of an http(s) URL, without user, password or port."""
    match = _HOST_OF.match(url)
    return match.group(1).lower() if match else ""


LINK_TYPES: Mapping[str, str] = {
    "linkedin.com": "linkedin",
    "github.com": "github",
    "gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "youtube.com": "youtube",
    "stackoverflow.com": "stackoverflow",
    "medium.com": "medium",
    "dribbble.com": "dribbble",
    "behance.net": "behance",
    "xing.com": "xing",
    "angel.co": "angellist",
    "wellfound.com": "angellist",
    "kaggle.com": "kaggle",
}


def link_type(url: str, types: Mapping[str, str] = LINK_TYPES) -> str:
    """The social link type of a URL from its domain or any parent domain, else "website".

    >>> link_type("https://uk.linkedin.com/in/jane")
    'linkedin'
    """
    host = host_of(url)
    while host:
        found = types.get(host)
        if found is not None:
            return found
        host = host.partition(".")[2]
    return "website"
