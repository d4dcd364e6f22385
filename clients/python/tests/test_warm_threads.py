"""Warm task threads (thread isolation): started ahead, each still runs exactly one attempt."""

from __future__ import annotations

import asyncio
import threading

from baton._executions import WarmThreads


async def _ready(threads: WarmThreads, count: int) -> None:
    for _ in range(500):
        if len(threads._ready) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} warm thread(s) were not started")


async def test__warm_threads__each_attempt_a_new_thread_of_its_own__named_for_its_task() -> None:
    threads = WarmThreads(1)
    threads.fill()
    ran: list[threading.Thread] = []
    carried: list[object] = []
    local = threading.local()
    try:
        for index in range(4):
            done = threading.Event()

            def work(index: int = index, done: threading.Event = done) -> None:
                ran.append(threading.current_thread())
                carried.append(getattr(local, "attempt", None))
                local.attempt = index
                done.set()

            threads.take().run(f"baton-task-t{index}", work)
            assert done.wait(10)
            await _ready(threads, 1)  # the replacement, started on the loop's executor
        assert len({id(thread) for thread in ran}) == 4  # no thread ran two attempts
        assert [thread.name for thread in ran] == [f"baton-task-t{index}" for index in range(4)]
        assert carried == [None] * 4  # nothing one attempt left in its thread reaches the next
    finally:
        threads.close()


async def test__warm_threads__closed__the_threads_no_attempt_took_end() -> None:
    threads = WarmThreads(3)
    threads.fill()
    waiting = [spare.thread for spare in threads._ready]
    assert all(thread.is_alive() for thread in waiting)
    threads.close()
    for thread in waiting:
        thread.join(10)
        assert not thread.is_alive()
    assert not threads._ready


async def test__warm_threads__none_ready__one_started_for_the_attempt_at_once() -> None:
    threads = WarmThreads(1)  # not filled
    done = threading.Event()
    try:
        threads.take().run("baton-task-only", done.set)
        assert done.wait(10)
    finally:
        await _ready(threads, 1)
        threads.close()
