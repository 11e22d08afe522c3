"""gunicorn settings, read from the project directory: `gunicorn 'community_board:create_app()'`.

Workers: -w or WEB_CONCURRENCY, as gunicorn itself reads them; the app learns the final number
from WEB_CONCURRENCY (set below), since memory:// rate limits are per worker. With --preload the
app is built before that hook runs: give the count as WEB_CONCURRENCY, not -w.
"""

import os

# The access log names the route, not the URL: a query string may be a search for a phone or a
# name, and /join/<token> holds a compound's join secret (community_board/logs.py fills it in).
# No referer either: it is the previous page's URL, query string included.
access_log_format = '%(h)s %(t)s "%(m)s %({cb.log_path}e)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


def on_starting(server):
    """In the master, before any worker: refuse unsafe production settings here, so that gunicorn
    prints their lines once ("Error: …") and exits 1 instead of every worker failing to boot."""
    import config as settings  # not at the top: gunicorn would read a module-level `config` as its own

    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
    settings.check_production(settings.load())
