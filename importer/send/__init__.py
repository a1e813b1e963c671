"""Sending: the HTTP client, the pacer shared by all workers, retries, and one row's send."""
