"""SIGNS file naming (temporary until the vision-data branch lands)."""
import os

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


def label_from_name(filename):
    """The label written as the first character of a file's base name (`3_IMG_5021.jpg` is a 3), or None."""
    first = os.path.basename(filename)[:1]
    return int(first) if first.isdigit() and first.isascii() else None
