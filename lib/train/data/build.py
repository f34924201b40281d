"""Datasets, processing, sampler and loader of a training run, built from its config."""
from __future__ import annotations

from lib.train.data.loader import build_loader
from lib.train.data.processing import TrackingProcessing
from lib.train.data.sampler import TrackingSampler
from lib.train.dataset import build_dataset


def build_processing(cfg, augment: bool = True) -> TrackingProcessing:
    data = cfg.DATA
    tokenizer = None
    if data.TOKENIZE:
        from lib.models.language.tokenizer import TextTokenizer
        language = cfg.MODEL.get("LANGUAGE")
        vocab_dir = None
        if language is not None:  # the vocabulary of the configured encoder, never another one
            from lib.models.language.encoder import resolve_encoder_dir
            vocab_dir = resolve_encoder_dir(language.ENCODER)
        tokenizer = TextTokenizer(max_len=data.MAX_TEXT_LEN, vocab_dir=vocab_dir)
    return TrackingProcessing(
        search_area_factor={"template": data.TEMPLATE.FACTOR, "search": data.SEARCH.FACTOR},
        output_sz={"template": data.TEMPLATE.SIZE, "search": data.SEARCH.SIZE},
        center_jitter={"template": data.TEMPLATE.CENTER_JITTER, "search": data.SEARCH.CENTER_JITTER},
        scale_jitter={"template": data.TEMPLATE.SCALE_JITTER, "search": data.SEARCH.SCALE_JITTER},
        feat_stride=cfg.MODEL.BACKBONE.PATCH_SIZE, tokenizer=tokenizer, augment=augment,
        max_text_len=data.MAX_TEXT_LEN)


def build_sampler(cfg, part: str, seed: int) -> TrackingSampler:
    """``part`` is 'TRAIN' or 'VAL' (cfg.DATA.<part>)."""
    spec = cfg.DATA[part]
    if len(spec.DATASETS_NAME) != len(spec.DATASETS_RATIO):
        raise ValueError(f"DATA.{part}: {len(spec.DATASETS_NAME)} DATASETS_NAME but "
                         f"{len(spec.DATASETS_RATIO)} DATASETS_RATIO")
    datasets = [build_dataset(name) for name in spec.DATASETS_NAME]
    teacher = cfg.get("MLKD", {}).get("TEACHER")
    if cfg.DATA.get("ENHANCER") or (teacher and teacher.get("FRAME_CACHE")):
        from lib.train.dataset.enhanced_twin import EnhancedTwin
        if cfg.DATA.get("ENHANCER"):  # the network itself sees enhanced frames
            datasets = [EnhancedTwin(d, cfg.DATA.ENHANCER, name, as_frames=True)
                        for d, name in zip(datasets, spec.DATASETS_NAME)]
        else:  # MLKD's teacher reads enhanced twins of the frames
            datasets = [EnhancedTwin(d, teacher.ENHANCER, name) for d, name in zip(datasets, spec.DATASETS_NAME)]
    return TrackingSampler(datasets, spec.DATASETS_RATIO, samples_per_epoch=spec.SAMPLE_PER_EPOCH,
                           max_gap=cfg.DATA.MAX_SAMPLE_INTERVAL, num_template_frames=cfg.DATA.TEMPLATE.NUMBER,
                           num_search_frames=cfg.DATA.SEARCH.NUMBER, processing=build_processing(cfg),
                           seed=seed, frame_sample_mode=cfg.DATA.SAMPLER_MODE)


def build_loaders(cfg, rank: int = 0, world_size: int = 1, seed: int = 0) -> dict:
    """{'train': (DataLoader, EpochIndexSampler), 'val': ... when DATA.VAL lists datasets}.

    Validation pairs use another seed stream than training pairs, so they never coincide.
    """
    loaders = {}
    for part, part_seed in (("TRAIN", seed), ("VAL", seed + 1_000_003)):
        if not cfg.DATA[part].DATASETS_NAME:
            continue
        sampler = build_sampler(cfg, part, part_seed)
        loaders[part.lower()] = build_loader(sampler, batch_size=cfg.TRAIN.BATCH_SIZE,
                                             num_workers=cfg.TRAIN.NUM_WORKER, rank=rank, world_size=world_size,
                                             seed=part_seed)
    return loaders
