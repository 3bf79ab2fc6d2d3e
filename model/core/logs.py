"""How the metrics lines of train.log and evaluate.log look."""


def format_metrics(metrics_val):
    """`accuracy: 0.917 ; loss: 0.301`: how every metrics line in the logs looks."""
    return " ; ".join("{}: {:05.3f}".format(k, v) for k, v in sorted(metrics_val.items()))
