import CuratorCore
import Foundation
import Linear

/// Saving and loading a trained model's weights as one byte payload:
/// "CURNN1\n", a little-endian UInt32 header length, a JSON header (configuration, product
/// keys, tensor names and shapes), then every tensor's Floats (little-endian) in order.
///
/// Products are matched by key when loading, so a model keeps working when the catalogue
/// changes: a product it never saw gets a zero id embedding, i.e. its representation comes
/// from its language-model vector alone.
extension NeuralRecommender {
    struct PayloadHeader: Codable {
        struct Shape: Codable {
            var name: String
            var rows: Int
            var cols: Int
        }

        var configuration: NeuralConfiguration
        var lmDimension: Int
        var productKeys: [String]
        var tensors: [Shape]
    }

    static let magic = Array("CURNN1\n".utf8)

    /// The weights and configuration; `productKeys` names the products in index order.
    public func serialized(productKeys: [String]) throws -> Data {
        guard productKeys.count == productCount else {
            throw CuratorError.model("\(productKeys.count) product keys for a model of \(productCount) products")
        }
        let header = PayloadHeader(
            configuration: configuration, lmDimension: network.lmDimension, productKeys: productKeys,
            tensors: network.parameters.map { .init(name: $0.name, rows: $0.tensor.rows, cols: $0.tensor.cols) })
        let json = try CuratorJSON.encoder().encode(header)
        var data = Data(Self.magic)
        var length = UInt32(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for (_, tensor) in network.parameters {
            let buffer = UnsafeBufferPointer(start: tensor.value, count: tensor.count)
            data.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                            count: tensor.count * 4))
        }
        return data
    }

    /// The configuration stored in a payload, without loading the weights.
    public static func configuration(inPayload data: Data) throws -> NeuralConfiguration {
        try header(of: data).header.configuration
    }

    private static func header(of data: Data) throws -> (header: PayloadHeader, bodyStart: Int) {
        let bytes = [UInt8](data.prefix(magic.count + 4))
        guard bytes.count == magic.count + 4, Array(bytes.prefix(magic.count)) == magic else {
            throw CuratorError.model("not a Curator model payload")
        }
        let length = Int(UInt32(bytes[magic.count]) | UInt32(bytes[magic.count + 1]) << 8
            | UInt32(bytes[magic.count + 2]) << 16 | UInt32(bytes[magic.count + 3]) << 24)
        let start = data.startIndex + magic.count + 4
        guard data.count >= magic.count + 4 + length else { throw CuratorError.model("the model payload is truncated") }
        let header = try CuratorJSON.decoder().decode(PayloadHeader.self, from: data[start..<(start + length)])
        return (header, magic.count + 4 + length)
    }

    /// Rebuilds a saved model for the current catalogue (`productKeys` in index order and
    /// their language-model vectors, as for `init(configuration:…)`).
    public init(payload data: Data, productKeys: [String], productVectors: [Float], lmDimension: Int) throws {
        let (header, bodyStart) = try Self.header(of: data)
        let config = header.configuration
        try config.validate()
        if header.lmDimension > 0 && header.lmDimension != lmDimension {
            throw CuratorError.model("the model was trained on \(header.lmDimension)-dimensional product vectors, these have \(lmDimension)")
        }
        if header.lmDimension > 0 && productVectors.count != productKeys.count * lmDimension {
            throw CuratorError.model("the model needs a language-model vector for every product; run curator embed")
        }
        let network = NeuralNetwork(config: config, productCount: productKeys.count,
                                    lmVectors: header.lmDimension > 0 ? productVectors : [], lmDimension: header.lmDimension)
        let byName = Dictionary(uniqueKeysWithValues: network.parameters.map { ($0.name, $0.tensor) })
        var savedIndex: [String: Int] = [:]
        savedIndex.reserveCapacity(header.productKeys.count)
        for (i, key) in header.productKeys.enumerated() { savedIndex[key] = i }
        var offset = bodyStart
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for shape in header.tensors {
                let count = shape.rows * shape.cols
                guard offset + count * 4 <= raw.count else { throw CuratorError.model("the model payload is truncated") }
                var values = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count * 4)])) }
                offset += count * 4
                guard let tensor = byName[shape.name] else { throw CuratorError.model("unknown tensor \(shape.name) in the model payload") }
                if shape.name == "item_id" {
                    // Rows by product key; products the model never saw get zeros.
                    let d = shape.cols
                    guard d == tensor.cols else { throw CuratorError.model("item_id has \(d) columns, expected \(tensor.cols)") }
                    tensor.value.update(repeating: 0, count: tensor.count)
                    for (i, key) in productKeys.enumerated() {
                        guard let j = savedIndex[key] else { continue }
                        for c in 0..<d { tensor.value[i * d + c] = values[j * d + c] }
                    }
                } else {
                    guard shape.rows == tensor.rows && shape.cols == tensor.cols else {
                        throw CuratorError.model("tensor \(shape.name) is \(shape.rows)×\(shape.cols), expected \(tensor.rows)×\(tensor.cols)")
                    }
                    tensor.setValues(values)
                }
            }
        }
        self.init(configuration: config, network: network)
    }
}
