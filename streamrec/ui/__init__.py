"""The web dashboard and live storefront served at ``/ui`` (offline: htmx and uPlot are
vendored under ``static/vendor`` with their licences).

:func:`~streamrec.ui.pages.install_ui` adds the pages and assets to an app.
"""
