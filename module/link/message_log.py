"""Every OCPP frame with time, direction and action, as JSON lines and as an HTML page, size-bounded."""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from module.link.log_limit import RateLimitedLog
from module.link.secrets import mask_frame_text

logger = logging.getLogger(__name__)

DIRECTIONS = {"out": "CP &rarr; CSMS", "in": "CSMS &rarr; CP", "event": "link"}
MESSAGE_TYPES: dict[int | None, str] = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}

# The page needs nothing else: rows are appended below this head and stay readable while the file grows.
_HTML_HEAD = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>OCPP message log</title>
<style>
body{font-family:monospace;margin:0;background:#fafafa}
#bar{position:sticky;top:0;background:#333;color:#fff;padding:6px}
.row{padding:2px 6px;border-bottom:1px solid #ddd}
.out{background:#e3f2fd}.in{background:#e8f5e9}.event{background:#fff8e1}
.err{border-left:6px solid #c62828}
summary{cursor:pointer}pre{margin:2px 0 2px 20px;white-space:pre-wrap;word-break:break-all}
.hidden{display:none}
</style>
<script>
function applyFilter(){
  var a=document.getElementById('action').value.toLowerCase();
  var d=document.getElementById('dir').value;
  document.querySelectorAll('.row').forEach(function(r){
    var ok=(!a||r.dataset.action.toLowerCase().indexOf(a)>=0)&&(!d||r.classList.contains(d));
    r.classList.toggle('hidden',!ok);});
}
function pretty(d){
  if(!d.open||d.dataset.pretty)return; d.dataset.pretty=1;
  var pre=d.querySelector('pre'); try{pre.textContent=JSON.stringify(JSON.parse(pre.textContent),null,2);}catch(e){}
}
document.addEventListener('toggle',function(e){if(e.target.tagName==='DETAILS')pretty(e.target);},true);
document.addEventListener('DOMContentLoaded',function(){
  var seen={},list=document.getElementById('actions');
  document.querySelectorAll('.row').forEach(function(r){
    var n=r.dataset.action; if(n&&!seen[n]){seen[n]=1;var o=document.createElement('option');
    o.value=n;list.appendChild(o);}});
});
</script></head><body>
<div id="bar">action <input id="action" list="actions" oninput="applyFilter()"><datalist id="actions"></datalist>
direction <select id="dir" onchange="applyFilter()"><option value="">all</option>
<option value="out">CP &rarr; CSMS</option><option value="in">CSMS &rarr; CP</option>
<option value="event">link events</option></select> (expand a row to see its frame)</div>
"""


class MessageLog:
    """Appends to messages.jsonl and messages.html in a folder; rotates both past max_file_size bytes,
    keeping max_files generations (messages.1.jsonl is the newest old one). Never raises to the link: text the
    file encoding cannot hold (a peer's lone surrogate) is written escaped, and a failed write is counted in
    `failures` and reported in a rate-limited line."""

    def __init__(self, folder: Path | str, *, max_file_size: int = 10 * 1024 * 1024, max_files: int = 5,
                 jsonl: bool = True, html_page: bool = True,
                 on_frame: Callable[[str, str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.max_file_size = max(4096, max_file_size)
        self.max_files = max(1, max_files)
        self.failures = 0
        self._kinds = [k for k, on in (("jsonl", jsonl), ("html", html_page)) if on]
        self._on_frame = on_frame
        """LogMessagesFormat `callback`: every frame (direction, text with secrets masked) to the charger too."""
        self._files: dict[str, IO[str]] = {}
        self._failure_log = RateLimitedLog(logger)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, kind: str, generation: int = 0) -> Path:
        name = "messages" if generation == 0 else f"messages.{generation}"
        return self.folder / f"{name}.{kind}"

    def frame(self, direction: str, text: str, action: str | None = None) -> None:
        """One frame as sent or received; direction "out" or "in"; action known from the pending CALL."""
        safe = mask_frame_text(text)
        if self._on_frame is not None:
            self._on_frame(direction, safe)
        message_type, unique_id = _frame_head(safe)
        self._write(_Row(direction, MESSAGE_TYPES.get(message_type, "invalid"), action, unique_id, safe))

    def event(self, text: str) -> None:
        """A link event (connected, disconnected, refused) between the frames."""
        self._write(_Row("event", "event", None, None, mask_frame_text(text)))

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def _write(self, row: _Row) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        for kind in self._kinds:  # each file on its own: a broken one does not silence the other
            try:
                self._append(kind, _jsonl_line(now, row) if kind == "jsonl" else _html_row(now, row))
            except Exception as exc:  # a full disk (or a bug here) must not fail the frame being logged
                self.failures += 1
                self._failure_log.log(logging.ERROR, "message log: writing %s failed (%d failures so far): %s",
                                      kind, self.failures, exc, exc_info=not isinstance(exc, OSError))

    def _append(self, kind: str, text: str) -> None:
        f = self._files.get(kind)
        if f is not None and f.tell() + len(text) > self.max_file_size:
            self._rotate(kind)
            f = None
        if f is None:
            f = self._files[kind] = open(self.path(kind), "a", encoding="utf-8",  # noqa: SIM115
                                         errors="backslashreplace")
            if kind == "html" and f.tell() == 0:
                f.write(_HTML_HEAD)
        f.write(text)
        f.flush()

    def _rotate(self, kind: str) -> None:
        self._files.pop(kind).close()
        oldest = self.path(kind, self.max_files - 1) if self.max_files > 1 else self.path(kind)
        if oldest.exists():
            oldest.unlink()
        for generation in range(self.max_files - 2, -1, -1):
            src = self.path(kind, generation)
            if src.exists():
                os.replace(src, self.path(kind, generation + 1))


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the log, in both files."""

    direction: str
    message_type: str
    action: str | None
    unique_id: str | None
    text: str


def _frame_head(text: str) -> tuple[int | None, str | None]:
    """Message type and unique id; (None, None) for a frame that is not JSON (the link refuses such frames, and
    logs them first)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    if isinstance(value, list) and len(value) >= 2 and isinstance(value[1], str):
        return value[0] if isinstance(value[0], int) else None, value[1]
    return None, None


def _jsonl_line(now: str, row: _Row) -> str:
    return json.dumps({"time": now, "direction": row.direction, "type": row.message_type, "action": row.action,
                       "id": row.unique_id, "frame": row.text}, ensure_ascii=False) + "\n"


def _html_row(now: str, row: _Row) -> str:
    """The frame as sent or received; the page indents it when the row is opened (indenting every frame here
    cost more than the rest of the logging)."""
    err = " err" if row.message_type in ("CALLERROR", "invalid") else ""
    esc = html.escape
    action = esc(row.action or "")
    return (
        f'<div class="row {row.direction}{err}" data-action="{action}"><details><summary>'
        f'{esc(now)} {DIRECTIONS.get(row.direction, esc(row.direction))} <b>{action}</b> '
        f'{esc(row.message_type)} {esc(row.unique_id or "")}</summary><pre>{esc(row.text)}</pre></details></div>\n'
    )
