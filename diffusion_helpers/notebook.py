"""Teaching aids for the notebooks: show the package's source, and put a "try this" item on the static site.

Presentation layer. ``show_source`` is how a notebook shows the code it teaches without pasting a copy
that could drift from the package. ``try_this`` wraps a kernel-free player (``to_jshtml``) for the "Try"
items of a notebook's markdown, so every one of them can be done on the static site, where no kernel runs
the sliders. Exercises that check themselves live in :mod:`diffusion_helpers.exercises`.

The "try this" convention: a notebook's markdown lists each item as ``- **Try (a).** ...`` (a letter per
item), and a cell shows ``dh.notebook.try_this("a", "caption", player_html)`` (or several letters,
``"abc"``, for one player that serves them all). ``tests/test_notebook.py`` and the site's browser test
check that every item has its player.
"""

from __future__ import annotations

import html
import inspect
import re
from typing import Any

__all__ = ["TRY_ITEM", "show_source", "try_this"]

TRY_ITEM = re.compile(r"^\s*[-*]\s+\*\*Try \(([a-z])\)\.\*\*", re.MULTILINE)
"""A "try this" item in a notebook's markdown; group 1 is its letter."""


def show_source(obj: Any) -> Any:
    """The source code of a function or class of the package, syntax-highlighted for a notebook.

    Returns an ``IPython.display.Code`` object: a cell's last value shows it.

    Raises:
        TypeError: if ``obj`` has no Python source (a builtin, an instance).
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"obj must be a function, class or module with Python source ({error})") from None
    return Code(source, language="python")


def try_this(letters: str, caption: str, player: str) -> Any:
    """A kernel-free player for the "Try (a)." items ``letters`` of the notebook, with a caption, as HTML.

    Args:
        letters: the items the player serves, e.g. ``"a"`` or ``"bc"``.
        caption: what the player steps through (plain text; escaped).
        player: the HTML of a ``to_jshtml`` player (``TimestepScrubber.to_jshtml``, ``ScheduleExplorer.to_jshtml``
            or ``ScheduleExplorer.to_jshtml_frames``).

    Returns:
        An ``IPython.display.HTML`` object: a ``<figure class="dh-try" data-try="a b">`` holding the player.

    Raises:
        ValueError: ``letters`` not one or more lowercase letters, or ``player`` not a ``to_jshtml`` player.
    """
    from IPython.display import HTML

    if not isinstance(letters, str) or not re.fullmatch(r"[a-z]+", letters):
        raise ValueError(f"letters must be the items' letters, e.g. 'a' or 'bc', got {letters!r}")
    if not isinstance(player, str) or "anim-slider" not in player:
        raise ValueError("player must be the HTML of a to_jshtml() player (it has no anim-slider)")
    names = ", ".join(f"({letter})" for letter in letters)
    return HTML(
        f'<figure class="dh-try" data-try="{" ".join(letters)}">'
        f"<figcaption><b>Try {names} without a kernel:</b> {html.escape(caption)}</figcaption>"
        f"{player}</figure>"
    )
