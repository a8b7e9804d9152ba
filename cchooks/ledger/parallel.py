"""A large backfill's parsing in worker processes, while the calling process writes.

`read_all` hands tasks of about `task_bytes` of new data (big files first) to a pool of parse
processes; each writes the rows it parsed into a stage file (cchooks.ledger.staging) and sends
back only the read positions. At most IN_FLIGHT tasks per process run ahead of the writer.
Parsing is pure (`ingest.read_new_bytes`), so the processes may start by fork or by spawn.
"""

from __future__ import annotations

from cchooks.ledger.ingest import new_bytes
from cchooks.ledger.reader import bulk_decoder, read_new_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.pool import AsyncResult

    from cchooks.ledger.ingest import Task
    from cchooks.ledger.reader import FileRead
    from cchooks.ledger.staging import Stage

IN_FLIGHT = 2  # tasks per parse process queued or parsed ahead of the writer


def _read_batch(tasks: list[Task]) -> list[FileRead]:
    return [read_new_bytes(tf, st, state, bulk=True) for tf, st, state in tasks]


def _read_batch_staged(tasks: list[Task], stage_dir: str, name: str) -> tuple[Stage | None, list[FileRead]]:
    """`_read_batch` in a parse process whose rows go into a stage file (cchooks.ledger.staging)."""
    import _sqlite3 as sqlite3

    from cchooks.ledger.staging import write_stage

    reads = _read_batch(tasks)
    rows = [row for fr in reads for seg in fr.segments for row in seg.rows]
    if not rows:
        return None, reads
    try:
        stage = write_stage(stage_dir, name, rows)
    except (OSError, sqlite3.Error):
        return None, reads  # no room in the temp dir: the rows go back the in-memory way
    for fr in reads:
        for seg in fr.segments:
            seg.staged, seg.rows = len(seg.rows), []
    return stage, reads


def read_all(
    todo: list[Task],
    bulk: bool,
    workers: int,
    method: str | None = None,
    stage_dir: str | None = None,
    task_bytes: int = 8 << 20,
) -> Iterator[FileRead | Stage]:
    """Every task's FileRead; with parse processes (and a `stage_dir` for their stage files,
    which the caller removes after its last flush), each task's rows come in a Stage first."""
    if workers <= 1 or stage_dir is None:
        for tf, st, state in todo:
            yield read_new_bytes(tf, st, state, bulk)
        return
    import multiprocessing
    from collections import deque

    bulk_decoder()  # imported here once, so forked workers inherit it
    if method not in multiprocessing.get_all_start_methods():
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    # At most IN_FLIGHT tasks per worker are parsed ahead of the writes: parsed rows waiting
    # for this process are what the peak memory of a backfill is made of.
    with multiprocessing.get_context(method).Pool(workers, initializer=_parse_worker_init) as pool:
        batches = enumerate(_batches(todo, task_bytes))

        def submit(n: int, task: list[Task]) -> AsyncResult[tuple[Stage | None, list[FileRead]]]:
            return pool.apply_async(_read_batch_staged, (task, stage_dir, f"{n}.sqlite3"))

        pending: deque[AsyncResult[tuple[Stage | None, list[FileRead]]]] = deque()
        for n, task in batches:
            pending.append(submit(n, task))
            if len(pending) >= workers * IN_FLIGHT:
                break
        while pending:
            stage, reads = pending.popleft().get()
            for n, task in batches:  # one more, if any
                pending.append(submit(n, task))
                break
            if stage is not None:
                yield stage
            yield from reads


def _parse_worker_init() -> None:
    import gc

    # Parsers allocate no reference cycles; the collector would only rescan their records.
    gc.disable()


def _batches(todo: list[Task], task_bytes: int) -> list[list[Task]]:
    """Tasks for the parse processes: about `task_bytes` of new data each.

    Big files first, so no worker is left with one straggler at the end; small tasks, so
    this process starts writing results while the workers are still parsing.
    """
    batches: list[list[Task]] = []
    size = task_bytes
    for task in sorted(todo, key=new_bytes, reverse=True):
        if size >= task_bytes:
            batches.append([])
            size = 0
        batches[-1].append(task)
        size += new_bytes(task)
    return batches
