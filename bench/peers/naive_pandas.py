"""Peer for the dry run: pandas reads the whole file, one dict per row, a pydantic model per row.

    python -m bench.peers.naive_pandas FILE.csv --out DIR

The same checks as the importer's default mapping, written the usual way: ``EmailStr``,
phonenumbers for E.164, two date formats, URL types, duplicates by e-mail; then results.csv
and rejects.csv.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers
from pydantic import AnyHttpUrl, BaseModel, EmailStr, ValidationError, field_validator

# The countries our exports hold, for phone numbers written without +country code.
REGIONS = {
    "United Kingdom": "GB",
    "United States": "US",
    "Germany": "DE",
    "France": "FR",
    "Spain": "ES",
    "Sweden": "SE",
    "India": "IN",
}


class Phone(BaseModel):
    phone: str
    type: str | None = None


class Link(BaseModel):
    url: AnyHttpUrl
    type: str


class CustomField(BaseModel):
    name: str
    value: str


class Candidate(BaseModel):
    first_name: str
    last_name: str
    email: EmailStr
    phone_numbers: list[Phone] = []
    company: str | None = None
    title: str | None = None
    country: str | None = None
    social_links: list[Link] = []
    hired_at: datetime | None = None
    custom_fields: list[CustomField] = []

    @field_validator("hired_at", mode="before")
    @classmethod
    def parse_date(cls, value: Any) -> Any:
        if not value:
            return None
        for form in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(value, form)
            except ValueError:
                continue
        raise ValueError(f"unknown date format: {value}")


def e164(text: str, region: str) -> str:
    number = phonenumbers.parse(text, region)
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number: {text}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def candidate(record: dict[str, str]) -> Candidate:
    region = REGIONS.get(record["Country"], "GB")
    phones = []
    for column, kind in (("Phone", None), ("Mobile", "mobile")):
        if record[column]:
            try:
                phones.append({"phone": e164(record[column], region), "type": kind})
            except phonenumbers.NumberParseException as error:
                raise ValueError(f"{column}: {error}") from None
    links = [
        {"url": record[column], "type": kind}
        for column, kind in (("LinkedIn", "linkedin"), ("Website", "website"))
        if record[column]
    ]
    return Candidate(
        first_name=record["First Name"],
        last_name=record["Last Name"],
        email=record["Email"].strip().lower(),
        phone_numbers=phones,
        company=record["Company"] or None,
        title=record["Title"] or None,
        country=record["Country"] or None,
        social_links=links,
        hired_at=record["Hired On"] or None,
        custom_fields=[{"name": "Source", "value": record["Source"]}] if record["Source"] else [],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    started = time.perf_counter()
    frame = pd.read_csv(args.csv, dtype=str, keep_default_na=False)
    duplicate = frame["Email"].str.strip().str.lower().duplicated().tolist()
    results, rejects = [], []
    for index, record in enumerate(frame.to_dict("records")):
        row_number = index + 2
        try:
            if duplicate[index]:
                raise ValueError(f"duplicate e-mail {record['Email']}")
            candidate(record).model_dump_json(exclude_none=True)
        except (ValidationError, ValueError) as error:
            results.append({"row_number": row_number, "status": "rejected", "error": str(error)})
            rejects.append({**record, "error_row": row_number, "error_message": str(error)})
            continue
        results.append({"row_number": row_number, "status": "valid", "error": ""})
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(results).to_csv(args.out / "results.csv", index=False)
    pd.DataFrame(rejects).to_csv(args.out / "rejects.csv", index=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": len(results), "rejected": len(rejects), "seconds": seconds}))


if __name__ == "__main__":
    main()
