"""The base of the app's own screens: ``self.tlsdiag_app``, the running app typed as the tlsdiag app.

(Textual's ``self.app`` is typed as any App, and mypy refuses a narrower override of it, so the screens
reach the tlsdiag app's data and actions through this property.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:  # the app module imports the screens
    from tlsdiag.tui.app import TlsdiagApp


class AppScreen(Screen[None]):
    """A full screen of ``TlsdiagApp``."""

    @property
    def tlsdiag_app(self) -> TlsdiagApp:
        """The running app, as the tlsdiag app (a screen of it is never mounted in another)."""
        from tlsdiag.tui.app import TlsdiagApp

        app = self.app
        if not isinstance(app, TlsdiagApp):
            raise TypeError(f"{type(self).__name__} belongs to TlsdiagApp, not {type(app).__name__}")
        return app
