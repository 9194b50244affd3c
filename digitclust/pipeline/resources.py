"""Rough memory estimates of each stage's big allocations, to refuse params this machine cannot hold.

It imports no heavy library, like ``params``: the check runs before any heavy import. Each
estimate maps the params key that scales an allocation to its bytes, so that a refusal
can name the key most responsible. Not counted: the interpreter and the libraries
(about 0.7 GiB once TensorFlow is imported), so these estimates refuse what cannot fit
rather than predict a stage's peak.
"""

import os
from collections import Counter
from math import isqrt, prod

from digitclust.method import encoders, refinement

FLOAT32 = 4
FLOAT64 = 8
INT64 = 8

# Training holds the inputs, the epoch's shuffled copy and tf.data's tensors: about six
# copies of the images (measured: 1.4 GiB above the libraries for 60000 + 10000 images).
TRAIN_IMAGE_COPIES = 6
# The exact neighbour search's indices and distances, UMAP's fuzzy graph and its layout's
# per-edge arrays (measured: 80 to 100 bytes per point and neighbour, umap-learn 0.5.12).
UMAP_BYTES_PER_NEIGHBOUR = 100
# scikit-learn's Lloyd iteration works on chunks of this many samples, one per thread.
LLOYD_CHUNK = 256
# The report maps the test codes to 2-D with UMAP.
REPORT_MAP_COMPONENTS = 2


def machine_memory():
    """Total physical memory of this machine, in bytes."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def network(architecture, code_size, image_shape):
    """``(weights, activations)``: the autoencoder's parameters and its layer outputs per image of ``image_shape``."""
    return encoders.ARCHITECTURES[architecture].size(code_size, tuple(image_shape))


def kmeans(n, d, features_key, kmeans_params):
    """K-Means on ``n`` float32 points of ``d`` dimensions, described by ``features_key``.

    scikit-learn centres a copy of the points; elkan keeps (n, k) lower bounds and (k, k)
    half-distances between centres, lloyd (chunk, k) distances and (k, d) partial sums
    per thread.
    """
    k = kmeans_params["k"]
    if kmeans_params["algorithm"] == "elkan":
        bounds = (n * k + 2 * k * k) * FLOAT32
    else:
        bounds = (os.cpu_count() or 1) * (min(n, LLOYD_CHUNK) + d) * k * FLOAT32
    return Counter({features_key: n * d * FLOAT32, "kmeans.k": bounds + 3 * k * d * FLOAT32})


def gmm(n, d, features_key, k, covariance_type):
    """scikit-learn's GaussianMixture of ``k`` components on ``n`` float32 points of ``d`` dimensions.

    The points, one component's centred copy at a time, (n, k) log-probabilities and
    responsibilities (float64), and the covariances with their precisions and Cholesky
    factors: k d² floats each when full, d² tied, k d diagonal, k spherical.
    """
    covariances = {"full": k * d * d, "tied": d * d, "diag": k * d, "spherical": k}[covariance_type]
    return Counter(
        {
            features_key: 2 * n * d * FLOAT32 + 3 * covariances * FLOAT64,
            "kmeans.k": 2 * n * k * FLOAT64 + k * d * FLOAT64,
        }
    )


def clustering(params, n, d, features_key):
    """``cluster.method`` on ``n`` points of ``d`` dimensions; a method without an estimate here counts as K-Means."""
    if params["cluster"]["method"] == "gmm":
        return gmm(n, d, features_key, params["kmeans"]["k"], params["cluster"]["gmm"]["covariance_type"])
    return kmeans(n, d, features_key, params["kmeans"])


def umap(n, n_neighbors, n_components, components_key="cluster.umap.n_components"):
    """``fit_umap`` on ``n`` points: exact neighbours, the fuzzy graph, the spectral start, the embedding.

    ARPACK keeps max(2 (n_components + 1) + 1, sqrt(n)) Lanczos vectors of n float64; the
    embedding is float64 from the spectral start, then float32 twice.
    """
    lanczos = min(n, max(2 * n_components + 3, isqrt(n)))
    return Counter(
        {
            "cluster.umap.n_neighbors": n * n_neighbors * UMAP_BYTES_PER_NEIGHBOUR,
            components_key: n * (lanczos * FLOAT64 + n_components * (FLOAT64 + 2 * FLOAT32)),
        }
    )


def train_stage(params, n, m, image_shape):
    """Training on ``n`` train images, validating on ``m`` test ones.

    The weights, their gradients and the optimizer's two moments (Adam's), each layer's
    outputs and their gradients for one batch, and the copies of the images.
    """
    config = params["autoencoder"]
    weights, activations = network(config["architecture"], config["code_size"], image_shape)
    return Counter(
        {
            "autoencoder.code_size": 4 * weights * FLOAT32,
            "autoencoder.batch_size": 2 * min(config["batch_size"], n) * activations * FLOAT32,
            "data.train_size": TRAIN_IMAGE_COPIES * (n + m) * prod(image_shape) * FLOAT32,
        }
    )


