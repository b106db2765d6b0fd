import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASExperiment
import NASSpaces
import NASTensor

/// `swiftnas search --space avmnist`: random (or another categorical) search over image + audio
/// digit classifiers — unimodal and fused — each trained from scratch on AV-MNIST-style pairs,
/// chosen by validation accuracy, reported on speakers and images no choice saw, with the
/// checklist of every hand-set decision printed and stored.
enum MultimodalSearchCLI {
    /// Who set each setting the checklist reports: "flag --x", "config file F" or "default".
    struct Origins {
        var strategy = "default", seed = "default", budget = "default", hyperparameters = "default", store = "default"
        var data = "default", audio = "default", imageEnergy = "default", trainEpochs = "default", quiet = "default"
    }

    static let spectrogram = LogMelSpectrogram()

    static func run(_ request: SearchRequest, data: String?, audio: String?, imageEnergy: Double, childEpochs: Int, store: String?,
                    quiet: Bool, origins: Origins) throws {
        guard let data else { throw ValidationError("--space avmnist needs --data (MNIST images as CSV, e.g. mnist_5k.csv.gz)") }
        guard let audio else { throw ValidationError("--space avmnist needs --audio (a folder of {digit}_{speaker}_{index}.wav recordings)") }
        let images = try DatasetReader.csv(data)
        guard images.channels == 1, images.height == 28, images.width == 28 else {
            throw DataError(file: data, "expected 28×28 one-channel digit images, got \(images.height)×\(images.width)×\(images.channels)")
        }
        let recordings = try SpokenDigitRecording.list(URL(fileURLWithPath: audio))
        let splits = try AudioVisualSplits.make(images: images, recordings: recordings, spectrogram: spectrogram,
                                                imageEnergy: imageEnergy, seed: request.seed)
        let space = AVFusionSearchSpace()
        let estimator = try AVFusionTrainingEstimator(space: space, splits: splits, epochs: childEpochs, seed: request.seed)
        let checklist = self.checklist(request, data: data, audio: audio, imageEnergy: imageEnergy, childEpochs: childEpochs,
                                       store: store, quiet: quiet,
                                       origins: origins, splits: splits, space: space, estimator: estimator)
        print("checklist of human intervention (stored in the trial store):\n" + checklist.table())
        let description = "\(estimator.name) on \((data as NSString).lastPathComponent) (image energy \(imageEnergy)) + \((audio as NSString).lastPathComponent) "
            + "(\(splits.train.count)/\(splits.validation.count)/\(splits.test.count) pairs); \(childEpochs) epochs, Adam \(estimator.learningRate), batch \(estimator.batchSize)"
        let trialStore: any TrialStore = try store.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        let runner = try CategoricalSearchSetup.runner(strategy: request.strategy, overrides: request.hyperparameters, seed: request.seed,
                                                       budget: request.budget, space: space, estimator: estimator,
                                                       objective: "valid_accuracy", report: "test_accuracy",
                                                       estimatorDescription: description, checklist: checklist, store: trialStore)
        var display = SearchProgressDisplay(reportMetric: "test_accuracy")
        let summary = try runner.run { if !quiet { display.update($0) } }
        if !quiet { display.finish() }
        print(report(summary, space: space))
    }

    /// The best fused and the best unimodal trial, each chosen by validation accuracy.
    static func report(_ s: ExperimentSummary, space: AVFusionSearchSpace) -> String {
        var lines = [String(format: "trials: %d (%d resumed from the store), %.0f child epochs, %.2f h", s.queries, s.resumedTrials, s.cost, s.seconds / 3600)]
        let done = s.trials.filter { $0.status == .complete }
        func best(_ fused: Bool) -> TrialRecord? {
            done.filter { ($0.metrics["fused"] ?? -1) == (fused ? 1 : 0) }.max { ($0.metrics["valid_accuracy"] ?? -1) < ($1.metrics["valid_accuracy"] ?? -1) }
        }
        for (label, trial) in [("best fused", best(true)), ("best unimodal", best(false))] {
            guard let t = trial else { lines.append("\(label): none among the trials"); continue }
            lines.append(String(format: "%@: trial %d %@ — validation %.2f%%, test %.2f%%, %.0f parameters", label, t.number, t.architecture,
                                t.metrics["valid_accuracy"] ?? .nan, t.metrics["test_accuracy"] ?? .nan, t.metrics["params"] ?? .nan))
        }
        if let t = best(true) ?? best(false), let a = try? space.parse(t.architecture) {
            lines.append("searched decisions of the best \(a.isFused ? "fused" : "unimodal") model:")
            var c = HumanInterventionChecklist()
            for (decision, value) in searchedValues(a) { c.add("searched", decision, value, setBy: "searched") }
            lines.append(c.table())
        }
        return lines.joined(separator: "\n")
    }

