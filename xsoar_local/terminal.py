"""Output for a person at a terminal (used only when stdout is a TTY; piped output and --json stay plain).

- `Terminal.markdown` renders an entry's HumanReadable with `rich`: markdown tables become aligned columns
  wrapped to the terminal width (long values such as GUIDs fold instead of being cut), the rest goes
  through rich's Markdown renderer.
- `Terminal.status` keeps one status line updated in place (for `fetch --every` / `mirror --every`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_ERASE_LINE = "\r\x1b[2K"


class Terminal:
    """Renders to `stream` for a terminal of `width` columns (default: the terminal's)."""

    def __init__(self, stream: TextIO, width: int | None = None, color: bool | None = None) -> None:
        self.stream = stream
        self.console = Console(file=stream, width=width, highlight=False, force_terminal=True,
                               no_color=None if color is None else not color,
                               color_system="auto" if color in (None, True) else None)
        self._status = False

    @property
    def width(self) -> int:
        return self.console.width

    # region markdown

    def markdown(self, text: str) -> None:
        """Print markdown: its tables as aligned, wrapped columns; everything else as rich renders it."""
        self.clear()
        for kind, block in split_tables(text):
            if kind == "table":
                self.console.print(markdown_table(block))
            elif block.strip():
                self.console.print(Markdown(block))

    # endregion

    # region status line

    def status(self, text: str) -> None:
        """Show `text` as the one status line, replacing the previous one (cut to the terminal width)."""
        line = Text(text)
        line.truncate(max(10, self.width - 1), overflow="ellipsis")
        self.stream.write(_ERASE_LINE + line.plain)
        self.stream.flush()
        self._status = True

    def line(self, text: str) -> None:
        """A permanent line above the status line."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._status:
            self.stream.write(_ERASE_LINE)
            self.stream.flush()
            self._status = False

    def finish(self) -> None:
        """Leave the last status line on screen and end it."""
        if self._status:
            self.stream.write("\n")
            self.stream.flush()
            self._status = False

    # endregion


def split_tables(text: str) -> Iterator[tuple[str, list[str] | str]]:
    """('table', rows of cells) and ('text', markdown) blocks, in order. A table is a header row, a
    `|---|` separator row and its `|`-delimited rows."""
    lines = text.splitlines()
    prose: list[str] = []
    index = 0
    while index < len(lines):
        if (lines[index].lstrip().startswith("|") and index + 1 < len(lines)
                and _SEPARATOR.match(lines[index + 1])):
            if prose:
                yield "text", "\n".join(prose)
                prose = []
            rows = [_cells(lines[index])]
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            yield "table", rows
            continue
        prose.append(lines[index])
        index += 1
    if prose:
        yield "text", "\n".join(prose)


def markdown_table(rows: list[list[str]]) -> Table:
    """A rich Table for parsed markdown rows (the first is the header); columns fold long values."""
    header, body = rows[0], rows[1:]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name in header:
        table.add_column(Text(name, style="bold"), overflow="fold")
    for row in body:
        cells = (row + [""] * len(header))[: len(header)]
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _cells(line: str) -> list[str]:
    """The cells of one `| a | b |` row: `\\|` is a literal pipe, `<br>` a line break."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [_BREAK.sub("\n", cell.strip().replace("\\|", "|")) for cell in cells]
