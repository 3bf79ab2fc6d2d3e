"""Where the weights are: find the checkpoint to restore, and the epoch it was saved after.

The Savers of model/training.py write `last_weights/after-epoch-N` and
`best_weights/after-epoch-N`: the number after the dash is the epoch, so a
checkpoint alone says where to resume.
"""
import os

from model.tf_compat import tf
from model.utils import InputError

WEIGHTS_DIRS = ('last_weights', 'best_weights')


def has_weights(model_dir):
    """True if model_dir already holds a checkpoint that training from scratch would overwrite."""
    return any(tf.train.latest_checkpoint(os.path.join(model_dir, d)) for d in WEIGHTS_DIRS)


def find_checkpoint(restore_from, model_dir):
    """The checkpoint prefix to restore, from a folder or a checkpoint path.

    `restore_from` may be given as it is (`experiments/base_model/last_weights`) or
    relative to model_dir (`best_weights`, as evaluate.py's default); a folder means
    its latest checkpoint.
    """
    candidates = [restore_from]
    if not os.path.isabs(restore_from):
        candidates.append(os.path.join(model_dir, restore_from))
    for path in candidates:
        if os.path.isdir(path):
            checkpoint = tf.train.latest_checkpoint(path)
            if checkpoint is None:
                raise InputError("{} holds no checkpoint (no 'checkpoint' file naming after-epoch-N): "
                                 "train first with python train.py --model_dir {}".format(path, model_dir))
            return checkpoint
        if os.path.isfile(path + '.index'):  # a V2 checkpoint prefix
            return path
    raise InputError("No weights found at {}: pass --restore_from a folder such as {} "
                     "or a checkpoint such as {}".format(
                         ' or '.join(candidates), os.path.join(model_dir, 'last_weights'),
                         os.path.join(model_dir, 'last_weights', 'after-epoch-1')))


def epoch_of(checkpoint):
    """The epoch a checkpoint was saved after (`.../after-epoch-7` -> 7), or 0 if its name does not say."""
    suffix = os.path.basename(checkpoint).rpartition('-')[2]
    return int(suffix) if suffix.isdigit() else 0


def recover_saver_history(saver, folder):
    """Let a new Saver know the checkpoints already in `folder`, so that max_to_keep prunes them too."""
    state = tf.train.get_checkpoint_state(folder)
    if state is not None:
        saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
