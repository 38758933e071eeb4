import Crypto
import CuratorCore
import Foundation

/// Which variant of an experiment a shopper sees: a hash of the experiment's name and the
/// shopper's stored pseudonym, so every replica, and the same replica after a restart, agrees
/// without storing anything; weights are honoured as the hash is uniform.
public enum VariantAssignment {
    /// A number in [0, 1) fixed by experiment and shopper.
    public static func uniform(experiment: String, shopperKey: String) -> Double {
        let digest = SHA256.hash(data: Data((experiment + "\u{0}" + shopperKey).utf8))
        let bits = digest.withUnsafeBytes { raw in raw.loadUnaligned(as: UInt64.self) }
        return Double(UInt64(littleEndian: bits) >> 11) / Double(1 << 53)
    }

    /// The index of the variant for this shopper (A/B); weights must be positive.
    public static func variant(of experiment: Experiment, shopperKey: String) -> Int {
        let total = experiment.variants.reduce(0) { $0 + $1.weight }
        var point = uniform(experiment: experiment.name, shopperKey: shopperKey) * total
        for (i, variant) in experiment.variants.enumerated() {
            if point < variant.weight { return i }
            point -= variant.weight
        }
        return experiment.variants.count - 1
    }
}

/// Opaque ids for served lists: 128 random bits, so replicas never collide without coordinating.
public enum RecommendationID {
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<2 {
            let word = generator.next()
            for j in 0..<8 { bytes[i * 8 + j] = UInt8(truncatingIfNeeded: word >> (8 * j)) }
        }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `text` could be an id (what a request may name): 22 URL-safe base64 characters.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 22 && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
    }
}

/// Team-draft interleaving (Radlinski, Kurup and Joachims, 2008): each round the team with fewer
/// picks (a coin decides ties) adds its best item not yet in the list; a click credits the
/// team that added the item.
public enum TeamDraft {
    /// The merged list of at most `k` items with, per position, the team (0: `first`, 1: `second`) that added it.
    public static func merge<Item: Hashable>(_ first: [Item], _ second: [Item], k: Int,
                                             using generator: inout some RandomNumberGenerator) -> (items: [Item], teams: [UInt8]) {
        var items: [Item] = [], teams: [UInt8] = []
        var taken = Set<Item>()
        var next = [0, 0], picks = [0, 0]
        let lists = [first, second]
        func hasMore(_ team: Int) -> Bool {
            while next[team] < lists[team].count, taken.contains(lists[team][next[team]]) { next[team] += 1 }
            return next[team] < lists[team].count
        }
        while items.count < k {
            let more = [hasMore(0), hasMore(1)]
            guard more[0] || more[1] else { break }
            var team: Int
            if picks[0] != picks[1] { team = picks[0] < picks[1] ? 0 : 1 } else { team = Bool.random(using: &generator) ? 0 : 1 }
            if !more[team] { team = 1 - team }
            let item = lists[team][next[team]]
            taken.insert(item)
            items.append(item)
            teams.append(UInt8(team))
            picks[team] += 1
            next[team] += 1
        }
        return (items, teams)
    }

    /// Clicks credited to each team from the clicked positions (1-based) of one list.
    public static func credit(teams: [UInt8], clickedPositions: some Sequence<Int>) -> (first: Int, second: Int) {
        var credit = (first: 0, second: 0)
        for position in Set(clickedPositions) where position >= 1 && position <= teams.count {
            if teams[position - 1] == 0 { credit.first += 1 } else { credit.second += 1 }
        }
        return credit
    }
}
