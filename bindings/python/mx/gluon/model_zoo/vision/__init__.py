r"""Predefined vision models of MXNet 1.9.1's Gluon model zoo: AlexNet, DenseNet, Inception v3,
ResNet V1 / V2, SqueezeNet, VGG, MobileNet / MobileNetV2 — same classes, constructors, children and
parameter names, so MXNet's .params files load.

    from mx.gluon.model_zoo import vision
    net = vision.resnet18_v1(classes=10)          # random weights: net.initialize()
    net = vision.get_model("mobilenet1.0")
    net = vision.resnet18_v1(pretrained=True)     # MXNet's weights, from a local file:
                                                  # ~/.mxnet/models/resnet18_v1-a0666292.params

Pretrained weights are never downloaded (see model_store.get_model_file). They expect (N, 3, H, W)
RGB images in [0, 1] normalised with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225),
H and W at least 224.
"""
from .alexnet import *      # noqa: F401,F403
from .densenet import *     # noqa: F401,F403
from .inception import *    # noqa: F401,F403
from .resnet import *       # noqa: F401,F403
from .squeezenet import *   # noqa: F401,F403
from .vgg import *          # noqa: F401,F403
from .mobilenet import *    # noqa: F401,F403

_models = {
    "resnet18_v1": resnet18_v1, "resnet34_v1": resnet34_v1, "resnet50_v1": resnet50_v1,
    "resnet101_v1": resnet101_v1, "resnet152_v1": resnet152_v1,
    "resnet18_v2": resnet18_v2, "resnet34_v2": resnet34_v2, "resnet50_v2": resnet50_v2,
    "resnet101_v2": resnet101_v2, "resnet152_v2": resnet152_v2,
    "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
    "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
    "alexnet": alexnet,
    "densenet121": densenet121, "densenet161": densenet161, "densenet169": densenet169,
    "densenet201": densenet201,
    "squeezenet1.0": squeezenet1_0, "squeezenet1.1": squeezenet1_1,
    "inceptionv3": inception_v3,
    "mobilenet1.0": mobilenet1_0, "mobilenet0.75": mobilenet0_75, "mobilenet0.5": mobilenet0_5,
    "mobilenet0.25": mobilenet0_25,
    "mobilenetv2_1.0": mobilenet_v2_1_0, "mobilenetv2_0.75": mobilenet_v2_0_75,
    "mobilenetv2_0.5": mobilenet_v2_0_5, "mobilenetv2_0.25": mobilenet_v2_0_25,
}


def get_model(name, **kwargs):
    """A predefined model by MXNet's name ('resnet18_v1', 'mobilenet1.0', 'squeezenet1.1' …).

    Parameters
    ----------
    name : str
        Name of the model (case-insensitive).
    pretrained : bool
        Whether to load the pretrained weights (from a local file; see model_store).
    classes : int
        Number of classes of the output layer.
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.

    Returns
    -------
    HybridBlock
        The model.
    """
    if not isinstance(name, str):
        raise TypeError("get_model: name must be a str, got %s" % type(name).__name__)
    key = name.lower()
    if key not in _models:
        raise ValueError("Model %s is not supported. Available options are\n\t%s"
                         % (name, "\n\t".join(sorted(_models))))
    return _models[key](**kwargs)
