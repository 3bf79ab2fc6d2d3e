"""benchmarks/bench.py --quick runs every part and ends with one number per figure (no timing is asserted)."""
import pytest

from conftest import run

pytestmark = pytest.mark.slow

FIGURES = ('keras_ratio', 'pipeline_overhead', 'peak_fraction', 'build_speedup',
           'first_step_s', 'train_wall_s', 'train_peak_mb',
           'scale_time_per_image_10x', 'scale_time_per_image_50x', 'scale_peak_mb_50x')


def test_quick_benchmark_prints_every_figure():
    result = run('benchmarks/bench.py', '--quick')
    last_lines = result.stdout.strip().splitlines()[-len(FIGURES):]
    assert [line.split(': ')[0] for line in last_lines] == list(FIGURES)
    values = [float(line.split(': ')[1]) for line in last_lines]
    assert all(value > 0 for value in values), last_lines
