"""Training progress for DVC: the loss of every epoch, logged with DVCLive.

DVCLive writes ``metrics.json`` (the latest values and epoch), one ``plots/metrics/<name>.tsv``
history per metric and ``params.yaml`` into its folder, after every epoch, so `dvc exp show`
and `dvc plots show` see a training while it runs. Nothing written carries a timestamp.
"""

import contextlib


@contextlib.contextmanager
def live_log(folder, params, history=None):
    """A DVCLive logger writing into ``folder`` that has recorded ``params`` and the epochs of ``history``.

    ``history`` (``{metric: [one value per epoch]}``) is what a resumed training already
    did: its epochs are logged again, so the log continues as one history.
    """
    from dvclive import Live  # imported here: it loads much of DVC

    with Live(dir=str(folder), resume=False, report=None, save_dvc_exp=False, dvcyaml=None) as live:
        live.log_params(params)
        for epoch, values in enumerate(zip(*(history or {}).values(), strict=False), start=1):
            log_epoch(live, epoch, dict(zip(history, values, strict=False)))
        yield live


def log_epoch(live, epoch, metrics):
    """Log ``metrics`` (``{name: value}``) of ``epoch`` (from 1) as one step of ``live``."""
    live.step = epoch
    for name, value in metrics.items():
        live.log_metric(name, value, timestamp=False)
    live.next_step()
