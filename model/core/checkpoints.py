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
import shlex

from model.core.errors import InputError, tf_error_reason
from model.core.layout import BEST_WEIGHTS, LAST_WEIGHTS, STATE_FILE, checkpoint_path, has_weights  # noqa: F401
from model.core.tf_compat import tf

# What TensorFlow's savers write while saving, before the rename: `after-epoch-3.index.tempstate123`
# for the weights, `checkpoint.tmp<32 hex>` and `after-epoch-3.meta.tmp<32 hex>` for the rest.
_PARTIAL_SAVE = re.compile(r'\.tempstate\d+$|\.tmp[0-9a-f]{32}$')

log = logging.getLogger(__name__)


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
    path = _weights_path(restore_from, model_dir)
    if os.path.isdir(path) and any(name.endswith('.index') for name in os.listdir(path)):
        checkpoint, skipped = latest_usable_checkpoint(path)
        if checkpoint is not None:
            return checkpoint
        raise InputError("{} holds no usable checkpoint: {}. Restore from another folder "
                         "(such as {}) or train again in a new --model_dir".format(
                             path, '; '.join(skipped), os.path.join(model_dir, BEST_WEIGHTS)))
    if os.path.isfile(path + '.index'):  # a V2 checkpoint prefix
        problem = checkpoint_problem(path)
        if problem is not None:
            raise InputError("{} is {}: restore from its folder ({}) to use the newest whole "
                             "checkpoint instead".format(path, problem, os.path.dirname(path)))
        return path
    if os.path.isdir(path) or os.path.basename(os.path.normpath(path)) in (LAST_WEIGHTS, BEST_WEIGHTS):
        # The weights folder of an experiment not trained yet, or stopped in its first epoch
        # (Ctrl-C, kill -9, a crash): the same command again would fail the same way.
        raise InputError("{} holds no checkpoint (no after-epoch-N.index): nothing was saved there yet (a run "
                         "stopped before the end of its first epoch saves nothing). Train first, without "
                         "--restore_from: python train.py --model_dir {}".format(path, shlex.quote(model_dir)))
    raise InputError("No weights found at {}: pass --restore_from a folder such as {} "
                     "or a checkpoint such as {}".format(
                         path, os.path.join(model_dir, LAST_WEIGHTS),
                         checkpoint_path(model_dir, LAST_WEIGHTS, 1)))


def _weights_path(restore_from, model_dir):
    """restore_from as given, or inside model_dir (`best_weights`) when only that exists or it is a bare name."""
    inside = os.path.join(model_dir, restore_from)
    if os.path.isabs(restore_from) or os.path.exists(restore_from + '.index') or os.path.exists(restore_from):
        return restore_from
    if os.path.exists(inside) or os.path.exists(inside + '.index') or not os.path.dirname(restore_from):
        return inside
    return restore_from


def restore(sess, restore_from, model_dir, saver=None):
    """Load the weights that `restore_from` names (see find_checkpoint) into the session's graph.

    The one way every script restores weights: the checkpoint is checked against the
    graph first (see restore_weights). Returns the checkpoint restored.
    """
    checkpoint = find_checkpoint(restore_from, model_dir)
    logging.info("Restoring parameters from {}".format(checkpoint))
    restore_weights(saver or tf.train.Saver(), sess, checkpoint)
    return checkpoint


def restore_weights(saver, sess, checkpoint):
    """saver.restore(sess, checkpoint), once the checkpoint is known to hold exactly this graph's weights.

    A checkpoint of another model (params.json changed since the weights were saved:
    num_channels, use_batch_norm, a rebuilt vocabulary...) must not be loaded in part:
    TensorFlow would restore the variables it finds and leave the rest as initialized,
    and every number computed afterwards would be wrong without a word.
    """
    problem = graph_mismatch(checkpoint, tf.global_variables())
    if problem is not None:
        raise InputError("{} does not fit the model that params.json describes ({}): use the params.json "
                         "and data set it was trained with, or train in a new --model_dir".format(checkpoint, problem))
    try:
        saver.restore(sess, checkpoint)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.DataLossError) as e:
        if not os.path.isfile(checkpoint + '.index'):
            raise _vanished(checkpoint) from None
        raise InputError("{} could not be restored ({}): restore from another checkpoint, or train again "
                         "in a new --model_dir".format(checkpoint, tf_error_reason(e.message))) from None


def graph_mismatch(checkpoint, variables):
    """None if `checkpoint` holds every variable in `variables` with its shape and no other network
    variable; else what differs (one line).

    The checkpoint may hold more than the graph, but only the training state: the global
    step and the optimizer's slots (`<variable>/Adam`), which an evaluation graph has no use for.
    """
    try:
        stored = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError):
        if not os.path.isfile(checkpoint + '.index'):
            raise _vanished(checkpoint) from None
        raise
    wanted = {variable.op.name: variable.shape.as_list() for variable in variables}
    missing = sorted(name for name in wanted if name not in stored)
    reshaped = sorted(name for name in wanted if name in stored and list(stored[name]) != wanted[name])
    # The network's variables are under 'model/'; a slot is named after the variable it belongs to.
    network = [name for name in stored if name.startswith('model/')
               and not any(name.startswith(other + '/') for other in stored if other != name)]
    extra = sorted(name for name in network if name not in wanted)
    problems = []
    if reshaped:
        problems.append('{} has shape {} in the checkpoint but {} here{}'.format(
            reshaped[0], list(stored[reshaped[0]]), wanted[reshaped[0]], _more(reshaped)))
    if extra:
        problems.append('the checkpoint holds {}, which this model does not have{}'.format(extra[0], _more(extra)))
    if missing:
        problems.append('this model has {}, which the checkpoint does not hold{}'.format(missing[0], _more(missing)))
    return '; '.join(problems) or None


def _more(names):
    return ' (and {} more)'.format(len(names) - 1) if len(names) > 1 else ''


def _vanished(checkpoint):
    return InputError("{} disappeared while it was being read: a training run is saving new weights into {} "
                      "right now (it replaces older checkpoints). Wait for it to finish its epoch, or for the "
                      "whole run, and run this again".format(checkpoint, os.path.dirname(checkpoint)))


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
