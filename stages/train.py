"""Train the autoencoder on the train split; save it, its encoder, its history and a reconstruction picture."""

import pandas as pd

from digitclust import data, io, models, plots, stage

N_PICTURED = 10


def main(p, args):
    config = p["autoencoder"]
    models.set_seed(p["seed"])
    train_images, _ = data.load_images(args.dataset, "train")
    test_images, _ = data.load_images(args.dataset, "test")
    stage.log.info("read %d train and %d test images from %s", len(train_images), len(test_images), args.dataset)
    autoencoder, encoder = models.build_autoencoder(config["architecture"], config["code_size"])
    models.compile_autoencoder(autoencoder, config["optimizer"], config["learning_rate"], config["loss"], config["xla"])
    history = models.train(autoencoder, train_images, test_images, config["epochs"], config["batch_size"])

    for model, path in ((autoencoder, args.autoencoder), (encoder, args.encoder)):
        with io.atomic_path(path, suffix=".keras") as tmp:
            model.save(tmp)
        stage.log.info("wrote %s", path)
    table = pd.DataFrame(history).rename_axis("epoch").reset_index()
    table["epoch"] += 1
    io.write_text(args.history, table.to_csv(index=False, float_format="%.6g"))
    originals = test_images[:N_PICTURED]
    plots.reconstructions(originals, models.reconstruct(autoencoder, originals, config["batch_size"]), args.picture)
    stage.log.info("wrote %s and %s", args.history, args.picture)


if __name__ == "__main__":
    stage.run(main, __doc__, "dataset", "autoencoder", "encoder", "history", "picture")
