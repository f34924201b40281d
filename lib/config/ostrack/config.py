"""Defaults of the one-stream ViT tracker family (OSTrack). Every key a yaml file may set is listed here."""

DEFAULTS = {
    "MODEL": {
        "NETWORK": "ostrack",         # builder in lib/models/registry.py
        "PRETRAIN_FILE": "",          # file in pretrained_models/ (MAE / DeiT / timm ViT weights); "" = random init
        "INIT_FROM": "",              # start training from a trained tracker of this network: "FAMILY/CONFIG" (its
                                      # epoch TEST.EPOCH under the output root) or a checkpoint path; weights only
        "BACKBONE": {
            "TYPE": "vit",
            "PATCH_SIZE": 16,
            "EMBED_DIM": 768,
            "DEPTH": 12,
            "NUM_HEADS": 12,
            "MLP_RATIO": 4.0,
            "DROP_PATH_RATE": 0.1,
            "CE_LOC": [],             # blocks that eliminate background search tokens (candidate elimination)
            "CE_KEEP_RATIO": [],      # kept fraction of search tokens at each of those blocks
        },
        "HEAD": {
            "TYPE": "CENTER",
            "NUM_CHANNELS": 256,
        },
    },
    "TRAIN": {
        "LR": 4e-4,
        "WEIGHT_DECAY": 1e-4,
        "EPOCH": 300,
        "BATCH_SIZE": 32,             # per process (GPU or CPU rank)
        "NUM_WORKER": 8,             # DataLoader workers per process
        "BACKBONE_MULTIPLIER": 0.1,   # backbone LR = LR x this
        "GIOU_WEIGHT": 2.0,
        "L1_WEIGHT": 5.0,
        "FOCAL_WEIGHT": 1.0,
        "BOX_AT_GT_CELL": False,      # box losses read at the target's centre cell instead of the score argmax
        "GRAD_CLIP_NORM": 0.1,
        "AMP": False,
        "AMP_DTYPE": "auto",          # auto (bf16 on CPU, fp16 on GPU) | bf16 | fp16; GradScaler only for fp16
        "LR_SCALING": "none",         # none: LR as written for any world size | linear: LR x global batch / reference
        "LR_REFERENCE_BATCH": 128,    # global batch the LR was tuned for (OSTrack: 32 x 4 GPUs)
        "CHECKPOINT_KEEP_LAST": 2,    # newest checkpoints kept (>= 1), besides milestones and the final epoch
        "CHECKPOINT_MILESTONES": [],  # epochs whose checkpoint is never pruned
        "SEED": 42,
        "VAL_EPOCH_INTERVAL": 20,
        "PRINT_INTERVAL": 50,
        "CE_START_EPOCH": 20,
        "CE_WARM_EPOCH": 80,
        "SCHEDULER": {
            "TYPE": "step",           # step | cosine
            "DECAY_EPOCH": 240,
            "DECAY_RATE": 0.1,
            "WARMUP_EPOCHS": 0.0,
            "MIN_LR_RATIO": 0.0,      # cosine ends at LR x this on the last iteration
        },
    },
    "DATA": {
        "SAMPLER_MODE": "causal",
        "MAX_SAMPLE_INTERVAL": 200,
        "TOKENIZE": False,            # tokenise the sentence into each pair (language trackers)
        "ENHANCER": "",               # low-light enhancer weights: train and validate on the enhanced frames (each
                                      # frame enhanced once, cached: lib/train/dataset/enhanced_twin.py)
        "MAX_TEXT_LEN": 40,
        "TRAIN": {
            "DATASETS_NAME": ["LASOT", "GOT10K_train", "COCO17", "TRACKINGNET"],
            "DATASETS_RATIO": [1.0, 1.0, 1.0, 1.0],   # sampling weights (floats; ints are accepted)
            "SAMPLE_PER_EPOCH": 60000,
        },
        "VAL": {
            "DATASETS_NAME": ["GOT10K_val"],
            "DATASETS_RATIO": [1.0],
            "SAMPLE_PER_EPOCH": 10000,
        },
        "SEARCH": {"SIZE": 256, "FACTOR": 4.0, "CENTER_JITTER": 3.0, "SCALE_JITTER": 0.25, "NUMBER": 1},
        "TEMPLATE": {"SIZE": 128, "FACTOR": 2.0, "CENTER_JITTER": 0.0, "SCALE_JITTER": 0.0, "NUMBER": 1},
    },
    "TEST": {
        "TEMPLATE_FACTOR": 2.0,
        "TEMPLATE_SIZE": 128,
        "SEARCH_FACTOR": 4.0,
        "SEARCH_SIZE": 256,
        "EPOCH": 300,
    },
}

# element types of the lists whose default is empty (lib/config/merge.py checks yaml lists against them)
LIST_ELEMENT_TYPES = {
    "MODEL.BACKBONE.CE_LOC": int,
    "MODEL.BACKBONE.CE_KEEP_RATIO": float,
    "TRAIN.CHECKPOINT_MILESTONES": int,
}
