"""A data set published as one folder of images per class, as build_dataset.py reads it.

    <data_dir>/cat/*.jpg  <data_dir>/dog/*.jpg ...                       (no test split given)
    <data_dir>/train/cat/*.jpg ...  and  <data_dir>/test/cat/*.jpg ...

The layout of Keras's image_dataset_from_directory and torchvision's ImageFolder, and of
most published image sets. The classes are the folders of train/ (or of data_dir), sorted
as Python sorts names, as both of those do ('10' before '2', 'Zebra' before 'ant'): a
model trained here and one trained there number the classes alike. A label is its class's
rank in that order, written before the image's name ('12_whiskers.jpg', any number of
classes), and the names are kept in classes.json beside the splits (vision/dataset_classes.py).

What is looked at is what scan_folder looks at: hidden files and folders are passed over
without a word (.DS_Store, .ipynb_checkpoints/); other files, folders inside a class
folder and images outside any class folder are skipped and named, like SIGNS's files
without a label; a class folder without images is refused, since it would be a class
the model never sees, and so is a test/ class that train/ lacks.
"""
import os

from model.core.errors import InputError
from vision.image_files import IMAGE_EXTENSIONS, is_hidden, scan_folder
from vision.photos import output_name
from vision.raw_signs import MIN_IMAGES, check_distinct_outputs

TRAIN_DIR, TEST_DIR = 'train', 'test'
# SIGNS's raw folders: a data_dir holding one of them is the course's layout, not class folders.
SIGNS_DIRS = ('train_signs', 'test_signs')


def is_class_folders(data_dir):
    """Whether data_dir holds class folders (or train/ and test/ of them) rather than SIGNS's train_signs/."""
    folders = subfolders(data_dir) if os.path.isdir(data_dir) else []
    return bool(folders) and not set(SIGNS_DIRS) & set(folders)


def subfolders(folder):
    """The names of the folders in `folder` that are not hidden, sorted."""
    return sorted(name for name in os.listdir(folder)
                  if not is_hidden(name) and os.path.isdir(os.path.join(folder, name)))


def read_class_folders(data_dir, num_labels, skipped):
    """(class names, {image: name it is written as}, train images, test images or None), images sorted.

    `num_labels` (build_dataset.py's --num_labels, or None) must be the number of classes.
    Test is None when the set has no test/: build_dataset.py then makes a test split.
    Files that are not usable are added to `skipped`, as 'file: why' lines.
    """
    train_root, test_root = split_roots(data_dir, skipped)
    class_names = subfolders(train_root)
    check_classes(train_root, class_names, num_labels)
    names = list_by_class(train_root, class_names, skipped)
    train_filenames, test_filenames = sorted(names), None
    if test_root:
        test_names = list_by_class(test_root, class_names, skipped)
        names.update(test_names)
        test_filenames = sorted(test_names)
    # A split of its own, or 1 image more to make one of (build_dataset.py's split_off_test).
    needed = MIN_IMAGES['train_signs'] + (0 if test_root else MIN_IMAGES['test_signs'])
    if len(train_filenames) < needed:
        raise InputError("{} holds only {} usable image(s): at least {} are needed for the train, dev{} splits; "
                         "add images to its class folders".format(train_root, len(train_filenames), needed,
                                                                  '' if test_root else ' and test'))
    return class_names, names, train_filenames, test_filenames


def split_roots(data_dir, skipped):
    """(folder of the train class folders, folder of the test ones or None): data_dir/train and data_dir/test, or data_dir."""
    if not os.path.isdir(os.path.join(data_dir, TRAIN_DIR)):
        return data_dir, None
    for name in sorted(os.listdir(data_dir)):
        if not is_hidden(name) and name not in (TRAIN_DIR, TEST_DIR):
            skipped.append('{}: not used (of {}, only {}/ and {}/ are read)'.format(
                os.path.join(data_dir, name), data_dir, TRAIN_DIR, TEST_DIR))
    test_root = os.path.join(data_dir, TEST_DIR)
    return os.path.join(data_dir, TRAIN_DIR), test_root if os.path.isdir(test_root) else None


def check_classes(train_root, class_names, num_labels):
    if len(class_names) < 2:
        raise InputError("{} holds {} class folder(s) ({}): a classifier needs at least 2, one folder of images "
                         "per class".format(train_root, len(class_names), ', '.join(class_names) or 'none'))
    if num_labels is not None and num_labels != len(class_names):
        raise InputError("--num_labels is {}, but {} holds {} class folders ({}): leave --num_labels out, the "
                         "classes are the folders".format(num_labels, train_root, len(class_names),
                                                          ', '.join(class_names)))


def list_by_class(root, class_names, skipped):
    """{image: '{label}_{its name}.jpg'} for the images of root's class folders, label the class's rank."""
    unknown = [name for name in subfolders(root) if name not in class_names]
    if unknown:
        raise InputError("{} is a class that {} does not have (its classes: {}): add that class to the train "
                         "images, or remove the folder".format(os.path.join(root, unknown[0]),
                                                               os.path.dirname(root), ', '.join(class_names)))
    if not subfolders(root):
        raise InputError("{} holds no class folders: put one folder of images per class there, or remove it "
                         "(a test split is then made)".format(root))
    images, others = scan_folder(root)
    skipped.extend('{}: an image outside the class folders: move it into the folder of its class'.format(path)
                   for path in images)
    skipped.extend('{}: not an image file ({})'.format(path, ', '.join(IMAGE_EXTENSIONS)) for path in others)
    names = {}
    for label, class_name in enumerate(class_names):
        folder = os.path.join(root, class_name)
        if not os.path.isdir(folder):  # a test/ without every class
            continue
        images, others = scan_folder(folder)
        skipped.extend('{}: not an image file ({})'.format(path, ', '.join(IMAGE_EXTENSIONS)) for path in others)
        skipped.extend('{}: a folder inside a class folder: its images are not read (move them up)'.format(
            os.path.join(folder, name)) for name in subfolders(folder))
        if not images:
            raise InputError("{} holds no images ({}): add images of the class {!r}, or remove the folder (each "
                             "folder of {} is a class)".format(folder, ', '.join(IMAGE_EXTENSIONS), class_name, root))
        written_as = {path: '{}_{}'.format(label, output_name(path)) for path in images}
        # Before the split: two such files would otherwise land in train and dev, one picture twice.
        check_distinct_outputs(images, written_as)
        names.update(written_as)
    return names
