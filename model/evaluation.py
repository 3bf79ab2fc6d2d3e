"""Tensorflow utility functions for evaluation"""
import logging
import os

from model.core.checkpoints import epoch_of, restore
from model.core.hparams import record_test_metrics
from model.core.layout import metrics_file
from model.core.logs import format_metrics
from model.core.reports import format_report, report, report_summaries
from model.core.session_config import session_config
from model.core.tf_compat import tf
from model.utils import save_dict_to_json


def num_steps_for(num_samples, batch_size):
    """Batches in one pass over num_samples (the last one may be smaller)."""
    return (num_samples + batch_size - 1) // batch_size




def evaluate_sess(sess, model_spec, num_steps, writer=None, params=None):
    """Evaluate the model on `num_steps` batches, i.e. one pass over the evaluation set.

    Args:
        sess: (tf.Session) current session
        model_spec: (dict) contains the graph operations or nodes needed for evaluation
        num_steps: (int) evaluate on this number of batches
        writer: (tf.summary.FileWriter) writer for summaries. Is None if we don't log anything
        params: (Params) hyperparameters
    """
    update_metrics = model_spec['update_metrics']
    eval_metrics = model_spec['metrics']
    global_step = tf.train.get_global_step()

    # Load the evaluation dataset into the pipeline and initialize the metrics init op
    sess.run(model_spec['iterator_init_op'])
    sess.run(model_spec['metrics_init_op'])

    # compute metrics over the dataset
    for step in range(num_steps):
        if step == 0 and writer is not None:
            # The images of the first batch that were mislabeled, to look at in TensorBoard
            _, summ, global_step_val = sess.run([update_metrics, model_spec['summary_op'], global_step])
            writer.add_summary(summ, global_step_val)
        else:
            sess.run(update_metrics)

    # Get the values of the metrics
    metrics_values = {k: v[0] for k, v in eval_metrics.items()}
    metrics_val = {k: float(v) for k, v in sess.run(metrics_values).items()}
    logging.info("- Eval metrics: " + format_metrics(metrics_val))

    # Add summaries manually to writer at global_step_val
    if writer is not None:
        global_step_val = sess.run(global_step)
        for tag, val in metrics_val.items():
            summ = tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=val)])
            writer.add_summary(summ, global_step_val)
        # The confusion matrix (vision) or the F1 of each entity type (NER) of this pass
        writer.add_summary(report_summaries(report(sess, model_spec)), global_step_val)
        writer.flush()

    return metrics_val


def evaluate(model_spec, model_dir, params, restore_from, data_dir=None, other_dataset=False):
    """Evaluate the model

    Args:
        model_spec: (dict) contains the graph operations or nodes needed for evaluation
        model_dir: (string) directory containing config, weights and log
        params: (Params) contains hyperparameters of the model, and eval_steps (batches in the split)
        restore_from: (string) directory or file containing weights to restore the graph
        data_dir: (string) the data set evaluated on, recorded in the metrics file
        other_dataset: (bool) whether it is another data set than the weights were trained on: then
                       the figures go to a file of their own, never taken for the experiment's test figures
    """
    # Initialize tf.Saver
    saver = tf.train.Saver()

    with tf.Session(config=session_config(params)) as sess:
        # Initialize the variables (and the NER example's vocabulary lookup tables)
        sess.run(model_spec['variable_init_op'])

        # Reload weights from the weights subdirectory
        checkpoint = restore(sess, restore_from, model_dir, saver)

        # Evaluate
        num_steps = params.eval_steps
        metrics = evaluate_sess(sess, model_spec, num_steps)
        details = report(sess, model_spec)  # by class (vision) or by entity type (NER)
        logging.info(format_report(details))
        metrics_name = os.path.basename(os.path.normpath(restore_from))
        save_path = os.path.join(model_dir, metrics_file('test', metrics_name, other_dataset and data_dir))
        save_dict_to_json(dict(metrics, **details, **({'data_dir': os.path.abspath(data_dir)} if data_dir else {})),
                          save_path)
        logging.info("Metrics written to {}".format(save_path))
        if not other_dataset:
            # TensorBoard's HParams dashboard: the test metrics, in this run's session (model/core/hparams.py)
            record_test_metrics(model_dir, params, metrics_name, metrics, epoch_of(checkpoint))
    return metrics
