"""Class folders (<data_dir>/<class>/*.jpg, with or without train/ and test/): built, trained on, predicted with.

vision/class_folders.py reads the layout, build_dataset.py writes it as SIGNS-style splits
(label index first in the names, classes.json beside them), vision/dataset_classes.py makes
the data set's classes those of the experiment, and predict.py and export.py name them.
"""
import csv
import glob
import json
import os
import re
import shutil

import pytest

import export
import predict
import train
from build_dataset import SPLITS, build, main, parser
from helpers import read_json, script_args, write_params
from helpers.images import WORD_CLASSES, make_class_folders
from model.core.errors import InputError
from model.core.tf_compat import tf
from model.utils import Params
from vision import example
from vision.image_files import label_index_from_name

# Twelve word classes, 'hen' with a single image.
COUNTS = {name: 1 if name == 'hen' else 4 for name in WORD_CLASSES}


def built_labels(output_dir):
    """{split: {built file name: label}} of a built data set."""
    return {split: {name: label_index_from_name(name) for name in os.listdir(os.path.join(output_dir, split))}
            for split in SPLITS}


def original_name(built_name):
    return os.path.splitext(built_name.split('_', 1)[1])[0]


def check_built(written, output_dir):
    """Every raw image is in one split, once, under '{rank of its class}_{its name}.jpg'."""
    assert read_json(os.path.join(output_dir, 'classes.json')) == {'class_names': sorted(WORD_CLASSES)}
    expected = sorted('{}_{}.jpg'.format(sorted(WORD_CLASSES).index(class_name),
                                          os.path.splitext(os.path.basename(path))[0])
                      for path, class_name in written.items())
    labels = built_labels(output_dir)
    assert sorted(name for split in SPLITS for name in labels[split]) == expected
    return labels


def test_a_flat_set_of_twelve_word_classes_is_built_with_a_seeded_test_split(tmp_path, caplog):
    raw = str(tmp_path / 'raw')
    written = make_class_folders(raw, COUNTS)
    (tmp_path / 'raw' / '.DS_Store').write_text('hidden')
    (tmp_path / 'raw' / 'cat' / '._a photo of a cat 0.jpg').write_text('hidden')  # macOS metadata: passed over
    (tmp_path / 'raw' / 'cat' / 'notes.txt').write_text('not an image')
    (tmp_path / 'raw' / 'README.md').write_text('about the set')
    caplog.set_level('INFO')
    counts = build(raw, str(tmp_path / 'out'))

    labels = check_built(written, str(tmp_path / 'out'))
    assert counts == {split: len(labels[split]) for split in SPLITS}
    assert counts['test_signs'] == 4  # 10% of 45, drawn before the 80/20 train/dev split of the rest
    assert counts['train_signs'] == int(0.8 * 41)
    assert 'No test split given: test_signs is 10% of the images' in caplog.text
    assert read_json(str(tmp_path / 'out' / 'source.json'))['test_split'].startswith('10% of the images')
    assert 'classes (classes.json): ant, bee, cat, cow, dog, eel, fox, hen, owl, pig, ram, yak' in caplog.text
    assert 'notes.txt: not an image file' in caplog.text and 'README.md: not an image file' in caplog.text
    assert 'DS_Store' not in caplog.text and '._a photo' not in caplog.text
    assert 'skipped 2 file(s)' in caplog.text

    # Seeded: built again elsewhere, the same images go to the same splits.
    build(raw, str(tmp_path / 'again'))
    assert built_labels(str(tmp_path / 'again')) == labels


def test_a_nested_train_test_set_keeps_its_test_split(tmp_path, caplog):
    raw = str(tmp_path / 'raw')
    written = make_class_folders(raw, COUNTS, nested=True, test_counts={'cat': 2, 'yak': 1})
    (tmp_path / 'raw' / 'LICENSE').write_text('CC-BY')
    caplog.set_level('INFO')
    counts = build(raw, str(tmp_path / 'out'))

    labels = check_built(written, str(tmp_path / 'out'))
    test_written = sorted(os.path.splitext(os.path.basename(path))[0] for path in written if '/test/' in path)
    assert sorted(original_name(name) for name in labels['test_signs']) == test_written
    assert sorted(labels['test_signs'].values()) == [2, 2, 11]  # cat is the 3rd class, yak the 12th
    assert counts['train_signs'] + counts['dev_signs'] == sum(COUNTS.values())
    assert 'No test split given' not in caplog.text and 'test_split' not in read_json(
        str(tmp_path / 'out' / 'source.json'))
    assert 'LICENSE: not used (of {}, only train/ and test/ are read)'.format(raw) in caplog.text


