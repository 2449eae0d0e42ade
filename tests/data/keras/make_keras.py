"""Keras models exported as Keras users export them, through tf2onnx (channels last, N×H×W×C),
small with random weights (no hub is reachable), with TensorFlow's answers. Run from the
repository root:

    python3 tests/data/keras/make_keras.py

Needs tensorflow (or tensorflow-cpu), tf2onnx, onnx and onnxruntime. Writes, beside itself, for
each model NAME: NAME.onnx (tf2onnx, opset 13), NAME_input.npy (one seeded input, N×H×W×C),
NAME_output.npy (onnxruntime's output on it), NAME_grad.npy (TensorFlow's gradient, N×H×W×C,
of the logit of TARGET, or of its log-probability for a model that ends in a softmax), and
keras.json listing the models with their target, output kind and versions:

- mobilenet_v2: keras.applications.MobileNetV2 at width 0.35 and 32×32, ending in a softmax
  (its ZeroPadding2D, ReLU6, depthwise convolutions and inverted residuals as Keras builds them);
- grey_cnn: a one-channel CNN (Conv2D, BatchNormalization with random statistics,
  MaxPooling2D, Dropout, Flatten, Dense logits), as for MNIST.
"""
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

HERE = pathlib.Path(__file__).resolve().parent
CLASSES = 10


def mobilenet_v2():
    return tf.keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,
                                             classes=CLASSES)


def grey_cnn():
    # Functional rather than Sequential: tf2onnx 1.17 cannot name a Keras 3 Sequential's output.
    layers = tf.keras.layers
    x = inputs = tf.keras.Input((28, 28, 1))
    norm = layers.BatchNormalization()
    for layer in [layers.Conv2D(8, 3, padding="same"), norm, layers.ReLU(), layers.MaxPooling2D(2),
                  layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                  layers.Dropout(0.25), layers.Flatten(), layers.Dense(CLASSES)]:
        x = layer(x)
    model = tf.keras.Model(inputs, x)
    rng = np.random.default_rng(7)
    gamma, beta, mean, var = norm.get_weights()
    norm.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                      rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    return model


# name: (make, input shape, whether it ends in a softmax)
MODELS = {
    "mobilenet_v2": (mobilenet_v2, (1, 32, 32, 3), True),
    "grey_cnn": (grey_cnn, (1, 28, 28, 1), False),
}


def main():
    listed = []
    for i, (name, (make, shape, softmax)) in enumerate(MODELS.items()):
        tf.keras.utils.set_random_seed(i)
        model = make()
        spec = (tf.TensorSpec((None, *shape[1:]), tf.float32, name="input"),)
        path = HERE / f"{name}.onnx"
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(path))
        x = np.random.default_rng(100 + i).standard_normal(shape).astype(np.float32)
        session = ort.InferenceSession(str(path))
        output = session.run(None, {session.get_inputs()[0].name: x})[0]
        target = int(output[0].argmax())
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = model(xt, training=False)[0, target]
            if softmax:
                y = tf.math.log(y)
        grad = tape.gradient(y, xt).numpy()
        gap = float(np.abs(model(x, training=False).numpy() - output).max())
        np.save(HERE / f"{name}_input.npy", x)
        np.save(HERE / f"{name}_output.npy", output)
        np.save(HERE / f"{name}_grad.npy", grad)
        listed.append({"name": name, "input": list(shape), "target": target,
                       "output": "probabilities" if softmax else "logits",
                       "input_name": session.get_inputs()[0].name, "bytes": path.stat().st_size})
        print(f"{name}: {path.stat().st_size} bytes, target {target}, |keras - ort| {gap:.2e}")
    versions = {"tensorflow": tf.__version__, "keras": tf.keras.__version__, "tf2onnx": tf2onnx.__version__}
    (HERE / "keras.json").write_text(json.dumps({"versions": versions, "models": listed}, indent=1) + "\n")


if __name__ == "__main__":
    main()
