"""The README and the docs/ pages stay true to the code, so that a moved file or function cannot leave them stale.

Every repository path they name exists; every line range of the README's map of the code points at lines
that hold the names its row gives; every page the README links exists; the README stays one page (at most
300 lines). Text only: nothing here imports TensorFlow.
"""
import glob
import os
import re

import pytest

from helpers import ROOT

README = os.path.join(ROOT, 'README.md')
DOCS_DIR = os.path.join(ROOT, 'docs')
MAX_README_LINES = 300

# A path in backticks is checked when it starts with one of the code's folders; data/, experiments/... hold
# what the runs write, which a fresh clone does not have. A bare name is checked when it is a root file's kind.
CODE_DIRS = ('model', 'vision', 'ner', 'search', 'tests', 'benchmarks', 'docs', '.ci')
ROOT_FILE_ENDINGS = ('.py', '.sh', '.toml', '.ini')
PATH_LIKE = re.compile(r'^[A-Za-z0-9_.][A-Za-z0-9_./-]*$')
CODE_SPAN = re.compile(r'`([^`\n]+)`')
FENCE = re.compile(r'^```.*?^```', re.MULTILINE | re.DOTALL)
LINK = re.compile(r'\[[^\]\n]*\]\(([^)\s]+)\)')
LINE_RANGE = re.compile(r'^L(\d+)(?:-L(\d+))?$')
# The header of the README's table of the tutorial's concepts: | tutorial | where | look for |
MAP_HEADER = re.compile(r'^\|\s*tutorial\s*\|\s*where\s*\|\s*look for\s*\|\s*$')


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def pages():
    """README.md and every docs/ page, as paths relative to the repository."""
    return ['README.md'] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(DOCS_DIR, '*.md')))


def file_lines(relative_path):
    return read(os.path.join(ROOT, relative_path)).split('\n')


def named_paths(text):
    """The repository paths a page names in code (inline or fenced), as written."""
    words = []
    for span in CODE_SPAN.findall(FENCE.sub('', text)):
        words.extend(span.split())
    for block in FENCE.findall(text):
        # Fenced blocks hold commands and outputs: only paths with a folder, such as benchmarks/bench.py.
        words.extend(word for word in block.split() if '/' in word)
    paths = []
    for word in words:
        word = word.strip('(),;:"\'').rstrip('.')
        if not PATH_LIKE.match(word) or '...' in word:
            continue
        if '/' in word:
            if word.split('/')[0] in CODE_DIRS:
                paths.append(word)
        elif word.endswith(ROOT_FILE_ENDINGS):
            paths.append(word)
    return paths


def links(text):
    """The targets of a page's Markdown links that point inside the repository (not http, not a # alone)."""
    return [target for target in LINK.findall(text)
            if not re.match(r'^[a-z]+:', target) and not target.startswith('#')]


@pytest.mark.parametrize('page', pages())
def test_every_path_a_page_names_exists(page):
    missing = sorted(set(path for path in named_paths(read(os.path.join(ROOT, page)))
                         if not os.path.exists(os.path.join(ROOT, path))))
    assert not missing, "{} names {} that do not exist: update the page".format(page, ', '.join(missing))


@pytest.mark.parametrize('page', pages())
def test_every_link_of_a_page_leads_somewhere(page):
    folder = os.path.dirname(os.path.join(ROOT, page))
    problems = []
    for target in links(read(os.path.join(ROOT, page))):
        path, _, fragment = target.partition('#')
        full = os.path.normpath(os.path.join(folder, path))
        if not os.path.exists(full):
            problems.append('{} (no such file)'.format(target))
            continue
        line_range = LINE_RANGE.match(fragment)
        if line_range and int(line_range.group(2) or line_range.group(1)) > len(read(full).split('\n')):
            problems.append('{} (past the end of the file)'.format(target))
    assert not problems, "{} links to {}".format(page, '; '.join(problems))


def test_the_readme_is_one_page():
    count = len(read(README).splitlines())
    assert count <= MAX_README_LINES, "README.md has {} lines, more than {}: move reference material to docs/".format(
        count, MAX_README_LINES)


def test_every_docs_page_the_readme_links_exists_and_every_page_is_linked():
    linked = set(os.path.normpath(target.partition('#')[0]) for target in links(read(README))
                 if target.startswith('docs/'))
    assert linked, "README.md links no docs/ page"
    missing = sorted(page for page in linked if not os.path.isfile(os.path.join(ROOT, page)))
    assert not missing, "README.md links docs pages that do not exist: {}".format(', '.join(missing))
    orphans = sorted(set(pages()[1:]) - linked)
    assert not orphans, "docs pages no README link leads to: {}".format(', '.join(orphans))


def map_rows():
    """The rows of the README's table of the tutorial's concepts: (concept, [(path, start, end)], [names])."""
    lines = read(README).split('\n')
    header = next((i for i, line in enumerate(lines) if MAP_HEADER.match(line)), None)
    assert header is not None, "README.md has no table headed | tutorial | where | look for |"
    rows = []
    for line in lines[header + 2:]:
        if not line.startswith('|'):
            break
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        assert len(cells) == 3, "a row of the map without its three cells: {}".format(line)
        ranges = [(path, int(start), int(end or start))
                  for path, start, end in re.findall(r'\]\(([^)#\s]+)#L(\d+)(?:-L(\d+))?\)', cells[1])]
        rows.append((cells[0], ranges, CODE_SPAN.findall(cells[2])))
    return rows


def test_the_map_has_its_rows():
    rows = map_rows()
    assert len(rows) >= 20, "the README's map lists only {} concepts of the tutorial".format(len(rows))
    for concept, ranges, names in rows:
        assert ranges, "the map's row {!r} gives no line range (path#Lstart-Lend)".format(concept)
        assert names, "the map's row {!r} gives no name to look for".format(concept)


@pytest.mark.parametrize('concept, ranges, names', map_rows(), ids=[row[0] for row in map_rows()])
def test_each_line_range_of_the_map_holds_its_names(concept, ranges, names):
    texts = {}
    for path, start, end in ranges:
        assert os.path.isfile(os.path.join(ROOT, path)), "{!r}: no file {}".format(concept, path)
        lines = file_lines(path)
        assert 1 <= start <= end <= len(lines), "{!r}: {}#L{}-L{} is not within the file's {} lines".format(
            concept, path, start, end, len(lines))
        texts['{}#L{}-L{}'.format(path, start, end)] = '\n'.join(lines[start - 1:end])
    absent = [name for name in names if not any(name in text for text in texts.values())]
    assert not absent, "{!r}: {} not in {}: the code moved, update the line ranges of the README's map".format(
        concept, ', '.join('`{}`'.format(name) for name in absent), ', '.join(texts))
    idle = [where for where, text in texts.items() if not any(name in text for name in names)]
    assert not idle, "{!r}: {} holds none of {}: update the README's map".format(concept, ', '.join(idle), names)


def test_the_map_says_where_to_put_your_own_data():
    readme = read(README)
    assert 'to use your own data, edit here' in readme.lower()
    your_data = [ranges for concept, ranges, names in map_rows() if 'def load_split' in names]
    assert your_data, "the map has no row pointing at load_split"
    assert {'vision/example.py', 'ner/example.py'} <= {path for path, _, _ in your_data[0]}
