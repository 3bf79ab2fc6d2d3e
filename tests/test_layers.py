"""The layers of the code, checked on every import (function-level ones included): none goes up, none goes round.

    model/core/*                      the shared machinery: imports only model/core
    model/utils, training, evaluation the tutorial's shared files: model/core and each other
    model/input_fn, model/model_fn,   the examples: the layers below and their own example,
      vision/*, ner/*                   never the other example
    examples.py                       the registry of the examples
    search/*, the scripts             the top
"""
import ast
import os

from helpers import ROOT

SCRIPTS = ('train', 'evaluate', 'predict', 'export', 'build_dataset', 'build_vocab', 'build_ner_dataset',
           'search_hyperparams', 'synthesize_results')


def project_modules():
    """{module name: path} of every product module (not tests, not benchmarks)."""
    modules = {name: os.path.join(ROOT, name + '.py') for name in SCRIPTS + ('examples',)}
    for package in ('model', 'vision', 'ner', 'search'):
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith('.py'):
                    path = os.path.join(folder, name)
                    parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                    if parts[-1] == '__init__':
                        parts = parts[:-1]
                    modules['.'.join(parts)] = path
    return modules


def imports_of(path, modules):
    """The project modules that the file at `path` imports, anywhere in it."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + ['{}.{}'.format(node.module, alias.name) for alias in node.names]
        found.update(name for name in names if name in modules)
    return found


def layer(module):
    if module.startswith('model.core'):
        return 0
    if module in ('model.utils', 'model.training', 'model.evaluation', 'model'):
        return 1
    if module in ('model.input_fn', 'model.model_fn') or module.split('.')[0] in ('vision', 'ner'):
        return 2
    if module == 'examples':
        return 3
    return 4


def example_of(module):
    if module in ('model.input_fn', 'model.model_fn') or module.startswith('vision'):
        return 'vision'
    return 'ner' if module.startswith('ner') else None


def test_no_import_goes_up_or_to_the_other_example():
    modules = project_modules()
    wrong = []
    for module, path in sorted(modules.items()):
        for imported in sorted(imports_of(path, modules)):
            if layer(imported) > layer(module):
                wrong.append('{} (layer {}) imports {} (layer {})'.format(module, layer(module), imported,
                                                                         layer(imported)))
            elif layer(module) == 2 and example_of(imported) not in (None, example_of(module)):
                wrong.append('{} imports {}, of the other example'.format(module, imported))
    assert not wrong, '\n'.join(wrong)


def test_no_import_cycle():
    modules = project_modules()
    graph = {module: imports_of(path, modules) - {module} for module, path in modules.items()}
    graph = {module: {m for m in imported if m != module.rsplit('.', 1)[0] or module.count('.') == 0}
             for module, imported in graph.items()}
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError('import cycle: ' + ' -> '.join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        path.pop()
        done.add(module)
    for module in sorted(graph):
        visit(module)
