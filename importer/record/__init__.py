"""Recording: every row's outcome, the reports, the run's journal and the ledger of
candidates created across runs."""
