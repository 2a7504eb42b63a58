"""The admin console at ``/console/``: static pages and scripts over the admin API.

The console holds no data of its own: every number on its pages comes from ``/admin/...``,
fetched by the page's script with the session cookie. See :mod:`doorman.server.console.pages`
(pages and security headers) and :mod:`doorman.server.console.session` (sign-in, sign-out).
"""

from doorman.server.console.pages import console_routes

__all__ = ["console_routes"]
