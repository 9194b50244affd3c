"""The seeds benchmark's variants, in a copy of the tiny repository: what a params change reruns."""

import shutil
import sys

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import seeds  # noqa: E402


def test_a_variant_reruns_only_what_its_params_change_and_restores_trained_models(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    names = seeds.scored_stages()
    results = seeds.run_methods(project, names, ["ae_kmeans", "no_umap"])
    assert list(results) == ["baseline", "default", "refined", "ae_kmeans", "no_umap"]
    assert "refine.enabled is false" in (project / "no_umap-refine.log").read_text()
    assert "Running stage 'train'" in (project / "ae_kmeans-train.log").read_text()
    no_umap_logs = {name: (project / f"no_umap-{name}.log").read_text() for name in names}
    assert "Stage 'train' is cached - skipping run" in no_umap_logs["train"]
    assert "Running stage 'cluster'" in no_umap_logs["cluster"]
    assert "didn't change" in no_umap_logs["baseline"]
    assert results["no_umap"] != results["default"]
