import Foundation

/// The export graph as a standalone PyTorch module: `model.py` imports only `torch`, declares one
/// layer per weighted node under the names of `model.safetensors`, and writes `forward` one
/// operation per line with the block it belongs to as a comment.
enum PyTorchExport {
    static func source(_ g: ExportGraph, title: String) -> String {
        var py = """
        \"\"\"\(title), exported by SwiftNAS.

        Input: float32 images as NCHW [N, \(g.inputShape.map(String.init).joined(separator: ", "))], normalised as in training
        (see metadata.json); output: [N, \(g.classes)] class scores (logits). In evaluation mode, as exported:

            import torch, safetensors.torch, model
            net = model.Model().eval()
            net.load_state_dict(safetensors.torch.load_file("model.safetensors"))
        \"\"\"
        import torch
        from torch import nn
        import torch.nn.functional as F


        class BatchNorm2d(nn.BatchNorm2d):
            \"\"\"PyTorch's batch norm without the num_batches_tracked counter, which SwiftNAS does not keep.\"\"\"

            def __init__(self, channels, eps):
                super().__init__(channels, eps=eps)
                self.register_buffer("num_batches_tracked", None)

            def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
                # Version 2 of the layout: nothing to add for files without the counter.
                super()._load_from_state_dict(state_dict, prefix, dict(local_metadata, version=2), *args)


        class Model(nn.Module):
            def __init__(self):
                super().__init__()

        """
        for node in g.nodes {
            switch node.operation {
            case let .conv(_, bias, stride, padding, cin, cout, kernel, dilation, groups):
                let extra = (dilation == 1 ? "" : ", dilation=\(dilation)") + (groups == 1 ? "" : ", groups=\(groups)")
                py += "        self.\(node.name) = nn.Conv2d(\(cin), \(cout), kernel_size=\(kernel), stride=\(stride), padding=\(padding)\(extra), bias=\(bias == nil ? "False" : "True"))\n"
            case let .batchNorm(_, channels, eps):
                py += "        self.\(node.name) = BatchNorm2d(\(channels), eps=\(eps))\n"
            case let .linear(_, bias, inFeatures, outFeatures):
                py += "        self.\(node.name) = nn.Linear(\(inFeatures), \(outFeatures), bias=\(bias == nil ? "False" : "True"))\n"
            case let .layerNorm(_, dim, eps):
                py += "        self.\(node.name) = nn.LayerNorm(\(dim), eps=\(eps))\n"
            case let .attention(_, dim, heads):
                py += "        self.\(node.name) = nn.MultiheadAttention(\(dim), \(heads), batch_first=True)\n"
            case let .prependToken(name), let .addParameter(name):
                let shape = g.tensors[name]?.shape.map(String.init).joined(separator: ", ") ?? ""
                py += "        self.\(name) = nn.Parameter(torch.zeros(\(shape)))\n"
            default: continue
            }
        }
        py += "\n    def forward(self, x):\n"
        func value(_ v: Int) -> String { v == 0 ? "x" : "v\(v)" }
        for (k, node) in g.nodes.enumerated() {
            if let comment = node.comment { py += "        # \(comment)\n" }
            let a = node.inputs.first.map(value) ?? "x"
            let expression: String
            switch node.operation {
            case .conv, .batchNorm, .linear: expression = "self.\(node.name)(\(a))"
            case .relu: expression = "F.relu(\(a))"
            case let .maxPool(kernel, stride, padding): expression = "F.max_pool2d(\(a), \(kernel), stride=\(stride), padding=\(padding))"
            case let .avgPool(kernel, stride, padding, countIncludePad):
                expression = "F.avg_pool2d(\(a), \(kernel), stride=\(stride), padding=\(padding), count_include_pad=\(countIncludePad ? "True" : "False"))"
            case .globalAvgPool: expression = "\(a).mean(dim=(2, 3))"
            case .flattenChannelsLast: expression = "\(a).permute(0, 2, 3, 1).flatten(1)  # SwiftNAS's (h, w, c) feature order"
            case .add: expression = node.inputs.map(value).joined(separator: " + ")
            case .zerosLike: expression = "torch.zeros_like(\(a))  # the cell has no path from input to output"
            case .concat: expression = "torch.cat([\(node.inputs.map(value).joined(separator: ", "))], dim=1)"
            case .shift: expression = "F.pad(\(a)[:, :, 1:, 1:], (0, 1, 0, 1))  # shifted by one pixel"
            case .patchTokens: expression = "\(a).flatten(2).transpose(1, 2)  # [N, patches, dim], row-major"
            case let .prependToken(name): expression = "torch.cat([self.\(name).expand(\(a).shape[0], -1, -1), \(a)], dim=1)"
            case let .addParameter(name): expression = "\(a) + self.\(name)"
            case .layerNorm: expression = "self.\(node.name)(\(a))"
            case .attention: expression = "self.\(node.name)(\(a), \(a), \(a), need_weights=False)[0]"
            case .gelu: expression = "F.gelu(\(a))"
            case .firstToken: expression = "\(a)[:, 0]"
            }
            py += "        v\(k + 1) = \(expression)\n"
        }
        py += "        return v\(g.output)\n"
        return py
    }
}
