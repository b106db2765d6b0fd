import Foundation
import NASNN
import NASTensor
import XCTest

struct NNFixtures: Decodable {
    struct OptimizerCase: Decodable { let name: String; let initial: [Float]; let grads: [[Float]]; let final: [Float] }
    struct Schedule: Decodable { let lrs: [Float] }
    struct AttentionCase: Decodable {
        let dim: Int, heads: Int
        let in_proj_weight: [Float], in_proj_bias: [Float], out_proj_weight: [Float], out_proj_bias: [Float]
        let query: [Float], query_shape: [Int], key_value: [Float], key_value_shape: [Int]
        let output: [Float], upstream: [Float]
        let grad_query: [Float], grad_key_value: [Float], grad_in_proj_weight: [Float], grad_out_proj_weight: [Float]
    }
    let optimizers: [OptimizerCase]
    let cosine: Schedule
    let step: Schedule
    let attention: AttentionCase

    static func load() throws -> NNFixtures {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "nn_fixtures", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(NNFixtures.self, from: Data(contentsOf: url))
    }
}

func assertClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where Swift.abs(x - y) > tolerance * Swift.max(1, Swift.abs(y)) {
        XCTFail("\(message) element \(i): \(x) vs \(y)", file: file, line: line)
        return
    }
}

final class OptimizerTests: XCTestCase {
    func testOptimizersMatchPyTorch() throws {
        let fixtures = try NNFixtures.load()
        XCTAssertEqual(fixtures.optimizers.count, 7)
        for c in fixtures.optimizers {
            let p = Tensor(shape: [6], data: c.initial, requiresGrad: true)
            let opt: any Optimizer
            switch c.name {
            case "sgd": opt = SGD([p], lr: 0.1)
            case "sgd_momentum_wd": opt = SGD([p], lr: 0.1, momentum: 0.9, weightDecay: 5e-4)
            case "sgd_nesterov": opt = SGD([p], lr: 0.05, momentum: 0.9, nesterov: true)
            case "sgd_dampening": opt = SGD([p], lr: 0.05, momentum: 0.8, dampening: 0.3)
            case "adam": opt = Adam([p], lr: 0.01)
            case "adam_l2": opt = Adam([p], lr: 0.01, weightDecay: 0.1)
            case "adamw": opt = AdamW([p], lr: 0.01, weightDecay: 0.1)
            default: XCTFail("unknown case \(c.name)"); continue
            }
            for g in c.grads {
                p.grad = Tensor(shape: [6], data: g)
                opt.step()
            }
            assertClose(p.array, c.final, tolerance: 1e-5, c.name)
        }
    }

    func testOptimizerStateRoundTripsThroughCheckpointTensors() throws {
        for make in [{ (p: Tensor) -> any Optimizer in SGD([p], lr: 0.1, momentum: 0.9) },
                     { (p: Tensor) -> any Optimizer in Adam([p], lr: 0.01) }] {
            let a = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
            let b = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
            let oa = make(a), ob = make(b)
            for g in [[0.5, -1, 2], [1, 1, -3]] as [[Float]] { a.grad = Tensor(shape: [3], data: g); oa.step() }
            b.assign(a)
            try ob.loadState(oa.stateTensors())
            a.grad = Tensor(shape: [3], data: [0.1, 0.2, 0.3]); oa.step()
            b.grad = Tensor(shape: [3], data: [0.1, 0.2, 0.3]); ob.step()
            XCTAssertEqual(a.array, b.array)
        }
    }

    func testSchedulesMatchPyTorch() throws {
        let f = try NNFixtures.load()
        let cosine = CosineAnnealing(base: 0.1, total: 10, minimum: 0.001)
        // PyTorch's chained form restarts after T_max; SwiftNAS stays at the minimum, so compare 0…T_max.
        assertClose((0...10).map { cosine.learningRate(at: $0) }, Array(f.cosine.lrs[0...10]), tolerance: 1e-5, "cosine")
        XCTAssertEqual(cosine.learningRate(at: 15), 0.001, accuracy: 1e-7)
        let step = StepDecay(base: 0.1, stepSize: 3, gamma: 0.5)
        assertClose((0..<10).map { step.learningRate(at: $0) }, f.step.lrs, tolerance: 1e-6, "step")
        let warm = LinearWarmup(warmup: 4, then: ConstantLR(0.2))
        XCTAssertEqual((0..<6).map { warm.learningRate(at: $0) }, [0, 0.05, 0.1, 0.15, 0.2, 0.2])
    }

