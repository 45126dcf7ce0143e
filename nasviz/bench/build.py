"""Build a micro benchmark: train sampled cells of a search space standalone on the embedded dataset.

Each (cell, seed) pair is one job; finished jobs are appended to a partial file next to the
output (by the driver, as each job finishes), so a killed build resumes where it stopped. Jobs
run through :mod:`nasviz.executor` (a local process pool, or Ray with ``--backend ray``) in
worker processes with one torch thread each (small networks parallelise better across
processes than inside one).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from nasviz.bench.micro import MicroBench, is_microbench_file, microbench_path
from nasviz.cache import param_hash
from nasviz.executor import Executor, Task, get_executor
from nasviz.io import atomic_write_text
from nasviz.spaces import get_space


@dataclass(frozen=True)
class MicroBenchRecipe:
    """Everything that determines the micro benchmark (stored in the CSV header)."""

    dataset: str = 'digits'
    # 1,000 digits in 4 warped views each (4,000 training images), 3 epochs: a more reliable
    # ground truth than 1 view x 10 epochs at about the same cost (README, 'Default profile study')
    data: dict = field(
        default_factory=lambda: dict(
            n_train=1000,
            size=16,
            noise=0.3,
            scale=[0.55, 0.85],
            max_rotation=20.0,
            max_shift=0.3,
            train_views=4,
            test_views=4,
            random_state=0,
        )
    )
    n_cells: int = 200
    cell_seed: int = 0
    # four seeds: two independent halves of two seeds each give the split-half reliability
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    #: NB201's network size (recipes of the first micro benchmark name it this way)
    C: int = 8
    N: int = 1
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.05
    weight_decay: float = 5e-4
    #: the search space and its network size arguments (default: the space's ``sizes['tiny']``;
    #: for NB201 ``C`` and ``N`` above, so the recipe and hash of its shipped benchmark stay)
    space: str = 'nb201'
    size: dict | None = None

    def __post_init__(self) -> None:
        if self.n_cells < 2 or not self.seeds:
            raise ValueError(f'recipe needs n_cells >= 2 and at least one seed (got {self.n_cells}, {self.seeds})')
        object.__setattr__(self, 'seeds', tuple(int(s) for s in self.seeds))
        space = get_space(self.space)  # unknown names fail here, before any work
        object.__setattr__(self, 'space', space.name)
        tiny = {k: v for k, v in space.default_size('tiny').items() if k not in ('num_classes', 'in_channels')}
        if self.size is None and set(tiny) != {'C', 'N'}:
            object.__setattr__(self, 'size', tiny)

    def network_size(self) -> dict:
        """The size arguments the recipe's networks are built with (the data's classes and
        channels come on top)."""
        return dict(self.size) if self.size is not None else dict(C=self.C, N=self.N)

    def to_dict(self) -> dict:
        """The recipe as stored and hashed (a recipe sized by ``C`` and ``N`` keeps the form it had
        before spaces were plug-ins, so its hash, and a resumable partial build, stays the same)."""
        d = asdict(self)
        if d['size'] is None and d['space'] == _DEFAULT_SPACE:
            d.pop('space')
            d.pop('size')
        return d

    def cells(self) -> list:
        """Distinct (non-isomorphic), non-degenerate cells drawn uniformly: degenerate cells all
        score chance and would only add ties."""
        return get_space(self.space).sample_distinct(self.n_cells, rng=self.cell_seed, exclude_degenerate=True)


#: the recipe's default space (recipes of it sized by ``C`` and ``N`` name no space)
_DEFAULT_SPACE = MicroBenchRecipe.__dataclass_fields__['space'].default

_WORKER: dict = {}


def _init_worker(recipe: dict) -> None:
    import torch

    from nasviz.data import load_dataset

    torch.set_num_threads(1)
    _WORKER['data'] = load_dataset(recipe['dataset'], **recipe['data'])


def _train_one(recipe: dict, arch_str: str, seed: int) -> dict:
    import torch

    from nasviz.supernet.evaluate import accuracy
    from nasviz.supernet.train import TrainConfig, train_supernet

    data = _WORKER['data']
    space = get_space(recipe.get('space', 'nb201'))
    arch = space.from_str(arch_str)
    size = dict(
        recipe.get('size') or dict(C=recipe['C'], N=recipe['N']),
        num_classes=data.num_classes,
        in_channels=data.in_channels,
    )
    torch.manual_seed(seed)
    net = space.build_network(arch, **size)
    t0, c0 = time.perf_counter(), time.process_time()
    cfg = TrainConfig(
        epochs=recipe['epochs'],
        batch_size=recipe['batch_size'],
        lr=recipe['lr'],
        weight_decay=recipe['weight_decay'],
        seed=seed,
    )
    hist = train_supernet(net, data, cfg, progress=False)
    acc, _ = accuracy(net, arch, data.x_test, data.y_test)
    if hasattr(space, 'param_count'):  # the cell's own size (NB201: live edges; NB101: exact widths)
        params = space.param_count(arch, **size)
    else:
        params = sum(p.numel() for p in net.parameters())
    return dict(
        arch_str=arch_str,
        seed=seed,
        accuracy=acc,
        train_acc=float(hist.train_acc.iloc[-1]),
        params=params,
        seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - c0,
    )


def _read_jobs(path: Path) -> tuple[str | None, dict[tuple[str, int], dict]]:
    """``(recipe hash, finished jobs)`` of a partial file (a line cut by a kill is skipped; the hash
    is None when the first line is not nasviz's header)."""
    lines = path.read_text().splitlines()
    try:
        head = json.loads(lines[0]).get('recipe_hash') if lines else None
    except (json.JSONDecodeError, AttributeError):
        head = None
    jobs: dict[tuple[str, int], dict] = {}
    for line in lines[1:]:
        try:
            r = json.loads(line)
            jobs[(r['arch_str'], r['seed'])] = r
        except (json.JSONDecodeError, KeyError, TypeError):  # a line cut by a kill
            continue
    return head if isinstance(head, str) else None, jobs


def _write_jobs(path: Path, rhash: str, jobs: dict[tuple[str, int], dict]) -> None:
    atomic_write_text(path, ''.join(json.dumps(r) + '\n' for r in [{'recipe_hash': rhash}, *jobs.values()]))


def _aside_path(partial: Path, rhash: str) -> Path:
    """Where the finished jobs of recipe ``rhash`` wait while another recipe builds: one file per
    recipe, so set-aside jobs of two recipes never share a name."""
    return partial.with_name(f'{partial.name}.recipe-{rhash}')


def _check_out(out: Path, rdict: dict, force: bool) -> None:
    """``FileExistsError`` when ``out`` holds something other than this recipe's finished
    benchmark (another recipe's, or a file nasviz did not write), unless ``force``."""
    if force or not out.exists():
        return
    if not is_microbench_file(out):
        raise FileExistsError(
            f'{out} exists and is not a micro benchmark written by nasviz; it is never '
            'overwritten: choose another --out'
        )
    try:
        saved = MicroBench.load(out).recipe
    except (ValueError, KeyError) as err:
        raise FileExistsError(
            f'{out} is a damaged micro benchmark ({err}); move it away, or pass --force (force=True) to replace it'
        ) from None
    mine = json.loads(json.dumps(rdict))
    if {k: saved.get(k) for k in mine} != mine:
        diff = sorted(k for k in mine if saved.get(k) != mine[k])
        raise FileExistsError(
            f'{out} holds a finished micro benchmark of another recipe (differs in {diff}); '
            'choose another --out, or pass --force (force=True) to replace it'
        )


def build_microbench(
    recipe: MicroBenchRecipe = MicroBenchRecipe(),
    out: str | os.PathLike | None = None,
    workers: int = 2,
    progress: bool = True,
    executor: Executor | None = None,
    force: bool = False,
) -> MicroBench:
    """Train ``recipe.n_cells`` cells for every seed, write the benchmark CSV (with its recipe and
    summary in the header) and return it. Resumes from ``<out>.partial.jsonl`` if present.

    Finished jobs are never lost: jobs of another recipe found in the partial file are kept in
    ``<out>.partial.jsonl.recipe-<hash>`` (one file per recipe, merged when that recipe is set
    aside again) and taken back when that recipe is built again. A finished benchmark of another
    recipe at ``out``, or a file there that nasviz did not write, is refused (``FileExistsError``)
    unless ``force``.

    ``executor`` runs the jobs (default: :func:`nasviz.executor.get_executor` with ``workers``:
    the local pool unless ``NASVIZ_BACKEND`` says otherwise; ``workers=1`` trains in this
    process)."""
    rdict = recipe.to_dict()
    space = get_space(recipe.space)
    if out is None:  # the space's shipped file (data/microbench_<space>.csv, NB201's microbench_digits.csv)
        out = microbench_path(space)
    out = Path(out)
    _check_out(out, rdict, force)
    ex = executor if executor is not None else get_executor(None, workers)
    rhash = param_hash(rdict)
    partial = out.with_name(out.name + '.partial.jsonl')
    done: dict[tuple[str, int], dict] = {}
    if partial.exists():
        head, jobs = _read_jobs(partial)
        if head is None:
            raise FileExistsError(
                f'{partial} was not written by nasviz (no recipe header on its first line); '
                'it is never moved or overwritten: move it away or choose another --out'
            )
        if head == rhash:
            done = jobs
        else:
            # finished jobs of another recipe are never discarded: keep them aside (merged with
            # any kept earlier for that recipe), and say so
            aside = _aside_path(partial, head)
            kept = _read_jobs(aside)[1] if aside.exists() else {}
            _write_jobs(aside, head, {**kept, **jobs})
            partial.unlink()
            print(
                f'build-microbench: {partial} holds {len(jobs)} finished job(s) of another recipe; '
                f'kept aside as {aside} ({len({**kept, **jobs})} job(s) of that recipe there)'
            )
    mine = _aside_path(partial, rhash)
    if mine.exists():  # this recipe's own jobs, set aside while another recipe was built
        back = _read_jobs(mine)[1]
        done = {**back, **done}
        print(f'build-microbench: {len(back)} finished job(s) of this recipe taken back from {mine}')
    if not partial.exists() or mine.exists():
        partial.parent.mkdir(parents=True, exist_ok=True)
        _write_jobs(partial, rhash, done)  # rewritten whole: a line cut by a kill is dropped
        if mine.exists():
            mine.unlink()
    elif partial.read_text()[-1:] not in ('', '\n'):
        _write_jobs(partial, rhash, done)  # the last line was cut by a kill: drop it
    cells = [space.to_str(a) for a in recipe.cells()]
    todo = [(a, s) for s in recipe.seeds for a in cells if (a, s) not in done]
    t0 = time.perf_counter()
    with open(partial, 'a') as log:

        def store(key: tuple[str, int], r: dict) -> None:  # on the driver, as each job finishes
            done[key] = r
            log.write(json.dumps(r) + '\n')
            log.flush()

        ex.run(
            _train_one,
            [Task((a, s), (rdict, a, s)) for a, s in todo],
            store,
            initializer=_init_worker,
            initargs=(rdict,),
            progress=progress,
            desc='micro benchmark',
            unit='job',
            total=len(cells) * len(recipe.seeds),
            initial=len(done),
        )
    wall = time.perf_counter() - t0
    rows = []
    for a in cells:
        row = dict(
            arch_str=a,
            canonical=space.canonical(space.from_str(a)),
            degenerate=False,
            params=done[(a, recipe.seeds[0])]['params'],
        )
        for s in recipe.seeds:
            row[f'acc_seed{s}'] = round(done[(a, s)]['accuracy'], 4)
        rows.append(row)
    df = pd.DataFrame(rows)
    df['accuracy'] = df[[f'acc_seed{s}' for s in recipe.seeds]].mean(axis=1).round(4)
    recipe_out = dict(
        rdict,
        builder='nasviz build-microbench',
        model=space.micro_benchmark_model
        if hasattr(space, 'micro_benchmark_model')
        else f'{space.name} standalone network (space.build_network)',
        optimizer='SGD nesterov momentum 0.9, cosine schedule, grad clip 5',
    )
    recipe_out = json.loads(json.dumps(recipe_out))  # the form it has once saved
    mb = MicroBench.from_frame(df, recipe_out)
    summary = dict(
        n_cells=len(cells),
        seeds=list(recipe.seeds),
        spread=mb.spread(),
        seed_to_seed_kendall_tau=round(mb.seed_to_seed_tau(), 4) if len(recipe.seeds) > 1 else None,
        split_half_reliability=round(mb.reliability(), 4) if len(recipe.seeds) >= 4 else None,
        cpu_seconds_per_job=round(sum(r.get('cpu_seconds', r['seconds']) for r in done.values()) / len(done), 2),
        wall_seconds_this_run=round(wall, 1),
        workers=ex.workers,
        backend=ex.backend,
    )
    mb = MicroBench.from_frame(df, recipe_out, summary)
    mb.save(out)
    partial.unlink()
    return mb
