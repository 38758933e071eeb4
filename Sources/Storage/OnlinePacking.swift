import CuratorCore
import Foundation

/// How both stores write the online log's compound fields, so a copy reads back the same.
public enum OnlinePacking {
    /// Seen positions as text: "1,2,5".
    public static func positions(_ positions: [Int]) -> String { positions.map(String.init).joined(separator: ",") }

    public static func positions(_ text: String) -> [Int] { text.split(separator: ",").compactMap { Int($0) } }

    /// An experiment from its row (variants as JSON).
    public static func experiment(name: String, surface: Int16, method: String, variants: String, startedAt: Int64,
                                  stoppedAt: Int64?) throws -> Experiment {
        guard let surfaceValue = Surface(code: surface), let methodValue = Experiment.Method(rawValue: method) else {
            throw CuratorError.storage("experiment '\(name)': unknown surface code \(surface) or method '\(method)'")
        }
        let decoded: [Experiment.Variant]
        do { decoded = try CuratorJSON.decode([Experiment.Variant].self, from: variants) } catch {
            throw CuratorError.storage("experiment '\(name)': its variants are not readable JSON (\(error))")
        }
        return Experiment(name: name, surface: surfaceValue, method: methodValue, variants: decoded, startedAtMillis: startedAt, stoppedAtMillis: stoppedAt)
    }
}
