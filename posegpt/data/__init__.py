"""Datasets in the real formats: readers/writers, the dataset of conversations by task, the
mixing sampler, splits, images. Never imports `posegpt.synth` (the engine writes these formats)."""
