"""``gaia open``: the dashboard in the user's browser, signed in by a single-use code."""

from __future__ import annotations

import os
import sys
import webbrowser

import click

from gaia.cli.common import console, err_console
from gaia.cli.daemon import connect

__all__ = ["open_dashboard"]


def _has_browser() -> bool:
    """Whether a graphical browser can be opened: never in CI, and on Linux only with a
    display (else ``webbrowser`` would start a text browser that takes over this terminal)."""
    if os.environ.get("CI"):
        return False
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not display:
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


@click.command("open")
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not start a browser.")
def open_dashboard(no_browser: bool) -> None:
    """Open the web dashboard, signed in by a single-use code (starts the daemon).

    Prints the dashboard's URL with a code that signs one browser in within two minutes
    (the browser then keeps an opaque session cookie, never the token), and opens it in
    your browser when there is one. Without a browser, open the URL wherever you like.
    """
    client = connect()
    try:
        login = client.request("POST", "/auth/codes")
    finally:
        client.close()
    url = str(login["url"])
    # Whole, unwrapped, on stdout: the one line a script or a person copies.
    console.print(url, soft_wrap=True, highlight=False, markup=False)
    if no_browser or not _has_browser():
        err_console.print(
            "open this URL in a browser: it signs in once, within two minutes", markup=False
        )
        return
    if webbrowser.open(url):
        err_console.print("opened the dashboard in your browser", markup=False)
    else:
        err_console.print("could not start a browser: open the URL above", markup=False)
