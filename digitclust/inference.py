"""Applying a trained autoencoder: load it, encode images, decode codes, reconstruct images."""

import zipfile

from digitclust.backend import keras
from digitclust.errors import PipelineError


def load(path):
    """Load a model saved by the train stage; a missing or damaged file is a one-line PipelineError."""
    try:
        return keras.models.load_model(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        reason = " ".join(str(error).split())
        raise PipelineError(f"{path}: not a model the train stage saved ({reason}); `dvc repro` rebuilds it") from None


def encode(encoder, images, batch_size):
    """Return the float32 codes (N, code_size) of ``images`` (N, 28, 28)."""
    return encoder.predict(images, batch_size=batch_size, verbose=0).astype("float32")


def decode(decoder, codes, batch_size):
    """Return the images (N, 28, 28) that ``decoder`` makes of ``codes`` (N, code_size)."""
    return decoder.predict(codes, batch_size=batch_size, verbose=0)


def reconstruct(encoder, decoder, images, batch_size):
    """Return the reconstructions (N, 28, 28) of ``images`` (N, 28, 28): their codes, decoded."""
    return decode(decoder, encode(encoder, images, batch_size), batch_size)
