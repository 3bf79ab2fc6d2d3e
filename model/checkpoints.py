"""Where the weights are: find the checkpoint to restore, and the epoch it was saved after.

The Savers of model/training.py write `last_weights/after-epoch-N` and
`best_weights/after-epoch-N`: the number after the dash is the epoch, so a
checkpoint alone says where to resume.

A checkpoint can be damaged: a disk that filled up, a machine that lost power
before the files reached the disk, someone's cleanup script. So a folder's
checkpoints are checked before one is trusted, newest first, and a damaged one is
skipped with a warning that names it. (A process killed while saving leaves no
half-written checkpoint: TensorFlow writes each file under a temporary name and
renames it when complete. Those temporary files are cleared on resume.)
"""
import logging
import os
import re

from model.tf_compat import tf
from model.utils import InputError, tf_error_reason

WEIGHTS_DIRS = ('last_weights', 'best_weights')
STATE_FILE = 'checkpoint'  # the file where a tf.train.Saver lists its checkpoints, newest last

# What TensorFlow's savers write while saving, before the rename: `after-epoch-3.index.tempstate123`
# for the weights, `checkpoint.tmp<32 hex>` and `after-epoch-3.meta.tmp<32 hex>` for the rest.
_PARTIAL_SAVE = re.compile(r'\.tempstate\d+$|\.tmp[0-9a-f]{32}$')

log = logging.getLogger(__name__)


def has_weights(model_dir):
    """True if model_dir already holds checkpoints that training from scratch would overwrite.

    Any checkpoint counts, even a damaged one or one its folder's state file does not name:
    better to ask for --restore_from than to overwrite.
    """
    for weights_dir in WEIGHTS_DIRS:
        folder = os.path.join(model_dir, weights_dir)
        if os.path.isdir(folder) and any(name.endswith('.index') for name in os.listdir(folder)):
            return True
    return False


def checkpoint_problem(prefix):
    """None if the checkpoint `prefix` can be restored, else what is wrong with it (one line).

    Every tensor is read back: TensorFlow checks each one against its stored checksum,
    which finds truncated and altered files. The weights of this template's models are a
    few MB, so this costs little next to a training run.
    """
    if not os.path.isfile(prefix + '.index'):
        return 'its .index file is missing'
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    # TensorFlow reports damaged files as OpError, IndexError or others, depending on where it fails.
    except Exception as e:  # noqa: BLE001 - any failure to read means the checkpoint is unusable
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return 'incomplete or corrupt ({})'.format(first_line[:200])
    return None


def listed_checkpoints(folder):
    """The checkpoint prefixes in `folder`, newest first.

    Those the state file names come first, in its order (the last one saved first);
    then any other `*.index` on disk, by epoch. A state file that cannot be read is
    warned about and the files on disk are used instead.
    """
    listed = []
    state_path = os.path.join(folder, STATE_FILE)
    if os.path.isfile(state_path):
        try:
            state = tf.train.get_checkpoint_state(folder)
        except ValueError:  # TensorFlow raises this for an empty state file
            state = None
        if state is None:
            log.warning("%s is unreadable (damaged?): looking at the checkpoint files themselves", state_path)
        else:
            listed = [os.path.join(folder, os.path.basename(path))
                      for path in reversed(state.all_model_checkpoint_paths)]
            latest = os.path.join(folder, os.path.basename(state.model_checkpoint_path))
            listed = [latest] + [path for path in listed if path != latest]
    on_disk = [os.path.join(folder, name[:-len('.index')]) for name in os.listdir(folder) if name.endswith('.index')]
    others = sorted((path for path in on_disk if path not in listed),
                    key=lambda path: (epoch_of(path), os.path.getmtime(path + '.index')), reverse=True)
    return listed + others


def latest_usable_checkpoint(folder):
    """(newest checkpoint in `folder` that can be restored, or None; [what was skipped and why])."""
    skipped = []
    for prefix in listed_checkpoints(folder):
        problem = checkpoint_problem(prefix)
        if problem is None:
            for line in skipped:
                log.warning("Skipped %s; using %s instead", line, prefix)
            return prefix, skipped
        skipped.append('{}: {}'.format(prefix, problem))
    return None, skipped


def find_checkpoint(restore_from, model_dir):
    """The checkpoint prefix to restore, from a folder or a checkpoint path.

    `restore_from` may be given as it is (`experiments/base_model/last_weights`) or
    relative to model_dir (`best_weights`, as evaluate.py's default); a folder means
    its newest checkpoint that is whole. A checkpoint named explicitly must be whole.
    """
    candidates = [restore_from]
    if not os.path.isabs(restore_from):
        candidates.append(os.path.join(model_dir, restore_from))
    for path in candidates:
        if os.path.isdir(path):
            checkpoint, skipped = latest_usable_checkpoint(path)
            if checkpoint is not None:
                return checkpoint
            if not any(name.endswith('.index') for name in os.listdir(path)):
                raise InputError("{} holds no checkpoint (no after-epoch-N.index): train first with "
                                 "python train.py --model_dir {}".format(path, model_dir))
            raise InputError("{} holds no usable checkpoint: {}. Restore from another folder "
                             "(such as {}) or train again in a new --model_dir".format(
                                 path, '; '.join(skipped), os.path.join(model_dir, 'best_weights')))
        if os.path.isfile(path + '.index'):  # a V2 checkpoint prefix
            problem = checkpoint_problem(path)
            if problem is not None:
                raise InputError("{} is {}: restore from its folder ({}) to use the newest whole "
                                 "checkpoint instead".format(path, problem, os.path.dirname(path)))
            return path
    raise InputError("No weights found at {}: pass --restore_from a folder such as {} "
                     "or a checkpoint such as {}".format(
                         ' or '.join(candidates), os.path.join(model_dir, 'last_weights'),
                         os.path.join(model_dir, 'last_weights', 'after-epoch-1')))


def restore_weights(saver, sess, checkpoint):
    """saver.restore(sess, checkpoint), telling the user when the checkpoint is of another model.

    That happens when params.json changed since the weights were saved (num_channels,
    use_batch_norm, image_size...): TensorFlow then fails on a shape or a missing variable.
    """
    try:
        saver.restore(sess, checkpoint)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
        raise InputError("{} does not fit the model that params.json describes ({}): use the params.json it "
                         "was trained with, or train in a new --model_dir".format(
                             checkpoint, tf_error_reason(e.message))) from None


def epoch_of(checkpoint):
    """The epoch a checkpoint was saved after (`.../after-epoch-7` -> 7), or 0 if its name does not say."""
    suffix = os.path.basename(checkpoint).rpartition('-')[2]
    return int(suffix) if suffix.isdigit() else 0


def recover_saver_history(saver, folder):
    """Let a new Saver know the checkpoints already in `folder`, so that max_to_keep prunes them too."""
    if os.path.isdir(folder):
        saver.recover_last_checkpoints(list(reversed(listed_checkpoints(folder))))


def remove_partial_saves(folder):
    """Delete the temporary files of a save that was killed before it finished (see _PARTIAL_SAVE)."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if _PARTIAL_SAVE.search(name):
            log.info("Removing %s, left by a save that did not finish", os.path.join(folder, name))
            os.remove(os.path.join(folder, name))
