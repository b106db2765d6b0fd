"""The PyTorch ViT that SwiftNAS's VisionTransformer is checked and benchmarked against.

Images channels-last [B, H, W, C]; a patch×patch convolution with stride patch, a class token,
learned position embeddings (N(0, 0.02²) truncated), blocks of nn.TransformerEncoderLayer
(GELU, no dropout, batch first), a final layer norm for Pre-LN, a linear head on the class token.
Imported by scripts/make_vit_fixtures.py and bench/ln_gradients_torch.py.
"""
import torch
from torch import nn


class ViT(nn.Module):
    def __init__(self, *, height, width, channels, classes, patch, dim, depth, heads, mlp_ratio, norm_first):
        super().__init__()
        tokens = (height // patch) * (width // patch)
        self.patch = nn.Conv2d(channels, dim, patch, stride=patch)
        self.cls = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, 1, dim), std=0.02))
        self.pos = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, tokens + 1, dim), std=0.02))
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(dim, heads, dim_feedforward=mlp_ratio * dim, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=norm_first) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim) if norm_first else None
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        p = self.patch(x.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), p], 1) + self.pos
        for block in self.blocks:
            t = block(t)
        if self.norm is not None:
            t = self.norm(t)
        return self.head(t[:, 0])
