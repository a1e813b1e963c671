"""The request body the sending peers build from a row of bench/data.py's CSV, by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def hired_at(text: str) -> str | None:
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, form).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        except ValueError:
            continue
    return None


def candidate_body(row: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": row["First Name"],
        "last_name": row["Last Name"],
        "email": row["Email"].strip().lower(),
        "company": row["Company"],
        "title": row["Title"],
        "country": row["Country"],
    }
    phones = [{"phone": row["Phone"]}] if row["Phone"] else []
    if row["Mobile"]:
        phones.append({"phone": row["Mobile"], "type": "mobile"})
    if phones:
        body["phone_numbers"] = phones
    links = [{"type": "linkedin", "url": row["LinkedIn"]}] if row["LinkedIn"] else []
    if row["Website"]:
        links.append({"type": "website", "url": row["Website"]})
    if links:
        body["social_links"] = links
    if row["Hired On"] and (when := hired_at(row["Hired On"])):
        body["hired_at"] = when
    if row["Source"]:
        body["custom_fields"] = [{"name": "Source", "value": row["Source"]}]
    return body
