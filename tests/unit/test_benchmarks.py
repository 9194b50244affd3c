"""The helpers of the benchmark scripts: the ablation's variants and the FLOP count."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import seeds  # noqa: E402
import throughput  # noqa: E402
from digitclust.method import encoders  # noqa: E402


def test_every_variant_names_real_params():
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    for changes in seeds.VARIANTS.values():
        for key in changes:
            node = values
            for part in key.split("."):
                node = node[part]


def test_training_flops_count_forward_and_backward_multiply_adds():
    autoencoder, _ = encoders.build_autoencoder("dense", code_size=10, image_shape=(28, 28))
    widths = [784, 500, 500, 2000, 10, 2000, 500, 500, 784]
    macs = [a * b for a, b in zip(widths, widths[1:], strict=False)]
    assert [throughput.multiply_adds(layer) for layer in throughput.weighted_layers(autoencoder)] == macs
    forward, backward = sum(macs), 2 * sum(macs) - macs[0]
    assert throughput.training_flops(autoencoder, 100, 10, 2) == 2 * 2 * (100 * (forward + backward) + 10 * forward)


def test_conv_layers_count_one_kernel_product_per_output_position():
    autoencoder, _ = encoders.build_autoencoder("conv", code_size=14, image_shape=(28, 28))
    first = next(throughput.weighted_layers(autoencoder))
    assert throughput.multiply_adds(first) == 3 * 3 * 1 * 16 * 28 * 28


def test_epoch_seconds_are_read_from_the_train_log():
    log = "10:00 m: epoch 1/2: loss 0.1, val_loss 0.2 (41.0 s)\n10:01 m: epoch 2/2: loss 0.1, val_loss 0.1 (39.5 s)\n"
    assert throughput.epoch_seconds(log) == [41.0, 39.5]


def run_benchmark(script, *args, cwd):
    """Run ``benchmarks/<script>`` with ``args`` in ``cwd``; return the completed process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=cwd, capture_output=True, text=True
    )


def test_a_bad_params_change_stops_the_benchmark_in_one_line_before_any_work(tmp_path):
    for change, problem in [
        ("autoencoder.epochs=0", "autoencoder.epochs = 0: expected an integer >= 1"),
        ("autoencoder.epoch=3", "autoencoder.epoch: unknown key"),
        ("nothing.here=1", "-S nothing.here: no such key in params.yaml"),
        ("autoencoder.epochs", "-S 'autoencoder.epochs': expected key=value"),
        ("seed=3", "-S seed: the seeds are given by --seeds"),
    ]:
        result = run_benchmark("seeds.py", "--seeds", "0", "-S", change, cwd=tmp_path)
        assert result.returncode in (1, 2)
        assert result.stderr.startswith("error: ") and problem in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert list(tmp_path.iterdir()) == []


def test_a_bad_seed_stops_the_seeds_benchmark_in_one_line_before_any_work(tmp_path):
    result = run_benchmark("seeds.py", "--seeds", "0", "-1", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: -S: seed = -1: expected an integer from 0 to 2147483647\n"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_bad_train_sizes_stop_the_pipeline_benchmark_in_one_line_before_any_work(tmp_path):
    result = run_benchmark("pipeline.py", "--train-sizes", "60000", "30", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: -S: kmeans.k = 10: more clusters than data.test_size = 5 images\n"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_an_unknown_commit_stops_the_storage_benchmark_in_one_line_before_any_work(tmp_path):
    result = run_benchmark("storage.py", "--previous", "no-such-commit", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "error: storage.py: --previous no-such-commit: not a commit of this repository\n"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_a_bad_against_change_stops_the_pipeline_benchmark_in_one_line_before_any_work(tmp_path):
    for change, problem in [
        ("refine.epochs=0", "refine.epochs = 0: expected an integer >= 1"),
        ("refine.enabled", "-S 'refine.enabled': expected key=value"),
    ]:
        result = run_benchmark("pipeline.py", "--against", change, cwd=tmp_path)
        assert result.returncode in (1, 2)
        assert result.stderr.startswith("error: ") and problem in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stdout == "" and list(tmp_path.iterdir()) == []
