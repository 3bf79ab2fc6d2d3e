"""How much memory a split's cache may take: what the machine, its container or its Slurm job has left.

The vision example keeps decoded images in memory (model/input_fn.py), the NER example its
prepared sentences (ner/input_fn.py), each when they fit in cache_budget(params).
"""
import os

MB = 1024 * 1024

# Unless params.json sets cache_budget_mb, the data of a split kept in memory (decoded images,
# prepared sentences) may take this share of the memory available when the graph is built
# (MemAvailable in /proc/meminfo, or what the memory limit of a container or Slurm job leaves, if less)...
SHARE_OF_AVAILABLE = 0.5
# ...or, where only the machine's total memory is known (no /proc/meminfo), this share of it...
SHARE_OF_TOTAL = 0.25
# ...or, where neither is known, this many MB.
FALLBACK_BUDGET_MB = 1024

# Where the control groups are (the memory limits of a container or of a Slurm job).
CGROUP_ROOT = '/sys/fs/cgroup'
# (limit, usage, statistics) files of cgroup v2 and v1, and the page cache the kernel can reclaim.
CGROUP_FILES = {2: ('memory.max', 'memory.current', 'memory.stat', 'inactive_file'),
                1: ('memory.limit_in_bytes', 'memory.usage_in_bytes', 'memory.stat', 'total_inactive_file')}


def available_memory():
    """(bytes, what they are) of the memory this process can still take; (None, None) if unknown.

    The machine's MemAvailable, or what the control group of a container or a Slurm job
    still allows if that is less; without /proc/meminfo, the machine's total memory.
    """
    available = None
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    available = int(line.split()[1]) * 1024  # the file counts in kB
    except (OSError, ValueError, IndexError):
        pass
    rooms = [room for room in (cgroup_memory_room(), slurm_memory_room()) if room is not None]
    room = min(rooms) if rooms else None
    if room is not None and (available is None or room < available):
        return room, 'left under the memory limit of this job or container'
    if available is not None:
        return available, 'available'
    try:
        return os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'), 'of memory in all'
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows), or not these names
        return None, None


def slurm_memory_room(environ=None, status='/proc/self/status'):
    """What a Slurm job's --mem (or --mem-per-cpu) still allows this process, in bytes; None outside a job.

    A cluster that does not enforce memory through a control group still kills a job past it, so
    the budget must not count on more (SLURM_MEM_PER_NODE and SLURM_MEM_PER_CPU are in MB).
    """
    environ = os.environ if environ is None else environ
    try:
        if environ.get('SLURM_MEM_PER_NODE'):
            limit = int(environ['SLURM_MEM_PER_NODE']) * MB
        elif environ.get('SLURM_MEM_PER_CPU'):
            cpus = int(environ.get('SLURM_CPUS_ON_NODE') or environ.get('SLURM_CPUS_PER_TASK') or 1)
            limit = int(environ['SLURM_MEM_PER_CPU']) * cpus * MB
        else:
            return None
    except ValueError:
        return None
    used = 0
    try:
        with open(status) as f:
            used = next((int(line.split()[1]) * 1024 for line in f if line.startswith('VmRSS:')), 0)
    except (OSError, ValueError, IndexError):
        pass
    return max(limit - used, 0)


def cgroup_memory_room(proc_cgroup='/proc/self/cgroup', root=CGROUP_ROOT):
    """Bytes the control groups of this process let it grow by (the tightest of them), or None if none has a limit.

    Usage counts without the page cache the kernel can reclaim (inactive_file), as container
    tools count a working set.
    """
    try:
        with open(proc_cgroup) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    rooms = []
    for line in lines:
        hierarchy, controllers, path = (line.split(':', 2) + ['', ''])[:3]
        if hierarchy == '0' and not controllers:
            version, base = 2, root
        elif 'memory' in controllers.split(','):
            version, base = 1, os.path.join(root, 'memory')
        else:
            continue
        limit_name, usage_name, stat_name, reclaimable = CGROUP_FILES[version]
        parts = [part for part in path.split('/') if part]
        for depth in range(len(parts), -1, -1):  # the group, then each group above it
            folder = os.path.join(base, *parts[:depth])
            try:
                with open(os.path.join(folder, limit_name)) as f:
                    limit = f.read().strip()
                with open(os.path.join(folder, usage_name)) as f:
                    usage = int(f.read())
            except (OSError, ValueError):
                continue
            if limit == 'max' or int(limit) >= 2 ** 60:  # no limit (v1 writes a huge number)
                continue
            try:
                with open(os.path.join(folder, stat_name)) as f:
                    stats = dict(line.split() for line in f if len(line.split()) == 2)
                usage -= int(stats.get(reclaimable, 0))
            except (OSError, ValueError):
                pass
            rooms.append(max(0, int(limit) - usage))
    return min(rooms) if rooms else None


def cache_budget(params):
    """(bytes the prepared data of one split may keep in memory, where that figure comes from)."""
    if params.cache_budget_mb is not None:
        return params.cache_budget_mb * MB, 'cache_budget_mb in params.json'
    memory, what = available_memory()
    if memory is None:
        return FALLBACK_BUDGET_MB * MB, 'a fixed {} MB: the free memory is unknown here'.format(FALLBACK_BUDGET_MB)
    share = SHARE_OF_TOTAL if what == 'of memory in all' else SHARE_OF_AVAILABLE
    return share * memory, '{:.0%} of the {} MB {}; set cache_budget_mb in params.json to change it'.format(
        share, mb(memory), what)


def mb(num_bytes):
    """A number of bytes in MB, as the log lines print it: 0.3, 9.5, 1,024."""
    megabytes = num_bytes / MB
    return '{:.1f}'.format(megabytes) if megabytes < 10 else '{:,.0f}'.format(megabytes)
