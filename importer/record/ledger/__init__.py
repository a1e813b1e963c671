"""The ledger: every candidate the importer created, per API base and account, across runs.

StackOne has no idempotency key, so the ledger is what keeps a second import of the same file
(a double click, a cron line run again by hand, a fixed ``rejects.csv``) from creating the same
people twice. An import asks it about each row's key before sending, and tells it what became
of every row it sent.

Several processes may share one ledger at once (two cron jobs, the web page's workers, workers
on several machines), so "is the key there?" and "create it" cannot be two steps. Each key
goes through::

    (absent) --claim--> claimed --created--> created
                           |  \\--release--> (absent)       answered, not created
                           \\--in_doubt----> doubt          sent, no answer: may exist

A claim is committed before the request leaves. Another process that wants the same key
waits while the claim's owner is alive, then skips the row (created) or claims it itself
(released). A claim left ``doubt``, or whose owner died, is taken over with
``in_doubt=True``: look the candidate up before creating it.

Keys are stored as SHA-256 digests, never as typed: the ledger outlives every run, and it need
not list anyone's e-mail address to do its job; a key in hand can still be looked up
(``importer ledger find``). The ledger holds no API key.

``model`` is what an import needs (``Ledger``), ``claims`` the state machine every back end
shares, ``sqlite`` the default back end (one file, any number of processes on one machine),
``postgresql`` the one for several machines, ``book`` the whole ledger for the ``ledger``
command and ``where`` which one ``--state`` names.
"""

from importer.record.ledger.book import LedgerFile
from importer.record.ledger.model import (
    DATA_DIR_ENV,
    LEDGER_FILE,
    WEB_LEDGER_FILE,
    Claimant,
    Entry,
    Granted,
    Imported,
    Ledger,
    LedgerError,
    RunEntries,
    Scope,
    default_data_dir,
    default_ledger_path,
    key_digest,
    now_iso,
    when,
)
from importer.record.ledger.sqlite import LEASE_SECONDS, SqliteLedger
from importer.record.ledger.where import is_database_url, location, open_database, scope_opener

__all__ = [
    "DATA_DIR_ENV",
    "LEASE_SECONDS",
    "LEDGER_FILE",
    "WEB_LEDGER_FILE",
    "Claimant",
    "Entry",
    "Granted",
    "Imported",
    "Ledger",
    "LedgerError",
    "LedgerFile",
    "RunEntries",
    "Scope",
    "SqliteLedger",
    "default_data_dir",
    "default_ledger_path",
    "is_database_url",
    "key_digest",
    "location",
    "now_iso",
    "open_database",
    "scope_opener",
    "when",
]
