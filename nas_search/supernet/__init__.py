"""The elastic ViT super-network behind the ``vit`` evaluator.

``arch`` (shapes and exact cost, pure arithmetic) and ``store`` import no torch; ``vit``,
``train``, ``latency`` and ``data`` are imported where they are used.
"""
