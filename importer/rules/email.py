"""E-mail addresses: the usual shape at once, anything else through email-validator."""

from __future__ import annotations

import functools
import re
import unicodedata

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from importer.errors import Code, WarningCode
from importer.rules.text import INVISIBLE_IN_ADDRESS, Flagged, RuleError, without_invisible

_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
# The shape of nearly every real address: a dot-atom local part and an ASCII host name of
# labels up to 63 characters whose top-level domain ends with a letter. email-validator
# accepts each of these with the domain lower-cased and nothing else changed (tests compare
# the two), so they skip its slower checks; anything else goes through email-validator.
_PLAIN_EMAIL = re.compile(
    rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@((?:{_LABEL}\.)+(?:[a-zA-Z0-9][a-zA-Z0-9-]{{0,61}})?[a-zA-Z])"
)
_SPECIAL_USE = tuple("." + domain for domain in SPECIAL_USE_DOMAIN_NAMES)


def email_address(text: str) -> str | Flagged:
    """Check an e-mail address's syntax (no DNS) and return its normalised form.

    An address written the way mail programs and web pages show it, ``Ada Lovelace
    <ada@example.org>`` or ``mailto:ada@example.org``, is read as the address it holds, with an
    ``email-extracted`` warning: the address is there as typed, only what surrounds it is left.

    The domain is normalised (lower case, IDNA) as email-validator does. The part before the @
    keeps the case it was typed in: mailbox names may be case-sensitive, and email-validator's
    lower-casing of role names such as "Info@" would change what the user typed. Use the
    mapping's ``lower`` rule to lower-case whole addresses on purpose.
    """
    plain = _plain_email(text)
    if plain is not None:
        return plain
    found = without_invisible(text, INVISIBLE_IN_ADDRESS)
    if found is None:
        return _validated_email(text)
    # copied from a web page or a document with a zero-width space or a soft hyphen in it: the
    # address the person sees, or the reject as it would be for that address
    cleaned, said = found
    address = email_address(cleaned)
    if isinstance(address, Flagged):
        return Flagged(address.value, address.code, f"{address.message}; {said}")
    return Flagged(address, WarningCode.INVISIBLE_REMOVED, f"{said}: read as {address}")


def _plain_email(text: str) -> str | None:
    """The usual shape, normalised as email-validator would; None for anything else."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is not None and len(text) <= 254:
        domain = match.group(1).lower()
        # "--" marks Punycode or a reserved label; special-use domains are refused: both are
        # left to email-validator.
        if len(domain) <= 253 and "--" not in domain and not ("." + domain).endswith(_SPECIAL_USE):
            # The domain is the end of the text: most are typed in lower case already.
            return text if text.endswith(domain) else text[: match.start(1)] + domain
    return None


@functools.lru_cache(maxsize=4096)
def _validated_email(text: str) -> str | Flagged:
    if text[:7].casefold() == "mailto:" and "?" not in text:
        return _extracted(text, text[7:], "a mailto: link's address")
    if text.endswith(">") and "<" in text:
        inner = text[text.rindex("<") + 1 : -1]
        if inner[:7].casefold() == "mailto:":  # Outlook's "ada@example.org <mailto:ada@...>"
            inner = inner[7:]
        if "@" in inner:
            return _extracted(text, inner, "the address between < and >; the name is not sent")
    return _plain_validated(text)


def _extracted(text: str, inner: str, how: str) -> Flagged:
    """``inner``, the address that ``text`` holds, read as a plain address: one wrapped again
    ("mailto:mailto:...") is no address, and is not unwrapped once more."""
    inner = inner.strip()
    try:
        address = _plain_email(inner) or _plain_validated(inner)
    except RuleError as error:
        raise RuleError(error.code, f'"{text}": {error.message}') from None
    return Flagged(address, WarningCode.EMAIL_EXTRACTED, f'"{text}" read as {address} ({how})')


def _plain_validated(text: str) -> str:
    try:
        validated = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise RuleError(
            Code.INVALID_EMAIL,
            f'"{text}" is not a valid e-mail address ({reason}); correct the address',
        ) from None
    local = validated.local_part
    typed = unicodedata.normalize("NFC", text.rpartition("@")[0])
    if local != typed and local == typed.lower():
        local = typed
    return f"{local}@{validated.domain}"
