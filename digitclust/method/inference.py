"""Applying a trained autoencoder: encode images, decode codes, reconstruct images."""

import keras
import numpy as np


def encode(encoder: keras.Model, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """Return the float32 codes (N, code_size) of ``images`` (N, *image_shape)."""
    return encoder.predict(images, batch_size=batch_size, verbose=0).astype("float32")


def decode(decoder: keras.Model, codes: np.ndarray, *, batch_size: int) -> np.ndarray:
    """Return the images (N, *image_shape) that ``decoder`` makes of ``codes`` (N, code_size)."""
    return decoder.predict(codes, batch_size=batch_size, verbose=0)


def reconstruct(encoder: keras.Model, decoder: keras.Model, images: np.ndarray, *, batch_size: int) -> np.ndarray:
    """Return the reconstructions (N, *image_shape) of ``images`` (N, *image_shape): their codes, decoded."""
    return decode(decoder, encode(encoder, images, batch_size=batch_size), batch_size=batch_size)
