"""Resuming a run: where it goes on from, what was left half-saved, and the bar the best weights already set.

train_and_evaluate calls `resume` once, after the variables are initialized; the edge
cases of a run that was stopped (a save killed midway, a damaged metrics file, a best
epoch whose metrics were never written) are handled here.
"""
import logging
import os
import re

from model.core.checkpoints import (
    epoch_of,
    find_checkpoint,
    latest_usable_checkpoint,
    recover_saver_history,
    remove_partial_saves,
    restore_weights,
)
from model.core.errors import InputError
from model.core.files import read_json, save_dict_to_json
from model.core.layout import BEST_WEIGHTS, EVAL_BEST_METRICS, LAST_WEIGHTS
from model.core.logs import format_metrics
from model.core.params import BEST_METRIC


def resume(sess, restore_from, model_dir, last_saver, best_saver, evaluate, params):
    """Restore the weights of `restore_from` into sess; returns (begin_at_epoch, best_eval).

    begin_at_epoch is the epoch those weights were saved after (training goes on with the
    next); best_eval is the dev metric of the best weights already in model_dir, which a
    new best must reach. `evaluate()` gives the dev metrics of the weights in sess, for a
    best epoch whose metrics file cannot be trusted.
    """
    last_weights_dir = os.path.join(model_dir, LAST_WEIGHTS)
    best_weights_dir = os.path.join(model_dir, BEST_WEIGHTS)
    for folder in (last_weights_dir, best_weights_dir):
        remove_partial_saves(folder)
    remove_partial_metrics(model_dir)
    checkpoint = find_checkpoint(restore_from, model_dir)
    begin_at_epoch = epoch_of(checkpoint)
    if begin_at_epoch >= params.num_epochs:
        raise InputError("{} was saved after epoch {}, and num_epochs in params.json is {}: raise "
                         "num_epochs to train further".format(checkpoint, begin_at_epoch, params.num_epochs))
    # Before restoring `checkpoint`: this may load the best weights to evaluate them again.
    best_eval = best_metric_so_far(sess, last_saver, evaluate, model_dir, BEST_METRIC[params.example])
    logging.info("Restoring parameters from {}".format(checkpoint))
    restore_weights(last_saver, sess, checkpoint)
    recover_saver_history(last_saver, last_weights_dir)
    recover_saver_history(best_saver, best_weights_dir)
    return begin_at_epoch, best_eval


def best_metric_so_far(sess, saver, evaluate, model_dir, best_metric):
    """The dev `best_metric` of the best weights already in model_dir, so a resumed run keeps that bar.

    It is read from metrics_eval_best_weights.json when that file is whole and is about the
    epoch of the best checkpoint. Otherwise (damaged, or the run was killed between saving
    the weights and their metrics) the best weights are evaluated again on the dev set and
    the file is written anew. This loads the best weights into `sess`: call it before
    restoring the weights to resume from (`saver` restores them; `evaluate()` gives their dev metrics). Without usable best
    weights, the bar is 0.
    """
    best_dir = os.path.join(model_dir, BEST_WEIGHTS)
    json_path = os.path.join(model_dir, EVAL_BEST_METRICS)
    checkpoint = latest_usable_checkpoint(best_dir)[0] if os.path.isdir(best_dir) else None
    if checkpoint is None:
        if os.path.exists(best_dir) or os.path.exists(json_path):
            logging.warning("No usable checkpoint in %s: the first epoch of this run becomes the best", best_dir)
        return 0.0
    problem = _best_metrics_problem(json_path, epoch_of(checkpoint), best_metric)
    if problem is None:
        return float(read_json(json_path)[best_metric])

    logging.warning("%s %s: evaluating %s on the dev set again to know the %s to beat",
                    json_path, problem, checkpoint, best_metric)
    restore_weights(saver, sess, checkpoint)
    metrics = evaluate()
    metrics['epoch'] = epoch_of(checkpoint)
    save_dict_to_json(metrics, json_path)
    logging.info("- Best weights re-evaluated (%s): %s", os.path.basename(checkpoint), format_metrics(metrics))
    return metrics[best_metric]


def _best_metrics_problem(json_path, epoch, best_metric):
    """None if json_path holds the metrics of epoch `epoch`, else what is wrong with it."""
    try:
        metrics = read_json(json_path, 'metrics file')
    except InputError as e:
        return 'cannot be used ({})'.format(e)
    if not isinstance(metrics, dict) or not isinstance(metrics.get(best_metric), (int, float)):
        return 'holds no {}'.format(best_metric)
    if metrics.get('epoch') != epoch:
        return 'is about epoch {}, not {} as the best weights are'.format(metrics.get('epoch'), epoch)
    return None


# What save_dict_to_json leaves when killed while writing a metrics file: its temporary file (see
# write_atomically in model/utils.py), never renamed to the real name.
_PARTIAL_METRICS = re.compile(r'^\.tmp-[a-z0-9_]{8}\.json$')


def remove_partial_metrics(model_dir):
    """Delete the temporary files of metrics files whose writing was killed midway."""
    for name in os.listdir(model_dir):
        if _PARTIAL_METRICS.match(name):
            logging.info("Removing %s, left by a save that did not finish", os.path.join(model_dir, name))
            os.remove(os.path.join(model_dir, name))
