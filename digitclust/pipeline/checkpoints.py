"""Checkpoints of a training in progress: the model with its optimizer state, the epochs done, the history.

A checkpoint is only resumed by a training of the same params and data (its fingerprint).
"""

import json
import logging
import shutil
from pathlib import Path

import keras

log = logging.getLogger(__name__)


def save_checkpoint(folder, autoencoder, epochs_done, history, fingerprint):
    """Save the autoencoder (with optimizer state) and its progress into ``folder``, atomically."""
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    autoencoder.save(staging / "autoencoder.keras")
    state = {"epochs_done": epochs_done, "history": history, "fingerprint": fingerprint}
    (staging / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    log.info("checkpoint saved after epoch %d in %s", epochs_done, folder)


def load_checkpoint(folder, fingerprint):
    """Return ``(autoencoder, epochs_done, history)`` saved in ``folder`` for ``fingerprint``, or None.

    A checkpoint of other params or data (another fingerprint) is never resumed.
    """
    state_file = Path(folder) / "state.json"
    if not state_file.is_file():
        return None
    state = json.loads(state_file.read_text())
    if state["fingerprint"] != fingerprint:
        log.info("ignoring checkpoint in %s: it was made with other params or data", folder)
        return None
    autoencoder = keras.models.load_model(Path(folder) / "autoencoder.keras")
    return autoencoder, state["epochs_done"], state["history"]
