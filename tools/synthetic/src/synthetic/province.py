"""The province written to files, by one process or by several.

Each commune draws from its own random stream, so worker `part` of `parts` can make, on its own,
the lines of the communes whose index is `part` modulo `parts`; the parent merges them back into
the order one process makes them, so the files are the same bytes whatever the number of workers.
Workers pay off from a few hundred thousand households: each first spends seconds importing.
"""

import multiprocessing
import os
import queue
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path

from synthetic.calibration import CALIBRATION, Calibration
from synthetic.files import (
    HOUSEHOLDS_FILE,
    POPULATIONS_FILE,
    PopulationTally,
    household_line,
    replacing,
    write_populations,
)
from synthetic.generator import (
    DEFAULT_SEED,
    REFERENCE_DATE,
    Commune,
    commune_order,
    household_records,
    sorted_communes,
    validated,
)

PARALLEL_FROM = 200_000  # households; below, starting worker processes costs more than it saves
BATCH = 200  # lines a worker sends at a time
Line = tuple[str, int, str]  # commune code, members, the household's line
Message = list[Line] | str  # a batch of lines, or why the worker stopped


@dataclass(frozen=True)
class ProvinceFiles:
    """What `write_province` wrote: the two files and what they hold."""

    households_path: Path
    populations_path: Path
    households: int
    persons: int
    communes: int


def write_province(
    communes: Iterable[Commune | tuple[str, bool]],
    directory: Path,
    *,
    households: int,
    seed: int = DEFAULT_SEED,
    reference_date: date = REFERENCE_DATE,
    calibration: Calibration = CALIBRATION,
    workers: int | None = None,
) -> ProvinceFiles:
    """Generate the province into `directory` (created if missing): both files, in one pass.

    `workers` processes share the communes (by default one per CPU from PARALLEL_FROM
    households on, else none); the files are the same whatever their number.
    """
    ordered = sorted_communes(communes, households)
    if workers is None:
        workers = _cpus() if households >= PARALLEL_FROM else 1
    workers = max(1, min(workers, len(ordered)))
    arguments = (ordered, households, seed, reference_date, calibration)
    lines = _lines(*arguments) if workers == 1 else _parallel_lines(*arguments, workers=workers)
    directory.mkdir(parents=True, exist_ok=True)
    tally = PopulationTally()
    households_path = directory / HOUSEHOLDS_FILE
    written = 0
    with (
        closing(lines),  # stops the workers at once if writing fails
        replacing(households_path) as temporary,
        temporary.open("w", encoding="utf-8", newline="\n") as out,
    ):
        for commune_code, persons, line in lines:
            tally.count(commune_code, persons)
            out.write(line)
            written += 1
    rows = tally.rows()
    populations_path = directory / POPULATIONS_FILE
    write_populations(rows, populations_path)
    return ProvinceFiles(
        households_path=households_path,
        populations_path=populations_path,
        households=written,
        persons=sum(row.resident_persons for row in rows),
        communes=len(rows),
    )


def _lines(
    communes: Sequence[Commune],
    households: int,
    seed: int,
    reference_date: date,
    calibration: Calibration,
    *,
    part: int = 0,
    parts: int = 1,
) -> Generator[Line, None, None]:
    records = household_records(
        communes, households, seed, reference_date, calibration, part=part, parts=parts
    )
    for item in validated(records):
        yield item.household.commune_code, len(item.assessment.members), household_line(item)


def _parallel_lines(
    communes: Sequence[Commune],
    households: int,
    seed: int,
    reference_date: date,
    calibration: Calibration,
    *,
    workers: int,
) -> Generator[Line, None, None]:
    """`_lines`, each worker process making those of every `workers`-th commune; merged back
    in the order one process makes them (each commune draws from its own random stream)."""
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a process with threads
    queues: list[Queue[Message]] = [context.Queue(maxsize=16) for _ in range(workers)]
    processes = [
        context.Process(
            target=_produce,
            args=(queues[part], communes, households, seed, reference_date, calibration, part),
            kwargs={"parts": workers},
            daemon=True,
        )
        for part in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        pending: list[deque[Line]] = [deque() for _ in range(workers)]
        for index in commune_order(len(communes), households):
            part = index % workers
            if not pending[part]:
                pending[part].extend(_receive(queues[part], processes[part]))
            yield pending[part].popleft()
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()


def _produce(
    out: "Queue[Message]",
    communes: Sequence[Commune],
    households: int,
    seed: int,
    reference_date: date,
    calibration: Calibration,
    part: int,
    *,
    parts: int,
) -> None:
    """A worker: send this part's lines in batches, or the error that stopped it."""
    try:
        batch: list[Line] = []
        lines = _lines(
            communes, households, seed, reference_date, calibration, part=part, parts=parts
        )
        for line in lines:
            batch.append(line)
            if len(batch) == BATCH:
                out.put(batch)
                batch = []
        if batch:
            out.put(batch)
    except Exception as error:  # reported to the parent, which raises it
        out.put(f"{type(error).__name__}: {error}")


def _receive(source: "Queue[Message]", process: BaseProcess) -> list[Line]:
    while True:
        try:
            batch = source.get(timeout=1)
        except queue.Empty:
            if not process.is_alive() and source.empty():
                raise RuntimeError(f"worker {process.name} stopped early") from None
            continue
        if isinstance(batch, str):
            raise RuntimeError(f"worker {process.name} failed: {batch}")
        return batch


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1
