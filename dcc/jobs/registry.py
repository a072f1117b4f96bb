"""Tasks by name: the outbox stores a task's name and keyword arguments, never a pickle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

TaskFunc = Callable[..., Any]


#: Backoff between RQ's retries of a failing job, in seconds.
DEFAULT_RETRY = (10, 60, 300)
DEFAULT_TIMEOUT = 120


@dataclass(frozen=True)
class Task:
    name: str
    func: TaskFunc
    queue: str
    retry: tuple[int, ...] = DEFAULT_RETRY
    timeout: int = DEFAULT_TIMEOUT


_TASKS: dict[str, Task] = {}


def task(
    name: str,
    *,
    queue: str,
    retry: tuple[int, ...] = DEFAULT_RETRY,
    timeout: int = DEFAULT_TIMEOUT,
) -> Callable[[TaskFunc], TaskFunc]:
    """Register ``func(session, **args)`` as the task ``name`` served from ``queue``.

    A task reloads its rows from the ids it is given and does nothing when the database says
    the work is already done, so running it twice does the work once. It raises on real
    failure so that RQ retries it and records the failure.
    """

    def register(func: TaskFunc) -> TaskFunc:
        if name in _TASKS and _TASKS[name].func is not func:
            raise ValueError(f"task {name!r} is registered twice")
        _TASKS[name] = Task(name, func, queue, retry, timeout)
        return func

    return register


def get(name: str) -> Task:
    """The task registered as ``name``. Tasks register when :mod:`dcc.jobs.tasks` and
    :mod:`dcc.jobs.loop_tasks` are imported,
    which the app factory and the worker do at start."""
    try:
        return _TASKS[name]
    except KeyError:
        raise LookupError(f"no task named {name!r} (tasks register at app start)") from None


def run(session: Session, name: str, args: dict[str, Any]) -> Any:
    return get(name).func(session, **args)
