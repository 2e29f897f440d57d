"""Settings of super-network training and latency measurement: the ``train`` and ``latency``
sections of a ``vit`` evaluator, validated as written in the space file (no torch here)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Positive = Annotated[StrictInt, Field(gt=0)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainSettings(_Closed):
    epochs: Positive = 80
    batch_size: Positive = 64
    lr: Annotated[float, Field(gt=0)] = 4e-3
    weight_decay: Annotated[float, Field(ge=0)] = 0.05
    random_subnets: Annotated[StrictInt, Field(ge=0)] = Field(
        default=2, description="random sub-networks per step besides the largest and the smallest"
    )
    label_smoothing: Annotated[float, Field(ge=0, lt=1)] = 0.1
    shift: Annotated[StrictInt, Field(ge=0)] = Field(
        default=0, description="augmentation: random shifts of up to this many pixels"
    )
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    threads: Positive = Field(
        default=1,
        description="torch CPU threads while training (recorded in the checkpoint); more "
        "threads contend with other work on a busy machine",
    )
    device: Annotated[StrictStr, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")] = Field(
        default="auto", description="auto: the GPU when torch sees one, else the CPU"
    )


#: how a super-network is trained, not what: left out of its cache key
RUNTIME_FIELDS = frozenset({"threads", "device"})


class LatencySettings(_Closed):
    runtime: Literal["torch", "onnxruntime"] = Field(
        default="torch",
        description="what runs the sub-network: torch (eager), or onnxruntime on the CPU "
        "(exported to ONNX per candidate; needed for int8 precision genes)",
    )
    device: Annotated[StrictStr, Field(pattern=r"^(cpu|cuda(:\d+)?)$")] = "cpu"
    batch_size: Positive = 1
    threads: Positive = Field(default=1, description="torch CPU threads while measuring (recorded)")
    warmup: Positive = 3
    min_repeats: Annotated[StrictInt, Field(ge=3)] = 7
    max_repeats: Annotated[StrictInt, Field(ge=3)] = 100
    max_spread: Annotated[float, Field(gt=0)] = Field(
        default=0.05, description="stop once IQR / median is at most this; above it, flag the row"
    )
    max_seconds: Annotated[float, Field(gt=0)] = 2.0
    min_sample_ms: Annotated[float, Field(gt=0)] = Field(
        default=10.0, description="each timed sample repeats the call until it lasts this long"
    )


class FinetuneSettings(_Closed):
    """InstaTune: each step the full model learns from the labels, and random sub-networks
    (with the smallest: ``sandwich``) from its logits (KL divergence at ``temperature``)."""

    epochs: Positive = 3
    batch_size: Positive = 32
    accumulate: Positive = Field(default=1, description="batches per optimizer step")
    lr: Annotated[float, Field(gt=0)] = 5e-5
    weight_decay: Annotated[float, Field(ge=0)] = 0.01
    warmup: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.1, description="share of the steps over which the learning rate rises"
    )
    elastic: bool = Field(
        default=True, description="false: plain fine-tuning of the full model (a baseline)"
    )
    random_subnets: Annotated[StrictInt, Field(ge=0)] = Field(
        default=1, description="random sub-networks per step besides the full model"
    )
    sandwich: bool = Field(default=True, description="also the smallest sub-network each step")
    temperature: Annotated[float, Field(gt=0)] = 2.0
    importance: bool = Field(
        default=True,
        description="rank heads and feed-forward units by importance on the training data "
        "first, so that sub-networks keep the most important ones (DynaBERT)",
    )
    importance_batches: Positive = 8
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    threads: Positive = Field(default=1, description="torch CPU threads while fine-tuning")
    device: Annotated[StrictStr, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")] = Field(
        default="auto", description="auto: the GPU when torch sees one, else the CPU"
    )


class EncoderLatencySettings(LatencySettings):
    sequence_length: Positive = Field(
        default=128, description="tokens per input (text models) while timing and for macs_m"
    )