def classifier_activations(k, image_shape):
    """Outputs per image of the refine stage's CNN (``method.refinement``): three augmented copies, then
    for F and 2F filters a conv and a pool by 2 (on 28x28: 26x26xF, 13x13xF, 11x11x2F, 5x5x2F),
    the hidden layer, k probabilities."""
    trim = 2 if refinement.conv_padding(image_shape) == "valid" else 0
    height, width = image_shape[:2]
    total = 3 * prod(image_shape)
    for filters in (refinement.FILTERS, 2 * refinement.FILTERS):
        height, width = height - trim, width - trim
        total += height * width * filters + (height // 2) * (width // 2) * filters
        height, width = height // 2, width // 2
    return total + refinement.HIDDEN + k


def refine_stage(params, n, m, image_shape):
    """Training the CNN on ``n`` train images, then relabelling both splits: copies of the images, a batch's
    outputs and their gradients (the weights, about a million numbers, are left out)."""
    if not params["refine"]["enabled"]:
        return Counter()
    batch = min(params["refine"]["batch_size"], n)
    return Counter(
        {
            "refine.batch_size": 2 * batch * classifier_activations(params["kmeans"]["k"], image_shape) * FLOAT32,
            "data.train_size": TRAIN_IMAGE_COPIES * (n + m) * prod(image_shape) * FLOAT32,
        }
    )


def encode_stage(params, n, m, image_shape):
    """Encoding one split at a time: the weights, a batch, the images and the codes.

    The codes of both splits stay, and Keras' per-batch outputs and their float32 copy
    add two more of the larger split's.
    """
    config = params["autoencoder"]
    weights, activations = network(config["architecture"], config["code_size"], image_shape)
    return Counter(
        {
            "autoencoder.code_size": (weights + (n + m + 2 * max(n, m)) * config["code_size"]) * FLOAT32,
            "autoencoder.batch_size": min(config["batch_size"], n) * activations * FLOAT32,
            "data.train_size": max(n, m) * prod(image_shape) * FLOAT32,
        }
    )


def baseline_stage(params, n, m, image_shape):
    """K-Means on the train split's pixels, then assigning the test split's."""
    pixels = prod(image_shape)
    return Counter({"data.train_size": m * pixels * FLOAT32}) + kmeans(n, pixels, "data.train_size", params["kmeans"])


def cluster_stage(params, n, m, image_shape):
    """The codes of both splits, UMAP on the train codes (unless the manifold is none), ``cluster.method``.

    Placing the test codes gathers the embedding of each one's train neighbours: (m, n_neighbors, n_components).
    """
    code_size = params["autoencoder"]["code_size"]
    codes = Counter({"autoencoder.code_size": (n + m) * code_size * FLOAT32})
    if params["cluster"]["manifold"] == "none":
        return codes + clustering(params, n, code_size, "autoencoder.code_size")
    config = params["cluster"]["umap"]
    k, d = config["n_neighbors"], config["n_components"]
    placing = Counter(
        {
            "cluster.umap.n_neighbors": m * k * (INT64 + FLOAT64 + 2 * FLOAT32),  # neighbours, distances, weights
            "cluster.umap.n_components": m * k * d * FLOAT32,
        }
    )
    return codes + umap(n, k, d) + placing + clustering(params, n, d, "cluster.umap.n_components")


def report_stage(params, n, m, image_shape):
    """The images and codes of both splits, the autoencoder, and UMAP's 2-D map of the test codes."""
    code_size = params["autoencoder"]["code_size"]
    weights, _ = network(params["autoencoder"]["architecture"], code_size, image_shape)
    return Counter(
        {
            "data.train_size": (n + m) * prod(image_shape) * FLOAT32,
            "autoencoder.code_size": (weights + (n + m) * code_size) * FLOAT32,
        }
    ) + umap(m, params["cluster"]["umap"]["n_neighbors"], REPORT_MAP_COMPONENTS, "data.test_size")


STAGES = {
    "baseline": baseline_stage,
    "train": train_stage,
    "encode": encode_stage,
    "cluster": cluster_stage,
    "refine": refine_stage,
    "report": report_stage,
}


def estimates(params, n_train, n_test, image_shape):
    """``{stage: Counter({params key: bytes})}`` for the stages that allocate by the params, in pipeline order.

    ``image_shape`` is one image's, (H, W) or (H, W, 3).
    """
    return {stage: estimate(params, n_train, n_test, image_shape) for stage, estimate in STAGES.items()}


def gib(n_bytes):
    """``n_bytes`` as GiB with one decimal; integer arithmetic, so exact for any size."""
    tenths = (n_bytes * 10 + 2**29) // 2**30
    return f"{tenths // 10}.{tenths % 10} GiB"
