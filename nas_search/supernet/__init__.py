"""The weight-sharing models behind the ``vit`` and ``transformer`` evaluators.

The elastic ViT trained from scratch (``vit``, ``train``, ``data``), the elastic encoder of a
pretrained Hugging Face model (``pretrained``, ``encoder``, ``importance``, ``finetune``,
``task_data``, ``deploy``), per-layer precision (``precision``, ``onnx_model``), and what
both share (``latency``, ``store``, ``settings``). ``arch``, ``encoder_arch``, ``precision``,
``pretrained``, ``settings`` and ``store`` (shapes, exact cost, config checks) import no
torch; the others are imported where they are used.
"""
