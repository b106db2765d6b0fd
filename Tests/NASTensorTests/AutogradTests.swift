import Foundation
import XCTest
import NASTensor

/// Tape mechanics: accumulation, aliasing of leaf gradients, grad mode, deep graphs.
final class AutogradTests: XCTestCase {
    func testGradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        (x * x).sum().backward()
        XCTAssertEqual(x.grad?.array, [2, 4, 6])
        (x * 3).sum().backward()
        XCTAssertEqual(x.grad?.array, [5, 7, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testLeafGradientsDoNotAlias() {
        // add's backward hands the same gradient tensor to both inputs.
        let a = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let b = Tensor(shape: [2], data: [3, 4], requiresGrad: true)
        let seed = Tensor(shape: [2], data: [1, 1])
        (a + b).backward(seed)
        XCTAssertEqual(a.grad?.array, [1, 1])
        XCTAssertEqual(b.grad?.array, [1, 1])
        (a + b).backward(seed)
        XCTAssertEqual(a.grad?.array, [2, 2])
        XCTAssertEqual(b.grad?.array, [2, 2], "accumulating into a's gradient must not touch b's")
        XCTAssertEqual(seed.array, [1, 1], "the seed must not be modified")
        // A leaf that is reshaped still receives a gradient in its own shape.
        let c = Tensor(shape: [2, 2], data: [1, 2, 3, 4], requiresGrad: true)
        c.reshaped([4]).sum().backward()
        XCTAssertEqual(c.grad?.shape, [2, 2])
    }

    func testWithoutGradRecordsNothing() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = withoutGrad { exp(x) * x }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(y.isLeaf)
        XCTAssertFalse((Tensor(shape: [2], data: [1, 2]) * 2).requiresGrad, "no input needs a gradient")
        let z = exp(x)
        XCTAssertTrue(z.requiresGrad)
        XCTAssertFalse(z.isLeaf)
        XCTAssertFalse(z.detach().requiresGrad)
    }

    func testOnlyInputsThatNeedGradientsReceiveThem() {
        let x = Tensor(shape: [2, 2], data: [1, 2, 3, 4], requiresGrad: true)
        let w = Tensor(shape: [2, 2], data: [1, 0, 0, 1])
        matmul(x, w).sum().backward()
        XCTAssertNotNil(x.grad)
        XCTAssertNil(w.grad)
    }

    func testDeepChain() {
        // Topological ordering is iterative; a long chain must neither recurse nor lose gradient.
        let x = Tensor(shape: [1], data: [0.5], requiresGrad: true)
        var y = x
        for _ in 0..<3000 { y = addScalar(y * 1.0001, 0.001) }
        y.sum().backward()
        XCTAssertEqual(x.grad?.item ?? .nan, Float(Foundation.pow(1.0001, 3000.0)), accuracy: 1e-3)
    }

    func testSharedSubgraph() {
        // h feeds three consumers; its gradient is the sum of all three contributions.
        let x = Tensor(shape: [2], data: [0.3, -0.7], requiresGrad: true)
        let h = x * 2
        let y = (h * h + h + exp(h)).sum()
        y.backward()
        let expected = x.array.map { v -> Float in let hv = 2 * v; return 2 * (2 * hv + 1 + Foundation.exp(hv)) }
        assertClose(x.grad?.array ?? [], expected, rtol: 1e-6, atol: 1e-6, "shared subgraph")
    }
}
