"""Build the Keras reference architectures (weights=None) as .tflite files for evaluation.

None of them is used in training: the estimator only ever sees single ops and the generated
networks of ``leti.estimator.netgen``.

    python bench/reference_models.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# name -> (constructor, kwargs); sizes chosen so one timing takes seconds, not minutes, on a
# 2-core host at one thread.
REFERENCE = {
    "mobilenet_v1_0.5_160": ("MobileNet", dict(alpha=0.5, input_shape=(160, 160, 3))),
    "mobilenet_v2_1.0_224": ("MobileNetV2", dict(alpha=1.0, input_shape=(224, 224, 3))),
    "mobilenet_v2_0.35_96": ("MobileNetV2", dict(alpha=0.35, input_shape=(96, 96, 3))),
    "mobilenet_v3_small_224": ("MobileNetV3Small", dict(input_shape=(224, 224, 3))),
    "mobilenet_v3_large_224": ("MobileNetV3Large", dict(input_shape=(224, 224, 3))),
    "efficientnet_b0_224": ("EfficientNetB0", dict(input_shape=(224, 224, 3))),
    "efficientnetv2_b0_192": ("EfficientNetV2B0", dict(input_shape=(192, 192, 3))),
    "resnet50_160": ("ResNet50", dict(input_shape=(160, 160, 3))),
    "densenet121_128": ("DenseNet121", dict(input_shape=(128, 128, 3))),
    "nasnet_mobile_224": ("NASNetMobile", dict(input_shape=(224, 224, 3))),
}


def build_all(out: Path, names: list[str] | None = None) -> list[Path]:
    import tensorflow as tf
    from leti.estimator.generate.keras import convert

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (ctor, kw) in REFERENCE.items():
        if names and name not in names:
            continue
        path = out / f"{name}.tflite"
        if not path.exists():
            model = getattr(tf.keras.applications, ctor)(weights=None, **kw)
            path.write_bytes(convert(model))
            tf.keras.backend.clear_session()
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/models")):
        print(p)
