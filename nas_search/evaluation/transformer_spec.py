"""The ``transformer`` evaluator's section of a space file: the model folder, the task's data,
fine-tuning and latency settings (validated as written, no torch here)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from nas_search.evaluation.spec import EvaluatorSpec
from nas_search.supernet.settings import EncoderLatencySettings, FinetuneSettings

Positive = Annotated[StrictInt, Field(gt=0)]


class TaskDataSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: StrictStr = Field(
        description="text: a .csv or .jsonl file; images: an .npz with x, y (or 'digits')"
    )
    text: StrictStr = Field("text", description="the text column")
    text_pair: StrictStr | None = Field(None, description="a second text column (pairs)")
    label: StrictStr = Field("label", description="the label column: 0..num_labels-1 or names")
    max_length: Positive = Field(128, description="tokens per text: longer ones are cut")
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    validation: Annotated[float, Field(gt=0, lt=0.5)] = 0.2
    test: Annotated[float, Field(gt=0, lt=0.5)] = 0.2


class TransformerSpec(EvaluatorSpec):
    type: Literal["transformer"]
    model: StrictStr = Field(description="a local save_pretrained folder (never downloaded)")
    num_labels: Positive | None = Field(
        None, description="classes of the task (default: the model's own num_labels)"
    )
    data: TaskDataSection | None = Field(
        None, description="the task's labelled data; without: latency and exact metrics only"
    )
    finetune: FinetuneSettings | None = Field(
        None, description="fine-tune elastically on first use and cache the weights"
    )
    checkpoint: StrictStr | None = Field(
        None, description="fine-tuned weights (nas-search supernet finetune writes them)"
    )
    latency: EncoderLatencySettings = Field(default_factory=EncoderLatencySettings)


#: space parameter -> the config.json key that sets its maximum
LIMITS = {
    "num_layers": ("layers", "num_hidden_layers"),
    "num_heads": ("heads", "num_attention_heads"),
    "intermediate_size": ("intermediate", "intermediate_size"),
}
