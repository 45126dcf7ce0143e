import json

import pytest

from nasviz.bench import MicroBench, load_benchmark
from nasviz.bench.build import MicroBenchRecipe, build_microbench
from nasviz.bench.micro import default_path

TINY = MicroBenchRecipe(
    data=dict(n_train=100, size=12, test_views=1), n_cells=4, seeds=(0, 1), C=2, N=1, epochs=1, batch_size=50
)


def test_build_writes_recipe_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / 'mb.csv'
    mb = build_microbench(TINY, out=out, workers=1, progress=False)
    assert len(mb) == 4 and mb.seeds == [0, 1]
    assert mb.recipe['n_cells'] == 4 and mb.recipe['builder'] == 'nasviz build-microbench'
    assert 'seed_to_seed_kendall_tau' in mb.summary and 'spread' in mb.summary
    again = MicroBench.load(out)
    assert again.recipe == mb.recipe and again.to_frame()['accuracy'].tolist() == mb.to_frame()['accuracy'].tolist()
    assert isinstance(load_benchmark(str(out)), MicroBench)
    assert not (tmp_path / 'mb.csv.partial.jsonl').exists()

    # a killed build keeps finished jobs: fake a partial file with one job done, then resume
    partial = tmp_path / 'mb2.csv.partial.jsonl'
    from nasviz.cache import param_hash

    done = {
        'arch_str': str(TINY.cells()[0]),
        'seed': 0,
        'accuracy': 12.5,
        'train_acc': 0.0,
        'params': 1,
        'seconds': 0.0,
    }
    partial.write_text(
        json.dumps({'recipe_hash': param_hash(TINY.to_dict())})
        + '\n'
        + json.dumps(done)
        + '\n'
        + '{"arch_str": "cut by a ki'
    )
    calls = []
    import nasviz.bench.build as b

    real = b._train_one
    monkeypatch.setattr(b, '_train_one', lambda r, a, s: calls.append((a, s)) or real(r, a, s))
    mb2 = build_microbench(TINY, out=tmp_path / 'mb2.csv', workers=1, progress=False)
    assert len(calls) == 7 and (done['arch_str'], 0) not in calls
    assert mb2.accuracy(done['arch_str'], metric='seed0') == 12.5


#: the measured split-half reliability of the shipped benchmark (0.670), rounded down (target 0.75)
RELIABILITY_FLOOR = 0.65
#: its measured accuracy IQR (points), rounded down
IQR_FLOOR = 3.0


def test_shipped_microbench_is_worth_ranking():
    """The embedded ground truth: spread and seed-to-seed stability as the recipe promised."""
    path = default_path()
    if not path.exists():
        pytest.fail(f'{path} is missing: run `nasviz build-microbench`')
    mb = MicroBench.load(path)
    assert len(mb) >= 200 and len(mb.seeds) >= 4
    # measured 3.16 points: below the 5-point target of the signal issue (still open; README,
    # 'Default profile study'); this floor guards against a rebuild that shrinks it further
    assert mb.spread()['iqr'] >= IQR_FLOOR
    # split-half reliability (mean of two seeds against the mean of the other two), as recorded
    assert mb.summary['split_half_reliability'] == pytest.approx(mb.reliability(), abs=1e-4)
    assert mb.reliability() >= RELIABILITY_FLOOR
    assert mb.recipe['dataset'] == 'digits' and 'epochs' in mb.recipe
    frame = mb.to_frame()
    assert not frame['degenerate'].any() and frame['canonical'].is_unique
