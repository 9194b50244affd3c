"""`dvc plots diff` draws two commits' plots side by side without errors."""

import json
import shutil

from helpers import commit, dvc, write_params


def test_plots_diff_shows_both_revisions(tiny_repo, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_repo, project, symlinks=True)
    write_params(project, {"kmeans.n_init": 3})
    dvc("repro", cwd=project)
    commit(project, "three k-means restarts")
    shown = json.loads(dvc("plots", "diff", "HEAD~1", "--json", "--split", cwd=project).stdout)
    assert not shown.get("errors"), shown["errors"]
    counts = [f"plots/confusion/{method}.csv" for method in ("baseline", "autoencoder_kmeans", "refined")]
    shares = [f"dvc.yaml::{plot_id}" for plot_id in counts]  # the folder's plot: each file with the share template
    for plot_id in (*counts, *shares, "dvclive/plots/metrics/loss.tsv"):
        revisions = {rev for plot in shown["data"][plot_id] for rev in plot["revisions"]}
        assert revisions == {"HEAD~1", "workspace"}, (plot_id, revisions)
    images = [key for key in shown["data"] if key.endswith(".png")]
    assert len(images) == 9  # 3 confusion heatmaps and 6 report pictures
    assert all({p["revisions"][0] for p in shown["data"][key]} == {"HEAD~1", "workspace"} for key in images)
