"""What every phase shares: the platform, the sizes of this run, the units and what was written."""

from dataclasses import dataclass, field
from pathlib import Path

from bench.data import Round, Unit
from bench.platform import Platform


@dataclass(frozen=True)
class Sizes:
    """How much each phase does. `full()` fits about 10 minutes on 2 cores; `quick()` seconds."""

    households: int  # P6 imports this many; P7 recalculates them
    backlog: int  # P4: events staged in the outbox before the pipeline starts
    seconds: float  # P1/P2: duration of the run at the target's offered load
    step_seconds: float  # P1: duration of each step of the saturation search
    steps: tuple[float, ...]  # P1: offered write rates tried, until one is not sustained
    write_rate: float  # P1: the target's offered load, writes/s
    read_rate: float  # P2: the target's offered load, reads/s
    unloaded: int  # P1/P2: requests made one at a time for the unloaded reference
    sequential: int  # P3: requests per target, one at a time, for latency
    throughput_seconds: float  # P3: duration of each peak-throughput run
    concurrency: int  # P3: connections of a peak-throughput run
    probes: int  # P5: writes whose freshness is measured
    background_rate: float  # P5: steady background writes/s
    seed: int = 2024

    @classmethod
    def full(cls, households: int, backlog: int) -> "Sizes":
        return cls(
            households=households,
            backlog=backlog,
            seconds=20,
            step_seconds=10,
            steps=(5, 10, 20, 40, 80, 160, 320),
            write_rate=200,
            read_rate=500,
            unloaded=40,
            sequential=300,
            throughput_seconds=8,
            concurrency=16,
            probes=40,
            background_rate=50,  # issue 10: P5's targets hold under 50 background writes/s
        )

    @classmethod
    def quick(cls, households: int, backlog: int) -> "Sizes":
        return cls(
            households=households,
            backlog=backlog,
            seconds=1,
            step_seconds=1,
            steps=(5,),
            write_rate=200,
            read_rate=500,
            unloaded=4,
            sequential=10,
            throughput_seconds=1,
            concurrency=8,
            probes=2,
            background_rate=10,
        )


@dataclass
class Context:
    platform: Platform
    sizes: Sizes
    units: list[Unit]
    load_round: Round
    profile_dir: Path | None = None  # where py-spy profiles go, when asked for
    households: list[str] = field(default_factory=list)  # ids of households written by P1
    notes: list[str] = field(default_factory=list)
