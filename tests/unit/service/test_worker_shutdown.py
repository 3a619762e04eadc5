import asyncio
from datetime import timedelta

from mppay.jobs.worker import Done, Worker
from mppay.store.models import JobRow
from mppay.usecases.context import ServiceContext
from tests.support.fakes import MutableClock


async def test_stopping_releases_a_job_that_does_not_finish_in_time(
    ctx: ServiceContext, clock: MutableClock
) -> None:
    started = asyncio.Event()

    async def slow(_: ServiceContext, job: JobRow) -> Done:
        started.set()
        await asyncio.sleep(60)
        return Done()

    async with ctx.uow() as uow:
        await uow.jobs.enqueue("slow", {}, run_at=clock.now(), now=clock.now())
        await uow.commit()
    worker = Worker(
        ctx, {"slow": slow}, worker_id="w-stop", drain_seconds=0.1, lease=timedelta(seconds=60)
    )
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), 5)
    worker.stop()
    await asyncio.wait_for(running, 5)
    async with ctx.uow(read_only=True) as uow:
        queued = await uow.jobs.by_status("QUEUED")
    assert len(queued) == 1
    assert queued[0].attempts == 0  # given back, not counted as a failed try
    assert queued[0].locked_by is None


async def test_a_failing_job_is_retried_with_backoff_then_marked_failed(
    ctx: ServiceContext, clock: MutableClock
) -> None:
    async def broken(_: ServiceContext, job: JobRow) -> Done:
        raise RuntimeError("WeChat is down")

    async with ctx.uow() as uow:
        await uow.jobs.enqueue("broken", {}, run_at=clock.now(), now=clock.now(), max_attempts=2)
        await uow.commit()
    worker = Worker(ctx, {"broken": broken}, worker_id="w-fail")
    await worker.run_until_idle()
    async with ctx.uow(read_only=True) as uow:
        (job,) = await uow.jobs.by_status("QUEUED")
    assert job.run_at == clock.now() + timedelta(seconds=10)
    assert "WeChat is down" in (job.last_error or "")
    clock.advance(11)
    await worker.run_until_idle()
    async with ctx.uow(read_only=True) as uow:
        failed = await uow.jobs.by_status("FAILED")
    assert len(failed) == 1
