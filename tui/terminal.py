"""How the apps end: in order on SIGHUP, SIGTERM and SIGINT, and when their terminal goes away.

Textual's Linux driver writes the screen through a thread with a bounded queue and reads
keys on another. When the terminal hangs up (its tmux window closed, an ssh session
dropped) the writer thread dies on its first EIO and the queue fills; the app's loop then
blocks for ever on the next frame, so no signal handler of that loop runs again (SIGTERM is
ignored), while the reader thread spins on end-of-file at a whole core. The SIGCONT that
comes with a hang-up makes the driver restart the application on the dead terminal, with
two more such threads. And a process outside the terminal's session gets no SIGHUP at all.

So the driver here watches its terminal: on hang-up it stops writing and reading it and
tells the app, which ends as on SIGHUP.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import termios
import threading
from typing import Any

from textual import constants
from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from probes import EXIT_INTERRUPTED

SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class TerminalGone(Message):
    """The app's terminal hung up: nobody sees or drives the app any more."""


def _terminal_alive(fd: int) -> bool:
    try:
        termios.tcgetattr(fd)
    except termios.error:
        return False  # EIO: hung up
    return True


class HangupAwareDriver(LinuxDriver):
    """Textual's Linux driver, made to notice that its terminal is gone."""

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.gone = False
        self._watcher: threading.Thread | None = None
        self._wake_read, self._wake_write = -1, -1

    def start_application_mode(self) -> None:
        super().start_application_mode()  # type: ignore[no-untyped-call]  # Textual leaves its driver untyped
        if self._watcher is None and os.isatty(self.fileno):
            self._wake_read, self._wake_write = os.pipe()
            self._watcher = threading.Thread(target=self._watch, name="gauntlet-terminal", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Wait for the terminal to hang up, without a timer: poll reports a hang-up even
        when asked for nothing else (the keys stay the reader thread's)."""
        poller = select.poll()
        poller.register(self.fileno, 0)
        poller.register(self._wake_read, select.POLLIN)
        ready = dict(poller.poll())
        if self._wake_read in ready or ready.get(self.fileno, 0) & select.POLLNVAL:
            return  # the app closed, or a system that cannot poll a terminal: signals still end it
        self.gone = True
        self.exit_event.set()  # the reader thread stops instead of spinning on end-of-file
        self._app.post_message(TerminalGone())

    def write(self, data: str) -> None:
        if not self.gone:  # nobody reads it, and a dead writer thread would block the app
            super().write(data)

    def resume_application_mode(self) -> None:
        """On SIGCONT: a hang-up sends one too, and there is nothing to resume then."""
        if not self.gone and _terminal_alive(self.fileno):
            super().resume_application_mode()

    def close(self) -> None:
        if self._watcher is not None:
            os.write(self._wake_write, b"x")
            self._watcher.join()
            os.close(self._wake_read)
            os.close(self._wake_write)
            self._watcher = None
        if not self.gone:  # else the writer thread may be dead with a full queue: joining it never returns
            super().close()


class TerminalApp(App[int]):
    """Base of the apps: SIGHUP, SIGTERM, SIGINT and a terminal gone all end it through
    `action_interrupt`, whatever screen is on top. (Textual calls the handlers of every
    class of an app, so a subclass's own on_mount does not replace these.)"""

    def get_driver_class(self) -> type[Driver]:
        """Ours on a terminal; the driver TEXTUAL_DRIVER names when it is set: textual-serve
        (`gauntlet serve`) runs the app with its web driver, on pipes, and no terminal."""
        return super().get_driver_class() if constants.DRIVER else HangupAwareDriver

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self.action_interrupt)

    def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    def on_terminal_gone(self, _: TerminalGone) -> None:
        self.action_interrupt()

    def action_interrupt(self) -> None:
        """Quit, interrupted; an app with work in flight stops it first."""
        self.exit(EXIT_INTERRUPTED)
