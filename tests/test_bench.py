"""benchmarks/bench.py --quick runs every part and ends with one number per figure (no timing is asserted)."""
import pytest

from helpers import run

pytestmark = pytest.mark.slow

FIGURES = ('keras_ratio', 'pipeline_overhead', 'peak_fraction', 'build_speedup',
           'first_step_s', 'train_wall_s', 'train_peak_mb',
           'ner_keras_ratio', 'ner_tokens_per_s', 'ner_padding_fraction', 'ner_memory_growth_mb',
           'scale_time_per_image_10x', 'scale_time_per_image_50x', 'scale_peak_mb_50x')
# Figures that are 0 at best (a share of padding, a growth of memory); the others are positive.
AT_LEAST_ZERO = ('ner_padding_fraction', 'ner_memory_growth_mb')


def test_quick_benchmark_prints_every_figure():
    result = run('benchmarks/bench.py', '--quick')
    last_lines = result.stdout.strip().splitlines()[-len(FIGURES):]
    assert [line.split(': ')[0] for line in last_lines] == list(FIGURES)
    values = {line.split(': ')[0]: float(line.split(': ')[1]) for line in last_lines}
    assert all(value >= 0 if name in AT_LEAST_ZERO else value > 0 for name, value in values.items()), last_lines
    assert values['ner_padding_fraction'] < 1
