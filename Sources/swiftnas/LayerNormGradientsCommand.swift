import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASNN
import NASTensor

/// `swiftnas ln-gradients`: Pre-LN vs Post-LN gradients at initialisation (Xiong et al. 2020).
struct LayerNormGradientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ln-gradients",
        abstract: "Pre-LN vs Post-LN ViTs at initialisation: the gradient of every block's FFN output weights, per depth and seed.",
        discussion: """
        For each depth in --depths, block order (Pre-LN, Post-LN) and seed in --seeds, a freshly \
        initialised ViT (--dim, --heads, --patch, MLP ratio 4) takes one cross-entropy backward pass on \
        the first --batch-size training images of --data (normalised), and the Frobenius norm of each \
        block's linear2.weight gradient is recorded. Xiong et al. (ICML 2020, Theorem 1): the last \
        block's norm stays about constant with depth for Post-LN and shrinks like 1/√L for Pre-LN. \
        Writes <out>/gradients.csv (depth,norm,seed,block,grad_norm) and <out>/gradients.svg (the \
        seed-mean norm per block, one curve per depth and order); the last line is \
        post_over_pre=<ratio at each depth, comma-separated>.
        """)

    @Option(help: "Image data set (IDX folder such as Fashion-MNIST).") var data: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Depths, comma-separated.") var depths = "6,12,24"
    @Option(help: "Seeds, comma-separated.") var seeds = "0,1,2"
    @Option(name: .customLong("batch-size")) var batchSize = 128
    @Option(help: "Token width.") var dim = 64
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "Patch side.") var patch = 4

    func run() throws {
        let depthList: [Int] = try commaSeparated(depths, "--depths")
        let seedList: [UInt64] = try commaSeparated(seeds, "--seeds")
        guard depthList.allSatisfy({ (1...64).contains($0) }) else { throw ValidationError("--depths must be in 1…64") }
        try validateCounts([("--batch-size", batchSize, 1)])
        let (train, _) = try DatasetReader.idxDirectory(data)
        var config = ViTConfig(height: train.height, width: train.width, channels: train.channels, classes: train.classCount)
        (config.dim, config.heads, config.patch) = (dim, heads, patch)
        if let problem = config.problem { throw ValidationError(problem) }
        guard train.count >= batchSize else { throw ValidationError("--batch-size \(batchSize) exceeds the \(train.count) training images of \(data)") }
        let stats = train.channelStatistics()
        let images = train.subset(Array(0..<batchSize)).normalized(mean: stats.mean, std: stats.std)
        guard let batch = BatchLoader(images, batchSize: batchSize, shuffle: false).epoch(0).first else {
            throw ValidationError("no batch could be formed from \(data)")
        }
        try makeOutputFolder(out, flag: "--out")
        let rows = try LayerNormGradientStudy.run(config, depths: depthList, seeds: seedList, batch: batch)

        var csv = "depth,norm,seed,block,grad_norm\n"
        for r in rows {
            for (b, g) in r.blockGradientNorms.enumerated() { csv += "\(r.depth),\(r.normFirst ? "pre" : "post"),\(r.seed),\(b + 1),\(g)\n" }
        }
        try AtomicFile.write(csv, to: URL(fileURLWithPath: out + "/gradients.csv"))
        var plot = LinePlot(title: "Gradient of each block's FFN output weights at initialisation",
                            xLabel: "block (1 = first)", yLabel: "‖∂loss/∂W₂‖ (mean over seeds)", logY: true)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        for (k, depth) in depthList.enumerated() {
            for normFirst in [true, false] {
                let runs = rows.filter { $0.depth == depth && $0.normFirst == normFirst }.map(\.blockGradientNorms)
                let points = (0..<depth).map { b in (x: Double(b + 1), y: mean(runs.map { $0[b] })) }
                plot.series.append(.init(label: "\(normFirst ? "Pre" : "Post")-LN, L=\(depth)", color: colors[k % colors.count],
                                         dashed: !normFirst, points: points))
            }
        }
        try AtomicFile.write(plot.svg(), to: URL(fileURLWithPath: out + "/gradients.svg"))

        print("ViT \(dim) wide, \(heads) heads, patch \(patch), batch of \(batchSize) from \(data); seeds \(seeds)")
        print("| depth | last block, Pre-LN | last block, Post-LN | Post ÷ Pre |")
        print("|---|---|---|---|")
        let summary = LayerNormGradientStudy.lastBlockSummary(rows)
        for s in summary { print(String(format: "| %d | %.4g | %.4g | %.2f |", s.depth, s.pre, s.post, s.ratio)) }
        print("wrote \(out)/gradients.csv, gradients.svg")
        print("post_over_pre=" + summary.map { String(format: "%.2f", $0.ratio) }.joined(separator: ","))
    }
}
