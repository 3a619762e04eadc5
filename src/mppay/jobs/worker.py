"""The outbox worker: claims due jobs with a lease, runs them, and records what happened.

Safety with several workers and services on one database:
- a job is claimed by one conditional UPDATE (``SKIP LOCKED`` on PostgreSQL), so two workers
  never hold it at once; the lease (``locked_until``) is renewed while the job runs and lets
  another worker take over only when its worker died;
- completing or rescheduling checks that this worker still holds the lease;
- handlers are idempotent (they re-read the state and apply WeChat's answer through the same
  guarded transitions), so a job that runs again after a crash does no harm.

Graceful shutdown: ``stop()`` stops claiming, lets running jobs finish for ``drain_seconds``,
then cancels the rest and gives them back (``release``) so another worker takes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mppay.store.models import JobRow
from mppay.usecases.context import ServiceContext

__all__ = ["Done", "Handler", "Reschedule", "Worker", "retry_delay"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    """The job's work is finished."""


@dataclass(frozen=True)
class Reschedule:
    """Run the job again at ``run_at`` (not a failure: e.g. the next order query)."""

    run_at: datetime
    payload: dict[str, Any] | None = None


Outcome = Done | Reschedule
Handler = Callable[[ServiceContext, JobRow], Awaitable[Outcome]]


def retry_delay(attempts: int) -> timedelta:
    """Back-off after a failed attempt: 10 s, 20 s, 40 s ... capped at 30 minutes."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 1800))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(object()) % 10_000}"


@dataclass
class Worker:
    ctx: ServiceContext
    handlers: dict[str, Handler]
    worker_id: str = field(default_factory=default_worker_id)
    concurrency: int = 4
    poll_seconds: float = 1.0
    lease: timedelta = timedelta(seconds=60)
    drain_seconds: float = 10.0

    def __post_init__(self) -> None:
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self.processed = 0

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Claim and run jobs until ``stop()``; then drain and release."""
        log.info("worker %s started (%s)", self.worker_id, ", ".join(sorted(self.handlers)))
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not self._stopping.is_set():
                free = self.concurrency - len(self._running)
                claimed = await self._claim(free) if free > 0 else []
                for job in claimed:
                    self._running[job.id] = asyncio.create_task(self._run_one(job))
                if not claimed or free <= 0:
                    await self._idle()
        finally:
            heartbeat.cancel()
            await self._drain()
            log.info("worker %s stopped after %d jobs", self.worker_id, self.processed)

    async def run_until_idle(self, *, max_rounds: int = 100) -> int:
        """Run every due job now, without the loop (tests and ``mppay worker --once``)."""
        done = 0
        for _ in range(max_rounds):
            claimed = await self._claim(self.concurrency)
            if not claimed:
                break
            await asyncio.gather(*(self._run_one(job) for job in claimed))
            done += len(claimed)
        return done

    async def _idle(self) -> None:
        """Wait for the poll interval, a ``wake()``, or a running job to finish."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def _claim(self, limit: int) -> list[JobRow]:
        try:
            async with self.ctx.uow() as uow:
                jobs = await uow.jobs.claim(
                    self.worker_id,
                    self.ctx.clock.now(),
                    lease=self.lease,
                    limit=limit,
                    kinds=list(self.handlers),
                )
                await uow.commit()
            return jobs
        except Exception:
            log.exception("worker %s could not claim jobs", self.worker_id)
            return []

    async def _run_one(self, job: JobRow) -> None:
        handler = self.handlers[job.kind]
        try:
            outcome = await handler(self.ctx, job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(job, exc)
        else:
            await self._finished(job, outcome)
        finally:
            self._running.pop(job.id, None)
            self.processed += 1
            self._wake.set()

    async def _finished(self, job: JobRow, outcome: Outcome) -> None:
        now = self.ctx.clock.now()
        async with self.ctx.uow() as uow:
            if isinstance(outcome, Reschedule):
                await uow.jobs.reschedule(
                    job.id, self.worker_id, now, run_at=outcome.run_at, payload=outcome.payload
                )
            else:
                await uow.jobs.complete(job.id, self.worker_id, now)
            await uow.commit()

    async def _failed(self, job: JobRow, exc: Exception) -> None:
        now = self.ctx.clock.now()
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        async with self.ctx.uow() as uow:
            status = await uow.jobs.retry_later(
                job.id, self.worker_id, now, run_at=now + retry_delay(job.attempts), error=error
            )
            await uow.commit()
        level = logging.ERROR if status == "FAILED" else logging.WARNING
        log.log(
            level,
            "job %s %s attempt %d failed (%s): %s",
            job.id,
            job.kind,
            job.attempts,
            status or "lease lost",
            error,
        )

    async def _heartbeat(self) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if not self._running:
                continue
            try:
                async with self.ctx.uow() as uow:
                    await uow.jobs.extend_lease(
                        list(self._running), self.worker_id, self.ctx.clock.now() + self.lease
                    )
                    await uow.commit()
            except Exception:
                log.exception("worker %s could not renew its leases", self.worker_id)

    async def _drain(self) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(list(self._running.values()), timeout=self.drain_seconds)
        unfinished = [job_id for job_id, task in self._running.items() if task in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if unfinished:
            async with self.ctx.uow() as uow:
                for job_id in unfinished:
                    await uow.jobs.release(job_id, self.worker_id, self.ctx.clock.now())
                await uow.commit()
            log.info("worker %s released %d unfinished jobs", self.worker_id, len(unfinished))
