"""An import through the Python API with the journal off, to show what the journal costs.

    python -m bench.nojournal FILE --base-url URL --out DIR --concurrency 32

Everything else is as ``importer run FILE --mapping mappings/default.yaml --rate 1000000``
(the API key comes from STACKONE_API_KEY); prints summary.json's figures as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os

from importer import ImportOptions, run_import


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    options = ImportOptions(
        mapping="mappings/default.yaml",
        out_dir=args.out,
        base_url=args.base_url,
        api_key=os.environ["STACKONE_API_KEY"],
        account_id="bench",
        rate=1_000_000.0,
        concurrency=args.concurrency,
        journal=False,
        ledger=False,
    )
    summary = run_import(args.input, options)
    print(json.dumps(summary.to_dict()))


if __name__ == "__main__":
    main()
