"""The recruiters' web page: ``importer serve`` — upload, match columns, check, import, download.

``WebServer`` is the aiohttp server (``server.py``, its handlers by role in ``page.py``,
``upload_routes.py``, ``check_routes.py`` and ``job_routes.py``); uploads live in a private folder
(``workspace.py``); each check or import runs in a worker process (``worker.py``) that the job
registry (``jobs.py``) starts, follows and stops like Ctrl-C; the page is plain HTML, CSS and
JavaScript in ``static/``.
"""

from importer.web.server import WebConfig, WebServer, start_server_thread

__all__ = ["WebConfig", "WebServer", "start_server_thread"]
