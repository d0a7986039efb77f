"""Build the Keras reference architectures (weights=None) as .tflite files for evaluation.

None of them is used in training: the estimator only ever sees single ops and the generated
networks of ``leti.estimator.generate.netgen``.

    python bench/reference_models.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The evaluation set, frozen on 2026-11-22 before the estimator of this release was changed:
# these 18 Keras architectures and the 7 MediaPipe models of ../shared/models. Nothing may be
# added, removed or resized to flatter a result. name -> (constructor, kwargs, family); sizes
# chosen so one timing takes well under a second at one thread on a 2-core host.
REFERENCE = {
    "mobilenet_v1_0.5_160": ("MobileNet", dict(alpha=0.5, input_shape=(160, 160, 3)), "mobilenet"),
    "mobilenet_v2_1.0_224": ("MobileNetV2", dict(alpha=1.0, input_shape=(224, 224, 3)), "mobilenet"),
    "mobilenet_v2_0.35_96": ("MobileNetV2", dict(alpha=0.35, input_shape=(96, 96, 3)), "mobilenet"),
    "mobilenet_v3_small_224": ("MobileNetV3Small", dict(input_shape=(224, 224, 3)), "mobilenet"),
    "mobilenet_v3_large_224": ("MobileNetV3Large", dict(input_shape=(224, 224, 3)), "mobilenet"),
    "mobilenet_v3_large_minimal_224": (
        "MobileNetV3Large", dict(input_shape=(224, 224, 3), minimalistic=True), "mobilenet"),
    "efficientnet_b0_224": ("EfficientNetB0", dict(input_shape=(224, 224, 3)), "efficientnet"),
    "efficientnet_b1_160": ("EfficientNetB1", dict(input_shape=(160, 160, 3)), "efficientnet"),
    "efficientnetv2_b0_192": ("EfficientNetV2B0", dict(input_shape=(192, 192, 3)), "efficientnet"),
    "efficientnetv2_b1_160": ("EfficientNetV2B1", dict(input_shape=(160, 160, 3)), "efficientnet"),
    "resnet50_160": ("ResNet50", dict(input_shape=(160, 160, 3)), "resnet"),
    "resnet50v2_128": ("ResNet50V2", dict(input_shape=(128, 128, 3)), "resnet"),
    "densenet121_128": ("DenseNet121", dict(input_shape=(128, 128, 3)), "densenet"),
    "nasnet_mobile_224": ("NASNetMobile", dict(input_shape=(224, 224, 3)), "nasnet"),
    "convnext_tiny_128": ("ConvNeXtTiny", dict(input_shape=(128, 128, 3)), "convnext"),
    "inception_resnet_v2_96": ("InceptionResNetV2", dict(input_shape=(96, 96, 3)), "inception"),
    "xception_160": ("Xception", dict(input_shape=(160, 160, 3)), "xception"),
    "inception_v3_160": ("InceptionV3", dict(input_shape=(160, 160, 3)), "inception"),
}  # fmt: skip
# The MediaPipe models' families (for per-family reporting).
SHARED_FAMILIES = {
    "face_detection_front": "mediapipe-face",
    "face_landmark": "mediapipe-face",
    "hand_recrop": "mediapipe-hand",
    "hand_landmark_sparse": "mediapipe-hand",
    "selfie_segmentation": "mediapipe-segmentation",
    "hair_segmentation": "mediapipe-segmentation",
    "knift_float": "mediapipe-knift",
}


# Overlap with the real-architecture corpus (estimator/zoo/corpus.json), frozen with the corpus
# on 2026-12-02 before any host accuracy was measured on it: the zoo module of the same
# architecture family, or None where the corpus has none (the MediaPipe models, ConvNeXt,
# Inception-ResNet, EfficientNetV2, Xception). The accuracy report is split by it.
ZOO_TWIN = {
    "mobilenet_v1_0.5_160": "mobilenet", "mobilenet_v2_1.0_224": "mobilenetv2",
    "mobilenet_v2_0.35_96": "mobilenetv2", "mobilenet_v3_small_224": "mobilenetv3",
    "mobilenet_v3_large_224": "mobilenetv3", "mobilenet_v3_large_minimal_224": "mobilenetv3",
    "efficientnet_b0_224": "efficientnet", "efficientnet_b1_160": "efficientnet",
    "efficientnetv2_b0_192": None, "efficientnetv2_b1_160": None, "resnet50_160": "resnet",
    "resnet50v2_128": "preresnet", "densenet121_128": "densenet", "nasnet_mobile_224": "nasnet",
    "convnext_tiny_128": None, "inception_resnet_v2_96": None,
    "xception_160": None,  # the zoo's xception did not convert at 128 px: not in the shipped corpus
    "inception_v3_160": "inceptionv3",
}  # fmt: skip


def in_corpus(path: Path) -> bool:
    """Its architecture family is in the real-architecture corpus (MediaPipe's never is)."""
    return ZOO_TWIN.get(path.stem) is not None


def family_of(path: Path) -> str:
    name = path.stem
    if name in REFERENCE:
        return REFERENCE[name][2]
    return SHARED_FAMILIES.get(name, "other")


def build_all(out: Path, names: list[str] | None = None) -> list[Path]:
    import tensorflow as tf
    from leti.estimator.generate.keras import convert

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (ctor, kw, _family) in REFERENCE.items():
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
