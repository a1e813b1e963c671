"""Sending: the HTTP client, the pacer shared by all workers, retries, and one row's send."""

DEFAULT_BASE_URL = "https://api.stackone.com"
"""Where requests go without --base-url. Here rather than in the client, so that the commands
that only name it (validate, the flags' help) do not load aiohttp, a fifth of a second."""