def test_class_folder_mistakes_are_one_line(tmp_path):
    def build_of(name, **counts):
        raw = str(tmp_path / name)
        make_class_folders(raw, counts)
        return raw

    raw = build_of('empty class', cat=3, dog=3)
    os.makedirs(os.path.join(raw, 'eel'))
    with pytest.raises(InputError, match=r"eel holds no images \(.jpg, .jpeg, .png\): add images of the class 'eel', "
                                         "or remove the folder"):
        build(raw, str(tmp_path / 'out'))

    with pytest.raises(InputError, match=r"holds 1 class folder\(s\) \(cat\): a classifier needs at least 2"):
        build(build_of('one class', cat=5), str(tmp_path / 'out'))

    with pytest.raises(InputError, match=r"--num_labels is 6, but .* holds 2 class folders \(cat, dog\): leave "
                                         "--num_labels out"):
        build(build_of('two classes', cat=3, dog=3), str(tmp_path / 'out'), num_labels=6)

    with pytest.raises(InputError, match=r"holds only 2 usable image\(s\): at least 3 are needed"):
        build(build_of('too few', cat=1, dog=1), str(tmp_path / 'out'))

    raw = str(tmp_path / 'nested')
    make_class_folders(raw, {'cat': 3, 'dog': 3}, nested=True, test_counts={'cat': 1, 'emu': 1})
    with pytest.raises(InputError, match=r"test/emu is a class that .* does not have \(its classes: cat, dog\)"):
        build(raw, str(tmp_path / 'out'))

    raw = build_of('same name', cat=3, dog=3)
    shutil.copyfile(os.path.join(raw, 'cat', 'Scan_1.png'), os.path.join(raw, 'cat', 'scan_1.jpg'))
    with pytest.raises(InputError, match=r"Scan_1.png and .*scan_1.jpg would both be written as 0_scan_1.jpg"):
        build(raw, str(tmp_path / 'out'))
    assert not os.path.exists(tmp_path / 'out')


def test_signs_built_over_a_class_folder_set_drops_its_classes(tmp_path, raw_dir):
    raw = str(tmp_path / 'raw')
    make_class_folders(raw, {'cat': 3, 'dog': 3})
    output_dir = str(tmp_path / 'out')
    build(raw, output_dir)
    assert os.path.isfile(os.path.join(output_dir, 'classes.json'))
    main(parser.parse_args(['--data_dir', raw_dir, '--output_dir', output_dir, '--overwrite', '--jobs', '1']))
    assert not os.path.exists(os.path.join(output_dir, 'classes.json'))
    assert sorted(os.listdir(os.path.join(output_dir, 'test_signs'))) == sorted(
        os.path.splitext(name)[0] + '.jpg' for name in os.listdir(os.path.join(raw_dir, 'test_signs')))


@pytest.fixture(scope='module')
def twelve_classes(tmp_path_factory):
    """A built flat set of the twelve word classes (its raw folders beside it)."""
    root = tmp_path_factory.mktemp('twelve')
    make_class_folders(str(root / 'raw'), COUNTS)
    build(str(root / 'raw'), str(root / 'data'))
    return str(root / 'data')


def test_the_classes_and_their_number_come_from_the_data_set(twelve_classes, tmp_path):
    params = Params(write_params(str(tmp_path / 'twelve'), num_labels=12))
    example.check_params(params)  # more than 10 classes: fine for class folders
    (filenames, labels), size = example.load_split(twelve_classes, 'train', params)
    assert params.class_names == sorted(WORD_CLASSES)
    assert sorted(set(labels)) == [label for label in range(12) if labels.count(label)]
    assert max(labels) > 9 and size == len(filenames)

    params = Params(write_params(str(tmp_path / 'six')))
    with pytest.raises(InputError, match=r"^params.json: 'num_labels' is 6, but the data set in .* has 12 classes "
                                         r"\(.*classes.json\): set \"num_labels\": 12$"):
        example.load_split(twelve_classes, 'train', params)

    named = Params(write_params(str(tmp_path / 'named'), num_labels=12, class_names=list('abcdefghijkl')))
    with pytest.raises(InputError, match=r"'class_names' is \['a', .*, but the data set in .* names its classes "
                                         r"\['ant', .*remove 'class_names', or give those"):
        example.load_split(twelve_classes, 'dev', named)
    agreeing = Params(write_params(str(tmp_path / 'agreeing'), num_labels=12, class_names=sorted(WORD_CLASSES)))
    example.load_split(twelve_classes, 'test', agreeing)

    identity = example.dataset_identity(twelve_classes)
    assert identity['class_names'] == sorted(WORD_CLASSES) and list(identity['fits']) == ['classes.json']


