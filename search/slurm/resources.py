"""The Slurm resources of a search's jobs: the `slurm` section of search.json and the command line, checked,
and the #SBATCH lines that ask for them.

Checked before anything is submitted (and even without --launcher slurm): a typo in a
resource must cost one line of error, not a night of jobs.
"""
import os
import re

from model.core.errors import InputError
from search.grid import SEARCH_FILE


def _name(value):
    return isinstance(value, str) and re.match(r'^[A-Za-z0-9_.-]+$', value)


def _int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


_SIMPLE = re.compile(r'^[A-Za-z0-9_.,:=+-]+$')  # nothing an #SBATCH line would split or quote
TIME = re.compile(r'^((\d+-)?\d+(:\d+){0,2}|\d+-\d+|UNLIMITED|INFINITE)$', re.IGNORECASE)
# The keys of the `slurm` section of search.json -> (check, #SBATCH option or None, what it must be).
# The command-line flag of each is --<key> (--sbatch for `extra`).
RESOURCES = {
    'partition': (lambda v: isinstance(v, str) and _SIMPLE.match(v), '--partition',
                  'a partition name such as "gpu"'),
    'time': (lambda v: isinstance(v, str) and TIME.match(v), '--time',
             'a time limit such as "1:00:00" (hours:minutes:seconds), "90" (minutes) or "2-00:00:00" (days)'),
    'cpus': (lambda v: _int(v, 1), '--cpus-per-task', 'a number of CPUs such as 4'),
    'mem': (lambda v: isinstance(v, str) and re.match(r'^\d+[KMGT]?$', v, re.IGNORECASE), '--mem',
            'an amount of memory such as "16G"'),
    'gpus': (lambda v: _int(v, 1) or (isinstance(v, str) and re.match(r'^([A-Za-z0-9_.-]+:)?[1-9]\d*$', v)),
             '--gpus', 'a number of GPUs (1 or more) such as 1, or a type and number such as "a100:1"'),
    'extra': (lambda v: isinstance(v, list) and all(_sbatch_option(line) for line in v),
              None, 'a list of #SBATCH options such as ["--constraint=a100", "--mail-type=END"]'),
    'account': (_name, '--account', 'an account name such as "cs230"'),
    'qos': (_name, '--qos', 'a QOS name such as "normal"'),
    'signal': (lambda v: _int(v, 1) and v <= 65535, None,
               'a number of seconds (1 to 65535) before the time limit, such as 300'),
    'setup': (lambda v: isinstance(v, list) and all(isinstance(line, str) and line.strip() and '\n' not in line
                                                    and '\r' not in line for line in v),
              None, 'a list of shell lines run before train.py, such as ["module load cuda/12.2"]'),
    'retries': (lambda v: _int(v, 0), None, 'a number of resubmissions (0 or more) such as 2'),
    'max_queued': (lambda v: _int(v, 1), None, 'a number of jobs (1 or more) such as 20'),
}
# The command-line flags whose names differ from the keys of the slurm section, and what one value
# of a repeatable flag must be.
CLI_FLAGS = {'extra': 'sbatch'}
CLI_VALUES = {'extra': 'an sbatch option such as --sbatch=--constraint=a100',
              'setup': 'one shell line such as --setup "module load cuda/12.2"'}


def slurm_resources(args, section):
    """The `slurm` section of search.json, overridden by the command line; checked even when not used.

    The lists (`extra`, `setup`) of the command line come after those of the section.
    """
    source = os.path.join(args.parent_dir, SEARCH_FILE)
    check_resources(section, source)
    given = {'partition': args.partition, 'time': args.time, 'cpus': args.cpus, 'mem': args.mem,
             'gpus': int(args.gpus) if args.gpus and args.gpus.isdigit() else args.gpus,
             'account': args.account, 'qos': args.qos, 'signal': args.signal, 'retries': args.retries,
             'max_queued': args.max_queued, 'extra': args.sbatch, 'setup': args.setup}
    given = {key: value for key, value in given.items() if value is not None}
    if given and args.launcher != 'slurm':
        key = next(iter(given))
        raise InputError("--{} only applies with --launcher slurm".format(CLI_FLAGS.get(key, key)))
    check_resources(given)
    for key in ('extra', 'setup'):
        if key in given:
            given[key] = list(section.get(key) or []) + given[key]
    resources = dict(section, **given)
    signal, limit = resources.get('signal'), resources.get('time')
    if signal and limit and time_limit_seconds(limit) is not None and signal >= time_limit_seconds(limit):
        where = '--signal' if 'signal' in given else "{}: Slurm 'signal'".format(source)
        raise InputError("{} ({} s before the time limit) must be shorter than the time limit {} ({} s)".format(
            where, signal, limit, time_limit_seconds(limit)))
    return resources


def check_resources(resources, source=None):
    """Raise InputError for an unknown key or a malformed value, naming the file `source` (None: the command line)."""
    for key, value in resources.items():
        if key not in RESOURCES:
            raise InputError("{}: unknown Slurm resource '{}'; known: {}".format(source, key, ', '.join(RESOURCES)))
        check, _, example = RESOURCES[key]
        if value is None:
            continue
        if source is None and key in CLI_VALUES:  # a repeatable flag: each value on its own
            for item in value:
                if not check([item]):
                    raise InputError("--{} must be {}, got {!r}".format(CLI_FLAGS.get(key, key), CLI_VALUES[key],
                                                                        item))
        elif not check(value):
            what = "{}: Slurm '{}'".format(source, key) if source else '--' + CLI_FLAGS.get(key, key)
            raise InputError("{} must be {}, got {!r}".format(what, example, value))
    return resources


def time_limit_seconds(text):
    """A Slurm time limit (checked by TIME) in seconds; None for no limit."""
    if text.upper() in ('UNLIMITED', 'INFINITE'):
        return None
    days, _, rest = text.rpartition('-')
    parts = [int(part) for part in rest.split(':')]
    if days:  # days-hours[:minutes[:seconds]]
        hours, minutes, seconds = (parts + [0, 0])[:3]
    else:  # minutes, minutes:seconds, hours:minutes:seconds
        hours, minutes, seconds = ([0] + parts + [0])[:3] if len(parts) < 3 else parts
    return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


def sbatch_lines(resources):
    """The #SBATCH lines asking for `resources`: the resources first, then the `extra` options as given."""
    return resource_lines(resources) + extra_lines(resources)


def resource_lines(resources):
    lines = []
    for key, (_, option, _) in RESOURCES.items():
        value = resources.get(key)
        if value is None or option is None or (key == 'gpus' and value == 0):
            continue
        lines.append('#SBATCH {}={}'.format(option, value))
    if resources.get('signal'):
        # B: to the batch shell only, which is train.py itself (the script ends with `exec`):
        # it saves the epoch it is in and exits (status 143) before the time limit kills it.
        lines.append('#SBATCH --signal=B:TERM@{}'.format(resources['signal']))
    return lines


def extra_lines(resources):
    lines = []
    for line in resources.get('extra') or []:
        line = line.strip()
        lines.append(line if line.startswith('#SBATCH') else '#SBATCH ' + line)
    return lines


def _sbatch_option(line):
    return isinstance(line, str) and '\n' not in line and '\r' not in line and \
        line.strip().startswith(('-', '#SBATCH'))
