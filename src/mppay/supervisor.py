"""``mppay serve --workers N``: N service processes sharing one listening socket.

The parent binds the port once, starts N processes (``spawn``: nothing of the parent's threads
or event loop is inherited) that each build the whole service and accept on that socket, and
then only supervises: it forwards SIGINT/SIGTERM, restarts a process that dies while serving,
and gives up (exit 1) when processes keep dying at start-up, which means the configuration or
the database is wrong and restarting cannot help. The kernel spreads connections over the
processes; they coordinate through the database like separate hosts would.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any

from mppay.settings import Settings

__all__ = ["supervise"]

log = logging.getLogger(__name__)

# A process that ends sooner than this after its start failed to start, rather than crashed.
_STARTUP_SECONDS = 20.0
_MAX_STARTUP_FAILURES = 3
# How long running requests get to finish after SIGTERM before the processes are killed.
_GRACE_SECONDS = 30.0


def _child_main(
    settings: Settings,
    sock: socket.socket,
    index: int,
    run_worker: bool,
    ready: Queue[tuple[int, dict[str, Any]]],
) -> None:
    """One service process: the same stack as a single ``mppay serve``, on the shared socket."""
    from mppay.logs import configure_logging
    from mppay.runner import run_stack, start_stack
    from mppay.serve import on_signals, ready_info, run_event_loop

    configure_logging(settings.log_level)
    # Ctrl+C reaches the whole process group: until the stack's own handlers are installed it
    # must not break start-up with a traceback (the parent's SIGTERM stops us all the same).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        stack = await start_stack(
            settings, sandbox=False, service_socket=sock, run_worker=run_worker
        )
        on_signals(stack.stop)
        await run_stack(stack, on_ready=lambda running: ready.put((index, ready_info(running))))

    run_event_loop(main())


@dataclass
class _Slot:
    """One of the N places; its process is replaced when it dies."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    ready: bool = False
    # Deaths in a row within _STARTUP_SECONDS of a start: a broken start, not a crash.
    quick_failures: int = field(default=0)


def supervise(
    settings: Settings,
    sock: socket.socket,
    *,
    workers: int,
    run_worker: bool,
    on_ready: Callable[[dict[str, Any]], None],
) -> int:
    """Run ``workers`` service processes on ``sock`` until SIGINT/SIGTERM; the exit status.

    ``on_ready`` gets the first process's ready info once every process serves. A process that
    dies (before or after it was ready) is replaced; one that dies at start-up
    ``_MAX_STARTUP_FAILURES`` times in a row stops everything with status 1. The background
    job worker, when wanted, runs in the first process only: jobs are claimed through the
    database, so one claimer per host is enough and the others keep their connections for
    requests.
    """
    context = multiprocessing.get_context("spawn")
    ready: Queue[tuple[int, dict[str, Any]]] = context.Queue()
    slots = [_Slot(index) for index in range(workers)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(slot: _Slot) -> None:
        slot.process = context.Process(
            target=_child_main,
            args=(settings, sock, slot.index, run_worker and slot.index == 0, ready),
            name=f"mppay-serve-{slot.index}",
            daemon=False,
        )
        slot.started_at = time.monotonic()
        slot.ready = False
        slot.process.start()

    first_info: dict[str, Any] | None = None
    announced = False
    try:
        for slot in slots:
            start(slot)
        while not stopping:
            try:
                index, info = ready.get(timeout=0.5)
            except queue.Empty:
                pass
            else:
                slots[index].ready = True
                first_info = first_info or info
            if not announced and first_info is not None and all(slot.ready for slot in slots):
                on_ready({**first_info, "workers": workers})
                announced = True
            for slot in slots:
                if stopping or slot.process is None or slot.process.is_alive():
                    continue
                quick = time.monotonic() - slot.started_at < _STARTUP_SECONDS
                slot.quick_failures = slot.quick_failures + 1 if quick else 0
                if slot.quick_failures >= _MAX_STARTUP_FAILURES:
                    log.error("service process %d keeps failing at start-up; stopping", slot.index)
                    return 1
                log.warning(
                    "service process %d exited (%s); starting another",
                    slot.index,
                    slot.process.exitcode,
                )
                start(slot)
        return 0
    finally:
        _stop_all(slots)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ready.close()


def _stop_all(slots: list[_Slot]) -> None:
    processes = [slot.process for slot in slots if slot.process is not None]
    for process in processes:
        if process.is_alive() and process.pid is not None:
            process.terminate()  # SIGTERM: uvicorn finishes running requests, then exits
    deadline = time.monotonic() + _GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning(
                "service process %s did not stop in %.0f s; killing it",
                process.name,
                _GRACE_SECONDS,
            )
            process.kill()
            process.join()
