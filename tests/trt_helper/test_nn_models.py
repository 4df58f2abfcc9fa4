"""Models built only from torch.nn modules port by helper(model, x) alone, as a new user would write them."""

import torch
from nn_harness import dyn_spec
from op_harness import check_op, randn
from torch import nn


def _randomize(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
    return model.eval()


def test_small_cnn(dtype, gen, tmp_path):
    """Conv/BN/activation/pool stages, a residual-free ResNet-ish stem, global pooling and a classifier head."""
    model = _randomize(
        nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(8),
            nn.Hardswish(),
            nn.MaxPool2d(3, 2, 1),
            nn.Conv2d(8, 8, 3, padding="same", groups=2),
            nn.GroupNorm(2, 8),
            nn.SiLU(),
            nn.Upsample(scale_factor=2, mode="bilinear"),
            nn.AvgPool2d(2),
            nn.ZeroPad2d(1),
            nn.Conv2d(8, 12, 3),
            nn.PReLU(12),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(),
            nn.Linear(12, 5),
            nn.LogSoftmax(-1),
        ),
        gen,
    )
    sizes = [{"x": randn(gen, 2, 3, 32, 24)}, {"x": randn(gen, 1, 3, 20, 28)}]
    with torch.no_grad():
        check_op(
            dtype,
            {"x": dyn_spec((2, 3, 32, 24), {0: 1, 2: 16, 3: 16})},
            lambda h, x: h(model, x),
            model,
            sizes,
            tmp_path if dtype == torch.float16 else None,
        )


def test_small_transformer_classifier(dtype, gen, tmp_path):
    """Token embedding, a two-layer pre-norm encoder with a padding mask, mean pooling by a 1-D adaptive pool."""
    embed = nn.Embedding(40, 16)
    encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(16, 4, 32, activation="gelu", batch_first=True, norm_first=True),
        2,
        enable_nested_tensor=False,
    )
    head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(16, 3))
    for m in (embed, encoder, head):
        m.eval()

    def make(h, ids, pad):
        x = h(encoder, h(embed, ids), src_key_padding_mask=pad)
        return h(head, h.addTranspose(x, 1, 2))

    def want(ids, pad):
        with torch.no_grad():
            return head(encoder(embed(ids.long()), src_key_padding_mask=pad).transpose(1, 2))

    sizes = []
    for b, t in ((2, 6), (3, 9)):
        pad = torch.zeros(b, t, dtype=torch.bool)
        pad[0, t - 2 :] = True
        sizes.append({"ids": torch.randint(0, 40, (b, t), generator=gen, dtype=torch.int32), "pad": pad})
    check_op(
        dtype,
        {
            "ids": dyn_spec((2, 6), {0: 1, 1: 1}, dtype=torch.int32),
            "pad": dyn_spec((2, 6), {0: 1, 1: 1}, dtype=torch.bool),
        },
        make,
        want,
        sizes,
        None,
    )
