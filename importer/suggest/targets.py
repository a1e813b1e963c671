"""The choices a column can take and the header spellings that lead to each.

Headers are compared by ``header_key``, which ignores case, spacing and punctuation, so
``E-mail``, ``Email address`` and ``candidateEmail`` all land on ``email``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


def names(table: str) -> tuple[str, ...]:
    """The names of a ``" | "``-separated table, stripped."""
    return tuple(name.strip() for name in table.split(" | "))


@dataclass(frozen=True, slots=True)
class Target:
    """Where a column's values can go: a request field, and the phone or link type to give."""

    key: str
    """Stable id of the choice: ``email``, ``phone_numbers.mobile``, ``custom_fields``..."""
    field: str
    type: str | None
    label: str


TARGETS: tuple[Target, ...] = (
    Target("name", "name", None, "Full name"),
    Target("first_name", "first_name", None, "First name"),
    Target("last_name", "last_name", None, "Last name"),
    Target("email", "email", None, "E-mail (the first address of the cell)"),
    Target("phone_numbers", "phone_numbers", None, "Phone"),
    Target("phone_numbers.mobile", "phone_numbers", "mobile", "Mobile phone"),
    Target("phone_numbers.work", "phone_numbers", "work", "Work phone"),
    Target("phone_numbers.home", "phone_numbers", "home", "Home phone"),
    Target("company", "company", None, "Company"),
    Target("title", "title", None, "Job title"),
    Target("country", "country", None, "Country"),
    Target("hired_at", "hired_at", None, "Hire date"),
    Target("social_links", "social_links", "from_domain", "Web links (type from the domain)"),
    Target("social_links.linkedin", "social_links", "linkedin", "LinkedIn profile"),
    Target("social_links.github", "social_links", "github", "GitHub profile"),
    Target("social_links.twitter", "social_links", "twitter", "Twitter / X profile"),
    Target("social_links.facebook", "social_links", "facebook", "Facebook profile"),
    Target("custom_fields", "custom_fields", None, "Custom field named after the column"),
)
"""Every choice a column can take, in the order a form lists them; no target = left out."""
TARGETS_BY_KEY = {target.key: target for target in TARGETS}

ALIASES: dict[str, tuple[str, ...]] = {
    "name": names(
        "Name | Full name | Full-Name | full_name | fullName | Candidate | Candidate name | "
        "Applicant | Applicant name | Prospect name | Contact name | Nom complet | "
        "Nombre completo | Nome completo | Volledige naam"
    ),
    "first_name": names(
        "First name | First | firstName | first_name | Given name | Forename | "
        "candidateFirstName | Vorname | Prénom | Nombre | Nome | Voornaam"
    ),
    "last_name": names(
        "Last name | Last | lastName | last_name | Surname | Family name | candidateLastName | "
        "Nachname | Nom | Nom de famille | Apellido | Apellidos | Cognome | Sobrenome | "
        "Achternaam"
    ),
    "email": names(
        "Email | E-mail | Emails | E-mails | Email address | E-mail address | "
        "Email addresses | email_address | Mail | Primary email | Personal email | "
        "candidateEmail | E-Mail-Adresse | Adresse e-mail | Adresse email | Courriel | "
        "Correo | Correo electrónico | Indirizzo email | E-mailadres"
    ),
    "phone_numbers": names(
        "Phone | Phones | Phone number | Phone numbers | phone_numbers | phoneNumber | "
        "prospect_phone | candidatePhone | candidatePhoneNumber | Telephone | "
        "Telephone number | Tel | Contact number | Telefon | Telefonnummer | Téléphone | "
        "Numéro de téléphone | Teléfono | Telefono | Telefoonnummer"
    ),
    "phone_numbers.mobile": names(
        "Mobile | Mobile phone | Mobile number | Mobile phone number | Cell | Cell phone | "
        "Cellphone | Mobil | Mobilnummer | Handy | Téléphone portable | Portable | Móvil | "
        "Celular | Cellulare | Mobiel | Mobiel nummer"
    ),
    "phone_numbers.work": names("Work phone | Work phone number | Office phone | Business phone"),
    "phone_numbers.home": names("Home phone | Home phone number"),
    "company": names(
        "Company | Current company | Company name | companyName | Employer | "
        "Current employer | Organization | Organisation | Firma | Unternehmen | Entreprise | "
        "Société | Employeur | Empresa | Azienda | Bedrijf"
    ),
    "title": names(
        "Title | Current title | Job title | jobTitle | Headline | Position | Current position | "
        "Poste | Intitulé du poste | Puesto | Cargo | Ruolo | Functie | Functietitel"
    ),
    "country": names(
        "Country | Country code | Country name | candidateCountry | Land | Pays | País | Paese | "
        "Nazione"
    ),
    "hired_at": names(
        "Hired at | Hired on | Hired | Hire date | Hired date | Date hired | "
        "Application hire date | Eintrittsdatum | Einstellungsdatum | Date d'embauche | "
        "Fecha de contratación | Fecha de incorporación | Data di assunzione | Datum in dienst"
    ),
    "social_links": names(
        "Links | Social links | Social media | Social media links | Social profiles | "
        "Website | Websites | Personal website | Homepage | Portfolio | URL | URLs | "
        "Profile URL | Webseite"
    ),
    "social_links.linkedin": names(
        "LinkedIn | LinkedIn URL | LinkedIn profile | LinkedIn profile URL | linkedin_url"
    ),
    "social_links.github": names("GitHub | GitHub URL | GitHub profile | github_url"),
    "social_links.twitter": names("Twitter | Twitter URL | twitter_url | X (Twitter)"),
    "social_links.facebook": names("Facebook | Facebook URL | facebook_url"),
}
"""Header spellings seen in ATS vendors' documented exports and import templates, by target."""

# A header that matches no alias is tried again without these words in front ("Candidate
# Email", "applicantPhone") and without a trailing number ("Phone 2", "Email-2").
_PREFIXES = ("candidate", "applicant", "prospect")
NUMBERED_HEADER = re.compile(r"(.*?[^\d])\d{1,2}")
"""A header key with a trailing number ("phone2"); group 1 is the key without it."""


def header_key(header: str) -> str:
    """The form headers are compared in: letters and digits only, case-folded."""
    return "".join(char for char in header.casefold() if char.isalnum())


def _alias_keys() -> dict[str, tuple[str, str]]:
    """Header key → (target key, alias); of the spellings that share a key ("Full name",
    "full_name"), the first listed names the match."""
    keys: dict[str, tuple[str, str]] = {}
    for target, aliases in ALIASES.items():
        for alias in aliases:
            keys.setdefault(header_key(alias), (target, alias))
    return keys


ALIAS_KEYS = _alias_keys()
"""Header key → (target key, alias) for every alias."""


def match_header(header: str) -> tuple[Target, str] | None:
    """The target and alias a header matches, or None.

    >>> match_header("E-mail")[0].key
    'email'
    """
    key = header_key(header)
    for candidate in _variants(key):
        found = ALIAS_KEYS.get(candidate)
        if found is not None:
            target, alias = found
            return TARGETS_BY_KEY[target], alias
    return None


def _variants(key: str) -> Iterator[str]:
    yield key
    stems = [key]
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            stems.append(key[len(prefix) :])
            yield stems[-1]
    for stem in stems:
        numbered = NUMBERED_HEADER.fullmatch(stem)
        if numbered:
            yield numbered[1]
