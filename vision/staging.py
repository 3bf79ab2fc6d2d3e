"""Writing a data set folder without ever leaving half of one.

build_dataset.py writes the new splits (and --synthetic the raw set) in a temporary
folder beside their destination, and moves them into place only once complete: an
interrupted build, or a failed --overwrite, leaves whatever was there before untouched.
Ctrl-C while the folders are moved waits for the move to finish.
"""
import contextlib
import os
import shutil
import tempfile

from model.core.errors import InputError
from model.core.files import save_dict_to_json
from model.core.interrupts import sigint_deferred
from vision.dataset_classes import CLASSES_FILE
from vision.example import SOURCE_FILE


def check_not_inside(data_dir, output_dir):
    """Refuse an --output_dir that is --data_dir: --overwrite would replace the raw images by the resized ones."""
    if os.path.isdir(data_dir) and os.path.isdir(output_dir) and os.path.samefile(data_dir, output_dir):
        raise InputError("--output_dir {} is the --data_dir: the resized images would replace the originals; "
                         "choose another --output_dir".format(output_dir))


@contextlib.contextmanager
def temporary_folder_beside(path, prefix, interrupted):
    """Yield a new folder beside `path` (on the same disk, so moves are renames), removed at the end.

    Ctrl-C in the block raises KeyboardInterrupt(`interrupted`), once the folder is removed.
    """
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as tmp_dir:
            yield tmp_dir
    except KeyboardInterrupt:
        raise KeyboardInterrupt(interrupted) from None


def move_splits_into_place(new_dir, output_dir, splits, tmp_dir, source, class_names=None):
    """Move new_dir/{split} to output_dir/{split}, the old ones into tmp_dir, and write `source` beside them.

    `source` goes to vision/example.py's SOURCE_FILE, `class_names` (of a set of class folders)
    to CLASSES_FILE; without them, a CLASSES_FILE of the set replaced is removed, since the new
    splits are SIGNS-style. Returns whether Ctrl-C was pressed meanwhile.
    """
    with sigint_deferred() as interrupted:
        os.makedirs(output_dir, exist_ok=True)
        for split in splits:
            target = os.path.join(output_dir, split)
            if os.path.isdir(target):  # only with --overwrite: check_output_dir refused otherwise
                shutil.move(target, os.path.join(tmp_dir, 'old-' + split))
            shutil.move(os.path.join(new_dir, split), target)
        save_dict_to_json(source, os.path.join(output_dir, SOURCE_FILE))
        classes_path = os.path.join(output_dir, CLASSES_FILE)
        if class_names:
            save_dict_to_json({'class_names': class_names}, classes_path)
        elif os.path.isfile(classes_path):
            os.remove(classes_path)
    return bool(interrupted)
