/// Checks that a training and a test set can train and evaluate one classifier, before any
/// model is built: a wrong file should fail with a sentence, not a trap or a meaningless accuracy.
public func checkTrainable(train: Dataset, test: Dataset, trainName: String = "training set",
                           testName: String = "test set") throws {
    guard train.count > 0 else { throw DataError(file: trainName, "has no images") }
    guard test.count > 0 else { throw DataError(file: testName, "has no images") }
    guard train.imageShape == test.imageShape else {
        throw DataError(file: testName, "images are \(test.imageShape.map(String.init).joined(separator: "×")), "
                        + "the training images \(train.imageShape.map(String.init).joined(separator: "×"))")
    }
    for (d, name) in [(train, trainName), (test, testName)] {
        if let i = d.images.firstIndex(where: { !$0.isFinite }) {
            throw DataError(file: name, "image \(i / d.imageSize) has a non-finite pixel value (\(d.images[i]))")
        }
    }
    try checkLabels(train, name: trainName)
    guard let bad = test.labels.firstIndex(where: { $0 < 0 || $0 >= train.classCount }) else { return }
    throw DataError(file: testName, "image \(bad) has label \(test.labels[bad]); the training labels are 0…\(train.classCount - 1)")
}

/// The largest number of classes a data set may have: a corrupt label must not size a
/// classifier head with billions of outputs.
public let maximumClassCount = 100_000

/// Labels must be class indices 0…K−1 with most classes present: a stray large label (255 in a
/// ten-class file) would otherwise silently turn the model into a K-way classifier.
public func checkLabels(_ d: Dataset, name: String) throws {
    if let i = d.labels.firstIndex(where: { $0 < 0 || $0 >= maximumClassCount }) {
        throw DataError(file: name, "image \(i) has label \(d.labels[i]); labels must be 0…\(maximumClassCount - 1)")
    }
    var present = Set<Int>()
    for l in d.labels { present.insert(l) }
    let classes = (d.labels.max() ?? 0) + 1
    if classes > 2, present.count * 2 < classes, let top = d.labels.firstIndex(of: classes - 1) {
        throw DataError(file: name, "labels are not class indices 0…K−1: only \(present.count) of \(classes) classes occur "
                        + "(image \(top) has label \(classes - 1))")
    }
}
