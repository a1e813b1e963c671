"""Recording: every row's outcome, the reports, the run's journal and the cross-run state."""
