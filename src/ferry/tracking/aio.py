"""The asyncio client: the same surface as :class:`Rubicon`, awaited.

::

    rubicon = AsyncRubicon(root_dir="s3://my-bucket/root")
    project = await rubicon.get_or_create_project("p")
    experiment = await project.log_experiment("run")
    await asyncio.gather(*(experiment.log_metric(f"m{i}", i) for i in range(100)))

Each call runs the synchronous client on a bounded thread pool (``concurrency`` threads),
so calls gathered together really are in flight at once: boto3 releases the GIL while it
waits on the network. Objects a call returns (projects, experiments, metrics, ...) come
back wrapped, so their methods are awaited too; plain values (bytes, frames, names) are
returned as they are. Attributes that are not methods are read without awaiting.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from ferry.tracking.annotated import Annotated
from ferry.tracking.client import Project, Rubicon

__all__ = ["AsyncRubicon", "Awaitable"]

_WRAPPED = (Rubicon, Project, Annotated)


class Awaitable:
    """An object of the synchronous client whose methods become coroutines."""

    def __init__(self, target: Any, executor: ThreadPoolExecutor) -> None:
        self._target = target
        self._executor = executor

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._executor, partial(attribute, *args, **kwargs))
            return self._wrap(result)

        call.__name__ = name
        call.__doc__ = attribute.__doc__
        return call

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, _WRAPPED):
            return Awaitable(value, self._executor)
        if isinstance(value, list) and value and isinstance(value[0], _WRAPPED):
            return [Awaitable(item, self._executor) for item in value]
        return value

    def __repr__(self) -> str:
        return f"Async{self._target!r}"


class AsyncRubicon(Awaitable):
    """``Rubicon`` with awaitable methods; takes the same arguments.

    Args:
        concurrency: how many calls may run at once (default: the ``concurrency`` setting).
    """

    def __init__(self, *args: Any, concurrency: int | None = None, **kwargs: Any) -> None:
        rubicon = Rubicon(*args, **kwargs)
        workers = concurrency or rubicon.repositories[0].workers
        super().__init__(
            rubicon, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ferry-async")
        )

    def close(self) -> None:
        """Stop the worker threads (they also stop when the program exits) and flush the
        client's queued writes, if any."""
        self._executor.shutdown(wait=True)
        self._target.close()