    func testGradientClipping() {
        let a = Tensor(shape: [2], data: [0, 0], requiresGrad: true), b = Tensor(shape: [1], data: [0], requiresGrad: true)
        a.grad = Tensor(shape: [2], data: [3, 0]); b.grad = Tensor(shape: [1], data: [4])
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(a.grad?.array.first ?? .nan, 0.6, accuracy: 1e-5)
        XCTAssertEqual(b.grad?.array.first ?? .nan, 0.8, accuracy: 1e-5)
        // Below the threshold nothing changes.
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        XCTAssertEqual(b.grad?.array.first ?? .nan, 0.8, accuracy: 1e-5)
    }
}

final class ModuleTests: XCTestCase {
    /// `Sequential` runs ReLU → Conv2d (→ BatchNorm) as one fused op. The reference CNN's loss,
    /// every gradient and the batch norms' running statistics equal those of its layers applied
    /// one by one, to within float32 reordering.
    func testSequentialFusionMatchesLayerByLayer() throws {
        var rng = SeededGenerator(seed: 5)
        let net = ModelZoo.referenceCNN(channels: 3, classes: 10, using: &rng)
        let x = Tensor.normal([4, 9, 7, 3], using: &rng)
        let targets = [1, 2, 3, 4]
        func run(_ forward: (Tensor) -> Tensor) throws -> (Float, [[Float]], [[Float]]) {
            let params = net.parameters()
            params.forEach { $0.grad = nil }
            let buffers = net.namedBuffers().map(\.1)
            let saved = buffers.map { $0.copy() }
            let loss = crossEntropy(forward(x), targets: targets)
            loss.backward()
            let running = buffers.map(\.array)
            for (b, s) in zip(buffers, saved) { b.data.update(from: s.data, count: s.count) }
            return (loss.item, try params.map { try XCTUnwrap($0.grad).array }, running)
        }
        let (fusedLoss, fusedGrads, fusedRunning) = try run { net($0) }
        let (plainLoss, plainGrads, plainRunning) = try run { v in net.layers.reduce(v) { $1($0) } }
        XCTAssertEqual(fusedLoss, plainLoss, accuracy: 1e-5 * max(1, abs(plainLoss)))
        for (i, (f, p)) in zip(fusedGrads + fusedRunning, plainGrads + plainRunning).enumerated() {
            let scale = max(1e-3, p.map { abs($0) }.max() ?? 0)
            let worst = zip(f, p).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "tensor \(i): fused and layer-by-layer differ by \(worst)")
        }
    }

    func testParametersBuffersAndNames() {
        var rng = SeededGenerator(seed: 0)
        let model = ModelZoo.smallCNN(height: 28, width: 28, channels: 1, classes: 10, using: &rng)
        let names = model.namedTensors().map { $0.0 }
        XCTAssertEqual(names, ["layers.0.weight", "layers.1.weight", "layers.1.bias", "layers.1.runningMean", "layers.1.runningVar",
                               "layers.4.weight", "layers.5.weight", "layers.5.bias", "layers.5.runningMean", "layers.5.runningVar",
                               "layers.9.weight", "layers.9.bias", "layers.12.weight", "layers.12.bias"])
        XCTAssertEqual(model.namedBuffers().map { $0.0 }, ["layers.1.runningMean", "layers.1.runningVar", "layers.5.runningMean", "layers.5.runningVar"])
        // 1·9·32 + 2·32 + 32·9·64 + 2·64 + 3136·128 + 128 + 128·10 + 10
        XCTAssertEqual(model.parameterCount, 288 + 64 + 18_432 + 128 + 401_408 + 128 + 1_280 + 10)
        model.eval()
        XCTAssertFalse(model.namedModules().contains { $0.1.training })
    }

    /// A frozen weight stays a parameter (not a buffer), and typed child arrays are children.
    func testFrozenParametersStayParametersAndTypedChildrenAreFound() {
        final class Stack: Module {
            let blocks: [Linear]
            let head: Linear
            init(using rng: inout SeededGenerator) {
                blocks = [Linear(3, 3, using: &rng), Linear(3, 3, using: &rng)]
                head = Linear(3, 2, using: &rng)
            }
        }
        var rng = SeededGenerator(seed: 1)
        let model = Stack(using: &rng)
        let names = model.namedParameters().map(\.0)
        XCTAssertEqual(names, ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "head.weight", "head.bias"])
        model.blocks[0].freeze()
        XCTAssertEqual(model.namedParameters().map(\.0), names, "frozen weights are still parameters")
        XCTAssertTrue(model.namedBuffers().isEmpty)
        XCTAssertEqual(model.trainableParameters().count, 4)
        XCTAssertEqual(model.parameterCount, 2 * 12 + 8)
        let x = Tensor.normal([4, 3], using: &rng)
        crossEntropy(model.head(model.blocks[1](model.blocks[0](x))), targets: [0, 1, 0, 1]).backward()
        XCTAssertNil(model.blocks[0].weight.grad, "a frozen weight gets no gradient")
        XCTAssertNotNil(model.blocks[1].weight.grad)
        model.blocks[0].freeze(false)
        XCTAssertEqual(model.trainableParameters().count, 6)
    }

    func testLoadStateDictChecksNamesAndShapes() throws {
        var rng = SeededGenerator(seed: 0)
        let a = ModelZoo.mlp(inputs: 4, classes: 3, hidden: [5], using: &rng)
        let b = ModelZoo.mlp(inputs: 4, classes: 3, hidden: [5], using: &rng)
        XCTAssertNotEqual(a.parameters()[0].array, b.parameters()[0].array)
        try b.load(stateDict: a.stateDict())
        XCTAssertEqual(a.parameters()[0].array, b.parameters()[0].array)
        var state = a.stateDict()
        state["layers.1.weight"] = Tensor(zeros: [4, 4])
        XCTAssertThrowsError(try b.load(stateDict: state)) { e in
            XCTAssertEqual("\(e)", "tensor 'layers.1.weight' has shape [4, 4], the model expects [5, 4]")
        }
        state = a.stateDict(); state.removeValue(forKey: "layers.3.bias")
        XCTAssertThrowsError(try b.load(stateDict: state)) { e in XCTAssertEqual(e as? StateDictError, .missing("layers.3.bias")) }
        state = a.stateDict(); state["extra"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try b.load(stateDict: state)) { e in XCTAssertEqual(e as? StateDictError, .unexpected("extra")) }
    }

    func testInitialisersFollowPyTorchBounds() {
        var rng = SeededGenerator(seed: 3)
        let lin = Linear(400, 50, using: &rng)
        let bound = 1 / Float(400).squareRoot()
        XCTAssertLessThanOrEqual(lin.weight.array.map { Swift.abs($0) }.max() ?? .nan, bound)
        XCTAssertGreaterThan(lin.weight.array.map { Swift.abs($0) }.max() ?? 0, 0.95 * bound)
        let conv = Conv2d(8, 4, kernel: 3, using: &rng)
        XCTAssertEqual(Init.fans(conv.weight.shape).fanIn, 72)
        let xavier = Init.xavierUniform([100, 300], using: &rng)
        let xb = (6 / Float(400)).squareRoot()
        XCTAssertLessThanOrEqual(xavier.array.map { Swift.abs($0) }.max() ?? .nan, xb)
        let tn = Init.truncatedNormal([10_000], std: 1, a: -2, b: 2, using: &rng)
        XCTAssertTrue(tn.array.allSatisfy { $0 >= -2 && $0 <= 2 })
        let mean = tn.array.reduce(0, +) / 10_000
        XCTAssertEqual(mean, 0, accuracy: 0.05)
        let kn = Init.kaimingNormal([64, 3, 3, 32], using: &rng)
        let variance = kn.array.map { $0 * $0 }.reduce(0, +) / Float(kn.count)
        XCTAssertEqual(variance, 2 / Float(288), accuracy: 0.1 * 2 / Float(288))
    }

    func testMultiHeadAttentionMatchesPyTorch() throws {
        let f = try NNFixtures.load().attention
        var rng = SeededGenerator(seed: 0)
        let mha = MultiHeadAttention(dim: f.dim, heads: f.heads, using: &rng)
        mha.inProjWeight.assign(Tensor(shape: [3 * f.dim, f.dim], data: f.in_proj_weight))
        mha.inProjBias.assign(Tensor(shape: [3 * f.dim], data: f.in_proj_bias))
        mha.outProj.weight.assign(Tensor(shape: [f.dim, f.dim], data: f.out_proj_weight))
        mha.outProj.bias!.assign(Tensor(shape: [f.dim], data: f.out_proj_bias))
        let q = Tensor(shape: f.query_shape, data: f.query, requiresGrad: true)
        let kv = Tensor(shape: f.key_value_shape, data: f.key_value, requiresGrad: true)
        let out = mha(q, key: kv, value: kv)
        assertClose(out.array, f.output, tolerance: 1e-4, "output")
        (out * Tensor(shape: out.shape, data: f.upstream)).sum().backward()
        assertClose(q.grad?.array ?? [], f.grad_query, tolerance: 1e-4, "grad query")
        assertClose(kv.grad?.array ?? [], f.grad_key_value, tolerance: 1e-4, "grad key/value")
        assertClose(mha.inProjWeight.grad?.array ?? [], f.grad_in_proj_weight, tolerance: 1e-4, "grad in_proj_weight")
        assertClose(mha.outProj.weight.grad?.array ?? [], f.grad_out_proj_weight, tolerance: 1e-4, "grad out_proj.weight")
    }
}