@pytest.fixture(scope='module')
def trained_on_twelve(twelve_classes, tmp_path_factory):
    """A model trained in-process for one epoch on the twelve classes; the data set is then removed."""
    model_dir = str(tmp_path_factory.mktemp('trained twelve') / 'model')
    write_params(model_dir, num_labels=12, num_epochs=1)
    train.main(script_args(model_dir, twelve_classes))
    moved = twelve_classes + ' moved'
    shutil.move(twelve_classes, moved)  # predict.py and export.py must not need it
    yield model_dir
    shutil.move(moved, twelve_classes)


def raw_images(twelve_classes):
    return sorted(glob.glob(os.path.join(os.path.dirname(twelve_classes), 'raw', '*', '*')))


def test_the_log_and_tensorboard_name_the_classes(trained_on_twelve):
    with open(os.path.join(trained_on_twelve, 'train.log')) as f:
        log = f.read()
    assert '12 classes' in log and 'ant, bee, cat, cow, dog, eel, fox, hen, owl, pig, ram, yak' in log
    assert read_json(os.path.join(trained_on_twelve, 'dataset.json'))['class_names'] == sorted(WORD_CLASSES)

    [path] = glob.glob(os.path.join(trained_on_twelve, 'eval_summaries', 'events.out.tfevents.*'))
    tags = [value.tag for event in tf.train.summary_iterator(path) for value in event.summary.value
            if value.image.encoded_image_string and value.tag != 'confusion_matrix']
    assert tags, 'no mislabeled image shown'
    classes = '|'.join(WORD_CLASSES)
    assert all(re.fullmatch(r'incorrectly_labeled_({})/image/[0-2]'.format(classes), tag) for tag in tags), tags


def test_predict_and_the_saved_model_name_the_classes(trained_on_twelve, twelve_classes, tmp_path, capsys):
    images = raw_images(twelve_classes)[:5]
    output = str(tmp_path / 'predictions.csv')
    results = predict.main(predict.parser.parse_args(['--model_dir', trained_on_twelve, *images,
                                                      '--output', output]))
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5
    for line, image in zip(printed, images, strict=True):
        label = line.rsplit(': ', 1)[1].split(' ')[0]
        assert label == sorted(WORD_CLASSES)[results[image][0]], line
    with open(output, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['file', 'label'] + ['probability_' + name for name in sorted(WORD_CLASSES)]
    assert {row[1] for row in rows[1:]} <= set(WORD_CLASSES)

    export_dir = str(tmp_path / 'exported' / '1')
    export.main(export.parser.parse_args(['--model_dir', trained_on_twelve, '--export_dir', export_dir]))
    with tf.Graph().as_default(), tf.Session() as sess:
        signature = tf.saved_model.loader.load(sess, ['serve'], export_dir).signature_def['serving_default']
        encoded = []
        for image in images:
            with open(image, 'rb') as f:
                encoded.append(f.read())
        labels, classes = sess.run([signature.outputs['labels'].name, signature.outputs['classes'].name],
                                   {signature.inputs['image_bytes'].name: encoded})
    assert [label.decode() for label in labels] == [sorted(WORD_CLASSES)[c] for c in classes]
    assert list(classes) == [results[image][0] for image in images]


def test_predict_refuses_params_that_disagree_with_the_trained_classes(trained_on_twelve, twelve_classes, tmp_path):
    model_dir = shutil.copytree(trained_on_twelve, str(tmp_path / 'model'))
    with open(os.path.join(model_dir, 'params.json')) as f:
        values = json.load(f)
    values['class_names'] = list('abcdefghijkl')
    with open(os.path.join(model_dir, 'params.json'), 'w') as f:
        json.dump(values, f)
    with pytest.raises(InputError, match=r"'class_names' is \['a', .* were trained on the classes \['ant', "):
        predict.main(predict.parser.parse_args(['--model_dir', model_dir, raw_images(twelve_classes)[0]]))
