"""Synthetic, HF-shaped papers with realistic lengths, reproducible from a seed."""

from __future__ import annotations

import random
from datetime import date, timedelta

from daemon.core.models import Paper, paper_url

WORDS = [
    "model",
    "learning",
    "neural",
    "network",
    "tensor",
    "graph",
    "language",
    "vision",
    "transformer",
    "attention",
    "diffusion",
    "agent",
    "reasoning",
    "benchmark",
    "dataset",
    "training",
    "inference",
    "optimization",
    "sparse",
    "quantum",
    "robot",
    "policy",
    "reward",
    "retrieval",
    "embedding",
    "token",
    "decoder",
    "encoder",
    "image",
    "video",
    "audio",
    "speech",
    "physics",
    "operator",
    "equation",
    "kernel",
    "gradient",
    "loss",
    "scaling",
    "efficient",
    "robust",
    "federated",
    "privacy",
    "causal",
    "contrastive",
    "generative",
    "adversarial",
    "latent",
    "memory",
    "planning",
    "multimodal",
    "alignment",
    "evaluation",
    "compression",
    "distillation",
    "pruning",
    "quantization",
    "molecule",
    "protein",
    "chemistry",
    "climate",
    "weather",
    "medical",
    "clinical",
    "segmentation",
    "detection",
]
FILLER = [
    "we",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "with",
    "on",
    "that",
    "is",
    "by",
    "this",
    "our",
    "from",
    "as",
    "are",
    "an",
]


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) if rng.random() < 0.45 else rng.choice(FILLER) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def papers(n: int, seed: int = 7, start: int = 0) -> list[Paper]:
    rng = random.Random(seed)
    first_day = date(2026, 1, 1)
    out = []
    for i in range(start, start + n):
        title = " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(6, 14)))
        abstract = " ".join(sentence(rng, rng.randint(15, 30)) for _ in range(rng.randint(6, 10)))
        authors = tuple(
            f"Author{rng.randint(1, 50000)} Name{rng.randint(1, 9999)}"
            for _ in range(rng.randint(2, 12))
        )
        ident = f"26{i // 100000:02d}.{i % 100000:05d}"
        out.append(
            Paper(
                title=f"{title} {i}",
                abstract=abstract,
                authors=authors,
                arxiv_id=ident,
                hf_day=first_day + timedelta(days=i // 1000),
                upvotes=rng.randint(0, 300),
                url=paper_url(ident),
            )
        )
    return out