final class SafetensorsTests: XCTestCase {
    func testRoundTripAndErrors() throws {
        let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let data = try Safetensors.encode(["w": t, "b\"q": Tensor(shape: [1], data: [7])], metadata: ["epoch": "3"])
        let (back, meta) = try Safetensors.decode(data)
        XCTAssertEqual(back["w"]?.shape, [2, 3])
        XCTAssertEqual(back["w"]?.array, t.array)
        XCTAssertEqual(back["b\"q"]?.array, [7])
        XCTAssertEqual(meta, ["epoch": "3"])
        XCTAssertThrowsError(try Safetensors.decode(Data([1, 2, 3]), file: "x.safetensors")) { e in
            XCTAssertTrue("\(e)".hasPrefix("x.safetensors: not a valid safetensors file"), "\(e)")
        }
        var broken = data
        broken[0] = 0xFF
        XCTAssertThrowsError(try Safetensors.decode(broken, file: "y.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("header length"), "\(e)")
        }
        XCTAssertThrowsError(try Safetensors.read(URL(fileURLWithPath: "/nonexistent/z.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("does not exist"), "\(e)")
        }
    }

    func testReadsAFileWrittenByTheReferenceImplementation() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "torch_written", withExtension: "safetensors", subdirectory: "Fixtures"))
        let (t, meta) = try Safetensors.read(url)
        XCTAssertEqual(meta["source"], "torch")
        XCTAssertEqual(t["layer.weight"]?.shape, [2, 3])
        XCTAssertEqual(t["layer.weight"]?.array, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(t["layer.bias"]?.array, [0.5, -1.5])
        XCTAssertEqual(t["half"]?.array, [1, 2.5])
        XCTAssertEqual(t["double"]?.array, [3.25])
    }

    /// Python's `safetensors` package loads a SwiftNAS checkpoint with the same names, shapes and values.
    func testPythonSafetensorsReadsOurCheckpoint() throws {
        var rng = SeededGenerator(seed: 1)
        let model = ModelZoo.mlp(inputs: 6, classes: 2, hidden: [4], using: &rng)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("model.safetensors")
        try Safetensors.write(model.stateDict(), metadata: ["note": "swiftnas"], to: file)
        let script = """
        import json, sys
        from safetensors import safe_open
        out = {}
        with safe_open(sys.argv[1], framework="numpy") as f:
            out["metadata"] = f.metadata()
            for k in f.keys():
                a = f.get_tensor(k)
                out[k] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": [float(v) for v in a.reshape(-1)]}
        print(json.dumps(out))
        """
        // The install step puts Python's `safetensors` into the repository's .venv; else python3 on PATH.
        let venvPython = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".venv/bin/python3").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let python = ProcessInfo.processInfo.environment["SWIFTNAS_PYTHON"]
            ?? (FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : "python3")
        p.arguments = [python, "-c", script, file.path]
        let pipe = Pipe(), err = Pipe()
        p.standardOutput = pipe
        p.standardError = err
        try p.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: output) as? [String: Any])
        XCTAssertEqual(json["metadata"] as? [String: String], ["note": "swiftnas"])
        for (name, t) in model.stateDict() {
            let entry = try XCTUnwrap(json[name] as? [String: Any], name)
            XCTAssertEqual(entry["dtype"] as? String, "float32")
            XCTAssertEqual(entry["shape"] as? [Int], t.shape)
            XCTAssertEqual((entry["values"] as? [Double])?.map { Float($0) }, t.array)
        }
        XCTAssertEqual(json.count, model.stateDict().count + 1)
    }
}