    static func searchedValues(_ a: AVFusionArchitecture) -> [(String, String)] {
        [("modalities", a.modalities.rawValue), ("image extractor", "depth \(a.image.depth), width \(a.image.width), kernel \(a.image.kernel)"),
         ("audio extractor", "depth \(a.audio.depth), width \(a.audio.width), kernel \(a.audio.kernel)"), ("pooling", a.pooling.rawValue),
         ("fusion point", a.fusion.rawValue), ("combination", a.combine.rawValue), ("head / fusion width", String(a.fusionWidth))]
    }

    static func checklist(_ r: SearchRequest, data: String, audio: String, imageEnergy: Double, childEpochs: Int, store: String?, quiet: Bool,
                          origins o: Origins, splits: AudioVisualSplits, space: AVFusionSearchSpace,
                          estimator: AVFusionTrainingEstimator) -> HumanInterventionChecklist {
        var c = HumanInterventionChecklist()
        let g = spectrogram
        c.add("data", "image set", data, setBy: o.data)
        c.add("data", "audio set", audio, setBy: o.audio)
        c.add("data", "image preprocessing", "pixels ÷ 255, standardised with the training images' mean and sd", setBy: "default")
        c.add("data", "image degradation", imageEnergy < 1 ? "rebuilt from the principal components holding \(imageEnergy) of the variance (AV-MNIST)" : "none",
              setBy: o.imageEnergy)
        c.add("data", "audio preprocessing", "16-bit PCM at \(g.sampleRate) Hz, cut or zero-padded to \(g.samples) samples; log-mel: FFT \(g.fftSize), hop \(g.hop), \(g.mels) HTK mel bands, log(E + 1e-6); standardised", setBy: "default")
        c.add("data", "pairing", "each image with a random recording of its digit by its split's speakers (seed \(r.seed))", setBy: "default")
        c.add("data", "splits", "images 60/20/20 shuffled (seed \(r.seed)): \(splits.train.count)/\(splits.validation.count)/\(splits.test.count) pairs; speakers train \(splits.trainSpeakers.joined(separator: ",")), validation \(splits.validationSpeakers.joined(separator: ",")), test \(splits.testSpeakers.joined(separator: ","))", setBy: "default")
        c.add("space", "modalities", AVFusionArchitecture.Modalities.allCases.map(\.rawValue).joined(separator: ", "), setBy: "default")
        c.add("space", "extractor depths", "\(space.depths)", setBy: "default")
        c.add("space", "extractor widths", "\(space.widths)", setBy: "default")
        c.add("space", "kernel sizes", "\(space.kernels)", setBy: "default")
        c.add("space", "pooling", "max, avg", setBy: "default")
        c.add("space", "fusion points", "early, intermediate, late", setBy: "default")
        c.add("space", "combinations", "concat, sum, gated", setBy: "default")
        c.add("space", "head / fusion widths", "\(space.fusionWidths)", setBy: "default")
        c.add("search", "strategy", r.strategy, setBy: o.strategy)
        c.add("search", "hyper-parameters", r.hyperparameters.isEmpty ? "the strategy's defaults"
              : r.hyperparameters.keys.sorted().map { "\($0)=\(r.hyperparameters[$0] ?? "")" }.joined(separator: " "), setBy: o.hyperparameters)
        c.add("search", "seed", String(r.seed), setBy: o.seed)
        c.add("search", "budget", r.budget.description, setBy: o.budget)
        c.add("training", "epochs per child", String(childEpochs), setBy: o.trainEpochs)
        c.add("training", "recipe", "Adam \(estimator.learningRate), cosine schedule, batch \(estimator.batchSize), cross-entropy, weights from seed \(r.seed)", setBy: "default")
        c.add("selection", "rule", "highest validation accuracy, separately among fused and unimodal trials; test accuracy is never read by the search", setBy: "default")
        c.add("output", "trial store", store ?? "(in memory, not kept)", setBy: o.store)
        c.add("output", "progress bar", quiet ? "off" : "on", setBy: o.quiet)
        for (decision, _) in searchedValues(space.architecture(choices: space.choiceCounts.map { _ in 0 })) {
            c.add("searched", decision, "chosen per trial", setBy: "searched")
        }
        return c
    }
}
